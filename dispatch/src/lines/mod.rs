//! Linee lavoro: scheduled work lines from settlements to farms. A line has ordered stops with
//! local (Europe/Rome) times, operating days (ISO 1 = Monday .. 7 = Sunday) within a season, and
//! a capacity; people subscribe through their case for a date range and a segment
//! `[board_seq, alight_seq)`; each operating day becomes one run (made by `runs::line_runs`).
//!
//! Invariants kept here, in `seats.rs` (the pure seat rules) and in `db/`:
//! - a line has at least two stops with strictly increasing times (so a line never crosses
//!   midnight and the drop-off is always after the pickup);
//! - on no operating day and no leg of the line do more active subscriptions travel than the
//!   capacity: a subscription is checked under a lock on the line row, against the peak load
//!   over every (day, leg) it would use ([`peak_load`]);
//! - subscriber identities are case data: only the case's Polo sees them, and reads are audited.

pub mod db;
pub mod http;
mod seats;

pub use seats::{first_day_with_seat, load_on, peak_load, segments_overlap, Schedule, Span};

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::non_blank;

/// Whether a line's timetable (stop times `HH:MM`, in order) leaves its driver a break
/// ([`crate::rest::breaks_in_waits`]): a stretch of more than 4 h 30 between two stops 45
/// minutes or more apart (a wait, as a run of the line sees it once nobody is on board) is a
/// timetable no subscription can mend. The best case is taken: every such wait empty.
#[must_use]
pub fn breaks_fit<'a>(times: impl IntoIterator<Item = &'a str>) -> bool {
    let secs: Vec<f64> = times
        .into_iter()
        .filter_map(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
        .map(|t| f64::from(t.num_seconds_from_midnight()))
        .collect();
    let (Some(&first), Some(&last)) = (secs.first(), secs.last()) else {
        return true;
    };
    let gaps: Vec<(f64, f64)> = secs.windows(2).map(|w| (w[0], w[1])).collect();
    crate::rest::breaks_in_waits(first, last, &gaps).1
}

/// A stop of a line to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewStop {
    /// The place (settlement, farm, packing house...).
    pub place_id: Uuid,
    /// A meeting point of that place, where people wait.
    pub meeting_point_id: Option<Uuid>,
    /// Local (Europe/Rome) time at the stop, `HH:MM`.
    pub stop_time: String,
}

/// A line to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLine {
    /// Name, e.g. "Borgo Mezzanone - Tricarico".
    pub name: String,
    /// Region.
    pub region_code: String,
    /// First day of the season.
    pub season_start: NaiveDate,
    /// Last day of the season.
    pub season_end: NaiveDate,
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub operating_days: Vec<i16>,
    /// Seats; defaults to the vehicle's seats.
    pub capacity: Option<i16>,
    /// Wheelchair places; default the vehicle's (none without a vehicle), at most the
    /// vehicle's.
    pub wheelchair_places: Option<i16>,
    /// The vehicle that drives the line.
    pub vehicle_id: Option<Uuid>,
    /// The employer contribution (or fund) paying for the line's rides.
    pub funding_source_id: Option<Uuid>,
    /// Ordered stops, at least two.
    pub stops: Vec<NewStop>,
}

/// A line's new fields (`POST /api/lines/{line_id}/edit`): everything a creation gives but the
/// region, checked by the same rules ([`NewLine::validate`]).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LineEdit {
    /// Name.
    pub name: String,
    /// First day of the season; not after a day whose run is already made.
    pub season_start: NaiveDate,
    /// Last day of the season; not before a day whose run is already made.
    pub season_end: NaiveDate,
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub operating_days: Vec<i16>,
    /// Seats; defaults to the vehicle's seats. Not below the seats already subscribed on any
    /// day from today.
    pub capacity: Option<i16>,
    /// Wheelchair places; default the vehicle's (none without a vehicle).
    pub wheelchair_places: Option<i16>,
    /// The vehicle that drives the line.
    pub vehicle_id: Option<Uuid>,
    /// The employer contribution (or fund) paying for the line's rides.
    pub funding_source_id: Option<Uuid>,
    /// Ordered stops, at least two. Once the line has subscriptions, the same places and
    /// meeting points in the same order (only the times may change).
    pub stops: Vec<NewStop>,
}

impl LineEdit {
    /// The same fields as a creation in `region_code`, to be checked by the same rules.
    #[must_use]
    pub fn into_new(self, region_code: String) -> NewLine {
        NewLine {
            name: self.name,
            region_code,
            season_start: self.season_start,
            season_end: self.season_end,
            operating_days: self.operating_days,
            capacity: self.capacity,
            wheelchair_places: self.wheelchair_places,
            vehicle_id: self.vehicle_id,
            funding_source_id: self.funding_source_id,
            stops: self.stops,
        }
    }
}

