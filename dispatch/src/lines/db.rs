//! SQL for work lines, their subscriptions, and the runs they become each operating day.
//!
//! Seat checks run under a lock on the `work_line` row (`select ... for update`), so two
//! coordinators booking the last seat are serialised: one gets it, the other a `line_full`
//! conflict naming an alternative. Local stop times become instants in SQL with
//! `(date + time) at time zone 'Europe/Rome'`, which follows the Italian DST rules.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    first_day_with_seat, load_on, peak_load, plan_run_stops, Line, LineStop, NewSubscription, Span,
    Subscription, ValidLine,
};
use crate::auth::Staff;
use crate::error::{on_constraint, AppError, AppResult};
use crate::geo::LonLat;

const LINE_COLUMNS: &str = "l.region_code, l.line_id, l.name, l.season_start, l.season_end,
    l.operating_days, l.capacity, l.vehicle_id, v.label as vehicle_label, l.funding_source_id";

/// SQL condition: line `l` runs on the date bound as `$2`.
const OPERATES_ON_2: &str = "$2::date between l.season_start and l.season_end
    and extract(isodow from $2::date)::smallint = any(l.operating_days)";

/// Where a stop is: its meeting point, or else its place (`s`, `p`, `m` aliases).
const STOP_LOCATION: &str = "coalesce(m.location, p.location)";

