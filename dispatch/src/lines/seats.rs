//! When a line runs and how full it is: the season and weekdays of a line ([`Schedule`]), the
//! days and legs a subscription uses ([`Span`]), and the peak load that a new subscription
//! must not push over the capacity. Pure functions, no I/O.

use chrono::{Datelike, Days, NaiveDate};

/// When a line runs: a season and ISO weekdays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// First day of the season.
    pub season_start: NaiveDate,
    /// Last day of the season.
    pub season_end: NaiveDate,
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub operating_days: Vec<i16>,
}

impl Schedule {
    /// Whether the line runs on `day`: in season and on one of its weekdays.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use dispatch::lines::Schedule;
    /// let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    /// let s = Schedule { season_start: d("2027-06-01"), season_end: d("2027-09-30"),
    ///                    operating_days: vec![1, 2, 3, 4, 5] };
    /// assert!(s.operates_on(d("2027-06-07")));   // a Monday
    /// assert!(!s.operates_on(d("2027-06-13")));  // a Sunday
    /// assert!(!s.operates_on(d("2027-10-04")));  // a Monday after the season
    /// ```
    #[must_use]
    pub fn operates_on(&self, day: NaiveDate) -> bool {
        let iso = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        self.season_start <= day && day <= self.season_end && self.operating_days.contains(&iso)
    }

    /// The first operating day in `from..=until`, if any.
    #[must_use]
    pub fn next_operating_day(&self, from: NaiveDate, until: NaiveDate) -> Option<NaiveDate> {
        let until = until.min(self.season_end);
        let mut day = from.max(self.season_start);
        // At most a week of steps: the weekdays repeat.
        for _ in 0..7 {
            if day > until {
                return None;
            }
            if self.operates_on(day) {
                return Some(day);
            }
            day = day.checked_add_days(Days::new(1))?;
        }
        None
    }
}

/// Whether the segments `[a.0, a.1)` and `[b.0, b.1)` of a line share a leg.
#[must_use]
pub fn segments_overlap(a: (i16, i16), b: (i16, i16)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// A subscription's use of a line: which legs, which days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Span {
    /// Stop where the person boards.
    pub board_seq: i16,
    /// Stop where the person gets off (after `board_seq`).
    pub alight_seq: i16,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_to: NaiveDate,
}

impl Span {
    fn covers(&self, day: NaiveDate, leg: i16) -> bool {
        self.valid_from <= day
            && day <= self.valid_to
            && self.board_seq <= leg
            && leg < self.alight_seq
    }
}

/// People on the busiest leg of `board..alight` on `day`.
#[must_use]
pub fn load_on(existing: &[Span], day: NaiveDate, board: i16, alight: i16) -> usize {
    (board..alight)
        .map(|leg| existing.iter().filter(|s| s.covers(day, leg)).count())
        .max()
        .unwrap_or(0)
}

/// The most people already travelling on any operating day and any leg that `new` would use.
///
/// The load only grows on a day some subscription starts, so it is enough to look at the first
/// operating day on or after each such start (and after `new.valid_from`).
#[must_use]
pub fn peak_load(schedule: &Schedule, existing: &[Span], new: &Span) -> usize {
    let starts = std::iter::once(new.valid_from).chain(
        existing
            .iter()
            .map(|s| s.valid_from)
            .filter(|d| *d > new.valid_from && *d <= new.valid_to),
    );
    starts
        .filter_map(|start| schedule.next_operating_day(start, new.valid_to))
        .map(|day| load_on(existing, day, new.board_seq, new.alight_seq))
        .max()
        .unwrap_or(0)
}

