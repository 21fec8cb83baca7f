//! The demo region: the province of Foggia, loaded by `dispatch seed-demo` and by `make run` on
//! an empty database. The data is `demo/foggia.json`; its coordinates are approximations and its
//! farms and people invented (the file says so). Dates are relative to the day of loading, so
//! the budgets and cases are current whenever the demo is loaded.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{create_staff, hash_password, NewStaff, Role};
use crate::budgets::{FundingKind, NewFundingSource};
use crate::cases::{ArrivalChannel, NewCase};
use crate::geo::LonLat;
use crate::places::{
    AreaKind, NewMeetingPoint, NewPlace, NewPolo, OpeningPeriod, PlaceKind, PoloKind,
};

/// The password of every demo login.
pub const DEMO_PASSWORD: &str = "passaggio-demo";

/// What to tell a person who just loaded the demo.
pub const LOGINS_HELP: &str =
    "Demo region loaded (province of Foggia). Logins, all with password 'passaggio-demo':
  admin            programme admin (Poli, places, fleet, funds; no case data)
  coord.foggia     coordinator, Polo Foggia        cw.foggia        case worker, Polo Foggia
  coord.sansevero  coordinator, spoke San Severo   cw.sansevero     case worker, San Severo
  cw.cerignola     case worker, spoke Cerignola    cw.mezzanone     case worker, Borgo Mezzanone
  driver.marco, driver.amadou, driver.giulia, driver.kofi   drivers (no case data)";

const DATA: &str = include_str!("../demo/foggia.json");

#[derive(Deserialize)]
struct Demo {
    region_code: String,
    poli: Vec<DemoPolo>,
    places: Vec<DemoPlace>,
    staff: Vec<DemoStaff>,
    vehicles: Vec<DemoVehicle>,
    drivers: Vec<DemoDriver>,
    people: Vec<DemoPerson>,
    transport_fund: DemoFund,
    service_areas: Vec<DemoArea>,
    lines: Vec<DemoLine>,
    employers: Vec<DemoEmployer>,
}

#[derive(Deserialize)]
struct DemoPolo {
    key: String,
    name: String,
    kind: PoloKind,
    hub: Option<String>,
    area: AreaKind,
    managing_org: String,
    location: [f64; 2],
    opening_hours: Vec<OpeningPeriod>,
}

#[derive(Deserialize)]
struct DemoPlace {
    kind: PlaceKind,
    name: String,
    informal: bool,
    address: Option<String>,
    location: [f64; 2],
    meeting_points: Vec<DemoMeetingPoint>,
}

#[derive(Deserialize)]
struct DemoMeetingPoint {
    name: String,
    landmark: String,
    location: [f64; 2],
}

#[derive(Deserialize)]
struct DemoStaff {
    username: String,
    display_name: String,
    role: Role,
    polo: Option<String>,
}

#[derive(Deserialize)]
struct DemoVehicle {
    label: String,
    seats: i16,
    wheelchair_places: i16,
    operator: String,
    depot_name: String,
    depot: [f64; 2],
    cost_per_km_cents: i32,
    cost_per_hour_cents: i32,
}

#[derive(Deserialize)]
struct DemoDriver {
    username: String,
    display_name: String,
    operator: String,
}

#[derive(Deserialize)]
struct DemoPerson {
    known_as: String,
    languages: Vec<String>,
    wheelchair: bool,
    reduced_mobility: bool,
    polo: String,
    case_worker: String,
    arrival_channel: ArrivalChannel,
    opened_days_ago: u64,
    budget_months: Option<u32>,
}

#[derive(Deserialize)]
struct DemoLine {
    name: String,
    vehicle: String,
    paid_by_employer: bool,
    operating_days: Vec<i16>,
    stops: Vec<DemoLineStop>,
    subscriber_staff: String,
}

#[derive(Deserialize)]
struct DemoLineStop {
    place: String,
    meeting_point: Option<String>,
    time: String,
}

