//! The drivers' rest rule (EU: a break of 45 minutes after at most 4 h 30 at the wheel, or
//! 15 then 30 minutes): where a timetable that cannot move (a work line's published times)
//! leaves room for the break, and which of a driver's reported breaks make a full rest. Pure
//! rules, no I/O; `runs` plans a line run's breaks and counts reported breaks with it, `lines`
//! tells a coordinator when a timetable leaves its driver no place for one.

/// A driver's break, seconds (EU rule: 45 minutes after 4 h 30 of driving).
pub const BREAK_S: f64 = 45.0 * 60.0;
/// Most time a driver works between breaks, seconds: elapsed time bounds driving time.
pub const WORK_BEFORE_BREAK_S: f64 = 4.5 * 3600.0;

/// Where a fixed timetable puts its driver's breaks. The driver works from `start` to `end`
/// (seconds on any common clock); `gaps` are the spans `(from, to)`, in order, when the
/// vehicle stands with nobody on board, and those of at least [`BREAK_S`] are the waits a break
/// can take. Each break is at the latest wait that starts within [`WORK_BEFORE_BREAK_S`] of the
/// last rest, and the next stretch counts from the end of that wait (all of it is time off the
/// wheel). A day of 4 h 30 or less needs none. Returns the indices (in `gaps`) of the waits
/// taken, and `false` when some stretch is longer than 4 h 30 without a wait: its break is then
/// at the first wait after it (late), or missing when there is none.
#[must_use]
pub fn breaks_in_waits(start: f64, end: f64, gaps: &[(f64, f64)]) -> (Vec<usize>, bool) {
    let waits: Vec<usize> = (0..gaps.len())
        .filter(|&i| gaps[i].1 - gaps[i].0 >= BREAK_S)
        .collect();
    let mut taken = Vec::new();
    let mut kept = true;
    let mut rested = start;
    let mut next = 0;
    while end - rested > WORK_BEFORE_BREAK_S {
        let open = &waits[next..];
        let in_time = open
            .iter()
            .rposition(|&w| gaps[w].0 - rested <= WORK_BEFORE_BREAK_S);
        // none in time: the first one after, late
        let Some(i) = in_time.or((!open.is_empty()).then_some(0)) else {
            kept = false;
            break;
        };
        kept &= in_time.is_some();
        taken.push(open[i]);
        rested = gaps[open[i]].1;
        next += i + 1;
    }
    (taken, kept)
}

/// The shorter parts of a split break (EU rule: the 45 minutes may be taken as at least 15
/// then at least 30), seconds.
pub const SPLIT_FIRST_S: f64 = 15.0 * 60.0;
/// See [`SPLIT_FIRST_S`].
pub const SPLIT_SECOND_S: f64 = 30.0 * 60.0;

/// Which of a driver's reported breaks, in the order taken, end a full rest: one of
/// [`BREAK_S`], or one of at least [`SPLIT_SECOND_S`] after one of at least [`SPLIT_FIRST_S`]
/// since the last full rest (the EU split break, in that order). `None` is a break still on:
/// the van waits for its full length, so it is one.
#[must_use]
pub fn full_rests(lengths: &[Option<f64>]) -> Vec<bool> {
    let mut first_part = false;
    lengths
        .iter()
        .map(|l| {
            let full = match *l {
                None => true,
                Some(s) => s >= BREAK_S || (first_part && s >= SPLIT_SECOND_S),
            };
            if full {
                first_part = false;
            } else if l.is_some_and(|s| s >= SPLIT_FIRST_S) {
                first_part = true;
            }
            full
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{breaks_in_waits, full_rests};

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

    #[test]
    fn a_split_break_is_fifteen_minutes_then_thirty() {
        let m = |x: f64| Some(x * 60.0);
        // 45 at once; 15 then 30; 30 then 15 is not one (the order is the rule's), but a later
        // 30 completes it; 10 minutes count for nothing; a break still on is a full one
        assert_eq!(full_rests(&[m(45.0)]), [true]);
        assert_eq!(full_rests(&[m(15.0), m(30.0)]), [false, true]);
        assert_eq!(full_rests(&[m(30.0), m(15.0)]), [false, false]);
        assert_eq!(
            full_rests(&[m(30.0), m(15.0), m(30.0)]),
            [false, false, true]
        );
        assert_eq!(full_rests(&[m(10.0), m(30.0)]), [false, false]);
        assert_eq!(
            full_rests(&[m(15.0), m(30.0), m(30.0)]),
            [false, true, false]
        );
        assert_eq!(full_rests(&[m(20.0), None]), [false, true]);
    }
}
