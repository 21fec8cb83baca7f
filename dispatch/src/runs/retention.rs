//! What runs forgets (called by the crate's `retention` job): vehicle positions are coarsened
//! once their day is over and deleted after the configured period; stop events of cases closed
//! long enough ago lose their link to the ride request and their exact time.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::error::AppResult;

/// Grid of a coarsened position, degrees (about 1.1 km north-south, 0.8 km east-west here).
pub const COARSE_GRID_DEG: f64 = 0.01;

/// Snaps to the coarse grid every position recorded before `before` (the start of today) that
/// is still precise; returns how many.
///
/// # Errors
/// Database errors.
pub async fn coarsen_positions(conn: &mut PgConnection, before: DateTime<Utc>) -> AppResult<u64> {
    Ok(sqlx::query(
        "update vehicle_position
            set location = ST_SnapToGrid(location::geometry, $2)::geography, coarsened = true
          where not coarsened and recorded_at < $1",
    )
    .bind(before)
    .bind(COARSE_GRID_DEG)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Deletes every position recorded before `before`; returns how many.
///
/// # Errors
/// Database errors.
pub async fn delete_positions(conn: &mut PgConnection, before: DateTime<Utc>) -> AppResult<u64> {
    Ok(
        sqlx::query("delete from vehicle_position where recorded_at < $1")
            .bind(before)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Pseudonymises the stop events of the rides of cases closed before `closed_before`: the
/// event keeps its run, stop and kind (for the service's statistics) but loses its ride request
/// and its time is cut to the hour. Returns how many.
///
/// # Errors
/// Database errors.
pub async fn pseudonymise_stop_events(
    conn: &mut PgConnection,
    closed_before: NaiveDate,
) -> AppResult<u64> {
    Ok(sqlx::query(
        "update driver_event e
            set ride_request_id = null, location = null, occurred_at = date_trunc('hour', e.occurred_at),
                received_at = date_trunc('hour', e.received_at), pseudonymised_at = now()
           from ride_request rr
           join care_case c on c.region_code = rr.region_code and c.case_id = rr.case_id
          where e.ride_request_id = rr.ride_request_id and e.pseudonymised_at is null
            and c.closed_on < $1",
    )
    .bind(closed_before)
    .execute(conn)
    .await?
    .rows_affected())
}
