//! Ride requests: who travels, from where to where, when, and what happened to the request.
//!
//! Owns `ride_request`, `ride_request_event`, `ride_recurrence` and `appointment`, and the
//! request's state machine ([`RideStatus`]): every change of status, run or promised time goes
//! through `db.rs` here ([`db::set_status`], [`db::confirm`], [`db::unassign`], ...), whoever
//! asks (planning, live insertion, drivers' reports, work lines). Bookings reach planning only
//! through [`crate::state::Dispatcher`]; this module never imports `runs`.
//!
//! Invariants: a request belongs to a case (and so to a Polo); it has at least one of
//! `earliest_pickup` / `latest_arrival`; every status change is appended to
//! `ride_request_event` with who made it and why.

pub mod db;
pub mod http;

use serde::{Deserialize, Serialize};

/// Why the person travels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
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
        matches!(
            self,
            Self::Cancelled | Self::Refused | Self::Completed | Self::NoShow
        )
    }
}

/// Who booked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
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

use chrono::{NaiveDate, NaiveTime};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::LonLat;

/// One end of a trip as a client gives it: exactly one of a place, a meeting point, or a
/// position (snapped to the nearest meeting point of the service area that contains it).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// A place (farm, office, settlement...).
    pub place_id: Option<Uuid>,
    /// A meeting point of a settlement.
    pub meeting_point_id: Option<Uuid>,
    /// A raw position.
    pub position: Option<LonLat>,
}

/// Where an endpoint resolved to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Resolved {
    /// The place.
    pub place_id: Uuid,
    /// The meeting point, if any.
    pub meeting_point_id: Option<Uuid>,
    /// Name to show.
    pub name: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// How far a given position was moved to reach the meeting point, metres.
    pub snapped_m: Option<f64>,
}

/// A weekly repetition of a booking.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Recurrence {
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub weekdays: Vec<i16>,
    /// Last day (inclusive); at most a year after the first.
    pub until: NaiveDate,
}

/// A ride request as a client sends it. Times are local (Europe/Rome) times of `service_date`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewRideRequest {
    /// The case of the person travelling.
    pub case_id: Uuid,
    /// Why.
    pub purpose: RidePurpose,
    /// Day of travel (first day of a recurrence).
    pub service_date: NaiveDate,
    /// Where from.
    pub pickup: Endpoint,
    /// Where to.
    pub dropoff: Endpoint,
    /// Not picked up before, `HH:MM`.
    pub earliest_pickup: Option<NaiveTime>,
    /// At the destination by, `HH:MM`.
    pub latest_arrival: Option<NaiveTime>,
    /// People travelling together (the person included).
    #[serde(default = "one")]
    pub passengers: i16,
    /// Travels in a wheelchair; defaults to the person's record.
    pub wheelchair: Option<bool>,
    /// Repeat weekly.
    pub recurrence: Option<Recurrence>,
}

/// How long after its earliest pickup a ride may still start, seconds (the planner's
/// pickup window): a booking for today whose window has closed is refused.
pub const PICKUP_SLACK_S: i64 = 20 * 60;

fn one() -> i16 {
    1
}

impl NewRideRequest {
    /// Checks the fields that need no database.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(&self) -> AppResult<()> {
        for (field, ep) in [("pickup", &self.pickup), ("dropoff", &self.dropoff)] {
            let given = [
                ep.place_id.is_some(),
                ep.meeting_point_id.is_some(),
                ep.position.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if given != 1 {
                return Err(AppError::invalid(
                    field,
                    "give exactly one of place_id, meeting_point_id, position",
                ));
            }
            if let Some(p) = ep.position {
                p.validate(&format!("{field}.position"))?;
            }
        }
        match (self.earliest_pickup, self.latest_arrival) {
            (None, None) => {
                return Err(AppError::invalid(
                    "earliest_pickup",
                    "give earliest_pickup, latest_arrival, or both",
                ))
            }
            (Some(e), Some(l)) if l <= e => {
                return Err(AppError::invalid(
                    "latest_arrival",
                    "must be after earliest_pickup",
                ))
            }
            _ => {}
        }
        if !(1..=20).contains(&self.passengers) {
            return Err(AppError::invalid("passengers", "1..20"));
        }
        if let Some(r) = &self.recurrence {
            if r.weekdays.is_empty() || r.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                return Err(AppError::invalid(
                    "recurrence.weekdays",
                    "ISO weekdays 1 (Monday) .. 7 (Sunday)",
                ));
            }
            if r.until < self.service_date {
                return Err(AppError::invalid("recurrence.until", "before service_date"));
            }
            if (r.until - self.service_date).num_days() > 366 {
                return Err(AppError::invalid(
                    "recurrence.until",
                    "at most a year ahead",
                ));
            }
        }
        Ok(())
    }

    /// Checks the times against the service's clock: no day before today, none more than a
    /// year ahead, and for today no window that has already passed.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn check_times(&self, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
        let today = crate::service_day::day_of(now);
        if self.service_date < today {
            return Err(AppError::invalid(
                "service_date",
                format!(
                    "{} is in the past: book for today ({today}) or later",
                    self.service_date
                ),
            ));
        }
        if (self.service_date - today).num_days() > 366 {
            return Err(AppError::invalid("service_date", "at most a year ahead"));
        }
        if self.service_date == today {
            let now_local = crate::service_day::local(now).time();
            if self.latest_arrival.is_some_and(|l| l <= now_local) {
                return Err(AppError::invalid(
                    "latest_arrival",
                    "already past: no vehicle can arrive by then",
                ));
            }
            let slack = chrono::Duration::seconds(crate::bookings::PICKUP_SLACK_S);
            if self.latest_arrival.is_none()
                && self.earliest_pickup.is_some_and(|e| e + slack < now_local)
            {
                return Err(AppError::invalid(
                    "earliest_pickup",
                    "already past: book from now on",
                ));
            }
        }
        Ok(())
    }

    /// The days this booking covers: `service_date`, or every matching weekday of the recurrence.
    #[must_use]
    pub fn days(&self) -> Vec<NaiveDate> {
        use chrono::Datelike;
        match &self.recurrence {
            None => vec![self.service_date],
            Some(r) => self
                .service_date
                .iter_days()
                .take_while(|d| *d <= r.until)
                .filter(|d| {
                    r.weekdays
                        .contains(&i16::try_from(d.weekday().number_from_monday()).unwrap_or(0))
                })
                .collect(),
        }
    }
}

