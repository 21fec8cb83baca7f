//! HTTP routes for ride requests and appointments. Booking is done by the staff of the
//! person's Polo (coordinator, case worker, mediator) on the person's behalf; who booked is
//! recorded. A retried booking with the same `Idempotency-Key` header returns the first one.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::db::{self, Booking};
use super::{
    BookingChannel, Endpoint, NewRideRequest, RidePurpose, RideRequestView, RideStatus, StatusEvent,
};
use crate::audit::record_case_access;
use crate::auth::{Actor, Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery, DigestedJson};
use crate::ids::RideRequestId;
use crate::service_day;
use crate::state::{AppState, LiveOutcome};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(book, list))
        .routes(routes!(show))
        .routes(routes!(cancel))
        .routes(routes!(change))
        .routes(routes!(create_appointment))
}

fn channel(actor: Actor<'_>) -> AppResult<BookingChannel> {
    let staff = match actor {
        Actor::Worker(_) => return Ok(BookingChannel::SelfBooked),
        Actor::Staff(s) => s,
    };
    match staff.role {
        Role::PoloCoordinator => Ok(BookingChannel::Coordinator),
        Role::CaseWorker => Ok(BookingChannel::CaseWorker),
        Role::Mediator => Ok(BookingChannel::Mediator),
        _ => Err(AppError::Forbidden(
            "rides are booked by the staff of the person's Polo".into(),
        )),
    }
}

#[derive(sqlx::FromRow)]
struct CaseRef {
    region_code: String,
    person_id: Uuid,
    wheelchair: bool,
}

/// The case, if it belongs to the caller's Polo (or is the signed-in person's own); audits a
/// staff access.
async fn case_ref(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    case_id: Uuid,
    purpose: &str,
) -> AppResult<CaseRef> {
    let staff = match actor {
        Actor::Staff(s) => s,
        Actor::Worker(w) => {
            return sqlx::query_as(
                "select c.region_code, c.person_id, p.wheelchair from care_case c join person p using (region_code, person_id)
                 where c.case_id = $1 and c.person_id = $2 and c.status = 'open'",
            )
            .bind(case_id)
            .bind(w.person_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::invalid("case_id", "your case is not open: ask your Polo"));
        }
    };
    let polo = staff.case_polo()?;
    let case: CaseRef = sqlx::query_as(
        "select c.region_code, c.person_id, p.wheelchair from care_case c join person p using (region_code, person_id)
         where c.case_id = $1 and c.polo_id = $2 and c.status = 'open'",
    )
    .bind(case_id)
    .bind(polo)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::invalid("case_id", "no open case with this id at your Polo"))?;
    record_case_access(conn, staff, &case.region_code, case_id, purpose).await?;
    Ok(case)
}

/// The answer to a booking.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Booked {
    /// The first day's request.
    pub request: RideRequestView,
    /// All requests written (one per day of a recurrence).
    pub ride_request_ids: Vec<Uuid>,
    /// True when this is a retry of an earlier booking with the same key.
    pub replayed: bool,
    /// For a ride today: confirmed with a pickup time, or refused with alternatives.
    pub live: Vec<LiveOutcome>,
}

fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| AppError::invalid("Idempotency-Key", "must be ASCII"))?
                .trim();
            if k.is_empty() || k.len() > 200 {
                return Err(AppError::invalid("Idempotency-Key", "1..200 characters"));
            }
            Ok(Some(k.to_owned()))
        }
    }
}

async fn replay(
    state: &AppState,
    actor: Actor<'_>,
    key: &str,
    digest: &[u8],
) -> AppResult<Option<(StatusCode, Booked)>> {
    let mut tx = state.db.begin().await?;
    let person = match actor {
        Actor::Worker(w) => Some(w.person_id),
        Actor::Staff(_) => None,
    };
    let Some((id, first)) = db::by_idempotency_key(&mut tx, actor.staff_id(), person, key).await?
    else {
        return Ok(None);
    };
    if first.is_some_and(|f| f != digest) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was used for another booking: use a new key for a new request",
        ));
    }
    // A replay shows the person's name again: audited like any other read.
    let request = visible_request(&mut tx, actor, id, "booking replay").await?;
    let ids = match request.recurrence_id {
        Some(r) => sqlx::query_scalar("select ride_request_id from ride_request where recurrence_id = $1 order by service_date")
            .bind(r)
            .fetch_all(&mut *tx)
            .await?,
        None => vec![id],
    };
    tx.commit().await?;
    Ok(Some((
        StatusCode::OK,
        Booked {
            request,
            ride_request_ids: ids,
            replayed: true,
            live: Vec::new(),
        },
    )))
}