/// A stop whose time has been parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStop {
    /// Place.
    pub place_id: Uuid,
    /// Meeting point of the place.
    pub meeting_point_id: Option<Uuid>,
    /// Local time.
    pub stop_time: NaiveTime,
}

/// A line whose fields have been checked (the references are checked by `db::insert_line`).
#[derive(Debug, Clone)]
pub struct ValidLine {
    /// Name, trimmed.
    pub name: String,
    /// Region.
    pub region_code: String,
    /// When it runs, with sorted, distinct weekdays.
    pub schedule: Schedule,
    /// Seats, if given.
    pub capacity: Option<i16>,
    /// Wheelchair places, when given.
    pub wheelchair_places: Option<i16>,
    /// Vehicle.
    pub vehicle_id: Option<Uuid>,
    /// Funding source.
    pub funding_source_id: Option<Uuid>,
    /// Stops in order.
    pub stops: Vec<ValidStop>,
}

/// SQL for the local time of line stop `alias` (a `work_line_stop` row) on the date `date`
/// (an SQL expression): its heat-ordinance time when the day is marked for the line and the
/// line has an alternative timetable, its normal time otherwise. Every reader of a line's
/// times on a day (its run, its subscribers' rides) uses this one rule.
#[must_use]
pub fn stop_time_on_sql(alias: &str, date: &str) -> String {
    format!(
        "(case when {alias}.heat_stop_time is not null and exists (
             select 1 from line_heat_day hd where hd.line_id = {alias}.line_id and hd.service_date = {date})
           then {alias}.heat_stop_time else {alias}.stop_time end)"
    )
}

