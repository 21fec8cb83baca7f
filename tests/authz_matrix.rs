//! The authorization matrix, generated from the OpenAPI document: every operation the document
//! lists is called by every role — no login, the programme admin, a coordinator, a case worker
//! and a mediator of the Polo that owns the data, a coordinator and a case worker of another
//! Polo, the driver of the run in the path, a worker signed in with their access card (the
//! person of the ride request in the path) — and each answer is asserted against the table below, written by hand and
//! reviewed row by row. An operation added to the API without a row here fails the test, so
//! nobody can add a door without saying who may pass it.
//!
//! Path parameters are real ids of the Foggia Polo's data (a case, its person's budget, a ride
//! request, a line and a subscription, a run of `driver.marco`, a planning job); bodies are
//! generated from each operation's request schema (required members only, each of the right
//! type), so they get past JSON parsing and the answer is the handler's own decision about the
//! caller. Required query parameters are filled the same way. Classes: `U` 401 (no login),
//! `F` 403 (role may not), `N` 404 (not yours to see: the same answer as for something that
//! does not exist), and, once the caller is let in, `A` 2xx, `C` 409 (a conflict with the
//! state, e.g. cancelling what an earlier column already cancelled) or `V` 422 (the handler's
//! own rules refuse the generated body, e.g. a place id that is not a meeting point).

use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use sqlx::PgPool;

use passaggio_tests::openapi::{document, operations};
use passaggio_tests::{spawn_demo_at, TestApp};

const NOW: &str = "2026-07-14T05:30:00Z";
const TODAY: &str = "2026-07-14";

/// Column order of the table.
const ROLES: [&str; 9] = [
    "anonymous",
    "admin",
    "coord.foggia",
    "cw.foggia",
    "med.foggia",
    "coord.sansevero",
    "cw.sansevero",
    "the run's driver",
    "worker with a card",
];

