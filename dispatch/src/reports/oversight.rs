//! Oversight against abuse: flags, with their evidence, for patterns that suggest a *caporale*
//! uses the service. A flag is for a coordinator to look at, never an automatic sanction.
//!
//! The patterns (thresholds are the constants below; definitions in docs/reporting.md):
//! - `bulk_booking`: one booker (a staff login, e.g. a mediator) booked work rides to the same
//!   workplace on the same day for [`BULK_MIN_PEOPLE`] or more different people;
//! - `closed_group`: [`GROUP_MIN_PEOPLE`] or more people who, in the period, each rode to the
//!   same workplace on [`GROUP_MIN_DAYS`] or more days, rode nowhere else, and had no contact
//!   with the Polo (no appointment from 30 days before the period to its end, no ride that is
//!   not a work shift);
//! - `over_declared`: on some day a workplace received more distinct riders (of every Polo)
//!   than [`OVER_DECLARED_RATIO`] × the workers it declared, and some came from this Polo;
//! - `group_no_show`: [`NO_SHOW_MIN_GROUP`] or more people booked from the same pickup to the
//!   same drop-off on the same run all missed it, on [`NO_SHOW_MIN_DAYS`] or more days;
//! - `odd_hours`: one booker made [`ODD_HOURS_MIN_BOOKINGS`] or more bookings between 23:00
//!   and 05:00 (Europe/Rome), by the database's clock of when the booking was written.
//!
//! Only a Polo's coordinator sees that Polo's flags. Evidence names cases (ids), never people;
//! each case named is an audited case read. Every flag shown is recorded (`oversight_flag`:
//! first and last time, by whom), and so is every review (`oversight_review`, insert-only).

use std::collections::BTreeMap;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{RawScope, Scope};
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppQuery};
use crate::state::AppState;

/// `bulk_booking`: distinct people one booker booked to one workplace on one day.
pub const BULK_MIN_PEOPLE: i64 = 6;
/// `closed_group`: people in the group.
pub const GROUP_MIN_PEOPLE: i64 = 4;
/// `closed_group`: days each of them rode to the workplace.
pub const GROUP_MIN_DAYS: i64 = 5;
/// `over_declared`: riders above this multiple of the declared workers.
pub const OVER_DECLARED_RATIO: f64 = 1.5;
/// `group_no_show`: people of one pickup group who all missed the ride.
pub const NO_SHOW_MIN_GROUP: i64 = 3;
/// `group_no_show`: days the whole group missed.
pub const NO_SHOW_MIN_DAYS: usize = 2;
/// `odd_hours`: bookings written between 23:00 and 05:00 by one booker.
pub const ODD_HOURS_MIN_BOOKINGS: i64 = 3;

/// Routes of the oversight.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(flags))
        .routes(routes!(review))
        .routes(routes!(declare, list_declarations))
}

/// A flag for a coordinator to look at.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Flag {
    /// Stable key of the pattern (kind and subject), used to record reviews.
    pub flag_key: String,
    /// Which pattern.
    pub kind: &'static str,
    /// One sentence saying what was seen.
    pub summary: String,
    /// The figures behind it (counts, days, places, the booker's login).
    pub evidence: serde_json::Value,
    /// The cases involved (audited reads).
    pub cases: Vec<Uuid>,
    /// The ride requests involved.
    pub ride_requests: Vec<Uuid>,
    /// When the flag was first shown.
    pub first_seen_at: Option<DateTime<Utc>>,
    /// Who looked at it and what they concluded.
    pub reviews: Vec<ReviewView>,
}

/// A recorded review.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ReviewView {
    /// Who.
    pub reviewed_by: String,
    /// When.
    pub reviewed_at: DateTime<Utc>,
    /// What they concluded.
    pub outcome: String,
    /// Their note.
    pub note: String,
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort_unstable();
    v.dedup();
    v
}

#[derive(sqlx::FromRow)]
struct BulkRow {
    booked_by: Uuid,
    username: String,
    role: String,
    service_date: NaiveDate,
    place_id: Uuid,
    workplace: String,
    people: i64,
    cases: Vec<Uuid>,
    requests: Vec<Uuid>,
}

