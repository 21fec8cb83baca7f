//! Adaptive large neighbourhood search (after Ropke & Pisinger 2006): destroy operators
//! (random, related, worst, route), regret-k repair followed by a descent of tail exchanges
//! ([`tails`]), simulated-annealing acceptance, adaptive operator weights, a
//! route-elimination phase when vehicles are part of the objective, kicks out of traps by
//! the ejection search ([`kick`]) when they are, and in the final phase the set partitioning
//! over a pool of the routes met ([`Pool`]).
//!
//! Determinism: all randomness comes from one `StdRng` seeded by the caller. The cooling
//! schedule follows the iteration count when an iteration limit is set (then the result
//! depends only on the seed), and otherwise the elapsed fraction of the time limit.

use std::cell::Cell;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::data::Data;
use super::ges::{mean_arc, Ges};
use super::pool::{Limit, Pool};
use super::route::Scratch;
use super::state::{State, NONE};
use super::tails::{self, TailWork};
use super::Options;

const DESTROYS: usize = 4;
const REPAIRS: usize = 8;
/// When vehicles are weighted, a first distance search runs until this fraction of the budget.
const PRE_END: f64 = 0.05;
/// Fleet minimisation stops at this fraction of the budget.
const ELIM_END: f64 = 0.6;
/// An attempt whose ejection pool has not shrunk for this fraction of the budget is given up,
/// and a new one empties a route of the last complete solution, drawn afresh.
const ELIM_STALL: f64 = 0.1;
/// An attempt given up with a pool that never got down to this fraction of the requests is
/// hopeless...
const ELIM_HOPELESS: f64 = 0.07;
/// ...and after this many hopeless attempts in a row the phase ends: on wide time windows the
/// pools of attempts below the best-known fleet stay at 10–40 % of the requests, attempt after
/// attempt, while those of tight windows get down to a few requests (Li & Lim 200 and 400).
const ELIM_HOPELESS_RUNS: usize = 2;
/// A solution 3 % worse than the start is accepted with probability 1/2 at first...
const T_START: f64 = 0.03;
/// ...and the temperature falls geometrically to this fraction of the start.
const T_END: f64 = 0.002;
/// Insertion-cost noise, as a fraction of the mean arc cost of the first solution.
const NOISE: f64 = 0.25;
/// A distance phase whose annealing has found no new best for this fraction of the budget is
/// reheated (a better answer of the route pool's set partitioning does not count).
const REHEAT: f64 = 0.15;
/// The final distance phase solves the set partitioning over its route pool ([`Pool`]) every
/// this fraction of the budget...
const SP_EVERY: f64 = 0.1;
/// ...within this fraction of the time limit...
const SP_TIME: f64 = 0.02;
/// ...or, with an iteration limit, this many branch-and-bound nodes.
const SP_NODES: u64 = 200;
/// Share of repairs that offer empty routes without the legs to and from the depot
/// ([`Scratch::free_opening`]).
const FREE_OPENING: f64 = 0.3;
/// Most tail exchanges ([`tails::improve`]) after one repair (a safety cap: a descent rarely
/// makes more than a few).
const TAIL_MOVES: usize = 1000;

/// With vehicles weighted, an annealing that has found no new best (and kicked no solution)
/// for this fraction of the budget kicks the best out of its trap ([`kick`]).
const KICK_AFTER: f64 = 0.02;
/// Most ejection steps a kick may take to place its pool before it is given up.
const KICK_STEPS: usize = 2000;
/// A kick takes out one to this many of the requests whose removal saves the most...
const KICK_MAX: usize = 3;
/// ...drawn among this many.
const KICK_AMONG: usize = 10;

/// Start temperature from the route costs of `st` (vehicle weights excluded).
fn start_temperature(d: &Data, st: &State) -> f64 {
    let base = (st.cost(d) - st.used() as f64 * d.objective.vehicle_weight).max(1e-6);
    T_START * base / std::f64::consts::LN_2
}

