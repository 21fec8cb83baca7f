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
    key: Vec<u32>,
    /// Index of the route the last [`Pool::add_to`] added or found.
    last: usize,
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

    /// [`Pool::add`] into a pool of at most `cap` routes; [`Pool::last`] is then the route's
    /// index (unless it is empty or the pool full).
    fn add_to(&mut self, d: &Data, r: &Route, cap: usize) {
        if r.is_empty() {
            return;
        }
        self.key.clear();
        self.key.extend(r.requests().map(|x| x as u32));
        self.key.sort_unstable();
        let cost = r.cost + d.vopen[r.vehicle] - d.objective.vehicle_weight;
        let class = d.vclass[r.vehicle];
        let probe = (class, std::mem::take(&mut self.key));
        if let Some(&j) = self.index.get(&probe) {
            let c = &mut self.columns[j];
            if cost < c.cost - 1e-9 {
                c.cost = cost;
                c.nodes.clone_from(&r.nodes);
            }
            self.key = probe.1;
            self.last = j;
            return;
        }
        if self.columns.len() >= cap {
            self.key = probe.1;
            return;
        }
        self.columns.push(Column {
            class,
            requests: probe.1.clone(),
            cost,
            nodes: r.nodes.clone(),
        });
        self.last = self.columns.len() - 1;
        self.index.insert(probe, self.last);
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
        let mut start: Vec<usize> = Vec::new();
        for r in best.routes.iter().filter(|r| !r.is_empty()) {
            self.add_to(d, r, usize::MAX);
            start.push(self.last);
        }
        let served = |r: u32| best.route_of[r as usize] != NONE;
        let cols: Vec<usize> = (0..self.columns.len())
            .filter(|&j| self.columns[j].requests.iter().all(|&r| served(r)))
            .collect();
        let mut p = Problem::new(OptimizationDirection::Minimize);
        let vars: Vec<Variable> = cols
            .iter()
            .map(|&j| p.add_binary_var(self.columns[j].cost))
            .collect();
        let mut rows: Vec<LinearExpr> = vec![LinearExpr::empty(); d.nreq];
        let mut classes: BTreeMap<usize, LinearExpr> = BTreeMap::new();
        let mut in_class: BTreeMap<usize, usize> = BTreeMap::new();
        let mut all = LinearExpr::empty();
        for (k, &j) in cols.iter().enumerate() {
            let c = &self.columns[j];
            for &r in &c.requests {
                rows[r as usize].add(vars[k], 1.0);
            }
            classes
                .entry(c.class)
                .or_insert_with(LinearExpr::empty)
                .add(vars[k], 1.0);
            *in_class.entry(c.class).or_default() += 1;
            all.add(vars[k], 1.0);
        }
        for (r, row) in rows.into_iter().enumerate() {
            if best.route_of[r] != NONE {
                p.add_constraint(row, ComparisonOp::Eq, 1.0);
            }
        }
        for (class, e) in classes {
            let count = (0..d.nveh).filter(|&v| d.vclass[v] == class).count();
            if in_class[&class] > count {
                p.add_constraint(e, ComparisonOp::Le, count as f64);
            }
        }
        if d.objective.vehicle_weight > 0.0 {
            // never more vehicles than the best solution (their weight is out of the costs)
            p.add_constraint(all, ComparisonOp::Le, best.used() as f64);
        }
        let mut hint: Vec<(Variable, f64)> = vars.iter().map(|&v| (v, 0.0)).collect();
        for (k, &j) in cols.iter().enumerate() {
            if start.contains(&j) {
                hint[k].1 = 1.0;
            }
        }
        let mut options = SolveOptions::default();
        options.time_limit = Some(limit.time);
        options.node_limit = limit.nodes;
        options.warm_start = Some(hint);
        let out = p.solve_with(options).ok()?;
        let sol = out.solution()?;
        let mut st = State::empty(d, best.bank.clone());
        let mut free: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for v in (0..d.nveh).rev() {
            free.entry(d.vclass[v]).or_default().push(v);
        }
        for (k, &j) in cols.iter().enumerate() {
            if sol.var_value(vars[k]) < 0.5 {
                continue;
            }
            let c = &self.columns[j];
            let v = free.get_mut(&c.class)?.pop()?;
            let route = &mut st.routes[v];
            route.nodes.clone_from(&c.nodes);
            route.update(d);
            if !route.feasible(d, &mut Vec::new()) {
                return None;
            }
            for &r in &c.requests {
                if st.route_of[r as usize] != NONE {
                    return None;
                }
                st.route_of[r as usize] = v;
            }
        }
        let complete = (0..d.nreq).all(|r| (st.route_of[r] == NONE) == (best.route_of[r] == NONE));
        (complete && st.objective(d) < best.objective(d) - 1e-6).then_some(st)
    }
}
