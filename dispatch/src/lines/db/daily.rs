//! What lines become each operating day: one run per line with the subscribers' confirmed ride
//! requests and stops, and lines passing near an on-demand trip. Local stop times become
//! instants in SQL with `(date + time) at time zone 'Europe/Rome'`, which follows the Italian
//! DST rules.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{spans, stop_count, LINE_COLUMNS, OPERATES_ON_2, STOP_LOCATION};
use crate::error::AppResult;
use crate::geo::LonLat;
use crate::lines::{load_on, plan_run_stops, Line};

/// A run made from a line for one day.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialisedRun {
    /// The run.
    pub run_id: Uuid,
    /// The line.
    pub line_id: Uuid,
    /// Its name.
    pub line_name: String,
    /// The line's vehicle.
    pub vehicle_id: Uuid,
    /// Ride requests made (one per subscriber travelling that day).
    pub ride_requests: usize,
    /// Stops of the run.
    pub stops: usize,
}

/// A line running that day for which no run was made, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedLine {
    /// The line.
    pub line_id: Uuid,
    /// Its name.
    pub line_name: String,
    /// `no_vehicle` (a run needs one), `vehicle_inactive` or `already_materialised`.
    pub reason: &'static str,
}

/// What [`materialise`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Materialised {
    /// Runs created now.
    pub runs: Vec<MaterialisedRun>,
    /// Lines running that day that got no new run.
    pub skipped: Vec<SkippedLine>,
}

/// Runs the lines of `region_code` operating on `date` (run ids of the runs created now); see
/// [`materialise`]. `created_by` is who asked, recorded in the requests' history; none for a
/// scheduled job.
///
/// # Errors
/// Database errors.
pub async fn materialise_day(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let done = materialise(conn, region_code, date, created_by).await?;
    Ok(done.runs.into_iter().map(|r| r.run_id).collect())
}

/// Makes one run for each line of `region_code` operating on `date`, with a confirmed ride
/// request (and its `confirmed` history row) per subscriber travelling that day and the run's
/// stops: `start` at the first stop, at each stop the drop-offs then the pickups, `end` at the
/// last stop, all at the stop's local time. Idempotent: a line that already has a run that day
/// (not cancelled) is skipped, as is a line without an active vehicle; after a cancelled run, the riders'
/// open requests move to the new run instead of being made again. Subscribers whose case is
/// closed get no request. Call it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn materialise(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<Materialised> {
    // Lock the lines in one order so concurrent calls for the same day make each run once.
    let sql = format!(
        "select {LINE_COLUMNS} from work_line l left join vehicle v on v.vehicle_id = l.vehicle_id
         where l.region_code = $1 and {OPERATES_ON_2}
         order by l.line_id for update of l"
    );
    let lines: Vec<Line> = sqlx::query_as(&sql)
        .bind(region_code)
        .bind(date)
        .fetch_all(&mut *conn)
        .await?;
    let mut done = Materialised {
        runs: Vec::new(),
        skipped: Vec::new(),
    };
    for line in lines {
        let skip = |reason| SkippedLine {
            line_id: line.line_id,
            line_name: line.name.clone(),
            reason,
        };
        let existing: Option<Uuid> = sqlx::query_scalar(
            "select run_id from run where line_id = $1 and service_date = $2 and status <> 'cancelled' limit 1",
        )
        .bind(line.line_id)
        .bind(date)
        .fetch_optional(&mut *conn)
        .await?;
        if existing.is_some() {
            done.skipped.push(skip("already_materialised"));
            continue;
        }
        let Some(vehicle_id) = line.vehicle_id else {
            done.skipped.push(skip("no_vehicle"));
            continue;
        };
        if line.vehicle_active != Some(true) {
            done.skipped.push(skip("vehicle_inactive"));
            continue;
        }
        let run = materialise_line(conn, &line, vehicle_id, date, created_by).await?;
        done.runs.push(run);
    }
    Ok(done)
}

