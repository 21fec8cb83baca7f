//! Solver tests: every solution goes through [`crate::check::check`], and every route
//! sequence is re-checked by the checker's own temporal-network test.

use std::path::PathBuf;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::check::{check, sequence_is_schedulable, CheckReport};
use crate::instances::{read, read_bks, read_sintef_routes, Instance};
use crate::matrix::Matrix;
use crate::model::{Load, Objective, Problem, Request, Stop, TimeWindow, Vehicle};
use crate::solution::{Solution, StopKind, UnservedReason};
use crate::solver::data::Data;
use crate::solver::route::Scratch;
use crate::solver::state::State;
use crate::solver::{solve, Options};

pub(crate) fn bench_dir(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench")
        .join(set)
}

/// A complete solution by regret-2 insertion, with the generator and scratch that built it.
pub(crate) fn constructed(d: &Data, seed: u64) -> (State, StdRng, Scratch) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s = Scratch::default();
    let mut st = State::empty(d, (0..d.nreq).collect());
    st.repair(d, 2, d.nveh, 0.0, &mut rng, &mut s);
    assert!(st.bank.is_empty());
    (st, rng, s)
}

/// Checks a solution both ways and returns the checker's report.
pub(crate) fn checked(problem: &Problem, matrix: &Matrix, sol: &Solution) -> CheckReport {
    let report = check(problem, matrix, sol).unwrap_or_else(|e| panic!("infeasible: {e:#?}"));
    for r in &sol.routes {
        let seq: Vec<(usize, StopKind)> = r.stops.iter().map(|s| (s.request, s.kind)).collect();
        assert!(sequence_is_schedulable(problem, matrix, r.vehicle, &seq));
    }
    report
}

/// Every route has a schedule and respects capacity (its load never goes below zero either, so
/// every delivery follows its pickup); every request is on its route once, or in the bank.
pub(crate) fn assert_partial_feasible(d: &Data, st: &State) {
    let mut t = Vec::new();
    for (v, route) in st.routes.iter().enumerate() {
        assert!(
            crate::solver::route::schedule(d, v, &route.nodes, &mut t),
            "route {v} has no schedule"
        );
        let mut load = vec![0; d.dims];
        for &n in &route.nodes {
            assert_eq!(st.route_of[n / 2], v);
            for (x, l) in load.iter_mut().enumerate() {
                *l += d.demand[n * d.dims + x];
                assert!(*l <= d.vcap[v * d.dims + x] && *l >= 0);
            }
        }
    }
    for &r in &st.bank {
        assert_eq!(st.route_of[r], crate::solver::state::NONE);
    }
}

fn options(seed: u64, iterations: u64) -> Options {
    Options {
        seed,
        time_limit: Duration::from_secs(20),
        max_iterations: Some(iterations),
        stall_iterations: None,
        threads: 1,
    }
}

fn solve_instance(set: &str, name: &str, iterations: u64) -> (Instance, CheckReport, (usize, f64)) {
    let inst = read(&bench_dir(set).join(format!("{name}.txt"))).unwrap();
    let bks = read_bks(&bench_dir(set).join("bks.csv")).unwrap()[name];
    let sol = solve(&inst.problem, &inst.matrix, &options(7, iterations)).unwrap();
    let report = checked(&inst.problem, &inst.matrix, &sol);
    assert_eq!(
        report.served,
        inst.problem.requests().len(),
        "{name}: unserved"
    );
    (inst, report, bks)
}

#[test]
fn li_lim_instances_reach_the_best_known_fleet_and_are_near_the_best_known_distance() {
    for (name, max_gap) in [("lc101", 0.01), ("lr102", 1.0), ("lrc201", 5.0)] {
        let (_, report, (veh, cost)) = solve_instance("lilim100", name, 3000);
        assert_eq!(report.vehicles, veh, "{name}: vehicles");
        let gap = 100.0 * (report.distance - cost) / cost;
        assert!(gap < max_gap, "{name}: gap {gap:.3}% >= {max_gap}%");
    }
}

#[test]
fn cordeau_instances_respect_ride_times_and_are_near_the_best_known() {
    for (name, max_gap) in [("a2-16", 0.5), ("b4-16", 1.0), ("a3-24", 2.0)] {
        let (inst, report, (k, cost)) = solve_instance("cordeau-darp", name, 3000);
        assert!(report.vehicles <= k);
        assert!(inst
            .problem
            .requests()
            .iter()
            .all(|r| r.max_ride_time.is_some()));
        let gap = 100.0 * (report.distance - cost) / cost;
        assert!(gap < max_gap, "{name}: gap {gap:.3}% >= {max_gap}%");
    }
}

#[test]
fn the_same_seed_and_iteration_count_give_the_same_solution() {
    let inst = read(&bench_dir("cordeau-darp").join("a2-20.txt")).unwrap();
    let a = solve(&inst.problem, &inst.matrix, &options(3, 500)).unwrap();
    let b = solve(&inst.problem, &inst.matrix, &options(3, 500)).unwrap();
    assert_eq!(a, b);
    checked(&inst.problem, &inst.matrix, &a);
}

