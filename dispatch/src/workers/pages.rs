//! The workers' pages under `/w/`: server-rendered, phone first, usable without JavaScript
//! (plain forms, post-redirect-get), in the person's language. Thin handlers over the same
//! functions as the `/api/self` API (`http.rs`): no second copy of a rule.
//!
//! - `/w/` home; `/w/sign-in` (code and PIN); `/w/c/{code}` the one-tap link of a card's QR
//!   code; `POST /w/sign-out` (ends the session, clears the cookie and tells the browser to
//!   clear what it kept of the site);
//! - `/w/book` (destination kinds, then the form for one), `/w/rides`, `/w/rides/{id}`
//!   (another person's ride is a 404), `POST /w/rides/{id}/cancel`;
//! - `/w/lines` (offers, subscriptions), `POST /w/lines/{line_id}/subscribe`,
//!   `POST /w/lines/{line_id}/subscriptions/{id}/end`;
//! - `/w/report`, `POST /w/report`.
//!
//! Every page answers `Cache-Control: no-store` and `Referrer-Policy: same-origin`; forms that
//! create something carry a rendered idempotency key; cross-site posts are refused.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{NaiveDate, NaiveTime};
use minijinja::{context, Value};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::db::PoloContact;
use super::http::{self as api, SelfBooking, SelfSubscribe};
use super::{Destination, ReportKind};
use crate::auth::Worker;
use crate::error::{AppError, AppResult};
use crate::pages::{form_key, redirect_see_other, Ui};
use crate::state::AppState;
use crate::throttle::ClientAddr;

/// The pages' routes, with the cross-site post defence and their privacy headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/w", get(|| async { redirect_see_other("/w/") }))
        .route("/w/", get(home))
        .route("/w/sign-in", get(sign_in_page).post(sign_in_form))
        .route("/w/c/{code}", get(one_tap))
        .route("/w/sign-out", post(sign_out))
        .route("/w/book", get(book_page).post(book_form))
        .route("/w/rides", get(rides_page))
        .route("/w/rides/{id}", get(ride_page))
        .route("/w/rides/{id}/cancel", post(cancel_form))
        .route("/w/lines", get(lines_page))
        .route("/w/lines/{line_id}/subscribe", post(subscribe_form))
        .route(
            "/w/lines/{line_id}/subscriptions/{subscription_id}/end",
            post(end_form),
        )
        .route("/w/report", get(report_page).post(report_form))
        .layer(axum::middleware::from_fn(crate::pages::same_origin))
        .layer(axum::middleware::map_response(private))
}

/// Nothing of a person's pages is kept by a cache or leaks through a referrer to another site (a form post still
/// sends its `Origin`, which the cross-site defence needs).
async fn private(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}

/// The signed-in person, or none (pages send them to sign in).
async fn worker(state: &AppState, headers: &HeaderMap) -> Option<Worker> {
    let token = api::session_token(headers)?;
    let mut conn = state.db.acquire().await.ok()?;
    super::db::session_worker(&mut conn, &crate::auth::token_digest(&token))
        .await
        .ok()
        .flatten()
}

fn to_sign_in() -> Response {
    redirect_see_other("/w/sign-in")
}

/// The person signed in with their card, for a page; without a live session the page answers
/// with a redirect to the sign-in page.
struct SignedIn(Worker);

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        worker(state, &parts.headers)
            .await
            .map(Self)
            .ok_or_else(to_sign_in)
    }
}

/// A page's answer when something went wrong on our side: logged, a plain 500.
fn failed(e: &AppError) -> Response {
    tracing::warn!(error = %e, "worker page failed");
    e.clone_status().into_response()
}

trait StatusOf {
    fn clone_status(&self) -> StatusCode;
}

