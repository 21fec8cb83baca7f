//! SQL of access cards, workers' sessions and reports, and the read-only look-ups of the
//! workers' pages (their places, rides as the run goes, lines near them).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Destination, ReportKind, ReportStatus};
use crate::auth::{Staff, Worker};
use crate::error::{AppError, AppResult};

/// The case a card is issued for, if it is open and of `polo_id`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardCase {
    /// Region.
    pub region_code: String,
    /// Person.
    pub person_id: Uuid,
}

/// An open case of `polo_id`.
///
/// # Errors
/// Not found otherwise (another Polo's case is not told apart from none).
pub async fn open_case_of_polo(
    conn: &mut PgConnection,
    polo_id: Uuid,
    case_id: Uuid,
) -> AppResult<CardCase> {
    sqlx::query_as(
        "select region_code, person_id from care_case
         where case_id = $1 and polo_id = $2 and status = 'open'",
    )
    .bind(case_id)
    .bind(polo_id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound("case"))
}

/// A card to write.
pub struct NewCard<'a> {
    /// The case.
    pub case_id: Uuid,
    /// Its region and person.
    pub case: &'a CardCase,
    /// The Polo issuing.
    pub polo_id: Uuid,
    /// Digest of the code.
    pub code_sha256: &'a [u8],
    /// Argon2 hash of the PIN, if the person chose one.
    pub pin_hash: Option<&'a str>,
    /// Language of the card.
    pub language: &'a str,
}

/// Revokes the case's live card (if any, recording why), then writes the new one and records
/// its issue: call in one transaction. Returns the new card's id and the card it replaced.
///
/// # Errors
/// Database errors.
pub async fn issue_card(
    conn: &mut PgConnection,
    staff: &Staff,
    card: &NewCard<'_>,
) -> AppResult<(Uuid, Option<Uuid>)> {
    let revoked = revoke_live(conn, staff, card.case_id, "re-issued").await?;
    let card_id: Uuid = sqlx::query_scalar(
        "insert into access_card (region_code, case_id, person_id, polo_id, code_sha256, pin_hash,
            language, issued_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning card_id",
    )
    .bind(&card.case.region_code)
    .bind(card.case_id)
    .bind(card.case.person_id)
    .bind(card.polo_id)
    .bind(card.code_sha256)
    .bind(card.pin_hash)
    .bind(card.language)
    .bind(staff.staff_id)
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        &card.case.region_code,
        card_id,
        card.case_id,
        "issued",
        staff,
        None,
    )
    .await?;
    Ok((card_id, revoked))
}

