//! Issue #11, items 3, 5, 8 and 9: logins that cannot be hammered, limits on slow and large
//! requests, a fast 503 while the database is down and recovery after, planning jobs that end
//! cleanly, the retention job, and metrics without personal data.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use dispatch::config::Limits;
use passaggio_tests::{spawn_app, spawn_demo, spawn_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn attempt(app: &TestApp, username: &str, password: &str) -> (StatusCode, Option<String>) {
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("login request");
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), retry)
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn wrong_passwords_are_rate_limited_per_account_with_a_retry_after(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let burst = Limits::default().login_account_burst as usize;
    let mut statuses = Vec::new();
    for _ in 0..(burst + 10) {
        statuses.push(attempt(&app, "coord.foggia", "wrong").await);
    }
    assert!(
        statuses[..burst]
            .iter()
            .all(|(s, _)| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    for (s, retry) in &statuses[burst..] {
        assert_eq!(*s, StatusCode::TOO_MANY_REQUESTS);
        let secs: u64 = retry.as_deref().expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
    }
    // Even the right password waits now: the limit is not a hint to guess faster.
    let (s, _) = attempt(&app, "coord.foggia", dispatch::demo::DEMO_PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not locked out by someone hammering this one.
    let (s, _) = attempt(&app, "cw.foggia", dispatch::demo::DEMO_PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn one_client_spraying_many_accounts_is_rate_limited(pool: PgPool) {
    assert!(dispatch::demo::seed(&pool, false).await.unwrap());
    let limits = Limits {
        login_client_burst: 8,
        login_client_per_minute: 1,
        ..Limits::default()
    };
    let app = spawn_with(pool, |s| s.with_limits(limits)).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(attempt(&app, &format!("guess{i}"), "wrong").await.0);
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::UNAUTHORIZED; 8].as_slice(),
            [StatusCode::TOO_MANY_REQUESTS; 4].as_slice()
        ]
        .concat()
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_hundred_concurrent_failed_logins_are_answered_and_the_service_goes_on(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let token = app.login("cw.foggia").await;
    let started = Instant::now();
    let results = futures::future::join_all(
        (0..100).map(|i| attempt(&app, if i % 2 == 0 { "admin" } else { "nobody" }, "wrong")),
    )
    .await;
    for (s, _) in &results {
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(s),
            "{s}"
        );
    }
    // Most are refused by the limits before any password work.
    let limited = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 50, "{limited} of 100 limited");
    assert!(started.elapsed() < Duration::from_secs(30));
    // The service goes on: a session opened before still works, health answers.
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK);
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_oversized_body_is_413(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let before = app.count("funding_source").await;
    let big = "x".repeat(Limits::default().max_body_bytes + 1);
    let r = app
        .post(
            "/api/funding-sources",
            &admin,
            &json!({ "name": big, "region_code": "puglia" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "payload_too_large");
    assert_eq!(app.count("funding_source").await, before, "nothing written");
}

/// Opens a raw connection, sends `sent`, and waits for the server to answer or close; returns
/// what it answered and how long it took.
fn slow_client(addr: std::net::SocketAddr, sent: &[u8]) -> (String, Duration) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(sent).unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn slow_clients_are_cut_off_by_header_and_body_timeouts(pool: PgPool) {
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let app = spawn_with(pool, |s| s.with_limits(limits)).await;
    let addr = app.addr;
    // Headers that never end.
    let (_, took) = tokio::task::spawn_blocking(move || {
        slow_client(addr, b"GET /health HTTP/1.1\r\nhost: x\r\n")
    })
    .await
    .unwrap();
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    // A body that never comes.
    let (answer, took) = tokio::task::spawn_blocking(move || {
        slow_client(
            addr,
            b"POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user",
        )
    })
    .await
    .unwrap();
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    let status_line = answer.lines().next().unwrap_or("");
    assert!(status_line.contains(" 408 "), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    // The server still answers others.
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_job_left_running_by_a_crash_is_failed_at_start_and_one_plan_per_day_runs(pool: PgPool) {
    // A crash: the job stays "running" in the database, nothing runs it.
    let stale: Uuid = sqlx::query_scalar(
        "insert into plan_job (region_code, service_date, status, progress, started_at)
         values ('puglia', '2026-11-21', 'running', 'solving', now() - interval '1 hour')
         returning plan_job_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let app = spawn_demo_at_start(pool).await;
    let coord = app.login("coord.foggia").await;
    let r = app.get(&format!("/api/plans/{stale}"), &coord).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "failed");
    assert!(r.body["error"].as_str().unwrap().contains("interrupted"));
    assert!(!r.body["finished_at"].is_null());

    // While a job of a region and day is running, another one of the same day is a 409.
    let running: Uuid = sqlx::query_scalar(
        "insert into plan_job (region_code, service_date, status) values ('puglia', '2026-11-22', 'running')
         returning plan_job_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let plan =
        |day: &str| json!({ "region_code": "puglia", "service_date": day, "time_limit_s": 1 });
    let r = app.post("/api/plans", &coord, &plan("2026-11-22")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "plan_running");
    let jobs: i64 =
        sqlx::query_scalar("select count(*) from plan_job where service_date = '2026-11-22'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(jobs, 1, "nothing half-written");
    // The day of the interrupted job can be planned again.
    let r = app.post("/api/plans", &coord, &plan("2026-11-21")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    // Ten concurrent plans of one day: at most one runs at a time, the others are 409, none
    // is a raw database error.
    sqlx::query("update plan_job set status = 'done' where plan_job_id = $1")
        .bind(running)
        .execute(&app.pool)
        .await
        .unwrap();
    let body = plan("2026-11-23");
    let results =
        futures::future::join_all((0..10).map(|_| app.post("/api/plans", &coord, &body))).await;
    for r in &results {
        assert!(
            r.status == StatusCode::ACCEPTED || r.status == StatusCode::CONFLICT,
            "{:?}",
            r.body
        );
    }
    assert!(results.iter().any(|r| r.status == StatusCode::ACCEPTED));
    // The operator sees both in the metrics.
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "plan_jobs_total{outcome=\"interrupted\"}",
        "plan_jobs_total{outcome=\"refused_busy\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

async fn spawn_demo_at_start(pool: PgPool) -> TestApp {
    // The demo is loaded first; the jobs are failed when the service starts, as in production.
    spawn_demo(pool).await
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn metrics_count_requests_refusals_and_the_pool_without_personal_data(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let cw = app.login("cw.foggia").await;
    let case = app
        .post(
            "/api/cases",
            &cw,
            &json!({ "known_as": "Mariam Traoré", "arrival_channel": "helpdesk", "opened_on": "2026-10-01" }),
        )
        .await;
    let person = case.body["person_id"].as_str().unwrap().to_owned();
    let case_id = case.body["case_id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/cases/{case_id}"), &cw).await;
    let r = app
        .post(
            "/api/funding-sources",
            &admin,
            &json!({ "region_code": "puglia", "kind": "transport_fund", "name": "F", "cap_cents": 100,
                     "period_start": "2026-01-01", "period_end": "2026-12-31" }),
        )
        .await;
    let fund = r.body["funding_source_id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/funding-sources/{fund}/charges"),
            &admin,
            &json!({ "amount_cents": 101, "occurred_on": "2026-11-20", "description": "x", "person_id": person }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for needle in [
        "http_requests_total{",
        "route=\"/api/cases/{case_id}\"",
        "http_request_duration_seconds_bucket{",
        "ledger_refusals_total{cap=\"source\"}",
        "sign_ins_total{kind=\"login\",outcome=\"ok\"}",
        "db_pool_connections ",
        "db_pool_idle_connections ",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    for secret in [
        person.as_str(),
        case_id.as_str(),
        fund.as_str(),
        "Mariam",
        "cw.foggia",
        "admin",
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn metrics_need_the_token_when_one_is_configured(pool: PgPool) {
    let app = spawn_with(pool, |s| {
        let mut c = (*s.config).clone();
        c.metrics_token = Some("s3cret-scrape".into());
        s.with_config(c)
    })
    .await;
    let r = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("s3cret-scrape")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// A throwaway PostgreSQL cluster of this test alone, stopped when dropped.
struct OwnCluster {
    root: std::path::PathBuf,
    name: String,
    port: u16,
}

impl OwnCluster {
    fn pg(&self, args: &[&str]) {
        let out = std::process::Command::new(self.root.join("scripts/pg.sh"))
            .args(args)
            .output()
            .expect("scripts/pg.sh");
        assert!(
            out.status.success(),
            "pg.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fn start(&self) {
        self.pg(&["start", &self.name, &self.port.to_string(), "fast"]);
    }
    fn stop(&self) {
        self.pg(&["stop", &self.name]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The port of the outage test's own cluster: `PASSAGGIO_TEST_PG_OUTAGE_PORT`, else the test
/// cluster's port plus 100.
fn outage_port() -> u16 {
    if let Some(p) = std::env::var("PASSAGGIO_TEST_PG_OUTAGE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        return p;
    }
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let port: u16 = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(5434);
    port + 100
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_stopped_requests_get_a_503_within_a_second_and_recover_after() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let port = outage_port();
    let cluster = OwnCluster {
        root,
        name: format!("outage-{port}"),
        port,
    };
    tokio::task::block_in_place(|| cluster.start());
    let mut config = dispatch::config::Config::for_tests(&format!(
        "postgres://passaggio@127.0.0.1:{port}/passaggio"
    ));
    config.db_acquire_timeout = Duration::from_millis(500);
    config.db_max_connections = 5;
    // A cluster just started on a loaded machine may take longer than the short timeout to
    // answer its first connection: that is not the outage under test, so it is tried again.
    let mut tries = 0;
    let pool = loop {
        match dispatch::connect(&config).await {
            Ok(pool) => break pool,
            Err(e) if tries < 20 => {
                tries += 1;
                eprintln!("connect, try {tries}: {e:#}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("connect: {e:#}"),
        }
    };
    dispatch::migrate(&pool).await.expect("migrate");
    let username = format!("outage.{}", &Uuid::new_v4().simple().to_string()[..8]);
    let hash = dispatch::auth::hash_password("outage-password").unwrap();
    let mut conn = pool.acquire().await.unwrap();
    dispatch::auth::create_staff(
        &mut conn,
        &dispatch::auth::NewStaff {
            username: username.clone(),
            display_name: "Outage".into(),
            role: dispatch::auth::Role::ProgrammeAdmin,
            region_code: None,
            polo_id: None,
        },
        &hash,
    )
    .await
    .unwrap();
    drop(conn);
    let app = spawn_app(pool).await;
    let r = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({ "username": username, "password": "outage-password" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK);

    tokio::task::block_in_place(|| cluster.stop());
    for path in ["/api/me", "/api/regions", "/health"] {
        let started = Instant::now();
        let r = app.get(path, &token).await;
        let took = started.elapsed();
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {:?}",
            r.body
        );
        assert!(took < Duration::from_secs(1), "{path} took {took:?}");
        if path != "/health" {
            assert_eq!(
                r.body["error"]["code"], "database_unavailable",
                "{:?}",
                r.body
            );
        }
    }

    tokio::task::block_in_place(|| cluster.start());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.get("/api/me", &token).await;
        if r.status == StatusCode::OK {
            assert_eq!(r.body["username"], username.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {:?}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.pool.close().await;
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_retention_job_coarsens_deletes_and_pseudonymises_and_purges_sessions(pool: PgPool) {
    let now = "2026-11-20T10:00:00Z";
    let app = passaggio_tests::spawn_demo_at(pool, now).await;
    let cw = app.login("cw.foggia").await;
    let p = &app.pool;
    // Two cases: one closed long ago, one closed last week.
    let mut cases = Vec::new();
    for (name, closed_on) in [("Old", "2026-03-01"), ("Recent", "2026-11-13")] {
        let r = app
            .post(
                "/api/cases",
                &cw,
                &json!({ "known_as": name, "arrival_channel": "helpdesk", "opened_on": "2026-01-10" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let case: Uuid = r.body["case_id"].as_str().unwrap().parse().unwrap();
        let person: Uuid = r.body["person_id"].as_str().unwrap().parse().unwrap();
        cases.push((case, person, closed_on));
    }
    let (vehicle, driver): (Uuid, Uuid) = sqlx::query_as(
        "select (select vehicle_id from vehicle limit 1), (select driver_id from driver limit 1)",
    )
    .fetch_one(p)
    .await
    .unwrap();
    let places: Vec<Uuid> =
        sqlx::query_scalar("select place_id from place where region_code = 'puglia' limit 2")
            .fetch_all(p)
            .await
            .unwrap();
    let staff: Uuid = sqlx::query_scalar("select staff_id from staff where username = 'cw.foggia'")
        .fetch_one(p)
        .await
        .unwrap();
    let run: Uuid = sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id, driver_id, status)
         values ('puglia', '2026-02-10', $1, $2, 'completed') returning run_id",
    )
    .bind(vehicle)
    .bind(driver)
    .fetch_one(p)
    .await
    .unwrap();
    for (case, person, _) in &cases {
        let request: Uuid = sqlx::query_scalar(
            "insert into ride_request (region_code, case_id, person_id, purpose, service_date,
                 pickup_place_id, pickup_location, dropoff_place_id, dropoff_location,
                 earliest_pickup, status, booked_by, booked_channel, run_id)
             select 'puglia', $1, $2, 'work_shift', '2026-02-10',
                    a.place_id, a.location, b.place_id, b.location,
                    '2026-02-10T05:00:00Z', 'completed', $5, 'case_worker', $6
               from place a, place b where a.place_id = $3 and b.place_id = $4
             returning ride_request_id",
        )
        .bind(case)
        .bind(person)
        .bind(places[0])
        .bind(places[1])
        .bind(staff)
        .bind(run)
        .fetch_one(p)
        .await
        .unwrap();
        sqlx::query(
            "insert into ride (region_code, ride_request_id, run_id, case_id, person_id, outcome,
                 picked_up_at, dropped_off_at, distance_m, cost_cents)
             values ('puglia', $1, $2, $3, $4, 'completed', '2026-02-10T05:07:31Z',
                     '2026-02-10T05:41:12Z', 12000, 450)",
        )
        .bind(request)
        .bind(run)
        .bind(case)
        .bind(person)
        .execute(p)
        .await
        .unwrap();
        sqlx::query(
            "insert into driver_event (region_code, client_event_id, run_id, driver_id, kind,
                 stop_seq, ride_request_id, occurred_at)
             values ('puglia', gen_random_uuid(), $1, $2, 'boarded', 1, $3, '2026-02-10T05:07:31Z')",
        )
        .bind(run)
        .bind(driver)
        .bind(request)
        .execute(p)
        .await
        .unwrap();
    }
    for (case, _, closed_on) in &cases {
        sqlx::query(
            "update care_case set status = 'closed', closed_on = $2::date where case_id = $1",
        )
        .bind(case)
        .bind(closed_on)
        .execute(p)
        .await
        .unwrap();
    }
    // Positions: today (kept as is), yesterday (coarsened), 40 days ago (deleted).
    for at in [
        "2026-11-20T08:00:00Z",
        "2026-11-19T08:00:00Z",
        "2026-10-11T08:00:00Z",
    ] {
        sqlx::query(
            "insert into vehicle_position (region_code, client_event_id, run_id, driver_id, location, recorded_at)
             values ('puglia', gen_random_uuid(), $1, $2, ST_MakePoint(15.63612, 41.48923)::geography, $3::timestamptz)",
        )
        .bind(run)
        .bind(driver)
        .bind(at)
        .execute(p)
        .await
        .unwrap();
    }
    // A session that expired.
    sqlx::query(
        "insert into staff_session (token_sha256, staff_id, expires_at) values ($1, $2, now() - interval '1 minute')",
    )
    .bind(vec![7u8; 32])
    .bind(staff)
    .execute(p)
    .await
    .unwrap();

    let state = dispatch::state::AppState::new(
        p.clone(),
        dispatch::config::Config::for_tests("postgres://unused"),
    )
    .with_now(now.parse().unwrap());
    let report = dispatch::retention::run(&state).await.unwrap();
    assert_eq!(
        report,
        dispatch::retention::RetentionReport {
            sessions_deleted: 1,
            positions_coarsened: 1,
            positions_deleted: 1,
            stop_events_pseudonymised: 1,
            rides_pseudonymised: 1,
        }
    );
    // Positions: the day's stays precise, yesterday's is on the grid.
    let positions: Vec<(bool, f64, f64)> = sqlx::query_as(
        "select coarsened, ST_X(location::geometry), ST_Y(location::geometry)
         from vehicle_position order by recorded_at",
    )
    .fetch_all(p)
    .await
    .unwrap();
    assert_eq!(positions.len(), 2);
    assert!(positions[0].0);
    assert!(
        (positions[0].1 - 15.64).abs() < 1e-9 && (positions[0].2 - 41.49).abs() < 1e-9,
        "{positions:?}"
    );
    assert_eq!(positions[1], (false, 15.63612, 41.48923));
    // The old case's ride: no case, a pseudonym, times to the hour; the recent one untouched.
    let (old_case, old_person, _) = cases[0];
    let rides: Vec<(Option<Uuid>, Uuid, chrono::DateTime<chrono::Utc>, bool)> = sqlx::query_as(
        "select case_id, person_id, picked_up_at, pseudonymised_at is not null from ride order by pseudonymised_at nulls last",
    )
    .fetch_all(p)
    .await
    .unwrap();
    assert_eq!(rides[0].0, None);
    assert_ne!(rides[0].1, old_person);
    assert_eq!(rides[0].2.to_rfc3339(), "2026-02-10T05:00:00+00:00");
    assert!(rides[0].3);
    assert_eq!(rides[1].0, Some(cases[1].0));
    assert!(!rides[1].3);
    let linked: i64 =
        sqlx::query_scalar("select count(*) from ride where case_id = $1 or person_id = $2")
            .bind(old_case)
            .bind(old_person)
            .fetch_one(p)
            .await
            .unwrap();
    assert_eq!(linked, 0);
    let events: Vec<(Option<Uuid>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select ride_request_id, occurred_at from driver_event order by ride_request_id nulls first",
    )
    .fetch_all(p)
    .await
    .unwrap();
    assert_eq!(events[0].0, None);
    assert_eq!(events[0].1.to_rfc3339(), "2026-02-10T05:00:00+00:00");
    assert!(events[1].0.is_some());
    assert_eq!(
        app.count("staff_session where expires_at <= now()").await,
        0
    );
    // A second run finds nothing more to do.
    assert_eq!(
        dispatch::retention::run(&state).await.unwrap(),
        dispatch::retention::RetentionReport::default()
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn live_insertion_outcomes_are_counted_in_the_metrics(pool: PgPool) {
    let app = passaggio_tests::spawn_demo_at(pool, "2026-11-24T06:00:00Z").await;
    let cw = app.login("cw.foggia").await;
    let one = |sql: &str| {
        let sql = sql.to_owned();
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let case = one(
        "select c.case_id from care_case c join polo p using (polo_id)
                    where p.name = 'Polo Sociale Integrato Foggia' order by c.opened_on limit 1",
    )
    .await;
    let mp = one(
        "select m.meeting_point_id from meeting_point m join place p using (place_id)
                  where p.name = 'Palmori' order by m.name limit 1",
    )
    .await;
    let farm = one("select place_id from place where kind = 'farm' order by name limit 1").await;
    let r = app
        .post(
            "/api/ride-requests",
            &cw,
            &json!({ "case_id": case, "purpose": "work_shift", "service_date": "2026-11-24",
                     "pickup": { "meeting_point_id": mp }, "dropoff": { "place_id": farm },
                     "earliest_pickup": "09:00" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let outcome = r.body["live"][0]["outcome"].as_str().unwrap().to_owned();
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = format!("live_insertions_total{{outcome=\"{outcome}\"}}");
    assert!(text.contains(&needle), "{needle} missing from\n{text}");
    assert!(!text.contains(&case), "a case id in the metrics");
}
