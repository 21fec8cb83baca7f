//! The workers' API (`/api/self/...`, a worker's bearer token or their page cookie) and the
//! staff operations on access cards and reports. The pages (`pages.rs`) call the same
//! functions: one copy of every rule.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::db::{self, LineOffer, PoloContact, SelfRide, SelfSubscription, Spot};
use super::{Destination, ReportKind, ReportStatus};
use crate::auth::{Actor, Role, Staff, Worker};
use crate::bookings::{Endpoint, NewRideRequest, RideStatus};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, DigestedJson};
use crate::state::{AppState, LiveOutcome};
use crate::throttle::ClientAddr;

/// Routes: the workers' own API and the staff operations on cards and reports.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in_api))
        .routes(routes!(sign_out_api))
        .routes(routes!(me))
        .routes(routes!(places))
        .routes(routes!(list_rides, book_api))
        .routes(routes!(show_ride))
        .routes(routes!(cancel_api))
        .routes(routes!(lines))
        .routes(routes!(subscribe_api))
        .routes(routes!(end_subscription_api))
        .routes(routes!(report_api))
        .routes(routes!(issue_card))
        .routes(routes!(revoke_card))
        .routes(routes!(card_events))
        .routes(routes!(list_reports))
        .routes(routes!(set_report_status))
}

/// The session token a request carries: the page cookie, or a bearer token (an app).
#[must_use]
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_owned());
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == super::COOKIE)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for Worker {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = session_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let mut conn = state.db.acquire().await?;
        db::session_worker(&mut conn, &crate::auth::token_digest(&token))
            .await?
            .ok_or(AppError::Unauthorized)
    }
}

/// A sign-in with a card.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    /// The card's code, as printed (dashes and spaces are ignored, letters in any case).
    pub code: String,
    /// The PIN the person chose, if their card has one.
    pub pin: Option<String>,
}

/// A started session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    /// Bearer token (the pages keep it in an HttpOnly cookie instead).
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The name the person is called by.
    pub known_as: String,
}

/// Signs a person in with their card's code (and PIN): a wrong code, a revoked card, a wrong
/// PIN all answer 401 alike; attempts are limited per client and per code (429).
///
/// # Errors
/// 401, 429, 503 (checks queue full), database errors.
pub async fn sign_in(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    code: &str,
    pin: Option<&str>,
) -> AppResult<SignedIn> {
    sign_in_or_ask(state, client, code, pin, false)
        .await?
        .ok_or(AppError::Unauthorized)
}

/// [`sign_in`]; with `ask`, a live card with a PIN and no PIN given answers `None` (the
/// one-tap link then asks for the PIN) rather than a failure. The attempt is counted either
/// way: the answer tells a card from none no faster than a sign-in does.
///
/// # Errors
/// As [`sign_in`].
pub async fn sign_in_or_ask(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    code: &str,
    pin: Option<&str>,
    ask: bool,
) -> AppResult<Option<SignedIn>> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let normal = super::normalise(code.get(..64).unwrap_or(code));
    // The limiter key is a digest: the code itself is never kept, even in memory.
    let key_source = normal.clone().unwrap_or_else(|| code.to_owned());
    let key: String = Sha256::digest(key_source.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Err(e) = state.sign_in.admit_code("access_card", &key, client) {
        crate::telemetry::sign_in("access_card", "limited");
        return Err(e);
    }
    let card = match &normal {
        Some(c) => {
            let mut conn = state.db.acquire().await?;
            db::live_card(&mut conn, &super::code_digest(c)).await?
        }
        None => None,
    };
    let pin = pin.map(str::trim).filter(|p| !p.is_empty());
    if ask && pin.is_none() && card.as_ref().is_some_and(|c| c.pin_hash.is_some()) {
        return Ok(None);
    }
    let ok = match (&card, pin) {
        (Some(c), _) if c.pin_hash.is_none() => true,
        (Some(c), Some(p)) if p.len() <= 16 => {
            let (hash, p) = (c.pin_hash.clone().unwrap_or_default(), p.to_owned());
            state
                .sign_in
                .verify(move || crate::auth::verify_password(&p, &hash))
                .await?
        }
        // A PIN sent for no card costs the same time as a real check.
        (None, Some(p)) if p.len() <= 16 => {
            let p = p.to_owned();
            state
                .sign_in
                .verify(move || crate::auth::verify_password(&p, crate::auth::DUMMY_HASH))
                .await?;
            false
        }
        _ => false,
    };
    let Some(card) = card.filter(|_| ok) else {
        crate::telemetry::sign_in("access_card", "failed");
        return Err(AppError::Unauthorized);
    };
    crate::telemetry::sign_in("access_card", "ok");
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let expires_at = Utc::now() + Duration::minutes(super::SESSION_MINUTES);
    let digest = crate::auth::token_digest(&token);
    let mut tx = state.db.begin().await?;
    db::start_session(&mut tx, card.card_id, &digest, expires_at).await?;
    let worker = db::session_worker(&mut tx, &digest)
        .await?
        .ok_or(AppError::Unauthorized)?;
    tx.commit().await?;
    Ok(Some(SignedIn {
        token,
        expires_at,
        known_as: worker.known_as,
    }))
}

