//! Dynamic use during the day: [`insert`] one new request into the running plan, or
//! [`reoptimise`] what is left of the day, without moving anything that already happened.
//!
//! The caller describes the day so far with a [`PlanState`]: for each vehicle, the point from
//! which it may still be re-routed (its current location, or the next stop it is committed
//! to, and the time it is free there), the passengers on board, and the stops still planned.
//! Both functions turn this into a *residual* problem: every vehicle starts at that point and
//! time; each passenger on board becomes a request whose pickup is that point at that time,
//! pinned to its vehicle, with the ride time already spent subtracted from its limit. Done
//! stops are not part of it, so they cannot move.

use crate::matrix::Matrix;
use crate::model::{ModelError, Problem, Request, Stop, TimeWindow};
use crate::solution::{Route, ScheduledStop, StopKind, Unserved, UnservedReason};
use crate::solver::data::Data;
use crate::solver::route::Scratch;
use crate::solver::state::{State, NONE};
use crate::solver::{alns, alone_reason, to_solution, Options};

/// A passenger on board.
#[derive(Debug, Clone, PartialEq)]
pub struct OnBoard {
    /// Request index in the problem.
    pub request: usize,
    /// When service at the pickup ended (the ride clock started), seconds.
    pub picked_up_at: f64,
}

/// A stop still to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedStop {
    /// Request index in the problem.
    pub request: usize,
    /// Pickup or drop-off.
    pub kind: StopKind,
}

impl From<&ScheduledStop> for PlannedStop {
    fn from(s: &ScheduledStop) -> Self {
        PlannedStop {
            request: s.request,
            kind: s.kind,
        }
    }
}

/// One vehicle's situation.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleState {
    /// Vehicle index in the problem.
    pub vehicle: usize,
    /// Location from which the vehicle can be re-routed (matrix index).
    pub position: usize,
    /// When it is free there, seconds.
    pub time: f64,
    /// When it left its start location, if it has (the duration limit counts from there).
    pub departed_at: Option<f64>,
    /// When its driver's last break ended, if one was taken since it left: breaks with a
    /// `max_gap` count from there (else from `departed_at`).
    pub rested_at: Option<f64>,
    /// Passengers on board; their drop-offs must be in `planned`.
    pub on_board: Vec<OnBoard>,
    /// Remaining stops in order.
    pub planned: Vec<PlannedStop>,
}

/// The plan of the day as it stands. Vehicles without an entry have not started and are
/// available from their start location and shift.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanState {
    /// Per-vehicle situations.
    pub vehicles: Vec<VehicleState>,
}

/// The plan after [`insert`] or [`reoptimise`].
#[derive(Debug, Clone, PartialEq)]
pub struct Replanned {
    /// The new state (same positions and passengers, new `planned` sequences).
    pub state: PlanState,
    /// Schedules of the remaining stops per used vehicle, with problem request indices
    /// (the boarding of passengers already on board is not repeated).
    pub routes: Vec<Route>,
    /// Requests of the residual problem that could not be planned.
    pub unserved: Vec<Unserved>,
}

/// Why [`insert`] refused a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InsertError {
    /// The inputs are inconsistent (unknown index, a drop-off of a passenger not on board...).
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// The request fits nowhere.
    #[error("request cannot be served: {0:?}")]
    Refused(UnservedReason),
}

/// The residual problem and how its requests map back.
struct Residual {
    problem: Problem,
    /// Residual request -> problem request.
    original: Vec<usize>,
    /// Whether a residual request is a passenger already on board.
    on_board: Vec<bool>,
    /// Initial route (residual nodes) per vehicle.
    routes: Vec<Vec<usize>>,
}

fn invalid(what: String, reason: &str) -> ModelError {
    ModelError::Invalid {
        what,
        reason: reason.to_string(),
    }
}

/// Collects residual requests, refusing duplicates.
struct Collect {
    nreq: usize,
    index: Vec<usize>,
    requests: Vec<Request>,
    original: Vec<usize>,
    on_board: Vec<bool>,
}