async fn record(
    conn: &mut PgConnection,
    region: &str,
    card_id: Uuid,
    case_id: Uuid,
    action: &str,
    staff: &Staff,
    reason: Option<&str>,
) -> AppResult<()> {
    sqlx::query(
        "insert into access_card_event (region_code, card_id, case_id, action, staff_id, reason)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(region)
    .bind(card_id)
    .bind(case_id)
    .bind(action)
    .bind(staff.staff_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes the live card of a case (its sessions end at once) and records it; the card
/// revoked, if there was one.
///
/// # Errors
/// Database errors.
pub async fn revoke_live(
    conn: &mut PgConnection,
    staff: &Staff,
    case_id: Uuid,
    reason: &str,
) -> AppResult<Option<Uuid>> {
    let card: Option<(Uuid, String)> = sqlx::query_as(
        "update access_card set revoked_at = now(), revoked_by = $2
         where case_id = $1 and revoked_at is null returning card_id, region_code",
    )
    .bind(case_id)
    .bind(staff.staff_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((card_id, region)) = card else {
        return Ok(None);
    };
    sqlx::query("delete from worker_session where card_id = $1")
        .bind(card_id)
        .execute(&mut *conn)
        .await?;
    record(
        conn,
        &region,
        card_id,
        case_id,
        "revoked",
        staff,
        Some(reason),
    )
    .await?;
    Ok(Some(card_id))
}

/// One entry of a case's card history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CardEvent {
    /// The card.
    pub card_id: Uuid,
    /// `issued` or `revoked`.
    pub action: String,
    /// Who.
    pub staff_id: Uuid,
    /// Why (revocations).
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The card history of a case, oldest first.
///
/// # Errors
/// Database errors.
pub async fn card_events(conn: &mut PgConnection, case_id: Uuid) -> AppResult<Vec<CardEvent>> {
    Ok(sqlx::query_as(
        "select card_id, action, staff_id, reason, at from access_card_event
         where case_id = $1 order by card_event_id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// A live card found by its code's digest, with its PIN hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveCard {
    /// The card.
    pub card_id: Uuid,
    /// The PIN's argon2 hash, if the person chose one.
    pub pin_hash: Option<String>,
}

/// The live card with this code digest whose case is open, if any.
///
/// # Errors
/// Database errors.
pub async fn live_card(conn: &mut PgConnection, digest: &[u8]) -> AppResult<Option<LiveCard>> {
    Ok(sqlx::query_as(
        "select a.card_id, a.pin_hash from access_card a join care_case c using (region_code, case_id)
         where a.code_sha256 = $1 and a.revoked_at is null and c.status = 'open'",
    )
    .bind(digest)
    .fetch_optional(conn)
    .await?)
}

/// Starts a session of `card_id` (the card's own expired sessions go now).
///
/// # Errors
/// Database errors.
pub async fn start_session(
    conn: &mut PgConnection,
    card_id: Uuid,
    token_sha256: &[u8],
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query("delete from worker_session where card_id = $1 and expires_at <= now()")
        .bind(card_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into worker_session (token_sha256, card_id, expires_at) values ($1, $2, $3)",
    )
    .bind(token_sha256)
    .bind(card_id)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a session.
///
/// # Errors
/// Database errors.
pub async fn end_session(conn: &mut PgConnection, token_sha256: &[u8]) -> AppResult<()> {
    sqlx::query("delete from worker_session where token_sha256 = $1")
        .bind(token_sha256)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every expired session (the maintenance job); returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_expired_sessions(conn: &mut PgConnection) -> AppResult<u64> {
    Ok(
        sqlx::query("delete from worker_session where expires_at <= now()")
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// The person of a live session on a live card of an open case.
///
/// # Errors
/// Database errors.
pub async fn session_worker(
    conn: &mut PgConnection,
    token_sha256: &[u8],
) -> AppResult<Option<Worker>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        card_id: Uuid,
        person_id: Uuid,
        case_id: Uuid,
        region_code: String,
        polo_id: Uuid,
        known_as: String,
    }
    let row: Option<Row> = sqlx::query_as(
        "select a.card_id, a.person_id, a.case_id, a.region_code, c.polo_id, p.known_as
         from worker_session s join access_card a using (card_id)
         join care_case c on c.case_id = a.case_id
         join person p on p.person_id = a.person_id
         where s.token_sha256 = $1 and s.expires_at > now() and a.revoked_at is null
            and c.status = 'open'",
    )
    .bind(token_sha256)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Worker {
        card_id: r.card_id,
        person_id: r.person_id,
        case_id: r.case_id,
        region_code: r.region_code,
        polo_id: r.polo_id,
        known_as: r.known_as,
    }))
}

/// What a card and the pages show of the person's Polo.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PoloContact {
    /// Name.
    pub name: String,
    /// Phone, if recorded.
    pub phone: Option<String>,
}

/// The Polo's name and phone.
///
/// # Errors
/// Database errors.
pub async fn polo_contact(conn: &mut PgConnection, polo_id: Uuid) -> AppResult<PoloContact> {
    Ok(
        sqlx::query_as("select name, phone from polo where polo_id = $1")
            .bind(polo_id)
            .fetch_one(conn)
            .await?,
    )
}

/// A place a person can be picked up at or taken to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Spot {
    /// The place.
    pub place_id: Uuid,
    /// Its meeting point (pickups at a settlement).
    pub meeting_point_id: Option<Uuid>,
    /// Name to show.
    pub name: String,
    /// The meeting point's landmark, to find it without a map.
    pub landmark: Option<String>,
    /// The kind of place (`settlement`, `farm`, `questura`...), for its pictogram.
    pub kind: String,
}

/// The meeting points of the settlements of the person's region, those they used before
/// first, then the nearest to their Polo.
///
/// # Errors
/// Database errors.
pub async fn meeting_points(conn: &mut PgConnection, w: &Worker) -> AppResult<Vec<Spot>> {
    Ok(sqlx::query_as(
        "select m.place_id, m.meeting_point_id, p.name || ' - ' || m.name as name,
                m.landmark, p.kind::text as kind
         from meeting_point m join place p using (region_code, place_id)
         join polo po on po.polo_id = $2
         where m.region_code = $1 and p.kind = 'settlement'
         order by (select count(*) from ride_request r
                   where r.person_id = $3 and r.pickup_meeting_point_id = m.meeting_point_id) desc,
                  m.location <-> po.location, m.meeting_point_id
         limit 12",
    )
    .bind(&w.region_code)
    .bind(w.polo_id)
    .bind(w.person_id)
    .fetch_all(conn)
    .await?)
}

/// Places of a destination kind in the person's region, nearest to their Polo first (for
/// the Polo itself, the office places within 300 m of it).
///
/// # Errors
/// Database errors.
pub async fn destinations(
    conn: &mut PgConnection,
    w: &Worker,
    d: Destination,
) -> AppResult<Vec<Spot>> {
    let kinds: Vec<&str> = super::place_kinds(d).to_vec();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let near_polo_only = d == Destination::Polo;
    Ok(sqlx::query_as(
        "select p.place_id, null::uuid as meeting_point_id, p.name, null::text as landmark,
                p.kind::text as kind
         from place p join polo po on po.polo_id = $2
         where p.region_code = $1 and p.kind::text = any($3)
            and (not $4 or st_dwithin(p.location, po.location, 300))
         order by p.location <-> po.location, p.place_id
         limit 20",
    )
    .bind(&w.region_code)
    .bind(w.polo_id)
    .bind(&kinds)
    .bind(near_polo_only)
    .fetch_all(conn)
    .await?)
}

/// An appointment the Polo recorded for the person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AppointmentOption {
    /// The appointment.
    pub appointment_id: Uuid,
    /// Where.
    pub place_id: Uuid,
    /// Place name.
    pub place_name: String,
    /// Kind of place.
    pub kind: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// What it is.
    pub description: String,
}

/// The person's appointments still to come.
///
/// # Errors
/// Database errors.
pub async fn appointments(
    conn: &mut PgConnection,
    w: &Worker,
    now: DateTime<Utc>,
) -> AppResult<Vec<AppointmentOption>> {
    Ok(sqlx::query_as(
        "select a.appointment_id, a.place_id, p.name as place_name, p.kind::text as kind,
                a.starts_at, a.description
         from appointment a join place p using (region_code, place_id)
         where a.case_id = $1 and a.starts_at > $2 order by a.starts_at limit 10",
    )
    .bind(w.case_id)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// One of the person's rides as their pages show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SelfRide {
    /// The request.
    pub ride_request_id: Uuid,
    /// Day.
    pub service_date: NaiveDate,
    /// Purpose.
    pub purpose: crate::bookings::RidePurpose,
    /// Status.
    pub status: crate::bookings::RideStatus,
    /// Where the person is picked up.
    pub pickup_name: String,
    /// The meeting point's landmark.
    pub pickup_landmark: Option<String>,
    /// Kind of the pickup place.
    pub pickup_kind: String,
    /// Where to.
    pub dropoff_name: String,
    /// Kind of the drop-off place.
    pub dropoff_kind: String,
    /// Asked: not before.
    pub earliest_pickup: Option<DateTime<Utc>>,
    /// Asked: there by.
    pub latest_arrival: Option<DateTime<Utc>>,
    /// Passengers.
    pub passengers: i16,
    /// Wheelchair.
    pub wheelchair: bool,
    /// The pickup time promised.
    pub promised_pickup_at: Option<DateTime<Utc>>,
    /// On the day of the ride: the pickup time as the run now plans it (from the run's
    /// current stop times, never from the vehicle's position).
    pub expected_pickup_at: Option<DateTime<Utc>>,
    /// A work line subscription the ride comes from.
    pub line_subscription_id: Option<Uuid>,
}

const RIDE_SELECT: &str = "select r.ride_request_id, r.service_date, r.purpose, r.status,
        coalesce(pp.name || ' - ' || pm.name, pp.name) as pickup_name, pm.landmark as pickup_landmark,
        pp.kind::text as pickup_kind,
        coalesce(dp.name || ' - ' || dm.name, dp.name) as dropoff_name, dp.kind::text as dropoff_kind,
        r.earliest_pickup, r.latest_arrival, r.passengers, r.wheelchair, r.promised_pickup_at,
        case when r.service_date = $3 then (
            select s.planned_arrival from run_stop s join run ru using (region_code, run_id)
            where s.run_id = r.run_id and s.ride_request_id = r.ride_request_id
              and s.kind = 'pickup' and ru.status <> 'cancelled'
            order by s.seq limit 1) end as expected_pickup_at,
        r.line_subscription_id
    from ride_request r
    join place pp on pp.place_id = r.pickup_place_id
    left join meeting_point pm on pm.meeting_point_id = r.pickup_meeting_point_id
    join place dp on dp.place_id = r.dropoff_place_id
    left join meeting_point dm on dm.meeting_point_id = r.dropoff_meeting_point_id";

/// The person's rides from `today` on (`upcoming`: not final) or a single one.
///
/// # Errors
/// Database errors.
pub async fn rides(
    conn: &mut PgConnection,
    person_id: Uuid,
    today: NaiveDate,
) -> AppResult<Vec<SelfRide>> {
    Ok(sqlx::query_as(&format!(
        "{RIDE_SELECT} where r.person_id = $1 and r.service_date >= $2
            and r.status in ('requested', 'planned', 'confirmed')
         order by r.service_date, coalesce(r.promised_pickup_at, r.earliest_pickup, r.latest_arrival),
            r.ride_request_id
         limit 60"
    ))
    .bind(person_id)
    .bind(today)
    .bind(today)
    .fetch_all(conn)
    .await?)
}

/// One of the person's rides (another's is none).
///
/// # Errors
/// Database errors.
pub async fn ride(
    conn: &mut PgConnection,
    person_id: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> AppResult<Option<SelfRide>> {
    Ok(sqlx::query_as(&format!(
        "{RIDE_SELECT} where r.person_id = $1 and r.ride_request_id = $2"
    ))
    .bind(person_id)
    .bind(id)
    .bind(today)
    .fetch_optional(conn)
    .await?)
}

/// A subscription of the person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SelfSubscription {
    /// Subscription.
    pub subscription_id: Uuid,
    /// Line.
    pub line_id: Uuid,
    /// Line name.
    pub line_name: String,
    /// Boarding stop name.
    pub board_name: String,
    /// Boarding time, `HH:MM`.
    pub board_time: String,
    /// Where the person gets off.
    pub alight_name: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_to: NaiveDate,
    /// `active` or `ended`.
    pub status: String,
}

/// The person's subscriptions that have not ended before `today`.
///
/// # Errors
/// Database errors.
pub async fn subscriptions(
    conn: &mut PgConnection,
    person_id: Uuid,
    today: NaiveDate,
) -> AppResult<Vec<SelfSubscription>> {
    Ok(sqlx::query_as(
        "select s.subscription_id, s.line_id, l.name as line_name,
                coalesce(bp.name || ' - ' || bm.name, bp.name) as board_name,
                to_char(b.stop_time, 'HH24:MI') as board_time,
                coalesce(ap.name || ' - ' || am.name, ap.name) as alight_name,
                s.valid_from, s.valid_to, s.status::text as status
         from line_subscription s join work_line l using (line_id)
         join work_line_stop b on b.line_id = s.line_id and b.seq = s.board_seq
         join place bp on bp.place_id = b.place_id
         left join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
         join work_line_stop a on a.line_id = s.line_id and a.seq = s.alight_seq
         join place ap on ap.place_id = a.place_id
         left join meeting_point am on am.meeting_point_id = a.meeting_point_id
         where s.person_id = $1 and s.valid_to >= $2
         order by s.status, s.valid_from, l.name",
    )
    .bind(person_id)
    .bind(today)
    .fetch_all(conn)
    .await?)
}

/// A stop of a line the person can board at.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LineOffer {
    /// Line.
    pub line_id: Uuid,
    /// Line name.
    pub line_name: String,
    /// Boarding stop (a meeting point of a settlement).
    pub board_seq: i16,
    /// Its name.
    pub board_name: String,
    /// Its landmark.
    pub board_landmark: Option<String>,
    /// Its time, `HH:MM`.
    pub board_time: String,
    /// The line's last stop (where it goes).
    pub alight_seq: i16,
    /// Its name.
    pub alight_name: String,
    /// First day of the season still to come.
    pub first_day: NaiveDate,
    /// Last day of the season.
    pub season_end: NaiveDate,
    /// ISO weekdays the line runs.
    pub operating_days: Vec<i16>,
}

/// Lines of the person's region in season whose stops include a settlement meeting point:
/// each with its first such stop and its last stop.
///
/// # Errors
/// Database errors.
pub async fn line_offers(
    conn: &mut PgConnection,
    w: &Worker,
    today: NaiveDate,
) -> AppResult<Vec<LineOffer>> {
    Ok(sqlx::query_as(
        "select l.line_id, l.name as line_name, b.seq as board_seq,
                bp.name || ' - ' || bm.name as board_name, bm.landmark as board_landmark,
                to_char(b.stop_time, 'HH24:MI') as board_time,
                a.seq as alight_seq, ap.name as alight_name,
                greatest(l.season_start, $2) as first_day, l.season_end, l.operating_days
         from work_line l
         join lateral (select * from work_line_stop s where s.line_id = l.line_id
                and s.meeting_point_id is not null order by s.seq limit 1) b on true
         join place bp on bp.place_id = b.place_id
         join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
         join lateral (select * from work_line_stop s where s.line_id = l.line_id
                order by s.seq desc limit 1) a on a.seq > b.seq
         join place ap on ap.place_id = a.place_id
         where l.region_code = $1 and l.season_end >= $2
         order by b.stop_time, l.name
         limit 20",
    )
    .bind(&w.region_code)
    .bind(today)
    .fetch_all(conn)
    .await?)
}

/// A report to the Polo's coordinator as they see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Report {
    /// Region (for the audit of a named report's read).
    #[serde(skip)]
    pub region_code: String,
    /// Report.
    pub report_id: Uuid,
    /// What it is about.
    pub kind: ReportKind,
    /// What the person wrote.
    pub details: Option<String>,
    /// The person's case, unless they reported anonymously.
    pub case_id: Option<Uuid>,
    /// The name the person is called by, unless anonymous.
    pub known_as: Option<String>,
    /// Where it stands.
    pub status: ReportStatus,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Writes a report to the person's Polo (anonymous ones keep no case); a retry with the same
/// idempotency key is answered with the first report (`true`).
///
/// # Errors
/// Database errors.
pub async fn insert_report(
    conn: &mut PgConnection,
    w: &Worker,
    kind: ReportKind,
    details: Option<&str>,
    anonymous: bool,
    idempotency_key: Option<&str>,
) -> AppResult<(Uuid, bool)> {
    let made: Option<Uuid> = sqlx::query_scalar(
        "insert into worker_report (region_code, polo_id, case_id, kind, details, idempotency_key)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning report_id",
    )
    .bind(&w.region_code)
    .bind(w.polo_id)
    .bind((!anonymous).then_some(w.case_id))
    .bind(kind)
    .bind(details)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = made {
        return Ok((id, false));
    }
    // A retry of the same report: the first one.
    let id = sqlx::query_scalar(
        "select report_id from worker_report where polo_id = $1 and idempotency_key = $2",
    )
    .bind(w.polo_id)
    .bind(idempotency_key)
    .fetch_one(conn)
    .await?;
    Ok((id, true))
}

const REPORT_SELECT: &str =
    "select w.region_code, w.report_id, w.kind, w.details, w.case_id, p.known_as,
        w.status, w.created_at, w.updated_at
    from worker_report w
    left join care_case c on c.case_id = w.case_id
    left join person p on p.person_id = c.person_id";

/// The reports to a Polo, newest first.
///
/// # Errors
/// Database errors.
pub async fn reports_of_polo(conn: &mut PgConnection, polo_id: Uuid) -> AppResult<Vec<Report>> {
    Ok(sqlx::query_as(&format!(
        "{REPORT_SELECT} where w.polo_id = $1 order by w.created_at desc limit 500"
    ))
    .bind(polo_id)
    .fetch_all(conn)
    .await?)
}

/// Sets a report's status (a report of another Polo is not found).
///
/// # Errors
/// Not found; database errors.
pub async fn set_report_status(
    conn: &mut PgConnection,
    staff: &Staff,
    polo_id: Uuid,
    report_id: Uuid,
    status: ReportStatus,
) -> AppResult<Report> {
    let updated = sqlx::query(
        "update worker_report set status = $3, updated_at = now(), updated_by = $4
         where report_id = $1 and polo_id = $2",
    )
    .bind(report_id)
    .bind(polo_id)
    .bind(status)
    .bind(staff.staff_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound("report"));
    }
    Ok(
        sqlx::query_as(&format!("{REPORT_SELECT} where w.report_id = $1"))
            .bind(report_id)
            .fetch_one(conn)
            .await?,
    )
}

/// A work line passing near a pickup and a destination on a day, with a free seat.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineAlternative {
    /// Line.
    pub line_id: Uuid,
    /// Name.
    pub name: String,
    /// Boarding stop.
    pub board_seq: i16,
    /// Stop to get off at.
    pub alight_seq: i16,
    /// Boarding time, `HH:MM`.
    pub board_time: String,
    /// Metres from the meeting point to the boarding stop.
    pub board_distance_m: f64,
}

/// Work lines running on `date` with a stop within 1.5 km of the meeting point and a later one
/// within 1.5 km of the place, with a free seat (asked of `lines`).
///
/// # Errors
/// Database errors.
pub async fn lines_near(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    meeting_point_id: Uuid,
    place_id: Uuid,
) -> AppResult<Vec<LineAlternative>> {
    let ends: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "select st_x(m.location::geometry), st_y(m.location::geometry),
                st_x(p.location::geometry), st_y(p.location::geometry)
         from meeting_point m, place p where m.meeting_point_id = $1 and p.place_id = $2",
    )
    .bind(meeting_point_id)
    .bind(place_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((a, b, c, d)) = ends else {
        return Ok(Vec::new());
    };
    let passing = crate::lines::db::lines_passing(
        conn,
        region_code,
        date,
        crate::geo::LonLat { lon: a, lat: b },
        crate::geo::LonLat { lon: c, lat: d },
        1_500.0,
    )
    .await?;
    Ok(passing
        .into_iter()
        .map(|l| LineAlternative {
            line_id: l.line_id,
            name: l.name,
            board_seq: l.board_seq,
            alight_seq: l.alight_seq,
            board_time: l.board_time,
            board_distance_m: l.board_distance_m.round(),
        })
        .collect())
}