/// The request whose pickup or delivery is at a benchmark file's node `n`, and whether it is
/// the pickup.
fn request_at(problem: &Problem, n: usize) -> (usize, bool) {
    let (r, q) = problem
        .requests()
        .iter()
        .enumerate()
        .find(|(_, q)| q.pickup.location == n || q.delivery.location == n)
        .unwrap_or_else(|| panic!("no request at node {n}"));
    (r, q.pickup.location == n)
}

#[test]
fn the_best_known_li_lim_routes_pass_the_checker_with_our_reader() {
    for name in ["lc101", "lr205"] {
        let inst = read(&bench_dir("lilim100").join(format!("{name}.txt"))).unwrap();
        let routes =
            read_sintef_routes(&bench_dir("lilim100").join(format!("bks_solutions/{name}.sol")))
                .unwrap();
        assert!(!routes.is_empty());
        for nodes in routes {
            let seq: Vec<(usize, StopKind)> = nodes
                .iter()
                .map(|&n| {
                    let (r, pickup) = request_at(&inst.problem, n);
                    let kind = if pickup {
                        StopKind::Pickup
                    } else {
                        StopKind::Delivery
                    };
                    (r, kind)
                })
                .collect();
            assert!(sequence_is_schedulable(
                &inst.problem,
                &inst.matrix,
                0,
                &seq
            ));
        }
    }
}

/// A random dial-a-ride instance on a 100 x 100 square (seconds = distance units).
fn random_problem(seed: u64, nreq: usize, nveh: usize) -> (Problem, Matrix) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pts = vec![(50.0, 50.0)];
    let mut requests = Vec::new();
    for _ in 0..nreq {
        let (p, d) = (pts.len(), pts.len() + 1);
        pts.push((rng.gen_range(0.0..100.0), rng.gen_range(0.0..100.0)));
        pts.push((rng.gen_range(0.0..100.0), rng.gen_range(0.0..100.0)));
        let t: f64 = rng.gen_range(0.0..400.0);
        let w = rng.gen_range(15.0..60.0);
        let on_pickup = rng.gen_bool(0.5);
        let window = |a: f64| TimeWindow::new(a, a + w).unwrap();
        requests.push(Request {
            pickup: Stop {
                location: p,
                window: if on_pickup {
                    window(t)
                } else {
                    TimeWindow::any()
                },
                extra_windows: Vec::new(),
                service: 2.0,
            },
            delivery: Stop {
                location: d,
                window: if on_pickup {
                    TimeWindow::any()
                } else {
                    window(t + 60.0)
                },
                extra_windows: Vec::new(),
                service: 2.0,
            },
            load: Load(vec![rng.gen_range(1..=3), u32::from(rng.gen_bool(0.1))]),
            max_ride_time: Some(rng.gen_range(60.0..120.0)),
            skills: if rng.gen_bool(0.1) { vec![1] } else { vec![] },
            vehicle: None,
        });
    }
    let vehicles = (0..nveh)
        .map(|v| {
            let mut veh = Vehicle::new(
                0,
                Some(0),
                Load(vec![4, 1]),
                TimeWindow::new(0.0, 700.0).unwrap(),
            );
            veh.max_duration = Some(500.0);
            if v % 2 == 0 {
                veh.skills = vec![1];
            }
            veh
        })
        .collect();
    let p = Problem::new(requests, vehicles, Objective::default()).unwrap();
    (p, Matrix::euclidean(&pts))
}

#[test]
fn random_dial_a_ride_instances_give_feasible_plans_with_reasons_for_the_unserved() {
    for seed in 0..6 {
        let (p, m) = random_problem(seed, 30, 4);
        let sol = solve(&p, &m, &options(seed, 400)).unwrap();
        let report = checked(&p, &m, &sol);
        assert_eq!(report.served + sol.unserved.len(), 30);
    }
}

fn tiny(requests: Vec<Request>, vehicles: Vec<Vehicle>, matrix: Matrix) -> (Problem, Matrix) {
    (
        Problem::new(requests, vehicles, Objective::default()).unwrap(),
        matrix,
    )
}

fn req(p: usize, d: usize) -> Request {
    let stop = |location| Stop {
        location,
        window: TimeWindow::any(),
        extra_windows: Vec::new(),
        service: 0.0,
    };
    Request {
        pickup: stop(p),
        delivery: stop(d),
        load: Load(vec![1]),
        max_ride_time: None,
        skills: vec![],
        vehicle: None,
    }
}

