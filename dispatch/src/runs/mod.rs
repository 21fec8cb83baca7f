//! Runs: planning a region's day with the optimiser, inserting new requests into the running
//! plan, and keeping stop times right when things change.
//!
//! Owns `plan_job`, `plan_unserved`, `run`, `run_stop`, `driver_event` and `vehicle_position`,
//! and the stop and run state machines ([`StopStatus`], [`RunStatus`]). Requests' status and
//! promised times are changed through `bookings`; rides and charges through `rides`.
//!
//! The pure part lives here: turning requests and vehicles into a `routing::model::Problem`
//! over a travel-time matrix, with times in seconds from the local midnight of the service day
//! (Europe/Rome). `db.rs` loads and persists, `plan.rs` runs planning jobs, `live.rs` changes
//! the plan of today, `http.rs` exposes them. A pooled connection is never held across a solve.

pub mod crew;
pub mod db;
pub mod driving;
pub mod http;
pub mod line_runs;
pub mod live;
pub mod on_lines;
pub mod plan;
pub mod retention;

use std::collections::HashMap;

use routing::matrix::{Location, Matrix};
use routing::model::{
    Break, Load, ModelError, Objective, Problem, Request, Stop, TimeWindow, Vehicle,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Kind of a run's stop.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "stop_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// Leaving the depot.
    Start,
    /// Picking a rider up.
    Pickup,
    /// Dropping a rider off.
    Dropoff,
    /// Back at the depot.
    End,
}

/// Where a stop stands. Ordered: a stop only moves forward.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "stop_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StopStatus {
    /// Not reached yet.
    Pending,
    /// The vehicle is there.
    Arrived,
    /// Served.
    Done,
    /// Not needed any more (the rider of its pickup did not show up).
    Skipped,
}

impl StopStatus {
    fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Arrived => 1,
            Self::Done | Self::Skipped => 2,
        }
    }

    /// The status after `to` is reported: forward moves only; a finished stop stays as it is.
    ///
    /// ```
    /// use dispatch::runs::StopStatus::*;
    /// assert_eq!(Pending.advance(Arrived), Arrived);
    /// assert_eq!(Done.advance(Arrived), Done);
    /// assert_eq!(Skipped.advance(Done), Skipped);
    /// ```
    #[must_use]
    pub fn advance(self, to: Self) -> Self {
        if to.rank() > self.rank() {
            to
        } else {
            self
        }
    }

    /// Whether nothing is left to do at the stop.
    #[must_use]
    pub fn is_finished(self) -> bool {
        self.rank() == 2
    }
}

/// Where a run stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "run_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Not started.
    Planned,
    /// The driver reported a first event.
    InProgress,
    /// Every rider's stop is done or skipped.
    Completed,
    /// Cancelled by the planners.
    Cancelled,
}

/// Seconds from local midnight when vehicles may leave their depot (05:00).
pub const SHIFT_START_S: f64 = 5.0 * 3600.0;
/// Seconds from local midnight by which vehicles are back (22:00).
pub const SHIFT_END_S: f64 = 22.0 * 3600.0;
/// How long after the earliest pickup the vehicle may come, seconds.
pub const PICKUP_SLACK_S: f64 = 20.0 * 60.0;
/// At most this long before the latest arrival of an arrive-by request may the vehicle drop
/// the rider, seconds: nobody is taken at dawn to wait hours for a mid-morning appointment.
pub const ARRIVE_EARLY_S: f64 = 60.0 * 60.0;
/// A promised pickup may move this much earlier / later when the plan changes, seconds.
pub const PROMISE_EARLY_S: f64 = 5.0 * 60.0;
/// See [`PROMISE_EARLY_S`].
pub const PROMISE_LATE_S: f64 = 10.0 * 60.0;
/// Boarding or alighting, seconds; a wheelchair takes longer.
pub const SERVICE_S: f64 = 60.0;
/// See [`SERVICE_S`].
pub const WHEELCHAIR_SERVICE_S: f64 = 180.0;

