//! Reports: what the programme must report (service and programme indicators), the open data
//! of the lines (GTFS and GTFS-Flex), and oversight flags for signs that the service is abused.
//!
//! Every figure is an aggregation computed in SQL over the other modules' tables; this module
//! writes only its own tables (workplace declarations, oversight flags and their reviews).
//! The definitions of the indicators are written once, in `docs/reporting.md`, and the OpenAPI
//! descriptions point there.
//!
//! Invariants:
//! - no export contains a person id, a name or a case code; the programme indicators are
//!   counts per month and Polo in which a cell counting fewer people than
//!   `programme_config.report_min_cell_people` is suppressed, together with a complementary
//!   cell when a total would give it away ([`suppress`]);
//! - a coordinator sees the figures of their own Polo only; the region's figures and other Poli
//!   are for the programme admin; drivers, case workers and mediators get 403;
//! - oversight evidence names cases (never people): only the case's Polo coordinator sees it,
//!   and every case named in evidence shown is an audited case read.
//!
//! `db.rs` holds the indicator SQL, `http.rs` the routes, `gtfs.rs` the feed, `oversight.rs`
//! the flags.

pub mod db;
pub mod gtfs;
pub mod http;
pub mod oversight;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};

/// Where the indicator definitions are written down.
pub const DEFINITIONS: &str = "docs/reporting.md";

/// A place counts as a Polo's premises within this many metres of a Polo (the same radius the
/// funding rules of `rides` use).
pub const POLO_RADIUS_M: f64 = 150.0;

/// The longest period a report may cover, days.
pub const MAX_PERIOD_DAYS: i64 = 731;

/// Ride categories that count as "a ride to a service" in the programme indicators.
pub const SERVICE_CATEGORIES: [&str; 3] = ["health", "questura", "job_centre"];

/// Roles that may read reports.
pub const REPORT_ROLES: &[Role] = &[Role::ProgrammeAdmin, Role::PoloCoordinator];

/// What a report covers, checked against who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Scope {
    /// Region.
    pub region_code: String,
    /// First service day, inclusive.
    pub from: NaiveDate,
    /// Last service day, inclusive.
    pub to: NaiveDate,
    /// One Polo (the people whose case is at that Polo), or the whole region.
    pub polo_id: Option<Uuid>,
    /// One work line (rides on its runs or booked through its subscriptions), or all rides.
    pub line_id: Option<Uuid>,
}

/// The raw query parameters of a report, all text so that every error names its parameter.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawScope {
    /// `region`.
    pub region: Option<String>,
    /// `from` (YYYY-MM-DD).
    pub from: Option<String>,
    /// `to` (YYYY-MM-DD).
    pub to: Option<String>,
    /// `polo_id`.
    pub polo_id: Option<String>,
    /// `line_id`.
    pub line_id: Option<String>,
    /// `format`: `json` (default) or `csv`.
    pub format: Option<String>,
    /// `delimiter` of the CSV: `comma` (default) or `semicolon` (Italian spreadsheets).
    pub delimiter: Option<String>,
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// CSV (RFC 4180, UTF-8 with a byte-order mark so that spreadsheets read accents).
    Csv(u8),
}

fn parse_date(field: &str, v: Option<&str>) -> AppResult<NaiveDate> {
    let v = v.ok_or_else(|| AppError::invalid(field, "required (YYYY-MM-DD)"))?;
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, format!("{v:?} is not a date (YYYY-MM-DD)")))
}

fn parse_uuid(field: &str, v: Option<&str>) -> AppResult<Option<Uuid>> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(s.trim())
                .map_err(|_| AppError::invalid(field, format!("{s:?} is not a UUID")))
        })
        .transpose()
}