#[test]
fn unserved_requests_carry_the_reason() {
    let line = Matrix::euclidean(&[(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (30.0, 0.0)]);
    let veh = || {
        Vehicle::new(
            0,
            Some(0),
            Load(vec![1]),
            TimeWindow::new(0.0, 100.0).unwrap(),
        )
    };
    let mut skill = req(1, 2);
    skill.skills = vec![9];
    let mut ride = req(1, 3);
    ride.max_ride_time = Some(5.0);
    let mut late = req(1, 2);
    late.pickup.window = TimeWindow::new(0.0, 1.0).unwrap();
    let mut busy_a = req(1, 2);
    busy_a.pickup.window = TimeWindow::new(10.0, 10.0).unwrap();
    busy_a.delivery.window = TimeWindow::new(20.0, 20.0).unwrap();
    let busy_b = busy_a.clone();
    let (p, m) = tiny(vec![skill, ride, late, busy_a, busy_b], vec![veh()], line);
    let sol = solve(&p, &m, &options(1, 100)).unwrap();
    checked(&p, &m, &sol);
    let reasons: Vec<_> = sol.unserved.iter().map(|u| (u.request, u.reason)).collect();
    assert!(reasons.contains(&(0, UnservedReason::NoCompatibleVehicle)));
    assert!(reasons.contains(&(1, UnservedReason::RideTimeImpossible)));
    assert!(reasons.contains(&(2, UnservedReason::TimeWindowUnreachable)));
    assert_eq!(sol.routes.len(), 1);
    assert!(reasons
        .iter()
        .any(|&(r, why)| r >= 3 && why == UnservedReason::NotEnoughFleet));

    let gap = Matrix::new(
        2,
        vec![Some(0.0), None, None, Some(0.0)],
        vec![Some(0.0), None, None, Some(0.0)],
    )
    .unwrap();
    let (p, m) = tiny(vec![req(1, 1)], vec![veh()], gap);
    let sol = solve(&p, &m, &options(1, 10)).unwrap();
    checked(&p, &m, &sol);
    assert_eq!(sol.unserved[0].reason, UnservedReason::UnreachableLocation);
}

#[test]
fn the_checker_rejects_a_drop_off_moved_later() {
    let inst = read(&bench_dir("cordeau-darp").join("a2-16.txt")).unwrap();
    let mut sol = solve(&inst.problem, &inst.matrix, &options(1, 200)).unwrap();
    checked(&inst.problem, &inst.matrix, &sol);
    let stops = &mut sol.routes[0].stops;
    let k = stops
        .iter()
        .position(|s| s.kind == StopKind::Delivery)
        .unwrap();
    stops[k].service_start += 100.0;
    assert!(check(&inst.problem, &inst.matrix, &sol).is_err());
}

#[test]
fn a_converged_search_stops_early_and_says_so() {
    let (problem, matrix) = random_problem(3, 12, 3);
    let converging = Options {
        seed: 1,
        time_limit: Duration::from_secs(60),
        max_iterations: None,
        stall_iterations: Some(300),
        threads: 1,
    };
    let started = std::time::Instant::now();
    let (sol, stats) = super::solve_with_stats(&problem, &matrix, &converging).unwrap();
    assert!(stats.converged, "{stats:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "well before the limit"
    );
    check(&problem, &matrix, &sol).unwrap();
    // Deterministic: counted in iterations.
    let (again, stats2) = super::solve_with_stats(&problem, &matrix, &converging).unwrap();
    assert_eq!((sol, stats), (again, stats2));
    // Without it, the whole budget is used.
    let full = Options {
        stall_iterations: None,
        ..options(1, 2_000)
    };
    let (_, stats) = super::solve_with_stats(&problem, &matrix, &full).unwrap();
    assert!(!stats.converged);
    assert!(stats.iterations >= 1_999, "{stats:?}");
}

#[test]
fn construction_stops_when_asked_and_the_in_order_fallback_finishes_it() {
    use super::data::Data;
    use super::route::Scratch;
    use super::state::State;
    use std::cell::Cell;
    let inst = read(&bench_dir("lilim200").join("lc1_2_1.txt")).unwrap();
    let d = Data::new(&inst.problem, &inst.matrix);
    let mut rng = StdRng::seed_from_u64(1);
    let mut s = Scratch::default();
    let mut st = State::empty(&d, (0..d.nreq).collect());
    // a stop hook that says "time is up" after 30 insertions
    let asked = Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 30
    };
    assert!(st.repair_until(&d, 2, d.nveh, 0.0, &mut rng, &mut s, &stop));
    assert_eq!(st.assigned().len(), 30);
    assert_eq!(st.bank.len(), d.nreq - 30);
    // the partial solution is feasible as it stands
    let partial = super::to_solution(&inst.problem, &d, &st);
    checked(&inst.problem, &inst.matrix, &partial);
    // the linear fallback stops at once when asked...
    assert!(!st.insert_in_order(&d, &|| true, &mut s));
    assert_eq!(st.bank.len(), d.nreq - 30);
    // ...and otherwise puts every request somewhere
    assert!(st.insert_in_order(&d, &|| false, &mut s));
    assert!(st.bank.is_empty());
    let full = super::to_solution(&inst.problem, &d, &st);
    assert_eq!(checked(&inst.problem, &inst.matrix, &full).served, d.nreq);
}