pub use crate::rest::{BREAK_S, WORK_BEFORE_BREAK_S};
/// The breaks of a vehicle free from `from_s` to `to_s` (seconds from local midnight): each
/// starts within [`WORK_BEFORE_BREAK_S`] of the end of the one before, or of setting off for
/// the first (the optimiser's `max_gap`; a new placement is at the latest gap that fits), so
/// no stretch of more than 4 h 30 goes without one, wherever the route's quiet moments fall.
/// With no rider on board, taken where the vehicle is, and left out when the route is over
/// before it is due (a van that works the morning takes none in the afternoon). One for every
/// 2 h 45 the longest route could last beyond the first 4 h 30: more than a route needs when
/// each break comes at its latest, room for breaks pulled earlier by the riders' times.
#[must_use]
pub fn shift_breaks(from_s: f64, to_s: f64) -> Vec<Break> {
    let longest = to_s - from_s;
    let mut out = Vec::new();
    let mut covered = WORK_BEFORE_BREAK_S;
    while covered < longest {
        out.push(Break {
            windows: Vec::new(),
            service: BREAK_S,
            max_load: Some(Load(vec![0, 0])),
            skip_after_end: true,
            max_gap: Some(WORK_BEFORE_BREAK_S),
        });
        covered += BREAK_S + 2.0 * 3600.0;
    }
    out
}

/// Maximum ride time for a trip whose direct drive takes `direct_s`: nobody rides much longer
/// than the direct trip (10 minutes plus half the direct time of detour at most).
#[must_use]
pub fn max_ride_time(direct_s: f64) -> f64 {
    600.0 + 1.5 * direct_s
}

/// A request as the planner sees it (times in seconds from local midnight).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    /// Ride request id.
    pub id: Uuid,
    /// Pickup position.
    pub pickup: Location,
    /// Drop-off position.
    pub dropoff: Location,
    /// Earliest pickup.
    pub earliest_s: Option<f64>,
    /// Latest arrival.
    pub latest_s: Option<f64>,
    /// Pickup time promised to the rider: kept within a few minutes.
    pub promised_s: Option<f64>,
    /// Seats taken (companions included), wheelchair excluded.
    pub seats: u32,
    /// Wheelchair places taken.
    pub wheelchair: u32,
    /// Only this vehicle (index into the vehicle list) may serve it.
    pub pinned: Option<usize>,
    /// No pickup before this (now, for a ride booked during the day).
    pub not_before_s: Option<f64>,
    /// Reality has left this rider's promise behind (the vehicle is late, or the rider boarded
    /// early and the ride clock runs): the plan keeps the rider but no longer holds the
    /// promised window, the latest arrival or the ride-time limit; the new times say how late.
    pub relaxed: bool,
}

/// A vehicle as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanVehicle {
    /// Vehicle id.
    pub id: Uuid,
    /// Depot, where the vehicle ends its day.
    pub depot: Location,
    /// Where it is free to start from: the depot, or where its last fixed run of the day (a
    /// work line, a run already completed) ends.
    pub start: Location,
    /// When it is free there, seconds from local midnight (`None`: from the start of shifts).
    pub available_from_s: Option<f64>,
    /// Seats.
    pub seats: u32,
    /// Wheelchair places.
    pub wheelchair_places: u32,
    /// Cost per km, cents.
    pub cost_per_km_cents: f64,
    /// Cost per hour, cents.
    pub cost_per_hour_cents: f64,
}

/// Distinct locations of a plan, in matrix order: depots first, then pickups and drop-offs.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The points.
    pub points: Vec<Location>,
    index: HashMap<(u64, u64), usize>,
}

impl Locations {
    /// The matrix index of `p`, adding it when new.
    pub fn add(&mut self, p: Location) -> usize {
        let key = (p.lon.to_bits(), p.lat.to_bits());
        *self.index.entry(key).or_insert_with(|| {
            self.points.push(p);
            self.points.len() - 1
        })
    }

    /// The matrix index of a known point.
    #[must_use]
    pub fn get(&self, p: Location) -> Option<usize> {
        self.index.get(&(p.lon.to_bits(), p.lat.to_bits())).copied()
    }
}

