//! Booking on behalf: find a person of the Polo by name or case code, book transport for an
//! appointment (outbound and return), see the promised times (print or copy them), cancel,
//! move a request to another run with the feasibility answer shown, correct a mistaken
//! no-show; a case's mobility (rides taken and missed, cost, what is left of each budget area,
//! as a table and a server-drawn chart) and, for the coordinator, the case's access log.
//!
//! Every read goes through the function the API uses, so it is scoped and audited the same
//! way: another Polo's person is not found, whether searched, listed or typed in the URL.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::Extension;
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{base, page, Assets, Scope};
use crate::bookings::http::NewAppointment;
use crate::bookings::Endpoint;
use crate::error::{AppError, AppResult};
use crate::pages::{self, Ui};
use crate::places::PlaceKind;
use crate::state::{AppState, LiveOutcome};

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn search_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Query(q): Query<SearchQuery>,
) -> Response {
    let r = async {
        let needle = q.q.trim();
        let found = if needle.is_empty() {
            Vec::new()
        } else {
            let mut tx = state.db.begin().await?;
            let found = crate::cases::db::search_of_polo(&mut tx, scope.polo, needle).await?;
            let cases: Vec<(String, Uuid)> = found
                .iter()
                .map(|c| (c.region_code.clone(), c.case_id))
                .collect();
            crate::audit::record_case_accesses(&mut tx, &scope.staff, &cases, "console search")
                .await?;
            tx.commit().await?;
            found
        };
        Ok(state.pages.render(
            &ui,
            "console/book.html",
            minijinja::context! {
                q => needle,
                searched => !needle.is_empty(),
                found => found,
                ..base(Some(&scope), &assets, "book")
            },
        ))
    }
    .await;
    page(&state, &ui, r)
}

#[derive(Deserialize, Default)]
pub(crate) struct PersonQuery {
    #[serde(default)]
    error: Option<String>,
}

/// A budget area's share as a bar of the server-drawn chart.
#[derive(Serialize)]
struct Bar {
    label: String,
    spent_cents: i64,
    left_cents: i64,
    spent_w: i64,
    left_w: i64,
}

fn bars(rides: &serde_json::Value) -> Vec<Bar> {
    const WIDTH: i64 = 360;
    let mut out = Vec::new();
    for b in rides["summary"]["budgets"].as_array().into_iter().flatten() {
        for a in b["areas"].as_array().into_iter().flatten() {
            let left = a["remaining_cents"].as_i64().unwrap_or(0).max(0);
            let spent = a["spent_cents"].as_i64().unwrap_or(0).max(0);
            let total = (spent + left).max(1);
            out.push(Bar {
                label: a["area"].as_str().unwrap_or_default().to_owned(),
                spent_cents: spent,
                left_cents: left,
                spent_w: spent * WIDTH / total,
                left_w: left * WIDTH / total,
            });
        }
    }
    out
}

pub(crate) async fn person_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Path(case_id): Path<String>,
    Query(q): Query<PersonQuery>,
) -> Response {
    let r = person_body(&state, &ui, &assets, &scope, &case_id, q).await;
    page(&state, &ui, r)
}

fn parse_id(s: &str, what: &'static str) -> AppResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| AppError::NotFound(what))
}

