//! SQL for work lines (this file), their subscriptions (`subscriptions.rs`: the seat check under
//! a lock on the line row) and what they become each operating day (`daily.rs`: runs, lines
//! passing near a trip, a line's stops on a day) and heat-ordinance timetables (`heat.rs`). Everything is re-exported here, so callers write `lines::db::...`.

mod daily;
mod heat;
mod subscriptions;

pub use heat::{heat_timetable, mark_day, set_heat_times, HeatTimetable};

pub use daily::{
    lines_operating_on_locked, lines_passing, stop_on, stops_on, LineStopOn, PassingLine,
};
pub use subscriptions::{
    alternatives, end_line, end_subscription, subscribe, subscribe_open_cases_of_polo,
    subscriptions_of_polo, Alternative,
};

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{load_on, Line, LineStop, Span, ValidLine};
use crate::error::{on_constraint, AppError, AppResult};

const LINE_COLUMNS: &str = "l.region_code, l.line_id, l.name, l.season_start, l.season_end,
    l.operating_days, l.capacity, l.wheelchair_places, l.vehicle_id, v.label as vehicle_label,
    v.active as vehicle_active, l.funding_source_id";

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
    let (capacity, wheelchair_places) = check_references(conn, l).await?;
    let line_id: Uuid = sqlx::query_scalar(
        "insert into work_line (region_code, name, season_start, season_end, operating_days,
            capacity, vehicle_id, funding_source_id, wheelchair_places)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning line_id",
    )
    .bind(&l.region_code)
    .bind(&l.name)
    .bind(l.schedule.season_start)
    .bind(l.schedule.season_end)
    .bind(&l.schedule.operating_days)
    .bind(capacity)
    .bind(l.vehicle_id)
    .bind(l.funding_source_id)
    .bind(wheelchair_places)
    .fetch_one(&mut *conn)
    .await
    .map_err(on_constraint)?;
    insert_stops(conn, &l.region_code, line_id, &l.stops).await?;
    Ok(line_id)
}

async fn insert_stops(
    conn: &mut PgConnection,
    region_code: &str,
    line_id: Uuid,
    stops: &[super::ValidStop],
) -> AppResult<()> {
    for (seq, s) in stops.iter().enumerate() {
        sqlx::query(
            "insert into work_line_stop (region_code, line_id, seq, place_id, meeting_point_id, stop_time)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(region_code)
        .bind(line_id)
        .bind(i16::try_from(seq).unwrap_or(i16::MAX))
        .bind(s.place_id)
        .bind(s.meeting_point_id)
        .bind(s.stop_time)
        .execute(&mut *conn)
        .await
        .map_err(on_constraint)?;
    }
    Ok(())
}

/// Checks a line's vehicle (capacity defaults to its seats and may not exceed them), funding
/// source and stop places, the rules of a creation and of an edit; gives the capacity and the
/// wheelchair places.
async fn check_references(conn: &mut PgConnection, l: &ValidLine) -> AppResult<(i16, i16)> {
    let (capacity, wheelchair_places) = match l.vehicle_id {
        Some(v) => {
            let (seats, wheelchair): (i16, i16) = sqlx::query_as(
                "select seats, wheelchair_places from vehicle where region_code = $1 and vehicle_id = $2",
            )
            .bind(&l.region_code)
            .bind(v)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                AppError::invalid("vehicle_id", "no vehicle with this id in the region")
            })?;
            let capacity = match l.capacity {
                Some(c) if c > seats => {
                    return Err(AppError::invalid(
                        "capacity",
                        format!("the vehicle has {seats} seats"),
                    ))
                }
                Some(c) => c,
                None => seats,
            };
            let places = match l.wheelchair_places {
                Some(w) if w > wheelchair => {
                    return Err(AppError::invalid(
                        "wheelchair_places",
                        format!("the vehicle has {wheelchair} wheelchair places"),
                    ))
                }
                Some(w) => w,
                None => wheelchair,
            };
            (capacity, places)
        }
        None => (
            l.capacity.unwrap_or_default(),
            l.wheelchair_places.unwrap_or_default(),
        ),
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
    Ok((capacity, wheelchair_places))
}

