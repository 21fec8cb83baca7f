//! What the driver app asks of the driver API beyond the upload rules of `driver.rs`: free
//! places per stop, the no-show wait, a version to poll, a boarding beyond the free places
//! refused alone, undo and notes, the phone's position with each event; and the built app
//! served under `/driver/` with its cache headers.

use chrono::{Duration, Utc};
use passaggio_tests::{spawn_demo, spawn_with};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::driver::{marco_today, trip, ASL, BORGO, JOB_CENTRE, PALMORI};

fn event(kind: &str, seq: i64, at: chrono::DateTime<Utc>) -> Value {
    json!({ "client_event_id": Uuid::new_v4(), "kind": kind, "stop_seq": seq,
            "occurred_at": at.to_rfc3339() })
}

/// What became of each event of an upload, as `result` or `result:code`.
fn results(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| match i["code"].as_str() {
            Some(c) => format!("{}:{c}", i["result"].as_str().unwrap()),
            None => i["result"].as_str().unwrap().to_owned(),
        })
        .collect()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_manifest_tells_free_places_the_no_show_wait_and_a_version_to_poll(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let mut pair = trip("Blessing", "appointment", BORGO, ASL);
    pair.passengers = 2;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL), pair]).await;
    let path = format!("/driver/api/runs/{}", fx.run_id);
    let m = app.get(&path, &marco).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert_eq!(m.body["no_show_wait_seconds"], 300);
    assert_eq!(m.body["undo_window_seconds"], 180);
    assert!(m.body["notes"]
        .as_array()
        .unwrap()
        .contains(&json!("rider_late")));
    let stops = m.body["stops"].as_array().unwrap();
    // 8 seats: Moussa boards at 1, Blessing and a companion at 2, they leave at 3 and 4.
    let free: Vec<i64> = stops
        .iter()
        .map(|s| s["free_seats"].as_i64().unwrap())
        .collect();
    assert_eq!(free, [8, 8, 7, 5, 6, 8]);
    assert!(stops.iter().all(|s| s["free_wheelchair_places"] == 1));
    // The map's path: without OSRM, straight lines through the distinct stop points in order.
    assert_eq!(m.body["route"]["estimated"], true);
    let line = m.body["route"]["coordinates"].as_array().unwrap();
    assert_eq!(line[0], json!([stops[0]["lon"], stops[0]["lat"]]));
    assert_eq!(
        line.last().unwrap(),
        &json!([stops[5]["lon"], stops[5]["lat"]])
    );
    assert_eq!(stops[1]["rider"]["ride_key"], stops[3]["rider"]["ride_key"]);
    assert_ne!(stops[1]["rider"]["ride_key"], stops[2]["rider"]["ride_key"]);

    let version = app.get(&format!("{path}/version"), &marco).await;
    assert_eq!(version.status, StatusCode::OK);
    assert_eq!(version.body["version"], m.body["version"]);
    let up = app
        .post_events(
            &format!("{path}/events"),
            &marco,
            &json!({ "events": [event("arrived", 1, Utc::now())] }),
        )
        .await;
    assert_eq!(results(&up.body), ["applied"]);
    let audits = || {
        sqlx::query_scalar::<_, i64>("select count(*) from case_access_audit").fetch_one(&app.pool)
    };
    let before = audits().await.unwrap();
    let after = app.get(&format!("{path}/version"), &marco).await;
    assert_ne!(after.body["version"], version.body["version"]);
    assert_eq!(audits().await.unwrap(), before, "the version reads no name");

    let amadou = app.login("driver.amadou").await;
    let theirs = app.get(&format!("{path}/version"), &amadou).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let events = app
        .post(
            &format!("{path}/events"),
            &amadou,
            &json!({ "events": [event("arrived", 1, Utc::now())] }),
        )
        .await;
    assert_eq!(events.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_boarding_beyond_the_free_seats_is_refused_alone(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let mut pair = trip("Blessing", "appointment", BORGO, ASL);
    pair.passengers = 2;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL), pair]).await;
    // The office swapped the van for one with two seats.
    sqlx::query(
        "update vehicle set seats = 2 where vehicle_id = (select vehicle_id from run where run_id = $1)",
    )
    .bind(fx.run_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let path = format!("/driver/api/runs/{}/events", fx.run_id);
    let t0 = Utc::now() - Duration::minutes(30);
    let at = |m: i64| t0 + Duration::minutes(m);
    let up = app
        .post_events(
            &path,
            &marco,
            &json!({ "events": [
                event("arrived", 1, at(0)), event("boarded", 1, at(1)),
                event("arrived", 2, at(2)), event("boarded", 2, at(3)),
                event("dropped_off", 3, at(4)),
            ] }),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(
        results(&up.body),
        [
            "applied",
            "applied",
            "applied",
            "refused:over_capacity",
            "applied"
        ],
        "{}",
        up.body
    );
    assert_eq!(
        up.body["refused"][0]["field"], "events.3.kind",
        "{}",
        up.body
    );
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from driver_event where run_id = $1 and kind = 'boarded'",
    )
    .bind(fx.run_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 1, "the refused boarding is not kept");
    // Moussa is off: now Blessing and her companion fit.
    let again = app
        .post_events(
            &path,
            &marco,
            &json!({ "events": [event("boarded", 2, at(5))] }),
        )
        .await;
    assert_eq!(results(&again.body), ["applied"]);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_arrival_or_a_boarding_can_be_undone_for_a_few_minutes_a_recorded_ride_cannot(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(
        &app,
        &[
            trip("Moussa", "appointment", BORGO, ASL),
            trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        ],
    )
    .await;
    let path = format!("/driver/api/runs/{}/events", fx.run_id);
    let manifest = format!("/driver/api/runs/{}", fx.run_id);
    let t0 = Utc::now() - Duration::minutes(30);
    let at = |m: i64| t0 + Duration::minutes(m);
    let (arrived, boarded) = (event("arrived", 1, at(0)), event("boarded", 1, at(1)));
    let undo = |of: &Value, seq: i64, m: i64| {
        let mut u = event("undo", seq, at(m));
        u["undoes"] = of["client_event_id"].clone();
        u
    };
    let up = app
        .post_events(
            &path,
            &marco,
            &json!({ "events": [arrived.clone(), boarded.clone(), undo(&boarded, 1, 2)] }),
        )
        .await;
    assert_eq!(results(&up.body), ["applied", "applied", "applied"]);
    let m = app.get(&manifest, &marco).await;
    assert_eq!(m.body["stops"][1]["status"], "arrived");
    assert_eq!(m.body["stops"][1]["rider"]["status"], "expected");
    let up = app
        .post_events(&path, &marco, &json!({ "events": [undo(&arrived, 1, 2)] }))
        .await;
    assert_eq!(results(&up.body), ["applied"]);
    let m = app.get(&manifest, &marco).await;
    assert_eq!(m.body["stops"][1]["status"], "pending");
    assert!(m.body["stops"][1]["actual_arrival"].is_null());

    // A no-show has recorded the ride: no undo. An undo long after its action: refused.
    let (arrived2, no_show) = (event("arrived", 2, at(4)), event("no_show", 2, at(10)));
    let late = event("arrived", 1, at(11));
    let up = app
        .post_events(
            &path,
            &marco,
            &json!({ "events": [arrived2, no_show.clone(), undo(&no_show, 2, 11), late.clone(),
                                undo(&late, 1, 20)] }),
        )
        .await;
    assert_eq!(
        results(&up.body),
        [
            "applied",
            "applied",
            "refused:undo_after_record",
            "applied",
            "refused:undo_too_late"
        ]
    );
    let undone: i64 =
        sqlx::query_scalar("select count(*) from driver_event where run_id = $1 and kind = 'undo'")
            .bind(fx.run_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(undone, 2, "refused undos are not kept");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn notes_come_from_the_list_and_events_keep_the_phones_position(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let path = format!("/driver/api/runs/{}/events", fx.run_id);
    let mut arrived = event("arrived", 1, Utc::now());
    arrived["lon"] = json!(15.6334);
    arrived["lat"] = json!(41.4899);
    let mut note = event("note", 1, Utc::now());
    note["note"] = json!("rider_late");
    let mut typed = event("note", 1, Utc::now());
    typed["note"] = json!("he said he saw a man with a van");
    let up = app
        .post_events(&path, &marco, &json!({ "events": [arrived, note, typed] }))
        .await;
    assert_eq!(
        results(&up.body),
        ["applied", "applied", "refused:unknown_note"]
    );
    let (lon, lat, notes): (f64, f64, i64) = sqlx::query_as(
        "select st_x(location::geometry), st_y(location::geometry),
                (select count(*) from driver_event n where n.run_id = e.run_id and n.note = 'rider_late')
         from driver_event e where e.run_id = $1 and e.kind = 'arrived'",
    )
    .bind(fx.run_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((lon - 15.6334).abs() < 1e-9 && (lat - 41.4899).abs() < 1e-9);
    assert_eq!(notes, 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_built_app_is_served_with_hashed_assets_immutable_and_the_rest_revalidated(
    pool: PgPool,
) {
    let dir = std::env::temp_dir().join(format!("passaggio-web-{}", Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("driver/assets")).unwrap();
    std::fs::write(
        dir.join("driver/index.html"),
        "<!doctype html><title>driver</title>",
    )
    .unwrap();
    std::fs::write(dir.join("driver/sw.js"), "// sw").unwrap();
    std::fs::write(dir.join("driver/assets/main-ABC123.js"), "export {}").unwrap();
    let web_dir = dir.clone();
    let app = spawn_with(pool, move |mut s| {
        let mut config = (*s.config).clone();
        config.web_dir = web_dir;
        s.config = std::sync::Arc::new(config);
        s
    })
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(app.url(path)).send();
    for (path, policy) in [
        ("/driver", "no-cache"),
        ("/driver/", "no-cache"),
        ("/driver/sw.js", "no-cache"),
        (
            "/driver/assets/main-ABC123.js",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["cache-control"], policy, "{path}");
    }
    let r = get("/driver/").await.unwrap();
    assert!(r.text().await.unwrap().contains("<title>driver</title>"));
    let missing = get("/driver/assets/nothing.js").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    std::fs::remove_dir_all(dir).unwrap();
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_no_show_needs_the_arrival_and_the_programmes_wait(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    let path = format!("/driver/api/runs/{}/events", fx.run_id);
    let t0 = Utc::now() - Duration::minutes(30);
    let at = |m: i64| t0 + Duration::minutes(m);
    let up = app
        .post_events(
            &path,
            &marco,
            &json!({ "events": [event("no_show", 1, at(0)), event("arrived", 1, at(1)),
                                event("no_show", 1, at(3)), event("no_show", 1, at(6))] }),
        )
        .await;
    assert_eq!(
        results(&up.body),
        [
            "refused:no_show_too_early",
            "applied",
            "refused:no_show_too_early",
            "applied"
        ],
        "{}",
        up.body
    );
}