#[utoipa::path(post, path = "/api/ride-requests", tag = "bookings", request_body = NewRideRequest, params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the first answer (200, `replayed`); the same key with another body is refused (422)")), responses((status = 201, body = Booked), (status = 200, description = "A replay of an earlier booking with the same key", body = Booked)))]
async fn book(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    DigestedJson(body, digest): DigestedJson<NewRideRequest>,
) -> AppResult<(StatusCode, Json<Booked>)> {
    let key = idempotency_key(&headers)?;
    let (status, booked) = book_for(
        &state,
        Actor::Staff(&staff),
        &body,
        key.as_deref().map(|k| (k, digest.as_slice())),
    )
    .await?;
    Ok((status, Json(booked)))
}

/// Books a ride for `actor` (staff of the person's Polo, or the person themself: channel
/// `self`) with the same rules whoever asks: a retry with the same idempotency key (and
/// request digest) is answered by the first booking (200), a new booking is written and, for
/// today, placed live (201).
///
/// # Errors
/// Validation errors naming the field; `duplicate_booking`; database errors.
pub async fn book_for(
    state: &AppState,
    actor: Actor<'_>,
    body: &NewRideRequest,
    key: Option<(&str, &[u8])>,
) -> AppResult<(StatusCode, Booked)> {
    let channel = channel(actor)?;
    if let Some((k, digest)) = key {
        if let Some(done) = replay(state, actor, k, digest).await? {
            return Ok(done);
        }
    }
    body.validate()?;
    body.check_times(state.now())?;
    let result = book_in_tx(state, actor, channel, body, key, None).await;
    match (result, key) {
        // Two retries raced: the loser reports the winner's booking.
        (Err(AppError::Sqlx(e)), Some((k, digest))) if is_idempotency_clash(&e) => {
            replay(state, actor, k, digest)
                .await?
                .ok_or(AppError::Sqlx(e))
        }
        (Ok(ids), _) => {
            let live = place_live(state, &ids).await;
            let mut conn = state.db.acquire().await?;
            let request = view_as(&mut conn, actor, ids[0])
                .await?
                .ok_or(AppError::NotFound("ride request"))?;
            Ok((
                StatusCode::CREATED,
                Booked {
                    request,
                    ride_request_ids: ids,
                    replayed: false,
                    live,
                },
            ))
        }
        (Err(e), _) => Err(e),
    }
}

/// A request as `actor` may see it (no audit: the caller audits), or none.
async fn view_as(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    id: Uuid,
) -> AppResult<Option<RideRequestView>> {
    match actor {
        Actor::Staff(s) => db::view(conn, db::Whose::Polo(s.case_polo()?), id).await,
        Actor::Worker(w) => db::view(conn, db::Whose::Person(w.person_id), id).await,
    }
}

/// Places the requests for today in the running plan. When the dispatcher fails, each request
/// for today is answered `queued`, and its history says why: nothing waits silently.
async fn place_live(state: &AppState, ids: &[Uuid]) -> Vec<LiveOutcome> {
    let e = match state.dispatcher.place_live(state, &typed(ids)).await {
        Ok(outcomes) => return outcomes,
        Err(e) => e,
    };
    tracing::warn!(error = %e, "live insertion failed; today's requests wait for a coordinator");
    let today = service_day::day_of(state.now());
    let reason = format!("not placed live ({e}): waiting for a coordinator or the next plan");
    let mut out = Vec::new();
    let Ok(mut conn) = state.db.acquire().await else {
        return out;
    };
    for id in ids {
        if db::service_date_of(&mut conn, *id).await.ok().flatten() != Some(today) {
            continue;
        }
        if let Err(e) = db::note(&mut conn, (*id).into(), &reason, None).await {
            tracing::warn!(error = %e, "could not record why a request waits");
        }
        out.push(LiveOutcome::Queued {
            ride_request_id: (*id).into(),
            reason: reason.clone(),
        });
    }
    out
}

