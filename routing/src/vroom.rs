//! VROOM's JSON input and output formats, so `routing solve` can replace `vroom` in a pipeline.
//!
//! Supported input: `vehicles` (`id`, `start`/`start_index`, `end`/`end_index`, `capacity`,
//! `skills`, `time_window`, `costs.fixed`/`per_hour`/`per_km`, `breaks` with `id`,
//! `time_windows`, `service`, `max_load`), `shipments` (`amount`, `skills`, `pickup`/`delivery`
//! with `id`, `location`/`location_index`, `service`, `time_windows`), single-stop `jobs` (`id`,
//! `location`/`location_index`, `service`, `time_windows`, `delivery` = load on board from the
//! start of the route to the job, `pickup` = load from the job to the end of the route, the
//! legacy `amount` = `delivery`, `skills`), several `time_windows` per stop, and
//! `matrices.<profile>.durations`/`distances` or the legacy `matrix`. Extensions:
//! `max_ride_time` on a shipment (seconds from the end of service at the pickup to the start of
//! service at the drop-off) and `max_duration` on a vehicle. Without a matrix, coordinates are
//! used with great-circle distances at a fixed speed (a fallback, not a road network).
//! Unsupported features are rejected with an error, never silently ignored: `max_travel_time`,
//! `max_distance`.
//!
//! Output: `code`, `summary`, `unassigned` (with an extra `reason`), and `routes` with `start`,
//! `job`, `pickup`, `delivery`, `break` and `end` steps (`arrival`, `duration` = cumulated
//! travel time, `distance`, `waiting_time`, `service`, `load`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::matrix::Matrix;
use crate::model::{Break, Job, Load, Objective, Problem, Request, Stop, TimeWindow, Vehicle};
use crate::solution::{Solution, StopKind};

/// Error reading a VROOM input.
#[derive(Debug, thiserror::Error)]
pub enum VroomError {
    /// Not valid JSON or wrong field types.
    #[error("invalid VROOM input: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON that this solver does not accept.
    #[error("{0}")]
    Unsupported(String),
}

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    vehicles: Vec<VehicleIn>,
    #[serde(default)]
    shipments: Vec<ShipmentIn>,
    #[serde(default)]
    jobs: Vec<JobIn>,
    #[serde(default)]
    matrices: Option<std::collections::BTreeMap<String, MatrixIn>>,
    #[serde(default)]
    matrix: Option<Vec<Vec<f64>>>,
}

#[derive(Deserialize)]
struct MatrixIn {
    durations: Option<Vec<Vec<f64>>>,
    distances: Option<Vec<Vec<f64>>>,
}

#[derive(Deserialize)]
struct CostsIn {
    #[serde(default)]
    fixed: f64,
    per_hour: Option<f64>,
    #[serde(default)]
    per_km: f64,
}

#[derive(Deserialize)]
struct VehicleIn {
    id: u64,
    start: Option<[f64; 2]>,
    start_index: Option<usize>,
    end: Option<[f64; 2]>,
    end_index: Option<usize>,
    #[serde(default)]
    capacity: Vec<u32>,
    #[serde(default)]
    skills: Vec<u32>,
    time_window: Option<TimeWindow>,
    costs: Option<CostsIn>,
    max_duration: Option<f64>,
    #[serde(default)]
    breaks: Vec<BreakIn>,
    max_travel_time: Option<Value>,
    max_distance: Option<Value>,
}

#[derive(Deserialize)]
struct BreakIn {
    id: u64,
    #[serde(default)]
    time_windows: Vec<TimeWindow>,
    #[serde(default)]
    service: f64,
    max_load: Option<Vec<u32>>,
}

#[derive(Deserialize)]
struct JobIn {
    id: u64,
    location: Option<[f64; 2]>,
    location_index: Option<usize>,
    #[serde(default)]
    service: f64,
    #[serde(default)]
    time_windows: Vec<TimeWindow>,
    delivery: Option<Vec<u32>>,
    #[serde(default)]
    pickup: Vec<u32>,
    amount: Option<Vec<u32>>,
    #[serde(default)]
    skills: Vec<u32>,
}

#[derive(Deserialize)]
struct StepIn {
    id: u64,
    location: Option<[f64; 2]>,
    location_index: Option<usize>,
    #[serde(default)]
    service: f64,
    #[serde(default)]
    time_windows: Vec<TimeWindow>,
}

