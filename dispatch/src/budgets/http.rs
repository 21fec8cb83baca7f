//! HTTP routes for funding sources and the ledger.
//!
//! An integration budget is case data: only its person's Polo sees or charges it, and each read
//! is audited. The transport fund and employer contributions are managed by programme admins
//! and seen by the coordinators of their region.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sqlx::PgConnection;
use uuid::Uuid;

use super::db::{self, ChargeOutcome};
use super::{
    Balance, FundingKind, FundingSource, LedgerEntry, NewCharge, NewCorrection, NewFundingSource,
};
use crate::audit::record_case_accesses;
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::AppJson;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/funding-sources", post(create_source))
        .route("/api/funding-sources/{id}", get(get_balance))
        .route("/api/funding-sources/{id}/ledger", get(get_ledger))
        .route("/api/funding-sources/{id}/charges", post(create_charge))
        .route(
            "/api/funding-sources/{id}/corrections",
            post(create_correction),
        )
        .route("/api/cases/{case_id}/budgets", get(case_budgets))
}

/// Audits a read of a person's budget against each of the person's cases.
async fn audit_person(
    conn: &mut PgConnection,
    staff: &Staff,
    person_id: Uuid,
    purpose: &str,
) -> AppResult<()> {
    let cases: Vec<(String, Uuid)> =
        sqlx::query_as("select region_code, case_id from care_case where person_id = $1")
            .bind(person_id)
            .fetch_all(&mut *conn)
            .await?;
    record_case_accesses(conn, staff, &cases, purpose).await?;
    Ok(())
}

/// Loads a source the caller may see; for an integration budget, audits the read.
async fn visible_source(
    conn: &mut PgConnection,
    staff: &Staff,
    id: Uuid,
    purpose: &str,
) -> AppResult<FundingSource> {
    let src = db::source(conn, id)
        .await?
        .ok_or(AppError::NotFound("funding source"))?;
    if src.kind == FundingKind::IntegrationBudget {
        let polo = staff
            .case_polo()
            .map_err(|_| AppError::NotFound("funding source"))?;
        if db::budget_polo(conn, &src).await? != Some(polo) {
            return Err(AppError::NotFound("funding source"));
        }
        audit_person(
            conn,
            staff,
            src.person_id.expect("a budget has a person"),
            purpose,
        )
        .await?;
    } else {
        staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
        staff.require_region("region_code", &src.region_code)?;
    }
    Ok(src)
}

async fn create_source(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewFundingSource>,
) -> AppResult<(StatusCode, Json<Balance>)> {
    let mut tx = state.db.begin().await?;
    let rules = db::programme_rules(&mut tx).await?;
    let valid = body.validate(&rules)?;
    if valid.new.kind == FundingKind::IntegrationBudget {
        let polo = staff.case_polo()?;
        let person = valid.new.person_id.expect("validated");
        let person_polo: Option<(Uuid, String)> =
            sqlx::query_as("select polo_id, region_code from person where person_id = $1")
                .bind(person)
                .fetch_optional(&mut *tx)
                .await?;
        match person_polo {
            Some((p, region)) if p == polo && region == valid.new.region_code => {}
            _ => {
                return Err(AppError::invalid(
                    "person_id",
                    "no person with this id at your Polo in this region",
                ))
            }
        }
        audit_person(&mut tx, &staff, person, "budget created").await?;
    } else {
        staff.require(&[Role::ProgrammeAdmin])?;
        staff.require_region("region_code", &valid.new.region_code)?;
    }
    let src = db::insert_source(&mut tx, &valid).await?;
    let balance = db::balance(&mut tx, src).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(balance)))
}

async fn get_balance(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Balance>> {
    let mut tx = state.db.begin().await?;
    let src = visible_source(&mut tx, &staff, id, "budget balance").await?;
    let balance = db::balance(&mut tx, src).await?;
    tx.commit().await?;
    Ok(Json(balance))
}

async fn get_ledger(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<LedgerEntry>>> {
    let mut tx = state.db.begin().await?;
    visible_source(&mut tx, &staff, id, "budget ledger").await?;
    let entries = db::ledger(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(entries))
}

async fn create_charge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<NewCharge>,
) -> AppResult<(StatusCode, Json<LedgerEntry>)> {
    staff.require(&[
        Role::ProgrammeAdmin,
        Role::PoloCoordinator,
        Role::CaseWorker,
    ])?;
    let mut tx = state.db.begin().await?;
    visible_source(&mut tx, &staff, id, "charge").await?;
    let outcome = db::charge(&mut tx, id, &body, Some(staff.staff_id)).await?;
    tx.commit().await?;
    Ok(match outcome {
        ChargeOutcome::Written(e) => (StatusCode::CREATED, Json(e)),
        ChargeOutcome::AlreadyWritten(e) => (StatusCode::OK, Json(e)),
    })
}

async fn create_correction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<NewCorrection>,
) -> AppResult<(StatusCode, Json<LedgerEntry>)> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    let mut tx = state.db.begin().await?;
    visible_source(&mut tx, &staff, id, "correction").await?;
    let entry = db::correct(&mut tx, id, &body, Some(staff.staff_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

async fn case_budgets(
    State(state): State<AppState>,
    staff: Staff,
    Path(case_id): Path<Uuid>,
) -> AppResult<Json<Vec<Balance>>> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let case = crate::cases::db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    crate::audit::record_case_access(&mut tx, &staff, &case.region_code, case_id, "budgets")
        .await?;
    let mut out = Vec::new();
    for src in db::sources_of_person(&mut tx, case.person_id).await? {
        out.push(db::balance(&mut tx, src).await?);
    }
    tx.commit().await?;
    Ok(Json(out))
}
