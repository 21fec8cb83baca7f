//! The dial-a-ride problem as the solver sees it: requests (pickup + drop-off pairs),
//! vehicles, and the hierarchical objective.
//!
//! Invariants, enforced by constructors: a [`TimeWindow`] is never inverted or NaN; a [`Load`]
//! cannot go negative (its entries are unsigned); a [`Problem`] only holds requests and vehicles
//! whose loads have the same number of dimensions, positive service-free quantities, and valid
//! cost coefficients. Locations are indices into the [`crate::matrix::Matrix`] the problem is
//! solved with; [`Problem::validate_against`] checks them.
//!
//! Units: times are seconds (`f64`, benchmark instances use unrounded Euclidean values),
//! distances metres, costs are unit-less.

use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;

/// Seconds, as `f64`.
pub type Seconds = f64;

/// Error building a model value or a [`Problem`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A time window whose start is after its end, or with a NaN bound.
    #[error("time window [{start}, {end}] is inverted or not a number")]
    InvalidWindow {
        /// Start (earliest service start), seconds.
        start: f64,
        /// End (latest service start), seconds.
        end: f64,
    },
    /// A request or vehicle is inconsistent; `what` says which one and why.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// E.g. `request 3` or `vehicle 0`.
        what: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Interval `[start, end]` in which service may *start*; waiting before `start` is allowed.
///
/// ```
/// use routing::model::TimeWindow;
/// assert!(TimeWindow::new(10.0, 5.0).is_err());
/// let w = TimeWindow::new(0.0, 60.0).unwrap();
/// assert_eq!((w.start(), w.end()), (0.0, 60.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeWindow {
    start: Seconds,
    end: Seconds,
}

impl TimeWindow {
    /// A window `[start, end]`; `end` may be [`f64::INFINITY`] (no deadline).
    ///
    /// # Errors
    /// [`ModelError::InvalidWindow`] when `start > end`, either bound is NaN, or `start` is
    /// infinite.
    pub fn new(start: Seconds, end: Seconds) -> Result<Self, ModelError> {
        if start.is_nan() || end.is_nan() || start > end || !start.is_finite() {
            return Err(ModelError::InvalidWindow { start, end });
        }
        Ok(Self { start, end })
    }

    /// The unconstrained window `[0, ∞)`.
    #[must_use]
    pub const fn any() -> Self {
        Self {
            start: 0.0,
            end: f64::INFINITY,
        }
    }

    /// Earliest service start.
    #[must_use]
    pub fn start(&self) -> Seconds {
        self.start
    }

    /// Latest service start.
    #[must_use]
    pub fn end(&self) -> Seconds {
        self.end
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (start, end) = <(f64, f64)>::deserialize(d)?;
        TimeWindow::new(start, end).map_err(serde::de::Error::custom)
    }
}

/// A load or capacity in several dimensions (e.g. `[seats, wheelchair places]`); never negative.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Load(pub Vec<u32>);

impl Load {
    /// Whether `self` fits inside `capacity` in every dimension (missing dimensions are 0).
    #[must_use]
    pub fn fits_in(&self, capacity: &Load) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(k, &q)| q <= capacity.0.get(k).copied().unwrap_or(0))
    }
}

/// One stop of a request: where, when service may start, and how long it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Index of the location in the matrix.
    pub location: usize,
    /// When service may start.
    pub window: TimeWindow,
    /// Further windows in which service may start instead (VROOM's several `time_windows`
    /// per stop): service starts in `window` or in one of these. Usually empty.
    #[serde(default)]
    pub extra_windows: Vec<TimeWindow>,
    /// Service duration (boarding / alighting), seconds.
    pub service: Seconds,
}

impl Stop {
    /// A stop with one window.
    #[must_use]
    pub fn new(location: usize, window: TimeWindow, service: Seconds) -> Self {
        Stop {
            location,
            window,
            extra_windows: Vec::new(),
            service,
        }
    }

    /// Every window of the stop, sorted by start, overlapping ones merged.
    #[must_use]
    pub fn windows(&self) -> Vec<TimeWindow> {
        merge_windows(std::iter::once(self.window).chain(self.extra_windows.iter().copied()))
    }

    /// Whether service may start at `t` (with tolerance `eps`).
    #[must_use]
    pub fn allows(&self, t: Seconds, eps: f64) -> bool {
        std::iter::once(&self.window)
            .chain(&self.extra_windows)
            .any(|w| t >= w.start() - eps && t <= w.end() + eps)
    }
}

