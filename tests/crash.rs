//! A crash under load: the service runs as a separate process (this test binary started again
//! as `crash::crash_child_server`), twenty clients book rides and a driver's phone uploads stop
//! events and positions, the process is killed with SIGKILL in the middle, started again on
//! the same database, and everything that was acknowledged before the kill is there — each
//! booking with its history, each stored event and position exactly once — and a client
//! retrying an unanswered booking with its `Idempotency-Key` gets one booking, never two.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Days;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::driver::{ev, make_run, today, trip, ASL, BORGO, JOB_CENTRE, PALMORI};

/// The server process of the crash test: does nothing unless the parent set its variables.
#[test]
#[ignore = "started by the crash test as its server process"]
fn crash_child_server() {
    let (Ok(url), Ok(port)) = (
        std::env::var("PASSAGGIO_CRASH_CHILD_DB"),
        std::env::var("PASSAGGIO_CRASH_CHILD_PORT"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let config = dispatch::config::Config::for_tests(&url);
        let pool = dispatch::connect(&config).await.expect("database");
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .expect("bind");
        let state = dispatch::state::AppState::new(pool, config);
        dispatch::serve(listener, state, std::future::pending())
            .await
            .expect("serve");
    });
}

/// The server process, killed when dropped (also when the test fails half-way).
struct Server(Child);

