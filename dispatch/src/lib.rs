//! Passaggio's dispatch service: free, legal rides for people followed by the Poli Sociali
//! Integrati, planned on real roads and charged to the right funding source.
//!
//! # Map
//! One module per aggregate; in each, `mod.rs` holds domain types and rules (no I/O), `db.rs`
//! the SQL, `http.rs` the routes and their bodies.
//! - Plumbing: [`config`], [`state`] (shared state and the [`state::Dispatcher`] seam between
//!   booking and planning), [`error`] (the only place HTTP statuses are chosen), [`extract`]
//!   (JSON and query bodies that fail with a field name), [`throttle`] (rate limits and bounded
//!   work of every sign-in), [`telemetry`] (Prometheus metrics, no personal data),
//!   [`retention`] (the job that forgets: sessions, positions, pseudonymised rides), [`geo`]
//!   (lon/lat at the SQL boundary), [`idempotency`] (a retried creation is answered once),
//!   [`ids`] (typed ids of the main aggregates), [`service_day`] (the only home of
//!   Europe/Rome: today, local midnight, local
//!   times as instants), [`rest`] (the drivers' rest rule over a fixed timetable);
//! - [`auth`]: staff logins, roles, sessions and scoping; [`audit`]: every read of case data;
//! - [`places`]: Poli, settlements and their meeting points, workplaces, offices, service
//!   areas (PostGIS);
//! - [`cases`]: people and their cases, visible only to their Polo;
//! - [`budgets`]: funding sources and the append-only ledger that never exceeds a cap; it
//!   also answers which source covers a person or a region on a day;
//! - [`fleet`]: vehicles and drivers;
//! - [`bookings`]: ride requests, appointments, recurrences; the only writer of a request's
//!   status and history. Reaches planning only through [`state::Dispatcher`];
//! - [`lines`]: linee lavoro, their stops, seasons and subscriptions;
//! - [`runs`]: planning jobs, the day's runs and stops, live insertion and re-timing
//!   (`runs::live`, which implements the dispatcher), the runs of the work lines
//!   (`runs::line_runs`), and runs as driven (`runs::driving`: stop events, positions, the
//!   stop and run state machines);
//! - [`driver`]: the drivers' HTTP face over `runs::driving` (owns no table);
//! - [`pages`]: the ground of the server-rendered pages: templates, messages in the page's
//!   language, static files, cookies, same-origin forms (owns no table);
//! - [`web`]: the built web front-ends (the driver app under `/driver/`) with their cache headers (owns no table);
//! - [`console`]: the coordinator console, server-rendered pages under `/console/` over the
//!   owners' functions, with a cookie session (`auth::StaffPage`) and a map island (owns no table);
//! - [`rides`]: ride records, their cost and the charge to a funding source (asked of
//!   `budgets`);
//! - [`reports`]: service and programme indicators, the GTFS feed of the lines, oversight
//!   flags (reads across the aggregates in SQL; writes only its flags, reviews and declarations);
//! - [`workers`]: workers book their own rides: access cards, short sessions, their pages
//!   under `/w/` and the `/api/self` API (through `bookings` and `lines`, channel `self`), and
//!   confidential reports to their Polo's coordinator;
//! - [`demo`]: the demo region (province of Foggia), written through the owners' functions.
//!
//! Dependencies point one way: `bookings` knows nothing of `runs`; `runs` calls `bookings`,
//! `lines`, `rides`, `fleet`; `rides` calls `bookings`, `budgets`, `cases`, `places`; the
//! crate root (`lib.rs`) wires the services into [`state::AppState`]. A unit test
//! (`architecture.rs`) fails on an import cycle between these modules.
//!
//! # Who writes what
//! Each table has one owning module, the only one that inserts, updates or deletes its rows;
//! others call that module. A unit test (`architecture.rs`) reads every module's SQL and
//! checks it against this table.
//!
//! | module | tables it alone writes |
//! |---|---|
//! | [`auth`] | `staff`, `staff_session` |
//! | [`audit`] | `case_access_audit` |
//! | [`idempotency`] | `idempotency_record` |
//! | [`places`] | `region`, `polo`, `place`, `meeting_point`, `service_area` |
//! | [`cases`] | `person`, `care_case` |
//! | [`budgets`] | `programme_config`, `funding_source`, `funding_area_cap`, `ledger_entry` |
//! | [`fleet`] | `vehicle`, `driver` |
//! | [`bookings`] | `ride_request`, `ride_request_event`, `ride_recurrence`, `appointment` |
//! | [`lines`] | `work_line`, `work_line_stop`, `line_subscription`, `line_heat_day` |
//! | [`runs`] | `plan_job`, `plan_unserved`, `run`, `run_stop`, `run_break`, `driver_event`, `vehicle_position` |
//! | [`rides`] | `ride`, `no_show_correction` |
//! | [`reports`] | `oversight_flag`, `oversight_review`, `workplace_declaration` |
//! | [`workers`] | `access_card`, `access_card_event`, `worker_session`, `worker_report` |
//!
//! Queries are runtime-checked (`sqlx::query_as` with `FromRow`) rather than compile-time
//! checked: PostGIS columns cannot be mapped by the macros, and every query runs in the tests
//! against a real PostGIS database, which catches the same mistakes without a database at build
//! time.

#[cfg(test)]
mod architecture;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod budgets;
pub mod cases;
pub mod config;
pub mod console;
pub mod demo;
pub mod driver;
pub mod error;
pub mod extract;
pub mod fleet;
pub mod geo;
pub mod idempotency;
pub mod ids;
pub mod lines;
pub mod openapi;
pub mod pages;
pub mod places;
pub mod reports;
pub mod rest;
pub mod retention;
pub mod rides;
pub mod runs;
pub mod service_day;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod web;
pub mod workers;

