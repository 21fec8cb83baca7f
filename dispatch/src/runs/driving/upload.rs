//! Applying a driver's upload: store each event once, apply the new ones in time order to
//! stops, requests, rides and the run, all in one transaction. `upload_events` is the service
//! function behind `POST /driver/api/runs/{run_id}/events`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::db;
use super::{
    apply_order, EventBatch, EventKind, NewEvent, Refusal, RunStatus, StopKind, StopRef,
    StopStatus, Target,
};
use crate::bookings::RideStatus;
use crate::error::{AppError, AppResult};
use crate::fleet::db::DriverRef;
use crate::rides::db::{record_ride, RideToRecord};
use crate::rides::RideOutcome;

/// What an upload did, by `client_event_id`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UploadResult {
    /// New events that changed the run's state, in the order they were applied.
    pub applied: Vec<Uuid>,
    /// Events received before (or twice in this batch): nothing done.
    pub duplicates: Vec<Uuid>,
    /// New events stored but overtaken by newer or contradicting state (e.g. a no-show for a
    /// rider already dropped off).
    pub superseded: Vec<Uuid>,
    /// New events for a `stop_key` the run no longer has (the rider was moved to another run
    /// or cancelled meanwhile): stored for the record, nothing changed.
    pub unmatched: Vec<Uuid>,
    /// Events refused one by one (not stored; the rest of the batch went on).
    pub refused: Vec<Refusal>,
    /// Every event of the batch in its order, with what became of it and when the server
    /// received it: the phone drops from its outbox every item answered here.
    pub items: Vec<ItemResult>,
    /// The run's status after the upload.
    pub run_status: RunStatus,
    /// Whether the rest of the run should be re-timed (a no-show, a late arrival or a break
    /// taken, on a run still in progress).
    #[serde(skip)]
    pub retime: bool,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemResult {
    /// The event.
    pub client_event_id: Uuid,
    /// `applied`, `already_applied` (received before: nothing done), `superseded` (stored,
    /// newer state wins), `unmatched` (stored; its stop is no longer on the run) or `refused`.
    pub result: &'static str,
    /// For `refused`, why ([`Refusal::code`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
}

/// Serialises a driver upload with the live planner of the region (`runs::live` takes the same
/// transaction-scoped lock before it reads and rewrites a day's runs), so a re-plan never
/// works from stop states an upload is changing.
async fn lock_live_plan(conn: &mut PgConnection, region_code: &str) -> AppResult<()> {
    crate::runs::live::lock_region(conn, region_code).await
}

/// Stores and applies a batch of events of `driver` on `run_id`, in the caller's transaction.
///
/// # Errors
/// Not found for a run that is not the driver's; a conflict for a cancelled run or a run of
/// a later day; validation errors naming the event's field; database errors.
pub async fn upload_events(
    conn: &mut PgConnection,
    driver: &DriverRef,
    run_id: Uuid,
    batch: &EventBatch,
    now: DateTime<Utc>,
) -> AppResult<UploadResult> {
    lock_live_plan(conn, &driver.region_code).await?;
    // The run's lock orders concurrent uploads for it: each sees the state the last one left.
    let (status, service_date) = db::lock_run(conn, driver.driver_id, run_id)
        .await?
        .ok_or(AppError::NotFound("run"))?;
    db::require_not_cancelled(status)?;
    db::require_started(service_date, now)?;
    let stops = db::stop_refs(conn, run_id).await?;
    let targets = batch.resolve(&stops, now)?;
    let mut result = UploadResult {
        applied: Vec::new(),
        duplicates: Vec::new(),
        superseded: Vec::new(),
        unmatched: Vec::new(),
        refused: Vec::new(),
        items: Vec::new(),
        run_status: status,
        retime: false,
    };
    let mut fresh = Vec::new();
    for (e, target) in batch.events.iter().zip(&targets) {
        let stop = match target {
            Target::Stop(s) => Some(s),
            Target::Unmatched => None,
            Target::Refused(r) => {
                result.refused.push(r.clone());
                continue;
            }
        };
        if !db::insert_event(conn, driver, run_id, e, stop).await? {
            result.duplicates.push(e.client_event_id);
        } else if let Some(stop) = stop {
            fresh.push((e.clone(), *stop));
        } else {
            result.unmatched.push(e.client_event_id);
        }
    }
    let fresh_events: Vec<NewEvent> = fresh.iter().map(|(e, _)| e.clone()).collect();
    let (mut no_show, mut rested, mut arrivals) = (false, false, Vec::new());
    for i in apply_order(&fresh_events) {
        let (e, stop) = &fresh[i];
        match apply_event(conn, driver, run_id, stop, e).await? {
            Effect::Applied => {
                result.applied.push(e.client_event_id);
                no_show |= e.kind == EventKind::NoShow;
                rested |= matches!(e.kind, EventKind::BreakStarted | EventKind::BreakEnded);
                if e.kind == EventKind::Arrived {
                    arrivals.push(stop.seq);
                }
            }
            Effect::Superseded => result.superseded.push(e.client_event_id),
            Effect::Refused(code, message) => {
                // Refused alone, and not kept: the phone shows why and goes on with the rest.
                db::forget_event(conn, &driver.region_code, e.client_event_id).await?;
                let at = batch
                    .events
                    .iter()
                    .position(|b| b.client_event_id == e.client_event_id)
                    .unwrap_or_default();
                result.refused.push(Refusal {
                    client_event_id: e.client_event_id,
                    code,
                    field: format!("events.{at}.kind"),
                    message,
                });
            }
        }
    }
    if !fresh_events.is_empty() {
        let status = advance_run(conn, run_id).await?;
        result.run_status = status;
        result.retime = status == RunStatus::InProgress
            && (no_show || rested || any_late(conn, run_id, &arrivals).await?);
    }
    result.items = batch
        .events
        .iter()
        .map(|e| {
            let id = e.client_event_id;
            let refusal = result.refused.iter().find(|r| r.client_event_id == id);
            let outcome = if refusal.is_some() {
                "refused"
            } else if result.applied.contains(&id) {
                "applied"
            } else if result.superseded.contains(&id) {
                "superseded"
            } else if result.unmatched.contains(&id) {
                "unmatched"
            } else {
                "already_applied"
            };
            ItemResult {
                client_event_id: id,
                result: outcome,
                code: refusal.map(|r| r.code),
                received_at: now,
            }
        })
        .collect();
    Ok(result)
}

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The event changed (or confirmed) the run's state.
    Applied,
    /// Newer or contradicting state was already there (e.g. a no-show after the rider was
    /// dropped off); the event is stored but changes nothing.
    Superseded,
    /// The event cannot be applied (a boarding beyond the free seats, an undo that is too late
    /// or of something already recorded): the code and what to do.
    Refused(&'static str, String),
}

