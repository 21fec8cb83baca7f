//! The maintenance job: what the service forgets, and when (issue #11, item 8). It owns no
//! table; it calls each owner:
//!
//! - `auth`: expired sessions are deleted;
//! - `runs`: vehicle positions are coarsened to a ~1 km grid once their day is over, and
//!   deleted after `PASSAGGIO_RETAIN_POSITIONS_DAYS`; stop events of cases closed for
//!   `PASSAGGIO_RETAIN_CLOSED_CASE_DAYS` lose their ride request and exact time;
//! - `rides`: the ride records of those cases lose the case and the person (a random
//!   pseudonym per case instead) and their exact times;
//! - the sign-in limiters forget the accounts and addresses that have recovered.
//!
//! It runs every `PASSAGGIO_MAINTENANCE_INTERVAL_S` inside the service, and on demand with
//! `dispatch retention`. Every step is idempotent; each runs in its own transaction.

use chrono::{Days, Duration};
use serde::Serialize;

use crate::error::AppResult;
use crate::state::AppState;

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RetentionReport {
    /// Expired sessions deleted.
    pub sessions_deleted: u64,
    /// Positions coarsened.
    pub positions_coarsened: u64,
    /// Positions deleted.
    pub positions_deleted: u64,
    /// Stop events pseudonymised.
    pub stop_events_pseudonymised: u64,
    /// Ride records pseudonymised.
    pub rides_pseudonymised: u64,
}

/// Runs every step once, as of `state.now()`.
///
/// # Errors
/// Database errors (the steps done before stay done).
pub async fn run(state: &AppState) -> AppResult<RetentionReport> {
    let now = state.now();
    let cfg = &state.config.retention;
    let today = crate::service_day::day_of(now);
    let start_of_today = crate::service_day::midnight(today);
    let positions_before = now - Duration::days(i64::from(cfg.positions_days));
    let closed_before = today
        .checked_sub_days(Days::new(u64::from(cfg.closed_case_days)))
        .unwrap_or(today);
    let mut report = RetentionReport::default();
    let mut conn = state.db.acquire().await?;
    report.sessions_deleted = crate::auth::purge_expired_sessions(&mut conn).await?
        + crate::workers::db::purge_expired_sessions(&mut conn).await?;
    report.positions_deleted =
        crate::runs::retention::delete_positions(&mut conn, positions_before).await?;
    report.positions_coarsened =
        crate::runs::retention::coarsen_positions(&mut conn, start_of_today).await?;
    report.stop_events_pseudonymised =
        crate::runs::retention::pseudonymise_stop_events(&mut conn, closed_before).await?;
    report.rides_pseudonymised =
        crate::rides::retention::pseudonymise_rides(&mut conn, closed_before).await?;
    drop(conn);
    state.sign_in.forget_recovered();
    crate::telemetry::retention("sessions_deleted", report.sessions_deleted);
    crate::telemetry::retention("positions_deleted", report.positions_deleted);
    crate::telemetry::retention("positions_coarsened", report.positions_coarsened);
    crate::telemetry::retention(
        "stop_events_pseudonymised",
        report.stop_events_pseudonymised,
    );
    crate::telemetry::retention("rides_pseudonymised", report.rides_pseudonymised);
    Ok(report)
}

/// Runs the job every `retention.interval` (the first run one interval after start), until
/// the task is aborted; a failed run is logged and retried at the next interval.
pub async fn periodic(state: AppState) {
    let every = state.config.retention.interval;
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run(&state).await {
            Ok(r) => tracing::info!(?r, "retention job"),
            Err(e) => {
                tracing::warn!(error = %e, "retention job failed; retried at the next interval");
            }
        }
    }
}
