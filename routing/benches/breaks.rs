//! What drivers' breaks cost the day's plan: the same synthetic day (requests spread from
//! 06:00 to 18:00, vans free 05:00-22:00, a 20 km square at 36 km/h) solved without breaks and
//! with the service's (`dispatch::runs::shift_breaks`: five 45-minute breaks, nobody on board,
//! each within 4 h 30 of setting off or of the end of the one before, left out once the route
//! is over), side by side in one run. Prints served requests, vans, van-hours, distance and
//! iterations; every solution goes through `check::check`.
//!
//! `cargo bench -p routing --bench breaks [-- SECONDS [REQUESTS [ITERATIONS]]]` (default 10 s,
//! 300; with ITERATIONS the searches stop there instead, so that two versions of the code can
//! be compared for the same result and their time).

mod common;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use routing::matrix::Matrix;
use routing::model::{Load, Objective, Problem, TimeWindow, Vehicle};
use routing::Options;

const LOCATIONS: usize = 400;
const VEHICLES: usize = 60;

fn day(requests: usize) -> (Problem, Matrix) {
    let mut rng = StdRng::seed_from_u64(7);
    let pts: Vec<(f64, f64)> = (0..LOCATIONS)
        .map(|_| (rng.gen_range(0.0..20_000.0), rng.gen_range(0.0..20_000.0)))
        .collect();
    let dist: Vec<Option<f64>> = pts
        .iter()
        .flat_map(|a| {
            pts.iter()
                .map(move |b| Some(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() * 1.3))
        })
        .collect();
    let dur = dist.iter().map(|d| d.map(|x| (x / 10.0).round())).collect();
    let m = Matrix::new(LOCATIONS, dur, dist).expect("matrix");
    let rs = (0..requests)
        .map(|_| {
            let (p, d) = (rng.gen_range(1..LOCATIONS), rng.gen_range(1..LOCATIONS));
            let t = rng.gen_range(6.0 * 3600.0..18.0 * 3600.0);
            common::ride(p, d, (t, t + 1200.0), 1, 600.0 + 1.5 * m.duration(p, d))
        })
        .collect();
    let vs = (0..VEHICLES)
        .map(|_| {
            let mut v = Vehicle::new(
                0,
                Some(0),
                Load(vec![8, 1]),
                TimeWindow::new(5.0 * 3600.0, 22.0 * 3600.0).unwrap(),
            );
            v.cost_per_distance = 0.00045;
            v.cost_per_time = 22.0 / 3600.0;
            v
        })
        .collect();
    (Problem::new(rs, vs, Objective::default()).unwrap(), m)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let requests: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let iterations: Option<u64> = args.get(2).and_then(|s| s.parse().ok());
    let (plain, m) = day(requests);
    let breaks = common::with_breaks(&plain);
    let options = Options {
        seed: 1,
        time_limit: Duration::from_secs(seconds),
        max_iterations: iterations,
        stall_iterations: None,
        threads: 1,
    };
    // side by side, one core each
    let timed = |p| {
        let t = std::time::Instant::now();
        let r = routing::solver::solve_with_stats(p, &m, &options).unwrap();
        (r, t.elapsed().as_secs_f64())
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| timed(&plain));
        let b = s.spawn(|| timed(&breaks));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (label, p, ((sol, stats), secs)) in
        [("without breaks", &plain, a), ("with breaks", &breaks, b)]
    {
        routing::check::check(p, &m, &sol).expect("checked");
        let hours: f64 = sol
            .routes
            .iter()
            .map(|r| (r.end_time - r.start_time) / 3600.0)
            .sum();
        let taken: usize = sol.routes.iter().map(|r| r.breaks.len()).sum();
        let km: f64 = sol.routes.iter().map(|r| r.distance).sum::<f64>() / 1000.0;
        println!(
            "{label:>15}: {requests} requests, {} served, {} vans, {hours:.1} van-hours, {km:.0} km, \
             {taken} breaks taken, cost {:.2}, {} iterations in {secs:.1} s",
            requests - sol.unserved.len(),
            sol.routes.len(),
            sol.cost(),
            stats.iterations
        );
    }
}
