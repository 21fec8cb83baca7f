//! The drivers' rest rule (EU: a break of 45 minutes after at most 4 h 30 at the wheel), for
//! the timetables that cannot move to make room for it: a work line's published times. Pure
//! rules, no I/O; `runs` plans a line run's breaks with it, `lines` tells a coordinator when a
//! timetable leaves its driver no place for one.

/// A driver's break, seconds (EU rule: 45 minutes after 4 h 30 of driving).
pub const BREAK_S: f64 = 45.0 * 60.0;
/// Most time a driver works between breaks, seconds: elapsed time bounds driving time.
pub const WORK_BEFORE_BREAK_S: f64 = 4.5 * 3600.0;

/// Where a fixed timetable puts its driver's breaks. The driver works from `start` to `end`
/// (seconds on any common clock); `waits` are the spans `(from, to)`, in order, when the
/// vehicle stands with nobody on board for at least [`BREAK_S`]. Each break is at the latest
/// wait that starts within [`WORK_BEFORE_BREAK_S`] of the last rest, and the next stretch counts
/// from the end of that wait (all of it is time off the wheel). A day of 4 h 30 or less needs
/// none. Returns the indices of the waits taken, and `false` when some stretch is longer than
/// 4 h 30 without a wait: its break is then at the first wait after it (late), or missing when
/// there is none.
#[must_use]
pub fn breaks_in_waits(start: f64, end: f64, waits: &[(f64, f64)]) -> (Vec<usize>, bool) {
    let mut taken = Vec::new();
    let mut kept = true;
    let mut rested = start;
    let mut next = 0;
    while end - rested > WORK_BEFORE_BREAK_S {
        let open = &waits[next..];
        let in_time = open
            .iter()
            .rposition(|w| w.0 - rested <= WORK_BEFORE_BREAK_S);
        // none in time: the first one after, late
        let Some(i) = in_time.or((!open.is_empty()).then_some(0)) else {
            kept = false;
            break;
        };
        kept &= in_time.is_some();
        taken.push(next + i);
        rested = open[i].1;
        next += i + 1;
    }
    (taken, kept)
}

#[cfg(test)]
mod tests {
    use super::breaks_in_waits;

    const H: f64 = 3600.0;

    #[test]
    fn a_break_goes_in_the_latest_wait_in_time_and_the_next_stretch_counts_from_its_end() {
        // 05:00 - 14:00 with waits 06:00-07:00, 09:00-09:50, 12:00-13:00: the one at 09:00
        let waits = [
            (6.0 * H, 7.0 * H),
            (9.0 * H, 9.83 * H),
            (12.0 * H, 13.0 * H),
        ];
        assert_eq!(breaks_in_waits(5.0 * H, 14.0 * H, &waits), (vec![1], true));
        // to 15:00, 09:50 - 15:00 is too long: a second one at 12:00
        assert_eq!(
            breaks_in_waits(5.0 * H, 15.0 * H, &waits),
            (vec![1, 2], true)
        );
        // a short day needs none
        assert_eq!(breaks_in_waits(5.0 * H, 9.5 * H, &waits), (vec![], true));
        // 05:00 - 20:00: a second break after 09:50, at 12:00
        assert_eq!(
            breaks_in_waits(5.0 * H, 20.0 * H, &waits),
            (vec![1, 2], false),
            "13:00 to 20:00 is 7 hours without a wait"
        );
    }

    #[test]
    fn a_wait_too_late_is_taken_late_and_none_at_all_is_not_kept() {
        let late = [(10.0 * H, 11.0 * H)];
        assert_eq!(breaks_in_waits(5.0 * H, 14.0 * H, &late), (vec![0], false));
        assert_eq!(breaks_in_waits(5.0 * H, 14.0 * H, &[]), (vec![], false));
    }
}
