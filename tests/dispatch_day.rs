//! Bookings, appointments, day planning and live changes against the real service.

use passaggio_tests::{check_day, run_in, spawn_demo_at, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

/// Tuesday 24 November 2026, 07:00 in Rome.
const NOW: &str = "2026-11-24T06:00:00Z";
const TODAY: &str = "2026-11-24";
const TOMORROW: &str = "2026-11-25";

fn ride(case: &str, from_mp: &str, to_place: &str, date: &str, earliest: &str) -> Value {
    json!({ "case_id": case, "purpose": "work_shift", "service_date": date,
            "pickup": { "meeting_point_id": from_mp }, "dropoff": { "place_id": to_place },
            "earliest_pickup": earliest })
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_retried_booking_is_written_once_and_bad_places_are_refused(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let case = app.foggia_cases().await.remove(0);
    let mp = app.meeting_point("Borgo Mezzanone - ex pista").await;
    let to = app.farm(0).await;
    let body = ride(&case, &mp, &to, TOMORROW, "05:30");
    let send = |key: &'static str| {
        let client = reqwest::Client::new();
        let url = app.url("/api/ride-requests");
        let cw = cw.clone();
        let body = body.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(cw)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (first, second) = tokio::join!(send("k-1"), send("k-1"));
    let statuses = [first.0, second.0];
    assert!(
        statuses.contains(&StatusCode::CREATED) && statuses.contains(&StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        first.1["request"]["ride_request_id"],
        second.1["request"]["ride_request_id"]
    );
    assert_eq!(app.count("ride_request").await, 1);
    let r = &first.1["request"];
    assert_eq!(r["status"], "requested");
    assert_eq!(r["booked_channel"], "case_worker");
    // 05:30 in Rome is 04:30 UTC in November.
    assert_eq!(r["earliest_pickup"], "2026-11-25T04:30:00Z");

    // A position outside every service area is refused, naming the field; nothing is written.
    let mut outside = body.clone();
    outside["pickup"] = json!({ "position": { "lon": 16.60, "lat": 40.66 } });
    let r = app.post("/api/ride-requests", &cw, &outside).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "pickup.position");
    // A position inside is snapped to the nearest meeting point of the area.
    let mut inside = body.clone();
    inside["pickup"] = json!({ "position": { "lon": 15.5070, "lat": 41.5930 } });
    // Later than the first booking: the same person cannot be booked twice at one time.
    inside["earliest_pickup"] = json!("07:30");
    let r = app.post("/api/ride-requests", &cw, &inside).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body["request"]["pickup_name"]
        .as_str()
        .unwrap()
        .starts_with("Torretta Antonacci"));
    // Another Polo's staff cannot book for this case; drivers cannot book at all.
    let other = app
        .post(
            "/api/ride-requests",
            &app.login("cw.sansevero").await,
            &body,
        )
        .await;
    assert_eq!(other.error_field(), "case_id");
    let driver = app
        .post(
            "/api/ride-requests",
            &app.login("driver.marco").await,
            &body,
        )
        .await;
    assert_eq!(driver.status, StatusCode::FORBIDDEN);
    let mut bad = body.clone();
    bad["purpose"] = json!("party");
    assert_eq!(
        app.post("/api/ride-requests", &cw, &bad)
            .await
            .error_field(),
        "purpose"
    );
    let mut bad = body.clone();
    bad["latest_arrival"] = json!("05:00");
    assert_eq!(
        app.post("/api/ride-requests", &cw, &bad)
            .await
            .error_field(),
        "latest_arrival"
    );
    assert_eq!(app.count("ride_request").await, 2);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_recurring_booking_writes_one_request_per_day_and_cancel_keeps_history(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let case = app.foggia_cases().await.remove(0);
    let mut body = ride(
        &case,
        &app.meeting_point("Palmori").await,
        &app.farm(1).await,
        "2026-11-30",
        "06:00",
    );
    body["recurrence"] = json!({ "weekdays": [1, 3, 5], "until": "2026-12-11" });
    let r = app.post("/api/ride-requests", &cw, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["ride_request_ids"].as_array().unwrap().len(),
        6,
        "Mon/Wed/Fri for two weeks"
    );
    let id = r.body["ride_request_ids"][2].as_str().unwrap();
    let c = app
        .post(
            &format!("/api/ride-requests/{id}/cancel"),
            &cw,
            &json!({ "reason": "giorno di riposo" }),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["status"], "cancelled");
    let history: Vec<&str> = c.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["requested", "cancelled"]);
    assert_eq!(c.body["history"][1]["reason"], "giorno di riposo");
    let again = app
        .post(
            &format!("/api/ride-requests/{id}/cancel"),
            &cw,
            &json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "cancelling twice is harmless");
    let day = app.get("/api/ride-requests?date=2026-12-02", &cw).await;
    assert_eq!(day.body.as_array().unwrap().len(), 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_appointment_books_the_outbound_and_return_rides(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let coord = app.login("coord.foggia").await;
    let case = app.foggia_cases().await.remove(1);
    let asl = app
        .id("select place_id from place where name = 'ASL Foggia - Poliambulatorio'")
        .await;
    let mp = app.meeting_point("Borgo Mezzanone - ex pista").await;
    let r = app
        .post(
            "/api/appointments",
            &coord,
            &json!({ "case_id": case, "place_id": asl, "starts_at": "2026-11-26T09:00:00Z", "ends_at": "2026-11-26T10:00:00Z",
                     "description": "visita medica", "from": { "meeting_point_id": mp } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let out = app
        .get(
            &format!(
                "/api/ride-requests/{}",
                r.body["outbound"].as_str().unwrap()
            ),
            &coord,
        )
        .await;
    assert_eq!(out.body["purpose"], "appointment");
    assert_eq!(
        out.body["latest_arrival"], "2026-11-26T08:45:00Z",
        "15 minutes before the start"
    );
    assert_eq!(out.body["appointment_id"], r.body["appointment_id"]);
    let back = app
        .get(
            &format!("/api/ride-requests/{}", r.body["return"].as_str().unwrap()),
            &coord,
        )
        .await;
    assert_eq!(back.body["purpose"], "return");
    assert_eq!(back.body["earliest_pickup"], "2026-11-26T10:00:00Z");
    assert_eq!(back.body["dropoff_place_id"], out.body["pickup_place_id"]);
    let bad = app
        .post(
            "/api/appointments",
            &coord,
            &json!({ "case_id": case, "place_id": asl, "starts_at": "2026-11-26T09:00:00Z", "ends_at": "2026-11-26T08:00:00Z",
                     "description": "x", "from": { "meeting_point_id": mp } }),
        )
        .await;
    assert_eq!(bad.error_field(), "ends_at");
}

/// A work line of two stops (the first at a meeting point) on the vehicle `bus`, in season
/// through December 2026.
async fn two_stop_line(
    app: &TestApp,
    admin: &str,
    name: &str,
    days: Value,
    bus: &str,
    (from_place, from_mp, from_time): (&str, &str, &str),
    (to_place, to_time): (&str, &str),
) {
    let line = app
        .post(
            "/api/lines",
            admin,
            &json!({ "name": name, "region_code": "puglia", "season_start": "2026-11-01", "season_end": "2026-12-31",
                     "operating_days": days, "vehicle_id": bus,
                     "stops": [ { "place_id": from_place, "meeting_point_id": from_mp, "stop_time": from_time },
                                { "place_id": to_place, "stop_time": to_time } ] }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.body);
}

/// Books `n` morning rides from settlements to farms for `date` and returns their ids.
async fn book_morning(app: &TestApp, token: &str, date: &str, n: usize) -> Vec<String> {
    // One person per ride: a person booked twice at one time is a duplicate booking.
    let mut cases = app.foggia_cases().await;
    while cases.len() < n {
        let r = app
            .post(
                "/api/cases",
                token,
                &json!({ "known_as": format!("Rider {}", cases.len()), "languages": ["fr"],
                         "arrival_channel": "outreach", "opened_on": "2026-11-02" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        cases.push(r.body["case_id"].as_str().unwrap().to_owned());
    }
    let camps = [
        "Borgo Mezzanone - ex pista",
        "Palmori",
        "Contrada Arena (Borgo Mezzanone)",
        "Borgo Incoronata",
    ];
    let mut ids = Vec::new();
    for i in 0..n {
        let mp = app.meeting_point(camps[i % camps.len()]).await;
        let to = app.farm(i64::try_from(i % 6).unwrap()).await;
        let r = app
            .post(
                "/api/ride-requests",
                token,
                &ride(&cases[i], &mp, &to, date, "06:00"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(
            r.body["request"]["ride_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

/// Every request of a run is picked up before it is dropped off, and times never go back.
fn assert_runs_consistent(runs: &Value) {
    for run in runs.as_array().unwrap() {
        let stops = run["stops"].as_array().unwrap();
        let times: Vec<&str> = stops
            .iter()
            .map(|s| s["planned_arrival"].as_str().unwrap())
            .collect();
        let parsed: Vec<chrono::DateTime<chrono::Utc>> =
            times.iter().map(|t| t.parse().unwrap()).collect();
        assert!(
            parsed.windows(2).all(|w| w[0] <= w[1]),
            "times go back in {}: {times:?}",
            run["run_id"]
        );
        for (i, s) in stops.iter().enumerate() {
            if s["kind"] == "pickup" {
                let later = stops[i + 1..].iter().any(|d| {
                    d["kind"] == "dropoff" && d["ride_request_id"] == s["ride_request_id"]
                });
                assert!(
                    later,
                    "pickup without a later drop-off in {}",
                    run["run_id"]
                );
            }
        }
    }
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn planning_a_day_confirms_every_rider_with_a_pickup_time_in_their_window(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let ids = book_morning(&app, &cw, TOMORROW, 10).await;
    let r = app
        .post(
            "/api/plans",
            &coord,
            &json!({ "region_code": "puglia", "service_date": TOMORROW, "time_limit_s": 2 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let job = app
        .wait_for_plan(&coord, r.body["plan_job_id"].as_str().unwrap())
        .await;
    assert_eq!(job["status"], "done", "{job:?}");
    assert_eq!(job["summary"]["served"], 10, "{job:?}");
    assert_eq!(
        job["summary"]["estimated_times"], true,
        "no OSRM in this test: planned on estimates"
    );
    for id in &ids {
        let r = app.get(&format!("/api/ride-requests/{id}"), &cw).await;
        assert_eq!(r.body["status"], "confirmed", "{:?}", r.body);
        let promised: chrono::DateTime<chrono::Utc> = r.body["promised_pickup_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let earliest: chrono::DateTime<chrono::Utc> =
            r.body["earliest_pickup"].as_str().unwrap().parse().unwrap();
        let slack = (promised - earliest).num_seconds();
        assert!(
            (0..=20 * 60).contains(&slack),
            "pickup {slack} s after the earliest"
        );
    }
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);
    let stops: usize = runs
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stops"].as_array().unwrap().len())
        .sum();
    assert_eq!(stops, 10 * 2 + 2 * runs.body.as_array().unwrap().len());

    // Replanning keeps every promise.
    let mut before = Vec::new();
    for id in &ids {
        before.push(
            app.get(&format!("/api/ride-requests/{id}"), &cw).await.body["promised_pickup_at"]
                .clone(),
        );
    }
    let job = app.plan_day(&coord, TOMORROW, 1).await;
    assert_eq!(job["summary"]["served"], 10);
    for (id, b) in ids.iter().zip(before) {
        let r = app.get(&format!("/api/ride-requests/{id}"), &cw).await;
        let was: chrono::DateTime<chrono::Utc> = b.as_str().unwrap().parse().unwrap();
        let now: chrono::DateTime<chrono::Utc> = r.body["promised_pickup_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (now - was).num_seconds().abs() <= 10 * 60,
            "a promise moved by more than the allowed 10 minutes"
        );
    }
    let violations = check_day(&app.pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_ride_booked_for_today_is_inserted_live_or_refused_with_alternatives(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    // The morning plan (07:00 now; rides from 09:00).
    let cases = app.foggia_cases().await;
    let mp = app.meeting_point("Palmori").await;
    for (i, case) in (0_i64..).zip(cases.iter().take(4)) {
        let r = app
            .post(
                "/api/ride-requests",
                &cw,
                &ride(case, &mp, &app.farm(i).await, TODAY, "09:00"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(
            r.body["live"][0]["outcome"], "confirmed",
            "{:?}",
            r.body["live"]
        );
    }
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TODAY}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);
    // One more, live: confirmed with a pickup time in its window.
    let body = ride(
        &cases[0],
        &app.meeting_point("Borgo Mezzanone - ex pista").await,
        &app.farm(5).await,
        TODAY,
        "10:00",
    );
    let r = app.post("/api/ride-requests", &cw, &body).await;
    assert_eq!(r.body["live"][0]["outcome"], "confirmed", "{:?}", r.body);
    let pickup: chrono::DateTime<chrono::Utc> = r.body["live"][0]["pickup_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        pickup
            >= "2026-11-24T09:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
    );
    assert_eq!(r.body["request"]["status"], "confirmed");
    // One that no vehicle can do before the shifts end: refused, with alternatives.
    let late = ride(
        &cases[1],
        &app.meeting_point("Borgo Tre Titoli").await,
        &app.farm(7).await,
        TODAY,
        "21:58",
    );
    let r = app.post("/api/ride-requests", &cw, &late).await;
    assert_eq!(r.body["live"][0]["outcome"], "refused", "{:?}", r.body);
    assert!(!r.body["live"][0]["alternatives"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(r.body["request"]["status"], "refused");
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TODAY}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);

    // A cancellation takes the rider's stops out and re-times the run.
    let id = r.body["request"]["ride_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _ = id;
    let first = runs.body[0].clone();
    let victim = first["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "pickup")
        .unwrap()["ride_request_id"]
        .clone();
    let c = app
        .post(
            &format!("/api/ride-requests/{}/cancel", victim.as_str().unwrap()),
            &cw,
            &json!({ "reason": "malato" }),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let after = app
        .get(&format!("/api/runs?region=puglia&date={TODAY}"), &coord)
        .await;
    assert_runs_consistent(&after.body);
    assert!(after.body.as_array().unwrap().iter().all(|run| run["stops"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["ride_request_id"] != victim)));
    let violations = check_day(&app.pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_coordinator_moves_a_ride_to_another_run_only_when_it_fits(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    // Two riders far apart in time and place, so they end up on different vehicles only if
    // the optimiser wants; then move the second onto the first one's run.
    let a = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(
                &cases[0],
                &app.meeting_point("Palmori").await,
                &app.farm(0).await,
                TODAY,
                "09:00",
            ),
        )
        .await;
    let b = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(
                &cases[1],
                &app.meeting_point("Borgo Mezzanone - ex pista").await,
                &app.farm(2).await,
                TODAY,
                "13:00",
            ),
        )
        .await;
    assert_eq!(a.body["live"][0]["outcome"], "confirmed");
    assert_eq!(b.body["live"][0]["outcome"], "confirmed");
    let run_a = a.body["live"][0]["run_id"].as_str().unwrap();
    let b_id = b.body["request"]["ride_request_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/ride-requests/{b_id}/move"),
            &coord,
            &json!({ "run_id": run_a }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["outcome"], "confirmed");
    assert_eq!(r.body["run_id"], run_a);
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TODAY}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);
    // A case worker may not move rides; an unknown run is refused naming the field.
    assert_eq!(
        app.post(
            &format!("/api/ride-requests/{b_id}/move"),
            &cw,
            &json!({ "run_id": run_a })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post(
            &format!("/api/ride-requests/{b_id}/move"),
            &coord,
            &json!({ "run_id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(r.error_field(), "run_id");
    let violations = check_day(&app.pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_days_requests_are_clustered_by_settlement_without_identities(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    book_morning(&app, &cw, TOMORROW, 8).await;
    let r = app
        .get(
            &format!("/api/ride-requests/clusters?region=puglia&date={TOMORROW}&radius_m=1500"),
            &coord,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let clusters = r.body.as_array().unwrap();
    let total: i64 = clusters
        .iter()
        .map(|c| c["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 8);
    // Four camps, two rides each; Borgo Mezzanone's two camps are 2.6 km apart: four clusters.
    assert_eq!(clusters.len(), 4, "{clusters:?}");
    assert!(clusters.iter().all(|c| c["requests"] == 2));
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["settlement"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Palmori") && names.contains(&"Borgo Mezzanone - ex pista"),
        "{names:?}"
    );
    assert!(!r.body.to_string().contains("case_id") && !r.body.to_string().contains("known_as"));
    // A wider radius merges the Borgo Mezzanone camps.
    let r = app
        .get(
            &format!("/api/ride-requests/clusters?region=puglia&date={TOMORROW}&radius_m=4000"),
            &coord,
        )
        .await;
    assert!(r.body.as_array().unwrap().len() < 4, "{:?}", r.body);
    assert_eq!(
        app.get(
            &format!("/api/ride-requests/clusters?region=puglia&date={TOMORROW}"),
            &cw
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn with_osrm_down_the_day_is_planned_on_estimates(pool: PgPool) {
    assert!(
        dispatch::demo::seed_on(&pool, false, TODAY.parse().unwrap())
            .await
            .unwrap()
    );
    let now: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
    // An OSRM that does not answer (nothing listens on this port): the fallback takes over.
    let dead = routing::travel::OsrmConfig::new("http://127.0.0.1:9");
    let model = routing::travel::FallbackModel::new(routing::travel::Calibration::rural());
    let travel = std::sync::Arc::new(routing::travel::osrm_with_fallback(dead, model).unwrap());
    let app = passaggio_tests::spawn_with(pool, move |s| s.with_travel(travel).with_now(now)).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    book_morning(&app, &cw, TOMORROW, 3).await;
    let job = app.plan_day(&coord, TOMORROW, 1).await;
    assert_eq!(job["status"], "done", "{job:?}");
    assert_eq!(job["summary"]["served"], 3);
    assert_eq!(
        job["estimated_times"], true,
        "the plan says it was made on estimates"
    );
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    assert!(runs
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["estimated_times"] == true));
    let violations = check_day(&app.pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_refused_ride_names_a_work_line_that_still_passes(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let admin = app.login("admin").await;
    let cw = app.login("cw.foggia").await;
    let palmori = app.meeting_point("Palmori").await;
    let palmori_place = app
        .id("select place_id from place where name = 'Palmori'")
        .await;
    let to = app.farm(3).await;
    let bus = app
        .id("select vehicle_id from vehicle where label = 'FG-PSG-03'")
        .await;
    two_stop_line(
        &app,
        &admin,
        "Palmori sera",
        json!([1, 2, 3, 4, 5]),
        &bus,
        (&palmori_place, &palmori, "21:30"),
        (&to, "21:59"),
    )
    .await;
    let cases = app.foggia_cases().await;
    let r = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &palmori, &to, TODAY, "21:58"),
        )
        .await;
    assert_eq!(r.body["live"][0]["outcome"], "refused", "{:?}", r.body);
    let alternatives: Vec<&str> = r.body["live"][0]["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        alternatives[0].contains("Palmori sera") && alternatives[0].contains("21:30"),
        "{alternatives:?}"
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_changed_ride_leaves_its_run_and_is_placed_again_with_its_history(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let body = ride(
        &cases[0],
        &app.meeting_point("Palmori").await,
        &app.farm(0).await,
        TODAY,
        "09:00",
    );
    let r = app.post("/api/ride-requests", &cw, &body).await;
    assert_eq!(r.body["live"][0]["outcome"], "confirmed", "{:?}", r.body);
    let id = r.body["request"]["ride_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app
        .post(
            &format!("/api/ride-requests/{id}/change"),
            &cw,
            &json!({ "earliest_pickup": "11:00", "reason": "turno spostato" }),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["live"][0]["outcome"], "confirmed", "{:?}", c.body);
    let pickup: chrono::DateTime<chrono::Utc> = c.body["live"][0]["pickup_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        pickup
            >= "2026-11-24T10:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
        "{pickup}"
    );
    let statuses: Vec<&str> = c.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["requested", "confirmed", "requested", "confirmed"]
    );
    assert_eq!(c.body["history"][2]["reason"], "turno spostato");
    // The run holds the ride once, at its new time.
    let stops: i64 =
        sqlx::query_scalar("select count(*) from run_stop where ride_request_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stops, 2);
    let bad = app
        .post(
            &format!("/api/ride-requests/{id}/change"),
            &cw,
            &json!({ "latest_arrival": "10:00", "reason": "x" }),
        )
        .await;
    assert_eq!(bad.error_field(), "latest_arrival", "{:?}", bad.body);
    app.post(
        &format!("/api/ride-requests/{id}/cancel"),
        &cw,
        &json!({ "reason": "x" }),
    )
    .await;
    let after = app
        .post(
            &format!("/api/ride-requests/{id}/change"),
            &cw,
            &json!({ "passengers": 2, "reason": "x" }),
        )
        .await;
    assert_eq!(after.status, StatusCode::CONFLICT);
    let violations = check_day(&app.pool, "puglia", TODAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_on_demand_ride_rides_a_work_line_where_it_passes(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let admin = app.login("admin").await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let pista = app.meeting_point("Borgo Mezzanone - ex pista").await;
    let pista_place = app
        .id("select place_id from place where name = 'Borgo Mezzanone - ex pista'")
        .await;
    let packing = app
        .id("select place_id from place where kind = 'packing_house' order by name limit 1")
        .await;
    let bus = app
        .id("select vehicle_id from vehicle where label = 'FG-PSG-05'")
        .await;
    two_stop_line(
        &app,
        &admin,
        "Pista - magazzino",
        json!([1, 2, 3, 4, 5, 6]),
        &bus,
        (&pista_place, &pista, "05:40"),
        (&packing, "06:10"),
    )
    .await;
    let cases = app.foggia_cases().await;
    // 05:30 from the camp to the packing house: the line boards at 05:40, 10 minutes later.
    let on_line = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &pista, &packing, TOMORROW, "05:30"),
        )
        .await;
    // 09:00 the same trip: the line has gone; the fleet takes it.
    let by_fleet = app
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[1], &pista, &packing, TOMORROW, "09:00"),
        )
        .await;
    let job = app.plan_day(&coord, TOMORROW, 1).await;
    assert_eq!(job["summary"]["on_lines"], 1, "{job:?}");
    assert_eq!(job["summary"]["served"], 2, "{job:?}");
    let a = app
        .get(
            &format!(
                "/api/ride-requests/{}",
                on_line.body["request"]["ride_request_id"].as_str().unwrap()
            ),
            &cw,
        )
        .await;
    assert_eq!(a.body["status"], "confirmed");
    assert_eq!(
        a.body["promised_pickup_at"], "2026-11-25T04:40:00Z",
        "05:40 in Rome"
    );
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);
    let line_run = runs
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| !r["line_id"].is_null())
        .unwrap();
    assert_eq!(line_run["run_id"], a.body["run_id"]);
    let b = app
        .get(
            &format!(
                "/api/ride-requests/{}",
                by_fleet.body["request"]["ride_request_id"]
                    .as_str()
                    .unwrap()
            ),
            &cw,
        )
        .await;
    assert_eq!(b.body["status"], "confirmed");
    assert_ne!(b.body["run_id"], a.body["run_id"]);
    // Replanning leaves the line rider where they are.
    let job = app.plan_day(&coord, TOMORROW, 1).await;
    assert_eq!(
        job["summary"]["served"], 1,
        "only the fleet rider is planned again: {job:?}"
    );
    let stops: i64 =
        sqlx::query_scalar("select count(*) from run_stop where ride_request_id = $1::uuid")
            .bind(on_line.body["request"]["ride_request_id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stops, 2);
    let violations = check_day(&app.pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A case worker books a ride of `case` on TOMORROW from `mp` to `to` at `at`: it is placed
/// live.
async fn book_confirmed_live(app: &TestApp, case: &str, mp: &str, to: &str, at: &str) {
    let cw = app.login("cw.foggia").await;
    let r = app
        .post("/api/ride-requests", &cw, &ride(case, mp, to, TOMORROW, at))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["live"][0]["outcome"], "confirmed", "{:?}", r.body);
}

/// The console map's data of TOMORROW, with a coordinator's console session.
async fn map_of_tomorrow(app: &TestApp, cookie: &str) -> Value {
    let (status, json) = app
        .console_get(&format!("/console/day.json?date={TOMORROW}"), cookie)
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    serde_json::from_str(&json).unwrap()
}

/// A session of the demo driver who drives `run_id`.
async fn driver_of(app: &TestApp, run_id: &str) -> String {
    for name in [
        "driver.marco",
        "driver.amadou",
        "driver.giulia",
        "driver.kofi",
    ] {
        let token = app.login(name).await;
        let m = app.get(&format!("/driver/api/runs/{run_id}"), &token).await;
        if m.status == StatusCode::OK {
            return token;
        }
    }
    panic!("no demo driver has run {run_id}");
}

/// A van that works the whole day gets its driver's breaks: 45 minutes, nobody on board, never
/// 4 h 30 of duty without one (checked by `check_day`), shown to the driver on the day; a ride
/// booked on the day re-places them, a late van moves them, the coordinator's day page and map
/// show the driver on one, and the driver's own reports (begun late, ended early) are kept.
#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_van_that_works_all_day_gets_its_drivers_breaks(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let mut cases = app.foggia_cases().await;
    while cases.len() < 11 {
        let r = app
            .post(
                "/api/cases",
                &cw,
                &json!({ "known_as": format!("Rider {}", cases.len()), "languages": ["fr"],
                         "arrival_channel": "outreach", "opened_on": "2026-11-02" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        cases.push(r.body["case_id"].as_str().unwrap().to_owned());
    }
    // one ride an hour from 06:00 to 15:00 tomorrow, from a camp to the farm nearest to it
    let mp = app.meeting_point("Palmori").await;
    let farm = app
        .id(
            "select f.place_id from place f, place c where f.kind = 'farm' and c.name = 'Palmori'
             order by st_distance(f.location, c.location) limit 1",
        )
        .await;
    for (i, case) in cases.iter().take(10).enumerate() {
        let r = app
            .post(
                "/api/ride-requests",
                &cw,
                &ride(case, &mp, &farm, TOMORROW, &format!("{:02}:00", 6 + i)),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let job = app.plan_day(&coord, TOMORROW, 2).await;
    assert_eq!(job["summary"]["served"], 10, "{job:?}");
    let runs = app
        .get(&format!("/api/runs?region=puglia&date={TOMORROW}"), &coord)
        .await;
    assert_runs_consistent(&runs.body);
    let violations = check_day(&app.pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");
    let with_breaks: Vec<&Value> = runs
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["breaks"].as_array().unwrap().is_empty())
        .collect();
    assert!(
        !with_breaks.is_empty(),
        "a day of 9 hours has breaks: {:#}",
        runs.body
    );
    for run in &with_breaks {
        for b in run["breaks"].as_array().unwrap() {
            let start: chrono::DateTime<chrono::Utc> =
                b["planned_start"].as_str().unwrap().parse().unwrap();
            let end: chrono::DateTime<chrono::Utc> =
                b["planned_end"].as_str().unwrap().parse().unwrap();
            assert_eq!((end - start).num_minutes(), 45);
        }
    }
    // on the day, the run's driver sees the breaks in the manifest
    let app = passaggio_tests::spawn_at(&pool, "2026-11-25T05:00:00Z").await;
    let run = with_breaks[0];
    let run_id = run["run_id"].as_str().unwrap();
    let token = driver_of(&app, run_id).await;
    let m = app.get(&format!("/driver/api/runs/{run_id}"), &token).await;
    assert_eq!(m.body["breaks"], run["breaks"], "{:?}", m.body);
    // a ride booked on the day for the afternoon is placed live; the breaks still hold
    book_confirmed_live(&app, &cases[10], &mp, &farm, "12:30").await;
    let violations = check_day(&app.pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");

    // The van reaches the stop before its first break 40 minutes late: the run is re-timed
    // from there and the break moves with it, still between its stops.
    let path = format!("/api/runs?region=puglia&date={TOMORROW}");
    let run_of = |body: &Value| run_in(body, run_id).clone();
    let before = run_of(&app.get(&path, &app.login("coord.foggia").await).await.body);
    let after_seq = before["breaks"][0]["after_seq"].as_i64().unwrap();
    let was: chrono::DateTime<chrono::Utc> = before["breaks"][0]["planned_start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stop = before["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["seq"] == after_seq)
        .unwrap();
    let planned: chrono::DateTime<chrono::Utc> =
        stop["planned_arrival"].as_str().unwrap().parse().unwrap();
    let late = planned + chrono::Duration::minutes(40);
    let later =
        passaggio_tests::spawn_at(&pool, &(late + chrono::Duration::minutes(5)).to_rfc3339()).await;
    let coord = later.login("coord.foggia").await;
    // the stops before it were served on time, and reported
    let mut events = Vec::new();
    for stop in before["stops"].as_array().unwrap() {
        let seq = stop["seq"].as_i64().unwrap();
        if seq >= after_seq {
            break;
        }
        let kinds: &[&str] = match stop["kind"].as_str().unwrap() {
            "pickup" => &["arrived", "boarded"],
            "dropoff" => &["dropped_off"],
            _ => &["arrived"],
        };
        for kind in kinds {
            events.push(
                json!({ "client_event_id": uuid::Uuid::new_v4(), "kind": kind,
                                "stop_seq": seq, "occurred_at": stop["planned_arrival"] }),
            );
        }
    }
    events.push(
        json!({ "client_event_id": uuid::Uuid::new_v4(), "kind": "arrived",
                        "stop_seq": after_seq, "occurred_at": late.to_rfc3339() }),
    );
    let r = later
        .post_events(
            &format!("/driver/api/runs/{run_id}/events"),
            &driver_of(&later, run_id).await,
            &json!({ "events": events }),
        )
        .await;
    assert_eq!(
        r.body["applied"].as_array().unwrap().len(),
        events.len(),
        "{:?}",
        r.body
    );
    let mut now = was;
    for _ in 0..100 {
        let run = run_of(&later.get(&path, &coord).await.body);
        now = run["breaks"][0]["planned_start"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        if now != was {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        now >= late,
        "the break moved after the late stop: {was} -> {now}"
    );
    let violations = check_day(&pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");

    // Ten minutes into the break, the coordinator's day page says the driver is on it, and
    // the map's data places it at its stop with its times.
    let run = run_of(&later.get(&path, &coord).await.body);
    let brk = &run["breaks"][0];
    let end: chrono::DateTime<chrono::Utc> = brk["planned_end"].as_str().unwrap().parse().unwrap();
    let hhmm = |t: chrono::DateTime<chrono::Utc>| {
        dispatch::service_day::local(t).format("%H:%M").to_string()
    };
    let during =
        passaggio_tests::spawn_at(&pool, &(now + chrono::Duration::minutes(10)).to_rfc3339()).await;
    let cookie = during.console_login("coord.foggia").await;
    let day = map_of_tomorrow(&during, &cookie).await;
    let drawn = run_in(&day["runs"], run_id);
    assert_eq!(drawn["on_break_until"], hhmm(end), "{drawn:#}");
    let first = &drawn["breaks"][0];
    assert_eq!(first["after_seq"], brk["after_seq"]);
    assert_eq!(first["from"], hhmm(now));
    assert_eq!(first["to"], hhmm(end));
    let stop = run["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["seq"] == brk["after_seq"])
        .unwrap();
    assert_eq!(
        (first["lon"].as_f64(), first["lat"].as_f64()),
        (stop["lon"].as_f64(), stop["lat"].as_f64())
    );
    let (status, page) = during
        .console_get(&format!("/console/?date={TOMORROW}"), &cookie)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("data-on-break-run=\"{run_id}\"")) && page.contains(&hhmm(end)),
        "the day page lists the driver on their break"
    );
    // Another vehicle's run is not on a break then.
    let others = day["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["run_id"] != run_id && !r["on_break_until"].is_null())
        .count();
    assert_eq!(others, 0, "{day:#}");

    // The driver reports the break begun at that moment, ten minutes after it was planned: the
    // break records it and the rest of the run waits for its end.
    let began = now + chrono::Duration::minutes(10);
    let events = format!("/driver/api/runs/{run_id}/events");
    let token = driver_of(&during, run_id).await;
    let at_stop = brk["after_seq"].as_i64().unwrap();
    let report = |kind: &str, at: chrono::DateTime<chrono::Utc>| {
        json!({ "events": [{ "client_event_id": uuid::Uuid::new_v4(), "kind": kind,
                             "stop_seq": at_stop, "occurred_at": at.to_rfc3339() }] })
    };
    let start = report("break_started", began);
    let r = during.post_events(&events, &token, &start).await;
    assert_eq!(r.body["items"][0]["result"], "applied", "{:?}", r.body);
    let r = during.post_events(&events, &token, &start).await;
    assert_eq!(
        r.body["items"][0]["result"], "already_applied",
        "a retry changes nothing"
    );
    let r = during
        .post_events(&events, &token, &report("break_started", began))
        .await;
    assert_eq!(
        r.body["items"][0]["result"], "superseded",
        "already on a break"
    );
    let until = began + chrono::Duration::minutes(45);
    let at = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    // the next stop after the break, once the background re-timing has moved it
    let next_after = |run: &Value| {
        run["stops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "pending" && s["seq"].as_i64() > Some(at_stop))
            .unwrap()
            .clone()
    };
    let mut run = run_of(&during.get(&path, &coord).await.body);
    for _ in 0..100 {
        if at(&next_after(&run)["planned_arrival"]) >= until {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        run = run_of(&during.get(&path, &coord).await.body);
    }
    let taken = &run["breaks"][0];
    assert_eq!(at(&taken["started_at"]), began, "{taken}");
    assert_eq!(at(&taken["planned_start"]), began);
    assert_eq!(at(&taken["planned_end"]), until);
    assert!(taken["ended_at"].is_null());
    let next = next_after(&run);
    assert!(
        at(&next["planned_arrival"]) >= until,
        "the next stop waits for the end of the break: {next}"
    );
    let day = map_of_tomorrow(&during, &cookie).await;
    assert_eq!(run_in(&day["runs"], run_id)["on_break_until"], hhmm(until));
    // A ride booked meanwhile is placed live around it: the reported break stays.
    book_confirmed_live(&during, &cases[10], &mp, &farm, "16:30").await;
    let run = run_of(&during.get(&path, &coord).await.body);
    assert!(
        run["breaks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["started_at"].as_str().map(|s| s.parse().unwrap()) == Some(began)),
        "a re-plan keeps the break the driver reported: {:#}",
        run["breaks"]
    );
    let violations = check_day(&pool, "puglia", TOMORROW).await;
    assert!(violations.is_empty(), "{violations:#?}");

    // Half an hour in, the driver ends it: the break records its end, and a second end has
    // nothing to end.
    let ended = began + chrono::Duration::minutes(30);
    let after =
        passaggio_tests::spawn_at(&pool, &(ended + chrono::Duration::minutes(1)).to_rfc3339())
            .await;
    let token = driver_of(&after, run_id).await;
    let r = after
        .post_events(&events, &token, &report("break_ended", ended))
        .await;
    assert_eq!(r.body["items"][0]["result"], "applied", "{:?}", r.body);
    let r = after
        .post_events(&events, &token, &report("break_ended", ended))
        .await;
    assert_eq!(r.body["items"][0]["result"], "superseded", "{:?}", r.body);
    let coord = after.login("coord.foggia").await;
    let run = run_of(&after.get(&path, &coord).await.body);
    let taken = run["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| !b["started_at"].is_null())
        .unwrap();
    assert_eq!(at(&taken["ended_at"]), ended, "{taken}");
    assert_eq!(at(&taken["planned_end"]), ended);
    let cookie = after.console_login("coord.foggia").await;
    let (_, page) = after
        .console_get(&format!("/console/?date={TOMORROW}"), &cookie)
        .await;
    assert!(
        !page.contains(&format!("data-on-break-run=\"{run_id}\"")),
        "the break is over"
    );
    // A minute later the driver starts another: it takes the next break not taken yet to this
    // stop, or is an extra one when none is left.
    let before = run["breaks"].as_array().unwrap().clone();
    let untaken = before.iter().filter(|b| b["started_at"].is_null()).count();
    let again = ended + chrono::Duration::minutes(1);
    let r = after
        .post_events(&events, &token, &report("break_started", again))
        .await;
    assert_eq!(r.body["items"][0]["result"], "applied", "{:?}", r.body);
    let run = run_of(&after.get(&path, &coord).await.body);
    let now_breaks = run["breaks"].as_array().unwrap();
    assert_eq!(
        now_breaks.len(),
        before.len() + usize::from(untaken == 0),
        "{now_breaks:#?}"
    );
    let open: Vec<&Value> = now_breaks
        .iter()
        .filter(|b| !b["started_at"].is_null() && b["ended_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{now_breaks:#?}");
    assert_eq!(at(&open[0]["started_at"]), again);
    assert_eq!(open[0]["after_seq"].as_i64(), Some(at_stop));
    // The driver forgets to end that one: a quarter of an hour after its planned end the
    // console no longer shows the driver on a break.
    let forgot =
        passaggio_tests::spawn_at(&pool, &(again + chrono::Duration::minutes(61)).to_rfc3339())
            .await;
    let cookie = forgot.console_login("coord.foggia").await;
    let day = map_of_tomorrow(&forgot, &cookie).await;
    let run = run_in(&day["runs"], run_id);
    assert!(run["on_break_until"].is_null(), "{run:#}");
}

/// A driver who reaches a drop-off without having reported its pickup (a tap forgotten) does
/// not stop live booking for the region: the ride is out of the plan, its pickup stays on the
/// run for the report that may still come, and a ride booked then is placed live.
#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_forgotten_pickup_report_does_not_block_live_booking(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let mp = app.meeting_point("Palmori").await;
    let farm = app.farm(0).await;
    for (case, at) in cases.iter().zip(["06:00", "07:00"]) {
        let r = app
            .post(
                "/api/ride-requests",
                &cw,
                &ride(case, &mp, &farm, TOMORROW, at),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let job = app.plan_day(&coord, TOMORROW, 2).await;
    assert_eq!(job["summary"]["served"], 2, "{job:?}");
    let path = format!("/api/runs?region=puglia&date={TOMORROW}");
    let runs = app.get(&path, &coord).await.body;
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line_id"].is_null() && !r["stops"].as_array().unwrap().is_empty())
        .unwrap()
        .clone();
    let run_id = run["run_id"].as_str().unwrap();
    let stops = run["stops"].as_array().unwrap();
    let dropoff = stops.iter().find(|s| s["kind"] == "dropoff").unwrap();
    let pickup = stops
        .iter()
        .find(|s| s["kind"] == "pickup" && s["ride_request_id"] == dropoff["ride_request_id"])
        .unwrap();
    // on the day, the van reaches the drop-off; nothing was reported before it
    let at: chrono::DateTime<chrono::Utc> = dropoff["planned_arrival"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let day =
        passaggio_tests::spawn_at(&pool, &(at + chrono::Duration::minutes(1)).to_rfc3339()).await;
    let driver = driver_of(&day, run_id).await;
    let events = format!("/driver/api/runs/{run_id}/events");
    let r = day
        .post_events(
            &events,
            &driver,
            &json!({ "events": [{ "client_event_id": uuid::Uuid::new_v4(), "kind": "arrived",
                                  "stop_seq": dropoff["seq"], "occurred_at": at.to_rfc3339() }] }),
        )
        .await;
    assert_eq!(r.body["items"][0]["result"], "applied", "{:?}", r.body);
    book_confirmed_live(&day, &cases[2], &mp, &farm, "15:00").await;
    // the pickup is still on the run, and its late report is taken
    let coord = day.login("coord.foggia").await;
    let run = run_in(&day.get(&path, &coord).await.body, run_id).clone();
    let kept = run["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "pickup" && s["ride_request_id"] == pickup["ride_request_id"])
        .expect("the pickup stays on the run")
        .clone();
    assert_eq!(kept["status"], "pending");
    let r = day
        .post_events(
            &events,
            &driver,
            &json!({ "events": [{ "client_event_id": uuid::Uuid::new_v4(), "kind": "boarded",
                                  "stop_seq": kept["seq"], "occurred_at": (at - chrono::Duration::minutes(20)).to_rfc3339() }] }),
        )
        .await;
    assert_eq!(r.body["items"][0]["result"], "applied", "{:?}", r.body);
}
