//! Insertion latency: one new request into a running day of 150 vehicles and 3,000 planned
//! stops (1,500 requests, 10 per vehicle), with time windows and ride-time limits.
//!
//! Before the criterion run, 1,000 inserts are timed one by one and p50/p99 printed, since
//! the target is a tail latency (p99 <= 5 ms).

mod common;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use routing::dynamic::{insert, PlanState, PlannedStop, VehicleState};
use routing::matrix::Matrix;
use routing::model::{Load, Objective, Problem, TimeWindow, Vehicle};
use routing::solution::StopKind;

const VEHICLES: usize = 150;
const PER_VEHICLE: usize = 10;
const NEW: usize = 200;
const LOCATIONS: usize = 600;
/// Metres per second (about 36 km/h).
const SPEED: f64 = 10.0;

fn matrix(rng: &mut StdRng) -> Matrix {
    let pts: Vec<(f64, f64)> = (0..LOCATIONS)
        .map(|_| (rng.gen_range(0.0..20_000.0), rng.gen_range(0.0..20_000.0)))
        .collect();
    let mut dist = Vec::with_capacity(LOCATIONS * LOCATIONS);
    for a in &pts {
        for b in &pts {
            dist.push(Some(
                ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() * 1.3,
            ));
        }
    }
    let dur = dist
        .iter()
        .map(|d| d.map(|x| (x / SPEED).round()))
        .collect();
    Matrix::new(LOCATIONS, dur, dist).expect("valid matrix")
}

/// A day where each vehicle does its requests one after the other, windows around the
/// planned times, plus `NEW` unplanned requests. With `pauses`, 50 minutes with nobody on board
/// after every second request (room for a driver's break), and
/// no maximum route duration.
fn day(pauses: bool) -> (Problem, Matrix, PlanState) {
    let mut rng = StdRng::seed_from_u64(42);
    let m = matrix(&mut rng);
    let day = TimeWindow::new(4.0 * 3600.0, 22.0 * 3600.0).unwrap();
    let mut requests = Vec::new();
    let mut vehicles = Vec::new();
    let mut state = PlanState::default();
    let request = |rng: &mut StdRng, t: f64, p: usize, d: usize| {
        let direct = m.duration(p, d);
        common::ride(
            p,
            d,
            (t - 900.0, t + 900.0),
            rng.gen_range(1..=3),
            direct * 1.5 + 900.0,
        )
    };
    for v in 0..VEHICLES {
        let depot = rng.gen_range(0..LOCATIONS);
        let mut veh = Vehicle::new(depot, Some(depot), Load(vec![8, 1]), day);
        veh.max_duration = (!pauses).then_some(14.0 * 3600.0);
        vehicles.push(veh);
        let (mut t, mut loc) = (6.0 * 3600.0, depot);
        let mut planned = Vec::new();
        for i in 0..PER_VEHICLE {
            if pauses && i > 0 && i % 2 == 0 {
                t += 3000.0;
            }
            let (p, d) = (rng.gen_range(0..LOCATIONS), rng.gen_range(0..LOCATIONS));
            t += m.duration(loc, p) + 300.0;
            let r = requests.len();
            requests.push(request(&mut rng, t, p, d));
            t += 60.0 + m.duration(p, d) + 60.0;
            loc = d;
            planned.push(PlannedStop {
                request: r,
                kind: StopKind::Pickup,
            });
            planned.push(PlannedStop {
                request: r,
                kind: StopKind::Delivery,
            });
        }
        state.vehicles.push(VehicleState {
            vehicle: v,
            position: depot,
            time: 6.0 * 3600.0,
            departed_at: None,
            rested_at: None,
            on_board: vec![],
            planned,
        });
    }
    for _ in 0..NEW {
        let t = rng.gen_range(7.0 * 3600.0..16.0 * 3600.0);
        let (p, d) = (rng.gen_range(0..LOCATIONS), rng.gen_range(0..LOCATIONS));
        requests.push(request(&mut rng, t, p, d));
    }
    let problem = Problem::new(requests, vehicles, Objective::default()).unwrap();
    (problem, m, state)
}

/// Times `NEW` inserts five times over; prints p50 / p99 / max.
fn time_inserts(label: &str, problem: &Problem, m: &Matrix, state: &PlanState) {
    let first_new = VEHICLES * PER_VEHICLE;
    let stops: usize = state.vehicles.iter().map(|v| v.planned.len()).sum();
    let mut times: Vec<f64> = Vec::new();
    let mut accepted = 0;
    for round in 0..5 {
        for k in 0..NEW {
            let t = Instant::now();
            let out = insert(problem, m, state, first_new + k);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            accepted += usize::from(round == 0 && out.is_ok());
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "insert into {VEHICLES} vehicles / {stops} planned stops{label}: {} inserts, {accepted}/{NEW} accepted, \
         p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        times.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn bench(c: &mut Criterion) {
    let (problem, m, state) = day(false);
    let first_new = VEHICLES * PER_VEHICLE;
    time_inserts("", &problem, &m, &state);
    let (paused, pm, pstate) = day(true);
    time_inserts(
        " (50 minutes' pause every 2 requests)",
        &paused,
        &pm,
        &pstate,
    );
    time_inserts(
        " (same, with drivers' breaks)",
        &common::with_breaks(&paused),
        &pm,
        &pstate,
    );
    let mut k = 0;
    c.bench_function("insert_150_vehicles_3000_stops", |b| {
        b.iter(|| {
            k = (k + 1) % NEW;
            insert(&problem, &m, &state, first_new + k)
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
