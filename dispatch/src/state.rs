//! Shared state handed to every handler.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;

/// What handlers share: the database pool and the configuration.
#[derive(Clone)]
pub struct AppState {
    /// Connection pool to PostgreSQL/PostGIS.
    pub db: PgPool,
    /// The service configuration.
    pub config: Arc<Config>,
}

impl AppState {
    /// Builds the state from a pool and a configuration.
    #[must_use]
    pub fn new(db: PgPool, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
        }
    }
}
