//! A line on a given day: the lines operating, their stops' times that day, and lines passing
//! near an on-demand trip (each day's run of a line is made by `runs::line_runs`). Local stop times become
//! instants in SQL with `(date + time) at time zone` [`SQL_TZ`], which follows the Italian
//! DST rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{spans, LINE_COLUMNS, OPERATES_ON_2, STOP_LOCATION};
use crate::error::AppResult;
use crate::geo::LonLat;
use crate::lines::{load_on, Line};
use crate::service_day::SQL_TZ;

/// A stop of a line on a given day, where it is and its local time as an instant (the
/// heat-ordinance time on a marked day).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineStopOn {
    /// Stop number on the line.
    pub seq: i16,
    /// The place.
    pub place_id: Uuid,
    /// The meeting point.
    pub meeting_point_id: Option<Uuid>,
    /// Longitude of the meeting point, or else of the place.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// The stop's time that day.
    pub at: DateTime<Utc>,
}

fn stops_on_sql() -> String {
    format!(
        "select s.seq, s.place_id, s.meeting_point_id,
                st_x({STOP_LOCATION}::geometry) as lon, st_y({STOP_LOCATION}::geometry) as lat,
                ($3::date + {time}) at time zone '{SQL_TZ}' as at
         from work_line_stop s join place p on p.place_id = s.place_id
         left join meeting_point m on m.meeting_point_id = s.meeting_point_id
         where s.line_id = $1 and ($2::smallint is null or s.seq = $2)
         order by s.seq",
        time = crate::lines::stop_time_on_sql("s", "$3::date")
    )
}

/// The stops of a line on `day`, in order.
///
/// # Errors
/// Database errors.
pub async fn stops_on(
    conn: &mut PgConnection,
    line_id: Uuid,
    day: NaiveDate,
) -> AppResult<Vec<LineStopOn>> {
    Ok(sqlx::query_as(&stops_on_sql())
        .bind(line_id)
        .bind(None::<i16>)
        .bind(day)
        .fetch_all(conn)
        .await?)
}

/// Stop `seq` of a line on `day`.
///
/// # Errors
/// Not found for an unknown stop; database errors.
pub async fn stop_on(
    conn: &mut PgConnection,
    line_id: Uuid,
    seq: i16,
    day: NaiveDate,
) -> AppResult<LineStopOn> {
    sqlx::query_as(&stops_on_sql())
        .bind(line_id)
        .bind(Some(seq))
        .bind(day)
        .fetch_optional(conn)
        .await?
        .ok_or(crate::error::AppError::NotFound("line stop"))
}

/// The lines of `region_code` operating on `date`, locked in one order (`for update`) so that
/// concurrent materialisations of the same day make each run once. Call it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn lines_operating_on_locked(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
) -> AppResult<Vec<Line>> {
    let sql = format!(
        "select {LINE_COLUMNS} from work_line l left join vehicle v on v.vehicle_id = l.vehicle_id
         where l.region_code = $1 and {OPERATES_ON_2}
         order by l.line_id for update of l"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .bind(date)
        .fetch_all(conn)
        .await?)
}

/// A line passing near a pickup and, later, near a drop-off, with a free seat that day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
