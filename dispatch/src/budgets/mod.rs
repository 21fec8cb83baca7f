//! Funding sources and their append-only ledger.
//!
//! A source is a person's Budget di Integrazione (split across four areas), the programme's
//! transport fund (with an optional per-person monthly cap) or an employer's contribution.
//! Entries are never updated or deleted: a correction is a new entry pointing at the charge it
//! corrects, and it can only give back (part of) what is left of that charge. No insert may
//! take a source over a cap, and caps bound the gross payouts (every charge, whatever was given
//! back later) as well as the net total, so corrections cannot make room for more charges: the
//! service locks the source, checks and inserts in one transaction, and a trigger in the
//! database checks again (`migrations/20261202000200_ledger_gross_caps.sql`).

pub mod db;
pub mod http;

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::non_blank;

/// Kind of funding source.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "funding_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FundingKind {
    /// A person's Budget di Integrazione.
    IntegrationBudget,
    /// The programme's transport fund.
    TransportFund,
    /// An employer's contribution (e.g. for a work line).
    EmployerContribution,
}

/// The four areas of a Budget di Integrazione.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
)]
#[sqlx(type_name = "budget_area", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BudgetArea {
    /// Housing.
    Housing,
    /// Social and health care.
    SocialHealth,
    /// Integration and orientation.
    IntegrationOrientation,
    /// Active labour policy.
    ActiveLabour,
}

impl BudgetArea {
    /// All four areas.
    pub const ALL: [Self; 4] = [
        Self::Housing,
        Self::SocialHealth,
        Self::IntegrationOrientation,
        Self::ActiveLabour,
    ];
}

/// Kind of ledger entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "ledger_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// A spend.
    Charge,
    /// A correction of an earlier entry.
    Correction,
}

/// The programme's rules for integration budgets (table `programme_config`).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct ProgrammeRules {
    /// Largest budget per person, cents.
    pub integration_budget_cap_cents: i64,
    /// Shortest period, months.
    pub integration_budget_min_months: i32,
    /// Longest period, months.
    pub integration_budget_max_months: i32,
}

/// A funding source to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewFundingSource {
    /// Region.
    pub region_code: String,
    /// Kind.
    pub kind: FundingKind,
    /// Name, e.g. "Fondo trasporti Su.Pr.Eme. 2 - Puglia".
    pub name: String,
    /// The person (integration budgets only).
    pub person_id: Option<Uuid>,
    /// The employer (employer contributions only).
    pub employer_name: Option<String>,
    /// Total cap in cents; integration budgets default to the programme's cap.
    pub cap_cents: Option<i64>,
    /// Per-person monthly cap in cents (transport fund only).
    pub person_monthly_cap_cents: Option<i64>,
    /// First day.
    pub period_start: NaiveDate,
    /// Last day (inclusive).
    pub period_end: NaiveDate,
    /// Split of an integration budget across the areas, cents; defaults to an even split.
    pub area_caps: Option<BTreeMap<BudgetArea, i64>>,
}

/// A validated funding source, ready to insert.
#[derive(Debug, Clone)]
pub struct ValidSource {
    /// The request, normalised.
    pub new: NewFundingSource,
    /// Total cap.
    pub cap_cents: i64,
    /// Area caps (integration budgets), empty otherwise.
    pub area_caps: BTreeMap<BudgetArea, i64>,
}

