//! Routes of the driver API (`/driver/api/*`, the only routes the driver app calls) and the
//! coordinators' view of a run's latest position (`/api/runs/{run_id}/position`).
//!
//! Refusals: a login that is not a driver → 403; a run that is not the caller's (another
//! driver's, or unknown) → 404, so a driver cannot even learn that a run id exists; a manifest
//! of a run that is not today's (Europe/Rome) → 404 as well: rider names are shown on the day only.

use axum::extract::{FromRequest, Request, State};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::fleet::db::{self as fleet_db, DriverRef};
use crate::runs::driving::db::{self, LatestPosition, ManifestRow, RunHeader};
use crate::runs::driving::upload::{self, UploadResult};
use crate::runs::driving::{EventBatch, PositionBatch, RunStatus, StopKind, StopStatus};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_runs))
        .routes(routes!(my_manifest))
        .routes(routes!(my_manifest_version))
        .routes(routes!(post_events))
        .routes(routes!(post_positions))
        .routes(routes!(run_position))
}

/// A JSON body read with [`AppJson`], whose error names array elements with dots
/// (`events.3.kind`, as every 422 of the API does) rather than serde's `events[3].kind`.
struct Batch<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Batch<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match AppJson::<T>::from_request(req, state).await {
            Ok(AppJson(t)) => Ok(Self(t)),
            Err(AppError::Validation { field, message }) => {
                Err(AppError::invalid(dotted(&field), message))
            }
            Err(e) => Err(e),
        }
    }
}

/// `events[3].kind` → `events.3.kind`.
fn dotted(field: &str) -> String {
    field.replace('[', ".").replace(']', "")
}