/// Inserts a line and its stops; checks the vehicle (capacity defaults to its seats and may not
/// exceed them), the funding source and that each meeting point belongs to its stop's place.
///
/// # Errors
/// Validation errors naming the field (`vehicle_id`, `capacity`, `stops.<i>.place_id`...).
pub async fn insert_line(conn: &mut PgConnection, l: &ValidLine) -> AppResult<Uuid> {
    let capacity = match l.vehicle_id {
        Some(v) => {
            let seats: i16 = sqlx::query_scalar(
                "select seats from vehicle where region_code = $1 and vehicle_id = $2",
            )
            .bind(&l.region_code)
            .bind(v)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                AppError::invalid("vehicle_id", "no vehicle with this id in the region")
            })?;
            match l.capacity {
                Some(c) if c > seats => {
                    return Err(AppError::invalid(
                        "capacity",
                        format!("the vehicle has {seats} seats"),
                    ))
                }
                Some(c) => c,
                None => seats,
            }
        }
        None => l.capacity.unwrap_or_default(),
    };
    if let Some(f) = l.funding_source_id {
        let kind: Option<String> = sqlx::query_scalar(
            "select kind::text from funding_source where region_code = $1 and funding_source_id = $2",
        )
        .bind(&l.region_code)
        .bind(f)
        .fetch_optional(&mut *conn)
        .await?;
        match kind.as_deref() {
            None => {
                return Err(AppError::invalid(
                    "funding_source_id",
                    "no funding source with this id in the region",
                ))
            }
            Some("integration_budget") => {
                return Err(AppError::invalid(
                    "funding_source_id",
                    "a person's Budget di Integrazione cannot pay for a line; use an employer contribution",
                ))
            }
            Some(_) => {}
        }
    }
    for (i, s) in l.stops.iter().enumerate() {
        check_stop_place(conn, &l.region_code, i, s.place_id, s.meeting_point_id).await?;
    }
    let line_id: Uuid = sqlx::query_scalar(
        "insert into work_line (region_code, name, season_start, season_end, operating_days,
            capacity, vehicle_id, funding_source_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning line_id",
    )
    .bind(&l.region_code)
    .bind(&l.name)
    .bind(l.schedule.season_start)
    .bind(l.schedule.season_end)
    .bind(&l.schedule.operating_days)
    .bind(capacity)
    .bind(l.vehicle_id)
    .bind(l.funding_source_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(on_constraint)?;
    for (seq, s) in l.stops.iter().enumerate() {
        sqlx::query(
            "insert into work_line_stop (region_code, line_id, seq, place_id, meeting_point_id, stop_time)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&l.region_code)
        .bind(line_id)
        .bind(i16::try_from(seq).unwrap_or(i16::MAX))
        .bind(s.place_id)
        .bind(s.meeting_point_id)
        .bind(s.stop_time)
        .execute(&mut *conn)
        .await
        .map_err(on_constraint)?;
    }
    Ok(line_id)
}

async fn check_stop_place(
    conn: &mut PgConnection,
    region: &str,
    i: usize,
    place_id: Uuid,
    meeting_point_id: Option<Uuid>,
) -> AppResult<()> {
    let place: Option<bool> = sqlx::query_scalar(
        "select exists (select 1 from meeting_point m where m.place_id = p.place_id and m.meeting_point_id = $3)
         from place p where p.region_code = $1 and p.place_id = $2",
    )
    .bind(region)
    .bind(place_id)
    .bind(meeting_point_id)
    .fetch_optional(conn)
    .await?;
    match place {
        None => Err(AppError::invalid(
            format!("stops.{i}.place_id"),
            "no place with this id in the region",
        )),
        Some(false) if meeting_point_id.is_some() => Err(AppError::invalid(
            format!("stops.{i}.meeting_point_id"),
            "not a meeting point of this stop's place",
        )),
        Some(_) => Ok(()),
    }
}

/// A line by id; with `lock`, its row is locked until the transaction ends.
///
/// # Errors
/// Database errors.
pub async fn get_line(
    conn: &mut PgConnection,
    line_id: Uuid,
    lock: bool,
) -> AppResult<Option<Line>> {
    let sql = format!(
        "select {LINE_COLUMNS} from work_line l left join vehicle v on v.vehicle_id = l.vehicle_id
         where l.line_id = $1 {}",
        if lock { "for update of l" } else { "" }
    );
    Ok(sqlx::query_as(&sql)
        .bind(line_id)
        .fetch_optional(conn)
        .await?)
}

/// The stops of a line in order, with place names and where they are.
///
/// # Errors
/// Database errors.
pub async fn stops_of(conn: &mut PgConnection, line_id: Uuid) -> AppResult<Vec<LineStop>> {
    let sql = format!(
        "select s.seq, s.place_id, p.name as place_name, s.meeting_point_id,
            m.name as meeting_point_name, to_char(s.stop_time, 'HH24:MI') as stop_time,
            st_x({STOP_LOCATION}::geometry) as lon, st_y({STOP_LOCATION}::geometry) as lat
         from work_line_stop s join place p on p.place_id = s.place_id
         left join meeting_point m on m.meeting_point_id = s.meeting_point_id
         where s.line_id = $1 order by s.seq"
    );
    Ok(sqlx::query_as(&sql).bind(line_id).fetch_all(conn).await?)
}

/// Lines of a region, by name; with `day`, only those running that day.
///
/// # Errors
/// Database errors.
pub async fn list_lines(
    conn: &mut PgConnection,
    region_code: &str,
    day: Option<NaiveDate>,
) -> AppResult<Vec<Line>> {
    let sql = format!(
        "select {LINE_COLUMNS} from work_line l left join vehicle v on v.vehicle_id = l.vehicle_id
         where l.region_code = $1 and ($2::date is null or ({OPERATES_ON_2}))
         order by l.name, l.line_id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .bind(day)
        .fetch_all(conn)
        .await?)
}

/// Active subscriptions of a line whose dates meet `from..=to`.
///
/// # Errors
/// Database errors.
pub async fn spans(
    conn: &mut PgConnection,
    line_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<Span>> {
    Ok(sqlx::query_as(
        "select board_seq, alight_seq, valid_from, valid_to from line_subscription
         where line_id = $1 and status = 'active' and valid_from <= $3 and valid_to >= $2",
    )
    .bind(line_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// People on the busiest leg of a line on `day`.
///
/// # Errors
/// Database errors.
pub async fn seats_taken(conn: &mut PgConnection, line: &Line, day: NaiveDate) -> AppResult<i64> {
    let existing = spans(conn, line.line_id, day, day).await?;
    let stops = i16::try_from(stop_count(conn, line.line_id).await?).unwrap_or(i16::MAX);
    Ok(i64::try_from(load_on(&existing, day, 0, stops - 1)).unwrap_or(i64::MAX))
}

async fn stop_count(conn: &mut PgConnection, line_id: Uuid) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from work_line_stop where line_id = $1")
            .bind(line_id)
            .fetch_one(conn)
            .await?,
    )
}

/// Active subscriptions of a line (a count: no identities).
///
/// # Errors
/// Database errors.
pub async fn active_subscriptions(conn: &mut PgConnection, line_id: Uuid) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from line_subscription where line_id = $1 and status = 'active'",
    )
    .bind(line_id)
    .fetch_one(conn)
    .await?)
}

const SUBSCRIPTION_COLUMNS: &str = "s.subscription_id, s.line_id, s.case_id, pe.known_as,
    s.board_seq, s.alight_seq, s.valid_from, s.valid_to, s.status";

