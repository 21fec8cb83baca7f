//! From ride to records: a ride that happened (or was missed) is written once, with its actual
//! times, its road distance and its cost, and charged to the funding source the rules choose.
//!
//! Invariants:
//! - one `ride` row per ride request (`ride_request_id` is unique), and one ledger charge per
//!   ride (`external_ref = "ride:<ride_request_id>"`), so a retried upload changes nothing;
//! - a charge never goes over a cap: when the chosen source refuses, the transport fund is
//!   tried, and when that refuses too the ride is recorded *unfunded* (no funding source, cost
//!   kept) and logged: money never makes a driver's upload fail;
//! - a missed ride (no-show) costs nothing.
//!
//! This module holds the pure rules (cost, distance, funding choice); `db.rs` applies them and
//! `http.rs` shows a case's rides to the staff of its Polo.

pub mod db;
pub mod http;
pub mod retention;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bookings::RidePurpose;
use crate::budgets::BudgetArea;
use crate::places::PlaceKind;

/// What happened to a planned ride.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "ride_outcome", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RideOutcome {
    /// The rider was dropped off.
    Completed,
    /// The rider did not show up at the pickup.
    NoShow,
}

/// How the programme prices a ride (`programme_config.ride_cost_mode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "ride_cost_mode", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CostMode {
    /// A fixed base plus a price per kilometre of the ride.
    Tariff,
    /// A share of what the whole run cost.
    RunShare,
}

/// The tariff columns of `programme_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Tariff {
    /// Tariff or run share.
    pub ride_cost_mode: CostMode,
    /// Base price of a ride, cents.
    pub tariff_base_cents: i32,
    /// Price per kilometre, cents.
    pub tariff_per_km_cents: i32,
    /// What a missed ride (no-show) costs, cents; 0 unless the programme decides otherwise.
    pub no_show_charge_cents: i32,
}

/// Road detour factor applied to straight-line distances when no planned road distance exists.
pub const DETOUR_FACTOR: f64 = 1.3;

/// Road distance of one ride, metres.
///
/// `between_m` is the straight-line length of the run's legs from the pickup stop to the
/// drop-off stop, `run_straight_m` that of all the run's legs, `run_planned_m` the run's planned
/// road distance (0 when the planner gave none). With a planned figure the ride gets the share
/// of it that its legs have of the straight-line total (the planned road distance, split in
/// proportion); without one, the straight-line legs times [`DETOUR_FACTOR`].
///
/// ```
/// use dispatch::rides::ride_distance_m;
/// assert_eq!(ride_distance_m(10_000.0, 40_000.0, 60_000), 15_000);
/// assert_eq!(ride_distance_m(10_000.0, 40_000.0, 0), 13_000);
/// ```
#[must_use]
pub fn ride_distance_m(between_m: f64, run_straight_m: f64, run_planned_m: i32) -> i32 {
    let metres = if run_planned_m > 0 && run_straight_m > 0.0 {
        f64::from(run_planned_m) * (between_m / run_straight_m).clamp(0.0, 1.0)
    } else {
        between_m * DETOUR_FACTOR
    };
    to_i32(metres.round())
}

fn to_i32(x: f64) -> i32 {
    // Distances and shares here are far below i32::MAX; clamp instead of wrapping anyway.
    #[allow(clippy::cast_possible_truncation)]
    let v = x.clamp(0.0, f64::from(i32::MAX)) as i32;
    v
}

fn to_i64(x: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let v = x.clamp(0.0, 9.0e15) as i64;
    v
}

/// Cost of a ride at the programme's tariff: base + per-km price × km, rounded to the cent.
///
/// ```
/// use dispatch::rides::tariff_cost_cents;
/// assert_eq!(tariff_cost_cents(150, 30, 10_450), 150 + 314);
/// ```
#[must_use]
pub fn tariff_cost_cents(base_cents: i32, per_km_cents: i32, distance_m: i32) -> i64 {
    i64::from(base_cents)
        + to_i64((f64::from(per_km_cents) * f64::from(distance_m) / 1000.0).round())
}

/// What a run cost and how many riders it was planned for, to share the cost.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct RunCostBasis {
    /// Vehicle's price per km, cents.
    pub cost_per_km_cents: i32,
    /// Vehicle's price per hour, cents.
    pub cost_per_hour_cents: i32,
    /// Planned road distance of the run, metres.
    pub planned_distance_m: i32,
    /// From the first stop's planned arrival to the last stop's planned departure, seconds.
    pub planned_seconds: f64,
    /// Passengers of every request planned on the run (each request's `passengers`).
    pub planned_passengers: i64,
}

