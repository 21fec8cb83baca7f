//! Linee lavoro: lines with ordered stops, subscriptions that never overbook a seat (also when
//! two coordinators race for the last one), a full line naming an alternative, daily runs made
//! once with Europe/Rome times, and lines passing near an on-demand trip.

use passaggio_tests::{Resp, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

// 2027-06-07 is a Monday (summer time, UTC+2); 2027-01-04 a Monday (winter, UTC+1).
const MONDAY: &str = "2027-06-07";
/// The clock of these tests: a spring morning before the season of their lines, so that their
/// dates stay in the future whatever the calendar says.
const NOW: &str = "2027-05-03T06:00:00Z";

async fn spawn_demo(pool: PgPool) -> TestApp {
    passaggio_tests::spawn_demo_at(pool, NOW).await
}
const SUNDAY: &str = "2027-06-13";

async fn id_of(app: &TestApp, sql: &str, name: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(sql)
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    id.to_string()
}

async fn place(app: &TestApp, name: &str) -> String {
    id_of(app, "select place_id from place where name = $1", name).await
}

async fn meeting_point(app: &TestApp, name: &str) -> String {
    id_of(
        app,
        "select meeting_point_id from meeting_point where name = $1",
        name,
    )
    .await
}

async fn vehicle(app: &TestApp, label: &str) -> String {
    id_of(
        app,
        "select vehicle_id from vehicle where label = $1",
        label,
    )
    .await
}

/// Open cases of a Polo, oldest first.
async fn cases_of(app: &TestApp, polo: &str) -> Vec<String> {
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id)
         where p.name = $1 and c.status = 'open' order by c.opened_on, c.case_id",
    )
    .bind(polo)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    ids.into_iter().map(|i| i.to_string()).collect()
}

const FOGGIA: &str = "Polo Sociale Integrato Foggia";
const SAN_SEVERO: &str = "Spoke San Severo";

/// Borgo Mezzanone (Ingresso pista) 05:00 → Tricarico 05:20 → Russo 05:50, Monday to Friday.
async fn line_body(app: &TestApp, name: &str) -> Value {
    json!({
        "name": name, "region_code": "puglia",
        "season_start": "2027-01-01", "season_end": "2027-12-31",
        "operating_days": [1, 2, 3, 4, 5],
        "stops": [
            { "place_id": place(app, "Borgo Mezzanone - ex pista").await,
              "meeting_point_id": meeting_point(app, "Ingresso pista").await, "stop_time": "05:00" },
            { "place_id": place(app, "Azienda agricola Tricarico (asparagi)").await, "stop_time": "05:20" },
            { "place_id": place(app, "Azienda agricola Russo (pomodoro)").await, "stop_time": "05:50" },
        ]
    })
}

