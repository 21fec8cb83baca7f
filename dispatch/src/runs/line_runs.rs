//! The runs of the work lines: each operating day, one run per line with its subscribers'
//! confirmed ride requests (written by bookings) and the run's stops, all at the line's local
//! stop times. The lines themselves (stops, season, subscriptions) belong to `lines`; this
//! module only reads them through `lines::db`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::db::{BreakView, NewStop};
use super::{StopKind, BREAK_S};
use crate::error::{AppError, AppResult};
use crate::lines::Line;

/// A run made from a line for one day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialisedRun {
    /// The run.
    pub run_id: Uuid,
    /// The line.
    pub line_id: Uuid,
    /// Its name.
    pub line_name: String,
    /// The line's vehicle.
    pub vehicle_id: Uuid,
    /// Ride requests made (one per subscriber travelling that day).
    pub ride_requests: usize,
    /// Stops of the run.
    pub stops: usize,
    /// The driver's breaks planned on it (a run of more than 4 h 30 has them; see
    /// [`line_breaks`]).
    pub breaks: usize,
}

/// A line running that day for which no run was made, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SkippedLine {
    /// The line.
    pub line_id: Uuid,
    /// Its name.
    pub line_name: String,
    /// `no_vehicle` (a run needs one), `vehicle_inactive` or `already_materialised`.
    pub reason: &'static str,
}

/// What [`materialise`] did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Materialised {
    /// Runs created now.
    pub runs: Vec<MaterialisedRun>,
    /// Lines running that day that got no new run.
    pub skipped: Vec<SkippedLine>,
}

/// One stop of a run made from a line, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRunStop {
    /// What happens there.
    pub kind: StopKind,
    /// The rider's request, for pickups and drop-offs.
    pub ride_request_id: Option<Uuid>,
    /// The line stop where it happens.
    pub line_seq: i16,
}

/// The stops of a line's run: `start` at the first line stop, then at each line stop the
/// drop-offs (so seats free up) and then the pickups, in the riders' order, and `end` at the
/// last line stop. `riders` are `(ride_request_id, board_seq, alight_seq)`.
#[must_use]
pub fn plan_run_stops(stop_count: i16, riders: &[(Uuid, i16, i16)]) -> Vec<LineRunStop> {
    let mut out = vec![LineRunStop {
        kind: StopKind::Start,
        ride_request_id: None,
        line_seq: 0,
    }];
    for seq in 0..stop_count {
        let dropoffs = riders
            .iter()
            .filter(|r| r.2 == seq)
            .map(|r| (StopKind::Dropoff, r.0));
        let pickups = riders
            .iter()
            .filter(|r| r.1 == seq)
            .map(|r| (StopKind::Pickup, r.0));
        out.extend(dropoffs.chain(pickups).map(|(kind, id)| LineRunStop {
            kind,
            ride_request_id: Some(id),
            line_seq: seq,
        }));
    }
    out.push(LineRunStop {
        kind: StopKind::End,
        ride_request_id: None,
        line_seq: stop_count - 1,
    });
    out
}

/// A stop of a line's run as its breaks see it, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct TimedStop {
    /// Its sequence number in the run.
    pub seq: i32,
    /// What happens there.
    pub kind: StopKind,
    /// Planned arrival.
    pub planned_arrival: DateTime<Utc>,
    /// Planned departure.
    pub planned_departure: DateTime<Utc>,
}