#[test]
fn the_time_limit_counts_construction_and_is_kept_at_every_size() {
    // No strict speed assertion (debug build, shared machine): the solver must come back with
    // a checked solution well within limit + a generous margin, even when construction alone
    // would take longer than the limit.
    let inst = read(&bench_dir("lilim400").join("lc1_4_1.txt")).unwrap();
    for limit_ms in [0, 150] {
        let limit = Duration::from_millis(limit_ms);
        let opts = Options {
            seed: 1,
            time_limit: limit,
            max_iterations: None,
            stall_iterations: None,
            threads: 1,
        };
        let started = std::time::Instant::now();
        let sol = solve(&inst.problem, &inst.matrix, &opts).unwrap();
        let took = started.elapsed();
        assert!(
            took < limit + Duration::from_secs(2),
            "limit {limit:?}, took {took:?}"
        );
        let report = checked(&inst.problem, &inst.matrix, &sol);
        assert_eq!(
            report.served + sol.unserved.len(),
            inst.problem.requests().len()
        );
        if limit_ms == 0 {
            assert_eq!(report.served, 0, "no time, no construction");
            assert!(sol
                .unserved
                .iter()
                .all(|u| u.reason == UnservedReason::TimeLimit));
        }
    }
}

#[test]
fn two_threads_with_an_iteration_limit_are_deterministic() {
    for (set, name) in [("cordeau-darp", "a2-20"), ("lilim100", "lrc104")] {
        let inst = read(&bench_dir(set).join(format!("{name}.txt"))).unwrap();
        let two = Options {
            threads: 2,
            ..options(3, 600)
        };
        let a = super::solve_with_stats(&inst.problem, &inst.matrix, &two).unwrap();
        let b = super::solve_with_stats(&inst.problem, &inst.matrix, &two).unwrap();
        assert_eq!(a, b, "{name}");
        // both threads did their 600 iterations
        assert!(a.1.iterations >= 2 * 599, "{:?}", a.1);
        checked(&inst.problem, &inst.matrix, &a.0);
        assert_eq!(a.0.unserved.len(), 0);
        // thread 0 continues the single-threaded search: one thread is the old search
        let one = solve(&inst.problem, &inst.matrix, &options(3, 600)).unwrap();
        checked(&inst.problem, &inst.matrix, &one);
    }
}

/// A random instance with requests, single-stop jobs, several windows per stop and drivers'
/// breaks (some with a `max_load`), on a 100 x 100 square.
fn random_mixed_problem(seed: u64) -> (Problem, Matrix) {
    use crate::model::{Break, Job};
    let mut rng = StdRng::seed_from_u64(seed);
    let (base, _) = random_problem(seed, 10, 3);
    let mut pts: Vec<(f64, f64)> = vec![(50.0, 50.0)];
    for _ in 0..2 * base.requests().len() {
        pts.push((rng.gen_range(0.0..100.0), rng.gen_range(0.0..100.0)));
    }
    let mut requests = base.requests().to_vec();
    for r in &mut requests {
        if rng.gen_bool(0.3) {
            // a second, later window on the pickup
            let w = r.pickup.window;
            if w.end().is_finite() {
                r.pickup.extra_windows =
                    vec![TimeWindow::new(w.end() + 40.0, w.end() + 80.0).unwrap()];
            }
        }
    }
    let mut jobs = Vec::new();
    for _ in 0..8 {
        pts.push((rng.gen_range(0.0..100.0), rng.gen_range(0.0..100.0)));
        let a: f64 = rng.gen_range(0.0..400.0);
        let mut stop = Stop::new(pts.len() - 1, TimeWindow::new(a, a + 50.0).unwrap(), 2.0);
        if rng.gen_bool(0.4) {
            stop.extra_windows = vec![TimeWindow::new(a + 150.0, a + 220.0).unwrap()];
        }
        let amount = rng.gen_range(1..=2);
        let (pickup, delivery) = if rng.gen_bool(0.5) {
            (Load(vec![amount, 0]), Load(vec![0, 0]))
        } else {
            (Load(vec![0, 0]), Load(vec![amount, 0]))
        };
        jobs.push(Job {
            stop,
            pickup,
            delivery,
            skills: vec![],
            vehicle: None,
        });
    }
    let vehicles = base
        .vehicles()
        .iter()
        .enumerate()
        .map(|(v, veh)| {
            let mut veh = veh.clone();
            veh.capacity = Load(vec![6, 1]);
            let a = 150.0 + 60.0 * v as f64;
            veh.breaks = vec![Break {
                windows: vec![TimeWindow::new(a, a + 120.0).unwrap()],
                service: 20.0,
                max_load: (v % 2 == 0).then(|| Load(vec![2, 0])),
                skip_after_end: v % 3 == 1,
                max_gap: None,
            }];
            if v % 3 == 1 {
                // and a second one, any time within 120 s of the end of the first
                veh.breaks.push(Break {
                    windows: vec![],
                    service: 15.0,
                    max_load: None,
                    skip_after_end: true,
                    max_gap: Some(120.0),
                });
            }
            veh
        })
        .collect();
    let p = Problem::with_jobs(requests, jobs, vehicles, Objective::default()).unwrap();
    (p, Matrix::euclidean(&pts))
}

