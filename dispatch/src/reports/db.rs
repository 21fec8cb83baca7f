//! The SQL of the reports: read-only aggregations over ride requests, rides, runs, the ledger
//! and the cases' Polo. Every query starts from the same parameter block and the same scoped
//! set of requests ([`REQ`]), so that all figures of one report count the same requests.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Cell, Scope, POLO_RADIUS_M, SERVICE_CATEGORIES};
use crate::error::AppResult;

/// Parameters of every report query (all bound, so every query types them the same way):
/// `$1` region, `$2` first day, `$3` last day, `$4` Polo or null, `$5` line or null, `$6` today
/// (Europe/Rome), `$7`/`$8` seconds a pickup may be early/late and still be on time, `$9` the
/// Polo radius (m), `$10` the road detour factor, `$11` the service categories.
///
/// `req`: the requests in scope, one row each, with their ride (if recorded), the run that
/// carried them (or the one they are planned on), and their category (work, training, polo,
/// health, questura, job_centre, public_office, return, other) — see docs/reporting.md.
pub const REQ: &str = "
with p as (
    select $1::text as region, $2::date as d_from, $3::date as d_to, $4::uuid as polo,
           $5::uuid as line, $6::date as today, $7::float8 as early_s, $8::float8 as late_s,
           $9::float8 as polo_radius_m, $10::float8 as detour, $11::text[] as services
), req as (
    select rr.ride_request_id, rr.person_id, rr.purpose, rr.status, rr.passengers,
           rr.service_date, rr.promised_pickup_at, rr.booked_by, rr.created_at,
           rr.pickup_location, rr.dropoff_location, rr.pickup_place_id, rr.dropoff_place_id,
           rr.case_id, c.polo_id,
           rd.outcome, rd.picked_up_at, rd.dropped_off_at, rd.distance_m, rd.cost_cents,
           rd.funding_source_id, rd.ledger_entry_id,
           coalesce(rd.run_id, rr.run_id) as run_id, coalesce(rn.estimated_times, false) as est,
           case rr.purpose
               when 'work_shift' then 'work'
               when 'training' then 'training'
               when 'other' then 'other'
               else case
                   when rr.purpose = 'return' and rr.appointment_id is null then 'return'
                   when exists (select 1 from polo po where po.region_code = rr.region_code
                                and st_dwithin(po.location, coalesce(ap.location, dp.location), p.polo_radius_m))
                       then 'polo'
                   else case coalesce(ap.kind, dp.kind)
                       when 'asl' then 'health'
                       when 'questura' then 'questura'
                       when 'job_centre' then 'job_centre'
                       when 'municipality' then 'public_office'
                       when 'other_office' then 'public_office'
                       else 'other' end
               end
           end as category
    from p
    join ride_request rr on rr.region_code = p.region and rr.service_date between p.d_from and p.d_to
    join care_case c on c.region_code = rr.region_code and c.case_id = rr.case_id
    join place dp on dp.region_code = rr.region_code and dp.place_id = rr.dropoff_place_id
    left join appointment a on a.appointment_id = rr.appointment_id
    left join place ap on ap.region_code = a.region_code and ap.place_id = a.place_id
    left join ride rd on rd.ride_request_id = rr.ride_request_id
    left join run rn on rn.run_id = coalesce(rd.run_id, rr.run_id)
    left join line_subscription ls on ls.subscription_id = rr.line_subscription_id
    where (p.polo is null or c.polo_id = p.polo)
      and (p.line is null or rn.line_id = p.line or ls.line_id = p.line)
)";

/// The values bound to [`REQ`]'s parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// What the report covers.
    pub scope: Scope,
    /// Today (Europe/Rome): requests of earlier days that were never carried are unserved,
    /// those of today and later still open.
    pub today: NaiveDate,
}

macro_rules! bind_params {
    ($q:expr, $p:expr) => {
        $q.bind(&$p.scope.region_code)
            .bind($p.scope.from)
            .bind($p.scope.to)
            .bind($p.scope.polo_id)
            .bind($p.scope.line_id)
            .bind($p.today)
            .bind(crate::runs::PROMISE_EARLY_S)
            .bind(crate::runs::PROMISE_LATE_S)
            .bind(POLO_RADIUS_M)
            .bind(crate::rides::DETOUR_FACTOR)
            .bind(SERVICE_CATEGORIES.map(str::to_owned).to_vec())
    };
}

