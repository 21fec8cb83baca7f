//! One vehicle's route with cached forward/backward time bounds, the exact schedule, and the
//! best-insertion search for one request.
//!
//! Positions: `0` is the start depot, `1..=m` the stops, `m + 1` the end. `earliest[k]` is the
//! earliest service start ignoring ride-time and duration limits, `latest[k]` the latest start
//! that still lets the rest of the route meet its windows: both are valid bounds for every
//! feasible schedule, so the insertion filter built on them never rejects a feasible
//! insertion. When ride-time or duration limits exist, surviving candidates are confirmed by
//! [`schedule`], which is exact.

use super::data::Data;

/// Slack on time comparisons.
const TOL: f64 = 1e-9;

/// A request insertion: pickup after position `a`, delivery after position `b` (`b >= a`,
/// positions of the route *before* insertion), and the change of objective it causes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Insertion {
    pub delta: f64,
    pub a: usize,
    pub b: usize,
}

/// A route and its caches (kept in sync by [`Route::update`]).
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub vehicle: usize,
    pub nodes: Vec<usize>,
    earliest: Vec<f64>,
    latest: Vec<f64>,
    /// Travel time from position `k` to `k + 1` (`k = 0..=m`).
    tt_next: Vec<f64>,
    /// Window start and service time of position `k` (`k = 0..=m + 1`).
    early_pos: Vec<f64>,
    serv_pos: Vec<f64>,
    /// Load after position `k` (`k = 0..=m`), `dims` values each.
    load: Vec<i32>,
    /// Arc costs (without the opening cost).
    pub cost: f64,
}

/// Reusable buffers for [`Route::best_insertion`], and its noise setting.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Amplitude of the noise added to insertion costs (Ropke & Pisinger); 0 = exact costs.
    pub noise: f64,
    /// Seed of the noise, so that repeated evaluations in one repair agree.
    pub salt: u64,
    cands: Vec<Insertion>,
    /// Per position `b`: a delivery after `b` as (cost detour, travel time in, travel time
    /// out, overloaded); independent of the pickup position.
    after: Vec<(f64, f64, f64, bool)>,
    nodes: Vec<usize>,
    times: Vec<f64>,
}