async fn bulk_booking(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let rows: Vec<BulkRow> = sqlx::query_as(
        "select rr.booked_by, st.username, st.role::text as role, rr.service_date,
                rr.dropoff_place_id as place_id, dp.name as workplace,
                count(distinct rr.person_id) as people, array_agg(distinct rr.case_id) as cases,
                array_agg(rr.ride_request_id) as requests
         from ride_request rr
         join care_case c on c.case_id = rr.case_id
         join staff st on st.staff_id = rr.booked_by
         join place dp on dp.place_id = rr.dropoff_place_id
         where rr.region_code = $1 and rr.service_date between $2 and $3 and c.polo_id = $4
           and rr.purpose = 'work_shift' and rr.line_subscription_id is null
           and dp.kind in ('farm', 'packing_house')
         group by rr.booked_by, st.username, st.role, rr.service_date, rr.dropoff_place_id, dp.name
         having count(distinct rr.person_id) >= $5
         order by rr.service_date, st.username, dp.name",
    )
    .bind(&s.region_code)
    .bind(s.from)
    .bind(s.to)
    .bind(polo)
    .bind(BULK_MIN_PEOPLE)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Flag {
            flag_key: format!(
                "bulk_booking:{}:{}:{}",
                r.booked_by, r.service_date, r.place_id
            ),
            kind: "bulk_booking",
            summary: format!(
                "{} ({}) booked work rides to {} on {} for {} different people",
                r.username, r.role, r.workplace, r.service_date, r.people
            ),
            evidence: serde_json::json!({
                "booker": r.username, "booker_role": r.role, "service_date": r.service_date,
                "workplace_place_id": r.place_id, "workplace": r.workplace, "people": r.people,
                "threshold_people": BULK_MIN_PEOPLE,
            }),
            cases: sorted(r.cases),
            ride_requests: sorted(r.requests),
            first_seen_at: None,
            reviews: Vec::new(),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    place_id: Uuid,
    workplace: String,
    people: i64,
    min_days: i64,
    rides: i64,
    cases: Vec<Uuid>,
    requests: Vec<Uuid>,
}

async fn closed_group(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let rows: Vec<GroupRow> = sqlx::query_as(
        "with work as (
             select rr.person_id, rr.case_id, rr.dropoff_place_id, rr.service_date, rr.ride_request_id
             from ride_request rr
             join ride x on x.ride_request_id = rr.ride_request_id and x.outcome = 'completed'
             join care_case c on c.case_id = rr.case_id
             join place dp on dp.place_id = rr.dropoff_place_id
             where rr.region_code = $1 and rr.service_date between $2 and $3 and c.polo_id = $4
               and rr.purpose = 'work_shift' and dp.kind in ('farm', 'packing_house')
         ), regular as (
             select person_id, case_id, dropoff_place_id, count(distinct service_date) as days,
                    array_agg(ride_request_id) as requests
             from work group by person_id, case_id, dropoff_place_id
             having count(distinct service_date) >= $5
         ), isolated as (
             select r.* from regular r
             where not exists (select 1 from work w where w.person_id = r.person_id
                               and w.dropoff_place_id <> r.dropoff_place_id)
               and not exists (select 1 from ride_request o where o.person_id = r.person_id
                               and o.service_date between $2 and $3 and o.purpose <> 'work_shift'
                               and o.status not in ('cancelled', 'refused'))
               and not exists (select 1 from appointment a where a.case_id = r.case_id
                               and (a.starts_at at time zone 'Europe/Rome')::date between $2 - 30 and $3)
         )
         select i.dropoff_place_id as place_id, p.name as workplace, count(*) as people,
                min(i.days) as min_days, sum(cardinality(i.requests))::bigint as rides,
                array_agg(i.case_id) as cases,
                (select array_agg(u) from isolated j, unnest(j.requests) u
                 where j.dropoff_place_id = i.dropoff_place_id) as requests
         from isolated i join place p on p.place_id = i.dropoff_place_id
         group by i.dropoff_place_id, p.name
         having count(*) >= $6
         order by p.name",
    )
    .bind(&s.region_code)
    .bind(s.from)
    .bind(s.to)
    .bind(polo)
    .bind(GROUP_MIN_DAYS)
    .bind(GROUP_MIN_PEOPLE)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Flag {
            flag_key: format!("closed_group:{}:{}:{}", r.place_id, s.from, s.to),
            kind: "closed_group",
            summary: format!(
                "{} people rode only to {} ({}+ days each, {} rides) with no contact with the Polo",
                r.people, r.workplace, r.min_days, r.rides
            ),
            evidence: serde_json::json!({
                "workplace_place_id": r.place_id, "workplace": r.workplace, "people": r.people,
                "min_days_each": r.min_days, "rides": r.rides,
                "threshold_people": GROUP_MIN_PEOPLE, "threshold_days": GROUP_MIN_DAYS,
            }),
            cases: sorted(r.cases),
            ride_requests: sorted(r.requests),
            first_seen_at: None,
            reviews: Vec::new(),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct DeclaredRow {
    place_id: Uuid,
    workplace: String,
    service_date: NaiveDate,
    riders: i64,
    from_polo: i64,
    declared_workers: i32,
}

async fn over_declared(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let rows: Vec<DeclaredRow> = sqlx::query_as(
        "with daily as (
             select rr.dropoff_place_id, rr.service_date, count(distinct rr.person_id) as riders,
                    count(distinct rr.person_id) filter (where c.polo_id = $4) as from_polo
             from ride_request rr
             join ride x on x.ride_request_id = rr.ride_request_id and x.outcome = 'completed'
             join care_case c on c.case_id = rr.case_id
             where rr.region_code = $1 and rr.service_date between $2 and $3
             group by rr.dropoff_place_id, rr.service_date
         )
         select d.dropoff_place_id as place_id, p.name as workplace, d.service_date, d.riders,
                d.from_polo, w.declared_workers
         from daily d
         join place p on p.place_id = d.dropoff_place_id
         cross join lateral (
             select declared_workers from workplace_declaration w
             where w.place_id = d.dropoff_place_id and d.service_date between w.valid_from and w.valid_to
             order by w.created_at desc limit 1) w
         where d.from_polo > 0 and d.riders > w.declared_workers * $5
         order by p.name, d.service_date",
    )
    .bind(&s.region_code)
    .bind(s.from)
    .bind(s.to)
    .bind(polo)
    .bind(OVER_DECLARED_RATIO)
    .fetch_all(conn)
    .await?;
    let mut by_place: BTreeMap<Uuid, Vec<DeclaredRow>> = BTreeMap::new();
    for r in rows {
        by_place.entry(r.place_id).or_default().push(r);
    }
    Ok(by_place
        .into_iter()
        .map(|(place, days)| {
            let worst = days
                .iter()
                .max_by_key(|d| (d.riders, d.service_date))
                .expect("a group has a day");
            Flag {
                flag_key: format!("over_declared:{place}:{}:{}", s.from, s.to),
                kind: "over_declared",
                summary: format!(
                    "{} received up to {} riders a day ({} on {}) against {} declared workers, on {} day(s)",
                    worst.workplace,
                    worst.riders,
                    worst.riders,
                    worst.service_date,
                    worst.declared_workers,
                    days.len()
                ),
                evidence: serde_json::json!({
                    "workplace_place_id": place, "workplace": worst.workplace,
                    "ratio_threshold": OVER_DECLARED_RATIO,
                    "days": days.iter().map(|d| serde_json::json!({
                        "service_date": d.service_date, "riders": d.riders,
                        "riders_from_this_polo": d.from_polo, "declared_workers": d.declared_workers,
                    })).collect::<Vec<_>>(),
                }),
                cases: Vec::new(),
                ride_requests: Vec::new(),
                first_seen_at: None,
                reviews: Vec::new(),
            }
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct NoShowRow {
    service_date: NaiveDate,
    pickup_place_id: Uuid,
    pickup: String,
    dropoff_place_id: Uuid,
    dropoff: String,
    booked: i64,
    cases: Vec<Uuid>,
    requests: Vec<Uuid>,
}

async fn group_no_show(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let rows: Vec<NoShowRow> = sqlx::query_as(
        "select rr.service_date, rr.pickup_place_id, pp.name as pickup,
                rr.dropoff_place_id, dp.name as dropoff, count(*) as booked,
                array_agg(rr.case_id) as cases, array_agg(rr.ride_request_id) as requests
         from ride_request rr
         join care_case c on c.case_id = rr.case_id
         join place pp on pp.place_id = rr.pickup_place_id
         join place dp on dp.place_id = rr.dropoff_place_id
         left join ride x on x.ride_request_id = rr.ride_request_id
         where rr.region_code = $1 and rr.service_date between $2 and $3 and c.polo_id = $4
           and coalesce(x.run_id, rr.run_id) is not null
           and rr.status not in ('cancelled', 'refused')
         group by coalesce(x.run_id, rr.run_id), rr.service_date, rr.pickup_place_id, pp.name,
                  rr.dropoff_place_id, dp.name
         having count(*) >= $5 and count(*) = count(*) filter (where x.outcome = 'no_show')
         order by rr.pickup_place_id, rr.dropoff_place_id, rr.service_date",
    )
    .bind(&s.region_code)
    .bind(s.from)
    .bind(s.to)
    .bind(polo)
    .bind(NO_SHOW_MIN_GROUP)
    .fetch_all(conn)
    .await?;
    let mut by_trip: BTreeMap<(Uuid, Uuid), Vec<NoShowRow>> = BTreeMap::new();
    for r in rows {
        by_trip
            .entry((r.pickup_place_id, r.dropoff_place_id))
            .or_default()
            .push(r);
    }
    Ok(by_trip
        .into_iter()
        .filter(|(_, days)| {
            let mut d: Vec<NaiveDate> = days.iter().map(|r| r.service_date).collect();
            d.dedup();
            d.len() >= NO_SHOW_MIN_DAYS
        })
        .map(|((from, to), days)| {
            let first = &days[0];
            let cases: Vec<Uuid> = days.iter().flat_map(|d| d.cases.clone()).collect();
            let requests: Vec<Uuid> = days.iter().flat_map(|d| d.requests.clone()).collect();
            Flag {
                flag_key: format!("group_no_show:{from}:{to}:{}:{}", s.from, s.to),
                kind: "group_no_show",
                summary: format!(
                    "a whole group booked from {} to {} missed the ride on {} days",
                    first.pickup,
                    first.dropoff,
                    days.len()
                ),
                evidence: serde_json::json!({
                    "pickup_place_id": from, "pickup": first.pickup,
                    "dropoff_place_id": to, "dropoff": first.dropoff,
                    "days": days.iter().map(|d| serde_json::json!({
                        "service_date": d.service_date, "booked_and_missed": d.booked,
                    })).collect::<Vec<_>>(),
                    "threshold_group": NO_SHOW_MIN_GROUP, "threshold_days": NO_SHOW_MIN_DAYS,
                }),
                cases: sorted(cases),
                ride_requests: sorted(requests),
                first_seen_at: None,
                reviews: Vec::new(),
            }
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct OddRow {
    booked_by: Uuid,
    username: String,
    role: String,
    bookings: i64,
    people: i64,
    times: Vec<String>,
    cases: Vec<Uuid>,
    requests: Vec<Uuid>,
}

async fn odd_hours(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let rows: Vec<OddRow> = sqlx::query_as(
        "select rr.booked_by, st.username, st.role::text as role, count(*) as bookings,
                count(distinct rr.person_id) as people,
                array_agg(to_char(rr.created_at at time zone 'Europe/Rome', 'YYYY-MM-DD HH24:MI')
                          order by rr.created_at) as times,
                array_agg(rr.case_id) as cases, array_agg(rr.ride_request_id) as requests
         from ride_request rr
         join care_case c on c.case_id = rr.case_id
         join staff st on st.staff_id = rr.booked_by
         where rr.region_code = $1 and rr.service_date between $2 and $3 and c.polo_id = $4
           and rr.line_subscription_id is null
           and (extract(hour from rr.created_at at time zone 'Europe/Rome') >= 23
                or extract(hour from rr.created_at at time zone 'Europe/Rome') < 5)
         group by rr.booked_by, st.username, st.role
         having count(*) >= $5
         order by st.username",
    )
    .bind(&s.region_code)
    .bind(s.from)
    .bind(s.to)
    .bind(polo)
    .bind(ODD_HOURS_MIN_BOOKINGS)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Flag {
            flag_key: format!("odd_hours:{}:{}:{}", r.booked_by, s.from, s.to),
            kind: "odd_hours",
            summary: format!(
                "{} ({}) made {} bookings for {} people between 23:00 and 05:00",
                r.username, r.role, r.bookings, r.people
            ),
            evidence: serde_json::json!({
                "booker": r.username, "booker_role": r.role, "bookings": r.bookings,
                "people": r.people, "booked_at_local": r.times,
                "threshold_bookings": ODD_HOURS_MIN_BOOKINGS,
            }),
            cases: sorted(r.cases),
            ride_requests: sorted(r.requests),
            first_seen_at: None,
            reviews: Vec::new(),
        })
        .collect())
}

/// Every flag of a Polo in a period, in a stable order.
///
/// # Errors
/// Database errors.
pub async fn compute(conn: &mut PgConnection, s: &Scope, polo: Uuid) -> AppResult<Vec<Flag>> {
    let mut out = bulk_booking(conn, s, polo).await?;
    out.extend(closed_group(conn, s, polo).await?);
    out.extend(over_declared(conn, s, polo).await?);
    out.extend(group_no_show(conn, s, polo).await?);
    out.extend(odd_hours(conn, s, polo).await?);
    Ok(out)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FlagsView {
    region_code: String,
    polo_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    definitions: &'static str,
    flags: Vec<Flag>,
}

#[utoipa::path(get, path = "/api/reports/oversight", tag = "reports", params(RawScope), responses((status = 200, body = FlagsView)))]
async fn flags(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(raw): AppQuery<RawScope>,
) -> AppResult<Json<FlagsView>> {
    staff.require(&[Role::PoloCoordinator])?;
    let scope = raw.resolve(&staff)?;
    let polo = staff.case_polo()?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let mut found = compute(&mut tx, &scope, polo).await?;
    for f in &mut found {
        let first: DateTime<Utc> = sqlx::query_scalar(
            "insert into oversight_flag (region_code, flag_key, kind, polo_id, summary,
                 first_seen_at, first_seen_by, last_seen_at, last_seen_by)
             values ($1, $2, $3::oversight_flag_kind, $4, $5, $6, $7, $6, $7)
             on conflict (region_code, flag_key, polo_id) do update
                 set summary = excluded.summary, last_seen_at = excluded.last_seen_at,
                     last_seen_by = excluded.last_seen_by
             returning first_seen_at",
        )
        .bind(&scope.region_code)
        .bind(&f.flag_key)
        .bind(f.kind)
        .bind(polo)
        .bind(&f.summary)
        .bind(now)
        .bind(staff.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        f.first_seen_at = Some(first);
        f.reviews = sqlx::query_as(
            "select s.username as reviewed_by, r.reviewed_at, r.outcome::text as outcome, r.note
             from oversight_review r join staff s on s.staff_id = r.reviewed_by
             where r.region_code = $1 and r.flag_key = $2 and r.polo_id = $3
             order by r.reviewed_at, r.review_id",
        )
        .bind(&scope.region_code)
        .bind(&f.flag_key)
        .bind(polo)
        .fetch_all(&mut *tx)
        .await?;
        let cases: Vec<(String, Uuid)> = f
            .cases
            .iter()
            .map(|c| (scope.region_code.clone(), *c))
            .collect();
        crate::audit::record_case_accesses(
            &mut tx,
            &staff,
            &cases,
            &format!("oversight flag {}", f.kind),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(FlagsView {
        region_code: scope.region_code,
        polo_id: polo,
        from: scope.from,
        to: scope.to,
        definitions: super::DEFINITIONS,
        flags: found,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewReview {
    flag_key: String,
    outcome: Outcome,
    note: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "oversight_outcome", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
enum Outcome {
    NoConcern,
    FollowUp,
    Escalated,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Reviewed {
    review_id: i64,
    flag_key: String,
    outcome: Outcome,
    note: String,
    reviewed_at: DateTime<Utc>,
}

/// Records that the coordinator looked at a flag of their Polo and what they concluded.
#[utoipa::path(post, path = "/api/reports/oversight/reviews", tag = "reports", request_body = NewReview, responses((status = 201, body = Reviewed)))]
async fn review(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewReview>,
) -> AppResult<(StatusCode, Json<Reviewed>)> {
    staff.require(&[Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let note = crate::geo::non_blank("note", &body.note)?;
    let key = crate::geo::non_blank("flag_key", &body.flag_key)?;
    let mut tx = state.db.begin().await?;
    let region: Option<String> = sqlx::query_scalar(
        "select region_code from oversight_flag where flag_key = $1 and polo_id = $2",
    )
    .bind(&key)
    .bind(polo)
    .fetch_optional(&mut *tx)
    .await?;
    let region = region.ok_or(AppError::NotFound("flag"))?;
    let r: Reviewed = sqlx::query_as(
        "insert into oversight_review (region_code, flag_key, polo_id, reviewed_by, outcome, note, reviewed_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning review_id, flag_key, outcome, note, reviewed_at",
    )
    .bind(&region)
    .bind(&key)
    .bind(polo)
    .bind(staff.staff_id)
    .bind(body.outcome)
    .bind(&note)
    .bind(state.now())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewDeclaration {
    place_id: Uuid,
    declared_workers: i32,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    source: String,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Declaration {
    declaration_id: Uuid,
    place_id: Uuid,
    workplace: String,
    declared_workers: i32,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    source: String,
}

const DECLARATION_COLUMNS: &str = "d.declaration_id, d.place_id, p.name as workplace,
    d.declared_workers, d.valid_from, d.valid_to, d.source";

/// Records how many workers a farm or packing house declared for a period.
#[utoipa::path(post, path = "/api/reports/oversight/declarations", tag = "reports", request_body = NewDeclaration, responses((status = 201, body = Declaration)))]
async fn declare(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewDeclaration>,
) -> AppResult<(StatusCode, Json<Declaration>)> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    if body.declared_workers <= 0 {
        return Err(AppError::invalid("declared_workers", "must be at least 1"));
    }
    if body.valid_to < body.valid_from {
        return Err(AppError::invalid(
            "valid_to",
            "must not be before valid_from",
        ));
    }
    let source = crate::geo::non_blank("source", &body.source)?;
    let mut tx = state.db.begin().await?;
    let place: Option<(String, String)> =
        sqlx::query_as("select region_code, kind::text from place where place_id = $1")
            .bind(body.place_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (region, kind) = place.ok_or_else(|| AppError::invalid("place_id", "no such place"))?;
    staff.require_region("place_id", &region)?;
    if kind != "farm" && kind != "packing_house" {
        return Err(AppError::invalid(
            "place_id",
            format!("a {kind} is not a workplace (farm or packing house)"),
        ));
    }
    let id: Uuid = sqlx::query_scalar(
        "insert into workplace_declaration (region_code, place_id, declared_workers, valid_from,
             valid_to, source, declared_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning declaration_id",
    )
    .bind(&region)
    .bind(body.place_id)
    .bind(body.declared_workers)
    .bind(body.valid_from)
    .bind(body.valid_to)
    .bind(&source)
    .bind(staff.staff_id)
    .fetch_one(&mut *tx)
    .await?;
    let d: Declaration = sqlx::query_as(&format!(
        "select {DECLARATION_COLUMNS} from workplace_declaration d join place p using (place_id)
         where d.declaration_id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(d)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RegionQuery {
    region: String,
}

#[utoipa::path(get, path = "/api/reports/oversight/declarations", tag = "reports", params(RegionQuery), responses((status = 200, body = Vec<Declaration>)))]
async fn list_declarations(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RegionQuery>,
) -> AppResult<Json<Vec<Declaration>>> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    staff.require_region("region", &q.region)?;
    Ok(Json(
        sqlx::query_as(&format!(
            "select {DECLARATION_COLUMNS} from workplace_declaration d join place p using (place_id)
             where d.region_code = $1 order by p.name, d.valid_from"
        ))
        .bind(&q.region)
        .fetch_all(&state.db)
        .await?,
    ))
}
