//! Heat-ordinance timetables: a line's alternative stop times and the days its coordinators
//! mark (see `lines::stop_time_on_sql`, which every reader of a day's times uses).

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A line's heat-ordinance timetable and its marked days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HeatTimetable {
    /// Line.
    pub line_id: Uuid,
    /// The alternative time of each stop, in stop order (`HH:MM`); empty when the line has none.
    pub stop_times: Vec<String>,
    /// The days marked, from the earliest; on these days the line runs its alternative times.
    pub days: Vec<NaiveDate>,
    /// Whether these times leave the driver a break, as the line's `breaks_fit` says of its
    /// regular times (`true` when the line has no alternative times).
    pub breaks_fit: bool,
}

/// The heat-ordinance timetable of a line.
///
/// # Errors
/// Database errors.
pub async fn heat_timetable(conn: &mut PgConnection, line_id: Uuid) -> AppResult<HeatTimetable> {
    let times: Vec<Option<String>> = sqlx::query_scalar(
        "select to_char(heat_stop_time, 'HH24:MI') from work_line_stop where line_id = $1 order by seq",
    )
    .bind(line_id)
    .fetch_all(&mut *conn)
    .await?;
    let days = sqlx::query_scalar(
        "select service_date from line_heat_day where line_id = $1 order by service_date",
    )
    .bind(line_id)
    .fetch_all(&mut *conn)
    .await?;
    let stop_times: Vec<String> = times
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    Ok(HeatTimetable {
        line_id,
        breaks_fit: crate::lines::breaks_fit(stop_times.iter().map(String::as_str)),
        stop_times,
        days,
    })
}

/// Sets the alternative time of every stop (checked by `lines::validate_heat_times`).
///
/// # Errors
/// Database errors.
pub async fn set_heat_times(
    conn: &mut PgConnection,
    line_id: Uuid,
    times: &[NaiveTime],
) -> AppResult<()> {
    let seqs: Vec<i16> = (0..times.len())
        .map(|i| i16::try_from(i).unwrap_or(i16::MAX))
        .collect();
    sqlx::query(
        "update work_line_stop s set heat_stop_time = t.at
         from (select row_number() over (order by seq) - 1 as i, seq from work_line_stop where line_id = $1) o,
              unnest($2::smallint[], $3::time[]) as t(i, at)
         where s.line_id = $1 and s.seq = o.seq and o.i = t.i",
    )
    .bind(line_id)
    .bind(&seqs)
    .bind(times)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks (or unmarks) a day of a line as a heat-ordinance day. Refused when the line has no
/// alternative timetable, and when the line's run of that day is already made (its riders
/// were given the other times): 409 `no_heat_timetable`, `run_exists`.
///
/// # Errors
/// Conflicts as above; database errors.
pub async fn mark_day(
    conn: &mut PgConnection,
    region_code: &str,
    line_id: Uuid,
    day: NaiveDate,
    marked: bool,
    by: Uuid,
) -> AppResult<()> {
    let has_times: bool = sqlx::query_scalar(
        "select coalesce(bool_and(heat_stop_time is not null), false) from work_line_stop where line_id = $1",
    )
    .bind(line_id)
    .fetch_one(&mut *conn)
    .await?;
    if marked && !has_times {
        return Err(AppError::conflict(
            "no_heat_timetable",
            "give the line its heat-ordinance times first",
        ));
    }
    let made: bool = sqlx::query_scalar(
        "select exists (select 1 from run where line_id = $1 and service_date = $2 and status <> 'cancelled')",
    )
    .bind(line_id)
    .bind(day)
    .fetch_one(&mut *conn)
    .await?;
    if made {
        return Err(AppError::conflict(
            "run_exists",
            format!("the line's run of {day} is already made with its riders' times: mark days before they are planned"),
        ));
    }
    if marked {
        sqlx::query(
            "insert into line_heat_day (region_code, line_id, service_date, marked_by)
             values ($1, $2, $3, $4) on conflict do nothing",
        )
        .bind(region_code)
        .bind(line_id)
        .bind(day)
        .bind(by)
        .execute(conn)
        .await?;
    } else {
        sqlx::query("delete from line_heat_day where line_id = $1 and service_date = $2")
            .bind(line_id)
            .bind(day)
            .execute(conn)
            .await?;
    }
    Ok(())
}
