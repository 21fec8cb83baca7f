//! SQL for rides: record a ride once, price it, charge it (with the fallbacks of `mod.rs`), and
//! read a case's rides back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::{
    choose_funding, ride_distance_m, run_share_cents, tariff_cost_cents, CostMode, Destination,
    FundingChoice, FundingFacts, RideOutcome, RunCostBasis, Tariff,
};
use crate::bookings::{RidePurpose, RideStatus};
use crate::budgets::db::ChargeOutcome;
use crate::budgets::{BudgetArea, NewCharge};
use crate::error::{AppError, AppResult};
use crate::places::PlaceKind;

/// A ride to record, as the driver's events tell it.
#[derive(Debug, Clone, Copy)]
pub struct RideToRecord {
    /// The request.
    pub ride_request_id: Uuid,
    /// The run that served (or would have served) it.
    pub run_id: Uuid,
    /// Dropped off or missed.
    pub outcome: RideOutcome,
    /// When the rider boarded, if known.
    pub picked_up_at: Option<DateTime<Utc>>,
    /// When the rider was dropped off.
    pub dropped_off_at: Option<DateTime<Utc>>,
}

/// A recorded ride and where it was charged.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordedRide {
    /// Id.
    pub ride_id: Uuid,
    /// Outcome.
    pub outcome: RideOutcome,
    /// Road distance, metres.
    pub distance_m: i32,
    /// Cost, cents.
    pub cost_cents: i64,
    /// Source charged; none when nothing was charged (no cost, or unfunded).
    pub funding_source_id: Option<Uuid>,
    /// The ledger entry of the charge.
    pub ledger_entry_id: Option<i64>,
}

impl RecordedRide {
    /// A ride that cost something and that no source could pay.
    #[must_use]
    pub fn is_unfunded(&self) -> bool {
        self.cost_cents > 0 && self.funding_source_id.is_none()
    }
}

/// Whether [`record_ride`] wrote the ride now or found it written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Written by this call.
    New(RecordedRide),
    /// Already there (a retried or late upload); unchanged.
    Existing(RecordedRide),
}

impl Recorded {
    /// The ride, either way.
    #[must_use]
    pub fn ride(&self) -> &RecordedRide {
        match self {
            Self::New(r) | Self::Existing(r) => r,
        }
    }
}

const RIDE_COLUMNS: &str =
    "ride_id, outcome, distance_m, cost_cents, funding_source_id, ledger_entry_id";

#[derive(sqlx::FromRow)]
struct RequestFacts {
    region_code: String,
    case_id: Uuid,
    person_id: Uuid,
    purpose: RidePurpose,
    service_date: NaiveDate,
    passengers: i16,
    dest_kind: PlaceKind,
    dest_at_polo: bool,
    appt_kind: Option<PlaceKind>,
    appt_at_polo: bool,
    line_funding_source: Option<Uuid>,
}

impl RequestFacts {
    fn funding(&self) -> FundingFacts {
        FundingFacts {
            purpose: self.purpose,
            line_funding_source: self.line_funding_source,
            destination: Destination {
                kind: self.dest_kind,
                at_polo: self.dest_at_polo,
            },
            appointment_place: self.appt_kind.map(|kind| Destination {
                kind,
                at_polo: self.appt_at_polo,
            }),
        }
    }
}

/// A place counts as a Polo's premises within this many metres of a Polo.
const POLO_RADIUS_M: f64 = 150.0;

async fn request_facts(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
    run_id: Uuid,
) -> AppResult<RequestFacts> {
    sqlx::query_as(
        "select rr.region_code, rr.case_id, rr.person_id, rr.purpose, rr.service_date, rr.passengers,
                dp.kind as dest_kind,
                exists (select 1 from polo po where po.region_code = rr.region_code
                        and st_dwithin(po.location, rr.dropoff_location, $3)) as dest_at_polo,
                ap.kind as appt_kind,
                coalesce(exists (select 1 from polo po where po.region_code = ap.region_code
                        and st_dwithin(po.location, ap.location, $3)), false) as appt_at_polo,
                coalesce(ws.funding_source_id, wr.funding_source_id) as line_funding_source
         from ride_request rr
         join place dp on dp.region_code = rr.region_code and dp.place_id = rr.dropoff_place_id
         left join appointment a on a.appointment_id = rr.appointment_id
         left join place ap on ap.region_code = a.region_code and ap.place_id = a.place_id
         left join line_subscription ls on ls.subscription_id = rr.line_subscription_id
         left join work_line ws on ws.line_id = ls.line_id
         left join run r on r.run_id = $2
         left join work_line wr on wr.line_id = r.line_id
         where rr.ride_request_id = $1",
    )
    .bind(ride_request_id)
    .bind(run_id)
    .bind(POLO_RADIUS_M)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound("ride request"))
}

