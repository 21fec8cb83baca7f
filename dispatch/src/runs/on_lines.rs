//! On-demand requests served by a work line's run where it passes.
//!
//! Before the demand-responsive fleet is planned, a request rides a line that day when the
//! line boards within [`WALK_M`] of its pickup at a time inside its pickup window, alights
//! within [`WALK_M`] of its drop-off before its latest arrival, and has a free seat on that
//! leg (subscribers and on-demand riders already placed on the run both count). The rider is
//! told to board at the line's stop: the request's pickup becomes that stop.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::db::NewStop;
use super::{PlanRequest, StopKind, PICKUP_SLACK_S};
use crate::error::AppResult;
use crate::geo::LonLat;

/// How far a rider may walk to or from a line's stop, metres.
pub const WALK_M: f64 = 500.0;

fn seconds(hhmm: &str) -> Option<f64> {
    let (h, m) = hhmm.split_once(':')?;
    Some(f64::from(
        h.parse::<u32>().ok()? * 3600 + m.parse::<u32>().ok()? * 60,
    ))
}

/// Whether a line boarding at `board_s` and alighting at `alight_s` fits the request's times.
#[must_use]
pub fn fits(r: &PlanRequest, board_s: f64, alight_s: f64) -> bool {
    let pickup_ok = r
        .earliest_s
        .is_none_or(|e| board_s >= e && board_s <= e + PICKUP_SLACK_S);
    let arrival_ok = r.latest_s.is_none_or(|l| alight_s <= l);
    pickup_ok && arrival_ok && r.wheelchair == 0
}

/// Places what it can of `requests` on the day's line runs; returns the ids it placed.
///
/// # Errors
/// Database errors.
pub async fn place_on_lines(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
    requests: &[PlanRequest],
) -> AppResult<Vec<Uuid>> {
    let mut placed = Vec::new();
    for r in requests
        .iter()
        .filter(|r| r.pinned.is_none() && r.promised_s.is_none())
    {
        let lines = crate::lines::db::lines_passing(
            conn,
            region,
            day,
            LonLat::from(r.pickup),
            LonLat::from(r.dropoff),
            WALK_M,
        )
        .await?;
        for l in lines {
            let (Some(b), Some(a)) = (seconds(&l.board_time), seconds(&l.alight_time)) else {
                continue;
            };
            if !fits(r, b, a) {
                continue;
            }
            let run: Option<(Uuid, i16)> = sqlx::query_as(
                "select run.run_id, line.capacity from run join work_line line using (line_id)
                 where run.line_id = $1 and run.service_date = $2 and run.status = 'planned' for update of run",
            )
            .bind(l.line_id)
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((run_id, capacity)) = run else {
                continue;
            };
            // Seats on the leg: subscribers (free_seats) minus on-demand riders already placed.
            let on_demand: i64 = sqlx::query_scalar(
                "select coalesce(sum(passengers), 0)::bigint from ride_request
                 where run_id = $1 and line_subscription_id is null and status = 'confirmed'",
            )
            .bind(run_id)
            .fetch_one(&mut *conn)
            .await?;
            let seats = i64::from(r.seats.max(1));
            if l.free_seats - on_demand < seats || i64::from(capacity) < seats {
                continue;
            }
            attach(
                conn,
                region,
                day,
                run_id,
                l.line_id,
                (l.board_seq, l.alight_seq),
                r.id,
                &l.name,
            )
            .await?;
            placed.push(r.id);
            break;
        }
    }
    Ok(placed)
}

/// Boards the rider at the line's stop: the request's pickup and drop-off become the line's
/// stops, and two stops join the run in time order (drop-offs before pickups at one stop).
#[allow(clippy::too_many_arguments)]
async fn attach(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
    run_id: Uuid,
    line_id: Uuid,
    (board_seq, alight_seq): (i16, i16),
    request: Uuid,
    line_name: &str,
) -> AppResult<()> {
    let board = crate::lines::db::stop_on(conn, line_id, board_seq, day).await?;
    let alight = crate::lines::db::stop_on(conn, line_id, alight_seq, day).await?;
    let place = |s: &crate::lines::db::LineStopOn| crate::bookings::db::LineStopPlace {
        place_id: s.place_id,
        meeting_point_id: s.meeting_point_id,
        location: LonLat {
            lon: s.lon,
            lat: s.lat,
        },
    };
    crate::bookings::db::ride_on_line(conn, request.into(), &place(&board), &place(&alight))
        .await?;
    insert_rider_stops(conn, region, run_id, request, &board, &alight).await?;
    crate::bookings::db::confirm(conn, request.into(), run_id.into(), board.at).await?;
    crate::bookings::db::note(
        conn,
        request.into(),
        &format!("rides the work line \"{line_name}\""),
        None,
    )
    .await?;
    Ok(())
}

