//! The problem flattened into arrays for the solver's inner loops.
//!
//! Tasks are the requests (`0..npairs`) followed by the single-stop jobs. Task `r` owns node
//! `2r` (pickup, or the job's only stop) and `2r + 1` (delivery; never in a route for a job).
//! Vehicles keep their own arrays. Windows are tightened with the ride-time limit (valid for
//! every schedule, so no feasible solution is lost): `late(d) <= late(p) + s_p + L` and
//! `early(p) >= early(d) - L - s_p`. `early` / `late` are the first start and last end of a
//! node's windows; nodes with several windows also list them in `wins`.

use crate::matrix::Matrix;
use crate::model::{merge_windows, Objective, Problem, Stop, TimeWindow};

/// Marks a missing end location (open route): travel to it costs nothing.
pub(crate) const NO_LOC: usize = usize::MAX;

/// Flat solver view of a [`Problem`] and its [`Matrix`].
pub(crate) struct Data<'a> {
    pub matrix: &'a Matrix,
    /// Travel time and distance of every ordered pair by destination (`[tt, dist]` at
    /// `b * n + a` for the leg from `a` to `b`), when [`Data::with_legs_in`] built it: the
    /// insertion scans look up the legs *into* one stop from every position of a route, a
    /// column of the matrix, which read from the matrix itself is one cache miss per position
    /// and per value.
    by_dest: Vec<[f64; 2]>,
    /// The same by origin (`[tt, dist]` at `a * n + b`): one load for both values.
    by_origin: Vec<[f64; 2]>,
    /// Tasks: requests, then jobs.
    pub nreq: usize,
    /// Requests (pickup-delivery pairs); tasks from here on are jobs.
    pub npairs: usize,
    /// Per task: a single-stop job.
    pub single: Vec<bool>,
    /// Per task, `dims` values: load on board from the route start until the task (a job's
    /// delivery amount; 0 for requests).
    pub start_load: Vec<i32>,
    /// Per node: its windows when it has more than one (else empty; `early`/`late` say all).
    pub wins: Vec<Vec<(f64, f64)>>,
    /// Per vehicle: its breaks, in order.
    pub vbreaks: Vec<Vec<BreakData>>,
    pub dims: usize,
    pub loc: Vec<usize>,
    pub early: Vec<f64>,
    pub late: Vec<f64>,
    pub serv: Vec<f64>,
    /// `nodes * dims`, positive at pickups, negative at deliveries.
    pub demand: Vec<i32>,
    /// Per request; infinity when unlimited.
    pub max_ride: Vec<f64>,
    pub nveh: usize,
    pub vstart: Vec<usize>,
    pub vend: Vec<usize>,
    pub vearly: Vec<f64>,
    pub vlate: Vec<f64>,
    pub vmaxdur: Vec<f64>,
    /// `nveh * dims`.
    pub vcap: Vec<i32>,
    pub cpd: Vec<f64>,
    pub cpt: Vec<f64>,
    /// Some vehicle pays for time: [`Data::arc`] reads the durations too.
    pub time_cost: bool,
    /// Fixed cost plus the objective's vehicle weight: what opening a route costs.
    pub vopen: Vec<f64>,
    /// Vehicles with identical data share a class; empty routes of one class are equivalent.
    pub vclass: Vec<usize>,
    problem: &'a Problem,
    /// Some ride-time or duration limit exists: insertions need the exact schedule check.
    pub exact: bool,
    pub objective: Objective,
}

/// One break of a vehicle, flattened.
pub(crate) struct BreakData {
    /// Windows of its start, sorted (never empty: `[0, inf)` when the input gave none).
    pub wins: Vec<(f64, f64)>,
    pub serv: f64,
    /// Most load on board during the break, `dims` values.
    pub max_load: Option<Vec<i32>>,
    /// See [`crate::model::Break::skip_after_end`].
    pub skip: bool,
    /// [`crate::model::Break::max_gap`], infinity when unlimited.
    pub gap: f64,
}

/// Windows of `stop` within `[lo, hi]`, sorted and merged; empty if none is left.
fn clipped(stop: &Stop, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    stop.windows()
        .iter()
        .map(|w| (w.start().max(lo), w.end().min(hi)))
        .filter(|(a, b)| a <= b)
        .collect()
}

fn to_i32(x: u32) -> i32 {
    x.min(i32::MAX as u32) as i32
}