impl StatusOf for AppError {
    fn clone_status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } | AppError::ConflictWith { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a form error says to the person, in their language: the field it concerns (by the
/// form's own label) or the conflict.
fn form_error(state: &AppState, ui: &Ui, e: &AppError) -> Option<String> {
    let text = |id: &str| state.pages.text(ui, id);
    match e {
        AppError::Validation { field, .. } => {
            let label = match field.as_str() {
                "arrive_by" | "leave_at" | "time" => "worker-time",
                "service_date" => "worker-day",
                "pickup_meeting_point_id" => "worker-from",
                "place_id" => "worker-place",
                "appointment_id" => "worker-dest-appointment",
                "passengers" => "worker-passengers",
                "return_at" => "worker-return",
                "valid_from" => "worker-from-day",
                "valid_to" | "board_seq" | "alight_seq" => "worker-to-day",
                "details" => "worker-report-details",
                _ => "worker-when",
            };
            let mut args = fluent_bundle::FluentArgs::new();
            args.set("field", text(label));
            Some(
                state
                    .pages
                    .messages()
                    .text(&ui.lang, "worker-error", Some(&args)),
            )
        }
        AppError::Conflict { code, .. } | AppError::ConflictWith { code, .. } => {
            Some(text(match *code {
                "duplicate_booking" => "worker-error-duplicate",
                "line_full" => "worker-error-full",
                "already_subscribed" => "worker-error-already",
                _ => "worker-error-duplicate",
            }))
        }
        _ => None,
    }
}

async fn home(State(state): State<AppState>, ui: Ui, SignedIn(w): SignedIn) -> Response {
    let polo = match state.db.acquire().await {
        Ok(mut conn) => match super::db::polo_contact(&mut conn, w.polo_id).await {
            Ok(p) => p,
            Err(e) => return failed(&e),
        },
        Err(e) => return failed(&e.into()),
    };
    state.pages.render(
        &ui,
        "worker/home.html",
        context! { signed_in => true, name => w.known_as, polo => Value::from_serialize(&polo) },
    )
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    out: Option<String>,
}

async fn sign_in_page(
    State(state): State<AppState>,
    ui: Ui,
    Query(q): Query<SignInQuery>,
) -> Response {
    state.pages.render(
        &ui,
        "worker/sign_in.html",
        context! { signed_in => false, signed_out => q.out.is_some(), error => "", code => "" },
    )
}

#[derive(Deserialize)]
struct SignInForm {
    code: String,
    #[serde(default)]
    pin: String,
}

/// Signs in and answers a redirect home with the session cookie, the sign-in page asking
/// for the PIN (`ask`, a card with a PIN reached by its one-tap link), or the sign-in page
/// with the same message for every failure (401) or the rate limit (429).
async fn signed_in_or_page(
    state: &AppState,
    ui: &Ui,
    client: Option<std::net::IpAddr>,
    code: &str,
    pin: Option<&str>,
    ask: bool,
) -> Response {
    match api::sign_in_or_ask(state, client, code, pin, ask).await {
        Ok(Some(s)) => {
            let mut res = redirect_see_other("/w/");
            res.headers_mut().insert(
                header::SET_COOKIE,
                state.pages.set_cookie(
                    super::COOKIE,
                    &s.token,
                    Some(super::SESSION_MINUTES * 60),
                ),
            );
            res
        }
        Ok(None) => state.pages.render(
            ui,
            "worker/sign_in.html",
            context! { signed_in => false, signed_out => false, error => "", code => super::normalise(code).map(|c| super::grouped(&c)) },
        ),
        Err(e) => {
            let (status, error) = match e {
                AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "limited"),
                AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "failed"),
                other => return failed(&other),
            };
            state.pages.render_status(
                status,
                ui,
                "worker/sign_in.html",
                context! { signed_in => false, signed_out => false, error => error, code => "" },
            )
        }
    }
}

async fn sign_in_form(
    State(state): State<AppState>,
    ui: Ui,
    ClientAddr(client): ClientAddr,
    Form(f): Form<SignInForm>,
) -> Response {
    signed_in_or_page(&state, &ui, client, &f.code, Some(f.pin.as_str()), false).await
}

/// The card's QR link: signs in at once, or, for a card with a PIN, asks for it.
async fn one_tap(
    State(state): State<AppState>,
    ui: Ui,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
) -> Response {
    signed_in_or_page(&state, &ui, client, &code, None, true).await
}

/// Ends the session, removes the cookie and asks the browser to forget the site's cache,
/// cookies and storage: nothing of the person stays on a shared phone.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = api::sign_out(&state, &headers).await {
        return failed(&e);
    }
    let mut res = redirect_see_other("/w/sign-in?out=1");
    let h = res.headers_mut();
    h.insert(header::SET_COOKIE, state.pages.clear_cookie(super::COOKIE));
    h.insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    res
}

