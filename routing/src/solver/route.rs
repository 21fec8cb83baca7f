//! One vehicle's route with cached forward/backward time bounds, the exact schedule, and the
//! best-insertion search for one request.
//!
//! Positions: `0` is the start depot, `1..=m` the stops, `m + 1` the end. `earliest[k]` is the
//! earliest service start ignoring ride-time and duration limits, `latest[k]` the latest start
//! that still lets the rest of the route meet its windows: both are valid bounds for every
//! feasible schedule, so the insertion filter built on them never rejects a feasible
//! insertion. When ride-time or duration limits exist, surviving candidates are confirmed by
//! [`schedule`], which is exact.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::data::Data;

/// Slack on time comparisons.
const TOL: f64 = 1e-9;

/// The last [`Route::version`] handed out (0 is never one).
static VERSIONS: AtomicU64 = AtomicU64::new(0);

/// A request insertion: pickup after position `a`, delivery after position `b` (`b >= a`,
/// positions of the route *before* insertion), and the change of objective it causes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Insertion {
    pub delta: f64,
    pub a: usize,
    pub b: usize,
}

/// Answers of [`Route::best_insertion`] already worked out, per row (a request, or its place
/// in a repair's pool) and vehicle, each kept with the [`Route::version`] it holds for and
/// worked out again once the route has changed. The insertion costs' settings of the
/// [`Scratch`] (noise, free opening) must stay the same while the answers are used.
pub(crate) struct Answers {
    nveh: usize,
    known: Vec<(u64, Option<Insertion>)>,
}

impl Answers {
    /// Nothing known yet, for `rows` rows (versions start at 1).
    pub fn new(rows: usize, nveh: usize) -> Self {
        Answers {
            nveh,
            known: vec![(0, None); rows * nveh],
        }
    }

    /// [`Route::best_insertion`] of `r` (row `row`) into `route`, looked up when it was worked
    /// out for the route as it is.
    pub fn best_insertion(
        &mut self,
        d: &Data,
        row: usize,
        route: &Route,
        r: usize,
        s: &mut Scratch,
    ) -> Option<Insertion> {
        let k = &mut self.known[row * self.nveh + route.vehicle];
        if k.0 != route.version {
            *k = (route.version, route.best_insertion(d, r, s));
        }
        k.1
    }

    /// Whether the answer for row `row` and `route` is known for the route as it is.
    #[cfg(test)]
    pub fn knows(&self, row: usize, route: &Route) -> bool {
        self.known[row * self.nveh + route.vehicle].0 == route.version
    }
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
    /// Cost of the arc from each position to the next.
    arc_next: Vec<f64>,
    /// Window start and service time of position `k` (`k = 0..=m + 1`).
    early_pos: Vec<f64>,
    /// Location of position `k` (`k = 0..=m + 1`).
    loc_pos: Vec<usize>,
    serv_pos: Vec<f64>,
    /// Load after position `k` (`k = 0..=m`), `dims` values each.
    load: Vec<i32>,
    /// Arc costs (without the opening cost).
    pub cost: f64,
    /// Where the vehicle's breaks are taken on this route (gap per break taken), when it has
    /// breaks: the first placement an insertion tries.
    breaks_at: Vec<usize>,
    /// The route's least exact schedule, worked out on first use after a change
    /// ([`Route::fits`]): many routes change and are never asked.
    least: RefCell<LeastSchedule>,
    /// Names the route's content (vehicle and stops): a fresh number at every
    /// [`Route::update`], unique in the process, and kept by a clone. Equal versions mean equal
    /// routes, so an answer worked out for one version holds while it lasts ([`Route::version`]).
    version: u64,
}

/// A route's least exact schedule ([`schedule`]) and what [`Route::fits`] needs with it.
#[derive(Debug, Clone, Default)]
struct LeastSchedule {
    /// Worked out for the route as it is.
    fresh: bool,
    /// The route has an exact schedule (not so after a removal on roads that break the
    /// triangle inequality).
    ok: bool,
    /// Service starts, positions `0..=m + 1`.
    t: Vec<f64>,
    /// Per stop (position `k` at index `k - 1`): the position of the pickup of a drop-off with
    /// a ride limit, `0` for other stops.
    pick_pos: Vec<u32>,
    /// Windows beyond the first, summed over the stops (bounds the scheduler's rounds).
    extra_windows: usize,
}

/// See [`Route::fill_after`].
type AfterPos = (f64, f64, f64, bool);

/// Reusable buffers for [`Route::best_insertion`], and its noise setting.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Amplitude of the noise added to insertion costs (Ropke & Pisinger); 0 = exact costs.
    pub noise: f64,
    /// Seed of the noise, so that repeated evaluations in one repair agree.
    pub salt: u64,
    /// Offer an empty route at the cost of the ride alone, without the legs from and to the
    /// depot (the opening cost stays): a route that is opened pays off only once more requests
    /// join it, which a repair that charges the first request for both legs rarely lets
    /// happen. The real cost decides whether the result is accepted.
    pub free_opening: bool,
    /// A repair gives up once more requests than this fit nowhere (they stay in the bank with
    /// those not tried yet): the search rejects such a candidate whatever its cost.
    pub give_up: Option<usize>,
    cands: Vec<Insertion>,
    /// Per position `b`: a delivery after `b` as (cost detour, travel time in, travel time
    /// out, overloaded); independent of the pickup position.
    after: Vec<AfterPos>,
    nodes: Vec<usize>,
    pub times: Vec<f64>,
    places: Vec<(usize, f64)>,
    hint: Vec<usize>,
    /// Per pickup position: travel time and cost in, pickup detour cost, travel time out.
    legs: Vec<(f64, f64, f64, f64)>,
}

impl Scratch {
    /// Whether a repair with `nowhere` requests that fit nowhere gives up ([`Scratch::give_up`]).
    pub fn gives_up(&self, nowhere: usize) -> bool {
        self.give_up.is_some_and(|g| nowhere > g)
    }

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
            arc_next: Vec::new(),
            early_pos: Vec::new(),
            loc_pos: Vec::new(),
            serv_pos: Vec::new(),
            load: Vec::new(),
            cost: 0.0,
            breaks_at: Vec::new(),
            least: RefCell::new(LeastSchedule::default()),
            version: 0,
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

    /// Location of position `k` (`0` the start, `len() + 1` the end).
    #[inline]
    pub fn loc(&self, k: usize) -> usize {
        self.loc_pos[k]
    }