#[utoipa::path(post, path = "/api/self/sign-in", tag = "self", request_body = SignIn,
    responses((status = 200, body = SignedIn), (status = 401, description = "Wrong code or PIN (the same answer for every reason)"), (status = 429, description = "Too many attempts")))]
async fn sign_in_api(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<SignIn>,
) -> AppResult<Json<SignedIn>> {
    Ok(Json(
        sign_in(&state, client, &body.code, body.pin.as_deref()).await?,
    ))
}

/// The answer to a sign-out.
#[derive(Serialize, utoipa::ToSchema)]
struct SignedOut {
    /// Always true: the session, if any, has ended.
    signed_out: bool,
}

/// Ends the session of the token or cookie sent.
///
/// # Errors
/// Database errors.
pub async fn sign_out(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    if let Some(t) = session_token(headers) {
        let mut conn = state.db.acquire().await?;
        db::end_session(&mut conn, &crate::auth::token_digest(&t)).await?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/self/sign-out", tag = "self",
    responses((status = 200, body = SignedOut)))]
async fn sign_out_api(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Json<SignedOut>> {
    sign_out(&state, &headers).await?;
    Ok(Json(SignedOut { signed_out: true }))
}

/// The signed-in person, as they see themself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfMe {
    /// The name they are called by.
    pub known_as: String,
    /// Their Polo.
    pub polo: PoloContact,
}

#[utoipa::path(get, path = "/api/self", tag = "self",
    responses((status = 200, body = SelfMe)))]
async fn me(State(state): State<AppState>, w: Worker) -> AppResult<Json<SelfMe>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(SelfMe {
        polo: db::polo_contact(&mut conn, w.polo_id).await?,
        known_as: w.known_as,
    }))
}

/// Where the person can be picked up and taken.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfPlaces {
    /// Meeting points of settlements, those used before first.
    pub pickups: Vec<Spot>,
    /// Workplaces.
    pub work: Vec<Spot>,
    /// The Polo's own place(s).
    pub polo: Vec<Spot>,
    /// Public offices.
    pub office: Vec<Spot>,
    /// Appointments the Polo recorded.
    pub appointments: Vec<db::AppointmentOption>,
}

/// The places a person may book between.
///
/// # Errors
/// Database errors.
pub async fn self_places(state: &AppState, w: &Worker) -> AppResult<SelfPlaces> {
    let mut conn = state.db.acquire().await?;
    Ok(SelfPlaces {
        pickups: db::meeting_points(&mut conn, w).await?,
        work: db::destinations(&mut conn, w, Destination::Work).await?,
        polo: db::destinations(&mut conn, w, Destination::Polo).await?,
        office: db::destinations(&mut conn, w, Destination::Office).await?,
        appointments: db::appointments(&mut conn, w, state.now()).await?,
    })
}

#[utoipa::path(get, path = "/api/self/places", tag = "self",
    responses((status = 200, body = SelfPlaces)))]
async fn places(State(state): State<AppState>, w: Worker) -> AppResult<Json<SelfPlaces>> {
    Ok(Json(self_places(&state, &w).await?))
}

/// A ride a person books for themself.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SelfBooking {
    /// The meeting point to be picked up at.
    pub pickup_meeting_point_id: Uuid,
    /// Where to.
    pub destination: Destination,
    /// The place (a workplace, the Polo, an office); for an appointment, its place.
    pub place_id: Option<Uuid>,
    /// The appointment (destination `appointment`).
    pub appointment_id: Option<Uuid>,
    /// Day.
    pub service_date: NaiveDate,
    /// Be there by, `HH:MM` (one of `arrive_by`, `leave_at`; an appointment's start less 15
    /// minutes by default).
    pub arrive_by: Option<NaiveTime>,
    /// Leave at, `HH:MM`.
    pub leave_at: Option<NaiveTime>,
    /// People travelling together, the person included (1..8).
    #[serde(default = "one")]
    pub passengers: i16,
    /// Travels in a wheelchair.
    #[serde(default)]
    pub wheelchair: bool,
    /// Book the way back too, leaving the destination at this time.
    pub return_at: Option<NaiveTime>,
}

