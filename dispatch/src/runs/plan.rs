//! Planning jobs: plan a region's day off the request thread, with progress visible while it
//! runs, and write the result as runs. Replanning keeps what riders were promised unless told
//! otherwise (`keep_confirmed`).

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use routing::matrix::Matrix;
use routing::solution::{Solution, StopKind as RouteStop};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::db::{self, BreakView, NewStop};
use super::{build_problem, locations, Locations, PlanRequest, PlanVehicle, StopKind};
use crate::error::AppResult;
use crate::ids::RunId;
use crate::service_day::at;
use crate::state::AppState;

/// What a finished plan reports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    /// Requests considered.
    pub requests: usize,
    /// Requests placed in a run.
    pub served: usize,
    /// Requests left out (reasons in `plan_unserved`).
    pub unserved: usize,
    /// Vehicles available.
    pub vehicles_available: usize,
    /// Vehicles used.
    pub vehicles_used: usize,
    /// Planned kilometres.
    pub distance_km: f64,
    /// Planned on estimates (OSRM unavailable).
    pub estimated_times: bool,
    /// Matrix time, ms.
    pub matrix_ms: u128,
    /// Solve time, ms.
    pub solve_ms: u128,
    /// The search stopped before its time limit because it had converged.
    pub converged_early: bool,
    /// Work-line runs created for the day.
    pub line_runs: usize,
    /// On-demand requests placed on a work line's run where it passes.
    pub on_lines: usize,
}

/// Creates a queued job: one per region and day at a time.
///
/// # Errors
/// A conflict `plan_running` while another job of the region and day is queued or running;
/// database errors.
pub async fn create_job(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
    keep_confirmed: bool,
    by: Option<Uuid>,
) -> AppResult<Uuid> {
    sqlx::query_scalar(
        "insert into plan_job (region_code, service_date, keep_confirmed, requested_by) values ($1, $2, $3, $4)
         returning plan_job_id",
    )
    .bind(region)
    .bind(day)
    .bind(keep_confirmed)
    .bind(by)
    .fetch_one(conn)
    .await
    .map_err(|e| {
        let e = crate::error::on_constraint(e);
        if matches!(e, crate::error::AppError::Conflict { .. }) {
            crate::telemetry::plan_job("refused_busy", None);
        }
        e
    })
}

/// Marks failed the jobs a crash or a stop left queued or running: nothing runs them any more
/// (jobs run inside the service's process). Called when the service starts; returns how many.
///
/// # Errors
/// Database errors.
pub async fn fail_interrupted_jobs(pool: &sqlx::PgPool) -> AppResult<u64> {
    let n = sqlx::query(
        "update plan_job
            set status = 'failed', error = 'interrupted: the service stopped while it ran',
                progress = 'failed: interrupted by a restart', finished_at = now()
          where status in ('queued', 'running')",
    )
    .execute(pool)
    .await?
    .rows_affected();
    if n > 0 {
        tracing::warn!(
            jobs = n,
            "planning jobs left running by a stop marked failed"
        );
        crate::telemetry::plan_jobs_interrupted(n);
    }
    Ok(n)
}

async fn progress(state: &AppState, job: Uuid, status: &str, text: &str) {
    tracing::info!(%job, status, "{text}");
    let r = sqlx::query(
        "update plan_job set status = $2::plan_status, progress = $3,
             started_at = coalesce(started_at, case when $2 = 'running' then now() end),
             finished_at = case when $2 in ('done', 'failed') then now() end
         where plan_job_id = $1",
    )
    .bind(job)
    .bind(status)
    .bind(text)
    .execute(&state.db)
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not record plan progress");
    }
}