/// Counts over the requests in scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Counts {
    /// Requests.
    pub requests: i64,
    /// Requests carried to their drop-off.
    pub served: i64,
    /// Passengers of the served requests (companions included).
    pub passengers_carried: i64,
    /// Distinct people carried.
    pub people: i64,
    /// The rider did not show up.
    pub no_shows: i64,
    /// Cancelled.
    pub cancelled: i64,
    /// Refused when booked (no vehicle could take them).
    pub refused: i64,
    /// Of a past day, never carried and never cancelled or refused.
    pub unserved: i64,
    /// Of today or later, still waiting.
    pub open: i64,
    /// Served rides with a promised pickup time and a recorded pickup.
    pub with_promise: i64,
    /// Of those, picked up in the promised window.
    pub on_time: i64,
    /// Served rides on runs planned on estimated travel times.
    pub on_estimated: i64,
    /// Cost of the rides (served and charged no-shows), cents.
    pub cost_cents: i64,
    /// Of which no funding source paid, cents.
    pub unfunded_cents: i64,
    /// Σ ride distance × passengers of served rides, km.
    pub passenger_km: f64,
}

/// The counts of a report.
///
/// # Errors
/// Database errors.
pub async fn counts(conn: &mut PgConnection, p: &Params) -> AppResult<Counts> {
    let sql = format!(
        "{REQ}
        select count(*) as requests,
            count(*) filter (where outcome = 'completed') as served,
            coalesce(sum(passengers) filter (where outcome = 'completed'), 0)::bigint as passengers_carried,
            count(distinct person_id) filter (where outcome = 'completed') as people,
            count(*) filter (where outcome = 'no_show') as no_shows,
            count(*) filter (where status = 'cancelled') as cancelled,
            count(*) filter (where status = 'refused') as refused,
            count(*) filter (where outcome is null and status in ('requested', 'planned', 'confirmed')
                             and service_date < (select today from p)) as unserved,
            count(*) filter (where outcome is null and status in ('requested', 'planned', 'confirmed')
                             and service_date >= (select today from p)) as open,
            count(*) filter (where outcome = 'completed' and promised_pickup_at is not null
                             and picked_up_at is not null) as with_promise,
            count(*) filter (where outcome = 'completed' and picked_up_at
                             between promised_pickup_at - make_interval(secs => (select early_s from p))
                                 and promised_pickup_at + make_interval(secs => (select late_s from p))) as on_time,
            count(*) filter (where outcome = 'completed' and est) as on_estimated,
            coalesce(sum(cost_cents), 0)::bigint as cost_cents,
            coalesce(sum(cost_cents) filter (where funding_source_id is null), 0)::bigint as unfunded_cents,
            coalesce(sum(distance_m::float8 * passengers / 1000.0) filter (where outcome = 'completed'), 0)::float8
                as passenger_km
        from req"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_one(conn)
        .await?)
}

/// Requests not served, by what happened and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NotServed {
    /// `refused` (when booked) or `unserved` (planned out or never carried).
    pub status: String,
    /// The planner's reason (`TimeWindow`, `NotEnoughFleet`...), or `not_carried` when no
    /// plan listed the request.
    pub reason: String,
    /// Requests.
    pub requests: i64,
}

/// Refused and unserved requests by reason.
///
/// # Errors
/// Database errors.
pub async fn not_served(conn: &mut PgConnection, p: &Params) -> AppResult<Vec<NotServed>> {
    let sql = format!(
        "{REQ}
        select status, reason, count(*) as requests from (
            select 'refused' as status,
                coalesce((select e.reason from ride_request_event e
                          where e.ride_request_id = req.ride_request_id and e.status = 'refused'
                          order by e.changed_at desc, e.ride_request_event_id desc limit 1), 'unknown') as reason
            from req where status = 'refused'
            union all
            select 'unserved',
                coalesce((select u.reason from plan_unserved u
                          join plan_job j on j.region_code = u.region_code and j.plan_job_id = u.plan_job_id
                          where u.ride_request_id = req.ride_request_id
                          order by j.created_at desc limit 1), 'not_carried')
            from req where outcome is null and status in ('requested', 'planned', 'confirmed')
                and service_date < (select today from p)
        ) t group by status, reason order by status, requests desc, reason"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_all(conn)
        .await?)
}

/// A served ride's actual time and its ends, for the ride-time figures.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct RideTime {
    /// From pickup to drop-off, seconds.
    pub ride_s: f64,
    /// Pickup longitude.
    pub pickup_lon: f64,
    /// Pickup latitude.
    pub pickup_lat: f64,
    /// Drop-off longitude.
    pub dropoff_lon: f64,
    /// Drop-off latitude.
    pub dropoff_lat: f64,
}

