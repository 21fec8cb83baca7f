//! The day at a glance: the Polo's requests of a day by status (planned, unserved with the
//! reason, in progress, done, no-show, cancelled), with filters, late runs, promises at
//! risk and drivers on their break flagged; beside them the map of the region's day
//! (coordinators), fed by `/console/day.json` and refreshed by the page every 15 s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{base, page, Assets, Scope};
use crate::auth::StaffPage;
use crate::bookings::{RideRequestView, RideStatus};
use crate::error::{AppError, AppResult};
use crate::pages::Ui;
use crate::runs::db::{BreakView, RunView};
use crate::runs::RunStatus;
use crate::state::AppState;

#[derive(Deserialize)]
pub(crate) struct DayQuery {
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
}

/// The status groups of the day's list, in the order shown.
pub(crate) const GROUPS: [&str; 6] = [
    "unserved",
    "planned",
    "in_progress",
    "done",
    "no_show",
    "cancelled",
];

/// A request as a row of the day's list.
#[derive(Serialize)]
struct Row {
    request: RideRequestView,
    group: &'static str,
    reason: Option<String>,
    vehicle: Option<String>,
    at_risk: bool,
}

fn group_of(r: &RideRequestView, runs: &HashMap<Uuid, &RunView>) -> &'static str {
    match r.status {
        RideStatus::Requested | RideStatus::Refused => "unserved",
        RideStatus::Planned | RideStatus::Confirmed => {
            match r.run_id.and_then(|id| runs.get(&id)).map(|run| run.status) {
                Some(RunStatus::InProgress) => "in_progress",
                _ => "planned",
            }
        }
        RideStatus::Completed => "done",
        RideStatus::NoShow => "no_show",
        RideStatus::Cancelled => "cancelled",
    }
}

/// Whether a run is late: a promise it can no longer keep, or an end after its driver's shift.
pub(crate) fn run_late(run: &RunView) -> bool {
    run.past_driver_shift || run.stops.iter().any(|s| s.promise_at_risk)
}

/// The break the driver of a run under way is on at `now`: one they reported starting and not
/// ending yet (until a quarter of an hour past its planned end: a forgotten "break over" does
/// not keep the van on a break all day), or else one planned around `now` that they have not
/// reported.
fn current_break(run: &RunView, now: DateTime<Utc>) -> Option<&BreakView> {
    if run.status != RunStatus::InProgress {
        return None;
    }
    let grace = chrono::Duration::minutes(15);
    run.breaks
        .iter()
        .find(|b| {
            b.started_at.is_some_and(|s| s <= now)
                && b.ended_at.is_none()
                && now < b.planned_end + grace
        })
        .or_else(|| {
            run.breaks
                .iter()
                .find(|b| b.started_at.is_none() && b.planned_start <= now && now < b.planned_end)
        })
}

pub(crate) fn day_of(state: &AppState, date: Option<NaiveDate>) -> NaiveDate {
    date.unwrap_or_else(|| crate::service_day::day_of(state.now()))
}

pub(crate) async fn day_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Query(q): Query<DayQuery>,
) -> Response {
    let r = day_body(&state, &ui, &assets, &scope, q).await;
    page(&state, &ui, r)
}