impl RawScope {
    /// The output format.
    ///
    /// # Errors
    /// A validation error on `format` or `delimiter`.
    pub fn format(&self) -> AppResult<Format> {
        let delimiter = match self.delimiter.as_deref() {
            None | Some("comma") => b',',
            Some("semicolon") => b';',
            Some(other) => {
                return Err(AppError::invalid(
                    "delimiter",
                    format!("{other:?}: one of comma, semicolon"),
                ))
            }
        };
        match self.format.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv(delimiter)),
            Some(other) => Err(AppError::invalid(
                "format",
                format!("{other:?}: one of json, csv"),
            )),
        }
    }

    /// Checks the parameters and the caller's right to them: admins see any Polo of their
    /// region or the whole region; a coordinator only their own Polo (it is the default);
    /// other roles nothing.
    ///
    /// # Errors
    /// 403 for a role or a Polo the caller may not see, 422 naming the parameter.
    pub fn resolve(&self, staff: &Staff) -> AppResult<Scope> {
        staff.require(REPORT_ROLES)?;
        let region = self
            .region
            .as_deref()
            .ok_or_else(|| AppError::invalid("region", "required"))?;
        staff.require_region("region", region)?;
        let from = parse_date("from", self.from.as_deref())?;
        let to = parse_date("to", self.to.as_deref())?;
        if to < from {
            return Err(AppError::invalid("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(AppError::invalid(
                "to",
                format!("a report covers at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        let mut polo_id = parse_uuid("polo_id", self.polo_id.as_deref())?;
        if staff.role == Role::PoloCoordinator {
            let own = staff.case_polo()?;
            match polo_id {
                Some(p) if p != own => {
                    return Err(AppError::Forbidden(
                        "a coordinator sees the figures of their own Polo only".into(),
                    ))
                }
                _ => polo_id = Some(own),
            }
        }
        Ok(Scope {
            region_code: region.to_owned(),
            from,
            to,
            polo_id,
            line_id: parse_uuid("line_id", self.line_id.as_deref())?,
        })
    }
}

/// One cell of the programme indicators before suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Month, `YYYY-MM`.
    pub month: String,
    /// The Polo, or `None` for the region's total.
    pub polo_id: Option<Uuid>,
    /// Indicator name.
    pub indicator: String,
    /// Breakdown within the indicator (`""` when none).
    pub breakdown: String,
    /// The figure.
    pub value: i64,
    /// Distinct people behind the figure.
    pub people: i64,
}

/// Why a cell is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Suppressed {
    /// It counts fewer people than the threshold.
    SmallCell,
    /// It would let a suppressed cell be worked out from a published total.
    Complementary,
}

/// Primary and complementary suppression of cells.
///
/// Primary: a cell counting `1..min_people-1` people is suppressed. Complementary: within a
/// group of the same month, indicator and breakdown, the Polo cells add up to the region's
/// cell; when the region's cell is published and exactly one Polo cell is suppressed, the Polo
/// cell with the fewest people among the other non-empty published ones is suppressed too
/// (repeated until no group has a single suppressed cell behind a published total). If no such
/// cell exists, the total is suppressed instead.
///
/// ```
/// use dispatch::reports::{suppress, Cell, Suppressed};
/// let cell = |polo: Option<u128>, people| Cell { month: "2026-11".into(),
///     polo_id: polo.map(uuid::Uuid::from_u128), indicator: "people_transported".into(),
///     breakdown: String::new(), value: people, people };
/// let cells = [cell(None, 14), cell(Some(1), 2), cell(Some(2), 5), cell(Some(3), 7)];
/// let s = suppress(&cells, 5);
/// assert_eq!(s, [None, Some(Suppressed::SmallCell), Some(Suppressed::Complementary), None]);
/// ```
#[must_use]
pub fn suppress(cells: &[Cell], min_people: i64) -> Vec<Option<Suppressed>> {
    let mut out: Vec<Option<Suppressed>> = cells
        .iter()
        .map(|c| (c.people > 0 && c.people < min_people).then_some(Suppressed::SmallCell))
        .collect();
    let mut groups: std::collections::BTreeMap<(&str, &str, &str), Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        groups
            .entry((&c.month, &c.indicator, &c.breakdown))
            .or_default()
            .push(i);
    }
    for members in groups.values() {
        let Some(&total) = members.iter().find(|&&i| cells[i].polo_id.is_none()) else {
            continue;
        };
        loop {
            if out[total].is_some() {
                break;
            }
            let parts: Vec<usize> = members.iter().copied().filter(|&i| i != total).collect();
            let hidden = parts.iter().filter(|&&i| out[i].is_some()).count();
            if hidden != 1 {
                break;
            }
            let partner = parts
                .iter()
                .copied()
                .filter(|&i| out[i].is_none() && cells[i].people > 0)
                .min_by_key(|&i| (cells[i].people, cells[i].polo_id));
            match partner {
                Some(p) => out[p] = Some(Suppressed::Complementary),
                None => out[total] = Some(Suppressed::Complementary),
            }
        }
    }
    out
}