/// Collects the locations of vehicles and requests.
#[must_use]
pub fn locations(vehicles: &[PlanVehicle], requests: &[PlanRequest]) -> Locations {
    let mut l = Locations::default();
    for v in vehicles {
        l.add(v.depot);
        l.add(v.start);
    }
    for r in requests {
        l.add(r.pickup);
        l.add(r.dropoff);
    }
    l
}

fn window(start: f64, end: f64) -> Result<TimeWindow, ModelError> {
    TimeWindow::new(start.max(0.0), end.max(start.max(0.0)))
}

/// Builds the optimiser's problem; request `i` of the problem is `requests[i]`, vehicle `j`
/// is `vehicles[j]`.
///
/// Windows: an earliest pickup gives the pickup `[earliest, earliest + 20 min]`; a latest
/// arrival gives the drop-off `[latest - 60 min, latest]` (and the pickup no earlier than the
/// ride-time limit allows before that); a promised pickup narrows the pickup to
/// `[promise - 5 min, promise + 10 min]`. Ride time at most 10 min + 1.5 × the direct drive.
///
/// # Errors
/// [`ModelError`] for an inconsistent request (the database constraints make it unlikely).
pub fn build_problem(
    vehicles: &[PlanVehicle],
    requests: &[PlanRequest],
    locs: &Locations,
    matrix: &Matrix,
) -> Result<Problem, ModelError> {
    let vs = vehicles
        .iter()
        .map(|v| {
            let depot = locs.get(v.depot).expect("depot in locations");
            let start = locs.get(v.start).expect("start in locations");
            let from = v.available_from_s.unwrap_or(0.0).max(SHIFT_START_S);
            let mut veh = Vehicle::new(
                start,
                Some(depot),
                Load(vec![v.seats, v.wheelchair_places]),
                window(from, SHIFT_END_S)?,
            );
            veh.cost_per_distance = v.cost_per_km_cents / 1000.0;
            veh.cost_per_time = v.cost_per_hour_cents / 3600.0;
            veh.breaks = shift_breaks(from, SHIFT_END_S);
            Ok(veh)
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let rs = requests
        .iter()
        .map(|r| {
            let p = locs.get(r.pickup).expect("pickup in locations");
            let d = locs.get(r.dropoff).expect("drop-off in locations");
            let direct = matrix.duration(p, d);
            let service = if r.wheelchair > 0 {
                WHEELCHAIR_SERVICE_S
            } else {
                SERVICE_S
            };
            let (ps, pe) = match (r.promised_s, r.earliest_s, r.latest_s) {
                (Some(t), _, _) => (t - PROMISE_EARLY_S, t + PROMISE_LATE_S),
                (None, Some(e), _) => (e, e + PICKUP_SLACK_S),
                (None, None, Some(l)) => (
                    l - ARRIVE_EARLY_S - max_ride_time(direct.min(l)),
                    l - direct.min(l),
                ),
                (None, None, None) => (SHIFT_START_S, SHIFT_END_S),
            };
            let ps = ps.max(r.not_before_s.unwrap_or(0.0));
            let (pe, ds, de) = if r.relaxed {
                (SHIFT_END_S, 0.0, SHIFT_END_S + 3600.0)
            } else {
                match r.latest_s {
                    Some(l) if r.promised_s.is_none() && r.earliest_s.is_none() => {
                        (pe, l - ARRIVE_EARLY_S, l)
                    }
                    Some(l) => (pe, 0.0, l),
                    None => (pe, 0.0, SHIFT_END_S + 3600.0),
                }
            };
            Ok(Request {
                pickup: Stop {
                    location: p,
                    window: window(ps, pe)?,
                    extra_windows: Vec::new(),
                    service,
                },
                delivery: Stop {
                    location: d,
                    window: window(ds, de)?,
                    extra_windows: Vec::new(),
                    service,
                },
                load: Load(vec![r.seats, r.wheelchair]),
                max_ride_time: (direct.is_finite() && !r.relaxed).then(|| max_ride_time(direct)),
                skills: Vec::new(),
                vehicle: r.pinned,
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    Problem::new(rs, vs, Objective::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> Location {
        Location { lon, lat }
    }

    fn van() -> PlanVehicle {
        PlanVehicle {
            id: Uuid::nil(),
            depot: at(15.56, 41.47),
            start: at(15.56, 41.47),
            available_from_s: None,
            seats: 8,
            wheelchair_places: 1,
            cost_per_km_cents: 45.0,
            cost_per_hour_cents: 2200.0,
        }
    }

    fn ride(earliest: Option<f64>, latest: Option<f64>, promised: Option<f64>) -> PlanRequest {
        PlanRequest {
            id: Uuid::nil(),
            pickup: at(15.63, 41.49),
            dropoff: at(15.54, 41.46),
            earliest_s: earliest,
            latest_s: latest,
            promised_s: promised,
            seats: 1,
            wheelchair: 0,
            pinned: None,
            not_before_s: None,
            relaxed: false,
        }
    }

    fn problem(r: PlanRequest) -> Problem {
        let vehicles = [van()];
        let requests = [r];
        let locs = locations(&vehicles, &requests);
        let pts: Vec<(f64, f64)> = locs
            .points
            .iter()
            .map(|p| (p.lon * 1e4, p.lat * 1e4))
            .collect();
        build_problem(&vehicles, &requests, &locs, &Matrix::euclidean(&pts)).unwrap()
    }

    #[test]
    fn an_earliest_pickup_opens_a_twenty_minute_pickup_window() {
        let p = problem(ride(Some(18_000.0), None, None));
        let w = p.requests()[0].pickup.window;
        assert_eq!((w.start(), w.end()), (18_000.0, 18_000.0 + PICKUP_SLACK_S));
    }

    #[test]
    fn a_promise_narrows_the_pickup_window_around_it() {
        let p = problem(ride(Some(18_000.0), None, Some(18_600.0)));
        let w = p.requests()[0].pickup.window;
        assert_eq!(
            (w.start(), w.end()),
            (18_600.0 - PROMISE_EARLY_S, 18_600.0 + PROMISE_LATE_S)
        );
    }

    #[test]
    fn a_latest_arrival_bounds_the_drop_off_and_ride_time_is_limited() {
        let p = problem(ride(None, Some(30_000.0), None));
        let r = &p.requests()[0];
        assert_eq!(r.delivery.window.end(), 30_000.0);
        assert!(r.max_ride_time.unwrap() > 600.0);
        // Not dropped more than an hour early, so not picked up at dawn for it either.
        assert_eq!(r.delivery.window.start(), 30_000.0 - ARRIVE_EARLY_S);
        let earliest_pickup = 30_000.0 - ARRIVE_EARLY_S - r.max_ride_time.unwrap();
        assert!((r.pickup.window.start() - earliest_pickup).abs() < 1e-6);
        assert!(r.pickup.window.start() > SHIFT_START_S);
    }

    #[test]
    fn a_shifts_breaks_leave_no_stretch_of_more_than_four_and_a_half_hours() {
        let breaks = shift_breaks(SHIFT_START_S, SHIFT_END_S);
        // 05:00-22:00: 17 hours, 4 h 30 and then one for every 2 h 45 started
        assert_eq!(breaks.len(), 5);
        for b in &breaks {
            assert_eq!(b.service, BREAK_S);
            assert_eq!(b.max_load, Some(Load(vec![0, 0])));
            assert!(b.skip_after_end && b.windows.is_empty());
            assert_eq!(b.max_gap, Some(WORK_BEFORE_BREAK_S));
        }
        // a van free only from 18:00 needs no break before 22:00
        assert!(shift_breaks(18.0 * 3600.0, SHIFT_END_S).is_empty());
        assert_eq!(shift_breaks(17.0 * 3600.0, SHIFT_END_S).len(), 1);
        assert_eq!(
            problem(ride(Some(18_000.0), None, None)).vehicles()[0].breaks,
            breaks
        );
    }

    #[test]
    fn shared_points_share_a_matrix_index() {
        let vehicles = [van(), van()];
        let locs = locations(&vehicles, &[ride(Some(1.0), None, None)]);
        assert_eq!(locs.points.len(), 3);
    }
}
