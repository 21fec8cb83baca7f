//! HTTP routes for people and cases. Another Polo's case answers 404, as if it did not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{db, CaseAccess, CaseStatus, CaseView, NewCase, StatusChange};
use crate::audit::{record_case_access, record_case_accesses};
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list_cases))
        .routes(routes!(get_case))
        .routes(routes!(change_status))
        .routes(routes!(access_log))
}

#[utoipa::path(post, path = "/api/cases", tag = "cases", request_body = NewCase, responses((status = 201, body = CaseView)))]
async fn create_case(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewCase>,
) -> AppResult<(StatusCode, Json<CaseView>)> {
    let polo = staff.case_manager_polo()?;
    let body = body.validate()?;
    let worker = match (body.case_worker_id, staff.role) {
        (Some(w), _) => w,
        (None, Role::CaseWorker) => staff.staff_id,
        (None, _) => return Err(AppError::invalid("case_worker_id", "name the case worker")),
    };
    let mut tx = state.db.begin().await?;
    let case_id = db::insert_case(&mut tx, polo, worker, &body).await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, &staff, &view.region_code, case_id, "create").await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    status: Option<CaseStatus>,
}

#[utoipa::path(get, path = "/api/cases", tag = "cases", params(ListQuery), responses((status = 200, body = Vec<CaseView>)))]
async fn list_cases(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<Vec<CaseView>>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let cases = db::cases_of_polo(&mut tx, polo, q.status).await?;
    let read: Vec<(String, Uuid)> = cases
        .iter()
        .map(|c| (c.region_code.clone(), c.case_id))
        .collect();
    record_case_accesses(&mut tx, &staff, &read, "list").await?;
    tx.commit().await?;
    Ok(Json(cases))
}

#[utoipa::path(get, path = "/api/cases/{case_id}", tag = "cases", responses((status = 200, body = CaseView)), params(("case_id" = Uuid, Path)))]
async fn get_case(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(case_as(&state, &staff, case_id, "view").await?))
}

/// A case of the caller's Polo, its read audited with `purpose` (another Polo's case is not
/// found): the rule behind `GET /api/cases/{case_id}`, shared with the console.
///
/// # Errors
/// Forbidden for staff of no Polo; not found.
pub async fn case_as(
    state: &AppState,
    staff: &Staff,
    case_id: Uuid,
    purpose: &str,
) -> AppResult<CaseView> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, staff, &view.region_code, case_id, purpose).await?;
    tx.commit().await?;
    Ok(view)
}

#[utoipa::path(post, path = "/api/cases/{case_id}/status", tag = "cases", request_body = StatusChange, responses((status = 200, body = CaseView)), params(("case_id" = Uuid, Path)))]
async fn change_status(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
    AppJson(body): AppJson<StatusChange>,
) -> AppResult<Json<CaseView>> {
    let polo = staff.case_manager_polo()?;
    let mut tx = state.db.begin().await?;
    db::change_status(&mut tx, polo, case_id, &body).await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, &staff, &view.region_code, case_id, "status change").await?;
    tx.commit().await?;
    Ok(Json(view))
}

#[utoipa::path(get, path = "/api/cases/{case_id}/access-log", tag = "cases", responses((status = 200, body = Vec<CaseAccess>)), params(("case_id" = Uuid, Path)))]
async fn access_log(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
) -> AppResult<Json<Vec<CaseAccess>>> {
    Ok(Json(access_log_as(&state, &staff, case_id).await?))
}

/// Who read a case of the caller's Polo, for its coordinator (the read of the log is itself
/// audited): the rule behind `GET /api/cases/{case_id}/access-log`, shared with the console.
///
/// # Errors
/// Forbidden for other roles; not found for another Polo's case.
pub async fn access_log_as(
    state: &AppState,
    staff: &Staff,
    case_id: Uuid,
) -> AppResult<Vec<CaseAccess>> {
    staff.require(&[Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, staff, &view.region_code, case_id, "access log").await?;
    let log = db::access_log(&mut tx, case_id).await?;
    tx.commit().await?;
    Ok(log)
}