/// Moves a stop forward to `to` (never back) and keeps the earliest reported arrival.
async fn advance_stop(
    conn: &mut PgConnection,
    run_id: Uuid,
    seq: i32,
    to: StopStatus,
    at: Option<DateTime<Utc>>,
) -> AppResult<()> {
    let current: StopStatus =
        sqlx::query_scalar("select status from run_stop where run_id = $1 and seq = $2")
            .bind(run_id)
            .bind(seq)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "update run_stop set status = $3,
                actual_arrival = case when $4::timestamptz is null then actual_arrival
                                      else least(coalesce(actual_arrival, $4), $4) end
         where run_id = $1 and seq = $2",
    )
    .bind(run_id)
    .bind(seq)
    .bind(current.advance(to))
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The other stop of the same request on the run (the drop-off of a pickup and vice versa).
async fn paired_stop(
    conn: &mut PgConnection,
    run_id: Uuid,
    ride_request_id: Uuid,
    kind: StopKind,
) -> AppResult<Option<i32>> {
    Ok(sqlx::query_scalar(
        "select seq from run_stop where run_id = $1 and ride_request_id = $2 and kind = $3
         order by seq limit 1",
    )
    .bind(run_id)
    .bind(ride_request_id)
    .bind(kind)
    .fetch_optional(conn)
    .await?)
}

async fn boarded_at(
    conn: &mut PgConnection,
    run_id: Uuid,
    ride_request_id: Uuid,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select min(e.occurred_at) from driver_event e
         where e.run_id = $1 and e.ride_request_id = $2 and e.kind = 'boarded'
           and not exists (select 1 from driver_event u where u.run_id = e.run_id
                           and u.undoes = e.client_event_id)",
    )
    .bind(run_id)
    .bind(ride_request_id)
    .fetch_one(conn)
    .await?)
}