impl Collect {
    fn add(&mut self, r: usize, req: Request, board: bool) -> Result<usize, ModelError> {
        if r >= self.nreq || self.index[r] != NONE {
            return Err(invalid(format!("request {r}"), "unknown or planned twice"));
        }
        self.index[r] = self.requests.len();
        self.requests.push(req);
        self.original.push(r);
        self.on_board.push(board);
        Ok(self.index[r])
    }
}

fn residual(problem: &Problem, state: &PlanState, extra: &[usize]) -> Result<Residual, ModelError> {
    if !problem.jobs().is_empty() {
        return Err(invalid(
            "problem".to_string(),
            "single-stop jobs are not supported during the day (insert / reoptimise)",
        ));
    }
    let mut vehicles = problem.vehicles().to_vec();
    let nreq = problem.requests().len();
    let mut c = Collect {
        nreq,
        index: vec![NONE; nreq],
        requests: Vec::new(),
        original: Vec::new(),
        on_board: Vec::new(),
    };
    let original_request = |r: usize| {
        problem
            .requests()
            .get(r)
            .cloned()
            .ok_or_else(|| invalid(format!("request {r}"), "does not exist"))
    };
    let mut routes = vec![Vec::new(); vehicles.len()];
    for vs in &state.vehicles {
        let v = vs.vehicle;
        let veh = vehicles
            .get_mut(v)
            .ok_or_else(|| invalid(format!("vehicle {v}"), "does not exist"))?;
        veh.start = vs.position;
        veh.shift = TimeWindow::new(vs.time.max(veh.shift.start()), veh.shift.end().max(vs.time))?;
        if let (Some(max), Some(dep)) = (veh.max_duration, vs.departed_at) {
            veh.max_duration = Some((max - (vs.time - dep)).max(0.0));
        }
        // Under way, the first break kept within a gap counts from the last rest (or the
        // departure), taken now at the latest when that is overdue.
        if let Some(base) = vs.rested_at.or(vs.departed_at) {
            if let Some(b) = veh.breaks.iter_mut().find(|b| b.max_gap.is_some()) {
                let by = (base + b.max_gap.unwrap_or(0.0)).max(vs.time);
                let from = b.windows.first().map_or(0.0, TimeWindow::start).min(by);
                b.windows = vec![TimeWindow::new(from, by)?];
                b.max_gap = None;
            }
        }
        // The state does not say which breaks were taken: those that can no longer start are
        // taken to be done; the others are still to be taken.
        veh.breaks
            .retain(|b| b.windows.is_empty() || b.windows.iter().any(|w| w.end() >= vs.time));
        for b in &vs.on_board {
            let mut req = original_request(b.request)?;
            req.pickup = Stop {
                location: vs.position,
                window: TimeWindow::new(vs.time, vs.time)?,
                extra_windows: Vec::new(),
                service: 0.0,
            };
            req.max_ride_time = req
                .max_ride_time
                .map(|l| (l - (vs.time - b.picked_up_at)).max(0.0));
            req.vehicle = Some(v);
            let i = c.add(b.request, req, true)?;
            routes[v].push(2 * i);
        }
        for s in &vs.planned {
            let r = s.request;
            let i = match s.kind {
                StopKind::Pickup => c.add(r, original_request(r)?, false)?,
                StopKind::Delivery => match c.index.get(r) {
                    Some(&i) if i != NONE => i,
                    _ => {
                        return Err(invalid(
                            format!("request {r}"),
                            "drop-off planned but the passenger is neither on board nor picked up before",
                        ))
                    }
                },
                StopKind::Job => {
                    return Err(invalid(
                        format!("job {r}"),
                        "single-stop jobs are not supported during the day",
                    ))
                }
            };
            routes[v].push(2 * i + usize::from(s.kind == StopKind::Delivery));
        }
    }
    for &r in extra {
        c.add(r, original_request(r)?, false)?;
    }
    for (v, route) in routes.iter().enumerate() {
        for &n in route.iter().filter(|&&n| n % 2 == 0) {
            if !route.contains(&(n + 1)) {
                return Err(invalid(
                    format!("vehicle {v}"),
                    "a picked-up or on-board request has no planned drop-off",
                ));
            }
        }
    }
    let problem = Problem::new(c.requests, vehicles, problem.objective())?;
    Ok(Residual {
        problem,
        original: c.original,
        on_board: c.on_board,
        routes,
    })
}