#[derive(Deserialize)]
struct ShipmentIn {
    #[serde(default)]
    amount: Vec<u32>,
    #[serde(default)]
    skills: Vec<u32>,
    pickup: StepIn,
    delivery: StepIn,
    max_ride_time: Option<f64>,
}

/// A parsed VROOM input: the problem, its matrix, and what is needed to write the output.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The problem.
    pub problem: Problem,
    /// Durations and distances between the input's locations.
    pub matrix: Matrix,
    vehicle_ids: Vec<u64>,
    /// (pickup id, delivery id) of each shipment.
    step_ids: Vec<(u64, u64)>,
    /// Id of each job.
    job_ids: Vec<u64>,
    /// Ids of each vehicle's breaks.
    break_ids: Vec<Vec<u64>>,
    /// Coordinates per location, when given.
    coords: Vec<Option<[f64; 2]>>,
}

/// Locations collected from indices or coordinates.
struct Locations {
    by_index: bool,
    coords: Vec<Option<[f64; 2]>>,
}

impl Locations {
    fn get(
        &mut self,
        index: Option<usize>,
        coord: Option<[f64; 2]>,
        what: &str,
    ) -> Result<usize, VroomError> {
        if self.by_index {
            let i = index.ok_or_else(|| {
                VroomError::Unsupported(format!("{what}: location_index is required with a matrix"))
            })?;
            if self.coords.len() <= i {
                self.coords.resize(i + 1, None);
            }
            if coord.is_some() {
                self.coords[i] = coord;
            }
            Ok(i)
        } else {
            let c = coord.ok_or_else(|| {
                VroomError::Unsupported(format!("{what}: location is required without a matrix"))
            })?;
            let found = self.coords.iter().position(|x| *x == Some(c));
            Ok(found.unwrap_or_else(|| {
                self.coords.push(Some(c));
                self.coords.len() - 1
            }))
        }
    }
}

/// A stop with VROOM's `time_windows` (none: any time).
fn stop_with(location: usize, windows: &[TimeWindow], service: f64) -> Stop {
    let mut ws = crate::model::merge_windows(windows.iter().copied());
    let first = if ws.is_empty() {
        TimeWindow::any()
    } else {
        ws.remove(0)
    };
    Stop {
        location,
        window: first,
        extra_windows: ws,
        service,
    }
}

