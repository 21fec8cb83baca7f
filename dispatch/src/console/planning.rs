//! Planning: run the planning of a day for the coordinator's region, follow its progress in
//! the page, and see its result (runs, vehicles used, unserved with reasons, estimated or
//! road times) on the map. And a line's page (the fleet page and the line forms are in
//! `lines.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::{base, page, Assets, Scope};
use crate::auth::StaffPage;
use crate::error::{AppError, AppResult};
use crate::pages::{self, Ui};
use crate::state::AppState;

#[derive(Deserialize)]
pub(crate) struct PlanningQuery {
    date: Option<NaiveDate>,
    job: Option<Uuid>,
}

pub(crate) async fn planning_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Query(q): Query<PlanningQuery>,
) -> Response {
    let r = planning_body(&state, &ui, &assets, &scope, q).await;
    page(&state, &ui, r)
}

fn require_coordinator(scope: &Scope) -> AppResult<()> {
    if scope.coordinator() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "planning is for the Polo's coordinator".into(),
        ))
    }
}

async fn planning_body(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    q: PlanningQuery,
) -> AppResult<Response> {
    require_coordinator(scope)?;
    let job = match q.job {
        Some(id) => {
            let job = crate::runs::http::load_job(state, id).await?;
            // Another region's job is not found, as with `GET /api/plans/{id}`.
            if job.region_code != scope.region {
                return Err(AppError::NotFound("plan"));
            }
            Some(job)
        }
        None => None,
    };
    let date = job
        .as_ref()
        .map(|j| j.service_date)
        .or(q.date)
        .unwrap_or_else(|| crate::service_day::day_of(state.now()));
    let mut conn = state.db.acquire().await?;
    let jobs = crate::runs::db::jobs_of_day(&mut conn, &scope.region, date).await?;
    let runs = crate::runs::db::runs_of_day(&mut conn, &scope.region, date).await?;
    drop(conn);
    let vehicles: HashSet<Uuid> = runs.iter().map(|r| r.vehicle_id).collect();
    let run_rows: Vec<_> = runs
        .iter()
        .map(|r| {
            minijinja::context! {
                run_id => r.run_id,
                vehicle => r.vehicle_label.clone(),
                line => r.line_id.is_some(),
                status => r.status,
                stops => r.stops.len(),
                first => r.stops.first().map(|s| s.planned_arrival),
                last => r.stops.last().map(|s| s.planned_arrival),
                breaks => r.breaks.iter().map(|b| (b.planned_start, b.planned_end)).collect::<Vec<_>>(),
                distance_km => f64::from(r.planned_distance_m) / 1000.0,
                estimated => r.estimated_times,
                late => super::day::run_late(r),
            }
        })
        .collect();
    let finished = job
        .as_ref()
        .is_some_and(|j| j.status != "queued" && j.status != "running");
    Ok(state.pages.render(
        ui,
        "console/planning.html",
        minijinja::context! {
            date => date.to_string(),
            job => job,
            finished => finished,
            jobs => jobs,
            runs => run_rows,
            vehicles_used => vehicles.len(),
            ..base(Some(scope), assets, "planning")
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct PlanForm {
    date: NaiveDate,
    #[serde(default)]
    time_limit_s: Option<u64>,
}

/// Starts the planning of a day through the API's own function and follows it.
pub(crate) async fn start(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Form(f): Form<PlanForm>,
) -> Response {
    let r = async {
        require_coordinator(&scope)?;
        let job = crate::runs::http::start_plan(
            &state,
            &scope.staff,
            &scope.region,
            f.date,
            true,
            f.time_limit_s.or(Some(10)),
        )
        .await?;
        Ok(pages::redirect_see_other(&format!(
            "/console/planning?job={job}"
        )))
    }
    .await;
    page(&state, &ui, r)
}

/// A job's status and progress text, polled by the planning page while it runs.
pub(crate) async fn progress(
    State(state): State<AppState>,
    who: StaffPage,
    Path(job): Path<String>,
) -> Response {
    let r = async {
        let scope = super::scope(&state, who.0).await?;
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&job).map_err(|_| AppError::NotFound("plan"))?;
        let job = crate::runs::http::load_job(&state, id).await?;
        if job.region_code != scope.region {
            return Err(AppError::NotFound("plan"));
        }
        Ok(Json(serde_json::json!({
            "status": job.status,
            "progress": job.progress,
        })))
    }
    .await;
    match r {
        Ok(j) => j.into_response(),
        Err(e) => e.into_response(),
    }
}

/// A line: its stops and times, its edit form, its heat-ordinance timetable and marked days,
/// the Polo's subscribers (audited as the API does).
pub(crate) async fn line_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Path(line_id): Path<String>,
    Query(q): Query<LineQuery>,
) -> Response {
    let r = async {
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        line_body(&state, &ui, &assets, &scope, id, q, None).await
    }
    .await;
    page(&state, &ui, r)
}

/// The line page; `refused` is an edit form shown again with the API's message and status.
pub(crate) async fn line_body(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    id: Uuid,
    q: LineQuery,
    refused: Option<(super::lines::LineForm, String, StatusCode)>,
) -> AppResult<Response> {
    require_coordinator(scope)?;
    let line = crate::lines::http::line_as(state, &scope.staff, id).await?;
    let mut conn = state.db.acquire().await?;
    let heat = crate::lines::db::heat_timetable(&mut conn, id).await?;
    drop(conn);
    // The Polo's open cases, for the subscription form (a list read, audited as the API's).
    let mut tx = state.db.begin().await?;
    let cases =
        crate::cases::db::cases_of_polo(&mut tx, scope.polo, Some(crate::cases::CaseStatus::Open))
            .await?;
    let read: Vec<(String, Uuid)> = cases
        .iter()
        .map(|c| (c.region_code.clone(), c.case_id))
        .collect();
    crate::audit::record_case_accesses(&mut tx, &scope.staff, &read, "console line").await?;
    tx.commit().await?;
    let (form, edit_error, status) = match refused {
        Some((form, message, status)) => (form, Some(message), status),
        None => (super::lines::LineForm::of(&line), None, StatusCode::OK),
    };
    Ok(state.pages.render_status(
        status,
        ui,
        "console/line.html",
        minijinja::context! {
            line => line,
            heat => heat,
            cases => cases,
            error => q.error,
            saved => q.saved,
            form => form,
            edit_error => edit_error,
            choices => super::lines::choices(state, &scope.region).await?,
            today => crate::service_day::day_of(state.now()).to_string(),
            ..base(Some(scope), assets, "fleet")
        },
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct LineQuery {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

fn back_to_line(id: Uuid, r: AppResult<()>, saved: &str) -> AppResult<Response> {
    match r {
        Ok(()) => Ok(pages::redirect_see_other(&format!(
            "/console/lines/{id}?saved={saved}"
        ))),
        Err(e @ (AppError::Validation { .. } | AppError::Conflict { .. })) => {
            Ok(pages::redirect_see_other(&format!(
                "/console/lines/{id}?error={}",
                super::people::urlencode(&e.to_string())
            )))
        }
        Err(e) => Err(e),
    }
}

/// The heat-ordinance times, one field per stop (`t0`, `t1`...).
pub(crate) async fn set_heat(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(line_id): Path<String>,
    Form(f): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    let r = async {
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        let mut times: Vec<(usize, String)> = f
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix('t')?.parse().ok()?, v.trim().to_owned())))
            .collect();
        times.sort();
        let times: Vec<String> = times.into_iter().map(|(_, v)| v).collect();
        let r = crate::lines::http::set_heat_as(&state, &scope.staff, id, &times)
            .await
            .map(|_| ());
        back_to_line(id, r, "heat")
    }
    .await;
    page(&state, &ui, r)
}

#[derive(Deserialize)]
pub(crate) struct HeatDayForm {
    date: NaiveDate,
    #[serde(default)]
    unmark: Option<String>,
}

/// Marks (or unmarks) a heat-ordinance day.
pub(crate) async fn mark_heat_day(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(line_id): Path<String>,
    Form(f): Form<HeatDayForm>,
) -> Response {
    let r = async {
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        let r = crate::lines::http::mark_heat_day_as(
            &state,
            &scope.staff,
            id,
            f.date,
            f.unmark.is_none(),
        )
        .await
        .map(|_| ());
        back_to_line(id, r, "day")
    }
    .await;
    page(&state, &ui, r)
}

#[derive(Deserialize)]
pub(crate) struct EndLineForm {
    last_day: NaiveDate,
}

/// Ends the line after a day through the API's own rule (`runs::http::end_line_as`).
pub(crate) async fn end_line(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(line_id): Path<String>,
    Form(f): Form<EndLineForm>,
) -> Response {
    let r = async {
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        let r = crate::runs::http::end_line_as(&state, &scope.staff, id, f.last_day)
            .await
            .map(|_| ());
        back_to_line(id, r, "ended")
    }
    .await;
    page(&state, &ui, r)
}

#[derive(Deserialize)]
pub(crate) struct SubscribeForm {
    case_id: Uuid,
    board_seq: i16,
    alight_seq: i16,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
}

/// Subscribes a person of the Polo to the line through the API's own rule.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(line_id): Path<String>,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let r = async {
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        let body = crate::lines::NewSubscription {
            case_id: f.case_id,
            board_seq: f.board_seq,
            alight_seq: f.alight_seq,
            valid_from: f.valid_from,
            valid_to: f.valid_to,
        };
        let r = crate::lines::http::subscribe_as(&state, &scope.staff, id, &body)
            .await
            .map(|_| ());
        back_to_line(id, r, "subscribed")
    }
    .await;
    page(&state, &ui, r)
}