/// The driver's breaks of a work line's run. A line keeps its timetable, so a break can only
/// go where the van waits with nobody on board for at least [`BREAK_S`] between two stops: it
/// starts at the departure from the stop that emptied it, and the waits are taken by
/// [`crate::rest::breaks_in_waits`] (the driver works from the run's first stop). The second
/// value is `false` when the timetable leaves a stretch of more than 4 h 30 without such a
/// wait: the break is then at the first wait after it (late), or missing when there is none.
#[must_use]
pub fn line_breaks(stops: &[TimedStop]) -> (Vec<BreakView>, bool) {
    let (Some(first), Some(last)) = (stops.first(), stops.last()) else {
        return (Vec::new(), true);
    };
    let secs = |t| crate::service_day::seconds(first.planned_departure, t);
    // The gaps with nobody on board: the stop before, from, to.
    let mut on_board = 0i32;
    let mut gaps = Vec::new();
    for w in stops.windows(2) {
        on_board += match w[0].kind {
            StopKind::Pickup => 1,
            StopKind::Dropoff => -1,
            StopKind::Start | StopKind::End => 0,
        };
        if on_board <= 0 {
            gaps.push((w[0].seq, w[0].planned_departure, w[1].planned_arrival));
        }
    }
    let spans: Vec<(f64, f64)> = gaps.iter().map(|g| (secs(g.1), secs(g.2))).collect();
    let (taken, kept) = crate::rest::breaks_in_waits(0.0, secs(last.planned_arrival), &spans);
    let out = taken
        .into_iter()
        .map(|i| {
            let (after_seq, from, _) = gaps[i];
            BreakView {
                after_seq,
                planned_start: from,
                planned_end: crate::service_day::at(from, BREAK_S),
                started_at: None,
                ended_at: None,
            }
        })
        .collect();
    (out, kept)
}