/// Expected answers: one letter per role, in the order of [`ROLES`]:
/// anonymous, admin, coordinator / case worker / mediator of Foggia, coordinator / case worker
/// of San Severo, the run's driver, the worker. Reviewed: a worker signed in with their card
/// reaches only `/api/self` (their own rides, lines and reports; another's subscription is a
/// 404) and no staff operation (401: their token is not a staff login); access cards are
/// issued and revoked by the case's Polo; workers' reports are read by the Polo's coordinator
/// only (another Polo's coordinator sees an empty list, and 404 for the report); the programme admin sees no case data (`F`/`N`
/// on cases, budgets, rides); another Polo gets 404 for Foggia's cases, budgets, requests and
/// subscriptions; a mediator books and reads for the Polo but neither takes people into care,
/// closes cases, opens budgets nor charges them; drivers reach only the driver API and only
/// their own run; fleet, places and lines are written by the admin (and lines and places by
/// coordinators), planning by coordinators; nothing but health, metrics (loopback), the
/// document and sign-in answers without a login.
#[rustfmt::skip]
const TABLE: &[(&str, &str, &str)] = &[
    ("post", "/api/appointments", "UFVVVVVFU"),
    ("post", "/api/auth/login", "UUUUUUUUU"),
    ("post", "/api/auth/logout", "AAAAAAAAA"),
    ("get", "/api/cases", "UFAAAAAFU"),
    ("post", "/api/cases", "UFVAFVAFU"),
    ("get", "/api/cases/{case_id}", "UFAAANNFU"),
    ("post", "/api/cases/{case_id}/access-card", "UFAAANNFU"),
    ("get", "/api/cases/{case_id}/access-card/events", "UFAAANNFU"),
    ("post", "/api/cases/{case_id}/access-card/revoke", "UFACCNNFU"),
    ("get", "/api/cases/{case_id}/access-log", "UFAFFNFFU"),
    ("get", "/api/cases/{case_id}/budgets", "UFAAANNFU"),
    ("get", "/api/cases/{case_id}/rides", "UFAAANNFU"),
    ("post", "/api/cases/{case_id}/status", "UFAAFNNFU"),
    ("get", "/api/drivers", "UAAFFAFFU"),
    ("post", "/api/drivers", "UVFFFFFFU"),
    ("post", "/api/funding-sources", "UVVVFVVFU"),
    ("get", "/api/funding-sources/{id}", "UNAAANNNU"),
    ("post", "/api/funding-sources/{id}/charges", "UNVVFNNFU"),
    ("post", "/api/funding-sources/{id}/corrections", "UNVFFNFFU"),
    ("get", "/api/funding-sources/{id}/ledger", "UNAAANNNU"),
    ("get", "/api/lines", "UAAAAAAFU"),
    ("post", "/api/lines", "UVVFFVFFU"),
    ("post", "/api/lines/materialise", "UAAFFAFFU"),
    ("get", "/api/lines/passing", "UAAAAAAFU"),
    ("get", "/api/lines/{line_id}", "UAAAAAAFU"),
    ("post", "/api/lines/{line_id}/edit", "UVVFFVFFU"),
    ("post", "/api/lines/{line_id}/end", "UAVFFVFFU"),
    ("post", "/api/lines/{line_id}/heat-days", "UCCFFCFFU"),
    ("get", "/api/lines/{line_id}/heat-timetable", "UAAAAAAFU"),
    ("post", "/api/lines/{line_id}/heat-timetable", "UVVFFVFFU"),
    ("post", "/api/lines/{line_id}/subscriptions", "UFVVVNNFU"),
    ("post", "/api/lines/{line_id}/subscriptions/{subscription_id}/end", "UFACCNNFU"),
    ("get", "/api/me", "UAAAAAAAU"),
    ("get", "/api/meeting-points/nearest", "UAAAFAAFU"),
    ("get", "/api/openapi.json", "AAAAAAAAA"),
    ("get", "/api/openapi.yaml", "AAAAAAAAA"),
    ("get", "/api/places", "UAAAFAAFU"),
    ("post", "/api/places", "UAAFFAFFU"),
    ("get", "/api/places/{place_id}/meeting-points", "UAAAFAAFU"),
    ("post", "/api/places/{place_id}/meeting-points", "UAAFFAFFU"),
    ("post", "/api/plans", "UACFFCFFU"),
    ("get", "/api/plans/{id}", "UAAFFAFFU"),
    ("get", "/api/poli", "UAAAFAAFU"),
    ("post", "/api/poli", "UAFFFFFFU"),
    ("get", "/api/regions", "UAAAAAAAU"),
    ("get", "/api/reports/gtfs", "UVVVVVVFU"),
    ("post", "/api/reports/gtfs/publication", "UAFFFFFFU"),
    ("get", "/api/reports/oversight", "UFVFFVFFU"),
    ("get", "/api/reports/oversight/declarations", "UAAFFAFFU"),
    ("post", "/api/reports/oversight/declarations", "UVVFFVFFU"),
    ("post", "/api/reports/oversight/reviews", "UFNFFNFFU"),
    ("get", "/api/reports/programme", "UVVFFVFFU"),
    ("get", "/api/reports/service", "UVVFFVFFU"),
    ("get", "/api/ride-requests", "UFAAAAAFU"),
    ("post", "/api/ride-requests", "UFVVVVVFU"),
    ("get", "/api/ride-requests/clusters", "UAAFFAFFU"),
    ("get", "/api/ride-requests/{id}", "UFAAANNFU"),
    ("post", "/api/ride-requests/{id}/cancel", "UFAAANNFU"),
    ("post", "/api/ride-requests/{id}/change", "UFVVVNNFU"),
    ("post", "/api/ride-requests/{id}/move", "UFAFFNFFU"),
    ("post", "/api/ride-requests/{id}/no-show-correction", "UFCFFNFFU"),
    ("get", "/api/runs", "UAAFFAFFU"),
    ("post", "/api/runs/{run_id}/driver", "UAAFFAFFU"),
    ("get", "/api/runs/{run_id}/position", "UFAFFAFFU"),
    ("get", "/api/self", "UUUUUUUUA"),
    ("get", "/api/self/lines", "UUUUUUUUA"),
    ("post", "/api/self/lines/{line_id}/subscriptions", "UUUUUUUUV"),
    ("post", "/api/self/lines/{line_id}/subscriptions/{subscription_id}/end", "UUUUUUUUN"),
    ("get", "/api/self/places", "UUUUUUUUA"),
    ("post", "/api/self/reports", "UUUUUUUUA"),
    ("get", "/api/self/rides", "UUUUUUUUA"),
    ("post", "/api/self/rides", "UUUUUUUUV"),
    ("get", "/api/self/rides/{id}", "UUUUUUUUA"),
    ("post", "/api/self/rides/{id}/cancel", "UUUUUUUUA"),
    ("post", "/api/self/sign-in", "UUUUUUUUU"),
    ("post", "/api/self/sign-out", "AAAAAAAAA"),
    ("get", "/api/service-areas", "UAAAFAAFU"),
    ("post", "/api/service-areas", "UVFFFFFFU"),
    ("get", "/api/vehicles", "UAAFFAFFU"),
    ("post", "/api/vehicles", "UAFFFFFFU"),
    ("get", "/api/worker-reports", "UFAFFAFFU"),
    ("post", "/api/worker-reports/{report_id}/status", "UFAFFNFFU"),
    ("get", "/driver/api/runs", "UFFFFFFAU"),
    ("get", "/driver/api/runs/{run_id}", "UFFFFFFAU"),
    ("post", "/driver/api/runs/{run_id}/events", "UFFFFFFAU"),
    ("post", "/driver/api/runs/{run_id}/positions", "UFFFFFFAU"),
    ("get", "/driver/api/runs/{run_id}/version", "UFFFFFFAU"),
    ("get", "/health", "AAAAAAAAA"),
    ("get", "/metrics", "AAAAAAAAA"),
    ("get", "/open-data/{region}/gtfs.zip", "NNNNNNNNN"),
];

