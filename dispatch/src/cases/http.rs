//! HTTP routes for people and cases. Another Polo's case answers 404, as if it did not exist.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::{db, CaseAccess, CaseStatus, CaseView, NewCase, StatusChange};
use crate::audit::{record_case_access, record_case_accesses};
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppQuery};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/cases", post(create_case).get(list_cases))
        .route("/api/cases/{case_id}", get(get_case))
        .route("/api/cases/{case_id}/status", post(change_status))
        .route("/api/cases/{case_id}/access-log", get(access_log))
}

async fn create_case(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewCase>,
) -> AppResult<(StatusCode, Json<CaseView>)> {
    let polo = staff.case_polo()?;
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

#[derive(Deserialize)]
struct ListQuery {
    status: Option<CaseStatus>,
}

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

async fn get_case(
    State(state): State<AppState>,
    staff: Staff,
    Path(case_id): Path<Uuid>,
) -> AppResult<Json<CaseView>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, &staff, &view.region_code, case_id, "view").await?;
    tx.commit().await?;
    Ok(Json(view))
}

async fn change_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(case_id): Path<Uuid>,
    AppJson(body): AppJson<StatusChange>,
) -> AppResult<Json<CaseView>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    db::change_status(&mut tx, polo, case_id, &body).await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, &staff, &view.region_code, case_id, "status change").await?;
    tx.commit().await?;
    Ok(Json(view))
}

async fn access_log(
    State(state): State<AppState>,
    staff: Staff,
    Path(case_id): Path<Uuid>,
) -> AppResult<Json<Vec<CaseAccess>>> {
    staff.require(&[Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let view = db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    record_case_access(&mut tx, &staff, &view.region_code, case_id, "access log").await?;
    let log = db::access_log(&mut tx, case_id).await?;
    tx.commit().await?;
    Ok(Json(log))
}