/// Windows sorted by start, overlapping or touching ones merged.
#[must_use]
pub fn merge_windows(windows: impl IntoIterator<Item = TimeWindow>) -> Vec<TimeWindow> {
    let mut ws: Vec<TimeWindow> = windows.into_iter().collect();
    ws.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<TimeWindow> = Vec::with_capacity(ws.len());
    for w in ws {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// A single-stop task (VROOM's `job`): served by one visit, with goods or passengers that
/// either were on board from the start of the route (`delivery`) or stay on board until its
/// end (`pickup`) — e.g. workers gathered along the way by a vehicle whose route ends at the
/// farm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Where and when.
    pub stop: Stop,
    /// Load taken on at the job and carried to the end of the route.
    pub pickup: Load,
    /// Load on board from the start of the route and left at the job.
    pub delivery: Load,
    /// Skills the vehicle must have.
    pub skills: Vec<u32>,
    /// If set, only this vehicle may serve the job.
    pub vehicle: Option<usize>,
}

/// A driver's break (VROOM's `breaks`): taken where the vehicle is (after a stop, or at the
/// start), starting within one of `windows`, lasting `service`. Every break of a used vehicle
/// must be taken (unless `skip_after_end` lets it go); an unused vehicle takes none.
///
/// The EU driving-time rule (a 45-minute break after 4 h 30 of driving) is expressed as a
/// window on the break, e.g. `[shift start + 2 h, shift start + 4 h 30]` with 2,700 s of service:
/// elapsed time bounds driving time, so the rule is then always met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Break {
    /// When the break may start (empty: any time in the shift).
    pub windows: Vec<TimeWindow>,
    /// Duration, seconds.
    pub service: Seconds,
    /// Most load on board during the break (e.g. `[0, 0]`: no passenger waits through it).
    pub max_load: Option<Load>,
    /// Not taken when the route is over (the vehicle at its end, or done with its last stop
    /// on an open route) by the end of the break's last window, i.e. before the break is due:
    /// breaks laid out over a whole shift then cost nothing to a vehicle that works only part
    /// of it. Not in VROOM's format.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_after_end: bool,
    /// Starts at most this long after the end of the vehicle's previous break, or, for its
    /// first break, after the route's start: the EU rule "45 minutes within 4 h 30 of
    /// driving" (elapsed time bounds driving time). With `skip_after_end` the break is left out
    /// when the route is over by then. Not in VROOM's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap: Option<Seconds>,
}

/// A ride request: one passenger group from `pickup` to `delivery`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Where and when the passengers board.
    pub pickup: Stop,
    /// Where and when they alight.
    pub delivery: Stop,
    /// Places taken on board between the two stops.
    pub load: Load,
    /// Maximum ride time, seconds from the *end* of service at the pickup to the *start* of
    /// service at the drop-off (the Cordeau DARP definition); `None` = unlimited.
    pub max_ride_time: Option<Seconds>,
    /// Skills the vehicle must have (e.g. a wheelchair lift); all must be present.
    pub skills: Vec<u32>,
    /// If set, only this vehicle (index into [`Problem::vehicles`]) may serve the request.
    pub vehicle: Option<usize>,
}

/// A vehicle with its shift and costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// Start location (matrix index).
    pub start: usize,
    /// End location; `None` = the route ends at its last drop-off.
    pub end: Option<usize>,
    /// Capacity per load dimension.
    pub capacity: Load,
    /// Shift: the route may not leave `start` before `shift.start()` nor reach the end after
    /// `shift.end()`.
    pub shift: TimeWindow,
    /// Maximum route duration (end time minus start time), seconds.
    pub max_duration: Option<Seconds>,
    /// Cost per metre driven.
    pub cost_per_distance: f64,
    /// Cost per second driven (travel time only; waiting and service are not charged).
    pub cost_per_time: f64,
    /// Cost for using the vehicle at all (added to the cost level of the objective).
    pub fixed_cost: f64,
    /// Skills the vehicle offers.
    pub skills: Vec<u32>,
    /// The driver's breaks, in the order they are taken.
    #[serde(default)]
    pub breaks: Vec<Break>,
}

impl Vehicle {
    /// A vehicle with distance cost 1, no time or fixed cost, no skills, no duration limit.
    #[must_use]
    pub fn new(start: usize, end: Option<usize>, capacity: Load, shift: TimeWindow) -> Self {
        Self {
            start,
            end,
            capacity,
            shift,
            max_duration: None,
            cost_per_distance: 1.0,
            cost_per_time: 0.0,
            fixed_cost: 0.0,
            skills: Vec::new(),
            breaks: Vec::new(),
        }
    }
}

