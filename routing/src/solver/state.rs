//! A (partial) solution under search: one route per vehicle, the request bank (unassigned
//! requests), and regret insertion of the bank.

use super::data::Data;
use super::route::{Answers, Insertion, Route, Scratch};
use super::Deadline;
use rand::rngs::StdRng;
use rand::Rng;

/// Share of the time limit regret insertion may take to build the first solution; the rest of
/// the bank then goes in by the linear [`State::insert_in_order`].
pub(crate) const CONSTRUCT_SHARE: f64 = 0.4;

/// Marks an unassigned request in [`State::route_of`].
pub(crate) const NONE: usize = usize::MAX;

/// A solution under search.
#[derive(Clone)]
pub(crate) struct State {
    /// `routes[v]` is vehicle `v`'s route (possibly empty).
    pub routes: Vec<Route>,
    /// Route (vehicle) of each request, or [`NONE`].
    pub route_of: Vec<usize>,
    /// Requests to insert.
    pub bank: Vec<usize>,
}

impl State {
    /// Empty routes, every request in `requests` in the bank.
    pub fn empty(d: &Data, requests: Vec<usize>) -> Self {
        State {
            routes: (0..d.nveh).map(|v| Route::new(d, v)).collect(),
            route_of: vec![NONE; d.nreq],
            bank: requests,
        }
    }

    /// The solution with route `nodes` on each vehicle `v` of `routes` (the other vehicles
    /// empty) and every request none of them serves in the bank. A request on two routes is
    /// counted on the last.
    pub fn from_routes<'a>(
        d: &Data,
        routes: impl IntoIterator<Item = (usize, &'a [usize])>,
    ) -> Self {
        let mut st = State::empty(d, Vec::new());
        for (v, nodes) in routes {
            st.routes[v].nodes.extend_from_slice(nodes);
            st.routes[v].update(d);
            for &n in nodes {
                st.route_of[n / 2] = v;
            }
        }
        st.bank = (0..d.nreq).filter(|&r| st.route_of[r] == NONE).collect();
        st
    }

    /// Weighted objective: unserved, vehicles (with fixed costs), route costs.
    pub fn objective(&self, d: &Data) -> f64 {
        self.bank.len() as f64 * d.objective.unserved_weight + self.cost(d)
    }