/// Stop condition and progress measure.
struct Clock<'a> {
    start: Instant,
    limit: f64,
    max_iter: Option<u64>,
    stall: Option<u64>,
    /// Set when a phase ended because it had converged.
    converged: Cell<bool>,
    /// With several threads: the exchange of best solutions, this thread's index, and the
    /// next meeting point to attend.
    share: Option<(&'a Exchange, usize, Cell<usize>)>,
}

impl Clock<'_> {
    /// With several threads, at each meeting point passed by `progress`: hands `mine` (this
    /// thread's best complete solution) to the others, waits for theirs, and returns the best
    /// of all when it is better than `mine`.
    fn meet(&self, progress: f64, d: &Data, mine: &State) -> Option<State> {
        let (ex, me, next) = self.share.as_ref()?;
        let mut got: Option<State> = None;
        while next.get() < ex.points.len() && progress >= ex.points[next.get()] {
            let best = got.as_ref().unwrap_or(mine);
            if let Some(better) = ex.meet(next.get(), *me, best.objective(d), best) {
                got = Some(better);
            }
            next.set(next.get() + 1);
        }
        got
    }

    /// The time limit has run out (whatever the iteration count).
    fn out_of_time(&self) -> bool {
        self.start.elapsed().as_secs_f64() >= self.limit
    }

    /// What one solve of the set partitioning over the route pool may take: [`SP_TIME`] of the
    /// time limit, or [`SP_NODES`] nodes when an iteration limit is set (so that the result
    /// depends on the seed alone), and never beyond the time limit.
    fn sp_limit(&self) -> Limit {
        let left = (self.limit - self.start.elapsed().as_secs_f64()).max(0.0);
        match self.max_iter {
            Some(_) => Limit {
                time: Duration::from_secs_f64(left),
                nodes: Some(SP_NODES),
            },
            None => Limit {
                time: Duration::from_secs_f64(left.min(SP_TIME * self.limit)),
                nodes: None,
            },
        }
    }

    /// Fraction of the budget used, in `[0, 1]`.
    fn progress(&self, iter: u64) -> f64 {
        let by_time = self.start.elapsed().as_secs_f64() / self.limit.max(1e-9);
        match self.max_iter {
            Some(m) if by_time < 1.0 => iter as f64 / m.max(1) as f64,
            Some(_) => 1.0,
            None => by_time,
        }
        .min(1.0)
    }
}

/// Adaptive roulette over operators.
struct Roulette {
    weights: Vec<f64>,
    scores: Vec<f64>,
    uses: Vec<u32>,
}

impl Roulette {
    fn new(n: usize) -> Self {
        Roulette {
            weights: vec![1.0; n],
            scores: vec![0.0; n],
            uses: vec![0; n],
        }
    }

    fn pick(&self, rng: &mut StdRng) -> usize {
        let total: f64 = self.weights.iter().sum();
        let mut x = rng.gen::<f64>() * total;
        for (i, w) in self.weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        self.weights.len() - 1
    }

    fn reward(&mut self, i: usize, score: f64) {
        self.scores[i] += score;
        self.uses[i] += 1;
    }

    fn end_segment(&mut self) {
        for i in 0..self.weights.len() {
            if self.uses[i] > 0 {
                let avg = self.scores[i] / f64::from(self.uses[i]);
                self.weights[i] = (0.8 * self.weights[i] + 0.2 * avg).max(0.05);
            }
            self.scores[i] = 0.0;
            self.uses[i] = 0;
        }
    }
}

/// Where parallel searches meet to share their best solutions: fractions of the budget.
const MEET_EVERY: f64 = 0.05;

/// Best solutions handed between parallel searches at fixed points of their budgets.
///
/// At meeting point `k`, every thread deposits its best complete solution and waits until
/// every other thread has deposited its own for `k` or has finished (then its final best
/// counts); all then take the best of them (lowest objective, then lowest thread index). The
/// points are fractions of each thread's own budget (iterations when `max_iterations` is set),
/// so with an iteration limit what each thread receives depends only on the seed and the
/// thread count, never on timing.
pub(crate) struct Exchange {
    points: Vec<f64>,
    threads: usize,
    slots: Mutex<Slots>,
    ready: Condvar,
}

