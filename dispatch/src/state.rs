//! Shared state handed to every handler.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use routing::travel::{osrm_with_fallback, Calibration, FallbackModel, OsrmConfig, TravelTimes};
use sqlx::PgPool;

use crate::config::Config;

/// What handlers share: the database pool, the travel-time provider and the configuration.
#[derive(Clone)]
pub struct AppState {
    /// Connection pool to PostgreSQL/PostGIS.
    pub db: PgPool,
    /// Road travel times: OSRM with the calibrated fallback model, behind a cache; the model
    /// alone when no OSRM is configured.
    pub travel: Arc<dyn TravelTimes>,
    /// The service configuration.
    pub config: Arc<Config>,
    /// A fixed "now" for tests; `None` reads the system clock.
    pub fixed_now: Option<DateTime<Utc>>,
}

impl AppState {
    /// Builds the state; the travel-time provider follows `config.osrm_url`.
    ///
    /// # Panics
    /// When the OSRM URL cannot be used to build a client (checked at start).
    #[must_use]
    pub fn new(db: PgPool, config: Config) -> Self {
        let model = FallbackModel::new(Calibration::rural());
        // OSRM answers are cached by snapped location; estimates are cheap and never cached,
        // so a day planned on estimates asks OSRM again once it is back.
        let travel: Arc<dyn TravelTimes> = match &config.osrm_url {
            Some(url) => Arc::new(
                osrm_with_fallback(OsrmConfig::new(url.clone()), model)
                    .expect("OSRM URL checked at start"),
            ),
            None => Arc::new(model),
        };
        Self {
            db,
            travel,
            config: Arc::new(config),
            fixed_now: None,
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

    /// The same state with another travel-time provider (tests inject their own).
    #[must_use]
    pub fn with_travel(mut self, travel: Arc<dyn TravelTimes>) -> Self {
        self.travel = travel;
        self
    }
}
