//! Issue #11, items 1 and 2: corrections cannot pay out beyond a cap, every cap holds for the
//! gross payouts under real races, the database backstop refuses the same on every cap, and
//! charges to a shared fund are scoped to the caller's Polo.

use passaggio_tests::{spawn_demo, wide_pool, Resp, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::budgets::transport_fund as fund;

fn charge(amount: i64, person: Option<&str>) -> Value {
    json!({ "amount_cents": amount, "occurred_on": "2026-11-20", "person_id": person,
            "description": "corsa Borgo Mezzanone - Foggia" })
}

fn correction(entry: &Value, amount: i64) -> Value {
    json!({ "corrects_entry_id": entry, "amount_cents": amount, "description": "rimborso" })
}

/// A new case at the Polo of case worker `cw`; its person id.
async fn person_of(app: &TestApp, cw: &str, name: &str) -> String {
    let token = app.login(cw).await;
    let r = app
        .post(
            "/api/cases",
            &token,
            &json!({ "known_as": name, "arrival_channel": "helpdesk", "opened_on": "2026-10-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["person_id"].as_str().unwrap().to_owned()
}

async fn sums(pool: &PgPool, fund: &str) -> (i64, i64) {
    sqlx::query_as(
        "select coalesce(sum(greatest(amount_cents, 0)), 0)::bigint, coalesce(sum(amount_cents), 0)::bigint
         from ledger_entry where funding_source_id = $1::uuid",
    )
    .bind(fund)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn count(rs: &[Resp], status: StatusCode) -> usize {
    rs.iter().filter(|r| r.status == status).count()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_correction_gives_back_at_most_what_is_left_and_makes_no_room_under_the_cap(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = fund(&app, &admin, 1_000, None).await;
    let charges = format!("/api/funding-sources/{fund}/charges");
    let corrections = format!("/api/funding-sources/{fund}/corrections");
    let first = app.post(&charges, &admin, &charge(100, None)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = &first.body["ledger_entry_id"];

    // The attack of the issue: -900 against a 100-cent charge.
    let r = app.post(&corrections, &admin, &correction(id, -900)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "exceeds_entry");
    assert_eq!(r.body["error"]["field"], "amount_cents");
    assert_eq!(r.body["error"]["left_cents"], 100);
    // A correction only gives back.
    let r = app.post(&corrections, &admin, &correction(id, 50)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "amount_cents");
    // The same entry corrected again and again: never past what is left.
    let c1 = app.post(&corrections, &admin, &correction(id, -60)).await;
    assert_eq!(c1.status, StatusCode::CREATED, "{:?}", c1.body);
    let r = app.post(&corrections, &admin, &correction(id, -60)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"]["left_cents"], 40);
    assert_eq!(
        app.post(&corrections, &admin, &correction(id, -40))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post(&corrections, &admin, &correction(id, -1))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // A correction of a correction is refused, naming the field.
    let r = app
        .post(
            &corrections,
            &admin,
            &correction(&c1.body["ledger_entry_id"], -1),
        )
        .await;
    assert_eq!(r.error_field(), "corrects_entry_id", "{:?}", r.body);
    // What was given back does not make room: 900 more fits the 1000 cap, 1 more does not.
    assert_eq!(
        app.post(&charges, &admin, &charge(900, None)).await.status,
        StatusCode::CREATED
    );
    let r = app.post(&charges, &admin, &charge(1, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "over_cap");
    let bal = app
        .get(&format!("/api/funding-sources/{fund}"), &admin)
        .await;
    assert_eq!(bal.body["charged_cents"], 1_000);
    assert_eq!(bal.body["spent_cents"], 900);
    assert_eq!(bal.body["remaining_cents"], 0);
    assert_eq!(sums(&app.pool, &fund).await, (1_000, 900));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_largest_amounts_are_refused_cleanly(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let fund = fund(&app, &admin, 1_000, None).await;
    let charges = format!("/api/funding-sources/{fund}/charges");
    let first = app.post(&charges, &admin, &charge(100, None)).await;
    let r = app.post(&charges, &admin, &charge(i64::MAX, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "over_cap");
    let r = app
        .post(
            &format!("/api/funding-sources/{fund}/corrections"),
            &admin,
            &correction(&first.body["ledger_entry_id"], i64::MIN),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "amount_cents");
    assert_eq!(sums(&app.pool, &fund).await, (100, 100));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_persons_monthly_cap_and_an_area_cap_hold_for_gross_payouts(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let person = person_of(&app, "cw.foggia", "Musa").await;
    let fund = fund(&app, &admin, 100_000, Some(500)).await;
    let charges = format!("/api/funding-sources/{fund}/charges");
    let first = app
        .post(&charges, &admin, &charge(500, Some(&person)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let r = app
        .post(
            &format!("/api/funding-sources/{fund}/corrections"),
            &admin,
            &correction(&first.body["ledger_entry_id"], -500),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app.post(&charges, &admin, &charge(1, Some(&person))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("monthly allowance"));

    // An integration budget's area: the same.
    let cw = app.login("cw.foggia").await;
    let r = app
        .post(
            "/api/funding-sources",
            &cw,
            &json!({ "region_code": "puglia", "kind": "integration_budget", "name": "BdI Musa",
                     "person_id": person, "period_start": "2026-10-01", "period_end": "2027-03-31",
                     "area_caps": { "housing": 0, "social_health": 0,
                                    "integration_orientation": 0, "active_labour": 1000 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let budget = r.body["funding_source_id"].as_str().unwrap().to_owned();
    let mut body = charge(1_000, None);
    body["area"] = json!("active_labour");
    let path = format!("/api/funding-sources/{budget}/charges");
    let first = app.post(&path, &cw, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let coord = app.login("coord.foggia").await;
    let r = app
        .post(
            &format!("/api/funding-sources/{budget}/corrections"),
            &coord,
            &correction(&first.body["ledger_entry_id"], -1_000),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    body["amount_cents"] = json!(1);
    let r = app.post(&path, &cw, &body).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("active_labour"));
    // A charge to the budget for another person is refused.
    body["person_id"] = json!(Uuid::new_v4());
    assert_eq!(app.post(&path, &cw, &body).await.error_field(), "person_id");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn fifty_concurrent_corrections_give_back_at_most_the_charge(pool: PgPool) {
    let wide = wide_pool(&pool, 60).await;
    let app = spawn_demo(wide).await;
    let admin = app.login("admin").await;
    let fund = fund(&app, &admin, 10_000, None).await;
    let first = app
        .post(
            &format!("/api/funding-sources/{fund}/charges"),
            &admin,
            &charge(1_000, None),
        )
        .await;
    let path = format!("/api/funding-sources/{fund}/corrections");
    let body = correction(&first.body["ledger_entry_id"], -100);
    let results = futures::future::join_all((0..50).map(|_| app.post(&path, &admin, &body))).await;
    assert_eq!(
        (
            count(&results, StatusCode::CREATED),
            count(&results, StatusCode::CONFLICT)
        ),
        (10, 40),
        "1000 cents give back ten corrections of 100, not more"
    );
    assert_eq!(sums(&app.pool, &fund).await, (1_000, 0));
    app.pool.close().await;
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn concurrent_charges_and_corrections_race_the_person_month_cap(pool: PgPool) {
    let wide = wide_pool(&pool, 60).await;
    let app = spawn_demo(wide).await;
    let admin = app.login("admin").await;
    let person = person_of(&app, "cw.foggia", "Ibrahim").await;
    let fund = fund(&app, &admin, 1_000_000, Some(5_000)).await;
    let charges = format!("/api/funding-sources/{fund}/charges");
    let corrections = format!("/api/funding-sources/{fund}/corrections");
    let first = app
        .post(&charges, &admin, &charge(3_000, Some(&person)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let give_back = correction(&first.body["ledger_entry_id"], -300);
    let more = charge(300, Some(&person));
    // 25 charges of 300 and 25 corrections of -300 at once: 2000 left under the monthly cap
    // is six charges, whatever the corrections give back; 3000 to give back is ten.
    let results = futures::future::join_all((0..50).map(|i| {
        if i % 2 == 0 {
            app.post(&charges, &admin, &more)
        } else {
            app.post(&corrections, &admin, &give_back)
        }
    }))
    .await;
    let (mut charged, mut corrected) = (0, 0);
    for (i, r) in results.iter().enumerate() {
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT,
            "{:?}",
            r.body
        );
        if r.status == StatusCode::CREATED {
            if i % 2 == 0 {
                charged += 1;
            } else {
                corrected += 1;
            }
        }
    }
    assert_eq!((charged, corrected), (6, 10));
    assert_eq!(sums(&app.pool, &fund).await, (4_800, 1_800));
    app.pool.close().await;
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn fifty_concurrent_spends_in_one_area_never_exceed_its_cap(pool: PgPool) {
    let wide = wide_pool(&pool, 60).await;
    let app = spawn_demo(wide).await;
    let person = person_of(&app, "cw.foggia", "Awa").await;
    let cw = app.login("cw.foggia").await;
    let r = app
        .post(
            "/api/funding-sources",
            &cw,
            &json!({ "region_code": "puglia", "kind": "integration_budget", "name": "BdI Awa",
                     "person_id": person, "period_start": "2026-10-01", "period_end": "2027-03-31",
                     "area_caps": { "housing": 600000, "social_health": 200000,
                                    "integration_orientation": 200000, "active_labour": 10000 } }),
        )
        .await;
    let budget = r.body["funding_source_id"].as_str().unwrap().to_owned();
    let path = format!("/api/funding-sources/{budget}/charges");
    let mut body = charge(300, None);
    body["area"] = json!("active_labour");
    let results = futures::future::join_all((0..50).map(|_| app.post(&path, &cw, &body))).await;
    assert_eq!(
        (
            count(&results, StatusCode::CREATED),
            count(&results, StatusCode::CONFLICT)
        ),
        (33, 17)
    );
    assert_eq!(sums(&app.pool, &budget).await, (9_900, 9_900));
    app.pool.close().await;
}

/// Inserts straight into the ledger, as a faulty or malicious writer would; returns the
/// constraint that refused it.
async fn direct(pool: &PgPool, sql: &str, binds: &[&str]) -> Result<i64, String> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(pool).await.map_err(|e| {
        e.as_database_error()
            .and_then(|d| d.constraint().map(str::to_owned))
            .unwrap_or_else(|| e.to_string())
    })
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_database_backstop_guards_every_cap_and_every_correction(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let person = person_of(&app, "cw.foggia", "Kofi").await;
    let other = person_of(&app, "cw.foggia", "Amina").await;
    let total = fund(&app, &admin, 1_000, None).await;
    let monthly = fund(&app, &admin, 100_000, Some(500)).await;
    let cw = app.login("cw.foggia").await;
    let r = app
        .post(
            "/api/funding-sources",
            &cw,
            &json!({ "region_code": "puglia", "kind": "integration_budget", "name": "BdI Kofi",
                     "person_id": person, "period_start": "2026-10-01", "period_end": "2027-03-31",
                     "area_caps": { "housing": 1000, "social_health": 1000,
                                    "integration_orientation": 1000, "active_labour": 1000 } }),
        )
        .await;
    let budget = r.body["funding_source_id"].as_str().unwrap().to_owned();
    let pool = &app.pool;
    let charge_sql = "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, person_id, area, occurred_on, description)
         values ('puglia', $1::uuid, 'charge', $2::bigint, $3::uuid, $4::budget_area, '2026-11-20', 'direct')
         returning ledger_entry_id";
    let correct_sql = "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, person_id, area, corrects_entry_id, occurred_on, description)
         values ('puglia', $1::uuid, 'correction', $2::bigint, $3::uuid, $4::budget_area, $5::bigint, '2026-11-20', 'direct')
         returning ledger_entry_id";

    // Empty strings bind as NULL person and area.
    let charge_sql = charge_sql
        .replace("$3::uuid", "nullif($3, '')::uuid")
        .replace("$4::budget_area", "nullif($4, '')::budget_area");
    let correct_sql = correct_sql
        .replace("$3::uuid", "nullif($3, '')::uuid")
        .replace("$4::budget_area", "nullif($4, '')::budget_area");
    // The source's total, gross: 900 charged, 900 given back, 200 more is over 1000.
    let id = direct(pool, &charge_sql, &[&total, "900", "", ""])
        .await
        .unwrap()
        .to_string();
    direct(pool, &correct_sql, &[&total, "-900", "", "", &id])
        .await
        .unwrap();
    assert_eq!(
        direct(pool, &charge_sql, &[&total, "200", "", ""]).await,
        Err("ledger_entry_within_cap".into())
    );
    // A correction beyond what is left of its charge, a positive one, one of a correction,
    // one that changes the person.
    assert_eq!(
        direct(pool, &correct_sql, &[&total, "-1", "", "", &id]).await,
        Err("ledger_correction_within_entry".into())
    );
    assert_eq!(
        direct(pool, &correct_sql, &[&total, "1", "", "", &id]).await,
        Err("ledger_correction_reverses".into())
    );
    let m = direct(pool, &charge_sql, &[&monthly, "100", &person, ""])
        .await
        .unwrap()
        .to_string();
    let c = direct(pool, &correct_sql, &[&monthly, "-50", &person, "", &m])
        .await
        .unwrap()
        .to_string();
    assert_eq!(
        direct(pool, &correct_sql, &[&monthly, "-10", &person, "", &c]).await,
        Err("ledger_correction_of_charge".into())
    );
    assert_eq!(
        direct(pool, &correct_sql, &[&monthly, "-10", &other, "", &m]).await,
        Err("ledger_correction_matches_charge".into())
    );
    assert_eq!(
        direct(pool, &correct_sql, &[&budget, "-10", "", "housing", &m]).await,
        Err("ledger_correction_same_source".into())
    );
    // A person's month, gross: 100 charged, 50 given back, 401 more is over 500.
    assert_eq!(
        direct(pool, &charge_sql, &[&monthly, "401", &person, ""]).await,
        Err("ledger_entry_within_person_monthly_cap".into())
    );
    direct(pool, &charge_sql, &[&monthly, "400", &person, ""])
        .await
        .unwrap();
    // An area, gross.
    let a = direct(pool, &charge_sql, &[&budget, "1000", "", "housing"])
        .await
        .unwrap()
        .to_string();
    direct(pool, &correct_sql, &[&budget, "-1000", "", "housing", &a])
        .await
        .unwrap();
    assert_eq!(
        direct(pool, &charge_sql, &[&budget, "1", "", "housing"]).await,
        Err("ledger_entry_within_area_cap".into())
    );
    direct(pool, &charge_sql, &[&budget, "1000", "", "social_health"])
        .await
        .unwrap();
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_coordinator_charges_a_shared_fund_only_for_their_own_polos_people(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let foggia_person = person_of(&app, "cw.foggia", "Seydou").await;
    let sansevero_person = person_of(&app, "cw.sansevero", "Fatou").await;
    let fund = fund(&app, &admin, 100_000, Some(1_000)).await;
    let charges = format!("/api/funding-sources/{fund}/charges");
    let foggia = app.login("coord.foggia").await;
    let sansevero = app.login("coord.sansevero").await;

    // Another Polo's person, a person who does not exist, no person: refused alike.
    for person in [
        Some(sansevero_person.as_str()),
        Some(&Uuid::new_v4().to_string()),
        None,
    ] {
        let r = app.post(&charges, &foggia, &charge(100, person)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert_eq!(r.error_field(), "person_id");
    }
    // The admin: not for someone who does not exist either.
    let r = app
        .post(
            &charges,
            &admin,
            &charge(100, Some(&Uuid::new_v4().to_string())),
        )
        .await;
    assert_eq!(r.error_field(), "person_id");
    assert_eq!(app.count("ledger_entry").await, 0, "nothing half-written");

    let mine = app
        .post(&charges, &foggia, &charge(100, Some(&foggia_person)))
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{:?}", mine.body);
    let theirs = app
        .post(&charges, &sansevero, &charge(200, Some(&sansevero_person)))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.body);

    // Each coordinator sees their own Polo's entries; the admin all of them.
    let ledger = |token: &str| {
        let path = format!("/api/funding-sources/{fund}/ledger");
        let token = token.to_owned();
        let app = &app;
        async move {
            app.get(&path, &token)
                .await
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["person_id"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ledger(&foggia).await, vec![foggia_person.clone()]);
    assert_eq!(ledger(&sansevero).await, vec![sansevero_person.clone()]);
    assert_eq!(ledger(&admin).await.len(), 2);

    // A coordinator cannot correct another Polo's entry (it is not theirs to see).
    let r = app
        .post(
            &format!("/api/funding-sources/{fund}/corrections"),
            &foggia,
            &correction(&theirs.body["ledger_entry_id"], -100),
        )
        .await;
    assert_eq!(r.error_field(), "corrects_entry_id", "{:?}", r.body);
    let r = app
        .post(
            &format!("/api/funding-sources/{fund}/corrections"),
            &foggia,
            &correction(&mine.body["ledger_entry_id"], -100),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}
