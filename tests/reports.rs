//! Reports (issue #15): service indicators of a day whose figures are worked out by hand here,
//! programme indicators with small cells suppressed, the GTFS / GTFS-Flex feed checked by our
//! own invariants, by the offline validator `gtfs-guru` and read back with `partridge`, and
//! oversight flags that fire on a seeded abusive pattern and stay quiet on a normal day.
//!
//! Rides of past days cannot be made through the API (it has no back-dating, and drivers report
//! only today's runs), so the historic days below are SQL inserts into the real tables; people,
//! lines and declarations are made through the API.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::Duration;

use chrono::NaiveDate;
use passaggio_tests::{spawn_at, spawn_demo_at, TestApp};
use reqwest::StatusCode;
use routing::matrix::Location;
use routing::travel::{Calibration, FallbackModel};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A GET returning the raw body (CSV, zip).
async fn raw(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = reqwest::Client::new().get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, res.bytes().await.unwrap().to_vec())
}

async fn uuid_of(pool: &PgPool, sql: &str) -> Uuid {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn case_of(pool: &PgPool, known_as: &str) -> Uuid {
    sqlx::query_scalar(
        "select c.case_id from care_case c join person p using (person_id) where p.known_as = $1",
    )
    .bind(known_as)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn place(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("select place_id from place where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn polo(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("select polo_id from polo where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A new person and case at the case worker's Polo, through the API.
async fn new_case(app: &TestApp, cw: &str, known_as: &str) -> Uuid {
    let r = app
        .post(
            "/api/cases",
            cw,
            &json!({ "known_as": known_as, "languages": ["fr"], "arrival_channel": "outreach",
                     "opened_on": "2026-09-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["case_id"].as_str().unwrap().parse().unwrap()
}

/// A run of a past day (SQL: planning cannot be back-dated).
async fn run(
    pool: &PgPool,
    day: NaiveDate,
    vehicle: &str,
    planned_m: i32,
    estimated: bool,
    line: Option<Uuid>,
) -> Uuid {
    sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id, line_id, status, estimated_times, planned_distance_m)
         select 'puglia', $1, vehicle_id, $3, 'completed', $4, $5 from vehicle where label = $2
         returning run_id",
    )
    .bind(day)
    .bind(vehicle)
    .bind(line)
    .bind(estimated)
    .bind(planned_m)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A funding source valid around the test days (SQL, so that its period does not depend on the
/// day the demo was loaded).
async fn fund(pool: &PgPool, kind: &str, name: &str, person_case: Option<Uuid>) -> Uuid {
    sqlx::query_scalar(
        "insert into funding_source (region_code, kind, name, person_id, employer_name, cap_cents, period_start, period_end)
         values ('puglia', $1::funding_kind, $2,
                 (select person_id from care_case where case_id = $3),
                 case when $1 = 'employer_contribution' then $2 end, 10000000, '2026-01-01', '2027-12-31')
         returning funding_source_id",
    )
    .bind(kind)
    .bind(name)
    .bind(person_case)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// One historic request, its ride if any, and its charge if any.
#[derive(Clone)]
struct Hist {
    case: Uuid,
    purpose: &'static str,
    day: NaiveDate,
    from: Uuid,
    to: Uuid,
    status: &'static str,
    run: Option<Uuid>,
    passengers: i16,
    promised: Option<&'static str>,
    picked: Option<&'static str>,
    dropped: Option<&'static str>,
    distance_m: i32,
    cost: i64,
    charge: Option<(Uuid, Option<&'static str>)>,
    booked_by: Option<Uuid>,
    created_at: Option<&'static str>,
}

impl Hist {
    fn new(case: Uuid, purpose: &'static str, day: NaiveDate, from: Uuid, to: Uuid) -> Self {
        Self {
            case,
            purpose,
            day,
            from,
            to,
            status: "completed",
            run: None,
            passengers: 1,
            promised: None,
            picked: None,
            dropped: None,
            distance_m: 0,
            cost: 0,
            charge: None,
            booked_by: None,
            created_at: None,
        }
    }
}

async fn insert(pool: &PgPool, h: &Hist) -> Uuid {
    let ts = |s: Option<&str>| s.map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
    let id: Uuid = sqlx::query_scalar(
        "insert into ride_request (region_code, case_id, person_id, purpose, service_date,
             pickup_place_id, pickup_location, dropoff_place_id, dropoff_location, earliest_pickup,
             passengers, status, booked_by, booked_channel, run_id, promised_pickup_at, created_at)
         select c.region_code, c.case_id, c.person_id, $2::ride_purpose, $3, pp.place_id, pp.location,
             dp.place_id, dp.location, ($3::date + time '06:00') at time zone 'Europe/Rome', $6,
             $7::ride_status, coalesce($10, c.case_worker_id),
             (case when $10 is null then 'case_worker' else 'mediator' end)::booking_channel,
             $8, $9, coalesce($11, ($3::date - 1 + time '18:00') at time zone 'Europe/Rome')
         from care_case c, place pp, place dp
         where c.case_id = $1 and pp.place_id = $4 and dp.place_id = $5
         returning ride_request_id",
    )
    .bind(h.case)
    .bind(h.purpose)
    .bind(h.day)
    .bind(h.from)
    .bind(h.to)
    .bind(h.passengers)
    .bind(h.status)
    .bind(h.run)
    .bind(ts(h.promised))
    .bind(h.booked_by)
    .bind(ts(h.created_at))
    .fetch_one(pool)
    .await
    .unwrap();
    if matches!(h.status, "completed" | "no_show") {
        sqlx::query(
            "insert into ride (region_code, ride_request_id, run_id, case_id, person_id, outcome,
                 picked_up_at, dropped_off_at, distance_m, cost_cents)
             select region_code, ride_request_id, $2, case_id, person_id, $3::ride_outcome, $4, $5, $6, $7
             from ride_request where ride_request_id = $1",
        )
        .bind(id)
        .bind(h.run.expect("a ride has a run"))
        .bind(h.status)
        .bind(ts(h.picked))
        .bind(ts(h.dropped))
        .bind(h.distance_m)
        .bind(h.cost)
        .execute(pool)
        .await
        .unwrap();
    }
    if let Some((source, area)) = h.charge {
        let entry: i64 = sqlx::query_scalar(
            "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, area, person_id,
                 occurred_on, description, external_ref)
             select 'puglia', $2, 'charge', $3, $4::budget_area, person_id, service_date, 'ride',
                 'ride:' || ride_request_id
             from ride_request where ride_request_id = $1
             returning ledger_entry_id",
        )
        .bind(id)
        .bind(source)
        .bind(h.cost)
        .bind(area)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "update ride set funding_source_id = $2, ledger_entry_id = $3 where ride_request_id = $1",
        )
        .bind(id)
        .bind(source)
        .bind(entry)
        .execute(pool)
        .await
        .unwrap();
    }
    id
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-6, "{what}: {a} != {b}");
}

/// Every person id, case id, name and case code in the database: none may be in an export.
async fn secrets(pool: &PgPool) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "select person_id::text from person union all select known_as from person
         union all select case_id::text from care_case
         union all select pai_reference from care_case where pai_reference is not null",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    out.sort();
    out.dedup();
    out
}

fn assert_no_secrets(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} contains {s:?}");
    }
}

/// A minimal RFC 4180 reader (quoted fields with commas and doubled quotes).
fn parse_csv(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, c) if c == delimiter => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// CSV rows as maps from header to value.
fn csv_records(text: &str, delimiter: char) -> Vec<BTreeMap<String, String>> {
    let rows = parse_csv(text, delimiter);
    let header = rows[0].clone();
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Service indicators

const D: &str = "2026-11-24";

struct ServiceDay {
    line: Uuid,
    foggia: Uuid,
    san_severo: Uuid,
    /// (pickup, drop-off) of the served rides, region-wide, for the direct times.
    served_ends: Vec<(Uuid, Uuid, f64)>,
}

/// The hand-built day `D` (yesterday): ten requests of which five served, over two runs.
#[allow(clippy::too_many_lines)]
async fn service_day(app: &TestApp) -> ServiceDay {
    let pool = &app.pool;
    let admin = app.login("admin").await;
    let day: NaiveDate = D.parse().unwrap();
    let today: NaiveDate = "2026-11-25".parse().unwrap();
    let (moussa, mamadou, lamin, emeka, ibrahima) = (
        case_of(pool, "Moussa").await,
        case_of(pool, "Mamadou").await,
        case_of(pool, "Lamin").await,
        case_of(pool, "Emeka").await,
        case_of(pool, "Ibrahima").await,
    );
    let borgo = place(pool, "Borgo Mezzanone - ex pista").await;
    let palmori = place(pool, "Palmori").await;
    let farm = place(pool, "Azienda agricola Russo (pomodoro)").await;
    let asl = place(pool, "ASL Foggia - Poliambulatorio").await;
    let questura = place(pool, "Questura di Foggia - Ufficio Immigrazione").await;
    let packing = place(pool, "Magazzino ortofrutticolo Capobianco (carciofi)").await;
    let bus = uuid_of(
        pool,
        "select vehicle_id from vehicle where label = 'FG-PSG-05'",
    )
    .await;
    // A work line (API); run A is one of its runs.
    let line = app
        .post(
            "/api/lines",
            &admin,
            &json!({ "name": "Linea prova", "region_code": "puglia", "season_start": "2026-11-01",
                     "season_end": "2027-03-31", "operating_days": [1, 2, 3, 4, 5, 6], "vehicle_id": bus,
                     "stops": [ { "place_id": borgo, "stop_time": "05:40" },
                                { "place_id": packing, "stop_time": "06:10" } ] }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.body);
    let line: Uuid = line.body["line_id"].as_str().unwrap().parse().unwrap();
    let run_a = run(pool, day, "FG-PSG-01", 40_000, false, Some(line)).await;
    let run_b = run(pool, day, "FG-PSG-02", 25_000, true, None).await;
    let employer = fund(pool, "employer_contribution", "Datore prova", None).await;
    let transport = fund(pool, "transport_fund", "Fondo prova", None).await;
    let budget = fund(pool, "integration_budget", "Budget prova", Some(moussa)).await;
    let h = |case, purpose, from, to| Hist::new(case, purpose, day, from, to);
    let rides = [
        // R1 on time (+3 min), 30 min, 12 km, employer.
        Hist {
            run: Some(run_a),
            promised: Some("2026-11-24T05:00:00Z"),
            picked: Some("2026-11-24T05:03:00Z"),
            dropped: Some("2026-11-24T05:33:00Z"),
            distance_m: 12_000,
            cost: 510,
            charge: Some((employer, None)),
            ..h(moussa, "work_shift", borgo, farm)
        },
        // R2 late (+15 min), 20 min, 10 km, two passengers, employer.
        Hist {
            run: Some(run_a),
            passengers: 2,
            promised: Some("2026-11-24T05:10:00Z"),
            picked: Some("2026-11-24T05:25:00Z"),
            dropped: Some("2026-11-24T05:45:00Z"),
            distance_m: 10_000,
            cost: 450,
            charge: Some((employer, None)),
            ..h(mamadou, "work_shift", borgo, farm)
        },
        // R3 to the ASL, on time (-4 min), 30 min, 15 km, transport fund, estimated run.
        Hist {
            run: Some(run_b),
            promised: Some("2026-11-24T08:00:00Z"),
            picked: Some("2026-11-24T07:56:00Z"),
            dropped: Some("2026-11-24T08:26:00Z"),
            distance_m: 15_000,
            cost: 600,
            charge: Some((transport, None)),
            ..h(lamin, "appointment", palmori, asl)
        },
        // R4 to the Questura, no promise, 20 min, 5 km, integration budget.
        Hist {
            run: Some(run_b),
            picked: Some("2026-11-24T09:00:00Z"),
            dropped: Some("2026-11-24T09:20:00Z"),
            distance_m: 5_000,
            cost: 300,
            charge: Some((budget, Some("integration_orientation"))),
            ..h(moussa, "appointment", palmori, questura)
        },
        // R5 no-show on the line's run.
        Hist {
            status: "no_show",
            run: Some(run_a),
            ..h(emeka, "work_shift", borgo, farm)
        },
        // R6 cancelled, R7 refused, R8 never carried (planned out), R9 today and still open.
        Hist {
            status: "cancelled",
            ..h(emeka, "training", borgo, questura)
        },
        Hist {
            status: "refused",
            ..h(mamadou, "other", palmori, asl)
        },
        Hist {
            status: "requested",
            ..h(lamin, "work_shift", palmori, farm)
        },
        Hist {
            status: "requested",
            day: today,
            ..h(moussa, "work_shift", borgo, farm)
        },
        // R10 of San Severo on run A, on time (exactly -5 min), 18 min, 8 km, transport fund.
        Hist {
            run: Some(run_a),
            promised: Some("2026-11-24T05:20:00Z"),
            picked: Some("2026-11-24T05:15:00Z"),
            dropped: Some("2026-11-24T05:33:00Z"),
            distance_m: 8_000,
            cost: 390,
            charge: Some((transport, None)),
            ..h(ibrahima, "work_shift", borgo, farm)
        },
    ];
    let mut ids = Vec::new();
    for r in &rides {
        ids.push(insert(pool, r).await);
    }
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason)
         values ('puglia', $1, 'refused', 'NoCompatibleVehicle')",
    )
    .bind(ids[6])
    .execute(pool)
    .await
    .unwrap();
    let job: Uuid = sqlx::query_scalar(
        "insert into plan_job (region_code, service_date, status) values ('puglia', $1, 'done') returning plan_job_id",
    )
    .bind(day)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into plan_unserved (region_code, plan_job_id, ride_request_id, reason) values ('puglia', $1, $2, 'TimeWindow')",
    )
    .bind(job)
    .bind(ids[7])
    .execute(pool)
    .await
    .unwrap();
    let served_ends = [
        (borgo, farm, 1800.0),
        (borgo, farm, 1200.0),
        (palmori, asl, 1800.0),
        (palmori, questura, 1200.0),
        (borgo, farm, 1080.0),
    ]
    .to_vec();
    ServiceDay {
        line,
        foggia: polo(pool, "Polo Sociale Integrato Foggia").await,
        san_severo: polo(pool, "Spoke San Severo").await,
        served_ends,
    }
}