fn one() -> i16 {
    1
}

/// What became of a booking.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SelfBooked {
    /// `confirmed` (a promised pickup time), `refused` (with alternatives), `booked` (a later
    /// day: the time comes when the day is planned) or `queued` (waiting for a coordinator).
    pub outcome: String,
    /// The ride.
    pub ride: SelfRide,
    /// The way back, if booked.
    pub return_ride: Option<SelfRide>,
    /// Work lines passing near the meeting point to the destination that day (on a refusal).
    pub lines: Vec<db::LineAlternative>,
    /// Other times to try (on a refusal), `HH:MM`.
    pub other_times: Vec<String>,
    /// True when this answers a retry of an earlier booking with the same key.
    pub replayed: bool,
}

fn rename_time_fields(e: AppError) -> AppError {
    match e {
        AppError::Validation { field, message } => AppError::Validation {
            field: match field.as_str() {
                "earliest_pickup" => "leave_at".into(),
                "latest_arrival" => "arrive_by".into(),
                "pickup" | "pickup.meeting_point_id" => "pickup_meeting_point_id".into(),
                "dropoff" | "dropoff.place_id" => "place_id".into(),
                _ => field,
            },
            message,
        },
        other => other,
    }
}

/// Books a ride (and the way back) for the signed-in person through `bookings`, channel
/// `self`, with the rules of every booking. `key` is the idempotency key with the request's
/// digest: a retry answers the first booking.
///
/// # Errors
/// Validation errors naming the field; `duplicate_booking`; database errors.
pub async fn book(
    state: &AppState,
    w: &Worker,
    b: &SelfBooking,
    key: Option<(&str, &[u8])>,
) -> AppResult<SelfBooked> {
    if !(1..=8).contains(&b.passengers) {
        return Err(AppError::invalid("passengers", "1..8"));
    }
    let mut arrive_by = b.arrive_by;
    let place_id = if b.destination == Destination::Appointment {
        let id = b
            .appointment_id
            .ok_or_else(|| AppError::invalid("appointment_id", "choose an appointment"))?;
        let mut conn = state.db.acquire().await?;
        let a = db::appointments(&mut conn, w, state.now())
            .await?
            .into_iter()
            .find(|a| a.appointment_id == id)
            .ok_or_else(|| AppError::invalid("appointment_id", "no such appointment to come"))?;
        if arrive_by.is_none() && b.leave_at.is_none() {
            arrive_by = Some(crate::service_day::local(a.starts_at - Duration::minutes(15)).time());
        }
        a.place_id
    } else {
        let id = b
            .place_id
            .ok_or_else(|| AppError::invalid("place_id", "choose where to go"))?;
        let mut conn = state.db.acquire().await?;
        if !db::destinations(&mut conn, w, b.destination)
            .await?
            .iter()
            .any(|s| s.place_id == id)
        {
            return Err(AppError::invalid(
                "place_id",
                "not a place of this kind that the service reaches from your Polo",
            ));
        }
        id
    };
    if arrive_by.is_some() && b.leave_at.is_some() {
        return Err(AppError::invalid(
            "leave_at",
            "give a time to leave or a time to arrive, not both",
        ));
    }
    let req = NewRideRequest {
        case_id: w.case_id,
        purpose: b.destination.purpose(),
        service_date: b.service_date,
        pickup: Endpoint {
            place_id: None,
            meeting_point_id: Some(b.pickup_meeting_point_id),
            position: None,
        },
        dropoff: Endpoint {
            place_id: Some(place_id),
            meeting_point_id: None,
            position: None,
        },
        earliest_pickup: b.leave_at,
        latest_arrival: arrive_by,
        passengers: b.passengers,
        wheelchair: Some(b.wheelchair),
        recurrence: None,
    };
    let (_, booked) = crate::bookings::http::book_for(state, Actor::Worker(w), &req, key)
        .await
        .map_err(rename_time_fields)?;
    let replayed = booked.replayed;
    let first = booked.request.ride_request_id;
    let mut return_ride = None;
    if let Some(back) = b.return_at {
        let back_req = NewRideRequest {
            purpose: crate::bookings::RidePurpose::Return,
            pickup: req.dropoff.clone(),
            dropoff: req.pickup.clone(),
            earliest_pickup: Some(back),
            latest_arrival: None,
            ..req.clone()
        };
        let back_key = key.map(|(k, d)| (format!("{k}:return"), d.to_vec()));
        let (_, r) = crate::bookings::http::book_for(
            state,
            Actor::Worker(w),
            &back_req,
            back_key.as_ref().map(|(k, d)| (k.as_str(), d.as_slice())),
        )
        .await
        .map_err(|e| match rename_time_fields(e) {
            AppError::Validation { field, message } if field == "leave_at" => {
                AppError::Validation {
                    field: "return_at".into(),
                    message,
                }
            }
            other => other,
        })?;
        return_ride = Some(r.request.ride_request_id);
    }
    let today = crate::service_day::day_of(state.now());
    let mut conn = state.db.acquire().await?;
    let ride = db::ride(&mut conn, w.person_id, first, today)
        .await?
        .ok_or(AppError::NotFound("ride request"))?;
    let return_ride = match return_ride {
        Some(id) => db::ride(&mut conn, w.person_id, id, today).await?,
        None => None,
    };
    let outcome = match booked.live.first() {
        Some(LiveOutcome::Confirmed { .. }) => "confirmed",
        Some(LiveOutcome::Refused { .. }) => "refused",
        Some(LiveOutcome::Queued { .. }) => "queued",
        None => match ride.status {
            RideStatus::Confirmed => "confirmed",
            RideStatus::Refused => "refused",
            _ => "booked",
        },
    };
    let (lines, other_times) = if outcome == "refused" {
        let lines = db::lines_near(
            &mut conn,
            &w.region_code,
            b.service_date,
            b.pickup_meeting_point_id,
            place_id,
        )
        .await?;
        let base = b.leave_at.or(arrive_by).unwrap_or_default();
        (lines, other_times(state, b.service_date, base))
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(SelfBooked {
        outcome: outcome.into(),
        ride,
        return_ride,
        lines,
        other_times,
        replayed,
    })
}

/// Other times to try for a refused ride: an hour earlier, one and two hours later, none
/// already past.
#[must_use]
pub fn other_times(state: &AppState, day: NaiveDate, base: NaiveTime) -> Vec<String> {
    let now = state.now();
    [-60i64, 60, 120]
        .iter()
        .filter_map(|m| {
            let (t, wrapped) = base.overflowing_add_signed(Duration::minutes(*m));
            (wrapped == 0 && crate::service_day::local_instant(day, t) > now)
                .then(|| t.format("%H:%M").to_string())
        })
        .collect()
}

/// The `Idempotency-Key` header, checked.
///
/// # Errors
/// A validation error naming the header.
pub fn key_of(headers: &HeaderMap) -> AppResult<Option<String>> {
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

#[utoipa::path(post, path = "/api/self/rides", tag = "self", request_body = SelfBooking,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the first answer (200, `replayed`); the same key with another body is refused (422)")),
    responses((status = 201, body = SelfBooked), (status = 200, description = "A replay of an earlier booking with the same key", body = SelfBooked)))]