/// Actual ride times of the served rides with both times recorded.
///
/// # Errors
/// Database errors.
pub async fn ride_times(conn: &mut PgConnection, p: &Params) -> AppResult<Vec<RideTime>> {
    let sql = format!(
        "{REQ}
        select extract(epoch from dropped_off_at - picked_up_at)::float8 as ride_s,
            st_x(pickup_location::geometry) as pickup_lon, st_y(pickup_location::geometry) as pickup_lat,
            st_x(dropoff_location::geometry) as dropoff_lon, st_y(dropoff_location::geometry) as dropoff_lat
        from req
        where outcome = 'completed' and picked_up_at is not null and dropped_off_at >= picked_up_at
        order by ride_request_id"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_all(conn)
        .await?)
}

/// The runs that carried the rides in scope.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Fleet {
    /// Runs with at least one served ride in scope.
    pub runs: i64,
    /// Σ run km × the scope's share of the run's passengers.
    pub vehicle_km: f64,
    /// Σ run km × share × seats.
    pub seat_km: f64,
}

/// Vehicle-km and seat-km of the runs that carried the rides in scope. A run's km are its
/// planned road distance, or its straight-line legs × the detour factor when it has none; a
/// run shared with riders outside the scope counts in proportion to the scope's passengers.
///
/// # Errors
/// Database errors.
pub async fn fleet(conn: &mut PgConnection, p: &Params) -> AppResult<Fleet> {
    let sql = format!(
        "{REQ}, scoped as (
            select run_id, sum(passengers)::float8 as pax from req
            where outcome = 'completed' and run_id is not null group by run_id
        ), runs as (
            select s.run_id, s.pax, v.seats,
                (select coalesce(sum(rr.passengers), 0) from ride x
                 join ride_request rr on rr.ride_request_id = x.ride_request_id
                 where x.run_id = r.run_id and x.outcome = 'completed')::float8 as all_pax,
                case when r.planned_distance_m > 0 then r.planned_distance_m::float8
                     else (select coalesce(sum(leg), 0) from (
                               select st_distance(location, lag(location) over (order by seq)) as leg
                               from run_stop where run_id = r.run_id) l) * (select detour from p)
                end / 1000.0 as km
            from scoped s join run r on r.run_id = s.run_id join vehicle v on v.vehicle_id = r.vehicle_id
        )
        select count(*) as runs,
            coalesce(sum(km * pax / nullif(all_pax, 0)), 0)::float8 as vehicle_km,
            coalesce(sum(km * pax / nullif(all_pax, 0) * seats), 0)::float8 as seat_km
        from runs"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_one(conn)
        .await?)
}

/// Served rides per category.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ByCategory {
    /// work, training, polo, health, questura, job_centre, public_office, return, other.
    pub category: String,
    /// Served rides.
    pub rides: i64,
}

/// Served rides by category (purpose and destination).
///
/// # Errors
/// Database errors.
pub async fn by_category(conn: &mut PgConnection, p: &Params) -> AppResult<Vec<ByCategory>> {
    let sql = format!(
        "{REQ}
        select category, count(*) as rides from req where outcome = 'completed'
        group by category order by rides desc, category"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_all(conn)
        .await?)
}

/// Rides with a cost, by who paid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ByFunding {
    /// integration_budget, transport_fund, employer_contribution, or unfunded.
    pub funding: String,
    /// The Budget di Integrazione area, for integration budgets.
    pub area: Option<String>,
    /// The employer, for employer contributions.
    pub employer: Option<String>,
    /// Rides.
    pub rides: i64,
    /// Their cost, cents.
    pub cost_cents: i64,
}

/// Rides with a cost by funding source kind, area and employer.
///
/// # Errors
/// Database errors.
pub async fn by_funding(conn: &mut PgConnection, p: &Params) -> AppResult<Vec<ByFunding>> {
    let sql = format!(
        "{REQ}
        select coalesce(fs.kind::text, 'unfunded') as funding, le.area::text as area,
            fs.employer_name as employer, count(*) as rides, sum(req.cost_cents)::bigint as cost_cents
        from req
        left join funding_source fs on fs.funding_source_id = req.funding_source_id
        left join ledger_entry le on le.region_code = (select region from p)
            and le.ledger_entry_id = req.ledger_entry_id
        where req.cost_cents > 0
        group by 1, 2, 3 order by 1, 2, 3"
    );
    Ok(bind_params!(sqlx::query_as(&sql), p)
        .fetch_all(conn)
        .await?)
}

#[derive(sqlx::FromRow)]
struct PeopleRow {
    month: String,
    polo_id: Option<Uuid>,
    people_transported: i64,
    new_people: i64,
    people_to_services: i64,
}

#[derive(sqlx::FromRow)]
struct ChargedRow {
    month: String,
    polo_id: Option<Uuid>,
    breakdown: String,
    rides: i64,
    amount_cents: i64,
    people: i64,
}