async fn create_line(app: &TestApp, token: &str, body: &Value) -> String {
    let r = app.post("/api/lines", token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["line_id"].as_str().unwrap().to_owned()
}

/// A line without a vehicle with `capacity` seats, as many of them wheelchair places.
async fn line_with_capacity(app: &TestApp, admin: &str, name: &str, capacity: i64) -> String {
    let mut body = line_body(app, name).await;
    body["capacity"] = json!(capacity);
    body["wheelchair_places"] = json!(capacity);
    create_line(app, admin, &body).await
}

fn sub(case: &str, board: i64, alight: i64, from: &str, to: &str) -> Value {
    json!({ "case_id": case, "board_seq": board, "alight_seq": alight, "valid_from": from, "valid_to": to })
}

async fn subscribe(app: &TestApp, token: &str, line: &str, body: &Value) -> Resp {
    app.post(&format!("/api/lines/{line}/subscriptions"), token, body)
        .await
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_line_is_created_and_listed_on_its_operating_days(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Borgo Mezzanone - Russo").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-01").await);
    let r = app.post("/api/lines", &coord, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["capacity"], 8, "the vehicle's seats");
    assert_eq!(r.body["vehicle_label"], "FG-PSG-01");
    let line = r.body["line_id"].as_str().unwrap().to_owned();

    let got = app.get(&format!("/api/lines/{line}"), &coord).await;
    assert_eq!(got.status, StatusCode::OK);
    let stops = got.body["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 3);
    assert_eq!(stops[0]["place_name"], "Borgo Mezzanone - ex pista");
    assert_eq!(stops[0]["meeting_point_name"], "Ingresso pista");
    assert_eq!(stops[0]["stop_time"], "05:00");
    assert!(
        (stops[0]["lon"].as_f64().unwrap() - 15.6352).abs() < 1e-6,
        "the meeting point"
    );
    assert!(
        (stops[2]["lat"].as_f64().unwrap() - 41.35216).abs() < 1e-6,
        "the farm"
    );
    assert_eq!(got.body["active_subscriptions"], 0);

    let on = |date: &str| format!("/api/lines?region=puglia&date={date}");
    let monday = app.get(&on(MONDAY), &coord).await;
    assert_eq!(monday.status, StatusCode::OK, "{:?}", monday.body);
    let listed = &monday.body.as_array().unwrap()[0];
    assert_eq!(
        (listed["seats_taken"].clone(), listed["seats_free"].clone()),
        (json!(0), json!(8))
    );
    for date in [SUNDAY, "2028-01-03"] {
        assert_eq!(app.get(&on(date), &coord).await.body, json!([]), "{date}");
    }
    assert_eq!(
        app.get("/api/lines?region=puglia", &coord)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn bad_lines_are_refused_naming_the_field_and_write_nothing(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let good = line_body(&app, "Linea di prova").await;
    let other_mp = meeting_point(&app, "Piazza del borgo").await; // of the same settlement: fine
    let wrong_mp = meeting_point(&app, "Santuario").await; // of Borgo Incoronata
    let nobody = uuid::Uuid::new_v4().to_string();
    let small_van = vehicle(&app, "FG-PSG-01").await;
    let cases: Vec<(&str, Value)> = vec![
        ("name", json!({ "name": " " })),
        ("season_end", json!({ "season_end": "2026-12-31" })),
        ("operating_days.1", json!({ "operating_days": [1, 9] })),
        ("operating_days", json!({ "operating_days": [] })),
        ("capacity", json!({ "capacity": 0 })),
        (
            "capacity",
            json!({ "capacity": 9, "vehicle_id": small_van }),
        ),
        ("vehicle_id", json!({ "vehicle_id": nobody })),
        ("funding_source_id", json!({ "funding_source_id": nobody })),
        ("stops.1.stop_time", json!({ "stops.1.stop_time": "04:59" })),
        ("stops.2.stop_time", json!({ "stops.2.stop_time": "5:50" })),
        (
            "stops.0.meeting_point_id",
            json!({ "stops.0.meeting_point_id": wrong_mp }),
        ),
        ("stops.1.place_id", json!({ "stops.1.place_id": nobody })),
        ("stops", json!({ "stops": [good["stops"][0]] })),
        ("region_code", json!({ "region_code": "lombardia" })),
    ];
    let (lines_before, stops_before) = (
        app.count("work_line").await,
        app.count("work_line_stop").await,
    );
    for (field, patch) in cases {
        let mut body = good.clone();
        body["capacity"] = json!(4);
        for (k, v) in patch.as_object().unwrap() {
            match k.split('.').collect::<Vec<_>>()[..] {
                ["stops", i, f] => body["stops"][i.parse::<usize>().unwrap()][f] = v.clone(),
                _ => body[k] = v.clone(),
            }
        }
        let r = app.post("/api/lines", &admin, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }
    assert_eq!(
        app.count("work_line").await,
        lines_before,
        "nothing half-written"
    );
    assert_eq!(app.count("work_line_stop").await, stops_before);

    let mut body = good.clone();
    body["capacity"] = json!(4);
    let cw = app.login("cw.foggia").await;
    assert_eq!(
        app.post("/api/lines", &cw, &body).await.status,
        StatusCode::FORBIDDEN
    );
    body["stops"][0]["meeting_point_id"] = json!(other_mp);
    create_line(&app, &admin, &body).await;
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_full_line_refuses_naming_another_line_and_its_next_free_day(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let full = line_with_capacity(&app, &admin, "Linea A", 2).await;
    let other = line_with_capacity(&app, &admin, "Linea B", 3).await;
    let cases = cases_of(&app, FOGGIA).await;
    assert!(cases.len() >= 4, "the demo Polo of Foggia has four cases");
    // Two people to Tricarico in June fill the first leg of line A.
    let mut subs = Vec::new();
    for case in &cases[..2] {
        let r = subscribe(
            &app,
            &coord,
            &full,
            &sub(case, 0, 1, "2027-06-01", "2027-06-30"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        subs.push(r.body["subscription_id"].as_str().unwrap().to_owned());
    }
    // The second leg is still free: someone boarding at Tricarico fits.
    let r = subscribe(
        &app,
        &coord,
        &full,
        &sub(&cases[2], 1, 2, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let asked = sub(&cases[3], 0, 2, "2027-06-01", "2027-07-31");
    let r = subscribe(&app, &coord, &full, &asked).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let error = &r.body["error"];
    assert_eq!(error["code"], "line_full");
    assert!(
        error["message"].as_str().unwrap().contains("Linea A"),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("Linea B"),
        "{error}"
    );
    let alternatives = error["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 1, "{error}");
    assert_eq!(alternatives[0]["line_id"], other.as_str());
    assert_eq!(alternatives[0]["free_seats"], 3);
    assert_eq!(
        (&alternatives[0]["valid_from"], &alternatives[0]["valid_to"]),
        (&json!("2027-06-01"), &json!("2027-07-31"))
    );
    assert_eq!(
        (
            alternatives[0]["board_seq"].clone(),
            alternatives[0]["alight_seq"].clone()
        ),
        (json!(0), json!(2))
    );
    assert_eq!(
        error["next_free_date"], "2027-07-01",
        "the June riders leave a seat in July"
    );

    // Ending one June subscription frees the seat.
    let ended = app
        .post(
            &format!("/api/lines/{full}/subscriptions/{}/end", subs[0]),
            &coord,
            &json!({ "valid_to": "2027-05-31" }),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    assert_eq!(ended.body["status"], "ended");
    assert_eq!(
        ended.body["valid_to"], "2027-06-01",
        "never before it started"
    );
    let r = subscribe(&app, &coord, &full, &asked).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let again = app
        .call(
            reqwest::Method::POST,
            &format!("/api/lines/{full}/subscriptions/{}/end", subs[0]),
            Some(&coord),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(
        again.body["error"]["code"], "already_ended",
        "no body is fine"
    );

    let listed = app
        .get(&format!("/api/lines?region=puglia&date={MONDAY}"), &coord)
        .await;
    let a = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line_id"] == full.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (a["seats_taken"].clone(), a["seats_free"].clone()),
        (json!(2), json!(0))
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn two_coordinators_booking_the_last_seat_one_wins_one_gets_a_conflict(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let (foggia, sansevero) = (
        app.login("coord.foggia").await,
        app.login("coord.sansevero").await,
    );
    let (f_cases, s_cases) = (
        cases_of(&app, FOGGIA).await,
        cases_of(&app, SAN_SEVERO).await,
    );
    for round in 0..3 {
        let line = line_with_capacity(&app, &admin, &format!("Linea corsa {round}"), 1).await;
        let a = sub(&f_cases[round], 0, 2, "2027-06-01", "2027-09-30");
        let b = sub(&s_cases[round], 0, 2, "2027-06-01", "2027-09-30");
        let (ra, rb) = futures::join!(
            subscribe(&app, &foggia, &line, &a),
            subscribe(&app, &sansevero, &line, &b)
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "{ra:?} {rb:?}"
        );
        let loser = if ra.status == StatusCode::CONFLICT {
            &ra
        } else {
            &rb
        };
        assert_eq!(loser.body["error"]["code"], "line_full");
        assert_eq!(
            loser.body["error"]["next_free_date"], "2027-10-01",
            "the winner rides until the end of September"
        );
        let active: i64 = sqlx::query_scalar(
            "select count(*) from line_subscription where line_id = $1::uuid and status = 'active'",
        )
        .bind(&line)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(active, 1, "round {round}");
    }
    // Eight people at once for three seats: three get one, five are told the line is full.
    let line = line_with_capacity(&app, &admin, "Linea affollata", 3).await;
    let everyone = f_cases
        .iter()
        .map(|c| (&foggia, c))
        .chain(s_cases.iter().map(|c| (&sansevero, c)));
    let results = futures::future::join_all(everyone.map(|(token, case)| {
        let body = sub(case, 0, 2, "2027-06-01", "2027-09-30");
        let (app, line) = (&app, &line);
        async move { subscribe(app, token, line, &body).await }
    }))
    .await;
    let created = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let full = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT && r.body["error"]["code"] == "line_full")
        .count();
    assert_eq!((created, full), (3, results.len() - 3), "{results:?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_subscription_must_fit_the_season_the_days_and_the_stops(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let cw = app.login("cw.foggia").await;
    let mut body = line_body(&app, "Linea estiva").await;
    body["capacity"] = json!(5);
    body["season_start"] = json!("2027-06-01");
    body["season_end"] = json!("2027-09-30");
    let line = create_line(&app, &admin, &body).await;
    let case = cases_of(&app, FOGGIA).await.remove(0);
    let table = [
        ("valid_from", sub(&case, 0, 1, "2027-05-15", "2027-06-30")),
        ("valid_to", sub(&case, 0, 1, "2027-09-01", "2027-10-15")),
        ("valid_to", sub(&case, 0, 1, "2027-06-20", "2027-06-10")),
        ("valid_to", sub(&case, 0, 1, "2027-06-12", "2027-06-13")), // a weekend
        ("alight_seq", sub(&case, 0, 3, "2027-06-01", "2027-06-30")),
        ("alight_seq", sub(&case, 1, 1, "2027-06-01", "2027-06-30")),
        ("board_seq", sub(&case, -1, 1, "2027-06-01", "2027-06-30")),
    ];
    for (field, s) in table {
        let r = subscribe(&app, &cw, &line, &s).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }
    let ok = sub(&case, 0, 1, "2027-06-01", "2027-06-30");
    assert_eq!(
        subscribe(&app, &cw, &line, &ok).await.status,
        StatusCode::CREATED
    );
    let dup = subscribe(
        &app,
        &cw,
        &line,
        &sub(&case, 1, 2, "2027-06-15", "2027-07-15"),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["error"]["code"], "already_subscribed");
    assert_eq!(app.count("line_subscription").await, 1);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn only_the_cases_polo_subscribes_and_sees_who_is_on_a_line(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let line = line_with_capacity(&app, &admin, "Linea riservata", 4).await;
    let case = cases_of(&app, FOGGIA).await.remove(0);
    let body = sub(&case, 0, 2, "2027-06-01", "2027-06-30");
    let audits = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from case_access_audit where case_id = $1::uuid",
        )
        .bind(&case)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = audits().await;
    let other = subscribe(&app, &app.login("cw.sansevero").await, &line, &body).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{:?}", other.body);
    assert_eq!(
        subscribe(&app, &admin, &line, &body).await.status,
        StatusCode::FORBIDDEN
    );
    let driver = app.login("driver.marco").await;
    assert_eq!(
        subscribe(&app, &driver, &line, &body).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("line_subscription").await, 0);
    assert_eq!(audits().await, before, "refused requests read no case");

    let cw = app.login("cw.foggia").await;
    let r = subscribe(&app, &cw, &line, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(audits().await, before + 1, "the subscription read the case");
    let sid = r.body["subscription_id"].as_str().unwrap().to_owned();

    let own = app
        .get(
            &format!("/api/lines/{line}"),
            &app.login("coord.foggia").await,
        )
        .await;
    assert_eq!(own.body["active_subscriptions"], 1);
    assert_eq!(own.body["subscriptions"][0]["case_id"], case.as_str());
    assert!(own.body["subscriptions"][0]["known_as"].is_string());
    assert_eq!(
        audits().await,
        before + 2,
        "listing subscribers is a read of the case"
    );
    let foreign = app
        .get(
            &format!("/api/lines/{line}"),
            &app.login("coord.sansevero").await,
        )
        .await;
    assert_eq!(foreign.body["active_subscriptions"], 1);
    assert_eq!(foreign.body["subscriptions"], json!([]));
    assert!(!foreign.body.to_string().contains(&case));
    let programme = app.get(&format!("/api/lines/{line}"), &admin).await;
    assert!(programme.body.get("subscriptions").is_none());
    assert!(!programme.body.to_string().contains(&case));
    assert_eq!(
        app.get(&format!("/api/lines/{line}"), &driver).await.status,
        StatusCode::FORBIDDEN
    );

    let end = format!("/api/lines/{line}/subscriptions/{sid}/end");
    let r = app
        .post(&end, &app.login("coord.sansevero").await, &json!({}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another Polo cannot end it"
    );
}

async fn local_times(app: &TestApp, sql: &str, run: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sql)
        .bind(run)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_day_is_materialised_once_with_rome_times(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Linea con mezzo").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    let line = create_line(&app, &admin, &body).await;
    line_with_capacity(&app, &admin, "Linea senza mezzo", 4).await;
    let mut parked = line_body(&app, "Linea con mezzo fermo").await;
    parked["vehicle_id"] = json!(vehicle(&app, "FG-PSG-02").await);
    create_line(&app, &admin, &parked).await;
    sqlx::query("update vehicle set active = false where label = 'FG-PSG-02'")
        .execute(&app.pool)
        .await
        .unwrap();
    let cases = cases_of(&app, FOGGIA).await;
    let year = |c: &str, b, a| sub(c, b, a, "2027-01-01", "2027-12-31");
    let mut subs = Vec::new();
    for s in [
        year(&cases[0], 0, 1),
        year(&cases[1], 0, 2),
        sub(&cases[2], 1, 2, "2027-07-01", "2027-07-31"),
    ] {
        let r = subscribe(&app, &coord, &line, &s).await;
        assert_eq!(r.status, StatusCode::CREATED);
        subs.push(r.body["subscription_id"].as_str().unwrap().to_owned());
    }
    // Sekou travels in a wheelchair; his case worker in San Severo subscribes him at Tricarico.
    let sekou = id_of(
        &app,
        "select c.case_id from care_case c join person p using (person_id) where p.known_as = $1",
        "Sekou",
    )
    .await;
    let cw_sansevero = app.login("cw.sansevero").await;
    let r = subscribe(&app, &cw_sansevero, &line, &year(&sekou, 1, 2)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let day = |date: &str| json!({ "region_code": "puglia", "date": date });
    let r = app
        .post("/api/lines/materialise", &coord, &day(MONDAY))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let runs = r.body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{:?}", r.body);
    assert_eq!(runs[0]["line_id"], line.as_str());
    assert_eq!(
        runs[0]["ride_requests"], 3,
        "the July rider does not travel in June"
    );
    assert_eq!(
        runs[0]["stops"], 8,
        "start, three pickups, three drop-offs, end"
    );
    let mut reasons: Vec<&str> = r.body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["no_vehicle", "vehicle_inactive"]);
    let run = runs[0]["run_id"].as_str().unwrap().to_owned();

    // 05:00 in Rome in June is 03:00 UTC.
    let requests = local_times(
        &app,
        "select to_char(promised_pickup_at at time zone 'UTC', 'HH24:MI') || ' ' || status::text
            || ' ' || booked_channel::text || ' ' || to_char(latest_arrival at time zone 'UTC', 'HH24:MI')
            || ' ' || wheelchair::text
         from ride_request where run_id = $1::uuid order by latest_arrival, promised_pickup_at",
        &run,
    )
    .await;
    // No demo driver's shift starts before 05:00, and the run needs one from 04:30: the
    // riders are planned on the line's times and wait for a driver.
    assert_eq!(
        requests,
        [
            "03:00 planned coordinator 03:20 false",
            "03:00 planned coordinator 03:50 false",
            "03:20 planned case_worker 03:50 true",
        ]
    );
    // Marco starts at 04:00 that season; the coordinator gives him the run: confirmed.
    let marco: uuid::Uuid = sqlx::query_scalar(
        "update driver set shift_start = '04:00' from staff s
         where s.staff_id = driver.staff_id and s.username = 'driver.marco' returning driver_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let r = app
        .post(
            &format!("/api/runs/{run}/driver"),
            &coord,
            &json!({ "driver_id": marco }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let requests = local_times(
        &app,
        "select to_char(promised_pickup_at at time zone 'UTC', 'HH24:MI') || ' ' || status::text
         from ride_request where run_id = $1::uuid order by latest_arrival, promised_pickup_at",
        &run,
    )
    .await;
    assert_eq!(
        requests,
        ["03:00 confirmed", "03:00 confirmed", "03:20 confirmed"]
    );
    let stops = local_times(
        &app,
        "select kind::text || ' ' || to_char(planned_arrival at time zone 'UTC', 'HH24:MI')
         from run_stop where run_id = $1::uuid order by seq",
        &run,
    )
    .await;
    assert_eq!(
        stops,
        [
            "start 03:00",
            "pickup 03:00",
            "pickup 03:00",
            "dropoff 03:20",
            "pickup 03:20",
            "dropoff 03:50",
            "dropoff 03:50",
            "end 03:50"
        ]
    );
    let events: i64 = sqlx::query_scalar(
        "select count(*) from ride_request_event e join ride_request r using (ride_request_id)
         where r.run_id = $1::uuid and e.status = 'confirmed'",
    )
    .bind(&run)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events, 3,
        "the history says how each request became confirmed"
    );

    // Again: nothing new.
    let counts = (
        app.count("run").await,
        app.count("ride_request").await,
        app.count("run_stop").await,
    );
    let again = app
        .post("/api/lines/materialise", &admin, &day(MONDAY))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["runs"], json!([]));
    assert!(again.body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"] == "already_materialised"));
    assert_eq!(
        (
            app.count("run").await,
            app.count("ride_request").await,
            app.count("run_stop").await
        ),
        counts
    );
    // No runs on a Sunday.
    let sunday = app
        .post("/api/lines/materialise", &coord, &day(SUNDAY))
        .await;
    assert_eq!(
        (sunday.body["runs"].clone(), sunday.body["skipped"].clone()),
        (json!([]), json!([]))
    );
    // In winter 05:00 in Rome is 04:00 UTC; the public function used by the day planning.
    let staff: uuid::Uuid =
        sqlx::query_scalar("select staff_id from staff where username = 'admin'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let winter = "2027-01-04".parse().unwrap();
    // A scheduled job has no person behind it: the history rows then name nobody.
    let made = dispatch::runs::line_runs::materialise_day(&mut conn, "puglia", winter, None)
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
    let first = local_times(
        &app,
        "select to_char(planned_arrival at time zone 'UTC', 'HH24:MI') from run_stop where run_id = $1::uuid and seq = 0",
        &made[0].to_string(),
    )
    .await;
    assert_eq!(first, ["04:00"]);
    assert!(
        dispatch::runs::line_runs::materialise_day(&mut conn, "puglia", winter, Some(staff))
            .await
            .unwrap()
            .is_empty()
    );
    let cw = app.login("cw.foggia").await;
    assert_eq!(
        app.post("/api/lines/materialise", &cw, &day(MONDAY))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The day's run is cancelled and made again: the riders move to the new run, none doubled.
    sqlx::query("update run set status = 'cancelled' where run_id = $1::uuid")
        .bind(&run)
        .execute(&app.pool)
        .await
        .unwrap();
    let requests = app.count("ride_request").await;
    let remade = app
        .post("/api/lines/materialise", &coord, &day(MONDAY))
        .await;
    assert_eq!(
        remade.body["runs"][0]["ride_requests"], 3,
        "{:?}",
        remade.body
    );
    assert_eq!(app.count("ride_request").await, requests);
    let new_run = remade.body["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A subscription ended before that Monday cancels the request already made for it.
    let ended = app
        .post(
            &format!("/api/lines/{line}/subscriptions/{}/end", subs[0]),
            &coord,
            &json!({ "valid_to": "2027-06-06" }),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    let statuses = local_times(
        &app,
        "select r.status::text || ' ' || string_agg(e.status::text, ',' order by e.ride_request_event_id)
         from ride_request r join ride_request_event e using (ride_request_id)
         where r.run_id = $1::uuid group by r.ride_request_id, r.status order by 1",
        &new_run,
    )
    .await;
    assert_eq!(
        statuses,
        ["confirmed planned,confirmed", "confirmed planned,confirmed"]
    );
    // It leaves the run, stops and all, as a cancellation does: the driver is not sent to
    // wait for someone who no longer travels, and the others keep the line's times.
    let ended_rides = local_times(
        &app,
        "select r.status::text || ' ' || string_agg(e.status::text, ',' order by e.ride_request_event_id)
            || ' ' || coalesce(r.run_id::text, 'no run')
         from ride_request r join ride_request_event e using (ride_request_id)
         where r.line_subscription_id = $1::uuid and r.service_date > '2027-06-06'
         group by r.ride_request_id, r.status, r.run_id",
        &subs[0],
    )
    .await;
    assert_eq!(
        ended_rides,
        ["cancelled planned,confirmed,cancelled no run"]
    );
    let stops = local_times(
        &app,
        "select r.status::text || ' ' || s.kind::text || ' ' || to_char(s.planned_arrival at time zone 'Europe/Rome', 'HH24:MI')
         from run_stop s join ride_request r using (ride_request_id)
         where s.run_id = $1::uuid order by s.seq",
        &new_run,
    )
    .await;
    assert_eq!(stops.len(), 4, "{stops:?}");
    assert!(
        stops.iter().all(|s| s.starts_with("confirmed ")),
        "{stops:?}"
    );
    let kinds = local_times(
        &app,
        "select string_agg(kind::text, ',' order by seq) from run_stop where run_id = $1::uuid",
        &new_run,
    )
    .await;
    assert_eq!(kinds, ["start,pickup,pickup,dropoff,dropoff,end"]);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn lines_passing_near_a_trip_are_found_with_their_free_seats(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let line = line_with_capacity(&app, &admin, "Linea di passaggio", 2).await;
    // Near the Ingresso pista meeting point, to near the Russo farm.
    let q = |date: &str, from: (f64, f64), to: (f64, f64)| {
        format!(
            "/api/lines/passing?region=puglia&date={date}&from_lon={}&from_lat={}&to_lon={}&to_lat={}&radius_m=800",
            from.0, from.1, to.0, to.1
        )
    };
    let (camp, farm) = ((15.6360, 41.4900), (15.6180, 41.3530));
    let r = app.get(&q(MONDAY, camp, farm), &coord).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let found = r.body.as_array().unwrap();
    assert_eq!(found.len(), 1, "{:?}", r.body);
    assert_eq!(found[0]["line_id"], line.as_str());
    assert_eq!(
        (
            found[0]["board_seq"].clone(),
            found[0]["alight_seq"].clone()
        ),
        (json!(0), json!(2))
    );
    assert_eq!(found[0]["free_seats"], 2);
    assert!(found[0]["board_distance_m"].as_f64().unwrap() < 200.0);
    assert_eq!(found[0]["board_time"], "05:00");

    assert_eq!(
        app.get(&q(MONDAY, farm, camp), &coord).await.body,
        json!([]),
        "the line runs one way"
    );
    assert_eq!(
        app.get(&q(SUNDAY, camp, farm), &coord).await.body,
        json!([]),
        "not on Sundays"
    );
    assert_eq!(
        app.get(&q(MONDAY, (15.55, 41.46), farm), &coord).await.body,
        json!([]),
        "Foggia is far"
    );

    let cases = cases_of(&app, FOGGIA).await;
    for c in &cases[..2] {
        let r = subscribe(
            &app,
            &coord,
            &line,
            &sub(c, 0, 1, "2027-06-01", "2027-06-30"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    assert_eq!(
        app.get(&q(MONDAY, camp, farm), &coord).await.body,
        json!([]),
        "full on its first leg"
    );
    let tricarico = (15.6312, 41.5000);
    let later = app.get(&q(MONDAY, tricarico, farm), &coord).await;
    assert_eq!(
        later.body[0]["board_seq"], 1,
        "boarding at Tricarico uses only the free leg"
    );

    let bad = app
        .get("/api/lines/passing?region=puglia&date=2027-06-07&from_lon=15.6&from_lat=123&to_lon=15.6&to_lat=41.3", &coord)
        .await;
    assert_eq!(bad.error_field(), "from_lat");
    let bad = app
        .get(&format!("{}0", q(MONDAY, camp, farm)), &coord)
        .await; // 8000 m is fine
    assert_eq!(bad.status, StatusCode::OK);
    let bad = app
        .get(
            &q(MONDAY, camp, farm).replace("radius_m=800", "radius_m=0"),
            &coord,
        )
        .await;
    assert_eq!(bad.error_field(), "radius_m");
}

/// Materialises `date` and returns the run of `line`.
async fn line_run_of(app: &TestApp, token: &str, line: &str, date: &str) -> String {
    let r = app
        .post(
            "/api/lines/materialise",
            token,
            &json!({ "region_code": "puglia", "date": date }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["line_id"] == line)
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Local (Rome) `HH:MM` of the run's stops and of its riders' pickups and drop-offs.
async fn run_times(app: &TestApp, run: &str) -> (Vec<String>, Vec<String>) {
    let stops = local_times(
        app,
        "select to_char(planned_arrival at time zone 'Europe/Rome', 'HH24:MI') from run_stop
         where run_id = $1::uuid and kind in ('pickup', 'dropoff') order by seq",
        run,
    )
    .await;
    let rides = local_times(
        app,
        "select to_char(earliest_pickup at time zone 'Europe/Rome', 'HH24:MI') || '-'
                || to_char(latest_arrival at time zone 'Europe/Rome', 'HH24:MI')
         from ride_request where run_id = $1::uuid order by 1",
        run,
    )
    .await;
    (stops, rides)
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn on_a_heat_ordinance_day_the_line_and_its_riders_run_the_alternative_times(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Linea estiva").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    let line = create_line(&app, &admin, &body).await;
    let cases = cases_of(&app, FOGGIA).await;
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[0], 0, 2, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let heat = format!("/api/lines/{line}/heat-timetable");
    let days = format!("/api/lines/{line}/heat-days");

    // Marking a day needs the alternative times first.
    let r = app.post(&days, &coord, &json!({ "date": MONDAY })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "no_heat_timetable");
    // One time per stop, increasing.
    let r = app
        .post(&heat, &coord, &json!({ "stop_times": ["04:00", "04:20"] }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "stop_times");
    let r = app
        .post(
            &heat,
            &coord,
            &json!({ "stop_times": ["04:00", "04:00", "04:30"] }),
        )
        .await;
    assert_eq!(r.error_field(), "stop_times.1");
    let cw = app.login("cw.foggia").await;
    let r = app
        .post(
            &heat,
            &cw,
            &json!({ "stop_times": ["04:00", "04:20", "04:50"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &heat,
            &coord,
            &json!({ "stop_times": ["04:00", "04:20", "04:50"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["stop_times"], json!(["04:00", "04:20", "04:50"]));

    // The coordinator marks Monday; the Monday after is an ordinary day.
    let r = app.post(&days, &coord, &json!({ "date": MONDAY })).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["days"], json!([MONDAY]));
    let r = app.get(&heat, &cw).await;
    assert_eq!(r.body["days"], json!([MONDAY]));

    let hot = line_run_of(&app, &coord, &line, MONDAY).await;
    assert_eq!(
        run_times(&app, &hot).await,
        (
            vec!["04:00".into(), "04:50".into()],
            vec!["04:00-04:50".into()]
        ),
        "the run and the rider's times follow the ordinance"
    );
    let normal = line_run_of(&app, &coord, &line, "2027-06-14").await;
    assert_eq!(
        run_times(&app, &normal).await,
        (
            vec!["05:00".into(), "05:50".into()],
            vec!["05:00-05:50".into()]
        )
    );

    // Once the day's run is made, its riders have their times: no more marking or unmarking.
    for (date, marked) in [("2027-06-14", true), (MONDAY, false)] {
        let r = app
            .post(&days, &coord, &json!({ "date": date, "marked": marked }))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
        assert_eq!(r.body["error"]["code"], "run_exists");
    }
    // A day not yet made can be unmarked.
    let r = app
        .post(&days, &coord, &json!({ "date": "2027-06-21" }))
        .await;
    assert_eq!(r.body["days"], json!([MONDAY, "2027-06-21"]));
    let r = app
        .post(
            &days,
            &coord,
            &json!({ "date": "2027-06-21", "marked": false }),
        )
        .await;
    assert_eq!(r.body["days"], json!([MONDAY]));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_ended_line_ends_its_subscriptions_and_its_later_runs(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Linea che chiude").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    let line = create_line(&app, &admin, &body).await;
    let cases = cases_of(&app, FOGGIA).await;
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[0], 0, 2, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let kept = line_run_of(&app, &coord, &line, MONDAY).await;
    let later = line_run_of(&app, &coord, &line, "2027-06-14").await;
    let end = format!("/api/lines/{line}/end");

    for (day, why) in [
        ("2027-05-01", "past"),
        ("2027-12-31", "season"),
        ("2026-12-31", "past"),
    ] {
        let r = app.post(&end, &coord, &json!({ "last_day": day })).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), "last_day");
    }
    let cw = app.login("cw.foggia").await;
    let r = app
        .post(&end, &cw, &json!({ "last_day": "2027-06-10" }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app
        .post(&end, &coord, &json!({ "last_day": "2027-06-10" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (
            &r.body["subscriptions_ended"],
            &r.body["requests_cancelled"],
            &r.body["runs_cancelled"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    let status = |run: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select r.status::text from run r where r.run_id = $1::uuid",
            )
            .bind(run)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        status(kept.clone()).await,
        "planned",
        "the days before stay"
    );
    assert_eq!(status(later.clone()).await, "cancelled");
    let rides: Vec<(String, String)> = sqlx::query_as(
        "select r.service_date::text, r.status::text from ride_request r
         join line_subscription s on s.subscription_id = r.line_subscription_id
         where s.line_id = $1::uuid order by 1",
    )
    .bind(&line)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rides,
        [
            ("2027-06-07".into(), "planned".into()),
            ("2027-06-14".into(), "cancelled".into())
        ]
    );
    let r = app.get(&format!("/api/lines/{line}"), &coord).await;
    assert_eq!(r.body["season_end"], "2027-06-10");
    assert_eq!(r.body["subscriptions"][0]["valid_to"], "2027-06-10");
    assert_eq!(r.body["subscriptions"][0]["status"], "ended");
    // The line no longer runs after its last day.
    let r = app
        .post(
            "/api/lines/materialise",
            &coord,
            &json!({ "region_code": "puglia", "date": "2027-06-21" }),
        )
        .await;
    assert!(!r.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["line_id"] == line.as_str()));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_wheelchair_user_needs_a_wheelchair_place_on_the_line(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    // No more wheelchair places than the vehicle has (FG-PSG-05 has 2).
    let mut body = line_body(&app, "Linea attrezzata").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    body["wheelchair_places"] = json!(3);
    let r = app.post("/api/lines", &admin, &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "wheelchair_places");
    body["wheelchair_places"] = json!(1);
    let line = create_line(&app, &admin, &body).await;
    let r = app.get(&format!("/api/lines/{line}"), &coord).await;
    assert_eq!(r.body["wheelchair_places"], 1);
    // A line without a vehicle and without wheelchair places takes no wheelchair user.
    let mut plain = line_body(&app, "Linea senza pedana").await;
    plain["capacity"] = json!(4);
    let plain = create_line(&app, &admin, &plain).await;

    let cases = cases_of(&app, FOGGIA).await;
    sqlx::query(
        "update person set wheelchair = true where person_id in
            (select person_id from care_case where case_id = any($1::uuid[]))",
    )
    .bind(&cases[0..2])
    .execute(&app.pool)
    .await
    .unwrap();
    let r = subscribe(
        &app,
        &coord,
        &plain,
        &sub(&cases[0], 0, 2, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "no_wheelchair_place");
    // One place: the first wheelchair user gets it; a second on an overlapping leg does not,
    // on a leg after the first one alights they do; anyone else still rides on a seat.
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[0], 0, 1, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[1], 0, 2, "2027-06-15", "2027-07-15"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "no_wheelchair_place");
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[1], 1, 2, "2027-06-15", "2027-07-15"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = subscribe(
        &app,
        &coord,
        &line,
        &sub(&cases[2], 0, 2, "2027-06-01", "2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // An edit keeps a wheelchair place for each wheelchair user on the busiest leg: one (they
    // ride on different legs), not none.
    let edit = format!("/api/lines/{line}/edit");
    body.as_object_mut().unwrap().remove("region_code");
    body["wheelchair_places"] = json!(0);
    let r = app.post(&edit, &coord, &body).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "wheelchair_below_subscribed");
    body["wheelchair_places"] = json!(1);
    let r = app.post(&edit, &coord, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_line_is_edited_by_the_rules_of_creation_and_never_below_what_is_made(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Linea da modificare").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    body["capacity"] = json!(3);
    let line = create_line(&app, &coord, &body).await;
    let edit = format!("/api/lines/{line}/edit");
    let cases = cases_of(&app, FOGGIA).await;
    for case in &cases[..2] {
        let r = subscribe(
            &app,
            &coord,
            &line,
            &sub(case, 0, 2, "2027-06-01", "2027-06-30"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    // Name, times and seats change; the region is the line's own.
    let mut changed = body.clone();
    changed.as_object_mut().unwrap().remove("region_code");
    changed["name"] = json!("Linea modificata");
    changed["capacity"] = json!(2);
    changed["stops"][0]["stop_time"] = json!("05:10");
    changed["stops"][2]["stop_time"] = json!("06:05");
    let r = app.post(&edit, &coord, &changed).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["name"], "Linea modificata");
    assert_eq!(r.body["capacity"], 2);
    let times: Vec<&str> = r.body["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stop_time"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["05:10", "05:20", "06:05"]);

    // Creation's rules, naming the field.
    let mut bad = changed.clone();
    bad["stops"][1]["stop_time"] = json!("05:05");
    let r = app.post(&edit, &coord, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "stops.1.stop_time");
    let mut bad = changed.clone();
    bad["season_end"] = json!("2026-12-31");
    let r = app.post(&edit, &coord, &bad).await;
    assert_eq!(r.error_field(), "season_end");
    let mut bad = changed.clone();
    bad["capacity"] = json!(40);
    let r = app.post(&edit, &coord, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "capacity");

    // Fewer seats than two riders already hold.
    let mut fewer = changed.clone();
    fewer["capacity"] = json!(1);
    let r = app.post(&edit, &coord, &fewer).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "capacity_below_subscribed");

    // Other stops once people are subscribed.
    let mut other = changed.clone();
    other["stops"].as_array_mut().unwrap().pop();
    let r = app.post(&edit, &coord, &other).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "has_subscriptions");

    // A made run keeps its day in the season and in the weekdays.
    line_run_of(&app, &coord, &line, MONDAY).await;
    for (field, value) in [
        ("season_start", json!("2027-06-08")),
        ("season_end", json!("2027-06-06")),
        ("operating_days", json!([2, 3, 4, 5])),
    ] {
        let mut shorter = changed.clone();
        shorter[field] = value;
        let r = app.post(&edit, &coord, &shorter).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{field}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], "run_made");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{message}");
    }

    // Who may: planners of the region.
    let cw = app.login("cw.foggia").await;
    assert_eq!(
        app.post(&edit, &cw, &changed).await.status,
        StatusCode::FORBIDDEN
    );
    let nowhere = format!("/api/lines/{}/edit", uuid::Uuid::new_v4());
    assert_eq!(
        app.post(&nowhere, &admin, &changed).await.status,
        StatusCode::NOT_FOUND
    );

    // Nothing half-written by the refusals.
    let r = app.get(&format!("/api/lines/{line}"), &coord).await;
    assert_eq!(r.body["capacity"], 2);
    assert_eq!(r.body["season_start"], "2027-01-01");
    assert_eq!(r.body["operating_days"], json!([1, 2, 3, 4, 5]));
    assert_eq!(r.body["stops"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["stops"][1]["stop_time"], "05:20");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_line_without_subscriptions_may_change_its_stops(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    let mut body = line_body(&app, "Linea nuova").await;
    body["capacity"] = json!(6);
    let line = create_line(&app, &coord, &body).await;
    body.as_object_mut().unwrap().remove("region_code");
    body["stops"].as_array_mut().unwrap().remove(1);
    let r = app
        .post(&format!("/api/lines/{line}/edit"), &coord, &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let places: Vec<&str> = r.body["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["place_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        places,
        [
            "Borgo Mezzanone - ex pista",
            "Azienda agricola Russo (pomodoro)"
        ]
    );
}

/// The run's breaks as `kind of the stop before → kind of the stop after, start-end` (Rome time).
async fn breaks_of(app: &TestApp, run: &str) -> Vec<String> {
    local_times(
        app,
        "select s.kind::text || ' → ' || n.kind::text || ', '
                || to_char(b.planned_start at time zone 'Europe/Rome', 'HH24:MI')
                || '-' || to_char(b.planned_end at time zone 'Europe/Rome', 'HH24:MI')
         from run_break b
         join run_stop s on s.run_id = b.run_id and s.seq = b.after_seq
         cross join lateral (select kind from run_stop x where x.run_id = b.run_id and x.seq > b.after_seq
                             order by x.seq limit 1) n
         where b.run_id = $1::uuid order by b.planned_start",
        run,
    )
    .await
}

/// A ride cancelled by `token`, for `reason`.
async fn cancel(app: &TestApp, token: &str, ride: uuid::Uuid, reason: &str) {
    let r = app
        .post(
            &format!("/api/ride-requests/{ride}/cancel"),
            token,
            &json!({ "reason": reason }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_timetable_that_leaves_the_driver_no_break_is_flagged_to_the_coordinator(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let borgo = place(&app, "Borgo Mezzanone - ex pista").await;
    let russo = place(&app, "Azienda agricola Russo (pomodoro)").await;
    let tricarico = place(&app, "Azienda agricola Tricarico (asparagi)").await;
    // A round of the farms from 05:00 to 11:00, never 45 minutes between two stops.
    let mut body = line_body(&app, "Giro delle aziende").await;
    body["capacity"] = json!(8);
    let round: Vec<Value> = (0..10)
        .map(|i| {
            let at = 5 * 60 + 40 * i;
            let p = [&borgo, &russo, &tricarico][i % 3];
            json!({ "place_id": p, "stop_time": format!("{:02}:{:02}", at / 60, at % 60) })
        })
        .collect();
    body["stops"] = json!(round);
    let r = app.post("/api/lines", &admin, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["breaks_fit"], false,
        "6 hours with no wait: the line is created, and says so"
    );
    let round_line = r.body["line_id"].as_str().unwrap().to_owned();
    // The same round with the van waiting from 07:00 to 07:50 (later stops 10 minutes later) leaves one.
    body["name"] = json!("Giro con sosta");
    for (i, s) in body["stops"].as_array_mut().unwrap().iter_mut().enumerate() {
        if i >= 4 {
            let at = 5 * 60 + 40 * i + 10;
            s["stop_time"] = json!(format!("{:02}:{:02}", at / 60, at % 60));
        }
    }
    let with_wait = app.post("/api/lines", &admin, &body).await;
    assert_eq!(
        with_wait.status,
        StatusCode::CREATED,
        "{:?}",
        with_wait.body
    );
    assert_eq!(with_wait.body["breaks_fit"], true, "{:?}", with_wait.body);
    // A morning line of 50 minutes needs none.
    let mut short = line_body(&app, "Linea corta").await;
    short["capacity"] = json!(8);
    let short = app.post("/api/lines", &admin, &short).await;
    assert_eq!(short.body["breaks_fit"], true, "{:?}", short.body);

    // The coordinator's page of the line says it, in their language.
    let cookie = app.console_login("coord.foggia").await;
    let (status, html) = app
        .console_get(&format!("/console/lines/{round_line}"), &cookie)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-no-break"), "{html}");
    let other = with_wait.body["line_id"].as_str().unwrap();
    let (_, html) = app
        .console_get(&format!("/console/lines/{other}"), &cookie)
        .await;
    assert!(!html.contains("data-no-break"));
    assert!(
        !html.contains("data-heat-no-break"),
        "no heat timetable yet"
    );

    // The heat-ordinance timetable is checked the same way: an hour earlier, the round without
    // its wait leaves none, on the line that has one in its regular times...
    let coord = app.login("coord.foggia").await;
    let (app, coord) = (&app, &coord);
    // the round an hour earlier, with a wait of `wait` minutes added after its fourth stop
    let set_early = |line: String, wait: i64| async move {
        let times: Vec<String> = (0..10)
            .map(|i| {
                let at = 4 * 60 + 40 * i + if i >= 4 { wait } else { 0 };
                format!("{:02}:{:02}", at / 60, at % 60)
            })
            .collect();
        app.post(
            &format!("/api/lines/{line}/heat-timetable"),
            coord,
            &json!({ "stop_times": times }),
        )
        .await
    };
    let r = set_early(other.to_string(), 0).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["breaks_fit"], false);
    let (_, html) = app
        .console_get(&format!("/console/lines/{other}"), &cookie)
        .await;
    assert!(!html.contains("data-no-break"));
    assert!(html.contains("data-heat-no-break"), "{html}");
    // ...and with it, on the line that has none in its regular times.
    let r = set_early(round_line.to_string(), 10).await;
    assert_eq!(r.body["breaks_fit"], true, "{:?}", r.body);
    let got = app
        .get(&format!("/api/lines/{round_line}/heat-timetable"), coord)
        .await;
    assert_eq!(got.body["breaks_fit"], true, "{:?}", got.body);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_line_out_in_the_morning_and_back_in_the_afternoon_gives_its_driver_a_break(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let coord = app.login("coord.foggia").await;
    let borgo = place(&app, "Borgo Mezzanone - ex pista").await;
    let pista = meeting_point(&app, "Ingresso pista").await;
    let russo = place(&app, "Azienda agricola Russo (pomodoro)").await;
    let tricarico = place(&app, "Azienda agricola Tricarico (asparagi)").await;
    let mut body = line_body(&app, "Linea andata e ritorno").await;
    body["vehicle_id"] = json!(vehicle(&app, "FG-PSG-05").await);
    body["stops"] = json!([
        { "place_id": borgo, "meeting_point_id": pista, "stop_time": "05:00" },
        { "place_id": russo, "stop_time": "05:50" },
        { "place_id": russo, "stop_time": "14:00" },
        { "place_id": tricarico, "stop_time": "14:30" },
        { "place_id": borgo, "meeting_point_id": pista, "stop_time": "15:00" },
    ]);
    let line = create_line(&app, &admin, &body).await;
    // and a line of a morning only (nobody subscribed yet), which needs none
    let mut short = line_body(&app, "Linea del mattino").await;
    short["vehicle_id"] = json!(vehicle(&app, "FG-PSG-04").await);
    let morning = create_line(&app, &admin, &short).await;
    let cases = cases_of(&app, FOGGIA).await;
    let year = |c: &str, b, a| sub(c, b, a, "2027-01-01", "2027-12-31");
    for (l, s) in [
        (&line, year(&cases[0], 0, 1)),
        (&line, year(&cases[1], 2, 4)),
    ] {
        let r = subscribe(&app, &coord, l, &s).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let r = app
        .post(
            "/api/lines/materialise",
            &coord,
            &json!({ "region_code": "puglia", "date": MONDAY }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let made = |l: &str| {
        r.body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["line_id"] == l)
            .unwrap()
            .clone()
    };
    assert_eq!(made(&line)["breaks"], 1, "{:?}", r.body);
    assert_eq!(made(&morning)["breaks"], 0, "{:?}", r.body);
    let run = made(&line)["run_id"].as_str().unwrap().to_owned();
    // The van is empty at Russo from 05:50 to 14:00: the break starts there, at the drop-off.
    assert_eq!(
        local_times(
            &app,
            "select to_char(s.planned_departure at time zone 'Europe/Rome', 'HH24:MI')
             from run_break b join run_stop s on s.run_id = b.run_id and s.seq = b.after_seq
             where b.run_id = $1::uuid",
            &run
        )
        .await,
        ["05:50"]
    );
    assert_eq!(
        breaks_of(&app, &run).await,
        ["dropoff → pickup, 05:50-06:35"]
    );

    // Another worker subscribes for the morning leg: the run's stops move (two more before the
    // wait) and the break stays after the last drop-off at Russo.
    let r = subscribe(&app, &coord, &line, &year(&cases[2], 0, 1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        local_times(
            &app,
            "select count(*)::text from run_stop where run_id = $1::uuid",
            &run
        )
        .await,
        ["8"]
    );
    assert_eq!(
        breaks_of(&app, &run).await,
        ["dropoff → pickup, 05:50-06:35"]
    );
    // Someone who stays on board from the morning to the afternoon leaves no empty wait: the
    // run has no break to plan (and the service says so in its log).
    let r = subscribe(&app, &coord, &line, &year(&cases[3], 0, 3)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(breaks_of(&app, &run).await.is_empty());
    // That rider's Monday is cancelled: the van is empty at Russo again, so is the break.
    let all_day: uuid::Uuid = sqlx::query_scalar(
        "select ride_request_id from ride_request where run_id = $1::uuid and case_id = $2::uuid",
    )
    .bind(&run)
    .bind(&cases[3])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    cancel(&app, &coord, all_day, "not working that day").await;
    assert_eq!(
        breaks_of(&app, &run).await,
        ["dropoff → pickup, 05:50-06:35"]
    );
    // And a rider of the morning leg cancels that day's ride (the rest of the run is re-timed on
    // travel times): the break stays after the last drop-off of the morning.
    let ride: uuid::Uuid = sqlx::query_scalar(
        "select ride_request_id from ride_request where run_id = $1::uuid and status in ('planned', 'confirmed')
         order by latest_arrival limit 1",
    )
    .bind(&run)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    cancel(&app, &coord, ride, "sick").await;
    // The line keeps its timetable: nothing earlier than published, boarding included.
    let (stops, _) = run_times(&app, &run).await;
    assert_eq!(stops, ["05:00", "05:50", "14:00", "15:00"]);
    assert_eq!(
        breaks_of(&app, &run).await,
        ["dropoff → pickup, 05:50-06:35"]
    );
}
