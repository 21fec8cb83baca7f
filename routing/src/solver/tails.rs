//! Tail exchange between two routes where both vehicles are empty (2-opt* at zero-load
//! points): route `u = u₁ | u₂` and `v = v₁ | v₂` become `u₁ v₂` and `v₁ u₂`. Nobody is on
//! board across the cuts, so loads carry over unchanged and every ride stays within its own
//! part; one move can rebuild the second half of two long routes, which removing and
//! re-inserting requests one at a time rarely does. Only vehicles of one class (identical
//! depots, costs, capacity, skills and shift) swap tails, so the cost change is that of the
//! two joining arcs. Candidates that lower the cost pass the O(1) window test of the joins,
//! then the exact scheduler on both new routes.

use super::data::Data;
use super::route::schedule;
use super::state::State;

/// Slack on cost comparisons.
const EPS: f64 = 1e-9;

/// Work buffers of [`improve`].
#[derive(Default)]
pub(crate) struct TailWork {
    cuts: Vec<Vec<usize>>,
    /// Routes that changed since the last local optimum (see [`improve`]).
    dirty: Vec<bool>,
    nu: Vec<usize>,
    nv: Vec<usize>,
    t: Vec<f64>,
}

impl TailWork {
    /// After [`improve`] from an `optimum`: the routes that may differ from it (those that
    /// differed on entry, and those an exchange changed), in increasing order. Any route not
    /// listed is the optimum's.
    pub(crate) fn changed(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.dirty.len()).filter(|&v| self.dirty[v])
    }
}

/// First-improvement descent by tail exchanges until none lowers the cost or `max_moves`
/// were made; returns the number made. Routes stay feasible throughout. When `st` was derived
/// from `optimum`, a solution this descent left, two routes that are the same in both cannot
/// trade tails profitably (the move would have been made then), so only pairs with a changed
/// route are tried: the same moves in the same order, in a fraction of the time when the
/// change touched few routes.
pub(crate) fn improve(
    d: &Data,
    st: &mut State,
    w: &mut TailWork,
    max_moves: usize,
    optimum: Option<&State>,
) -> usize {
    let n = st.routes.len();
    w.cuts.resize_with(n, Vec::new);
    for (v, route) in st.routes.iter().enumerate() {
        route.empty_after(d, &mut w.cuts[v]);
    }
    w.dirty.clear();
    w.dirty
        .extend((0..n).map(|v| optimum.is_none_or(|o| o.routes[v].nodes != st.routes[v].nodes)));
    let mut moves = 0;
    while moves < max_moves {
        let Some((u, v)) = find(d, st, w) else {
            break;
        };
        apply(d, st, w, u, v);
        moves += 1;
    }
    moves
}

/// The two routes of the first improving feasible exchange; the new sequences are left in
/// `w.nu` / `w.nv`.
fn find(d: &Data, st: &State, w: &mut TailWork) -> Option<(usize, usize)> {
    let n = st.routes.len();
    for u in 0..n {
        let ru = &st.routes[u];
        if ru.is_empty() {
            continue;
        }
        let (mu, cu) = (ru.len(), d.vclass[u]);
        for v in 0..n {
            let rv = &st.routes[v];
            // each pair once; an empty route only as the receiving side (a split)
            if v == u
                || d.vclass[v] != cu
                || (!rv.is_empty() && v < u)
                || !(w.dirty[u] || w.dirty[v])
            {
                continue;
            }
            let mv = rv.len();
            for &i in &w.cuts[u] {
                let (li, lin) = (ru.loc(i), ru.loc(i + 1));
                let ready_u = ru.earliest(i) + ru.service(i);
                for &j in &w.cuts[v] {
                    // nothing moves, or two whole routes trade vehicles of one class
                    if (i == mu && j == mv) || (i == 0 && j == 0) {
                        continue;
                    }
                    let (lj, ljn) = (rv.loc(j), rv.loc(j + 1));
                    let delta =
                        d.arc(u, li, ljn) + d.arc(v, lj, lin) - ru.arc_out(i) - rv.arc_out(j);
                    // emptying a route saves its opening, using an empty one costs it
                    let mut open = 0.0;
                    if i == 0 && j == mv {
                        open -= d.vopen[u];
                    }
                    if j == 0 && i == mu {
                        open -= d.vopen[v];
                    }
                    if rv.is_empty() {
                        open += d.vopen[v];
                    }
                    if delta + open >= -EPS {
                        continue;
                    }
                    // the joins: u's head reaches v's tail, v's head reaches u's tail
                    if ready_u + d.tt(li, ljn) > rv.latest(j + 1) + EPS
                        || rv.earliest(j) + rv.service(j) + d.tt(lj, lin) > ru.latest(i + 1) + EPS
                    {
                        continue;
                    }
                    w.nu.clear();
                    w.nu.extend_from_slice(&ru.nodes[..i]);
                    w.nu.extend_from_slice(&rv.nodes[j..]);
                    w.nv.clear();
                    w.nv.extend_from_slice(&rv.nodes[..j]);
                    w.nv.extend_from_slice(&ru.nodes[i..]);
                    let fits = |veh: usize, nodes: &[usize], t: &mut Vec<f64>| {
                        nodes.is_empty() || schedule(d, veh, nodes, t)
                    };
                    if fits(u, &w.nu, &mut w.t) && fits(v, &w.nv, &mut w.t) {
                        return Some((u, v));
                    }
                }
            }
        }
    }
    None
}

/// Makes the exchange [`find`] returned, with the sequences it left in `w`.
fn apply(d: &Data, st: &mut State, w: &mut TailWork, u: usize, v: usize) {
    std::mem::swap(&mut st.routes[u].nodes, &mut w.nu);
    std::mem::swap(&mut st.routes[v].nodes, &mut w.nv);
    for x in [u, v] {
        w.dirty[x] = true;
        st.routes[x].update(d);
        for k in 0..st.routes[x].nodes.len() {
            let node = st.routes[x].nodes[k];
            st.route_of[node / 2] = x;
        }
        st.routes[x].empty_after(d, &mut w.cuts[x]);
    }
}