struct Slots {
    /// `at[k][t]`: objective and solution thread `t` brought to point `k`.
    at: Vec<Vec<Option<(f64, State)>>>,
    /// Threads that have finished (or panicked): nobody waits for them any more.
    gone: Vec<bool>,
    /// Final best of the threads that have finished normally.
    last: Vec<Option<(f64, State)>>,
}

impl Exchange {
    fn new(threads: usize) -> Self {
        let n = (1.0 / MEET_EVERY).round() as usize;
        let points: Vec<f64> = (1..n).map(|k| k as f64 * MEET_EVERY).collect();
        Exchange {
            slots: Mutex::new(Slots {
                at: vec![vec![None; threads]; points.len()],
                gone: vec![false; threads],
                last: vec![None; threads],
            }),
            points,
            threads,
            ready: Condvar::new(),
        }
    }

    fn meet(&self, k: usize, me: usize, objective: f64, mine: &State) -> Option<State> {
        let mut g = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.at[k][me] = Some((objective, mine.clone()));
        self.ready.notify_all();
        while (0..self.threads).any(|t| g.at[k][t].is_none() && !g.gone[t]) {
            g = self
                .ready
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        let mut best: Option<(f64, usize)> = None;
        for t in 0..self.threads {
            let o = g.at[k][t].as_ref().or(g.last[t].as_ref()).map(|x| x.0);
            if let Some(o) = o {
                if best.is_none_or(|b| o < b.0) {
                    best = Some((o, t));
                }
            }
        }
        let (o, t) = best?;
        if t == me || o >= objective - 1e-9 {
            return None;
        }
        g.at[k][t]
            .as_ref()
            .or(g.last[t].as_ref())
            .map(|x| x.1.clone())
    }

    /// Thread `me` has finished, with `best` (`None` when it panicked): nobody waits for it
    /// any more.
    fn leave(&self, me: usize, best: Option<(f64, &State)>) {
        let mut g = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !g.gone[me] {
            g.gone[me] = true;
            g.last[me] = best.map(|(o, st)| (o, st.clone()));
        }
        self.ready.notify_all();
    }
}

/// Leaves the exchange when a search thread unwinds, so the others never wait for it.
struct LeaveOnDrop<'a>(Option<(&'a Exchange, usize)>);

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some((ex, me)) = self.0 {
            ex.leave(me, None);
        }
    }
}

/// Runs the search from `init` and returns the best state found, the iteration count (summed
/// over threads) and whether it converged. The time limit counts from `started` (the call to
/// `solve`, construction included). With [`Options::threads`] above 1, that many searches run
/// in parallel from `init` with seeds of their own (thread 0 continues `rng`) and share their
/// best solutions every [`MEET_EVERY`] of the budget ([`Exchange`]).
pub(crate) fn search(
    d: &Data,
    init: State,
    options: &Options,
    started: Instant,
    rng: &mut StdRng,
) -> (State, u64, bool) {
    let threads = options.threads.max(1);
    if threads == 1 || init.bank.len() == d.nreq {
        return search_one(d, init, options, started, rng, None);
    }
    let ex = Exchange::new(threads);
    let results: Vec<(State, u64, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads)
            .map(|t| {
                let (ex, init) = (&ex, init.clone());
                scope.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(thread_seed(options.seed, t));
                    search_one(d, init, options, started, &mut rng, Some((ex, t)))
                })
            })
            .collect();
        let mut out = vec![search_one(d, init, options, started, rng, Some((&ex, 0)))];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("a search thread panicked")),
        );
        out
    });
    let iterations = results.iter().map(|r| r.1).sum();
    let converged = results.iter().all(|r| r.2);
    let best = results
        .into_iter()
        .map(|r| r.0)
        .reduce(|a, b| {
            if b.objective(d) < a.objective(d) - 1e-9 {
                b
            } else {
                a
            }
        })
        .expect("at least one thread");
    (best, iterations, converged)
}