async fn day_body(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    q: DayQuery,
) -> AppResult<Response> {
    let date = day_of(state, q.date);
    let mut tx = state.db.begin().await?;
    // The same list and the same audit as `GET /api/ride-requests?date=`.
    let list = crate::bookings::db::list_for_day(&mut tx, scope.polo, date).await?;
    let cases: Vec<(String, Uuid)> = list
        .iter()
        .map(|r| (r.region_code.clone(), r.case_id))
        .collect();
    crate::audit::record_case_accesses(&mut tx, &scope.staff, &cases, "console day").await?;
    // Runs are the planners' (as `GET /api/runs`): coordinators see them and the map.
    let runs = if scope.coordinator() {
        crate::runs::db::runs_of_day(&mut tx, &scope.region, date).await?
    } else {
        Vec::new()
    };
    let unserved: HashMap<Uuid, String> =
        crate::runs::db::unserved_of_day(&mut tx, &scope.region, date)
            .await?
            .into_iter()
            .collect();
    tx.commit().await?;
    let by_id: HashMap<Uuid, &RunView> = runs.iter().map(|r| (r.run_id, r)).collect();
    let at_risk: std::collections::HashSet<Uuid> = runs
        .iter()
        .flat_map(|r| r.stops.iter())
        .filter(|s| s.promise_at_risk)
        .filter_map(|s| s.ride_request_id)
        .collect();
    let needle =
        q.q.as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_lowercase();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut rows = Vec::new();
    for r in list {
        let group = group_of(&r, &by_id);
        *counts.entry(group).or_default() += 1;
        if q.status
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s != group)
        {
            continue;
        }
        if !needle.is_empty() && !r.known_as.to_lowercase().contains(&needle) {
            continue;
        }
        let reason = if group == "unserved" {
            unserved.get(&r.ride_request_id).cloned()
        } else {
            None
        };
        rows.push(Row {
            vehicle: r
                .run_id
                .and_then(|id| by_id.get(&id))
                .map(|run| run.vehicle_label.clone()),
            at_risk: at_risk.contains(&r.ride_request_id),
            group,
            reason,
            request: r,
        });
    }
    let late: Vec<_> = runs
        .iter()
        .filter(|r| run_late(r))
        .map(|r| {
            minijinja::context! {
                run_id => r.run_id,
                vehicle => r.vehicle_label.clone(),
                past_driver_shift => r.past_driver_shift,
                at_risk => r.stops.iter().filter(|s| s.promise_at_risk).count(),
            }
        })
        .collect();
    let now = state.now();
    let on_break: Vec<_> = runs
        .iter()
        .filter_map(|r| {
            let b = current_break(r, now)?;
            Some(minijinja::context! {
                run_id => r.run_id,
                vehicle => r.vehicle_label.clone(),
                until => hhmm(b.planned_end),
                reported => b.started_at.is_some(),
            })
        })
        .collect();
    let groups: Vec<_> = GROUPS
        .iter()
        .map(|g| minijinja::context! { id => g, count => counts.get(g).copied().unwrap_or(0) })
        .collect();
    Ok(state.pages.render(
        ui,
        "console/day.html",
        minijinja::context! {
            date => date.to_string(),
            rows => rows,
            groups => groups,
            filter => q.status.unwrap_or_default(),
            q => q.q.unwrap_or_default(),
            runs => runs.len(),
            late => late,
            on_break => on_break,
            ..base(Some(scope), assets, "day")
        },
    ))
}

/// The map's data for a day, as JSON (the console's own session; not an `/api` operation).
#[derive(Serialize)]
pub(crate) struct MapDay {
    date: NaiveDate,
    runs: Vec<MapRun>,
    vehicles: Vec<MapVehicle>,
    meeting_points: Vec<MapPoint>,
    service_areas: Vec<MapArea>,
}

#[derive(Serialize)]
struct MapRun {
    run_id: Uuid,
    label: String,
    line: bool,
    status: RunStatus,
    late: bool,
    estimated: bool,
    route: Vec<[f64; 2]>,
    stops: Vec<MapStop>,
    breaks: Vec<MapBreak>,
    /// The end of the break the driver is on now (as planned), `HH:MM`.
    on_break_until: Option<String>,
}

/// A driver's break, drawn where the vehicle waits: at the stop it follows.
#[derive(Serialize)]
struct MapBreak {
    after_seq: i32,
    lon: f64,
    lat: f64,
    from: String,
    to: String,
}

#[derive(Serialize)]
struct MapStop {
    seq: i32,
    kind: crate::runs::StopKind,
    lon: f64,
    lat: f64,
    place_name: Option<String>,
    time: String,
    at_risk: bool,
}