impl Server {
    fn kill_9(&mut self) {
        self.0.kill().expect("kill -9");
        self.0.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(url: &str, port: u16) -> Server {
    Server(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "crash::crash_child_server",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("PASSAGGIO_CRASH_CHILD_DB", url)
            .env("PASSAGGIO_CRASH_CHILD_PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the server process"),
    )
}

async fn wait_healthy(client: &Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server process did not come up");
}

async fn login(client: &Client, base: &str, user: &str) -> String {
    let r: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": user, "password": dispatch::demo::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().expect("token").to_owned()
}

/// Of the client ids `ids`, those not stored exactly once in `table` (one query).
async fn not_exactly_once(pool: &PgPool, table: &str, ids: &[String]) -> Vec<String> {
    sqlx::query_scalar(&format!(
        "select id::text from unnest($1::uuid[]) id
         where (select count(*) from {table} t where t.client_event_id = id) <> 1"
    ))
    .bind(
        ids.iter()
            .map(|i| i.parse::<Uuid>().unwrap())
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[derive(Default)]
struct Acked {
    /// (Idempotency-Key, ride_request_id) of bookings answered 201.
    bookings: Vec<(String, String)>,
    /// Keys of bookings sent but not answered (the kill came first).
    unanswered: Vec<(String, Value)>,
    /// Event ids the server answered as stored.
    events: Vec<String>,
    /// Position ids answered as stored.
    positions: Vec<String>,
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_kill_9_under_load_loses_nothing_acknowledged(pool: PgPool) {
    assert!(dispatch::demo::seed(&pool, false).await.expect("demo"));
    let opts = pool.connect_options();
    let base_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let url = format!(
        "{}/{}",
        base_url
            .rsplit_once('/')
            .expect("a database in DATABASE_URL")
            .0,
        opts.get_database().expect("the test database")
    );
    let day = today(&pool).await;
    // Today's run of driver.marco with four riders, written directly (as the driver tests do).
    let trips = [
        trip("Moussa", "appointment", BORGO, ASL),
        trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        trip("Mamadou", "appointment", BORGO, ASL),
    ];
    let fx = make_run(&pool, "driver.marco", day, &trips).await;
    let cases: Vec<Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id)
         where p.name = 'Polo Sociale Integrato Foggia' and c.status = 'open' order by c.case_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mp: Uuid = sqlx::query_scalar(
        "select m.meeting_point_id from meeting_point m join place p using (place_id)
         where p.name = $1 order by m.name limit 1",
    )
    .bind(BORGO)
    .fetch_one(&pool)
    .await
    .unwrap();
    let farm: Uuid =
        sqlx::query_scalar("select place_id from place where kind = 'farm' order by name limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut child = start(&url, port);
    wait_healthy(&client, &base).await;
    let coord = login(&client, &base, "coord.foggia").await;
    let marco = login(&client, &base, "driver.marco").await;

    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    // Twenty booking clients: each books its own person on successive days.
    for c in 0..20usize {
        let (client, base, coord, acked, stop) = (
            client.clone(),
            base.clone(),
            coord.clone(),
            acked.clone(),
            stop.clone(),
        );
        let case = cases[c % cases.len()];
        let n_cases = cases.len();
        tasks.push(tokio::spawn(async move {
            for n in 0u64.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let date = day + Days::new(1 + n * 2 + (c / n_cases) as u64);
                let body = json!({ "case_id": case, "purpose": "work_shift",
                    "service_date": date.to_string(), "pickup": { "meeting_point_id": mp },
                    "dropoff": { "place_id": farm }, "earliest_pickup": "09:00" });
                let key = Uuid::new_v4().to_string();
                let sent = client
                    .post(format!("{base}/api/ride-requests"))
                    .bearer_auth(&coord)
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                let answer = match sent {
                    Ok(r) => match (r.status(), r.json::<Value>().await) {
                        (s, Ok(v)) => Some((s, v)),
                        _ => None,
                    },
                    Err(_) => None,
                };
                let mut a = acked.lock().unwrap();
                match answer {
                    Some((StatusCode::CREATED, v)) => a.bookings.push((
                        key,
                        v["request"]["ride_request_id"].as_str().unwrap().to_owned(),
                    )),
                    Some(_) => {}
                    None => {
                        a.unanswered.push((key, body));
                        break;
                    }
                }
            }
        }));
    }
    // The driver's phone: the trips' events one by one, and positions, as fast as answered.
    {
        let (client, base, marco, acked, stop) = (
            client.clone(),
            base.clone(),
            marco.clone(),
            acked.clone(),
            stop.clone(),
        );
        let run = fx.run_id;
        let seqs: Vec<(i64, i64)> = (0..trips.len())
            .map(|t| (fx.pickup_seq(t), fx.dropoff_seq(t)))
            .collect();
        tasks.push(tokio::spawn(async move {
            let manifest: Value = client
                .get(format!("{base}/driver/api/runs/{run}"))
                .bearer_auth(&marco)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let key_of = |seq: i64| {
                manifest["stops"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["seq"] == seq)
                    .unwrap()["stop_key"]
                    .clone()
            };
            let mut events = Vec::new();
            for (i, (p, d)) in seqs.iter().enumerate() {
                let m = i64::try_from(i).unwrap() * 30;
                for (kind, seq, at) in [
                    ("arrived", *p, m + 1),
                    ("boarded", *p, m + 2),
                    ("arrived", *d, m + 20),
                    ("dropped_off", *d, m + 21),
                ] {
                    let mut e = ev(kind, seq, at);
                    e["stop_key"] = key_of(seq);
                    events.push(e);
                }
            }
            let mut k = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let pos_id = Uuid::new_v4().to_string();
                let pos = json!({ "positions": [{ "client_event_id": pos_id, "lon": 15.6,
                    "lat": 41.5, "recorded_at": chrono::Utc::now().to_rfc3339() }] });
                if let Ok(r) = client
                    .post(format!("{base}/driver/api/runs/{run}/positions"))
                    .bearer_auth(&marco)
                    .json(&pos)
                    .send()
                    .await
                {
                    if r.status() == StatusCode::OK && r.json::<Value>().await.is_ok() {
                        acked.lock().unwrap().positions.push(pos_id);
                    }
                }
                if k < events.len() {
                    let e = events[k].clone();
                    let id = e["client_event_id"].as_str().unwrap().to_owned();
                    if let Ok(r) = client
                        .post(format!("{base}/driver/api/runs/{run}/events"))
                        .bearer_auth(&marco)
                        .json(&json!({ "events": [e] }))
                        .send()
                        .await
                    {
                        if r.status() == StatusCode::OK {
                            if let Ok(v) = r.json::<Value>().await {
                                let refused =
                                    v["refused"].as_array().is_some_and(|r| !r.is_empty());
                                assert!(!refused, "a valid event was refused: {v}");
                                acked.lock().unwrap().events.push(id);
                                k += 1;
                            }
                        }
                    }
                }
            }
        }));
    }
    // Load for a while, then SIGKILL in the middle of it.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    child.kill_9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let a = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        a.bookings.len() >= 5 && !a.events.is_empty() && !a.positions.is_empty(),
        "too little load before the kill: {} bookings, {} events, {} positions",
        a.bookings.len(),
        a.events.len(),
        a.positions.len()
    );

    // Started again on the same database.
    let mut child = start(&url, port);
    wait_healthy(&client, &base).await;
    for (key, id) in &a.bookings {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from ride_request r
             where r.ride_request_id = $1::uuid
               and exists (select 1 from ride_request_event e where e.ride_request_id = r.ride_request_id)",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            n, 1,
            "acknowledged booking {id} (key {key}) lost or without its history"
        );
    }
    for (table, ids) in [
        ("driver_event", &a.events),
        ("vehicle_position", &a.positions),
    ] {
        let wrong = not_exactly_once(&pool, table, ids).await;
        assert!(
            wrong.is_empty(),
            "acknowledged but not once in {table}: {wrong:?}"
        );
    }
    // Every booking written has its history (no half-written request), and a client retrying
    // its unanswered booking with the same key gets exactly one.
    let orphans: i64 = sqlx::query_scalar(
        "select count(*) from ride_request r where not exists
           (select 1 from ride_request_event e where e.ride_request_id = r.ride_request_id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "a request without its history");
    let coord = login(&client, &base, "coord.foggia").await;
    for (key, body) in &a.unanswered {
        for _ in 0..2 {
            let r = client
                .post(format!("{base}/api/ride-requests"))
                .bearer_auth(&coord)
                .header("Idempotency-Key", key)
                .json(body)
                .send()
                .await
                .unwrap();
            assert!(
                matches!(
                    r.status(),
                    StatusCode::CREATED | StatusCode::OK | StatusCode::CONFLICT
                ),
                "retry after the crash: {}",
                r.status()
            );
        }
        let n: i64 = sqlx::query_scalar(
            "select count(*) from ride_request where case_id = $1::uuid and service_date = $2::date",
        )
        .bind(body["case_id"].as_str().unwrap())
        .bind(body["service_date"].as_str().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(n <= 1, "a retried booking written twice: {body}");
    }
    eprintln!(
        "crash test: {} bookings, {} events, {} positions acknowledged before kill -9; {} unanswered retried",
        a.bookings.len(),
        a.events.len(),
        a.positions.len(),
        a.unanswered.len()
    );
    child.kill_9();
}
