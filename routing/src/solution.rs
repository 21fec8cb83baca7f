//! What the solver returns: one route per used vehicle with its full schedule, the unserved
//! requests with a reason, and the objective levels.
//!
//! A [`Solution`] is plain data: [`crate::check::check`] verifies it against the problem
//! without trusting any number the solver computed.

use serde::{Deserialize, Serialize};

/// Which end of a request a stop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// Passengers board.
    Pickup,
    /// Passengers alight.
    Delivery,
    /// A single-stop job; the stop's `request` is then the index in
    /// [`crate::model::Problem::jobs`].
    Job,
}

/// One stop of a route with its schedule (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledStop {
    /// Request index in the problem.
    pub request: usize,
    /// Pickup or drop-off.
    pub kind: StopKind,
    /// When the vehicle gets there.
    pub arrival: f64,
    /// When service starts (`>= arrival`; the difference is waiting).
    pub service_start: f64,
}

/// A driver's break taken on a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledBreak {
    /// Index of the break in the vehicle's `breaks`.
    pub index: usize,
    /// Stops of the route before it (0: at the start, before the first stop); the break is
    /// taken at the location of the stop before it.
    pub after: usize,
    /// When it starts.
    pub start: f64,
}

/// The route of one vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Vehicle index in the problem.
    pub vehicle: usize,
    /// When the vehicle leaves its start location.
    pub start_time: f64,
    /// The stops, in visiting order.
    pub stops: Vec<ScheduledStop>,
    /// When the vehicle reaches its end location (or finishes its last stop if it has none).
    pub end_time: f64,
    /// Metres driven.
    pub distance: f64,
    /// Seconds driven (travel only).
    pub travel_time: f64,
    /// Route cost: distance and time costs plus the vehicle's fixed cost.
    pub cost: f64,
    /// The driver's breaks, in the order taken (every break of the vehicle).
    #[serde(default)]
    pub breaks: Vec<ScheduledBreak>,
}

/// Why a request was left unserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnservedReason {
    /// No vehicle has the skills, the capacity, or is the pinned vehicle.
    NoCompatibleVehicle,
    /// A stop cannot be reached from (or back to) the depots of any compatible vehicle.
    UnreachableLocation,
    /// Even the direct trip from pickup to drop-off exceeds the maximum ride time.
    RideTimeImpossible,
    /// No compatible vehicle can meet the time windows, even with an otherwise empty route.
    TimeWindowUnreachable,
    /// Possible alone, but the fleet is fully used by other requests.
    NotEnoughFleet,
    /// The time limit ran out while the first plan was being built, before this request's
    /// turn came (a very short limit for a big day): it may well fit, given more time.
    TimeLimit,
}

/// A request that is not in any route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unserved {
    /// Request index in the problem.
    pub request: usize,
    /// Why.
    pub reason: UnservedReason,
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Solution {
    /// Routes of the used vehicles (no empty routes).
    pub routes: Vec<Route>,
    /// Requests left out, with a reason.
    pub unserved: Vec<Unserved>,
    /// Jobs left out (`request` is then the job index), with a reason.
    #[serde(default)]
    pub unserved_jobs: Vec<Unserved>,
}

impl Solution {
    /// Number of used vehicles.
    #[must_use]
    pub fn vehicles(&self) -> usize {
        self.routes.len()
    }

    /// Total cost of the routes (distance, time and fixed costs; no penalties).
    #[must_use]
    pub fn cost(&self) -> f64 {
        self.routes.iter().map(|r| r.cost).sum()
    }

    /// Total distance of the routes, metres.
    #[must_use]
    pub fn distance(&self) -> f64 {
        self.routes.iter().map(|r| r.distance).sum()
    }
}