#[test]
fn random_instances_with_jobs_windows_and_breaks_pass_both_checkers() {
    let mut gap_routes = 0;
    for seed in 0..8 {
        let (p, m) = random_mixed_problem(seed);
        let sol = solve(&p, &m, &options(seed, 300)).unwrap();
        let report = checked(&p, &m, &sol);
        assert_eq!(report.served + sol.unserved.len(), p.requests().len());
        assert_eq!(report.served_jobs + sol.unserved_jobs.len(), p.jobs().len());
        assert!(report.served_jobs > 0, "seed {seed}: no job served");
        for r in &sol.routes {
            if p.vehicles()[r.vehicle].breaks.len() > 1 {
                gap_routes += 1;
                continue;
            }
            let def = &p.vehicles()[r.vehicle].breaks[0];
            let over_first = def.skip_after_end && r.end_time <= def.windows[0].end();
            assert_eq!(
                r.breaks.len(),
                usize::from(!over_first),
                "seed {seed}: every used vehicle takes its break unless it is back before it opens"
            );
        }
    }
    assert!(
        gap_routes > 0,
        "a break within a gap of the previous one was planned"
    );
}

#[test]
fn removing_a_stop_on_roads_that_break_the_triangle_inequality_keeps_routes_feasible() {
    use super::data::Data;
    use super::route::schedule;
    use super::state::State;
    // 1 -> 3 directly takes 100 s, through 2 it takes 2 s (a road matrix can do that)
    let tt = [
        [0.0, 1.0, 1.0, 2.0],
        [1.0, 0.0, 1.0, 100.0],
        [1.0, 1.0, 0.0, 1.0],
        [2.0, 100.0, 1.0, 0.0],
    ];
    let flat: Vec<Option<f64>> = tt.iter().flatten().map(|&x| Some(x)).collect();
    let m = Matrix::new(4, flat.clone(), flat).unwrap();
    let mut a = req(1, 3);
    a.delivery.window = TimeWindow::new(0.0, 10.0).unwrap();
    let b = req(2, 2);
    let veh = Vehicle::new(
        0,
        Some(0),
        Load(vec![2]),
        TimeWindow::new(0.0, 1000.0).unwrap(),
    );
    let (p, m) = tiny(vec![a, b], vec![veh], m);
    let d = Data::new(&p, &m);
    let mut st = State::empty(&d, vec![]);
    st.routes[0].nodes = vec![0, 2, 3, 1]; // pickup a, pickup b, drop-off b, drop-off a
    st.routes[0].update(&d);
    st.route_of = vec![0, 0];
    let mut t = Vec::new();
    assert!(schedule(&d, 0, &st.routes[0].nodes, &mut t));
    st.remove(&d, 1);
    // without b's stops, a cannot reach its drop-off in time: the route went to the bank
    assert!(st.routes[0].is_empty());
    assert_eq!(st.bank.len(), 2);
    // and the search never returns an infeasible route on such a matrix
    let sol = solve(&p, &m, &options(1, 200)).unwrap();
    checked(&p, &m, &sol);
}

#[test]
fn two_threads_on_a_time_limit_meet_by_the_clock_and_keep_the_limit() {
    let inst = read(&bench_dir("lilim200").join("lrc1_2_9.txt")).unwrap();
    let opts = Options {
        seed: 1,
        time_limit: Duration::from_millis(600),
        max_iterations: None,
        stall_iterations: None,
        threads: 2,
    };
    let started = std::time::Instant::now();
    let (sol, stats) = super::solve_with_stats(&inst.problem, &inst.matrix, &opts).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(stats.iterations > 0);
    let report = checked(&inst.problem, &inst.matrix, &sol);
    assert_eq!(report.served, inst.problem.requests().len());
}

