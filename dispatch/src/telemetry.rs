//! Metrics for an operator, in Prometheus' text format at `GET /metrics`, with the `metrics`
//! facade and its Prometheus exporter.
//!
//! No personal data, ever: labels are route templates (`/api/cases/{id}`, never an id), methods,
//! status codes, outcomes and cap kinds. Nothing names a person, a place, a Polo or a login.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` |
//! | `http_request_duration_seconds` | histogram | `method`, `route` |
//! | `plan_jobs_total` | counter | `outcome` (`done`, `failed`, `refused_busy`, `interrupted`) |
//! | `plan_job_duration_seconds` | histogram | `outcome` |
//! | `live_insertions_total` | counter | `outcome` (`confirmed`, `refused`, `error`) |
//! | `ledger_refusals_total` | counter | `cap` (`source`, `area`, `person_month`, `correction`) |
//! | `sign_ins_total` | counter | `kind`, `outcome` (`ok`, `failed`, `limited`, `busy`) |
//! | `db_pool_connections`, `db_pool_idle_connections`, `db_pool_max_connections` | gauge | |
//! | `db_unavailable_total` | counter | |
//! | `retention_rows_total` | counter | `action` |

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::throttle::ClientAddr;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".into()),
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ],
            )
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

/// Middleware: counts every request and its latency by route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        counter!("http_unavailable_total", "route" => route.clone()).increment(1);
    }
    counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// A refusal of the ledger: a cap (`source`, `area`, `person_month`) or a correction beyond
/// its charge (`correction`).
pub fn ledger_refusal(cap: &'static str) {
    counter!("ledger_refusals_total", "cap" => cap).increment(1);
}

/// A sign-in attempt's outcome.
pub fn sign_in(kind: &str, outcome: &'static str) {
    counter!("sign_ins_total", "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

/// A planning job ended (`done`, `failed`), was refused (`refused_busy`) or was found
/// interrupted at start (`interrupted`).
pub fn plan_job(outcome: &'static str, seconds: Option<f64>) {
    counter!("plan_jobs_total", "outcome" => outcome).increment(1);
    if let Some(s) = seconds {
        histogram!("plan_job_duration_seconds", "outcome" => outcome).record(s);
    }
}

/// Jobs found queued or running at start, marked failed.
pub fn plan_jobs_interrupted(n: u64) {
    counter!("plan_jobs_total", "outcome" => "interrupted").increment(n);
}

/// A live insertion's outcome (`confirmed`, `refused`, `error`).
pub fn live_insertion(outcome: &'static str, n: u64) {
    counter!("live_insertions_total", "outcome" => outcome).increment(n);
}

/// Rows touched by the retention job.
pub fn retention(action: &'static str, rows: u64) {
    counter!("retention_rows_total", "action" => action).increment(rows);
}

/// `GET /metrics`: the Prometheus text. With `PASSAGGIO_METRICS_TOKEN` set, the bearer token
/// must match it; without one, only loopback clients are answered.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics_endpoint(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                // Compare digests, not the strings: no early exit on the first differing byte.
                Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
            }),
        None => client.is_some_and(|ip| ip.is_loopback()),
    };
    if !allowed {
        return crate::error::AppError::NotFound("route").into_response();
    }
    let pool = &state.db;
    gauge!("db_pool_connections").set(f64::from(pool.size()));
    gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
    gauge!("db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        install().render(),
    )
        .into_response()
}

/// The live dispatcher, counting what live insertion answered (wired in `AppState::new`).
pub struct MeteredDispatcher(pub std::sync::Arc<dyn crate::state::Dispatcher>);

impl crate::state::Dispatcher for MeteredDispatcher {
    fn place_live<'a>(
        &'a self,
        state: &'a AppState,
        ids: &'a [crate::ids::RideRequestId],
    ) -> crate::state::BoxFuture<'a, crate::error::AppResult<Vec<crate::state::LiveOutcome>>> {
        Box::pin(async move {
            let out = self.0.place_live(state, ids).await;
            match &out {
                Ok(outcomes) => {
                    let count = |f: fn(&crate::state::LiveOutcome) -> bool| {
                        outcomes.iter().filter(|o| f(o)).count() as u64
                    };
                    live_insertion(
                        "confirmed",
                        count(|o| matches!(o, crate::state::LiveOutcome::Confirmed { .. })),
                    );
                    live_insertion(
                        "refused",
                        count(|o| matches!(o, crate::state::LiveOutcome::Refused { .. })),
                    );
                    live_insertion(
                        "queued",
                        count(|o| matches!(o, crate::state::LiveOutcome::Queued { .. })),
                    );
                }
                Err(_) => live_insertion("error", 1),
            }
            out
        })
    }

    fn leave_run<'a>(
        &'a self,
        conn: &'a mut sqlx::PgConnection,
        ride_request_id: crate::ids::RideRequestId,
    ) -> crate::state::BoxFuture<'a, crate::error::AppResult<Option<crate::ids::RunId>>> {
        self.0.leave_run(conn, ride_request_id)
    }

    fn line_subscribed<'a>(
        &'a self,
        conn: &'a mut sqlx::PgConnection,
        subscription_id: uuid::Uuid,
        created_by: Option<uuid::Uuid>,
    ) -> crate::state::BoxFuture<'a, crate::error::AppResult<Vec<crate::state::LineJoin>>> {
        self.0.line_subscribed(conn, subscription_id, created_by)
    }

    fn retime<'a>(
        &'a self,
        state: &'a AppState,
        run_id: crate::ids::RunId,
    ) -> crate::state::BoxFuture<'a, crate::error::AppResult<()>> {
        self.0.retime(state, run_id)
    }
}
