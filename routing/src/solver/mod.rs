//! The optimiser: [`solve`] builds a first solution by regret insertion, then improves it with
//! adaptive large neighbourhood search ([`alns`]) until the time or iteration limit.
//!
//! Layout: [`data`] flattens the problem, [`route`] holds one route with its time bounds, the
//! insertion filter and the exact scheduler, [`state`] a whole solution and regret repair,
//! [`tails`] the exchange of route tails where vehicles are empty, [`pool`] the routes met and
//! the set partitioning over them, [`alns`] the search loop.
//! Nothing here does I/O or reads a clock other than the time limit.

pub(crate) mod alns;
pub(crate) mod data;
pub(crate) mod ges;
pub(crate) mod pool;
pub(crate) mod route;
pub(crate) mod state;
pub(crate) mod tails;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::matrix::Matrix;
use crate::model::{ModelError, Problem};
use crate::solution::{
    Route as RouteOut, ScheduledBreak, ScheduledStop, Solution, StopKind, Unserved, UnservedReason,
};
use data::Data;
use route::{schedule, Scratch};
use state::State;

/// How long and with which randomness to search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Seed of the only random generator the search uses.
    pub seed: u64,
    /// Wall-clock budget; the best solution found so far is returned when it runs out.
    pub time_limit: Duration,
    /// Optional iteration budget. When set, the search is fully deterministic for a seed
    /// (as long as the time limit is not reached first).
    pub max_iterations: Option<u64>,
    /// Stop early once the search has converged: this many iterations of a search phase in a
    /// row without a better solution end it (the time limit stays a cap). `None` searches for
    /// the whole budget, as benchmarks do. Counted in iterations, so deterministic for a seed.
    pub stall_iterations: Option<u64>,
    /// Searches run in parallel (0 and 1: one). Each starts from the same first solution with a
    /// seed of its own, and they share their best solutions every 5 % of the budget. With
    /// `max_iterations` set, the result depends only on the seed and this count (the limit is
    /// per thread). [`Options::all_cores`] gives the machine's parallelism.
    pub threads: usize,
}

impl Options {
    /// The number of cores this process may use (1 if unknown), for [`Options::threads`].
    #[must_use]
    pub fn all_cores() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 1,
            time_limit: Duration::from_secs(10),
            max_iterations: None,
            stall_iterations: None,
            threads: 1,
        }
    }
}

/// Solves `problem` on `matrix`: serves as many requests as possible, then uses as few
/// vehicles as possible, then minimises cost (weights in [`crate::model::Objective`]).
///
/// # Errors
/// [`ModelError::Invalid`] when a location index is outside the matrix.
pub fn solve(
    problem: &Problem,
    matrix: &Matrix,
    options: &Options,
) -> Result<Solution, ModelError> {
    solve_with_stats(problem, matrix, options).map(|(s, _)| s)
}

/// Search statistics, for benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchStats {
    /// ALNS iterations (destroy + repair) performed.
    pub iterations: u64,
    /// Whether the search stopped early because it had converged
    /// ([`Options::stall_iterations`]) rather than at its budget.
    pub converged: bool,
}

/// Most memory a search spends on its copies of the matrix for the insertion scans
/// ([`Data::with_legs_in`]): 64 MiB, a matrix of up to 1,448 locations.
const LEGS_BYTES: usize = 64 << 20;

/// [`solve`], also returning search statistics.
///
/// # Errors
/// As [`solve`].
pub fn solve_with_stats(
    problem: &Problem,
    matrix: &Matrix,
    options: &Options,
) -> Result<(Solution, SearchStats), ModelError> {
    let started = Instant::now();
    problem.validate_against(matrix)?;
    let d = Data::new(problem, matrix).with_legs_in(LEGS_BYTES);
    let mut rng = StdRng::seed_from_u64(options.seed);
    let (possible, _) = split_possible(&d);
    let mut init = State::empty(&d, possible);
    let mut s = Scratch::default();
    let complete = init.construct(
        &d,
        Deadline::of(started, options.time_limit),
        &mut rng,
        &mut s,
    );
    let (best, iterations, converged) = alns::search(&d, init, options, started, &mut rng);
    let mut solution = to_solution(problem, &d, &best);
    if !complete {
        for u in solution
            .unserved
            .iter_mut()
            .chain(&mut solution.unserved_jobs)
        {
            if u.reason == UnservedReason::NotEnoughFleet {
                u.reason = UnservedReason::TimeLimit;
            }
        }
    }
    Ok((
        solution,
        SearchStats {
            iterations,
            converged,
        },
    ))
}

/// When the solver must have an answer: the time limit counted from the call to [`solve`].
///
/// Construction checks it between two insertions, the search between two iterations (and
/// inside the ejection search), so a call returns within the limit plus one step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    start: Instant,
    limit: Duration,
}

impl Deadline {
    pub fn of(start: Instant, limit: Duration) -> Self {
        Deadline { start, limit }
    }

