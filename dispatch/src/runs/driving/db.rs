//! SQL of the runs' driving side: a driver's runs, the manifest, storing stop events and
//! positions once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{NewEvent, NewPosition, RunStatus, StopKind, StopRef, StopStatus};
use crate::error::{AppError, AppResult};
use crate::fleet::db::DriverRef;

/// SQL for a stop's stable key (alias `s` for `run_stop`): a hash of the run, the request and
/// the kind, so it survives the renumbering of a live re-plan and tells nothing about the rider.
const STOP_KEY: &str = "md5(s.run_id::text || ':' || coalesce(s.ride_request_id::text, '') || ':' || s.kind::text)::uuid";

/// A run in a driver's list of the day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RunHeader {
    /// Run.
    pub run_id: Uuid,
    /// Day.
    pub service_date: NaiveDate,
    /// Status.
    pub status: RunStatus,
    /// Vehicle plate/label.
    pub vehicle_label: String,
    /// Seats.
    pub seats: i16,
    /// Wheelchair places.
    pub wheelchair_places: i16,
    /// Number of stops (the manifest lists them as `stops`).
    pub stop_count: i64,
    /// Planned arrival at the first stop.
    pub first_stop_at: Option<DateTime<Utc>>,
    /// Planned departure from the last stop.
    pub last_stop_at: Option<DateTime<Utc>>,
    /// Whether the times are straight-line estimates rather than road times.
    pub estimated_times: bool,
}

/// A driver's runs of a day (not cancelled), earliest first.
///
/// # Errors
/// Database errors.
pub async fn runs_of_driver(
    conn: &mut PgConnection,
    driver_id: Uuid,
    day: NaiveDate,
) -> AppResult<Vec<RunHeader>> {
    Ok(sqlx::query_as(
        "select r.run_id, r.service_date, r.status, v.label as vehicle_label, v.seats,
                v.wheelchair_places, count(s.seq) as stop_count, min(s.planned_arrival) as first_stop_at,
                max(s.planned_departure) as last_stop_at, r.estimated_times
         from run r
         join vehicle v on v.vehicle_id = r.vehicle_id
         left join run_stop s on s.region_code = r.region_code and s.run_id = r.run_id
         where r.driver_id = $1 and r.service_date = $2 and r.status <> 'cancelled'
         group by r.region_code, r.run_id, v.region_code, v.vehicle_id
         order by first_stop_at nulls last, r.run_id",
    )
    .bind(driver_id)
    .bind(day)
    .fetch_all(conn)
    .await?)
}

/// A run of `driver_id`, if it is theirs.
///
/// # Errors
/// Database errors.
pub async fn run_of_driver(
    conn: &mut PgConnection,
    driver_id: Uuid,
    run_id: Uuid,
) -> AppResult<Option<RunHeader>> {
    let runs: Option<RunHeader> = sqlx::query_as(
        "select r.run_id, r.service_date, r.status, v.label as vehicle_label, v.seats,
                v.wheelchair_places, count(s.seq) as stop_count, min(s.planned_arrival) as first_stop_at,
                max(s.planned_departure) as last_stop_at, r.estimated_times
         from run r
         join vehicle v on v.vehicle_id = r.vehicle_id
         left join run_stop s on s.region_code = r.region_code and s.run_id = r.run_id
         where r.driver_id = $1 and r.run_id = $2
         group by r.region_code, r.run_id, v.region_code, v.vehicle_id",
    )
    .bind(driver_id)
    .bind(run_id)
    .fetch_optional(conn)
    .await?;
    Ok(runs)
}

/// A stop of a manifest: where, when, and per rider only what the run needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ManifestRow {
    /// Sequence.
    pub seq: i32,
    /// Stable key (see [`super::StopRef::stop_key`]).
    pub stop_key: Uuid,
    /// Kind.
    pub kind: StopKind,
    /// Status.
    pub status: StopStatus,
    /// Planned arrival.
    pub planned_arrival: DateTime<Utc>,
    /// Planned departure.
    pub planned_departure: DateTime<Utc>,
    /// Actual arrival.
    pub actual_arrival: Option<DateTime<Utc>>,
    /// Place (or depot) name.
    pub place_name: Option<String>,
    /// Meeting point name.
    pub meeting_point_name: Option<String>,
    /// Meeting point landmark.
    pub landmark: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// The rider's name to greet them by.
    pub known_as: Option<String>,
    /// Passengers of the request.
    pub passengers: Option<i16>,
    /// Wheelchair needed.
    pub wheelchair: Option<bool>,
    /// Languages the rider speaks.
    pub languages: Option<Vec<String>>,
    /// `expected`, `on_board`, `dropped_off`, `no_show` or `cancelled`.
    pub rider_status: Option<String>,
    /// Pairs a rider's pickup and drop-off on this run (a hash of run and request: it names
    /// nobody and means nothing on another run).
    pub ride_key: Option<Uuid>,
}

