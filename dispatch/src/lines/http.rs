//! HTTP routes for work lines: create and read lines, subscribe people, make a day's runs, and
//! find lines passing near an on-demand trip.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{db, Line, LineEdit, LineStop, NewLine, NewSubscription, Subscription};
use crate::audit::record_case_accesses;
use crate::auth::{Actor, Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{parse_json, AppJson, AppPath, AppQuery};
use crate::geo::LonLat;
use crate::state::AppState;

/// Who may read lines.
const READERS: &[Role] = &[
    Role::ProgrammeAdmin,
    Role::PoloCoordinator,
    Role::CaseWorker,
    Role::Mediator,
];
/// Who may create lines and make a day's runs.
const PLANNERS: &[Role] = &[Role::ProgrammeAdmin, Role::PoloCoordinator];

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_line, list_lines))
        .routes(routes!(passing))
        .routes(routes!(get_line))
        .routes(routes!(edit_line))
        .routes(routes!(subscribe))
        .routes(routes!(end_subscription))
        .routes(routes!(get_heat, set_heat))
        .routes(routes!(mark_heat_day))
}

/// A line of the caller's region, locked for a change (planners only).
async fn planner_line(
    conn: &mut sqlx::PgConnection,
    staff: &Staff,
    line_id: Uuid,
) -> AppResult<Line> {
    staff.require(PLANNERS)?;
    let line = db::get_line(conn, line_id, true)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    staff.require_region("region_code", &line.region_code)?;
    Ok(line)
}

/// A heat-ordinance timetable: the alternative time of each stop, in stop order.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct HeatTimes {
    /// `HH:MM`, one per stop, strictly increasing.
    pub stop_times: Vec<String>,
}

/// A line's heat-ordinance timetable and the days marked.
#[utoipa::path(get, path = "/api/lines/{line_id}/heat-timetable", tag = "lines",
    responses((status = 200, body = db::HeatTimetable)), params(("line_id" = Uuid, Path)))]
async fn get_heat(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
) -> AppResult<Json<db::HeatTimetable>> {
    staff.require(READERS)?;
    let mut conn = state.db.acquire().await?;
    let line = db::get_line(&mut conn, line_id, false)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    staff.require_region("region_code", &line.region_code)?;
    Ok(Json(db::heat_timetable(&mut conn, line_id).await?))
}

/// Sets the line's heat-ordinance timetable (regional ordinances stop field work in the
/// hottest hours): on the days marked, the line's run and its subscribers' rides use these
/// times.
#[utoipa::path(post, path = "/api/lines/{line_id}/heat-timetable", tag = "lines", request_body = HeatTimes,
    responses((status = 200, body = db::HeatTimetable)), params(("line_id" = Uuid, Path)))]
async fn set_heat(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<HeatTimes>,
) -> AppResult<Json<db::HeatTimetable>> {
    Ok(Json(
        set_heat_as(&state, &staff, line_id, &body.stop_times).await?,
    ))
}

/// The rule behind `POST /api/lines/{line_id}/heat-timetable`, shared with the console.
///
/// # Errors
/// Forbidden, not found, validation of `stop_times`.
pub async fn set_heat_as(
    state: &AppState,
    staff: &Staff,
    line_id: Uuid,
    stop_times: &[String],
) -> AppResult<db::HeatTimetable> {
    let mut tx = state.db.begin().await?;
    planner_line(&mut tx, staff, line_id).await?;
    let stops = db::stop_count(&mut tx, line_id).await?;
    let times = super::validate_heat_times(stop_times, usize::try_from(stops).unwrap_or(0))?;
    db::set_heat_times(&mut tx, line_id, &times).await?;
    let out = db::heat_timetable(&mut tx, line_id).await?;
    tx.commit().await?;
    Ok(out)
}

/// A day marked (or unmarked) under a heat ordinance.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct HeatDay {
    /// The day.
    pub date: NaiveDate,
    /// True to mark it, false to unmark it (default true).
    #[serde(default = "yes")]
    pub marked: bool,
}

fn yes() -> bool {
    true
}

/// Marks a day on which the line runs its heat-ordinance times (or unmarks it). 409
/// `no_heat_timetable` without a timetable, `run_exists` once the day's run is made.
#[utoipa::path(post, path = "/api/lines/{line_id}/heat-days", tag = "lines", request_body = HeatDay,
    responses((status = 200, body = db::HeatTimetable)), params(("line_id" = Uuid, Path)))]