/// Applies one new event (already stored and validated) in the upload's transaction.
///
/// # Errors
/// Database errors.
pub async fn apply_event(
    conn: &mut PgConnection,
    driver: &DriverRef,
    run_id: Uuid,
    stop: &StopRef,
    e: &NewEvent,
) -> AppResult<Effect> {
    let at = Some(e.occurred_at);
    match e.kind {
        EventKind::Note => return Ok(Effect::Applied),
        EventKind::Undo => return super::checks::undo(conn, run_id, stop, e).await,
        EventKind::BreakStarted | EventKind::BreakEnded => {
            let region = &driver.region_code;
            let changed = if e.kind == EventKind::BreakStarted {
                crate::runs::db::start_break(conn, region, run_id, stop.seq, e.occurred_at).await?
            } else {
                crate::runs::db::end_break(conn, region, run_id, e.occurred_at).await?
            };
            return Ok(if changed {
                Effect::Applied
            } else {
                Effect::Superseded
            });
        }
        _ => {}
    }
    let Some(request) = stop.ride_request_id else {
        // Start and end stops: being there is all there is to do.
        let to = match stop.kind {
            StopKind::Start | StopKind::End => StopStatus::Done,
            StopKind::Pickup | StopKind::Dropoff => StopStatus::Arrived,
        };
        advance_stop(conn, run_id, stop.seq, to, at).await?;
        return Ok(Effect::Applied);
    };
    let status = crate::bookings::db::status_of(conn, request.into()).await?;
    let by = Some(driver.staff_id);
    match e.kind {
        EventKind::Arrived => {
            advance_stop(conn, run_id, stop.seq, StopStatus::Arrived, at).await?;
        }
        EventKind::Boarded => {
            if matches!(
                status,
                RideStatus::NoShow | RideStatus::Cancelled | RideStatus::Refused
            ) {
                return Ok(Effect::Superseded);
            }
            // A rider already on board takes no second place; the first boarding is checked
            // against the free places (the event itself is stored already: leave it out).
            let first_boarding: bool = sqlx::query_scalar(
                "select not exists (select 1 from driver_event e where e.run_id = $1
                     and e.ride_request_id = $2 and e.kind = 'boarded' and e.client_event_id <> $3
                     and not exists (select 1 from driver_event u where u.run_id = e.run_id
                                     and u.undoes = e.client_event_id))",
            )
            .bind(run_id)
            .bind(request)
            .bind(e.client_event_id)
            .fetch_one(&mut *conn)
            .await?;
            if first_boarding {
                if let Some(why) =
                    super::checks::over_capacity(conn, run_id, request, e.occurred_at).await?
                {
                    return Ok(Effect::Refused("over_capacity", why));
                }
            }
            advance_stop(conn, run_id, stop.seq, StopStatus::Done, at).await?;
            // A drop-off uploaded before this boarding recorded the ride without it.
            crate::rides::db::note_boarding(conn, request.into(), e.occurred_at).await?;
        }
        EventKind::NoShow => {
            let boarded = boarded_at(conn, run_id, request).await?.is_some();
            if status.is_final() || boarded {
                return Ok(Effect::Superseded);
            }
            if let Some(why) =
                super::checks::no_show_too_early(conn, run_id, request, e.occurred_at).await?
            {
                return Ok(Effect::Refused("no_show_too_early", why));
            }
            crate::bookings::db::set_status(
                conn,
                request.into(),
                RideStatus::NoShow,
                Some("driver: no-show"),
                by,
            )
            .await?;
            advance_stop(conn, run_id, stop.seq, StopStatus::Done, at).await?;
            if let Some(d) = paired_stop(conn, run_id, request, StopKind::Dropoff).await? {
                advance_stop(conn, run_id, d, StopStatus::Skipped, None).await?;
            }
            let ride = RideToRecord {
                ride_request_id: request,
                run_id,
                outcome: RideOutcome::NoShow,
                picked_up_at: None,
                dropped_off_at: None,
            };
            record_ride(conn, &ride, by).await?;
        }
        EventKind::Note | EventKind::Undo | EventKind::BreakStarted | EventKind::BreakEnded => {
            unreachable!("handled above")
        }
        EventKind::DroppedOff => {
            if status.is_final() {
                return Ok(Effect::Superseded);
            }
            crate::bookings::db::set_status(
                conn,
                request.into(),
                RideStatus::Completed,
                Some("driver: dropped off"),
                by,
            )
            .await?;
            advance_stop(conn, run_id, stop.seq, StopStatus::Done, at).await?;
            // The rider was evidently picked up, even if the boarding is not uploaded yet.
            if let Some(p) = paired_stop(conn, run_id, request, StopKind::Pickup).await? {
                advance_stop(conn, run_id, p, StopStatus::Done, None).await?;
            }
            let ride = RideToRecord {
                ride_request_id: request,
                run_id,
                outcome: RideOutcome::Completed,
                picked_up_at: boarded_at(conn, run_id, request).await?,
                dropped_off_at: at,
            };
            record_ride(conn, &ride, by).await?;
        }
    }
    Ok(Effect::Applied)
}

/// Moves the run forward after an upload: `in_progress` once anything happened, `completed`
/// when every pickup and drop-off stop is done or skipped. Returns the new status.
///
/// # Errors
/// Database errors.
pub async fn advance_run(conn: &mut PgConnection, run_id: Uuid) -> AppResult<RunStatus> {
    Ok(sqlx::query_scalar(
        "update run set status = case
             when status in ('completed', 'cancelled') then status
             when not exists (select 1 from run_stop s where s.run_id = run.run_id
                              and s.kind in ('pickup', 'dropoff') and s.status in ('pending', 'arrived'))
                  then 'completed'::run_status
             else 'in_progress'::run_status end
         where run_id = $1
         returning status",
    )
    .bind(run_id)
    .fetch_one(conn)
    .await?)
}

/// How late an arrival must be for the rest of the run to be re-timed.
pub const LATE_AFTER_MINUTES: i32 = 5;

/// Whether any of the stops `seqs` was reached later than planned by more than
/// [`LATE_AFTER_MINUTES`].
///
/// # Errors
/// Database errors.
pub async fn any_late(conn: &mut PgConnection, run_id: Uuid, seqs: &[i32]) -> AppResult<bool> {
    if seqs.is_empty() {
        return Ok(false);
    }
    Ok(sqlx::query_scalar(
        "select exists (select 1 from run_stop where run_id = $1 and seq = any($2)
                        and actual_arrival > planned_arrival + make_interval(mins => $3))",
    )
    .bind(run_id)
    .bind(seqs)
    .bind(LATE_AFTER_MINUTES)
    .fetch_one(conn)
    .await?)
}
