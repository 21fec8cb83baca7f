//! SQL for planning: what to plan, and writing runs and stops back.

use chrono::{DateTime, NaiveDate, Utc};
use routing::matrix::Location;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{PlanRequest, PlanVehicle, RunStatus, StopKind, StopStatus};
use crate::error::AppResult;
use crate::ids::{RideRequestId, RunId};

/// A request row as the planners read it (times in seconds from local midnight).
#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    ride_request_id: Uuid,
    p_lon: f64,
    p_lat: f64,
    d_lon: f64,
    d_lat: f64,
    earliest_s: Option<f64>,
    latest_s: Option<f64>,
    promised_s: Option<f64>,
    passengers: i16,
    wheelchair: bool,
    vehicle_id: Option<Uuid>,
}

/// Requests of a region's day that the optimiser may (re)place: those not yet in a run that
/// started, not on a work line, not final. With `keep_confirmed`, confirmed riders keep their
/// promised pickup time (and their vehicle, via `pinned`).
///
/// # Errors
/// Database errors.
pub async fn plannable_requests(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
    keep_confirmed: bool,
    vehicles: &[PlanVehicle],
) -> AppResult<Vec<PlanRequest>> {
    let zero = crate::service_day::midnight(day);
    let rows: Vec<RequestRow> = sqlx::query_as(
        "select r.ride_request_id,
                st_x(r.pickup_location::geometry) as p_lon, st_y(r.pickup_location::geometry) as p_lat,
                st_x(r.dropoff_location::geometry) as d_lon, st_y(r.dropoff_location::geometry) as d_lat,
                extract(epoch from r.earliest_pickup - $3)::float8 as earliest_s,
                extract(epoch from r.latest_arrival - $3)::float8 as latest_s,
                case when $4 and r.status = 'confirmed' then extract(epoch from r.promised_pickup_at - $3)::float8 end as promised_s,
                r.passengers, r.wheelchair,
                case when $4 and r.status = 'confirmed' then run.vehicle_id end as vehicle_id
         from ride_request r
         left join run on run.run_id = r.run_id
         where r.region_code = $1 and r.service_date = $2
           and r.status in ('requested', 'planned', 'confirmed')
           and r.line_subscription_id is null
           and coalesce(run.status, 'planned') = 'planned'
           and run.line_id is null
         order by coalesce(r.earliest_pickup, r.latest_arrival), r.ride_request_id",
    )
    .bind(region)
    .bind(day)
    .bind(zero)
    .bind(keep_confirmed)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.into_plan(vehicles)).collect())
}

impl RequestRow {
    /// The planner's view; `vehicle_id` pins the request to that vehicle of `vehicles`.
    pub(crate) fn into_plan(self, vehicles: &[PlanVehicle]) -> PlanRequest {
        PlanRequest {
            id: self.ride_request_id,
            pickup: Location {
                lon: self.p_lon,
                lat: self.p_lat,
            },
            dropoff: Location {
                lon: self.d_lon,
                lat: self.d_lat,
            },
            earliest_s: self.earliest_s,
            latest_s: self.latest_s,
            promised_s: self.promised_s,
            // A wheelchair user takes a wheelchair place, companions take seats.
            seats: u32::try_from(self.passengers)
                .unwrap_or(1)
                .saturating_sub(u32::from(self.wheelchair)),
            wheelchair: u32::from(self.wheelchair),
            pinned: self
                .vehicle_id
                .and_then(|v| vehicles.iter().position(|x| x.id == v)),
            not_before_s: None,
            relaxed: false,
        }
    }
}

#[derive(sqlx::FromRow)]
struct VehicleRow {
    vehicle_id: Uuid,
    lon: f64,
    lat: f64,
    seats: i16,
    wheelchair_places: i16,
    cost_per_km_cents: i32,
    cost_per_hour_cents: i32,
    busy_until: Option<DateTime<Utc>>,
    start_lon: Option<f64>,
    start_lat: Option<f64>,
}

