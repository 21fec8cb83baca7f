//! What the ride records forget (called by the crate's `retention` job): once a case has been
//! closed for the configured period, its rides lose the case and the person, who is replaced
//! by a random pseudonym (one per case, so "rides per person" still counts right), and their
//! pickup and drop-off times are cut to the hour. Costs, distances, outcomes and funding stay.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::error::AppResult;

/// Pseudonymises the rides of every case closed before `closed_before`; returns how many.
///
/// # Errors
/// Database errors.
pub async fn pseudonymise_rides(
    conn: &mut PgConnection,
    closed_before: NaiveDate,
) -> AppResult<u64> {
    Ok(sqlx::query(
        "with closed as (
             select c.region_code, c.case_id, gen_random_uuid() as pseudonym
               from care_case c
              where c.closed_on < $1
                and exists (select 1 from ride r where r.region_code = c.region_code
                              and r.case_id = c.case_id and r.pseudonymised_at is null))
         update ride r
            set person_id = closed.pseudonym, case_id = null,
                picked_up_at = date_trunc('hour', r.picked_up_at),
                dropped_off_at = date_trunc('hour', r.dropped_off_at),
                pseudonymised_at = now()
           from closed
          where r.region_code = closed.region_code and r.case_id = closed.case_id
            and r.pseudonymised_at is null",
    )
    .bind(closed_before)
    .execute(conn)
    .await?
    .rows_affected())
}