async fn book_api(
    State(state): State<AppState>,
    w: Worker,
    headers: HeaderMap,
    DigestedJson(body, digest): DigestedJson<SelfBooking>,
) -> AppResult<(StatusCode, Json<SelfBooked>)> {
    let key = key_of(&headers)?;
    let booked = book(
        &state,
        &w,
        &body,
        key.as_deref().map(|k| (k, digest.as_slice())),
    )
    .await?;
    let status = if booked.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(booked)))
}

#[utoipa::path(get, path = "/api/self/rides", tag = "self",
    responses((status = 200, body = Vec<SelfRide>)))]
async fn list_rides(State(state): State<AppState>, w: Worker) -> AppResult<Json<Vec<SelfRide>>> {
    let today = crate::service_day::day_of(state.now());
    let mut conn = state.db.acquire().await?;
    Ok(Json(db::rides(&mut conn, w.person_id, today).await?))
}

/// One of the person's rides; another person's is not found.
///
/// # Errors
/// Not found; database errors.
pub async fn own_ride(state: &AppState, w: &Worker, id: Uuid) -> AppResult<SelfRide> {
    let today = crate::service_day::day_of(state.now());
    let mut conn = state.db.acquire().await?;
    db::ride(&mut conn, w.person_id, id, today)
        .await?
        .ok_or(AppError::NotFound("ride request"))
}