/// Maps a residual state back to the caller's indices.
fn replanned(
    problem: &Problem,
    state: &PlanState,
    res: &Residual,
    d: &Data,
    st: &State,
) -> Replanned {
    let sol = to_solution(&res.problem, d, st);
    let mut new_state = state.clone();
    let mut routes = Vec::new();
    for mut route in sol.routes {
        route
            .stops
            .retain(|s| !(s.kind == StopKind::Pickup && res.on_board[s.request]));
        for s in &mut route.stops {
            s.request = res.original[s.request];
        }
        let planned: Vec<PlannedStop> = route.stops.iter().map(PlannedStop::from).collect();
        match new_state
            .vehicles
            .iter_mut()
            .find(|vs| vs.vehicle == route.vehicle)
        {
            Some(vs) => vs.planned = planned,
            None => {
                let veh = &problem.vehicles()[route.vehicle];
                new_state.vehicles.push(VehicleState {
                    vehicle: route.vehicle,
                    position: veh.start,
                    time: veh.shift.start(),
                    departed_at: None,
                    rested_at: None,
                    on_board: Vec::new(),
                    planned,
                });
            }
        }
        routes.push(route);
    }
    for vs in &mut new_state.vehicles {
        if st.routes[vs.vehicle].is_empty() {
            vs.planned.clear();
        }
    }
    let unserved = sol
        .unserved
        .into_iter()
        .map(|u| Unserved {
            request: res.original[u.request],
            reason: u.reason,
        })
        .collect();
    Replanned {
        state: new_state,
        routes,
        unserved,
    }
}

/// Inserts `request` into the plan at least cost (existing vehicles first: opening a vehicle
/// costs the objective's vehicle weight), leaving every other stop in its order.
///
/// # Errors
/// [`InsertError::Refused`] with the reason when it fits nowhere; [`InsertError::Invalid`]
/// when the state is inconsistent with the problem.
pub fn insert(
    problem: &Problem,
    matrix: &Matrix,
    state: &PlanState,
    request: usize,
) -> Result<Replanned, InsertError> {
    let res = residual(problem, state, &[request])?;
    res.problem.validate_against(matrix)?;
    let d = Data::new(&res.problem, matrix);
    let mut st = State::from_routes(&d, res.routes.iter().map(Vec::as_slice).enumerate());
    // The plan as it stands must be feasible from each vehicle's position and time; otherwise
    // no insertion can be trusted (and the caller's state is wrong, e.g. a stale clock).
    let mut times = Vec::new();
    for (v, route) in st.routes.iter().enumerate() {
        if !route.is_empty() && !crate::solver::route::schedule(&d, v, &route.nodes, &mut times) {
            return Err(InsertError::Invalid(invalid(
                format!("vehicle {v}"),
                "its planned stops cannot all be made from its position and time",
            )));
        }
    }
    let r = d.nreq - 1;
    let mut s = Scratch::default();
    let mut best: Option<(f64, usize, crate::solver::route::Insertion)> = None;
    let mut classes_tried = Vec::new();
    for (v, route) in st.routes.iter().enumerate() {
        if route.is_empty() {
            if classes_tried.contains(&d.vclass[v]) {
                continue;
            }
            classes_tried.push(d.vclass[v]);
        }
        if let Some(ins) = route.best_insertion(&d, r, &mut s) {
            if best.is_none_or_cheaper(ins.delta) {
                best = Some((ins.delta, v, ins));
            }
        }
    }
    let Some((_, v, ins)) = best else {
        return Err(InsertError::Refused(
            alone_reason(&d, r).unwrap_or(UnservedReason::NotEnoughFleet),
        ));
    };
    st.routes[v].insert(&d, r, ins);
    st.route_of[r] = v;
    st.bank.clear();
    Ok(replanned(problem, state, &res, &d, &st))
}

trait Cheaper {
    fn is_none_or_cheaper(&self, delta: f64) -> bool;
}