/// Puts a rider's pickup and drop-off at a line run's stops in time order: after every stop
/// before its time, and at its time after the drop-offs (and, for a pickup, after the other
/// pickups); always before the end.
///
/// # Errors
/// Database errors.
pub(crate) async fn insert_rider_stops(
    conn: &mut PgConnection,
    region: &str,
    run_id: Uuid,
    request: Uuid,
    board: &crate::lines::db::LineStopOn,
    alight: &crate::lines::db::LineStopOn,
) -> AppResult<()> {
    for (kind, stop) in [(StopKind::Pickup, board), (StopKind::Dropoff, alight)] {
        let pos: i32 = sqlx::query_scalar(
            "select count(*)::int from run_stop where run_id = $1 and kind <> 'end'
               and (planned_arrival < $2 or (planned_arrival = $2 and (kind in ('start', 'dropoff') or $3)))",
        )
        .bind(run_id)
        .bind(stop.at)
        .bind(kind == StopKind::Pickup)
        .fetch_one(&mut *conn)
        .await?;
        // Make room at `pos` (two steps: seq is a key and never negative).
        sqlx::query("update run_stop set seq = seq + 1000000 where run_id = $1 and seq >= $2")
            .bind(run_id)
            .bind(pos)
            .execute(&mut *conn)
            .await?;
        sqlx::query("update run_stop set seq = seq - 999999 where run_id = $1 and seq >= 1000000")
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
        let s = NewStop {
            kind,
            ride_request_id: Some(request),
            location: routing::matrix::Location {
                lon: stop.lon,
                lat: stop.lat,
            },
            arrival: stop.at,
            departure: stop.at,
            place: Some((stop.place_id, stop.meeting_point_id)),
        };
        super::db::insert_stops(conn, region, run_id, pos, &[s]).await?;
    }
    // the stops moved, and the van is no longer empty where it was
    super::line_runs::plan_breaks(conn, region, run_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(earliest: Option<f64>, latest: Option<f64>, wheelchair: u32) -> PlanRequest {
        PlanRequest {
            id: Uuid::nil(),
            pickup: routing::matrix::Location { lon: 0.0, lat: 0.0 },
            dropoff: routing::matrix::Location { lon: 0.0, lat: 0.0 },
            earliest_s: earliest,
            latest_s: latest,
            promised_s: None,
            seats: 1,
            wheelchair,
            pinned: None,
            not_before_s: None,
            relaxed: false,
        }
    }

    #[test]
    fn a_line_fits_when_it_boards_in_the_pickup_window_and_arrives_in_time() {
        let five_thirty = 5.5 * 3600.0;
        assert!(fits(
            &req(Some(five_thirty), None, 0),
            five_thirty + 600.0,
            7.0 * 3600.0
        ));
        assert!(
            !fits(
                &req(Some(five_thirty), None, 0),
                five_thirty - 60.0,
                7.0 * 3600.0
            ),
            "leaves before the rider is ready"
        );
        assert!(
            !fits(
                &req(Some(five_thirty), None, 0),
                five_thirty + 21.0 * 60.0,
                7.0 * 3600.0
            ),
            "too long a wait"
        );
        assert!(
            !fits(
                &req(None, Some(6.0 * 3600.0), 0),
                5.0 * 3600.0,
                6.5 * 3600.0
            ),
            "arrives too late"
        );
        assert!(
            !fits(&req(Some(five_thirty), None, 1), five_thirty, 7.0 * 3600.0),
            "wheelchairs go with the fleet"
        );
    }

    #[test]
    fn stop_times_are_read_as_hours_and_minutes() {
        assert_eq!(seconds("05:40"), Some(20_400.0));
        assert_eq!(seconds("x"), None);
    }
}
