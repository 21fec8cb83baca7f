//! The ledger: append-only, never over a cap, also under concurrent spends.

use passaggio_tests::{spawn_demo, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

/// A regional transport fund for 2026 with a cap and an optional per-person monthly cap.
pub(crate) async fn transport_fund(
    app: &TestApp,
    admin: &str,
    cap: i64,
    monthly: Option<i64>,
) -> String {
    let r = app
        .post(
            "/api/funding-sources",
            admin,
            &json!({ "region_code": "puglia", "kind": "transport_fund", "name": "Fondo di prova",
                     "cap_cents": cap, "person_monthly_cap_cents": monthly,
                     "period_start": "2026-01-01", "period_end": "2026-12-31" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["funding_source_id"].as_str().unwrap().to_owned()
}

fn charge(amount: i64) -> Value {
    json!({ "amount_cents": amount, "occurred_on": "2026-11-20", "description": "corsa Borgo Mezzanone - Foggia" })
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_spend_over_the_cap_is_refused_and_writes_nothing(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = transport_fund(&app, &admin, 10_000, None).await;
    let path = format!("/api/funding-sources/{fund}/charges");
    assert_eq!(
        app.post(&path, &admin, &charge(6_000)).await.status,
        StatusCode::CREATED
    );
    let r = app.post(&path, &admin, &charge(5_000)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "over_cap");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4000 cents left"),
        "{:?}",
        r.body
    );
    let bal = app
        .get(&format!("/api/funding-sources/{fund}"), &admin)
        .await;
    assert_eq!(bal.body["spent_cents"], 6_000);
    assert_eq!(bal.body["remaining_cents"], 4_000);
    assert_eq!(
        app.get(&format!("/api/funding-sources/{fund}/ledger"), &admin)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn fifty_concurrent_spends_never_exceed_the_cap(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = transport_fund(&app, &admin, 10_000, None).await;
    let path = format!("/api/funding-sources/{fund}/charges");
    let body = charge(300);
    let results = futures::future::join_all((0..50).map(|_| app.post(&path, &admin, &body))).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (ok, refused),
        (33, 17),
        "33 x 300 = 9900 fits in 10000; the rest must be refused"
    );
    let spent: i64 = sqlx::query_scalar(
        "select sum(amount_cents)::bigint from ledger_entry where funding_source_id = $1::uuid",
    )
    .bind(&fund)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(spent, 9_900);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_database_itself_refuses_over_cap_inserts_updates_and_deletes(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = transport_fund(&app, &admin, 1_000, None).await;
    let insert = |amount: i64| {
        sqlx::query(
            "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, occurred_on, description)
             values ('puglia', $1::uuid, 'charge', $2, '2026-11-20', 'direct')",
        )
        .bind(fund.clone())
        .bind(amount)
    };
    insert(900).execute(&app.pool).await.unwrap();
    let err = insert(200).execute(&app.pool).await.unwrap_err();
    assert!(err.to_string().contains("cap"), "{err}");
    let err = sqlx::query("update ledger_entry set amount_cents = 1")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = sqlx::query("delete from ledger_entry")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_retried_charge_with_the_same_reference_is_written_once(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = transport_fund(&app, &admin, 10_000, None).await;
    let path = format!("/api/funding-sources/{fund}/charges");
    let mut body = charge(1_000);
    body["external_ref"] = json!("ride-42");
    let first = app.post(&path, &admin, &body).await;
    let second = app.post(&path, &admin, &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        first.body["ledger_entry_id"],
        second.body["ledger_entry_id"]
    );
    assert_eq!(
        app.get(&format!("/api/funding-sources/{fund}"), &admin)
            .await
            .body["spent_cents"],
        1_000
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn corrections_are_new_entries_and_monthly_person_caps_hold(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = transport_fund(&app, &admin, 100_000, Some(5_000)).await;
    let person: uuid::Uuid = sqlx::query_scalar("select person_id from person limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/api/funding-sources/{fund}/charges");
    let mut body = charge(4_000);
    assert_eq!(
        app.post(&path, &admin, &body).await.error_field(),
        "person_id"
    );
    body["person_id"] = json!(person);
    let first = app.post(&path, &admin, &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    body["amount_cents"] = json!(2_000);
    assert_eq!(
        app.post(&path, &admin, &body).await.status,
        StatusCode::CONFLICT,
        "5000 a month per person"
    );
    body["occurred_on"] = json!("2026-12-01");
    assert_eq!(
        app.post(&path, &admin, &body).await.status,
        StatusCode::CREATED,
        "a new month"
    );
    // A correction gives 1500 back on the first ride: a new entry, the old one untouched.
    let corr = app
        .post(
            &format!("/api/funding-sources/{fund}/corrections"),
            &admin,
            &json!({ "corrects_entry_id": first.body["ledger_entry_id"], "amount_cents": -1_500, "description": "tariffa corretta" }),
        )
        .await;
    assert_eq!(corr.status, StatusCode::CREATED, "{:?}", corr.body);
    let ledger = app
        .get(&format!("/api/funding-sources/{fund}/ledger"), &admin)
        .await;
    let amounts: Vec<i64> = ledger
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [4_000, 2_000, -1_500]);
    assert_eq!(
        app.get(&format!("/api/funding-sources/{fund}"), &admin)
            .await
            .body["spent_cents"],
        4_500
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_integration_budget_holds_each_areas_cap(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let case = app
        .post(
            "/api/cases",
            &cw,
            &json!({ "known_as": "Awa", "arrival_channel": "helpdesk", "opened_on": "2026-10-01" }),
        )
        .await;
    let person = case.body["person_id"].as_str().unwrap();
    let r = app
        .post(
            "/api/funding-sources",
            &cw,
            &json!({ "region_code": "puglia", "kind": "integration_budget", "name": "BdI Awa", "person_id": person,
                     "period_start": "2026-10-01", "period_end": "2027-03-31",
                     "area_caps": { "housing": 600000, "social_health": 200000,
                                    "integration_orientation": 200000, "active_labour": 200000 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["cap_cents"], 1_200_000);
    let id = r.body["funding_source_id"].as_str().unwrap();
    let path = format!("/api/funding-sources/{id}/charges");
    let mut body = charge(150_000);
    assert_eq!(app.post(&path, &cw, &body).await.error_field(), "area");
    body["area"] = json!("active_labour");
    assert_eq!(
        app.post(&path, &cw, &body).await.status,
        StatusCode::CREATED
    );
    let r = app.post(&path, &cw, &body).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("active_labour"));
    let bal = app.get(&format!("/api/funding-sources/{id}"), &cw).await;
    let labour = bal.body["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == "active_labour")
        .unwrap()
        .clone();
    assert_eq!(labour["remaining_cents"], 50_000);
    assert_eq!(bal.body["remaining_cents"], 1_050_000);
}
