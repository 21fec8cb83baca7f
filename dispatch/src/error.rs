//! The one error type of the HTTP service, and the only place HTTP statuses are chosen.
//!
//! Expected failures name the offending field; unexpected ones are opaque to the client and
//! logged once with their cause chain.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Errors a request can end with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is malformed or breaks a rule; `field` is a dotted path into the body or query.
    #[error("{field}: {message}")]
    Validation {
        /// Dotted path of the field, e.g. `location.lat`.
        field: String,
        /// What is wrong and what would be accepted.
        message: String,
    },
    /// No login, or an expired one.
    #[error("authentication required")]
    Unauthorized,
    /// Logged in, but this role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Not found, or not visible to the caller (the two are not told apart on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (a cap, a duplicate, a full line).
    #[error("{message}")]
    Conflict {
        /// Machine-readable reason, e.g. `over_cap`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// A conflict that also says what the client could do instead (a full line names other
    /// lines and its next free day); `details` are added to the error object next to `code`
    /// and `message`.
    #[error("{message}")]
    ConflictWith {
        /// Machine-readable reason, e.g. `line_full`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
        /// Extra members of the error object (boxed to keep the error small).
        details: Box<serde_json::Map<String, serde_json::Value>>,
    },
    /// Too many attempts (logins, sign-in codes): try again after `retry_after_s` seconds.
    #[error("{message}")]
    TooManyRequests {
        /// What was limited.
        message: String,
        /// Seconds to wait (also sent as `Retry-After`).
        retry_after_s: u64,
    },
    /// The client did not send its body within the body read timeout.
    #[error("the body did not arrive in time")]
    RequestTimeout,
    /// The body is larger than the service accepts.
    #[error("the body is larger than {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// The service cannot answer now (the database is unreachable, or too busy to lend a
    /// connection within the acquire timeout); retry later.
    #[error("{0}")]
    Unavailable(&'static str),
    /// A database failure that is not an expected constraint.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Result of a handler or a service function.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A conflict with a machine-readable code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A conflict with a machine-readable code and extra members for the error object; a
    /// `details` that is not a JSON object is put under `details`.
    pub fn conflict_with(
        code: &'static str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        let details = match details {
            serde_json::Value::Object(map) => map,
            other => std::iter::once(("details".to_owned(), other)).collect(),
        };
        Self::ConflictWith {
            code,
            message: message.into(),
            details: Box::new(details),
        }
    }

    /// The HTTP status this error is answered with (HTML pages show it too).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } | Self::ConflictWith { code, .. } => {
                (StatusCode::CONFLICT, code)
            }
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Sqlx(e) if database_unreachable(e) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            Self::Sqlx(_) | Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Whether a database error means the database cannot be reached now (as opposed to a query
/// that failed): no connection within the pool's acquire timeout, a refused or broken
/// connection, a server shutting down. Such a request ends with a fast 503.
#[must_use]
pub fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) => true,
        // 57P01..57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P0") || c.starts_with("08")),
        _ => false,
    }
}

/// Maps a database constraint violation to a client error when it is an expected one.
///
/// Call it on a `sqlx::Error` where a constraint (unique, check, foreign key, or the ledger's
/// cap trigger) can legitimately fire because of what the client sent.
pub fn on_constraint(err: sqlx::Error) -> AppError {
    let Some(db) = err.as_database_error() else {
        return err.into();
    };
    let constraint = db.constraint().unwrap_or_default().to_owned();
    let message = db.message().to_owned();
    match constraint.as_str() {
        "ledger_entry_within_cap"
        | "ledger_entry_within_area_cap"
        | "ledger_entry_within_person_monthly_cap" => AppError::conflict("over_cap", message),
        "ledger_entry_in_period" => AppError::invalid("occurred_on", message),
        "ledger_correction_reverses" | "ledger_correction_within_entry" => {
            AppError::invalid("amount_cents", message)
        }
        "ledger_correction_same_source"
        | "ledger_correction_of_charge"
        | "ledger_correction_matches_charge" => AppError::invalid("corrects_entry_id", message),
        "plan_job_one_active_per_day" => AppError::conflict(
            "plan_running",
            "a plan of this region and day is already queued or running; wait for it to finish",
        ),
        "ledger_entry_area_required" => AppError::invalid("area", message),
        "ledger_entry_person_required" => AppError::invalid("person_id", message),
        "staff_username_key" => AppError::conflict("duplicate", "this username is taken"),
        "vehicle_region_code_label_key" => AppError::conflict(
            "duplicate",
            "a vehicle with this label exists in the region",
        ),
        c if c.ends_with("_fkey") => AppError::invalid(
            fk_field(c),
            format!("refers to something that does not exist ({c})"),
        ),
        _ => err.into(),
    }
}

/// Best guess of the body field behind a foreign key name such as `place_region_code_fkey`.
fn fk_field(constraint: &str) -> String {
    let trimmed = constraint.trim_end_matches("_fkey");
    for field in [
        "region_code",
        "polo_id",
        "hub_polo_id",
        "place_id",
        "person_id",
        "case_worker_id",
        "corrects_entry_id",
    ] {
        if trimmed.ends_with(field) {
            return field.to_owned();
        }
    }
    trimmed.to_owned()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = match &self {
            Self::Validation { field, message } => {
                json!({ "error": { "code": code, "field": field, "message": message } })
            }
            Self::ConflictWith {
                message, details, ..
            } => {
                let mut error = serde_json::Map::new();
                error.insert("code".into(), json!(code));
                error.insert("message".into(), json!(message));
                for (k, v) in details.iter() {
                    error.entry(k.clone()).or_insert_with(|| v.clone());
                }
                json!({ "error": error })
            }
            Self::TooManyRequests {
                message,
                retry_after_s,
            } => {
                let body = json!({ "error": { "code": code, "message": message, "retry_after_s": retry_after_s } });
                let mut res = (status, Json(body)).into_response();
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(*retry_after_s),
                );
                return res;
            }
            Self::Sqlx(e) if database_unreachable(e) => {
                tracing::warn!(error = %e, "database unreachable: answering 503");
                let body = json!({ "error": { "code": code, "message": "the database is unreachable; try again shortly" } });
                let mut res = (status, Json(body)).into_response();
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
                return res;
            }
            Self::Sqlx(e) => {
                tracing::error!(error = ?e, "database error");
                json!({ "error": { "code": code, "message": "internal error; it has been logged" } })
            }
            Self::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                json!({ "error": { "code": code, "message": "internal error; it has been logged" } })
            }
            other => json!({ "error": { "code": code, "message": other.to_string() } }),
        };
        (status, Json(body)).into_response()
    }
}
