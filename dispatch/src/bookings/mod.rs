//! Ride requests: who travels, from where to where, when, and what happened to the request.
//!
//! Invariants: a request belongs to a case (and so to a Polo); it has at least one of
//! `earliest_pickup` / `latest_arrival`; every status change is appended to
//! `ride_request_event` with who made it and why.

pub mod db;

use serde::{Deserialize, Serialize};

/// Why the person travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "ride_purpose", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RidePurpose {
    /// To a work shift.
    WorkShift,
    /// To an appointment at a Polo or an office.
    Appointment,
    /// Back home.
    Return,
    /// To a training course.
    Training,
    /// Anything else.
    Other,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "ride_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RideStatus {
    /// Booked, not yet planned.
    Requested,
    /// In a plan, time not yet promised.
    Planned,
    /// The rider has a promised pickup time.
    Confirmed,
    /// Cancelled by the rider or staff.
    Cancelled,
    /// Could not be served.
    Refused,
    /// Dropped off.
    Completed,
    /// The rider did not show up.
    NoShow,
}

impl RideStatus {
    /// Whether no further change is possible.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::Cancelled | Self::Refused | Self::Completed | Self::NoShow)
    }
}

/// Who booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "booking_channel", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BookingChannel {
    /// The worker themself.
    #[serde(rename = "self")]
    #[sqlx(rename = "self")]
    SelfBooked,
    /// A Polo coordinator.
    Coordinator,
    /// The case worker.
    CaseWorker,
    /// A cultural mediator.
    Mediator,
}