/// The ids of a booking's requests, typed for the dispatcher.
fn typed(ids: &[Uuid]) -> Vec<RideRequestId> {
    ids.iter().copied().map(RideRequestId).collect()
}

fn is_idempotency_clash(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| c.contains("idempotency_key"))
}

/// Validates against the database and writes the requests of one booking in one transaction.
///
/// # Errors
/// Validation errors naming the field; database errors.
pub async fn book_in_tx(
    state: &AppState,
    actor: Actor<'_>,
    channel: BookingChannel,
    body: &NewRideRequest,
    key: Option<(&str, &[u8])>,
    appointment_id: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let mut tx = state.db.begin().await?;
    let ids = book_on(&mut tx, actor, channel, body, key, appointment_id).await?;
    tx.commit().await?;
    Ok(ids)
}

async fn book_on(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    channel: BookingChannel,
    body: &NewRideRequest,
    key: Option<(&str, &[u8])>,
    appointment_id: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let case = case_ref(conn, actor, body.case_id, "booking").await?;
    let pickup = db::resolve(conn, &case.region_code, "pickup", &body.pickup).await?;
    let dropoff = db::resolve(conn, &case.region_code, "dropoff", &body.dropoff).await?;
    if pickup.place_id == dropoff.place_id && pickup.meeting_point_id == dropoff.meeting_point_id {
        return Err(AppError::invalid("dropoff", "the same as the pickup"));
    }
    let retry_of = key.map(|(k, _)| (actor.staff_id(), k));
    if let Some((existing, day)) =
        db::overlapping(conn, case.person_id, body, &body.days(), retry_of).await?
    {
        return Err(AppError::conflict(
            "duplicate_booking",
            format!(
                "the person already has ride request {existing} on {day} at overlapping times: change or cancel it instead"
            ),
        ));
    }
    let booking = Booking {
        region_code: &case.region_code,
        person_id: case.person_id,
        req: body,
        pickup: &pickup,
        dropoff: &dropoff,
        wheelchair: body.wheelchair.unwrap_or(case.wheelchair),
        booked_by: actor.staff_id(),
        channel,
        appointment_id,
        idempotency_key: key.map(|(k, _)| k),
        request_digest: key.map(|(_, d)| d),
    };
    let ids = db::insert_requests(conn, &booking).await?;
    if ids.is_empty() {
        return Err(AppError::invalid(
            "recurrence.weekdays",
            "no day between service_date and until matches",
        ));
    }
    Ok(ids)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DayQuery {
    date: NaiveDate,
}

#[utoipa::path(get, path = "/api/ride-requests", tag = "bookings", params(DayQuery), responses((status = 200, body = Vec<RideRequestView>)))]
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<DayQuery>,
) -> AppResult<Json<Vec<RideRequestView>>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let list = db::list_for_day(&mut tx, polo, q.date).await?;
    let cases: Vec<(String, Uuid)> = list
        .iter()
        .map(|r| (r.region_code.clone(), r.case_id))
        .collect();
    crate::audit::record_case_accesses(&mut tx, &staff, &cases, "ride list").await?;
    tx.commit().await?;
    Ok(Json(list))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Detail {
    #[serde(flatten)]
    request: RideRequestView,
    history: Vec<StatusEvent>,
}

#[utoipa::path(get, path = "/api/ride-requests/{id}", tag = "bookings", responses((status = 200, body = Detail)), params(("id" = Uuid, Path)))]
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<Detail>> {
    let (request, history) = request_as(&state, &staff, id, "ride request").await?;
    Ok(Json(Detail { request, history }))
}

/// A request of the caller's Polo with its history, the read audited with `purpose` (another
/// Polo's request is not found): the rule behind `GET /api/ride-requests/{id}`, shared with
/// the console.
///
/// # Errors
/// Forbidden for staff of no Polo; not found.
pub async fn request_as(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    purpose: &str,
) -> AppResult<(RideRequestView, Vec<StatusEvent>)> {
    staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let request = visible_request(&mut tx, Actor::Staff(staff), id, purpose).await?;
    let history = db::history(&mut tx, id).await?;
    tx.commit().await?;
    Ok((request, history))
}

