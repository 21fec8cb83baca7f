//! Bad input gets a 4xx naming the field, and writes nothing.

use passaggio_tests::spawn_demo;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn bad_places_are_refused_naming_the_field(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let before = app.count("place").await;
    let good = json!({ "region_code": "puglia", "kind": "farm", "name": "Masseria Prova",
                       "location": { "lon": 15.6, "lat": 41.4 } });
    let cases = [
        (
            "location.lat",
            json!({ "location": { "lon": 15.6, "lat": 123.0 } }),
        ),
        (
            "location.lon",
            json!({ "location": { "lon": 215.6, "lat": 41.0 } }),
        ),
        ("name", json!({ "name": "   " })),
        ("kind", json!({ "kind": "castle" })),
        ("informal", json!({ "informal": true })),
        ("region_code", json!({ "region_code": "lombardia" })),
    ];
    for (field, patch) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.post("/api/places", &admin, &body).await;
        assert!(r.status.is_client_error(), "{field}: {:?}", r.status);
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("name");
    assert_eq!(
        app.post("/api/places", &admin, &missing)
            .await
            .error_field(),
        "name"
    );
    assert_eq!(
        app.count("place").await,
        before,
        "refused requests wrote nothing"
    );
    assert_eq!(
        app.post("/api/places", &admin, &good).await.status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_inverted_period_is_refused_naming_period_end(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let before = app.count("funding_source").await;
    let r = app
        .post(
            "/api/funding-sources",
            &admin,
            &json!({ "region_code": "puglia", "kind": "transport_fund", "name": "Fondo",
                     "cap_cents": 1000, "period_start": "2026-12-01", "period_end": "2026-01-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "period_end");
    let r = app
        .post(
            "/api/funding-sources",
            &admin,
            &json!({ "region_code": "puglia", "kind": "transport_fund", "name": "Fondo",
                     "cap_cents": 1000, "period_start": "2026-13-01", "period_end": "2027-01-01" }),
        )
        .await;
    assert_eq!(r.error_field(), "period_start", "{:?}", r.body);
    assert_eq!(app.count("funding_source").await, before);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn malformed_json_and_wrong_content_type_get_the_same_error_shape(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let client = reqwest::Client::new();
    let r = client
        .post(app.url("/api/places"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "body");
    let r = client
        .post(app.url("/api/places"))
        .bearer_auth(&admin)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            Method::GET,
            "/api/meeting-points/nearest?region=puglia&lon=15.5&lat=95",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.error_field(), "lat");
    let r = app
        .call(
            Method::GET,
            "/api/meeting-points/nearest?region=puglia&lon=15.5",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.error_field(), "lat", "{:?}", r.body);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn bad_vehicles_and_cases_name_their_fields(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let r = app
        .post(
            "/api/vehicles",
            &admin,
            &json!({ "region_code": "puglia", "label": "X", "seats": 0, "operator": "O", "depot_name": "D",
                     "depot": { "lon": 15.5, "lat": 41.4 }, "cost_per_km_cents": 1, "cost_per_hour_cents": 1 }),
        )
        .await;
    assert_eq!(r.error_field(), "seats");
    let cw = app.login("cw.foggia").await;
    let before = app.count("person").await;
    let r = app
        .post(
            "/api/cases",
            &cw,
            &json!({ "known_as": "A", "arrival_channel": "by_boat", "opened_on": "2026-11-01" }),
        )
        .await;
    assert_eq!(r.error_field(), "arrival_channel");
    let r = app
        .post("/api/cases", &cw, &json!({ "known_as": "A", "languages": ["english"], "arrival_channel": "outreach", "opened_on": "2026-11-01" }))
        .await;
    assert_eq!(r.error_field(), "languages.0");
    assert_eq!(app.count("person").await, before);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_malformed_id_in_the_url_is_a_422_naming_the_parameter(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    for (method, path, field) in [
        (Method::GET, "/api/cases/null,null", "case_id"),
        (Method::POST, "/api/ride-requests/42/cancel", "id"),
        (
            Method::POST,
            "/api/lines/1b4e28ba-2fa1-11d2-883f-0016d3cca427/subscriptions/x/end",
            "subscription_id",
        ),
    ] {
        let r = app
            .call(method.clone(), path, Some(&coord), Some(&json!({})))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}: {:?}",
            r.body
        );
        assert_eq!(r.error_field(), field, "{method} {path}: {:?}", r.body);
    }
}