/// Runs a job to the end, recording progress; failures are recorded on the job too.
pub async fn run_job(state: AppState, job: Uuid, time_limit: Duration) -> Option<PlanSummary> {
    let started = Instant::now();
    // Planned in its own task, so that a panic in the optimiser still ends the job as failed
    // (a job left "running" would refuse every plan of the day until a restart).
    let st = state.clone();
    let result = match tokio::spawn(async move { plan(&st, job, time_limit).await }).await {
        Ok(r) => r,
        Err(e) => Err(anyhow::anyhow!("planning stopped unexpectedly: {e}")),
    };
    crate::telemetry::plan_job(
        if result.is_ok() { "done" } else { "failed" },
        Some(started.elapsed().as_secs_f64()),
    );
    match result {
        Ok(summary) => {
            let text = format!(
                "done: {} of {} requests served with {} vehicles{}",
                summary.served,
                summary.requests,
                summary.vehicles_used,
                if summary.converged_early {
                    format!(
                        " (the search converged after {:.1} s and stopped early)",
                        summary.solve_ms as f64 / 1000.0
                    )
                } else {
                    String::new()
                }
            );
            let _ = sqlx::query("update plan_job set summary = $2 where plan_job_id = $1")
                .bind(job)
                .bind(sqlx::types::Json(&summary))
                .execute(&state.db)
                .await;
            progress(&state, job, "done", &text).await;
            Some(summary)
        }
        Err(e) => {
            tracing::error!(%job, error = format!("{e:#}"), "planning failed");
            let _ = sqlx::query("update plan_job set error = $2 where plan_job_id = $1")
                .bind(job)
                .bind(format!("{e:#}"))
                .execute(&state.db)
                .await;
            progress(&state, job, "failed", "failed: see error").await;
            None
        }
    }
}