async fn person_body(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    case_id: &str,
    q: PersonQuery,
) -> AppResult<Response> {
    let case_id = parse_id(case_id, "case")?;
    let case = crate::cases::http::case_as(state, &scope.staff, case_id, "console person").await?;
    let rides = crate::rides::http::case_rides_as(state, &scope.staff, case_id).await?;
    let rides = serde_json::to_value(&rides).map_err(anyhow::Error::from)?;
    let log = if scope.coordinator() {
        crate::cases::http::access_log_as(state, &scope.staff, case_id).await?
    } else {
        Vec::new()
    };
    let mut conn = state.db.acquire().await?;
    let offices: Vec<_> = crate::places::db::list_places(&mut conn, &scope.region, None)
        .await?
        .into_iter()
        .filter(|p| {
            !matches!(
                p.kind,
                PlaceKind::Settlement | PlaceKind::Farm | PlaceKind::PackingHouse
            )
        })
        .collect();
    let points = crate::places::db::meeting_points_of_region(&mut conn, &scope.region).await?;
    drop(conn);
    let tomorrow = crate::service_day::day_of(state.now()).succ_opt();
    Ok(state.pages.render(
        ui,
        "console/person.html",
        minijinja::context! {
            case => case,
            bars => bars(&rides),
            rides => rides,
            log => log,
            offices => offices,
            points => points,
            default_date => tomorrow.map(|d| d.to_string()),
            error => q.error,
            ..base(Some(scope), assets, "book")
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct AppointmentForm {
    place_id: Uuid,
    date: NaiveDate,
    starts: NaiveTime,
    ends: NaiveTime,
    description: String,
    meeting_point_id: Uuid,
    #[serde(default)]
    return_ride: Option<String>,
}

/// Books an appointment's transport through the API's own function, then shows its requests.
pub(crate) async fn book_appointment(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(case_id): Path<String>,
    Form(f): Form<AppointmentForm>,
) -> Response {
    let r = async {
        let case_id = parse_id(&case_id, "case")?;
        let body = NewAppointment {
            case_id,
            place_id: f.place_id,
            starts_at: crate::service_day::local_instant(f.date, f.starts),
            ends_at: crate::service_day::local_instant(f.date, f.ends),
            description: f.description,
            from: Endpoint {
                place_id: None,
                meeting_point_id: Some(f.meeting_point_id),
                position: None,
            },
            return_ride: f.return_ride.is_some(),
        };
        match crate::bookings::http::book_appointment(&state, &scope.staff, &body).await {
            Ok(done) => Ok(pages::redirect_see_other(&format!(
                "/console/requests/{}?booked=1",
                done.outbound
            ))),
            // A refusal the person can act on goes back to the form, saying why.
            Err(e @ (AppError::Validation { .. } | AppError::Conflict { .. })) => {
                Ok(pages::redirect_see_other(&format!(
                    "/console/people/{case_id}?error={}",
                    urlencode(&e.to_string())
                )))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&state, &ui, r)
}

pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize, Default)]
pub(crate) struct RequestQuery {
    #[serde(default)]
    booked: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

pub(crate) async fn request_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Query<RequestQuery>,
) -> Response {
    let r = request_body(&state, &ui, &assets, &scope, &id, q).await;
    page(&state, &ui, r)
}

async fn request_body(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    id: &str,
    q: RequestQuery,
) -> AppResult<Response> {
    let id = parse_id(id, "ride request")?;
    let (request, history) =
        crate::bookings::http::request_as(state, &scope.staff, id, "console request").await?;
    // The appointment's other ride (outbound and return are shown together).
    let mut siblings = Vec::new();
    let mut conn = state.db.acquire().await?;
    if let Some(appointment) = request.appointment_id {
        for r in
            crate::bookings::db::list_for_day(&mut conn, scope.polo, request.service_date).await?
        {
            if r.appointment_id == Some(appointment) && r.ride_request_id != id {
                siblings.push(r);
            }
        }
    }
    // Runs of the day to move the request to (coordinators).
    let today = crate::service_day::day_of(state.now());
    let runs = if scope.coordinator() && !request.status.is_final() && request.service_date == today
    {
        crate::runs::db::runs_of_day(&mut conn, &scope.region, request.service_date)
            .await?
            .into_iter()
            // Only the runs a request can be moved onto (not work lines, not finished).
            .filter(|r| {
                Some(r.run_id) != request.run_id
                    && r.line_id.is_none()
                    && matches!(
                        r.status,
                        crate::runs::RunStatus::Planned | crate::runs::RunStatus::InProgress
                    )
            })
            .map(|r| {
                minijinja::context! {
                    run_id => r.run_id,
                    label => r.vehicle_label,
                    stops => r.stops.len(),
                    line => r.line_id.is_some(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    drop(conn);
    Ok(state.pages.render(
        ui,
        "console/request.html",
        minijinja::context! {
            request => request,
            history => history,
            siblings => siblings,
            runs => runs,
            booked => q.booked.is_some(),
            outcome => q.outcome,
            detail => q.detail,
            error => q.error,
            ..base(Some(scope), assets, "book")
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    reason: String,
}

fn back_to(id: Uuid, params: &str) -> Response {
    pages::redirect_see_other(&format!("/console/requests/{id}?{params}"))
}

/// An error the coordinator can act on is shown on the request's page; others are error pages.
fn on_request(id: Uuid, r: AppResult<Response>) -> AppResult<Response> {
    match r {
        Err(e @ (AppError::Validation { .. } | AppError::Conflict { .. })) => {
            Ok(back_to(id, &format!("error={}", urlencode(&e.to_string()))))
        }
        other => other,
    }
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Response {
    with_reason(&state, &ui, &id, "outcome=cancelled", |id| {
        let (state, staff, reason) = (&state, &scope.staff, &f.reason);
        async move {
            crate::bookings::http::cancel_request(state, staff, id, reason)
                .await
                .map(|_| ())
        }
    })
    .await
}

/// A form that acts on a request with a reason: back to the request with `outcome`, or with
/// the refusal's message.
async fn with_reason<F, Fut>(state: &AppState, ui: &Ui, id: &str, outcome: &str, act: F) -> Response
where
    F: FnOnce(Uuid) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let r = async {
        let id = parse_id(id, "ride request")?;
        on_request(id, act(id).await.map(|()| back_to(id, outcome)))
    }
    .await;
    page(state, ui, r)
}

#[derive(Deserialize)]
pub(crate) struct MoveForm {
    run_id: Uuid,
}

/// Moves a request to another run and shows the feasibility answer: moved with the new
/// pickup time, or not, with the reason.
pub(crate) async fn move_request(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let r = async {
        let id = parse_id(&id, "ride request")?;
        let answer = crate::runs::http::move_request_as(&state, &scope.staff, id, f.run_id).await;
        let params = match answer {
            Ok(LiveOutcome::Confirmed { pickup_at, .. }) => format!(
                "outcome=moved&detail={}",
                urlencode(
                    &crate::service_day::local(pickup_at)
                        .format("%H:%M")
                        .to_string()
                )
            ),
            Ok(LiveOutcome::Refused { reason, .. } | LiveOutcome::Queued { reason, .. }) => {
                format!("outcome=not_moved&detail={}", urlencode(&reason))
            }
            // The run cannot take it: the API's 409 names why.
            Err(e @ AppError::Conflict { .. }) => {
                format!("outcome=not_moved&detail={}", urlencode(&e.to_string()))
            }
            Err(e) => return on_request(id, Err(e)),
        };
        Ok(back_to(id, &params))
    }
    .await;
    page(&state, &ui, r)
}

/// Corrects a mistaken no-show through the API's own function (recorded with who and why; the
/// ledger follows by new entries).
pub(crate) async fn correct_no_show(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Response {
    with_reason(&state, &ui, &id, "outcome=corrected", |id| {
        let (state, staff, reason) = (&state, &scope.staff, &f.reason);
        async move {
            crate::rides::http::correct_no_show_as(state, staff, id, reason)
                .await
                .map(|_| ())
        }
    })
    .await
}