#[derive(Deserialize, Default)]
struct BookQuery {
    to: Option<String>,
    day: Option<NaiveDate>,
    time: Option<String>,
    when: Option<String>,
}

fn destination(s: &str) -> Option<Destination> {
    Destination::ALL.into_iter().find(|d| d.as_str() == s)
}

/// The icon of a kind of place.
fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "farm" | "packing_house" => "work",
        "settlement" => "settlement",
        "other_office" => "polo",
        _ => "office",
    }
}

async fn book_page(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Query(q): Query<BookQuery>,
) -> Response {
    let Some(to) = q.to.as_deref().and_then(destination) else {
        let kinds: Vec<Value> = Destination::ALL
            .iter()
            .map(|d| context! { kind => d.as_str() })
            .collect();
        return state.pages.render(
            &ui,
            "worker/book_choose.html",
            context! { signed_in => true, destinations => kinds },
        );
    };
    let form = context! {
        day => q.day.map(|d| d.to_string()),
        time => q.time,
        when => q.when,
        pickup => "",
        place => "",
        passengers => 1,
        wheelchair => false,
        return_at => "",
    };
    render_book(&state, &ui, &w, to, form, None, StatusCode::OK).await
}

async fn render_book(
    state: &AppState,
    ui: &Ui,
    w: &Worker,
    to: Destination,
    form: Value,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let places = match api::self_places(state, w).await {
        Ok(p) => p,
        Err(e) => return failed(&e),
    };
    let list = match to {
        Destination::Work => &places.work,
        Destination::Polo => &places.polo,
        Destination::Office => &places.office,
        Destination::Appointment => &places.pickups,
    };
    let today = crate::service_day::day_of(state.now());
    let tomorrow = today.succ_opt().unwrap_or(today);
    let day = form
        .get_attr("day")
        .ok()
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map_or_else(|| tomorrow.to_string(), |v| v.to_string());
    let form = context! { day => day, ..form };
    state.pages.render_status(
        status,
        ui,
        "worker/book.html",
        context! {
            signed_in => true,
            to => to.as_str(),
            key => form_key(),
            pickups => Value::from_serialize(&places.pickups),
            places => Value::from_serialize(list),
            appointments => Value::from_serialize(&places.appointments),
            today => today.to_string(),
            // Choices rather than the browser's date and time pickers, whose formats follow
            // the phone's locale (12-hour clocks, month first).
            days => Value::from_serialize(state.pages.day_choices(ui, today, today, 14)),
            times => Value::from_serialize(crate::pages::time_choices(4, 22, 15)),
            form => form,
            error => error,
        },
    )
}

/// The booking form as sent.
#[derive(Deserialize, serde::Serialize)]
struct BookForm {
    idempotency_key: String,
    destination: String,
    pickup_meeting_point_id: Option<Uuid>,
    place_id: Option<Uuid>,
    appointment_id: Option<Uuid>,
    service_date: Option<NaiveDate>,
    when: Option<String>,
    #[serde(default)]
    time: String,
    passengers: Option<i16>,
    wheelchair: Option<String>,
    #[serde(default)]
    return_at: String,
}

fn time_of(field: &str, s: &str) -> AppResult<Option<NaiveTime>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map(Some)
        .map_err(|_| AppError::invalid(field, "a time HH:MM"))
}

fn booking_of(f: &BookForm, to: Destination) -> AppResult<SelfBooking> {
    let time = time_of("time", &f.time)?;
    let leave = f.when.as_deref() == Some("leave");
    Ok(SelfBooking {
        pickup_meeting_point_id: f
            .pickup_meeting_point_id
            .ok_or_else(|| AppError::invalid("pickup_meeting_point_id", "choose one"))?,
        destination: to,
        place_id: f.place_id,
        appointment_id: f.appointment_id,
        service_date: f
            .service_date
            .ok_or_else(|| AppError::invalid("service_date", "choose a day"))?,
        arrive_by: time.filter(|_| !leave),
        leave_at: time.filter(|_| leave),
        passengers: f.passengers.unwrap_or(1),
        wheelchair: f.wheelchair.is_some(),
        return_at: time_of("return_at", &f.return_at)?,
    })
}

