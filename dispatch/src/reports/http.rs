//! Routes of the reports:
//! - `GET /api/reports/service`: service indicators of a region, a Polo, a line, a period (JSON
//!   or CSV);
//! - `GET /api/reports/programme`: programme indicators per month and Polo, aggregated only,
//!   small cells suppressed (JSON or CSV);
//! - the GTFS feed ([`super::gtfs`]) and the oversight flags ([`super::oversight`]).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use routing::matrix::Location;
use routing::travel::{Calibration, FallbackModel};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::db::{self, ByCategory, ByFunding, NotServed, Params};
use super::{mean, num, p95, suppress, to_csv, Format, RawScope, Scope, Suppressed, DEFINITIONS};
use crate::auth::Staff;
use crate::error::{AppError, AppResult};
use crate::extract::AppQuery;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(service))
        .routes(routes!(programme))
        .merge(super::gtfs::router())
        .merge(super::oversight::router())
}

/// The scope with names, as shown in a report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ScopeView {
    region_code: String,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    polo_id: Option<Uuid>,
    polo_name: Option<String>,
    line_id: Option<Uuid>,
    line_name: Option<String>,
}

/// Checks that the Polo and the line of a scope are of its region, and names them.
async fn scope_view(conn: &mut PgConnection, scope: &Scope) -> AppResult<ScopeView> {
    let poli = db::polo_names(conn, &scope.region_code).await?;
    let polo_name = match scope.polo_id {
        None => None,
        Some(p) => Some(
            poli.iter()
                .find(|(id, _)| *id == p)
                .map(|(_, n)| n.clone())
                .ok_or_else(|| AppError::invalid("polo_id", "no such Polo in this region"))?,
        ),
    };
    let line_name = match scope.line_id {
        None => None,
        Some(l) => Some(
            db::line_name(conn, &scope.region_code, l)
                .await?
                .ok_or_else(|| AppError::invalid("line_id", "no such work line in this region"))?,
        ),
    };
    Ok(ScopeView {
        region_code: scope.region_code.clone(),
        from: scope.from,
        to: scope.to,
        polo_id: scope.polo_id,
        polo_name,
        line_id: scope.line_id,
        line_name,
    })
}

/// A share with its parts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Share {
    of: i64,
    count: i64,
    share: Option<f64>,
}