impl Cheaper for Option<(f64, usize, crate::solver::route::Insertion)> {
    fn is_none_or_cheaper(&self, delta: f64) -> bool {
        self.as_ref().is_none_or(|b| delta < b.0)
    }
}

/// Re-optimises the rest of the day: every planned request plus `new_requests` may move to any
/// vehicle and position, passengers on board stay on their vehicle, done stops stay done. The
/// search starts from the current plan, so the result is never worse than it (when it is
/// feasible).
///
/// # Errors
/// [`ModelError`] when the state is inconsistent with the problem or the matrix.
pub fn reoptimise(
    problem: &Problem,
    matrix: &Matrix,
    state: &PlanState,
    new_requests: &[usize],
    options: &Options,
) -> Result<Replanned, ModelError> {
    let started = std::time::Instant::now();
    let res = residual(problem, state, new_requests)?;
    res.problem.validate_against(matrix)?;
    let d = Data::new(&res.problem, matrix);
    let mut st = State::from_routes(&d, res.routes.iter().map(Vec::as_slice).enumerate());
    let mut t = Vec::new();
    // A route of the current plan that has become infeasible (delays) is emptied and rebuilt.
    for v in 0..d.nveh {
        if !st.routes[v].is_empty()
            && !crate::solver::route::schedule(&d, v, &st.routes[v].nodes, &mut t)
        {
            st.empty_route(&d, v);
        }
    }
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(options.seed);
    let mut s = Scratch::default();
    st.bank.retain(|&r| alone_reason(&d, r).is_none());
    let _complete = st.construct(
        &d,
        crate::solver::Deadline::of(started, options.time_limit),
        &mut rng,
        &mut s,
    );
    let (best, _, _) = alns::search(&d, st, options, started, &mut rng);
    Ok(replanned(problem, state, &res, &d, &best))
}