async fn mark_heat_day(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<HeatDay>,
) -> AppResult<Json<db::HeatTimetable>> {
    Ok(Json(
        mark_heat_day_as(&state, &staff, line_id, body.date, body.marked).await?,
    ))
}

/// The rule behind `POST /api/lines/{line_id}/heat-days`, shared with the console.
///
/// # Errors
/// Forbidden, not found, the conflicts of [`db::mark_day`].
pub async fn mark_heat_day_as(
    state: &AppState,
    staff: &Staff,
    line_id: Uuid,
    date: NaiveDate,
    marked: bool,
) -> AppResult<db::HeatTimetable> {
    let mut tx = state.db.begin().await?;
    let line = planner_line(&mut tx, staff, line_id).await?;
    db::mark_day(
        &mut tx,
        &line.region_code,
        line_id,
        date,
        marked,
        staff.staff_id,
    )
    .await?;
    let out = db::heat_timetable(&mut tx, line_id).await?;
    tx.commit().await?;
    Ok(out)
}

/// A line with its stops; subscriber identities only for the caller's own Polo.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LineDetail {
    /// The line.
    #[serde(flatten)]
    pub line: Line,
    /// Its stops in order.
    pub stops: Vec<LineStop>,
    /// Whether the timetable leaves the driver a break (EU rule: 45 minutes after at most
    /// 4 h 30), in a wait of 45 minutes or more between two stops with nobody on board.
    /// `false` means that, whoever subscribes, some stretch is longer than 4 h 30 without
    /// one: the runs' breaks will be late or missing (see [`super::breaks_fit`]).
    pub breaks_fit: bool,
    /// Active subscriptions, all Poli (a number, no identities).
    active_subscriptions: i64,
    /// Subscriptions of the caller's Polo's cases; absent for callers without a Polo.
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions: Option<Vec<Subscription>>,
}

async fn detail(conn: &mut sqlx::PgConnection, staff: &Staff, line: Line) -> AppResult<LineDetail> {
    let stops = db::stops_of(conn, line.line_id).await?;
    let active_subscriptions = db::active_subscriptions(conn, line.line_id).await?;
    let subscriptions = match staff.case_polo() {
        Ok(polo) => {
            let subs = db::subscriptions_of_polo(conn, line.line_id, polo).await?;
            let read: Vec<(String, Uuid)> = subs
                .iter()
                .map(|s| (line.region_code.clone(), s.case_id))
                .collect();
            record_case_accesses(conn, staff, &read, "line subscribers").await?;
            Some(subs)
        }
        Err(_) => None,
    };
    Ok(LineDetail {
        breaks_fit: super::breaks_fit(stops.iter().map(|s| s.stop_time.as_str())),
        line,
        stops,
        active_subscriptions,
        subscriptions,
    })
}

#[utoipa::path(post, path = "/api/lines", tag = "lines", request_body = NewLine, responses((status = 201, body = LineDetail)))]
async fn create_line(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewLine>,
) -> AppResult<(StatusCode, Json<LineDetail>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_line_as(&state, &staff, body).await?),
    ))
}

/// Creates a line of the caller's region (planners only): the rule behind `POST /api/lines`,
/// shared with the console.
///
/// # Errors
/// Forbidden, validation errors naming the field.
pub async fn create_line_as(
    state: &AppState,
    staff: &Staff,
    body: NewLine,
) -> AppResult<LineDetail> {
    staff.require(PLANNERS)?;
    staff.require_region("region_code", &body.region_code)?;
    let body = body.validate()?;
    let mut tx = state.db.begin().await?;
    let line_id = db::insert_line(&mut tx, &body).await?;
    let line = db::get_line(&mut tx, line_id, false)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    let out = detail(&mut tx, staff, line).await?;
    tx.commit().await?;
    Ok(out)
}

/// Edits a line: the fields of a creation, checked by the same rules. 409 `run_made` when the
/// season or the weekdays leave out a day whose run is already made (the message names the
/// field), `capacity_below_subscribed` / `wheelchair_below_subscribed` when fewer places than
/// those already subscribed on a day from today, `has_subscriptions` when the stops change
/// (not only their times) on a line with subscriptions.
#[utoipa::path(post, path = "/api/lines/{line_id}/edit", tag = "lines", request_body = LineEdit,
    responses((status = 200, body = LineDetail)), params(("line_id" = Uuid, Path)))]