/// A request of the caller's Polo (or, for a person signed in with their card, one of their
/// own), a staff read audited in the caller's transaction; anyone else's request is not found.
async fn visible_request(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    id: Uuid,
    purpose: &str,
) -> AppResult<RideRequestView> {
    let request = view_as(conn, actor, id)
        .await?
        .ok_or(AppError::NotFound("ride request"))?;
    if let Actor::Staff(staff) = actor {
        record_case_access(conn, staff, &request.region_code, request.case_id, purpose).await?;
    }
    Ok(request)
}

/// The request and its history after a change was committed.
async fn reread(
    state: &AppState,
    actor: Actor<'_>,
    id: Uuid,
) -> AppResult<(RideRequestView, Vec<StatusEvent>)> {
    let mut conn = state.db.acquire().await?;
    let request = view_as(&mut conn, actor, id)
        .await?
        .ok_or(AppError::NotFound("ride request"))?;
    let history = db::history(&mut conn, id).await?;
    Ok((request, history))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CancelBody {
    reason: String,
}

#[utoipa::path(post, path = "/api/ride-requests/{id}/cancel", tag = "bookings", request_body = CancelBody, responses((status = 200, body = Detail)), params(("id" = Uuid, Path)))]
async fn cancel(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<CancelBody>,
) -> AppResult<Json<Detail>> {
    staff.case_polo()?;
    let reason = crate::geo::non_blank("reason", &body.reason)?;
    let (request, history) = cancel_for(&state, Actor::Staff(&staff), id, &reason).await?;
    Ok(Json(Detail { request, history }))
}

/// Cancels a request of the caller's Polo with a reason: the rule behind
/// `POST /api/ride-requests/{id}/cancel`, shared with the console.
///
/// # Errors
/// Forbidden for staff of no Polo; validation of `reason`; as [`cancel_for`].
pub async fn cancel_request(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    reason: &str,
) -> AppResult<(RideRequestView, Vec<StatusEvent>)> {
    staff.case_polo()?;
    let reason = crate::geo::non_blank("reason", reason)?;
    cancel_for(state, Actor::Staff(staff), id, &reason).await
}

/// Cancels a request `actor` may see (another's is not found): it leaves its run, which is
/// re-timed. Returns the request and its history.
///
/// # Errors
/// Not found; `final_status` for a request already final; database errors.
pub async fn cancel_for(
    state: &AppState,
    actor: Actor<'_>,
    id: Uuid,
    reason: &str,
) -> AppResult<(RideRequestView, Vec<StatusEvent>)> {
    let mut tx = state.db.begin().await?;
    visible_request(&mut tx, actor, id, "cancel ride").await?;
    db::set_status(
        &mut tx,
        id.into(),
        RideStatus::Cancelled,
        Some(reason),
        actor.staff_id(),
    )
    .await?;
    let run = state.dispatcher.leave_run(&mut tx, id.into()).await?;
    tx.commit().await?;
    if let Some(run_id) = run {
        state.retime_logged(run_id, "a cancellation").await;
    }
    reread(state, actor, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ChangeBody {
    earliest_pickup: Option<chrono::NaiveTime>,
    latest_arrival: Option<chrono::NaiveTime>,
    passengers: Option<i16>,
    wheelchair: Option<bool>,
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Changed {
    #[serde(flatten)]
    detail: Detail,
    live: Vec<LiveOutcome>,
}

/// Changes the times, passengers or wheelchair of a request that is not final. The request
/// leaves its run (which is re-timed) and waits for the next plan, or, for today, is inserted
/// live again: the answer says whether the new time could be kept.
#[utoipa::path(post, path = "/api/ride-requests/{id}/change", tag = "bookings", request_body = ChangeBody, responses((status = 200, body = Changed)), params(("id" = Uuid, Path)))]
async fn change(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<ChangeBody>,
) -> AppResult<Json<Changed>> {
    staff.case_polo()?;
    // Whether the request is the caller's to see comes first: another Polo's request is a 404
    // whatever the body says.
    let mut tx = state.db.begin().await?;
    let request = visible_request(&mut tx, Actor::Staff(&staff), id, "change ride").await?;
    let reason = crate::geo::non_blank("reason", &body.reason)?;
    if body.earliest_pickup.is_none()
        && body.latest_arrival.is_none()
        && body.passengers.is_none()
        && body.wheelchair.is_none()
    {
        return Err(AppError::invalid(
            "body",
            "change at least one of earliest_pickup, latest_arrival, passengers, wheelchair",
        ));
    }
    if body.passengers.is_some_and(|p| !(1..=20).contains(&p)) {
        return Err(AppError::invalid("passengers", "1..20"));
    }
    if request.status.is_final() {
        return Err(AppError::conflict(
            "final_status",
            format!("the request is already {:?}", request.status),
        ));
    }
    let (earliest, latest): (Option<chrono::DateTime<Utc>>, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as(
            "update ride_request set
             earliest_pickup = coalesce($3, earliest_pickup),
             latest_arrival = coalesce($4, latest_arrival),
             passengers = coalesce($5, passengers),
             wheelchair = coalesce($6, wheelchair)
         where ride_request_id = $1
         returning earliest_pickup, latest_arrival",
        )
        .bind(id)
        .bind(request.service_date)
        .bind(
            body.earliest_pickup
                .map(|t| service_day::local_instant(request.service_date, t)),
        )
        .bind(
            body.latest_arrival
                .map(|t| service_day::local_instant(request.service_date, t)),
        )
        .bind(body.passengers)
        .bind(body.wheelchair)
        .fetch_one(&mut *tx)
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.constraint()) {
                Some(c) if c.contains("check") => {
                    AppError::invalid("latest_arrival", "must be after earliest_pickup")
                }
                _ => AppError::Sqlx(e),
            },
        )?;
    if let (Some(e), Some(l)) = (earliest, latest) {
        if l <= e {
            return Err(AppError::invalid(
                "latest_arrival",
                "must be after earliest_pickup",
            ));
        }
    }
    let run = state.dispatcher.leave_run(&mut tx, id.into()).await?;
    db::set_status(
        &mut tx,
        id.into(),
        RideStatus::Requested,
        Some(&reason),
        Some(staff.staff_id),
    )
    .await?;
    if request.status == RideStatus::Requested {
        // Same status: the change still goes in the history.
        sqlx::query(
            "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
             values ($1, $2, 'requested', $3, $4)",
        )
        .bind(&request.region_code)
        .bind(id)
        .bind(format!("changed: {reason}"))
        .bind(staff.staff_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if let Some(run_id) = run {
        state.retime_logged(run_id, "a change").await;
    }
    let live = place_live(&state, &[id]).await;
    let (request, history) = reread(&state, Actor::Staff(&staff), id).await?;
    Ok(Json(Changed {
        detail: Detail { request, history },
        live,
    }))
}

/// An appointment with the transport to and from it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewAppointment {
    /// Case.
    pub case_id: Uuid,
    /// Where (a Polo's place, an office).
    pub place_id: Uuid,
    /// Start, RFC 3339.
    pub starts_at: DateTime<Utc>,
    /// End, RFC 3339.
    pub ends_at: DateTime<Utc>,
    /// What it is, e.g. "rinnovo permesso di soggiorno".
    pub description: String,
    /// Where to pick the person up, and bring them back.
    pub from: Endpoint,
    /// Whether to book the return ride (default true).
    #[serde(default = "yes")]
    pub return_ride: bool,
}

fn yes() -> bool {
    true
}

/// An appointment booked with its rides.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppointmentBooked {
    /// The appointment.
    pub appointment_id: Uuid,
    /// The ride there.
    pub outbound: Uuid,
    /// The ride back.
    #[serde(rename = "return")]
    pub return_ride: Option<Uuid>,
}

/// Minutes between arrival and the start of an appointment.
const ARRIVE_BEFORE_MIN: i64 = 15;

#[utoipa::path(post, path = "/api/appointments", tag = "bookings", request_body = NewAppointment, params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the first answer (200, `replayed`); the same key with another body is refused (422)")), responses((status = 201, body = AppointmentBooked), (status = 200, description = "A replay", body = AppointmentBooked)))]
async fn create_appointment(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewAppointment>,
) -> AppResult<(StatusCode, Json<AppointmentBooked>)> {
    Ok((
        StatusCode::CREATED,
        Json(book_appointment(&state, &staff, &body).await?),
    ))
}

/// Books an appointment with its outbound ride (arriving [`ARRIVE_BEFORE_MIN`] minutes before)
/// and, unless declined, the return ride: the rule behind `POST /api/appointments`, shared
/// with the console. Rides for today are placed live.
///
/// # Errors
/// Forbidden for a role that does not book; validation errors naming the field.
pub async fn book_appointment(
    state: &AppState,
    staff: &Staff,
    body: &NewAppointment,
) -> AppResult<AppointmentBooked> {
    let channel = channel(Actor::Staff(staff))?;
    let description = crate::geo::non_blank("description", &body.description)?;
    if body.ends_at <= body.starts_at {
        return Err(AppError::invalid("ends_at", "must be after starts_at"));
    }
    if body.starts_at <= state.now() {
        return Err(AppError::invalid(
            "starts_at",
            "already past: transport is booked for appointments to come",
        ));
    }
    if (body.starts_at - state.now()).num_days() > 366 {
        return Err(AppError::invalid("starts_at", "at most a year ahead"));
    }
    let mut tx = state.db.begin().await?;
    let case = case_ref(&mut tx, Actor::Staff(staff), body.case_id, "appointment").await?;
    let arrive_by =
        service_day::local(body.starts_at - chrono::Duration::minutes(ARRIVE_BEFORE_MIN));
    let local: (NaiveDate, chrono::NaiveTime, chrono::NaiveTime) = (
        arrive_by.date(),
        arrive_by.time(),
        service_day::local(body.ends_at).time(),
    );
    let appointment_id: Uuid = sqlx::query_scalar(
        "insert into appointment (region_code, case_id, place_id, starts_at, ends_at, description, created_by)
         select $1, $2, place_id, $4, $5, $6, $7 from place where region_code = $1 and place_id = $3
         returning appointment_id",
    )
    .bind(&case.region_code)
    .bind(body.case_id)
    .bind(body.place_id)
    .bind(body.starts_at)
    .bind(body.ends_at)
    .bind(&description)
    .bind(staff.staff_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::invalid("place_id", "no such place in the case's region"))?;
    let to_place = Endpoint {
        place_id: Some(body.place_id),
        meeting_point_id: None,
        position: None,
    };
    let outbound = NewRideRequest {
        case_id: body.case_id,
        purpose: RidePurpose::Appointment,
        service_date: local.0,
        pickup: body.from.clone(),
        dropoff: to_place.clone(),
        earliest_pickup: None,
        latest_arrival: Some(local.1),
        passengers: 1,
        wheelchair: None,
        recurrence: None,
    };
    outbound.validate().map_err(|e| rename_field(e, "from"))?;
    let out_ids = book_on(
        &mut tx,
        Actor::Staff(staff),
        channel,
        &outbound,
        None,
        Some(appointment_id),
    )
    .await
    .map_err(|e| rename_field(e, "from"))?;
    let mut ret_id = None;
    if body.return_ride {
        let back = NewRideRequest {
            purpose: RidePurpose::Return,
            pickup: to_place,
            dropoff: body.from.clone(),
            earliest_pickup: Some(local.2),
            latest_arrival: None,
            ..outbound
        };
        ret_id = book_on(
            &mut tx,
            Actor::Staff(staff),
            channel,
            &back,
            None,
            Some(appointment_id),
        )
        .await?
        .first()
        .copied();
    }
    tx.commit().await?;
    let mut ids = out_ids.clone();
    ids.extend(ret_id);
    place_live(state, &ids).await;
    Ok(AppointmentBooked {
        appointment_id,
        outbound: out_ids[0],
        return_ride: ret_id,
    })
}

/// Appointment bodies say `from` where ride requests say `pickup`.
fn rename_field(e: AppError, to: &str) -> AppError {
    match e {
        AppError::Validation { field, message } if field.starts_with("pickup") => {
            AppError::Validation {
                field: field.replacen("pickup", to, 1),
                message,
            }
        }
        other => other,
    }
}