/// The driver behind the caller's login: 403 for other roles or an unlinked login.
async fn me_as_driver(state: &AppState, staff: &Staff) -> AppResult<DriverRef> {
    staff.require(&[Role::Driver])?;
    let mut conn = state.db.acquire().await?;
    fleet_db::driver_of_staff(&mut conn, staff.staff_id)
        .await?
        .ok_or_else(|| AppError::Forbidden("this login is not linked to a driver".into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DayQuery {
    date: Option<NaiveDate>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MyRuns {
    date: NaiveDate,
    runs: Vec<RunHeader>,
}

#[utoipa::path(get, path = "/driver/api/runs", tag = "driver", params(DayQuery), responses((status = 200, body = MyRuns)))]
async fn my_runs(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<DayQuery>,
) -> AppResult<Json<MyRuns>> {
    let driver = me_as_driver(&state, &staff).await?;
    let mut conn = state.db.acquire().await?;
    let date = match q.date {
        Some(d) => d,
        None => crate::service_day::day_of(state.now()),
    };
    let runs = db::runs_of_driver(&mut conn, driver.driver_id, date).await?;
    Ok(Json(MyRuns { date, runs }))
}

/// The manifest: the run and its stops, with per rider only what the run needs.
#[derive(Serialize, utoipa::ToSchema)]
struct Manifest {
    #[serde(flatten)]
    run: RunHeader,
    stops: Vec<DriverStop>,
    /// The driver's breaks (45 minutes, nobody on board), each after the stop `after_seq`.
    breaks: Vec<crate::runs::db::BreakView>,
    /// The fingerprint `GET .../version` answers: poll it, fetch the manifest when it changes.
    version: String,
    /// How long to wait at a pickup after arriving before a no-show (programme configuration).
    no_show_wait_seconds: i32,
    /// How long after an arrival or a boarding its undo is accepted.
    undo_window_seconds: i64,
    /// The notes a driver may send (`kind: note`), by code.
    notes: &'static [&'static str],
    /// The path through the stops in order, for the map.
    route: super::route::RouteGeometry,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DriverStop {
    seq: i32,
    /// Stable across re-plans: the phone should report events with it.
    stop_key: Uuid,
    kind: StopKind,
    status: StopStatus,
    planned_arrival: DateTime<Utc>,
    planned_departure: DateTime<Utc>,
    actual_arrival: Option<DateTime<Utc>>,
    place_name: Option<String>,
    meeting_point_name: Option<String>,
    landmark: Option<String>,
    lon: f64,
    lat: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rider: Option<DriverRider>,
    /// Seats free when the vehicle reaches this stop, as planned (riders who did not show up
    /// or were cancelled leave their seats free).
    free_seats: i64,
    /// Wheelchair places free when the vehicle reaches this stop, as planned.
    free_wheelchair_places: i64,
}

/// Fills `free_seats` and `free_wheelchair_places` of each stop: what the vehicle holds less
/// who is planned to be on board on arrival (a wheelchair user takes a wheelchair place, their
/// companions take seats).
fn fill_free_places(stops: &mut [DriverStop], seats: i16, wheelchair_places: i16) {
    let (mut seated, mut wheelchairs) = (0_i64, 0_i64);
    for s in stops {
        s.free_seats = i64::from(seats) - seated;
        s.free_wheelchair_places = i64::from(wheelchair_places) - wheelchairs;
        let Some(r) = &s.rider else { continue };
        if matches!(r.status.as_str(), "no_show" | "cancelled") {
            continue;
        }
        let sign = match s.kind {
            StopKind::Pickup => 1,
            StopKind::Dropoff => -1,
            _ => 0,
        };
        seated += sign * (i64::from(r.passengers) - i64::from(r.wheelchair));
        wheelchairs += sign * i64::from(r.wheelchair);
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct DriverRider {
    known_as: String,
    passengers: i16,
    wheelchair: bool,
    languages: Vec<String>,
    status: String,
    /// The same on the rider's pickup and drop-off of this run, and nowhere else.
    ride_key: Option<Uuid>,
}

impl From<ManifestRow> for DriverStop {
    fn from(r: ManifestRow) -> Self {
        let rider = r.known_as.map(|known_as| DriverRider {
            known_as,
            passengers: r.passengers.unwrap_or(1),
            wheelchair: r.wheelchair.unwrap_or(false),
            languages: r.languages.unwrap_or_default(),
            status: r.rider_status.unwrap_or_else(|| "expected".into()),
            ride_key: r.ride_key,
        });
        Self {
            seq: r.seq,
            stop_key: r.stop_key,
            kind: r.kind,
            status: r.status,
            planned_arrival: r.planned_arrival,
            planned_departure: r.planned_departure,
            actual_arrival: r.actual_arrival,
            place_name: r.place_name,
            meeting_point_name: r.meeting_point_name,
            landmark: r.landmark,
            lon: r.lon,
            lat: r.lat,
            rider,
            free_seats: 0,
            free_wheelchair_places: 0,
        }
    }
}

#[utoipa::path(get, path = "/driver/api/runs/{run_id}", tag = "driver", responses((status = 200, body = Manifest)), params(("run_id" = Uuid, Path)))]
async fn my_manifest(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(run_id): AppPath<Uuid>,
) -> AppResult<Json<Manifest>> {
    let driver = me_as_driver(&state, &staff).await?;
    let mut tx = state.db.begin().await?;
    let run = db::run_of_driver(&mut tx, driver.driver_id, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    if run.service_date != crate::service_day::day_of(state.now())
        || run.status == RunStatus::Cancelled
    {
        return Err(AppError::NotFound("run"));
    }
    let mut stops: Vec<DriverStop> = db::manifest(&mut tx, run_id)
        .await?
        .into_iter()
        .map(DriverStop::from)
        .collect();
    fill_free_places(&mut stops, run.seats, run.wheelchair_places);
    let breaks = crate::runs::db::breaks_of(&mut tx, run_id).await?;
    let version = db::manifest_version(&mut tx, driver.driver_id, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    let no_show_wait_seconds = db::no_show_wait_seconds(&mut tx).await?;
    if run.status == RunStatus::Completed {
        // The driver's access to the riders' names ends with the run.
        for s in &mut stops {
            s.rider = None;
        }
    } else {
        // Names are case data: the driver's read is audited for each rider's case.
        let cases = db::manifest_cases(&mut tx, run_id).await?;
        crate::audit::record_case_accesses(&mut tx, &staff, &cases, "driver manifest").await?;
    }
    tx.commit().await?;
    // After the commit: no pooled connection is held while the provider answers.
    let points: Vec<(f64, f64)> = stops.iter().map(|s| (s.lon, s.lat)).collect();
    let route = super::route::route_through(&state, &points).await;
    Ok(Json(Manifest {
        run,
        stops,
        breaks,
        version,
        no_show_wait_seconds,
        undo_window_seconds: crate::runs::driving::UNDO_WINDOW.num_seconds(),
        notes: crate::runs::driving::NOTES,
        route,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ManifestVersion {
    run_id: Uuid,
    version: String,
}

/// The manifest's fingerprint, read without any rider's name (so without an audit entry): the
/// phone polls it every few seconds to learn of a dispatcher's change.
#[utoipa::path(get, path = "/driver/api/runs/{run_id}/version", tag = "driver", params(("run_id" = Uuid, Path)), responses((status = 200, body = ManifestVersion)))]
async fn my_manifest_version(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(run_id): AppPath<Uuid>,
) -> AppResult<Json<ManifestVersion>> {
    let driver = me_as_driver(&state, &staff).await?;
    let mut conn = state.db.acquire().await?;
    let version = db::manifest_version(&mut conn, driver.driver_id, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    Ok(Json(ManifestVersion { run_id, version }))
}

/// Attempts at an upload that lost a deadlock or serialization race (the live planner and
/// cancellations touch the same rows); the upload is idempotent, so trying again is safe.
const UPLOAD_ATTEMPTS: usize = 3;

fn is_transient(e: &AppError) -> bool {
    matches!(e, AppError::Sqlx(sqlx::Error::Database(d))
        if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

#[utoipa::path(post, path = "/driver/api/runs/{run_id}/events", tag = "driver", request_body = EventBatch, responses((status = 200, body = UploadResult)), params(("run_id" = Uuid, Path)))]
async fn post_events(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(run_id): AppPath<Uuid>,
    Batch(batch): Batch<EventBatch>,
) -> AppResult<Json<UploadResult>> {
    let driver = me_as_driver(&state, &staff).await?;
    let mut attempt = 1;
    let result = loop {
        let mut tx = state.db.begin().await?;
        match upload::upload_events(&mut tx, &driver, run_id, &batch, state.now()).await {
            Ok(r) => {
                tx.commit().await?;
                break r;
            }
            Err(e) if is_transient(&e) && attempt < UPLOAD_ATTEMPTS => {
                tracing::info!(run_id = %run_id, attempt, error = %e, "driver upload retried");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    if result.retime {
        // A no-show or a late vehicle moves the rest of the run: re-time its pending stops
        // (the live planner's rule), in the background: the upload is already safely stored,
        // and the phone should not wait for travel times (OSRM can be slow) to hear so.
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::runs::live::retime_run(&state, run_id.into()).await {
                tracing::warn!(run_id = %run_id, error = %e, "re-timing a run after a driver upload failed");
            }
        });
    }
    Ok(Json(result))
}

#[derive(Serialize, utoipa::ToSchema)]
struct PositionsResult {
    accepted: usize,
    duplicates: Vec<Uuid>,
}

#[utoipa::path(post, path = "/driver/api/runs/{run_id}/positions", tag = "driver", request_body = PositionBatch, responses((status = 200, body = PositionsResult)), params(("run_id" = Uuid, Path)))]
async fn post_positions(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(run_id): AppPath<Uuid>,
    Batch(batch): Batch<PositionBatch>,
) -> AppResult<Json<PositionsResult>> {
    let driver = me_as_driver(&state, &staff).await?;
    batch.validate(state.now())?;
    let mut tx = state.db.begin().await?;
    let (status, service_date) = db::lock_run(&mut tx, driver.driver_id, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    db::require_not_cancelled(status)?;
    db::require_started(service_date, state.now())?;
    let mut result = PositionsResult {
        accepted: 0,
        duplicates: Vec::new(),
    };
    for p in &batch.positions {
        if db::insert_position(&mut tx, &driver, run_id, p).await? {
            result.accepted += 1;
        } else {
            result.duplicates.push(p.client_event_id);
        }
    }
    tx.commit().await?;
    Ok(Json(result))
}

#[derive(Serialize, utoipa::ToSchema)]
struct RunPosition {
    run_id: Uuid,
    status: RunStatus,
    vehicle_label: String,
    position: Option<LatestPosition>,
}

#[utoipa::path(get, path = "/api/runs/{run_id}/position", tag = "driver", responses((status = 200, body = RunPosition)), params(("run_id" = Uuid, Path)))]
async fn run_position(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(run_id): AppPath<Uuid>,
) -> AppResult<Json<RunPosition>> {
    staff.require(&[Role::PoloCoordinator])?;
    let polo = staff.case_polo()?;
    let mut conn = state.db.acquire().await?;
    let region = crate::places::db::polo_region(&mut conn, polo)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    let (status, vehicle_label, position) = db::latest_position(&mut conn, &region, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    Ok(Json(RunPosition {
        run_id,
        status,
        vehicle_label,
        position,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn array_indexes_are_named_with_dots() {
        assert_eq!(super::dotted("events[3].kind"), "events.3.kind");
        assert_eq!(super::dotted("body"), "body");
    }
}
