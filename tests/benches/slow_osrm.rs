//! Driver uploads while OSRM is slow: the p50/p99 latency of a driver's event upload in a
//! region where riders book live for today and every road-time matrix takes 2 s (a proxy in
//! front of a real `osrm-routed` delays each answer), and the latency of those bookings.
//!
//! Before the region lock was taken off the OSRM call, each live insertion held the region's
//! lock during the fetch, and every upload of the region waited behind it. `make
//! bench-slow-osrm` builds this file against the current tree and against an earlier commit
//! and runs both, one after the other, in one run. It only uses what both versions have
//! (HTTP, the demo seed, `AppState::with_travel`, SQL for the local day); for the same reason
//! it makes its database itself rather than through helpers the earlier tree does not have.
//!
//! Environment: `DATABASE_URL` (a PostGIS server; the bench makes and drops its own
//! database), `BENCH_OSRM_URL` (an `osrm-routed` on the demo's synthetic Foggia graph),
//! `BENCH_DELAY_MS` (2000), `BENCH_SECONDS` (30), `BENCH_BOOKERS` (2), `BENCH_LABEL`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passaggio_tests::spawn_with;
use routing::travel::{Calibration, FallbackModel, OsrmClient, OsrmConfig, WithFallback};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn report(label: &str, what: &str, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{label:<8} {what:<28} n={:<4} p50={:>8.1} ms  p99={:>8.1} ms  max={:>8.1} ms",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
    );
}

/// A one-route HTTP proxy: each request is answered `delay` late with the upstream's answer.
async fn slow_proxy(upstream: String, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let client = client.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request head (OSRM requests are GETs without a body).
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    buf.drain(..head_end);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    tokio::time::sleep(delay).await;
                    let (status, body) = match client.get(format!("{upstream}{path}")).send().await
                    {
                        Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
                        Err(_) => (502, Default::default()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if sock.write_all(head.as_bytes()).await.is_err()
                        || sock.write_all(&body).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::main]
async fn main() {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL/PostGIS server");
    let osrm = std::env::var("BENCH_OSRM_URL").expect("BENCH_OSRM_URL: an osrm-routed");
    let label = std::env::var("BENCH_LABEL").unwrap_or_else(|_| "this".into());
    let delay = Duration::from_millis(env_or("BENCH_DELAY_MS", 2000));
    let seconds = env_or("BENCH_SECONDS", 30);
    let bookers = env_or("BENCH_BOOKERS", 2);

    let db = format!("passaggio_slow_osrm_{}", std::process::id());
    let mut admin = PgConnection::connect(&base).await.expect("connect");
    sqlx::query(&format!("create database {db}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = format!("{}/{db}", base.rsplit_once('/').expect("url").0);
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .expect("connect bench db");
    dispatch::migrate(&pool).await.expect("migrate");
    dispatch::demo::seed(&pool, false).await.expect("demo");

    // Today 05:00 in Rome (the demo season starts today).
    let (day, now): (chrono::NaiveDate, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "select (now() at time zone 'Europe/Rome')::date,
                ((now() at time zone 'Europe/Rome')::date + time '05:00') at time zone 'Europe/Rome'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let proxy = slow_proxy(osrm, delay).await;
    // No cache in front of OSRM: every matrix is a slow answer, as on a cold day.
    let travel = Arc::new(WithFallback::new(
        Arc::new(OsrmClient::new(OsrmConfig::new(proxy)).expect("osrm client")),
        FallbackModel::new(Calibration::rural()),
    ));
    let app = spawn_with(pool.clone(), move |s| s.with_now(now).with_travel(travel)).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let marco = app.login("driver.marco").await;
    let cases: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id)
         where p.name = 'Polo Sociale Integrato Foggia' and c.status = 'open' order by c.case_id",
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
    let body = |i: usize| {
        let minutes = 7 * 60 + (i * 13) % (11 * 60);
        json!({ "case_id": cases[i % cases.len()], "purpose": "work_shift", "service_date": day,
                "pickup": { "meeting_point_id": from[i % from.len()] },
                "dropoff": { "place_id": to[(i / 3) % to.len()] },
                "earliest_pickup": format!("{:02}:{:02}", minutes / 60, minutes % 60) })
    };

    // A run for today with a driver: the first live booking opens it.
    let first = app.post("/api/ride-requests", &cw, &body(0)).await;
    let run_id = first.body["live"][0]["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the first booking is confirmed live: {:?}", first.body))
        .to_owned();
    let drivers = app.get("/api/drivers?region=puglia", &coord).await;
    let marco_id = drivers
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["display_name"]
                .as_str()
                .unwrap_or("")
                .starts_with("Marco")
        })
        .expect("driver Marco")["driver_id"]
        .clone();
    let r = app
        .post(
            &format!("/api/runs/{run_id}/driver"),
            &coord,
            &json!({ "driver_id": marco_id }),
        )
        .await;
    assert!(r.status.is_success(), "assign driver: {:?}", r.body);
    let manifest = app.get(&format!("/driver/api/runs/{run_id}"), &marco).await;
    let start_key = manifest.body["stops"][0]["stop_key"].clone();
    assert!(!start_key.is_null(), "manifest: {:?}", manifest.body);

    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let app = Arc::new(app);
    let mut booking_tasks = Vec::new();
    for b in 0..bookers {
        let app = app.clone();
        let cw = cw.clone();
        let bodies: Vec<Value> = (0..400)
            .map(|i| body(1 + usize::try_from(b).unwrap() + i * 2))
            .collect();
        booking_tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for b in bodies {
                if Instant::now() >= stop_at {
                    break;
                }
                let t = Instant::now();
                let r = app.post("/api/ride-requests", &cw, &b).await;
                assert!(r.status.is_success(), "booking: {:?}", r.body);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let occurred = (now - chrono::Duration::minutes(1)).to_rfc3339();
    let mut uploads = Vec::new();
    while Instant::now() < stop_at {
        let ev = json!({ "events": [{ "client_event_id": uuid::Uuid::new_v4(), "kind": "arrived",
                                      "stop_key": start_key, "stop_seq": 0, "occurred_at": occurred }] });
        let t = Instant::now();
        let r = app
            .post(&format!("/driver/api/runs/{run_id}/events"), &marco, &ev)
            .await;
        assert!(r.status.is_success(), "upload: {:?}", r.body);
        uploads.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut bookings = Vec::new();
    for t in booking_tasks {
        bookings.extend(t.await.expect("booker"));
    }
    println!(
        "{label:<8} OSRM delay {} ms, {bookers} bookers, {seconds} s",
        delay.as_millis()
    );
    report(&label, "driver upload", uploads);
    report(&label, "booking + live insertion", bookings);
    drop(app);
    pool.close().await;
    sqlx::query(&format!("drop database {db} with (force)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}