/// Parses a VROOM input. `speed_mps` is used only when no matrix is given.
///
/// # Errors
/// [`VroomError`] on invalid JSON, unsupported features or inconsistent data.
pub fn parse(text: &str, speed_mps: f64) -> Result<Parsed, VroomError> {
    let input: Input = serde_json::from_str(text)?;
    let unsupported = |m: String| Err(VroomError::Unsupported(m));
    let (durations, distances) = match (&input.matrices, &input.matrix) {
        (Some(ms), _) => {
            let m = ms
                .values()
                .next()
                .ok_or_else(|| VroomError::Unsupported("empty `matrices`".into()))?;
            (m.durations.clone(), m.distances.clone())
        }
        (None, Some(m)) => (Some(m.clone()), None),
        (None, None) => (None, None),
    };
    let mut locs = Locations {
        by_index: durations.is_some(),
        coords: Vec::new(),
    };
    let mut vehicles = Vec::new();
    for v in &input.vehicles {
        if v.max_travel_time.is_some() || v.max_distance.is_some() {
            return unsupported(format!(
                "vehicle {}: max_travel_time, max_distance are not supported",
                v.id
            ));
        }
        let what = format!("vehicle {}", v.id);
        let start = locs.get(v.start_index, v.start, &what)?;
        let end = if v.end_index.is_some() || v.end.is_some() {
            Some(locs.get(v.end_index, v.end, &what)?)
        } else {
            None
        };
        let mut veh = Vehicle::new(
            start,
            end,
            Load(v.capacity.clone()),
            v.time_window.unwrap_or(TimeWindow::any()),
        );
        veh.skills.clone_from(&v.skills);
        veh.max_duration = v.max_duration;
        let c = v.costs.as_ref();
        veh.fixed_cost = c.map_or(0.0, |c| c.fixed);
        veh.cost_per_time = c.and_then(|c| c.per_hour).unwrap_or(3600.0) / 3600.0;
        veh.cost_per_distance = c.map_or(0.0, |c| c.per_km) / 1000.0;
        veh.breaks = v
            .breaks
            .iter()
            .map(|b| Break {
                windows: b.time_windows.clone(),
                service: b.service,
                max_load: b.max_load.clone().map(Load),
                skip_after_end: false,
                max_gap: None,
            })
            .collect();
        vehicles.push(veh);
    }
    let mut requests = Vec::new();
    for s in &input.shipments {
        let mut stop = |st: &StepIn| -> Result<Stop, VroomError> {
            let location = locs.get(st.location_index, st.location, &format!("step {}", st.id))?;
            Ok(stop_with(location, &st.time_windows, st.service))
        };
        let (pickup, delivery) = (stop(&s.pickup)?, stop(&s.delivery)?);
        requests.push(Request {
            pickup,
            delivery,
            load: Load(s.amount.clone()),
            max_ride_time: s.max_ride_time,
            skills: s.skills.clone(),
            vehicle: None,
        });
    }
    let mut jobs = Vec::new();
    for j in &input.jobs {
        let location = locs.get(j.location_index, j.location, &format!("job {}", j.id))?;
        jobs.push(Job {
            stop: stop_with(location, &j.time_windows, j.service),
            pickup: Load(j.pickup.clone()),
            delivery: Load(
                j.delivery
                    .clone()
                    .or_else(|| j.amount.clone())
                    .unwrap_or_default(),
            ),
            skills: j.skills.clone(),
            vehicle: None,
        });
    }
    // VROOM allows omitting amounts and capacities: treat missing dimensions as zero.
    let dims = vehicles
        .iter()
        .map(|v| v.capacity.0.len())
        .chain(vehicles.iter().flat_map(|v| {
            v.breaks
                .iter()
                .map(|b| b.max_load.as_ref().map_or(0, |l| l.0.len()))
        }))
        .chain(requests.iter().map(|r| r.load.0.len()))
        .chain(
            jobs.iter()
                .map(|j| j.pickup.0.len().max(j.delivery.0.len())),
        )
        .max()
        .unwrap_or(0);
    for v in &mut vehicles {
        v.capacity.0.resize(dims, 0);
        for b in &mut v.breaks {
            if let Some(l) = &mut b.max_load {
                l.0.resize(dims, 0);
            }
        }
    }
    for r in &mut requests {
        r.load.0.resize(dims, 0);
    }
    for j in &mut jobs {
        j.pickup.0.resize(dims, 0);
        j.delivery.0.resize(dims, 0);
    }
    let objective = Objective {
        unserved_weight: 1e12,
        vehicle_weight: 0.0,
    };
    let problem = Problem::with_jobs(requests, jobs, vehicles, objective)
        .map_err(|e| VroomError::Unsupported(e.to_string()))?;
    let matrix = build_matrix(durations, distances, &locs, speed_mps)?;
    problem
        .validate_against(&matrix)
        .map_err(|e| VroomError::Unsupported(e.to_string()))?;
    Ok(Parsed {
        problem,
        matrix,
        vehicle_ids: input.vehicles.iter().map(|v| v.id).collect(),
        step_ids: input
            .shipments
            .iter()
            .map(|s| (s.pickup.id, s.delivery.id))
            .collect(),
        job_ids: input.jobs.iter().map(|j| j.id).collect(),
        break_ids: input
            .vehicles
            .iter()
            .map(|v| v.breaks.iter().map(|b| b.id).collect())
            .collect(),
        coords: locs.coords,
    })
}

fn build_matrix(
    durations: Option<Vec<Vec<f64>>>,
    distances: Option<Vec<Vec<f64>>>,
    locs: &Locations,
    speed_mps: f64,
) -> Result<Matrix, VroomError> {
    let bad = |e: crate::matrix::MatrixError| VroomError::Unsupported(e.to_string());
    if let Some(d) = durations {
        let n = d.len();
        let flat = |m: Vec<Vec<f64>>| m.into_iter().flatten().map(Some).collect::<Vec<_>>();
        let dist = distances.map_or_else(|| vec![Some(0.0); n * n], flat);
        return Matrix::new(n, flat(d), dist).map_err(bad);
    }
    let pts: Vec<[f64; 2]> = locs
        .coords
        .iter()
        .map(|c| c.unwrap_or([0.0, 0.0]))
        .collect();
    let n = pts.len();
    let mut dist = Vec::with_capacity(n * n);
    for a in &pts {
        for b in &pts {
            dist.push(Some(haversine_m(*a, *b)));
        }
    }
    let dur = dist
        .iter()
        .map(|d| d.map(|x| (x / speed_mps).round()))
        .collect();
    Matrix::new(n, dur, dist).map_err(bad)
}

