//! VROOM's JSON input and output formats, so `routing solve` can replace `vroom` in a pipeline.
//!
//! Supported input: `vehicles` (`id`, `start`/`start_index`, `end`/`end_index`, `capacity`,
//! `skills`, `time_window`, `costs.fixed`/`per_hour`/`per_km`), `shipments` (`amount`,
//! `skills`, `pickup`/`delivery` with `id`, `location`/`location_index`, `service`, one entry in
//! `time_windows`), and `matrices.<profile>.durations`/`distances` or the legacy `matrix`.
//! Extensions: `max_ride_time` on a shipment (seconds from the end of service at the pickup to
//! the start of service at the drop-off) and `max_duration` on a vehicle. Without a matrix,
//! coordinates are used with great-circle distances at a fixed speed (a fallback, not a road
//! network). Unsupported features are rejected with an error, never silently ignored: single
//! `jobs`, `breaks`, several time windows per stop, `max_travel_time`, `max_distance`.
//!
//! Output: `code`, `summary`, `unassigned` (with an extra `reason`), and `routes` with `start`,
//! `pickup`, `delivery` and `end` steps (`arrival`, `duration` = cumulated travel time,
//! `distance`, `waiting_time`, `service`, `load`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::matrix::Matrix;
use crate::model::{Load, Objective, Problem, Request, Stop, TimeWindow, Vehicle};
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
    jobs: Vec<Value>,
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
    breaks: Vec<Value>,
    max_travel_time: Option<Value>,
    max_distance: Option<Value>,
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

fn one_window(step: &StepIn) -> Result<TimeWindow, VroomError> {
    match step.time_windows.as_slice() {
        [] => Ok(TimeWindow::any()),
        [w] => Ok(*w),
        _ => Err(VroomError::Unsupported(format!(
            "step {}: only one time window per stop is supported",
            step.id
        ))),
    }
}

/// Parses a VROOM input. `speed_mps` is used only when no matrix is given.
///
/// # Errors
/// [`VroomError`] on invalid JSON, unsupported features or inconsistent data.
pub fn parse(text: &str, speed_mps: f64) -> Result<Parsed, VroomError> {
    let input: Input = serde_json::from_str(text)?;
    let unsupported = |m: String| Err(VroomError::Unsupported(m));
    if !input.jobs.is_empty() {
        return unsupported(
            "single `jobs` are not supported: give pickup/delivery `shipments`".into(),
        );
    }
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
        if !v.breaks.is_empty() || v.max_travel_time.is_some() || v.max_distance.is_some() {
            return unsupported(format!(
                "vehicle {}: breaks, max_travel_time, max_distance are not supported",
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
        vehicles.push(veh);
    }
    let mut requests = Vec::new();
    for s in &input.shipments {
        let mut stop = |st: &StepIn| -> Result<Stop, VroomError> {
            Ok(Stop {
                location: locs.get(st.location_index, st.location, &format!("step {}", st.id))?,
                window: one_window(st)?,
                service: st.service,
            })
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
    // VROOM allows omitting `amount`/`capacity`: treat missing dimensions as zero.
    let dims = vehicles
        .iter()
        .map(|v| v.capacity.0.len())
        .chain(requests.iter().map(|r| r.load.0.len()))
        .max()
        .unwrap_or(0);
    for v in &mut vehicles {
        v.capacity.0.resize(dims, 0);
    }
    for r in &mut requests {
        r.load.0.resize(dims, 0);
    }
    let objective = Objective {
        unserved_weight: 1e12,
        vehicle_weight: 0.0,
    };
    let problem = Problem::new(requests, vehicles, objective)
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
    pub fn output(&self, sol: &Solution) -> Value {
        let (p, m) = (&self.problem, &self.matrix);
        let dims = p.dims();
        let mut routes = Vec::new();
        let (mut tot_service, mut tot_wait, mut tot_dur) = (0.0, 0.0, 0.0);
        for r in &sol.routes {
            let veh = &p.vehicles()[r.vehicle];
            let mut load = vec![0i64; dims];
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
            for s in &r.stops {
                let req = &p.requests()[s.request];
                let (stop, id, sign, kind) = match s.kind {
                    StopKind::Pickup => (&req.pickup, self.step_ids[s.request].0, 1, "pickup"),
                    StopKind::Delivery => {
                        (&req.delivery, self.step_ids[s.request].1, -1, "delivery")
                    }
                };
                dur += m.duration(loc, stop.location);
                dist += m.distance(loc, stop.location);
                for (l, q) in load.iter_mut().zip(&req.load.0) {
                    *l += sign * i64::from(*q);
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
        json!({
            "code": 0,
            "summary": {
                "cost": num(sol.cost()),
                "routes": sol.routes.len(),
                "unassigned": sol.unserved.len(),
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
        let jobs = r#"{"vehicles": [], "jobs": [{"id": 1, "location_index": 0}], "matrix": [[0]]}"#;
        assert!(matches!(parse(jobs, 10.0), Err(VroomError::Unsupported(_))));
        let two_windows = INPUT.replace("[[0, 5000]]", "[[0, 50], [100, 5000]]");
        assert!(matches!(
            parse(&two_windows, 10.0),
            Err(VroomError::Unsupported(_))
        ));
        let inverted = INPUT.replace("[[0, 5000]]", "[[5000, 0]]");
        assert!(matches!(parse(&inverted, 10.0), Err(VroomError::Json(_))));
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
