//! Helpers for the end-to-end tests in `main.rs`: start the real service on port 0 against a
//! per-test database, log in over HTTP, and make JSON requests.

use std::net::SocketAddr;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

pub mod openapi;

/// The run `run_id` in a list of runs (`/api/runs`, the console map's `runs`).
///
/// # Panics
/// When `runs` is not an array or has no such run.
#[must_use]
pub fn run_in<'a>(runs: &'a Value, run_id: &str) -> &'a Value {
    runs.as_array()
        .expect("a list of runs")
        .iter()
        .find(|r| r["run_id"] == run_id)
        .unwrap_or_else(|| panic!("run {run_id} is not in the list"))
}

/// An HTTP client that shows redirects instead of following them.
#[must_use]
pub fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A running service.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database (per test).
    pub pool: PgPool,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A JSON response.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: StatusCode,
    /// Body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Resp {
    /// The `field` of a validation error body.
    #[must_use]
    pub fn error_field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

/// Starts the service on 127.0.0.1:0 with `pool` (migrations already applied by `sqlx::test`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_with(pool, |s| s).await
}

/// Starts the service with the demo region and a fixed clock.
pub async fn spawn_demo_at(pool: PgPool, now: &str) -> TestApp {
    let now: chrono::DateTime<chrono::Utc> = now.parse().expect("RFC 3339 time");
    let today = dispatch::service_day::day_of(now);
    assert!(dispatch::demo::seed_on(&pool, false, today)
        .await
        .expect("demo seed"));
    spawn_with(pool, move |s| s.with_now(now)).await
}

/// Starts the service with a state adjusted by `adjust` (a clock, a travel-time provider).
pub async fn spawn_with(
    pool: PgPool,
    adjust: impl FnOnce(dispatch::state::AppState) -> dispatch::state::AppState,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let config = dispatch::config::Config::for_tests("postgres://unused");
    let state = adjust(dispatch::state::AppState::new(pool.clone(), config));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        dispatch::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        addr,
        pool,
        client: Client::new(),
        stop: Some(tx),
    }
}

/// A pool of `n` connections to the same per-test database (the pool `sqlx::test` hands out
/// has five): with it, concurrent requests really race in the database. Close it at the end
/// of the test (`app.pool.close().await`) so the test database can be dropped.
pub async fn wide_pool(pool: &PgPool, n: u32) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(n)
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect_with((*pool.connect_options()).clone())
        .await
        .expect("a wider pool to the test database")
}

/// Starts the service with the demo region loaded.
pub async fn spawn_demo(pool: PgPool) -> TestApp {
    assert!(dispatch::demo::seed(&pool, false).await.expect("demo seed"));
    spawn_app(pool).await
}

