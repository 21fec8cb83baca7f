//! SQL for funding sources and the ledger. A charge locks its source row (`for update`), checks
//! every cap against the sums, and inserts, in the caller's transaction; the database trigger
//! `ledger_entry_within_caps` repeats the check as a backstop.

use crate::ids::{FundingSourceId, PersonId};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    AreaBalance, Balance, FundingKind, FundingSource, LedgerEntry, NewCharge, NewCorrection,
    ProgrammeRules, ValidSource,
};
use crate::error::{on_constraint, AppError, AppResult};

const SOURCE_COLUMNS: &str = "region_code, funding_source_id, kind, name, person_id, employer_name,
    cap_cents, person_monthly_cap_cents, period_start, period_end";
const ENTRY_COLUMNS: &str =
    "ledger_entry_id, funding_source_id, kind, amount_cents, area, person_id,
    corrects_entry_id, occurred_on, description, external_ref, created_at";

/// The programme's current rules.
///
/// # Errors
/// Database errors.
pub async fn programme_rules(conn: &mut PgConnection) -> AppResult<ProgrammeRules> {
    Ok(sqlx::query_as(
        "select integration_budget_cap_cents, integration_budget_min_months, integration_budget_max_months
         from programme_config",
    )
    .fetch_one(conn)
    .await?)
}

/// Inserts a source and its area caps.
///
/// # Errors
/// Validation errors for an unknown region or person.
pub async fn insert_source(conn: &mut PgConnection, v: &ValidSource) -> AppResult<FundingSource> {
    let n = &v.new;
    let sql = format!(
        "insert into funding_source (region_code, kind, name, person_id, employer_name, cap_cents,
            person_monthly_cap_cents, period_start, period_end)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning {SOURCE_COLUMNS}"
    );
    let src: FundingSource = sqlx::query_as(&sql)
        .bind(&n.region_code)
        .bind(n.kind)
        .bind(&n.name)
        .bind(n.person_id)
        .bind(&n.employer_name)
        .bind(v.cap_cents)
        .bind(n.person_monthly_cap_cents)
        .bind(n.period_start)
        .bind(n.period_end)
        .fetch_one(&mut *conn)
        .await
        .map_err(on_constraint)?;
    for (area, cap) in &v.area_caps {
        sqlx::query(
            "insert into funding_area_cap (region_code, funding_source_id, area, cap_cents) values ($1, $2, $3, $4)",
        )
        .bind(&src.region_code)
        .bind(src.funding_source_id)
        .bind(area)
        .bind(cap)
        .execute(&mut *conn)
        .await?;
    }
    Ok(src)
}