impl Scratch {
    /// Deterministic noise in `[-noise, noise]` for one candidate.
    #[inline]
    fn jitter(&self, r: usize, a: usize, b: usize) -> f64 {
        if self.noise == 0.0 {
            return 0.0;
        }
        let mut z = self.salt ^ ((r as u64) << 32) ^ ((a as u64) << 16) ^ (b as u64);
        // splitmix64 finaliser
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        self.noise * ((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
    }
}

impl Route {
    pub fn new(d: &Data, vehicle: usize) -> Self {
        let mut r = Route {
            vehicle,
            nodes: Vec::new(),
            earliest: Vec::new(),
            latest: Vec::new(),
            tt_next: Vec::new(),
            early_pos: Vec::new(),
            serv_pos: Vec::new(),
            load: Vec::new(),
            cost: 0.0,
        };
        r.update(d);
        r
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Location of position `k`.
    #[inline]
    fn loc(&self, d: &Data, k: usize) -> usize {
        match k {
            0 => d.vstart[self.vehicle],
            k if k > self.nodes.len() => d.vend[self.vehicle],
            k => d.loc[self.nodes[k - 1]],
        }
    }

    /// Recomputes the caches after `nodes` changed.
    pub fn update(&mut self, d: &Data) {
        let (v, m) = (self.vehicle, self.nodes.len());
        self.early_pos.clear();
        self.serv_pos.clear();
        self.early_pos.push(d.vearly[v]);
        self.serv_pos.push(0.0);
        for &n in &self.nodes {
            self.early_pos.push(d.early[n]);
            self.serv_pos.push(d.serv[n]);
        }
        self.early_pos.push(d.vearly[v]);
        self.serv_pos.push(0.0);
        self.earliest.clear();
        self.earliest.push(d.vearly[v]);
        self.tt_next.clear();
        self.cost = 0.0;
        for k in 1..=m + 1 {
            let (a, b) = (self.loc(d, k - 1), self.loc(d, k));
            let tt = d.tt(a, b);
            self.tt_next.push(tt);
            let t = self.earliest[k - 1] + self.serv_pos[k - 1] + tt;
            self.earliest.push(t.max(self.early_pos[k]));
            self.cost += d.arc(v, a, b);
        }
        self.latest.clear();
        self.latest.resize(m + 2, 0.0);
        self.latest[m + 1] = d.vlate[v];
        for k in (0..=m).rev() {
            let l = if k == 0 {
                d.vlate[v]
            } else {
                d.late[self.nodes[k - 1]]
            };
            let t = self.latest[k + 1] - self.serv_pos[k] - self.tt_next[k];
            self.latest[k] = l.min(t);
        }
        self.load.clear();
        self.load.resize(d.dims, 0);
        for k in 1..=m {
            let n = self.nodes[k - 1];
            for x in 0..d.dims {
                let prev = self.load[(k - 1) * d.dims + x];
                self.load.push(prev + d.demand[n * d.dims + x]);
            }
        }
    }

    /// Whether the load after position `k` plus request `r`'s load exceeds the capacity.
    #[inline]
    fn overloaded(&self, d: &Data, k: usize, r: usize) -> bool {
        let base = k * d.dims;
        (0..d.dims).any(|x| {
            self.load[base + x] + d.demand[2 * r * d.dims + x] > d.vcap[self.vehicle * d.dims + x]
        })
    }

    /// The cheapest feasible insertion of request `r`, or `None`.
    pub fn best_insertion(&self, d: &Data, r: usize, s: &mut Scratch) -> Option<Insertion> {
        let v = self.vehicle;
        if !d.compatible(r, v) {
            return None;
        }
        let (p, q) = (2 * r, 2 * r + 1);
        let (lp, lq) = (d.loc[p], d.loc[q]);
        let m = self.nodes.len();
        let open = if m == 0 { d.vopen[v] } else { 0.0 };
        s.cands.clear();
        let mut bound = f64::INFINITY;
        let mut filled = false;
        // `latest` is non-decreasing along the route: positions whose successor must be
        // served before the pickup's service could even end are skipped at once
        let first = self.latest[1..].partition_point(|&l| l + TOL < d.early[p] + d.serv[p]);
        for a in first..=m {
            if self.earliest[a] > d.late[p] + TOL {
                break;
            }
            if self.overloaded(d, a, r) {
                continue;
            }
            let la = self.loc(d, a);
            let tp = (self.earliest[a] + self.serv_pos[a] + d.tt(la, lp)).max(d.early[p]);
            if tp > d.late[p] + TOL {
                continue;
            }
            let ln = self.loc(d, a + 1);
            let pick = d.arc(v, la, lp) + d.arc(v, lp, ln) - d.arc(v, la, ln);
            // Without ride or duration limits the cheapest candidate is the answer, and with
            // costs that meet the triangle inequality no delivery position makes an insertion
            // cheaper than its pickup detour: a pickup detour above the best so far is skipped.
            if !d.exact && pick - 2.0 * s.noise > bound {
                continue;
            }
            // delivery right after the pickup
            let tq = (tp + d.serv[p] + d.tt(lp, lq)).max(d.early[q]);
            if tq <= d.late[q] + TOL
                && (tq + d.serv[q] + d.tt(lq, ln)).max(self.early_pos[a + 1])
                    <= self.latest[a + 1] + TOL
            {
                let delta =
                    d.arc(v, la, lp) + d.arc(v, lp, lq) + d.arc(v, lq, ln) - d.arc(v, la, ln);
                let delta = delta + s.jitter(r, a, a);
                s.cands.push(Insertion { delta, a, b: a });
                bound = bound.min(delta);
            }
            if !filled {
                filled = true;
                s.after.clear();
                s.after.push((0.0, 0.0, 0.0, false));
                for b in 1..=m {
                    let (lb, ln) = (self.loc(d, b), self.loc(d, b + 1));
                    s.after.push((
                        d.arc(v, lb, lq) + d.arc(v, lq, ln) - d.arc(v, lb, ln),
                        d.tt(lb, lq),
                        d.tt(lq, ln),
                        self.overloaded(d, b, r),
                    ));
                }
            }
            // position a + 1 is reached from the pickup, later ones along the route
            let mut t = tp + d.serv[p] + d.tt(lp, self.loc(d, a + 1));
            for b in a + 1..=m {
                let tb = t.max(self.early_pos[b]);
                let (cost, tt_in, tt_out, over) = s.after[b];
                if tb > self.latest[b] + TOL || over {
                    break;
                }
                let tq = (tb + self.serv_pos[b] + tt_in).max(d.early[q]);
                if tq <= d.late[q] + TOL
                    && (tq + d.serv[q] + tt_out).max(self.early_pos[b + 1])
                        <= self.latest[b + 1] + TOL
                {
                    let delta = pick + cost + s.jitter(r, a, b);
                    s.cands.push(Insertion { delta, a, b });
                    bound = bound.min(delta);
                }
                t = tb + self.serv_pos[b] + self.tt_next[b];
            }
        }
        if !d.exact {
            return s
                .cands
                .iter()
                .min_by(|x, y| x.delta.total_cmp(&y.delta))
                .map(|c| Insertion {
                    delta: c.delta + open,
                    ..*c
                });
        }
        s.cands.sort_by(|x, y| x.delta.total_cmp(&y.delta));
        for i in 0..s.cands.len() {
            let c = s.cands[i];
            s.nodes.clear();
            s.nodes.extend_from_slice(&self.nodes);
            s.nodes.insert(c.b, q);
            s.nodes.insert(c.a, p);
            if schedule(d, v, &s.nodes, &mut s.times) {
                return Some(Insertion {
                    delta: c.delta + open,
                    ..c
                });
            }
        }
        None
    }

    /// Requests on the route, in the order of their pickups.
    pub fn requests(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().filter(|&&n| n % 2 == 0).map(|&n| n / 2)
    }

    /// Applies an insertion of request `r` found by [`Route::best_insertion`].
    pub fn insert(&mut self, d: &Data, r: usize, ins: Insertion) {
        self.nodes.insert(ins.b, 2 * r + 1);
        self.nodes.insert(ins.a, 2 * r);
        self.update(d);
    }

    /// Removes request `r` (both nodes) and returns the change of cost (negative = saving).
    pub fn remove(&mut self, d: &Data, r: usize) {
        self.nodes.retain(|&n| n / 2 != r);
        self.update(d);
    }

    /// Cost saved by removing request `r` (including the opening cost if it empties the route).
    pub fn removal_gain(&self, d: &Data, r: usize) -> f64 {
        let v = self.vehicle;
        if self.nodes.len() == 2 {
            return self.cost + d.vopen[v];
        }
        let kp = self
            .nodes
            .iter()
            .position(|&n| n == 2 * r)
            .map_or(0, |i| i + 1);
        let kq = self
            .nodes
            .iter()
            .position(|&n| n == 2 * r + 1)
            .map_or(0, |i| i + 1);
        let l = |k: usize| self.loc(d, k);
        if kq == kp + 1 {
            d.arc(v, l(kp - 1), l(kp)) + d.arc(v, l(kp), l(kq)) + d.arc(v, l(kq), l(kq + 1))
                - d.arc(v, l(kp - 1), l(kq + 1))
        } else {
            d.arc(v, l(kp - 1), l(kp)) + d.arc(v, l(kp), l(kp + 1)) - d.arc(v, l(kp - 1), l(kp + 1))
                + d.arc(v, l(kq - 1), l(kq))
                + d.arc(v, l(kq), l(kq + 1))
                - d.arc(v, l(kq - 1), l(kq + 1))
        }
    }

    /// Earliest service start at position `k` ignoring ride limits (a lower bound).
    pub fn earliest(&self, k: usize) -> f64 {
        self.earliest[k]
    }
}

/// Exact schedule of vehicle `v` over `nodes`: fills `t` (positions `0..=m+1`) with the
/// earliest service starts that meet windows, shift, ride times and maximum duration, and
/// returns whether they exist. Capacity is not checked here.
///
/// Lower bounds are raised to a fixpoint: a forward pass applies travel times and window
/// starts; then every ride-time limit lifts its pickup to `t[delivery] - L - s_p` and the
/// duration limit lifts the start to `t[end] - T`. The fixpoint is the least schedule meeting
/// all constraints, so a window end below it proves infeasibility. It converges in at most
/// one round per backward (ride/duration) constraint on the critical path; a route that
/// needs more rounds has a ride-time cycle and is infeasible.
pub(crate) fn schedule(d: &Data, v: usize, nodes: &[usize], t: &mut Vec<f64>) -> bool {
    let m = nodes.len();
    let loc = |k: usize| match k {
        0 => d.vstart[v],
        k if k > m => d.vend[v],
        k => d.loc[nodes[k - 1]],
    };
    let serv = |k: usize| {
        if k == 0 || k > m {
            0.0
        } else {
            d.serv[nodes[k - 1]]
        }
    };
    let late = |k: usize| {
        if k == 0 || k > m {
            d.vlate[v]
        } else {
            d.late[nodes[k - 1]]
        }
    };
    t.clear();
    t.push(d.vearly[v]);
    t.extend(nodes.iter().map(|&n| d.early[n]));
    t.push(d.vearly[v]);
    for _ in 0..m + 3 {
        if t[0] > d.vlate[v] + TOL {
            return false;
        }
        for k in 1..=m + 1 {
            let reach = t[k - 1] + serv(k - 1) + d.tt(loc(k - 1), loc(k));
            if reach > t[k] {
                t[k] = reach;
            }
            if !t[k].is_finite() || t[k] > late(k) + TOL {
                return false;
            }
        }
        let mut changed = false;
        for k in 1..=m {
            let n = nodes[k - 1];
            if n % 2 == 1 && d.max_ride[n / 2].is_finite() {
                if let Some(kp) = nodes[..k - 1].iter().rposition(|&x| x == n - 1) {
                    let need = t[k] - d.max_ride[n / 2] - d.serv[n - 1];
                    if need > t[kp + 1] + TOL {
                        t[kp + 1] = need;
                        changed = true;
                    }
                }
            }
        }
        let need = t[m + 1] - d.vmaxdur[v];
        if need > t[0] + TOL {
            t[0] = need;
            changed = true;
        }
        if !changed {
            return true;
        }
    }
    false
}