/// Active vehicles of the region for demand-responsive work that day. Vehicles work whole
/// shifts: one whose work-line run, or a run already completed, takes part of the day is free
/// after the last such run ends, from where it ends. A run in progress makes the vehicle busy
/// until it ends, unless `with_started` (live changes plan vehicles already driving their run
/// from what the driver reported; the day's planning does not move them).
///
/// # Errors
/// Database errors.
pub async fn free_vehicles(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
    with_started: bool,
) -> AppResult<Vec<PlanVehicle>> {
    let rows: Vec<VehicleRow> = sqlx::query_as(
        "select v.vehicle_id, st_x(v.depot::geometry) as lon, st_y(v.depot::geometry) as lat, v.seats,
                v.wheelchair_places, v.cost_per_km_cents, v.cost_per_hour_cents,
                b.busy_until, st_x(b.location::geometry) as start_lon, st_y(b.location::geometry) as start_lat
         from vehicle v
         left join lateral (
             select greatest(e.planned_arrival, coalesce(e.actual_arrival, e.planned_arrival)) as busy_until,
                    e.location
             from run r join run_stop e on e.region_code = r.region_code and e.run_id = r.run_id and e.kind = 'end'
             where r.region_code = v.region_code and r.vehicle_id = v.vehicle_id and r.service_date = $2
               and r.status <> 'cancelled'
               and (r.line_id is not null or r.status = 'completed' or (r.status = 'in_progress' and not $3))
             order by 1 desc limit 1) b on true
         where v.region_code = $1 and v.active
         order by v.label",
    )
    .bind(region)
    .bind(day)
    .bind(with_started)
    .fetch_all(&mut *conn)
    .await?;
    let zero = crate::service_day::midnight(day);
    Ok(rows
        .into_iter()
        .map(|v| {
            let depot = Location {
                lon: v.lon,
                lat: v.lat,
            };
            let start = match (v.start_lon, v.start_lat) {
                (Some(lon), Some(lat)) => Location { lon, lat },
                _ => depot,
            };
            let available_from_s = v.busy_until.map(|t| crate::service_day::seconds(zero, t));
            PlanVehicle {
                id: v.vehicle_id,
                depot,
                start,
                available_from_s,
                seats: u32::try_from(v.seats).unwrap_or(0),
                wheelchair_places: u32::try_from(v.wheelchair_places).unwrap_or(0),
                cost_per_km_cents: f64::from(v.cost_per_km_cents),
                cost_per_hour_cents: f64::from(v.cost_per_hour_cents),
            }
        })
        .collect())
}

/// Takes a request out of its run: its pending stops go, the request is unassigned (by
/// bookings), the run is re-timed by the caller. Returns the run it was in.
///
/// # Errors
/// Database errors.
pub async fn remove_request(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
) -> AppResult<Option<RunId>> {
    let run = crate::bookings::db::unassign(&mut *conn, ride_request_id).await?;
    sqlx::query("delete from run_stop where ride_request_id = $1 and status = 'pending'")
        .bind(ride_request_id)
        .execute(&mut *conn)
        .await?;
    Ok(run)
}

/// A stop to write.
#[derive(Debug, Clone)]
pub struct NewStop {
    /// Kind.
    pub kind: StopKind,
    /// The request served, for pickups and drop-offs.
    pub ride_request_id: Option<Uuid>,
    /// Where.
    pub location: Location,
    /// Planned arrival.
    pub arrival: DateTime<Utc>,
    /// Planned departure.
    pub departure: DateTime<Utc>,
    /// The place and meeting point, when not those of the request's pickup or drop-off (a
    /// line run's start and end).
    pub place: Option<(Uuid, Option<Uuid>)>,
}