async fn materialise_line(
    conn: &mut PgConnection,
    line: &Line,
    vehicle_id: Uuid,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<MaterialisedRun> {
    let run_id: Uuid = sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id, line_id) values ($1, $2, $3, $4)
         returning run_id",
    )
    .bind(&line.region_code)
    .bind(date)
    .bind(vehicle_id)
    .bind(line.line_id)
    .fetch_one(&mut *conn)
    .await?;
    let local = |alias: &str| format!("($2::date + {alias}.stop_time) at time zone 'Europe/Rome'");
    // Requests of this line's riders left on a cancelled run that day (or on none) move to the
    // new run, so re-making a cancelled day neither loses nor doubles a rider.
    sqlx::query(
        "update ride_request r set run_id = $3
         from line_subscription s
         where s.subscription_id = r.line_subscription_id and s.line_id = $1
            and r.service_date = $2::date
            and r.status not in ('cancelled', 'refused', 'completed', 'no_show')
            and (r.run_id is null
                or r.run_id in (select run_id from run where status = 'cancelled'))",
    )
    .bind(line.line_id)
    .bind(date)
    .bind(run_id)
    .execute(&mut *conn)
    .await?;
    let sql = format!(
        "with made as (
         insert into ride_request (region_code, case_id, person_id, purpose, service_date,
            pickup_place_id, pickup_meeting_point_id, pickup_location,
            dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
            earliest_pickup, latest_arrival, wheelchair, status, booked_by, booked_channel,
            line_subscription_id, run_id, promised_pickup_at)
         select s.region_code, s.case_id, s.person_id, 'work_shift', $2::date,
            b.place_id, b.meeting_point_id, coalesce(bm.location, bp.location),
            a.place_id, a.meeting_point_id, coalesce(am.location, ap.location),
            {board}, {alight}, pe.wheelchair, 'confirmed', s.created_by,
            (case st.role when 'case_worker' then 'case_worker' when 'mediator' then 'mediator'
                else 'coordinator' end)::booking_channel,
            s.subscription_id, $3, {board}
         from line_subscription s
         join care_case c on c.case_id = s.case_id and c.status <> 'closed'
         join person pe on pe.person_id = s.person_id
         join staff st on st.staff_id = s.created_by
         join work_line_stop b on b.line_id = s.line_id and b.seq = s.board_seq
         join place bp on bp.place_id = b.place_id
         left join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
         join work_line_stop a on a.line_id = s.line_id and a.seq = s.alight_seq
         join place ap on ap.place_id = a.place_id
         left join meeting_point am on am.meeting_point_id = a.meeting_point_id
         where s.line_id = $1 and s.status = 'active' and $2::date between s.valid_from and s.valid_to
            and not exists (select 1 from ride_request r
                where r.line_subscription_id = s.subscription_id and r.service_date = $2::date
                    and r.status not in ('cancelled', 'refused'))
         order by s.board_seq, s.created_at
         returning region_code, ride_request_id)
         insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         select region_code, ride_request_id, 'confirmed', 'seat on a work line run', $4 from made",
        board = local("b"),
        alight = local("a"),
    );
    sqlx::query(&sql)
        .bind(line.line_id)
        .bind(date)
        .bind(run_id)
        .bind(created_by)
        .execute(&mut *conn)
        .await?;
    let riders: Vec<(Uuid, i16, i16)> = sqlx::query_as(
        "select r.ride_request_id, s.board_seq, s.alight_seq from ride_request r
         join line_subscription s on s.subscription_id = r.line_subscription_id
         where r.run_id = $1 order by s.created_at, r.ride_request_id",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    let stop_count = i16::try_from(stop_count(conn, line.line_id).await?).unwrap_or(i16::MAX);
    let plan = plan_run_stops(stop_count, &riders);
    let kinds: Vec<&str> = plan.iter().map(|p| p.kind.as_str()).collect();
    let requests: Vec<Option<Uuid>> = plan.iter().map(|p| p.ride_request_id).collect();
    let seqs: Vec<i16> = plan.iter().map(|p| p.line_seq).collect();
    sqlx::query(&format!(
        "insert into run_stop (region_code, run_id, seq, kind, ride_request_id, place_id,
            meeting_point_id, location, planned_arrival, planned_departure)
         select $4, $3, (t.ord - 1)::int, t.kind::stop_kind, t.rr, s.place_id, s.meeting_point_id,
            {STOP_LOCATION}, {at}, {at}
         from unnest($5::text[], $6::uuid[], $7::smallint[]) with ordinality as t(kind, rr, line_seq, ord)
         join work_line_stop s on s.line_id = $1 and s.seq = t.line_seq
         join place p on p.place_id = s.place_id
         left join meeting_point m on m.meeting_point_id = s.meeting_point_id",
        at = local("s"),
    ))
    .bind(line.line_id)
    .bind(date)
    .bind(run_id)
    .bind(&line.region_code)
    .bind(&kinds)
    .bind(&requests)
    .bind(&seqs)
    .execute(&mut *conn)
    .await?;
    Ok(MaterialisedRun {
        run_id,
        line_id: line.line_id,
        line_name: line.name.clone(),
        vehicle_id,
        ride_requests: riders.len(),
        stops: plan.len(),
    })
}

