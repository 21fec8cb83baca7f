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
    /// Served jobs.
    pub served_jobs: usize,
    /// Total distance, recomputed from the matrix.
    pub distance: f64,
    /// Total cost, recomputed from the matrix and the vehicle cost coefficients.
    pub cost: f64,
}

/// Checks `solution` against `problem` and `matrix`.
///
/// # Errors
/// The list of every violation found, as human-readable sentences.
#[allow(clippy::too_many_lines)]
pub fn check(
    problem: &Problem,
    matrix: &Matrix,
    solution: &Solution,
) -> Result<CheckReport, Vec<String>> {
    let mut errs = Vec::new();
    let nreq = problem.requests().len();
    let njobs = problem.jobs().len();
    // where[r] = (route, pickup position, delivery position)
    let mut seen_p: Vec<Option<(usize, usize)>> = vec![None; nreq];
    let mut seen_d: Vec<Option<(usize, usize)>> = vec![None; nreq];
    let mut seen_j: Vec<Option<(usize, usize)>> = vec![None; njobs];
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
        // Jobs' deliveries are on board from the start, their pickups until the end.
        let mut load = vec![0i64; problem.dims()];
        let mut end_load = vec![0i64; problem.dims()];
        for s in route.stops.iter().filter(|s| s.kind == StopKind::Job) {
            if let Some(job) = problem.jobs().get(s.request) {
                for (d, l) in load.iter_mut().enumerate() {
                    *l += i64::from(job.delivery.0[d]);
                    end_load[d] += i64::from(job.pickup.0[d]);
                }
            }
        }
        for (d, l) in load.iter().enumerate() {
            if *l > i64::from(veh.capacity.0[d]) {
                errs.push(format!("route {ri}: load {l} out of capacity at the start"));
            }
        }
        // Every break of the vehicle exactly once, at a gap of the route.
        let mut breaks: Vec<&crate::solution::ScheduledBreak> = route.breaks.iter().collect();
        breaks.sort_by(|a, b| a.after.cmp(&b.after).then(a.start.total_cmp(&b.start)));
        let mut taken = vec![false; veh.breaks.len()];
        for b in &breaks {
            if b.index >= veh.breaks.len() || std::mem::replace(&mut taken[b.index], true) {
                errs.push(format!(
                    "route {ri}: break {} unknown or taken twice",
                    b.index
                ));
            }
            if b.after > route.stops.len() {
                errs.push(format!(
                    "route {ri}: break {} after a missing stop",
                    b.index
                ));
            }
        }
        // a break may be left out only when the route is over before it is due
        // the end of the break with index `i`, when taken
        let end_of = |i: usize| {
            route
                .breaks
                .iter()
                .find(|b| b.index == i)
                .map(|b| b.start + veh.breaks[i].service)
        };
        // when break `i` is due: by the end of its last window, or its gap after the previous
        // break (taken) or the route's start; never when it has neither
        let due = |i: usize| {
            let def = &veh.breaks[i];
            let by_window = def
                .windows
                .last()
                .map_or(f64::INFINITY, crate::model::TimeWindow::end);
            let since = if i == 0 {
                Some(route.start_time)
            } else {
                end_of(i - 1)
            };
            let by_gap = match (def.max_gap, since) {
                (Some(g), Some(s)) => s + g,
                _ => f64::INFINITY,
            };
            if by_window.is_infinite() && def.max_gap.is_none() {
                f64::NEG_INFINITY
            } else {
                by_window.min(by_gap)
            }
        };
        let missing = (0..veh.breaks.len()).any(|i| {
            let left_out = veh.breaks[i].skip_after_end && route.end_time <= due(i) + EPS;
            !taken[i] && !left_out
        });
        // each break within its gap of the previous one's end (or of the start)
        let mut since = route.start_time;
        for i in 0..veh.breaks.len() {
            let Some(b) = route.breaks.iter().find(|b| b.index == i) else {
                continue;
            };
            if veh.breaks[i]
                .max_gap
                .is_some_and(|g| b.start - since > g + EPS)
            {
                errs.push(format!(
                    "route {ri}: break {i} at {} more than its gap after the previous one",
                    b.start
                ));
            }
            since = b.start + veh.breaks[i].service;
        }
        if !route.stops.is_empty() && missing {
            errs.push(format!("route {ri}: a break of the vehicle is not taken"));
        }
        let mut next_break = breaks.iter().peekable();
        let (mut loc, mut ready) = (veh.start, route.start_time);
        let (mut dist, mut travel) = (0.0, 0.0);
        if route.start_time < veh.shift.start() - EPS {
            errs.push(format!("route {ri}: starts before the shift"));
        }
        for k in 0..=route.stops.len() {
            while let Some(b) = next_break.next_if(|b| b.after == k) {
                let Some(def) = veh.breaks.get(b.index) else {
                    continue;
                };
                let in_window = def.windows.is_empty()
                    || def
                        .windows
                        .iter()
                        .any(|w| b.start >= w.start() - EPS && b.start <= w.end() + EPS);
                if b.start < ready - EPS || !in_window || !b.start.is_finite() {
                    errs.push(format!(
                        "route {ri}: break {} at {} is outside its windows or before the vehicle is free",
                        b.index, b.start
                    ));
                }
                if let Some(max) = &def.max_load {
                    if load.iter().zip(&max.0).any(|(l, m)| *l > i64::from(*m)) {
                        errs.push(format!(
                            "route {ri}: break {} taken with {load:?} on board",
                            b.index
                        ));
                    }
                }
                ready = ready.max(b.start + def.service);
            }
            let Some(s) = route.stops.get(k) else {
                break;
            };
            let (stop, delta): (&crate::model::Stop, Vec<i64>) = match s.kind {
                StopKind::Job => {
                    let Some(job) = problem.jobs().get(s.request) else {
                        errs.push(format!("route {ri}: job {} does not exist", s.request));
                        continue;
                    };
                    if seen_j[s.request].replace((ri, k)).is_some() {
                        errs.push(format!("job {} visited twice", s.request));
                    }
                    if !problem.job_compatible(s.request, route.vehicle) {
                        errs.push(format!("route {ri}: job {} not allowed on it", s.request));
                    }
                    let delta = job
                        .pickup
                        .0
                        .iter()
                        .zip(&job.delivery.0)
                        .map(|(&p, &q)| i64::from(p) - i64::from(q))
                        .collect();
                    (&job.stop, delta)
                }
                kind => {
                    let Some(req) = problem.requests().get(s.request) else {
                        errs.push(format!("route {ri}: request {} does not exist", s.request));
                        continue;
                    };
                    let (stop, seen, sign) = if kind == StopKind::Pickup {
                        (&req.pickup, &mut seen_p, 1)
                    } else {
                        (&req.delivery, &mut seen_d, -1)
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
                    (
                        stop,
                        req.load.0.iter().map(|&q| sign * i64::from(q)).collect(),
                    )
                }
            };
            let tt = matrix.duration(loc, stop.location);
            dist += matrix.distance(loc, stop.location);
            travel += tt;
            if s.arrival < ready + tt - EPS || s.service_start < s.arrival - EPS {
                errs.push(format!(
                    "route {ri}: stop {k} reached too early (travel time)"
                ));
            }
            if !stop.allows(s.service_start, EPS) || !s.service_start.is_finite() {
                errs.push(format!(
                    "route {ri}: stop {k} starts at {} outside its windows {:?}",
                    s.service_start,
                    stop.windows()
                ));
            }
            for (d, l) in load.iter_mut().enumerate() {
                *l += delta[d];
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
        if load != end_load {
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
    let mut unserved_j = vec![false; njobs];
    for u in &solution.unserved_jobs {
        if u.request >= njobs || std::mem::replace(&mut unserved_j[u.request], true) {
            errs.push(format!(
                "unserved job {} unknown or listed twice",
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
    let mut served_jobs = 0;
    for j in 0..njobs {
        match (seen_j[j], unserved_j[j]) {
            (Some(_), false) => served_jobs += 1,
            (None, true) => {}
            (Some(_), true) => errs.push(format!("job {j} both served and unserved")),
            (None, false) => errs.push(format!("job {j} neither served nor listed unserved")),
        }
    }
    if errs.is_empty() {
        Ok(CheckReport {
            vehicles: solution.routes.len(),
            served,
            served_jobs,
            distance,
            cost,
        })
    } else {
        Err(errs)
    }
}

/// One variable of a route's temporal network besides the time origin.
struct Var {
    /// Windows of its start; one is chosen per variable (empty: unbounded).
    windows: Vec<(f64, f64)>,
}

/// Whether some schedule (waiting allowed anywhere) lets `vehicle` visit `stops` in this order
/// meeting windows, shift, maximum duration, maximum ride times and the vehicle's breaks (each
/// taken at some gap of the sequence, in order, within its windows and `max_load`). Capacity
/// is not checked otherwise.
///
/// Solves the simple temporal network of the route exactly: variables are service starts
/// (start depot, stops, breaks, end), constraints are differences `x_v - x_u <= w`, and the
/// route is schedulable iff the constraint graph has no negative cycle. Several windows per
/// stop and the placement of breaks are disjunctions: every combination is tried (depth
/// first), which is exponential — meant for tests, where they are few.
#[must_use]
pub fn sequence_is_schedulable(
    problem: &Problem,
    matrix: &Matrix,
    vehicle: usize,
    stops: &[(usize, StopKind)],
) -> bool {
    let veh = &problem.vehicles()[vehicle];
    let m = stops.len();
    let nb = if m == 0 { 0 } else { veh.breaks.len() };
    // load after each gap (0 = start), for breaks' max_load
    let dims = problem.dims();
    let mut load = vec![vec![0i64; dims]; m + 1];
    for &(r, kind) in stops {
        if kind == StopKind::Job {
            for (d, l) in load[0].iter_mut().enumerate() {
                *l += i64::from(problem.jobs()[r].delivery.0[d]);
            }
        }
    }
    for (k, &(r, kind)) in stops.iter().enumerate() {
        let before = load[k].clone();
        for (d, (after, was)) in load[k + 1].iter_mut().zip(before).enumerate() {
            let delta = match kind {
                StopKind::Pickup => i64::from(problem.requests()[r].load.0[d]),
                StopKind::Delivery => -i64::from(problem.requests()[r].load.0[d]),
                StopKind::Job => {
                    let j = &problem.jobs()[r];
                    i64::from(j.pickup.0[d]) - i64::from(j.delivery.0[d])
                }
            };
            *after = was + delta;
        }
    }
    let mut gaps = vec![0usize; nb];
    try_gaps(problem, matrix, vehicle, stops, &load, 0, 0, &mut gaps)
}

#[allow(clippy::too_many_arguments)]
fn try_gaps(
    problem: &Problem,
    matrix: &Matrix,
    vehicle: usize,
    stops: &[(usize, StopKind)],
    load: &[Vec<i64>],
    b: usize,
    from: usize,
    gaps: &mut Vec<usize>,
) -> bool {
    let veh = &problem.vehicles()[vehicle];
    if b == gaps.len() {
        return stn_with_breaks(
            problem,
            matrix,
            vehicle,
            stops,
            gaps,
            (f64::INFINITY, f64::INFINITY),
        );
    }
    // breaks b.. left out: the route must be over before the first of them is due
    if veh.breaks[b..].iter().all(|x| x.skip_after_end) {
        // (a break with neither a window nor a gap is never due: never left out)
        let due = veh.breaks[b..]
            .iter()
            .map(|x| match (x.windows.last(), x.max_gap) {
                (Some(w), _) => w.end(),
                (None, Some(_)) => f64::INFINITY,
                (None, None) => f64::NEG_INFINITY,
            })
            .fold(f64::INFINITY, f64::min);
        let gap = veh.breaks[b].max_gap.unwrap_or(f64::INFINITY);
        if stn_with_breaks(problem, matrix, vehicle, stops, &gaps[..b], (due, gap)) {
            return true;
        }
    }
    for g in from..=stops.len() {
        if let Some(max) = &veh.breaks[b].max_load {
            if load[g].iter().zip(&max.0).any(|(l, m)| *l > i64::from(*m)) {
                continue;
            }
        }
        gaps[b] = g;
        if try_gaps(problem, matrix, vehicle, stops, load, b + 1, g, gaps) {
            return true;
        }
    }
    false
}

/// The temporal network of a sequence with breaks at `gaps`; tries every window choice.
fn stn_with_breaks(
    problem: &Problem,
    matrix: &Matrix,
    vehicle: usize,
    stops: &[(usize, StopKind)],
    gaps: &[usize],
    (end_by, end_by_gap): (f64, f64),
) -> bool {
    if end_by == f64::NEG_INFINITY {
        return false;
    }
    let veh = &problem.vehicles()[vehicle];
    let m = stops.len();
    // variable 0 = time origin, 1 = start, then stops and breaks in order, last = end
    let mut vars: Vec<Var> = Vec::new();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    let shift = vec![(veh.shift.start(), veh.shift.end())];
    vars.push(Var {
        windows: shift.clone(),
    });
    // (variable, location, service) of the last thing done where the vehicle is
    let mut prev = (1, veh.start, 0.0);
    let mut stop_var = vec![0usize; m];
    let mut next_break = 0;
    // (node, service) of the last break placed; the start (node 1) before any
    let mut last_break = (1, 0.0);
    let add_breaks = |g: usize,
                      vars: &mut Vec<Var>,
                      edges: &mut Vec<(usize, usize, f64)>,
                      prev: &mut (usize, usize, f64),
                      next_break: &mut usize,
                      last_break: &mut (usize, f64)| {
        while *next_break < gaps.len() && gaps[*next_break] == g {
            let def = &veh.breaks[*next_break];
            vars.push(Var {
                windows: def.windows.iter().map(|w| (w.start(), w.end())).collect(),
            });
            let v = vars.len();
            // no travel: the break is taken where the vehicle is
            edges.push((v, prev.0, -prev.2));
            if let Some(gap) = def.max_gap {
                edges.push((last_break.0, v, last_break.1 + gap));
            }
            *last_break = (v, def.service);
            *prev = (v, prev.1, def.service);
            *next_break += 1;
        }
    };
    add_breaks(
        0,
        &mut vars,
        &mut edges,
        &mut prev,
        &mut next_break,
        &mut last_break,
    );
    for (k, &(r, kind)) in stops.iter().enumerate() {
        let stop = match kind {
            StopKind::Pickup => &problem.requests()[r].pickup,
            StopKind::Delivery => &problem.requests()[r].delivery,
            StopKind::Job => &problem.jobs()[r].stop,
        };
        vars.push(Var {
            windows: stop
                .windows()
                .iter()
                .map(|w| (w.start(), w.end()))
                .collect(),
        });
        let v = vars.len();
        stop_var[k] = v;
        // x_v >= x_prev + service + travel
        edges.push((
            v,
            prev.0,
            -(prev.2 + matrix.duration(prev.1, stop.location)),
        ));
        prev = (v, stop.location, stop.service);
        if kind == StopKind::Delivery {
            let req = &problem.requests()[r];
            if let (Some(max), Some(kp)) = (
                req.max_ride_time,
                stops[..k].iter().position(|&s| s == (r, StopKind::Pickup)),
            ) {
                edges.push((stop_var[kp], v, max + req.pickup.service));
            }
        }
        add_breaks(
            k + 1,
            &mut vars,
            &mut edges,
            &mut prev,
            &mut next_break,
            &mut last_break,
        );
    }
    vars.push(Var {
        windows: vec![(shift[0].0, shift[0].1.min(end_by))],
    });
    let end = vars.len();
    if end_by_gap.is_finite() {
        edges.push((last_break.0, end, last_break.1 + end_by_gap));
    }
    let back = veh.end.map_or(0.0, |e| matrix.duration(prev.1, e));
    edges.push((end, prev.0, -(prev.2 + back)));
    if let Some(max) = veh.max_duration {
        edges.push((1, end, max));
    }
    if edges
        .iter()
        .any(|e| e.2.is_nan() || e.2 == f64::NEG_INFINITY)
    {
        return false;
    }
    let mut choice = vec![0usize; vars.len()];
    choose_windows(&vars, &edges, 0, &mut choice)
}

/// Tries every window choice from variable `i` on (the first window only when there is one).
fn choose_windows(
    vars: &[Var],
    edges: &[(usize, usize, f64)],
    i: usize,
    choice: &mut Vec<usize>,
) -> bool {
    if i == vars.len() {
        return consistent(vars, edges, choice);
    }
    let n = vars[i].windows.len().max(1);
    for c in 0..n {
        choice[i] = c;
        if choose_windows(vars, edges, i + 1, choice) {
            return true;
        }
    }
    false
}

/// Bellman–Ford negative-cycle test with the chosen windows as bounds.
fn consistent(vars: &[Var], edges: &[(usize, usize, f64)], choice: &[usize]) -> bool {
    let mut all: Vec<(usize, usize, f64)> = edges.to_vec();
    for (i, var) in vars.iter().enumerate() {
        if let Some(&(lo, hi)) = var.windows.get(choice[i]) {
            all.push((i + 1, 0, -lo));
            if hi.is_finite() {
                all.push((0, i + 1, hi));
            }
        }
    }
    let n = vars.len() + 1;
    let mut dist = vec![0.0f64; n];
    for _ in 0..=n {
        let mut changed = false;
        for &(u, v, w) in &all {
            if dist[u] + w < dist[v] - 1e-9 {
                dist[v] = dist[u] + w;
                changed = true;
            }
        }
        if !changed {
            return true;
        }
    }
    all.iter().all(|&(u, v, w)| dist[u] + w >= dist[v] - EPS)
}