/// Changes a line (locked by the caller) to `l`. Refused with 409 when the new season leaves
/// out a day whose run is already made (`run_made`, naming `season_start` or `season_end`), when
/// a weekday dropped has a run made from `today` (`run_made`, `operating_days`), when the seats
/// or wheelchair places are fewer than those already subscribed on a day from `today`
/// (`capacity_below_subscribed`, `wheelchair_below_subscribed`), and when the stops change
/// (not only their times) on a line with subscriptions (`has_subscriptions`).
///
/// # Errors
/// Validation errors of the references, the conflicts above.
pub async fn update_line(
    conn: &mut PgConnection,
    line: &Line,
    l: &ValidLine,
    today: NaiveDate,
) -> AppResult<()> {
    let (capacity, wheelchair_places) = check_references(conn, l).await?;
    let made: Vec<NaiveDate> = sqlx::query_scalar(
        "select service_date from run where line_id = $1 and status <> 'cancelled' order by service_date",
    )
    .bind(line.line_id)
    .fetch_all(&mut *conn)
    .await?;
    let schedule = &l.schedule;
    if let Some(first) = made.first().filter(|d| **d < schedule.season_start) {
        return Err(AppError::conflict(
            "run_made",
            format!("season_start: the line's run of {first} is already made"),
        ));
    }
    if let Some(last) = made.last().filter(|d| **d > schedule.season_end) {
        return Err(AppError::conflict(
            "run_made",
            format!("season_end: the line's run of {last} is already made"),
        ));
    }
    if let Some(day) = made
        .iter()
        .find(|d| **d >= today && !schedule.operates_on(**d))
    {
        return Err(AppError::conflict(
            "run_made",
            format!("operating_days: the line's run of {day} is already made"),
        ));
    }
    let old_stops = stops_of(conn, line.line_id).await?;
    let same_stops = old_stops.len() == l.stops.len()
        && old_stops
            .iter()
            .zip(&l.stops)
            .all(|(o, n)| o.place_id == n.place_id && o.meeting_point_id == n.meeting_point_id);
    let from = today.max(schedule.season_start);
    if from <= schedule.season_end {
        let last = i16::try_from(old_stops.len()).unwrap_or(i16::MAX) - 1;
        let whole = Span {
            board_seq: 0,
            alight_seq: last.max(1),
            valid_from: from,
            valid_to: schedule.season_end,
        };
        let riders = spans(conn, line.line_id, from, schedule.season_end).await?;
        let peak = super::peak_load(schedule, &riders, &whole);
        if peak > usize::try_from(capacity).unwrap_or(0) {
            return Err(AppError::conflict(
                "capacity_below_subscribed",
                format!("capacity: {peak} seats are already subscribed on a day of the line"),
            ));
        }
        let wheelchairs = wheelchair_spans(conn, line.line_id, from, schedule.season_end).await?;
        let peak = super::peak_load(schedule, &wheelchairs, &whole);
        if peak > usize::try_from(wheelchair_places).unwrap_or(0) {
            return Err(AppError::conflict(
                "wheelchair_below_subscribed",
                format!(
                    "wheelchair_places: {peak} wheelchair places are already subscribed on a day of the line"
                ),
            ));
        }
    }
    if !same_stops && active_subscriptions(conn, line.line_id).await? > 0 {
        return Err(AppError::conflict(
            "has_subscriptions",
            "stops: the line has subscriptions; only the stop times may change",
        ));
    }
    sqlx::query(
        "update work_line set name = $2, season_start = $3, season_end = $4, operating_days = $5,
            capacity = $6, vehicle_id = $7, funding_source_id = $8, wheelchair_places = $9
         where line_id = $1",
    )
    .bind(line.line_id)
    .bind(&l.name)
    .bind(schedule.season_start)
    .bind(schedule.season_end)
    .bind(&schedule.operating_days)
    .bind(capacity)
    .bind(l.vehicle_id)
    .bind(l.funding_source_id)
    .bind(wheelchair_places)
    .execute(&mut *conn)
    .await
    .map_err(on_constraint)?;
    if same_stops {
        for (seq, s) in l.stops.iter().enumerate() {
            sqlx::query("update work_line_stop set stop_time = $3 where line_id = $1 and seq = $2")
                .bind(line.line_id)
                .bind(i16::try_from(seq).unwrap_or(i16::MAX))
                .bind(s.stop_time)
                .execute(&mut *conn)
                .await
                .map_err(on_constraint)?;
        }
    } else {
        sqlx::query("delete from work_line_stop where line_id = $1")
            .bind(line.line_id)
            .execute(&mut *conn)
            .await
            .map_err(on_constraint)?;
        insert_stops(conn, &l.region_code, line.line_id, &l.stops).await?;
    }
    Ok(())
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

/// Active subscriptions of wheelchair users on a line whose dates meet `from..=to`.
///
/// # Errors
/// Database errors.
pub async fn wheelchair_spans(
    conn: &mut PgConnection,
    line_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<Span>> {
    Ok(sqlx::query_as(
        "select s.board_seq, s.alight_seq, s.valid_from, s.valid_to from line_subscription s
         join person p on p.person_id = s.person_id
         where s.line_id = $1 and s.status = 'active' and s.valid_from <= $3 and s.valid_to >= $2
           and p.wheelchair",
    )
    .bind(line_id)
    .bind(from)
    .bind(to)
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

/// How many stops a line has.
///
/// # Errors
/// Database errors.
pub async fn stop_count(conn: &mut PgConnection, line_id: Uuid) -> AppResult<i64> {
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