/// Weights of the hierarchical objective `unserved, vehicles, cost`.
///
/// The solver minimises `unserved_weight * unserved + vehicle_weight * vehicles + cost`; the
/// defaults are large enough that one more served request always beats any number of
/// vehicles, and one vehicle less beats any cost saving on city-sized instances.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Penalty per unserved request.
    pub unserved_weight: f64,
    /// Penalty per used vehicle (on top of its `fixed_cost`).
    pub vehicle_weight: f64,
}

impl Default for Objective {
    fn default() -> Self {
        Self {
            unserved_weight: 1e9,
            vehicle_weight: 1e5,
        }
    }
}

/// A validated problem: requests, vehicles, objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    requests: Vec<Request>,
    jobs: Vec<Job>,
    vehicles: Vec<Vehicle>,
    objective: Objective,
    dims: usize,
}

impl Problem {
    /// Validates and builds a problem.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] when loads and capacities have different dimensions, a service
    /// time, ride time or cost is negative or NaN, or a request is pinned to a vehicle that
    /// does not exist.
    pub fn new(
        requests: Vec<Request>,
        vehicles: Vec<Vehicle>,
        objective: Objective,
    ) -> Result<Self, ModelError> {
        Self::with_jobs(requests, Vec::new(), vehicles, objective)
    }

    /// [`Problem::new`] with single-stop [`Job`]s besides the requests.
    ///
    /// # Errors
    /// As [`Problem::new`], also for jobs and breaks (loads of other dimensions, negative
    /// service, a pin to a missing vehicle).
    pub fn with_jobs(
        requests: Vec<Request>,
        jobs: Vec<Job>,
        vehicles: Vec<Vehicle>,
        objective: Objective,
    ) -> Result<Self, ModelError> {
        let dims = vehicles
            .first()
            .map(|v| v.capacity.0.len())
            .or_else(|| requests.first().map(|r| r.load.0.len()))
            .unwrap_or(0);
        let bad = |what: String, reason: &str| ModelError::Invalid {
            what,
            reason: reason.to_string(),
        };
        let nonneg = |x: f64| x.is_finite() && x >= 0.0;
        for (i, v) in vehicles.iter().enumerate() {
            if v.capacity.0.len() != dims {
                return Err(bad(format!("vehicle {i}"), "capacity dimensions differ"));
            }
            if !(nonneg(v.cost_per_distance) && nonneg(v.cost_per_time) && nonneg(v.fixed_cost)) {
                return Err(bad(format!("vehicle {i}"), "costs must be finite and >= 0"));
            }
            if v.max_duration.is_some_and(|d| d.is_nan() || d < 0.0) {
                return Err(bad(format!("vehicle {i}"), "max_duration must be >= 0"));
            }
            for b in &v.breaks {
                if !nonneg(b.service) {
                    return Err(bad(format!("vehicle {i}"), "break service must be >= 0"));
                }
                if b.max_load.as_ref().is_some_and(|l| l.0.len() != dims) {
                    return Err(bad(
                        format!("vehicle {i}"),
                        "break max_load dimensions differ from capacity",
                    ));
                }
            }
        }
        for (i, j) in jobs.iter().enumerate() {
            if j.pickup.0.len() != dims || j.delivery.0.len() != dims {
                return Err(bad(
                    format!("job {i}"),
                    "pickup/delivery dimensions differ from capacity",
                ));
            }
            if !nonneg(j.stop.service) {
                return Err(bad(format!("job {i}"), "service time must be >= 0"));
            }
            if j.vehicle.is_some_and(|v| v >= vehicles.len()) {
                return Err(bad(format!("job {i}"), "pinned to a missing vehicle"));
            }
        }
        for (i, r) in requests.iter().enumerate() {
            if r.load.0.len() != dims {
                return Err(bad(
                    format!("request {i}"),
                    "load dimensions differ from capacity",
                ));
            }
            if !(nonneg(r.pickup.service) && nonneg(r.delivery.service)) {
                return Err(bad(format!("request {i}"), "service times must be >= 0"));
            }
            if r.max_ride_time.is_some_and(|l| l.is_nan() || l < 0.0) {
                return Err(bad(format!("request {i}"), "max_ride_time must be >= 0"));
            }
            if r.vehicle.is_some_and(|v| v >= vehicles.len()) {
                return Err(bad(format!("request {i}"), "pinned to a missing vehicle"));
            }
        }
        Ok(Self {
            requests,
            jobs,
            vehicles,
            objective,
            dims,
        })
    }