/// Subscriptions of a line held by cases of `polo_id` (case data: the caller audits the read).
///
/// # Errors
/// Database errors.
pub async fn subscriptions_of_polo(
    conn: &mut PgConnection,
    line_id: Uuid,
    polo_id: Uuid,
) -> AppResult<Vec<Subscription>> {
    let sql = format!(
        "select {SUBSCRIPTION_COLUMNS}
         from line_subscription s join care_case c on c.case_id = s.case_id
         join person pe on pe.person_id = s.person_id
         where s.line_id = $1 and c.polo_id = $2
         order by s.status, s.valid_from, s.created_at"
    );
    Ok(sqlx::query_as(&sql)
        .bind(line_id)
        .bind(polo_id)
        .fetch_all(conn)
        .await?)
}

/// Another line serving the same pair of places with a free seat for the dates asked.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Alternative {
    /// Line.
    pub line_id: Uuid,
    /// Name.
    pub name: String,
    /// Stop to board at.
    pub board_seq: i16,
    /// Stop to get off at.
    pub alight_seq: i16,
    /// Local time at the boarding stop.
    pub board_time: String,
    /// Seats free on the busiest day of the range.
    #[sqlx(skip)]
    pub free_seats: i64,
    #[serde(skip)]
    capacity: i16,
    #[serde(skip)]
    season_start: NaiveDate,
    #[serde(skip)]
    season_end: NaiveDate,
    #[serde(skip)]
    operating_days: Vec<i16>,
}