/// The programme indicators of a region and period, per month and Polo and per month for the
/// whole region, before suppression (`p.scope.polo_id` and `line_id` are ignored: suppression
/// needs every Polo's cells).
///
/// # Errors
/// Database errors.
pub async fn programme_cells(conn: &mut PgConnection, p: &Params) -> AppResult<Vec<Cell>> {
    let whole = Params {
        scope: Scope {
            polo_id: None,
            line_id: None,
            ..p.scope.clone()
        },
        today: p.today,
    };
    let sql = format!(
        "{REQ}, firsts as (
            select rr.person_id, min(rr.service_date) as first_day
            from ride x join ride_request rr on rr.ride_request_id = x.ride_request_id
            where x.region_code = (select region from p) and x.outcome = 'completed'
            group by rr.person_id
        ), done as (
            select to_char(req.service_date, 'YYYY-MM') as month, req.polo_id, req.person_id,
                req.category = any(p.services) as to_service, f.first_day
            from req join firsts f using (person_id) cross join p where req.outcome = 'completed'
        )
        select month, polo_id,
            count(distinct person_id) as people_transported,
            count(distinct person_id) filter (where to_char(first_day, 'YYYY-MM') = month
                and first_day >= (select d_from from p)) as new_people,
            count(distinct person_id) filter (where to_service) as people_to_services
        from done
        group by grouping sets ((month, polo_id), (month))
        order by month, polo_id nulls first"
    );
    let people: Vec<PeopleRow> = bind_params!(sqlx::query_as(&sql), whole)
        .fetch_all(&mut *conn)
        .await?;
    let sql = format!(
        "{REQ}, charged as (
            select to_char(req.service_date, 'YYYY-MM') as month, req.polo_id, req.person_id,
                case fs.kind
                    when 'integration_budget' then 'integration_budget:' || le.area::text
                    when 'employer_contribution' then 'employer:' || fs.employer_name
                    else 'transport_fund' end as breakdown,
                le.amount_cents + coalesce((select sum(c.amount_cents) from ledger_entry c
                    where c.region_code = le.region_code and c.corrects_entry_id = le.ledger_entry_id), 0)
                    as amount_cents
            from req
            join ledger_entry le on le.region_code = (select region from p) and le.ledger_entry_id = req.ledger_entry_id
            join funding_source fs on fs.funding_source_id = le.funding_source_id
        )
        select month, polo_id, breakdown, count(*) as rides, sum(amount_cents)::bigint as amount_cents,
            count(distinct person_id) as people
        from charged
        group by grouping sets ((month, polo_id, breakdown), (month, breakdown))
        order by month, breakdown, polo_id nulls first"
    );
    let charged: Vec<ChargedRow> = bind_params!(sqlx::query_as(&sql), whole)
        .fetch_all(&mut *conn)
        .await?;
    let mut cells = Vec::new();
    for r in people {
        for (indicator, value) in [
            ("people_transported", r.people_transported),
            ("new_people", r.new_people),
            ("people_to_services", r.people_to_services),
        ] {
            cells.push(Cell {
                month: r.month.clone(),
                polo_id: r.polo_id,
                indicator: indicator.into(),
                breakdown: String::new(),
                value,
                people: value,
            });
        }
    }
    for r in charged {
        for (indicator, value) in [
            ("rides_charged", r.rides),
            ("amount_charged_cents", r.amount_cents),
        ] {
            cells.push(Cell {
                month: r.month.clone(),
                polo_id: r.polo_id,
                indicator: indicator.into(),
                breakdown: r.breakdown.clone(),
                value,
                people: r.people,
            });
        }
    }
    Ok(cells)
}

/// Names of the Poli of a region.
///
/// # Errors
/// Database errors.
pub async fn polo_names(conn: &mut PgConnection, region: &str) -> AppResult<Vec<(Uuid, String)>> {
    Ok(
        sqlx::query_as("select polo_id, name from polo where region_code = $1 order by name")
            .bind(region)
            .fetch_all(conn)
            .await?,
    )
}

/// The name of a work line of the region, if it exists.
///
/// # Errors
/// Database errors.
pub async fn line_name(
    conn: &mut PgConnection,
    region: &str,
    line_id: Uuid,
) -> AppResult<Option<String>> {
    Ok(
        sqlx::query_scalar("select name from work_line where region_code = $1 and line_id = $2")
            .bind(region)
            .bind(line_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The smallest number of people a published cell may count.
///
/// # Errors
/// Database errors.
pub async fn min_cell_people(conn: &mut PgConnection) -> AppResult<i64> {
    let n: i32 = sqlx::query_scalar("select report_min_cell_people from programme_config")
        .fetch_one(conn)
        .await?;
    Ok(i64::from(n))
}