/// Seed of search thread `t` (thread 0 uses the caller's generator).
fn thread_seed(seed: u64, t: usize) -> u64 {
    let mut z = seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One search thread: pre-search, fleet minimisation, distance search.
fn search_one(
    d: &Data,
    init: State,
    options: &Options,
    started: Instant,
    rng: &mut StdRng,
    share: Option<(&Exchange, usize)>,
) -> (State, u64, bool) {
    let clock = Clock {
        start: started,
        limit: options.time_limit.as_secs_f64(),
        max_iter: options.max_iterations,
        stall: options.stall_iterations,
        converged: Cell::new(false),
        share: share.map(|(ex, me)| (ex, me, Cell::new(0))),
    };
    let guard = LeaveOnDrop(share);
    let (best, iter) = phases(d, init, &clock, rng);
    if let Some((ex, me)) = share {
        ex.leave(me, Some((best.objective(d), &best)));
    }
    drop(guard);
    (best, iter, clock.converged.get())
}

fn phases(d: &Data, init: State, clock: &Clock, rng: &mut StdRng) -> (State, u64) {
    let mut s = Scratch::default();
    let mut cur = init;
    if cur.bank.len() == d.nreq {
        return (cur, 0);
    }
    let mut iter: u64 = 0;
    if d.objective.vehicle_weight > 0.0 && cur.bank.is_empty() {
        // a short distance search first gives the ejection search tidy routes to work on
        cur = anneal(d, cur, clock, &mut iter, PRE_END, rng, &mut s);
        eliminate_routes(d, &mut cur, clock, &mut iter, rng, &mut s);
    }
    let best = anneal(d, cur, clock, &mut iter, 1.0, rng, &mut s);
    (best, iter)
}

/// Simulated annealing over destroy / repair moves from `init` until `until` of the budget,
/// with a cooling schedule of its own; returns the best state found.
fn anneal(
    d: &Data,
    init: State,
    clock: &Clock,
    iter: &mut u64,
    until: f64,
    rng: &mut StdRng,
    s: &mut Scratch,
) -> State {
    let mut cur = init;
    let mut tails_work = TailWork::default();
    // from a local optimum of the descent, later descents try only the routes a repair changed
    tails::improve(d, &mut cur, &mut tails_work, TAIL_MOVES, None);
    let mut best = cur.clone();
    // With vehicles weighted far above what the routes cost, a candidate that uses a vehicle
    // more than the current solution, or leaves more requests out, is never accepted: such a
    // repair can stop as soon as it is bound to be one.
    let (vw, uw) = (d.objective.vehicle_weight, d.objective.unserved_weight);
    let margin = cur.cost(d) - cur.used() as f64 * vw + 50.0 * start_temperature(d, &cur);
    let fixed_fleet = vw > margin && uw > margin;
    let (mut destroys, mut repairs) = (Roulette::new(DESTROYS), Roulette::new(REPAIRS));
    let mut start = clock.progress(*iter);
    let t0 = start_temperature(d, &cur);
    let noise_amp = NOISE * mean_arc(&cur);
    let mut last_best: f64 = start;
    let mut iter_at_best = *iter;
    // the final distance phase keeps a pool of the routes it meets ([`Pool`])
    let mut pool = (until >= 1.0).then(|| {
        let mut p = Pool::default();
        p.add_all(d, &cur);
        p
    });
    let mut next_sp = start + SP_EVERY;
    let mut last_kick = start;
    loop {
        let progress = clock.progress(*iter);
        if let Some(pool) = pool
            .as_mut()
            .filter(|_| progress >= next_sp && progress < until)
        {
            next_sp = progress + SP_EVERY;
            if let Some(mut better) = pool.solve(d, &best, clock.sp_limit()) {
                tails::improve(d, &mut better, &mut tails_work, TAIL_MOVES, None);
                best = better.clone();
                cur = better;
                // `last_best` stays: the set partitioning finds a little something most times
                // it runs, and every `SP_EVERY` of the budget that would put off for ever the
                // reheat the annealing needs when it has stalled
                iter_at_best = *iter;
            }
        }
        if let Some(better) = clock.meet(progress, d, &best) {
            best = better.clone();
            cur = better;
            last_best = progress;
            iter_at_best = *iter;
        }
        if progress >= until {
            break;
        }
        if clock.stall.is_some_and(|n| *iter - iter_at_best >= n) {
            clock.converged.set(true);
            break;
        }
        if fixed_fleet
            && progress - last_best.max(last_kick) > KICK_AFTER
            && progress < until - KICK_AFTER
        {
            // stuck: kick the best out of its trap and go on from there at the same temperature
            last_kick = progress;
            if let Some(mut k) = kick(d, &best, clock, iter, until, rng, s) {
                tails::improve(d, &mut k, &mut tails_work, TAIL_MOVES, None);
                if k.objective(d) < best.objective(d) - 1e-9 {
                    best = k.clone();
                    last_best = progress;
                    iter_at_best = *iter;
                }
                cur = k;
            }
        }
        if progress - last_best.max(start) > REHEAT && progress < until - 0.1 {
            // stagnating: restart from the best with the full temperature
            cur = best.clone();
            start = progress;
        }
        *iter += 1;
        let mut cand = cur.clone();
        let (di, ri) = (destroys.pick(rng), repairs.pick(rng));
        let assigned = cand.assigned();
        if assigned.is_empty() {
            break;
        }
        let qmax = assigned.len().min(40).min((d.nreq / 4).max(5));
        // on a tiny route set, removing everything would rebuild the same greedy solution
        let qmin = if assigned.len() <= 8 {
            1
        } else {
            assigned.len().min(4).min(qmax)
        };
        let unserved = cand.bank.len();
        let q = rng.gen_range(qmin..=qmax);
        match di {
            0 => random_removal(d, &mut cand, &assigned, q, rng),
            1 => related_removal(d, &mut cand, &assigned, q, rng),
            2 => worst_removal(d, &mut cand, &assigned, q, rng),
            _ => route_removal(d, &mut cand, q, rng),
        }
        // k = 0: one request at a time ([`State::insert_each`])
        let (k, noisy) = [
            (1, false),
            (2, false),
            (3, false),
            (1, true),
            (2, true),
            (3, true),
            (0, false),
            (0, true),
        ][ri];
        let noise = if noisy { noise_amp } else { 0.0 };
        s.free_opening = rng.gen_bool(FREE_OPENING);
        let max_routes = if fixed_fleet { cur.used() } else { d.nveh };
        s.give_up = fixed_fleet.then_some(unserved);
        if unserved > 0 && rng.gen_bool(0.5) {
            // requests left out so far go first, while the removed ones leave room: greedy
            // insertion alone keeps filling that room with cheaper requests
            let removed = cand.bank.split_off(unserved);
            repair(d, &mut cand, k, max_routes, noise, rng, s);
            cand.bank.extend(removed);
        }
        repair(d, &mut cand, k, max_routes, noise, rng, s);
        s.free_opening = false;
        s.give_up = None;
        // what removing and re-inserting requests one at a time rarely finds: two routes
        // trading their tails where both vehicles are empty (not worth it for a candidate
        // that gave up: it is rejected all the same)
        if !(fixed_fleet && cand.bank.len() > unserved) {
            tails::improve(d, &mut cand, &mut tails_work, TAIL_MOVES, Some(&cur));
        }
        let (obj_c, obj_cur) = (cand.objective(d), cur.objective(d));
        let local = (progress - start) / (until - start).max(1e-9);
        let temp = t0 * T_END.powf(local);
        let new_best = obj_c < best.objective(d) - 1e-9;
        let score = if new_best {
            33.0
        } else if obj_c < obj_cur - 1e-9 {
            9.0
        } else if obj_c - obj_cur < 1e6 && rng.gen::<f64>() < (-(obj_c - obj_cur) / temp).exp() {
            13.0
        } else {
            0.0
        };
        if let Some(pool) = pool
            .as_mut()
            .filter(|_| score > 0.0 || obj_c <= obj_cur + temp)
        {
            // the routes of an accepted candidate, or of one the annealing accepts more than a
            // third of the time, that differ from `cur`'s (the descent above has listed them)
            for v in tails_work.changed() {
                pool.add(d, &cand.routes[v]);
            }
        }
        if new_best {
            last_best = progress;
            iter_at_best = *iter;
            best = cand.clone();
        }
        if score > 0.0 {
            cur = cand;
        }
        destroys.reward(di, score);
        repairs.reward(ri, score);
        if *iter % 100 == 0 {
            destroys.end_segment();
            repairs.end_segment();
        }
    }
    best
}

/// A kick out of a trap: a few of the requests of `best` whose removal saves the most (on
/// routes with other requests) go to an ejection pool, barred from their routes, and the
/// guided ejection search puts the pool back without opening a route ([`Ges::kick`]): the
/// request that fitted only where it cost the most is made room for elsewhere, and what it
/// pushes out goes where there is room, its old place included. `None` when the pool is not
/// empty after [`KICK_STEPS`] steps or at `until`, and when `best` leaves requests out (the
/// ejection search would take them up too, and put back only what fits).
fn kick(
    d: &Data,
    best: &State,
    clock: &Clock,
    iter: &mut u64,
    until: f64,
    rng: &mut StdRng,
    s: &mut Scratch,
) -> Option<State> {
    if !best.bank.is_empty() {
        return None;
    }
    // requests on routes with others (a request may be on none: not part of this search)
    let on_shared_route = |r: usize| {
        let v = best.route_of[r];
        v != NONE && best.routes[v].len() > 2
    };
    let mut gains = best.by_removal_gain(d, (0..d.nreq).filter(|&r| on_shared_route(r)));
    gains.truncate(KICK_AMONG);
    if gains.is_empty() {
        return None;
    }
    let m = rng.gen_range(1..=KICK_MAX.min(gains.len()));
    let out: Vec<usize> = gains.choose_multiple(rng, m).map(|g| g.1).collect();
    let mut st = best.clone();
    let mut ges = Ges::kick(d, &mut st, &out);
    for _ in 0..KICK_STEPS {
        if clock.progress(*iter) >= until {
            return None;
        }
        *iter += 1;
        if ges.step(d, &mut st, rng, s, &|| clock.out_of_time()) {
            return Some(st);
        }
    }
    None
}

/// Regret-`k` repair, or for `k == 0` one request at a time in an order drawn at random
/// (random; earliest pickup window first; farthest pickup from the first route's start
/// first), as SISR's recreate.
fn repair(
    d: &Data,
    st: &mut State,
    k: usize,
    max_routes: usize,
    noise: f64,
    rng: &mut StdRng,
    s: &mut Scratch,
) {
    if k > 0 {
        st.repair(d, k, max_routes, noise, rng, s);
        return;
    }
    match rng.gen_range(0..4) {
        0 | 1 => st.bank.shuffle(rng),
        2 => st
            .bank
            .sort_by(|&a, &b| d.early[2 * a].total_cmp(&d.early[2 * b])),
        _ => {
            let depot = d.vstart[0];
            st.bank.sort_by(|&a, &b| {
                d.dist(depot, d.loc[2 * b])
                    .total_cmp(&d.dist(depot, d.loc[2 * a]))
            });
        }
    }
    s.noise = noise;
    s.salt = rng.gen();
    st.insert_each(d, max_routes, &|| false, s);
    s.noise = 0.0;
}

/// Fleet minimisation: guided ejection search attempts on the complete solution `st`, each
/// taking one route away, until the objective stops improving or [`ELIM_END`] of the budget
/// is used. An attempt that stalls (its pool has not shrunk for [`ELIM_STALL`] of the budget)
/// is given up for a fresh one (a route drawn afresh, counters back to 1): a stalled pool
/// tends to grow, as ejections of several requests with low counters win over single ones
/// (Li & Lim 400: from a few requests to over a hundred), and does not come back. After
/// [`ELIM_HOPELESS_RUNS`] stalled attempts in a row whose pools never got small
/// ([`ELIM_HOPELESS`]), the phase ends and the distance phase gets the rest of its time.
fn eliminate_routes(
    d: &Data,
    st: &mut State,
    clock: &Clock,
    iter: &mut u64,
    rng: &mut StdRng,
    s: &mut Scratch,
) {
    // stalled attempts in a row whose pools never got small
    let mut hopeless = 0;
    'attempts: while st.used() > 1 {
        let mut cur = st.clone();
        let mut ges = Ges::start(d, &mut cur, rng);
        let mut last_gain = clock.progress(*iter);
        let mut iter_at_gain = *iter;
        loop {
            let progress = clock.progress(*iter);
            if let Some(better) = clock.meet(progress, d, st) {
                // another thread has a solution with fewer routes: go on from there. (A
                // shorter one with as many routes is not worth restarting the attempt for: an
                // attempt needs its pool and penalty counters to build up.)
                if better.used() < st.used() {
                    *st = better;
                    hopeless = 0;
                    continue 'attempts;
                }
            }
            if progress >= ELIM_END {
                return;
            }
            if progress - last_gain > ELIM_STALL {
                // a stall with a small pool breaks the run of hopeless attempts
                let large = ges.min_pool as f64 > ELIM_HOPELESS * d.nreq as f64;
                hopeless = if large { hopeless + 1 } else { 0 };
                if hopeless >= ELIM_HOPELESS_RUNS {
                    return;
                }
                continue 'attempts;
            }
            // A converging search gives an attempt as many steps without a smaller pool as
            // an annealing phase gets without a better solution.
            if clock.stall.is_some_and(|n| *iter - iter_at_gain >= n) {
                return;
            }
            *iter += 1;
            let before = ges.min_pool;
            if ges.step(d, &mut cur, rng, s, &|| clock.out_of_time()) {
                break;
            }
            if ges.min_pool < before {
                last_gain = progress;
                iter_at_gain = *iter;
            }
        }
        if cur.objective(d) >= st.objective(d) {
            return;
        }
        *st = cur;
        hopeless = 0;
    }
}