/// The stops of a run with what the driver needs, in order.
///
/// # Errors
/// Database errors.
pub async fn manifest(conn: &mut PgConnection, run_id: Uuid) -> AppResult<Vec<ManifestRow>> {
    let sql = format!(
        "select s.seq, {STOP_KEY} as stop_key, s.kind, s.status, s.planned_arrival, s.planned_departure, s.actual_arrival,
                coalesce(pl.name, case when s.kind in ('start', 'end') then v.depot_name end) as place_name,
                mp.name as meeting_point_name, mp.landmark,
                st_x(s.location::geometry) as lon, st_y(s.location::geometry) as lat,
                p.known_as, rr.passengers, rr.wheelchair, p.languages,
                md5(s.run_id::text || ':' || s.ride_request_id::text)::uuid as ride_key,
                case when rr.ride_request_id is null then null
                     when rr.status = 'completed' then 'dropped_off'
                     when rr.status = 'no_show' then 'no_show'
                     when rr.status in ('cancelled', 'refused') then 'cancelled'
                     when exists (select 1 from driver_event e where e.run_id = s.run_id
                                  and e.ride_request_id = rr.ride_request_id and e.kind = 'boarded'
                                  and not exists (select 1 from driver_event u where u.run_id = e.run_id
                                                  and u.undoes = e.client_event_id))
                          then 'on_board'
                     else 'expected' end as rider_status
         from run_stop s
         join run r on r.region_code = s.region_code and r.run_id = s.run_id
         join vehicle v on v.vehicle_id = r.vehicle_id
         left join place pl on pl.place_id = s.place_id
         left join meeting_point mp on mp.meeting_point_id = s.meeting_point_id
         left join ride_request rr on rr.ride_request_id = s.ride_request_id
         left join person p on p.region_code = rr.region_code and p.person_id = rr.person_id
         where s.run_id = $1
         order by s.seq"
    );
    Ok(sqlx::query_as(&sql).bind(run_id).fetch_all(conn).await?)
}

/// Locks a run of `driver_id` for an upload; its status and day, or none when it is not theirs.
///
/// # Errors
/// Database errors.
pub async fn lock_run(
    conn: &mut PgConnection,
    driver_id: Uuid,
    run_id: Uuid,
) -> AppResult<Option<(RunStatus, NaiveDate)>> {
    Ok(sqlx::query_as(
        "select status, service_date from run where run_id = $1 and driver_id = $2 for update",
    )
    .bind(run_id)
    .bind(driver_id)
    .fetch_optional(conn)
    .await?)
}

/// The stops of a run, for validation.
///
/// # Errors
/// Database errors.
pub async fn stop_refs(conn: &mut PgConnection, run_id: Uuid) -> AppResult<Vec<StopRef>> {
    let sql = format!(
        "select s.seq, s.kind, s.ride_request_id, {STOP_KEY} as stop_key
         from run_stop s where s.run_id = $1 order by s.seq"
    );
    Ok(sqlx::query_as(&sql).bind(run_id).fetch_all(conn).await?)
}

/// Stores an event unless its `client_event_id` is known; returns whether it is new.
///
/// # Errors
/// Database errors.
pub async fn insert_event(
    conn: &mut PgConnection,
    driver: &DriverRef,
    run_id: Uuid,
    e: &NewEvent,
    stop: Option<&StopRef>,
) -> AppResult<bool> {
    let stored: Option<Uuid> = sqlx::query_scalar(&format!(
        "insert into driver_event (region_code, client_event_id, run_id, driver_id, kind, stop_seq,
                ride_request_id, occurred_at, note, undoes, location)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                     case when $11::float8 is null then null else {} end)
             on conflict (region_code, client_event_id) do nothing
             returning client_event_id",
        crate::sql_point!("$11", "$12")
    ))
    .bind(&driver.region_code)
    .bind(e.client_event_id)
    .bind(run_id)
    .bind(driver.driver_id)
    .bind(e.kind)
    .bind(stop.map(|s| s.seq))
    .bind(stop.and_then(|s| s.ride_request_id))
    .bind(e.occurred_at)
    .bind(&e.note)
    .bind(e.undoes)
    .bind(e.position().map(|p| p.lon))
    .bind(e.position().map(|p| p.lat))
    .fetch_optional(conn)
    .await?;
    Ok(stored.is_some())
}