/// Writes stops of a run from sequence number `first_seq` on; places and meeting points are
/// the stop's own, or else taken from the request's pickup or drop-off.
///
/// # Errors
/// Database errors.
pub async fn insert_stops(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    first_seq: i32,
    stops: &[NewStop],
) -> AppResult<()> {
    // One statement for the whole run: a live insertion rewrites a route while riders wait.
    let n = i32::try_from(stops.len()).unwrap_or(i32::MAX);
    let seqs: Vec<i32> = (first_seq..first_seq + n).collect();
    let kinds: Vec<StopKind> = stops.iter().map(|s| s.kind).collect();
    let places: Vec<Option<Uuid>> = stops.iter().map(|s| s.place.map(|p| p.0)).collect();
    let points: Vec<Option<Uuid>> = stops.iter().map(|s| s.place.and_then(|p| p.1)).collect();
    let requests: Vec<Option<Uuid>> = stops.iter().map(|s| s.ride_request_id).collect();
    let lons: Vec<f64> = stops.iter().map(|s| s.location.lon).collect();
    let lats: Vec<f64> = stops.iter().map(|s| s.location.lat).collect();
    let arrivals: Vec<DateTime<Utc>> = stops.iter().map(|s| s.arrival).collect();
    let departures: Vec<DateTime<Utc>> = stops.iter().map(|s| s.departure).collect();
    sqlx::query(
        "insert into run_stop (region_code, run_id, seq, kind, ride_request_id, place_id, meeting_point_id,
                               location, planned_arrival, planned_departure)
         select $1, $2, t.seq, t.kind, t.req,
                case when t.place is not null then t.place
                     when t.kind = 'pickup' then r.pickup_place_id when t.kind = 'dropoff' then r.dropoff_place_id end,
                case when t.place is not null then t.point
                     when t.kind = 'pickup' then r.pickup_meeting_point_id when t.kind = 'dropoff' then r.dropoff_meeting_point_id end,
                st_setsrid(st_makepoint(t.lon, t.lat), 4326)::geography, t.arr, t.dep
         from unnest($3::int[], $4::stop_kind[], $5::uuid[], $6::float8[], $7::float8[], $8::timestamptz[], $9::timestamptz[],
                     $10::uuid[], $11::uuid[])
              as t(seq, kind, req, lon, lat, arr, dep, place, point)
         left join ride_request r on r.ride_request_id = t.req",
    )
    .bind(region)
    .bind(run_id)
    .bind(&seqs)
    .bind(&kinds)
    .bind(&requests)
    .bind(&lons)
    .bind(&lats)
    .bind(&arrivals)
    .bind(&departures)
    .bind(&places)
    .bind(&points)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A run as the coordinators see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RunView {
    /// Id.
    pub run_id: Uuid,
    /// Day.
    pub service_date: NaiveDate,
    /// Vehicle.
    pub vehicle_id: Uuid,
    /// Vehicle label.
    pub vehicle_label: String,
    /// Driver.
    pub driver_id: Option<Uuid>,
    /// Work line.
    pub line_id: Option<Uuid>,
    /// Status.
    pub status: RunStatus,
    /// Planned on estimated travel times.
    pub estimated_times: bool,
    /// Planned distance, metres.
    pub planned_distance_m: i32,
    /// The run's last stop is now planned after its driver's shift ends (a late van re-timed
    /// past it): the coordinator finds another driver or asks this one.
    pub past_driver_shift: bool,
    /// Stops in order.
    #[sqlx(skip)]
    pub stops: Vec<StopView>,
    /// The driver's breaks, in order.
    #[sqlx(skip)]
    pub breaks: Vec<BreakView>,
}

/// A driver's break on a run: taken where the vehicle is after stop `after_seq`, with nobody
/// on board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BreakView {
    /// The stop after which it is taken.
    pub after_seq: i32,
    /// Planned start.
    pub planned_start: DateTime<Utc>,
    /// Planned end.
    pub planned_end: DateTime<Utc>,
    /// When the driver reported starting it (event `break_started`); then the planned times
    /// follow what was reported.
    pub started_at: Option<DateTime<Utc>>,
    /// When the driver reported its end (event `break_ended`).
    pub ended_at: Option<DateTime<Utc>>,
}

/// Writes breaks of a run.
///
/// # Errors
/// Database errors.
pub async fn insert_breaks(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    breaks: &[BreakView],
) -> AppResult<()> {
    if breaks.is_empty() {
        return Ok(());
    }
    let after: Vec<i32> = breaks.iter().map(|b| b.after_seq).collect();
    let start: Vec<DateTime<Utc>> = breaks.iter().map(|b| b.planned_start).collect();
    let end: Vec<DateTime<Utc>> = breaks.iter().map(|b| b.planned_end).collect();
    sqlx::query(
        "insert into run_break (region_code, run_id, after_seq, planned_start, planned_end)
         select $1, $2, t.a, t.s, t.e from unnest($3::int[], $4::timestamptz[], $5::timestamptz[]) as t(a, s, e)",
    )
    .bind(region)
    .bind(run_id)
    .bind(&after)
    .bind(&start)
    .bind(&end)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the breaks of a run by `breaks`, unless its driver has reported one (the run is
/// under way: they stay as they are). Returns how many breaks the run has.
///
/// # Errors
/// Database errors.
pub async fn replace_planned_breaks(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    breaks: &[BreakView],
) -> AppResult<usize> {
    let (reported, count): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where started_at is not null), count(*) from run_break
         where run_id = $1",
    )
    .bind(run_id)
    .fetch_one(&mut *conn)
    .await?;
    if reported > 0 {
        return Ok(usize::try_from(count).unwrap_or(0));
    }
    sqlx::query("delete from run_break where run_id = $1")
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    insert_breaks(conn, region, run_id, breaks).await?;
    Ok(breaks.len())
}

