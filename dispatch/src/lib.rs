//! Passaggio's dispatch service: free, legal rides for people followed by the Poli Sociali
//! Integrati, planned on real roads and charged to the right funding source.
//!
//! Layout (one module per aggregate; `mod.rs` holds domain types and rules, `db.rs` the SQL,
//! `http.rs` the routes):
//! - [`config`], [`state`], [`error`], [`extract`]: plumbing; `error` is the only place HTTP
//!   statuses are chosen;
//! - [`auth`]: staff logins, roles and sessions; [`audit`]: every read of case data;
//! - [`places`]: Poli, settlements and their meeting points, workplaces, public offices (PostGIS);
//! - [`cases`]: people and their cases, visible only to their Polo;
//! - [`budgets`]: funding sources and the append-only ledger that never exceeds a cap;
//! - [`lines`]: linee lavoro, scheduled work lines, their subscriptions and daily runs;
//! - [`fleet`]: vehicles and drivers; [`demo`]: the demo region (province of Foggia).
//!
//! Queries are runtime-checked (`sqlx::query_as` with `FromRow`) rather than compile-time
//! checked: PostGIS columns cannot be mapped by the macros, and every query runs in the tests
//! against a real PostGIS database, which catches the same mistakes without a database at build
//! time.

pub mod audit;
pub mod auth;
pub mod bookings;
pub mod budgets;
pub mod cases;
pub mod config;
pub mod demo;
pub mod driver;
pub mod error;
pub mod extract;
pub mod fleet;
pub mod geo;
pub mod lines;
pub mod places;
pub mod reports;
pub mod rides;
pub mod runs;
pub mod state;

use std::future::Future;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tower_http::trace::TraceLayer;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The migrations in `migrations/`, embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/regions", get(regions))
        .route("/api/openapi.yaml", get(openapi))
        .merge(auth::router())
        .merge(places::http::router())
        .merge(cases::http::router())
        .merge(budgets::http::router())
        .merge(fleet::http::router())
        .merge(bookings::http::router())
        .merge(runs::http::router())
        .merge(driver::http::router())
        .merge(rides::http::router())
        .merge(lines::http::router())
        .merge(reports::http::router())
        .fallback(|| async { AppError::NotFound("route") })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let postgis: Result<String, _> = sqlx::query_scalar("select postgis_lib_version()")
        .fetch_one(&state.db)
        .await;
    match postgis {
        Ok(v) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok", "postgis": v })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}

/// The OpenAPI document of this service.
pub const OPENAPI_YAML: &str = include_str!("../api/openapi.yaml");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        OPENAPI_YAML,
    )
}

#[derive(serde::Serialize, sqlx::FromRow)]
struct Region {
    region_code: String,
    name: String,
}

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

/// Connects to the database named in the configuration.
///
/// # Errors
/// When the database cannot be reached; the message says how to start the local one.
pub async fn connect(config: &config::Config) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
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
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}
