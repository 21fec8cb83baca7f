//! The driver API: own runs only, a manifest without case data, uploads applied exactly once
//! and in order, positions stored once. Also the fixtures the ride tests share: runs with
//! stops written directly in SQL on the demo region (the planner is another module).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use passaggio_tests::{spawn_demo, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// One rider's trip on a fixture run.
pub(crate) struct Trip<'a> {
    pub known_as: &'a str,
    pub purpose: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub passengers: i16,
}

pub(crate) fn trip<'a>(
    known_as: &'a str,
    purpose: &'a str,
    from: &'a str,
    to: &'a str,
) -> Trip<'a> {
    Trip {
        known_as,
        purpose,
        from,
        to,
        passengers: 1,
    }
}

/// A run written by [`make_run`]: stop 0 is the start, stops `1..=n` the pickups of the trips
/// in order, `n+1..=2n` their drop-offs, `2n+1` the end.
pub(crate) struct RunFixture {
    pub run_id: Uuid,
    pub requests: Vec<Uuid>,
}

impl RunFixture {
    pub fn pickup_seq(&self, trip: usize) -> i64 {
        i64::try_from(trip).unwrap() + 1
    }

    pub fn dropoff_seq(&self, trip: usize) -> i64 {
        i64::try_from(trip + self.requests.len()).unwrap() + 1
    }
}

pub(crate) const BORGO: &str = "Borgo Mezzanone - ex pista";
pub(crate) const ASL: &str = "ASL Foggia - Poliambulatorio";
pub(crate) const JOB_CENTRE: &str = "Centro per l'impiego di Foggia";
pub(crate) const PALMORI: &str = "Palmori";

