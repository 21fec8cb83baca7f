//! Shared state handed to every handler, and the seam between booking and planning.
//!
//! The state carries two injected services: the travel-time provider (`travel`) and the live
//! dispatcher (`dispatcher`), through which bookings reach the plan of the day without
//! knowing how it is made ([`Dispatcher`]; `runs::live` implements it, and `lib.rs`, the
//! crate's composition root, wires it in `AppState::new`). Bookings never import `runs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use routing::travel::TravelTimes;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use uuid::Uuid;

use crate::config::Config;
use crate::error::AppResult;
use crate::ids::{RideRequestId, RunId};

/// A boxed future, for the object-safe [`Dispatcher`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What happened to a request booked for today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LiveOutcome {
    /// In a run, with a promised pickup time.
    Confirmed {
        /// Request.
        ride_request_id: RideRequestId,
        /// Run.
        run_id: RunId,
        /// Promised pickup.
        pickup_at: DateTime<Utc>,
    },
    /// Not placed now, and not refused: the request waits, visibly, for a coordinator (its
    /// history says why) or for the next plan.
    Queued {
        /// Request.
        ride_request_id: RideRequestId,
        /// Why it could not be placed live.
        reason: String,
    },
    /// No vehicle can take it.
    Refused {
        /// Request.
        ride_request_id: RideRequestId,
        /// Why.
        reason: String,
        /// What the rider can do instead.
        alternatives: Vec<String>,
    },
}

/// What became of a new subscription on a day whose line run was already made.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineJoin {
    /// The day.
    pub service_date: chrono::NaiveDate,
    /// The run joined, if any.
    pub run_id: Option<RunId>,
    /// `joined`, or why not: `run_started` (the van is already on its way).
    pub outcome: &'static str,
}

/// What booking needs from planning: the one seam between the two. Every page or API that
/// books, changes or cancels a ride goes through it.
pub trait Dispatcher: Send + Sync {
    /// Requests were booked (or changed): each one for today is inserted into the running
    /// plan, and the answer says whether it was confirmed or refused; other days wait for
    /// their planning. Called after the booking's transaction has committed.
    fn place_live<'a>(
        &'a self,
        state: &'a AppState,
        ids: &'a [RideRequestId],
    ) -> BoxFuture<'a, AppResult<Vec<LiveOutcome>>>;

    /// A request leaves its run (cancelled, or changed and to be placed again), in the
    /// caller's transaction: its pending stops go. Returns the run it was in, to re-time.
    fn leave_run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        ride_request_id: RideRequestId,
    ) -> BoxFuture<'a, AppResult<Option<RunId>>>;

    /// A subscription to a work line was made (or extended): the line's runs already made
    /// for its days take the new rider, in the caller's transaction. Answers, per day, the run
    /// joined or why not. `created_by` is the staff member who subscribed the person (none
    /// when they subscribed themself).
    fn line_subscribed<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        subscription_id: Uuid,
        created_by: Option<Uuid>,
    ) -> BoxFuture<'a, AppResult<Vec<LineJoin>>>;

    /// Re-times a run that lost a request, after the caller's transaction committed.
    fn retime<'a>(&'a self, state: &'a AppState, run_id: RunId) -> BoxFuture<'a, AppResult<()>>;
}

/// What handlers share: the database pool, the travel-time provider and the configuration.
#[derive(Clone)]
pub struct AppState {
    /// Connection pool to PostgreSQL/PostGIS.
    pub db: PgPool,
    /// Road travel times: OSRM with the calibrated fallback model, behind a cache; the model
    /// alone when no OSRM is configured.
    pub travel: Arc<dyn TravelTimes>,
    /// The live dispatcher: how bookings reach today's plan.
    pub dispatcher: Arc<dyn Dispatcher>,
    /// Rate limits and bounded work of every sign-in.
    pub sign_in: Arc<crate::throttle::SignInGuard>,
    /// The service configuration.
    pub config: Arc<Config>,
    /// Templates, messages and static files of the server-rendered pages.
    pub pages: Arc<crate::pages::Pages>,
    /// A fixed "now" for tests; `None` reads the system clock.
    pub fixed_now: Option<DateTime<Utc>>,
}

impl axum::extract::FromRef<AppState> for Arc<crate::pages::Pages> {
    fn from_ref(state: &AppState) -> Self {
        state.pages.clone()
    }
}

impl axum::extract::FromRef<AppState> for crate::throttle::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        Self(state.config.trusted_proxies.clone())
    }
}

impl AppState {
    /// Re-times a run that lost a request ([`Dispatcher::retime`]), once the caller's
    /// transaction has committed: what changed is already saved, so a failure is logged (`after`
    /// says what happened to the run) and the run keeps its times until its next change.
    pub async fn retime_logged(&self, run_id: RunId, after: &str) {
        if let Err(e) = self.dispatcher.retime(self, run_id).await {
            tracing::warn!(error = %e, %run_id, "could not re-time the run after {after}");
        }
    }

    /// The current time (fixed in tests).
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_now.unwrap_or_else(Utc::now)
    }

    /// The same state with a fixed clock (tests).
    #[must_use]
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.fixed_now = Some(now);
        self
    }

    /// The same state with other limits (timeouts, body size, sign-in limits); the sign-in
    /// limiters start afresh.
    #[must_use]
    pub fn with_limits(mut self, limits: crate::config::Limits) -> Self {
        let mut config = (*self.config).clone();
        config.limits = limits;
        self.sign_in = Arc::new(crate::throttle::SignInGuard::new(&config.limits));
        self.config = Arc::new(config);
        self
    }

    /// The same state with another configuration (the sign-in limiters start afresh).
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Self {
        self.sign_in = Arc::new(crate::throttle::SignInGuard::new(&config.limits));
        self.config = Arc::new(config);
        self
    }

    /// The same state with another travel-time provider (tests inject their own).
    #[must_use]
    pub fn with_travel(mut self, travel: Arc<dyn TravelTimes>) -> Self {
        self.travel = travel;
        self
    }
}