/// The driver starts a break at `at`, where the van is after stop `seq`: the break planned
/// there, or else the next one not taken yet (taken early or late), moves to that stop and
/// those times; with none left, an extra break is recorded. Returns `false` when a break of
/// the run is on already (nothing changes).
///
/// # Errors
/// Database errors.
pub async fn start_break(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    seq: i32,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let on: bool = sqlx::query_scalar(
        "select exists (select 1 from run_break where region_code = $1 and run_id = $2
                        and started_at is not null and ended_at is null)",
    )
    .bind(region)
    .bind(run_id)
    .fetch_one(&mut *conn)
    .await?;
    if on {
        return Ok(false);
    }
    sqlx::query(
        "with target as (
             select planned_start from run_break where region_code = $1 and run_id = $2
               and started_at is null order by after_seq <> $3, planned_start limit 1),
         moved as (
             update run_break b set after_seq = $3, planned_start = $4,
                    planned_end = $4 + make_interval(secs => $5), started_at = $4
             from target where b.region_code = $1 and b.run_id = $2
               and b.planned_start = target.planned_start
             returning 1)
         insert into run_break (region_code, run_id, after_seq, planned_start, planned_end, started_at)
         select $1, $2, $3, $4, $4 + make_interval(secs => $5), $4
         where not exists (select 1 from moved)
         on conflict do nothing",
    )
    .bind(region)
    .bind(run_id)
    .bind(seq)
    .bind(at)
    .bind(super::BREAK_S)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The driver's break that is on ends at `at` (no earlier than it started). Returns `false`
/// when none is on.
///
/// # Errors
/// Database errors.
pub async fn end_break(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let ended = sqlx::query(
        "update run_break set ended_at = greatest($3, started_at), planned_end = greatest($3, started_at)
         where region_code = $1 and run_id = $2 and started_at is not null and ended_at is null",
    )
    .bind(region)
    .bind(run_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(ended.rows_affected() > 0)
}

/// Breaks of a run in order.
///
/// # Errors
/// Database errors.
pub async fn breaks_of(conn: &mut PgConnection, run_id: Uuid) -> AppResult<Vec<BreakView>> {
    Ok(sqlx::query_as(
        "select after_seq, planned_start, planned_end, started_at, ended_at from run_break
         where run_id = $1 order by planned_start",
    )
    .bind(run_id)
    .fetch_all(conn)
    .await?)
}

/// A stop as the coordinators see it: no names of riders (those are in the Polo's views).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StopView {
    /// Order.
    pub seq: i32,
    /// Kind.
    pub kind: StopKind,
    /// Request served.
    pub ride_request_id: Option<Uuid>,
    /// Place name, when known.
    pub place_name: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Planned arrival.
    pub planned_arrival: DateTime<Utc>,
    /// Planned departure.
    pub planned_departure: DateTime<Utc>,
    /// Actual arrival.
    pub actual_arrival: Option<DateTime<Utc>>,
    /// Status.
    pub status: StopStatus,
    /// A promise the plan can no longer keep: the pickup is planned later than the promised
    /// time allows (10 minutes), or the drop-off after the rider's latest arrival.
    pub promise_at_risk: bool,
}

