//! SQL for ride requests.

use sqlx::PgConnection;
use uuid::Uuid;

use super::RideStatus;
use crate::error::{AppError, AppResult};

/// Moves a request to `status` and appends the change to its history, in the caller's
/// transaction. Refuses to change a request whose status is final.
///
/// # Errors
/// Not found for an unknown request; a conflict `final_status` when it is already final.
pub async fn set_status(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
    status: RideStatus,
    reason: Option<&str>,
    changed_by: Option<Uuid>,
) -> AppResult<()> {
    let current: Option<(String, RideStatus)> = sqlx::query_as(
        "select region_code, status from ride_request where ride_request_id = $1 for update",
    )
    .bind(ride_request_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (region, current) = current.ok_or(AppError::NotFound("ride request"))?;
    if current.is_final() && current != status {
        return Err(AppError::conflict(
            "final_status",
            format!("the request is already {current:?} and cannot become {status:?}"),
        ));
    }
    if current == status {
        return Ok(());
    }
    sqlx::query("update ride_request set status = $2 where ride_request_id = $1")
        .bind(ride_request_id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(region)
    .bind(ride_request_id)
    .bind(status)
    .bind(reason)
    .bind(changed_by)
    .execute(conn)
    .await?;
    Ok(())
}