/// Great-circle distance in metres between `[lon, lat]` points.
fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, la2) = (a[1].to_radians(), b[1].to_radians());
    let (dla, dlo) = (la2 - la1, (b[0] - a[0]).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// A number as JSON: integral values as integers (VROOM prints integers).
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

impl Parsed {
    fn location(&self, i: usize) -> Value {
        let mut o = json!({ "location_index": i });
        if let Some(Some(c)) = self.coords.get(i) {
            o["location"] = json!(c);
        }
        o
    }

    /// Writes a solution in VROOM's output format.
    #[must_use]
    #[allow(clippy::too_many_lines)]
    pub fn output(&self, sol: &Solution) -> Value {
        let (p, m) = (&self.problem, &self.matrix);
        let dims = p.dims();
        let mut routes = Vec::new();
        let (mut tot_service, mut tot_wait, mut tot_dur) = (0.0, 0.0, 0.0);
        for r in &sol.routes {
            let veh = &p.vehicles()[r.vehicle];
            // jobs' deliveries are on board from the start
            let mut load = vec![0i64; dims];
            for s in r.stops.iter().filter(|s| s.kind == StopKind::Job) {
                for (l, q) in load.iter_mut().zip(&p.jobs()[s.request].delivery.0) {
                    *l += i64::from(*q);
                }
            }
            let mut steps = Vec::new();
            let mut start = self.location(veh.start);
            start["type"] = json!("start");
            start["arrival"] = num(r.start_time);
            start["duration"] = num(0.0);
            start["distance"] = num(0.0);
            start["load"] = json!(load);
            steps.push(start);
            let (mut loc, mut dur, mut dist, mut service, mut wait) =
                (veh.start, 0.0, 0.0, 0.0, 0.0);
            let mut ready = r.start_time;
            let mut breaks = r.breaks.iter().peekable();
            for k in 0..=r.stops.len() {
                while let Some(b) = breaks.next_if(|b| b.after == k) {
                    let def = &veh.breaks[b.index];
                    let mut step = self.location(loc);
                    step["type"] = json!("break");
                    step["id"] = json!(self.break_ids[r.vehicle][b.index]);
                    step["arrival"] = num(ready);
                    step["waiting_time"] = num(b.start - ready);
                    step["service"] = num(def.service);
                    step["duration"] = num(dur);
                    step["distance"] = num(dist);
                    step["load"] = json!(load);
                    steps.push(step);
                    service += def.service;
                    wait += b.start - ready;
                    ready = b.start + def.service;
                }
                let Some(s) = r.stops.get(k) else {
                    break;
                };
                let (stop, id, kind, delta): (&Stop, u64, &str, Vec<i64>) = match s.kind {
                    StopKind::Job => {
                        let j = &p.jobs()[s.request];
                        let delta = j
                            .pickup
                            .0
                            .iter()
                            .zip(&j.delivery.0)
                            .map(|(&a, &b)| i64::from(a) - i64::from(b))
                            .collect();
                        (&j.stop, self.job_ids[s.request], "job", delta)
                    }
                    StopKind::Pickup => {
                        let req = &p.requests()[s.request];
                        let delta = req.load.0.iter().map(|&q| i64::from(q)).collect();
                        (&req.pickup, self.step_ids[s.request].0, "pickup", delta)
                    }
                    StopKind::Delivery => {
                        let req = &p.requests()[s.request];
                        let delta = req.load.0.iter().map(|&q| -i64::from(q)).collect();
                        (&req.delivery, self.step_ids[s.request].1, "delivery", delta)
                    }
                };
                dur += m.duration(loc, stop.location);
                dist += m.distance(loc, stop.location);
                for (l, q) in load.iter_mut().zip(&delta) {
                    *l += q;
                }
                let mut step = self.location(stop.location);
                step["type"] = json!(kind);
                step["id"] = json!(id);
                step["arrival"] = num(s.arrival);
                step["waiting_time"] = num(s.service_start - s.arrival);
                step["service"] = num(stop.service);
                step["duration"] = num(dur);
                step["distance"] = num(dist);
                step["load"] = json!(load);
                steps.push(step);
                service += stop.service;
                wait += s.service_start - s.arrival;
                loc = stop.location;
                ready = s.service_start + stop.service;
            }
            if let Some(e) = veh.end {
                let mut end = self.location(e);
                end["type"] = json!("end");
                end["arrival"] = num(r.end_time);
                end["duration"] = num(r.travel_time);
                end["distance"] = num(r.distance);
                end["load"] = json!(load);
                steps.push(end);
            }
            tot_service += service;
            tot_wait += wait;
            tot_dur += r.travel_time;
            routes.push(json!({
                "vehicle": self.vehicle_ids[r.vehicle],
                "cost": num(r.cost),
                "steps": steps,
                "service": num(service),
                "duration": num(r.travel_time),
                "waiting_time": num(wait),
                "distance": num(r.distance),
                "setup": 0,
                "priority": 0,
            }));
        }
        let mut unassigned = Vec::new();
        for u in &sol.unserved {
            let req = &p.requests()[u.request];
            for (id, stop, kind) in [
                (self.step_ids[u.request].0, &req.pickup, "pickup"),
                (self.step_ids[u.request].1, &req.delivery, "delivery"),
            ] {
                let mut o = self.location(stop.location);
                o["id"] = json!(id);
                o["type"] = json!(kind);
                o["reason"] = json!(u.reason);
                unassigned.push(o);
            }
        }
        for u in &sol.unserved_jobs {
            let mut o = self.location(p.jobs()[u.request].stop.location);
            o["id"] = json!(self.job_ids[u.request]);
            o["type"] = json!("job");
            o["reason"] = json!(u.reason);
            unassigned.push(o);
        }
        json!({
            "code": 0,
            "summary": {
                "cost": num(sol.cost()),
                "routes": sol.routes.len(),
                "unassigned": sol.unserved.len() + sol.unserved_jobs.len(),
                "setup": 0,
                "service": num(tot_service),
                "duration": num(tot_dur),
                "waiting_time": num(tot_wait),
                "distance": num(sol.distance()),
                "priority": 0,
                "violations": [],
            },
            "unassigned": unassigned,
            "routes": routes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::StopKind;
    use crate::solver::tests::checked;
    use crate::solver::{solve, Options};

    const INPUT: &str = r#"{
      "vehicles": [{"id": 7, "start_index": 0, "end_index": 0, "capacity": [4],
                    "time_window": [0, 10000], "costs": {"per_hour": 3600}}],
      "shipments": [
        {"amount": [2], "pickup": {"id": 1, "location_index": 1, "service": 30},
         "delivery": {"id": 2, "location_index": 2, "service": 30, "time_windows": [[0, 5000]]},
         "max_ride_time": 900},
        {"amount": [1], "pickup": {"id": 3, "location_index": 2},
         "delivery": {"id": 4, "location_index": 3}, "max_ride_time": 10}
      ],
      "matrices": {"car": {
        "durations": [[0, 100, 200, 300], [100, 0, 100, 200], [200, 100, 0, 100], [300, 200, 100, 0]],
        "distances": [[0, 1000, 2000, 3000], [1000, 0, 1000, 2000], [2000, 1000, 0, 1000], [3000, 2000, 1000, 0]]
      }}
    }"#;

    #[test]
    fn a_vroom_input_is_solved_and_written_in_vroom_format() {
        let parsed = parse(INPUT, 10.0).unwrap();
        let options = Options {
            max_iterations: Some(50),
            stall_iterations: None,
            ..Options::default()
        };
        let sol = solve(&parsed.problem, &parsed.matrix, &options).unwrap();
        checked(&parsed.problem, &parsed.matrix, &sol);
        let out = parsed.output(&sol);
        assert_eq!(out["code"], 0);
        assert_eq!(out["routes"][0]["vehicle"], 7);
        let steps = out["routes"][0]["steps"].as_array().unwrap();
        let kinds: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["start", "pickup", "delivery", "end"]);
        assert_eq!(steps[1]["id"], 1);
        assert_eq!(steps[1]["arrival"], 100);
        assert_eq!(out["routes"][0]["duration"], 400);
        assert_eq!(out["summary"]["cost"], 400);
        // the second shipment needs 100 s of riding but allows 10: unassigned, with the reason
        let unassigned = out["unassigned"].as_array().unwrap();
        assert_eq!(unassigned.len(), 2);
        assert_eq!(unassigned[0]["id"], 3);
        assert_eq!(unassigned[0]["reason"], "ride_time_impossible");
    }

    #[test]
    fn unsupported_vroom_features_are_rejected_not_ignored() {
        let travel = INPUT.replace(
            r#""capacity": [4],"#,
            r#""capacity": [4], "max_travel_time": 100,"#,
        );
        assert!(matches!(
            parse(&travel, 10.0),
            Err(VroomError::Unsupported(_))
        ));
        let inverted = INPUT.replace("[[0, 5000]]", "[[5000, 0]]");
        assert!(matches!(parse(&inverted, 10.0), Err(VroomError::Json(_))));
    }

    fn fixture(name: &str) -> String {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/vroom")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn solve_fixture(name: &str) -> (Parsed, Solution, Value) {
        let parsed = parse(&fixture(name), 10.0).unwrap();
        let options = Options {
            max_iterations: Some(300),
            ..Options::default()
        };
        let sol = solve(&parsed.problem, &parsed.matrix, &options).unwrap();
        checked(&parsed.problem, &parsed.matrix, &sol);
        let out = parsed.output(&sol);
        (parsed, sol, out)
    }

    /// The steps of every route: each load within capacity, never negative, and the load
    /// printed at the start equal to the jobs' deliveries on the route.
    fn steps_of(out: &Value) -> Vec<Vec<Value>> {
        out["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["steps"].as_array().unwrap().clone())
            .collect()
    }

    #[test]
    fn jobs_shipments_breaks_and_several_windows_are_solved_and_checked() {
        let (parsed, sol, out) = solve_fixture("jobs_shipments_breaks.json");
        assert_eq!(parsed.problem.jobs().len(), 6);
        assert!(
            sol.unserved.is_empty() && sol.unserved_jobs.is_empty(),
            "{out:#}"
        );
        assert_eq!(out["summary"]["unassigned"], 0);
        let steps = steps_of(&out);
        let ids = |kind: &str| -> Vec<u64> {
            let mut v: Vec<u64> = steps
                .iter()
                .flatten()
                .filter(|s| s["type"] == kind)
                .map(|s| s["id"].as_u64().unwrap())
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(ids("job"), [101, 102, 103, 104, 105, 106]);
        assert_eq!(ids("pickup"), [201, 203]);
        // every used vehicle takes its break, within a window
        for (r, route) in sol.routes.iter().enumerate() {
            assert_eq!(route.breaks.len(), 1, "route {r}");
            let brk: Vec<&Value> = steps[r].iter().filter(|s| s["type"] == "break").collect();
            assert_eq!(brk.len(), 1);
            let start =
                brk[0]["arrival"].as_f64().unwrap() + brk[0]["waiting_time"].as_f64().unwrap();
            let id = brk[0]["id"].as_u64().unwrap();
            let ok = match id {
                11 => (32400.0..=34200.0).contains(&start) || (43200.0..=45000.0).contains(&start),
                21 => (36000.0..=39600.0).contains(&start),
                _ => false,
            };
            assert!(ok, "break {id} at {start}");
        }
        // job 102 is at 06:00-06:30 or 14:00-15:00; job 104 needs the skill of vehicle 1
        for (r, route) in sol.routes.iter().enumerate() {
            for s in &route.stops {
                if s.kind == StopKind::Job && parsed.job_ids[s.request] == 102 {
                    let t = s.service_start;
                    assert!((21600.0..=23400.0).contains(&t) || (50400.0..=54000.0).contains(&t));
                }
                if s.kind == StopKind::Job && parsed.job_ids[s.request] == 104 {
                    assert_eq!(out["routes"][r]["vehicle"], 1);
                }
            }
        }
        // loads: the start carries the deliveries of the route's jobs, the end its pickups
        for (r, route) in sol.routes.iter().enumerate() {
            let mut start = vec![0u64; 2];
            let mut end = vec![0u64; 2];
            for s in route.stops.iter().filter(|s| s.kind == StopKind::Job) {
                let j = &parsed.problem.jobs()[s.request];
                for d in 0..2 {
                    start[d] += u64::from(j.delivery.0[d]);
                    end[d] += u64::from(j.pickup.0[d]);
                }
            }
            assert_eq!(steps[r][0]["load"], json!(start));
            assert_eq!(steps[r].last().unwrap()["load"], json!(end));
        }
    }

    #[test]
    fn workers_gathered_by_a_vehicle_that_ends_at_the_farm() {
        let (_, sol, out) = solve_fixture("workers_to_farm.json");
        assert!(sol.unserved_jobs.is_empty(), "{out:#}");
        let steps = &steps_of(&out)[0];
        assert_eq!(steps[0]["load"], json!([0]));
        assert_eq!(steps.last().unwrap()["type"], "end");
        assert_eq!(
            steps.last().unwrap()["load"],
            json!([8]),
            "all workers reach the farm"
        );
        assert_eq!(steps.iter().filter(|s| s["type"] == "break").count(), 1);
    }

    #[test]
    fn a_whole_shift_takes_both_breaks_with_nobody_on_board() {
        let (_, sol, out) = solve_fixture("whole_shift.json");
        assert!(sol.unserved.is_empty(), "{out:#}");
        let steps = &steps_of(&out)[0];
        let breaks: Vec<&Value> = steps.iter().filter(|s| s["type"] == "break").collect();
        assert_eq!(breaks.len(), 2);
        for b in breaks {
            assert_eq!(b["load"], json!([0]));
        }
    }

    #[test]
    fn the_checker_rejects_broken_breaks_and_windows() {
        let (parsed, sol, _) = solve_fixture("jobs_shipments_breaks.json");
        let (p, m) = (&parsed.problem, &parsed.matrix);
        // a break moved out of its windows
        let mut bad = sol.clone();
        bad.routes[0].breaks[0].start = 0.0;
        assert!(crate::check::check(p, m, &bad).is_err());
        // a break left out
        let mut bad = sol.clone();
        bad.routes[0].breaks.clear();
        assert!(crate::check::check(p, m, &bad).is_err());
        // a job served in the gap between its two windows
        let mut bad = sol.clone();
        let (r, k) = bad
            .routes
            .iter()
            .enumerate()
            .find_map(|(r, route)| {
                route
                    .stops
                    .iter()
                    .position(|s| s.kind == StopKind::Job && parsed.job_ids[s.request] == 102)
                    .map(|k| (r, k))
            })
            .unwrap();
        bad.routes[r].stops[k].service_start = 30000.0;
        bad.routes[r].stops[k].arrival = bad.routes[r].stops[k].arrival.min(30000.0);
        assert!(crate::check::check(p, m, &bad).is_err());
        // a job listed twice (served and unserved)
        let mut bad = sol.clone();
        bad.unserved_jobs.push(crate::solution::Unserved {
            request: 0,
            reason: crate::solution::UnservedReason::NotEnoughFleet,
        });
        assert!(crate::check::check(p, m, &bad).is_err());
    }

    #[test]
    fn coordinates_without_a_matrix_use_great_circle_distances() {
        let input = r#"{
          "vehicles": [{"id": 1, "start": [15.55, 41.46], "end": [15.55, 41.46], "capacity": [8]}],
          "shipments": [{"amount": [1], "pickup": {"id": 1, "location": [15.60, 41.40]},
                         "delivery": {"id": 2, "location": [15.55, 41.46]}}]
        }"#;
        let parsed = parse(input, 10.0).unwrap();
        assert_eq!(parsed.matrix.len(), 2);
        let d = parsed.matrix.distance(0, 1);
        assert!((7000.0..8500.0).contains(&d), "{d}");
        let sol = solve(
            &parsed.problem,
            &parsed.matrix,
            &Options {
                max_iterations: Some(10),
                stall_iterations: None,
                ..Options::default()
            },
        )
        .unwrap();
        checked(&parsed.problem, &parsed.matrix, &sol);
        assert_eq!(sol.routes.len(), 1);
    }
}
