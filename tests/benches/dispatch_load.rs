//! Load benchmark of the dispatch service: bookings per second, and p50/p99 latency of a
//! booking and of a live insertion into a day with 150 vehicles running.
//!
//! Run with a PostgreSQL/PostGIS server in `DATABASE_URL` (the bench makes and drops its own
//! database): `make bench-dispatch`, or
//! `DATABASE_URL=postgres://passaggio@127.0.0.1:5434/passaggio cargo bench -p passaggio-tests --bench dispatch_load`.
//! Sizes: `BENCH_VEHICLES` (150), `BENCH_PLANNED` (1500 rides planned before the live phase),
//! `BENCH_BOOKINGS` (400), `BENCH_LIVE` (100), `BENCH_CONCURRENCY` (16).

use std::time::{Duration, Instant};

use passaggio_tests::spawn_with;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(what: &str, mut lat: Vec<Duration>, wall: Duration) {
    lat.sort();
    #[allow(clippy::cast_precision_loss)]
    let rate = lat.len() as f64 / wall.as_secs_f64();
    println!(
        "{what:<34} n={:<5} {rate:>8.1}/s  p50={:>7.1} ms  p99={:>7.1} ms  max={:>7.1} ms",
        lat.len(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let base = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL: a PostgreSQL/PostGIS server (make bench-dispatch sets it)");
    let vehicles = env("BENCH_VEHICLES", 150);
    let planned = env("BENCH_PLANNED", 1500);
    let bookings = env("BENCH_BOOKINGS", 400);
    let live = env("BENCH_LIVE", 100);
    let concurrency = env("BENCH_CONCURRENCY", 16);

    let db = format!("passaggio_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&base).await.expect("connect");
    sqlx::query(&format!("create database {db}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = format!(
        "{}/{db}",
        base.rsplit_once('/').expect("url with a database").0
    );
    let pool = PgPoolOptions::new()
        .max_connections(30)
        .connect(&url)
        .await
        .expect("connect bench db");
    dispatch::migrate(&pool).await.expect("migrate");
    dispatch::demo::seed(&pool, false).await.expect("demo");
    eprintln!("bench: {vehicles} vehicles, {planned} planned rides, {bookings} bookings, {live} live insertions");

    // 150 vehicles at the demo depots, 8 seats each.
    sqlx::query(
        "insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot, cost_per_km_cents, cost_per_hour_cents)
         select 'puglia', 'BENCH-' || g, 8, (g % 5 = 0)::int, 'bench', v.depot_name, v.depot, 45, 2200
         from generate_series(1, $1) g
         join lateral (select depot_name, depot from vehicle where label like 'FG-PSG-%' order by label offset (g % 5) limit 1) v on true",
    )
    .bind(i32::try_from(vehicles).unwrap() - 5)
    .execute(&pool)
    .await
    .expect("vehicles");

    // "Now" is 05:00 in Rome on the benchmark day: everything planned is still ahead.
    let day = "2026-11-24";
    let app = spawn_with(pool.clone(), |s| {
        s.with_now("2026-11-24T04:00:00Z".parse().unwrap())
    })
    .await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id) where p.name = 'Polo Sociale Integrato Foggia'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let from: Vec<uuid::Uuid> =
        sqlx::query_scalar("select meeting_point_id from meeting_point order by name")
            .fetch_all(&pool)
            .await
            .unwrap();
    let to: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select place_id from place where kind in ('farm', 'packing_house') order by name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let body = |i: usize, date: &str| {
        let minutes = 6 * 60 + (i * 7) % (13 * 60);
        json!({ "case_id": cases[i % cases.len()], "purpose": "work_shift", "service_date": date,
                "pickup": { "meeting_point_id": from[i % from.len()] }, "dropoff": { "place_id": to[(i / 3) % to.len()] },
                "earliest_pickup": format!("{:02}:{:02}", minutes / 60, minutes % 60) })
    };

    // 1. The day's plan: book for tomorrow-like day without live insertion (as if booked the
    //    day before), then plan it with the optimiser.
    let t = Instant::now();
    let mut seed = Vec::new();
    for i in 0..planned {
        seed.push(body(i, "2026-11-23"));
    }
    for chunk in seed.chunks(concurrency) {
        futures::future::join_all(chunk.iter().map(|b| app.post("/api/ride-requests", &cw, b)))
            .await;
    }
    sqlx::query("update ride_request set service_date = $1::date, earliest_pickup = earliest_pickup + interval '1 day'")
        .bind(day)
        .execute(&pool)
        .await
        .unwrap();
    eprintln!(
        "bench: {planned} rides booked in {:.1} s; planning",
        t.elapsed().as_secs_f64()
    );
    let r = app
        .post(
            "/api/plans",
            &coord,
            &json!({ "region_code": "puglia", "service_date": day, "time_limit_s": 30 }),
        )
        .await;
    let job = r.body["plan_job_id"].as_str().unwrap().to_owned();
    let summary: Value = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = app.get(&format!("/api/plans/{job}"), &coord).await;
        if r.body["status"] == "done" || r.body["status"] == "failed" {
            break r.body;
        }
    };
    let stops: i64 = sqlx::query_scalar("select count(*) from run_stop")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!("plan: {} | {stops} planned stops", summary["summary"]);

    // 2. Bookings for another day: no live insertion, pure booking path.
    let mut lat = Vec::new();
    let t = Instant::now();
    let reqs: Vec<Value> = (0..bookings).map(|i| body(i + 7, "2026-11-26")).collect();
    for chunk in reqs.chunks(concurrency) {
        let times = futures::future::join_all(chunk.iter().map(|b| async {
            let t = Instant::now();
            let r = app.post("/api/ride-requests", &cw, b).await;
            assert_eq!(r.status, reqwest::StatusCode::CREATED, "{:?}", r.body);
            t.elapsed()
        }))
        .await;
        lat.extend(times);
    }
    report(
        &format!("booking ({concurrency} in flight)"),
        lat,
        t.elapsed(),
    );

    // 3. Live insertion into today's plan, one at a time (as riders call in).
    let mut lat = Vec::new();
    let mut confirmed = 0;
    let t = Instant::now();
    for i in 0..live {
        let b = body(i * 11 + 3, day);
        let t = Instant::now();
        let r = app.post("/api/ride-requests", &cw, &b).await;
        lat.push(t.elapsed());
        if r.body["live"][0]["outcome"] == "confirmed" {
            confirmed += 1;
        }
    }
    report("booking + live insertion", lat, t.elapsed());
    println!("live insertions confirmed: {confirmed} of {live}");

    drop(app);
    pool.close().await;
    sqlx::query(&format!("drop database {db} with (force)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}