    /// Route costs plus opening costs of used vehicles.
    pub fn cost(&self, d: &Data) -> f64 {
        self.routes
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| r.cost + d.vopen[r.vehicle])
            .sum()
    }

    /// Number of used vehicles.
    pub fn used(&self) -> usize {
        self.routes.iter().filter(|r| !r.is_empty()).count()
    }

    /// Assigned requests.
    pub fn assigned(&self) -> Vec<usize> {
        (0..self.route_of.len())
            .filter(|&r| self.route_of[r] != NONE)
            .collect()
    }

    /// Moves request `r` from its route to the bank ([`State::remove_all`]).
    #[cfg(test)]
    pub fn remove(&mut self, d: &Data, r: usize) {
        self.remove_all(d, &[r]);
    }

    /// Moves requests `rs` (distinct) from their routes to the bank, updating each route's
    /// caches once. Should that leave a route without a schedule (travel times that break the
    /// triangle inequality, or breaks), the whole route goes to the bank: every route of a
    /// state stays feasible.
    pub fn remove_all(&mut self, d: &Data, rs: &[usize]) {
        let mut gone = vec![false; d.nreq];
        let mut touched: Vec<usize> = Vec::new();
        for &r in rs {
            let v = self.route_of[r];
            if v == NONE {
                continue;
            }
            gone[r] = true;
            if !touched.contains(&v) {
                touched.push(v);
            }
            self.route_of[r] = NONE;
            self.bank.push(r);
        }
        for v in touched {
            let safe = self.routes[v].remove_where(d, |x| gone[x]);
            if !safe && !self.routes[v].feasible(d, &mut Vec::new()) {
                self.empty_route(d, v);
            }
        }
    }

    /// The served requests `rs`, each with what its removal saves, the most first.
    pub fn by_removal_gain(
        &self,
        d: &Data,
        rs: impl IntoIterator<Item = usize>,
    ) -> Vec<(f64, usize)> {
        let mut keyed: Vec<(f64, usize)> = rs
            .into_iter()
            .map(|r| (self.routes[self.route_of[r]].removal_gain(d, r), r))
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        keyed
    }

    /// Moves every request of route `v` to the bank.
    pub fn empty_route(&mut self, d: &Data, v: usize) {
        let reqs: Vec<usize> = self.routes[v].requests().collect();
        for r in reqs {
            self.route_of[r] = NONE;
            self.bank.push(r);
        }
        self.routes[v].nodes.clear();
        self.routes[v].update(d);
    }

    /// The first solution, within the time limit: regret-2 insertion of the bank until
    /// [`CONSTRUCT_SHARE`] of the limit is used, then whatever is left by
    /// [`State::insert_in_order`] until the limit. Requests still in the bank when the limit
    /// runs out stay there (the search, if it gets any time, or the caller deals with them).
    /// Returns whether every request of the bank had its turn (`false`: the limit cut it short).
    pub fn construct(
        &mut self,
        d: &Data,
        deadline: Deadline,
        rng: &mut StdRng,
        s: &mut Scratch,
    ) -> bool {
        let interrupted = self.repair_until(d, 2, d.nveh, 0.0, rng, s, &|| {
            deadline.used(CONSTRUCT_SHARE)
        });
        !interrupted || self.insert_in_order(d, &|| deadline.passed(), s)
    }

    /// Inserts the bank one request at a time, in the order of their earliest pickup, each at
    /// its cheapest feasible position (a route may be opened), until `stop` says so. Linear in
    /// the bank (one insertion search per request and route), where regret insertion is
    /// quadratic: the fallback when construction runs out of time on a big day.
    /// Returns whether every request had its turn.
    pub fn insert_in_order(&mut self, d: &Data, stop: &dyn Fn() -> bool, s: &mut Scratch) -> bool {
        self.bank
            .sort_by(|&a, &b| d.early[2 * a].total_cmp(&d.early[2 * b]).then(a.cmp(&b)));
        self.insert_each(d, d.nveh, stop, s)
    }

    /// Inserts the bank's requests one at a time in the bank's order, each at its cheapest
    /// feasible position over the routes (costs with the noise of `s`), using at most
    /// `max_routes` vehicles; what fits nowhere stays in the bank. One insertion test per
    /// request and route, where regret insertion tests every request left after each
    /// insertion (the recreate step of Christiaens & Vanden Berghe's SISR). Returns whether
    /// every request had its turn before `stop` said so.
    pub fn insert_each(
        &mut self,
        d: &Data,
        max_routes: usize,
        stop: &dyn Fn() -> bool,
        s: &mut Scratch,
    ) -> bool {
        let pool = std::mem::take(&mut self.bank);
        let mut used = self.used();
        let mut left = Vec::new();
        let mut class_seen: Vec<usize> = Vec::new();
        let mut complete = true;
        for (i, &r) in pool.iter().enumerate() {
            if stop() {
                left.extend_from_slice(&pool[i..]);
                complete = false;
                break;
            }
            class_seen.clear();
            let mut best: Option<(usize, Insertion)> = None;
            for (v, route) in self.routes.iter().enumerate() {
                if route.is_empty() {
                    if used >= max_routes || class_seen.contains(&d.vclass[v]) {
                        continue;
                    }
                    class_seen.push(d.vclass[v]);
                }
                if let Some(ins) = route.best_insertion(d, r, s) {
                    if best.as_ref().is_none_or(|b| ins.delta < b.1.delta) {
                        best = Some((v, ins));
                    }
                }
            }
            match best {
                Some((v, ins)) => {
                    used += usize::from(self.routes[v].is_empty());
                    self.routes[v].insert(d, r, ins);
                    self.route_of[r] = v;
                }
                None => {
                    left.push(r);
                    if s.gives_up(left.len()) {
                        left.extend_from_slice(&pool[i + 1..]);
                        break;
                    }
                }
            }
        }
        self.bank = left;
        complete
    }

    /// Inserts bank requests by regret-`k` insertion (`k = 1`: greedy) while any fits, using at
    /// most `max_routes` vehicles. `noise` is added to insertion costs (0 = exact costs).
    pub fn repair(
        &mut self,
        d: &Data,
        k: usize,
        max_routes: usize,
        noise: f64,
        rng: &mut StdRng,
        s: &mut Scratch,
    ) {
        self.repair_until(d, k, max_routes, noise, rng, s, &|| false);
    }

    /// [`State::repair`], asking `stop` before each insertion; returns whether it stopped
    /// because `stop` said so (the requests not inserted yet stay in the bank).
    #[allow(clippy::too_many_arguments)]
    pub fn repair_until(
        &mut self,
        d: &Data,
        k: usize,
        max_routes: usize,
        noise: f64,
        rng: &mut StdRng,
        s: &mut Scratch,
        stop: &dyn Fn() -> bool,
    ) -> bool {
        let mut interrupted = false;
        let pool = std::mem::take(&mut self.bank);
        s.noise = noise;
        s.salt = rng.gen();
        let nv = d.nveh;
        let mut alive = vec![true; pool.len()];
        let mut answers = Answers::new(pool.len(), nv);
        let mut considered = Vec::with_capacity(nv);
        let mut top: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        let mut left = pool.len();
        while left > 0 {
            if stop() {
                interrupted = true;
                break;
            }
            considered.clear();
            let used = self.used();
            let mut class_seen: Vec<usize> = Vec::new();
            for (v, route) in self.routes.iter().enumerate() {
                if !route.is_empty() {
                    considered.push(v);
                } else if used < max_routes && !class_seen.contains(&d.vclass[v]) {
                    class_seen.push(d.vclass[v]);
                    considered.push(v);
                }
            }
            // (score, -c1) of the best request, its index, vehicle
            let mut best: Option<((f64, f64), usize, usize)> = None;
            let mut nowhere = 0;
            for (i, &r) in pool.iter().enumerate() {
                if !alive[i] {
                    continue;
                }
                top.clear();
                for &v in &considered {
                    if let Some(ins) = answers.best_insertion(d, i, &self.routes[v], r, s) {
                        let pos = top.partition_point(|t| t.0 <= ins.delta);
                        if pos < k {
                            top.insert(pos, (ins.delta, v));
                            top.truncate(k);
                        }
                    }
                }
                let Some(&(c1, v1)) = top.first() else {
                    nowhere += 1;
                    if s.gives_up(nowhere) {
                        break;
                    }
                    continue;
                };
                let regret: f64 = if k == 1 {
                    -c1
                } else {
                    (1..k).map(|j| top.get(j).map_or(1e15, |t| t.0 - c1)).sum()
                };
                let key = (regret, -c1);
                if best.is_none_or_less(key) {
                    best = Some((key, i, v1));
                }
            }
            if s.gives_up(nowhere) {
                break;
            }
            let Some((_, i, v)) = best else {
                break;
            };
            let r = pool[i];
            let ins = answers
                .best_insertion(d, i, &self.routes[v], r, s)
                .expect("the chosen request's insertion, as worked out");
            self.routes[v].insert(d, r, ins);
            self.route_of[r] = v;
            alive[i] = false;
            left -= 1;
        }
        s.noise = 0.0;
        self.bank = pool
            .iter()
            .zip(&alive)
            .filter(|(_, &a)| a)
            .map(|(&r, _)| r)
            .collect();
        interrupted
    }
}

/// `Option<(key, ..)>` comparison helper for the regret choice.
trait BestKey {
    fn is_none_or_less(&self, key: (f64, f64)) -> bool;
}

impl BestKey for Option<((f64, f64), usize, usize)> {
    fn is_none_or_less(&self, key: (f64, f64)) -> bool {
        match self {
            None => true,
            Some((k, _, _)) => key.0 > k.0 || (key.0 == k.0 && key.1 > k.1),
        }
    }
}
