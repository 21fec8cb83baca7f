//! Live dispatch: today's plan changes while vehicles drive it.
//!
//! - A request booked for today is inserted into the running plan ([`after_booking`]): the
//!   rider gets a promised pickup time, or a refusal with the reason and alternatives.
//! - A coordinator can move a request to another run by hand ([`move_request`]); the move is
//!   checked by the optimiser's feasibility logic and refused if it breaks any promise.
//! - A cancellation, a no-show or a late vehicle re-times the other stops of the run
//!   ([`retime_run`]).
//!
//! Changes to one region's plan are serialised with a transaction-scoped advisory lock, so
//! two insertions never build on the same stale state. The lock is held only to read the
//! day, decide and write: road travel times are fetched before it is taken (and fetched
//! again if the day gained a place meanwhile), and the optimiser runs on a blocking thread,
//! so a slow OSRM never stalls the region's bookings and driver uploads. Bookings reach this
//! module only through [`crate::state::Dispatcher`] ([`LiveDispatcher`]). What already happened (done stops,
//! passengers on board) is never moved: the optimiser's `routing::dynamic` works on the rest.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use routing::dynamic::{self, InsertError, OnBoard, PlanState, PlannedStop, VehicleState};
use routing::matrix::{Location, Matrix};
use routing::solution::StopKind as RouteStop;
use routing::travel::TravelMatrix;
use sqlx::PgConnection;
use uuid::Uuid;

use super::db;
use super::{build_problem, locations, Locations, PlanRequest, PlanVehicle, SHIFT_START_S};
use crate::bookings::RideStatus;
use crate::error::{AppError, AppResult};
use crate::ids::{RideRequestId, RunId};
use crate::service_day;
pub use crate::state::LiveOutcome;
use crate::state::{AppState, BoxFuture, Dispatcher};

/// The live dispatcher behind [`crate::state::Dispatcher`]: what bookings call.
pub struct LiveDispatcher;

impl Dispatcher for LiveDispatcher {
    fn place_live<'a>(
        &'a self,
        state: &'a AppState,
        ids: &'a [RideRequestId],
    ) -> BoxFuture<'a, AppResult<Vec<LiveOutcome>>> {
        Box::pin(after_booking(state, ids))
    }

    fn leave_run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        ride_request_id: RideRequestId,
    ) -> BoxFuture<'a, AppResult<Option<RunId>>> {
        Box::pin(async move {
            let run = db::remove_request(&mut *conn, ride_request_id).await?;
            if let Some(run_id) = run {
                super::line_runs::rider_left(conn, run_id.into()).await?;
            }
            Ok(run)
        })
    }

    fn line_subscribed<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        subscription_id: Uuid,
        created_by: Option<Uuid>,
    ) -> BoxFuture<'a, AppResult<Vec<crate::state::LineJoin>>> {
        Box::pin(super::line_runs::join_made_runs(
            conn,
            subscription_id,
            created_by,
        ))
    }

    fn retime<'a>(&'a self, state: &'a AppState, run_id: RunId) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(retime_run(state, run_id))
    }
}

