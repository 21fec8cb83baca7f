//! Drivers on runs: a run is driven by a driver of its region whose shift (local times) covers
//! the run from half an hour before its first rider's stop to half an hour after its last, and who drives no other run at the same time. A
//! run with no such driver has none, and its riders are not told "confirmed" until a
//! coordinator gives it one.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service_day::SQL_TZ;

/// SQL: driver `$2` can drive run `$1`: its shift covers the run's stops and it has no other
/// run overlapping them.
fn fits_sql() -> String {
    format!(
        "with span as (
             -- From half an hour before the first rider's stop ends to half an hour after the
             -- last (a van may reach a stop early and wait: that is not the driver's time).
             select coalesce(min(s.planned_departure) filter (where s.kind in ('pickup', 'dropoff')) - interval '30 minutes',
                             min(s.planned_arrival)) as from_t,
                    coalesce(max(s.planned_departure) filter (where s.kind in ('pickup', 'dropoff')) + interval '30 minutes',
                             max(s.planned_departure)) as to_t
             from run_stop s where s.run_id = $1)
         select d.driver_id from driver d, span, run r
         where r.run_id = $1 and d.region_code = r.region_code and ($2::uuid is null or d.driver_id = $2)
           and (span.from_t at time zone '{SQL_TZ}')::time >= d.shift_start
           and (span.to_t at time zone '{SQL_TZ}')::time <= d.shift_end
           and (span.from_t at time zone '{SQL_TZ}')::date = (span.to_t at time zone '{SQL_TZ}')::date
           and not exists (
               select 1 from run o join run_stop os on os.run_id = o.run_id
               where o.driver_id = d.driver_id and o.run_id <> r.run_id and o.status <> 'cancelled'
                 and o.service_date = r.service_date
               group by o.run_id
               having coalesce(min(os.planned_departure) filter (where os.kind in ('pickup', 'dropoff')) - interval '30 minutes',
                               min(os.planned_arrival)) < span.to_t
                  and coalesce(max(os.planned_departure) filter (where os.kind in ('pickup', 'dropoff')) + interval '30 minutes',
                               max(os.planned_departure)) > span.from_t)
         order by (d.driver_id = r.driver_id) desc nulls last, d.display_name, d.driver_id
         limit 1"
    )
}

/// Gives run `run_id` a driver that fits (keeping the one it has if it still fits), or none.
/// Returns the driver.
///
/// # Errors
/// Database errors.
pub async fn assign(conn: &mut PgConnection, run_id: Uuid) -> AppResult<Option<Uuid>> {
    let driver: Option<Uuid> = sqlx::query_scalar(&fits_sql())
        .bind(run_id)
        .bind(None::<Uuid>)
        .fetch_optional(&mut *conn)
        .await?;
    sqlx::query("update run set driver_id = $2 where run_id = $1")
        .bind(run_id)
        .bind(driver)
        .execute(&mut *conn)
        .await?;
    Ok(driver)
}

/// Gives run `run_id` to `driver_id` if that driver fits it.
///
/// # Errors
/// A conflict `driver_unavailable` when the driver's shift does not cover the run or the
/// driver drives another run at the same time; database errors.
pub async fn assign_to(conn: &mut PgConnection, run_id: Uuid, driver_id: Uuid) -> AppResult<()> {
    let fits: Option<Uuid> = sqlx::query_scalar(&fits_sql())
        .bind(run_id)
        .bind(Some(driver_id))
        .fetch_optional(&mut *conn)
        .await?;
    if fits.is_none() {
        return Err(AppError::conflict(
            "driver_unavailable",
            "this driver's shift does not cover the run, or the driver drives another run at the same time",
        ));
    }
    sqlx::query("update run set driver_id = $2 where run_id = $1")
        .bind(run_id)
        .bind(driver_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
