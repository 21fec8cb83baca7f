//! HTTP routes for planning jobs, the day's runs, and manual moves.

use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::db::{self, RunView};
use super::live::{self, LiveOutcome};
use super::plan;
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;

const PLANNERS: &[Role] = &[Role::ProgrammeAdmin, Role::PoloCoordinator];

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(list_runs))
        .routes(routes!(clusters))
        .routes(routes!(move_request))
        .routes(routes!(assign_driver))
        .routes(routes!(materialise_lines))
        .routes(routes!(end_line))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EndLineBody {
    /// The line's last day of service (today or later, before the season's end).
    last_day: NaiveDate,
}

/// Ends a work line after `last_day`: its season, its subscriptions, its subscribers' later
/// requests and its later runs (on-demand riders placed on them wait again, told why).
#[utoipa::path(post, path = "/api/lines/{line_id}/end", tag = "lines", request_body = EndLineBody,
    responses((status = 200, body = super::line_runs::LineEnded)), params(("line_id" = Uuid, Path)))]
async fn end_line(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(line_id): AppPath<Uuid>,
    AppJson(body): AppJson<EndLineBody>,
) -> AppResult<Json<super::line_runs::LineEnded>> {
    Ok(Json(
        end_line_as(&state, &staff, line_id, body.last_day).await?,
    ))
}