#[utoipa::path(get, path = "/api/self/rides/{id}", tag = "self",
    params(("id" = Uuid, Path)), responses((status = 200, body = SelfRide)))]
async fn show_ride(
    State(state): State<AppState>,
    w: Worker,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<SelfRide>> {
    Ok(Json(own_ride(&state, &w, id).await?))
}

/// Cancels one of the person's rides through `bookings`.
///
/// # Errors
/// Not found; `final_status`; database errors.
pub async fn cancel(state: &AppState, w: &Worker, id: Uuid) -> AppResult<SelfRide> {
    crate::bookings::http::cancel_for(state, Actor::Worker(w), id, "cancelled by the person")
        .await?;
    own_ride(state, w, id).await
}

#[utoipa::path(post, path = "/api/self/rides/{id}/cancel", tag = "self",
    params(("id" = Uuid, Path)), responses((status = 200, body = SelfRide)))]
async fn cancel_api(
    State(state): State<AppState>,
    w: Worker,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<SelfRide>> {
    Ok(Json(cancel(&state, &w, id).await?))
}

/// Lines the person can subscribe to, and their subscriptions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfLines {
    /// Lines in season with a stop at a settlement's meeting point.
    pub offers: Vec<LineOffer>,
    /// The person's subscriptions not yet over.
    pub subscriptions: Vec<SelfSubscription>,
}

/// The lines page's data.
///
/// # Errors
/// Database errors.
pub async fn self_lines(state: &AppState, w: &Worker) -> AppResult<SelfLines> {
    let today = crate::service_day::day_of(state.now());
    let mut conn = state.db.acquire().await?;
    Ok(SelfLines {
        offers: db::line_offers(&mut conn, w, today).await?,
        subscriptions: db::subscriptions(&mut conn, w.person_id, today).await?,
    })
}

#[utoipa::path(get, path = "/api/self/lines", tag = "self",
    responses((status = 200, body = SelfLines)))]
async fn lines(State(state): State<AppState>, w: Worker) -> AppResult<Json<SelfLines>> {
    Ok(Json(self_lines(&state, &w).await?))
}

/// A subscription the person asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SelfSubscribe {
    /// Stop to board at.
    pub board_seq: i16,
    /// Stop to get off at.
    pub alight_seq: i16,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day (the season's end for the whole season).
    pub valid_to: NaiveDate,
}

/// Subscribes the person to a line through `lines` (the seat checks of every subscription).
/// With an idempotency key, a retry of a subscription already made answers it (`true`).
///
/// # Errors
/// Validation errors; `already_subscribed`; `line_full` with alternatives; not found.
pub async fn subscribe(
    state: &AppState,
    w: &Worker,
    line_id: Uuid,
    s: &SelfSubscribe,
    key: Option<&str>,
) -> AppResult<(SelfSubscription, bool)> {
    let new = crate::lines::NewSubscription {
        case_id: w.case_id,
        board_seq: s.board_seq,
        alight_seq: s.alight_seq,
        valid_from: s.valid_from,
        valid_to: s.valid_to,
    };
    if s.valid_from < crate::service_day::day_of(state.now()) {
        return Err(AppError::invalid("valid_from", "in the past"));
    }
    let mut tx = state.db.begin().await?;
    let made =
        crate::lines::db::subscribe(&mut tx, Actor::Worker(w), w.polo_id, line_id, &new).await;
    let (id, replayed) = match made {
        Ok(sub) => {
            state
                .dispatcher
                .line_subscribed(&mut tx, sub.subscription_id, None)
                .await?;
            tx.commit().await?;
            (sub.subscription_id, false)
        }
        // A form sent twice: the first subscription stands.
        Err(AppError::Conflict {
            code: "already_subscribed",
            message,
        }) => {
            drop(tx);
            let today = crate::service_day::day_of(state.now());
            let mut conn = state.db.acquire().await?;
            let existing = db::subscriptions(&mut conn, w.person_id, today)
                .await?
                .into_iter()
                .find(|x| {
                    x.line_id == line_id && x.status == "active" && x.valid_from == s.valid_from
                });
            match (key, existing) {
                (Some(_), Some(x)) => (x.subscription_id, true),
                _ => {
                    return Err(AppError::Conflict {
                        code: "already_subscribed",
                        message,
                    })
                }
            }
        }
        Err(e) => return Err(e),
    };
    let today = crate::service_day::day_of(state.now());
    let mut conn = state.db.acquire().await?;
    let sub = db::subscriptions(&mut conn, w.person_id, today)
        .await?
        .into_iter()
        .find(|x| x.subscription_id == id)
        .ok_or(AppError::NotFound("subscription"))?;
    Ok((sub, replayed))
}