#[test]
fn breaks_laid_over_a_whole_shift_are_taken_only_while_the_route_is_under_way() {
    // a line of points 100 s apart; a shift of 10,000 s with three 100 s breaks, empty
    let pts: Vec<(f64, f64)> = (0..6).map(|i| (100.0 * f64::from(i), 0.0)).collect();
    let m = Matrix::euclidean(&pts);
    let at = |p: usize, d: usize, from: f64| {
        let mut r = req(p, d);
        r.pickup.window = TimeWindow::new(from, from + 200.0).unwrap();
        r.pickup.service = 10.0;
        r.delivery.service = 10.0;
        r
    };
    let mut veh = Vehicle::new(
        0,
        Some(0),
        Load(vec![2]),
        TimeWindow::new(0.0, 10_000.0).unwrap(),
    );
    veh.breaks = [500.0, 1500.0, 2500.0]
        .iter()
        .map(|&a| crate::model::Break {
            windows: vec![TimeWindow::new(a, a + 300.0).unwrap()],
            service: 100.0,
            max_load: Some(Load(vec![0])),
            skip_after_end: true,
            max_gap: None,
        })
        .collect();
    // a morning only: back at the depot long before the first break opens
    let (p, m1) = tiny(
        vec![at(1, 2, 0.0), at(3, 4, 100.0)],
        vec![veh.clone()],
        m.clone(),
    );
    let sol = solve(&p, &m1, &options(1, 200)).unwrap();
    checked(&p, &m1, &sol);
    assert_eq!(sol.routes.len(), 1);
    assert!(sol.routes[0].end_time < 500.0);
    assert!(
        sol.routes[0].breaks.is_empty(),
        "{:?}",
        sol.routes[0].breaks
    );
    // a ride at 2,000 s too: the first two breaks are taken, the third opens after the end
    let (p, m2) = tiny(
        vec![at(1, 2, 0.0), at(3, 4, 100.0), at(1, 2, 2000.0)],
        vec![veh.clone()],
        m.clone(),
    );
    let sol = solve(&p, &m2, &options(1, 200)).unwrap();
    checked(&p, &m2, &sol);
    let taken: Vec<usize> = sol.routes[0].breaks.iter().map(|b| b.index).collect();
    assert_eq!(taken, vec![0, 1]);
    assert!(sol.routes[0].end_time < 2500.0);
    // the checker refuses a break left out while the route is still under way
    let mut cut = sol.clone();
    cut.routes[0].breaks.pop();
    assert!(check(&p, &m2, &cut).is_err());
    // without the flag every break is taken, the last one after the ride
    let mut strict = veh;
    for b in &mut strict.breaks {
        b.skip_after_end = false;
    }
    let (p, m3) = tiny(
        vec![at(1, 2, 0.0), at(3, 4, 100.0), at(1, 2, 2000.0)],
        vec![strict],
        m,
    );
    let sol = solve(&p, &m3, &options(1, 200)).unwrap();
    checked(&p, &m3, &sol);
    assert_eq!(sol.routes[0].breaks.len(), 3);
    assert!(sol.routes[0].end_time >= 2600.0);
}

#[test]
fn the_insertion_check_from_the_route_schedule_agrees_with_scheduling_from_scratch() {
    use super::data::Data;
    use super::route::{schedule, Route, Scratch};
    let (mut agreed, mut feasible, mut skipped) = (0, 0, 0);
    for seed in 0..16 {
        let (p, euclid) = random_problem(seed, 10, 1);
        // every other seed: durations 0.6-1.4 times the straight line, so that a stop in
        // between can shorten a leg as on real roads
        let mut rng = StdRng::seed_from_u64(seed);
        let n = euclid.len();
        let noisy: Vec<Option<f64>> = (0..n * n)
            .map(|i| {
                let f = if seed % 2 == 1 {
                    rng.gen_range(0.6..1.4)
                } else {
                    1.0
                };
                Some(euclid.duration(i / n, i % n) * f)
            })
            .collect();
        let m = Matrix::new(n, noisy.clone(), noisy).unwrap();
        let d = Data::new(&p, &m);
        let mut route = Route::new(&d, 0);
        let mut s = Scratch::default();
        for r in 0..p.requests().len() {
            if let Some(ins) = route.best_insertion(&d, r, &mut s) {
                route.insert(&d, r, ins);
            }
        }
        let (mut t, mut nodes) = (Vec::new(), Vec::new());
        // every request put back anywhere into the route without it
        for r in 0..p.requests().len() {
            let mut route = route.clone();
            route.remove(&d, r);
            let len = route.len();
            for a in 0..=len {
                for b in a..=len {
                    nodes.clear();
                    nodes.extend_from_slice(&route.nodes);
                    nodes.insert(b, 2 * r + 1);
                    nodes.insert(a, 2 * r);
                    let from_scratch = schedule(&d, 0, &nodes, &mut t);
                    match route.fits(&d, r, a, b, &nodes, &mut t) {
                        Some(fits) => {
                            assert_eq!(fits, from_scratch, "seed {seed}, request {r}, {a}/{b}");
                            agreed += 1;
                            feasible += usize::from(fits);
                        }
                        None => skipped += 1,
                    }
                }
            }
        }
    }
    assert!(
        agreed > 2000 && feasible > 40,
        "{agreed} checks, {feasible} feasible"
    );
    assert!(
        skipped > 0,
        "the shortcut was never refused on the uneven matrices"
    );
}

