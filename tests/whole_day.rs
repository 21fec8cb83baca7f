//! A whole day in the demo region, end to end over HTTP: a season work line with subscribers,
//! an appointment booked by a coordinator, on-demand rides, the evening's plan, a live
//! insertion and a cancellation in the morning, drivers working their runs (with a no-show),
//! and at the end rides, ledger entries and case timelines that add up.

use std::collections::HashMap;
use std::time::Duration;

use passaggio_tests::{check_day, spawn_at, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

const DAY: &str = "2026-11-24";

async fn one(app: &TestApp, sql: &str) -> String {
    let v: uuid::Uuid = sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap();
    v.to_string()
}

fn ride(case: &str, from_mp: &str, to_place: &str, earliest: &str) -> Value {
    json!({ "case_id": case, "purpose": "work_shift", "service_date": DAY,
            "pickup": { "meeting_point_id": from_mp }, "dropoff": { "place_id": to_place }, "earliest_pickup": earliest })
}

async fn sum(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn a_whole_day_adds_up_from_bookings_to_ledger(pool: PgPool) {
    assert!(dispatch::demo::seed_on(&pool, false, DAY.parse().unwrap())
        .await
        .unwrap());
    // The evening before (18:00 in Rome).
    let eve = spawn_at(&pool, "2026-11-23T17:00:00Z").await;
    let admin = eve.login("admin").await;
    let coord = eve.login("coord.foggia").await;
    let cw = eve.login("cw.foggia").await;

    let q = |sql: &'static str| one(&eve, sql);
    let pista = q("select meeting_point_id from meeting_point where name = 'Ingresso pista'").await;
    let pista_place = q("select place_id from meeting_point where name = 'Ingresso pista'").await;
    let palmori =
        q("select meeting_point_id from meeting_point where name = 'Casolare rosso'").await;
    let packing =
        q("select place_id from place where kind = 'packing_house' order by name limit 1").await;
    let farm_a = q("select place_id from place where kind = 'farm' order by name limit 1").await;
    let farm_b =
        q("select place_id from place where kind = 'farm' order by name offset 1 limit 1").await;
    let asl = q("select place_id from place where name = 'ASL Foggia - Poliambulatorio'").await;
    let bus = q("select vehicle_id from vehicle where label = 'FG-PSG-05'").await;
    let employer =
        q("select funding_source_id from funding_source where kind = 'employer_contribution'")
            .await;
    let cases: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id)
         where p.name = 'Polo Sociale Integrato Foggia'
         order by exists (select 1 from funding_source f where f.person_id = c.person_id) desc, c.opened_on",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let cases: Vec<String> = cases.iter().map(ToString::to_string).collect();
    let budgeted = cases[0].clone();

    // A season work line, paid by the employer contribution, with two subscribers.
    let line = eve
        .post(
            "/api/lines",
            &admin,
            &json!({ "name": "Borgo Mezzanone - magazzino", "region_code": "puglia",
                     "season_start": "2026-11-01", "season_end": "2027-03-31", "operating_days": [1, 2, 3, 4, 5, 6],
                     "vehicle_id": bus, "funding_source_id": employer,
                     "stops": [ { "place_id": pista_place, "meeting_point_id": pista, "stop_time": "05:40" },
                                { "place_id": packing, "stop_time": "06:10" } ] }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.body);
    let line_id = line.body["line_id"].as_str().unwrap().to_owned();
    for case in &cases[2..4] {
        let r = eve
            .post(
                &format!("/api/lines/{line_id}/subscriptions"),
                &coord,
                &json!({ "case_id": case, "board_seq": 0, "alight_seq": 1, "valid_from": DAY, "valid_to": "2027-01-31" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    // An appointment at the ASL with both rides, booked by the coordinator.
    let appt = eve
        .post(
            "/api/appointments",
            &coord,
            &json!({ "case_id": budgeted, "place_id": asl, "starts_at": "2026-11-24T09:00:00Z", "ends_at": "2026-11-24T10:00:00Z",
                     "description": "visita medica", "from": { "meeting_point_id": palmori } }),
        )
        .await;
    assert_eq!(appt.status, StatusCode::CREATED, "{:?}", appt.body);
    // On-demand rides booked by the case worker.
    let mut on_demand = Vec::new();
    for (case, from, to, t) in [
        (&cases[0], &pista, &farm_a, "06:30"),
        (&cases[1], &palmori, &farm_b, "06:45"),
        (&cases[1], &pista, &farm_b, "07:10"),
    ] {
        let r = eve
            .post("/api/ride-requests", &cw, &ride(case, from, to, t))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert!(
            r.body["live"].as_array().unwrap().is_empty(),
            "tomorrow's rides wait for the plan"
        );
        on_demand.push(
            r.body["request"]["ride_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The evening's plan.
    let job = eve
        .post(
            "/api/plans",
            &coord,
            &json!({ "region_code": "puglia", "service_date": DAY, "time_limit_s": 2 }),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED);
    let job_id = job.body["plan_job_id"].as_str().unwrap().to_owned();
    let mut plan = Value::Null;
    for _ in 0..200 {
        plan = eve.get(&format!("/api/plans/{job_id}"), &coord).await.body;
        if plan["status"] == "done" || plan["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(plan["status"], "done", "{plan:?}");
    assert_eq!(plan["summary"]["line_runs"], 1, "{plan:?}");
    assert_eq!(
        plan["summary"]["served"], 5,
        "3 on-demand + appointment out and back: {plan:?}"
    );
    drop(eve);

    // The morning (07:00 in Rome): one more ride live, one cancellation.
    let day = spawn_at(&pool, "2026-11-24T06:00:00Z").await;
    let cw = day.login("cw.foggia").await;
    let coord = day.login("coord.foggia").await;
    let live = day
        .post(
            "/api/ride-requests",
            &cw,
            &ride(&cases[0], &palmori, &farm_a, "08:30"),
        )
        .await;
    assert_eq!(
        live.body["live"][0]["outcome"], "confirmed",
        "{:?}",
        live.body
    );
    let cancelled = on_demand.remove(2);
    let r = day
        .post(
            &format!("/api/ride-requests/{cancelled}/cancel"),
            &cw,
            &json!({ "reason": "non lavora oggi" }),
        )
        .await;
    assert_eq!(r.body["status"], "cancelled");

    // Every run gets a driver; each driver works their runs. The second on-demand rider does not show up.
    let no_show = on_demand[1].clone();
    let runs = day
        .get(&format!("/api/runs?region=puglia&date={DAY}"), &coord)
        .await
        .body;
    let drivers: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select d.driver_id, s.username from driver d join staff s using (staff_id) order by s.username")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut by_run: HashMap<String, String> = HashMap::new();
    for run in runs.as_array().unwrap() {
        let run_id = run["run_id"].as_str().unwrap().to_owned();
        // The service gave the run a driver whose shift fits and who is free; a run it could
        // not crew gets one from the coordinator (a busy driver is refused).
        let driver = match run["driver_id"].as_str() {
            Some(d) => drivers
                .iter()
                .find(|(id, _)| id.to_string() == d)
                .unwrap()
                .clone(),
            None => {
                let mut chosen = None;
                for (driver_id, username) in &drivers {
                    let r = day
                        .post(
                            &format!("/api/runs/{run_id}/driver"),
                            &coord,
                            &json!({ "driver_id": driver_id }),
                        )
                        .await;
                    if r.status == StatusCode::OK {
                        chosen = Some((*driver_id, username.clone()));
                        break;
                    }
                    assert_eq!(
                        r.body["error"]["code"], "driver_unavailable",
                        "{:?}",
                        r.body
                    );
                }
                chosen.expect("a free driver")
            }
        };
        by_run.insert(run_id, driver.1);
    }
    assert!(
        by_run.len() >= 2,
        "the line's run and at least one on-demand run"
    );
    // The drivers' phones were offline in the fields: they upload the day's events at 20:00.
    drop(day);
    let day = spawn_at(&pool, "2026-11-24T19:00:00Z").await;
    let cw = day.login("cw.foggia").await;
    for (run_id, username) in &by_run {
        let token = day.login(username).await;
        let manifest = day.get(&format!("/driver/api/runs/{run_id}"), &token).await;
        assert_eq!(manifest.status, StatusCode::OK, "{:?}", manifest.body);
        let text = manifest.body.to_string();
        assert!(
            !text.contains("case_id") && !text.contains("person_id"),
            "the manifest leaks case data: {text}"
        );
        let mut events = Vec::new();
        for stop in manifest.body["stops"].as_array().unwrap() {
            let seq = stop["seq"].as_i64().unwrap();
            let t = stop["planned_arrival"].as_str().unwrap();
            let event = |kind: &str| json!({ "client_event_id": uuid::Uuid::new_v4(), "kind": kind, "stop_seq": seq, "occurred_at": t });
            events.push(event("arrived"));
            let request: Option<String> = sqlx::query_scalar(
                "select ride_request_id::text from run_stop where run_id = $1::uuid and seq = $2",
            )
            .bind(run_id)
            .bind(i32::try_from(seq).unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
            match (stop["kind"].as_str().unwrap(), request) {
                ("pickup", Some(r)) if r == no_show => {
                    // After the programme's wait at the pickup (5 minutes).
                    let mut e = event("no_show");
                    let after = chrono::DateTime::parse_from_rfc3339(t).unwrap()
                        + chrono::Duration::minutes(5);
                    e["occurred_at"] = json!(after.to_rfc3339());
                    events.push(e);
                }
                ("pickup", Some(_)) => events.push(event("boarded")),
                ("dropoff", Some(r)) if r != no_show => events.push(event("dropped_off")),
                _ => {}
            }
        }
        let r = day
            .post_events(
                &format!("/driver/api/runs/{run_id}/events"),
                &token,
                &json!({ "events": events }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        // The phone retries the whole upload: nothing changes.
        let again = day
            .post_events(
                &format!("/driver/api/runs/{run_id}/events"),
                &token,
                &json!({ "events": events }),
            )
            .await;
        assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    }

    // Records: every served request ended completed or no-show; charges add up.
    let open: i64 = sum(&day, "select count(*)::bigint from ride_request where status in ('requested', 'planned', 'confirmed')").await;
    assert_eq!(open, 0, "every ride of the day is closed");
    let completed = sum(
        &day,
        "select count(*)::bigint from ride where outcome = 'completed'",
    )
    .await;
    let missed = sum(
        &day,
        "select count(*)::bigint from ride where outcome = 'no_show'",
    )
    .await;
    assert_eq!(
        (completed, missed),
        (2 + 2 + 1 + 1, 1),
        "line x2, appointment out and back, on-demand x1 + live x1; one no-show"
    );
    let ride_charges = sum(
        &day,
        "select sum(cost_cents)::bigint from ride where funding_source_id is not null",
    )
    .await;
    let ledger = sum(&day, "select sum(amount_cents)::bigint from ledger_entry").await;
    assert!(ride_charges > 0);
    assert_eq!(
        ride_charges, ledger,
        "sum of ride charges = ledger movement"
    );
    let linked = sum(&day, "select count(*)::bigint from ride r join ledger_entry e on e.ledger_entry_id = r.ledger_entry_id").await;
    assert_eq!(
        linked,
        sum(
            &day,
            "select count(*)::bigint from ride where ledger_entry_id is not null"
        )
        .await
    );
    // Each ride's amount recomputed here, not read back: the tariff (base + per km) on the
    // ride's distance, and that distance bounded by the straight line between the rider's own
    // pickup and drop-off stops (no shorter, at most three times as long).
    let (base, per_km, no_show_cents, mode): (i32, i32, i32, String) = sqlx::query_as(
        "select tariff_base_cents, tariff_per_km_cents, no_show_charge_cents, ride_cost_mode::text
         from programme_config",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(mode, "tariff", "the demo programme charges by tariff");
    let rides: Vec<(uuid::Uuid, String, i32, i64, Option<uuid::Uuid>, f64)> = sqlx::query_as(
        "select r.person_id, r.outcome::text, r.distance_m, r.cost_cents, r.funding_source_id,
                st_distance(p.location, d.location)
           from ride r
           join run_stop p on p.ride_request_id = r.ride_request_id and p.kind = 'pickup'
           join run_stop d on d.ride_request_id = r.ride_request_id and d.kind = 'dropoff'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rides.len(), 7, "every ride of the day has its stops");
    let mut expected_by_source = std::collections::HashMap::<uuid::Uuid, i64>::new();
    for (person, outcome, distance_m, cost, source, straight_m) in &rides {
        let expected = if outcome == "completed" {
            assert!(
                f64::from(*distance_m) + 1.0 >= *straight_m && f64::from(*distance_m) <= 3.0 * straight_m + 500.0,
                "{person}: ride distance {distance_m} m against {straight_m:.0} m as the crow flies"
            );
            i64::from(base) + (f64::from(per_km) * f64::from(*distance_m) / 1000.0).round() as i64
        } else {
            i64::from(no_show_cents)
        };
        assert_eq!(
            *cost, expected,
            "{person}: {outcome} ride of {distance_m} m"
        );
        if let Some(src) = source {
            *expected_by_source.entry(*src).or_default() += expected;
        }
    }
    // Each funding source moved by exactly its riders' recomputed amounts, and each person's
    // own budget by exactly their own rides.
    for (src, expected) in &expected_by_source {
        let moved = sum(
            &day,
            &format!("select sum(amount_cents)::bigint from ledger_entry where funding_source_id = '{src}'"),
        )
        .await;
        assert_eq!(moved, *expected, "funding source {src}");
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("select person_id from funding_source where funding_source_id = $1")
                .bind(src)
                .fetch_one(&pool)
                .await
                .unwrap();
        if let Some(owner) = owner {
            let theirs: i64 = rides
                .iter()
                .filter(|r| r.4 == Some(*src))
                .inspect(|r| assert_eq!(r.0, owner, "a ride charged to another person's budget"))
                .map(|r| r.3)
                .sum();
            assert_eq!(theirs, *expected);
        }
    }

    // The line's riders are paid by the employer.
    let employer_spent = sum(&day, &format!("select sum(amount_cents)::bigint from ledger_entry where funding_source_id = '{employer}'")).await;
    let line_rides = sum(&day, &format!("select sum(r.cost_cents)::bigint from ride r join run using (run_id) where run.line_id = '{line_id}'")).await;
    assert_eq!(employer_spent, line_rides);

    // The budgeted person's timeline: the appointment rides, the budget change matches.
    let timeline = day.get(&format!("/api/cases/{budgeted}/rides"), &cw).await;
    assert_eq!(timeline.status, StatusCode::OK, "{:?}", timeline.body);
    let s = &timeline.body["summary"];
    assert!(s["rides_taken"].as_i64().unwrap() >= 3, "{s:?}");
    let person_charged = sum(
        &day,
        &format!(
            "select sum(e.amount_cents)::bigint from ledger_entry e join funding_source f using (funding_source_id)
             join care_case c on c.person_id = f.person_id where c.case_id = '{budgeted}'"
        ),
    )
    .await;
    let cap: i64 = sqlx::query_scalar(&format!(
        "select f.cap_cents from funding_source f join care_case c on c.person_id = f.person_id where c.case_id = '{budgeted}'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    let remaining = s["budgets"][0]["remaining_cents"].as_i64().unwrap();
    assert!(
        person_charged > 0,
        "the appointment rides are charged to the person's budget"
    );
    assert_eq!(
        cap - remaining,
        person_charged,
        "budget remaining change = charges"
    );
    let social_health = s["budgets"][0]["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == "social_health")
        .unwrap()
        .clone();
    assert!(
        social_health["spent_cents"].as_i64().unwrap() > 0,
        "the ASL visit is a social-health cost"
    );
    // The no-show is in its case's timeline as missed.
    let case_of_no_show: String = sqlx::query_scalar(
        "select case_id::text from ride_request where ride_request_id = $1::uuid",
    )
    .bind(&no_show)
    .fetch_one(&pool)
    .await
    .unwrap();
    let t = day
        .get(&format!("/api/cases/{case_of_no_show}/rides"), &cw)
        .await;
    assert!(
        t.body["summary"]["rides_missed"].as_i64().unwrap() >= 1,
        "{:?}",
        t.body["summary"]
    );
    let history = t.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ride_request_id"] == no_show.as_str())
        .unwrap()
        .clone();
    assert_eq!(history["status"], "no_show");
    let violations = check_day(&pool, "puglia", DAY).await;
    assert!(violations.is_empty(), "{violations:#?}");
}