use std::future::Future;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tower_http::trace::TraceLayer;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The migrations in `migrations/`, embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The whole HTTP application, with its protections: a body limit (413 beyond it), a body
/// read timeout, a whole-request timeout (503 beyond it), request metrics.
pub fn app(state: AppState) -> Router {
    use axum::extract::DefaultBodyLimit;
    use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
    telemetry::install();
    let limits = state.config.limits.clone();
    let (router, _doc) = openapi::routes().split_for_parts();
    // The built web front-ends are files, not API operations: served beside the API.
    router
        .merge(web::router(&state.config.web_dir))
        .merge(pages::router())
        .merge(console::router(&state.config.web_dir))
        .merge(workers::pages::router())
        .fallback(|| async { AppError::NotFound("route") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The service's health.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` or `unavailable`.
    status: String,
    /// `ok` or `unreachable`.
    database: String,
    /// PostGIS version, when the database answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    postgis: Option<String>,
}

/// Whether the service and its database answer.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let postgis: Result<String, _> = sqlx::query_scalar("select postgis_lib_version()")
        .fetch_one(&state.db)
        .await;
    match postgis {
        Ok(v) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                database: "ok".into(),
                postgis: Some(v),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                    database: "unreachable".into(),
                    postgis: None,
                }),
            )
        }
    }
}

/// The routes of the service itself: health, metrics, regions and the OpenAPI document.
fn service_routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(telemetry::metrics_endpoint))
        .routes(routes!(regions))
        .routes(routes!(openapi_json))
        .routes(routes!(openapi_yaml))
}

/// This document, as JSON.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_json() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi::json(),
    )
}

/// This document, as YAML (also committed as `dispatch/api/openapi.yaml`).
#[utoipa::path(get, path = "/api/openapi.yaml", tag = "service",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/yaml")))]
async fn openapi_yaml() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        openapi::yaml(),
    )
}

/// A region of the programme.
#[derive(serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Region {
    /// Code used in every region-scoped key, e.g. `puglia`.
    region_code: String,
    /// Name.
    name: String,
}

/// The programme's regions.
#[utoipa::path(get, path = "/api/regions", tag = "service",
    responses((status = 200, body = Vec<Region>)))]
async fn regions(
    State(state): State<AppState>,
    _staff: auth::Staff,
) -> AppResult<Json<Vec<Region>>> {
    Ok(Json(
        sqlx::query_as("select region_code, name from region order by name")
            .fetch_all(&state.db)
            .await?,
    ))
}

impl AppState {
    /// Builds the state: the travel-time provider follows `config.osrm_url`, the live
    /// dispatcher is `runs::live`'s. This crate root is where the seams are wired.
    ///
    /// # Panics
    /// When the OSRM URL cannot be used to build a client (checked at start).
    #[must_use]
    pub fn new(db: PgPool, config: config::Config) -> Self {
        use routing::travel::{
            osrm_with_fallback, Calibration, FallbackModel, OsrmConfig, TravelTimes,
        };
        let model = FallbackModel::new(Calibration::rural());
        // OSRM answers are cached by snapped location; estimates are cheap and never cached,
        // so a day planned on estimates asks OSRM again once it is back.
        let travel: std::sync::Arc<dyn TravelTimes> = match &config.osrm_url {
            Some(url) => std::sync::Arc::new(
                osrm_with_fallback(OsrmConfig::new(url.clone()), model)
                    .expect("OSRM URL checked at start"),
            ),
            None => std::sync::Arc::new(model),
        };
        Self {
            db,
            travel,
            dispatcher: std::sync::Arc::new(telemetry::MeteredDispatcher(std::sync::Arc::new(
                runs::live::LiveDispatcher,
            ))),
            sign_in: std::sync::Arc::new(throttle::SignInGuard::new(&config.limits)),
            pages: std::sync::Arc::new(pages::Pages::new(
                &config.messages_dir,
                config.secure_cookies,
            )),
            config: std::sync::Arc::new(config),
            fixed_now: None,
        }
    }
}

/// Connects to the database named in the configuration.
///
/// # Errors
/// When the database cannot be reached; the message says how to start the local one.
pub async fn connect(config: &config::Config) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        // Short: while the database is unreachable a request fails fast with a 503 rather than
        // hanging; the pool reconnects by itself when the database is back.
        .acquire_timeout(config.db_acquire_timeout)
        .connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "connecting to {} (start the local database with `make run`, or set DATABASE_URL)",
                config::redact_url(&config.database_url)
            )
        })
}

/// Applies the migrations.
///
/// # Errors
/// When a migration fails.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")
}

/// Serves the application on `listener` until `shutdown` completes, then drains requests.
///
/// At start, planning jobs a crash or a stop left running are marked failed. While it serves,
/// the maintenance job ([`retention`]) runs every `retention.interval`. Connections get a
/// header read timeout (slow clients cannot hold them), and every request knows its client's
/// address (for the sign-in limits).
///
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    telemetry::install();
    runs::plan::fail_interrupted_jobs(&state.db)
        .await
        .context("marking interrupted planning jobs")?;
    let maintenance = tokio::spawn(retention::periodic(state.clone()));
    let limits = state.config.limits.clone();
    let router = app(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                req.map(axum::body::Body::new)
            },
        );
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    maintenance.abort();
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain timeout");
    }
    Ok(())
}