    /// The earliest service start at position `k` not before `t` (windows of its node, or the
    /// shift start at the depots).
    #[inline]
    fn start_at(&self, d: &Data, k: usize, t: f64) -> f64 {
        if k == 0 || k > self.nodes.len() {
            t.max(self.early_pos[k])
        } else {
            d.start_at(self.nodes[k - 1], t)
        }
    }

    /// Recomputes the caches after `nodes` changed.
    pub fn update(&mut self, d: &Data) {
        let (v, m) = (self.vehicle, self.nodes.len());
        self.early_pos.clear();
        self.serv_pos.clear();
        self.loc_pos.clear();
        self.early_pos.push(d.vearly[v]);
        self.serv_pos.push(0.0);
        self.loc_pos.push(d.vstart[v]);
        for &n in &self.nodes {
            self.early_pos.push(d.early[n]);
            self.serv_pos.push(d.serv[n]);
            self.loc_pos.push(d.loc[n]);
        }
        self.early_pos.push(d.vearly[v]);
        self.serv_pos.push(0.0);
        self.loc_pos.push(d.vend[v]);
        self.earliest.clear();
        self.earliest.push(d.vearly[v]);
        self.tt_next.clear();
        self.arc_next.clear();
        self.cost = 0.0;
        for k in 1..=m + 1 {
            let (tt, arc) = d.leg_from(v, self.loc_pos[k - 1], self.loc_pos[k]);
            self.tt_next.push(tt);
            let t = self.earliest[k - 1] + self.serv_pos[k - 1] + tt;
            let e = self.start_at(d, k, t);
            self.earliest.push(e);
            self.arc_next.push(arc);
            self.cost += arc;
        }
        self.latest.clear();
        self.latest.resize(m + 2, 0.0);
        self.latest[m + 1] = d.vlate[v];
        for k in (0..=m).rev() {
            let t = self.latest[k + 1] - self.serv_pos[k] - self.tt_next[k];
            self.latest[k] = if k == 0 {
                d.vlate[v].min(t)
            } else {
                d.latest_at(self.nodes[k - 1], t)
            };
        }
        self.load.clear();
        self.load.resize(d.dims, 0);
        // jobs' deliveries are on board from the start
        for &n in &self.nodes {
            if n % 2 == 0 && d.single[n / 2] {
                for x in 0..d.dims {
                    self.load[x] += d.start_load[n / 2 * d.dims + x];
                }
            }
        }
        for k in 1..=m {
            let n = self.nodes[k - 1];
            for x in 0..d.dims {
                let prev = self.load[(k - 1) * d.dims + x];
                self.load.push(prev + d.demand[n * d.dims + x]);
            }
        }
        if !d.vbreaks[v].is_empty() && m > 0 {
            // where the breaks were before the change: often where they still go
            let (mut t, mut places) = (Vec::new(), Vec::new());
            let before = std::mem::take(&mut self.breaks_at);
            if schedule_with_breaks(d, v, &self.nodes, &mut t, &mut places, Some(&before)) {
                self.breaks_at.extend(places.iter().map(|p| p.0));
            }
        } else {
            self.breaks_at.clear();
        }
        self.least.get_mut().fresh = false;
        self.version = VERSIONS.fetch_add(1, Ordering::Relaxed) + 1;
    }

    /// The route's version: it changes with every change of the route ([`Route::update`]), and
    /// two routes with the same version are the same.
    #[cfg(test)]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Works out [`Route::least`] for the route as it is.
    fn work_out_least(&self, d: &Data, least: &mut LeastSchedule) {
        let nodes = &self.nodes;
        least.fresh = true;
        least.pick_pos.clear();
        least.extra_windows = nodes.iter().map(|&n| d.extra_windows(n)).sum();
        PICK_AT.with_borrow_mut(|pick_at| {
            mark_pickups(d, nodes.iter().copied(), 1, pick_at);
            let (v, extra) = (self.vehicle, least.extra_windows);
            least.ok = schedule_marked(d, v, nodes, &mut least.t, &[], extra, pick_at);
            if least.ok {
                least
                    .pick_pos
                    .extend(nodes.iter().enumerate().map(|(i, &n)| {
                        if n % 2 == 0 || !d.max_ride[n / 2].is_finite() {
                            return 0;
                        }
                        let is_pickup = |kp: usize| kp >= 1 && nodes[kp - 1] == n - 1;
                        pickup_before(pick_at, n - 1, i + 1, is_pickup).map_or(0, |kp| kp as u32)
                    }));
            }
        });
    }

    /// Whether the load after position `k` plus request `r`'s load exceeds the capacity.
    #[inline]
    fn overloaded(&self, d: &Data, k: usize, r: usize) -> bool {
        let base = k * d.dims;
        (0..d.dims).any(|x| {
            self.load[base + x] + d.demand[2 * r * d.dims + x] > d.vcap[self.vehicle * d.dims + x]
        })
    }

    /// Extends `after` (the drop-off of request `r` after each position: detour cost, travel
    /// time in and out, whether the load is over) up to position `upto`.
    fn fill_after(&self, d: &Data, r: usize, upto: usize, after: &mut Vec<AfterPos>) {
        let (v, lq) = (self.vehicle, d.loc[2 * r + 1]);
        for k in after.len()..=upto {
            let (lb, ln) = (self.loc_pos[k], self.loc_pos[k + 1]);
            let (tt_in, arc_in) = d.leg_into(v, lb, lq);
            let (tt_out, arc_out) = d.leg_from(v, lq, ln);
            after.push((
                arc_in + arc_out - self.arc_next[k],
                tt_in,
                tt_out,
                self.overloaded(d, k, r),
            ));
        }
    }

    /// The first position past `a` that a rider picked up right after `a` cannot reach within
    /// `max_ride`: the driving (`tt_out` from the pickup to position `a + 1`, then the route's
    /// legs) and the services alone exceed it there, and waiting only adds to them.
    fn ride_end(&self, a: usize, tt_out: f64, max_ride: f64) -> usize {
        let m = self.nodes.len();
        let (mut end, mut on_board) = (a + 1, tt_out);
        while end <= m {
            on_board += self.serv_pos[end];
            if on_board > max_ride + TOL {
                break;
            }
            on_board += self.tt_next[end];
            end += 1;
        }
        end
    }

