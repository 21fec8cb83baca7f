//! The service day: the programme runs on Italian local time (Europe/Rome), and this is the
//! only place that knows it. "Today", a day's local midnight, a local time of a day as an
//! instant, and the SQL time-zone name for the few conversions done over columns in SQL.
//!
//! Local midnight always exists in Rome (the DST changes happen at 02:00 and 03:00). A local
//! time that does not exist (inside the spring-forward gap) is read as the instant one hour
//! later on the clock, as PostgreSQL's `at time zone` does; an ambiguous one (the autumn hour
//! that happens twice) is its first occurrence.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The programme's time zone.
pub const TZ: Tz = chrono_tz::Europe::Rome;

/// The same zone as PostgreSQL names it, for `(date + time) at time zone '…'` over columns.
pub const SQL_TZ: &str = "Europe/Rome";

/// The service day of the instant `now`.
#[must_use]
pub fn day_of(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&TZ).date_naive()
}

/// The instant of local midnight starting `day` ("day zero": planners count seconds from it).
#[must_use]
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    local_instant(day, NaiveTime::MIN)
}

/// The service day of `now` and the seconds since its local midnight.
#[must_use]
pub fn today(now: DateTime<Utc>) -> (NaiveDate, f64) {
    let day = day_of(now);
    (day, seconds(midnight(day), now))
}

/// The instant of local time `time` on `day` (see the module comment for DST gaps and folds).
#[must_use]
pub fn local_instant(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(day, time);
    match TZ.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // In the spring gap: the wall clock jumps an hour, so read the time with the offset
        // that held before the jump.
        LocalResult::None => {
            let before = TZ
                .from_local_datetime(&(naive - chrono::Duration::hours(1)))
                .earliest()
                .expect("an hour before a DST gap exists");
            (before + chrono::Duration::hours(1)).with_timezone(&Utc)
        }
    }
}

/// The local date and time of an instant.
#[must_use]
pub fn local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&TZ).naive_local()
}

/// The instant `s` seconds after local midnight `zero`, to the millisecond.
#[must_use]
pub fn at(zero: DateTime<Utc>, s: f64) -> DateTime<Utc> {
    #[allow(clippy::cast_possible_truncation)]
    let ms = (s * 1000.0).round() as i64;
    zero + chrono::Duration::milliseconds(ms)
}

/// Seconds from `from` to `to`, to the millisecond (the inverse of [`at`]).
#[must_use]
pub fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let s = (to - from).num_milliseconds() as f64 / 1000.0;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_day_turns_at_rome_midnight_not_utc_midnight() {
        // 23:30 UTC on 1 December is 00:30 on 2 December in Rome (CET, +1).
        assert_eq!(
            day_of(utc("2026-12-01T23:30:00Z")).to_string(),
            "2026-12-02"
        );
        let (day, s) = today(utc("2026-12-01T23:30:00Z"));
        assert_eq!((day.to_string(), s), ("2026-12-02".to_owned(), 1800.0));
        // Summer: +2.
        assert_eq!(
            midnight("2026-07-01".parse().unwrap()),
            utc("2026-06-30T22:00:00Z")
        );
    }

    #[test]
    fn local_times_follow_the_dst_rules_gap_and_fold_included() {
        let spring: NaiveDate = "2026-03-29".parse().unwrap();
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert_eq!(
            local_instant(spring, t("01:30")),
            utc("2026-03-29T00:30:00Z")
        );
        // 02:30 does not exist that night: read as 03:30 CEST.
        assert_eq!(
            local_instant(spring, t("02:30")),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            local_instant(spring, t("03:30")),
            utc("2026-03-29T01:30:00Z")
        );
        let autumn: NaiveDate = "2026-10-25".parse().unwrap();
        // 02:30 happens twice: the first one (CEST, +2).
        assert_eq!(
            local_instant(autumn, t("02:30")),
            utc("2026-10-25T00:30:00Z")
        );
        // A 25-hour day.
        assert_eq!(
            midnight(autumn.succ_opt().unwrap()) - midnight(autumn),
            chrono::Duration::hours(25)
        );
    }
}
