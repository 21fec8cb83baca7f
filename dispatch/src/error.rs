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

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } | Self::ConflictWith { code, .. } => {
                (StatusCode::CONFLICT, code)
            }
            Self::Sqlx(_) | Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
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