/// Other lines of the region serving the same boarding and alighting places (by place, in the
/// same order) that have a free seat on every day of `span` they run.
///
/// # Errors
/// Database errors.
pub async fn alternatives(
    conn: &mut PgConnection,
    line: &Line,
    span: &Span,
) -> AppResult<Vec<Alternative>> {
    let candidates: Vec<Alternative> = sqlx::query_as(
        "select distinct on (l.line_id) l.line_id, l.name, b.seq as board_seq, a.seq as alight_seq,
            to_char(b.stop_time, 'HH24:MI') as board_time, l.capacity, l.season_start,
            l.season_end, l.operating_days
         from work_line l
         join work_line_stop b on b.line_id = l.line_id
            and b.place_id = (select place_id from work_line_stop where line_id = $1 and seq = $2)
         join work_line_stop a on a.line_id = l.line_id and a.seq > b.seq
            and a.place_id = (select place_id from work_line_stop where line_id = $1 and seq = $3)
         where l.region_code = $4 and l.line_id <> $1
            and l.season_start <= $6 and l.season_end >= $5
         order by l.line_id, b.seq desc, a.seq",
    )
    .bind(line.line_id)
    .bind(span.board_seq)
    .bind(span.alight_seq)
    .bind(&line.region_code)
    .bind(span.valid_from)
    .bind(span.valid_to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for mut c in candidates {
        let schedule = super::Schedule {
            season_start: c.season_start,
            season_end: c.season_end,
            operating_days: c.operating_days.clone(),
        };
        let wanted = Span {
            board_seq: c.board_seq,
            alight_seq: c.alight_seq,
            valid_from: span.valid_from.max(c.season_start),
            valid_to: span.valid_to.min(c.season_end),
        };
        if schedule
            .next_operating_day(wanted.valid_from, wanted.valid_to)
            .is_none()
        {
            continue;
        }
        let existing = spans(conn, c.line_id, wanted.valid_from, wanted.valid_to).await?;
        let taken = peak_load(&schedule, &existing, &wanted);
        let free = usize::try_from(c.capacity)
            .unwrap_or(0)
            .saturating_sub(taken);
        if free > 0 {
            c.free_seats = i64::try_from(free).unwrap_or(i64::MAX);
            out.push(c);
        }
    }
    out.sort_by(|a, b| {
        a.board_time
            .cmp(&b.board_time)
            .then(b.free_seats.cmp(&a.free_seats))
    });
    Ok(out)
}

/// Subscribes a case of `polo_id` to a line: locks the line, checks the season, the segment and
/// the seats on every day and leg, and audits the read of the case.
///
/// # Errors
/// Not found for an unknown line or a case not of this Polo; validation errors naming the
/// field; `already_subscribed`; `line_full` naming alternatives (other lines, the first day
/// with a free seat) in the error body.
pub async fn subscribe(
    conn: &mut PgConnection,
    staff: &Staff,
    polo_id: Uuid,
    line_id: Uuid,
    new: &NewSubscription,
) -> AppResult<Subscription> {
    let line = get_line(conn, line_id, true)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    staff.require_region("region_code", &line.region_code)?;
    let case: Option<(String, Uuid, String)> = sqlx::query_as(
        "select region_code, person_id, status::text from care_case where case_id = $1 and polo_id = $2",
    )
    .bind(new.case_id)
    .bind(polo_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (case_region, person_id, case_status) = case.ok_or(AppError::NotFound("case"))?;
    if case_region != line.region_code {
        return Err(AppError::invalid(
            "case_id",
            "the case is in another region than the line",
        ));
    }
    if case_status == "closed" {
        return Err(AppError::invalid("case_id", "the case is closed"));
    }
    let schedule = line.schedule();
    let stops = usize::try_from(stop_count(conn, line_id).await?).unwrap_or(0);
    let span = new.validate(&schedule, stops)?;
    let dup: Option<Uuid> = sqlx::query_scalar(
        "select subscription_id from line_subscription where line_id = $1 and case_id = $2
            and status = 'active' and valid_from <= $4 and valid_to >= $3 limit 1",
    )
    .bind(line_id)
    .bind(new.case_id)
    .bind(span.valid_from)
    .bind(span.valid_to)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(existing) = dup {
        return Err(AppError::conflict(
            "already_subscribed",
            format!(
                "this case already has subscription {existing} on this line for some of these days"
            ),
        ));
    }
    let existing = spans(conn, line_id, span.valid_from, span.valid_to).await?;
    let capacity = usize::try_from(line.capacity).unwrap_or(0);
    if peak_load(&schedule, &existing, &span) >= capacity {
        return Err(line_full(conn, &line, &span).await?);
    }
    let sql = format!(
        "with ins as (
            insert into line_subscription (region_code, line_id, case_id, person_id, board_seq,
                alight_seq, valid_from, valid_to, created_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *)
         select {SUBSCRIPTION_COLUMNS} from ins s join person pe on pe.person_id = s.person_id"
    );
    let sub: Subscription = sqlx::query_as(&sql)
        .bind(&line.region_code)
        .bind(line_id)
        .bind(new.case_id)
        .bind(person_id)
        .bind(span.board_seq)
        .bind(span.alight_seq)
        .bind(span.valid_from)
        .bind(span.valid_to)
        .bind(staff.staff_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(on_constraint)?;
    crate::audit::record_case_access(
        conn,
        staff,
        &line.region_code,
        new.case_id,
        "line subscription",
    )
    .await?;
    Ok(sub)
}

/// The `line_full` conflict, naming other lines with a seat and this line's first free day.
async fn line_full(conn: &mut PgConnection, line: &Line, span: &Span) -> AppResult<AppError> {
    let alternatives = alternatives(conn, line, span).await?;
    let later = spans(conn, line.line_id, span.valid_from, line.season_end).await?;
    let next_free_date = first_day_with_seat(
        &line.schedule(),
        &later,
        usize::try_from(line.capacity).unwrap_or(0),
        span.board_seq,
        span.alight_seq,
        span.valid_from,
    );
    let hint = match (alternatives.first(), next_free_date) {
        (Some(a), _) => format!("line \"{}\" has {} free seat(s)", a.name, a.free_seats),
        (None, Some(d)) => format!("this line has a free seat from {d}"),
        (None, None) => "no other line serves these places with a free seat".to_owned(),
    };
    Ok(AppError::conflict_with(
        "line_full",
        format!(
            "line \"{}\" is full ({} seats) between stops {} and {} on some day from {} to {}; {hint}",
            line.name, line.capacity, span.board_seq, span.alight_seq, span.valid_from, span.valid_to
        ),
        json!({ "alternatives": alternatives, "next_free_date": next_free_date }),
    ))
}

/// Ends a subscription of a case of `polo_id`: status `ended`, `valid_to` set to `last_day`
/// (kept within the subscription's range); requests already made for later days are cancelled.
///
/// # Errors
/// Not found when the subscription is not on this line or not of this Polo; a conflict when it
/// has already ended.
pub async fn end_subscription(
    conn: &mut PgConnection,
    staff: &Staff,
    polo_id: Uuid,
    line_id: Uuid,
    subscription_id: Uuid,
    last_day: NaiveDate,
) -> AppResult<Subscription> {
    let current: Option<(String, Uuid, super::SubscriptionStatus)> = sqlx::query_as(
        "select s.region_code, s.case_id, s.status from line_subscription s
         join care_case c on c.case_id = s.case_id
         where s.subscription_id = $1 and s.line_id = $2 and c.polo_id = $3 for update of s",
    )
    .bind(subscription_id)
    .bind(line_id)
    .bind(polo_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (region, case_id, status) = current.ok_or(AppError::NotFound("subscription"))?;
    if status == super::SubscriptionStatus::Ended {
        return Err(AppError::conflict(
            "already_ended",
            "the subscription has already ended",
        ));
    }
    let sql = format!(
        "with upd as (
            update line_subscription set status = 'ended',
                valid_to = least(valid_to, greatest(valid_from, $2))
            where subscription_id = $1 returning *)
         select {SUBSCRIPTION_COLUMNS} from upd s join person pe on pe.person_id = s.person_id"
    );
    let sub: Subscription = sqlx::query_as(&sql)
        .bind(subscription_id)
        .bind(last_day)
        .fetch_one(&mut *conn)
        .await?;
    let later: Vec<Uuid> = sqlx::query_scalar(
        "select ride_request_id from ride_request where line_subscription_id = $1
            and service_date > $2 and status not in ('cancelled', 'refused', 'completed', 'no_show')",
    )
    .bind(subscription_id)
    .bind(sub.valid_to)
    .fetch_all(&mut *conn)
    .await?;
    for r in later {
        crate::bookings::db::set_status(
            conn,
            r,
            crate::bookings::RideStatus::Cancelled,
            Some("line subscription ended"),
            Some(staff.staff_id),
        )
        .await?;
    }
    crate::audit::record_case_access(conn, staff, &region, case_id, "line subscription end")
        .await?;
    Ok(sub)
}

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
    /// `no_vehicle` (a run needs one) or `already_materialised`.
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

/// Runs the lines of `region_code` operating on `date` (run ids of the runs created now).
///
/// # Errors
/// Database errors.
pub async fn materialise_day(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Uuid,
) -> AppResult<Vec<Uuid>> {
    let done = materialise(conn, region_code, date, created_by).await?;
    Ok(done.runs.into_iter().map(|r| r.run_id).collect())
}

/// Makes one run for each line of `region_code` operating on `date`, with a confirmed ride
/// request (and its `confirmed` history row) per subscriber travelling that day and the run's
/// stops: `start` at the first stop, at each stop the drop-offs then the pickups, `end` at the
/// last stop, all at the stop's local time. Idempotent: a line that already has a run that day
/// (not cancelled) is skipped, as is a line without vehicle. Call it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn materialise(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Uuid,
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
    created_by: Uuid,
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
    let sql = format!(
        "insert into ride_request (region_code, case_id, person_id, purpose, service_date,
            pickup_place_id, pickup_meeting_point_id, pickup_location,
            dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
            earliest_pickup, latest_arrival, status, booked_by, booked_channel,
            line_subscription_id, run_id, promised_pickup_at)
         select s.region_code, s.case_id, s.person_id, 'work_shift', $2::date,
            b.place_id, b.meeting_point_id, coalesce(bm.location, bp.location),
            a.place_id, a.meeting_point_id, coalesce(am.location, ap.location),
            {board}, {alight}, 'confirmed', s.created_by,
            (case st.role when 'case_worker' then 'case_worker' when 'mediator' then 'mediator'
                else 'coordinator' end)::booking_channel,
            s.subscription_id, $3, {board}
         from line_subscription s
         join care_case c on c.case_id = s.case_id and c.status <> 'closed'
         join staff st on st.staff_id = s.created_by
         join work_line_stop b on b.line_id = s.line_id and b.seq = s.board_seq
         join place bp on bp.place_id = b.place_id
         left join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
         join work_line_stop a on a.line_id = s.line_id and a.seq = s.alight_seq
         join place ap on ap.place_id = a.place_id
         left join meeting_point am on am.meeting_point_id = a.meeting_point_id
         where s.line_id = $1 and s.status = 'active' and $2::date between s.valid_from and s.valid_to
         order by s.board_seq, s.created_at",
        board = local("b"),
        alight = local("a"),
    );
    sqlx::query(&sql)
        .bind(line.line_id)
        .bind(date)
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         select region_code, ride_request_id, 'confirmed', 'seat on a work line run', $2
         from ride_request where run_id = $1",
    )
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