pub(crate) async fn today(pool: &PgPool) -> NaiveDate {
    sqlx::query_scalar("select (now() at time zone 'Europe/Rome')::date")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A run of `driver.marco` today with `trips`, and his login.
pub(crate) async fn marco_today(app: &TestApp, trips: &[Trip<'_>]) -> (RunFixture, String) {
    let fx = make_run(&app.pool, "driver.marco", today(&app.pool).await, trips).await;
    (fx, app.login("driver.marco").await)
}

/// Writes a confirmed request per trip (with its status history), a fresh vehicle, a run of
/// `driver` on `date` and its stops, 10 minutes apart from 07:00 Rome time.
pub(crate) async fn make_run(
    pool: &PgPool,
    driver: &str,
    date: NaiveDate,
    trips: &[Trip<'_>],
) -> RunFixture {
    let vehicle: Uuid = sqlx::query_scalar(
        "insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot,
            cost_per_km_cents, cost_per_hour_cents)
         values ('puglia', 'T-' || left(gen_random_uuid()::text, 13), 8, 1, 'Test', 'Deposito Foggia',
                 st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography, 45, 2200)
         returning vehicle_id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let run_id: Uuid = sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id, driver_id)
         select 'puglia', $1, $2, d.driver_id from driver d join staff s using (staff_id)
         where s.username = $3 returning run_id",
    )
    .bind(date)
    .bind(vehicle)
    .bind(driver)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut requests = Vec::new();
    for t in trips {
        let id: Uuid = sqlx::query_scalar(
            "with c as (select c.case_id, c.person_id, c.case_worker_id from care_case c
                        join person p on p.region_code = c.region_code and p.person_id = c.person_id
                        where p.known_as = $1 limit 1),
                  pu as (select pl.place_id, mp.meeting_point_id, coalesce(mp.location, pl.location) as loc
                         from place pl left join lateral (select * from meeting_point m where m.place_id = pl.place_id
                                                          order by m.name limit 1) mp on true
                         where pl.name = $2),
                  dr as (select pl.place_id, mp.meeting_point_id, coalesce(mp.location, pl.location) as loc
                         from place pl left join lateral (select * from meeting_point m where m.place_id = pl.place_id
                                                          order by m.name limit 1) mp on true
                         where pl.name = $3)
             insert into ride_request (region_code, case_id, person_id, purpose, service_date,
                 pickup_place_id, pickup_meeting_point_id, pickup_location,
                 dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
                 earliest_pickup, passengers, status, booked_by, booked_channel, run_id)
             select 'puglia', c.case_id, c.person_id, $4::ride_purpose, $5,
                    pu.place_id, pu.meeting_point_id, pu.loc, dr.place_id, dr.meeting_point_id, dr.loc,
                    ($5::date + time '06:30') at time zone 'Europe/Rome', $6, 'confirmed',
                    c.case_worker_id, 'case_worker', $7
             from c, pu, dr
             returning ride_request_id",
        )
        .bind(t.known_as)
        .bind(t.from)
        .bind(t.to)
        .bind(t.purpose)
        .bind(date)
        .bind(t.passengers)
        .bind(run_id)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
             select region_code, ride_request_id, 'confirmed', 'test fixture', booked_by
             from ride_request where ride_request_id = $1",
        )
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
        requests.push(id);
    }
    let n = requests.len();
    let stop = |seq: usize, kind: &'static str, req: Option<Uuid>| {
        let (place, mp, loc) = match kind {
            "pickup" => (
                "pickup_place_id",
                "pickup_meeting_point_id",
                "pickup_location",
            ),
            _ => (
                "dropoff_place_id",
                "dropoff_meeting_point_id",
                "dropoff_location",
            ),
        };
        let sql = if req.is_some() {
            format!(
                "insert into run_stop (region_code, run_id, seq, kind, ride_request_id, place_id, meeting_point_id,
                     location, planned_arrival, planned_departure)
                 select 'puglia', $1, $2, $3::stop_kind, ride_request_id, {place}, {mp}, {loc},
                        (($5::date + time '07:00') at time zone 'Europe/Rome') + make_interval(mins => $2 * 10),
                        (($5::date + time '07:00') at time zone 'Europe/Rome') + make_interval(mins => $2 * 10 + 2)
                 from ride_request where ride_request_id = $4"
            )
        } else {
            "insert into run_stop (region_code, run_id, seq, kind, location, planned_arrival, planned_departure)
             select 'puglia', $1, $2, $3::stop_kind, st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography,
                    (($5::date + time '07:00') at time zone 'Europe/Rome') + make_interval(mins => $2 * 10),
                    (($5::date + time '07:00') at time zone 'Europe/Rome') + make_interval(mins => $2 * 10 + 2)
             where $4::uuid is null"
                .to_owned()
        };
        (sql, i32::try_from(seq).unwrap(), kind, req)
    };
    let mut stops = vec![stop(0, "start", None)];
    for (i, r) in requests.iter().enumerate() {
        stops.push(stop(i + 1, "pickup", Some(*r)));
    }
    for (i, r) in requests.iter().enumerate() {
        stops.push(stop(n + i + 1, "dropoff", Some(*r)));
    }
    stops.push(stop(2 * n + 1, "end", None));
    for (sql, seq, kind, req) in stops {
        let done = sqlx::query(&sql)
            .bind(run_id)
            .bind(seq)
            .bind(kind)
            .bind(req)
            .bind(date)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1, "stop {seq}");
    }
    RunFixture { run_id, requests }
}

/// A time `minutes` after three hours ago: in the past, whatever the clock says.
pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
    Utc::now() - Duration::hours(3) + Duration::minutes(minutes)
}

pub(crate) fn ev(kind: &str, stop_seq: i64, minutes: i64) -> Value {
    json!({ "client_event_id": Uuid::new_v4(), "kind": kind, "stop_seq": stop_seq,
            "occurred_at": at(minutes).to_rfc3339() })
}

/// The events of a whole trip: arrived and boarded at the pickup, arrived and dropped off.
pub(crate) fn whole_trip(fx: &RunFixture, trip: usize) -> Value {
    let (p, d) = (fx.pickup_seq(trip), fx.dropoff_seq(trip));
    json!({ "events": [ev("arrived", p, 1), ev("boarded", p, 2), ev("arrived", d, 20), ev("dropped_off", d, 21)] })
}

pub(crate) fn events_path(fx: &RunFixture) -> String {
    format!("/driver/api/runs/{}/events", fx.run_id)
}

fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

