//! Fleet minimisation by guided ejection search (after Nagata & Kobayashi, "Guided ejection
//! search for the pickup and delivery problem with time windows", 2010).
//!
//! One attempt empties a route into the ejection pool (the state's bank, used as a stack) and
//! then, one request at a time, puts the pool back into the remaining routes without ever
//! opening a route:
//! 1. if the request fits somewhere, it goes to its cheapest feasible position;
//! 2. otherwise its penalty counter grows, and the cheapest way to make room is searched: a
//!    set of at most [`KMAX`] requests of one route whose removal lets the request in, with the
//!    least sum of penalty counters (requests that were hard to place before are ejected last);
//!    those requests go to the pool, and the solution is perturbed by random feasible
//!    relocations so that the next ejections meet other neighbourhoods. A relocation may
//!    raise the cost by a bounded amount (half a mean arc at first, doubled whenever the pool
//!    has not reached a new minimum for a while), so that the solution handed to the distance
//!    phase is not a random walk's; the reduction of the fleet comes first all the same.
//!
//! The attempt succeeds when the pool is empty: the solution has one route fewer and stays
//! feasible throughout (every intermediate state is a feasible partial solution).
//!
//! The distance phase uses the same search as a kick ([`Ges::kick`]): a few costly requests
//! go to the pool, each barred from its route until it is placed again.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::data::Data;
use super::route::{Answers, Insertion, Route, Scratch};
use super::state::{State, NONE};

/// Most requests ejected to make room for one.
const KMAX: usize = 3;
/// Insertion tests spent on one ejection search once some ejection has been found.
const EJECT_BUDGET: usize = 600;
/// A perturbation move may raise the cost by this many mean arc costs at first...
const SLACK: f64 = 0.5;
/// ...and the allowance doubles after this many steps without a new smallest pool.
const WIDEN_AFTER: usize = 500;
/// Random feasible relocations after each ejection.
const PERTURB: usize = 500;

/// One attempt's memory: penalty counters per request.
pub(crate) struct Ges {
    pen: Vec<u64>,
    tmp: Route,
    /// Schedule buffer.
    times: Vec<f64>,
    /// Largest cost increase a perturbation move may cause.
    slack: f64,
    /// Smallest pool size seen in this attempt.
    pub min_pool: usize,
    /// Steps since the pool last reached a new minimum.
    idle: usize,
    /// Per request, a route it may not go back to until it is placed ([`Ges::kick`]); empty
    /// when no request is barred.
    barred: Vec<usize>,
    /// Insertions already worked out, per request and route. Most of the perturbation's
    /// relocations are tried into routes that have not changed since the same request was last
    /// tried there, and most find no room (on lc1_4_10, Li & Lim 400, 66,699 of 36.4 million
    /// tries in one run): those answers are looked up.
    answers: Answers,
}

/// The chosen ejection: route, requests to eject, their penalty sum.
struct Ejection {
    v: usize,
    out: [usize; KMAX],
    k: usize,
    psum: u64,
}

impl Ges {
    /// Starts an attempt on a complete solution `st`: empties one of its routes (one of the
    /// shorter ones, at random) into the bank. Penalties start at 1.
    pub fn start(d: &Data, st: &mut State, rng: &mut StdRng) -> Self {
        let mut used: Vec<usize> = (0..st.routes.len())
            .filter(|&v| !st.routes[v].is_empty())
            .collect();
        used.sort_by_key(|&v| st.routes[v].len());
        let pick = used[rng.gen_range(0..used.len().div_ceil(3).max(1))];
        st.empty_route(d, pick);
        st.bank.shuffle(rng);
        Self::on(d, st, Vec::new())
    }

    /// Starts a kick on a complete solution `st`: the requests `out` go to the pool, each
    /// barred from the route it was on until it is placed again, so that the ejections move
    /// them (and what they push out) elsewhere. No route is opened; the fleet stays.
    pub fn kick(d: &Data, st: &mut State, out: &[usize]) -> Self {
        let mut barred = vec![NONE; d.nreq];
        for &r in out {
            barred[r] = st.route_of[r];
        }
        st.remove_all(d, out);
        Self::on(d, st, barred)
    }

    /// A search on `st` with its pool filled: penalties at 1, the perturbation's allowance at
    /// its start.
    fn on(d: &Data, st: &State, barred: Vec<usize>) -> Self {
        Ges {
            slack: SLACK * mean_arc(st),
            pen: vec![1; d.nreq],
            tmp: Route::new(d, 0),
            times: Vec::new(),
            min_pool: st.bank.len(),
            idle: 0,
            barred,
            answers: Answers::new(d.nreq, d.nveh),
        }
    }

