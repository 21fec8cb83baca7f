//! The operating day when reality departs from the plan: early boardings, a van that finished
//! its run and serves another, retried and duplicate bookings, times in the past, unknown
//! fields. Real service, real PostGIS, over HTTP; the clock is the test's.

use std::collections::HashMap;

use passaggio_tests::{check_day, run_in, spawn_at, spawn_demo_at, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

/// 07:00 in Rome on the test day.
const NOW: &str = "2026-11-24T06:00:00Z";
const TODAY: &str = "2026-11-24";
const TOMORROW: &str = "2026-11-25";

fn ride(case: &str, from_mp: &str, to_place: &str, date: &str, earliest: &str) -> Value {
    json!({ "case_id": case, "purpose": "work_shift", "service_date": date,
            "pickup": { "meeting_point_id": from_mp }, "dropoff": { "place_id": to_place },
            "earliest_pickup": earliest })
}

/// The first two cases booked live today from `mp` to `to`, at 09:00 and 09:20 (one van picks
/// both up): `(ride_request_id, run_id)` of each, both confirmed.
async fn book_two_riders_today(
    app: &TestApp,
    token: &str,
    cases: &[String],
    mp: &str,
    to: &str,
) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for (case, t) in [(&cases[0], "09:00"), (&cases[1], "09:20")] {
        let r = app
            .post("/api/ride-requests", token, &ride(case, mp, to, TODAY, t))
            .await;
        assert_eq!(r.body["live"][0]["outcome"], "confirmed", "{:?}", r.body);
        ids.push((
            r.body["request"]["ride_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            r.body["live"][0]["run_id"].as_str().unwrap().to_owned(),
        ));
    }
    ids
}

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    (r.status(), r.json().await.unwrap_or(Value::Null), replayed)
}