async fn plan(state: &AppState, job: Uuid, time_limit: Duration) -> anyhow::Result<PlanSummary> {
    let (region, day, keep): (String, NaiveDate, bool) = sqlx::query_as(
        "select region_code, service_date, keep_confirmed from plan_job where plan_job_id = $1",
    )
    .bind(job)
    .fetch_one(&state.db)
    .await?;
    progress(state, job, "running", "collecting requests and vehicles").await;
    let line_runs = materialise_lines(state, job, &region, day).await?;
    let (vehicles, requests, on_lines) = {
        let mut tx = state.db.begin().await?;
        let vehicles = db::free_vehicles(&mut tx, &region, day, false).await?;
        let requests = db::plannable_requests(&mut tx, &region, day, keep, &vehicles).await?;
        let on_lines = super::on_lines::place_on_lines(&mut tx, &region, day, &requests).await?;
        tx.commit().await?;
        let requests: Vec<PlanRequest> = requests
            .into_iter()
            .filter(|r| !on_lines.contains(&r.id))
            .collect();
        (vehicles, requests, on_lines.len())
    };
    let locs = locations(&vehicles, &requests);
    progress(
        state,
        job,
        "running",
        &format!("travel times for {} places", locs.points.len()),
    )
    .await;
    let t = Instant::now();
    let travel = state.travel.matrix(&locs.points).await?;
    let matrix_ms = t.elapsed().as_millis();
    progress(
        state,
        job,
        "running",
        &format!(
            "optimising {} requests on {} vehicles ({} s at most)",
            requests.len(),
            vehicles.len(),
            time_limit.as_secs()
        ),
    )
    .await;
    let t = Instant::now();
    let (solution, stats) = solve_off_thread(
        &vehicles,
        &requests,
        &locs,
        travel.matrix.clone(),
        time_limit,
    )
    .await?;
    let solve_ms = t.elapsed().as_millis();
    progress(state, job, "running", "saving runs").await;
    let mut tx = state.db.begin().await?;
    let zero = crate::service_day::midnight(day);
    clear_planned_runs(&mut tx, &region, day).await?;
    let mut solution = solution;
    let taken =
        drop_what_changed(&mut tx, &region, zero, &vehicles, &requests, &mut solution).await?;
    let written = write_solution(
        &mut tx,
        &Written {
            region: &region,
            day,
            job: Some(job),
            zero,
            estimated: travel.estimated,
        },
        &vehicles,
        &requests,
        &solution,
    )
    .await?;
    for u in &solution.unserved {
        sqlx::query("insert into plan_unserved (region_code, plan_job_id, ride_request_id, reason) values ($1, $2, $3, $4)")
            .bind(&region)
            .bind(job)
            .bind(requests[u.request].id)
            .bind(format!("{:?}", u.reason))
            .execute(&mut *tx)
            .await?;
    }
    for r in &taken {
        sqlx::query("insert into plan_unserved (region_code, plan_job_id, ride_request_id, reason) values ($1, $2, $3, $4)")
            .bind(&region)
            .bind(job)
            .bind(requests[*r].id)
            .bind("VehicleTakenWhilePlanning")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("update plan_job set estimated_times = $2 where plan_job_id = $1")
        .bind(job)
        .bind(travel.estimated)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(PlanSummary {
        requests: requests.len() + on_lines,
        served: requests.len() + on_lines - solution.unserved.len() - taken.len(),
        unserved: solution.unserved.len() + taken.len(),
        vehicles_available: vehicles.len(),
        vehicles_used: solution.routes.len(),
        distance_km: written / 1000.0,
        estimated_times: travel.estimated,
        matrix_ms,
        solve_ms,
        converged_early: stats.converged,
        line_runs,
        on_lines,
    })
}

/// Turns the day's work-line services into runs (idempotent), before the demand-responsive
/// fleet is planned around them: a vehicle on a line that day is not free for other rides.
async fn materialise_lines(
    state: &AppState,
    job: Uuid,
    region: &str,
    day: NaiveDate,
) -> anyhow::Result<usize> {
    let requested_by: Option<Uuid> =
        sqlx::query_scalar("select requested_by from plan_job where plan_job_id = $1")
            .bind(job)
            .fetch_one(&state.db)
            .await?;
    let mut tx = state.db.begin().await?;
    let runs = super::line_runs::materialise_day(&mut tx, region, day, requested_by)
        .await
        .map_err(|e| anyhow::anyhow!("work lines: {e}"))?;
    tx.commit().await?;
    Ok(runs.len())
}

/// Iterations without a better plan after which planning stops early: the search has
/// converged (a few milliseconds for a handful of requests; the time limit stays a cap for a
/// region's day).
#[must_use]
pub fn stall_iterations(requests: usize) -> u64 {
    2_000 + 100 * u64::try_from(requests).unwrap_or(u64::MAX / 200)
}

/// Solves on a blocking thread: the async threads keep serving requests meanwhile. Stops
/// early when the search has converged ([`stall_iterations`]).
///
/// # Errors
/// When the problem is inconsistent or the solver thread fails.
pub async fn solve_off_thread(
    vehicles: &[PlanVehicle],
    requests: &[PlanRequest],
    locs: &Locations,
    matrix: Matrix,
    time_limit: Duration,
) -> anyhow::Result<(Solution, routing::solver::SearchStats)> {
    let problem = build_problem(vehicles, requests, locs, &matrix)?;
    let options = routing::Options {
        seed: 1,
        time_limit,
        max_iterations: None,
        stall_iterations: Some(stall_iterations(requests.len())),
        threads: routing::Options::all_cores(),
    };
    let solution = tokio::task::spawn_blocking(move || {
        routing::solver::solve_with_stats(&problem, &matrix, &options)
    })
    .await??;
    Ok(solution)
}

/// What changed on the road while the plan was being computed, taken out of `solution` before
/// it is written (in the writing transaction, after the planned runs are locked and cleared):
/// requests no longer plannable (a driver boarded or dropped them off on a run that started
/// meanwhile, a coordinator cancelled them) lose their stops, and the routes of vehicles now
/// busy on a started run at the same time are dropped whole. The remaining stops keep their
/// times: taking stops out never makes a schedule later. Returns the requests left unserved
/// because their vehicle was taken (the others are being served already, or need nothing).
async fn drop_what_changed(
    conn: &mut PgConnection,
    region: &str,
    zero: DateTime<Utc>,
    vehicles: &[PlanVehicle],
    requests: &[PlanRequest],
    solution: &mut Solution,
) -> AppResult<Vec<usize>> {
    let ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let stale: Vec<Uuid> = sqlx::query_scalar(
        "select r.ride_request_id from ride_request r
          where r.region_code = $1 and r.ride_request_id = any($2)
            and (r.status not in ('requested', 'planned', 'confirmed')
                 or exists (select 1 from run_stop s
                              join run on run.region_code = s.region_code and run.run_id = s.run_id
                             where s.region_code = r.region_code
                               and s.ride_request_id = r.ride_request_id
                               and run.status <> 'cancelled'))
          for update of r",
    )
    .bind(region)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    // Vehicles with a run that survived the clearing (started, or a line's) and the span it
    // takes on the day.
    type Span = (Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let busy: Vec<Span> = sqlx::query_as(
        "select run.vehicle_id, min(s.planned_arrival), max(s.planned_departure)
           from run join run_stop s on s.region_code = run.region_code and s.run_id = run.run_id
          where run.region_code = $1 and run.vehicle_id = any($2)
            and run.service_date = ($3 at time zone 'Europe/Rome')::date
            and run.status in ('in_progress', 'completed')
          group by run.region_code, run.run_id",
    )
    .bind(region)
    .bind(vehicles.iter().map(|v| v.id).collect::<Vec<_>>())
    .bind(zero)
    .fetch_all(&mut *conn)
    .await?;
    let mut taken = Vec::new();
    solution.routes.retain_mut(|route| {
        let (from, to) = (at(zero, route.start_time), at(zero, route.end_time));
        let vehicle = vehicles[route.vehicle].id;
        let clash = busy.iter().any(|(v, a, b)| {
            *v == vehicle && a.is_some_and(|a| a < to) && b.is_some_and(|b| b > from)
        });
        if clash {
            taken.extend(
                route
                    .stops
                    .iter()
                    .filter(|s| s.kind == RouteStop::Pickup && !stale.contains(&requests[s.request].id))
                    .map(|s| s.request),
            );
            tracing::warn!(vehicle = %vehicle, "a vehicle started a run while the plan was computed: its new route is dropped");
            return false;
        }
        let kept: Vec<bool> = route
            .stops
            .iter()
            .map(|s| !stale.contains(&requests[s.request].id))
            .collect();
        for b in &mut route.breaks {
            b.after = kept[..b.after].iter().filter(|&&k| k).count();
        }
        let mut k = kept.iter();
        route.stops.retain(|_| *k.next().unwrap_or(&true));
        !route.stops.is_empty()
    });
    if !stale.is_empty() {
        tracing::info!(
            requests = stale.len(),
            "requests that changed while the plan was computed are left where they are"
        );
    }
    Ok(taken)
}

/// Removes the demand-responsive runs of a day that have not started; their requests go back
/// to being plannable.
async fn clear_planned_runs(
    conn: &mut PgConnection,
    region: &str,
    day: NaiveDate,
) -> AppResult<()> {
    let runs: Vec<Uuid> = sqlx::query_scalar(
        "select run_id from run where region_code = $1 and service_date = $2 and status = 'planned' and line_id is null
         for update",
    )
    .bind(region)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?;
    let runs: Vec<RunId> = runs.into_iter().map(RunId).collect();
    crate::bookings::db::release_runs(&mut *conn, &runs).await?;
    sqlx::query("delete from run_stop where run_id = any($1)")
        .bind(&runs)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from run where run_id = any($1)")
        .bind(&runs)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where and how a solution is written.
pub struct Written<'a> {
    /// Region.
    pub region: &'a str,
    /// Day.
    pub day: NaiveDate,
    /// Planning job, if any.
    pub job: Option<Uuid>,
    /// Local midnight of the day.
    pub zero: DateTime<Utc>,
    /// Planned on estimates.
    pub estimated: bool,
}

/// Writes one run per route and confirms the served riders with their pickup time. Returns
/// the planned metres.
///
/// # Errors
/// Database errors.
pub async fn write_solution(
    conn: &mut PgConnection,
    w: &Written<'_>,
    vehicles: &[PlanVehicle],
    requests: &[PlanRequest],
    solution: &Solution,
) -> AppResult<f64> {
    let mut metres = 0.0;
    for route in &solution.routes {
        let vehicle = &vehicles[route.vehicle];
        #[allow(clippy::cast_possible_truncation)]
        let distance = route.distance.round() as i32;
        metres += route.distance;
        let run_id: Uuid = sqlx::query_scalar(
            "insert into run (region_code, service_date, vehicle_id, plan_job_id, estimated_times, planned_distance_m)
             values ($1, $2, $3, $4, $5, $6) returning run_id",
        )
        .bind(w.region)
        .bind(w.day)
        .bind(vehicle.id)
        .bind(w.job)
        .bind(w.estimated)
        .bind(distance)
        .fetch_one(&mut *conn)
        .await?;
        let stops = route_stops(w.zero, vehicle, requests, route, true);
        db::insert_stops(conn, w.region, run_id, 0, &stops).await?;
        db::insert_breaks(
            conn,
            w.region,
            run_id,
            &route_breaks(w.zero, route, 0, true),
        )
        .await?;
        // A rider is confirmed only on a run with a driver; on a run without one the pickup
        // time is planned and waits for a coordinator to give the run a driver.
        let driver = super::crew::assign(conn, run_id).await?;
        for s in &route.stops {
            if s.kind == RouteStop::Pickup {
                let (id, pickup) = (requests[s.request].id.into(), at(w.zero, s.service_start));
                if driver.is_some() {
                    crate::bookings::db::confirm(conn, id, run_id.into(), pickup).await?;
                } else {
                    crate::bookings::db::place(conn, id, run_id.into(), pickup).await?;
                }
            }
        }
    }
    Ok(metres)
}

/// A driver is on duty from this long before the first rider's stop (the crew rule of
/// [`super::crew`]), seconds.
const DUTY_LEAD_S: f64 = 1800.0;

/// The driver's breaks of a route written by [`route_stops`] from sequence number `first_seq`
/// on. Breaks at the depot that end before the driver's duty begins (half an hour before the
/// first rider's stop, the crew rule) are left out: the van is only waiting there.
pub(crate) fn route_breaks(
    zero: DateTime<Utc>,
    route: &routing::solution::Route,
    first_seq: i32,
    with_start: bool,
) -> Vec<BreakView> {
    let duty_from = route
        .stops
        .first()
        .map_or(f64::INFINITY, |s| s.service_start - DUTY_LEAD_S);
    route
        .breaks
        .iter()
        .filter(|b| !(with_start && b.after == 0 && b.start + super::BREAK_S <= duty_from))
        .map(|b| {
            let after = i32::try_from(b.after).unwrap_or(i32::MAX);
            BreakView {
                after_seq: first_seq + after - i32::from(!with_start),
                planned_start: at(zero, b.start),
                planned_end: at(zero, b.start + super::BREAK_S),
                started_at: None,
                ended_at: None,
            }
        })
        .collect()
}

/// The stops of a route: start where the vehicle is free (its depot, or where its last fixed
/// run ends), the pickups and drop-offs, end at the depot.
pub(crate) fn route_stops(
    zero: DateTime<Utc>,
    vehicle: &PlanVehicle,
    requests: &[PlanRequest],
    route: &routing::solution::Route,
    with_start: bool,
) -> Vec<NewStop> {
    let mut out = Vec::with_capacity(route.stops.len() + 2);
    if with_start {
        out.push(NewStop {
            kind: StopKind::Start,
            ride_request_id: None,
            location: vehicle.start,
            arrival: at(zero, route.start_time),
            departure: at(zero, route.start_time),
            place: None,
        });
    }
    // the service plans no single-stop jobs
    for s in route.stops.iter().filter(|s| s.kind != RouteStop::Job) {
        let r = &requests[s.request];
        let service = if r.wheelchair > 0 {
            super::WHEELCHAIR_SERVICE_S
        } else {
            super::SERVICE_S
        };
        let (kind, location) = match s.kind {
            RouteStop::Pickup => (StopKind::Pickup, r.pickup),
            RouteStop::Delivery => (StopKind::Dropoff, r.dropoff),
            RouteStop::Job => continue,
        };
        out.push(NewStop {
            kind,
            ride_request_id: Some(r.id),
            location,
            arrival: at(zero, s.arrival),
            departure: at(zero, s.service_start + service),
            place: None,
        });
    }
    out.push(NewStop {
        kind: StopKind::End,
        ride_request_id: None,
        location: vehicle.depot,
        arrival: at(zero, route.end_time),
        departure: at(zero, route.end_time),
        place: None,
    });
    out
}
