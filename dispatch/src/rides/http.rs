//! `GET /api/cases/{case_id}/rides`: a case's rides for the staff of its Polo: the timeline of
//! its requests (status history, ride outcome, times, cost, who paid) and a summary (rides
//! taken, missed, cost, what is left of each budget area). Every read is audited.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::db::{self, CaseRideRow, StatusChange};
use super::RideOutcome;
use crate::auth::Staff;
use crate::bookings::{RidePurpose, RideStatus};
use crate::budgets::{AreaBalance, Balance};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(case_rides))
        .routes(routes!(correct_no_show))
}

/// A case's rides as its Polo sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseRides {
    case_id: Uuid,
    summary: Summary,
    timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    rides_taken: usize,
    rides_missed: usize,
    /// Cost of the case's rides, cents, paid or not (a missed ride costs nothing unless the
    /// programme charges no-shows).
    cost_cents: i64,
    /// Cost that no funding source could pay, cents.
    unfunded_cents: i64,
    budgets: Vec<BudgetLeft>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetLeft {
    funding_source_id: Uuid,
    name: String,
    period_start: NaiveDate,
    period_end: NaiveDate,
    remaining_cents: i64,
    areas: Vec<AreaBalance>,
}

impl From<Balance> for BudgetLeft {
    fn from(b: Balance) -> Self {
        Self {
            funding_source_id: b.source.funding_source_id,
            name: b.source.name,
            period_start: b.source.period_start,
            period_end: b.source.period_end,
            remaining_cents: b.remaining_cents,
            areas: b.areas,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    ride_request_id: Uuid,
    purpose: RidePurpose,
    service_date: NaiveDate,
    status: RideStatus,
    pickup_place_name: String,
    dropoff_place_name: String,
    earliest_pickup: Option<DateTime<Utc>>,
    latest_arrival: Option<DateTime<Utc>>,
    promised_pickup_at: Option<DateTime<Utc>>,
    history: Vec<HistoryEntry>,
    ride: Option<RideView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    status: RideStatus,
    reason: Option<String>,
    changed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RideView {
    outcome: RideOutcome,
    picked_up_at: Option<DateTime<Utc>>,
    dropped_off_at: Option<DateTime<Utc>>,
    distance_m: i32,
    cost_cents: i64,
    funded: bool,
    funding_source_id: Option<Uuid>,
    funding_source_name: Option<String>,
}

fn timeline(rows: Vec<CaseRideRow>, history: &[StatusChange]) -> Vec<TimelineEntry> {
    rows.into_iter()
        .map(|r| {
            let ride = r.outcome.map(|outcome| {
                let cost_cents = r.cost_cents.unwrap_or(0);
                RideView {
                    outcome,
                    picked_up_at: r.picked_up_at,
                    dropped_off_at: r.dropped_off_at,
                    distance_m: r.distance_m.unwrap_or(0),
                    cost_cents,
                    funded: cost_cents == 0 || r.funding_source_id.is_some(),
                    funding_source_id: r.funding_source_id,
                    funding_source_name: r.funding_source_name,
                }
            });
            TimelineEntry {
                history: history
                    .iter()
                    .filter(|h| h.ride_request_id == r.ride_request_id)
                    .map(|h| HistoryEntry {
                        status: h.status,
                        reason: h.reason.clone(),
                        changed_at: h.changed_at,
                    })
                    .collect(),
                ride_request_id: r.ride_request_id,
                purpose: r.purpose,
                service_date: r.service_date,
                status: r.status,
                pickup_place_name: r.pickup_place_name,
                dropoff_place_name: r.dropoff_place_name,
                earliest_pickup: r.earliest_pickup,
                latest_arrival: r.latest_arrival,
                promised_pickup_at: r.promised_pickup_at,
                ride,
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/cases/{case_id}/rides", tag = "rides", responses((status = 200, body = CaseRides)), params(("case_id" = Uuid, Path)))]
async fn case_rides(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(case_id): AppPath<Uuid>,
) -> AppResult<Json<CaseRides>> {
    Ok(Json(case_rides_as(&state, &staff, case_id).await?))
}

/// A case's rides, costs and what is left of its budgets, for the staff of its Polo (audited):
/// the rule behind `GET /api/cases/{case_id}/rides`, shared with the console.
///
/// # Errors
/// Forbidden for staff of no Polo; not found for another Polo's case.
pub async fn case_rides_as(state: &AppState, staff: &Staff, case_id: Uuid) -> AppResult<CaseRides> {
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    let case = crate::cases::db::case_of_polo(&mut tx, polo, case_id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    crate::audit::record_case_access(&mut tx, staff, &case.region_code, case_id, "rides").await?;
    let rows = db::rides_of_case(&mut tx, case_id).await?;
    let history = db::status_history_of_case(&mut tx, case_id).await?;
    let mut budgets = Vec::new();
    for src in crate::budgets::db::sources_of_person(&mut tx, case.person_id).await? {
        budgets.push(BudgetLeft::from(
            crate::budgets::db::balance(&mut tx, src).await?,
        ));
    }
    tx.commit().await?;
    let timeline = timeline(rows, &history);
    let rides = || timeline.iter().filter_map(|t| t.ride.as_ref());
    let summary = Summary {
        rides_taken: rides()
            .filter(|r| r.outcome == RideOutcome::Completed)
            .count(),
        rides_missed: rides().filter(|r| r.outcome == RideOutcome::NoShow).count(),
        cost_cents: rides().map(|r| r.cost_cents).sum(),
        unfunded_cents: rides().filter(|r| !r.funded).map(|r| r.cost_cents).sum(),
        budgets,
    };
    Ok(CaseRides {
        case_id,
        summary,
        timeline,
    })
}

/// Why a no-show is being corrected.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoShowCorrectionBody {
    /// Why (e.g. "the driver marked the wrong rider"); recorded with who corrected.
    pub reason: String,
}

/// Corrects a mistaken no-show of a request of the caller's Polo (its coordinator only): the
/// rider did travel. The request becomes completed, the correction is recorded with who and
/// why, and the ledger follows by new entries (the ride's charge; a refund of a no-show
/// charge), never by changing old ones. 409 `not_a_no_show`, `already_corrected`.
#[utoipa::path(post, path = "/api/ride-requests/{id}/no-show-correction", tag = "rides",
    request_body = NoShowCorrectionBody,
    responses((status = 200, body = db::NoShowCorrection)), params(("id" = Uuid, Path)))]
async fn correct_no_show(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<NoShowCorrectionBody>,
) -> AppResult<Json<db::NoShowCorrection>> {
    Ok(Json(
        correct_no_show_as(&state, &staff, id, &body.reason).await?,
    ))
}

/// The rule behind `POST /api/ride-requests/{id}/no-show-correction`, shared with the console:
/// the Polo's coordinator only; another Polo's request is not found.
///
/// # Errors
/// Forbidden, not found, validation and conflicts as the route documents.
pub async fn correct_no_show_as(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    reason: &str,
) -> AppResult<db::NoShowCorrection> {
    staff.require(&[crate::auth::Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let mut tx = state.db.begin().await?;
    crate::bookings::db::view(&mut tx, crate::bookings::db::Whose::Polo(polo), id)
        .await?
        .ok_or(AppError::NotFound("ride request"))?;
    let done = db::correct_no_show(&mut tx, id, reason, staff.staff_id).await?;
    tx.commit().await?;
    tracing::info!(staff = %staff.username, ride_request_id = %id, "no-show corrected");
    Ok(done)
}