/// A line passing near a pickup and, later, near a drop-off, with a free seat that day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PassingLine {
    /// Line.
    pub line_id: Uuid,
    /// Name.
    pub name: String,
    /// Stop near the pickup.
    pub board_seq: i16,
    /// Later stop near the drop-off.
    pub alight_seq: i16,
    /// Local time at the boarding stop.
    pub board_time: String,
    /// Local time at the alighting stop.
    pub alight_time: String,
    /// Metres from the pickup to the boarding stop.
    pub board_distance_m: f64,
    /// Metres from the alighting stop to the drop-off.
    pub alight_distance_m: f64,
    /// Seats free on that segment that day.
    #[sqlx(skip)]
    pub free_seats: i64,
    #[serde(skip)]
    capacity: i16,
}

/// Lines of `region_code` running on `date` with a stop within `radius_m` metres of `pickup` and
/// a later stop within `radius_m` of `dropoff` and a free seat between them, nearest first (for
/// each line, the pair of stops nearest to the two points).
///
/// # Errors
/// Database errors.
pub async fn lines_passing(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    pickup: LonLat,
    dropoff: LonLat,
    radius_m: f64,
) -> AppResult<Vec<PassingLine>> {
    let from = crate::sql_point!("$3", "$4");
    let to = crate::sql_point!("$5", "$6");
    let sql = format!(
        "select * from (
            select distinct on (l.line_id) l.line_id, l.name, l.capacity,
                b.seq as board_seq, a.seq as alight_seq,
                to_char(b.stop_time, 'HH24:MI') as board_time,
                to_char(a.stop_time, 'HH24:MI') as alight_time,
                st_distance(coalesce(bm.location, bp.location), {from}) as board_distance_m,
                st_distance(coalesce(am.location, ap.location), {to}) as alight_distance_m
            from work_line l
            join work_line_stop b on b.line_id = l.line_id
            join place bp on bp.place_id = b.place_id
            left join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
            join work_line_stop a on a.line_id = l.line_id and a.seq > b.seq
            join place ap on ap.place_id = a.place_id
            left join meeting_point am on am.meeting_point_id = a.meeting_point_id
            where l.region_code = $1 and {OPERATES_ON_2}
                and st_dwithin(coalesce(bm.location, bp.location), {from}, $7)
                and st_dwithin(coalesce(am.location, ap.location), {to}, $7)
            order by l.line_id,
                st_distance(coalesce(bm.location, bp.location), {from})
                    + st_distance(coalesce(am.location, ap.location), {to}),
                b.seq desc, a.seq) x
         order by board_distance_m + alight_distance_m, name"
    );
    let found: Vec<PassingLine> = sqlx::query_as(&sql)
        .bind(region_code)
        .bind(date)
        .bind(pickup.lon)
        .bind(pickup.lat)
        .bind(dropoff.lon)
        .bind(dropoff.lat)
        .bind(radius_m)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for mut p in found {
        let existing = spans(conn, p.line_id, date, date).await?;
        let taken = load_on(&existing, date, p.board_seq, p.alight_seq);
        let free = usize::try_from(p.capacity)
            .unwrap_or(0)
            .saturating_sub(taken);
        if free > 0 {
            p.free_seats = i64::try_from(free).unwrap_or(i64::MAX);
            out.push(p);
        }
    }
    Ok(out)
}