impl<'a> Data<'a> {
    pub fn new(problem: &'a Problem, matrix: &'a Matrix) -> Self {
        let dims = problem.dims();
        let npairs = problem.requests().len();
        let nreq = npairs + problem.jobs().len();
        let nveh = problem.vehicles().len();
        let mut d = Data {
            matrix,
            by_dest: Vec::new(),
            by_origin: Vec::new(),
            nreq,
            npairs,
            single: Vec::with_capacity(nreq),
            start_load: Vec::with_capacity(nreq * dims),
            wins: Vec::with_capacity(2 * nreq),
            vbreaks: Vec::with_capacity(nveh),
            dims,
            loc: Vec::with_capacity(2 * nreq),
            early: Vec::with_capacity(2 * nreq),
            late: Vec::with_capacity(2 * nreq),
            serv: Vec::with_capacity(2 * nreq),
            demand: Vec::with_capacity(2 * nreq * dims),
            max_ride: Vec::with_capacity(nreq),
            nveh,
            vstart: vec![],
            vend: vec![],
            vearly: vec![],
            vlate: vec![],
            vmaxdur: vec![],
            vcap: vec![],
            cpd: vec![],
            cpt: vec![],
            time_cost: false,
            vopen: vec![],
            vclass: vec![],
            problem,
            exact: false,
            objective: problem.objective(),
        };
        let mut pinned = vec![false; nveh];
        for req in problem.requests() {
            if let Some(v) = req.vehicle {
                pinned[v] = true;
            }
            let l = req.max_ride_time.unwrap_or(f64::INFINITY);
            let (p, q) = (&req.pickup, &req.delivery);
            let (pw, qw) = (p.windows(), q.windows());
            let last_end = |w: &[TimeWindow]| w.last().map_or(f64::NEG_INFINITY, |x| x.end());
            let late_d = last_end(&qw).min(last_end(&pw) + p.service + l);
            let early_p = pw[0].start().max(qw[0].start() - l - p.service);
            for (stop, lo, hi, sign) in [
                (p, early_p, f64::INFINITY, 1),
                (q, f64::NEG_INFINITY, late_d, -1),
            ] {
                d.push_node(stop, lo, hi);
                d.demand
                    .extend(req.load.0.iter().map(|&x| sign * to_i32(x)));
            }
            d.max_ride.push(l);
            d.exact |= l.is_finite();
            d.single.push(false);
            d.start_load.extend(std::iter::repeat_n(0, dims));
        }
        for job in problem.jobs() {
            if let Some(v) = job.vehicle {
                pinned[v] = true;
            }
            for k in 0..2 {
                d.push_node(&job.stop, f64::NEG_INFINITY, f64::INFINITY);
                if k == 0 {
                    d.demand.extend(
                        job.pickup
                            .0
                            .iter()
                            .zip(&job.delivery.0)
                            .map(|(&p, &q)| to_i32(p) - to_i32(q)),
                    );
                } else {
                    d.demand.extend(std::iter::repeat_n(0, dims));
                }
            }
            d.max_ride.push(f64::INFINITY);
            d.single.push(true);
            d.start_load
                .extend(job.delivery.0.iter().map(|&x| to_i32(x)));
        }
        let mut reps: Vec<usize> = Vec::new();
        for (v, veh) in problem.vehicles().iter().enumerate() {
            d.vstart.push(veh.start);
            d.vend.push(veh.end.unwrap_or(NO_LOC));
            d.vearly.push(veh.shift.start());
            d.vlate.push(veh.shift.end());
            let maxdur = veh.max_duration.unwrap_or(f64::INFINITY);
            d.vmaxdur.push(maxdur);
            d.exact |= maxdur.is_finite();
            d.vcap.extend(
                veh.capacity
                    .0
                    .iter()
                    .map(|&x| x.min(i32::MAX as u32) as i32),
            );
            d.cpd.push(veh.cost_per_distance);
            d.cpt.push(veh.cost_per_time);
            d.time_cost |= veh.cost_per_time != 0.0;
            d.vopen
                .push(veh.fixed_cost + problem.objective().vehicle_weight);
            let mut breaks = Vec::with_capacity(veh.breaks.len());
            for b in &veh.breaks {
                let mut wins: Vec<(f64, f64)> = merge_windows(b.windows.iter().copied())
                    .iter()
                    .map(|w| (w.start(), w.end()))
                    .collect();
                if wins.is_empty() {
                    wins.push((0.0, f64::INFINITY));
                }
                breaks.push(BreakData {
                    wins,
                    serv: b.service,
                    max_load: b
                        .max_load
                        .as_ref()
                        .map(|l| l.0.iter().map(|&x| to_i32(x)).collect()),
                    skip: b.skip_after_end,
                    gap: b.max_gap.unwrap_or(f64::INFINITY),
                });
            }
            d.exact |= !breaks.is_empty();
            d.vbreaks.push(breaks);
            // vehicles with requests pinned to them are never interchangeable
            let class = reps
                .iter()
                .copied()
                .find(|&w| !pinned[v] && !pinned[w] && problem.vehicles()[w] == *veh);
            d.vclass.push(class.unwrap_or(v));
            if class.is_none() {
                reps.push(v);
            }
        }
        d
    }

    /// Builds the legs by destination and by origin ([`Data::by_dest`], [`Data::by_origin`]) when
    /// both take at most `max_bytes`: for a search that scans insertions many times, not for
    /// a single insertion (building them reads the whole matrix).
    pub fn with_legs_in(mut self, max_bytes: usize) -> Self {
        let (m, n) = (self.matrix, self.matrix.len());
        if n.saturating_mul(n).saturating_mul(32) <= max_bytes {
            self.by_origin = (0..n * n)
                .map(|k| [m.duration(k / n, k % n), m.distance(k / n, k % n)])
                .collect();
            // transposed in tiles, so that neither side is read or written a column at a time
            const TILE: usize = 64;
            self.by_dest = vec![[0.0; 2]; n * n];
            for a0 in (0..n).step_by(TILE) {
                for b0 in (0..n).step_by(TILE) {
                    for a in a0..(a0 + TILE).min(n) {
                        for b in b0..(b0 + TILE).min(n) {
                            self.by_dest[b * n + a] = [m.duration(a, b), m.distance(a, b)];
                        }
                    }
                }
            }
        }
        self
    }

