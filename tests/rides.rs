//! From ride to records: a drop-off records the ride and charges the source the rules choose
//! (never over a cap, falling back to the transport fund, then unfunded), a no-show is missed
//! and free, and the case's Polo sees it all in the case's timeline.

use dispatch::rides::db::{record_ride, RideToRecord};
use dispatch::rides::RideOutcome;
use futures::future::join_all;
use passaggio_tests::{spawn_demo, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::driver::{
    ev, events_path, make_run, marco_today, today, trip, whole_trip, RunFixture, ASL, BORGO,
    JOB_CENTRE, PALMORI,
};

async fn case_of(app: &TestApp, known_as: &str) -> Uuid {
    sqlx::query_scalar(
        "select c.case_id from care_case c join person p on p.person_id = c.person_id where p.known_as = $1",
    )
    .bind(known_as)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[derive(Debug, sqlx::FromRow)]
struct Charged {
    amount_cents: i64,
    area: Option<String>,
    source_kind: String,
}

async fn charge_of(app: &TestApp, request: Uuid) -> Option<Charged> {
    sqlx::query_as(
        "select e.amount_cents, e.area::text, s.kind::text as source_kind
         from ledger_entry e join funding_source s using (funding_source_id) where e.external_ref = $1",
    )
    .bind(format!("ride:{request}"))
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

async fn ride_cost(app: &TestApp, request: Uuid) -> (String, i32, i64) {
    sqlx::query_as(
        "select outcome::text, distance_m, cost_cents from ride where ride_request_id = $1",
    )
    .bind(request)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn complete(app: &TestApp, token: &str, fx: &RunFixture, trip: usize) {
    let r = app
        .post_events(&events_path(fx), token, &whole_trip(fx, trip))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

fn area<'a>(rides: &'a Value, name: &str) -> &'a Value {
    rides["summary"]["budgets"][0]["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == name)
        .unwrap()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_drop_off_at_the_asl_charges_social_health_and_shows_in_the_timeline(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(&app, &[trip("Moussa", "appointment", BORGO, ASL)]).await;
    complete(&app, &marco, &fx, 0).await;

    // Straight line pickup → drop-off × 1.3 (no planned road distance), at 1.50 € + 0.30 €/km.
    let straight: f64 = sqlx::query_scalar(
        "select st_distance(pickup_location, dropoff_location) from ride_request where ride_request_id = $1",
    )
    .bind(fx.requests[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (outcome, distance, cost) = ride_cost(&app, fx.requests[0]).await;
    assert_eq!(outcome, "completed");
    assert!(
        (f64::from(distance) - straight * 1.3).abs() <= 1.0,
        "{distance} vs {straight}"
    );
    assert_eq!(
        cost,
        150 + (30.0 * f64::from(distance) / 1000.0).round() as i64
    );
    let c = charge_of(&app, fx.requests[0]).await.expect("charged");
    assert_eq!(
        (c.amount_cents, c.area.as_deref(), c.source_kind.as_str()),
        (cost, Some("social_health"), "integration_budget")
    );

    let cw = app.login("cw.foggia").await;
    let case = case_of(&app, "Moussa").await;
    let audits_before = app.count("case_access_audit").await;
    let r = app.get(&format!("/api/cases/{case}/rides"), &cw).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.count("case_access_audit").await,
        audits_before + 1,
        "the read is audited"
    );
    assert_eq!(r.body["summary"]["rides_taken"], 1);
    assert_eq!(r.body["summary"]["rides_missed"], 0);
    assert_eq!(r.body["summary"]["cost_cents"], cost);
    assert_eq!(
        area(&r.body, "social_health")["remaining_cents"],
        300_000 - cost
    );
    let entry = &r.body["timeline"][0];
    assert_eq!(entry["status"], "completed");
    assert_eq!(
        entry["ride"]["funding_source_name"],
        "Budget di Integrazione - Moussa"
    );
    let history: Vec<&str> = entry["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["confirmed", "completed"]);

    let other = app.login("cw.sansevero").await;
    assert_eq!(
        app.get(&format!("/api/cases/{case}/rides"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/cases/{case}/rides"), &marco)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_no_show_is_missed_and_not_charged(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let (fx, marco) = marco_today(
        &app,
        &[
            trip("Mamadou", "appointment", BORGO, ASL),
            trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        ],
    )
    .await;
    let p = fx.pickup_seq(0);
    let planned = |seq: i64| {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "select planned_arrival from run_stop where run_id = $1 and seq = $2",
        )
        .bind(fx.run_id)
        .bind(i32::try_from(seq).unwrap())
        .fetch_one(&app.pool)
    };
    let lamin_before = planned(fx.pickup_seq(1)).await.unwrap();
    let r = app
        .post_events(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("arrived", p, 1), ev("no_show", p, 12)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["run_status"], "in_progress");
    // Re-timing runs in the background once the upload is stored: within a few seconds.
    let mut retimed = false;
    for _ in 0..100 {
        if planned(fx.pickup_seq(1)).await.unwrap() != lamin_before {
            retimed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(retimed, "a no-show re-times the rest of the run");
    assert_eq!(
        ride_cost(&app, fx.requests[0]).await,
        ("no_show".into(), 0, 0)
    );
    assert!(charge_of(&app, fx.requests[0]).await.is_none());
    let skipped: String =
        sqlx::query_scalar("select status::text from run_stop where run_id = $1 and seq = $2")
            .bind(fx.run_id)
            .bind(i32::try_from(fx.dropoff_seq(0)).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(skipped, "skipped");

    let cw = app.login("cw.foggia").await;
    let r = app
        .get(
            &format!("/api/cases/{}/rides", case_of(&app, "Mamadou").await),
            &cw,
        )
        .await;
    assert_eq!(
        (
            r.body["summary"]["rides_taken"].clone(),
            r.body["summary"]["rides_missed"].clone()
        ),
        (json!(0), json!(1))
    );
    assert_eq!(r.body["summary"]["cost_cents"], 0);
    assert_eq!(r.body["timeline"][0]["status"], "no_show");
    assert_eq!(area(&r.body, "social_health")["spent_cents"], 0);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn an_exhausted_budget_area_or_no_budget_falls_back_to_the_transport_fund(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let budget: Uuid = sqlx::query_scalar(
        "select s.funding_source_id from funding_source s join person p using (person_id) where p.known_as = 'Moussa'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let day = today(&app.pool).await;
    let r = app
        .post(
            &format!("/api/funding-sources/{budget}/charges"),
            &cw,
            &json!({ "amount_cents": 299_950, "area": "social_health", "occurred_on": day, "description": "visite specialistiche" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let fx = make_run(
        &app.pool,
        "driver.marco",
        day,
        &[
            trip("Moussa", "appointment", BORGO, ASL),
            trip("Lamin", "appointment", PALMORI, JOB_CENTRE),
        ],
    )
    .await;
    let marco = app.login("driver.marco").await;
    complete(&app, &marco, &fx, 0).await;
    complete(&app, &marco, &fx, 1).await;
    for request in &fx.requests {
        let c = charge_of(&app, *request).await.expect("charged");
        assert_eq!(c.source_kind, "transport_fund", "{c:?}");
        assert_eq!(c.area, None);
    }
    let r = app
        .get(
            &format!("/api/cases/{}/rides", case_of(&app, "Moussa").await),
            &cw,
        )
        .await;
    assert_eq!(
        r.body["timeline"][0]["ride"]["funding_source_name"],
        "Fondo trasporti Su.Pr.Eme. 2 - Puglia"
    );
    assert_eq!(
        area(&r.body, "social_health")["remaining_cents"],
        50,
        "the area is untouched"
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn run_share_mode_splits_the_runs_cost_by_passengers(pool: PgPool) {
    let app = spawn_demo(pool).await;
    sqlx::query("update programme_config set ride_cost_mode = 'run_share'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut trips = [
        trip("Moussa", "appointment", BORGO, ASL),
        trip("Lamin", "other", PALMORI, JOB_CENTRE),
    ];
    trips[1].passengers = 3;
    let fx = make_run(&app.pool, "driver.marco", today(&app.pool).await, &trips).await;
    sqlx::query("update run set planned_distance_m = 40000 where run_id = $1")
        .bind(fx.run_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let marco = app.login("driver.marco").await;
    // One upload for the whole run: no re-timing in between changes the run's planned hours.
    let mut events = whole_trip(&fx, 0);
    let more = whole_trip(&fx, 1)["events"].as_array().unwrap().clone();
    events["events"].as_array_mut().unwrap().extend(more);
    let r = app.post_events(&events_path(&fx), &marco, &events).await;
    assert_eq!(r.body["run_status"], "completed", "{:?}", r.body);
    // Six stops 10 minutes apart, 2 minutes at the last: 52 minutes. 45 c/km × 40 km +
    // 22 €/h × 52/60 h = 3706.67 cents, split 1:3 → 926.67 and 2780.
    assert_eq!(ride_cost(&app, fx.requests[0]).await.2, 927);
    assert_eq!(ride_cost(&app, fx.requests[1]).await.2, 2_780);
    // Distances come from the planned 40 km, split by the legs' straight-line lengths.
    let total: i64 = sqlx::query_scalar("select sum(distance_m)::bigint from ride")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(total > 0 && total <= 2 * 40_000, "{total}");
}

/// A new person, Awa, whose budget has only 30 € for social and health care, and 100 runs of
/// today each taking her from Borgo Mezzanone to the ASL. Returns the person, the case, the
/// budget and the runs.
async fn awa_and_a_hundred_runs(
    app: &TestApp,
    cw: &str,
) -> (String, String, String, Vec<RunFixture>) {
    let day = today(&app.pool).await;
    let case = app
        .post(
            "/api/cases",
            cw,
            &json!({ "known_as": "Awa", "arrival_channel": "helpdesk", "opened_on": day }),
        )
        .await;
    assert_eq!(case.status, StatusCode::CREATED, "{:?}", case.body);
    let person = case.body["person_id"].as_str().unwrap().to_owned();
    let end = day.checked_add_months(chrono::Months::new(6)).unwrap();
    let r = app
        .post(
            "/api/funding-sources",
            cw,
            &json!({ "region_code": "puglia", "kind": "integration_budget", "name": "BdI Awa", "person_id": person,
                     "period_start": day, "period_end": end,
                     "area_caps": { "housing": 600000, "social_health": 3000,
                                    "integration_orientation": 200000, "active_labour": 200000 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let budget = r.body["funding_source_id"].as_str().unwrap().to_owned();
    let mut runs = Vec::new();
    for _ in 0..100 {
        runs.push(
            make_run(
                &app.pool,
                "driver.marco",
                day,
                &[trip("Awa", "appointment", BORGO, ASL)],
            )
            .await,
        );
    }
    let case_id = case.body["case_id"].as_str().unwrap().to_owned();
    (person, case_id, budget, runs)
}

/// Every ride is recorded once; the budget's area and the fund's monthly allowance for the
/// person are filled as far as whole rides fit, never beyond; the rest is unfunded.
async fn assert_caps_held(
    app: &TestApp,
    cw: &str,
    awa: &(String, String, String, Vec<RunFixture>),
) {
    let (person, case_id, budget, runs) = awa;
    assert_eq!(app.count("ride").await, 100);
    let charges: i64 = sqlx::query_scalar("select count(distinct external_ref) from ledger_entry")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.count("ledger_entry").await,
        charges,
        "one charge per ride"
    );
    let cost = ride_cost(app, runs[0].requests[0]).await.2;
    assert!(cost > 0);
    let (on_budget, budget_spent): (i64, i64) = sqlx::query_as(
        "select count(*), coalesce(sum(amount_cents), 0)::bigint from ledger_entry where funding_source_id = $1::uuid",
    )
    .bind(budget)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(budget_spent <= 3_000, "the area cap holds: {budget_spent}");
    assert_eq!(
        on_budget,
        3_000 / cost,
        "every ride that fits is charged to the area"
    );
    let (on_fund, fund_spent): (i64, i64) = sqlx::query_as(
        "select count(*), coalesce(sum(e.amount_cents), 0)::bigint from ledger_entry e
         join funding_source s using (funding_source_id) where s.kind = 'transport_fund' and e.person_id = $1::uuid",
    )
    .bind(person)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        fund_spent <= 12_000,
        "the fund's monthly cap per person holds: {fund_spent}"
    );
    assert_eq!(on_fund, 12_000 / cost);
    let unfunded: i64 = sqlx::query_scalar(
        "select count(*) from ride where funding_source_id is null and cost_cents > 0",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(on_budget + on_fund + unfunded, 100);
    let r = app.get(&format!("/api/cases/{case_id}/rides"), cw).await;
    assert_eq!(r.body["summary"]["rides_taken"], 100);
    assert_eq!(r.body["summary"]["unfunded_cents"], unfunded * cost);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_hundred_parallel_completions_charging_one_budget_never_exceed_its_cap(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let awa = awa_and_a_hundred_runs(&app, &cw).await;
    let marco = app.login("driver.marco").await;
    let bodies: Vec<Value> = awa.3.iter().map(|fx| whole_trip(fx, 0)).collect();
    let paths: Vec<String> = awa.3.iter().map(events_path).collect();
    let results = join_all(
        paths
            .iter()
            .zip(&bodies)
            .map(|(p, b)| app.post_events(p, &marco, b)),
    )
    .await;
    for r in &results {
        assert_eq!(
            r.status,
            StatusCode::OK,
            "money never fails an upload: {:?}",
            r.body
        );
    }
    assert_caps_held(&app, &cw, &awa).await;
}

/// The same through the rides service function, which takes no planning lock: 100 recordings
/// (each sent twice, as a retry would) race for the budget's lock in the ledger itself.
#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_hundred_parallel_ride_records_race_for_one_budget_and_never_exceed_its_cap(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    let cw = app.login("cw.foggia").await;
    let awa = awa_and_a_hundred_runs(&app, &cw).await;
    let record = |fx: &RunFixture| {
        let ride = RideToRecord {
            ride_request_id: fx.requests[0],
            run_id: fx.run_id,
            outcome: RideOutcome::Completed,
            picked_up_at: None,
            dropped_off_at: Some(chrono::Utc::now()),
        };
        let pool = app.pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            record_ride(&mut tx, &ride, None)
                .await
                .expect("money never fails a recording");
            tx.commit().await.unwrap();
        }
    };
    join_all(awa.3.iter().chain(awa.3.iter()).map(record)).await;
    assert_caps_held(&app, &cw, &awa).await;
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_line_shift_charges_the_employer_and_a_return_from_the_asl_charges_social_health(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    let day = today(&app.pool).await;
    let fx = make_run(
        &app.pool,
        "driver.marco",
        day,
        &[
            trip(
                "Lamin",
                "work_shift",
                PALMORI,
                "Azienda agricola La Torre (asparagi)",
            ),
            trip("Moussa", "return", ASL, BORGO),
        ],
    )
    .await;
    // The run is a work line's, paid by the employer's contribution.
    sqlx::query(
        "with line as (
             insert into work_line (region_code, name, season_start, season_end, operating_days, capacity, funding_source_id)
             select 'puglia', 'Linea Palmori - La Torre', $2::date - 30, $2::date + 30, '{1,2,3,4,5,6,7}', 8, funding_source_id
             from funding_source where kind = 'employer_contribution' returning line_id)
         update run set line_id = (select line_id from line) where run_id = $1",
    )
    .bind(fx.run_id)
    .bind(day)
    .execute(&app.pool)
    .await
    .unwrap();
    // Moussa goes home from an appointment at the ASL.
    sqlx::query(
        "with a as (
             insert into appointment (region_code, case_id, place_id, starts_at, ends_at, description, created_by)
             select r.region_code, r.case_id, r.pickup_place_id, now() - interval '4 hours', now() - interval '3 hours',
                    'visita', r.booked_by
             from ride_request r where r.ride_request_id = $1 returning appointment_id)
         update ride_request set appointment_id = (select appointment_id from a) where ride_request_id = $1",
    )
    .bind(fx.requests[1])
    .execute(&app.pool)
    .await
    .unwrap();
    let marco = app.login("driver.marco").await;
    complete(&app, &marco, &fx, 0).await;
    complete(&app, &marco, &fx, 1).await;
    let shift = charge_of(&app, fx.requests[0]).await.expect("charged");
    assert_eq!(shift.source_kind, "employer_contribution", "{shift:?}");
    let back = charge_of(&app, fx.requests[1]).await.expect("charged");
    assert_eq!(
        (back.source_kind.as_str(), back.area.as_deref()),
        ("integration_budget", Some("social_health"))
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_programme_that_charges_no_shows_charges_them_by_the_same_rules(pool: PgPool) {
    let app = spawn_demo(pool).await;
    sqlx::query("update programme_config set no_show_charge_cents = 200")
        .execute(&app.pool)
        .await
        .unwrap();
    let (fx, marco) = marco_today(&app, &[trip("Mamadou", "appointment", BORGO, ASL)]).await;
    let p = fx.pickup_seq(0);
    let r = app
        .post_events(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("arrived", p, 1), ev("no_show", p, 12)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        ride_cost(&app, fx.requests[0]).await,
        ("no_show".into(), 0, 200)
    );
    let c = charge_of(&app, fx.requests[0]).await.expect("charged");
    assert_eq!(
        (c.amount_cents, c.area.as_deref()),
        (200, Some("social_health"))
    );
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_coordinator_corrects_a_mistaken_no_show_and_the_ledger_follows_by_new_entries(
    pool: PgPool,
) {
    let app = spawn_demo(pool).await;
    sqlx::query("update programme_config set no_show_charge_cents = 200")
        .execute(&app.pool)
        .await
        .unwrap();
    let (fx, marco) = marco_today(&app, &[trip("Mamadou", "appointment", BORGO, ASL)]).await;
    let p = fx.pickup_seq(0);
    let r = app
        .post_events(
            &events_path(&fx),
            &marco,
            &json!({ "events": [ev("arrived", p, 1), ev("no_show", p, 12)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let request = fx.requests[0];
    let path = format!("/api/ride-requests/{request}/no-show-correction");
    let entries_before = app.count("ledger_entry").await;

    // Only the coordinator of the request's Polo; another Polo does not see it.
    let cw = app.login("cw.foggia").await;
    let r = app.post(&path, &cw, &json!({ "reason": "x" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let other = app.login("coord.sansevero").await;
    let r = app.post(&path, &other, &json!({ "reason": "x" })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let coord = app.login("coord.foggia").await;
    let r = app.post(&path, &coord, &json!({ "reason": "  " })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_field(), "reason");

    let r = app
        .post(
            &path,
            &coord,
            &json!({ "reason": "the driver marked the wrong rider" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["no_show_cost_cents"], 200);
    assert!(r.body["refund_entry_id"].is_i64(), "{:?}", r.body);
    assert!(r.body["charge_entry_id"].is_i64(), "{:?}", r.body);
    let cost = r.body["cost_cents"].as_i64().unwrap();
    assert!(cost > 0, "{:?}", r.body);

    // The old charge is untouched; a refund and a new charge were appended.
    assert_eq!(app.count("ledger_entry").await, entries_before + 2);
    let old = charge_of(&app, request)
        .await
        .expect("the no-show charge stays");
    assert_eq!(old.amount_cents, 200);
    let (refund, new_charge): (i64, i64) = sqlx::query_as(
        "select (select amount_cents from ledger_entry where ledger_entry_id = $1),
                (select amount_cents from ledger_entry where ledger_entry_id = $2 and external_ref = $3)",
    )
    .bind(r.body["refund_entry_id"].as_i64())
    .bind(r.body["charge_entry_id"].as_i64())
    .bind(format!("ride-correction:{request}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((refund, new_charge), (-200, cost));
    let (outcome, _, ride_cost) = ride_cost(&app, request).await;
    assert_eq!((outcome.as_str(), ride_cost), ("completed", cost));

    // Recorded with who and why; the timeline says so.
    let by: String = sqlx::query_scalar(
        "select s.username from no_show_correction c join staff s on s.staff_id = c.corrected_by
         where c.ride_request_id = $1",
    )
    .bind(request)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(by, "coord.foggia");
    let case = case_of(&app, "Mamadou").await;
    let t = app.get(&format!("/api/cases/{case}/rides"), &coord).await;
    assert_eq!(t.body["timeline"][0]["status"], "completed");
    assert_eq!(t.body["summary"]["rides_missed"], 0);
    let last = t.body["timeline"][0]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["reason"].as_str().unwrap().contains("wrong rider"),
        "{last:?}"
    );

    // Once only.
    let r = app.post(&path, &coord, &json!({ "reason": "again" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
}
