//! Workers book their own rides (issue #13) through the API: a case worker issues an access
//! card, the person signs in with its code, books (channel `self`, idempotent), sees and
//! cancels their rides, subscribes to a line and ends it, reports to the Polo's coordinator;
//! a revoked card, another person's ride and a flood of wrong codes are refused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use passaggio_tests::{spawn_demo_at, TestApp};

const NOW: &str = "2026-07-14T05:30:00Z";
const TOMORROW: &str = "2026-07-15";

async fn issue(app: &TestApp, staff: &str, case: &str, body: &Value) -> Value {
    let r = app
        .post(&format!("/api/cases/{case}/access-card"), staff, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

async fn sign_in(app: &TestApp, code: &str, pin: Option<&str>) -> reqwest::StatusCode {
    app.call(
        Method::POST,
        "/api/self/sign-in",
        None,
        Some(&json!({ "code": code, "pin": pin })),
    )
    .await
    .status
}

async fn token(app: &TestApp, code: &str) -> String {
    let r = app
        .call(
            Method::POST,
            "/api/self/sign-in",
            None,
            Some(&json!({ "code": code })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_worker_books_sees_and_cancels_their_own_rides(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let card = issue(&app, &cw, &cases[1], &json!({ "language": "ar" })).await;
    let code = card["code"].as_str().unwrap();
    assert_eq!(code.len(), 18 + 5, "grouped by three: {code}");
    assert!(card["sign_in_url"]
        .as_str()
        .unwrap()
        .ends_with(&code.replace('-', "")));
    assert!(card["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(card["card_html"].as_str().unwrap().contains(code));
    // Only the digest is kept.
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from access_card where code_sha256 = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(code.replace('-', ""))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 1);

    // Typed in lower case with spaces: the same code.
    let t = token(&app, &code.to_lowercase().replace('-', " ")).await;
    let me = app.get("/api/self", &t).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert!(me.body["polo"]["phone"].is_string(), "{:?}", me.body);
    // A staff token is not a worker's, and a worker's is not staff's.
    assert_eq!(
        app.get("/api/self", &cw).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/cases", &t).await.status,
        StatusCode::UNAUTHORIZED
    );

    let places = app.get("/api/self/places", &t).await;
    assert_eq!(places.status, StatusCode::OK);
    let mp = places.body["pickups"][0]["meeting_point_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(places.body["pickups"][0]["landmark"].is_string());
    let farm = places.body["work"][0]["place_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !places.body["polo"].as_array().unwrap().is_empty(),
        "the Polo's own place"
    );
    assert!(!places.body["office"].as_array().unwrap().is_empty());

    let booking = json!({ "pickup_meeting_point_id": mp, "destination": "work", "place_id": farm,
        "service_date": TOMORROW, "arrive_by": "06:30", "passengers": 1, "return_at": "15:00" });
    let r = app.post_keyed("/api/self/rides", &t, &booking, "k-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["outcome"], "booked");
    let ride = r.body["ride"]["ride_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(r.body["return_ride"]["ride_request_id"].is_string());
    // The same key again (a double submit): the same booking, nothing new written.
    let before = app.count("ride_request").await;
    let again = app.post_keyed("/api/self/rides", &t, &booking, "k-1").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["ride"]["ride_request_id"], json!(ride));
    assert_eq!(app.count("ride_request").await, before);
    // The ride is the person's own, booked by themself, with no staff author.
    let (channel, booked_by): (String, Option<uuid::Uuid>) = sqlx::query_as(
        "select booked_channel::text, booked_by from ride_request where ride_request_id = $1::uuid",
    )
    .bind(&ride)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((channel.as_str(), booked_by), ("self", None));
    // Without a key, the same trip is a duplicate of the person's own ride.
    let dup = app.post("/api/self/rides", &t, &booking).await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{:?}", dup.body);
    // Bad input names the worker's own fields.
    let mut bad = booking.clone();
    bad["arrive_by"] = json!(null);
    let r = app.post("/api/self/rides", &t, &bad).await;
    assert_eq!(
        (r.status, r.error_field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "leave_at")
    );

    let rides = app.get("/api/self/rides", &t).await;
    assert_eq!(rides.body.as_array().unwrap().len(), 2, "{:?}", rides.body);
    assert!(rides.body[0]["pickup_landmark"].is_string());

    // Another person's ride is not found, to see or to cancel.
    let other = issue(&app, &cw, &cases[2], &json!({})).await;
    let t2 = token(&app, other["code"].as_str().unwrap()).await;
    assert_eq!(
        app.get(&format!("/api/self/rides/{ride}"), &t2)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .post(&format!("/api/self/rides/{ride}/cancel"), &t2, &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(app
        .get("/api/self/rides", &t2)
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());

    let r = app
        .post(&format!("/api/self/rides/{ride}/cancel"), &t, &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(
        app.get("/api/self/rides", &t)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Re-issuing revokes the old card at once: its sessions end, its code fails.
    let renewed = issue(&app, &cw, &cases[1], &json!({ "pin": "4321" })).await;
    assert_eq!(renewed["revoked_card_id"], card["card_id"]);
    assert_eq!(
        app.get("/api/self", &t).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(&app, code, None).await, StatusCode::UNAUTHORIZED);
    let new_code = renewed["code"].as_str().unwrap();
    assert_eq!(
        sign_in(&app, new_code, None).await,
        StatusCode::UNAUTHORIZED,
        "PIN needed"
    );
    assert_eq!(
        sign_in(&app, new_code, Some("1111")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(&app, new_code, Some("4321")).await, StatusCode::OK);
    let r = app
        .post(
            &format!("/api/cases/{}/access-card/revoke", cases[1]),
            &cw,
            &json!({ "reason": "phone lost" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        sign_in(&app, new_code, Some("4321")).await,
        StatusCode::UNAUTHORIZED
    );
    let events = app
        .get(&format!("/api/cases/{}/access-card/events", cases[1]), &cw)
        .await;
    let actions: Vec<&str> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["issued", "revoked", "issued", "revoked"]);
    // Another Polo cannot issue or revoke a card of this case.
    let other_polo = app.login("cw.sansevero").await;
    let r = app
        .post(
            &format!("/api/cases/{}/access-card", cases[1]),
            &other_polo,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn reports_reach_the_coordinator_and_lines_are_subscribed(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let card = issue(&app, &cw, &cases[3], &json!({ "language": "it" })).await;
    let t = token(&app, card["code"].as_str().unwrap()).await;
    let r = app
        .post_keyed(
            "/api/self/reports",
            &t,
            &json!({ "kind": "money", "details": "the driver of a white van asked 5 euro", "anonymous": false }),
            "r-1",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let again = app
        .post_keyed(
            "/api/self/reports",
            &t,
            &json!({ "kind": "money", "details": "the driver of a white van asked 5 euro", "anonymous": false }),
            "r-1",
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let r = app
        .post(
            "/api/self/reports",
            &t,
            &json!({ "kind": "threat", "anonymous": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = app.get("/api/worker-reports", &coord).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let list = list.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let anonymous = list.iter().find(|r| r["kind"] == "threat").unwrap();
    assert!(anonymous["case_id"].is_null() && anonymous["known_as"].is_null());
    let named = list.iter().find(|r| r["kind"] == "money").unwrap();
    assert_eq!(named["case_id"], json!(cases[3]));
    // Confidential: the case worker and another Polo's coordinator see nothing.
    assert_eq!(
        app.get("/api/worker-reports", &cw).await.status,
        StatusCode::FORBIDDEN
    );
    let other = app.login("coord.sansevero").await;
    assert!(app
        .get("/api/worker-reports", &other)
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
    let id = named["report_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/worker-reports/{id}/status"),
            &coord,
            &json!({ "status": "in_progress" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("in_progress"))
    );
    let r = app
        .post(
            &format!("/api/worker-reports/{id}/status"),
            &other,
            &json!({ "status": "closed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Lines: the demo season's lines offered, subscribed for some days, then ended.
    dispatch::demo::seed_season_on(&app.pool, "2026-07-14".parse().unwrap())
        .await
        .unwrap();
    let lines = app.get("/api/self/lines", &t).await;
    assert_eq!(lines.status, StatusCode::OK, "{:?}", lines.body);
    let offer = lines.body["offers"][0].clone();
    assert!(offer["line_id"].is_string(), "{:?}", lines.body);
    let line = offer["line_id"].as_str().unwrap();
    let body = json!({ "board_seq": offer["board_seq"], "alight_seq": offer["alight_seq"],
        "valid_from": TOMORROW, "valid_to": "2026-07-31" });
    let path = format!("/api/self/lines/{line}/subscriptions");
    let r = app.post_keyed(&path, &t, &body, "s-1").await;
    assert!(
        r.status == StatusCode::CREATED || r.body["error"]["code"] == "already_subscribed",
        "{:?}",
        r.body
    );
    let again = app.post_keyed(&path, &t, &body, "s-1").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let sub = again.body["subscription_id"].as_str().unwrap().to_owned();
    let (created_by,): (Option<uuid::Uuid>,) =
        sqlx::query_as("select created_by from line_subscription where subscription_id = $1::uuid")
            .bind(&sub)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(created_by.is_none() || r.status != StatusCode::CREATED);
    let r = app.post(&format!("{path}/{sub}/end"), &t, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "ended");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn wrong_codes_are_slowed_and_say_nothing(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    // The demo card signs in; a revoked or unknown code answers like a wrong one.
    assert_eq!(
        sign_in(&app, dispatch::demo::DEMO_CARD_CODE, None).await,
        StatusCode::OK
    );
    let mut statuses = Vec::new();
    for i in 0..50 {
        let guess = format!(
            "{:0>18}",
            format!("{i}").replace('0', "Z").replace('1', "Y")
        );
        let guess: String = guess
            .chars()
            .map(|c| if c == '0' { 'A' } else { c })
            .collect();
        statuses.push(sign_in(&app, &guess, None).await);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        limited >= 25,
        "50 wrong codes from one client: {limited} refused with 429"
    );
    // Once limited, even the right code waits.
    assert_eq!(
        sign_in(&app, dispatch::demo::DEMO_CARD_CODE, None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_ride_no_vehicle_can_make_is_refused_with_alternatives(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.foggia_cases().await;
    let card = issue(&app, &cw, &cases[1], &json!({})).await;
    let t = token(&app, card["code"].as_str().unwrap()).await;
    let places = app.get("/api/self/places", &t).await;
    let mp = places.body["pickups"][0]["meeting_point_id"].clone();
    // The farthest workplace, to be there ten minutes from now (07:30 in Rome): no vehicle can.
    let work = places.body["work"].as_array().unwrap();
    let farm = work.last().unwrap()["place_id"].clone();
    let r = app
        .post(
            "/api/self/rides",
            &t,
            &json!({ "pickup_meeting_point_id": mp, "destination": "work", "place_id": farm,
                     "service_date": "2026-07-14", "arrive_by": "07:40" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["outcome"], "refused", "{:?}", r.body);
    assert_eq!(r.body["ride"]["status"], "refused");
    // Other times, none already past.
    assert_eq!(r.body["other_times"], json!(["08:40", "09:40"]));
}