/// Writes rows as CSV (RFC 4180 quoting), preceded by a UTF-8 byte-order mark so that
/// spreadsheets open accented names correctly.
#[must_use]
pub fn to_csv(delimiter: u8, header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let d = char::from(delimiter);
    let field = |s: &str| {
        if s.contains(d) || s.contains('"') || s.contains('\n') || s.contains('\r') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::from("\u{feff}");
    let line = |cols: Vec<String>| cols.join(&d.to_string()) + "\r\n";
    out.push_str(&line(header.iter().map(|h| field(h)).collect()));
    for r in rows {
        out.push_str(&line(r.iter().map(|c| field(c)).collect()));
    }
    out.into_bytes()
}

/// A number for a CSV cell: integers without decimals, others with at most 4.
#[must_use]
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Mean of `xs`, `None` when empty.
#[must_use]
pub fn mean(xs: &[f64]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let n = xs.len() as f64;
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / n)
}

/// The 95th percentile by nearest rank: the smallest value with at least 95% of the values at
/// or below it (`None` when empty).
///
/// ```
/// use dispatch::reports::p95;
/// let xs: Vec<f64> = (1..=20).map(f64::from).collect();
/// assert_eq!(p95(&xs), Some(19.0));
/// assert_eq!(p95(&[3.0]), Some(3.0));
/// ```
#[must_use]
pub fn p95(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    // Nearest rank: ceil(0.95 n), 1-based; computed on integers to avoid float rounding.
    let rank = (v.len() * 95).div_ceil(100).max(1);
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(month: &str, polo: Option<u128>, people: i64) -> Cell {
        Cell {
            month: month.into(),
            polo_id: polo.map(Uuid::from_u128),
            indicator: "people_transported".into(),
            breakdown: String::new(),
            value: people,
            people,
        }
    }

    #[test]
    fn small_cells_are_suppressed_and_zero_is_not() {
        let cells = [
            cell("m", Some(1), 0),
            cell("m", Some(2), 4),
            cell("m", Some(3), 5),
        ];
        assert_eq!(
            suppress(&cells, 5),
            [None, Some(Suppressed::SmallCell), None]
        );
    }

    #[test]
    fn a_single_hidden_cell_behind_a_total_gets_a_partner() {
        let cells = [
            cell("m", None, 20),
            cell("m", Some(1), 3),
            cell("m", Some(2), 9),
            cell("m", Some(3), 8),
            cell("m", Some(4), 0),
        ];
        let s = suppress(&cells, 5);
        assert_eq!(s[1], Some(Suppressed::SmallCell));
        assert_eq!(s[3], Some(Suppressed::Complementary), "the smallest other");
        assert_eq!((s[0], s[2], s[4]), (None, None, None));
    }

    #[test]
    fn a_lone_hidden_cell_hides_its_total() {
        let cells = [cell("m", None, 3), cell("m", Some(1), 3)];
        assert_eq!(suppress(&cells, 5), [Some(Suppressed::SmallCell); 2]);
        let cells = [
            cell("m", None, 9),
            cell("m", Some(1), 3),
            cell("m", Some(2), 0),
        ];
        let s = suppress(&cells, 5);
        assert_eq!(s[0], Some(Suppressed::Complementary));
    }

    #[test]
    fn two_hidden_cells_need_no_partner_and_months_are_separate() {
        let cells = [
            cell("a", None, 12),
            cell("a", Some(1), 2),
            cell("a", Some(2), 3),
            cell("a", Some(3), 7),
            cell("b", None, 12),
            cell("b", Some(1), 12),
        ];
        let s = suppress(&cells, 5);
        assert_eq!(
            s,
            [
                None,
                Some(Suppressed::SmallCell),
                Some(Suppressed::SmallCell),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let out = to_csv(
            b',',
            &["a", "b"],
            &[vec!["x,y".into(), "say \"hi\"".into()]],
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\u{feff}a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n");
        let semi = String::from_utf8(to_csv(b';', &["a"], &[vec!["x,y".into()]])).unwrap();
        assert_eq!(semi, "\u{feff}a\r\nx,y\r\n");
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(2.0 / 3.0), "0.6667");
    }

    #[test]
    fn percentile_by_nearest_rank() {
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[5.0, 1.0, 3.0]), Some(5.0));
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&xs), Some(95.0));
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }
}