/// Plans the breaks of a work line's run again from its stops ([`line_breaks`]), after its
/// stops were made or a rider's were added. Once the driver has reported a break the run is
/// under way and its breaks are left as they are. Returns how many the run has.
///
/// # Errors
/// Database errors.
pub(crate) async fn plan_breaks(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
) -> AppResult<usize> {
    let stops: Vec<TimedStop> = sqlx::query_as(
        "select s.seq, s.kind, s.planned_arrival, s.planned_departure from run_stop s
         left join ride_request r on r.ride_request_id = s.ride_request_id
         where s.run_id = $1 and (r.status is null or r.status not in ('cancelled', 'refused'))
         order by s.seq",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    let (breaks, kept) = line_breaks(&stops);
    if !kept {
        tracing::warn!(
            %run_id,
            "the line's timetable leaves more than 4 h 30 without a wait of 45 minutes with nobody on board: a driver's break is late or missing"
        );
    }
    super::db::replace_planned_breaks(conn, region, run_id, &breaks).await
}

/// A rider's stops left `run_id`: when it is a line's run not under way, its breaks are
/// planned again (the van may now wait empty where it did not).
///
/// # Errors
/// Database errors.
pub(crate) async fn rider_left(conn: &mut PgConnection, run_id: Uuid) -> AppResult<()> {
    let line_run: Option<String> = sqlx::query_scalar(
        "select region_code from run where run_id = $1 and line_id is not null and status = 'planned'",
    )
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(region) = line_run {
        plan_breaks(conn, &region, run_id).await?;
    }
    Ok(())
}

/// Runs the lines of `region_code` operating on `date` (run ids of the runs created now); see
/// [`materialise`]. `created_by` is who asked, recorded in the requests' history; none for a
/// scheduled job.
///
/// # Errors
/// Database errors.
pub async fn materialise_day(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let done = materialise(conn, region_code, date, created_by).await?;
    Ok(done.runs.into_iter().map(|r| r.run_id).collect())
}

/// Makes one run for each line of `region_code` operating on `date`, with a confirmed ride
/// request (and its `confirmed` history row) per subscriber travelling that day and the run's
/// stops: `start` at the first stop, at each stop the drop-offs then the pickups, `end` at the
/// last stop, all at the stop's local time. Idempotent: a line that already has a run that day
/// (not cancelled) is skipped, as is a line without an active vehicle; after a cancelled run,
/// the riders' open requests move to the new run instead of being made again. Subscribers
/// whose case is closed get no request. Call it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn materialise(
    conn: &mut PgConnection,
    region_code: &str,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<Materialised> {
    let lines = crate::lines::db::lines_operating_on_locked(conn, region_code, date).await?;
    let mut done = Materialised {
        runs: Vec::new(),
        skipped: Vec::new(),
    };
    for line in lines {
        let skip = |reason| SkippedLine {
            line_id: line.line_id,
            line_name: line.name.clone(),
            reason,
        };
        let existing: Option<Uuid> = sqlx::query_scalar(
            "select run_id from run where line_id = $1 and service_date = $2 and status <> 'cancelled' limit 1",
        )
        .bind(line.line_id)
        .bind(date)
        .fetch_optional(&mut *conn)
        .await?;
        if existing.is_some() {
            done.skipped.push(skip("already_materialised"));
            continue;
        }
        let Some(vehicle_id) = line.vehicle_id else {
            done.skipped.push(skip("no_vehicle"));
            continue;
        };
        if line.vehicle_active != Some(true) {
            done.skipped.push(skip("vehicle_inactive"));
            continue;
        }
        let run = materialise_line(conn, &line, vehicle_id, date, created_by).await?;
        done.runs.push(run);
    }
    Ok(done)
}

async fn materialise_line(
    conn: &mut PgConnection,
    line: &Line,
    vehicle_id: Uuid,
    date: NaiveDate,
    created_by: Option<Uuid>,
) -> AppResult<MaterialisedRun> {
    let run_id: Uuid = sqlx::query_scalar(
        "insert into run (region_code, service_date, vehicle_id, line_id) values ($1, $2, $3, $4)
         returning run_id",
    )
    .bind(&line.region_code)
    .bind(date)
    .bind(vehicle_id)
    .bind(line.line_id)
    .fetch_one(&mut *conn)
    .await?;
    let line_stops = crate::lines::db::stops_on(conn, line.line_id, date).await?;
    let times: Vec<(i16, chrono::DateTime<chrono::Utc>)> =
        line_stops.iter().map(|s| (s.seq, s.at)).collect();
    crate::bookings::db::seat_line_subscribers(
        conn,
        line.line_id,
        date,
        run_id.into(),
        created_by,
        &times,
    )
    .await?;
    let riders = crate::bookings::db::line_riders(conn, run_id).await?;
    let stop_count = i16::try_from(line_stops.len()).unwrap_or(i16::MAX);
    let plan = plan_run_stops(stop_count, &riders);
    let stops: Vec<NewStop> = plan
        .iter()
        .filter_map(|p| {
            let s = line_stops.iter().find(|s| s.seq == p.line_seq)?;
            Some(NewStop {
                kind: p.kind,
                ride_request_id: p.ride_request_id,
                location: routing::matrix::Location {
                    lon: s.lon,
                    lat: s.lat,
                },
                arrival: s.at,
                departure: s.at,
                place: Some((s.place_id, s.meeting_point_id)),
            })
        })
        .collect();
    super::db::insert_stops(conn, &line.region_code, run_id, 0, &stops).await?;
    let breaks = plan_breaks(conn, &line.region_code, run_id).await?;
    // The riders are confirmed once the run has a driver; without one they wait, planned, for
    // a coordinator to give it one.
    if super::crew::assign(conn, run_id).await?.is_some() {
        crate::bookings::db::confirm_planned_on_run(conn, run_id.into()).await?;
    }
    Ok(MaterialisedRun {
        run_id,
        line_id: line.line_id,
        line_name: line.name.clone(),
        vehicle_id,
        ride_requests: riders.len(),
        stops: plan.len(),
        breaks,
    })
}

/// A new subscription joins the runs of its line already made for its days (today or later):
/// each run not yet started gets the subscriber's confirmed request (made by bookings) and the
/// rider's two stops at the line's times; a run already under way is answered `run_started`.
/// Days whose run is not made yet get theirs when it is.
///
/// # Errors
/// Database errors.
pub async fn join_made_runs(
    conn: &mut PgConnection,
    subscription_id: Uuid,
    created_by: Option<Uuid>,
) -> AppResult<Vec<crate::state::LineJoin>> {
    let runs: Vec<(Uuid, String, Uuid, NaiveDate, super::RunStatus)> = sqlx::query_as(
        "select r.run_id, r.region_code, s.line_id, r.service_date, r.status
         from line_subscription s
         join run r on r.region_code = s.region_code and r.line_id = s.line_id
             and r.service_date between s.valid_from and s.valid_to
         where s.subscription_id = $1 and r.status in ('planned', 'in_progress')
         order by r.service_date
         for update of r",
    )
    .bind(subscription_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for (run_id, region, line_id, day, status) in runs {
        if status != super::RunStatus::Planned {
            out.push(crate::state::LineJoin {
                service_date: day,
                run_id: Some(run_id.into()),
                outcome: "run_started",
            });
            continue;
        }
        let before = crate::bookings::db::line_riders(conn, run_id).await?;
        let times: Vec<(i16, chrono::DateTime<chrono::Utc>)> =
            crate::lines::db::stops_on(conn, line_id, day)
                .await?
                .iter()
                .map(|s| (s.seq, s.at))
                .collect();
        crate::bookings::db::seat_line_subscribers(
            conn,
            line_id,
            day,
            run_id.into(),
            created_by,
            &times,
        )
        .await?;
        for (request, b, a) in crate::bookings::db::line_riders(conn, run_id)
            .await?
            .into_iter()
            .filter(|r| !before.iter().any(|b| b.0 == r.0))
        {
            let board = crate::lines::db::stop_on(conn, line_id, b, day).await?;
            let alight = crate::lines::db::stop_on(conn, line_id, a, day).await?;
            super::on_lines::insert_rider_stops(conn, &region, run_id, request, &board, &alight)
                .await?;
        }
        let crewed: Option<Uuid> =
            sqlx::query_scalar("select driver_id from run where run_id = $1")
                .bind(run_id)
                .fetch_one(&mut *conn)
                .await?;
        if crewed.is_some() {
            crate::bookings::db::confirm_planned_on_run(conn, run_id.into()).await?;
        }
        out.push(crate::state::LineJoin {
            service_date: day,
            run_id: Some(run_id.into()),
            outcome: "joined",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's stops from `(kind, "HH:MM")`, arriving and leaving at that time.
    fn timed(stops: &[(StopKind, &str)]) -> Vec<TimedStop> {
        stops
            .iter()
            .zip(0..)
            .map(|(&(kind, hhmm), seq)| {
                let t = chrono::NaiveDate::from_ymd_opt(2027, 6, 7)
                    .unwrap()
                    .and_time(chrono::NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap())
                    .and_utc();
                TimedStop {
                    seq,
                    kind,
                    planned_arrival: t,
                    planned_departure: t,
                }
            })
            .collect()
    }

    /// Breaks as `(after_seq, "HH:MM" start, "HH:MM" end)`.
    fn hhmm(breaks: &[BreakView]) -> Vec<(i32, String, String)> {
        breaks
            .iter()
            .map(|b| {
                (
                    b.after_seq,
                    b.planned_start.format("%H:%M").to_string(),
                    b.planned_end.format("%H:%M").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_line_run_breaks_where_the_van_waits_empty_once_it_lasts_over_four_and_a_half_hours() {
        use StopKind::{Dropoff as D, End as E, Pickup as P, Start as S};
        // out in the morning, back in the afternoon: the break is at the farm after the drop-off
        let day = timed(&[
            (S, "05:40"),
            (P, "05:40"),
            (P, "05:48"),
            (D, "06:15"),
            (D, "06:15"),
            (P, "15:30"),
            (D, "16:10"),
            (E, "16:10"),
        ]);
        let (b, kept) = line_breaks(&day);
        assert!(kept);
        assert_eq!(hhmm(&b), [(4, "06:15".into(), "07:00".into())]);
        // a short run has none
        let (b, kept) = line_breaks(&day[..5]);
        assert!(b.is_empty() && kept);
        // several empty waits: the latest that starts within 4 h 30 of setting off; the rest
        // of the day is under 4 h 30 from the end of that wait
        let waits = timed(&[
            (S, "05:00"),
            (P, "05:00"),
            (D, "06:00"),
            (P, "07:00"),
            (D, "08:00"),
            (P, "09:00"),
            (D, "09:20"),
            (P, "10:30"),
            (D, "14:00"),
            (E, "14:00"),
        ]);
        let (b, kept) = line_breaks(&waits);
        assert!(kept);
        assert_eq!(hhmm(&b), [(6, "09:20".into(), "10:05".into())]);
        // riders on board until 11:00: the break comes late, and it is said
        let late = timed(&[
            (S, "05:00"),
            (P, "05:00"),
            (D, "11:00"),
            (P, "12:00"),
            (D, "13:00"),
        ]);
        let (b, kept) = line_breaks(&late);
        assert!(!kept);
        assert_eq!(hhmm(&b), [(2, "11:00".into(), "11:45".into())]);
        // nobody ever gets off for long enough: no break, and it is said
        let (b, kept) = line_breaks(&timed(&[(S, "05:00"), (P, "05:00"), (D, "10:00")]));
        assert!(b.is_empty() && !kept);
    }

    #[test]
    fn a_run_drops_off_before_it_picks_up_at_each_stop() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let plan = plan_run_stops(3, &[(a, 0, 2), (b, 0, 1), (c, 1, 2)]);
        let got: Vec<(StopKind, Option<Uuid>, i16)> = plan
            .iter()
            .map(|p| (p.kind, p.ride_request_id, p.line_seq))
            .collect();
        assert_eq!(
            got,
            [
                (StopKind::Start, None, 0),
                (StopKind::Pickup, Some(a), 0),
                (StopKind::Pickup, Some(b), 0),
                (StopKind::Dropoff, Some(b), 1),
                (StopKind::Pickup, Some(c), 1),
                (StopKind::Dropoff, Some(a), 2),
                (StopKind::Dropoff, Some(c), 2),
                (StopKind::End, None, 2),
            ]
        );
        assert_eq!(
            plan_run_stops(2, &[]).len(),
            2,
            "an empty run still drives the line"
        );
    }
}

/// What ending a line changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineEnded {
    /// Line.
    pub line_id: Uuid,
    /// Its last day of service now.
    pub last_day: NaiveDate,
    /// Subscriptions that ended with it.
    pub subscriptions_ended: u64,
    /// Subscribers' requests of later days, cancelled.
    pub requests_cancelled: u64,
    /// The line's runs of later days, cancelled (riders placed on them from on-demand
    /// requests go back to waiting for a coordinator or the next plan).
    pub runs_cancelled: u64,
}

/// Ends a line after `last_day`, in the caller's transaction (the line row locked by the
/// caller): `lines` ends its season and subscriptions and cancels the subscribers' later
/// requests; the line's planned runs of later days are cancelled here, and on-demand riders
/// who were placed on them wait again, visibly, with the reason in their history.
///
/// # Errors
/// Validation of `last_day` (not in the past, before the season's end, not before its start);
/// database errors.
pub async fn end_line(
    conn: &mut PgConnection,
    line: &crate::lines::Line,
    last_day: NaiveDate,
    today: NaiveDate,
    by: Uuid,
) -> AppResult<LineEnded> {
    if last_day < today {
        return Err(AppError::invalid("last_day", "already past"));
    }
    if last_day >= line.season_end {
        return Err(AppError::invalid(
            "last_day",
            format!("the season already ends on {}", line.season_end),
        ));
    }
    if last_day < line.season_start {
        return Err(AppError::invalid(
            "last_day",
            format!("before the season starts ({})", line.season_start),
        ));
    }
    let (subscriptions_ended, requests_cancelled) =
        crate::lines::db::end_line(conn, line.line_id, last_day, by).await?;
    let runs: Vec<Uuid> = sqlx::query_scalar(
        "select run_id from run where line_id = $1 and service_date > $2 and status = 'planned'
         order by run_id for update",
    )
    .bind(line.line_id)
    .bind(last_day)
    .fetch_all(&mut *conn)
    .await?;
    let waiting: Vec<Uuid> = sqlx::query_scalar(
        "select ride_request_id from ride_request where run_id = any($1)
           and status not in ('cancelled', 'refused', 'completed', 'no_show')",
    )
    .bind(&runs)
    .fetch_all(&mut *conn)
    .await?;
    for r in waiting {
        crate::bookings::db::set_status(
            conn,
            r.into(),
            crate::bookings::RideStatus::Requested,
            Some(&format!(
                "the work line ended on {last_day}: waiting for a coordinator or the next plan"
            )),
            Some(by),
        )
        .await?;
    }
    let ids: Vec<crate::ids::RunId> = runs.iter().copied().map(Into::into).collect();
    crate::bookings::db::release_runs(conn, &ids).await?;
    sqlx::query("update run set status = 'cancelled' where run_id = any($1)")
        .bind(&runs)
        .execute(&mut *conn)
        .await?;
    Ok(LineEnded {
        line_id: line.line_id,
        last_day,
        subscriptions_ended,
        requests_cancelled,
        runs_cancelled: runs.len() as u64,
    })
}