/// Gives a run to `driver.marco` (the coordinator's call).
async fn give_to_marco(app: &TestApp, coord: &str, run_id: &str) {
    let marco = app
        .id("select driver_id from driver where display_name like 'Marco%'")
        .await;
    let r = app
        .post(
            &format!("/api/runs/{run_id}/driver"),
            coord,
            &json!({ "driver_id": marco }),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
}

/// Seq of the pickup and drop-off of `request` in the driver's manifest.
async fn stops_of(app: &TestApp, marco: &str, run_id: &str, request: &str) -> (i64, i64) {
    let m = app.get(&format!("/driver/api/runs/{run_id}"), marco).await;
    assert_eq!(m.status, StatusCode::OK, "{:?}", m.body);
    let stops: Vec<(i64, String, String)> = sqlx::query_as(
        "select seq::int8, kind::text, coalesce(ride_request_id::text, '') from run_stop where run_id = $1::uuid order by seq",
    )
    .bind(run_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let seq = |kind: &str| {
        stops
            .iter()
            .find(|s| s.1 == kind && s.2 == request)
            .unwrap()
            .0
    };
    (seq("pickup"), seq("dropoff"))
}

fn event(kind: &str, seq: i64, at: &str) -> Value {
    json!({ "client_event_id": uuid::Uuid::new_v4(), "kind": kind, "stop_seq": seq, "occurred_at": at })
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn past_times_duplicates_unknown_fields_and_retries_are_answered_clearly(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let (mp, to) = (app.meeting_point("Palmori").await, app.farm(0).await);
    // Times that have passed (07:00 in Rome now).
    for (body, field) in [
        (
            ride(&cases[0], &mp, &to, "2026-11-23", "09:00"),
            "service_date",
        ),
        (ride(&cases[0], &mp, &to, TODAY, "06:00"), "earliest_pickup"),
        (
            json!({ "case_id": cases[0], "purpose": "work_shift", "service_date": TODAY,
                    "pickup": { "meeting_point_id": mp }, "dropoff": { "place_id": to },
                    "latest_arrival": "06:30" }),
            "latest_arrival",
        ),
        (
            ride(&cases[0], &mp, &to, "2028-01-10", "09:00"),
            "service_date",
        ),
    ] {
        let r = app.post("/api/ride-requests", &cw, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }
    // A misspelt field is not dropped silently.
    let mut typo = ride(&cases[0], &mp, &to, TOMORROW, "09:00");
    typo["pasengers"] = json!(2);
    let r = app.post("/api/ride-requests", &cw, &typo).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "pasengers");
    assert_eq!(app.count("ride_request").await, 0);
    // The same person twice at overlapping times: a conflict naming the first ride.
    let first = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &mp, &to, TOMORROW, "09:00"),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let first_id = first.body["request"]["ride_request_id"].as_str().unwrap();
    let again = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &mp, &app.farm(1).await, TOMORROW, "09:10"),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(again.body["error"]["code"], "duplicate_booking");
    assert!(again.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(first_id));
    // Later that day is another trip.
    let later = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &mp, &to, TOMORROW, "14:00"),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{:?}", later.body);
    // An appointment retried with its key is booked once; the key with another body is refused.
    let asl = app
        .id("select place_id from place where name = 'ASL Foggia - Poliambulatorio'")
        .await;
    let appt = json!({ "case_id": cases[1], "place_id": asl, "starts_at": "2026-11-26T09:00:00Z",
                       "ends_at": "2026-11-26T10:00:00Z", "description": "visita", "from": { "meeting_point_id": mp } });
    let (s1, b1, replayed1) = post_with_key(&app, "/api/appointments", &cw, "appt-1", &appt).await;
    let (s2, b2, replayed2) = post_with_key(&app, "/api/appointments", &cw, "appt-1", &appt).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{b1:?} {b2:?}"
    );
    assert!(!replayed1 && replayed2, "the retry is a replay");
    assert_eq!(b1["appointment_id"], b2["appointment_id"]);
    assert_eq!(app.count("appointment").await, 1);
    let mut other = appt.clone();
    other["description"] = json!("another visit");
    let (s3, b3, _) = post_with_key(&app, "/api/appointments", &cw, "appt-1", &other).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{b3:?}");
    assert_eq!(b3["error"]["field"], "Idempotency-Key");
    // An appointment that has already started.
    let mut past = appt.clone();
    past["starts_at"] = json!("2026-11-24T05:00:00Z");
    past["ends_at"] = json!("2026-11-24T05:30:00Z");
    let r = app.post("/api/appointments", &cw, &past).await;
    assert_eq!(r.error_field(), "starts_at", "{:?}", r.body);
    assert_eq!(app.count("appointment").await, 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_rider_boarding_early_does_not_stop_live_insertion(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let (mp, to) = (app.meeting_point("Palmori").await, app.farm(2).await);
    // Two riders from one meeting point to one farm, 09:00 and 09:20: one van picks both up,
    // then drops both off.
    let ids = book_two_riders_today(&app, &cw, &cases, &mp, &to).await;
    assert_eq!(ids[0].1, ids[1].1, "one run for both");
    let run = ids[0].1.clone();
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind::text from run_stop where run_id = $1::uuid and kind in ('pickup', 'dropoff') order by seq",
    )
    .bind(&run)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        ["pickup", "pickup", "dropoff", "dropoff"],
        "both on board together"
    );
    give_to_marco(&app, &coord, &run).await;
    // 08:25: the driver was early and the first rider boarded at 08:20, 40 minutes early.
    let later = spawn_at(&pool, "2026-11-24T07:25:00Z").await;
    let marco = later.login("driver.marco").await;
    let (p, _) = stops_of(&later, &marco, &run, &ids[0].0).await;
    let r = later
        .post_events(
            &format!("/driver/api/runs/{run}/events"),
            &marco,
            &json!({ "events": [event("arrived", p, "2026-11-24T07:18:00Z"), event("boarded", p, "2026-11-24T07:20:00Z")] }),
        )
        .await;
    assert_eq!(
        r.body["applied"].as_array().unwrap().len(),
        2,
        "{:?}",
        r.body
    );
    // Riders keep booking for today, and each gets an answer.
    let cw = later.login("cw.foggia").await;
    for (i, t) in [(2, "10:00"), (3, "10:30")] {
        let r = later
            .post(
                "/api/ride-requests",
                &cw,
                &ride(&cases[i], &mp, &later.farm(3).await, TODAY, t),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let outcome = r.body["live"][0]["outcome"].as_str().unwrap_or("none");
        assert!(
            outcome == "confirmed" || outcome == "refused",
            "a pickup time or a refusal, never silence: {:?}",
            r.body
        );
        if outcome == "confirmed" {
            assert_eq!(r.body["request"]["status"], "confirmed");
        }
    }
    // The coordinator sees the runs, with a flag on any promise the plan can no longer keep.
    let runs = later
        .get(
            &format!("/api/runs?region=puglia&date={TODAY}"),
            &later.login("coord.foggia").await,
        )
        .await;
    let flags: Vec<&Value> = runs
        .body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["stops"].as_array().unwrap())
        .map(|s| &s["promise_at_risk"])
        .collect();
    assert!(!flags.is_empty() && flags.iter().all(|f| f.is_boolean()));
    // The early rider is still on board and still carried to the farm.
    let on_run: i64 = sqlx::query_scalar(
        "select count(*) from run_stop where ride_request_id = $1::uuid and kind = 'dropoff' and status = 'pending'",
    )
    .bind(&ids[0].0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(on_run, 1);
    let violations = check_day(&pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_van_serves_another_run_after_completing_one(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    // One van in service today.
    sqlx::query("update vehicle set active = (label = 'FG-PSG-01')")
        .execute(&pool)
        .await
        .unwrap();
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let (mp, to) = (app.meeting_point("Palmori").await, app.farm(0).await);
    let r = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &mp, &to, TODAY, "08:00"),
        )
        .await;
    assert_eq!(r.body["live"][0]["outcome"], "confirmed", "{:?}", r.body);
    let first = r.body["request"]["ride_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = r.body["live"][0]["run_id"].as_str().unwrap().to_owned();
    give_to_marco(&app, &coord, &run).await;
    // 10:00: the run was driven and is completed.
    let later = spawn_at(&pool, "2026-11-24T09:00:00Z").await;
    let marco = later.login("driver.marco").await;
    let (p, d) = stops_of(&later, &marco, &run, &first).await;
    let r = later
        .post_events(
            &format!("/driver/api/runs/{run}/events"),
            &marco,
            &json!({ "events": [event("arrived", p, "2026-11-24T07:00:00Z"), event("boarded", p, "2026-11-24T07:01:00Z"),
                                event("arrived", d, "2026-11-24T07:30:00Z"), event("dropped_off", d, "2026-11-24T07:31:00Z")] }),
        )
        .await;
    assert_eq!(r.body["run_status"], "completed", "{:?}", r.body);
    // A ride at noon: the same van takes it, in a new run.
    let cw = later.login("cw.foggia").await;
    let r = later
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[1], &mp, &to, TODAY, "12:00"),
        )
        .await;
    assert_eq!(
        r.body["live"][0]["outcome"], "confirmed",
        "the van works its whole shift: {:?}",
        r.body
    );
    let second = r.body["live"][0]["run_id"].as_str().unwrap();
    assert_ne!(second, run);
    let vans: HashMap<String, String> = sqlx::query_as(
        "select run_id::text, vehicle_id::text from run where run_id = any($1::uuid[])",
    )
    .bind(vec![
        uuid::Uuid::parse_str(&run).unwrap(),
        uuid::Uuid::parse_str(second).unwrap(),
    ])
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(vans[&run], vans[second], "the same van");
    let violations = check_day(&pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_subscription_made_after_the_run_was_made_joins_it(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let cw = app.login("cw.foggia").await;
    let pista_place = app
        .id("select place_id from place where name = 'Borgo Mezzanone - ex pista'")
        .await;
    let pista = app.id("select meeting_point_id from meeting_point where place_id = (select place_id from place where name = 'Borgo Mezzanone - ex pista') order by name limit 1",
    )
    .await;
    let packing = app
        .id("select place_id from place where kind = 'packing_house' order by name limit 1")
        .await;
    let bus = app
        .id("select vehicle_id from vehicle where label = 'FG-PSG-05'")
        .await;
    let line = app
        .post(
            "/api/lines",
            &admin,
            &json!({ "name": "Pista - magazzino", "region_code": "puglia", "season_start": "2026-11-01",
                     "season_end": "2026-12-31", "operating_days": [1, 2, 3, 4, 5, 6], "vehicle_id": bus,
                     "stops": [ { "place_id": pista_place, "meeting_point_id": pista, "stop_time": "05:40" },
                                { "place_id": packing, "stop_time": "06:10" } ] }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.body);
    let line_id = line.body["line_id"].as_str().unwrap().to_owned();
    // Tomorrow's run is made (by the evening's planning, or by hand) before the person subscribes.
    let made = app
        .post(
            "/api/lines/materialise",
            &coord,
            &json!({ "region_code": "puglia", "date": TOMORROW }),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{:?}", made.body);
    let run = made.body["runs"][0]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["runs"][0]["ride_requests"], 0);
    let cases = app.foggia_cases().await;
    let sub = app
        .post(
            &format!("/api/lines/{line_id}/subscriptions"),
            &cw,
            &json!({ "case_id": cases[0], "board_seq": 0, "alight_seq": 1,
                     "valid_from": TOMORROW, "valid_to": "2026-11-30" }),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{:?}", sub.body);
    assert_eq!(
        sub.body["joined_runs"],
        json!([{ "service_date": TOMORROW, "run_id": run, "outcome": "joined" }])
    );
    // The rider is on the run: a confirmed request with the line's boarding time, and the
    // two stops in order between the run's start and end.
    let (status, promised): (String, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "select status::text, promised_pickup_at from ride_request where run_id = $1::uuid",
    )
    .bind(&run)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "confirmed");
    assert_eq!(
        promised.to_rfc3339(),
        "2026-11-25T04:40:00+00:00",
        "05:40 in Rome"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind::text from run_stop where run_id = $1::uuid order by seq")
            .bind(&run)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["start", "pickup", "dropoff", "end"]);
    let violations = check_day(&pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn planning_a_small_day_stops_when_the_search_has_converged(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let mp = app.meeting_point("Palmori").await;
    for (i, case) in cases.iter().take(4).enumerate() {
        let to = app.farm(i64::try_from(i).unwrap()).await;
        let r = app
            .post(
                "/api/ride-requests",
                &cw,
                &ride(case, &mp, &to, TOMORROW, "06:00"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let done = app.plan_day(&coord, TOMORROW, 60).await;
    assert_eq!(done["status"], "done", "{done:?}");
    assert_eq!(done["summary"]["served"], 4);
    assert_eq!(done["summary"]["converged_early"], true, "{done:?}");
    assert!(
        done["summary"]["solve_ms"].as_u64().unwrap() < 60_000,
        "the limit is a cap"
    );
    assert!(
        done["progress"].as_str().unwrap().contains("converged"),
        "{done:?}"
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_replayed_booking_is_an_audited_read(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let body = ride(
        &cases[0],
        &app.meeting_point("Palmori").await,
        &app.farm(0).await,
        TOMORROW,
        "09:00",
    );
    let replays = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from case_access_audit where purpose = 'booking replay' and case_id = $1::uuid",
        )
        .bind(&cases[0])
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let (s1, b1, _) = post_with_key(&app, "/api/ride-requests", &cw, "ride-1", &body).await;
    assert_eq!(s1, StatusCode::CREATED);
    assert_eq!(replays().await, 0);
    let (s2, b2, _) = post_with_key(&app, "/api/ride-requests", &cw, "ride-1", &body).await;
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(b2["replayed"], true);
    assert_eq!(b2["request"]["known_as"], b1["request"]["known_as"]);
    assert_eq!(
        replays().await,
        1,
        "the name shown again is an audited read"
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn nul_characters_and_huge_text_get_a_422_naming_the_field(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    // Without a login: the username itself.
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({ "username": "cw.foggia\u{0}", "password": "passaggio-demo" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "username");
    let cw = app.login("cw.foggia").await;
    let people = app.count("person").await;
    let r = app
        .post(
            "/api/cases",
            &cw,
            &json!({ "known_as": "x".repeat(1_900_000), "arrival_channel": "outreach", "opened_on": "2026-11-02" }),
        )
        .await;
    assert!(
        r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        r.status
    );
    let r = app
        .post(
            "/api/cases",
            &cw,
            &json!({ "known_as": "y".repeat(5_000), "arrival_channel": "outreach", "opened_on": "2026-11-02" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "known_as");
    let r = app.get("/api/ride-requests?date=2026-11-24%00", &cw).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(app.count("person").await, people, "nothing written");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_rider_is_confirmed_only_on_a_run_with_a_driver(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    // Today only Marco works (the others' shifts are in the evening).
    sqlx::query(
        "update driver set shift_start = case when display_name = 'Marco' then '05:00'::time else '20:00'::time end,
                           shift_end = '22:00'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let cases = app.foggia_cases().await;
    let (mp, to) = (app.meeting_point("Palmori").await, app.farm(1).await);
    // Two full vans at the same time: two runs.
    let full = |case: &String| {
        let mut r = ride(case, &mp, &to, TODAY, "09:00");
        r["passengers"] = json!(8);
        r
    };
    let first = app.post("/api/ride-requests", &cw, &full(&cases[0])).await;
    assert_eq!(
        first.body["live"][0]["outcome"], "confirmed",
        "{:?}",
        first.body
    );
    let second = app.post("/api/ride-requests", &cw, &full(&cases[1])).await;
    assert_eq!(
        second.body["live"][0]["outcome"], "queued",
        "{:?}",
        second.body
    );
    assert!(second.body["live"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no driver"));
    assert_eq!(
        second.body["request"]["status"], "planned",
        "not confirmed without a driver"
    );
    let run = second.body["request"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(Some(run.as_str()), first.body["live"][0]["run_id"].as_str());
    // Marco already drives the other run at that time: refused.
    let marco = app
        .id("select driver_id from driver where display_name = 'Marco'")
        .await;
    let r = app
        .post(
            &format!("/api/runs/{run}/driver"),
            &coord,
            &json!({ "driver_id": marco }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "driver_unavailable");
    // Giulia's shift is the evening: refused too; then she comes in early and takes it.
    let giulia = app
        .id("select driver_id from driver where display_name = 'Giulia'")
        .await;
    let r = app
        .post(
            &format!("/api/runs/{run}/driver"),
            &coord,
            &json!({ "driver_id": giulia }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    sqlx::query("update driver set shift_start = '07:00' where display_name = 'Giulia'")
        .execute(&pool)
        .await
        .unwrap();
    let r = app
        .post(
            &format!("/api/runs/{run}/driver"),
            &coord,
            &json!({ "driver_id": giulia }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let id = second.body["request"]["ride_request_id"].as_str().unwrap();
    let now = app.get(&format!("/api/ride-requests/{id}"), &cw).await;
    assert_eq!(now.body["status"], "confirmed", "{:?}", now.body);
    let violations = check_day(&pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn planning_gives_every_run_a_driver_and_no_driver_two_vans(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let mp = app.meeting_point("Palmori").await;
    for (i, case) in cases.iter().take(6).enumerate() {
        let mut r = ride(
            case,
            &mp,
            &app.farm(i64::try_from(i).unwrap()).await,
            TOMORROW,
            "06:00",
        );
        r["passengers"] = json!(4);
        let r = app.post("/api/ride-requests", &cw, &r).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let done = app.plan_day(&coord, TOMORROW, 5).await;
    assert_eq!(done["status"], "done", "{done:?}");
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    let runs = runs.body.as_array().unwrap();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(runs.iter().all(|r| r["driver_id"].is_string()), "{runs:?}");
    // Every rider placed on a run is confirmed: each run has a driver.
    let (placed, confirmed): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where status = 'confirmed') from ride_request
         where service_date = $1::date and run_id is not null",
    )
    .bind(TOMORROW)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(placed >= 2);
    assert_eq!(confirmed, placed, "{runs:#?}");
    let violations = check_day(&pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_late_van_re_times_its_run_and_flags_the_promises_it_cannot_keep(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let (mp, to) = (app.meeting_point("Palmori").await, app.farm(2).await);
    // Two riders from one meeting point, 09:00 and 09:20, on one run.
    let ids = book_two_riders_today(&app, &cw, &cases, &mp, &to).await;
    let run = ids[0].1.clone();
    assert_eq!(ids[1].1, run);
    give_to_marco(&app, &app.login("coord.foggia").await, &run).await;
    // 10:05: the van reaches the first rider an hour late.
    let later = spawn_at(&pool, "2026-11-24T09:05:00Z").await;
    let marco = later.login("driver.marco").await;
    let (p, _) = stops_of(&later, &marco, &run, &ids[0].0).await;
    let r = later
        .post_events(
            &format!("/driver/api/runs/{run}/events"),
            &marco,
            &json!({ "events": [event("arrived", p, "2026-11-24T09:00:00Z")] }),
        )
        .await;
    assert_eq!(
        r.body["applied"].as_array().unwrap().len(),
        1,
        "{:?}",
        r.body
    );
    // The rest of the run follows from there (re-timed in the background, within seconds),
    // and the coordinator sees which promises are now at risk.
    let coord = later.login("coord.foggia").await;
    let late: chrono::DateTime<chrono::Utc> = "2026-11-24T09:00:00Z".parse().unwrap();
    let mut found = None;
    for _ in 0..100 {
        let runs = later
            .get(&format!("/api/runs?region=puglia&date={TODAY}"), &coord)
            .await;
        let this = run_in(&runs.body, &run).clone();
        let stop = this["stops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["ride_request_id"] == ids[1].0 && s["kind"] == "pickup")
            .unwrap()
            .clone();
        let at: chrono::DateTime<chrono::Utc> =
            stop["planned_arrival"].as_str().unwrap().parse().unwrap();
        found = Some((at, stop));
        if at >= late {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (planned, second_pickup) = found.unwrap();
    assert!(
        planned >= late,
        "re-timed from the late arrival (promised for 09:20 in Rome, 08:20 UTC): {second_pickup:?}"
    );
    assert_eq!(second_pickup["promise_at_risk"], true, "{second_pickup:?}");
    let violations = check_day(&pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
    // Had Marco's shift ended at 10:30, the re-timed run would now end after it: the
    // coordinator sees that too.
    let past_shift = |body: Value| run_in(&body, &run)["past_driver_shift"].clone();
    let path = format!("/api/runs?region=puglia&date={TODAY}");
    assert_eq!(past_shift(later.get(&path, &coord).await.body), false);
    sqlx::query(
        "update driver set shift_start = '05:00', shift_end = '10:30' from staff s
         where s.staff_id = driver.staff_id and s.username = 'driver.marco'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(past_shift(later.get(&path, &coord).await.body), true);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_dawn_line_van_then_takes_appointment_rides(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let cw = app.login("cw.foggia").await;
    // The only van in service drives the dawn line, 05:40 to 06:10.
    sqlx::query("update vehicle set active = (label = 'FG-PSG-05')")
        .execute(&pool)
        .await
        .unwrap();
    let bus = app
        .id("select vehicle_id from vehicle where label = 'FG-PSG-05'")
        .await;
    let pista_place = app
        .id("select place_id from place where name = 'Borgo Mezzanone - ex pista'")
        .await;
    let packing = app
        .id("select place_id from place where kind = 'packing_house' order by name limit 1")
        .await;
    let line = app
        .post(
            "/api/lines",
            &admin,
            &json!({ "name": "Alba", "region_code": "puglia", "season_start": "2026-11-01",
                     "season_end": "2026-12-31", "operating_days": [1, 2, 3, 4, 5, 6], "vehicle_id": bus,
                     "stops": [ { "place_id": pista_place, "stop_time": "05:40" },
                                { "place_id": packing, "stop_time": "06:10" } ] }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.body);
    // An appointment at the ASL at 11:00 tomorrow, with the ride there and back.
    let cases = app.foggia_cases().await;
    let asl = app
        .id("select place_id from place where name = 'ASL Foggia - Poliambulatorio'")
        .await;
    let r = app
        .post(
            "/api/appointments",
            &cw,
            &json!({ "case_id": cases[0], "place_id": asl, "starts_at": "2026-11-25T10:00:00Z",
                     "ends_at": "2026-11-25T10:30:00Z", "description": "visita",
                     "from": { "meeting_point_id": app.meeting_point("Palmori").await } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let done = app.plan_day(&coord, TOMORROW, 10).await;
    assert_eq!(
        done["summary"]["served"], 2,
        "both appointment rides: {done:?}"
    );
    // Two runs for the one van: the line at dawn, then the appointment rides from where the
    // line ends, after it ends.
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    let runs = runs.body.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert!(runs.iter().all(|r| r["vehicle_id"] == bus));
    let fleet = runs.iter().find(|r| r["line_id"].is_null()).unwrap();
    let start = &fleet["stops"][0];
    let line_end: chrono::DateTime<chrono::Utc> = "2026-11-25T05:10:00Z".parse().unwrap();
    let started: chrono::DateTime<chrono::Utc> = start["planned_departure"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(started >= line_end, "after the line: {start:?}");
    let violations = check_day(&pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}