    /// Places the request on top of the pool (ejecting others if needed). Returns whether
    /// the pool is now empty.
    /// `stop` is asked now and then during the ejection search: when it says so, the step
    /// ends early (with the best ejection found so far, if any).
    pub fn step(
        &mut self,
        d: &Data,
        st: &mut State,
        rng: &mut StdRng,
        s: &mut Scratch,
        stop: &dyn Fn() -> bool,
    ) -> bool {
        let Some(r) = st.bank.pop() else {
            return true;
        };
        debug_assert!(
            s.noise == 0.0 && !s.free_opening,
            "the ejection search remembers exact insertion costs"
        );
        let bar = self.bar(r);
        if let Some((v, ins)) = cheapest_insertion(d, st, r, bar, &mut self.answers, s) {
            st.routes[v].insert(d, r, ins);
            st.route_of[r] = v;
        } else {
            self.pen[r] += 1;
            match self.best_ejection(d, st, r, rng, s, stop) {
                Some(e) => {
                    // the route without them was checked as a whole (`tmp`)
                    for &x in &e.out[..e.k] {
                        st.routes[e.v].remove(d, x);
                        st.route_of[x] = NONE;
                        st.bank.push(x);
                    }
                    let ins = st.routes[e.v]
                        .best_insertion(d, r, s)
                        .expect("the ejection was tested on the same route");
                    st.routes[e.v].insert(d, r, ins);
                    st.route_of[r] = e.v;
                }
                // no room anywhere even after ejections: try again later
                None => st.bank.insert(0, r),
            }
            perturb(d, st, self.slack, &mut self.answers, rng, s);
        }
        if bar != NONE && st.route_of[r] != NONE {
            // placed: the bar has done its work
            self.barred[r] = NONE;
        }
        if st.bank.len() < self.min_pool {
            self.min_pool = st.bank.len();
            self.idle = 0;
        } else {
            self.idle += 1;
            if self.idle >= WIDEN_AFTER {
                // stuck: let the perturbation wander further from cheap solutions
                self.slack *= 2.0;
                self.idle = 0;
            }
        }
        st.bank.is_empty()
    }

    /// The route `r` may not go back to yet ([`Ges::kick`]), or [`NONE`].
    fn bar(&self, r: usize) -> usize {
        self.barred.get(r).copied().unwrap_or(NONE)
    }

    /// The ejection of at most [`KMAX`] requests from one used route (not the one `r` is
    /// barred from) that lets `r` in with the least penalty sum (then the cheapest insertion).
    fn best_ejection(
        &mut self,
        d: &Data,
        st: &State,
        r: usize,
        rng: &mut StdRng,
        s: &mut Scratch,
        stop: &dyn Fn() -> bool,
    ) -> Option<Ejection> {
        let bar = self.bar(r);
        let mut routes: Vec<usize> = (0..st.routes.len())
            .filter(|&v| v != bar && !st.routes[v].is_empty() && d.compatible(r, v))
            .collect();
        routes.shuffle(rng);
        let mut best: Option<Ejection> = None;
        let mut tests = 0usize;
        let mut reqs: Vec<usize> = Vec::new();
        for k in 1..=KMAX {
            for &v in &routes {
                reqs.clear();
                reqs.extend(st.routes[v].requests());
                if reqs.len() < k {
                    continue;
                }
                reqs.sort_by_key(|&x| self.pen[x]);
                let mut idx: Vec<usize> = (0..k).collect();
                loop {
                    let psum: u64 = idx.iter().map(|&i| self.pen[reqs[i]]).sum();
                    let bound = best.as_ref().map_or(u64::MAX, |b| b.psum);
                    if psum < bound {
                        tests += 1;
                        self.tmp.vehicle = v;
                        self.tmp.nodes.clear();
                        self.tmp.nodes.extend(
                            st.routes[v]
                                .nodes
                                .iter()
                                .filter(|&&n| !idx.iter().any(|&i| reqs[i] == n / 2)),
                        );
                        self.tmp.update(d);
                        if self.tmp.best_insertion(d, r, s).is_some()
                            && self.tmp.feasible(d, &mut self.times)
                        {
                            let mut out = [NONE; KMAX];
                            for (j, &i) in idx.iter().enumerate() {
                                out[j] = reqs[i];
                            }
                            best = Some(Ejection { v, out, k, psum });
                        }
                        if tests >= EJECT_BUDGET && best.is_some() {
                            return best;
                        }
                        if tests % 64 == 0 && stop() {
                            return best;
                        }
                    }
                    // next combination in lexicographic order; since `reqs` is sorted by
                    // penalty, a combination at or over the bound ends its last index's run
                    if !next_combination(&mut idx, reqs.len(), psum >= bound) {
                        break;
                    }
                }
            }
            // every larger ejection has a penalty sum of at least k + 1
            if best.as_ref().is_some_and(|b| b.psum <= k as u64 + 1) {
                break;
            }
        }
        best
    }
}