/// Checks a heat-ordinance timetable: one `HH:MM` per stop of the line, strictly increasing.
///
/// # Errors
/// A validation error naming `stop_times` or `stop_times.<i>`.
pub fn validate_heat_times(times: &[String], stops: usize) -> AppResult<Vec<NaiveTime>> {
    if times.len() != stops {
        return Err(AppError::invalid(
            "stop_times",
            format!(
                "one time per stop of the line: {stops}, not {}",
                times.len()
            ),
        ));
    }
    let mut out: Vec<NaiveTime> = Vec::with_capacity(times.len());
    for (i, t) in times.iter().enumerate() {
        let field = format!("stop_times.{i}");
        let t = parse_stop_time(t)
            .ok_or_else(|| AppError::invalid(&field, "use HH:MM, e.g. \"05:30\""))?;
        if out.last().is_some_and(|prev| t <= *prev) {
            return Err(AppError::invalid(
                field,
                "must be after the previous stop's time; a line does not cross midnight",
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// Parses `HH:MM` (24 h).
#[must_use]
pub fn parse_stop_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// Checks the stops: at least two, times `HH:MM` and strictly increasing.
///
/// # Errors
/// A validation error naming `stops` or `stops.<i>.stop_time`.
pub fn validate_stops(stops: &[NewStop]) -> AppResult<Vec<ValidStop>> {
    if stops.len() < 2 {
        return Err(AppError::invalid(
            "stops",
            "a line needs at least two stops",
        ));
    }
    if stops.len() > 50 {
        return Err(AppError::invalid("stops", "at most 50 stops"));
    }
    let mut out: Vec<ValidStop> = Vec::with_capacity(stops.len());
    for (i, s) in stops.iter().enumerate() {
        let field = format!("stops.{i}.stop_time");
        let t = parse_stop_time(&s.stop_time)
            .ok_or_else(|| AppError::invalid(&field, "use HH:MM, e.g. \"05:30\""))?;
        if let Some(prev) = out.last() {
            if t <= prev.stop_time {
                return Err(AppError::invalid(
                    field,
                    format!(
                        "must be after the previous stop's time ({}); a line does not cross midnight",
                        prev.stop_time.format("%H:%M")
                    ),
                ));
            }
        }
        out.push(ValidStop {
            place_id: s.place_id,
            meeting_point_id: s.meeting_point_id,
            stop_time: t,
        });
    }
    Ok(out)
}

impl NewLine {
    /// Checks every field that needs no database, naming the first wrong one.
    ///
    /// # Errors
    /// A validation error.
    pub fn validate(self) -> AppResult<ValidLine> {
        let name = non_blank("name", &self.name)?;
        if self.season_end < self.season_start {
            return Err(AppError::invalid(
                "season_end",
                "the season ends before it starts",
            ));
        }
        if self.operating_days.is_empty() {
            return Err(AppError::invalid(
                "operating_days",
                "give at least one ISO weekday (1 = Monday .. 7 = Sunday)",
            ));
        }
        let mut days: Vec<i16> = Vec::with_capacity(self.operating_days.len());
        for (i, d) in self.operating_days.iter().enumerate() {
            if !(1..=7).contains(d) || days.contains(d) {
                return Err(AppError::invalid(
                    format!("operating_days.{i}"),
                    "distinct ISO weekdays, 1 = Monday .. 7 = Sunday",
                ));
            }
            days.push(*d);
        }
        days.sort_unstable();
        match (self.capacity, self.vehicle_id) {
            (Some(c), _) if c <= 0 => {
                return Err(AppError::invalid("capacity", "must be at least 1"))
            }
            (None, None) => {
                return Err(AppError::invalid(
                    "capacity",
                    "give a capacity, or a vehicle whose seats are the capacity",
                ))
            }
            _ => {}
        }
        if self.wheelchair_places.is_some_and(|w| w < 0) {
            return Err(AppError::invalid("wheelchair_places", "0 or more"));
        }
        let stops = validate_stops(&self.stops)?;
        Ok(ValidLine {
            name,
            region_code: self.region_code,
            schedule: Schedule {
                season_start: self.season_start,
                season_end: self.season_end,
                operating_days: days,
            },
            capacity: self.capacity,
            wheelchair_places: self.wheelchair_places,
            vehicle_id: self.vehicle_id,
            funding_source_id: self.funding_source_id,
            stops,
        })
    }
}

/// A subscription to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewSubscription {
    /// The person's case (of the caller's Polo).
    pub case_id: Uuid,
    /// Stop where the person boards.
    pub board_seq: i16,
    /// Stop where the person gets off.
    pub alight_seq: i16,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_to: NaiveDate,
}

impl NewSubscription {
    /// Checks the subscription against the line's schedule and number of stops.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(&self, schedule: &Schedule, stop_count: usize) -> AppResult<Span> {
        let last = i16::try_from(stop_count).unwrap_or(i16::MAX) - 1;
        if !(0..last).contains(&self.board_seq) {
            return Err(AppError::invalid(
                "board_seq",
                format!("board at a stop 0..{}, before the last one", last - 1),
            ));
        }
        if self.alight_seq <= self.board_seq || self.alight_seq > last {
            return Err(AppError::invalid(
                "alight_seq",
                format!("get off at a stop after board_seq, at most {last}"),
            ));
        }
        if self.valid_to < self.valid_from {
            return Err(AppError::invalid("valid_to", "ends before valid_from"));
        }
        if self.valid_from < schedule.season_start || self.valid_from > schedule.season_end {
            return Err(AppError::invalid(
                "valid_from",
                format!(
                    "outside the season {} .. {}",
                    schedule.season_start, schedule.season_end
                ),
            ));
        }
        if self.valid_to > schedule.season_end {
            return Err(AppError::invalid(
                "valid_to",
                format!("after the season's end {}", schedule.season_end),
            ));
        }
        if schedule
            .next_operating_day(self.valid_from, self.valid_to)
            .is_none()
        {
            return Err(AppError::invalid(
                "valid_to",
                "the line does not run on any day of this range",
            ));
        }
        Ok(Span {
            board_seq: self.board_seq,
            alight_seq: self.alight_seq,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
        })
    }
}

/// What a subscription may be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "subscription_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// The person travels on the line's operating days in the range.
    Active,
    /// Ended: no longer travels, the seat is free.
    Ended,
}

/// A stop of a line as the API returns it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LineStop {
    /// Position in the line, from 0.
    pub seq: i16,
    /// Place.
    pub place_id: Uuid,
    /// Place name.
    pub place_name: String,
    /// Meeting point, if any.
    pub meeting_point_id: Option<Uuid>,
    /// Meeting point name.
    pub meeting_point_name: Option<String>,
    /// Local time, `HH:MM`.
    pub stop_time: String,
    /// Longitude of the meeting point, or of the place.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// A line as the API returns it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Line {
    /// Region.
    pub region_code: String,
    /// Id.
    pub line_id: Uuid,
    /// Name.
    pub name: String,
    /// First day of the season.
    pub season_start: NaiveDate,
    /// Last day of the season.
    pub season_end: NaiveDate,
    /// ISO weekdays.
    pub operating_days: Vec<i16>,
    /// Seats.
    pub capacity: i16,
    /// Wheelchair places.
    pub wheelchair_places: i16,
    /// Vehicle.
    pub vehicle_id: Option<Uuid>,
    /// Vehicle label.
    pub vehicle_label: Option<String>,
    /// Whether the vehicle is in service (a line's run needs an active vehicle).
    pub vehicle_active: Option<bool>,
    /// Funding source.
    pub funding_source_id: Option<Uuid>,
}

impl Line {
    /// The line's schedule.
    #[must_use]
    pub fn schedule(&self) -> Schedule {
        Schedule {
            season_start: self.season_start,
            season_end: self.season_end,
            operating_days: self.operating_days.clone(),
        }
    }
}

/// A subscription as the case's Polo sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Subscription {
    /// Id.
    pub subscription_id: Uuid,
    /// Line.
    pub line_id: Uuid,
    /// Case.
    pub case_id: Uuid,
    /// The person's name (case data).
    pub known_as: String,
    /// Boarding stop.
    pub board_seq: i16,
    /// Alighting stop.
    pub alight_seq: i16,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_to: NaiveDate,
    /// Status.
    pub status: SubscriptionStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn weekdays() -> Schedule {
        Schedule {
            season_start: d("2027-06-01"),
            season_end: d("2027-09-30"),
            operating_days: vec![1, 2, 3, 4, 5],
        }
    }

    fn stop(t: &str) -> NewStop {
        NewStop {
            place_id: Uuid::nil(),
            meeting_point_id: None,
            stop_time: t.into(),
        }
    }

    fn field_of<T: std::fmt::Debug>(r: AppResult<T>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn stops_need_two_increasing_hhmm_times() {
        assert_eq!(field_of(validate_stops(&[stop("05:00")])), "stops");
        assert_eq!(
            field_of(validate_stops(&[stop("05:00"), stop("5:30")])),
            "stops.1.stop_time"
        );
        assert_eq!(
            field_of(validate_stops(&[
                stop("05:00"),
                stop("06:00"),
                stop("06:00")
            ])),
            "stops.2.stop_time"
        );
        assert_eq!(
            field_of(validate_stops(&[stop("24:00"), stop("06:00")])),
            "stops.0.stop_time"
        );
        let ok = validate_stops(&[stop("05:00"), stop("05:40"), stop("06:10")]).unwrap();
        assert_eq!(ok[2].stop_time, NaiveTime::from_hms_opt(6, 10, 0).unwrap());
    }

    fn line() -> NewLine {
        NewLine {
            name: "Borgo Mezzanone - Tricarico".into(),
            region_code: "puglia".into(),
            season_start: d("2027-06-01"),
            season_end: d("2027-09-30"),
            operating_days: vec![5, 1, 2],
            capacity: Some(8),
            wheelchair_places: None,
            vehicle_id: None,
            funding_source_id: None,
            stops: vec![stop("05:00"), stop("05:30")],
        }
    }

    #[test]
    fn line_fields_are_checked_by_name() {
        let table: [(&str, NewLine); 5] = [
            (
                "season_end",
                NewLine {
                    season_end: d("2027-05-01"),
                    ..line()
                },
            ),
            (
                "operating_days.1",
                NewLine {
                    operating_days: vec![1, 8],
                    ..line()
                },
            ),
            (
                "operating_days.1",
                NewLine {
                    operating_days: vec![2, 2],
                    ..line()
                },
            ),
            (
                "capacity",
                NewLine {
                    capacity: None,
                    ..line()
                },
            ),
            (
                "name",
                NewLine {
                    name: " ".into(),
                    ..line()
                },
            ),
        ];
        for (field, l) in table {
            assert_eq!(field_of(l.validate()), field);
        }
        assert_eq!(
            line().validate().unwrap().schedule.operating_days,
            [1, 2, 5]
        );
    }

    #[test]
    fn a_subscription_must_fit_the_line_and_the_season() {
        let s = weekdays();
        let sub = |board, alight, from: &str, to: &str| NewSubscription {
            case_id: Uuid::nil(),
            board_seq: board,
            alight_seq: alight,
            valid_from: d(from),
            valid_to: d(to),
        };
        let table = [
            ("alight_seq", sub(1, 1, "2027-06-01", "2027-06-30")),
            ("alight_seq", sub(0, 3, "2027-06-01", "2027-06-30")),
            ("board_seq", sub(2, 3, "2027-06-01", "2027-06-30")),
            ("valid_from", sub(0, 1, "2027-05-01", "2027-06-30")),
            ("valid_to", sub(0, 1, "2027-06-01", "2027-10-30")),
            ("valid_to", sub(0, 1, "2027-06-30", "2027-06-01")),
            ("valid_to", sub(0, 1, "2027-06-12", "2027-06-13")), // a weekend only
        ];
        for (field, s2) in table {
            assert_eq!(field_of(s2.validate(&s, 3)), field, "{s2:?}");
        }
        assert!(sub(0, 2, "2027-06-01", "2027-06-30")
            .validate(&s, 3)
            .is_ok());
    }
}