fn random_removal(d: &Data, st: &mut State, assigned: &[usize], q: usize, rng: &mut StdRng) {
    let out: Vec<usize> = assigned.choose_multiple(rng, q).copied().collect();
    st.remove_all(d, &out);
}

/// Shaw removal: requests close in space and time to already removed ones.
fn related_removal(d: &Data, st: &mut State, assigned: &[usize], q: usize, rng: &mut StdRng) {
    let mut left: Vec<usize> = assigned.to_vec();
    // During route elimination, half of the time clear space around a request of the bank.
    let bank_seed = (!st.bank.is_empty() && rng.gen_bool(0.5))
        .then(|| st.bank[rng.gen_range(0..st.bank.len())]);
    let mut removed = match bank_seed {
        Some(_) => Vec::new(),
        None => vec![left.swap_remove(rng.gen_range(0..left.len()))],
    };
    let time = |r: usize, node: usize| {
        let v = st.route_of[r];
        if v == NONE {
            return d.early[node];
        }
        st.routes[v]
            .nodes
            .iter()
            .position(|&n| n == node)
            .map_or(0.0, |k| st.routes[v].earliest(k + 1))
    };
    let mut keyed: Vec<(f64, usize)> = Vec::with_capacity(left.len());
    while removed.len() < q && !left.is_empty() {
        let seed = match bank_seed {
            Some(b) if removed.is_empty() || rng.gen_bool(0.5) => b,
            _ => removed[rng.gen_range(0..removed.len())],
        };
        let (sp, sq) = (time(seed, 2 * seed), time(seed, 2 * seed + 1));
        keyed.clear();
        for &r in &left {
            let dd = d.matrix.distance(d.loc[2 * seed], d.loc[2 * r]).min(1e12)
                + d.matrix
                    .distance(d.loc[2 * seed + 1], d.loc[2 * r + 1])
                    .min(1e12);
            let dt = (time(r, 2 * r) - sp).abs() + (time(r, 2 * r + 1) - sq).abs();
            let same = if st.route_of[r] == st.route_of[seed] {
                0.0
            } else {
                1.0
            };
            keyed.push((dd + 0.5 * dt + 10.0 * same, r));
        }
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        let y: f64 = rng.gen();
        let idx = ((y.powi(6)) * keyed.len() as f64) as usize;
        let r = keyed[idx.min(keyed.len() - 1)].1;
        left.retain(|&x| x != r);
        removed.push(r);
    }
    st.remove_all(d, &removed);
}

