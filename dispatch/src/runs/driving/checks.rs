//! What an upload refuses, item by item, beyond the shape of an event: a boarding that would
//! put more people in the vehicle than it has free seats or wheelchair places, a no-show
//! before the driver has waited the programme's time at the pickup, and an undo that comes too
//! late or would take back a recorded (and charged) ride. Also the undo itself,
//! the only way a stop moves back.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::db;
use super::upload::Effect;
use super::{EventKind, NewEvent, StopRef, StopStatus};
use crate::error::AppResult;

/// Why boarding `request` now would overload the vehicle, if it would: more people than its
/// free seats, or a wheelchair user with no wheelchair place free.
pub async fn over_capacity(
    conn: &mut PgConnection,
    run_id: Uuid,
    request: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let load = db::load_on_board(conn, run_id, request, at).await?;
    let (passengers, wheelchair): (i16, bool) = sqlx::query_as(
        "select passengers, wheelchair from ride_request where ride_request_id = $1",
    )
    .bind(request)
    .fetch_one(&mut *conn)
    .await?;
    let seated = i64::from(passengers) - i64::from(wheelchair);
    let free_seats = i64::from(load.seats) - load.seated;
    let free_wheelchair = i64::from(load.wheelchair_places) - load.wheelchairs;
    Ok(if seated > free_seats {
        Some(format!(
            "{seated} seat(s) needed, {free_seats} free: the vehicle is full"
        ))
    } else if wheelchair && free_wheelchair < 1 {
        Some("no wheelchair place free".to_owned())
    } else {
        None
    })
}

/// Takes back the last action at a stop: an arrival (the stop is pending again) or a boarding
/// (the rider is expected again), within [`super::UNDO_WINDOW`]. A no-show or a drop-off has
/// recorded and charged the ride: only a coordinator corrects those.
pub async fn undo(
    conn: &mut PgConnection,
    run_id: Uuid,
    stop: &StopRef,
    e: &NewEvent,
) -> AppResult<Effect> {
    let Some(target) = e.undoes else {
        return Ok(Effect::Refused("undoes_required", "name the action".into()));
    };
    let Some((kind, at, seq)) = db::undoable(conn, run_id, target, e.client_event_id).await? else {
        return Ok(Effect::Superseded);
    };
    if seq != Some(stop.seq) {
        return Ok(Effect::Refused(
            "undo_other_stop",
            "the action was at another stop".into(),
        ));
    }
    if e.occurred_at - at > super::UNDO_WINDOW {
        return Ok(Effect::Refused(
            "undo_too_late",
            "too late to undo: tell the coordinator".into(),
        ));
    }
    let current: StopStatus =
        sqlx::query_scalar("select status from run_stop where run_id = $1 and seq = $2")
            .bind(run_id)
            .bind(stop.seq)
            .fetch_one(&mut *conn)
            .await?;
    let back_to = match (kind, current) {
        (EventKind::Arrived, StopStatus::Arrived) => StopStatus::Pending,
        (EventKind::Boarded, StopStatus::Done) => {
            let request = stop.ride_request_id.map(Into::into);
            match request {
                Some(r) if !crate::bookings::db::status_of(conn, r).await?.is_final() => {
                    StopStatus::Arrived
                }
                _ => return Ok(Effect::Superseded),
            }
        }
        (EventKind::NoShow | EventKind::DroppedOff, _) => {
            return Ok(Effect::Refused(
                "undo_after_record",
                "the ride is already recorded: tell the coordinator".into(),
            ))
        }
        _ => return Ok(Effect::Superseded),
    };
    db::put_stop_back(conn, run_id, stop.seq, back_to).await?;
    Ok(Effect::Applied)
}

/// Why a no-show of `request` at `at` comes too early, if it does: the driver must have
/// reported arriving at the pickup (an arrival not taken back) at least
/// `programme_config.no_show_wait_seconds` before, by the phone's clock of both events.
pub async fn no_show_too_early(
    conn: &mut PgConnection,
    run_id: Uuid,
    request: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let wait = db::no_show_wait_seconds(conn).await?;
    let arrived: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select min(e.occurred_at) from driver_event e
         where e.run_id = $1 and e.ride_request_id = $2 and e.kind = 'arrived'
           and not exists (select 1 from driver_event u where u.run_id = e.run_id
                           and u.undoes = e.client_event_id)",
    )
    .bind(run_id)
    .bind(request)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match arrived {
        None => Some("report the arrival at the pickup first, then wait for the rider".into()),
        Some(t) if at - t < chrono::Duration::seconds(i64::from(wait)) => Some(format!(
            "wait {wait} s after arriving before a no-show ({} s so far)",
            (at - t).num_seconds()
        )),
        Some(_) => None,
    })
}