struct Fixtures {
    ids: Map<String, Value>,
}

impl Fixtures {
    fn path(&self, template: &str) -> String {
        let mut out = template.to_owned();
        for (name, v) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), v.as_str().unwrap());
        }
        assert!(
            !out.contains('{'),
            "no fixture for a parameter of {template}"
        );
        out
    }
}

/// A value of `schema` with every required member, of the right type.
fn sample(schema: &Value, fx: &Fixtures, depth: usize) -> Value {
    let doc = document();
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).expect("ref"),
        None => schema,
    };
    if depth > 8 {
        return Value::Null;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            if key == "allOf" {
                let mut merged = Map::new();
                for s in list {
                    if let Value::Object(m) = sample(s, fx, depth + 1) {
                        merged.extend(m);
                    }
                }
                return Value::Object(merged);
            }
            let first = list
                .iter()
                .find(|s| s.get("type") != Some(&json!("null")))
                .expect("a branch");
            return sample(first, fx, depth + 1);
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return e[0].clone();
    }
    let ty = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null),
        Some(t) => t.clone(),
        None if schema.get("properties").is_some() => json!("object"),
        None => return json!({}),
    };
    match ty.as_str().unwrap_or("null") {
        "object" => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut m = Map::new();
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) {
                    m.insert(name.clone(), member(name, prop, fx, depth));
                }
            }
            Value::Object(m)
        }
        "array" => {
            let min = schema["minItems"].as_u64().unwrap_or(0);
            // Two items: a lon/lat pair (`[f64; 2]`) parses, and a list is not empty.
            Value::Array(
                (0..min.max(2))
                    .map(|_| sample(&schema["items"], fx, depth + 1))
                    .collect(),
            )
        }
        "string" => match schema["format"].as_str() {
            Some("uuid") => json!(uuid::Uuid::new_v4()),
            Some("date") => json!(TODAY),
            Some("date-time") => json!(NOW),
            _ => json!("x"),
        },
        "integer" => json!(1),
        "number" => json!(1.0),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// A member named `name`: ids of the fixtures where the name says which.
fn member(name: &str, prop: &Value, fx: &Fixtures, depth: usize) -> Value {
    match fx.ids.get(name) {
        Some(v) => v.clone(),
        None => sample(prop, fx, depth + 1),
    }
}