/// A source, unlocked.
///
/// # Errors
/// Database errors.
pub async fn source(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<FundingSource>> {
    let sql = format!("select {SOURCE_COLUMNS} from funding_source where funding_source_id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?)
}

async fn lock_source(conn: &mut PgConnection, id: Uuid) -> AppResult<FundingSource> {
    let sql = format!(
        "select {SOURCE_COLUMNS} from funding_source where funding_source_id = $1 for update"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound("funding source"))
}

/// The Polo of the person whose budget this is (none for other kinds).
///
/// # Errors
/// Database errors.
pub async fn budget_polo(conn: &mut PgConnection, src: &FundingSource) -> AppResult<Option<Uuid>> {
    let Some(person) = src.person_id else {
        return Ok(None);
    };
    Ok(
        sqlx::query_scalar("select polo_id from person where person_id = $1")
            .bind(person)
            .fetch_optional(conn)
            .await?,
    )
}

/// Spent and left of a source, per area too.
///
/// # Errors
/// Database errors.
pub async fn balance(conn: &mut PgConnection, src: FundingSource) -> AppResult<Balance> {
    let sums: Sums = sqlx::query_as(&format!("{SUMS} where funding_source_id = $1"))
        .bind(src.funding_source_id)
        .fetch_one(&mut *conn)
        .await?;
    let areas: Vec<AreaBalance> = sqlx::query_as(
        "select a.area, a.cap_cents, coalesce(sum(e.amount_cents), 0)::bigint as spent_cents,
                coalesce(sum(greatest(e.amount_cents, 0)), 0)::bigint as charged_cents,
                greatest(a.cap_cents - coalesce(sum(greatest(e.amount_cents, 0)), 0), 0)::bigint
                    as remaining_cents
         from funding_area_cap a
         left join ledger_entry e on e.funding_source_id = a.funding_source_id and e.area = a.area
         where a.funding_source_id = $1
         group by a.area, a.cap_cents order by a.area",
    )
    .bind(src.funding_source_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Balance {
        remaining_cents: (src.cap_cents - sums.gross).max(0),
        spent_cents: sums.net,
        charged_cents: sums.gross,
        areas,
        source: src,
    })
}

/// What a charge did.
#[derive(Debug)]
pub enum ChargeOutcome {
    /// Written now.
    Written(LedgerEntry),
    /// A charge with the same `external_ref` was already written; it is returned unchanged.
    AlreadyWritten(LedgerEntry),
}

/// Charges a source: lock, check every cap, insert. Idempotent on `external_ref`.
///
/// # Errors
/// A conflict `over_cap` naming the cap and what is left; validation errors for a missing
/// area or person, a day outside the period, or a non-positive amount.
pub async fn charge(
    conn: &mut PgConnection,
    source_id: Uuid,
    c: &NewCharge,
    created_by: Option<Uuid>,
) -> AppResult<ChargeOutcome> {
    if c.amount_cents <= 0 {
        return Err(AppError::invalid(
            "amount_cents",
            "a charge is a positive number of cents",
        ));
    }
    crate::geo::non_blank("description", &c.description)?;
    let src = lock_source(conn, source_id).await?;
    if let Some(r) = &c.external_ref {
        let sql = format!("select {ENTRY_COLUMNS} from ledger_entry where funding_source_id = $1 and external_ref = $2");
        if let Some(e) = sqlx::query_as(&sql)
            .bind(source_id)
            .bind(r)
            .fetch_optional(&mut *conn)
            .await?
        {
            return Ok(ChargeOutcome::AlreadyWritten(e));
        }
    }
    if c.occurred_on < src.period_start || c.occurred_on > src.period_end {
        return Err(AppError::invalid(
            "occurred_on",
            format!(
                "outside the funding period {} to {}",
                src.period_start, src.period_end
            ),
        ));
    }
    if src.kind == FundingKind::IntegrationBudget && c.area.is_none() {
        return Err(AppError::invalid(
            "area",
            "a charge to an integration budget needs an area",
        ));
    }
    if src.person_monthly_cap_cents.is_some() && c.person_id.is_none() {
        return Err(AppError::invalid(
            "person_id",
            "this fund caps each person: name the person",
        ));
    }
    check_caps(
        conn,
        &src,
        c.area,
        c.person_id,
        c.occurred_on,
        c.amount_cents,
    )
    .await?;
    let sql = format!(
        "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, area, person_id,
            occurred_on, description, external_ref, created_by)
         values ($1, $2, 'charge', $3, $4, $5, $6, $7, $8, $9) returning {ENTRY_COLUMNS}"
    );
    let entry = sqlx::query_as(&sql)
        .bind(&src.region_code)
        .bind(source_id)
        .bind(c.amount_cents)
        .bind(c.area)
        .bind(c.person_id)
        .bind(c.occurred_on)
        .bind(c.description.trim())
        .bind(&c.external_ref)
        .bind(created_by)
        .fetch_one(&mut *conn)
        .await
        .map_err(on_constraint)?;
    Ok(ChargeOutcome::Written(entry))
}

/// Sums of one scope of a source (the whole source, an area, a person's month): the gross
/// payouts (every positive entry) and the net total.
#[derive(sqlx::FromRow)]
struct Sums {
    gross: i64,
    net: i64,
}

const SUMS: &str = "select coalesce(sum(greatest(amount_cents, 0)), 0)::bigint as gross,
        coalesce(sum(amount_cents), 0)::bigint as net from ledger_entry";

/// Checks that `amount` more (positive) stays within every cap of the source, counted on the
/// gross payouts: what a correction gave back does not make room under a cap. Sums are
/// widened so that no amount overflows.
async fn check_caps(
    conn: &mut PgConnection,
    src: &FundingSource,
    area: Option<super::BudgetArea>,
    person: Option<Uuid>,
    day: chrono::NaiveDate,
    amount: i64,
) -> AppResult<()> {
    let over = |what: &str, cap: i64, gross: i64| {
        crate::telemetry::ledger_refusal(what_kind(what));
        AppError::conflict(
            "over_cap",
            format!(
                "{what}: {amount} cents would exceed the cap of {cap} cents ({} cents left)",
                (i128::from(cap) - i128::from(gross)).max(0)
            ),
        )
    };
    let fits = |cap: i64, gross: i64| i128::from(gross) + i128::from(amount) <= i128::from(cap);
    let sums: Sums = sqlx::query_as(&format!("{SUMS} where funding_source_id = $1"))
        .bind(src.funding_source_id)
        .fetch_one(&mut *conn)
        .await?;
    if !fits(src.cap_cents, sums.gross) {
        return Err(over(&src.name, src.cap_cents, sums.gross));
    }
    if let Some(area) = area {
        let cap: Option<i64> = sqlx::query_scalar(
            "select cap_cents from funding_area_cap where funding_source_id = $1 and area = $2",
        )
        .bind(src.funding_source_id)
        .bind(area)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(cap) = cap {
            let sums: Sums = sqlx::query_as(&format!(
                "{SUMS} where funding_source_id = $1 and area = $2"
            ))
            .bind(src.funding_source_id)
            .bind(area)
            .fetch_one(&mut *conn)
            .await?;
            if !fits(cap, sums.gross) {
                return Err(over(
                    &format!("area {}", super::area_name(area)),
                    cap,
                    sums.gross,
                ));
            }
        }
    }
    if let (Some(cap), Some(person)) = (src.person_monthly_cap_cents, person) {
        let sums: Sums = sqlx::query_as(&format!(
            "{SUMS} where funding_source_id = $1 and person_id = $2
               and date_trunc('month', occurred_on) = date_trunc('month', $3::date)"
        ))
        .bind(src.funding_source_id)
        .bind(person)
        .bind(day)
        .fetch_one(&mut *conn)
        .await?;
        if !fits(cap, sums.gross) {
            return Err(over("this person's monthly allowance", cap, sums.gross));
        }
    }
    Ok(())
}

/// The metric label of a refused cap (no names: fund names are not personal, but keep it
/// to three values).
fn what_kind(what: &str) -> &'static str {
    if what.starts_with("area ") {
        "area"
    } else if what.starts_with("this person") {
        "person_month"
    } else {
        "source"
    }
}

