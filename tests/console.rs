//! The coordinator console's session and scoping: a cookie session made by the same sign-in as
//! the API, never accepted by the API; another Polo's person is not found by search or typed
//! URL; logout ends the session; cross-site form posts are refused. And the API rule the
//! console relies on: a move is live insertion, for today's requests only.

use passaggio_tests::spawn_demo;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_console_session_is_a_cookie_the_api_never_takes_and_logout_ends_it(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (s, _) = app.console_get("/console/", "").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "no session: to the sign-in page");
    let cookie = app.console_login("coord.foggia").await;
    let (s, body) = app.console_get("/console/", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("Coordinamento Polo Foggia")
            || body.contains("coord.foggia")
            || body.contains("Foggia")
    );
    // The JSON API takes bearer tokens only.
    let (s, _) = app.console_get("/api/me", &cookie).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A wrong password gets the form again, and no cookie.
    let r = passaggio_tests::no_redirects()
        .post(app.url("/console/login"))
        .header(ORIGIN, format!("http://{}", app.addr))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("username=coord.foggia&password=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/console/login?failed=wrong");
    assert!(r.headers().get(SET_COOKIE).is_none());
    // A form posted from another site is refused.
    let r = passaggio_tests::no_redirects()
        .post(app.url("/console/logout"))
        .header(ORIGIN, "http://evil.example")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let sessions = app.count("staff_session").await;
    let r = passaggio_tests::no_redirects()
        .post(app.url("/console/logout"))
        .header(ORIGIN, format!("http://{}", app.addr))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(app.count("staff_session").await, sessions - 1);
    let (s, _) = app.console_get("/console/", &cookie).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the old cookie opens nothing");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn another_polo_finds_and_opens_nothing_of_a_person(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (case_id, code): (uuid::Uuid, String) = sqlx::query_as(
        "select c.case_id, c.pai_reference from care_case c join person p using (region_code, person_id)
         where p.known_as = 'Moussa'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let own = app.console_login("coord.foggia").await;
    let (s, body) = app
        .console_get(&format!("/console/book?q={code}"), &own)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("/console/people/{case_id}")));
    let (s, body) = app
        .console_get(&format!("/console/people/{case_id}"), &own)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Moussa"));

    let other = app.console_login("coord.sansevero").await;
    for q in ["Moussa", code.as_str()] {
        let (s, body) = app
            .console_get(&format!("/console/book?q={q}"), &other)
            .await;
        assert_eq!(s, StatusCode::OK);
        // The query comes back in the search box; no person does.
        assert!(
            !body.contains("class=\"found\"") && !body.contains(&case_id.to_string()),
            "{q}"
        );
    }
    let (s, body) = app
        .console_get(&format!("/console/people/{case_id}"), &other)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!body.contains("Moussa"));
    let (s, _) = app.console_get("/console/people/not-a-uuid", &other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Reads are audited as the API audits them: the Polo's own reads only.
    let foreign: i64 = sqlx::query_scalar(
        "select count(*) from case_access_audit a join staff s using (staff_id)
         where s.username = 'coord.sansevero' and a.case_id = $1",
    )
    .bind(case_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(foreign, 0);
    let own_reads: i64 = sqlx::query_scalar(
        "select count(*) from case_access_audit a join staff s using (staff_id)
         where s.username = 'coord.foggia' and a.case_id = $1",
    )
    .bind(case_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(own_reads >= 3, "search, person, rides: {own_reads}");
    // A case worker has no planning, map or fleet.
    let cw = app.console_login("cw.foggia").await;
    for path in ["/console/planning", "/console/fleet", "/console/day.json"] {
        let (s, _) = app.console_get(path, &cw).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn only_todays_requests_are_moved_live(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    let cases = app.foggia_cases().await;
    let tomorrow = dispatch::service_day::day_of(chrono::Utc::now())
        .succ_opt()
        .unwrap()
        .to_string();
    let r = app
        .post(
            "/api/ride-requests",
            &coord,
            &json!({ "case_id": cases[0], "purpose": "other", "service_date": tomorrow,
                     "pickup": { "meeting_point_id": app.meeting_point("Borgo Mezzanone - ex pista").await },
                     "dropoff": { "place_id": app.farm(0).await },
                     "earliest_pickup": "09:00" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["request"]["ride_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run: uuid::Uuid = sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id)
         select 'puglia', $1::date, vehicle_id from vehicle where region_code = 'puglia' limit 1
         returning run_id",
    )
    .bind(&tomorrow)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let r = app
        .post(
            &format!("/api/ride-requests/{id}/move"),
            &coord,
            &json!({ "run_id": run }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "not_today");
}