async fn edit_line(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<LineEdit>,
) -> AppResult<Json<LineDetail>> {
    Ok(Json(edit_line_as(&state, &staff, line_id, body).await?))
}

/// The rule behind `POST /api/lines/{line_id}/edit`, shared with the console.
///
/// # Errors
/// Forbidden, not found, validation errors naming the field, the conflicts of
/// [`db::update_line`].
pub async fn edit_line_as(
    state: &AppState,
    staff: &Staff,
    line_id: Uuid,
    body: LineEdit,
) -> AppResult<LineDetail> {
    let mut tx = state.db.begin().await?;
    let line = planner_line(&mut tx, staff, line_id).await?;
    let valid = body.into_new(line.region_code.clone()).validate()?;
    let today = crate::service_day::day_of(state.now());
    db::update_line(&mut tx, &line, &valid, today).await?;
    let line = db::get_line(&mut tx, line_id, false)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    let out = detail(&mut tx, staff, line).await?;
    tx.commit().await?;
    Ok(out)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    region: String,
    date: Option<NaiveDate>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LineSummary {
    #[serde(flatten)]
    line: Line,
    /// People on the busiest leg that day (with `date`).
    #[serde(skip_serializing_if = "Option::is_none")]
    seats_taken: Option<i64>,
    /// Seats left on the busiest leg that day (with `date`).
    #[serde(skip_serializing_if = "Option::is_none")]
    seats_free: Option<i64>,
}

#[utoipa::path(get, path = "/api/lines", tag = "lines", params(ListQuery), responses((status = 200, body = Vec<LineSummary>)))]
async fn list_lines(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<Vec<LineSummary>>> {
    staff.require(READERS)?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    let lines = db::list_lines(&mut conn, &q.region, q.date).await?;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let taken = match q.date {
            Some(day) => Some(db::seats_taken(&mut conn, &line, day).await?),
            None => None,
        };
        out.push(LineSummary {
            seats_free: taken.map(|t| i64::from(line.capacity) - t),
            seats_taken: taken,
            line,
        });
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/lines/{line_id}", tag = "lines", responses((status = 200, body = LineDetail)), params(("line_id" = Uuid, Path)))]
async fn get_line(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
) -> AppResult<Json<LineDetail>> {
    Ok(Json(line_as(&state, &staff, line_id).await?))
}

/// A line with its stops and, for the caller's Polo, its subscribers (audited): the rule behind
/// `GET /api/lines/{line_id}`, shared with the console.
///
/// # Errors
/// Forbidden, not found.
pub async fn line_as(state: &AppState, staff: &Staff, line_id: Uuid) -> AppResult<LineDetail> {
    staff.require(READERS)?;
    let mut tx = state.db.begin().await?;
    let line = db::get_line(&mut tx, line_id, false)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    staff.require_region("region_code", &line.region_code)?;
    let out = detail(&mut tx, staff, line).await?;
    tx.commit().await?;
    Ok(out)
}

#[utoipa::path(post, path = "/api/lines/{line_id}/subscriptions", tag = "lines", request_body = NewSubscription, responses((status = 201, body = Subscribed)), params(("line_id" = Uuid, Path)))]
async fn subscribe(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<NewSubscription>,
) -> AppResult<(StatusCode, Json<Subscribed>)> {
    Ok((
        StatusCode::CREATED,
        Json(subscribe_as(&state, &staff, line_id, &body).await?),
    ))
}

/// Subscribes a case of the caller's Polo to a line (the seat and wheelchair rules under the
/// line's lock); the line's runs already made for these days take the new rider: the rule
/// behind `POST /api/lines/{line_id}/subscriptions`, shared with the console.
///
/// # Errors
/// As the route documents.
pub async fn subscribe_as(
    state: &AppState,
    staff: &Staff,
    line_id: Uuid,
    body: &NewSubscription,
) -> AppResult<Subscribed> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let sub = db::subscribe(&mut tx, Actor::Staff(staff), polo, line_id, body).await?;
    // The line's runs already made for these days take the new rider.
    let joined_runs = state
        .dispatcher
        .line_subscribed(&mut tx, sub.subscription_id, Some(staff.staff_id))
        .await?;
    tx.commit().await?;
    Ok(Subscribed {
        subscription: sub,
        joined_runs,
    })
}

/// A new subscription, and the runs of the line already made for its days that it joined
/// (or why not).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Subscribed {
    #[serde(flatten)]
    subscription: Subscription,
    joined_runs: Vec<crate::state::LineJoin>,
}

/// Ends a subscription (see [`db::end_subscription`]): the rule behind `.../end`, shared with
/// the worker's own pages and API. It takes the rides it cancels off the
/// runs already made for them, through the dispatcher as a cancellation does: their stops go,
/// the runs' breaks are planned again, and after the commit each run is re-timed (a failed
/// re-timing is logged; the run keeps its times until its next change).
///
/// # Errors
/// As [`db::end_subscription`].
pub async fn end_subscription_as(
    state: &AppState,
    actor: Actor<'_>,
    polo_id: Uuid,
    (line_id, subscription_id): (Uuid, Uuid),
    last_day: NaiveDate,
) -> AppResult<Subscription> {
    let mut tx = state.db.begin().await?;
    let (sub, cancelled) =
        db::end_subscription(&mut tx, actor, polo_id, line_id, subscription_id, last_day).await?;
    let mut runs = Vec::new();
    for id in cancelled {
        if let Some(run) = state.dispatcher.leave_run(&mut tx, id).await? {
            if !runs.contains(&run) {
                runs.push(run);
            }
        }
    }
    tx.commit().await?;
    for run_id in runs {
        state.retime_logged(run_id, "a subscription ended").await;
    }
    Ok(sub)
}

/// Optional body of `.../end`.
#[derive(Deserialize, utoipa::ToSchema)]
struct EndBody {
    /// Last day the person travels; defaults to today (Europe/Rome).
    valid_to: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/lines/{line_id}/subscriptions/{subscription_id}/end", tag = "lines", request_body = EndBody, responses((status = 200, body = Subscription)), params(("line_id" = Uuid, Path), ("subscription_id" = Uuid, Path)))]
async fn end_subscription(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((line_id, subscription_id)): AppPath<(Uuid, Uuid)>,
    raw: axum::body::Bytes,
) -> AppResult<Json<Subscription>> {
    let polo = staff.case_polo()?;
    // The body is optional: no body ends the subscription today.
    let body: EndBody = if raw.iter().all(u8::is_ascii_whitespace) {
        EndBody { valid_to: None }
    } else {
        parse_json(&raw)?
    };
    let last_day = match body.valid_to {
        Some(d) => d,
        None => crate::service_day::day_of(state.now()),
    };
    let sub = end_subscription_as(
        &state,
        Actor::Staff(&staff),
        polo,
        (line_id, subscription_id),
        last_day,
    )
    .await?;
    Ok(Json(sub))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PassingQuery {
    region: String,
    date: NaiveDate,
    from_lon: f64,
    from_lat: f64,
    to_lon: f64,
    to_lat: f64,
    radius_m: Option<f64>,
}

#[utoipa::path(get, path = "/api/lines/passing", tag = "lines", params(PassingQuery), responses((status = 200, body = Vec<db::PassingLine>)))]
async fn passing(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<PassingQuery>,
) -> AppResult<Json<Vec<db::PassingLine>>> {
    staff.require(READERS)?;
    staff.require_region("region", &q.region)?;
    let from = LonLat {
        lon: q.from_lon,
        lat: q.from_lat,
    }
    .validate("from")
    .map_err(|e| rename_point_field(e, "from"))?;
    let to = LonLat {
        lon: q.to_lon,
        lat: q.to_lat,
    }
    .validate("to")
    .map_err(|e| rename_point_field(e, "to"))?;
    let radius = q.radius_m.unwrap_or(1_000.0);
    if !(radius > 0.0 && radius <= 20_000.0) {
        return Err(AppError::invalid(
            "radius_m",
            "must be in (0, 20000] metres",
        ));
    }
    let mut conn = state.db.acquire().await?;
    Ok(Json(
        db::lines_passing(&mut conn, &q.region, q.date, from, to, radius).await?,
    ))
}

/// `from.lat` → `from_lat`: the query parameters are flat.
fn rename_point_field(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Validation { field, message } => AppError::Validation {
            field: field.replacen(&format!("{prefix}."), &format!("{prefix}_"), 1),
            message,
        },
        other => other,
    }
}
