//! The service as a whole: health, migrations, the demo region, error shapes.

use passaggio_tests::{spawn_app, spawn_demo};
use reqwest::{Method, StatusCode};
use sqlx::PgPool;

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn health_reports_the_database_and_postgis(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["database"], "ok");
    assert!(
        r.body["postgis"].as_str().unwrap().starts_with('3'),
        "{:?}",
        r.body
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn migrations_create_the_schema_with_spatial_indexes(pool: PgPool) {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'public' order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in [
        "care_case",
        "case_access_audit",
        "ledger_entry",
        "meeting_point",
        "place",
        "polo",
        "vehicle",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "missing table {t}: {tables:?}"
        );
    }
    let gist: i64 =
        sqlx::query_scalar("select count(*) from pg_indexes where indexdef ilike '%using gist%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(gist >= 4, "spatial indexes: {gist}");
    let regions: i64 = sqlx::query_scalar("select count(*) from region")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(regions, 5);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_demo_region_loads_once(pool: PgPool) {
    assert!(dispatch::demo::seed(&pool, true).await.unwrap());
    let poli: i64 = sqlx::query_scalar("select count(*) from polo")
        .fetch_one(&pool)
        .await
        .unwrap();
    let farms: i64 =
        sqlx::query_scalar("select count(*) from place where kind in ('farm', 'packing_house')")
            .fetch_one(&pool)
            .await
            .unwrap();
    let budgets: i64 =
        sqlx::query_scalar("select count(*) from funding_source where kind = 'integration_budget'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(poli, 4);
    assert!(farms >= 24, "farms: {farms}");
    assert!(budgets >= 5, "budgets: {budgets}");
    // A second load with --if-empty changes nothing.
    assert!(!dispatch::demo::seed(&pool, true).await.unwrap());
    let poli_after: i64 = sqlx::query_scalar("select count(*) from polo")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(poli_after, 4);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn requests_without_a_login_get_401_and_unknown_routes_404_in_json(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let r = app.call(Method::GET, "/api/regions", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "unauthorized");
    let r = app
        .call(Method::GET, "/api/regions", Some("not-a-token"), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.call(Method::GET, "/api/nothing-here", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_wrong_password_is_refused_and_logout_ends_the_session(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let r = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&serde_json::json!({ "username": "admin", "password": "wrong-password" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let token = app.login("admin").await;
    let me = app.get("/api/me", &token).await;
    assert_eq!(me.body["role"], "programme_admin");
    let r = app
        .call(Method::POST, "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn every_path_in_the_openapi_document_is_served(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = reqwest::get(app.url("/api/openapi.yaml")).await.unwrap();
    assert_eq!(doc.headers()["content-type"], "application/yaml");
    let text = doc.text().await.unwrap();
    assert_eq!(text, dispatch::openapi::yaml());
    let json: serde_json::Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["openapi"], "3.1.0");
    let paths: Vec<String> = json["paths"].as_object().unwrap().keys().cloned().collect();
    assert!(paths.len() >= 40, "{paths:?}");
    let id = uuid::Uuid::new_v4().to_string();
    for path in paths {
        let concrete: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    id.as_str()
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in [Method::GET, Method::POST] {
            let r = app.call(method.clone(), &concrete, None, None).await;
            let unrouted = r.status == StatusCode::NOT_FOUND
                && r.body["error"]["message"] == "route not found";
            assert!(!unrouted, "{method} {path} is documented but not served");
        }
    }
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_demo_season_has_a_running_work_line_with_subscribers(pool: PgPool) {
    assert!(dispatch::demo::seed(&pool, false).await.unwrap());
    dispatch::demo::seed_season(&pool).await.unwrap();
    let subscribers: i64 = sqlx::query_scalar(
        "select count(*) from line_subscription s join work_line l using (line_id) where l.funding_source_id is not null",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(subscribers >= 3, "{subscribers}");
    // Next Monday the line runs with its subscribers on board.
    let monday: chrono::NaiveDate = sqlx::query_scalar(
        "select (current_date + (8 - extract(isodow from current_date))::int)::date",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let runs = dispatch::runs::line_runs::materialise_day(&mut tx, "puglia", monday, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(runs.len(), 1);
    let riders: i64 = sqlx::query_scalar(
        "select count(*) from ride_request where line_subscription_id is not null and run_id = $1",
    )
    .bind(runs[0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(riders, subscribers);
}

#[test]
fn the_openapi_response_check_refuses_what_the_document_does_not_say() {
    use passaggio_tests::openapi::{check_response, template_of};
    assert_eq!(
        template_of("/api/lines/passing?region=puglia").as_deref(),
        Some("/api/lines/passing")
    );
    assert_eq!(
        template_of("/driver/api/runs/1b4e28ba-2fa1-11d2-883f-0016d3cca427/events").as_deref(),
        Some("/driver/api/runs/{run_id}/events")
    );
    // A body of the right shape passes; a wrong type, a missing member, an undocumented status
    // do not.
    let me = serde_json::json!({
        "staff_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "username": "a", "display_name": "A",
        "role": "driver", "region_code": "puglia", "polo_id": null
    });
    check_response("get", "/api/me", StatusCode::OK, &me);
    let mut wrong = me.clone();
    wrong["role"] = serde_json::json!("caporale");
    for (status, body) in [
        (StatusCode::OK, wrong),
        (StatusCode::OK, serde_json::json!({ "username": "a" })),
        (StatusCode::CREATED, me.clone()),
        (StatusCode::NOT_FOUND, serde_json::json!({ "error": "no" })),
    ] {
        let caught = std::panic::catch_unwind(|| check_response("get", "/api/me", status, &body));
        assert!(caught.is_err(), "{status} {body} passed the check");
    }
}