/// The ride of a request, if recorded.
///
/// # Errors
/// Database errors.
pub async fn ride_of_request(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
) -> AppResult<Option<RecordedRide>> {
    let sql = format!("select {RIDE_COLUMNS} from ride where ride_request_id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(ride_request_id)
        .fetch_optional(conn)
        .await?)
}

/// Road distance of a request's ride on a run, metres: see [`super::ride_distance_m`].
///
/// # Errors
/// Database errors.
pub async fn ride_distance(
    conn: &mut PgConnection,
    run_id: Uuid,
    ride_request_id: Uuid,
) -> AppResult<i32> {
    let (between, total, planned): (f64, f64, i32) = sqlx::query_as(
        "with legs as (
             select seq, kind, ride_request_id,
                    coalesce(st_distance(location, lag(location) over (order by seq)), 0) as leg_m
             from run_stop where run_id = $1
         ), ends as (
             select min(seq) filter (where kind = 'pickup') as p,
                    max(seq) filter (where kind = 'dropoff') as d
             from legs where ride_request_id = $2
         )
         select coalesce(sum(leg_m) filter (where seq > ends.p and seq <= ends.d), 0)::float8,
                coalesce(sum(leg_m), 0)::float8,
                (select planned_distance_m from run where run_id = $1)
         from legs, ends
         group by ends.p, ends.d",
    )
    .bind(run_id)
    .bind(ride_request_id)
    .fetch_optional(conn)
    .await?
    .unwrap_or((0.0, 0.0, 0));
    Ok(ride_distance_m(between, total, planned))
}

async fn tariff(conn: &mut PgConnection) -> AppResult<Tariff> {
    Ok(sqlx::query_as(
        "select ride_cost_mode, tariff_base_cents, tariff_per_km_cents, no_show_charge_cents
         from programme_config",
    )
    .fetch_one(conn)
    .await?)
}

async fn run_cost_basis(conn: &mut PgConnection, run_id: Uuid) -> AppResult<RunCostBasis> {
    sqlx::query_as(
        "select v.cost_per_km_cents, v.cost_per_hour_cents, r.planned_distance_m,
                coalesce(extract(epoch from (select max(s.planned_departure) - min(s.planned_arrival)
                                             from run_stop s where s.run_id = r.run_id)), 0)::float8
                    as planned_seconds,
                coalesce((select sum(rr.passengers) from ride_request rr
                          where rr.ride_request_id in (select s.ride_request_id from run_stop s
                                                       where s.run_id = r.run_id and s.kind = 'pickup')),
                         0)::bigint as planned_passengers
         from run r join vehicle v on v.vehicle_id = r.vehicle_id
         where r.run_id = $1",
    )
    .bind(run_id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound("run"))
}