/// Runs of a region's day with their stops.
///
/// # Errors
/// Database errors.
pub async fn runs_of_day(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
) -> AppResult<Vec<RunView>> {
    let mut runs: Vec<RunView> = sqlx::query_as(
        &format!(
            "select r.run_id, r.service_date, r.vehicle_id, v.label as vehicle_label, r.driver_id, r.line_id,
                r.status, r.estimated_times, r.planned_distance_m,
                coalesce((select max(s.planned_departure) from run_stop s
                           where s.region_code = r.region_code and s.run_id = r.run_id)
                         > ((r.service_date + d.shift_end) at time zone '{tz}'), false) as past_driver_shift
             from run r join vehicle v using (vehicle_id)
             left join driver d on d.region_code = r.region_code and d.driver_id = r.driver_id
             where r.region_code = $1 and r.service_date = $2 and r.status <> 'cancelled'
             order by v.label, r.run_id",
            tz = crate::service_day::SQL_TZ
        ),
    )
    .bind(region)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?;
    // the day's breaks in one read
    let ids: Vec<Uuid> = runs.iter().map(|r| r.run_id).collect();
    #[derive(sqlx::FromRow)]
    struct RunBreak {
        run_id: Uuid,
        #[sqlx(flatten)]
        view: BreakView,
    }
    let breaks: Vec<RunBreak> = sqlx::query_as(
        "select run_id, after_seq, planned_start, planned_end, started_at, ended_at from run_break
         where region_code = $1 and run_id = any($2) order by planned_start",
    )
    .bind(region)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for run in &mut runs {
        run.stops = stops_of(conn, run.run_id).await?;
        run.breaks = breaks
            .iter()
            .filter(|b| b.run_id == run.run_id)
            .map(|b| b.view.clone())
            .collect();
    }
    Ok(runs)
}

/// Stops of a run in order.
///
/// # Errors
/// Database errors.
pub async fn stops_of(conn: &mut PgConnection, run_id: Uuid) -> AppResult<Vec<StopView>> {
    Ok(sqlx::query_as(
        "select s.seq, s.kind, s.ride_request_id,
                coalesce(p.name || coalesce(' - ' || m.name, ''), null) as place_name,
                st_x(s.location::geometry) as lon, st_y(s.location::geometry) as lat,
                s.planned_arrival, s.planned_departure, s.actual_arrival, s.status,
                coalesce(s.status = 'pending' and (
                    (s.kind = 'pickup' and s.planned_arrival > r.promised_pickup_at + make_interval(secs => $2))
                    or (s.kind = 'dropoff' and s.planned_arrival > r.latest_arrival)), false) as promise_at_risk
         from run_stop s
         left join place p on p.place_id = s.place_id
         left join meeting_point m on m.meeting_point_id = s.meeting_point_id
         left join ride_request r on r.ride_request_id = s.ride_request_id
         where s.run_id = $1 order by s.seq",
    )
    .bind(run_id)
    .bind(super::PROMISE_LATE_S)
    .fetch_all(conn)
    .await?)
}

/// A vehicle's latest reported position on a day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LatestPosition {
    /// Run it was driving.
    pub run_id: Uuid,
    /// Vehicle label.
    pub vehicle_label: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// When the phone recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// The latest position of each vehicle of a region's day (from its drivers' phones).
///
/// # Errors
/// Database errors.
pub async fn latest_positions(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
) -> AppResult<Vec<LatestPosition>> {
    Ok(sqlx::query_as(
        "select distinct on (r.vehicle_id) p.run_id, v.label as vehicle_label,
                st_x(p.location::geometry) as lon, st_y(p.location::geometry) as lat, p.recorded_at
         from vehicle_position p
         join run r on r.region_code = p.region_code and r.run_id = p.run_id
         join vehicle v on v.vehicle_id = r.vehicle_id
         where r.region_code = $1 and r.service_date = $2
         order by r.vehicle_id, p.recorded_at desc",
    )
    .bind(region)
    .bind(day)
    .fetch_all(conn)
    .await?)
}

/// Why each request of a region's day was left unserved by the day's latest finished plan.
///
/// # Errors
/// Database errors.
pub async fn unserved_of_day(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
) -> AppResult<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "select u.ride_request_id, u.reason from plan_unserved u
         where u.region_code = $1 and u.plan_job_id = (
             select j.plan_job_id from plan_job j
             where j.region_code = $1 and j.service_date = $2 and j.status = 'done'
             order by j.finished_at desc limit 1)",
    )
    .bind(region)
    .bind(day)
    .fetch_all(conn)
    .await?)
}

/// A planning job in a list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobLine {
    /// Id.
    pub plan_job_id: Uuid,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    /// Progress text.
    pub progress: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The planning jobs of a region's day, newest first.
///
/// # Errors
/// Database errors.
pub async fn jobs_of_day(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
) -> AppResult<Vec<JobLine>> {
    Ok(sqlx::query_as(
        "select plan_job_id, status::text as status, progress, created_at from plan_job
         where region_code = $1 and service_date = $2 order by created_at desc limit 10",
    )
    .bind(region)
    .bind(day)
    .fetch_all(conn)
    .await?)
}