    /// The cheapest feasible insertion of request `r`, or `None`.
    pub fn best_insertion(&self, d: &Data, r: usize, s: &mut Scratch) -> Option<Insertion> {
        let v = self.vehicle;
        if !d.compatible(r, v) {
            return None;
        }
        if d.single[r] {
            return self.best_job_insertion(d, r, s);
        }
        let (p, q) = (2 * r, 2 * r + 1);
        let (lp, lq) = (d.loc[p], d.loc[q]);
        let m = self.nodes.len();
        let mut open = if m == 0 { d.vopen[v] } else { 0.0 };
        if m == 0 && s.free_opening {
            open -= d.arc(v, self.loc(0), lp) + d.arc(v, lq, self.loc(1)) - self.arc_next[0];
        }
        let max_ride = d.max_ride[r];
        let limited = max_ride.is_finite();
        let (tt_pq, arc_pq) = (d.tt(lp, lq), d.arc(v, lp, lq));
        s.cands.clear();
        let mut bound = f64::INFINITY;
        s.after.clear();
        s.after.push((0.0, 0.0, 0.0, false));
        // `latest` is non-decreasing along the route: positions whose successor must be
        // served before the pickup's service could even end are skipped at once
        let first = self.latest[1..].partition_point(|&l| l + TOL < d.early[p] + d.serv[p]);
        // `earliest` is non-decreasing too: from `last` on the pickup's window has closed
        let last = first + self.earliest[first..=m].partition_point(|&e| e <= d.late[p] + TOL);
        // the legs to and from the pickup first, in a loop of independent loads
        s.legs.clear();
        s.legs.extend((first..last).map(|a| {
            let (tt_in, arc_in) = d.leg_into(v, self.loc_pos[a], lp);
            let (tt_out, arc_out) = d.leg_from(v, lp, self.loc_pos[a + 1]);
            (tt_in, arc_in, arc_in + arc_out - self.arc_next[a], tt_out)
        }));
        for a in first..last {
            if self.overloaded(d, a, r) {
                continue;
            }
            let (tt_in, arc_in, pick, tt_out) = s.legs[a - first];
            let tp = d.start_at(p, self.earliest[a] + self.serv_pos[a] + tt_in);
            if tp > d.late[p] + TOL {
                continue;
            }
            let ln = self.loc_pos[a + 1];
            // Without ride or duration limits the cheapest candidate is the answer, and with
            // costs that meet the triangle inequality no delivery position makes an insertion
            // cheaper than its pickup detour: a pickup detour above the best so far is skipped.
            if !d.exact && pick - 2.0 * s.noise > bound {
                continue;
            }
            // delivery right after the pickup
            let tq = d.start_at(q, tp + d.serv[p] + tt_pq);
            if tq <= d.late[q] + TOL
                && self.start_at(d, a + 1, tq + d.serv[q] + d.tt(lq, ln))
                    <= self.latest[a + 1] + TOL
            {
                let delta = arc_in + arc_pq + d.arc(v, lq, ln) - self.arc_next[a];
                let delta = delta + s.jitter(r, a, a);
                s.cands.push(Insertion { delta, a, b: a });
                bound = bound.min(delta);
            }
            // position a + 1 is reached from the pickup, later ones along the route
            let mut t = tp + d.serv[p] + tt_out;
            // the rider is on board at least for the driving and the services from the
            // pickup to the end of position b's service (waiting only adds to it)
            let mut ride = tt_out;
            // from `end` on the ride alone is over the limit (usually soon after the pickup)
            let end = if limited {
                self.ride_end(a, tt_out, max_ride)
            } else {
                m + 1
            };
            if s.after.len() < end {
                self.fill_after(d, r, end - 1, &mut s.after);
            }
            for b in a + 1..end {
                let tb = self.start_at(d, b, t);
                let (cost, tt_in, tt_out, over) = s.after[b];
                // the drop-off comes after position b's service starts: past its window, so are
                // all later positions
                if tb > self.latest[b] + TOL || over || tb > d.late[q] + TOL {
                    break;
                }
                let served = ride + self.serv_pos[b];
                if !limited || served + tt_in <= max_ride + TOL {
                    let tq = d.start_at(q, tb + self.serv_pos[b] + tt_in);
                    if tq <= d.late[q] + TOL
                        && self.start_at(d, b + 1, tq + d.serv[q] + tt_out)
                            <= self.latest[b + 1] + TOL
                    {
                        let delta = pick + cost + s.jitter(r, a, b);
                        s.cands.push(Insertion { delta, a, b });
                        bound = bound.min(delta);
                    }
                }
                if limited {
                    ride = served + self.tt_next[b];
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
            let ok = if d.vbreaks[v].is_empty() {
                self.fits(d, r, c.a, c.b, &s.nodes, &mut s.times)
                    // the stops before the pickup keep their earliest times
                    .unwrap_or_else(|| {
                        schedule_after(d, v, &s.nodes, &mut s.times, &self.earliest[..=c.a])
                    })
            } else {
                // the breaks where they were: before the pickup at its gap, after the
                // drop-off at its own (nobody waits on board through a break)
                s.hint.clear();
                s.hint.extend(self.breaks_at.iter().map(|&g| match g {
                    g if g <= c.a => g,
                    g if g < c.b => g + 1,
                    g => g + 2,
                }));
                schedule_with_breaks(d, v, &s.nodes, &mut s.times, &mut s.places, Some(&s.hint))
            };
            if ok {
                return Some(Insertion {
                    delta: c.delta + open,
                    ..c
                });
            }
        }
        None
    }

    /// The cheapest feasible insertion of job `r` (one stop, after position `a`; `b == a`).
    /// Its delivery amount is on board from the start until the job, its pickup amount from
    /// the job to the end.
    fn best_job_insertion(&self, d: &Data, r: usize, s: &mut Scratch) -> Option<Insertion> {
        let (v, n, m, dims) = (self.vehicle, 2 * r, self.nodes.len(), d.dims);
        let open = if m == 0 { d.vopen[v] } else { 0.0 };
        let ln_ = d.loc[n];
        let cap = &d.vcap[v * dims..(v + 1) * dims];
        let del = &d.start_load[r * dims..(r + 1) * dims];
        let pick: Vec<i32> = (0..dims).map(|x| d.demand[n * dims + x] + del[x]).collect();
        // most load after positions 0..=a, and after positions a..=m
        let mut suffix = vec![i32::MIN; (m + 2) * dims];
        for k in (0..=m).rev() {
            for x in 0..dims {
                suffix[k * dims + x] = suffix[(k + 1) * dims + x].max(self.load[k * dims + x]);
            }
        }
        let mut prefix = vec![i32::MIN; dims];
        s.cands.clear();
        for a in 0..=m {
            for (x, most) in prefix.iter_mut().enumerate() {
                *most = (*most).max(self.load[a * dims + x]);
            }
            if (0..dims).any(|x| prefix[x] + del[x] > cap[x]) {
                // the delivery load only grows with later positions
                break;
            }
            if (0..dims).any(|x| suffix[a * dims + x] + pick[x] > cap[x]) {
                continue;
            }
            if self.earliest[a] > d.late[n] + TOL {
                break;
            }
            let (la, lnext) = (self.loc(a), self.loc(a + 1));
            let t = d.start_at(n, self.earliest[a] + self.serv_pos[a] + d.tt(la, ln_));
            if t > d.late[n] + TOL
                || self.start_at(d, a + 1, t + d.serv[n] + d.tt(ln_, lnext))
                    > self.latest[a + 1] + TOL
            {
                continue;
            }
            let delta =
                d.arc(v, la, ln_) + d.arc(v, ln_, lnext) - d.arc(v, la, lnext) + s.jitter(r, a, a);
            s.cands.push(Insertion { delta, a, b: a });
        }
        s.cands.sort_by(|x, y| x.delta.total_cmp(&y.delta));
        if !d.exact {
            return s.cands.first().map(|c| Insertion {
                delta: c.delta + open,
                ..*c
            });
        }
        for i in 0..s.cands.len() {
            let c = s.cands[i];
            s.nodes.clear();
            s.nodes.extend_from_slice(&self.nodes);
            s.nodes.insert(c.a, n);
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
        if !d.single[r] {
            self.nodes.insert(ins.b, 2 * r + 1);
        }
        self.nodes.insert(ins.a, 2 * r);
        self.update(d);
    }

    /// Removes request `r` (both nodes, or the job's one). Returns whether the route is
    /// certainly still feasible: taking a stop out never delays the others when travel times
    /// meet the triangle inequality (direct <= via the stop plus its service), which real road
    /// matrices do not always do, and breaks move to the previous location. Otherwise the
    /// caller checks with [`Route::feasible`].
    pub fn remove(&mut self, d: &Data, r: usize) -> bool {
        self.remove_where(d, |x| x == r)
    }

    /// [`Route::remove`] for every request `gone` says, with one update of the caches.
    pub fn remove_where(&mut self, d: &Data, gone: impl Fn(usize) -> bool) -> bool {
        let m = self.nodes.len();
        let mut safe = d.vbreaks[self.vehicle].is_empty();
        // runs of removed positions, each checked as one detour
        let mut k = 1;
        while safe && k <= m {
            if !gone(self.nodes[k - 1] / 2) {
                k += 1;
                continue;
            }
            let first = k;
            let mut via = 0.0;
            while k <= m && gone(self.nodes[k - 1] / 2) {
                via += d.tt(self.loc(k - 1), self.loc(k)) + self.serv_pos[k];
                k += 1;
            }
            via += d.tt(self.loc(k - 1), self.loc(k));
            let direct = d.tt(self.loc(first - 1), self.loc(k));
            safe = direct <= via + TOL;
        }
        self.nodes.retain(|&n| !gone(n / 2));
        self.update(d);
        safe
    }

    /// Whether the route has a feasible schedule (capacity never changes by removals).
    pub fn feasible(&self, d: &Data, t: &mut Vec<f64>) -> bool {
        self.is_empty() || schedule(d, self.vehicle, &self.nodes, t)
    }

    /// Cost saved by removing request `r` (including the opening cost if it empties the route).
    pub fn removal_gain(&self, d: &Data, r: usize) -> f64 {
        let v = self.vehicle;
        if self.nodes.iter().all(|&n| n / 2 == r) {
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
        let l = |k: usize| self.loc(k);
        if d.single[r] {
            return d.arc(v, l(kp - 1), l(kp)) + d.arc(v, l(kp), l(kp + 1))
                - d.arc(v, l(kp - 1), l(kp + 1));
        }
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

    /// Whether the route with request `r` inserted (pickup after position `a`, drop-off after
    /// `b`; `nodes` the new sequence) has an exact schedule, found from the route's least
    /// schedule instead of from scratch. That schedule is a lower bound of the new one when
    /// the legs the two stops split do not get shorter (the triangle inequality on those legs,
    /// service included): then every constraint of the route is still implied, and raising
    /// lower bounds from there reaches the same least fixpoint as [`schedule`]. Each round's
    /// forward pass stops at the first position it leaves unchanged past the new stops and the
    /// lifted pickups (the rest of the route keeps its times), and only drop-offs whose time
    /// moved are checked. `None` when the shortcut does not apply.
    pub(super) fn fits(
        &self,
        d: &Data,
        r: usize,
        a: usize,
        b: usize,
        nodes: &[usize],
        t: &mut Vec<f64>,
    ) -> Option<bool> {
        let (v, m) = (self.vehicle, self.nodes.len());
        if m == 0 || !d.vbreaks[v].is_empty() {
            return None;
        }
        let (p, q) = (2 * r, 2 * r + 1);
        let (lp, lq) = (d.loc[p], d.loc[q]);
        let kept = |k: usize, via: f64| via + TOL >= self.tt_next[k];
        let split = if a == b {
            let via = d.tt(self.loc(a), lp) + d.serv[p] + d.tt(lp, lq) + d.serv[q];
            kept(a, via + d.tt(lq, self.loc(a + 1)))
        } else {
            kept(
                a,
                d.tt(self.loc(a), lp) + d.serv[p] + d.tt(lp, self.loc(a + 1)),
            ) && kept(
                b,
                d.tt(self.loc(b), lq) + d.serv[q] + d.tt(lq, self.loc(b + 1)),
            )
        };
        if !split {
            return None;
        }
        let mut least = self.least.borrow_mut();
        if !least.fresh {
            self.work_out_least(d, &mut least);
        }
        if !least.ok {
            return None;
        }
        t.clear();
        t.extend_from_slice(&least.t[..=a]);
        t.push(d.early[p]);
        t.extend_from_slice(&least.t[a + 1..=b]);
        t.push(d.early[q]);
        t.extend_from_slice(&least.t[b + 1..]);
        let mn = m + 2;
        let seq = Seq { d, v, nodes };
        // old position -> new position, and back (not for the two new stops)
        let new = |k: usize| k + usize::from(k > a) + usize::from(k > b);
        let old = |k: usize| k - usize::from(k > a + 1) - usize::from(k > b + 2);
        let extra = least.extra_windows + d.extra_windows(p) + d.extra_windows(q);
        let rounds = (mn + 3) * (1 + extra);
        // a round's forward pass starts at `from` and runs at least past `must`
        let (mut from, mut must) = (a + 1, b + 2);
        for _ in 0..rounds {
            if t[0] > d.vlate[v] + TOL {
                return Some(false);
            }
            let mut k = from;
            while k <= mn + 1 {
                let reach = seq.reach(t, k);
                if k > must && reach <= t[k] {
                    break;
                }
                if !seq.settle(t, k, reach) {
                    return Some(false);
                }
                k += 1;
            }
            let moved = from..k.min(mn + 1);
            let mut changed = false;
            (from, must) = (usize::MAX, 0);
            for kn in moved {
                let n = nodes[kn - 1];
                if n % 2 == 0 || !d.max_ride[n / 2].is_finite() {
                    continue;
                }
                let kp = if kn == b + 2 {
                    a + 1
                } else {
                    match least.pick_pos[old(kn) - 1] {
                        0 => continue,
                        kp => new(kp as usize),
                    }
                };
                if lift_pickup(d, t, n, kn, kp) {
                    (from, must) = (from.min(kp), must.max(kp));
                    changed = true;
                }
            }
            if lift_start(d, v, t, mn + 1) {
                from = 1;
                changed = true;
            }
            if !changed {
                return Some(true);
            }
        }
        Some(false)
    }

    /// Earliest service start at position `k` ignoring ride limits (a lower bound).
    pub fn earliest(&self, k: usize) -> f64 {
        self.earliest[k]
    }

    /// Latest service start at position `k` that lets the rest of the route meet its windows
    /// (an upper bound).
    pub fn latest(&self, k: usize) -> f64 {
        self.latest[k]
    }

    /// Service time at position `k` (`0` at the depots).
    pub fn service(&self, k: usize) -> f64 {
        self.serv_pos[k]
    }

    /// Cost of the arc from position `k` to the next.
    pub fn arc_out(&self, k: usize) -> f64 {
        self.arc_next[k]
    }

    /// Positions after which the vehicle is empty (`0` the start, up to `len()`).
    pub fn empty_after(&self, d: &Data, out: &mut Vec<usize>) {
        out.clear();
        let dims = d.dims;
        out.extend(
            (0..=self.nodes.len())
                .filter(|&k| self.load[k * dims..(k + 1) * dims].iter().all(|&x| x == 0)),
        );
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
    if d.vbreaks[v].is_empty() || nodes.is_empty() {
        return schedule_nodes(d, v, nodes, t);
    }
    PLACES.with_borrow_mut(|places| schedule_with_breaks(d, v, nodes, t, places, None))
}

thread_local! {
    /// Positions of the pickups in the sequence being scheduled ([`mark_pickups`]).
    static PICK_AT: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    /// Where [`schedule`] lets the breaks be placed (it only answers whether they fit).
    static PLACES: RefCell<Vec<(usize, f64)>> = const { RefCell::new(Vec::new()) };
    /// Work buffers of [`schedule_with_breaks`], kept per thread: it runs for every insertion
    /// candidate of a vehicle with breaks, and their allocations showed in profiles.
    static BREAK_WORK: RefCell<BreakWork> = RefCell::new(BreakWork::default());
}

/// See [`BREAK_WORK`]: the route's bounds, read by every level of [`place`], and what the
/// search writes.
#[derive(Default)]
struct BreakWork {
    load: Vec<i32>,
    ready: Vec<f64>,
    dep_max: Vec<f64>,
    search: PlaceWork,
}

/// [`place`]'s buffers, shared by every level of its search.
#[derive(Default)]
struct PlaceWork {
    gaps: Vec<usize>,
    items: Vec<Item>,
    times: Vec<f64>,
    /// Ready times at each gap, one row of `m + 1` per break level.
    ready_here: Vec<f64>,
    /// [`schedule_items`]'s travel time into each item.
    tt_in: Vec<f64>,
    /// The travel time into each node of the route and into its end (`0` the start): the
    /// same wherever the breaks go (a break is taken where the vehicle is).
    legs: Vec<f64>,
}

/// [`schedule`] for a route without breaks.
fn schedule_nodes(d: &Data, v: usize, nodes: &[usize], t: &mut Vec<f64>) -> bool {
    schedule_after(d, v, nodes, t, &[])
}

/// [`schedule_nodes`] when the first forward pass over positions `0..prefix.len()` is known
/// to give `prefix` (a route's [`Route::earliest`] before the first position a change
/// touched): the pass starts after it.
fn schedule_after(d: &Data, v: usize, nodes: &[usize], t: &mut Vec<f64>, prefix: &[f64]) -> bool {
    let extra = nodes.iter().map(|&n| d.extra_windows(n)).sum();
    PICK_AT.with_borrow_mut(|pick_at| {
        mark_pickups(d, nodes.iter().copied(), 1, pick_at);
        schedule_marked(d, v, nodes, t, prefix, extra, pick_at)
    })
}

/// [`schedule_after`] with the pickups of `nodes` marked in `pick_at` ([`mark_pickups`]) and
/// their windows beyond the first counted in `extra`.
fn schedule_marked(
    d: &Data,
    v: usize,
    nodes: &[usize],
    t: &mut Vec<f64>,
    prefix: &[f64],
    extra: usize,
    pick_at: &[u32],
) -> bool {
    let m = nodes.len();
    t.clear();
    t.extend_from_slice(prefix);
    if t.is_empty() {
        t.push(d.vearly[v]);
    }
    let done = t.len();
    t.extend(nodes[done - 1..].iter().map(|&n| d.early[n]));
    t.push(d.vearly[v]);
    // every window jump can cost one more round
    let rounds = (m + 3) * (1 + extra);
    fixpoint_nodes(d, v, nodes, t, rounds, done, pick_at)
}

/// Records in `pick_at` the position (counting from `first`) of every pickup in `nodes`.
/// Entries of nodes not in `nodes` are stale: [`pickup_before`] checks them.
fn mark_pickups(
    d: &Data,
    nodes: impl Iterator<Item = usize>,
    first: usize,
    pick_at: &mut Vec<u32>,
) {
    if pick_at.len() < d.loc.len() {
        pick_at.resize(d.loc.len(), 0);
    }
    for (k, n) in nodes.enumerate() {
        if n % 2 == 0 {
            pick_at[n] = u32::try_from(k + first).unwrap_or(u32::MAX);
        }
    }
}

/// Raises the pickup at `kp` so that the ride to drop-off node `n` at `k` keeps to its limit;
/// returns whether it moved.
fn lift_pickup(d: &Data, t: &mut [f64], n: usize, k: usize, kp: usize) -> bool {
    let need = t[k] - d.max_ride[n / 2] - d.serv[n - 1];
    let lifted = need > t[kp] + TOL;
    if lifted {
        t[kp] = need;
    }
    lifted
}

/// Raises the start (position 0) so that the route ending at `last` keeps to vehicle `v`'s
/// duration limit; returns whether it moved.
fn lift_start(d: &Data, v: usize, t: &mut [f64], last: usize) -> bool {
    let need = t[last] - d.vmaxdur[v];
    let lifted = need > t[0] + TOL;
    if lifted {
        t[0] = need;
    }
    lifted
}

/// Position of pickup node `p` before position `k`, where `is_p(kp)` says whether position
/// `kp` holds it (an entry of [`mark_pickups`] may be stale).
fn pickup_before(
    pick_at: &[u32],
    p: usize,
    k: usize,
    is_p: impl Fn(usize) -> bool,
) -> Option<usize> {
    let kp = pick_at[p] as usize;
    (kp < k && is_p(kp)).then_some(kp)
}

/// Vehicle `v`'s route over `nodes`, by position: `0` the start, `1..=m` the nodes, `m + 1`
/// the end. The forward pass of both fixpoints ([`fixpoint_nodes`], [`Route::fits`]).
#[derive(Clone, Copy)]
struct Seq<'s, 'a> {
    d: &'s Data<'a>,
    v: usize,
    nodes: &'s [usize],
}

impl Seq<'_, '_> {
    #[inline]
    fn loc(&self, k: usize) -> usize {
        match k {
            0 => self.d.vstart[self.v],
            k if k > self.nodes.len() => self.d.vend[self.v],
            k => self.d.loc[self.nodes[k - 1]],
        }
    }

    #[inline]
    fn serv(&self, k: usize) -> f64 {
        if k == 0 || k > self.nodes.len() {
            0.0
        } else {
            self.d.serv[self.nodes[k - 1]]
        }
    }

    /// When the vehicle can be at position `k` after serving position `k - 1` at `t[k - 1]`.
    #[inline]
    fn reach(&self, t: &[f64], k: usize) -> f64 {
        t[k - 1] + self.serv(k - 1) + self.d.tt(self.loc(k - 1), self.loc(k))
    }

    /// Raises `t[k]` to `reach` and into a window of position `k`; whether that is still
    /// within its last window (the shift's end at the end depot).
    #[inline]
    fn settle(&self, t: &mut [f64], k: usize, reach: f64) -> bool {
        let at = reach.max(t[k]);
        let (start, late) = match self.nodes.get(k.wrapping_sub(1)) {
            Some(&n) if k > 0 => (self.d.start_at(n, at), self.d.late[n]),
            _ => (at, self.d.vlate[self.v]),
        };
        t[k] = start;
        start.is_finite() && start <= late + TOL
    }
}

/// [`schedule_nodes`]'s fixpoint, with the pickups' positions in `pick_at`.
fn fixpoint_nodes(
    d: &Data,
    v: usize,
    nodes: &[usize],
    t: &mut [f64],
    rounds: usize,
    first: usize,
    pick_at: &[u32],
) -> bool {
    let m = nodes.len();
    let seq = Seq { d, v, nodes };
    // the first position a round's forward pass must visit: the earlier ones keep their times
    let mut from = first;
    // the first drop-off whose ride a round must check: before it, a drop-off and its pickup
    // kept the times the last check saw
    let mut checked = 1;
    for _ in 0..rounds {
        if t[0] > d.vlate[v] + TOL {
            return false;
        }
        for k in from..=m + 1 {
            if !seq.settle(t, k, seq.reach(t, k)) {
                return false;
            }
        }
        let mut changed = false;
        from = m + 2;
        for k in checked..=m {
            let n = nodes[k - 1];
            if n % 2 == 0 || !d.max_ride[n / 2].is_finite() {
                continue;
            }
            let is_pickup = |kp: usize| kp >= 1 && nodes[kp - 1] == n - 1;
            let Some(kp) = pickup_before(pick_at, n - 1, k, is_pickup) else {
                continue;
            };
            if lift_pickup(d, t, n, k, kp) {
                from = from.min(kp);
                changed = true;
            }
        }
        if lift_start(d, v, t, m + 1) {
            from = 1;
            changed = true;
        }
        if !changed {
            return true;
        }
        checked = from;
    }
    false
}

/// A position of a route with breaks: the depots, a node, or break `b` of the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Depot,
    Node(usize),
    Break(usize),
}

impl Item {
    /// The node, or `usize::MAX` (odd: never a pickup) for a depot or a break.
    fn node(&self) -> usize {
        match *self {
            Item::Node(n) => n,
            _ => usize::MAX,
        }
    }
}

/// [`schedule`] for a vehicle with breaks: every break is taken at one of the gaps of the
/// route (after position `g`, at the location of position `g`, `g = 0..=m`), in order, with
/// the load on board at most its `max_load`. Gaps are searched depth-first (a break whose
/// earliest possible start at a gap is past its last window ends the search of later gaps);
/// each full placement is scheduled exactly. Fills `t` (positions `0..=m+1`, as
/// [`schedule`]) and `places` with `(gap, start)` per break.
pub(crate) fn schedule_with_breaks(
    d: &Data,
    v: usize,
    nodes: &[usize],
    t: &mut Vec<f64>,
    places: &mut Vec<(usize, f64)>,
    hint: Option<&[usize]>,
) -> bool {
    BREAK_WORK.with_borrow_mut(|w| schedule_with_breaks_in(d, v, nodes, t, places, hint, w))
}

/// [`schedule_with_breaks`] with its work buffers.
fn schedule_with_breaks_in(
    d: &Data,
    v: usize,
    nodes: &[usize],
    t: &mut Vec<f64>,
    places: &mut Vec<(usize, f64)>,
    hint: Option<&[usize]>,
    w: &mut BreakWork,
) -> bool {
    let BreakWork {
        load,
        ready,
        dep_max,
        search,
    } = w;
    let (m, dims) = (nodes.len(), d.dims);
    let legs = &mut search.legs;
    legs.clear();
    legs.push(0.0);
    let mut here = d.vstart[v];
    for to in nodes.iter().map(|&n| d.loc[n]).chain([d.vend[v]]) {
        legs.push(if to == here { 0.0 } else { d.tt(here, to) });
        if to != super::data::NO_LOC {
            here = to;
        }
    }
    let nb = d.vbreaks[v].len();
    // load after each position, and the earliest ready time at each gap ignoring breaks and
    // ride limits (a lower bound)
    load.clear();
    load.resize((m + 1) * dims, 0);
    for &n in nodes {
        if n % 2 == 0 && d.single[n / 2] {
            for (x, l) in load.iter_mut().take(dims).enumerate() {
                *l += d.start_load[n / 2 * dims + x];
            }
        }
    }
    for (k, &n) in nodes.iter().enumerate() {
        for x in 0..dims {
            load[(k + 1) * dims + x] = load[k * dims + x] + d.demand[n * dims + x];
        }
    }
    ready.clear();
    let (mut loc, mut tt) = (d.vstart[v], d.vearly[v]);
    ready.push(tt);
    for &n in nodes {
        tt = d.start_at(n, tt + d.tt(loc, d.loc[n])) + d.serv[n];
        loc = d.loc[n];
        ready.push(tt);
    }
    // the latest the vehicle can leave each gap, from the windows ahead (an upper bound for
    // every schedule, breaks or not)
    dep_max.clear();
    dep_max.resize(m + 1, f64::INFINITY);
    {
        let loc_of = |k: usize| {
            if k == 0 {
                d.vstart[v]
            } else {
                d.loc[nodes[k - 1]]
            }
        };
        let mut latest = d.vlate[v];
        let mut here = d.vend[v];
        for g in (0..=m).rev() {
            let from = loc_of(g);
            let tt = if here == super::data::NO_LOC || here == from {
                0.0
            } else {
                d.tt(from, here)
            };
            dep_max[g] = latest - tt;
            if g > 0 {
                let n = nodes[g - 1];
                latest = d.late[n].min(dep_max[g] - d.serv[n]);
            }
            here = from;
        }
    }
    search.gaps.clear();
    search.gaps.resize(nb, 0);
    // a placement to try first (where the breaks were before a small change of the route)
    let hinted =
        hint.is_some_and(|h| h.len() <= nb && fixed(d, v, nodes, load, h, search) == (true, true));
    if !hinted && !place(d, v, nodes, load, ready, dep_max, 0, 0, hint, search) {
        return false;
    }
    let PlaceWork { items, times, .. } = search;
    t.clear();
    places.clear();
    for (k, item) in items.iter().enumerate() {
        match item {
            Item::Break(_) => places.push((t.len() - 1, times[k])),
            _ => t.push(times[k]),
        }
    }
    true
}

/// Schedules `nodes` with breaks `0..placed.len()` at gaps `placed` (in `items` / `times`) and
/// the others left out; `load` is the load after each position (`dims` values each), for the
/// breaks' `max_load`. Returns whether that has a schedule, and whether it is a whole answer:
/// no break left out, or none left out that is due before the route is over (by the end of its
/// last window, or for the first one its gap after the last break taken or the start; a break
/// with neither is never due: it is always taken). Leaving breaks out only loosens the
/// schedule, so when this has none no placement of the others has one either.
fn fixed(
    d: &Data,
    v: usize,
    nodes: &[usize],
    load: &[i32],
    placed: &[usize],
    w: &mut PlaceWork,
) -> (bool, bool) {
    let PlaceWork {
        items,
        times,
        tt_in,
        legs,
        ..
    } = w;
    let brk = &d.vbreaks[v];
    let b = placed.len();
    let over = |(i, &g): (usize, &usize)| {
        brk[i].max_load.as_ref().is_some_and(|max| {
            (0..d.dims).any(|x| load.get(g * d.dims + x).is_none_or(|l| *l > max[x]))
        })
    };
    if placed.iter().enumerate().any(over) {
        return (false, false);
    }
    items.clear();
    items.push(Item::Depot);
    let mut next = 0;
    for g in 0..=nodes.len() {
        if g > 0 {
            items.push(Item::Node(nodes[g - 1]));
        }
        while next < b && placed[next] == g {
            items.push(Item::Break(next));
            next += 1;
        }
    }
    items.push(Item::Depot);
    if next < b || !schedule_items(d, v, items, times, tt_in, legs) {
        return (false, false);
    }
    if b == brk.len() {
        return (true, true);
    }
    let end = times[items.len() - 1];
    let since = items
        .iter()
        .zip(times.iter())
        .rev()
        .find_map(|(i, &at)| match *i {
            Item::Break(x) => Some(at + brk[x].serv),
            _ => None,
        })
        .unwrap_or(times[0]);
    let left_out = brk[b..].iter().enumerate().all(|(j, x)| {
        if !x.skip {
            return false;
        }
        let by_window = x.wins.last().map_or(f64::INFINITY, |w| w.1);
        if by_window.is_infinite() && x.gap.is_infinite() {
            return false;
        }
        let due = if j == 0 {
            by_window.min(since + x.gap)
        } else {
            by_window
        };
        end <= due + TOL
    });
    (true, left_out)
}

/// Depth-first placement of breaks `b..` at gaps from `from` on, after checking the breaks
/// placed so far with the others left out ([`fixed`]): a branch without a schedule is cut, one
/// whose breaks left out are not due is the answer. Each break tries its gap in `hint` first.
/// The search is complete, so the order changes which placement is found, not whether one is.
#[allow(clippy::too_many_arguments)]
fn place(
    d: &Data,
    v: usize,
    nodes: &[usize],
    load: &[i32],
    ready: &[f64],
    dep_max: &[f64],
    b: usize,
    from: usize,
    hint: Option<&[usize]>,
    w: &mut PlaceWork,
) -> bool {
    let brk = &d.vbreaks[v];
    // the breaks placed so far, with the others left out (`gaps` is not written by `fixed`)
    let placed = std::mem::take(&mut w.gaps);
    let answer = fixed(d, v, nodes, load, &placed[..b], w);
    w.gaps = placed;
    match answer {
        (false, _) => return false,
        (true, true) => return true,
        (true, false) if b == brk.len() => return false,
        _ => {}
    }
    // A break within a gap of the previous one (or the start) cannot start after that one's
    // latest end plus the gap; at gap `g` it starts no earlier than the vehicle is ready there
    // in this branch's schedule (more breaks only delay): later gaps are cut.
    let PlaceWork {
        gaps,
        items,
        times,
        ready_here,
        ..
    } = &mut *w;
    let row = b * (nodes.len() + 1);
    if ready_here.len() < row + nodes.len() + 1 {
        ready_here.resize(row + nodes.len() + 1, f64::INFINITY);
    }
    ready_here[row..=row + nodes.len()].fill(f64::INFINITY);
    if brk[b].gap.is_finite() {
        let mut g = 0;
        for (k, item) in items.iter().enumerate() {
            match *item {
                Item::Depot if k == 0 => ready_here[row] = times[0],
                Item::Node(n) => {
                    g += 1;
                    ready_here[row + g] = times[k] + d.serv[n];
                }
                _ => {}
            }
        }
    }
    let until = if b == 0 {
        dep_max[0]
    } else {
        dep_max[gaps[b - 1]]
    } + brk[b].gap;
    let last_end = brk[b].wins.last().map_or(f64::INFINITY, |w| w.1);
    // A break within a gap of the previous one goes as late as it can (the next then has the
    // most room): its gaps are tried from the last; others from the first.
    // The break's gap in the hint (where it was before a small change of the route) goes
    // first.
    let late_first = brk[b].gap.is_finite();
    let m = nodes.len();
    let hinted = hint
        .and_then(|h| h.get(b).copied())
        .filter(|g| (from..=m).contains(g));
    let order = hinted.into_iter().chain(
        (0..=m - from)
            .map(|i| if late_first { m - i } else { from + i })
            .filter(move |&g| Some(g) != hinted),
    );
    for (i, g) in order.enumerate() {
        if ready[g] > last_end + TOL || (late_first && w.ready_here[row + g] > until + TOL) {
            if late_first || (i == 0 && hinted.is_some()) {
                continue;
            }
            break;
        }
        w.gaps[b] = g;
        if place(d, v, nodes, load, ready, dep_max, b + 1, g, hint, w) {
            return true;
        }
    }
    false
}

/// The fixpoint of [`schedule_nodes`] over a sequence of items with breaks (a break stays where
/// the vehicle is: no travel to it, and the next leg starts from the previous location).
fn schedule_items(
    d: &Data,
    v: usize,
    items: &[Item],
    t: &mut Vec<f64>,
    tt_in: &mut Vec<f64>,
    legs: &[f64],
) -> bool {
    // travel time into each item, from the last place the vehicle was (a break: none)
    tt_in.clear();
    let mut leg = 0;
    tt_in.extend(items.iter().map(|i| match i {
        Item::Break(_) => 0.0,
        _ => {
            let tt = legs[leg];
            leg += 1;
            tt
        }
    }));
    let extra: usize = items
        .iter()
        .map(|i| match *i {
            Item::Node(n) => d.extra_windows(n),
            Item::Break(b) => d.vbreaks[v][b].wins.len() - 1,
            Item::Depot => 0,
        })
        .sum();
    t.clear();
    t.extend(items.iter().map(|i| match *i {
        Item::Depot => d.vearly[v],
        Item::Node(n) => d.early[n],
        Item::Break(b) => d.vbreaks[v][b].wins[0].0,
    }));
    // every break within a gap of the previous one can cost one more round
    let gap_breaks = items
        .iter()
        .filter(|i| matches!(i, Item::Break(b) if d.vbreaks[v][*b].gap.is_finite()))
        .count();
    let rounds = (items.len() + 2) * (1 + extra + gap_breaks);
    PICK_AT.with_borrow_mut(|pick_at| {
        mark_pickups(d, items.iter().map(Item::node), 0, pick_at);
        fixpoint_items(d, v, items, t, tt_in, rounds, pick_at)
    })
}

/// [`schedule_items`]'s fixpoint, with the pickups' positions in `pick_at`.
fn fixpoint_items(
    d: &Data,
    v: usize,
    items: &[Item],
    t: &mut [f64],
    tt_in: &[f64],
    rounds: usize,
    pick_at: &[u32],
) -> bool {
    let n_items = items.len();
    let last = n_items - 1;
    let start_at = |k: usize, x: f64| -> f64 {
        match items[k] {
            Item::Depot => x.max(d.vearly[v]),
            Item::Node(n) => d.start_at(n, x),
            Item::Break(b) => {
                for &(a, e) in &d.vbreaks[v][b].wins {
                    if x <= e + TOL {
                        return x.max(a);
                    }
                }
                f64::INFINITY
            }
        }
    };
    let late = |k: usize| match items[k] {
        Item::Depot => d.vlate[v],
        Item::Node(n) => d.late[n],
        Item::Break(b) => d.vbreaks[v][b].wins.last().map_or(f64::INFINITY, |w| w.1),
    };
    let serv = |k: usize| match items[k] {
        Item::Depot => 0.0,
        Item::Node(n) => d.serv[n],
        Item::Break(b) => d.vbreaks[v][b].serv,
    };
    // the first item a round's forward pass must visit: the earlier ones keep their times
    let mut from = 1;
    for _ in 0..rounds {
        if t[0] > d.vlate[v] + TOL {
            return false;
        }
        for k in from..n_items {
            let reach = t[k - 1] + serv(k - 1) + tt_in[k];
            t[k] = start_at(k, reach.max(t[k]));
            if !t[k].is_finite() || t[k] > late(k) + TOL {
                return false;
            }
        }
        let mut changed = false;
        from = n_items;
        // a break at most `gap` after the end of the previous one (or the start) lifts that one
        let mut prev: Option<usize> = None;
        for k in 1..last {
            let Item::Break(b) = items[k] else { continue };
            let gap = d.vbreaks[v][b].gap;
            if gap.is_finite() {
                let (kp, s) = prev.map_or((0, 0.0), |kp| (kp, serv(kp)));
                let need = t[k] - gap - s;
                if need > t[kp] + TOL {
                    t[kp] = need;
                    from = from.min(kp.max(1));
                    changed = true;
                }
            }
            prev = Some(k);
        }
        for k in 1..last {
            let Item::Node(n) = items[k] else { continue };
            if n % 2 == 0 || !d.max_ride[n / 2].is_finite() {
                continue;
            }
            let is_pickup = |kp: usize| items[kp] == Item::Node(n - 1);
            let Some(kp) = pickup_before(pick_at, n - 1, k, is_pickup) else {
                continue;
            };
            if lift_pickup(d, t, n, k, kp) {
                from = from.min(kp.max(1));
                changed = true;
            }
        }
        if lift_start(d, v, t, last) {
            from = 1;
            changed = true;
        }
        if !changed {
            return true;
        }
    }
    false
}
