//! Who may see what: case data only to the case's Polo, never to drivers or admins, and every
//! read audited.

use passaggio_tests::{spawn_demo, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

async fn new_case(app: &TestApp, token: &str) -> String {
    let r = app
        .post(
            "/api/cases",
            token,
            &json!({ "known_as": "Salif", "languages": ["fr", "WO"], "arrival_channel": "outreach",
                     "opened_on": "2026-11-02" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["languages"], json!(["fr", "wo"]));
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn audit_rows(app: &TestApp, case_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from case_access_audit where case_id = $1::uuid")
        .bind(case_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn another_polos_case_is_not_found_and_drivers_and_admins_are_forbidden(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw_foggia = app.login("cw.foggia").await;
    let case_id = new_case(&app, &cw_foggia).await;
    let path = format!("/api/cases/{case_id}");

    let own = app.get(&path, &app.login("coord.foggia").await).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["known_as"], "Salif");

    let before = audit_rows(&app, &case_id).await;
    let other = app.get(&path, &app.login("cw.sansevero").await).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{:?}", other.body);
    assert!(other.body.to_string().find("Salif").is_none());
    let driver = app.get(&path, &app.login("driver.marco").await).await;
    assert_eq!(driver.status, StatusCode::FORBIDDEN);
    let admin = app.get(&path, &app.login("admin").await).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    // Refused reads read nothing, so they audit nothing.
    assert_eq!(audit_rows(&app, &case_id).await, before);

    // Lists are scoped the same way.
    let list = app
        .get("/api/cases", &app.login("coord.sansevero").await)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["case_id"] != case_id.as_str()));
    let list = app
        .get("/api/cases", &app.login("driver.giulia").await)
        .await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn every_read_of_a_case_writes_an_audit_row(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let case_id = new_case(&app, &cw).await;
    assert_eq!(audit_rows(&app, &case_id).await, 1, "creation is audited");
    app.get(&format!("/api/cases/{case_id}"), &cw).await;
    app.get(&format!("/api/cases/{case_id}"), &cw).await;
    let list = app.get("/api/cases", &cw).await;
    let listed = list.body.as_array().unwrap().len() as i64;
    assert!(listed >= 2, "the demo Polo has cases");
    assert_eq!(audit_rows(&app, &case_id).await, 4);
    let coord = app.login("coord.foggia").await;
    let log = app
        .get(&format!("/api/cases/{case_id}/access-log"), &coord)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let purposes: Vec<&str> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes, ["access log", "list", "view", "view", "create"]);
    // The audit trail cannot be rewritten.
    let err = sqlx::query("delete from case_access_audit")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_persons_budget_is_visible_only_to_their_polo(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let cases = app.get("/api/cases", &cw).await;
    let with_budget = futures::future::join_all(cases.body.as_array().unwrap().iter().map(|c| {
        let id = c["case_id"].as_str().unwrap().to_owned();
        let app = &app;
        let cw = &cw;
        async move {
            (
                id.clone(),
                app.get(&format!("/api/cases/{id}/budgets"), cw).await,
            )
        }
    }))
    .await
    .into_iter()
    .find(|(_, r)| r.body.as_array().is_some_and(|a| !a.is_empty()))
    .expect("a demo case of Foggia has a budget");
    let budget = &with_budget.1.body[0];
    assert_eq!(budget["kind"], "integration_budget");
    assert_eq!(budget["remaining_cents"], 1_200_000);
    assert_eq!(budget["areas"].as_array().unwrap().len(), 4);
    let id = budget["funding_source_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/funding-sources/{id}"), &cw)
            .await
            .status,
        StatusCode::OK
    );
    let other = app
        .get(
            &format!("/api/funding-sources/{id}"),
            &app.login("cw.cerignola").await,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let admin = app
        .get(
            &format!("/api/funding-sources/{id}"),
            &app.login("admin").await,
        )
        .await;
    assert_eq!(admin.status, StatusCode::NOT_FOUND);
    let other = app
        .get(
            &format!("/api/cases/{}/budgets", with_budget.0),
            &app.login("cw.cerignola").await,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}