/// The residual problem of a state, for checking a [`Replanned`] result with
/// [`crate::check::check`] in tests: returns it with the residual-to-problem request map.
///
/// # Errors
/// As [`reoptimise`].
pub fn residual_problem(
    problem: &Problem,
    state: &PlanState,
) -> Result<(Problem, Vec<usize>), ModelError> {
    residual(problem, state, &[]).map(|r| (r.problem, r.original))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::instances::read;
    use crate::solution::{ScheduledStop, Solution};
    use crate::solver::solve;
    use crate::solver::tests::{bench_dir, checked};
    use std::time::Duration;

    fn options(iterations: u64) -> Options {
        Options {
            seed: 5,
            time_limit: Duration::from_secs(20),
            max_iterations: Some(iterations),
            stall_iterations: None,
            threads: 1,
        }
    }

    /// The state of `sol` at time `now`: stops that started before `now` are done; each
    /// vehicle is free at its last done stop when it planned to leave it.
    fn snapshot(problem: &Problem, sol: &Solution, now: f64, skip: Option<usize>) -> PlanState {
        let mut state = PlanState::default();
        for route in &sol.routes {
            let done = route
                .stops
                .iter()
                .take_while(|s| s.service_start < now)
                .count();
            let veh = &problem.vehicles()[route.vehicle];
            let (position, time) = match done {
                0 => (veh.start, route.start_time),
                k => {
                    let s = &route.stops[k - 1];
                    let req = &problem.requests()[s.request];
                    let stop = if s.kind == StopKind::Pickup {
                        &req.pickup
                    } else {
                        &req.delivery
                    };
                    (stop.location, s.service_start + stop.service)
                }
            };
            let delivered: Vec<usize> = route.stops[..done]
                .iter()
                .filter(|s| s.kind == StopKind::Delivery)
                .map(|s| s.request)
                .collect();
            let on_board = route.stops[..done]
                .iter()
                .filter(|s| s.kind == StopKind::Pickup && !delivered.contains(&s.request))
                .map(|s| OnBoard {
                    request: s.request,
                    picked_up_at: s.service_start + problem.requests()[s.request].pickup.service,
                })
                .collect();
            state.vehicles.push(VehicleState {
                vehicle: route.vehicle,
                position,
                time,
                departed_at: (done > 0).then_some(route.start_time),
                rested_at: None,
                on_board,
                planned: route.stops[done..]
                    .iter()
                    .filter(|s| Some(s.request) != skip)
                    .map(PlannedStop::from)
                    .collect(),
            });
        }
        state
    }

    /// Checks a replanned result as a solution of the residual problem of its new state.
    fn check_replanned(problem: &Problem, matrix: &Matrix, out: &Replanned) -> usize {
        let (rp, original) = residual_problem(problem, &out.state).unwrap();
        let index = |r: usize| original.iter().position(|&o| o == r).unwrap();
        let mut sol = Solution::default();
        for route in &out.routes {
            let vs = out
                .state
                .vehicles
                .iter()
                .find(|v| v.vehicle == route.vehicle)
                .unwrap();
            let mut r = route.clone();
            let boarding = vs.on_board.iter().map(|b| ScheduledStop {
                request: index(b.request),
                kind: StopKind::Pickup,
                arrival: vs.time,
                service_start: vs.time,
            });
            let rest = route.stops.iter().map(|s| ScheduledStop {
                request: index(s.request),
                ..s.clone()
            });
            r.stops = boarding.chain(rest).collect();
            sol.routes.push(r);
        }
        checked(&rp, matrix, &sol).served
    }

    #[test]
    fn a_request_is_inserted_into_a_running_day_without_touching_what_is_done() {
        let inst = read(&bench_dir("cordeau-darp").join("a3-24.txt")).unwrap();
        let (p, m) = (&inst.problem, &inst.matrix);
        let sol = solve(p, m, &options(300)).unwrap();
        checked(p, m, &sol);
        // a time when passengers are on board, and a request not yet picked up then
        let now = (1..48)
            .map(|h| f64::from(h) * 30.0)
            .find(|&t| {
                !snapshot(p, &sol, t, None)
                    .vehicles
                    .iter()
                    .all(|v| v.on_board.is_empty())
            })
            .unwrap();
        let new = sol
            .routes
            .iter()
            .flat_map(|r| &r.stops)
            .find(|s| s.kind == StopKind::Pickup && s.service_start > now + 30.0)
            .unwrap()
            .request;
        let state = snapshot(p, &sol, now, Some(new));
        assert!(state.vehicles.iter().any(|v| !v.on_board.is_empty()));
        let out = insert(p, m, &state, new).unwrap();
        check_replanned(p, m, &out);
        for (before, after) in state.vehicles.iter().zip(&out.state.vehicles) {
            assert_eq!((before.position, before.time), (after.position, after.time));
            assert_eq!(before.on_board, after.on_board);
            let kept: Vec<_> = after
                .planned
                .iter()
                .filter(|s| s.request != new)
                .copied()
                .collect();
            assert_eq!(kept, before.planned, "other stops keep their order");
        }
        assert!(out
            .state
            .vehicles
            .iter()
            .any(|v| v.planned.iter().any(|s| s.request == new)));
        // the same request cannot be inserted twice
        assert!(matches!(
            insert(p, m, &out.state, new),
            Err(InsertError::Invalid(_))
        ));
    }

    #[test]
    fn a_request_no_vehicle_can_take_is_refused_with_the_reason() {
        let inst = read(&bench_dir("cordeau-darp").join("a2-16.txt")).unwrap();
        let mut requests = inst.problem.requests().to_vec();
        let mut special = requests[0].clone();
        special.skills = vec![42];
        requests.push(special);
        let p = Problem::new(
            requests,
            inst.problem.vehicles().to_vec(),
            inst.problem.objective(),
        )
        .unwrap();
        let sol = solve(&inst.problem, &inst.matrix, &options(100)).unwrap();
        let state = snapshot(&p, &sol, 100.0, None);
        assert_eq!(
            insert(&p, &inst.matrix, &state, 16),
            Err(InsertError::Refused(UnservedReason::NoCompatibleVehicle))
        );
    }

    #[test]
    fn reoptimising_keeps_passengers_on_their_vehicle_and_does_not_get_worse() {
        let inst = read(&bench_dir("cordeau-darp").join("b4-16.txt")).unwrap();
        let (p, m) = (&inst.problem, &inst.matrix);
        let sol = solve(p, m, &options(50)).unwrap();
        let state = snapshot(p, &sol, 500.0, None);
        let planned: usize = state.vehicles.iter().map(|v| v.planned.len()).sum();
        let remaining = |st: &PlanState| -> f64 {
            st.vehicles
                .iter()
                .map(|vs| {
                    let mut loc = vs.position;
                    let mut d = 0.0;
                    for s in &vs.planned {
                        let req = &p.requests()[s.request];
                        let to = if s.kind == StopKind::Pickup {
                            req.pickup.location
                        } else {
                            req.delivery.location
                        };
                        d += m.distance(loc, to);
                        loc = to;
                    }
                    if vs.planned.is_empty() {
                        0.0
                    } else {
                        d + m.distance(loc, p.vehicles()[vs.vehicle].end.unwrap())
                    }
                })
                .sum()
        };
        let out = reoptimise(p, m, &state, &[], &options(500)).unwrap();
        assert!(out.unserved.is_empty());
        check_replanned(p, m, &out);
        assert_eq!(
            out.state
                .vehicles
                .iter()
                .map(|v| v.planned.len())
                .sum::<usize>(),
            planned
        );
        for vs in &state.vehicles {
            let after = out
                .state
                .vehicles
                .iter()
                .find(|v| v.vehicle == vs.vehicle)
                .unwrap();
            for b in &vs.on_board {
                assert!(after.planned.contains(&PlannedStop {
                    request: b.request,
                    kind: StopKind::Delivery
                }));
            }
        }
        assert!(remaining(&out.state) <= remaining(&state) + 1e-6);
        let _ = check; // the checker is used through `checked`
    }

    #[test]
    fn a_driver_under_way_gets_the_next_break_within_its_gap_of_the_last_rest() {
        use crate::matrix::Matrix;
        use crate::model::{Break, Load, Objective, Vehicle};
        // points on a line 100 s apart; a van that set off at 0 and is free at 900 at point 0
        let pts: Vec<(f64, f64)> = (0..4).map(|i| (100.0 * f64::from(i), 0.0)).collect();
        let m = Matrix::euclidean(&pts);
        let ride = |from: f64| Request {
            pickup: Stop::new(1, TimeWindow::new(from, from + 50.0).unwrap(), 10.0),
            delivery: Stop::new(3, TimeWindow::any(), 10.0),
            load: Load(vec![1]),
            max_ride_time: None,
            skills: vec![],
            vehicle: None,
        };
        let mut veh = Vehicle::new(
            0,
            Some(0),
            Load(vec![2]),
            TimeWindow::new(0.0, 5000.0).unwrap(),
        );
        veh.breaks = vec![Break {
            windows: vec![],
            service: 100.0,
            max_load: Some(Load(vec![0])),
            skip_after_end: true,
            max_gap: Some(1000.0),
        }];
        let p = Problem::new(vec![ride(1050.0)], vec![veh], Objective::default()).unwrap();
        let state = |rested_at| PlanState {
            vehicles: vec![VehicleState {
                vehicle: 0,
                position: 0,
                time: 900.0,
                departed_at: Some(0.0),
                rested_at,
                on_board: vec![],
                planned: vec![],
            }],
        };
        // no rest since setting off: the break comes by 1,000, before the pickup
        let out = insert(&p, &m, &state(None), 0).unwrap();
        let r = &out.routes[0];
        assert_eq!(r.breaks.len(), 1, "{r:?}");
        assert!(
            r.breaks[0].start <= 1000.0 && r.breaks[0].after == 0,
            "{r:?}"
        );
        // rested until 800: the ride is over (back at the start at 1,570) before the next is due (1,800)
        let out = insert(&p, &m, &state(Some(800.0)), 0).unwrap();
        assert!(out.routes[0].breaks.is_empty(), "{:?}", out.routes[0]);
        // overdue (rested until -500): taken at once, at 900
        let out = insert(&p, &m, &state(Some(-500.0)), 0).unwrap();
        assert_eq!(out.routes[0].breaks[0].start, 900.0);
    }
}