impl NewFundingSource {
    /// Checks the request against the programme's rules.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(mut self, rules: &ProgrammeRules) -> AppResult<ValidSource> {
        self.name = non_blank("name", &self.name)?;
        if self.period_end < self.period_start {
            return Err(AppError::invalid(
                "period_end",
                "the period ends before it starts",
            ));
        }
        let is_budget = self.kind == FundingKind::IntegrationBudget;
        if is_budget != self.person_id.is_some() {
            return Err(AppError::invalid(
                "person_id",
                "an integration budget, and only it, names a person",
            ));
        }
        let is_employer = self.kind == FundingKind::EmployerContribution;
        self.employer_name = self
            .employer_name
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        if is_employer != self.employer_name.is_some() {
            return Err(AppError::invalid(
                "employer_name",
                "an employer contribution, and only it, names an employer",
            ));
        }
        if self.person_monthly_cap_cents.is_some() && self.kind != FundingKind::TransportFund {
            return Err(AppError::invalid(
                "person_monthly_cap_cents",
                "only the transport fund has a per-person monthly cap",
            ));
        }
        if self.person_monthly_cap_cents.is_some_and(|c| c <= 0) {
            return Err(AppError::invalid(
                "person_monthly_cap_cents",
                "must be positive",
            ));
        }
        let cap = match (self.cap_cents, is_budget) {
            (Some(c), _) if c <= 0 => {
                return Err(AppError::invalid("cap_cents", "must be positive"))
            }
            (Some(c), true) if c > rules.integration_budget_cap_cents => {
                return Err(AppError::invalid(
                    "cap_cents",
                    format!(
                        "above the programme's cap of {} cents",
                        rules.integration_budget_cap_cents
                    ),
                ))
            }
            (Some(c), _) => c,
            (None, true) => rules.integration_budget_cap_cents,
            (None, false) => return Err(AppError::invalid("cap_cents", "give the total in cents")),
        };
        let area_caps = if is_budget {
            check_budget_period(self.period_start, self.period_end, rules)?;
            split_areas(self.area_caps.take(), cap)?
        } else if self.area_caps.is_some() {
            return Err(AppError::invalid(
                "area_caps",
                "only an integration budget is split by area",
            ));
        } else {
            BTreeMap::new()
        };
        Ok(ValidSource {
            new: self,
            cap_cents: cap,
            area_caps,
        })
    }
}

fn check_budget_period(start: NaiveDate, end: NaiveDate, rules: &ProgrammeRules) -> AppResult<()> {
    let after_end = end + Days::new(1);
    let months = |m: i32| start.checked_add_months(Months::new(u32::try_from(m).unwrap_or(0)));
    let (Some(min), Some(max)) = (
        months(rules.integration_budget_min_months),
        months(rules.integration_budget_max_months),
    ) else {
        return Err(AppError::invalid("period_end", "period out of range"));
    };
    if after_end < min || after_end > max {
        return Err(AppError::invalid(
            "period_end",
            format!(
                "an integration budget lasts {} to {} months (from {start}: end between {} and {})",
                rules.integration_budget_min_months,
                rules.integration_budget_max_months,
                min - Days::new(1),
                max - Days::new(1)
            ),
        ));
    }
    Ok(())
}

fn split_areas(
    given: Option<BTreeMap<BudgetArea, i64>>,
    cap: i64,
) -> AppResult<BTreeMap<BudgetArea, i64>> {
    let caps = given.unwrap_or_else(|| {
        let share = cap / 4;
        let mut m: BTreeMap<_, _> = BudgetArea::ALL.iter().map(|a| (*a, share)).collect();
        *m.get_mut(&BudgetArea::Housing).expect("all areas") += cap - share * 4;
        m
    });
    if let Some((a, _)) = caps.iter().find(|(_, c)| **c < 0) {
        return Err(AppError::invalid(
            format!("area_caps.{}", area_name(*a)),
            "must not be negative",
        ));
    }
    let total: i64 = caps.values().sum();
    if total > cap {
        return Err(AppError::invalid(
            "area_caps",
            format!("the areas add up to {total} cents, more than the cap {cap}"),
        ));
    }
    Ok(caps)
}

/// The snake_case name of an area.
#[must_use]
pub fn area_name(a: BudgetArea) -> &'static str {
    match a {
        BudgetArea::Housing => "housing",
        BudgetArea::SocialHealth => "social_health",
        BudgetArea::IntegrationOrientation => "integration_orientation",
        BudgetArea::ActiveLabour => "active_labour",
    }
}

/// A charge to write.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCharge {
    /// Amount, cents, > 0.
    pub amount_cents: i64,
    /// Area (integration budgets).
    pub area: Option<BudgetArea>,
    /// Person the charge is for (needed by a fund with a per-person cap).
    pub person_id: Option<Uuid>,
    /// Day of the spend.
    pub occurred_on: NaiveDate,
    /// What it was for.
    pub description: String,
    /// Caller's reference; a second charge with the same reference returns the first.
    pub external_ref: Option<String>,
}

/// A correction to write.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCorrection {
    /// Entry corrected.
    pub corrects_entry_id: i64,
    /// Amount, cents, negative: what is given back, at most what is left of the charge.
    pub amount_cents: i64,
    /// Why.
    pub description: String,
}

