//! A pool of the routes the distance search has met, and the set-partitioning problem over it
//! (after Sartori & Buriol 2020): which pool routes, at most as many per vehicle class as the
//! class has vehicles (and, when vehicles are weighted, at most as many in all as the best
//! solution uses), serve every request the best solution serves exactly once at the least
//! cost. It is solved as a 0/1 programme by `microlp` (branch and bound, pure Rust) within a
//! time or node limit, warm-started from the best solution, whose routes are all in the pool.
//! Its answer joins routes of solutions the search has left behind.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem, SolveOptions, Variable};

use super::data::Data;
use super::route::Route;
use super::state::{State, NONE};

/// Most routes a pool keeps: a larger programme takes too long to build and solve.
const MAX_COLUMNS: usize = 10_000;

/// One route of the pool.
struct Column {
    class: usize,
    /// Sorted requests.
    requests: Vec<u32>,
    /// Route cost plus the vehicle's fixed cost (without the objective's vehicle weight).
    cost: f64,
    nodes: Vec<usize>,
}

/// Routes by vehicle class and request set, the cheapest met of each.
#[derive(Default)]
pub(crate) struct Pool {
    columns: Vec<Column>,
    index: HashMap<(usize, Vec<u32>), usize>,
}

/// How long the set-partitioning programme may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub time: Duration,
    /// Branch-and-bound nodes (set with an iteration limit, so the result depends on the seed
    /// alone while the time lasts).
    pub nodes: Option<u64>,
}

impl Pool {
    /// Adds route `r` (nothing if it is empty), or makes it the entry of its vehicle class and
    /// request set when it is cheaper than the one there. A full pool only takes cheaper
    /// versions of the request sets it has.
    pub fn add(&mut self, d: &Data, r: &Route) {
        self.add_to(d, r, MAX_COLUMNS);
    }

    /// [`Pool::add`] into a pool of at most `cap` routes; returns the route's index, `None`
    /// when it is empty or the pool full.
    fn add_to(&mut self, d: &Data, r: &Route, cap: usize) -> Option<usize> {
        if r.is_empty() {
            return None;
        }
        let mut requests: Vec<u32> = r.requests().map(|x| x as u32).collect();
        requests.sort_unstable();
        let key = (d.vclass[r.vehicle], requests);
        let cost = r.cost + d.vopen[r.vehicle] - d.objective.vehicle_weight;
        if let Some(&j) = self.index.get(&key) {
            let c = &mut self.columns[j];
            if cost < c.cost - 1e-9 {
                c.cost = cost;
                c.nodes.clone_from(&r.nodes);
            }
            return Some(j);
        }
        if self.columns.len() >= cap {
            return None;
        }
        self.columns.push(Column {
            class: key.0,
            requests: key.1.clone(),
            cost,
            nodes: r.nodes.clone(),
        });
        self.index.insert(key, self.columns.len() - 1);
        Some(self.columns.len() - 1)
    }

    /// Adds every route of `st`.
    pub fn add_all(&mut self, d: &Data, st: &State) {
        for r in &st.routes {
            self.add(d, r);
        }
    }

    /// The best partition of the requests `best` serves into pool routes, as a solution, when
    /// it is cheaper than `best`; `None` when it is not, or the limit came first.
    pub fn solve(&mut self, d: &Data, best: &State, limit: Limit) -> Option<State> {
        // the best solution's routes, which the warm start picks, even in a full pool
        let mut in_best = vec![false; self.columns.len() + best.used()];
        for r in &best.routes {
            if let Some(j) = self.add_to(d, r, usize::MAX) {
                in_best[j] = true;
            }
        }
        let served = |r: u32| best.route_of[r as usize] != NONE;
        let cols: Vec<usize> = (0..self.columns.len())
            .filter(|&j| self.columns[j].requests.iter().all(|&r| served(r)))
            .collect();
        // the vehicles of each class, the last to take a route first
        let mut free: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for v in (0..d.nveh).rev() {
            free.entry(d.vclass[v]).or_default().push(v);
        }
        let mut p = Problem::new(OptimizationDirection::Minimize);
        let vars: Vec<Variable> = cols
            .iter()
            .map(|&j| p.add_binary_var(self.columns[j].cost))
            .collect();
        let mut rows: Vec<LinearExpr> = vec![LinearExpr::empty(); d.nreq];
        // per class: its routes, and how many of them
        let mut classes: BTreeMap<usize, (LinearExpr, usize)> = BTreeMap::new();
        let mut all = LinearExpr::empty();
        for (&j, &x) in cols.iter().zip(&vars) {
            let c = &self.columns[j];
            for &r in &c.requests {
                rows[r as usize].add(x, 1.0);
            }
            let class = classes
                .entry(c.class)
                .or_insert_with(|| (LinearExpr::empty(), 0));
            class.0.add(x, 1.0);
            class.1 += 1;
            all.add(x, 1.0);
        }
        for (r, row) in rows.into_iter().enumerate() {
            if best.route_of[r] != NONE {
                p.add_constraint(row, ComparisonOp::Eq, 1.0);
            }
        }
        for (class, (e, routes)) in classes {
            let vehicles = free[&class].len();
            if routes > vehicles {
                p.add_constraint(e, ComparisonOp::Le, vehicles as f64);
            }
        }
        if d.objective.vehicle_weight > 0.0 {
            // never more vehicles than the best solution (their weight is out of the costs)
            p.add_constraint(all, ComparisonOp::Le, best.used() as f64);
        }
        let hint: Vec<(Variable, f64)> = cols
            .iter()
            .zip(&vars)
            .map(|(&j, &x)| (x, if in_best[j] { 1.0 } else { 0.0 }))
            .collect();
        let mut options = SolveOptions::default();
        options.time_limit = Some(limit.time);
        options.node_limit = limit.nodes;
        options.warm_start = Some(hint);
        let out = p.solve_with(options).ok()?;
        let sol = out.solution()?;
        let mut routes: Vec<(usize, &[usize])> = Vec::new();
        let mut covered = 0;
        for (&j, &x) in cols.iter().zip(&vars) {
            if sol.var_value(x) >= 0.5 {
                let c = &self.columns[j];
                routes.push((free.get_mut(&c.class)?.pop()?, &c.nodes));
                covered += c.requests.len();
            }
        }
        let st = State::from_routes(d, routes);
        // every request best serves, each once, on routes that still have a schedule
        let exact = covered == d.nreq - best.bank.len() && st.bank.len() == best.bank.len();
        let mut times = Vec::new();
        let feasible = st.routes.iter().all(|r| r.feasible(d, &mut times));
        (exact && feasible && st.objective(d) < best.objective(d) - 1e-6).then_some(st)
    }
}