/// The charge a correction points at, with what is left of it.
#[derive(sqlx::FromRow)]
struct Corrected {
    kind: super::LedgerKind,
    amount_cents: i64,
    area: Option<super::BudgetArea>,
    person_id: Option<Uuid>,
    occurred_on: chrono::NaiveDate,
    /// The charge plus its corrections so far.
    left_cents: i64,
}

/// The person of an entry of this source: `None` when there is no such entry, `Some(None)` for
/// an entry without a person.
///
/// # Errors
/// Database errors.
pub async fn corrected_entry_person(
    conn: &mut PgConnection,
    source_id: Uuid,
    entry_id: i64,
) -> AppResult<Option<Option<Uuid>>> {
    Ok(sqlx::query_scalar(
        "select person_id from ledger_entry where funding_source_id = $1 and ledger_entry_id = $2",
    )
    .bind(source_id)
    .bind(entry_id)
    .fetch_optional(conn)
    .await?)
}

/// Writes a correction of an earlier charge of the same source: it gives back (part of) what
/// is left of that charge, never more, and keeps its area, person and day.
///
/// # Errors
/// Validation errors naming `amount_cents`, `description` or `corrects_entry_id`; a conflict
/// `exceeds_entry` (with `field` and `left_cents`) when the charge has less left to reverse.
pub async fn correct(
    conn: &mut PgConnection,
    source_id: Uuid,
    c: &NewCorrection,
    created_by: Option<Uuid>,
) -> AppResult<LedgerEntry> {
    if c.amount_cents >= 0 {
        return Err(AppError::invalid(
            "amount_cents",
            "a correction gives back part of a charge: negative cents (charge more as a new charge)",
        ));
    }
    crate::geo::non_blank("description", &c.description)?;
    let src = lock_source(conn, source_id).await?;
    let original: Option<Corrected> = sqlx::query_as(
        "select e.kind, e.amount_cents, e.area, e.person_id, e.occurred_on,
                (e.amount_cents + coalesce((select sum(c.amount_cents) from ledger_entry c
                    where c.region_code = e.region_code and c.corrects_entry_id = e.ledger_entry_id), 0))::bigint
                    as left_cents
         from ledger_entry e where e.funding_source_id = $1 and e.ledger_entry_id = $2",
    )
    .bind(source_id)
    .bind(c.corrects_entry_id)
    .fetch_optional(&mut *conn)
    .await?;
    let original = original
        .ok_or_else(|| AppError::invalid("corrects_entry_id", "no such entry in this source"))?;
    if original.kind != super::LedgerKind::Charge {
        return Err(AppError::invalid(
            "corrects_entry_id",
            "this entry is a correction: correct the charge it points at",
        ));
    }
    if i128::from(original.left_cents) + i128::from(c.amount_cents) < 0 {
        crate::telemetry::ledger_refusal("correction");
        return Err(AppError::conflict_with(
            "exceeds_entry",
            format!(
                "entry {} has {} of its {} cents left to give back, not {}",
                c.corrects_entry_id,
                original.left_cents,
                original.amount_cents,
                i128::from(c.amount_cents).abs()
            ),
            serde_json::json!({ "field": "amount_cents", "left_cents": original.left_cents }),
        ));
    }
    let sql = format!(
        "insert into ledger_entry (region_code, funding_source_id, kind, amount_cents, area, person_id,
            corrects_entry_id, occurred_on, description, created_by)
         values ($1, $2, 'correction', $3, $4, $5, $6, $7, $8, $9) returning {ENTRY_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(&src.region_code)
        .bind(source_id)
        .bind(c.amount_cents)
        .bind(original.area)
        .bind(original.person_id)
        .bind(c.corrects_entry_id)
        .bind(original.occurred_on)
        .bind(c.description.trim())
        .bind(created_by)
        .fetch_one(&mut *conn)
        .await
        .map_err(on_constraint)
}

/// The entries of a shared fund that concern the people of one Polo, oldest first (what a
/// Polo's coordinator may see of a fund the whole region draws on).
///
/// # Errors
/// Database errors.
pub async fn ledger_of_polo(
    conn: &mut PgConnection,
    source_id: Uuid,
    polo_id: Uuid,
) -> AppResult<Vec<LedgerEntry>> {
    let sql = format!(
        "select {ENTRY_COLUMNS} from ledger_entry
         where funding_source_id = $1
           and person_id in (select person_id from person where polo_id = $2)
         order by ledger_entry_id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(source_id)
        .bind(polo_id)
        .fetch_all(conn)
        .await?)
}

/// The Polo and region of a person, if the person exists.
///
/// # Errors
/// Database errors.
pub async fn person_polo(
    conn: &mut PgConnection,
    person_id: Uuid,
) -> AppResult<Option<(Uuid, String)>> {
    Ok(
        sqlx::query_as("select polo_id, region_code from person where person_id = $1")
            .bind(person_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// All entries of a source, oldest first.
///
/// # Errors
/// Database errors.
pub async fn ledger(conn: &mut PgConnection, source_id: Uuid) -> AppResult<Vec<LedgerEntry>> {
    let sql = format!("select {ENTRY_COLUMNS} from ledger_entry where funding_source_id = $1 order by ledger_entry_id");
    Ok(sqlx::query_as(&sql).bind(source_id).fetch_all(conn).await?)
}

/// Integration budgets of a person.
///
/// # Errors
/// Database errors.
pub async fn sources_of_person(
    conn: &mut PgConnection,
    person_id: Uuid,
) -> AppResult<Vec<FundingSource>> {
    let sql = format!(
        "select {SOURCE_COLUMNS} from funding_source where person_id = $1 order by period_start"
    );
    Ok(sqlx::query_as(&sql).bind(person_id).fetch_all(conn).await?)
}

/// The person's Budget di Integrazione whose period covers `day` (the latest one, if periods
/// were ever made to overlap).
///
/// # Errors
/// Database errors.
pub async fn integration_budget_on(
    conn: &mut PgConnection,
    person_id: PersonId,
    day: chrono::NaiveDate,
) -> AppResult<Option<FundingSourceId>> {
    Ok(sqlx::query_scalar(
        "select funding_source_id from funding_source
         where kind = 'integration_budget' and person_id = $1
           and $2 between period_start and period_end
         order by period_start desc limit 1",
    )
    .bind(person_id)
    .bind(day)
    .fetch_optional(conn)
    .await?)
}

/// The region's transport fund whose period covers `day`.
///
/// # Errors
/// Database errors.
pub async fn transport_fund_on(
    conn: &mut PgConnection,
    region_code: &str,
    day: chrono::NaiveDate,
) -> AppResult<Option<FundingSourceId>> {
    Ok(sqlx::query_scalar(
        "select funding_source_id from funding_source
         where kind = 'transport_fund' and region_code = $1
           and $2 between period_start and period_end
         order by period_start desc, funding_source_id limit 1",
    )
    .bind(region_code)
    .bind(day)
    .fetch_optional(conn)
    .await?)
}

/// Publishes (or withdraws) the coarsened public GTFS feed of the lines: a programme setting.
///
/// # Errors
/// Database errors.
pub async fn set_gtfs_public_coarsened(conn: &mut PgConnection, public: bool) -> AppResult<()> {
    sqlx::query("update programme_config set gtfs_public_coarsened = $1")
        .bind(public)
        .execute(conn)
        .await?;
    Ok(())
}