#[utoipa::path(post, path = "/api/self/lines/{line_id}/subscriptions", tag = "self",
    request_body = SelfSubscribe, params(("line_id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A retry of a subscription already made answers it (200)")),
    responses((status = 201, body = SelfSubscription), (status = 200, description = "A replay", body = SelfSubscription)))]
async fn subscribe_api(
    State(state): State<AppState>,
    w: Worker,
    headers: HeaderMap,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<SelfSubscribe>,
) -> AppResult<(StatusCode, Json<SelfSubscription>)> {
    let key = key_of(&headers)?;
    let (sub, replayed) = subscribe(&state, &w, line_id, &body, key.as_deref()).await?;
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(sub)))
}

/// Ends one of the person's subscriptions today (rides already made for later days are
/// cancelled and leave their runs, by `lines`).
///
/// # Errors
/// Not found; `already_ended`; database errors.
pub async fn end_subscription(
    state: &AppState,
    w: &Worker,
    line_id: Uuid,
    subscription_id: Uuid,
) -> AppResult<SelfSubscription> {
    let today = crate::service_day::day_of(state.now());
    crate::lines::http::end_subscription_as(
        state,
        Actor::Worker(w),
        w.polo_id,
        (line_id, subscription_id),
        today,
    )
    .await?;
    let mut conn = state.db.acquire().await?;
    db::subscriptions(&mut conn, w.person_id, today.pred_opt().unwrap_or(today))
        .await?
        .into_iter()
        .find(|x| x.subscription_id == subscription_id)
        .ok_or(AppError::NotFound("subscription"))
}

#[utoipa::path(post, path = "/api/self/lines/{line_id}/subscriptions/{subscription_id}/end", tag = "self",
    params(("line_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses((status = 200, body = SelfSubscription)))]
async fn end_subscription_api(
    State(state): State<AppState>,
    w: Worker,
    AppPath((line_id, subscription_id)): AppPath<(Uuid, Uuid)>,
) -> AppResult<Json<SelfSubscription>> {
    Ok(Json(
        end_subscription(&state, &w, line_id, subscription_id).await?,
    ))
}

/// A report to the Polo's coordinator.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewReport {
    /// What happened.
    pub kind: ReportKind,
    /// In the person's words (optional, at most 2000 characters).
    pub details: Option<String>,
    /// Send without the person's name and case.
    #[serde(default)]
    pub anonymous: bool,
}

/// A report received.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportSent {
    /// The report.
    pub report_id: Uuid,
    /// Whether it was sent without the person's name.
    pub anonymous: bool,
    /// True when this answers a retry with the same key.
    pub replayed: bool,
}

/// Sends a report to the person's Polo.
///
/// # Errors
/// Validation errors; database errors.
pub async fn report(
    state: &AppState,
    w: &Worker,
    r: &NewReport,
    key: Option<&str>,
) -> AppResult<ReportSent> {
    let details = r
        .details
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if details.is_some_and(|d| d.chars().count() > 2000) {
        return Err(AppError::invalid("details", "at most 2000 characters"));
    }
    let mut conn = state.db.acquire().await?;
    let (report_id, replayed) =
        db::insert_report(&mut conn, w, r.kind, details, r.anonymous, key).await?;
    tracing::info!(%report_id, "a worker's report reached their Polo");
    Ok(ReportSent {
        report_id,
        anonymous: r.anonymous,
        replayed,
    })
}

#[utoipa::path(post, path = "/api/self/reports", tag = "self", request_body = NewReport,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key answers the first report (200)")),
    responses((status = 201, body = ReportSent), (status = 200, description = "A replay", body = ReportSent)))]
async fn report_api(
    State(state): State<AppState>,
    w: Worker,
    headers: HeaderMap,
    AppJson(body): AppJson<NewReport>,
) -> AppResult<(StatusCode, Json<ReportSent>)> {
    let key = key_of(&headers)?;
    let sent = report(&state, &w, &body, key.as_deref()).await?;
    let status = if sent.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(sent)))
}