/// The first operating day in `from..=season end` when `board..alight` has a free seat.
#[must_use]
pub fn first_day_with_seat(
    schedule: &Schedule,
    existing: &[Span],
    capacity: usize,
    board: i16,
    alight: i16,
    from: NaiveDate,
) -> Option<NaiveDate> {
    let mut day = schedule.next_operating_day(from, schedule.season_end)?;
    loop {
        if load_on(existing, day, board, alight) < capacity {
            return Some(day);
        }
        let next = day.checked_add_days(Days::new(1))?;
        day = schedule.next_operating_day(next, schedule.season_end)?;
    }
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

    fn span(board: i16, alight: i16, from: &str, to: &str) -> Span {
        Span {
            board_seq: board,
            alight_seq: alight,
            valid_from: d(from),
            valid_to: d(to),
        }
    }

    #[test]
    fn segments_overlap_only_when_they_share_a_leg() {
        let table = [
            ((0, 2), (1, 3), true),
            ((0, 1), (1, 2), false), // one gets off where the other boards
            ((1, 2), (0, 1), false),
            ((0, 3), (1, 2), true),
            ((2, 3), (0, 1), false),
            ((0, 1), (0, 1), true),
        ];
        for (a, b, want) in table {
            assert_eq!(segments_overlap(a, b), want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_line_operates_only_on_its_weekdays_in_season() {
        let s = weekdays();
        assert!(s.operates_on(d("2027-06-01"))); // Tuesday, first day
        assert!(s.operates_on(d("2027-09-30"))); // Thursday, last day
        assert!(!s.operates_on(d("2027-06-12"))); // Saturday
        assert!(!s.operates_on(d("2027-05-31"))); // Monday before the season
        assert_eq!(
            s.next_operating_day(d("2027-06-12"), d("2027-06-30")),
            Some(d("2027-06-14"))
        );
        assert_eq!(s.next_operating_day(d("2027-06-12"), d("2027-06-13")), None);
        assert_eq!(s.next_operating_day(d("2027-10-01"), d("2027-12-31")), None);
    }

    #[test]
    fn the_peak_counts_only_people_on_the_same_legs_and_days() {
        let s = weekdays();
        let existing = [
            span(0, 1, "2027-06-01", "2027-09-30"), // first leg only
            span(1, 2, "2027-06-01", "2027-09-30"), // second leg only
            span(0, 2, "2027-07-01", "2027-07-31"), // whole line in July
        ];
        // Two people never share a leg in June: the peak is 1.
        assert_eq!(
            peak_load(&s, &existing, &span(0, 2, "2027-06-01", "2027-06-30")),
            1
        );
        // In July the July rider is on both legs too.
        assert_eq!(
            peak_load(&s, &existing, &span(0, 2, "2027-06-01", "2027-07-15")),
            2
        );
        // Beyond the last stop pair: nothing.
        assert_eq!(
            peak_load(&s, &existing, &span(2, 3, "2027-06-01", "2027-09-30")),
            0
        );
    }

    #[test]
    fn a_rider_starting_on_a_weekend_counts_from_the_next_operating_day() {
        let s = weekdays();
        // Starts on a Saturday, so rides from Monday 14 June.
        let existing = [span(0, 1, "2027-06-12", "2027-06-20")];
        assert_eq!(
            peak_load(&s, &existing, &span(0, 1, "2027-06-14", "2027-06-14")),
            1
        );
        assert_eq!(
            peak_load(&s, &existing, &span(0, 1, "2027-06-01", "2027-06-11")),
            0
        );
    }

    #[test]
    fn the_first_day_with_a_seat_follows_the_end_of_a_subscription() {
        let s = weekdays();
        let existing = [span(0, 2, "2027-06-01", "2027-06-11")]; // ends on a Friday
        assert_eq!(
            first_day_with_seat(&s, &existing, 1, 0, 1, d("2027-06-01")),
            Some(d("2027-06-14"))
        );
        let forever = [span(0, 2, "2027-06-01", "2027-09-30")];
        assert_eq!(
            first_day_with_seat(&s, &forever, 1, 0, 1, d("2027-06-01")),
            None
        );
    }
}