    /// The time limit has run out.
    pub fn passed(&self) -> bool {
        self.start.elapsed() >= self.limit
    }

    /// More than `fraction` of the time limit is used.
    pub fn used(&self, fraction: f64) -> bool {
        self.start.elapsed().as_secs_f64() >= fraction * self.limit.as_secs_f64()
    }
}

/// Requests that some vehicle can serve alone, and the others.
pub(crate) fn split_possible(d: &Data) -> (Vec<usize>, Vec<usize>) {
    (0..d.nreq).partition(|&r| alone_reason(d, r).is_none())
}

/// Why task `r` cannot be served even on an otherwise empty route, or `None` if it can.
pub(crate) fn alone_reason(d: &Data, r: usize) -> Option<UnservedReason> {
    let compatible: Vec<usize> = (0..d.nveh).filter(|&v| d.compatible(r, v)).collect();
    if compatible.is_empty() {
        return Some(UnservedReason::NoCompatibleVehicle);
    }
    let (p, q) = (d.loc[2 * r], d.loc[2 * r + 1]);
    let m = d.matrix;
    let reachable = |v: usize| {
        m.reachable(d.vstart[v], p)
            && m.reachable(p, q)
            && (d.vend[v] == data::NO_LOC || m.reachable(q, d.vend[v]))
    };
    if !compatible.iter().any(|&v| reachable(v)) {
        return Some(UnservedReason::UnreachableLocation);
    }
    if m.duration(p, q) > d.max_ride[r] + 1e-9 {
        return Some(UnservedReason::RideTimeImpossible);
    }
    let nodes: &[usize] = if d.single[r] {
        &[2 * r]
    } else {
        &[2 * r, 2 * r + 1]
    };
    let mut t = Vec::new();
    if compatible.iter().any(|&v| schedule(d, v, nodes, &mut t)) {
        None
    } else {
        Some(UnservedReason::TimeWindowUnreachable)
    }
}

/// Converts a search state into the public [`Solution`], with exact schedules.
pub(crate) fn to_solution(problem: &Problem, d: &Data, st: &State) -> Solution {
    let mut routes = Vec::new();
    let mut t = Vec::new();
    let mut places = Vec::new();
    for route in st.routes.iter().filter(|r| !r.is_empty()) {
        let v = route.vehicle;
        let ok = if d.vbreaks[v].is_empty() {
            places.clear();
            schedule(d, v, &route.nodes, &mut t)
        } else {
            route::schedule_with_breaks(d, v, &route.nodes, &mut t, &mut places, None)
        };
        debug_assert!(ok, "a route in the solution has no schedule");
        let mut stops = Vec::with_capacity(route.len());
        let (mut loc, mut ready) = (d.vstart[v], t[0]);
        let (mut dist, mut travel) = (0.0, 0.0);
        let mut breaks = places.iter().enumerate().peekable();
        for (k, &n) in route.nodes.iter().enumerate() {
            // breaks taken before this stop, where the vehicle is
            while let Some((b, &(_, start))) = breaks.next_if(|(_, p)| p.0 == k) {
                ready = ready.max(start + d.vbreaks[v][b].serv);
            }
            let tt = d.tt(loc, d.loc[n]);
            dist += d.dist(loc, d.loc[n]);
            travel += tt;
            let (request, kind) = if d.single[n / 2] {
                (n / 2 - d.npairs, StopKind::Job)
            } else if n % 2 == 0 {
                (n / 2, StopKind::Pickup)
            } else {
                (n / 2, StopKind::Delivery)
            };
            stops.push(ScheduledStop {
                request,
                kind,
                arrival: ready + tt,
                service_start: t[k + 1],
            });
            loc = d.loc[n];
            ready = t[k + 1] + d.serv[n];
        }
        dist += d.dist(loc, d.vend[v]);
        travel += d.tt(loc, d.vend[v]);
        let veh = &problem.vehicles()[v];
        routes.push(RouteOut {
            vehicle: v,
            start_time: t[0],
            stops,
            end_time: t[route.len() + 1],
            distance: dist,
            travel_time: travel,
            cost: veh.fixed_cost + veh.cost_per_distance * dist + veh.cost_per_time * travel,
            breaks: places
                .iter()
                .enumerate()
                .map(|(index, &(after, start))| ScheduledBreak {
                    index,
                    after,
                    start,
                })
                .collect(),
        });
    }
    let mut unserved: Vec<Unserved> = Vec::new();
    let mut unserved_jobs: Vec<Unserved> = Vec::new();
    for r in (0..d.nreq).filter(|&r| st.route_of[r] == state::NONE) {
        let reason = alone_reason(d, r).unwrap_or(UnservedReason::NotEnoughFleet);
        if r < d.npairs {
            unserved.push(Unserved { request: r, reason });
        } else {
            unserved_jobs.push(Unserved {
                request: r - d.npairs,
                reason,
            });
        }
    }
    Solution {
        routes,
        unserved,
        unserved_jobs,
    }
}

#[cfg(test)]
pub(crate) mod tests;