/// Advances `idx` (strictly increasing indices below `n`) to the next combination in
/// lexicographic order. With `skip_tail`, the last index's remaining values are skipped.
fn next_combination(idx: &mut [usize], n: usize, skip_tail: bool) -> bool {
    let k = idx.len();
    let top = if skip_tail { k - 1 } else { k };
    for i in (0..top).rev() {
        if idx[i] < n - k + i {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Mean cost of an arc of the used routes of `st`.
pub(crate) fn mean_arc(st: &State) -> f64 {
    let arcs: usize = st
        .routes
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.len() + 1)
        .sum();
    let cost: f64 = st.routes.iter().map(|r| r.cost).sum();
    cost / arcs.max(1) as f64
}

/// The cheapest feasible insertion of `r` into a used route other than `bar`.
fn cheapest_insertion(
    d: &Data,
    st: &State,
    r: usize,
    bar: usize,
    answers: &mut Answers,
    s: &mut Scratch,
) -> Option<(usize, Insertion)> {
    let mut best: Option<(usize, Insertion)> = None;
    for (v, route) in st.routes.iter().enumerate() {
        if route.is_empty() || v == bar {
            continue;
        }
        if let Some(ins) = answers.best_insertion(d, r, route, r, s) {
            if best.as_ref().is_none_or(|b| ins.delta < b.1.delta) {
                best = Some((v, ins));
            }
        }
    }
    best
}

/// Random feasible relocations of requests between used routes, whatever their cost.
fn perturb(
    d: &Data,
    st: &mut State,
    slack: f64,
    answers: &mut Answers,
    rng: &mut StdRng,
    s: &mut Scratch,
) {
    let used: Vec<usize> = (0..st.routes.len())
        .filter(|&v| !st.routes[v].is_empty())
        .collect();
    if used.len() < 2 {
        return;
    }
    for _ in 0..PERTURB {
        let u = rng.gen_range(0..d.nreq);
        let from = st.route_of[u];
        if from == NONE {
            continue;
        }
        let to = used[rng.gen_range(0..used.len())];
        if to == from || st.routes[to].is_empty() {
            continue;
        }
        let Some(ins) = answers.best_insertion(d, u, &st.routes[to], u, s) else {
            continue;
        };
        if ins.delta - st.routes[from].removal_gain(d, u) <= slack {
            let mut rest = st.routes[from].clone();
            if rest.remove(d, u) || rest.feasible(d, &mut s.times) {
                st.routes[from] = rest;
                st.routes[to].insert(d, u, ins);
                st.route_of[u] = to;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{next_combination, Ges};
    use crate::instances::{read, read_bks};
    use crate::solver::data::Data;
    use crate::solver::route::Answers;
    use crate::solver::state::NONE;
    use crate::solver::tests::{assert_partial_feasible, bench_dir, checked, constructed};
    use crate::solver::to_solution;
    use rand::Rng;

    #[test]
    fn ejection_search_takes_routes_away_and_stays_feasible_at_every_step() {
        let name = "lrc1_2_9";
        let inst = read(&bench_dir("lilim200").join(format!("{name}.txt"))).unwrap();
        let (bks_vehicles, _) = read_bks(&bench_dir("lilim200").join("bks.csv")).unwrap()[name];
        let d = Data::new(&inst.problem, &inst.matrix);
        let (mut st, mut rng, mut s) = constructed(&d, 5);
        let first = st.used();
        assert!(
            first > bks_vehicles,
            "the construction is already at the best-known fleet"
        );
        let mut steps = 0;
        while st.used() > bks_vehicles && steps < 40_000 {
            let mut cur = st.clone();
            let mut ges = Ges::start(&d, &mut cur, &mut rng);
            while steps < 40_000 {
                steps += 1;
                let done = ges.step(&d, &mut cur, &mut rng, &mut s, &|| false);
                if steps % 97 == 0 {
                    assert_partial_feasible(&d, &cur);
                }
                if done {
                    assert!(cur.used() < st.used());
                    st = cur;
                    break;
                }
            }
        }
        assert_eq!(
            st.used(),
            bks_vehicles,
            "{first} routes at first, {steps} steps"
        );
        let report = checked(
            &inst.problem,
            &inst.matrix,
            &to_solution(&inst.problem, &d, &st),
        );
        assert_eq!(report.served, d.nreq);
        assert_eq!(report.vehicles, bks_vehicles);
    }

    #[test]
    fn remembered_insertions_are_the_ones_worked_out_afresh() {
        let inst = read(&bench_dir("lilim200").join("lrc1_2_9.txt")).unwrap();
        let d = Data::new(&inst.problem, &inst.matrix);
        let (mut st, mut rng, mut s) = constructed(&d, 7);
        let mut answers = Answers::new(d.nreq, d.nveh);
        let used: Vec<usize> = (0..st.routes.len())
            .filter(|&v| !st.routes[v].is_empty())
            .collect();
        let (mut hits, mut found, mut moved) = (0, 0, 0);
        for _ in 0..20_000 {
            let (u, v) = (rng.gen_range(0..d.nreq), used[rng.gen_range(0..used.len())]);
            let before = st.routes[v].version();
            let known = answers.knows(u, &st.routes[v]);
            let answer = answers.best_insertion(&d, u, &st.routes[v], u, &mut s);
            assert_eq!(answer, st.routes[v].best_insertion(&d, u, &mut s));
            assert_eq!(st.routes[v].version(), before, "asking changed the route");
            hits += usize::from(known);
            let from = st.route_of[u];
            if let Some(ins) = answer.filter(|_| from != v && st.routes[from].len() > 2) {
                found += 1;
                if found % 10 != 0 {
                    continue;
                }
                // one relocation in ten found: it changes both routes, and their versions
                let copy = st.routes[from].clone();
                assert_eq!(copy.version(), st.routes[from].version());
                if st.routes[from].remove(&d, u) {
                    st.routes[v].insert(&d, u, ins);
                    st.route_of[u] = v;
                    assert_ne!(st.routes[from].version(), copy.version());
                    assert_ne!(st.routes[v].version(), before);
                    moved += 1;
                } else {
                    st.routes[from] = copy;
                }
            }
        }
        assert!(
            hits > 5_000 && moved > 50,
            "{hits} answers looked up, {found} found, {moved} moved"
        );
        assert_partial_feasible(&d, &st);
    }

    #[test]
    fn a_kick_moves_its_requests_off_their_routes_and_keeps_the_fleet() {
        let name = "lrc1_2_9";
        let inst = read(&bench_dir("lilim200").join(format!("{name}.txt"))).unwrap();
        let d = Data::new(&inst.problem, &inst.matrix);
        let (mut st, mut rng, mut s) = constructed(&d, 3);
        let fleet = st.used();
        // the three requests whose removal saves the most, on routes with others
        let gains = st.by_removal_gain(
            &d,
            (0..d.nreq).filter(|&r| st.routes[st.route_of[r]].len() > 2),
        );
        let out: Vec<usize> = gains[..3].iter().map(|g| g.1).collect();
        let old: Vec<usize> = out.iter().map(|&r| st.route_of[r]).collect();
        let mut ges = Ges::kick(&d, &mut st, &out);
        assert_eq!(st.bank.len(), 3);
        let mut placed = [false; 3];
        let mut done = false;
        for step in 0..20_000 {
            done = ges.step(&d, &mut st, &mut rng, &mut s, &|| false);
            for (j, &r) in out.iter().enumerate() {
                if !placed[j] && st.route_of[r] != NONE {
                    assert_ne!(st.route_of[r], old[j], "request {r} went back to its route");
                    placed[j] = true;
                }
            }
            if step % 17 == 0 || done {
                assert_partial_feasible(&d, &st);
            }
            if done {
                break;
            }
        }
        assert!(done, "the kick's pool was not emptied");
        assert!(placed.iter().all(|&p| p));
        assert!(st.used() <= fleet, "a kick opened a route");
        let report = checked(
            &inst.problem,
            &inst.matrix,
            &to_solution(&inst.problem, &d, &st),
        );
        assert_eq!(report.served, d.nreq);
    }

    fn all(n: usize, k: usize) -> Vec<Vec<usize>> {
        let mut idx: Vec<usize> = (0..k).collect();
        let mut out = vec![idx.clone()];
        while next_combination(&mut idx, n, false) {
            out.push(idx.clone());
        }
        out
    }

    #[test]
    fn combinations_are_enumerated_in_lexicographic_order() {
        assert_eq!(all(4, 1), vec![vec![0], vec![1], vec![2], vec![3]]);
        assert_eq!(
            all(4, 2),
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(all(5, 3).len(), 10);
    }

    #[test]
    fn skipping_the_tail_jumps_to_the_next_prefix() {
        let mut idx = vec![0, 1];
        assert!(next_combination(&mut idx, 4, true));
        assert_eq!(idx, vec![1, 2]);
        let mut idx = vec![2];
        assert!(!next_combination(&mut idx, 4, true));
    }
}