/// A depot in the middle, requests 0 and 3 west of it, 1 and 2 east (10 away), and
/// `vehicles` vehicles of capacity 1 with a shift of 45: too short for one vehicle to serve
/// all four.
fn west_and_east(vehicles: usize) -> (Problem, Matrix) {
    let pts = [
        (0.0, 0.0),
        (-10.0, 0.0),
        (-10.0, 1.0),
        (10.0, 0.0),
        (10.0, 1.0),
        (10.0, 2.0),
        (10.0, 3.0),
        (-10.0, 2.0),
        (-10.0, 3.0),
    ];
    let requests = vec![req(1, 2), req(3, 4), req(5, 6), req(7, 8)];
    let veh = || {
        Vehicle::new(
            0,
            Some(0),
            Load(vec![1]),
            TimeWindow::new(0.0, 45.0).unwrap(),
        )
    };
    tiny(
        requests,
        (0..vehicles).map(|_| veh()).collect(),
        Matrix::euclidean(&pts),
    )
}

#[test]
fn two_routes_that_cross_between_two_areas_trade_tails_where_they_are_empty() {
    use super::data::Data;
    use super::state::State;
    use super::tails::{improve, TailWork};
    // depot in the middle, two requests west and two east; each route serves one side, then
    // the other; a shift of 45 is too short for one vehicle to do all four
    let (p, m) = west_and_east(2);
    let d = Data::new(&p, &m);
    let mut st = State::empty(&d, vec![]);
    st.routes[0].nodes = vec![0, 1, 2, 3]; // west, then east
    st.routes[1].nodes = vec![4, 5, 6, 7]; // east, then west
    for route in &mut st.routes {
        route.update(&d);
    }
    st.route_of = vec![0, 0, 1, 1];
    let before = st.cost(&d);
    let moves = improve(&d, &mut st, &mut TailWork::default(), 10, None);
    assert!(moves >= 1);
    assert!(
        st.cost(&d) < before - 30.0,
        "{} against {before}",
        st.cost(&d)
    );
    let mut t = Vec::new();
    for (v, route) in st.routes.iter().enumerate() {
        assert!(route.feasible(&d, &mut t));
        // one side per route: all pickups west or all east
        let west: Vec<bool> = route.requests().map(|r| r == 0 || r == 3).collect();
        assert!(
            west.iter().all(|&w| w == west[0]),
            "route {v}: {:?}",
            route.nodes
        );
        assert!(route.requests().all(|r| st.route_of[r] == v));
    }
}

#[test]
fn the_search_copies_of_the_matrix_give_the_same_legs_and_insertions() {
    use super::data::{Data, NO_LOC};
    use super::route::Scratch;
    use super::state::State;
    use crate::solver::Deadline;
    let (p, m) = random_problem(11, 30, 6);
    // an asymmetric matrix, a vehicle that pays for time, one without an end
    let n = m.len();
    let skew = |a: usize, b: usize| if a < b { 1.25 } else { 1.0 };
    let tt = (0..n * n).map(|k| Some(m.duration(k / n, k % n) * skew(k / n, k % n)));
    let dist = (0..n * n).map(|k| Some(m.distance(k / n, k % n) * skew(k % n, k / n)));
    let m = Matrix::new(n, tt.collect(), dist.collect()).unwrap();
    let mut vehicles = p.vehicles().to_vec();
    vehicles[1].cost_per_time = 0.5;
    vehicles[2].end = None;
    let p = Problem::new(p.requests().to_vec(), vehicles, Objective::default()).unwrap();
    let plain = Data::new(&p, &m);
    let copied = Data::new(&p, &m).with_legs_in(usize::MAX);
    for v in 0..plain.nveh {
        for a in 0..n {
            for b in 0..n {
                let want = (plain.tt(a, b), plain.arc(v, a, b));
                assert_eq!(copied.leg_into(v, a, b), want);
                assert_eq!(copied.leg_from(v, a, b), want);
                assert_eq!(plain.leg_into(v, a, b), want);
                assert_eq!(plain.leg_from(v, a, b), want);
            }
            assert_eq!(copied.leg_from(v, a, NO_LOC), (0.0, 0.0));
        }
    }
    // the same first solution, and the same best insertion of every request into every route
    let first = |d: &Data| {
        let mut st = State::empty(d, (0..d.nreq).collect());
        let deadline = Deadline::of(std::time::Instant::now(), Duration::from_secs(60));
        st.construct(
            d,
            deadline,
            &mut StdRng::seed_from_u64(3),
            &mut Scratch::default(),
        );
        // every other request back to the bank: routes with room to insert into
        let out: Vec<usize> = st.assigned().into_iter().step_by(2).collect();
        st.remove_all(d, &out);
        st
    };
    let (a, b) = (first(&plain), first(&copied));
    assert_eq!(a.route_of, b.route_of);
    let mut s = Scratch::default();
    let mut found = 0;
    for r in 0..plain.nreq {
        for v in 0..plain.nveh {
            let want = a.routes[v].best_insertion(&plain, r, &mut s);
            assert_eq!(b.routes[v].best_insertion(&copied, r, &mut s), want);
            found += usize::from(want.is_some());
        }
    }
    assert!(
        found > 30,
        "only {found} feasible insertions: the test would prove little"
    );
}