    /// Appends one node for `stop`, its windows clipped to `[lo, hi]`.
    fn push_node(&mut self, stop: &Stop, lo: f64, hi: f64) {
        let wins = clipped(stop, lo, hi);
        self.loc.push(stop.location);
        match (wins.first(), wins.last()) {
            (Some(first), Some(last)) => {
                self.early.push(first.0);
                self.late.push(last.1);
            }
            // no window left: nothing can serve it
            _ => {
                self.early.push(stop.window.start());
                self.late.push(f64::NEG_INFINITY);
            }
        }
        self.serv.push(stop.service);
        self.wins
            .push(if wins.len() > 1 { wins } else { Vec::new() });
    }

    /// The earliest service start at node `n` not before `t`: `t` raised to the start of the
    /// window it falls in or the next one. Above `late[n]` (possibly infinite) when no window
    /// is left, which callers test.
    #[inline]
    pub fn start_at(&self, n: usize, t: f64) -> f64 {
        let w = &self.wins[n];
        if w.is_empty() {
            return t.max(self.early[n]);
        }
        for &(a, b) in w {
            if t <= b + 1e-9 {
                return t.max(a);
            }
        }
        f64::INFINITY
    }

    /// The latest service start at node `n` not after `t` (within a window), or `-inf`.
    #[inline]
    pub fn latest_at(&self, n: usize, t: f64) -> f64 {
        let w = &self.wins[n];
        if w.is_empty() {
            return t.min(self.late[n]);
        }
        for &(a, b) in w.iter().rev() {
            if a <= t + 1e-9 {
                return t.min(b);
            }
        }
        f64::NEG_INFINITY
    }

    /// Windows beyond the first of node `n`.
    #[inline]
    pub fn extra_windows(&self, n: usize) -> usize {
        self.wins[n].len().saturating_sub(1)
    }

    /// Travel time between locations; 0 towards [`NO_LOC`].
    #[inline]
    pub fn tt(&self, a: usize, b: usize) -> f64 {
        if b == NO_LOC {
            0.0
        } else {
            self.matrix.duration(a, b)
        }
    }

    /// Cost of driving from `a` to `b` with vehicle `v`.
    #[inline(always)]
    pub fn arc(&self, v: usize, a: usize, b: usize) -> f64 {
        if b == NO_LOC {
            0.0
        } else if self.time_cost {
            self.cpd[v] * self.matrix.distance(a, b) + self.cpt[v] * self.matrix.duration(a, b)
        } else {
            self.cpd[v] * self.matrix.distance(a, b)
        }
    }

    /// Travel time and cost of the leg from `a` into `b` (`b` not [`NO_LOC`]) with vehicle
    /// `v`: [`Data::tt`] and [`Data::arc`] read from the legs by destination when built (a
    /// scan over the positions of a route before one stop reads them in order).
    #[inline(always)]
    pub fn leg_into(&self, v: usize, a: usize, b: usize) -> (f64, f64) {
        self.leg(v, &self.by_dest, b * self.matrix.len() + a, a, b)
    }

    /// Travel time and cost of the leg from `a` out to `b` with vehicle `v` (0 and 0 towards
    /// [`NO_LOC`]), one load when the legs by origin are built.
    #[inline(always)]
    pub fn leg_from(&self, v: usize, a: usize, b: usize) -> (f64, f64) {
        if b == NO_LOC {
            return (0.0, 0.0);
        }
        self.leg(v, &self.by_origin, a * self.matrix.len() + b, a, b)
    }

    /// The leg from `a` to `b` at index `k` of a copy of the matrix, or from the matrix when
    /// the copy was not built; its cost as [`Data::arc`].
    #[inline(always)]
    fn leg(&self, v: usize, copy: &[[f64; 2]], k: usize, a: usize, b: usize) -> (f64, f64) {
        let [tt, dist] = match copy.get(k) {
            Some(&leg) => leg,
            None => [self.matrix.duration(a, b), self.matrix.distance(a, b)],
        };
        let arc = if self.time_cost {
            self.cpd[v] * dist + self.cpt[v] * tt
        } else {
            self.cpd[v] * dist
        };
        (tt, arc)
    }

    /// Distance between locations; 0 towards [`NO_LOC`].
    #[inline]
    pub fn dist(&self, a: usize, b: usize) -> f64 {
        if b == NO_LOC {
            0.0
        } else {
            self.matrix.distance(a, b)
        }
    }

    #[inline]
    pub fn compatible(&self, r: usize, v: usize) -> bool {
        if r < self.npairs {
            self.problem.compatible(r, v)
        } else {
            self.problem.job_compatible(r - self.npairs, v)
        }
    }
}
