//! SQL for people and cases. Every query that returns case data is filtered by the caller's
//! Polo; callers audit the read in the same transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{CaseAccess, CaseStatus, CaseView, NewCase, StatusChange};
use crate::error::{on_constraint, AppError, AppResult};

const CASE_SELECT: &str =
    "select c.region_code, c.case_id, c.person_id, c.polo_id, c.case_worker_id,
        w.display_name as case_worker_name, c.status, c.arrival_channel, c.opened_on, c.closed_on,
        c.pai_reference, p.known_as, p.languages, p.wheelchair, p.reduced_mobility
    from care_case c
    join person p on p.region_code = c.region_code and p.person_id = c.person_id
    join staff w on w.staff_id = c.case_worker_id";

/// Creates a person and their case at `polo_id`, followed by `case_worker_id`.
///
/// # Errors
/// A validation error when the case worker is not staff of that Polo.
pub async fn insert_case(
    conn: &mut PgConnection,
    polo_id: Uuid,
    case_worker_id: Uuid,
    c: &NewCase,
) -> AppResult<Uuid> {
    let region: Option<String> = sqlx::query_scalar(
        "select p.region_code from staff s join polo p on p.polo_id = s.polo_id
         where s.staff_id = $1 and s.polo_id = $2 and s.role in ('case_worker', 'polo_coordinator')",
    )
    .bind(case_worker_id)
    .bind(polo_id)
    .fetch_optional(&mut *conn)
    .await?;
    let region = region
        .ok_or_else(|| AppError::invalid("case_worker_id", "not a case worker of this Polo"))?;
    let person_id: Uuid = sqlx::query_scalar(
        "insert into person (region_code, polo_id, known_as, languages, wheelchair, reduced_mobility)
         values ($1, $2, $3, $4, $5, $6) returning person_id",
    )
    .bind(&region)
    .bind(polo_id)
    .bind(&c.known_as)
    .bind(&c.languages)
    .bind(c.wheelchair)
    .bind(c.reduced_mobility)
    .fetch_one(&mut *conn)
    .await
    .map_err(on_constraint)?;
    let case_id: Uuid = sqlx::query_scalar(
        "insert into care_case (region_code, person_id, polo_id, case_worker_id, arrival_channel, opened_on, pai_reference)
         values ($1, $2, $3, $4, $5, $6, $7) returning case_id",
    )
    .bind(&region)
    .bind(person_id)
    .bind(polo_id)
    .bind(case_worker_id)
    .bind(c.arrival_channel)
    .bind(c.opened_on)
    .bind(&c.pai_reference)
    .fetch_one(&mut *conn)
    .await
    .map_err(on_constraint)?;
    Ok(case_id)
}

/// A case of `polo_id`; none when it does not exist or belongs to another Polo.
///
/// # Errors
/// Database errors.
pub async fn case_of_polo(
    conn: &mut PgConnection,
    polo_id: Uuid,
    case_id: Uuid,
) -> AppResult<Option<CaseView>> {
    let sql = format!("{CASE_SELECT} where c.case_id = $1 and c.polo_id = $2");
    Ok(sqlx::query_as(&sql)
        .bind(case_id)
        .bind(polo_id)
        .fetch_optional(conn)
        .await?)
}

/// The cases of a Polo, newest first, optionally of one status.
///
/// # Errors
/// Database errors.
pub async fn cases_of_polo(
    conn: &mut PgConnection,
    polo_id: Uuid,
    status: Option<CaseStatus>,
) -> AppResult<Vec<CaseView>> {
    let sql = format!(
        "{CASE_SELECT} where c.polo_id = $1 and ($2::case_status is null or c.status = $2)
         order by c.opened_on desc, c.case_id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(polo_id)
        .bind(status)
        .fetch_all(conn)
        .await?)
}

/// Changes the status of a case of `polo_id`.
///
/// # Errors
/// Not found for another Polo's case; a validation error for a closing day before the opening.
pub async fn change_status(
    conn: &mut PgConnection,
    polo_id: Uuid,
    case_id: Uuid,
    change: &StatusChange,
) -> AppResult<()> {
    let closed_on = match (change.status, change.closed_on) {
        (CaseStatus::Closed, None) => {
            return Err(AppError::invalid(
                "closed_on",
                "closing a case needs the closing day",
            ))
        }
        (CaseStatus::Closed, Some(d)) => Some(d),
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "closed_on",
                "only a closed case has a closing day",
            ))
        }
        (_, None) => None,
    };
    let opened: Option<chrono::NaiveDate> = sqlx::query_scalar(
        "select opened_on from care_case where case_id = $1 and polo_id = $2 for update",
    )
    .bind(case_id)
    .bind(polo_id)
    .fetch_optional(&mut *conn)
    .await?;
    let opened = opened.ok_or(AppError::NotFound("case"))?;
    if closed_on.is_some_and(|d| d < opened) {
        return Err(AppError::invalid(
            "closed_on",
            format!("before the opening day {opened}"),
        ));
    }
    sqlx::query(
        "update care_case set status = $3, closed_on = $4 where case_id = $1 and polo_id = $2",
    )
    .bind(case_id)
    .bind(polo_id)
    .bind(change.status)
    .bind(closed_on)
    .execute(conn)
    .await?;
    Ok(())
}

/// The audit trail of a case, newest first.
///
/// # Errors
/// Database errors.
pub async fn access_log(conn: &mut PgConnection, case_id: Uuid) -> AppResult<Vec<CaseAccess>> {
    Ok(sqlx::query_as(
        "select a.staff_id, s.username, a.purpose, a.accessed_at
         from case_access_audit a join staff s using (staff_id)
         where a.case_id = $1 order by a.accessed_at desc, a.case_access_id desc",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// The cases of a Polo whose person's name or case code (PAI reference) contains `q`
/// (case-insensitive), open ones first; at most 50. Callers audit the read.
///
/// # Errors
/// Database errors.
pub async fn search_of_polo(
    conn: &mut PgConnection,
    polo_id: Uuid,
    q: &str,
) -> AppResult<Vec<CaseView>> {
    let pattern = format!(
        "%{}%",
        q.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let sql = format!(
        "{CASE_SELECT} where c.polo_id = $1
           and (p.known_as ilike $2 or coalesce(c.pai_reference, '') ilike $2)
         order by c.status, p.known_as, c.case_id limit 50"
    );
    Ok(sqlx::query_as(&sql)
        .bind(polo_id)
        .bind(pattern)
        .fetch_all(conn)
        .await?)
}