async fn fixtures(app: &TestApp, coord: &str) -> Fixtures {
    // The Foggia person with a budget, their case, a request, a line and subscription.
    let case_id = app
        .id(
            "select c.case_id from care_case c join polo p using (polo_id)
             join funding_source f on f.person_id = c.person_id
             where p.name = 'Polo Sociale Integrato Foggia' and c.status = 'open'
             order by c.opened_on, c.case_id limit 1",
        )
        .await;
    let budget = app
        .id(&format!(
            "select f.funding_source_id from funding_source f join care_case c using (person_id)
             where c.case_id = '{case_id}' limit 1"
        ))
        .await;
    let person = app
        .id(&format!(
            "select person_id from care_case where case_id = '{case_id}'"
        ))
        .await;
    // Two rides of Foggia people today, then the day planned: runs with drivers.
    let cases = app.foggia_cases().await;
    let mp = app.meeting_point("Borgo Mezzanone - ex pista").await;
    let farm = app.farm(0).await;
    for (case, at) in [(&case_id, "09:00"), (&cases[1], "09:30")] {
        let r = app
            .post(
                "/api/ride-requests",
                coord,
                &json!({ "case_id": case, "purpose": "work_shift", "service_date": TODAY,
                         "pickup": { "meeting_point_id": mp }, "dropoff": { "place_id": farm },
                         "earliest_pickup": at }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let plan = app.plan_day(coord, TODAY, 2).await;
    let request = app
        .id(&format!(
            "select r.ride_request_id from ride_request r join care_case c using (case_id)
             where c.polo_id = (select polo_id from care_case where case_id = '{case_id}')
             order by r.ride_request_id limit 1"
        ))
        .await;
    let run = app
        .id("select r.run_id from run r where r.driver_id is not null
             order by r.run_id limit 1")
        .await;
    let driver_login: String = sqlx::query_scalar(&format!(
        "select s.username from run r join driver d using (driver_id) join staff s using (staff_id)
         where r.run_id = '{run}'"
    ))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // A line, and a Foggia person subscribed to it.
    let place_named = |name: &'static str| async move {
        app.id(&format!("select place_id from place where name = '{name}'"))
            .await
    };
    let r = app
        .post(
            "/api/lines",
            coord,
            &json!({
                "name": "Linea matrice", "region_code": "puglia", "capacity": 8,
                "season_start": "2026-01-01", "season_end": "2026-12-31",
                "operating_days": [1, 2, 3, 4, 5, 6, 7],
                "stops": [
                    { "place_id": place_named("Borgo Mezzanone - ex pista").await,
                      "meeting_point_id": mp, "stop_time": "05:00" },
                    { "place_id": place_named("Azienda agricola Tricarico (asparagi)").await,
                      "stop_time": "05:20" },
                ]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let line = r.body["line_id"].as_str().unwrap().to_owned();
    let last = 1;
    let r = app
        .post(
            &format!("/api/lines/{line}/subscriptions"),
            coord,
            &json!({ "case_id": cases[2], "board_seq": 0, "alight_seq": last,
                     "valid_from": TODAY, "valid_to": "2026-08-14" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let sub = r.body["subscription"]["subscription_id"]
        .as_str()
        .or_else(|| r.body["subscription_id"].as_str())
        .expect("subscription id")
        .to_owned();
    let place = app
        .id("select place_id from place where kind = 'settlement' order by name limit 1")
        .await;
    let driver = app
        .id(&format!(
            "select d.driver_id from driver d join staff s using (staff_id) where s.username = '{driver_login}'"
        ))
        .await;
    let mut ids = Map::new();
    for (k, v) in [
        ("case_id", case_id),
        ("person_id", person),
        ("place_id", place),
        ("line_id", line),
        ("subscription_id", sub),
        ("run_id", run),
        ("driver_id", driver),
        ("region", "puglia".to_owned()),
        ("region_code", "puglia".to_owned()),
        ("service_date", TODAY.to_owned()),
        ("date", TODAY.to_owned()),
    ] {
        ids.insert(k.to_owned(), json!(v));
    }
    // `{id}` means a different thing on each path: set per operation.
    ids.insert("budget".into(), json!(budget));
    ids.insert("request".into(), json!(request));
    ids.insert("plan".into(), json!(plan["plan_job_id"]));
    ids.insert("driver_login".into(), json!(driver_login));
    Fixtures { ids }
}

fn op_params(method: &str, template: &str) -> Vec<Value> {
    document()["paths"][template][method]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn class(status: StatusCode) -> char {
    match status.as_u16() {
        401 => 'U',
        403 => 'F',
        404 => 'N',
        200..=299 => 'A',
        409 => 'C',
        422 => 'V',
        other => panic!("unexpected status {other}"),
    }
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn every_operation_answers_every_role_as_the_table_says(pool: PgPool) {
    let app = spawn_demo_at(pool, NOW).await;
    // No endpoint creates staff other than drivers: a mediator of the Foggia Polo by SQL.
    sqlx::query(
        "insert into staff (username, display_name, role, region_code, polo_id, password_hash)
         select 'med.foggia', 'Mediatore', 'mediator', 'puglia', polo.polo_id, s.password_hash
         from polo, staff s where polo.name = 'Polo Sociale Integrato Foggia' and s.username = 'admin'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let coord = app.login("coord.foggia").await;
    let mut fx = fixtures(&app, &coord).await;
    // The worker: the person of the ride request in the paths, with a card their case worker
    // issued, and a report of theirs for the coordinator's rows.
    let request_case = app
        .id(&format!(
            "select case_id from ride_request where ride_request_id = '{}'",
            fx.ids["request"].as_str().unwrap()
        ))
        .await;
    let cw = app.login("cw.foggia").await;
    let card = app
        .post(
            &format!("/api/cases/{request_case}/access-card"),
            &cw,
            &json!({}),
        )
        .await;
    assert_eq!(card.status, StatusCode::CREATED, "{:?}", card.body);
    let signed = app
        .call(
            Method::POST,
            "/api/self/sign-in",
            None,
            Some(&json!({ "code": card.body["code"] })),
        )
        .await;
    let worker_token = signed.body["token"]
        .as_str()
        .expect("worker token")
        .to_owned();
    let report = app
        .post(
            "/api/self/reports",
            &worker_token,
            &json!({ "kind": "money" }),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{:?}", report.body);
    fx.ids
        .insert("report_id".into(), report.body["report_id"].clone());
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push(match role {
            "anonymous" => None,
            "the run's driver" => Some(app.login(fx.ids["driver_login"].as_str().unwrap()).await),
            "worker with a card" => Some(worker_token.clone()),
            _ => Some(app.login(role).await),
        });
    }
    let mut observed = Vec::new();
    let mut ops = operations();
    // Planning the day again replaces its runs, cancelling the request empties the driver's
    // run and ending the line ends its subscriptions; issuing a card again revokes the worker's, and logging out ends the session the
    // other rows use: those last.
    ops.sort_by_key(|(_, p)| match p.as_str() {
        "/api/auth/logout" | "/api/self/sign-out" => 3,
        "/api/cases/{case_id}/access-card" | "/api/cases/{case_id}/access-card/revoke" => 2,
        "/api/ride-requests/{id}/cancel"
        | "/api/self/rides/{id}/cancel"
        | "/api/plans"
        | "/api/lines/{line_id}/end" => 1,
        _ => 0,
    });
    for (method, template) in &ops {
        let id_of = match template.as_str() {
            t if t.starts_with("/api/funding-sources/") => "budget",
            t if t.starts_with("/api/plans/") => "plan",
            _ => "request",
        };
        fx.ids.insert("id".into(), fx.ids[id_of].clone());
        let mut path = fx.path(template);
        let query: Vec<String> = op_params(method, template)
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let v = member(name, &p["schema"], &fx, 0);
                format!(
                    "{name}={}",
                    v.as_str().map_or_else(|| v.to_string(), ToOwned::to_owned)
                )
            })
            .collect();
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let op = &document()["paths"][template][method];
        let body = op["requestBody"]["content"]["application/json"]
            .get("schema")
            .map(|s| sample(s, &fx, 0));
        let mut row = String::new();
        for token in &tokens {
            let m = if method == "get" {
                Method::GET
            } else {
                Method::POST
            };
            let r = app.call(m, &path, token.as_deref(), body.as_ref()).await;
            row.push(class(r.status));
        }
        observed.push((method.clone(), template.clone(), row));
    }
    let table: Vec<String> = observed
        .iter()
        .map(|(m, p, r)| format!("    (\"{m}\", \"{p}\", \"{r}\"),"))
        .collect();
    let mut wrong = Vec::new();
    for (m, p, r) in &observed {
        match TABLE.iter().find(|(tm, tp, _)| tm == m && tp == p) {
            None => wrong.push(format!("{m} {p}: no row in the table (observed {r})")),
            Some((_, _, want)) if want != r => {
                wrong.push(format!("{m} {p}: want {want}, got {r}"));
            }
            Some(_) => {}
        }
    }
    for (m, p, _) in TABLE {
        if !observed.iter().any(|(om, op, _)| om == m && op == p) {
            wrong.push(format!(
                "{m} {p}: in the table but not in the OpenAPI document"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "roles: {ROLES:?}\n{}\n\nobserved (review before copying into TABLE):\n{}",
        wrong.join("\n"),
        table.join("\n")
    );
}