/// Inserts each request that is for today into the running plan. Requests for other days wait
/// for their day's planning.
///
/// # Errors
/// Database or travel-time failures (the requests then stay `requested`).
pub async fn after_booking(state: &AppState, ids: &[RideRequestId]) -> AppResult<Vec<LiveOutcome>> {
    let mut out = Vec::new();
    let (day, _) = service_day::today(state.now());
    for id in ids {
        let (region, service_date): (String, NaiveDate) = sqlx::query_as(
            "select region_code, service_date from ride_request where ride_request_id = $1",
        )
        .bind(id)
        .fetch_one(&state.db)
        .await?;
        if service_date != day {
            continue;
        }
        match insert_live(state, &region, *id, None).await {
            Ok((outcome, _)) => out.push(outcome),
            // The database itself failing is an error of the booking; anything else (travel
            // times, the optimiser) leaves the request visibly waiting, never silently.
            Err(e @ AppError::Sqlx(_)) => return Err(e),
            Err(e) => {
                let reason =
                    format!("not placed live ({e}): waiting for a coordinator or the next plan");
                tracing::warn!(ride_request_id = %id, "{reason}");
                let mut conn = state.db.acquire().await?;
                crate::bookings::db::note(&mut conn, *id, &reason, None).await?;
                out.push(LiveOutcome::Queued {
                    ride_request_id: *id,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

/// Moves a request to another run of the same day, if the optimiser finds a feasible place
/// for it there without breaking any other rider's promise.
///
/// # Errors
/// Not found for an unknown run; a conflict `infeasible` with the reason.
pub async fn move_request(
    state: &AppState,
    id: RideRequestId,
    target_run: RunId,
) -> AppResult<LiveOutcome> {
    let (region, vehicle): (String, Uuid) = sqlx::query_as(
        "select run.region_code, run.vehicle_id from run join ride_request r
             on r.region_code = run.region_code and r.service_date = run.service_date
         where run.run_id = $1 and r.ride_request_id = $2 and run.status in ('planned', 'in_progress') and run.line_id is null",
    )
    .bind(target_run)
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| AppError::invalid("run_id", "no open run of the request's day and region"))?;
    let (outcome, old_run) = insert_live(state, &region, id, Some(vehicle)).await?;
    if let Some(old) = old_run.filter(|o| *o != target_run) {
        retime_run(state, old).await?;
    }
    Ok(outcome)
}

/// Serialises changes to a region's live plan (insertions, moves, driver uploads) for the
/// rest of the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn lock_region(conn: &mut PgConnection, region: &str) -> AppResult<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('live-plan:' || $1))")
        .bind(region)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StopRow {
    run_id: Uuid,
    vehicle_id: Uuid,
    seq: i32,
    kind: String,
    status: String,
    ride_request_id: Option<Uuid>,
    lon: f64,
    lat: f64,
    at_s: f64,
}

/// Today's demand-responsive runs as the optimiser's state.
struct Day {
    vehicles: Vec<PlanVehicle>,
    requests: Vec<PlanRequest>,
    state: PlanState,
    /// Where each vehicle with a run is now: the last stop it reached, or its depot.
    positions: HashMap<usize, Location>,
    /// Run of each vehicle index, with its highest stop number.
    runs: HashMap<usize, (Uuid, i32)>,
    zero: DateTime<Utc>,
}

async fn load_day(conn: &mut PgConnection, region: &str, day: NaiveDate) -> AppResult<Day> {
    let zero = service_day::midnight(day);
    // Vehicles already driving their run are part of today's plan too.
    let vehicles = db::free_vehicles(conn, region, day, true).await?;
    let stops: Vec<StopRow> = sqlx::query_as(
        "select s.run_id, r.vehicle_id, s.seq, s.kind::text as kind, s.status::text as status, s.ride_request_id,
                st_x(s.location::geometry) as lon, st_y(s.location::geometry) as lat,
                extract(epoch from coalesce(s.actual_arrival, s.planned_departure) - $3)::float8 as at_s
         from run_stop s join run r using (region_code, run_id)
         where r.region_code = $1 and r.service_date = $2 and r.line_id is null and r.status in ('planned', 'in_progress')
         order by s.run_id, s.seq",
    )
    .bind(region)
    .bind(day)
    .bind(zero)
    .fetch_all(&mut *conn)
    .await?;
    let on_runs: Vec<Uuid> = stops.iter().filter_map(|s| s.ride_request_id).collect();
    let requests = requests_by_id(conn, &on_runs, zero, &vehicles).await?;
    let index: HashMap<Uuid, usize> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    // A drop-off reached while its pickup was never reported (the driver skipped a tap): the
    // ride is over as far as the plan goes; its pickup stays on the run, out of the plan, for
    // the report that may still come.
    let reached: std::collections::HashSet<(Uuid, Uuid)> = stops
        .iter()
        .filter(|s| s.kind == "dropoff" && s.status != "pending")
        .filter_map(|s| Some((s.run_id, s.ride_request_id?)))
        .collect();
    let mut by_vehicle: HashMap<usize, VehicleState> = HashMap::new();
    let mut last_done: HashMap<usize, i32> = HashMap::new();
    let mut positions = HashMap::new();
    let mut runs = HashMap::new();
    for s in &stops {
        let Some(v) = vehicles.iter().position(|x| x.id == s.vehicle_id) else {
            continue;
        };
        runs.entry(v)
            .and_modify(|e: &mut (Uuid, i32)| e.1 = e.1.max(s.seq))
            .or_insert((s.run_id, s.seq));
        positions.entry(v).or_insert(vehicles[v].start);
        // A vehicle that has reported nothing is taken to follow its plan from its planned
        // start; one that has, from its last stop's actual time.
        let vs = by_vehicle.entry(v).or_insert_with(|| VehicleState {
            vehicle: v,
            position: 0,
            time: if s.kind == "start" {
                s.at_s.max(SHIFT_START_S)
            } else {
                SHIFT_START_S
            },
            departed_at: None,
            rested_at: None,
            on_board: Vec::new(),
            planned: Vec::new(),
        });
        let done = s.status != "pending";
        match (
            s.kind.as_str(),
            s.ride_request_id.and_then(|id| index.get(&id).copied()),
        ) {
            ("pickup", Some(r)) if done => vs.on_board.push(OnBoard {
                request: r,
                picked_up_at: s.at_s,
            }),
            ("dropoff", Some(r)) if done => vs.on_board.retain(|b| b.request != r),
            ("pickup", Some(_))
                if s.ride_request_id
                    .is_some_and(|id| reached.contains(&(s.run_id, id))) => {}
            ("pickup", Some(r)) => vs.planned.push(PlannedStop {
                request: r,
                kind: RouteStop::Pickup,
            }),
            ("dropoff", Some(r)) => vs.planned.push(PlannedStop {
                request: r,
                kind: RouteStop::Delivery,
            }),
            _ => {}
        }
        if done {
            last_done.insert(v, s.seq);
            vs.departed_at.get_or_insert(s.at_s);
            vs.time = vs.time.max(s.at_s);
            positions.insert(
                v,
                Location {
                    lon: s.lon,
                    lat: s.lat,
                },
            );
        }
    }
    // The next break counts from the end of the last one taken: one the driver reported (a
    // break that is on ends 45 minutes after it began, and the van waits for it; one ended
    // sooner is no rest, unless it completes a split break: 15 minutes, then 30), or one
    // planned before the last stop the van has done (taken to be taken).
    let rests: Vec<RestRow> = sqlx::query_as(
        "select r.vehicle_id, b.after_seq,
                extract(epoch from coalesce(b.ended_at, b.started_at + make_interval(secs => $4),
                                            b.planned_end) - $3)::float8 as end_s,
                b.started_at is not null as reported,
                b.started_at is not null and b.ended_at is null as on_now,
                extract(epoch from b.ended_at - b.started_at)::float8 as length_s
         from run_break b join run r on r.region_code = b.region_code and r.run_id = b.run_id
         where r.region_code = $1 and r.service_date = $2 and r.line_id is null
           and r.status in ('planned', 'in_progress')
         order by r.vehicle_id, b.started_at nulls last, b.planned_start",
    )
    .bind(region)
    .bind(day)
    .bind(zero)
    .bind(super::BREAK_S)
    .fetch_all(&mut *conn)
    .await?;
    // Which reported breaks end a full rest: the rows come by vehicle, reported ones first in
    // the order taken.
    let mut full = Vec::with_capacity(rests.len());
    for group in rests.chunk_by(|a, b| a.vehicle_id == b.vehicle_id) {
        let lengths: Vec<Option<f64>> = group
            .iter()
            .take_while(|r| r.reported)
            .map(|r| r.length_s)
            .collect();
        full.extend(crate::rest::full_rests(&lengths));
        full.resize(full.len() + group.len() - lengths.len(), false);
    }
    for (r, full) in rests.iter().zip(full) {
        let Some(v) = vehicles.iter().position(|x| x.id == r.vehicle_id) else {
            continue;
        };
        if let (Some(vs), Some(&done)) = (by_vehicle.get_mut(&v), last_done.get(&v)) {
            if r.on_now {
                // the van is free again at its end
                vs.time = vs.time.max(r.end_s);
            }
            if full || (!r.reported && r.after_seq < done) {
                vs.rested_at = Some(vs.rested_at.map_or(r.end_s, |at: f64| at.max(r.end_s)));
            }
        }
    }
    let mut state = PlanState {
        vehicles: by_vehicle.into_values().collect(),
    };
    state.vehicles.sort_by_key(|v| v.vehicle);
    Ok(Day {
        vehicles,
        requests,
        state,
        positions,
        runs,
        zero,
    })
}

/// A driver's break as the next rest counts it (seconds from the day's zero).
#[derive(sqlx::FromRow)]
struct RestRow {
    vehicle_id: Uuid,
    after_seq: i32,
    /// Its end: reported, or 45 minutes after a reported start, or planned.
    end_s: f64,
    /// The driver reported its start.
    reported: bool,
    /// Begun and not ended.
    on_now: bool,
    /// Reported length, once ended.
    length_s: Option<f64>,
}

/// Requests by id, in the given order, each pinned to the vehicle of its run.
async fn requests_by_id(
    conn: &mut PgConnection,
    ids: &[Uuid],
    zero: DateTime<Utc>,
    vehicles: &[PlanVehicle],
) -> AppResult<Vec<PlanRequest>> {
    let mut unique: Vec<Uuid> = Vec::new();
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    let rows: Vec<db::RequestRow> = sqlx::query_as(
        "select r.ride_request_id,
                st_x(r.pickup_location::geometry) as p_lon, st_y(r.pickup_location::geometry) as p_lat,
                st_x(r.dropoff_location::geometry) as d_lon, st_y(r.dropoff_location::geometry) as d_lat,
                extract(epoch from r.earliest_pickup - $2)::float8 as earliest_s,
                extract(epoch from r.latest_arrival - $2)::float8 as latest_s,
                extract(epoch from r.promised_pickup_at - $2)::float8 as promised_s,
                r.passengers, r.wheelchair, run.vehicle_id
         from unnest($1::uuid[]) with ordinality as ids(id, n)
         join ride_request r on r.ride_request_id = ids.id
         left join run on run.run_id = r.run_id
         order by ids.n",
    )
    .bind(&unique)
    .bind(zero)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.into_plan(vehicles)).collect())
}

/// Today's plan of a region with a new request in it, ready for the optimiser: its
/// locations (matrix order) and the index of the new request.
struct LiveProblem {
    day: Day,
    locs: Locations,
    new_idx: usize,
}

/// Loads today's plan of `region` with request `id` added as the one to insert (with `pin`,
/// only that vehicle may take it). Nobody can be picked up in the past.
async fn live_problem(
    conn: &mut PgConnection,
    region: &str,
    today: NaiveDate,
    now_s: f64,
    id: Uuid,
    pin: Option<Uuid>,
) -> AppResult<LiveProblem> {
    let mut day = load_day(conn, region, today).await?;
    let mut new = requests_by_id(conn, &[id], day.zero, &day.vehicles).await?;
    let Some(mut new) = new.pop() else {
        return Err(AppError::NotFound("ride request"));
    };
    new.promised_s = None;
    new.not_before_s = Some(now_s);
    new.pinned =
        match pin {
            Some(v) => Some(day.vehicles.iter().position(|x| x.id == v).ok_or_else(|| {
                AppError::invalid("run_id", "that run's vehicle is not available")
            })?),
            None => None,
        };
    let new_idx = day.requests.len();
    day.requests.push(new);
    let mut locs = locations(&day.vehicles, &day.requests);
    for p in day.positions.values() {
        locs.add(*p);
    }
    for vs in &mut day.state.vehicles {
        vs.position = locs
            .get(day.positions[&vs.vehicle])
            .expect("position in locations");
    }
    Ok(LiveProblem { day, locs, new_idx })
}

/// The matrix between `wanted`'s points cut out of one fetched for `fetched`, when every point
/// of `wanted` is among them.
fn submatrix(fetched: &Locations, matrix: &Matrix, wanted: &Locations) -> Option<Matrix> {
    let index: Vec<usize> = wanted
        .points
        .iter()
        .map(|p| fetched.get(*p))
        .collect::<Option<_>>()?;
    let n = index.len();
    let value = |v: f64| v.is_finite().then_some(v);
    let mut durations = Vec::with_capacity(n * n);
    let mut distances = Vec::with_capacity(n * n);
    for &i in &index {
        for &j in &index {
            durations.push(value(matrix.duration(i, j)));
            distances.push(value(matrix.distance(i, j)));
        }
    }
    Matrix::new(n, durations, distances).ok()
}

/// How many times the plan is re-read when it gained a place between the unlocked fetch of
/// travel times and the locked decision, before travel times are fetched under the lock.
const LIVE_ATTEMPTS: usize = 3;

/// Inserts request `id` into today's plan of `region` (with `pin`, into that vehicle's run,
/// taking it out of the run it is in first; a refusal is then a conflict and changes nothing).
/// Returns the outcome and, for a move, the run the request left.
///
/// Travel times are fetched with no connection, transaction or lock held: the day is read
/// once without the lock to know its places, their matrix is fetched (OSRM may be slow), then
/// the region's lock is taken, the day is read again, and if it has gained a place meanwhile
/// the lock is released and the fetch repeated. The optimiser runs on a blocking thread; the
/// lock is held only while the day is read, decided and written.
async fn insert_live(
    state: &AppState,
    region: &str,
    id: RideRequestId,
    pin: Option<Uuid>,
) -> AppResult<(LiveOutcome, Option<RunId>)> {
    let mut fetched: Option<(Locations, TravelMatrix)> = None;
    for attempt in 1..=LIVE_ATTEMPTS {
        let (today, now_s) = service_day::today(state.now());
        let needed = match &fetched {
            None => {
                let mut conn = state.db.acquire().await?;
                Some(
                    live_problem(&mut conn, region, today, now_s, id.0, pin)
                        .await?
                        .locs,
                )
            }
            Some(_) => None,
        };
        if let Some(locs) = needed {
            let travel = state
                .travel
                .matrix(&locs.points)
                .await
                .map_err(|e| anyhow::anyhow!("travel times: {e}"))?;
            fetched = Some((locs, travel));
        }
        let (fetched_locs, travel) = fetched.as_ref().expect("fetched above");
        let mut tx = state.db.begin().await?;
        lock_region(&mut tx, region).await?;
        let old_run = match pin {
            Some(_) => db::remove_request(&mut tx, id).await?,
            None => None,
        };
        let live = live_problem(&mut tx, region, today, now_s, id.0, pin).await?;
        let matrix = match submatrix(fetched_locs, &travel.matrix, &live.locs) {
            Some(m) => m,
            None if attempt < LIVE_ATTEMPTS => {
                // The plan gained a place meanwhile: let go of the lock and fetch again.
                drop(tx);
                fetched = None;
                continue;
            }
            None => {
                tracing::warn!(%region, "the live plan keeps changing; fetching travel times under the lock");
                state
                    .travel
                    .matrix(&live.locs.points)
                    .await
                    .map_err(|e| anyhow::anyhow!("travel times: {e}"))?
                    .matrix
            }
        };
        let outcome = decide(
            &mut tx,
            region,
            today,
            now_s,
            id,
            pin,
            live,
            matrix,
            travel.estimated,
        )
        .await?;
        if pin.is_some() {
            if let LiveOutcome::Refused { reason, .. } | LiveOutcome::Queued { reason, .. } =
                &outcome
            {
                return Err(AppError::conflict(
                    "infeasible",
                    format!("the request does not fit in that run: {reason}"),
                ));
            }
        }
        tx.commit().await?;
        return Ok((outcome, old_run));
    }
    unreachable!("the last attempt always decides")
}

/// Under the region's lock: runs the insertion on a blocking thread and writes the routes it
/// changed and the rider's promise, or the refusal with alternatives.
#[allow(clippy::too_many_arguments)]
async fn decide(
    conn: &mut PgConnection,
    region: &str,
    today: NaiveDate,
    now_s: f64,
    id: RideRequestId,
    pin: Option<Uuid>,
    live: LiveProblem,
    matrix: Matrix,
    estimated: bool,
) -> AppResult<LiveOutcome> {
    let LiveProblem { day, locs, new_idx } = live;
    let (vehicles, requests, plan_state) = (
        day.vehicles.clone(),
        day.requests.clone(),
        day.state.clone(),
    );
    let (result, relaxed) = tokio::task::spawn_blocking(move || {
        accept_reality(&vehicles, requests, &locs, &matrix, &plan_state, new_idx)
    })
    .await
    .map_err(|e| anyhow::anyhow!("live insertion thread: {e}"))??;
    if relaxed {
        tracing::warn!(
            %region,
            "the running plan no longer keeps every promise (early boarding or a late vehicle): re-timed from what the drivers reported"
        );
    }
    match result {
        Ok(replanned) => {
            let mut pickup = None;
            let before: HashMap<usize, &Vec<PlannedStop>> = day
                .state
                .vehicles
                .iter()
                .map(|v| (v.vehicle, &v.planned))
                .collect();
            for route in &replanned.routes {
                // Routes the insertion did not touch keep their stops and times.
                let after: Vec<PlannedStop> = route.stops.iter().map(PlannedStop::from).collect();
                if before.get(&route.vehicle).is_some_and(|b| **b == after) {
                    continue;
                }
                let run_id = write_route(conn, region, today, &day, route, estimated).await?;
                if let Some(s) = route
                    .stops
                    .iter()
                    .find(|s| s.request == new_idx && s.kind == RouteStop::Pickup)
                {
                    pickup = Some((run_id, service_day::at(day.zero, s.service_start)));
                }
            }
            let (run_id, pickup_at) = pickup
                .ok_or_else(|| anyhow::anyhow!("inserted request missing from the routes"))?;
            let driver: Option<Uuid> =
                sqlx::query_scalar("select driver_id from run where run_id = $1")
                    .bind(run_id)
                    .fetch_one(&mut *conn)
                    .await?;
            if driver.is_none() {
                // No driver is free for that run: the time is planned, not promised.
                crate::bookings::db::place(conn, id, run_id.into(), pickup_at).await?;
                return Ok(LiveOutcome::Queued {
                    ride_request_id: id,
                    reason: format!(
                        "planned for {} on run {run_id}, but no driver is free for it yet: a coordinator gives the run a driver",
                        pickup_at.to_rfc3339()
                    ),
                });
            }
            crate::bookings::db::confirm(conn, id, run_id.into(), pickup_at).await?;
            Ok(LiveOutcome::Confirmed {
                ride_request_id: id,
                run_id: run_id.into(),
                pickup_at,
            })
        }
        Err(InsertError::Refused(reason)) => {
            let reason = format!("{reason:?}");
            if pin.is_none() {
                crate::bookings::db::set_status(conn, id, RideStatus::Refused, Some(&reason), None)
                    .await?;
            }
            let mut alternatives =
                lines_still_passing(conn, region, today, now_s, &day.requests[new_idx]).await?;
            alternatives.extend([
                "book a later time today (another vehicle may be free)".to_owned(),
                "book for tomorrow: the night's planning places every request it can".to_owned(),
            ]);
            Ok(LiveOutcome::Refused {
                ride_request_id: id,
                reason,
                alternatives,
            })
        }
        Err(InsertError::Invalid(e)) => {
            let reason =
                format!("not placed live ({e}): waiting for a coordinator or the next plan");
            crate::bookings::db::note(conn, id, &reason, None).await?;
            Ok(LiveOutcome::Queued {
                ride_request_id: id,
                reason,
            })
        }
    }
}

/// The insertion of request `new_idx`, first against every promise of the running plan; when
/// reality has left the plan behind (a rider boarded early and the ride clock runs, a vehicle
/// is late) so that the plan as it stands cannot be kept, again with the promises of the
/// riders already placed relaxed ([`PlanRequest::relaxed`]): the plan accepts what happened,
/// re-times, and the runs view flags the promises at risk. Returns whether it relaxed.
///
/// # Errors
/// An inconsistent problem (a bug, not a late vehicle).
fn accept_reality(
    vehicles: &[PlanVehicle],
    mut requests: Vec<PlanRequest>,
    locs: &Locations,
    matrix: &Matrix,
    state: &PlanState,
    new_idx: usize,
) -> anyhow::Result<(Result<dynamic::Replanned, InsertError>, bool)> {
    let problem = build_problem(vehicles, &requests, locs, matrix)
        .map_err(|e| anyhow::anyhow!("building the live problem: {e}"))?;
    match dynamic::insert(&problem, matrix, state, new_idx) {
        Err(InsertError::Invalid(_)) => {
            for r in requests.iter_mut().take(new_idx) {
                r.relaxed = true;
            }
            let problem = build_problem(vehicles, &requests, locs, matrix)
                .map_err(|e| anyhow::anyhow!("building the live problem: {e}"))?;
            Ok((dynamic::insert(&problem, matrix, state, new_idx), true))
        }
        other => Ok((other, false)),
    }
}

/// Work lines that still pass today near the pickup and then the drop-off, with a free seat.
async fn lines_still_passing(
    conn: &mut PgConnection,
    region: &str,
    today: NaiveDate,
    now_s: f64,
    r: &PlanRequest,
) -> AppResult<Vec<String>> {
    use crate::geo::LonLat;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let now = {
        let m = (now_s / 60.0) as u32;
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let lines = crate::lines::db::lines_passing(
        conn,
        region,
        today,
        LonLat::from(r.pickup),
        LonLat::from(r.dropoff),
        1000.0,
    )
    .await?;
    Ok(lines
        .into_iter()
        .filter(|l| l.free_seats > 0 && l.board_time.as_str() >= now.as_str())
        .map(|l| {
            format!(
                "work line \"{}\": board at {} ({:.0} m from the pickup), {} seat(s) free",
                l.name, l.board_time, l.board_distance_m, l.free_seats
            )
        })
        .collect())
}

/// Rewrites the pending part of a vehicle's run from a replanned route (a vehicle with no
/// run yet gets one). Returns the run.
async fn write_route(
    conn: &mut PgConnection,
    region: &str,
    today: NaiveDate,
    day: &Day,
    route: &routing::solution::Route,
    estimated: bool,
) -> AppResult<Uuid> {
    let vehicle = &day.vehicles[route.vehicle];
    let (run_id, next_seq) = match day.runs.get(&route.vehicle) {
        Some(&(run_id, _)) => {
            sqlx::query(
                "delete from run_stop s where s.run_id = $1 and s.status = 'pending' and s.kind <> 'start'
                   and not (s.kind = 'pickup' and exists (
                       select 1 from run_stop d where d.run_id = s.run_id and d.kind = 'dropoff'
                          and d.ride_request_id = s.ride_request_id and d.status <> 'pending'))",
            )
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
            let max: Option<i32> =
                sqlx::query_scalar("select max(seq) from run_stop where run_id = $1")
                    .bind(run_id)
                    .fetch_one(&mut *conn)
                    .await?;
            // the breaks still to come are placed again with the stops (those the driver
            // has reported stay as reported)
            sqlx::query(
                "delete from run_break where run_id = $1 and after_seq >= $2 and started_at is null",
            )
                .bind(run_id)
                .bind(max.unwrap_or(0))
                .execute(&mut *conn)
                .await?;
            (run_id, max.map_or(0, |m| m + 1))
        }
        None => {
            let run_id: Uuid = sqlx::query_scalar(
                "insert into run (region_code, service_date, vehicle_id, estimated_times) values ($1, $2, $3, $4) returning run_id",
            )
            .bind(region)
            .bind(today)
            .bind(vehicle.id)
            .bind(estimated)
            .fetch_one(&mut *conn)
            .await?;
            (run_id, 0)
        }
    };
    let stops = super::plan::route_stops(day.zero, vehicle, &day.requests, route, next_seq == 0);
    db::insert_stops(conn, region, run_id, next_seq, &stops).await?;
    let breaks = super::plan::route_breaks(day.zero, route, next_seq, next_seq == 0);
    db::insert_breaks(conn, region, run_id, &breaks).await?;
    super::crew::assign(conn, run_id).await?;
    #[allow(clippy::cast_possible_truncation)]
    sqlx::query("update run set planned_distance_m = $2 where run_id = $1")
        .bind(run_id)
        .bind(route.distance.round() as i32)
        .execute(&mut *conn)
        .await?;
    Ok(run_id)
}

#[derive(sqlx::FromRow)]
struct RetimeRow {
    seq: i32,
    status: String,
    kind: String,
    lon: f64,
    lat: f64,
    departure: DateTime<Utc>,
    actual_arrival: Option<DateTime<Utc>>,
    not_before: Option<DateTime<Utc>>,
    wheelchair: Option<bool>,
    /// The run is a work line's: it keeps its timetable.
    on_line: bool,
}

/// Recomputes the planned times of a run's pending stops from the last stop reached (its
/// actual time) on road travel times: after a cancellation, a no-show or a late vehicle.
/// A vehicle never leaves a pickup before the promised time minus five minutes; a work line's
/// run keeps its timetable (no stop earlier than planned; later when the van is late).
///
/// # Errors
/// Database or travel-time failures.
pub async fn retime_run(state: &AppState, run_id: RunId) -> AppResult<()> {
    let rows: Vec<RetimeRow> = sqlx::query_as(
        "select s.seq, s.status::text as status, s.kind::text as kind,
                st_x(s.location::geometry) as lon, st_y(s.location::geometry) as lat,
                s.planned_departure as departure, s.actual_arrival,
                case when l.line_id is not null then s.planned_arrival
                     when s.kind = 'pickup' then coalesce(r.promised_pickup_at - interval '5 minutes', r.earliest_pickup) end as not_before,
                r.wheelchair, l.line_id is not null as on_line
         from run_stop s left join ride_request r on r.ride_request_id = s.ride_request_id
         left join run l on l.run_id = s.run_id and l.line_id is not null
         where s.run_id = $1 order by s.seq",
    )
    .bind(run_id)
    .fetch_all(&state.db)
    .await?;
    if rows.len() < 2 {
        return Ok(());
    }
    let points: Vec<Location> = rows
        .iter()
        .map(|r| Location {
            lon: r.lon,
            lat: r.lat,
        })
        .collect();
    let travel = state
        .travel
        .matrix(&points)
        .await
        .map_err(|e| anyhow::anyhow!("travel times: {e}"))?;
    let breaks = {
        let mut conn = state.db.acquire().await?;
        db::breaks_of(&mut conn, run_id.0).await?
    };
    let mut updates = Vec::new();
    let mut break_updates = Vec::new();
    let mut clock: Option<DateTime<Utc>> = None;
    // a break after a stop comes before the next pending stop, never earlier than planned;
    // one the driver has begun keeps its reported start (and end, once reported)
    #[allow(clippy::cast_possible_truncation)]
    let length = chrono::Duration::seconds(super::BREAK_S as i64);
    let mut take_break = |seq: i32, next_pending: bool, clock: &mut Option<DateTime<Utc>>| {
        if let (Some(b), Some(c)) = (breaks.iter().find(|b| b.after_seq == seq), *clock) {
            if next_pending {
                let (start, end) = match b.started_at {
                    Some(s) => (s, b.ended_at.unwrap_or(s + length)),
                    None => {
                        let start = c.max(b.planned_start);
                        (start, start + length)
                    }
                };
                break_updates.push((b.planned_start, start, end));
                *clock = Some(c.max(end));
            }
        }
    };
    for (i, r) in rows.iter().enumerate() {
        let next_pending = rows.get(i + 1).is_some_and(|n| n.status == "pending");
        if r.status != "pending" || r.kind == "start" {
            clock = Some(r.actual_arrival.unwrap_or(r.departure).max(r.departure));
            take_break(r.seq, next_pending, &mut clock);
            continue;
        }
        let Some(prev) = clock else { continue };
        #[allow(clippy::cast_possible_truncation)]
        let drive = chrono::Duration::milliseconds(
            (travel.matrix.duration(i - 1, i) * 1000.0).round() as i64,
        );
        let arrival = prev + drive;
        let service = if r.on_line {
            // a line's timetable has its boarding in it
            0.0
        } else if r.wheelchair == Some(true) {
            super::WHEELCHAIR_SERVICE_S
        } else {
            super::SERVICE_S
        };
        let start = r.not_before.map_or(arrival, |nb| nb.max(arrival));
        // a line's van is at its stop at the stop's time, not as soon as it could be
        let arrival = if r.on_line { start } else { arrival };
        #[allow(clippy::cast_possible_truncation)]
        let departure = if r.kind == "end" {
            start
        } else {
            start + chrono::Duration::seconds(service as i64)
        };
        updates.push((r.seq, arrival, departure));
        clock = Some(departure);
        take_break(r.seq, next_pending, &mut clock);
    }
    let mut tx = state.db.begin().await?;
    for (was, start, end) in break_updates {
        sqlx::query(
            "update run_break set planned_start = $3, planned_end = $4 where run_id = $1 and planned_start = $2",
        )
        .bind(run_id)
        .bind(was)
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?;
    }
    for (seq, arrival, departure) in updates {
        sqlx::query("update run_stop set planned_arrival = $3, planned_departure = $4 where run_id = $1 and seq = $2")
            .bind(run_id)
            .bind(seq)
            .bind(arrival)
            .bind(departure)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