/// The rule behind `POST /api/lines/{line_id}/end`, shared with the console.
///
/// # Errors
/// Forbidden, not found, validation of `last_day`.
pub async fn end_line_as(
    state: &AppState,
    staff: &Staff,
    line_id: Uuid,
    last_day: NaiveDate,
) -> AppResult<super::line_runs::LineEnded> {
    staff.require(PLANNERS)?;
    let mut tx = state.db.begin().await?;
    let line = crate::lines::db::get_line(&mut tx, line_id, true)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    staff.require_region("region_code", &line.region_code)?;
    let today = crate::service_day::day_of(state.now());
    let done = super::line_runs::end_line(&mut tx, &line, last_day, today, staff.staff_id).await?;
    tx.commit().await?;
    Ok(done)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MaterialiseBody {
    region_code: String,
    date: NaiveDate,
}

/// The day's runs of the work lines (the planning makes them too; this is for a day that is
/// not planned, or to see what a day's lines become).
#[utoipa::path(post, path = "/api/lines/materialise", tag = "runs", request_body = MaterialiseBody, responses((status = 200, body = super::line_runs::Materialised)))]
async fn materialise_lines(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<MaterialiseBody>,
) -> AppResult<Json<super::line_runs::Materialised>> {
    staff.require(PLANNERS)?;
    staff.require_region("region_code", &body.region_code)?;
    let mut tx = state.db.begin().await?;
    let done =
        super::line_runs::materialise(&mut tx, &body.region_code, body.date, Some(staff.staff_id))
            .await?;
    tx.commit().await?;
    Ok(Json(done))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewPlan {
    region_code: String,
    service_date: NaiveDate,
    #[serde(default = "yes")]
    keep_confirmed: bool,
    time_limit_s: Option<u64>,
}

fn yes() -> bool {
    true
}

/// A planning job as its callers see it.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PlanJob {
    /// Id.
    pub plan_job_id: Uuid,
    /// Region.
    pub region_code: String,
    /// Day planned.
    pub service_date: NaiveDate,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    /// Progress text.
    pub progress: String,
    /// Confirmed riders kept their promised times.
    pub keep_confirmed: bool,
    /// Planned on estimated travel times.
    pub estimated_times: bool,
    /// The result's figures.
    pub summary: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Started.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Finished.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Requests left unserved, with reasons.
    #[sqlx(skip)]
    pub unserved: Vec<UnservedView>,
}

/// A request the plan could not serve.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UnservedView {
    /// The request.
    pub ride_request_id: Uuid,
    /// Why.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/plans", tag = "runs", request_body = NewPlan, responses((status = 202, body = PlanJob)))]
async fn create_plan(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewPlan>,
) -> AppResult<(StatusCode, Json<PlanJob>)> {
    let job = start_plan(
        &state,
        &staff,
        &body.region_code,
        body.service_date,
        body.keep_confirmed,
        body.time_limit_s,
    )
    .await?;
    let view = load_job(&state, job).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// Starts planning a region's day in the background (admins and coordinators, within their
/// region): the rule behind `POST /api/plans`, shared with the console. Returns the job.
///
/// # Errors
/// Forbidden; validation of `region_code` and `time_limit_s` (1..600, default 10).
pub async fn start_plan(
    state: &AppState,
    staff: &Staff,
    region_code: &str,
    service_date: NaiveDate,
    keep_confirmed: bool,
    time_limit_s: Option<u64>,
) -> AppResult<Uuid> {
    staff.require(PLANNERS)?;
    staff.require_region("region_code", region_code)?;
    let limit = time_limit_s.unwrap_or(10);
    if !(1..=600).contains(&limit) {
        return Err(AppError::invalid("time_limit_s", "1..600 seconds"));
    }
    let mut conn = state.db.acquire().await?;
    let job = plan::create_job(
        &mut conn,
        region_code,
        service_date,
        keep_confirmed,
        Some(staff.staff_id),
    )
    .await?;
    drop(conn);
    tokio::spawn(plan::run_job(
        state.clone(),
        job,
        Duration::from_secs(limit),
    ));
    Ok(job)
}

/// A planning job with its unserved requests.
///
/// # Errors
/// Not found; database errors.
pub async fn load_job(state: &AppState, id: Uuid) -> AppResult<PlanJob> {
    let mut job: PlanJob = sqlx::query_as(
        "select plan_job_id, region_code, service_date, status::text as status, progress, keep_confirmed, estimated_times,
                summary, error, created_at, started_at, finished_at
         from plan_job where plan_job_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound("plan"))?;
    job.unserved = sqlx::query_as(
        "select ride_request_id, reason from plan_unserved where plan_job_id = $1 order by 1",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    Ok(job)
}

#[utoipa::path(get, path = "/api/plans/{id}", tag = "runs", responses((status = 200, body = PlanJob)), params(("id" = Uuid, Path)))]
async fn get_plan(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<PlanJob>> {
    staff.require(PLANNERS)?;
    let job = load_job(&state, id).await?;
    staff.require_region("region_code", &job.region_code)?;
    Ok(Json(job))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DayQuery {
    region: String,
    date: NaiveDate,
}

#[utoipa::path(get, path = "/api/runs", tag = "runs", params(DayQuery), responses((status = 200, body = Vec<RunView>)))]
async fn list_runs(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<DayQuery>,
) -> AppResult<Json<Vec<RunView>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(db::runs_of_day(&mut conn, &q.region, q.date).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MoveBody {
    run_id: Uuid,
}

#[utoipa::path(post, path = "/api/ride-requests/{id}/move", tag = "runs", request_body = MoveBody, responses((status = 200, body = LiveOutcome)), params(("id" = Uuid, Path)))]
async fn move_request(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<MoveBody>,
) -> AppResult<Json<LiveOutcome>> {
    Ok(Json(
        move_request_as(&state, &staff, id, body.run_id).await?,
    ))
}

/// Moves a request of the caller's Polo to another run if it fits there (the answer says
/// whether, and why not): the rule behind `POST /api/ride-requests/{id}/move`, shared with the
/// console. The Polo's coordinator only.
///
/// # Errors
/// Forbidden, not found for another Polo's request, a conflict for a final request.
pub async fn move_request_as(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    run_id: Uuid,
) -> AppResult<LiveOutcome> {
    staff.require(&[Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let mut conn = state.db.acquire().await?;
    let request = crate::bookings::db::view(&mut conn, crate::bookings::db::Whose::Polo(polo), id)
        .await?
        .ok_or(AppError::NotFound("ride request"))?;
    drop(conn);
    if request.status.is_final() {
        return Err(AppError::conflict(
            "final_status",
            "the request is already final",
        ));
    }
    // A move is answered by live insertion into today's plan; another day is re-planned.
    if request.service_date != crate::service_day::day_of(state.now()) {
        return Err(AppError::conflict(
            "not_today",
            "only today's requests are moved live: plan their day again to change other days",
        ));
    }
    live::move_request(state, id.into(), run_id.into()).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AssignBody {
    driver_id: Uuid,
}

/// A run and the driver now on it.
#[derive(Serialize, utoipa::ToSchema)]
struct Assigned {
    run_id: Uuid,
    driver_id: Uuid,
}

/// Gives a run to a driver of its region (work-line runs have none until assigned).
#[utoipa::path(post, path = "/api/runs/{run_id}/driver", tag = "runs", request_body = AssignBody, responses((status = 200, body = Assigned)), params(("run_id" = Uuid, Path)))]
async fn assign_driver(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<AssignBody>,
) -> AppResult<Json<Assigned>> {
    staff.require(PLANNERS)?;
    let mut tx = state.db.begin().await?;
    let region: String =
        sqlx::query_scalar("select region_code from run where run_id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound("run"))?;
    staff.require_region("region_code", &region)?;
    let ok: bool = sqlx::query_scalar(
        "select exists (select 1 from driver where driver_id = $1 and region_code = $2)",
    )
    .bind(body.driver_id)
    .bind(&region)
    .fetch_one(&mut *tx)
    .await?;
    if !ok {
        return Err(AppError::invalid(
            "driver_id",
            "no driver with this id in the run's region",
        ));
    }
    // Never two vans at once, and only within the driver's shift; the riders waiting for a
    // driver on this run are confirmed.
    super::crew::assign_to(&mut tx, id, body.driver_id).await?;
    crate::bookings::db::confirm_planned_on_run(&mut tx, id.into()).await?;
    tx.commit().await?;
    Ok(Json(Assigned {
        run_id: id,
        driver_id: body.driver_id,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ClusterQuery {
    region: String,
    date: NaiveDate,
    radius_m: Option<f64>,
}

/// Requests of a day grouped by where people are picked up: counts only, no identities.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Cluster {
    requests: i64,
    passengers: i64,
    wheelchair: i64,
    lon: f64,
    lat: f64,
    settlement: Option<String>,
    first_time: Option<chrono::DateTime<chrono::Utc>>,
    last_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// Clusters the day's pickups (PostGIS DBSCAN in metres, UTM zone 33N, which covers southern
/// Italy) so a coordinator sees where demand gathers: each cluster with its size, centre,
/// nearest settlement and time span.
#[utoipa::path(get, path = "/api/ride-requests/clusters", tag = "runs", params(ClusterQuery), responses((status = 200, body = Vec<Cluster>)))]
async fn clusters(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<ClusterQuery>,
) -> AppResult<Json<Vec<Cluster>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let radius = q.radius_m.unwrap_or(1500.0);
    if !(radius > 0.0 && radius <= 50_000.0) {
        return Err(AppError::invalid(
            "radius_m",
            "must be in (0, 50000] metres",
        ));
    }
    let rows = sqlx::query_as(
        "with r as (
             select pickup_location::geometry as g, passengers, wheelchair,
                    coalesce(earliest_pickup, latest_arrival) as t
             from ride_request
             where region_code = $1 and service_date = $2 and status not in ('cancelled', 'refused')
         ), c as (
             select *, st_clusterdbscan(st_transform(g, 32633), eps := $3, minpoints := 1) over () as cid from r
         ), g as (
             select count(*) as requests, sum(passengers)::bigint as passengers,
                    count(*) filter (where wheelchair) as wheelchair,
                    st_centroid(st_collect(g)) as centre, min(t) as first_time, max(t) as last_time
             from c group by cid
         )
         select g.requests, g.passengers, g.wheelchair, st_x(g.centre) as lon, st_y(g.centre) as lat,
                s.name as settlement, g.first_time, g.last_time
         from g
         left join lateral (
             select p.name from place p where p.region_code = $1 and p.kind = 'settlement'
             order by p.location <-> g.centre::geography limit 1
         ) s on true
         order by g.requests desc, s.name",
    )
    .bind(&q.region)
    .bind(q.date)
    .bind(radius)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}