/// Records a ride once and charges it. Safe to call again: a ride already recorded for the
/// request is returned unchanged, and the charge is idempotent on `ride:<ride_request_id>`.
///
/// The caller owns the transaction (the driver's upload); money never makes this fail: a
/// refused charge falls back to the transport fund, then to an unfunded ride (logged).
///
/// # Errors
/// Not found for an unknown request or run; database errors.
pub async fn record_ride(
    conn: &mut PgConnection,
    r: &RideToRecord,
    charged_by: Option<Uuid>,
) -> AppResult<Recorded> {
    if let Some(existing) = ride_of_request(conn, r.ride_request_id).await? {
        return Ok(Recorded::Existing(existing));
    }
    let facts = request_facts(conn, r.ride_request_id, r.run_id).await?;
    let t = tariff(conn).await?;
    let (distance_m, cost_cents) = match r.outcome {
        RideOutcome::NoShow => (0, i64::from(t.no_show_charge_cents)),
        RideOutcome::Completed => {
            completed_cost(conn, &t, r.run_id, r.ride_request_id, &facts).await?
        }
    };
    let sql = format!(
        "insert into ride (region_code, ride_request_id, run_id, case_id, person_id, outcome,
            picked_up_at, dropped_off_at, distance_m, cost_cents)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (ride_request_id) do nothing
         returning {RIDE_COLUMNS}"
    );
    let inserted: Option<RecordedRide> = sqlx::query_as(&sql)
        .bind(&facts.region_code)
        .bind(r.ride_request_id)
        .bind(r.run_id)
        .bind(facts.case_id)
        .bind(facts.person_id)
        .bind(r.outcome)
        .bind(r.picked_up_at)
        .bind(r.dropped_off_at)
        .bind(distance_m)
        .bind(cost_cents)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut ride) = inserted else {
        // Another transaction recorded it between our check and our insert.
        let existing = ride_of_request(conn, r.ride_request_id)
            .await?
            .ok_or(AppError::NotFound("ride"))?;
        return Ok(Recorded::Existing(existing));
    };
    if cost_cents > 0 {
        if let Some((source, entry)) = charge_with_fallback(
            conn,
            r,
            &facts,
            cost_cents,
            charged_by,
            &format!("ride:{}", r.ride_request_id),
        )
        .await?
        {
            sqlx::query(
                "update ride set funding_source_id = $2, ledger_entry_id = $3 where ride_id = $1",
            )
            .bind(ride.ride_id)
            .bind(source)
            .bind(entry)
            .execute(&mut *conn)
            .await?;
            ride.funding_source_id = Some(source);
            ride.ledger_entry_id = Some(entry);
        } else {
            tracing::warn!(
                ride_request_id = %r.ride_request_id,
                cost_cents,
                "ride recorded unfunded: no funding source could pay it within its caps"
            );
        }
    }
    Ok(Recorded::New(ride))
}

/// Road distance and cost of a completed ride, by the programme's tariff or run share.
async fn completed_cost(
    conn: &mut PgConnection,
    t: &Tariff,
    run_id: Uuid,
    ride_request_id: Uuid,
    facts: &RequestFacts,
) -> AppResult<(i32, i64)> {
    let distance = ride_distance(conn, run_id, ride_request_id).await?;
    let cost = match t.ride_cost_mode {
        CostMode::Tariff => tariff_cost_cents(t.tariff_base_cents, t.tariff_per_km_cents, distance),
        CostMode::RunShare => {
            run_share_cents(&run_cost_basis(conn, run_id).await?, facts.passengers)
        }
    };
    Ok((distance, cost))
}

/// The sources to try, in order: the one the rules choose, then the transport fund.
async fn candidates(
    conn: &mut PgConnection,
    facts: &RequestFacts,
) -> AppResult<Vec<(Uuid, Option<BudgetArea>)>> {
    let mut out = Vec::new();
    match choose_funding(&facts.funding()) {
        FundingChoice::Employer(src) => out.push((src, None)),
        FundingChoice::Budget(area) => {
            let budget = crate::budgets::db::integration_budget_on(
                &mut *conn,
                facts.person_id.into(),
                facts.service_date,
            )
            .await?;
            if let Some(b) = budget {
                out.push((b.0, Some(area)));
            }
        }
        FundingChoice::TransportFund => {}
    }
    let fund =
        crate::budgets::db::transport_fund_on(&mut *conn, &facts.region_code, facts.service_date)
            .await?;
    if let Some(f) = fund.map(Uuid::from) {
        if !out.iter().any(|(s, _)| *s == f) {
            out.push((f, None));
        }
    }
    Ok(out)
}