/// A rider's share of the run's cost:
/// `(cost_per_km × km + cost_per_hour × hours) × passengers / planned_passengers`, rounded to the
/// cent. The shares are of the riders *planned* on the run, so a share is known when the rider
/// is dropped off and does not change when someone later misses the ride (a no-show's share is
/// not moved onto the others).
///
/// ```
/// use dispatch::rides::{run_share_cents, RunCostBasis};
/// let run = RunCostBasis { cost_per_km_cents: 45, cost_per_hour_cents: 2200,
///     planned_distance_m: 40_000, planned_seconds: 7200.0, planned_passengers: 4 };
/// // 45 × 40 + 2200 × 2 = 6200 cents for the run; one passenger of four pays 1550.
/// assert_eq!(run_share_cents(&run, 1), 1550);
/// ```
#[must_use]
pub fn run_share_cents(run: &RunCostBasis, passengers: i16) -> i64 {
    if run.planned_passengers <= 0 {
        return 0;
    }
    let km = f64::from(run.planned_distance_m) / 1000.0;
    let hours = run.planned_seconds.max(0.0) / 3600.0;
    let total = f64::from(run.cost_per_km_cents) * km + f64::from(run.cost_per_hour_cents) * hours;
    #[allow(clippy::cast_precision_loss)]
    let share = total * f64::from(passengers) / run.planned_passengers as f64;
    to_i64(share.round())
}

/// Where a ride ends, as far as the funding rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// Kind of the place.
    pub kind: PlaceKind,
    /// Whether the place is a Polo's premises (within 150 m of a Polo).
    pub at_polo: bool,
}

/// What the funding rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingFacts {
    /// Why the person travelled.
    pub purpose: RidePurpose,
    /// The employer contribution of the work line the ride belongs to, if any.
    pub line_funding_source: Option<Uuid>,
    /// Where the ride ends.
    pub destination: Destination,
    /// Where the linked appointment is, if the request is linked to one.
    pub appointment_place: Option<Destination>,
}

/// The source the rules choose for a ride (before any fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingChoice {
    /// An employer's contribution to a work line.
    Employer(Uuid),
    /// An area of the person's Budget di Integrazione.
    Budget(BudgetArea),
    /// The region's transport fund.
    TransportFund,
}

/// The area of the integration budget that pays for a trip to an appointment at `d`, if any.
#[must_use]
pub fn appointment_area(d: Destination) -> Option<BudgetArea> {
    if d.at_polo {
        return Some(BudgetArea::IntegrationOrientation);
    }
    match d.kind {
        PlaceKind::Asl => Some(BudgetArea::SocialHealth),
        PlaceKind::JobCentre => Some(BudgetArea::ActiveLabour),
        PlaceKind::Questura | PlaceKind::Municipality | PlaceKind::OtherOffice => {
            Some(BudgetArea::IntegrationOrientation)
        }
        PlaceKind::Settlement | PlaceKind::Farm | PlaceKind::PackingHouse => None,
    }
}

