//! The problem flattened into arrays for the solver's inner loops.
//!
//! Request `r` owns node `2r` (pickup) and `2r + 1` (delivery). Vehicles keep their own
//! arrays. Windows are tightened with the ride-time limit (valid for every schedule, so no
//! feasible solution is lost): `late(d) <= late(p) + s_p + L` and `early(p) >= early(d) - L - s_p`.

use crate::matrix::Matrix;
use crate::model::{Objective, Problem};

/// Marks a missing end location (open route): travel to it costs nothing.
pub(crate) const NO_LOC: usize = usize::MAX;

/// Flat solver view of a [`Problem`] and its [`Matrix`].
pub(crate) struct Data<'a> {
    pub matrix: &'a Matrix,
    pub nreq: usize,
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
    /// Fixed cost plus the objective's vehicle weight: what opening a route costs.
    pub vopen: Vec<f64>,
    /// Vehicles with identical data share a class; empty routes of one class are equivalent.
    pub vclass: Vec<usize>,
    problem: &'a Problem,
    /// Some ride-time or duration limit exists: insertions need the exact schedule check.
    pub exact: bool,
    pub objective: Objective,
}

impl<'a> Data<'a> {
    pub fn new(problem: &'a Problem, matrix: &'a Matrix) -> Self {
        let dims = problem.dims();
        let (nreq, nveh) = (problem.requests().len(), problem.vehicles().len());
        let mut d = Data {
            matrix,
            nreq,
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
            let late_d = q.window.end().min(p.window.end() + p.service + l);
            let early_p = p.window.start().max(q.window.start() - l - p.service);
            for (stop, e, lt, sign) in [
                (p, early_p, p.window.end(), 1),
                (q, q.window.start(), late_d, -1),
            ] {
                d.loc.push(stop.location);
                d.early.push(e);
                d.late.push(lt);
                d.serv.push(stop.service);
                d.demand.extend(
                    req.load
                        .0
                        .iter()
                        .map(|&x| sign * x.min(i32::MAX as u32) as i32),
                );
            }
            d.max_ride.push(l);
            d.exact |= l.is_finite();
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
            d.vopen
                .push(veh.fixed_cost + problem.objective().vehicle_weight);
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
    #[inline]
    pub fn arc(&self, v: usize, a: usize, b: usize) -> f64 {
        if b == NO_LOC {
            0.0
        } else {
            self.cpd[v] * self.matrix.distance(a, b) + self.cpt[v] * self.matrix.duration(a, b)
        }
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
        self.problem.compatible(r, v)
    }
}