async fn lonlat(pool: &PgPool, place: Uuid) -> Location {
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "select st_x(location::geometry), st_y(location::geometry) from place where place_id = $1",
    )
    .bind(place)
    .fetch_one(pool)
    .await
    .unwrap();
    Location { lon, lat }
}

/// Direct times of rides by the calibrated model (the definition in docs/reporting.md).
async fn direct(pool: &PgPool, ends: &[(Uuid, Uuid, f64)]) -> Vec<(f64, f64)> {
    let model = FallbackModel::new(Calibration::rural());
    let mut out = Vec::new();
    for (a, b, ride) in ends {
        let d = model
            .estimate(lonlat(pool, *a).await, lonlat(pool, *b).await)
            .0;
        out.push((*ride, d));
    }
    out
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
#[allow(clippy::too_many_lines)]
async fn service_indicators_of_a_hand_built_day(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), "2026-11-25T10:00:00Z").await;
    let day = service_day(&app).await;
    let admin = app.login("admin").await;
    let period = "region=puglia&from=2026-11-24&to=2026-11-25";

    // The region, by hand from the ten requests above.
    let r = app
        .get(&format!("/api/reports/service?{period}"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let b = &r.body;
    for (k, v) in [
        ("requests", 10),
        ("served", 5),
        ("passengers_carried", 6),
        ("people", 4),
        ("no_shows", 1),
        ("cancelled", 1),
        ("refused", 1),
        ("unserved", 1),
        ("open", 1),
        ("runs", 2),
    ] {
        assert_eq!(b[k], v, "{k}: {b}");
    }
    assert_eq!(
        b["not_served_by_reason"],
        json!([{ "status": "refused", "reason": "NoCompatibleVehicle", "requests": 1 },
               { "status": "unserved", "reason": "TimeWindow", "requests": 1 }])
    );
    // On time: R1 (+3), R3 (-4), R10 (-5, the edge) of R1, R2, R3, R10 with a promise.
    assert_eq!(
        b["on_time_pickups"],
        json!({ "of": 4, "count": 3, "share": 0.75 })
    );
    // Ride times 1800, 1200, 1800, 1200, 1080 s: mean 1416, p95 (nearest rank 5 of 5) 1800.
    let t = &b["ride_time"];
    assert_eq!(t["rides"], 5);
    close(f(&t["mean_s"]), 1416.0, "mean ride time");
    close(f(&t["p95_s"]), 1800.0, "p95 ride time");
    let d = direct(&app.pool, &day.served_ends).await;
    let direct_mean = d.iter().map(|x| x.1).sum::<f64>() / 5.0;
    let ratio_mean = d.iter().map(|x| x.0 / x.1).sum::<f64>() / 5.0;
    let ratio_max = d.iter().map(|x| x.0 / x.1).fold(0.0, f64::max);
    close(f(&t["direct_mean_s"]), direct_mean, "direct mean");
    close(f(&t["ratio_mean"]), ratio_mean, "ratio mean");
    close(
        f(&t["ratio_p95"]),
        ratio_max,
        "ratio p95 = the largest of five",
    );
    // Runs A (40 km, 8 seats) and B (25 km, 8 seats); passenger-km 12 + 2×10 + 15 + 5 + 8 = 60.
    close(f(&b["vehicle_km"]), 65.0, "vehicle km");
    close(f(&b["passenger_km"]), 60.0, "passenger km");
    close(f(&b["passenger_km_per_vehicle_km"]), 60.0 / 65.0, "pkm/vkm");
    close(f(&b["seat_km"]), 65.0 * 8.0, "seat km");
    close(f(&b["seat_occupancy"]), 60.0 / 520.0, "seat occupancy");
    close(f(&b["passengers_per_run"]), 3.0, "passengers per run");
    // Cost 510 + 450 + 600 + 300 + 390 = 2250 for five rides and four people.
    assert_eq!(b["cost"]["total_cents"], 2250);
    assert_eq!(b["cost"]["unfunded_cents"], 0);
    close(f(&b["cost"]["per_ride_cents"]), 450.0, "per ride");
    close(f(&b["cost"]["per_person_cents"]), 562.5, "per person");
    assert_eq!(
        b["estimated_times"],
        json!({ "of": 5, "count": 2, "share": 0.4 })
    );
    assert_eq!(
        b["by_category"],
        json!([{ "category": "work", "rides": 3 }, { "category": "health", "rides": 1 },
               { "category": "questura", "rides": 1 }])
    );
    assert_eq!(
        b["by_funding"],
        json!([
            { "funding": "employer_contribution", "area": null, "employer": "Datore prova", "rides": 2, "cost_cents": 960 },
            { "funding": "integration_budget", "area": "integration_orientation", "employer": null, "rides": 1, "cost_cents": 300 },
            { "funding": "transport_fund", "area": null, "employer": null, "rides": 2, "cost_cents": 990 },
        ])
    );

    // The Foggia Polo: R1-R9; run A is shared with San Severo's rider (3 of its 4 passengers).
    let coord = app.login("coord.foggia").await;
    let own = app
        .get(&format!("/api/reports/service?{period}"), &coord)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let b = &own.body;
    assert_eq!(b["scope"]["polo_id"], day.foggia.to_string());
    for (k, v) in [
        ("requests", 9),
        ("served", 4),
        ("passengers_carried", 5),
        ("people", 3),
        ("no_shows", 1),
        ("cancelled", 1),
        ("refused", 1),
        ("unserved", 1),
        ("open", 1),
        ("runs", 2),
    ] {
        assert_eq!(b[k], v, "Foggia {k}: {b}");
    }
    assert_eq!(
        b["on_time_pickups"],
        json!({ "of": 3, "count": 2, "share": 2.0 / 3.0 })
    );
    close(
        f(&b["vehicle_km"]),
        40.0 * 3.0 / 4.0 + 25.0,
        "Foggia vehicle km",
    );
    close(f(&b["passenger_km"]), 52.0, "Foggia passenger km");
    assert_eq!(b["cost"]["total_cents"], 1860);
    close(
        f(&b["cost"]["per_person_cents"]),
        620.0,
        "Foggia per person",
    );
    // The admin asking for the same Polo gets the same figures.
    let same = app
        .get(
            &format!("/api/reports/service?{period}&polo_id={}", day.foggia),
            &admin,
        )
        .await;
    assert_eq!(same.body["served"], 4);
    assert_eq!(same.body["vehicle_km"], own.body["vehicle_km"]);

    // The line: the requests on its run (R1, R2, R5, R10); its run counts whole.
    let line = app
        .get(
            &format!("/api/reports/service?{period}&line_id={}", day.line),
            &admin,
        )
        .await;
    assert_eq!(line.status, StatusCode::OK, "{:?}", line.body);
    assert_eq!(
        (
            &line.body["requests"],
            &line.body["served"],
            &line.body["no_shows"]
        ),
        (&json!(4), &json!(3), &json!(1))
    );
    close(f(&line.body["vehicle_km"]), 40.0, "line vehicle km");
    assert_eq!(line.body["scope"]["line_name"], "Linea prova");

    // CSV, as a programme officer opens it: one row per figure, with the scope in words.
    let (status, ctype, body) = raw(
        &app,
        &format!("/api/reports/service?{period}&format=csv&delimiter=semicolon"),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let text = String::from_utf8(body).unwrap();
    let records = csv_records(&text, ';');
    let value = |indicator: &str, breakdown: &str| {
        records
            .iter()
            .find(|r| r["indicator"] == indicator && r["breakdown"] == breakdown)
            .unwrap_or_else(|| panic!("no {indicator}/{breakdown} in {text}"))["value"]
            .clone()
    };
    assert_eq!(value("served", ""), "5");
    assert_eq!(value("on_time_pickups_share", ""), "0.75");
    assert_eq!(value("cost_per_person", ""), "562.5");
    assert_eq!(value("rides_by_category", "questura"), "1");
    assert_eq!(value("not_served_by_reason", "unserved:TimeWindow"), "1");
    assert_eq!(
        value(
            "cost_by_funding",
            "integration_budget:integration_orientation"
        ),
        "300"
    );
    assert!(records
        .iter()
        .all(|r| r["polo"] == "all" && r["from"] == "2026-11-24"));
    let secrets = secrets(&app.pool).await;
    assert_no_secrets(&text, &secrets, "service CSV");
    assert_no_secrets(&r.body.to_string(), &secrets, "service JSON");

    // Who may see what, and bad input naming the parameter.
    let other = app
        .get(
            &format!("/api/reports/service?{period}&polo_id={}", day.san_severo),
            &coord,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{:?}", other.body);
    for who in ["driver.marco", "cw.foggia"] {
        let t = app.login(who).await;
        assert_eq!(
            app.get(&format!("/api/reports/service?{period}"), &t)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let (status, _, _) = raw(&app, &format!("/api/reports/service?{period}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (query, field) in [
        ("region=puglia&from=2026-11-31&to=2026-12-01", "from"),
        ("region=puglia&to=2026-12-01", "from"),
        ("region=puglia&from=2026-11-24&to=2026-11-01", "to"),
        ("region=puglia&from=2020-01-01&to=2026-11-01", "to"),
        ("region=lombardia&from=2026-11-24&to=2026-11-25", "region"),
        ("from=2026-11-24&to=2026-11-25", "region"),
        (&format!("{period}&polo_id=nope"), "polo_id"),
        (&format!("{period}&polo_id={}", Uuid::new_v4()), "polo_id"),
        (&format!("{period}&line_id={}", Uuid::new_v4()), "line_id"),
        (&format!("{period}&format=xlsx"), "format"),
        (&format!("{period}&format=csv&delimiter=tab"), "delimiter"),
    ] {
        let r = app
            .get(&format!("/api/reports/service?{query}"), &admin)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.error_field(), field, "{query}: {:?}", r.body);
    }
}

// ---------------------------------------------------------------------------------------------
// Programme indicators

/// A programme cell's key: month, Polo name, indicator, breakdown.
type CellKey<'a> = (&'a str, &'a str, &'a str, &'a str);

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
#[allow(clippy::too_many_lines)]
async fn programme_indicators_are_aggregated_and_small_cells_suppressed(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), "2026-12-01T10:00:00Z").await;
    let admin = app.login("admin").await;
    let cw_fg = app.login("cw.foggia").await;
    let cw_ss = app.login("cw.sansevero").await;
    // Foggia gets two more people and San Severo one (API): 6, 5 and Cerignola's 3.
    let mut foggia = Vec::new();
    for n in ["Moussa", "Mamadou", "Lamin", "Emeka"] {
        foggia.push(case_of(&pool, n).await);
    }
    foggia.push(new_case(&app, &cw_fg, "Bakary").await);
    foggia.push(new_case(&app, &cw_fg, "Seydou").await);
    let mut san_severo = Vec::new();
    for n in ["Ibrahima", "Sekou", "Yaw", "Alassane"] {
        san_severo.push(case_of(&pool, n).await);
    }
    san_severo.push(new_case(&app, &cw_ss, "Kofi").await);
    let cerignola = [
        case_of(&pool, "Kwame").await,
        case_of(&pool, "Abdoulaye").await,
    ];
    let borgo = place(&pool, "Borgo Mezzanone - ex pista").await;
    let farm = place(&pool, "Azienda agricola Russo (pomodoro)").await;
    let asl = place(&pool, "ASL Foggia - Poliambulatorio").await;
    let employer = fund(&pool, "employer_contribution", "Datore prova", None).await;
    let transport = fund(&pool, "transport_fund", "Fondo prova", None).await;
    let oct: NaiveDate = "2026-10-15".parse().unwrap();
    let nov: NaiveDate = "2026-11-10".parse().unwrap();
    let nov2: NaiveDate = "2026-11-11".parse().unwrap();
    let run_oct = run(&pool, oct, "FG-PSG-01", 30_000, false, None).await;
    let run_nov = run(&pool, nov, "FG-PSG-01", 30_000, false, None).await;
    let run_nov2 = run(&pool, nov2, "FG-PSG-01", 30_000, false, None).await;
    let ride = |case, day, run, to, charge| Hist {
        run: Some(run),
        distance_m: 10_000,
        cost: 500,
        charge,
        ..Hist::new(case, "work_shift", day, borgo, to)
    };
    // October: one person of Foggia and one of San Severo (not charged).
    insert(&pool, &ride(foggia[0], oct, run_oct, farm, None)).await;
    insert(&pool, &ride(san_severo[0], oct, run_oct, farm, None)).await;
    // November: six of Foggia to work (employer), two of them also to the ASL (not charged);
    // five of San Severo and two of Cerignola to work (transport fund).
    for c in &foggia {
        insert(&pool, &ride(*c, nov, run_nov, farm, Some((employer, None)))).await;
    }
    for c in &foggia[..2] {
        insert(
            &pool,
            &Hist {
                purpose: "appointment",
                cost: 0,
                ..ride(*c, nov2, run_nov2, asl, None)
            },
        )
        .await;
    }
    for c in san_severo.iter().chain(&cerignola) {
        insert(
            &pool,
            &ride(*c, nov, run_nov, farm, Some((transport, None))),
        )
        .await;
    }

    let period = "region=puglia&from=2026-10-01&to=2026-11-30";
    let r = app
        .get(&format!("/api/reports/programme?{period}"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["min_cell_people"], 5);
    let got: BTreeMap<(String, String, String, String), Value> = r.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                (
                    c["month"].as_str().unwrap().to_owned(),
                    c["polo_name"].as_str().unwrap().to_owned(),
                    c["indicator"].as_str().unwrap().to_owned(),
                    c["breakdown"].as_str().unwrap().to_owned(),
                ),
                json!([c["value"], c["suppressed"]]),
            )
        })
        .collect();
    let (all, fg, ss, ce) = (
        "puglia (all Poli)",
        "Polo Sociale Integrato Foggia",
        "Spoke San Severo",
        "Spoke Cerignola",
    );
    let small = |_n: i64| json!([null, "small_cell"]);
    let comp = json!([null, "complementary"]);
    let shown = |n: i64| json!([n, null]);
    let employer_key = "employer:Datore prova";
    let expected: Vec<(CellKey, Value)> = vec![
        // October: two people, one per Polo: every cell is small (zero cells are published).
        (("2026-10", all, "people_transported", ""), small(2)),
        (("2026-10", fg, "people_transported", ""), small(1)),
        (("2026-10", ss, "people_transported", ""), small(1)),
        (("2026-10", all, "new_people", ""), small(2)),
        (("2026-10", fg, "new_people", ""), small(1)),
        (("2026-10", ss, "new_people", ""), small(1)),
        (("2026-10", all, "people_to_services", ""), shown(0)),
        (("2026-10", fg, "people_to_services", ""), shown(0)),
        (("2026-10", ss, "people_to_services", ""), shown(0)),
        // November: 6 + 5 + 2 = 13 people. Cerignola's 2 are small; San Severo's 5 would give
        // them away (13 - 6 - 5), so it is hidden as their complement.
        (("2026-11", all, "people_transported", ""), shown(13)),
        (("2026-11", fg, "people_transported", ""), shown(6)),
        (("2026-11", ss, "people_transported", ""), comp.clone()),
        (("2026-11", ce, "people_transported", ""), small(2)),
        // New in November: Foggia 5 (one rode in October), San Severo 4, Cerignola 2: two small
        // cells protect each other.
        (("2026-11", all, "new_people", ""), shown(11)),
        (("2026-11", fg, "new_people", ""), shown(5)),
        (("2026-11", ss, "new_people", ""), small(4)),
        (("2026-11", ce, "new_people", ""), small(2)),
        // Two people went to the ASL: small everywhere.
        (("2026-11", all, "people_to_services", ""), small(2)),
        (("2026-11", fg, "people_to_services", ""), small(2)),
        (("2026-11", ss, "people_to_services", ""), shown(0)),
        (("2026-11", ce, "people_to_services", ""), shown(0)),
        // Charges: the employer paid six rides of six Foggia people (5 € each).
        (("2026-11", all, "rides_charged", employer_key), shown(6)),
        (("2026-11", fg, "rides_charged", employer_key), shown(6)),
        (
            ("2026-11", all, "amount_charged_cents", employer_key),
            shown(3000),
        ),
        (
            ("2026-11", fg, "amount_charged_cents", employer_key),
            shown(3000),
        ),
        // The transport fund paid San Severo's five and Cerignola's two.
        (
            ("2026-11", all, "rides_charged", "transport_fund"),
            shown(7),
        ),
        (
            ("2026-11", ss, "rides_charged", "transport_fund"),
            comp.clone(),
        ),
        (("2026-11", ce, "rides_charged", "transport_fund"), small(2)),
        (
            ("2026-11", all, "amount_charged_cents", "transport_fund"),
            shown(3500),
        ),
        (
            ("2026-11", ss, "amount_charged_cents", "transport_fund"),
            comp.clone(),
        ),
        (
            ("2026-11", ce, "amount_charged_cents", "transport_fund"),
            small(2),
        ),
    ];
    let expected: BTreeMap<(String, String, String, String), Value> = expected
        .into_iter()
        .map(|((m, p, i, b), v)| ((m.into(), p.into(), i.into(), b.into()), v))
        .collect();
    assert_eq!(got, expected);

    // CSV: no person-level row, no id, name or case code; suppressed cells are empty with why.
    let (status, _, body) = raw(
        &app,
        &format!("/api/reports/programme?{period}&format=csv"),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    let records = csv_records(&text, ',');
    assert_eq!(records.len(), expected.len());
    let row = records
        .iter()
        .find(|r| {
            r["month"] == "2026-11" && r["polo"] == ce && r["indicator"] == "people_transported"
        })
        .unwrap();
    assert_eq!(
        (row["value"].as_str(), row["suppressed"].as_str()),
        ("", "fewer than 5 people")
    );
    let secrets = secrets(&pool).await;
    assert_no_secrets(&text, &secrets, "programme CSV");
    assert_no_secrets(&r.body.to_string(), &secrets, "programme JSON");

    // A coordinator sees their own Polo's rows only, with the same suppression.
    let coord = app.login("coord.foggia").await;
    let own = app
        .get(&format!("/api/reports/programme?{period}"), &coord)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let cells = own.body["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    assert!(cells.iter().all(|c| c["polo_name"] == fg), "{cells:?}");
    assert_eq!(cells.len(), expected.keys().filter(|k| k.1 == fg).count());
    let coord_ss = app.login("coord.sansevero").await;
    let theirs = app
        .get(&format!("/api/reports/programme?{period}"), &coord_ss)
        .await;
    let people = theirs.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["month"] == "2026-11" && c["indicator"] == "people_transported")
        .unwrap()
        .clone();
    assert_eq!(
        people["suppressed"], "complementary",
        "the complement is hidden from its own Polo too, or the region total would give Cerignola away"
    );
    let foggia_polo = polo(&pool, "Polo Sociale Integrato Foggia").await;
    assert_eq!(
        app.get(
            &format!("/api/reports/programme?{period}&polo_id={foggia_polo}"),
            &coord_ss
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .get(
            &format!("/api/reports/programme?{period}&line_id={}", Uuid::new_v4()),
            &admin,
        )
        .await;
    assert_eq!(r.error_field(), "line_id");

    // The threshold is programme configuration: at 2 only the October single people are hidden.
    sqlx::query("update programme_config set report_min_cell_people = 2")
        .execute(&pool)
        .await
        .unwrap();
    let r = app
        .get(&format!("/api/reports/programme?{period}"), &admin)
        .await;
    let hidden: BTreeSet<(String, String)> = r.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["suppressed"].is_null())
        .map(|c| {
            (
                c["month"].as_str().unwrap().to_owned(),
                c["polo_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        hidden,
        [("2026-10", fg), ("2026-10", ss)]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect()
    );
}

// ---------------------------------------------------------------------------------------------
// GTFS / GTFS-Flex

/// The files of a feed.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        out.insert(f.name().to_owned(), s);
    }
    out
}

fn table(files: &BTreeMap<String, String>, name: &str) -> Vec<BTreeMap<String, String>> {
    csv_records(
        files.get(name).unwrap_or_else(|| panic!("{name} missing")),
        ',',
    )
}

/// Our own invariants of a feed: references resolve, trips are in order, and nothing about
/// people is in it. Returns the line trips' (stop_id, arrival) sequences.
fn check_feed(files: &BTreeMap<String, String>) -> BTreeMap<String, Vec<(String, String)>> {
    for required in [
        "agency.txt",
        "stops.txt",
        "routes.txt",
        "trips.txt",
        "stop_times.txt",
        "calendar.txt",
        "feed_info.txt",
        "booking_rules.txt",
        "location_groups.txt",
        "location_group_stops.txt",
        "locations.geojson",
    ] {
        assert!(files.contains_key(required), "{required} missing");
    }
    let stops: BTreeSet<String> = table(files, "stops.txt")
        .iter()
        .map(|s| s["stop_id"].clone())
        .collect();
    let groups: BTreeSet<String> = table(files, "location_groups.txt")
        .iter()
        .map(|s| s["location_group_id"].clone())
        .collect();
    let geo: Value = serde_json::from_str(&files["locations.geojson"]).unwrap();
    let zones: BTreeSet<String> = geo["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let t = f["geometry"]["type"].as_str().unwrap();
            assert!(t == "Polygon" || t == "MultiPolygon", "{t}");
            f["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(!zones.is_empty());
    let all_ids: Vec<&String> = stops.iter().chain(&groups).chain(&zones).collect();
    assert_eq!(
        all_ids.len(),
        all_ids.iter().collect::<BTreeSet<_>>().len(),
        "stop, group and zone ids are distinct"
    );
    for gs in table(files, "location_group_stops.txt") {
        assert!(groups.contains(&gs["location_group_id"]));
        assert!(stops.contains(&gs["stop_id"]));
    }
    let services: BTreeSet<String> = table(files, "calendar.txt")
        .iter()
        .map(|c| c["service_id"].clone())
        .collect();
    let routes: BTreeSet<String> = table(files, "routes.txt")
        .iter()
        .map(|c| c["route_id"].clone())
        .collect();
    let trips = table(files, "trips.txt");
    for t in &trips {
        assert!(routes.contains(&t["route_id"]) && services.contains(&t["service_id"]));
    }
    let rules: BTreeSet<String> = table(files, "booking_rules.txt")
        .iter()
        .map(|c| c["booking_rule_id"].clone())
        .collect();
    let mut by_trip: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for st in table(files, "stop_times.txt") {
        let refs = [&st["stop_id"], &st["location_group_id"], &st["location_id"]];
        assert_eq!(
            refs.iter().filter(|r| !r.is_empty()).count(),
            1,
            "one place per stop time: {st:?}"
        );
        assert!(
            st["stop_id"].is_empty() || stops.contains(&st["stop_id"]),
            "{st:?}"
        );
        assert!(st["location_group_id"].is_empty() || groups.contains(&st["location_group_id"]));
        assert!(st["location_id"].is_empty() || zones.contains(&st["location_id"]));
        for rule in [
            &st["pickup_booking_rule_id"],
            &st["drop_off_booking_rule_id"],
        ] {
            assert!(rule.is_empty() || rules.contains(rule));
        }
        by_trip.entry(st["trip_id"].clone()).or_default().push(st);
    }
    assert_eq!(
        by_trip.keys().collect::<BTreeSet<_>>(),
        trips.iter().map(|t| &t["trip_id"]).collect::<BTreeSet<_>>(),
        "every trip has stop times"
    );
    let mut lines = BTreeMap::new();
    for (trip, sts) in by_trip {
        let seqs: Vec<i64> = sts
            .iter()
            .map(|s| s["stop_sequence"].parse().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{trip}: {seqs:?}");
        assert!(sts.len() >= 2, "{trip}");
        if sts[0]["stop_id"].is_empty() {
            // On demand: a pickup window in the fleet's hours, booked through the Polo.
            for s in &sts {
                assert_eq!(s["start_pickup_drop_off_window"], "05:00:00");
                assert_eq!(s["end_pickup_drop_off_window"], "22:00:00");
                assert!(s["arrival_time"].is_empty());
            }
            continue;
        }
        let times: Vec<&String> = sts.iter().map(|s| &s["arrival_time"]).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{trip}: {times:?}");
        lines.insert(
            trip,
            sts.iter()
                .map(|s| (s["stop_id"].clone(), s["arrival_time"].clone()))
                .collect(),
        );
    }
    lines
}

/// Runs the offline validator and the reader (scripts/gtfs-check.py) if they are installed
/// (`make test` installs them; PASSAGGIO_REQUIRE_GTFS_TOOLS=1 makes their absence a failure).
fn validate(zip: &[u8], date: &str) -> Option<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var("PASSAGGIO_GTFS_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join(".local/gtfs/venv/bin/python"));
    if !python.exists() {
        assert!(
            std::env::var("PASSAGGIO_REQUIRE_GTFS_TOOLS").as_deref() != Ok("1"),
            "{} missing but PASSAGGIO_REQUIRE_GTFS_TOOLS=1: run scripts/gtfs-tools.sh install",
            python.display()
        );
        eprintln!(
            "note: GTFS validator not installed ({}); own invariants checked only",
            python.display()
        );
        return None;
    }
    let dir = std::env::temp_dir().join(format!("passaggio-gtfs-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feed.zip");
    std::fs::write(&path, zip).unwrap();
    let out = std::process::Command::new(python)
        .arg(root.join("scripts/gtfs-check.py"))
        .arg(&path)
        .arg(date)
        .output()
        .expect("running scripts/gtfs-check.py");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "gtfs-check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("JSON from gtfs-check.py"))
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
#[allow(clippy::too_many_lines)]
async fn the_gtfs_feed_of_the_demo_region_validates_and_round_trips(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), "2026-11-25T10:00:00Z").await;
    let admin = app.login("admin").await;
    let pista = uuid_of(
        &pool,
        "select meeting_point_id from meeting_point where name = 'Ingresso pista'",
    )
    .await;
    let piazza = uuid_of(
        &pool,
        "select meeting_point_id from meeting_point where name = 'Piazza del borgo'",
    )
    .await;
    let borgo = place(&pool, "Borgo Mezzanone - ex pista").await;
    let packing = place(&pool, "Magazzino ortofrutticolo Capobianco (carciofi)").await;
    let torretta = place(&pool, "Torretta Antonacci").await;
    let farm = place(&pool, "Azienda agricola Fiore (pomodoro)").await;
    for body in [
        json!({ "name": "Borgo Mezzanone - magazzino Capobianco", "region_code": "puglia",
                "season_start": "2026-11-01", "season_end": "2027-03-31", "operating_days": [1, 2, 3, 4, 5, 6], "capacity": 20,
                "stops": [ { "place_id": borgo, "meeting_point_id": pista, "stop_time": "05:00" },
                           { "place_id": borgo, "meeting_point_id": piazza, "stop_time": "05:08" },
                           { "place_id": packing, "stop_time": "05:35" } ] }),
        json!({ "name": "Torretta - Fiore", "region_code": "puglia",
                "season_start": "2026-07-01", "season_end": "2026-12-20", "operating_days": [1, 3, 5], "capacity": 8,
                "stops": [ { "place_id": torretta, "stop_time": "05:30" },
                           { "place_id": farm, "stop_time": "06:05" } ] }),
        // A shuttle between two meeting points of one settlement: one cell when coarsened.
        json!({ "name": "Navetta del borgo", "region_code": "puglia",
                "season_start": "2026-11-01", "season_end": "2027-03-31", "operating_days": [7], "capacity": 8,
                "stops": [ { "place_id": borgo, "meeting_point_id": pista, "stop_time": "17:00" },
                           { "place_id": borgo, "meeting_point_id": piazza, "stop_time": "17:10" } ] }),
    ] {
        let r = app.post("/api/lines", &admin, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let coord = app.login("coord.foggia").await;
    let (status, ctype, zip) = raw(&app, "/api/reports/gtfs?region=puglia", Some(&coord)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&zip));
    assert_eq!(ctype, "application/zip");
    let files = unzip(&zip);
    let lines = check_feed(&files);

    // Round trip from the database: each line's trip has its stops and times, in order.
    #[derive(sqlx::FromRow)]
    struct LineStop {
        line_id: Uuid,
        stop_id: String,
        at: String,
    }
    let db_stops: Vec<LineStop> = sqlx::query_as(
        "select line_id, coalesce('mp-' || meeting_point_id, 'pl-' || place_id) as stop_id,
                to_char(stop_time, 'HH24:MI:SS') as at
         from work_line_stop order by line_id, seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut want: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for s in db_stops {
        want.entry(format!("line-{}", s.line_id))
            .or_default()
            .push((s.stop_id, s.at));
    }
    assert_eq!(lines, want);
    let calendar = table(&files, "calendar.txt");
    let torretta_line = uuid_of(
        &pool,
        "select line_id from work_line where name = 'Torretta - Fiore'",
    )
    .await;
    let cal = calendar
        .iter()
        .find(|c| c["service_id"] == format!("season-{torretta_line}"))
        .unwrap();
    assert_eq!(
        [
            &cal["monday"],
            &cal["tuesday"],
            &cal["wednesday"],
            &cal["thursday"],
            &cal["friday"],
            &cal["saturday"],
            &cal["sunday"]
        ],
        ["1", "0", "1", "0", "1", "0", "0"]
    );
    assert_eq!(
        (cal["start_date"].as_str(), cal["end_date"].as_str()),
        ("20260701", "20261220")
    );
    // The demo's meeting points are the on-demand pickups of its service area.
    let mps: i64 = sqlx::query_scalar("select count(*) from meeting_point")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        table(&files, "location_group_stops.txt").len(),
        usize::try_from(mps).unwrap()
    );
    let secrets = secrets(&pool).await;
    let everything: String = files.values().cloned().collect();
    assert_no_secrets(&everything, &secrets, "GTFS feed");
    assert!(
        everything.contains("Ingresso pista"),
        "the full feed names meeting points"
    );

    // The validator (GTFS-Flex rules included) finds no error; partridge reads back the same.
    if let Some(report) = validate(&zip, "2026-11-25") {
        assert_eq!(report["errors"], json!([]), "{:#}", report["errors"]);
        let read = &report["read"];
        let stops = table(&files, "stops.txt");
        assert_eq!(
            read["stops"].as_array().unwrap().len(),
            stops.len(),
            "{read}"
        );
        let mut want_st: Vec<Value> = Vec::new();
        for (trip, seq) in &lines {
            for (i, (stop, at)) in seq.iter().enumerate() {
                let secs: Vec<i64> = at.split(':').map(|x| x.parse().unwrap()).collect();
                let s = secs[0] * 3600 + secs[1] * 60 + secs[2];
                want_st.push(json!([trip, i + 1, stop, s, s]));
            }
        }
        want_st.sort_by_key(ToString::to_string);
        let mut got_st = read["stop_times"].as_array().unwrap().clone();
        got_st.sort_by_key(ToString::to_string);
        assert_eq!(got_st, want_st);
        assert_eq!(
            read["trips"].as_array().unwrap().len(),
            table(&files, "trips.txt").len()
        );
        for s in read["stops"].as_array().unwrap() {
            let id = s[0].as_str().unwrap();
            let row = stops.iter().find(|r| r["stop_id"] == id).unwrap();
            close(
                f(&s[2]),
                row["stop_lat"].parse().unwrap(),
                "stop_lat read back",
            );
        }
    }

    // The coarsened version: cell centres, no names of settlements, farms, meeting points.
    let (status, _, public) = raw(
        &app,
        "/api/reports/gtfs?region=puglia&coarsened=true",
        Some(&coord),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pfiles = unzip(&public);
    let plines = check_feed(&pfiles);
    assert_eq!(
        plines[&format!(
            "line-{}",
            uuid_of(
                &pool,
                "select line_id from work_line where name like 'Borgo%'"
            )
            .await
        )]
            .len(),
        2,
        "the two meeting points of Borgo Mezzanone are one cell: the stops merge"
    );
    let shuttle = &plines[&format!(
        "line-{}",
        uuid_of(
            &pool,
            "select line_id from work_line where name = 'Navetta del borgo'"
        )
        .await
    )];
    assert_eq!(shuttle.len(), 2, "a trip keeps two stops: {shuttle:?}");
    assert_eq!(shuttle[0].0, shuttle[1].0);
    assert_eq!(
        (shuttle[0].1.as_str(), shuttle[1].1.as_str()),
        ("17:00:00", "17:10:00")
    );
    let text: String = pfiles.values().cloned().collect();
    let names: Vec<String> = sqlx::query_scalar(
        "select name from place where kind in ('settlement', 'farm', 'packing_house')
         union all select name from meeting_point union all select landmark from meeting_point
         union all select name from work_line",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for n in &names {
        assert!(!text.contains(n.as_str()), "the public feed names {n:?}");
    }
    assert_no_secrets(&text, &secrets, "public GTFS feed");
    let offices: Vec<String> = sqlx::query_scalar(
        "select 'pl-' || place_id from place where kind not in ('settlement', 'farm', 'packing_house')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let exact: Vec<(f64, f64)> = sqlx::query_as(
        "select st_x(location::geometry), st_y(location::geometry) from meeting_point
         union all select st_x(location::geometry), st_y(location::geometry) from place
             where kind in ('settlement', 'farm', 'packing_house')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for s in table(&pfiles, "stops.txt") {
        if offices.contains(&s["stop_id"]) {
            continue;
        }
        assert!(s["stop_id"].starts_with("cell_"), "{s:?}");
        assert!(s["stop_desc"].is_empty());
        let (lon, lat): (f64, f64) = (
            s["stop_lon"].parse().unwrap(),
            s["stop_lat"].parse().unwrap(),
        );
        for v in [lon, lat] {
            let k = v / dispatch::reports::gtfs::GRID_DEG - 0.5;
            assert!((k - k.round()).abs() < 1e-6, "{v} is not a cell centre");
        }
        assert!(
            exact
                .iter()
                .all(|(x, y)| (x - lon).abs() > 1e-4 || (y - lat).abs() > 1e-4),
            "{s:?} is at a real place"
        );
    }
    if let Some(report) = validate(&public, "2026-11-25") {
        assert_eq!(report["errors"], json!([]), "{:#}", report["errors"]);
    }

    // Without a login: nothing until an admin publishes the coarsened feed, then only that.
    let (status, _, _) = raw(&app, "/api/reports/gtfs?region=puglia", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = raw(&app, "/open-data/puglia/gtfs.zip", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post(
            "/api/reports/gtfs/publication",
            &coord,
            &json!({ "public": true })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post(
            "/api/reports/gtfs/publication",
            &admin,
            &json!({ "public": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (status, _, open) = raw(&app, "/open-data/puglia/gtfs.zip", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(open, public, "the public feed is the coarsened one");
    let (status, _, _) = raw(&app, "/open-data/lombardia/gtfs.zip", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let driver = app.login("driver.marco").await;
    let (status, _, _) = raw(&app, "/api/reports/gtfs?region=puglia", Some(&driver)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let r = app
        .get("/api/reports/gtfs?region=puglia&coarsened=maybe", &coord)
        .await;
    assert_eq!(r.error_field(), "coarsened");
}

// ---------------------------------------------------------------------------------------------
// Oversight

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
#[allow(clippy::too_many_lines)]
async fn oversight_flags_fire_on_a_seeded_abusive_pattern(pool: PgPool) {
    let app = spawn_demo_at(pool.clone(), "2026-11-25T10:00:00Z").await;
    let admin = app.login("admin").await;
    let cw = app.login("cw.foggia").await;
    let coord = app.login("coord.foggia").await;
    let foggia = polo(&pool, "Polo Sociale Integrato Foggia").await;
    // A mediator of the Polo (no endpoint creates staff: SQL).
    let mediator: Uuid = sqlx::query_scalar(
        "insert into staff (username, display_name, role, region_code, polo_id, password_hash)
         values ('med.foggia', 'Mediatore', 'mediator', 'puglia', $1, 'x') returning staff_id",
    )
    .bind(foggia)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut regulars = vec![case_of(&pool, "Lamin").await];
    for n in ["Bakary", "Seydou", "Ousmane B."] {
        regulars.push(new_case(&app, &cw, n).await);
    }
    let others = [
        case_of(&pool, "Moussa").await,
        case_of(&pool, "Mamadou").await,
        case_of(&pool, "Emeka").await,
    ];
    let borgo = place(&pool, "Borgo Mezzanone - ex pista").await;
    let palmori = place(&pool, "Palmori").await;
    let farm_x = place(&pool, "Azienda agricola Russo (pomodoro)").await;
    let farm_y = place(&pool, "Azienda agricola Pirro (broccoli)").await;
    // The farm declared 4 workers (API).
    let r = app
        .post(
            "/api/reports/oversight/declarations",
            &admin,
            &json!({ "place_id": farm_x, "declared_workers": 4, "valid_from": "2026-11-01",
                     "valid_to": "2026-12-31", "source": "comunicazione UNILAV" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let days: Vec<NaiveDate> = (10..=16)
        .map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap())
        .collect();
    let mut runs = Vec::new();
    for d in &days {
        runs.push(run(&pool, *d, "FG-PSG-01", 30_000, false, None).await);
    }
    let work = |case, i: usize, to| Hist {
        run: Some(runs[i]),
        distance_m: 10_000,
        cost: 500,
        ..Hist::new(case, "work_shift", days[i], borgo, to)
    };
    // Day 0: the mediator books all seven, at 02:1x at night, to farm X; all ride.
    let mut bulk = Vec::new();
    for (n, c) in regulars.iter().chain(&others).enumerate() {
        let at: &'static str = [
            "2026-11-09T01:10:00Z",
            "2026-11-09T01:11:00Z",
            "2026-11-09T01:12:00Z",
            "2026-11-09T01:13:00Z",
            "2026-11-09T01:14:00Z",
            "2026-11-09T01:15:00Z",
            "2026-11-09T01:16:00Z",
        ][n];
        bulk.push(
            insert(
                &pool,
                &Hist {
                    booked_by: Some(mediator),
                    created_at: Some(at),
                    ..work(*c, 0, farm_x)
                },
            )
            .await,
        );
    }
    // Days 1-4: the four regulars ride to farm X only (five days each), nothing else.
    for i in 1..=4 {
        for c in &regulars {
            insert(&pool, &work(*c, i, farm_x)).await;
        }
    }
    // Days 5 and 6: the three others, booked from Palmori to farm Y, all miss the ride.
    for i in 5..=6 {
        for c in &others {
            insert(
                &pool,
                &Hist {
                    status: "no_show",
                    from: palmori,
                    cost: 0,
                    ..work(*c, i, farm_y)
                },
            )
            .await;
        }
    }
    let audits = app.count("case_access_audit").await;
    let period = "region=puglia&from=2026-11-01&to=2026-11-24";
    let r = app
        .get(&format!("/api/reports/oversight?{period}"), &coord)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let flags = r.body["flags"].as_array().unwrap().clone();
    let kinds: Vec<&str> = flags.iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "bulk_booking",
            "closed_group",
            "over_declared",
            "group_no_show",
            "odd_hours"
        ],
        "{flags:#?}"
    );
    let by_kind = |k: &str| flags.iter().find(|f| f["kind"] == k).unwrap().clone();
    let sorted = |v: &[Uuid]| {
        let mut v: Vec<String> = v.iter().map(ToString::to_string).collect();
        v.sort();
        json!(v)
    };
    let seven: Vec<Uuid> = regulars.iter().chain(&others).copied().collect();
    let bulk_flag = by_kind("bulk_booking");
    assert_eq!(bulk_flag["evidence"]["people"], 7);
    assert_eq!(bulk_flag["evidence"]["booker"], "med.foggia");
    assert_eq!(bulk_flag["evidence"]["booker_role"], "mediator");
    assert_eq!(bulk_flag["cases"], sorted(&seven));
    assert_eq!(bulk_flag["ride_requests"], sorted(&bulk));
    let group = by_kind("closed_group");
    assert_eq!(group["evidence"]["people"], 4);
    assert_eq!(group["evidence"]["min_days_each"], 5);
    assert_eq!(group["evidence"]["rides"], 20);
    assert_eq!(group["cases"], sorted(&regulars));
    let over = by_kind("over_declared");
    assert_eq!(
        over["evidence"]["days"],
        json!([{ "service_date": "2026-11-10", "riders": 7, "riders_from_this_polo": 7, "declared_workers": 4 }]),
        "only day 0 is above 1.5 × 4; the other days' 4 riders are within"
    );
    assert_eq!(over["cases"], json!([]));
    let no_show = by_kind("group_no_show");
    assert_eq!(
        no_show["evidence"]["days"],
        json!([{ "service_date": "2026-11-15", "booked_and_missed": 3 },
               { "service_date": "2026-11-16", "booked_and_missed": 3 }])
    );
    assert_eq!(no_show["cases"], sorted(&others));
    let odd = by_kind("odd_hours");
    assert_eq!(odd["evidence"]["bookings"], 7);
    assert_eq!(odd["evidence"]["booked_at_local"][0], "2026-11-09 02:10");
    let named: usize = flags
        .iter()
        .map(|f| f["cases"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        app.count("case_access_audit").await,
        audits + i64::try_from(named).unwrap(),
        "every case named in evidence is an audited read"
    );
    assert_no_secrets(
        &r.body.to_string(),
        &sqlx::query_scalar::<_, String>("select known_as from person")
            .fetch_all(&pool)
            .await
            .unwrap(),
        "oversight evidence names no one",
    );
    assert_eq!(
        app.count("oversight_flag").await,
        5,
        "what was flagged is recorded"
    );

    // A person looks at a flag: recorded, shown with the flag; the flag's first sighting stays.
    let key = bulk_flag["flag_key"].as_str().unwrap();
    let review = app
        .post(
            "/api/reports/oversight/reviews",
            &coord,
            &json!({ "flag_key": key, "outcome": "follow_up", "note": "colloquio con il mediatore" }),
        )
        .await;
    assert_eq!(review.status, StatusCode::CREATED, "{:?}", review.body);
    let again = app
        .get(&format!("/api/reports/oversight?{period}"), &coord)
        .await;
    let flag = again.body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flag_key"] == key)
        .unwrap()
        .clone();
    assert_eq!(flag["first_seen_at"], bulk_flag["first_seen_at"]);
    assert_eq!(flag["reviews"][0]["reviewed_by"], "coord.foggia");
    assert_eq!(flag["reviews"][0]["outcome"], "follow_up");
    let bad = app
        .post(
            "/api/reports/oversight/reviews",
            &coord,
            &json!({ "flag_key": key, "outcome": "sanction", "note": "x" }),
        )
        .await;
    assert_eq!(bad.error_field(), "outcome");
    let blank = app
        .post(
            "/api/reports/oversight/reviews",
            &coord,
            &json!({ "flag_key": key, "outcome": "no_concern", "note": " " }),
        )
        .await;
    assert_eq!(blank.error_field(), "note");

    // Only the Polo's coordinator sees its flags.
    let other = app.login("coord.sansevero").await;
    let theirs = app
        .get(&format!("/api/reports/oversight?{period}"), &other)
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body["flags"], json!([]));
    assert_eq!(
        app.post(
            "/api/reports/oversight/reviews",
            &other,
            &json!({ "flag_key": key, "outcome": "no_concern", "note": "non nostro" }),
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    for who in ["admin", "cw.foggia", "driver.marco"] {
        let t = app.login(who).await;
        assert_eq!(
            app.get(&format!("/api/reports/oversight?{period}"), &t)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let r = app
        .post(
            "/api/reports/oversight/declarations",
            &admin,
            &json!({ "place_id": borgo, "declared_workers": 4, "valid_from": "2026-11-01",
                     "valid_to": "2026-12-31", "source": "x" }),
        )
        .await;
    assert_eq!(
        r.error_field(),
        "place_id",
        "a settlement is not a workplace"
    );
    let r = app
        .post(
            "/api/reports/oversight/declarations",
            &admin,
            &json!({ "place_id": farm_x, "declared_workers": 0, "valid_from": "2026-11-01",
                     "valid_to": "2026-12-31", "source": "x" }),
        )
        .await;
    assert_eq!(r.error_field(), "declared_workers");
}

/// A normal day of the demo region through the API: bookings the evening before, an
/// appointment, the plan, drivers working their runs. No flag fires, and the day's service
/// figures agree with its rows.
#[sqlx::test(migrator = "dispatch::MIGRATOR")]
#[allow(clippy::too_many_lines)]
async fn oversight_stays_quiet_on_a_normal_demo_day(pool: PgPool) {
    assert!(
        dispatch::demo::seed_on(&pool, false, "2026-11-23".parse().unwrap())
            .await
            .unwrap()
    );
    let eve = spawn_at(&pool, "2026-11-23T17:00:00Z").await;
    let admin = eve.login("admin").await;
    let cw = eve.login("cw.foggia").await;
    let coord = eve.login("coord.foggia").await;
    let pista = uuid_of(
        &pool,
        "select meeting_point_id from meeting_point where name = 'Ingresso pista'",
    )
    .await;
    let palmori = uuid_of(
        &pool,
        "select meeting_point_id from meeting_point where name = 'Casolare rosso'",
    )
    .await;
    let farm = place(&pool, "Azienda agricola Russo (pomodoro)").await;
    let farm_b = place(&pool, "Azienda agricola Tricarico (asparagi)").await;
    let asl = place(&pool, "ASL Foggia - Poliambulatorio").await;
    let r = eve
        .post(
            "/api/reports/oversight/declarations",
            &coord,
            &json!({ "place_id": farm, "declared_workers": 12, "valid_from": "2026-11-01",
                     "valid_to": "2027-03-31", "source": "comunicazione UNILAV" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let cases: Vec<Uuid> = sqlx::query_scalar(
        "select c.case_id from care_case c join polo p using (polo_id)
         where p.name = 'Polo Sociale Integrato Foggia' order by c.opened_on",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (case, mp, to, t) in [
        (cases[0], pista, farm, "06:30"),
        (cases[1], pista, farm, "06:35"),
        (cases[2], palmori, farm_b, "06:45"),
    ] {
        let r = eve
            .post(
                "/api/ride-requests",
                &cw,
                &json!({ "case_id": case, "purpose": "work_shift", "service_date": "2026-11-24",
                         "pickup": { "meeting_point_id": mp }, "dropoff": { "place_id": to }, "earliest_pickup": t }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let appt = eve
        .post(
            "/api/appointments",
            &coord,
            &json!({ "case_id": cases[3], "place_id": asl, "starts_at": "2026-11-24T09:00:00Z",
                     "ends_at": "2026-11-24T10:00:00Z", "description": "visita medica",
                     "from": { "meeting_point_id": palmori } }),
        )
        .await;
    assert_eq!(appt.status, StatusCode::CREATED, "{:?}", appt.body);
    // The database stamps bookings with its own clock, which the tests cannot fix; pin them to
    // the evening of the injected clock so the test does not depend on the hour it runs at.
    sqlx::query("update ride_request set created_at = '2026-11-23T17:00:00Z'")
        .execute(&pool)
        .await
        .unwrap();
    let job = eve
        .post(
            "/api/plans",
            &coord,
            &json!({ "region_code": "puglia", "service_date": "2026-11-24", "time_limit_s": 2 }),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{:?}", job.body);
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
    drop(eve);

    // The day: every run gets a driver, who reports every stop in the evening.
    let day = spawn_at(&pool, "2026-11-24T06:00:00Z").await;
    let coord = day.login("coord.foggia").await;
    let runs = day
        .get("/api/runs?region=puglia&date=2026-11-24", &coord)
        .await
        .body;
    let drivers: Vec<(Uuid, String)> = sqlx::query_as(
        "select d.driver_id, s.username from driver d join staff s using (staff_id) order by s.username",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut by_run = Vec::new();
    for (i, run) in runs.as_array().unwrap().iter().enumerate() {
        let (driver_id, username) = &drivers[i % drivers.len()];
        let run_id = run["run_id"].as_str().unwrap().to_owned();
        let r = day
            .post(
                &format!("/api/runs/{run_id}/driver"),
                &coord,
                &json!({ "driver_id": driver_id }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        by_run.push((run_id, username.clone()));
    }
    assert!(!by_run.is_empty());
    drop(day);
    let evening = spawn_at(&pool, "2026-11-24T19:00:00Z").await;
    for (run_id, username) in &by_run {
        let token = evening.login(username).await;
        let manifest = evening
            .get(&format!("/driver/api/runs/{run_id}"), &token)
            .await;
        assert_eq!(manifest.status, StatusCode::OK, "{:?}", manifest.body);
        let mut events = Vec::new();
        for stop in manifest.body["stops"].as_array().unwrap() {
            let seq = stop["seq"].as_i64().unwrap();
            let t = stop["planned_arrival"].as_str().unwrap();
            let event = |kind: &str| json!({ "client_event_id": Uuid::new_v4(), "kind": kind, "stop_seq": seq, "occurred_at": t });
            events.push(event("arrived"));
            match stop["kind"].as_str().unwrap() {
                "pickup" => events.push(event("boarded")),
                "dropoff" => events.push(event("dropped_off")),
                _ => {}
            }
        }
        let r = evening
            .post_events(
                &format!("/driver/api/runs/{run_id}/events"),
                &token,
                &json!({ "events": events }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    let coord = evening.login("coord.foggia").await;
    let period = "region=puglia&from=2026-11-01&to=2026-11-24";
    let r = evening
        .get(&format!("/api/reports/oversight?{period}"), &coord)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["flags"], json!([]), "a normal day raises no flag");
    assert_eq!(evening.count("oversight_flag").await, 0);

    // The same day's service figures agree with its rows (five requests, all carried).
    let s = evening
        .get(&format!("/api/reports/service?{period}"), &coord)
        .await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    let rides: i64 = sqlx::query_scalar("select count(*) from ride where outcome = 'completed'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let cost: i64 = sqlx::query_scalar("select coalesce(sum(cost_cents), 0)::bigint from ride")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rides, 5, "three work rides, the appointment out and back");
    assert_eq!(s.body["requests"], 5);
    assert_eq!(s.body["served"], rides);
    assert_eq!(s.body["cost"]["total_cents"], cost);
    let (promised, on_time): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where x.picked_up_at between r.promised_pickup_at - interval '5 minutes'
                                                               and r.promised_pickup_at + interval '10 minutes')
         from ride x join ride_request r using (ride_request_id)
         where x.outcome = 'completed' and r.promised_pickup_at is not null and x.picked_up_at is not null",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(s.body["on_time_pickups"]["of"], promised);
    assert_eq!(s.body["on_time_pickups"]["count"], on_time);
    assert_eq!(
        s.body["by_category"],
        json!([{ "category": "work", "rides": 3 }, { "category": "health", "rides": 2 }]),
        "the return from the ASL counts as a health ride"
    );
    let _ = admin;
}