/// The funding rules of issue #5:
/// - a work shift on a line with an employer contribution → that contribution;
/// - a work shift or a training → the person's budget, area active labour;
/// - an appointment → by where it is: ASL → social & health, job centre → active labour,
///   questura, town hall, other office or a Polo → integration & orientation;
/// - a return → like the outbound appointment when linked to one, otherwise the transport fund;
/// - anything else → the region's transport fund.
#[must_use]
pub fn choose_funding(f: &FundingFacts) -> FundingChoice {
    let by_place = |d: Destination| {
        appointment_area(d).map_or(FundingChoice::TransportFund, FundingChoice::Budget)
    };
    match f.purpose {
        RidePurpose::WorkShift => match f.line_funding_source {
            Some(src) => FundingChoice::Employer(src),
            None => FundingChoice::Budget(BudgetArea::ActiveLabour),
        },
        RidePurpose::Training => FundingChoice::Budget(BudgetArea::ActiveLabour),
        RidePurpose::Appointment => by_place(f.appointment_place.unwrap_or(f.destination)),
        RidePurpose::Return => f
            .appointment_place
            .map_or(FundingChoice::TransportFund, by_place),
        RidePurpose::Other => FundingChoice::TransportFund,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(kind: PlaceKind) -> Destination {
        Destination {
            kind,
            at_polo: false,
        }
    }

    fn facts(purpose: RidePurpose, destination: Destination) -> FundingFacts {
        FundingFacts {
            purpose,
            line_funding_source: None,
            destination,
            appointment_place: None,
        }
    }

    #[test]
    fn the_funding_rules_choose_the_source_of_issue_5() {
        use BudgetArea::{ActiveLabour, IntegrationOrientation, SocialHealth};
        use FundingChoice::{Budget, TransportFund};
        use PlaceKind::{Asl, Farm, JobCentre, Municipality, OtherOffice, Questura, Settlement};
        let polo = Destination {
            kind: Settlement,
            at_polo: true,
        };
        let cases = [
            (RidePurpose::WorkShift, at(Farm), Budget(ActiveLabour)),
            (RidePurpose::Training, at(OtherOffice), Budget(ActiveLabour)),
            (RidePurpose::Appointment, at(Asl), Budget(SocialHealth)),
            (
                RidePurpose::Appointment,
                at(JobCentre),
                Budget(ActiveLabour),
            ),
            (
                RidePurpose::Appointment,
                at(Questura),
                Budget(IntegrationOrientation),
            ),
            (
                RidePurpose::Appointment,
                at(Municipality),
                Budget(IntegrationOrientation),
            ),
            (
                RidePurpose::Appointment,
                at(OtherOffice),
                Budget(IntegrationOrientation),
            ),
            (
                RidePurpose::Appointment,
                polo,
                Budget(IntegrationOrientation),
            ),
            (RidePurpose::Appointment, at(Farm), TransportFund),
            (RidePurpose::Return, at(Settlement), TransportFund),
            (RidePurpose::Other, at(Asl), TransportFund),
        ];
        for (purpose, dest, want) in cases {
            assert_eq!(
                choose_funding(&facts(purpose, dest)),
                want,
                "{purpose:?} to {dest:?}"
            );
        }
    }

    #[test]
    fn a_work_shift_on_a_line_with_an_employer_contribution_charges_the_employer() {
        let src = Uuid::new_v4();
        let f = FundingFacts {
            line_funding_source: Some(src),
            ..facts(RidePurpose::WorkShift, at(PlaceKind::Farm))
        };
        assert_eq!(choose_funding(&f), FundingChoice::Employer(src));
    }

    #[test]
    fn a_return_from_an_appointment_is_paid_like_the_appointment() {
        let f = FundingFacts {
            appointment_place: Some(at(PlaceKind::Asl)),
            ..facts(RidePurpose::Return, at(PlaceKind::Settlement))
        };
        assert_eq!(
            choose_funding(&f),
            FundingChoice::Budget(BudgetArea::SocialHealth)
        );
    }

    #[test]
    fn an_appointment_uses_the_appointments_place_when_linked() {
        let f = FundingFacts {
            appointment_place: Some(at(PlaceKind::JobCentre)),
            ..facts(RidePurpose::Appointment, at(PlaceKind::Asl))
        };
        assert_eq!(
            choose_funding(&f),
            FundingChoice::Budget(BudgetArea::ActiveLabour)
        );
    }

    #[test]
    fn distances_use_the_planned_road_figure_when_there_is_one() {
        assert_eq!(ride_distance_m(5_000.0, 20_000.0, 30_000), 7_500);
        assert_eq!(ride_distance_m(5_000.0, 0.0, 30_000), 6_500);
        assert_eq!(ride_distance_m(5_000.0, 20_000.0, 0), 6_500);
        assert_eq!(ride_distance_m(0.0, 0.0, 0), 0);
    }

    #[test]
    fn the_tariff_rounds_to_the_cent() {
        assert_eq!(tariff_cost_cents(150, 30, 0), 150);
        assert_eq!(tariff_cost_cents(150, 30, 1_016), 150 + 30);
        assert_eq!(tariff_cost_cents(150, 30, 1_017), 150 + 31);
        assert_eq!(tariff_cost_cents(0, 0, 50_000), 0);
    }

    #[test]
    fn a_run_share_splits_by_planned_passengers_and_survives_an_empty_run() {
        let run = RunCostBasis {
            cost_per_km_cents: 80,
            cost_per_hour_cents: 3_200,
            planned_distance_m: 25_000,
            planned_seconds: 5_400.0,
            planned_passengers: 6,
        };
        // 80 × 25 + 3200 × 1.5 = 6800; two of six passengers: 2266.67 → 2267.
        assert_eq!(run_share_cents(&run, 2), 2_267);
        let empty = RunCostBasis {
            planned_passengers: 0,
            ..run
        };
        assert_eq!(run_share_cents(&empty, 1), 0);
    }
}
