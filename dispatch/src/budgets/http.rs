//! HTTP routes for funding sources and the ledger.
//!
//! An integration budget is case data: only its person's Polo sees or charges it, and each read
//! is audited. The transport fund and employer contributions are managed by programme admins
//! and seen by the coordinators of their region: a coordinator charges them only for people of
//! their own Polo, corrects only those entries, and sees only those entries of the ledger.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sqlx::PgConnection;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::db::{self, ChargeOutcome};
use super::{
    Balance, FundingKind, FundingSource, LedgerEntry, NewCharge, NewCorrection, NewFundingSource,
};
use crate::audit::record_case_accesses;
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_source))
        .routes(routes!(get_balance))
        .routes(routes!(get_ledger))
        .routes(routes!(create_charge))
        .routes(routes!(create_correction))
        .routes(routes!(case_budgets))
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

#[utoipa::path(post, path = "/api/funding-sources", tag = "budgets", request_body = NewFundingSource, responses((status = 201, body = Balance)))]
async fn create_source(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewFundingSource>,
) -> AppResult<(StatusCode, Json<Balance>)> {
    // Who may open funds at all, before anything about the body is said.
    staff.require(&[
        Role::ProgrammeAdmin,
        Role::PoloCoordinator,
        Role::CaseWorker,
    ])?;
    let mut tx = state.db.begin().await?;
    let rules = db::programme_rules(&mut tx).await?;
    let valid = body.validate(&rules)?;
    if valid.new.kind == FundingKind::IntegrationBudget {
        let polo = staff.case_manager_polo()?;
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

#[utoipa::path(get, path = "/api/funding-sources/{id}", tag = "budgets", responses((status = 200, body = Balance)), params(("id" = Uuid, Path)))]
async fn get_balance(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<Balance>> {
    let mut tx = state.db.begin().await?;
    let src = visible_source(&mut tx, &staff, id, "budget balance").await?;
    let balance = db::balance(&mut tx, src).await?;
    tx.commit().await?;
    Ok(Json(balance))
}

#[utoipa::path(get, path = "/api/funding-sources/{id}/ledger", tag = "budgets", responses((status = 200, body = Vec<LedgerEntry>)), params(("id" = Uuid, Path)))]
async fn get_ledger(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
) -> AppResult<Json<Vec<LedgerEntry>>> {
    let mut tx = state.db.begin().await?;
    let src = visible_source(&mut tx, &staff, id, "budget ledger").await?;
    // A shared fund is drawn on by every Polo of the region: a coordinator sees the entries
    // of their own Polo's people only; the programme admin sees them all.
    let entries = match (src.kind, staff.role, staff.polo_id) {
        (FundingKind::IntegrationBudget, _, _) | (_, Role::ProgrammeAdmin, _) => {
            db::ledger(&mut tx, id).await?
        }
        (_, _, Some(polo)) => db::ledger_of_polo(&mut tx, id, polo).await?,
        _ => return Err(AppError::NotFound("funding source")),
    };
    tx.commit().await?;
    Ok(Json(entries))
}

/// Who a charge to this source may be for. An integration budget pays for its own person
/// only. A shared fund (the region's transport fund, an employer's contribution) pays for a
/// person who exists in its region, and a Polo's coordinator charges it only for the people of
/// their own Polo; the programme admin may also charge it without a person. Someone else's
/// person and a person who does not exist get the same answer, so ids cannot be probed.
async fn check_charge_person(
    conn: &mut PgConnection,
    staff: &Staff,
    src: &FundingSource,
    person: Option<Uuid>,
) -> AppResult<()> {
    if src.kind == FundingKind::IntegrationBudget {
        return match person {
            Some(p) if Some(p) != src.person_id => Err(AppError::invalid(
                "person_id",
                "an integration budget pays for its own person only",
            )),
            _ => Ok(()),
        };
    }
    let own_polo = match staff.role {
        Role::ProgrammeAdmin => None,
        _ => Some(staff.case_polo()?),
    };
    let Some(person) = person else {
        return match own_polo {
            None => Ok(()),
            Some(_) => Err(AppError::invalid(
                "person_id",
                "a charge to a shared fund names the person of your Polo it is for",
            )),
        };
    };
    let found = db::person_polo(conn, person).await?;
    let allowed = match (&found, own_polo) {
        (Some((_, region)), None) => *region == src.region_code,
        (Some((polo, region)), Some(own)) => *polo == own && *region == src.region_code,
        (None, _) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::invalid(
            "person_id",
            match own_polo {
                Some(_) => "no person with this id at your Polo in this fund's region",
                None => "no person with this id in this fund's region",
            },
        ))
    }
}

#[utoipa::path(post, path = "/api/funding-sources/{id}/charges", tag = "budgets", request_body = NewCharge, responses((status = 201, body = LedgerEntry), (status = 200, description = "A charge with this `external_ref` was written before: that entry", body = LedgerEntry)), params(("id" = Uuid, Path)))]
async fn create_charge(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<NewCharge>,
) -> AppResult<(StatusCode, Json<LedgerEntry>)> {
    staff.require(&[
        Role::ProgrammeAdmin,
        Role::PoloCoordinator,
        Role::CaseWorker,
    ])?;
    let mut tx = state.db.begin().await?;
    let src = visible_source(&mut tx, &staff, id, "charge").await?;
    check_charge_person(&mut tx, &staff, &src, body.person_id).await?;
    let outcome = db::charge(&mut tx, id, &body, Some(staff.staff_id)).await?;
    tx.commit().await?;
    Ok(match outcome {
        ChargeOutcome::Written(e) => (StatusCode::CREATED, Json(e)),
        ChargeOutcome::AlreadyWritten(e) => (StatusCode::OK, Json(e)),
    })
}

#[utoipa::path(post, path = "/api/funding-sources/{id}/corrections", tag = "budgets", request_body = NewCorrection, responses((status = 201, body = LedgerEntry)), params(("id" = Uuid, Path)))]
async fn create_correction(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<NewCorrection>,
) -> AppResult<(StatusCode, Json<LedgerEntry>)> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    let mut tx = state.db.begin().await?;
    let src = visible_source(&mut tx, &staff, id, "correction").await?;
    if src.kind != FundingKind::IntegrationBudget && staff.role != Role::ProgrammeAdmin {
        // A coordinator corrects the entries of their own Polo's people only (the others are
        // not theirs to see: the same answer as an entry that does not exist).
        let polo = staff.case_polo()?;
        let person = db::corrected_entry_person(&mut tx, id, body.corrects_entry_id).await?;
        let own = match person.flatten() {
            Some(p) => db::person_polo(&mut tx, p)
                .await?
                .is_some_and(|(pp, _)| pp == polo),
            None => false,
        };
        if !own {
            return Err(AppError::invalid(
                "corrects_entry_id",
                "no such entry in this source",
            ));
        }
    }
    let entry = db::correct(&mut tx, id, &body, Some(staff.staff_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[utoipa::path(get, path = "/api/cases/{case_id}/budgets", tag = "budgets", responses((status = 200, body = Vec<Balance>)), params(("case_id" = Uuid, Path)))]
async fn case_budgets(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
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