#[derive(Deserialize)]
struct DemoArea {
    name: String,
    polo: Option<String>,
    polygon: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct DemoFund {
    name: String,
    cap_cents: i64,
    person_monthly_cap_cents: i64,
}

#[derive(Deserialize)]
struct DemoEmployer {
    name: String,
    employer_name: String,
    cap_cents: i64,
}

fn lonlat(p: [f64; 2]) -> LonLat {
    LonLat {
        lon: p[0],
        lat: p[1],
    }
}

/// Loads the demo region in one transaction. With `if_empty`, does nothing when any Polo exists.
/// Returns whether it loaded.
///
/// # Errors
/// When the data does not fit the schema (a bug in the data file) or the database fails.
pub async fn seed(pool: &PgPool, if_empty: bool) -> anyhow::Result<bool> {
    seed_on(pool, if_empty, crate::service_day::day_of(Utc::now())).await
}

/// [`seed`] as if `today` were the service day: case openings and the funds' periods are
/// placed around it (tests with a fixed clock seed with its day, so they never depend on the
/// calendar).
///
/// # Errors
/// As [`seed`].
pub async fn seed_on(pool: &PgPool, if_empty: bool, today: NaiveDate) -> anyhow::Result<bool> {
    let demo: Demo = serde_json::from_str(DATA).context("parsing demo/foggia.json")?;
    let mut tx = pool.begin().await?;
    // One loader at a time: a second concurrent `seed-demo` waits, then sees the data.
    sqlx::query("select pg_advisory_xact_lock(4242)")
        .execute(&mut *tx)
        .await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from polo")
        .fetch_one(&mut *tx)
        .await?;
    if if_empty && existing > 0 {
        return Ok(false);
    }
    let region = demo.region_code.clone();
    let mut poli: HashMap<String, Uuid> = HashMap::new();
    for p in demo.poli {
        let new = NewPolo {
            region_code: region.clone(),
            name: p.name,
            kind: p.kind,
            hub_polo_id: p.hub.map(|h| poli[&h]),
            area: p.area,
            managing_org: p.managing_org,
            location: lonlat(p.location),
            opening_hours: p.opening_hours,
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("demo polo: {e}"))?;
        let polo = crate::places::db::insert_polo(&mut tx, &new)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // The Polo's phone (printed on access cards; invented, like the rest) and its own
        // place, where people are taken for their meetings at the Polo.
        crate::places::db::set_polo_phone(&mut tx, polo.polo_id, Some(&demo_phone(poli.len())))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let seat = NewPlace {
            region_code: region.clone(),
            kind: PlaceKind::OtherOffice,
            name: format!("{} - sede", new.name),
            informal: false,
            address: None,
            location: new.location,
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("demo polo seat: {e}"))?;
        crate::places::db::insert_place(&mut tx, &seat)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        poli.insert(p.key, polo.polo_id);
    }
    for p in demo.places {
        let new = NewPlace {
            region_code: region.clone(),
            kind: p.kind,
            name: p.name,
            informal: p.informal,
            address: p.address,
            location: lonlat(p.location),
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("demo place: {e}"))?;
        let place = crate::places::db::insert_place(&mut tx, &new)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for m in p.meeting_points {
            let mp = NewMeetingPoint {
                name: m.name,
                landmark: m.landmark,
                location: lonlat(m.location),
            };
            crate::places::db::insert_meeting_point(&mut tx, place.place_id, &mp)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    for a in demo.service_areas {
        let ring: Vec<String> = a
            .polygon
            .iter()
            .map(|p| format!("{} {}", p[0], p[1]))
            .collect();
        crate::places::db::insert_service_area(
            &mut tx,
            &region,
            a.polo.map(|p| poli[&p]),
            &a.name,
            &format!("POLYGON(({}))", ring.join(", ")),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // One hash for every demo login: they share the demo password.
    let hash = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD)).await??;
    let mut staff: HashMap<String, Uuid> = HashMap::new();
    for s in demo.staff {
        let new = NewStaff {
            username: s.username.clone(),
            display_name: s.display_name,
            role: s.role,
            region_code: Some(region.clone()),
            polo_id: s.polo.map(|p| poli[&p]),
        };
        let id = create_staff(&mut tx, &new, &hash)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        staff.insert(s.username, id);
    }
    for v in demo.vehicles {
        let new = crate::fleet::NewVehicle {
            region_code: region.clone(),
            label: v.label.clone(),
            seats: v.seats,
            wheelchair_places: v.wheelchair_places,
            operator: v.operator.clone(),
            depot_name: v.depot_name.clone(),
            depot: crate::geo::LonLat {
                lon: v.depot[0],
                lat: v.depot[1],
            },
            cost_per_km_cents: v.cost_per_km_cents,
            cost_per_hour_cents: v.cost_per_hour_cents,
        };
        crate::fleet::db::insert_vehicle(&mut tx, &new)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for d in demo.drivers {
        let new = NewStaff {
            username: d.username,
            display_name: d.display_name.clone(),
            role: Role::Driver,
            region_code: Some(region.clone()),
            polo_id: None,
        };
        let id = create_staff(&mut tx, &new, &hash)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::fleet::db::insert_driver(&mut tx, &region, id, &d.display_name, &d.operator)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let rules = crate::budgets::db::programme_rules(&mut tx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).context("year start")?;
    let year_end = year_start + Months::new(12) - Days::new(1);
    let fund = NewFundingSource {
        region_code: region.clone(),
        kind: FundingKind::TransportFund,
        name: demo.transport_fund.name,
        person_id: None,
        employer_name: None,
        cap_cents: Some(demo.transport_fund.cap_cents),
        person_monthly_cap_cents: Some(demo.transport_fund.person_monthly_cap_cents),
        period_start: year_start,
        period_end: year_end,
        area_caps: None,
    };
    insert_source(&mut tx, fund, &rules).await?;
    for e in demo.employers {
        let src = NewFundingSource {
            region_code: region.clone(),
            kind: FundingKind::EmployerContribution,
            name: e.name,
            person_id: None,
            employer_name: Some(e.employer_name),
            cap_cents: Some(e.cap_cents),
            person_monthly_cap_cents: None,
            period_start: year_start,
            period_end: year_end,
            area_caps: None,
        };
        insert_source(&mut tx, src, &rules).await?;
    }
    for p in demo.people {
        let case = NewCase {
            known_as: p.known_as.clone(),
            languages: p.languages,
            wheelchair: p.wheelchair,
            reduced_mobility: p.reduced_mobility,
            arrival_channel: p.arrival_channel,
            opened_on: today - Days::new(p.opened_days_ago),
            case_worker_id: Some(staff[&p.case_worker]),
            pai_reference: Some(format!(
                "PAI-{}-{}",
                p.polo.to_uppercase(),
                p.opened_days_ago
            )),
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("demo person: {e}"))?;
        let case_id =
            crate::cases::db::insert_case(&mut tx, poli[&p.polo], staff[&p.case_worker], &case)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(months) = p.budget_months {
            let person_id: Uuid =
                sqlx::query_scalar("select person_id from care_case where case_id = $1")
                    .bind(case_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let start = case.opened_on;
            let budget = NewFundingSource {
                region_code: region.clone(),
                kind: FundingKind::IntegrationBudget,
                name: format!("Budget di Integrazione - {}", p.known_as),
                person_id: Some(person_id),
                employer_name: None,
                cap_cents: None,
                person_monthly_cap_cents: None,
                period_start: start,
                period_end: start + Months::new(months) - Days::new(1),
                area_caps: None,
            };
            insert_source(&mut tx, budget, &rules).await?;
        }
    }
    demo_card(&mut tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// An invented phone number of the `n`-th demo Polo.
fn demo_phone(n: usize) -> String {
    format!("+39 0881 000 {:03}", 100 + n)
}

/// The demo access card's code: fixed so that `make run` can print it. Only the demo has a
/// fixed code; real cards are random ([`crate::workers::new_code`]).
pub const DEMO_CARD_CODE: &str = "DEM2CARDXFGGPASS9W";

/// The person the demo card is issued for, and its language.
pub const DEMO_CARD_PERSON: (&str, &str) = ("Moussa", "fr");

/// Issues the demo card (through `workers`, as the person's case worker would).
async fn demo_card(conn: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    let (case_id, polo_id, staff_id): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "select c.case_id, c.polo_id, c.case_worker_id from care_case c
         join person p using (region_code, person_id) where p.known_as = $1
         order by c.opened_on limit 1",
    )
    .bind(DEMO_CARD_PERSON.0)
    .fetch_one(&mut *conn)
    .await
    .context("the demo card's person")?;
    let staff: crate::auth::Staff = sqlx::query_as(
        "select staff_id, username, display_name, role, region_code, polo_id from staff where staff_id = $1",
    )
    .bind(staff_id)
    .fetch_one(&mut *conn)
    .await?;
    let case = crate::workers::db::open_case_of_polo(conn, polo_id, case_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::workers::db::issue_card(
        conn,
        &staff,
        &crate::workers::db::NewCard {
            case_id,
            case: &case,
            polo_id,
            code_sha256: &crate::workers::code_digest(DEMO_CARD_CODE),
            pin_hash: None,
            language: DEMO_CARD_PERSON.1,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Makes sure the demo card exists (a database loaded before access cards existed gets it
/// now); false when there is no demo person to issue it for. A card revoked since is left
/// revoked, and the demo code then signs nobody in.
///
/// # Errors
/// Database errors.
pub async fn ensure_card(pool: &PgPool) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let issued: bool =
        sqlx::query_scalar("select exists (select 1 from access_card where code_sha256 = $1)")
            .bind(crate::workers::code_digest(DEMO_CARD_CODE))
            .fetch_one(&mut *tx)
            .await?;
    if issued {
        return Ok(true);
    }
    let person: bool = sqlx::query_scalar(
        "select exists (select 1 from person p join care_case c using (region_code, person_id)
         where p.known_as = $1 and c.status = 'open')",
    )
    .bind(DEMO_CARD_PERSON.0)
    .fetch_one(&mut *tx)
    .await?;
    if !person {
        return Ok(false);
    }
    demo_card(&mut tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// What `make run` prints about the demo card: how a worker signs in.
#[must_use]
pub fn card_help(base: &str) -> String {
    format!(
        "Workers' pages: {base}/w/  Demo access card of {} (case of the Foggia Polo): code {}\n  one-tap sign-in link (the card's QR code): {base}/w/c/{}",
        DEMO_CARD_PERSON.0,
        crate::workers::grouped(DEMO_CARD_CODE),
        DEMO_CARD_CODE
    )
}

/// The running season on top of the demo region: its work lines, from 30 days ago to 150 days
/// ahead, with the open cases of a Polo subscribed from today. Loaded by `dispatch seed-demo`
/// (and so by `make run`), not by the tests' `seed`, whose days are fixed.
///
/// # Errors
/// When the demo region is not loaded or the data does not fit.
pub async fn seed_season(pool: &PgPool) -> anyhow::Result<()> {
    seed_season_on(pool, crate::service_day::day_of(Utc::now())).await
}

/// [`seed_season`] around the service day `today`.
///
/// # Errors
/// As [`seed_season`].
pub async fn seed_season_on(pool: &PgPool, today: NaiveDate) -> anyhow::Result<()> {
    let demo: Demo = serde_json::from_str(DATA).context("parsing demo/foggia.json")?;
    let mut tx = pool.begin().await?;
    for l in &demo.lines {
        let polo: Uuid = sqlx::query_scalar("select s.polo_id from staff s where s.username = $1")
            .bind(&l.subscriber_staff)
            .fetch_one(&mut *tx)
            .await
            .context("the demo region must be loaded first")?;
        let staff: Uuid = sqlx::query_scalar("select staff_id from staff where username = $1")
            .bind(&l.subscriber_staff)
            .fetch_one(&mut *tx)
            .await?;
        seed_line(&mut tx, &demo.region_code, today, l, polo, staff).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A work line running this season, paid by the employer, with the Polo's open cases
/// subscribed from today.
async fn seed_line(
    conn: &mut sqlx::PgConnection,
    region: &str,
    today: NaiveDate,
    l: &DemoLine,
    polo: Uuid,
    created_by: Uuid,
) -> anyhow::Result<()> {
    let mut stops = Vec::new();
    for s in &l.stops {
        let (place_id, meeting_point_id): (Uuid, Option<Uuid>) = sqlx::query_as(
            "select p.place_id, m.meeting_point_id from place p
             left join meeting_point m on m.place_id = p.place_id and m.name = $2
             where p.region_code = $3 and p.name = $1",
        )
        .bind(&s.place)
        .bind(&s.meeting_point)
        .bind(region)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("demo line stop {}", s.place))?;
        stops.push(crate::lines::NewStop {
            place_id,
            meeting_point_id,
            stop_time: s.time.clone(),
        });
    }
    let vehicle_id: Uuid = sqlx::query_scalar("select vehicle_id from vehicle where label = $1")
        .bind(&l.vehicle)
        .fetch_one(&mut *conn)
        .await?;
    let funding_source_id: Option<Uuid> = if l.paid_by_employer {
        sqlx::query_scalar("select funding_source_id from funding_source where kind = 'employer_contribution' and region_code = $1 limit 1")
            .bind(region)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        None
    };
    let line = crate::lines::NewLine {
        name: l.name.clone(),
        region_code: region.to_owned(),
        season_start: today - Days::new(30),
        season_end: today + Days::new(150),
        operating_days: l.operating_days.clone(),
        capacity: None,
        wheelchair_places: None,
        vehicle_id: Some(vehicle_id),
        funding_source_id,
        stops,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("demo line: {e}"))?;
    let line_id = crate::lines::db::insert_line(conn, &line)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let last = i16::try_from(l.stops.len()).unwrap_or(1) - 1;
    crate::lines::db::subscribe_open_cases_of_polo(
        conn,
        line_id,
        (0, last),
        (today, today + Days::new(150)),
        polo,
        created_by,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

async fn insert_source(
    conn: &mut sqlx::PgConnection,
    src: NewFundingSource,
    rules: &crate::budgets::ProgrammeRules,
) -> anyhow::Result<()> {
    let valid = src
        .validate(rules)
        .map_err(|e| anyhow::anyhow!("demo funding source: {e}"))?;
    crate::budgets::db::insert_source(conn, &valid)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