/// Stores a position unless its `client_event_id` is known; returns whether it is new.
///
/// # Errors
/// Database errors.
pub async fn insert_position(
    conn: &mut PgConnection,
    driver: &DriverRef,
    run_id: Uuid,
    p: &NewPosition,
) -> AppResult<bool> {
    let sql = format!(
        "insert into vehicle_position (region_code, client_event_id, run_id, driver_id, location, recorded_at)
         values ($1, $2, $3, $4, {}, $7)
         on conflict (region_code, client_event_id) do nothing
         returning client_event_id",
        crate::sql_point!("$5", "$6")
    );
    let stored: Option<Uuid> = sqlx::query_scalar(&sql)
        .bind(&driver.region_code)
        .bind(p.client_event_id)
        .bind(run_id)
        .bind(driver.driver_id)
        .bind(p.lon)
        .bind(p.lat)
        .bind(p.recorded_at)
        .fetch_optional(conn)
        .await?;
    Ok(stored.is_some())
}

/// The latest reported position of a run, for the coordinators of its region.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LatestPosition {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// By the phone's clock.
    pub recorded_at: DateTime<Utc>,
    /// When the service got it.
    pub received_at: DateTime<Utc>,
}

/// The run's region and status, the vehicle's label, and the latest position if any;
/// none when the run is not in `region_code`.
///
/// # Errors
/// Database errors.
pub async fn latest_position(
    conn: &mut PgConnection,
    region_code: &str,
    run_id: Uuid,
) -> AppResult<Option<(RunStatus, String, Option<LatestPosition>)>> {
    let run: Option<(RunStatus, String)> = sqlx::query_as(
        "select r.status, v.label from run r join vehicle v on v.vehicle_id = r.vehicle_id
         where r.run_id = $1 and r.region_code = $2",
    )
    .bind(run_id)
    .bind(region_code)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, label)) = run else {
        return Ok(None);
    };
    let pos: Option<LatestPosition> = sqlx::query_as(
        "select st_x(location::geometry) as lon, st_y(location::geometry) as lat, recorded_at, received_at
         from vehicle_position where run_id = $1
         order by recorded_at desc, received_at desc limit 1",
    )
    .bind(run_id)
    .fetch_optional(conn)
    .await?;
    Ok(Some((status, label, pos)))
}

/// Refuses an upload to a cancelled run.
///
/// # Errors
/// A conflict `run_cancelled`.
pub fn require_not_cancelled(status: RunStatus) -> AppResult<()> {
    if status == RunStatus::Cancelled {
        return Err(AppError::conflict(
            "run_cancelled",
            "this run was cancelled; call the coordinator",
        ));
    }
    Ok(())
}

/// Refuses reports for a run of a later day (Europe/Rome).
///
/// # Errors
/// A conflict `run_not_started`.
pub fn require_started(service_date: NaiveDate, now: DateTime<Utc>) -> AppResult<()> {
    if service_date > crate::service_day::day_of(now) {
        return Err(AppError::conflict(
            "run_not_started",
            format!("this run is for {service_date}: report on the day"),
        ));
    }
    Ok(())
}

/// The cases of the riders of a run (region and case), for auditing a manifest read.
///
/// # Errors
/// Database errors.
pub async fn manifest_cases(
    conn: &mut PgConnection,
    run_id: Uuid,
) -> AppResult<Vec<(String, Uuid)>> {
    Ok(sqlx::query_as(
        "select distinct r.region_code, r.case_id from run_stop s
         join ride_request r on r.region_code = s.region_code and r.ride_request_id = s.ride_request_id
         where s.run_id = $1 order by 2",
    )
    .bind(run_id)
    .fetch_all(conn)
    .await?)
}

/// A short fingerprint of everything a driver's manifest shows (the run's status, its stops,
/// their times and states, the riders' statuses), without reading any name: the phone polls it
/// every few seconds and fetches the manifest only when it changed. `None` for a run that is
/// not the driver's.
///
/// # Errors
/// Database errors.
pub async fn manifest_version(
    conn: &mut PgConnection,
    driver_id: Uuid,
    run_id: Uuid,
) -> AppResult<Option<String>> {
    let sql = format!(
        "select md5(r.status::text || r.service_date::text || coalesce(r.vehicle_id::text, '') || ':' ||
                    coalesce((select string_agg(concat_ws(',', s.seq, {STOP_KEY}, s.status, s.planned_arrival,
                                                          s.planned_departure, s.actual_arrival, rr.status,
                                                          rr.passengers, rr.wheelchair, s.meeting_point_id,
                                                          (select count(*) from driver_event e
                                                           where e.run_id = s.run_id
                                                             and e.ride_request_id = s.ride_request_id)),
                                              ';' order by s.seq)
                              from run_stop s
                              left join ride_request rr on rr.ride_request_id = s.ride_request_id
                              where s.run_id = r.run_id), '') || ':' ||
                    coalesce((select string_agg(concat_ws(',', b.after_seq, b.planned_start, b.started_at, b.ended_at), ';' order by b.planned_start)
                              from run_break b where b.run_id = r.run_id), ''))
         from run r where r.run_id = $1 and r.driver_id = $2"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(run_id)
        .bind(driver_id)
        .fetch_optional(conn)
        .await?)
}