fn share(count: i64, of: i64) -> Share {
    #[allow(clippy::cast_precision_loss)]
    let s = (of > 0).then(|| count as f64 / of as f64);
    Share {
        of,
        count,
        share: s,
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

#[allow(clippy::cast_precision_loss)]
fn per(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RideTimes {
    rides: usize,
    mean_s: Option<f64>,
    p95_s: Option<f64>,
    direct_mean_s: Option<f64>,
    ratio_mean: Option<f64>,
    ratio_p95: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Costs {
    total_cents: i64,
    unfunded_cents: i64,
    per_ride_cents: Option<f64>,
    per_person_cents: Option<f64>,
}

/// The service indicators (definitions: docs/reporting.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ServiceReport {
    scope: ScopeView,
    definitions: &'static str,
    requests: i64,
    served: i64,
    passengers_carried: i64,
    people: i64,
    no_shows: i64,
    cancelled: i64,
    refused: i64,
    unserved: i64,
    open: i64,
    not_served_by_reason: Vec<NotServed>,
    on_time_pickups: Share,
    ride_time: RideTimes,
    runs: i64,
    passengers_per_run: Option<f64>,
    vehicle_km: f64,
    passenger_km: f64,
    passenger_km_per_vehicle_km: Option<f64>,
    seat_km: f64,
    seat_occupancy: Option<f64>,
    cost: Costs,
    estimated_times: Share,
    by_category: Vec<ByCategory>,
    by_funding: Vec<ByFunding>,
}

/// The direct drive time of a ride: the calibrated travel-time model the planner falls back
/// on, so that a report does not change with the availability of OSRM.
fn direct_s(model: &FallbackModel, r: &db::RideTime) -> f64 {
    let a = Location {
        lon: r.pickup_lon,
        lat: r.pickup_lat,
    };
    let b = Location {
        lon: r.dropoff_lon,
        lat: r.dropoff_lat,
    };
    model.estimate(a, b).0
}

fn ride_time_figures(rows: &[db::RideTime]) -> RideTimes {
    let model = FallbackModel::new(Calibration::rural());
    let rides: Vec<f64> = rows.iter().map(|r| r.ride_s).collect();
    let direct: Vec<f64> = rows.iter().map(|r| direct_s(&model, r)).collect();
    let ratios: Vec<f64> = rows
        .iter()
        .zip(&direct)
        .filter(|(_, d)| **d > 0.0)
        .map(|(r, d)| r.ride_s / d)
        .collect();
    RideTimes {
        rides: rows.len(),
        mean_s: mean(&rides),
        p95_s: p95(&rides),
        direct_mean_s: mean(&direct),
        ratio_mean: mean(&ratios),
        ratio_p95: p95(&ratios),
    }
}

#[allow(clippy::unused_async)]
async fn today(_conn: &mut PgConnection, state: &AppState) -> AppResult<chrono::NaiveDate> {
    Ok(crate::service_day::day_of(state.now()))
}

#[utoipa::path(get, path = "/api/reports/service", tag = "reports", params(RawScope), responses((status = 200, content((ServiceReport = "application/json"), (String = "text/csv")))))]
async fn service(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(raw): AppQuery<RawScope>,
) -> AppResult<Response> {
    let format = raw.format()?;
    let scope = raw.resolve(&staff)?;
    let mut conn = state.db.acquire().await?;
    let view = scope_view(&mut conn, &scope).await?;
    let p = Params {
        today: today(&mut conn, &state).await?,
        scope,
    };
    let c = db::counts(&mut conn, &p).await?;
    let fleet = db::fleet(&mut conn, &p).await?;
    let report = ServiceReport {
        scope: view,
        definitions: DEFINITIONS,
        requests: c.requests,
        served: c.served,
        passengers_carried: c.passengers_carried,
        people: c.people,
        no_shows: c.no_shows,
        cancelled: c.cancelled,
        refused: c.refused,
        unserved: c.unserved,
        open: c.open,
        not_served_by_reason: db::not_served(&mut conn, &p).await?,
        on_time_pickups: share(c.on_time, c.with_promise),
        ride_time: ride_time_figures(&db::ride_times(&mut conn, &p).await?),
        runs: fleet.runs,
        passengers_per_run: per(c.passengers_carried, fleet.runs),
        vehicle_km: fleet.vehicle_km,
        passenger_km: c.passenger_km,
        passenger_km_per_vehicle_km: ratio(c.passenger_km, fleet.vehicle_km),
        seat_km: fleet.seat_km,
        seat_occupancy: ratio(c.passenger_km, fleet.seat_km),
        cost: Costs {
            total_cents: c.cost_cents,
            unfunded_cents: c.unfunded_cents,
            per_ride_cents: per(c.cost_cents, c.served),
            per_person_cents: per(c.cost_cents, c.people),
        },
        estimated_times: share(c.on_estimated, c.served),
        by_category: db::by_category(&mut conn, &p).await?,
        by_funding: db::by_funding(&mut conn, &p).await?,
    };
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Csv(d) => csv_response(
            &format!(
                "passaggio-service-{}-{}-{}.csv",
                report.scope.region_code, report.scope.from, report.scope.to
            ),
            to_csv(d, SERVICE_CSV_HEADER, &service_rows(&report)),
        ),
    })
}

const SERVICE_CSV_HEADER: &[&str] = &[
    "region_code",
    "polo",
    "line",
    "from",
    "to",
    "indicator",
    "breakdown",
    "value",
    "unit",
];

fn service_rows(r: &ServiceReport) -> Vec<Vec<String>> {
    let mut items: Vec<(&str, String, Option<f64>, &str)> = Vec::new();
    #[allow(clippy::cast_precision_loss)]
    let n = |x: i64| Some(x as f64);
    #[allow(clippy::cast_precision_loss)]
    let nu = |x: usize| Some(x as f64);
    for (k, v) in [
        ("requests", r.requests),
        ("served", r.served),
        ("passengers_carried", r.passengers_carried),
        ("people_carried", r.people),
        ("no_shows", r.no_shows),
        ("cancelled", r.cancelled),
        ("refused", r.refused),
        ("unserved", r.unserved),
        ("open", r.open),
    ] {
        items.push((k, String::new(), n(v), "requests"));
    }
    items[2].3 = "passengers";
    items[3].3 = "people";
    for ns in &r.not_served_by_reason {
        items.push((
            "not_served_by_reason",
            format!("{}:{}", ns.status, ns.reason),
            n(ns.requests),
            "requests",
        ));
    }
    items.push((
        "on_time_pickups",
        String::new(),
        n(r.on_time_pickups.count),
        "rides",
    ));
    items.push((
        "on_time_pickups_share",
        String::new(),
        r.on_time_pickups.share,
        "share",
    ));
    let t = &r.ride_time;
    items.push(("ride_time_rides", String::new(), nu(t.rides), "rides"));
    items.push(("ride_time_mean", String::new(), t.mean_s, "seconds"));
    items.push(("ride_time_p95", String::new(), t.p95_s, "seconds"));
    items.push((
        "direct_time_mean",
        String::new(),
        t.direct_mean_s,
        "seconds",
    ));
    items.push((
        "ride_to_direct_ratio_mean",
        String::new(),
        t.ratio_mean,
        "ratio",
    ));
    items.push((
        "ride_to_direct_ratio_p95",
        String::new(),
        t.ratio_p95,
        "ratio",
    ));
    items.push(("runs", String::new(), n(r.runs), "runs"));
    items.push((
        "passengers_per_run",
        String::new(),
        r.passengers_per_run,
        "passengers",
    ));
    items.push(("vehicle_km", String::new(), Some(r.vehicle_km), "km"));
    items.push(("passenger_km", String::new(), Some(r.passenger_km), "km"));
    items.push((
        "passenger_km_per_vehicle_km",
        String::new(),
        r.passenger_km_per_vehicle_km,
        "ratio",
    ));
    items.push(("seat_km", String::new(), Some(r.seat_km), "km"));
    items.push(("seat_occupancy", String::new(), r.seat_occupancy, "share"));
    items.push(("cost_total", String::new(), n(r.cost.total_cents), "cents"));
    items.push((
        "cost_unfunded",
        String::new(),
        n(r.cost.unfunded_cents),
        "cents",
    ));
    items.push((
        "cost_per_ride",
        String::new(),
        r.cost.per_ride_cents,
        "cents",
    ));
    items.push((
        "cost_per_person",
        String::new(),
        r.cost.per_person_cents,
        "cents",
    ));
    items.push((
        "rides_on_estimated_times",
        String::new(),
        n(r.estimated_times.count),
        "rides",
    ));
    items.push((
        "rides_on_estimated_times_share",
        String::new(),
        r.estimated_times.share,
        "share",
    ));
    for c in &r.by_category {
        items.push(("rides_by_category", c.category.clone(), n(c.rides), "rides"));
    }
    for f in &r.by_funding {
        let key = match (&f.area, &f.employer) {
            (Some(a), _) => format!("{}:{a}", f.funding),
            (None, Some(e)) => format!("{}:{e}", f.funding),
            (None, None) => f.funding.clone(),
        };
        items.push(("rides_by_funding", key.clone(), n(f.rides), "rides"));
        items.push(("cost_by_funding", key, n(f.cost_cents), "cents"));
    }
    let s = &r.scope;
    items
        .into_iter()
        .map(|(k, b, v, u)| {
            vec![
                s.region_code.clone(),
                s.polo_name.clone().unwrap_or_else(|| "all".into()),
                s.line_name.clone().unwrap_or_else(|| "all".into()),
                s.from.to_string(),
                s.to.to_string(),
                k.to_owned(),
                b,
                v.map(num).unwrap_or_default(),
                u.to_owned(),
            ]
        })
        .collect()
}

fn csv_response(filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// One published cell of the programme indicators.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProgrammeCell {
    month: String,
    polo_id: Option<Uuid>,
    polo_name: String,
    indicator: String,
    breakdown: String,
    /// `None` when suppressed.
    value: Option<i64>,
    suppressed: Option<Suppressed>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProgrammeReport {
    scope: ScopeView,
    definitions: &'static str,
    min_cell_people: i64,
    cells: Vec<ProgrammeCell>,
}

#[utoipa::path(get, path = "/api/reports/programme", tag = "reports", params(RawScope), responses((status = 200, content((ProgrammeReport = "application/json"), (String = "text/csv")))))]
async fn programme(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(raw): AppQuery<RawScope>,
) -> AppResult<Response> {
    let format = raw.format()?;
    if raw.line_id.is_some() {
        return Err(AppError::invalid(
            "line_id",
            "the programme indicators are per Polo and region, not per line",
        ));
    }
    let scope = raw.resolve(&staff)?;
    let mut conn = state.db.acquire().await?;
    let view = scope_view(&mut conn, &scope).await?;
    let poli = db::polo_names(&mut conn, &scope.region_code).await?;
    let min = db::min_cell_people(&mut conn).await?;
    let p = Params {
        today: today(&mut conn, &state).await?,
        scope,
    };
    let cells = db::programme_cells(&mut conn, &p).await?;
    let hidden = suppress(&cells, min);
    let name = |polo: Option<Uuid>| match polo {
        None => format!("{} (all Poli)", p.scope.region_code),
        Some(id) => poli
            .iter()
            .find(|(p, _)| *p == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone()),
    };
    // Suppression is decided on every Polo's cells; the caller then sees their scope only: a
    // Polo's rows, or the region's rows and every Polo's.
    let published: Vec<ProgrammeCell> = cells
        .into_iter()
        .zip(hidden)
        .filter(|(c, _)| p.scope.polo_id.is_none() || c.polo_id == p.scope.polo_id)
        .map(|(c, s)| ProgrammeCell {
            polo_name: name(c.polo_id),
            month: c.month,
            polo_id: c.polo_id,
            indicator: c.indicator,
            breakdown: c.breakdown,
            value: if s.is_some() { None } else { Some(c.value) },
            suppressed: s,
        })
        .collect();
    let report = ProgrammeReport {
        scope: view,
        definitions: DEFINITIONS,
        min_cell_people: min,
        cells: published,
    };
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Csv(d) => {
            let rows: Vec<Vec<String>> = report
                .cells
                .iter()
                .map(|c| {
                    vec![
                        c.month.clone(),
                        report.scope.region_code.clone(),
                        c.polo_name.clone(),
                        c.indicator.clone(),
                        c.breakdown.clone(),
                        c.value.map(|v| v.to_string()).unwrap_or_default(),
                        match c.suppressed {
                            None => String::new(),
                            Some(Suppressed::SmallCell) => {
                                format!("fewer than {min} people")
                            }
                            Some(Suppressed::Complementary) => {
                                "hidden to protect a small cell".to_owned()
                            }
                        },
                    ]
                })
                .collect();
            csv_response(
                &format!(
                    "passaggio-programme-{}-{}-{}.csv",
                    report.scope.region_code, report.scope.from, report.scope.to
                ),
                to_csv(
                    d,
                    &[
                        "month",
                        "region_code",
                        "polo",
                        "indicator",
                        "breakdown",
                        "value",
                        "suppressed",
                    ],
                    &rows,
                ),
            )
        }
    })
}