/// Removes requests whose removal saves the most, with randomisation.
fn worst_removal(d: &Data, st: &mut State, assigned: &[usize], q: usize, rng: &mut StdRng) {
    let mut keyed = st.by_removal_gain(d, assigned.iter().copied());
    let mut out = Vec::with_capacity(q);
    for _ in 0..q {
        if keyed.is_empty() {
            break;
        }
        let y: f64 = rng.gen();
        let idx = ((y.powi(3)) * keyed.len() as f64) as usize;
        out.push(keyed.remove(idx.min(keyed.len() - 1)).1);
    }
    st.remove_all(d, &out);
}

/// Empties a random small route, then removes random requests up to `q`.
fn route_removal(d: &Data, st: &mut State, q: usize, rng: &mut StdRng) {
    let used: Vec<usize> = (0..st.routes.len())
        .filter(|&v| !st.routes[v].is_empty())
        .collect();
    if used.is_empty() {
        return;
    }
    let a = used[rng.gen_range(0..used.len())];
    let b = used[rng.gen_range(0..used.len())];
    let v = if st.routes[a].len() <= st.routes[b].len() {
        a
    } else {
        b
    };
    st.empty_route(d, v);
    let assigned: Vec<usize> = (0..st.route_of.len())
        .filter(|&r| st.route_of[r] != NONE)
        .collect();
    let extra = q.saturating_sub(st.bank.len()).min(assigned.len());
    let out: Vec<usize> = assigned.choose_multiple(rng, extra).copied().collect();
    st.remove_all(d, &out);
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Instant;

    use super::{eliminate_routes, Clock, ELIM_END, ELIM_STALL};
    use crate::instances::{read, read_bks};
    use crate::solver::data::Data;
    use crate::solver::tests::{bench_dir, constructed};

    /// The fleet phase on `name` (Li & Lim 100) from a regret-2 construction, with an
    /// iteration limit: the routes it ends with, the best-known fleet and the fraction of the
    /// budget it used.
    fn fleet_phase(name: &str, iterations: u64) -> (usize, usize, f64) {
        let inst = read(&bench_dir("lilim100").join(format!("{name}.txt"))).unwrap();
        let (bks, _) = read_bks(&bench_dir("lilim100").join("bks.csv")).unwrap()[name];
        let d = Data::new(&inst.problem, &inst.matrix);
        let (mut st, mut rng, mut s) = constructed(&d, 1);
        let clock = Clock {
            start: Instant::now(),
            limit: 1e9,
            max_iter: Some(iterations),
            stall: None,
            converged: Cell::new(false),
            share: None,
        };
        let mut iter = 0;
        eliminate_routes(&d, &mut st, &clock, &mut iter, &mut rng, &mut s);
        assert!(st.bank.is_empty());
        (st.used(), bks, clock.progress(iter))
    }

    #[test]
    fn the_fleet_phase_ends_after_two_hopeless_attempts_on_wide_windows() {
        // wide windows: attempts below the best-known fleet keep large pools
        for name in ["lr205", "lrc202", "lc201"] {
            let (used, bks, progress) = fleet_phase(name, 4000);
            assert_eq!(used, bks, "{name}: routes");
            assert!(
                progress < ELIM_END - ELIM_STALL,
                "{name}: the phase ran to {progress:.3} of the budget"
            );
        }
        // tight windows: their pools get down to a few requests, and the phase goes on
        let (used, bks, progress) = fleet_phase("lr105", 4000);
        assert_eq!(used, bks, "lr105: routes");
        assert!(
            progress >= ELIM_END,
            "lr105: the phase ended at {progress:.3}"
        );
    }
}