/// How long a driver waits at a pickup after arriving before a no-show (programme
/// configuration), seconds.
///
/// # Errors
/// Database errors.
pub async fn no_show_wait_seconds(conn: &mut PgConnection) -> AppResult<i32> {
    Ok(
        sqlx::query_scalar("select no_show_wait_seconds from programme_config")
            .fetch_one(conn)
            .await?,
    )
}

/// What is on board of a run at `at`, by its events (boarded by then and not taken back, not
/// dropped off yet: the events of one upload are stored first, then applied in time order),
/// leaving out `except_request`; and what the vehicle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Load {
    /// Seats of the vehicle.
    pub seats: i16,
    /// Wheelchair places of the vehicle.
    pub wheelchair_places: i16,
    /// Riders and their companions on board, outside wheelchair places.
    pub seated: i64,
    /// Wheelchair users on board.
    pub wheelchairs: i64,
}

/// The vehicle's load on `run_id` at `at` (see [`Load`]).
///
/// # Errors
/// Database errors.
pub async fn load_on_board(
    conn: &mut PgConnection,
    run_id: Uuid,
    except_request: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Load> {
    Ok(sqlx::query_as(
        "select v.seats, v.wheelchair_places,
                coalesce(sum(rr.passengers - case when rr.wheelchair then 1 else 0 end), 0)::int8 as seated,
                count(*) filter (where rr.wheelchair) as wheelchairs
         from run r
         join vehicle v on v.vehicle_id = r.vehicle_id
         left join ride_request rr on rr.run_id = r.run_id
              and rr.ride_request_id <> $2
              and rr.status not in ('completed', 'no_show', 'cancelled', 'refused')
              and exists (select 1 from driver_event e where e.run_id = r.run_id
                          and e.ride_request_id = rr.ride_request_id and e.kind = 'boarded'
                          and e.occurred_at <= $3
                          and not exists (select 1 from driver_event u where u.run_id = e.run_id
                                          and u.undoes = e.client_event_id))
         where r.run_id = $1
         group by v.vehicle_id, v.seats, v.wheelchair_places",
    )
    .bind(run_id)
    .bind(except_request)
    .bind(at)
    .fetch_one(conn)
    .await?)
}

/// The event an undo (`undo_id`, stored already) takes back: its kind, time and stop, unless
/// it is unknown on this run or already taken back by another undo.
///
/// # Errors
/// Database errors.
pub async fn undoable(
    conn: &mut PgConnection,
    run_id: Uuid,
    client_event_id: Uuid,
    undo_id: Uuid,
) -> AppResult<Option<(super::EventKind, DateTime<Utc>, Option<i32>)>> {
    Ok(sqlx::query_as(
        "select e.kind, e.occurred_at, e.stop_seq from driver_event e
         where e.run_id = $1 and e.client_event_id = $2
           and not exists (select 1 from driver_event u where u.run_id = e.run_id
                           and u.undoes = e.client_event_id and u.client_event_id <> $3)",
    )
    .bind(run_id)
    .bind(client_event_id)
    .bind(undo_id)
    .fetch_optional(conn)
    .await?)
}

/// Puts a stop back to `to` (an undo: the only way a stop moves back).
///
/// # Errors
/// Database errors.
pub async fn put_stop_back(
    conn: &mut PgConnection,
    run_id: Uuid,
    seq: i32,
    to: StopStatus,
) -> AppResult<()> {
    sqlx::query(
        "update run_stop set status = $3,
                actual_arrival = case when $3 = 'pending'::stop_status then null else actual_arrival end
         where run_id = $1 and seq = $2",
    )
    .bind(run_id)
    .bind(seq)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets an event stored by this upload that was then refused (see
/// [`super::upload::Effect::Refused`]).
///
/// # Errors
/// Database errors.
pub async fn forget_event(
    conn: &mut PgConnection,
    region_code: &str,
    client_event_id: Uuid,
) -> AppResult<()> {
    sqlx::query("delete from driver_event where region_code = $1 and client_event_id = $2")
        .bind(region_code)
        .bind(client_event_id)
        .execute(conn)
        .await?;
    Ok(())
}