/// A card to issue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IssueCard {
    /// The language the card is printed in and the pages open in (a message file's code,
    /// e.g. `ar`); default `it`.
    pub language: Option<String>,
    /// A PIN the person chose (4 to 6 digits), asked at every sign-in.
    pub pin: Option<String>,
}

/// An issued card: the only time its code is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedCard {
    /// The card.
    pub card_id: Uuid,
    /// The code, grouped for reading aloud (shown once: only its digest is kept).
    pub code: String,
    /// The one-tap sign-in link the QR code carries.
    pub sign_in_url: String,
    /// The QR code of the link, SVG.
    pub qr_svg: String,
    /// The printable card (QR, code, the Polo's phone, in the card's language): a whole HTML
    /// page to open and print.
    pub card_html: String,
    /// The card this one replaced (revoked), if any.
    pub revoked_card_id: Option<Uuid>,
}

/// The service's own address as the client reached it, for links printed on cards.
fn public_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The QR code of `text` as an SVG image.
#[must_use]
pub fn qr_svg(text: &str) -> String {
    use qrcode::render::svg;
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map(|q| {
            q.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

#[utoipa::path(post, path = "/api/cases/{case_id}/access-card", tag = "self", request_body = IssueCard,
    params(("case_id" = Uuid, Path)), responses((status = 201, body = IssuedCard)))]
async fn issue_card(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    AppPath(case_id): AppPath<Uuid>,
    AppJson(body): AppJson<IssueCard>,
) -> AppResult<(StatusCode, Json<IssuedCard>)> {
    let polo = staff.case_polo()?;
    let language = body.language.unwrap_or_else(|| "it".into());
    if !super::pages::has_language(&state, &language) {
        return Err(AppError::invalid(
            "language",
            format!(
                "no message file for {language:?}; one of {:?}",
                super::pages::language_codes(&state)
            ),
        ));
    }
    let pin_hash = match body.pin.as_deref() {
        Some(p) => {
            super::check_pin("pin", p)?;
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || crate::auth::hash_password(&p))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))?
                    .map_err(AppError::Internal)?,
            )
        }
        None => None,
    };
    let code = super::new_code();
    let mut tx = state.db.begin().await?;
    let case = db::open_case_of_polo(&mut tx, polo, case_id).await?;
    let (card_id, revoked) = db::issue_card(
        &mut tx,
        &staff,
        &db::NewCard {
            case_id,
            case: &case,
            polo_id: polo,
            code_sha256: &super::code_digest(&code),
            pin_hash: pin_hash.as_deref(),
            language: &language,
        },
    )
    .await?;
    crate::audit::record_case_access(&mut tx, &staff, &case.region_code, case_id, "access card")
        .await?;
    let contact = db::polo_contact(&mut tx, polo).await?;
    let known_as: String = sqlx::query_scalar("select known_as from person where person_id = $1")
        .bind(case.person_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let sign_in_url = format!("{}/w/c/{code}", public_base(&headers));
    let qr = qr_svg(&sign_in_url);
    let card_html = super::pages::card_html(
        &state,
        &language,
        &super::pages::CardView {
            known_as: &known_as,
            code: &super::grouped(&code),
            sign_in_url: &sign_in_url,
            qr_svg: &qr,
            polo: &contact,
            pin: pin_hash.is_some(),
        },
    )?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCard {
            card_id,
            code: super::grouped(&code),
            sign_in_url,
            qr_svg: qr,
            card_html,
            revoked_card_id: revoked,
        }),
    ))
}

/// Why a card is revoked.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct RevokeCard {
    /// E.g. "phone lost", "card taken".
    reason: String,
}

/// A revoked card.
#[derive(Serialize, utoipa::ToSchema)]
struct Revoked {
    /// The card revoked.
    revoked_card_id: Uuid,
}

#[utoipa::path(post, path = "/api/cases/{case_id}/access-card/revoke", tag = "self", request_body = RevokeCard,
    params(("case_id" = Uuid, Path)), responses((status = 200, body = Revoked)))]