async fn book_form(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Form(f): Form<BookForm>,
) -> Response {
    let Some(to) = destination(&f.destination) else {
        return redirect_see_other("/w/book");
    };
    let key = f.idempotency_key.trim();
    let result = match booking_of(&f, to) {
        Ok(b) => {
            // The request's digest: the same form sent again is a retry, another form with
            // the same key is refused.
            let digest = Sha256::digest(serde_json::to_vec(&f).unwrap_or_default()).to_vec();
            let key = (!key.is_empty() && key.len() <= 200).then_some(key);
            api::book(&state, &w, &b, key.map(|k| (k, digest.as_slice()))).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(booked) => redirect_see_other(&format!(
            "/w/rides/{}?outcome={}&to={}&when={}",
            booked.ride.ride_request_id,
            booked.outcome,
            to.as_str(),
            if f.when.as_deref() == Some("leave") {
                "leave"
            } else {
                "arrive"
            }
        )),
        Err(e) => match form_error(&state, &ui, &e) {
            Some(msg) => {
                let form = context! {
                    day => f.service_date.map(|d| d.to_string()),
                    time => f.time,
                    when => f.when,
                    pickup => f.pickup_meeting_point_id.map(|u| u.to_string()),
                    place => f.place_id.map(|u| u.to_string()),
                    passengers => f.passengers.unwrap_or(1),
                    wheelchair => f.wheelchair.is_some(),
                    return_at => f.return_at,
                };
                render_book(&state, &ui, &w, to, form, Some(msg), e.clone_status()).await
            }
            None => failed(&e),
        },
    }
}

async fn rides_page(State(state): State<AppState>, ui: Ui, SignedIn(w): SignedIn) -> Response {
    let today = crate::service_day::day_of(state.now());
    let rides = match state.db.acquire().await {
        Ok(mut conn) => match super::db::rides(&mut conn, w.person_id, today).await {
            Ok(r) => r,
            Err(e) => return failed(&e),
        },
        Err(e) => return failed(&e.into()),
    };
    render_with_icons(
        &state,
        &ui,
        StatusCode::OK,
        "worker/rides.html",
        // On the day, the page refreshes itself (no script needed) to follow the run.
        context! {
            signed_in => true,
            refresh => rides.iter().any(|r| r.service_date == today),
            rides => Value::from_serialize(&rides),
        },
    )
}

/// Renders with `kind_icon` available to the template.
fn render_with_icons(
    state: &AppState,
    ui: &Ui,
    status: StatusCode,
    name: &str,
    ctx: Value,
) -> Response {
    let icons: std::collections::BTreeMap<&str, &str> = [
        "farm",
        "packing_house",
        "settlement",
        "other_office",
        "questura",
        "asl",
        "job_centre",
        "municipality",
    ]
    .into_iter()
    .map(|k| (k, kind_icon(k)))
    .collect();
    state
        .pages
        .render_status(status, ui, name, context! { kind_icons => icons, ..ctx })
}

#[derive(Deserialize, Default)]
struct RideQuery {
    outcome: Option<String>,
    to: Option<String>,
    when: Option<String>,
    cancelled: Option<String>,
}

async fn ride_page(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<RideQuery>,
) -> Response {
    let not_found = || {
        state.pages.render_status(
            StatusCode::NOT_FOUND,
            &ui,
            "worker/not_found.html",
            context! { signed_in => true },
        )
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let ride = match api::own_ride(&state, &w, id).await {
        Ok(r) => r,
        Err(AppError::NotFound(_)) => return not_found(),
        Err(e) => return failed(&e),
    };
    // A refusal is the ride's own status; the other outcomes are what the booking answered.
    let outcome = if ride.status == crate::bookings::RideStatus::Refused {
        Some("refused")
    } else {
        q.outcome
            .as_deref()
            .filter(|o| ["confirmed", "booked", "queued"].contains(o))
    };
    // A refusal offers what the person can do instead: a line passing near, another time.
    let (lines, other_times) = if outcome == Some("refused") {
        match alternatives(&state, &w, id, &ride).await {
            Ok(x) => x,
            Err(e) => return failed(&e),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    render_with_icons(
        &state,
        &ui,
        StatusCode::OK,
        "worker/ride.html",
        context! {
            signed_in => true,
            refresh => ride.service_date == crate::service_day::day_of(state.now())
                && !ride.status.is_final(),
            r => Value::from_serialize(&ride),
            outcome => outcome,
            cancelled => q.cancelled.is_some(),
            lines => Value::from_serialize(&lines),
            other_times => other_times,
            to => q.to.as_deref().and_then(destination).map_or("work", Destination::as_str),
            when => if q.when.as_deref() == Some("leave") { "leave" } else { "arrive" },
        },
    )
}

async fn alternatives(
    state: &AppState,
    w: &Worker,
    id: Uuid,
    ride: &super::db::SelfRide,
) -> AppResult<(Vec<super::db::LineAlternative>, Vec<String>)> {
    let mut conn = state.db.acquire().await?;
    let ends: Option<(Option<Uuid>, Uuid)> = sqlx::query_as(
        "select pickup_meeting_point_id, dropoff_place_id from ride_request
         where ride_request_id = $1 and person_id = $2",
    )
    .bind(id)
    .bind(w.person_id)
    .fetch_optional(&mut *conn)
    .await?;
    let lines = match ends {
        Some((Some(mp), place)) => {
            super::db::lines_near(&mut conn, &w.region_code, ride.service_date, mp, place).await?
        }
        _ => Vec::new(),
    };
    let base = ride
        .earliest_pickup
        .or(ride.latest_arrival)
        .map(|t| crate::service_day::local(t).time());
    let times = base.map_or_else(Vec::new, |b| api::other_times(state, ride.service_date, b));
    Ok((lines, times))
}

async fn cancel_form(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return state.pages.render_status(
            StatusCode::NOT_FOUND,
            &ui,
            "worker/not_found.html",
            context! { signed_in => true },
        );
    };
    match api::cancel(&state, &w, id).await {
        // A second tap on "cancel" finds it cancelled already: the same page.
        Ok(_)
        | Err(AppError::Conflict {
            code: "final_status",
            ..
        }) => redirect_see_other(&format!("/w/rides/{id}?cancelled=1")),
        Err(AppError::NotFound(_)) => state.pages.render_status(
            StatusCode::NOT_FOUND,
            &ui,
            "worker/not_found.html",
            context! { signed_in => true },
        ),
        Err(e) => failed(&e),
    }
}

#[derive(Deserialize, Default)]
struct LinesQuery {
    done: Option<String>,
}

async fn lines_page(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Query(q): Query<LinesQuery>,
) -> Response {
    render_lines(&state, &ui, &w, q.done.as_deref(), None, StatusCode::OK).await
}

async fn render_lines(
    state: &AppState,
    ui: &Ui,
    w: &Worker,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let data = match api::self_lines(state, w).await {
        Ok(d) => d,
        Err(e) => return failed(&e),
    };
    state.pages.render_status(
        status,
        ui,
        "worker/lines.html",
        context! {
            signed_in => true,
            key => form_key(),
            offers => Value::from_serialize(&data.offers),
            subscriptions => Value::from_serialize(&data.subscriptions),
            done => done,
            error => error,
        },
    )
}

#[derive(Deserialize)]
struct SubscribeForm {
    idempotency_key: String,
    board_seq: i16,
    alight_seq: i16,
    span: Option<String>,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
}

async fn subscribe_form(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Path(line_id): Path<String>,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let Ok(line_id) = line_id.parse::<Uuid>() else {
        return redirect_see_other("/w/lines");
    };
    let offer = match api::self_lines(&state, &w).await {
        Ok(d) => d.offers.into_iter().find(|o| o.line_id == line_id),
        Err(e) => return failed(&e),
    };
    let Some(offer) = offer else {
        return redirect_see_other("/w/lines");
    };
    // The whole season, or the days chosen.
    let season = f.span.as_deref() != Some("days");
    let s = SelfSubscribe {
        board_seq: f.board_seq,
        alight_seq: f.alight_seq,
        valid_from: if season {
            offer.first_day
        } else {
            f.valid_from.unwrap_or(offer.first_day)
        },
        valid_to: if season {
            offer.season_end
        } else {
            f.valid_to.unwrap_or(offer.season_end)
        },
    };
    let key = f.idempotency_key.trim();
    match api::subscribe(&state, &w, line_id, &s, (!key.is_empty()).then_some(key)).await {
        Ok(_) => redirect_see_other("/w/lines?done=subscribed"),
        Err(e) => match form_error(&state, &ui, &e) {
            Some(msg) => render_lines(&state, &ui, &w, None, Some(msg), e.clone_status()).await,
            None => failed(&e),
        },
    }
}

async fn end_form(
    State(state): State<AppState>,
    SignedIn(w): SignedIn,
    Path((line_id, subscription_id)): Path<(String, String)>,
) -> Response {
    let (Ok(line_id), Ok(subscription_id)) = (line_id.parse(), subscription_id.parse()) else {
        return redirect_see_other("/w/lines");
    };
    match api::end_subscription(&state, &w, line_id, subscription_id).await {
        Ok(_)
        | Err(AppError::Conflict {
            code: "already_ended",
            ..
        }) => redirect_see_other("/w/lines?done=ended"),
        Err(AppError::NotFound(_)) => redirect_see_other("/w/lines"),
        Err(e) => failed(&e),
    }
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    sent: Option<String>,
}

async fn report_page(
    State(state): State<AppState>,
    ui: Ui,
    _signed_in: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Response {
    render_report(&state, &ui, q.sent.is_some(), None, StatusCode::OK)
}

fn render_report(
    state: &AppState,
    ui: &Ui,
    sent: bool,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let kinds: Vec<&str> = ReportKind::ALL.iter().map(|k| k.as_str()).collect();
    state.pages.render_status(
        status,
        ui,
        "worker/report.html",
        context! { signed_in => true, key => form_key(), kinds => kinds, sent => sent, error => error },
    )
}

#[derive(Deserialize)]
struct ReportForm {
    idempotency_key: String,
    kind: String,
    #[serde(default)]
    details: String,
    anonymous: Option<String>,
}

async fn report_form(
    State(state): State<AppState>,
    ui: Ui,
    SignedIn(w): SignedIn,
    Form(f): Form<ReportForm>,
) -> Response {
    let Some(kind) = ReportKind::ALL.into_iter().find(|k| k.as_str() == f.kind) else {
        return render_report(&state, &ui, false, None, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let r = api::NewReport {
        kind,
        details: Some(f.details),
        anonymous: f.anonymous.is_some(),
    };
    let key = f.idempotency_key.trim();
    match api::report(&state, &w, &r, (!key.is_empty()).then_some(key)).await {
        Ok(_) => redirect_see_other("/w/report?sent=1"),
        Err(e) => match form_error(&state, &ui, &e) {
            Some(msg) => render_report(&state, &ui, false, Some(&msg), e.clone_status()),
            None => failed(&e),
        },
    }
}

/// What a printed card shows.
pub struct CardView<'a> {
    /// The person's name.
    pub known_as: &'a str,
    /// The code, grouped.
    pub code: &'a str,
    /// The one-tap link.
    pub sign_in_url: &'a str,
    /// Its QR code (SVG).
    pub qr_svg: &'a str,
    /// The Polo.
    pub polo: &'a PoloContact,
    /// Whether a PIN is asked.
    pub pin: bool,
}

/// Whether there is a message file for `lang`.
#[must_use]
pub fn has_language(state: &AppState, lang: &str) -> bool {
    state.pages.messages().language(lang).is_some()
}

/// The languages there are message files for.
#[must_use]
pub fn language_codes(state: &AppState) -> Vec<String> {
    state
        .pages
        .messages()
        .languages()
        .iter()
        .map(|l| l.code.clone())
        .collect()
}

/// The printable card, a whole page in the card's language.
///
/// # Errors
/// An unknown language; a template error.
pub fn card_html(state: &AppState, lang: &str, card: &CardView<'_>) -> AppResult<String> {
    let ui = Ui::for_language(&state.pages, lang)
        .ok_or_else(|| AppError::invalid("language", "no message file for this language"))?;
    state
        .pages
        .render_string(
            &ui,
            "worker/card.html",
            context! {
                signed_in => false,
                known_as => card.known_as,
                code => card.code,
                sign_in_url => card.sign_in_url,
                qr_svg => card.qr_svg,
                polo => Value::from_serialize(card.polo),
                pin => card.pin,
            },
        )
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering an access card: {e}")))
}