    /// Checks that every location index exists in `matrix`.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] naming the first request or vehicle with a location outside
    /// the matrix.
    pub fn validate_against(&self, matrix: &Matrix) -> Result<(), ModelError> {
        let n = matrix.len();
        let out = |what: String| ModelError::Invalid {
            what,
            reason: format!("location index outside the {n}x{n} matrix"),
        };
        for (i, r) in self.requests.iter().enumerate() {
            if r.pickup.location >= n || r.delivery.location >= n {
                return Err(out(format!("request {i}")));
            }
        }
        for (i, j) in self.jobs.iter().enumerate() {
            if j.stop.location >= n {
                return Err(out(format!("job {i}")));
            }
        }
        for (i, v) in self.vehicles.iter().enumerate() {
            if v.start >= n || v.end.is_some_and(|e| e >= n) {
                return Err(out(format!("vehicle {i}")));
            }
        }
        Ok(())
    }

    /// The requests, indexed by request id.
    #[must_use]
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The single-stop jobs, indexed by job id.
    #[must_use]
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// The vehicles, indexed by vehicle id.
    #[must_use]
    pub fn vehicles(&self) -> &[Vehicle] {
        &self.vehicles
    }

    /// The objective weights.
    #[must_use]
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Number of load dimensions.
    #[must_use]
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Whether vehicle `v` may serve request `r` (skills, pinning, capacity).
    #[must_use]
    pub fn compatible(&self, r: usize, v: usize) -> bool {
        let req = &self.requests[r];
        let veh = &self.vehicles[v];
        req.vehicle.is_none_or(|p| p == v)
            && req.skills.iter().all(|s| veh.skills.contains(s))
            && req.load.fits_in(&veh.capacity)
    }

    /// Whether vehicle `v` may serve job `j` (skills, pinning, capacity).
    #[must_use]
    pub fn job_compatible(&self, j: usize, v: usize) -> bool {
        let job = &self.jobs[j];
        let veh = &self.vehicles[v];
        job.vehicle.is_none_or(|p| p == v)
            && job.skills.iter().all(|s| veh.skills.contains(s))
            && job.pickup.fits_in(&veh.capacity)
            && job.delivery.fits_in(&veh.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(location: usize) -> Stop {
        Stop::new(location, TimeWindow::any(), 0.0)
    }

    #[test]
    fn several_windows_are_sorted_and_merged() {
        let w = |a, b| TimeWindow::new(a, b).unwrap();
        let mut s = Stop::new(0, w(50.0, 60.0), 0.0);
        s.extra_windows = vec![w(0.0, 10.0), w(55.0, 70.0), w(80.0, 90.0)];
        assert_eq!(
            s.windows(),
            vec![w(0.0, 10.0), w(50.0, 70.0), w(80.0, 90.0)]
        );
        assert!(s.allows(5.0, 0.0) && s.allows(85.0, 0.0));
        assert!(!s.allows(20.0, 0.0) && !s.allows(75.0, 0.0));
    }

    fn request(load: Vec<u32>) -> Request {
        Request {
            pickup: stop(0),
            delivery: stop(1),
            load: Load(load),
            max_ride_time: None,
            skills: vec![],
            vehicle: None,
        }
    }

    #[test]
    fn a_window_ending_before_it_starts_is_rejected() {
        assert!(TimeWindow::new(5.0, 4.0).is_err());
        assert!(TimeWindow::new(f64::NAN, 4.0).is_err());
        assert!(TimeWindow::new(0.0, f64::INFINITY).is_ok());
    }

    #[test]
    fn an_inverted_window_is_rejected_when_deserialised() {
        assert!(serde_json::from_str::<TimeWindow>("[5, 4]").is_err());
        assert!(serde_json::from_str::<TimeWindow>("[4, 5]").is_ok());
    }

    #[test]
    fn loads_with_other_dimensions_than_the_fleet_are_rejected() {
        let v = Vehicle::new(0, Some(0), Load(vec![4, 1]), TimeWindow::any());
        let err = Problem::new(vec![request(vec![1])], vec![v], Objective::default());
        assert!(matches!(err, Err(ModelError::Invalid { .. })));
    }

    #[test]
    fn a_wheelchair_request_needs_the_lift_and_the_place() {
        let mut lift = Vehicle::new(0, Some(0), Load(vec![4, 1]), TimeWindow::any());
        lift.skills = vec![7];
        let plain = Vehicle::new(0, Some(0), Load(vec![8, 0]), TimeWindow::any());
        let mut r = request(vec![1, 1]);
        r.skills = vec![7];
        let p = Problem::new(vec![r], vec![lift, plain], Objective::default()).unwrap();
        assert!(p.compatible(0, 0));
        assert!(!p.compatible(0, 1));
    }
}
