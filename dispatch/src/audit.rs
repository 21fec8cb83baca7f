//! The audit trail of case data: every read of a case writes a row, in the same transaction as
//! the read, so a read that is not audited cannot happen.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::Staff;

/// Records that `who` read case `case_id` for `purpose`.
///
/// # Errors
/// A database error; the caller's transaction then rolls back and the read is not returned.
pub async fn record_case_access(
    conn: &mut PgConnection,
    who: &Staff,
    region_code: &str,
    case_id: uuid::Uuid,
    purpose: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into case_access_audit (region_code, case_id, staff_id, purpose) values ($1, $2, $3, $4)",
    )
    .bind(region_code)
    .bind(case_id)
    .bind(who.staff_id)
    .bind(purpose)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records reads of several cases of one region at once (a list view).
///
/// # Errors
/// A database error.
pub async fn record_case_accesses(
    conn: &mut PgConnection,
    who: &Staff,
    cases: &[(String, Uuid)],
    purpose: &str,
) -> Result<(), sqlx::Error> {
    if cases.is_empty() {
        return Ok(());
    }
    let regions: Vec<&str> = cases.iter().map(|(r, _)| r.as_str()).collect();
    let ids: Vec<Uuid> = cases.iter().map(|(_, c)| *c).collect();
    sqlx::query(
        "insert into case_access_audit (region_code, case_id, staff_id, purpose)
         select r, c, $3, $4 from unnest($1::text[], $2::uuid[]) as t(r, c)",
    )
    .bind(&regions)
    .bind(&ids)
    .bind(who.staff_id)
    .bind(purpose)
    .execute(conn)
    .await?;
    Ok(())
}