/// A ledger entry as returned by the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// Id (increasing).
    pub ledger_entry_id: i64,
    /// Source.
    pub funding_source_id: Uuid,
    /// Charge or correction.
    pub kind: LedgerKind,
    /// Amount, cents.
    pub amount_cents: i64,
    /// Area.
    pub area: Option<BudgetArea>,
    /// Person.
    pub person_id: Option<Uuid>,
    /// Corrected entry.
    pub corrects_entry_id: Option<i64>,
    /// Day.
    pub occurred_on: NaiveDate,
    /// Description.
    pub description: String,
    /// Caller's reference.
    pub external_ref: Option<String>,
    /// When it was written.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A source row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FundingSource {
    /// Region.
    pub region_code: String,
    /// Id.
    pub funding_source_id: Uuid,
    /// Kind.
    pub kind: FundingKind,
    /// Name.
    pub name: String,
    /// Person (integration budget).
    pub person_id: Option<Uuid>,
    /// Employer.
    pub employer_name: Option<String>,
    /// Cap, cents.
    pub cap_cents: i64,
    /// Per-person monthly cap, cents.
    pub person_monthly_cap_cents: Option<i64>,
    /// First day.
    pub period_start: NaiveDate,
    /// Last day.
    pub period_end: NaiveDate,
}

/// What is left of an area.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AreaBalance {
    /// Area.
    pub area: BudgetArea,
    /// Cap, cents.
    pub cap_cents: i64,
    /// Spent, net of corrections, cents.
    pub spent_cents: i64,
    /// Paid out, gross (every charge, before corrections), cents: what the cap bounds.
    pub charged_cents: i64,
    /// What can still be charged, cents: the cap less the gross payouts.
    pub remaining_cents: i64,
}

/// A source with what is spent and left.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// The source.
    #[serde(flatten)]
    pub source: FundingSource,
    /// Spent, net of corrections, cents.
    pub spent_cents: i64,
    /// Paid out, gross (every charge, before corrections), cents: what the caps bound.
    pub charged_cents: i64,
    /// What can still be charged, cents: the cap less the gross payouts.
    pub remaining_cents: i64,
    /// Per area (integration budgets).
    pub areas: Vec<AreaBalance>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ProgrammeRules = ProgrammeRules {
        integration_budget_cap_cents: 1_200_000,
        integration_budget_min_months: 2,
        integration_budget_max_months: 9,
    };

    fn budget(start: &str, end: &str) -> NewFundingSource {
        NewFundingSource {
            region_code: "puglia".into(),
            kind: FundingKind::IntegrationBudget,
            name: "BdI".into(),
            person_id: Some(Uuid::nil()),
            employer_name: None,
            cap_cents: None,
            person_monthly_cap_cents: None,
            period_start: start.parse().unwrap(),
            period_end: end.parse().unwrap(),
            area_caps: None,
        }
    }

    fn field(r: AppResult<ValidSource>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_inverted_period_names_period_end() {
        assert_eq!(
            field(budget("2026-06-01", "2026-05-01").validate(&RULES)),
            "period_end"
        );
    }

    #[test]
    fn a_budget_defaults_to_the_programme_cap_split_evenly() {
        let v = budget("2026-01-01", "2026-06-30").validate(&RULES).unwrap();
        assert_eq!(v.cap_cents, 1_200_000);
        assert_eq!(v.area_caps.values().sum::<i64>(), 1_200_000);
        assert_eq!(v.area_caps[&BudgetArea::ActiveLabour], 300_000);
    }

    #[test]
    fn budget_periods_of_two_to_nine_months_are_accepted_and_others_refused() {
        assert!(budget("2026-01-01", "2026-02-28").validate(&RULES).is_ok());
        assert!(budget("2026-01-01", "2026-09-30").validate(&RULES).is_ok());
        assert_eq!(
            field(budget("2026-01-01", "2026-02-27").validate(&RULES)),
            "period_end"
        );
        assert_eq!(
            field(budget("2026-01-01", "2026-10-01").validate(&RULES)),
            "period_end"
        );
    }

    #[test]
    fn a_budget_above_twelve_thousand_euros_is_refused() {
        let b = NewFundingSource {
            cap_cents: Some(1_200_001),
            ..budget("2026-01-01", "2026-06-30")
        };
        assert_eq!(field(b.validate(&RULES)), "cap_cents");
    }

    #[test]
    fn area_caps_above_the_total_are_refused() {
        let caps = BudgetArea::ALL.iter().map(|a| (*a, 400_000)).collect();
        let b = NewFundingSource {
            area_caps: Some(caps),
            ..budget("2026-01-01", "2026-06-30")
        };
        assert_eq!(field(b.validate(&RULES)), "area_caps");
    }
}