#[test]
fn removing_requests_together_leaves_the_routes_removing_them_one_by_one_leaves() {
    use super::data::Data;
    use super::route::Scratch;
    use super::state::State;
    use crate::solver::Deadline;
    let (p, m) = random_problem(12, 40, 8);
    let d = Data::new(&p, &m);
    let mut st = State::empty(&d, (0..d.nreq).collect());
    let deadline = Deadline::of(std::time::Instant::now(), Duration::from_secs(60));
    st.construct(
        &d,
        deadline,
        &mut StdRng::seed_from_u64(4),
        &mut Scratch::default(),
    );
    let out: Vec<usize> = st.assigned().into_iter().step_by(3).collect();
    assert!(out.len() >= 8);
    let (mut together, mut one_by_one) = (st.clone(), st);
    together.remove_all(&d, &out);
    for &r in &out {
        one_by_one.remove(&d, r);
    }
    assert_eq!(together.bank, one_by_one.bank);
    assert_eq!(together.route_of, one_by_one.route_of);
    for (x, y) in together.routes.iter().zip(&one_by_one.routes) {
        assert_eq!(x.nodes, y.nodes);
        assert!((x.cost - y.cost).abs() < 1e-9);
        assert!(
            (0..=x.len() + 1).all(|k| x.earliest(k) == y.earliest(k) && x.latest(k) == y.latest(k))
        );
    }
}

#[test]
fn the_route_pool_joins_routes_of_two_solutions_into_a_better_one() {
    use super::data::Data;
    use super::pool::{Limit, Pool};
    use super::state::State;
    // depot in the middle, requests 0 and 3 west, 1 and 2 east; the best solution so far has
    // two routes that each cross from one side to the other; two other solutions have one good
    // route each (all the west, or all the east) and two single-request routes
    let (p, m) = west_and_east(3);
    let d = Data::new(&p, &m);
    let solution = |routes: &[Vec<usize>]| {
        let st = State::from_routes(&d, routes.iter().map(Vec::as_slice).enumerate());
        assert!(st.routes.iter().all(|r| r.feasible(&d, &mut Vec::new())));
        st
    };
    let crossing = solution(&[vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
    let west = solution(&[vec![0, 1, 6, 7], vec![2, 3], vec![4, 5]]);
    let east = solution(&[vec![2, 3, 4, 5], vec![0, 1], vec![6, 7]]);
    let mut pool = Pool::default();
    for st in [&crossing, &west, &east] {
        pool.add_all(&d, st);
    }
    let limit = Limit {
        time: Duration::from_secs(10),
        nodes: Some(100),
    };
    let got = pool
        .solve(&d, &crossing, limit)
        .expect("a better partition");
    assert_eq!(got.used(), 2);
    assert!(got.objective(&d) < crossing.objective(&d) - 30.0);
    let mut sets: Vec<Vec<usize>> = got
        .routes
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| {
            let mut s: Vec<usize> = r.requests().collect();
            s.sort_unstable();
            s
        })
        .collect();
    sets.sort();
    assert_eq!(sets, vec![vec![0, 3], vec![1, 2]]);
    for (v, route) in got.routes.iter().enumerate() {
        assert!(route.feasible(&d, &mut Vec::new()));
        assert!(route.requests().all(|r| got.route_of[r] == v));
    }
    // nothing better than the best of the pool: no answer
    assert!(pool.solve(&d, &got, limit).is_none());
}

#[test]
fn the_best_known_routes_at_200_and_400_tasks_are_feasible_to_the_search_and_cost_the_same() {
    let mut seen = 0;
    for set in ["lilim200", "lilim400"] {
        let bks = read_bks(&bench_dir(set).join("bks.csv")).unwrap();
        for (name, &(vehicles, distance)) in &bks {
            let routes =
                read_sintef_routes(&bench_dir(set).join(format!("bks_solutions/{name}.sol")))
                    .unwrap();
            if routes.is_empty() {
                // lc1_4_4: its record is listed without routes
                continue;
            }
            seen += 1;
            let inst = read(&bench_dir(set).join(format!("{name}.txt"))).unwrap();
            let d = Data::new(&inst.problem, &inst.matrix);
            let node = |n: usize| {
                let (r, pickup) = request_at(&inst.problem, n);
                2 * r + usize::from(!pickup)
            };
            let seqs: Vec<Vec<usize>> = routes
                .iter()
                .map(|nodes| nodes.iter().map(|&n| node(n)).collect())
                .collect();
            let st = State::from_routes(&d, seqs.iter().map(Vec::as_slice).enumerate());
            assert_partial_feasible(&d, &st);
            assert!(st.bank.is_empty(), "{name}: requests left out");
            assert_eq!(st.used(), vehicles, "{name}");
            let cost = st.cost(&d) - vehicles as f64 * d.objective.vehicle_weight;
            assert!(
                (cost - distance).abs() < 0.01,
                "{name}: {cost} against {distance}"
            );
        }
    }
    assert_eq!(seen, 39, "instances with best-known routes");
}