async fn revoke_card(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
    AppJson(body): AppJson<RevokeCard>,
) -> AppResult<Json<Revoked>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let case: Option<(String,)> =
        sqlx::query_as("select region_code from care_case where case_id = $1 and polo_id = $2")
            .bind(case_id)
            .bind(polo)
            .fetch_optional(&mut *tx)
            .await?;
    let (region,) = case.ok_or(AppError::NotFound("case"))?;
    let reason = crate::geo::non_blank("reason", &body.reason)?;
    let revoked = db::revoke_live(&mut tx, &staff, case_id, &reason)
        .await?
        .ok_or_else(|| AppError::conflict("no_live_card", "the case has no live access card"))?;
    crate::audit::record_case_access(&mut tx, &staff, &region, case_id, "access card revoked")
        .await?;
    tx.commit().await?;
    Ok(Json(Revoked {
        revoked_card_id: revoked,
    }))
}

#[utoipa::path(get, path = "/api/cases/{case_id}/access-card/events", tag = "self",
    params(("case_id" = Uuid, Path)), responses((status = 200, body = Vec<db::CardEvent>)))]
async fn card_events(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
) -> AppResult<Json<Vec<db::CardEvent>>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let case: Option<(String,)> =
        sqlx::query_as("select region_code from care_case where case_id = $1 and polo_id = $2")
            .bind(case_id)
            .bind(polo)
            .fetch_optional(&mut *tx)
            .await?;
    let (region,) = case.ok_or(AppError::NotFound("case"))?;
    let events = db::card_events(&mut tx, case_id).await?;
    crate::audit::record_case_access(&mut tx, &staff, &region, case_id, "access card history")
        .await?;
    tx.commit().await?;
    Ok(Json(events))
}

fn coordinator_polo(staff: &Staff) -> AppResult<Uuid> {
    match (staff.role, staff.polo_id) {
        (Role::PoloCoordinator, Some(p)) => Ok(p),
        _ => Err(AppError::Forbidden(
            "workers' reports are confidential to their Polo's coordinator".into(),
        )),
    }
}

#[utoipa::path(get, path = "/api/worker-reports", tag = "self",
    responses((status = 200, body = Vec<db::Report>)))]
async fn list_reports(
    State(state): State<AppState>,
    staff: Staff,
) -> AppResult<Json<Vec<db::Report>>> {
    Ok(Json(reports_as(&state, &staff).await?))
}

/// The workers' reports to the caller's Polo, newest first, for its coordinator only; the
/// read of each report that names its person is audited. The rule behind
/// `GET /api/worker-reports`, shared with the console.
///
/// # Errors
/// Forbidden for anyone but a Polo's coordinator; database errors.
pub async fn reports_as(state: &AppState, staff: &Staff) -> AppResult<Vec<db::Report>> {
    let polo = coordinator_polo(staff)?;
    let mut tx = state.db.begin().await?;
    let list = db::reports_of_polo(&mut tx, polo).await?;
    // A report that names its person is case data: its read is audited.
    let named: Vec<(String, Uuid)> = list
        .iter()
        .filter_map(|r| r.case_id.map(|c| (r.region_code.clone(), c)))
        .collect();
    crate::audit::record_case_accesses(&mut tx, staff, &named, "worker report").await?;
    tx.commit().await?;
    Ok(list)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ReportStatusBody {
    status: ReportStatus,
}

#[utoipa::path(post, path = "/api/worker-reports/{report_id}/status", tag = "self", request_body = ReportStatusBody,
    params(("report_id" = Uuid, Path)), responses((status = 200, body = db::Report)))]
async fn set_report_status(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(report_id): AppPath<Uuid>,
    AppJson(body): AppJson<ReportStatusBody>,
) -> AppResult<Json<db::Report>> {
    Ok(Json(
        report_status_as(&state, &staff, report_id, body.status).await?,
    ))
}

/// Sets where a report of the caller's Polo stands (its coordinator only; another Polo's
/// report is not found); audited when the report names its person. The rule behind
/// `POST /api/worker-reports/{id}/status`, shared with the console.
///
/// # Errors
/// Forbidden; not found; database errors.
pub async fn report_status_as(
    state: &AppState,
    staff: &Staff,
    report_id: Uuid,
    status: ReportStatus,
) -> AppResult<db::Report> {
    let polo = coordinator_polo(staff)?;
    let mut tx = state.db.begin().await?;
    let r = db::set_report_status(&mut tx, staff, polo, report_id, status).await?;
    if let Some(c) = r.case_id {
        crate::audit::record_case_access(&mut tx, staff, &r.region_code, c, "worker report")
            .await?;
    }
    tx.commit().await?;
    Ok(r)
}
