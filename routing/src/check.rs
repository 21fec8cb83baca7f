//! Independent feasibility checker.
//!
//! [`check`] takes a [`Solution`] as plain data and re-derives everything from the problem
//! and the matrix: every request served exactly once (pickup before drop-off, same vehicle) or
//! listed as unserved, skills and pinning, capacity in every dimension, and the *reported*
//! schedule itself: travel times between consecutive stops, time windows, shift, maximum
//! route duration and maximum ride times. Distances and costs are recomputed and compared.
//!
//! [`sequence_is_schedulable`] answers, for a bare stop sequence (no times), whether *any*
//! schedule with waiting allowed meets the time constraints, by a Bellman–Ford negative-cycle
//! test on the route's simple temporal network. It shares no code with the solver's
//! scheduling, which is the point: the tests use it to catch solver bugs.

use crate::matrix::Matrix;
use crate::model::Problem;
use crate::solution::{Solution, StopKind};

/// Tolerance on times and costs (the data are `f64`).
const EPS: f64 = 1e-6;

/// Totals recomputed by the checker.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Used vehicles.
    pub vehicles: usize,
    /// Served requests.
    pub served: usize,
    /// Total distance, recomputed from the matrix.
    pub distance: f64,
    /// Total cost, recomputed from the matrix and the vehicle cost coefficients.
    pub cost: f64,
}

/// Checks `solution` against `problem` and `matrix`.
///
/// # Errors
/// The list of every violation found, as human-readable sentences.
pub fn check(
    problem: &Problem,
    matrix: &Matrix,
    solution: &Solution,
) -> Result<CheckReport, Vec<String>> {
    let mut errs = Vec::new();
    let nreq = problem.requests().len();
    // where[r] = (route, pickup position, delivery position)
    let mut seen_p: Vec<Option<(usize, usize)>> = vec![None; nreq];
    let mut seen_d: Vec<Option<(usize, usize)>> = vec![None; nreq];
    let mut vehicle_used = vec![false; problem.vehicles().len()];
    let (mut distance, mut cost) = (0.0, 0.0);
    for (ri, route) in solution.routes.iter().enumerate() {
        let Some(veh) = problem.vehicles().get(route.vehicle) else {
            errs.push(format!(
                "route {ri}: vehicle {} does not exist",
                route.vehicle
            ));
            continue;
        };
        if std::mem::replace(&mut vehicle_used[route.vehicle], true) {
            errs.push(format!("vehicle {} has two routes", route.vehicle));
        }
        if route.stops.is_empty() {
            errs.push(format!("route {ri}: empty route reported"));
        }
        let mut load = vec![0i64; problem.dims()];
        let (mut loc, mut ready) = (veh.start, route.start_time);
        let (mut dist, mut travel) = (0.0, 0.0);
        if route.start_time < veh.shift.start() - EPS {
            errs.push(format!("route {ri}: starts before the shift"));
        }
        for (k, s) in route.stops.iter().enumerate() {
            let Some(req) = problem.requests().get(s.request) else {
                errs.push(format!("route {ri}: request {} does not exist", s.request));
                continue;
            };
            let (stop, seen, sign) = match s.kind {
                StopKind::Pickup => (&req.pickup, &mut seen_p, 1),
                StopKind::Delivery => (&req.delivery, &mut seen_d, -1),
            };
            if seen[s.request].replace((ri, k)).is_some() {
                errs.push(format!("request {} {:?} visited twice", s.request, s.kind));
            }
            if !problem.compatible(s.request, route.vehicle) {
                errs.push(format!(
                    "route {ri}: request {} not allowed on it",
                    s.request
                ));
            }
            let tt = matrix.duration(loc, stop.location);
            dist += matrix.distance(loc, stop.location);
            travel += tt;
            if s.arrival < ready + tt - EPS || s.service_start < s.arrival - EPS {
                errs.push(format!(
                    "route {ri}: stop {k} reached too early (travel time)"
                ));
            }
            if s.service_start < stop.window.start() - EPS
                || s.service_start > stop.window.end() + EPS
                || !s.service_start.is_finite()
            {
                errs.push(format!(
                    "route {ri}: stop {k} starts at {} outside [{}, {}]",
                    s.service_start,
                    stop.window.start(),
                    stop.window.end()
                ));
            }
            for (d, l) in load.iter_mut().enumerate() {
                *l += sign * i64::from(req.load.0[d]);
                if *l < 0 || *l > i64::from(veh.capacity.0[d]) {
                    errs.push(format!("route {ri}: load {l} out of capacity at stop {k}"));
                }
            }
            loc = stop.location;
            ready = s.service_start + stop.service;
        }
        if let Some(end) = veh.end {
            dist += matrix.distance(loc, end);
            travel += matrix.duration(loc, end);
            ready += matrix.duration(loc, end);
        }
        if route.end_time < ready - EPS || route.end_time > veh.shift.end() + EPS {
            errs.push(format!(
                "route {ri}: end time {} infeasible",
                route.end_time
            ));
        }
        if let Some(max) = veh.max_duration {
            if route.end_time - route.start_time > max + EPS {
                errs.push(format!("route {ri}: lasts longer than {max}"));
            }
        }
        if load.iter().any(|&l| l != 0) {
            errs.push(format!("route {ri}: passengers left on board"));
        }
        let c = veh.fixed_cost + veh.cost_per_distance * dist + veh.cost_per_time * travel;
        if (c - route.cost).abs() > EPS * c.abs().max(1.0) || (dist - route.distance).abs() > 1e-3 {
            errs.push(format!("route {ri}: reported cost {} != {c}", route.cost));
        }
        distance += dist;
        cost += c;
    }
    let mut unserved = vec![false; nreq];
    for u in &solution.unserved {
        if u.request >= nreq || std::mem::replace(&mut unserved[u.request], true) {
            errs.push(format!(
                "unserved request {} unknown or listed twice",
                u.request
            ));
        }
    }
    let mut served = 0;
    for r in 0..nreq {
        match (seen_p[r], seen_d[r]) {
            (Some((rp, kp)), Some((rd, kd))) => {
                served += 1;
                if unserved[r] {
                    errs.push(format!("request {r} both served and unserved"));
                }
                if rp != rd || kp >= kd {
                    errs.push(format!(
                        "request {r}: drop-off not after pickup on one route"
                    ));
                } else if let Some(max) = problem.requests()[r].max_ride_time {
                    let stops = &solution.routes[rp].stops;
                    let ride = stops[kd].service_start
                        - (stops[kp].service_start + problem.requests()[r].pickup.service);
                    if ride > max + EPS {
                        errs.push(format!("request {r}: ride time {ride} > {max}"));
                    }
                }
            }
            (None, None) if unserved[r] => {}
            _ => errs.push(format!(
                "request {r} neither fully served nor listed unserved"
            )),
        }
    }
    if errs.is_empty() {
        Ok(CheckReport {
            vehicles: solution.routes.len(),
            served,
            distance,
            cost,
        })
    } else {
        Err(errs)
    }
}