impl TestApp {
    /// Base URL.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let method_name = method.as_str().to_ascii_lowercase();
        let method_name = method_name.as_str();
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let sent = body.cloned();
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let json = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if json {
            openapi::check_response(method_name, path, status, &body);
        }
        if let (true, Some(sent)) = (status.is_success(), sent.as_ref()) {
            openapi::check_request(method_name, path, sent);
        }
        Resp { status, body }
    }

    /// POST with a JSON body and an `Idempotency-Key` header.
    pub async fn post_keyed(&self, path: &str, token: &str, body: &Value, key: &str) -> Resp {
        let res = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let body: Value =
            serde_json::from_str(&res.text().await.expect("body")).unwrap_or(Value::Null);
        openapi::check_response("post", path, status, &body);
        Resp { status, body }
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// POST a driver's batch of events to `…/runs/{run_id}/events` as the driver app does: each
    /// event that names its stop by `stop_seq` only gets that stop's `stop_key` from the manifest
    /// the phone would hold now (`GET …/runs/{run_id}` with the same login). When the manifest
    /// cannot be read (another driver, another day), the batch goes as it is.
    pub async fn post_events(&self, path: &str, token: &str, body: &Value) -> Resp {
        let manifest = self.get(path.trim_end_matches("/events"), token).await;
        let mut body = body.clone();
        if manifest.status == StatusCode::OK {
            let keys: std::collections::HashMap<i64, Value> = manifest.body["stops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| Some((s["seq"].as_i64()?, s["stop_key"].clone())))
                .collect();
            for e in body["events"].as_array_mut().into_iter().flatten() {
                if e.get("stop_key").is_none() {
                    if let Some(key) = e["stop_seq"].as_i64().and_then(|q| keys.get(&q)) {
                        e["stop_key"] = key.clone();
                    }
                }
            }
        }
        self.post(path, token, &body).await
    }

    /// Logs in with the demo password and returns the token.
    pub async fn login(&self, username: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(&serde_json::json!({ "username": username, "password": dispatch::demo::DEMO_PASSWORD })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {:?}", r.body);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Signs in with the console's form; the `passaggio_staff=...` cookie pair of the session.
    pub async fn console_login(&self, username: &str) -> String {
        use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN, SET_COOKIE};
        let r = no_redirects()
            .post(self.url("/console/login"))
            .header(ORIGIN, format!("http://{}", self.addr))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(
                "username={username}&password={}",
                dispatch::demo::DEMO_PASSWORD
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "console login {username}"
        );
        assert_eq!(r.headers()[LOCATION], "/console/");
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        set.split(';').next().unwrap().to_owned()
    }

    /// A console page (or its JSON fragment) with a session cookie: status and body.
    pub async fn console_get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let r = no_redirects()
            .get(self.url(path))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Counts rows of a table (to show that a refused request wrote nothing).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A run's van, driver, id, first arrival and last departure, for the overlap check.
type RunSpan = (
    uuid::Uuid,
    Option<uuid::Uuid>,
    uuid::Uuid,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
);

/// A stop of a persisted run, as the day checker reads it.
#[derive(sqlx::FromRow)]
struct CheckedStop {
    run_id: uuid::Uuid,
    seq: i32,
    vehicle_id: uuid::Uuid,
    driver_id: Option<uuid::Uuid>,
    on_line: bool,
    seats: i16,
    wheelchair_places: i16,
    kind: String,
    status: String,
    ride_request_id: Option<uuid::Uuid>,
    lon: f64,
    lat: f64,
    planned_arrival: chrono::DateTime<chrono::Utc>,
    planned_departure: chrono::DateTime<chrono::Utc>,
    passengers: Option<i16>,
    wheelchair: Option<bool>,
    earliest_pickup: Option<chrono::DateTime<chrono::Utc>>,
    latest_arrival: Option<chrono::DateTime<chrono::Utc>>,
    promised_pickup_at: Option<chrono::DateTime<chrono::Utc>>,
    at_risk: bool,
}

/// Checks every persisted run of a region's day against the rules the plan must keep, read
/// back from the database independently of the planner: every rider picked up before being
/// dropped off on the same run, seats and wheelchair places never exceeded, stops of planned
/// runs in time order with at least the driving time between them (the calibrated model the
/// service uses without OSRM, 1 s tolerance; a work line keeps its published timetable), every pending pickup in its window (promise or earliest
/// pickup; a stop flagged at risk is reported by the service itself), no drop-off after the
/// latest arrival unless flagged, and no van or driver in two runs at once (a run's time: from
/// half an hour before its first rider's stop to half an hour after its last). Returns the
/// violations, empty when the day holds.
pub async fn check_day(pool: &PgPool, region: &str, day: &str) -> Vec<String> {
    use routing::travel::TravelTimes;
    let rows: Vec<CheckedStop> = sqlx::query_as(
        "select r.run_id, s.seq, r.vehicle_id, r.driver_id, r.line_id is not null as on_line, v.seats, v.wheelchair_places,
                s.kind::text as kind, s.status::text as status, s.ride_request_id,
                st_x(s.location::geometry) as lon, st_y(s.location::geometry) as lat,
                s.planned_arrival, s.planned_departure,
                q.passengers, q.wheelchair, q.earliest_pickup, q.latest_arrival, q.promised_pickup_at,
                coalesce(s.status = 'pending' and (
                    (s.kind = 'pickup' and s.planned_arrival > q.promised_pickup_at + interval '10 minutes')
                    or (s.kind = 'dropoff' and s.planned_arrival > q.latest_arrival)), false) as at_risk
         from run r join vehicle v on v.vehicle_id = r.vehicle_id
         join run_stop s on s.run_id = r.run_id
         left join ride_request q on q.ride_request_id = s.ride_request_id
         where r.region_code = $1 and r.service_date = $2::date and r.status <> 'cancelled'
         order by r.run_id, s.seq",
    )
    .bind(region)
    .bind(day)
    .fetch_all(pool)
    .await
    .expect("runs of the day");
    type BreakRow = (
        uuid::Uuid,
        i32,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        bool,
    );
    let breaks: Vec<BreakRow> = sqlx::query_as(
        "select b.run_id, b.after_seq, b.planned_start, b.planned_end, b.started_at is not null
         from run_break b join run r on r.region_code = b.region_code and r.run_id = b.run_id
         where r.region_code = $1 and r.service_date = $2::date and r.status <> 'cancelled'
         order by b.run_id, b.planned_start",
    )
    .bind(region)
    .bind(day)
    .fetch_all(pool)
    .await
    .expect("breaks of the day");
    let model = routing::travel::FallbackModel::new(routing::travel::Calibration::rural());
    let mut errors = Vec::new();
    let mut spans: Vec<RunSpan> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let run = rows[i].run_id;
        let stops: Vec<&CheckedStop> = rows[i..].iter().take_while(|s| s.run_id == run).collect();
        i += stops.len();
        let points: Vec<routing::matrix::Location> = stops
            .iter()
            .map(|s| routing::matrix::Location {
                lon: s.lon,
                lat: s.lat,
            })
            .collect();
        let travel = model.matrix(&points).await.expect("model matrix").matrix;
        let (mut seats, mut chairs) = (0_i32, 0_i32);
        let mut on_board: Vec<uuid::Uuid> = Vec::new();
        let run_breaks: Vec<&BreakRow> = breaks.iter().filter(|b| b.0 == run).collect();
        for (k, s) in stops.iter().enumerate() {
            // a planned break after the previous stop: 45 minutes, nobody on board, between
            // the two stops (one the driver reported is what they did)
            for b in run_breaks
                .iter()
                .filter(|b| k > 0 && b.1 == stops[k - 1].seq && !b.4)
            {
                if b.3 - b.2 < chrono::Duration::minutes(45) {
                    errors.push(format!("run {run}: a break shorter than 45 minutes"));
                }
                if !on_board.is_empty() {
                    errors.push(format!("run {run}: a break with riders on board"));
                }
                if s.status == "pending"
                    && (b.2 < stops[k - 1].planned_departure || b.3 > s.planned_arrival)
                {
                    errors.push(format!(
                        "run {run}: the break at {} is not between its stops",
                        b.2
                    ));
                }
            }
            if k > 0 {
                let prev = stops[k - 1];
                let drive = travel.duration(k - 1, k);
                let gap =
                    (s.planned_arrival - prev.planned_departure).num_milliseconds() as f64 / 1000.0;
                // A work line keeps its published timetable: driving times are checked on the
                // runs the planner timed.
                if !s.on_line
                    && s.status == "pending"
                    && prev.status == "pending"
                    && gap + 1.0 < drive
                {
                    errors.push(format!("run {run} stop {k}: {gap:.0} s after the previous stop, the drive takes {drive:.0} s"));
                }
            }
            let Some(req) = s.ride_request_id else {
                continue;
            };
            let chair = i32::from(s.wheelchair == Some(true));
            let people = i32::from(s.passengers.unwrap_or(1)) - chair;
            match s.kind.as_str() {
                "pickup" => {
                    on_board.push(req);
                    seats += people;
                    chairs += chair;
                    if seats > i32::from(s.seats) || chairs > i32::from(s.wheelchair_places) {
                        errors.push(format!("run {run}: over capacity after picking up {req}"));
                    }
                    if s.status == "pending" && !s.at_risk {
                        let (from, to) = match (s.promised_pickup_at, s.earliest_pickup) {
                            (Some(p), _) => (
                                p - chrono::Duration::minutes(5),
                                p + chrono::Duration::minutes(10),
                            ),
                            (None, Some(e)) => (e, e + chrono::Duration::minutes(20)),
                            (None, None) => (s.planned_arrival, s.planned_arrival),
                        };
                        let service = if s.wheelchair == Some(true) { 180 } else { 60 };
                        let service_start =
                            s.planned_departure - chrono::Duration::seconds(service);
                        if s.planned_departure < from || service_start > to {
                            errors.push(format!(
                                "run {run}: pickup of {req} at {} outside [{from}, {to}]",
                                s.planned_arrival
                            ));
                        }
                    }
                }
                "dropoff" => {
                    if !on_board.contains(&req) {
                        errors.push(format!(
                            "run {run}: {req} dropped off before being picked up"
                        ));
                    }
                    on_board.retain(|r| *r != req);
                    seats -= people;
                    chairs -= chair;
                    if let Some(l) = s.latest_arrival {
                        if s.status == "pending" && !s.at_risk && s.planned_arrival > l {
                            errors.push(format!("run {run}: {req} arrives after {l}"));
                        }
                    }
                }
                _ => {}
            }
        }
        if !on_board.is_empty() {
            errors.push(format!("run {run}: never dropped off: {on_board:?}"));
        }
        // EU driving-time rule on planned demand-responsive runs: the driver's duty (from half
        // an hour before the first rider's stop, not before the van leaves) never goes 4 h 30
        // without a break until the last rider's stop
        let riders_done: Vec<&&CheckedStop> = stops
            .iter()
            .filter(|s| s.ride_request_id.is_some())
            .collect();
        let planned = stops.iter().all(|s| s.status == "pending");
        if let (false, true, Some(first), Some(last)) = (
            stops[0].on_line,
            planned,
            riders_done.first(),
            riders_done.last(),
        ) {
            let mut since = (first.planned_departure - chrono::Duration::minutes(30))
                .max(stops[0].planned_departure);
            for b in &run_breaks {
                if b.2 > last.planned_departure {
                    break;
                }
                if b.2 - since > chrono::Duration::minutes(270) {
                    errors.push(format!(
                        "run {run}: {} of duty without a break",
                        b.2 - since
                    ));
                }
                since = since.max(b.3);
            }
            if last.planned_departure - since > chrono::Duration::minutes(270) {
                errors.push(format!(
                    "run {run}: {} of duty without a break at the end",
                    last.planned_departure - since
                ));
            }
        }
        // A driver's time on a run: from half an hour before the first rider's stop ends to
        // half an hour after the last (the rule the service crews runs by).
        let riders: Vec<chrono::DateTime<chrono::Utc>> = stops
            .iter()
            .filter(|s| s.ride_request_id.is_some())
            .map(|s| s.planned_departure)
            .collect();
        let half_hour = chrono::Duration::minutes(30);
        let (from, to) = match (riders.iter().min(), riders.iter().max()) {
            (Some(a), Some(b)) => (*a - half_hour, *b + half_hour),
            _ => (
                stops[0].planned_arrival,
                stops[stops.len() - 1].planned_departure,
            ),
        };
        spans.push((stops[0].vehicle_id, stops[0].driver_id, run, from, to));
    }
    for (a, x) in spans.iter().enumerate() {
        for y in &spans[a + 1..] {
            let overlap = x.3 < y.4 && y.3 < x.4;
            if overlap && x.0 == y.0 {
                errors.push(format!("van {} in runs {} and {} at once", x.0, x.2, y.2));
            }
            if overlap && x.1.is_some() && x.1 == y.1 {
                errors.push(format!(
                    "driver {:?} in runs {} and {} at once",
                    x.1, x.2, y.2
                ));
            }
        }
    }
    errors
}

/// Serves the same database with the clock at `now` (RFC 3339): the day goes on.
pub async fn spawn_at(pool: &PgPool, now: &str) -> TestApp {
    let now: chrono::DateTime<chrono::Utc> = now.parse().expect("RFC 3339 time");
    spawn_with(pool.clone(), move |s| s.with_now(now)).await
}

/// Look-ups in the demo region and planning, shared by the tests.
impl TestApp {
    /// The one uuid `sql` selects, as text.
    pub async fn id(&self, sql: &str) -> String {
        let v: uuid::Uuid = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        v.to_string()
    }

    /// The first meeting point (by name) of the place called `place`.
    pub async fn meeting_point(&self, place: &str) -> String {
        self.id(&format!(
            "select m.meeting_point_id from meeting_point m join place p using (place_id)
             where p.name = '{place}' order by m.name limit 1"
        ))
        .await
    }

    /// The `n`-th farm of the region by name.
    pub async fn farm(&self, n: i64) -> String {
        self.id(&format!(
            "select place_id from place where kind = 'farm' order by name offset {n} limit 1"
        ))
        .await
    }

    /// Open cases of the Foggia hub, oldest first.
    pub async fn foggia_cases(&self) -> Vec<String> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "select c.case_id from care_case c join polo p using (polo_id)
             where p.name = 'Polo Sociale Integrato Foggia' and c.status = 'open'
             order by c.opened_on, c.case_id",
        )
        .fetch_all(&self.pool)
        .await
        .expect("Foggia cases");
        ids.iter().map(ToString::to_string).collect()
    }

    /// Plans `date` in Puglia with a time limit and waits for the job to end.
    pub async fn plan_day(&self, token: &str, date: &str, time_limit_s: u64) -> Value {
        let r = self
            .post(
                "/api/plans",
                token,
                &serde_json::json!({ "region_code": "puglia", "service_date": date, "time_limit_s": time_limit_s }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
        self.wait_for_plan(token, r.body["plan_job_id"].as_str().expect("job id"))
            .await
    }

    /// Waits for a planning job to end (done or failed) and returns it.
    pub async fn wait_for_plan(&self, token: &str, job: &str) -> Value {
        for _ in 0..300 {
            let r = self.get(&format!("/api/plans/{job}"), token).await;
            if r.body["status"] == "done" || r.body["status"] == "failed" {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("plan {job} did not finish");
    }
}
