//! People and their cases (presa in carico). Case data is readable only by staff of the case's
//! Polo, and every read writes an audit row in the same transaction.

pub mod db;
pub mod http;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::non_blank;

/// State of a case.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "case_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Followed.
    Open,
    /// Paused.
    Suspended,
    /// Ended.
    Closed,
}

/// How the person reached the programme.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "arrival_channel", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ArrivalChannel {
    /// Met by an outreach team.
    Outreach,
    /// Came to a help desk.
    Helpdesk,
    /// Came to the Polo directly.
    DirectAccess,
    /// Sent by social services.
    SocialServices,
    /// Sent by another project.
    OtherProject,
}

/// A person and the case opened for them at the caller's Polo.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    /// The name the person wants to be called by (no documents are stored).
    pub known_as: String,
    /// Preferred languages, e.g. `["en", "fr", "wo"]`.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Travels in a wheelchair.
    #[serde(default)]
    pub wheelchair: bool,
    /// Needs help getting on and off.
    #[serde(default)]
    pub reduced_mobility: bool,
    /// How the person arrived.
    pub arrival_channel: ArrivalChannel,
    /// Day the case was opened.
    pub opened_on: NaiveDate,
    /// Case worker; defaults to the caller when the caller is a case worker.
    pub case_worker_id: Option<Uuid>,
    /// Reference of the individual plan (PAI).
    pub pai_reference: Option<String>,
}

impl NewCase {
    /// Checks every field.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(mut self) -> AppResult<Self> {
        self.known_as = non_blank("known_as", &self.known_as)?;
        for (i, l) in self.languages.iter_mut().enumerate() {
            let t = l.trim().to_ascii_lowercase();
            if !(2..=3).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(AppError::invalid(
                    format!("languages.{i}"),
                    "use an ISO 639 code such as \"en\", \"fr\" or \"wol\"",
                ));
            }
            *l = t;
        }
        Ok(self)
    }
}

/// A status change.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    /// New status.
    pub status: CaseStatus,
    /// Closing day, required with `closed`.
    pub closed_on: Option<NaiveDate>,
}

/// A case as its Polo sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseView {
    /// Region.
    pub region_code: String,
    /// Case id.
    pub case_id: Uuid,
    /// Person id.
    pub person_id: Uuid,
    /// Polo.
    pub polo_id: Uuid,
    /// Case worker.
    pub case_worker_id: Uuid,
    /// Case worker's name.
    pub case_worker_name: String,
    /// Status.
    pub status: CaseStatus,
    /// Arrival channel.
    pub arrival_channel: ArrivalChannel,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// PAI reference.
    pub pai_reference: Option<String>,
    /// Name the person is called by.
    pub known_as: String,
    /// Languages.
    pub languages: Vec<String>,
    /// Wheelchair.
    pub wheelchair: bool,
    /// Reduced mobility.
    pub reduced_mobility: bool,
}

/// One read of a case, from the audit trail.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseAccess {
    /// Who read it.
    pub staff_id: Uuid,
    /// Their login.
    pub username: String,
    /// Why.
    pub purpose: String,
    /// When.
    pub accessed_at: chrono::DateTime<chrono::Utc>,
}