/// Whether some schedule (waiting allowed anywhere) lets `vehicle` visit `stops` in this order
/// meeting windows, shift, maximum duration and maximum ride times. Capacity is not checked.
///
/// Solves the simple temporal network of the route exactly: variables are service starts
/// (start depot, stops, end), constraints are differences `x_v - x_u <= w`, and the route is
/// schedulable iff the constraint graph has no negative cycle.
#[must_use]
pub fn sequence_is_schedulable(
    problem: &Problem,
    matrix: &Matrix,
    vehicle: usize,
    stops: &[(usize, StopKind)],
) -> bool {
    let veh = &problem.vehicles()[vehicle];
    // variable 0 = time origin, 1 = start, 2..=m+1 = stops, m+2 = end
    let m = stops.len();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    let bound = |edges: &mut Vec<(usize, usize, f64)>, v: usize, lo: f64, hi: f64| {
        edges.push((v, 0, -lo));
        if hi.is_finite() {
            edges.push((0, v, hi));
        }
    };
    bound(&mut edges, 1, veh.shift.start(), veh.shift.end());
    bound(&mut edges, m + 2, veh.shift.start(), veh.shift.end());
    let mut prev = (1, veh.start, 0.0);
    for (k, &(r, kind)) in stops.iter().enumerate() {
        let req = &problem.requests()[r];
        let stop = if kind == StopKind::Pickup {
            &req.pickup
        } else {
            &req.delivery
        };
        let v = k + 2;
        bound(&mut edges, v, stop.window.start(), stop.window.end());
        // x_v >= x_prev + service + travel
        edges.push((
            v,
            prev.0,
            -(prev.2 + matrix.duration(prev.1, stop.location)),
        ));
        prev = (v, stop.location, stop.service);
        if kind == StopKind::Delivery {
            if let (Some(max), Some(kp)) = (
                req.max_ride_time,
                stops[..k].iter().position(|&s| s == (r, StopKind::Pickup)),
            ) {
                edges.push((kp + 2, v, max + req.pickup.service));
            }
        }
    }
    let back = veh.end.map_or(0.0, |e| matrix.duration(prev.1, e));
    edges.push((m + 2, prev.0, -(prev.2 + back)));
    if let Some(max) = veh.max_duration {
        edges.push((1, m + 2, max));
    }
    if edges
        .iter()
        .any(|e| e.2.is_nan() || e.2 == f64::NEG_INFINITY)
    {
        return false;
    }
    let mut dist = vec![0.0f64; m + 3];
    for _ in 0..=m + 3 {
        let mut changed = false;
        for &(u, v, w) in &edges {
            if dist[u] + w < dist[v] - 1e-9 {
                dist[v] = dist[u] + w;
                changed = true;
            }
        }
        if !changed {
            return true;
        }
    }
    edges.iter().all(|&(u, v, w)| dist[u] + w >= dist[v] - EPS)
}