async fn stop_state(app: &TestApp, fx: &RunFixture, seq: i64) -> (String, Option<DateTime<Utc>>) {
    sqlx::query_as(
        "select status::text, actual_arrival from run_stop where run_id = $1 and seq = $2",
    )
    .bind(fx.run_id)
    .bind(i32::try_from(seq).unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_driver_sees_todays_runs_and_a_manifest_without_case_data(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let day = today(&app.pool).await;
    let fx = make_run(
        &app.pool,
        "driver.marco",
        day,
        &[
            trip("Moussa", "appointment", BORGO, ASL),
            trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        ],
    )
    .await;
    let tomorrow = make_run(
        &app.pool,
        "driver.marco",
        day.succ_opt().unwrap(),
        &[trip("Blessing", "appointment", BORGO, ASL)],
    )
    .await;
    let marco = app.login("driver.marco").await;

    let runs = app.get("/driver/api/runs", &marco).await;
    assert_eq!(runs.status, StatusCode::OK, "{:?}", runs.body);
    let listed: Vec<&str> = runs.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [fx.run_id.to_string()],
        "today's runs only by default"
    );
    let next = app
        .get(
            &format!("/driver/api/runs?date={}", day.succ_opt().unwrap()),
            &marco,
        )
        .await;
    assert_eq!(next.body["runs"][0]["run_id"], tomorrow.run_id.to_string());

    let m = app
        .get(&format!("/driver/api/runs/{}", fx.run_id), &marco)
        .await;
    assert_eq!(m.status, StatusCode::OK, "{:?}", m.body);
    let stops = m.body["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 6);
    let pickup = &stops[1];
    assert_eq!(pickup["kind"], "pickup");
    assert_eq!(pickup["rider"]["known_as"], "Moussa");
    assert_eq!(pickup["rider"]["status"], "expected");
    assert_eq!(pickup["rider"]["languages"], json!(["fr", "wo"]));
    assert_eq!(pickup["place_name"], BORGO);
    assert_eq!(pickup["meeting_point_name"], "Ingresso pista");
    assert!(pickup["landmark"]
        .as_str()
        .unwrap()
        .contains("control tower"));
    assert!(pickup["lon"].as_f64().is_some() && pickup["lat"].as_f64().is_some());
    assert!(stops[0].get("rider").is_none(), "the depot has no rider");

    let mut all = Vec::new();
    keys(&m.body, &mut all);
    for banned in [
        "case_id",
        "person_id",
        "pai_reference",
        "ride_request_id",
        "funding_source_id",
        "cost_cents",
        "purpose",
        "budget",
    ] {
        assert!(
            !all.iter().any(|k| k == banned),
            "manifest leaks {banned}: {}",
            m.body
        );
    }
    let text = m.body.to_string();
    assert!(!text.contains("Blessing"), "another day's rider leaked");
    assert!(!text.contains("PAI-"));

    let r = app
        .get(&format!("/driver/api/runs/{}", tomorrow.run_id), &marco)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "rider names are shown on the day only"
    );
    let r = app
        .post_events(&events_path(&tomorrow), &marco, &whole_trip(&tomorrow, 0))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "run_not_started");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn another_driver_and_other_roles_are_refused(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let fx = make_run(
        &app.pool,
        "driver.marco",
        today(&app.pool).await,
        &[trip("Moussa", "appointment", BORGO, ASL)],
    )
    .await;
    let amadou = app.login("driver.amadou").await;
    assert!(app.get("/driver/api/runs", &amadou).await.body["runs"]
        .as_array()
        .unwrap()
        .is_empty());
    let r = app
        .get(&format!("/driver/api/runs/{}", fx.run_id), &amadou)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post_events(&events_path(&fx), &amadou, &whole_trip(&fx, 0))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let pos = json!({ "positions": [{ "client_event_id": Uuid::new_v4(), "lon": 15.6, "lat": 41.5, "recorded_at": at(0).to_rfc3339() }] });
    let r = app
        .post(
            &format!("/driver/api/runs/{}/positions", fx.run_id),
            &amadou,
            &pos,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("driver_event").await + app.count("vehicle_position").await,
        0
    );

    let cw = app.login("cw.foggia").await;
    assert_eq!(
        app.get("/driver/api/runs", &cw).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/driver/api/runs/{}", fx.run_id), &cw)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post_events(&events_path(&fx), &cw, &whole_trip(&fx, 0))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(reqwest::Method::GET, "/driver/api/runs", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_retried_upload_is_applied_exactly_once(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let batch = whole_trip(&fx, 0);
    let first = app.post_events(&events_path(&fx), &marco, &batch).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["applied"].as_array().unwrap().len(), 4);
    assert_eq!(first.body["run_status"], "completed");
    let again = app.post_events(&events_path(&fx), &marco, &batch).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body["applied"].as_array().unwrap().is_empty());
    assert_eq!(again.body["duplicates"].as_array().unwrap().len(), 4);
    assert_eq!(app.count("driver_event").await, 4);
    assert_eq!(app.count("ride").await, 1);
    let charges: i64 =
        sqlx::query_scalar("select count(*) from ledger_entry where external_ref = $1")
            .bind(format!("ride:{}", fx.requests[0]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(charges, 1);
    let history: i64 = sqlx::query_scalar("select count(*) from ride_request_event where ride_request_id = $1 and status = 'completed'")
        .bind(fx.requests[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(history, 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_late_offline_upload_out_of_order_ends_in_the_right_state(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let (p, d) = (fx.pickup_seq(0), fx.dropoff_seq(0));
    // The phone sends the drop-off first, listed before the arrival it follows.
    let newest = json!({ "events": [ev("dropped_off", d, 41), ev("arrived", d, 40)] });
    let r = app.post_events(&events_path(&fx), &marco, &newest).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["applied"][0], newest["events"][1]["client_event_id"],
        "applied by time"
    );
    // Hours later the older events arrive from the queue of a phone that was offline.
    let older =
        json!({ "events": [ev("arrived", p, 10), ev("boarded", p, 11), ev("arrived", d, 39)] });
    let r = app.post_events(&events_path(&fx), &marco, &older).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (status, arrival) = stop_state(&app, &fx, d).await;
    assert_eq!(
        status, "done",
        "a late 'arrived' does not move the stop back"
    );
    let expected_arrival =
        DateTime::parse_from_rfc3339(older["events"][2]["occurred_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        arrival.unwrap().timestamp(),
        expected_arrival.timestamp(),
        "the earliest arrival is kept"
    );
    assert_eq!(stop_state(&app, &fx, p).await.0, "done");
    let (req_status, picked, dropped): (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "select rr.status::text, r.picked_up_at, r.dropped_off_at from ride_request rr
         join ride r using (ride_request_id) where rr.ride_request_id = $1",
        )
        .bind(fx.requests[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(req_status, "completed");
    assert!(
        picked.unwrap() < dropped.unwrap(),
        "the late boarding fills in the pickup time"
    );
    let run: String = sqlx::query_scalar("select status::text from run where run_id = $1")
        .bind(fx.run_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(run, "completed");
    // A late no-show for the rider already dropped off changes nothing.
    let r = app
        .post_events(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("no_show", p, 5)] }),
        )
        .await;
    assert_eq!(
        r.body["superseded"].as_array().unwrap().len(),
        1,
        "{:?}",
        r.body
    );
    assert_eq!(app.count("ride").await, 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn bad_uploads_name_the_field_and_refused_items_do_not_block_the_rest(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let (p, d) = (fx.pickup_seq(0), fx.dropoff_seq(0));
    // A body that cannot be read is refused whole, naming the field.
    let cases = [
        (
            json!({ "events": [ev("arrived", p, 1), ev("teleported", p, 2)] }),
            "events.1.kind",
        ),
        (
            json!({ "events": [{ "client_event_id": Uuid::new_v4(), "kind": "arrived", "stop_seq": p, "occurred_at": "yesterday" }] }),
            "events.0.occurred_at",
        ),
        (json!({ "events": [] }), "events"),
    ];
    for (body, field) in cases {
        let r = app.post_events(&events_path(&fx), &marco, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }
    assert_eq!(app.count("driver_event").await, 0);
    // Events that cannot be applied are refused one by one, with a code and the field; the
    // others in the same batch apply, so a phone's queue never blocks on one bad item.
    let batch = json!({ "events": [
        ev("arrived", p, 1), ev("boarded", d, 2), ev("dropped_off", p, 3),
        ev("arrived", p, 60 * 5), ev("arrived", 99, 4), ev("boarded", p, 5) ] });
    let r = app.post_events(&events_path(&fx), &marco, &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["result"].as_str().unwrap(),
                i["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("applied", ""),
            ("refused", "wrong_stop_kind"),
            ("refused", "wrong_stop_kind"),
            ("refused", "in_the_future"),
            ("refused", "stop_key_required"),
            ("applied", ""),
        ]
    );
    for (i, item) in items.iter().enumerate() {
        assert_eq!(
            item["client_event_id"],
            batch["events"][i]["client_event_id"]
        );
        assert!(item["received_at"].is_string());
    }
    let fields: Vec<&str> = r.body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "events.1.kind",
            "events.2.kind",
            "events.3.occurred_at",
            "events.4.stop_key"
        ]
    );
    assert_eq!(
        app.count("driver_event").await,
        2,
        "refused items are not stored"
    );
    let (status, _) = stop_state(&app, &fx, p).await;
    assert_eq!(
        status, "done",
        "the boarding after the refused items applied"
    );
    // The phone drops what was answered and sends what follows: it goes through.
    let r = app
        .post_events(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("arrived", d, 20), ev("dropped_off", d, 21)] }),
        )
        .await;
    assert_eq!(
        r.body["applied"].as_array().unwrap().len(),
        2,
        "{:?}",
        r.body
    );
    let pos = json!({ "positions": [
        { "client_event_id": Uuid::new_v4(), "lon": 15.6, "lat": 41.5, "recorded_at": at(0).to_rfc3339() },
        { "client_event_id": Uuid::new_v4(), "lon": 15.6, "lat": 95.0, "recorded_at": at(1).to_rfc3339() } ] });
    let r = app
        .post(
            &format!("/driver/api/runs/{}/positions", fx.run_id),
            &marco,
            &pos,
        )
        .await;
    assert_eq!(r.error_field(), "positions.1.lat", "{:?}", r.body);
    assert_eq!(app.count("vehicle_position").await, 0);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn positions_are_stored_once_and_coordinators_see_the_latest(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let path = format!("/driver/api/runs/{}/positions", fx.run_id);
    let batch = json!({ "positions": [
        { "client_event_id": Uuid::new_v4(), "lon": 15.60, "lat": 41.48, "recorded_at": at(2).to_rfc3339() },
        { "client_event_id": Uuid::new_v4(), "lon": 15.62, "lat": 41.49, "recorded_at": at(3).to_rfc3339() },
        { "client_event_id": Uuid::new_v4(), "lon": 15.58, "lat": 41.47, "recorded_at": at(1).to_rfc3339() } ] });
    let r = app.post(&path, &marco, &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["accepted"], 3);
    let r = app.post(&path, &marco, &batch).await;
    assert_eq!(
        (
            r.body["accepted"].clone(),
            r.body["duplicates"].as_array().unwrap().len()
        ),
        (json!(0), 3)
    );
    assert_eq!(app.count("vehicle_position").await, 3);

    let coord = app.login("coord.foggia").await;
    let r = app
        .get(&format!("/api/runs/{}/position", fx.run_id), &coord)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        (r.body["position"]["lon"].as_f64().unwrap() - 15.62).abs() < 1e-9,
        "{:?}",
        r.body
    );
    let cw = app.login("cw.foggia").await;
    assert_eq!(
        app.get(&format!("/api/runs/{}/position", fx.run_id), &cw)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/runs/{}/position", fx.run_id), &marco)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/runs/{}/position", Uuid::new_v4()), &coord)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

fn keyed(kind: &str, stop_key: &Value, minutes: i64) -> Value {
    json!({ "client_event_id": Uuid::new_v4(), "kind": kind, "stop_key": stop_key,
            "occurred_at": at(minutes).to_rfc3339() })
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn stop_keys_survive_a_re_plan_made_while_the_phone_was_offline(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(
        &app,
        &[
            trip("Moussa", "appointment", BORGO, ASL),
            trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        ],
    )
    .await;
    let m = app
        .get(&format!("/driver/api/runs/{}", fx.run_id), &marco)
        .await;
    let key = |seq: i64| m.body["stops"][usize::try_from(seq).unwrap()]["stop_key"].clone();
    let (p, d, lamin_pickup) = (
        key(fx.pickup_seq(0)),
        key(fx.dropoff_seq(0)),
        key(fx.pickup_seq(1)),
    );
    // While the phone is offline, a live re-plan renumbers the stops and moves Lamin away.
    sqlx::query("delete from run_stop where ride_request_id = $1")
        .bind(fx.requests[1])
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update run_stop set seq = seq + 10 where run_id = $1 and kind <> 'start'")
        .bind(fx.run_id)
        .execute(&app.pool)
        .await
        .unwrap();
    // The phone's old stop number alone is refused (it would now name another stop).
    let stale = app
        .post(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("arrived", fx.pickup_seq(0), 1)] }),
        )
        .await;
    assert_eq!(
        (
            stale.body["refused"][0]["code"].as_str(),
            stale.body["refused"][0]["field"].as_str()
        ),
        (Some("stop_key_required"), Some("events.0.stop_key")),
        "an old position is refused: {:?}",
        stale.body
    );
    let batch = json!({ "events": [keyed("arrived", &p, 1), keyed("boarded", &p, 2), keyed("no_show", &lamin_pickup, 5),
                                   keyed("arrived", &d, 20), keyed("dropped_off", &d, 21)] });
    let r = app.post_events(&events_path(&fx), &marco, &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["applied"].as_array().unwrap().len(),
        4,
        "{:?}",
        r.body
    );
    assert_eq!(
        r.body["unmatched"][0],
        batch["events"][2]["client_event_id"]
    );
    assert_eq!(r.body["run_status"], "completed");
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status::text from ride_request where ride_request_id = any($1) order by status",
    )
    .bind(&fx.requests)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        ["completed", "confirmed"],
        "the moved rider is untouched"
    );
    assert_eq!(
        app.count("driver_event").await,
        5,
        "the unmatched event is kept for the record"
    );
    let again = app.post_events(&events_path(&fx), &marco, &batch).await;
    assert_eq!(again.body["duplicates"].as_array().unwrap().len(), 5);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn manifest_reads_are_audited_and_names_end_with_the_run(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let audits = |purpose: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from case_access_audit where purpose = $1",
            )
            .bind(purpose)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let m = app
        .get(&format!("/driver/api/runs/{}", fx.run_id), &marco)
        .await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.body["stops"][1]["rider"]["known_as"], "Moussa");
    assert_eq!(
        audits("driver manifest").await,
        1,
        "one rider, one audited case"
    );
    app.get(&format!("/driver/api/runs/{}", fx.run_id), &marco)
        .await;
    assert_eq!(audits("driver manifest").await, 2, "every read");
    // The run ends: the manifest no longer names anyone, and nothing more is read.
    let r = app
        .post_events(&events_path(&fx), &marco, &whole_trip(&fx, 0))
        .await;
    assert_eq!(r.body["run_status"], "completed", "{:?}", r.body);
    // (the phone read its manifest once more to name the stops of that upload)
    let before = audits("driver manifest").await;
    let m = app
        .get(&format!("/driver/api/runs/{}", fx.run_id), &marco)
        .await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.body["stops"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("rider").is_none()));
    assert_eq!(
        audits("driver manifest").await,
        before,
        "no name read, no audit"
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_same_events_from_two_phones_at_once_apply_once(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let batch = whole_trip(&fx, 0);
    // Both phones hold the same manifest and send the same queue at the same moment.
    let path = events_path(&fx);
    let (a, b) = tokio::join!(
        app.post_events(&path, &marco, &batch),
        app.post_events(&path, &marco, &batch)
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    let applied =
        a.body["applied"].as_array().unwrap().len() + b.body["applied"].as_array().unwrap().len();
    let dups = a.body["duplicates"].as_array().unwrap().len()
        + b.body["duplicates"].as_array().unwrap().len();
    assert_eq!((applied, dups), (4, 4), "{:?} {:?}", a.body, b.body);
    assert_eq!(app.count("driver_event").await, 4);
    assert_eq!(app.count("ride").await, 1, "one ride record");
    assert_eq!(app.count("ledger_entry").await, 1, "charged once");
}