/// Tries each candidate in a savepoint; the first that accepts the charge pays.
async fn charge_with_fallback(
    conn: &mut PgConnection,
    r: &RideToRecord,
    facts: &RequestFacts,
    cost_cents: i64,
    charged_by: Option<Uuid>,
    external_ref: &str,
) -> AppResult<Option<(Uuid, i64)>> {
    for (source, area) in candidates(conn, facts).await? {
        let charge = NewCharge {
            amount_cents: cost_cents,
            area,
            person_id: Some(facts.person_id),
            occurred_on: facts.service_date,
            // No names or places: the ledger is read by fund managers who see no case data.
            description: format!(
                "{} of {} ({:?})",
                match r.outcome {
                    RideOutcome::Completed => "ride",
                    RideOutcome::NoShow => "missed ride",
                },
                facts.service_date,
                facts.purpose
            ),
            external_ref: Some(external_ref.to_owned()),
        };
        let mut sp = conn.begin().await?;
        match crate::budgets::db::charge(&mut sp, source, &charge, charged_by).await {
            Ok(ChargeOutcome::Written(e) | ChargeOutcome::AlreadyWritten(e)) => {
                sp.commit().await?;
                return Ok(Some((source, e.ledger_entry_id)));
            }
            Err(
                e @ (AppError::Conflict { .. }
                | AppError::Validation { .. }
                | AppError::NotFound(_)),
            ) => {
                sp.rollback().await?;
                tracing::info!(
                    ride_request_id = %r.ride_request_id,
                    funding_source_id = %source,
                    reason = %e,
                    "funding source refused a ride; trying the next"
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// A request of a case, with its ride if there is one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRideRow {
    /// Request.
    pub ride_request_id: Uuid,
    /// Purpose.
    pub purpose: RidePurpose,
    /// Day.
    pub service_date: NaiveDate,
    /// Current status.
    pub status: RideStatus,
    /// From.
    pub pickup_place_name: String,
    /// To.
    pub dropoff_place_name: String,
    /// Window.
    pub earliest_pickup: Option<DateTime<Utc>>,
    /// Window.
    pub latest_arrival: Option<DateTime<Utc>>,
    /// Promised pickup.
    pub promised_pickup_at: Option<DateTime<Utc>>,
    /// Ride outcome.
    pub outcome: Option<RideOutcome>,
    /// Boarded.
    pub picked_up_at: Option<DateTime<Utc>>,
    /// Dropped off.
    pub dropped_off_at: Option<DateTime<Utc>>,
    /// Metres.
    pub distance_m: Option<i32>,
    /// Cents.
    pub cost_cents: Option<i64>,
    /// Source charged.
    pub funding_source_id: Option<Uuid>,
    /// Its name.
    pub funding_source_name: Option<String>,
}

/// The requests of a case with their rides, newest day first.
///
/// # Errors
/// Database errors.
pub async fn rides_of_case(conn: &mut PgConnection, case_id: Uuid) -> AppResult<Vec<CaseRideRow>> {
    Ok(sqlx::query_as(
        "select rr.ride_request_id, rr.purpose, rr.service_date, rr.status,
                pp.name as pickup_place_name, dp.name as dropoff_place_name,
                rr.earliest_pickup, rr.latest_arrival, rr.promised_pickup_at,
                r.outcome, r.picked_up_at, r.dropped_off_at, r.distance_m, r.cost_cents,
                r.funding_source_id, fs.name as funding_source_name
         from ride_request rr
         join place pp on pp.region_code = rr.region_code and pp.place_id = rr.pickup_place_id
         join place dp on dp.region_code = rr.region_code and dp.place_id = rr.dropoff_place_id
         left join ride r on r.ride_request_id = rr.ride_request_id
         left join funding_source fs on fs.funding_source_id = r.funding_source_id
         where rr.case_id = $1
         order by rr.service_date desc, coalesce(rr.earliest_pickup, rr.latest_arrival) desc,
                  rr.ride_request_id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// One status change of a request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusChange {
    /// Request.
    pub ride_request_id: Uuid,
    /// New status.
    pub status: RideStatus,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// The status histories of a case's requests, oldest first.
///
/// # Errors
/// Database errors.
pub async fn status_history_of_case(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> AppResult<Vec<StatusChange>> {
    Ok(sqlx::query_as(
        "select e.ride_request_id, e.status, e.reason, e.changed_at
         from ride_request_event e
         join ride_request rr on rr.region_code = e.region_code and rr.ride_request_id = e.ride_request_id
         where rr.case_id = $1
         order by e.changed_at, e.ride_request_event_id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// A boarding reported after the drop-off: the completed ride gets its pickup time (the
/// earliest reported).
///
/// # Errors
/// Database errors.
pub async fn note_boarding(
    conn: &mut PgConnection,
    ride_request_id: crate::ids::RideRequestId,
    at: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query(
        "update ride set picked_up_at = least(coalesce(picked_up_at, $2), $2)
         where ride_request_id = $1 and outcome = 'completed'",
    )
    .bind(ride_request_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A corrected no-show, as recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NoShowCorrection {
    /// The request, now completed.
    pub ride_request_id: Uuid,
    /// Who corrected it.
    pub corrected_by: Uuid,
    /// Why.
    pub reason: String,
    /// What the no-show had cost (given back by `refund_entry_id` when it was charged).
    pub no_show_cost_cents: i64,
    /// The correction entry giving back the no-show's charge, if there was one.
    pub refund_entry_id: Option<i64>,
    /// The new charge of the ride (none when it costs nothing or no source could pay it).
    pub charge_entry_id: Option<i64>,
    /// When.
    pub corrected_at: DateTime<Utc>,
    /// The ride's cost now, cents.
    #[sqlx(skip)]
    pub cost_cents: i64,
    /// The source charged now.
    #[sqlx(skip)]
    pub funding_source_id: Option<Uuid>,
}

/// Corrects a mistaken no-show: the rider did travel. In the caller's transaction: the
/// request becomes completed (its history says who and why), a no-show charge is given back
/// by a correction entry, the ride becomes completed with its distance and cost, charged by a
/// NEW ledger entry under the same funding rules and caps (`external_ref`
/// `ride-correction:<id>`), and the correction is recorded once.
///
/// # Errors
/// Validation of `reason`; conflicts `not_a_no_show` (no missed ride recorded) and
/// `already_corrected`.
pub async fn correct_no_show(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
    reason: &str,
    by: Uuid,
) -> AppResult<NoShowCorrection> {
    crate::geo::non_blank("reason", reason)?;
    let reason = reason.trim();
    let done: bool = sqlx::query_scalar(
        "select exists (select 1 from no_show_correction where ride_request_id = $1)",
    )
    .bind(ride_request_id)
    .fetch_one(&mut *conn)
    .await?;
    if done {
        return Err(AppError::conflict(
            "already_corrected",
            "this no-show was corrected already",
        ));
    }
    #[derive(sqlx::FromRow)]
    struct Missed {
        ride_id: Uuid,
        run_id: Uuid,
        cost_cents: i64,
        funding_source_id: Option<Uuid>,
        ledger_entry_id: Option<i64>,
    }
    let missed: Missed = sqlx::query_as(
        "select ride_id, run_id, cost_cents, funding_source_id, ledger_entry_id from ride
         where ride_request_id = $1 and outcome = 'no_show' for update",
    )
    .bind(ride_request_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| {
        AppError::conflict(
            "not_a_no_show",
            "no missed ride is recorded for this request",
        )
    })?;
    crate::bookings::db::reverse_no_show(
        conn,
        ride_request_id.into(),
        &format!("no-show corrected: {reason}"),
        by,
    )
    .await?;
    let refund_entry_id = match (missed.funding_source_id, missed.ledger_entry_id) {
        (Some(source), Some(entry)) if missed.cost_cents > 0 => Some(
            crate::budgets::db::correct(
                conn,
                source,
                &crate::budgets::NewCorrection {
                    corrects_entry_id: entry,
                    amount_cents: -missed.cost_cents,
                    description: "no-show corrected: the rider travelled".into(),
                },
                Some(by),
            )
            .await?
            .ledger_entry_id,
        ),
        _ => None,
    };
    let facts = request_facts(conn, ride_request_id, missed.run_id).await?;
    let t = tariff(conn).await?;
    let (distance_m, cost_cents) =
        completed_cost(conn, &t, missed.run_id, ride_request_id, &facts).await?;
    let to_record = RideToRecord {
        ride_request_id,
        run_id: missed.run_id,
        outcome: RideOutcome::Completed,
        picked_up_at: None,
        dropped_off_at: None,
    };
    let charged = if cost_cents > 0 {
        charge_with_fallback(
            conn,
            &to_record,
            &facts,
            cost_cents,
            Some(by),
            &format!("ride-correction:{ride_request_id}"),
        )
        .await?
    } else {
        None
    };
    sqlx::query(
        "update ride set outcome = 'completed', distance_m = $2, cost_cents = $3,
                funding_source_id = $4, ledger_entry_id = $5
         where ride_id = $1",
    )
    .bind(missed.ride_id)
    .bind(distance_m)
    .bind(cost_cents)
    .bind(charged.map(|c| c.0))
    .bind(charged.map(|c| c.1))
    .execute(&mut *conn)
    .await?;
    let mut rec: NoShowCorrection = sqlx::query_as(
        "insert into no_show_correction (region_code, ride_request_id, ride_id, corrected_by, reason,
             no_show_cost_cents, refund_entry_id, charge_entry_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning ride_request_id, corrected_by, reason, no_show_cost_cents, refund_entry_id,
                   charge_entry_id, corrected_at",
    )
    .bind(&facts.region_code)
    .bind(ride_request_id)
    .bind(missed.ride_id)
    .bind(by)
    .bind(reason)
    .bind(missed.cost_cents)
    .bind(refund_entry_id)
    .bind(charged.map(|c| c.1))
    .fetch_one(&mut *conn)
    .await
    .map_err(crate::error::on_constraint)?;
    rec.cost_cents = cost_cents;
    rec.funding_source_id = charged.map(|c| c.0);
    Ok(rec)
}