#[derive(Serialize)]
struct MapVehicle {
    label: String,
    lon: f64,
    lat: f64,
    time: String,
}

#[derive(Serialize)]
struct MapPoint {
    name: String,
    landmark: String,
    lon: f64,
    lat: f64,
}

#[derive(Serialize)]
struct MapArea {
    name: String,
    geometry: serde_json::Value,
}

fn hhmm(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::service_day::local(t).format("%H:%M").to_string()
}

pub(crate) async fn day_json(
    State(state): State<AppState>,
    who: StaffPage,
    Query(q): Query<DayQuery>,
) -> Response {
    let r = async {
        let scope = super::scope(&state, who.0).await?;
        map_day(&state, &scope, day_of(&state, q.date)).await
    }
    .await;
    match r {
        Ok(day) => {
            let mut res = Json(day).into_response();
            res.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            res
        }
        Err(e) => e.into_response(),
    }
}

/// The runs, positions, meeting points and service areas of the coordinator's region on a day.
pub(crate) async fn map_day(state: &AppState, scope: &Scope, date: NaiveDate) -> AppResult<MapDay> {
    if !scope.coordinator() {
        return Err(AppError::Forbidden(
            "the day's runs are for the Polo's coordinator".into(),
        ));
    }
    let mut conn = state.db.acquire().await?;
    let runs = crate::runs::db::runs_of_day(&mut conn, &scope.region, date).await?;
    let positions = crate::runs::db::latest_positions(&mut conn, &scope.region, date).await?;
    let points = crate::places::db::meeting_points_of_region(&mut conn, &scope.region).await?;
    let areas = crate::places::db::service_areas_of_region(&mut conn, &scope.region).await?;
    drop(conn);
    let now = state.now();
    // Road geometry where the travel-time provider has it (OSRM), straight lines otherwise;
    // each bounded in time (see `driver::route`).
    let mut routes = Vec::with_capacity(runs.len());
    for r in &runs {
        let stops: Vec<(f64, f64)> = r.stops.iter().map(|s| (s.lon, s.lat)).collect();
        routes.push(crate::driver::route::route_through(state, &stops).await);
    }
    let runs = runs
        .into_iter()
        .zip(routes)
        .map(|(r, route)| MapRun {
            late: run_late(&r),
            on_break_until: current_break(&r, now).map(|b| hhmm(b.planned_end)),
            breaks: r
                .breaks
                .iter()
                .filter_map(|b| {
                    let at = r.stops.iter().find(|s| s.seq == b.after_seq)?;
                    Some(MapBreak {
                        after_seq: b.after_seq,
                        lon: at.lon,
                        lat: at.lat,
                        from: hhmm(b.planned_start),
                        to: hhmm(b.planned_end),
                    })
                })
                .collect(),
            run_id: r.run_id,
            label: r.vehicle_label,
            line: r.line_id.is_some(),
            status: r.status,
            estimated: route.estimated(),
            route: route.points().to_vec(),
            stops: r
                .stops
                .into_iter()
                .map(|s| MapStop {
                    seq: s.seq,
                    kind: s.kind,
                    lon: s.lon,
                    lat: s.lat,
                    place_name: s.place_name,
                    time: hhmm(s.planned_arrival),
                    at_risk: s.promise_at_risk,
                })
                .collect(),
        })
        .collect();
    Ok(MapDay {
        date,
        runs,
        vehicles: positions
            .into_iter()
            .map(|p| MapVehicle {
                label: p.vehicle_label,
                lon: p.lon,
                lat: p.lat,
                time: hhmm(p.recorded_at),
            })
            .collect(),
        meeting_points: points
            .into_iter()
            .map(|m| MapPoint {
                name: format!("{} - {}", m.place_name, m.name),
                landmark: m.landmark,
                lon: m.lon,
                lat: m.lat,
            })
            .collect(),
        service_areas: areas
            .into_iter()
            .map(|a| MapArea {
                name: a.name,
                geometry: serde_json::from_str(&a.geojson).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    })
}