/// A ride request as staff of its Polo see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RideRequestView {
    /// Region.
    pub region_code: String,
    /// Id.
    pub ride_request_id: Uuid,
    /// Case.
    pub case_id: Uuid,
    /// Name the person is called by.
    pub known_as: String,
    /// Purpose.
    pub purpose: RidePurpose,
    /// Day.
    pub service_date: NaiveDate,
    /// Pickup place.
    pub pickup_place_id: Uuid,
    /// Pickup meeting point.
    pub pickup_meeting_point_id: Option<Uuid>,
    /// Pickup name.
    pub pickup_name: String,
    /// Drop-off place.
    pub dropoff_place_id: Uuid,
    /// Drop-off name.
    pub dropoff_name: String,
    /// Earliest pickup.
    pub earliest_pickup: Option<chrono::DateTime<chrono::Utc>>,
    /// Latest arrival.
    pub latest_arrival: Option<chrono::DateTime<chrono::Utc>>,
    /// Passengers.
    pub passengers: i16,
    /// Wheelchair.
    pub wheelchair: bool,
    /// Status.
    pub status: RideStatus,
    /// Who booked.
    pub booked_channel: BookingChannel,
    /// Appointment.
    pub appointment_id: Option<Uuid>,
    /// Recurrence.
    pub recurrence_id: Option<Uuid>,
    /// Run.
    pub run_id: Option<Uuid>,
    /// Promised pickup time.
    pub promised_pickup_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One entry of a request's status history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StatusEvent {
    /// Status.
    pub status: RideStatus,
    /// Why.
    pub reason: Option<String>,
    /// Who.
    pub changed_by: Option<Uuid>,
    /// When.
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> NewRideRequest {
        NewRideRequest {
            case_id: Uuid::nil(),
            purpose: RidePurpose::WorkShift,
            service_date: "2026-11-23".parse().unwrap(),
            pickup: Endpoint {
                place_id: Some(Uuid::nil()),
                meeting_point_id: None,
                position: None,
            },
            dropoff: Endpoint {
                place_id: Some(Uuid::nil()),
                meeting_point_id: None,
                position: None,
            },
            earliest_pickup: Some("05:00".parse().unwrap()),
            latest_arrival: None,
            passengers: 1,
            wheelchair: None,
            recurrence: None,
        }
    }

    fn field(r: AppResult<()>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_endpoint_must_be_exactly_one_thing() {
        let mut r = req();
        r.pickup.meeting_point_id = Some(Uuid::nil());
        assert_eq!(field(r.validate()), "pickup");
        let mut r = req();
        r.dropoff.place_id = None;
        assert_eq!(field(r.validate()), "dropoff");
    }

    #[test]
    fn a_request_needs_a_time_and_an_arrival_after_the_pickup() {
        let mut r = req();
        r.earliest_pickup = None;
        assert_eq!(field(r.validate()), "earliest_pickup");
        let mut r = req();
        r.latest_arrival = Some("04:00".parse().unwrap());
        assert_eq!(field(r.validate()), "latest_arrival");
    }

    #[test]
    fn a_weekday_recurrence_covers_the_matching_days_only() {
        let mut r = req();
        // 2026-11-23 is a Monday; Mondays and Wednesdays for two weeks.
        r.recurrence = Some(Recurrence {
            weekdays: vec![1, 3],
            until: "2026-12-06".parse().unwrap(),
        });
        let days: Vec<String> = r.days().iter().map(ToString::to_string).collect();
        assert_eq!(
            days,
            ["2026-11-23", "2026-11-25", "2026-11-30", "2026-12-02"]
        );
        r.recurrence = Some(Recurrence {
            weekdays: vec![8],
            until: "2026-12-06".parse().unwrap(),
        });
        assert_eq!(field(r.validate()), "recurrence.weekdays");
    }

    #[test]
    fn final_statuses_are_final() {
        assert!(RideStatus::Completed.is_final() && RideStatus::Cancelled.is_final());
        assert!(!RideStatus::Confirmed.is_final());
    }
}
