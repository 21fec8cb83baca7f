//! Readers for the benchmark instances in `../shared/bench`: Li & Lim PDPTW and Cordeau DARP
//! (formats in the READMEs there), and their `bks.csv` best-known lists.
//!
//! Every node of an instance file becomes a matrix location with the same index, so a
//! solution maps back to the file's node ids through [`crate::model::Stop::location`].
//! Travel time = distance = unrounded Euclidean distance.

use std::collections::HashMap;

use crate::matrix::Matrix;
use crate::model::{Load, ModelError, Objective, Problem, Request, Stop, TimeWindow, Vehicle};

/// Which benchmark family an instance belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Li & Lim pickup and delivery with time windows: minimise vehicles, then distance.
    LiLim,
    /// Cordeau dial-a-ride: fleet `K` is a hard limit, minimise distance.
    Cordeau,
}

/// A benchmark instance turned into a problem and a matrix.
#[derive(Debug, Clone)]
pub struct Instance {
    /// File name without extension.
    pub name: String,
    /// Family.
    pub kind: Kind,
    /// The problem; locations are the file's node ids.
    pub problem: Problem,
    /// Euclidean matrix over the file's nodes.
    pub matrix: Matrix,
}

/// Error reading an instance.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not in the expected format.
    #[error("{path}: {reason} (see the README of the benchmark folder for the format)")]
    Format {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The data make an invalid problem.
    #[error("{path}: {source}")]
    Model {
        /// The path.
        path: String,
        /// The cause.
        source: ModelError,
    },
}

/// Reads an instance file, recognising the format by its header (5 fields = Cordeau).
///
/// # Errors
/// [`InstanceError`] when the file is unreadable or malformed.
pub fn read(path: &std::path::Path) -> Result<Instance, InstanceError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InstanceError::Io {
        path: p.clone(),
        source,
    })?;
    let name = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|x| x.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let fmt = |reason: &str| InstanceError::Format {
        path: p.clone(),
        reason: reason.to_string(),
    };
    if rows.is_empty() || rows.iter().flatten().any(|x| x.is_nan()) {
        return Err(fmt("empty file or a field that is not a number"));
    }
    let (kind, problem, points) = if rows[0].len() == 5 {
        cordeau(&rows).ok_or_else(|| fmt("Cordeau layout expected: K n T Q L, then 2n+2 rows"))?
    } else {
        lilim(&rows).ok_or_else(|| fmt("Li & Lim layout expected: K Q S, then node rows"))?
    };
    let problem = problem.map_err(|source| InstanceError::Model { path: p, source })?;
    Ok(Instance {
        name,
        kind,
        problem,
        matrix: Matrix::euclidean(&points),
    })
}

type Parsed = (Kind, Result<Problem, ModelError>, Vec<(f64, f64)>);

fn window(e: f64, l: f64) -> Option<TimeWindow> {
    TimeWindow::new(e, l).ok()
}

fn lilim(rows: &[Vec<f64>]) -> Option<Parsed> {
    let (k, q) = (rows[0][0] as usize, rows[0][1] as u32);
    let nodes = &rows[1..];
    if nodes
        .iter()
        .enumerate()
        .any(|(i, r)| r.len() < 9 || r[0] as usize != i)
    {
        return None;
    }
    let points = nodes.iter().map(|r| (r[1], r[2])).collect();
    let stop = |i: usize| -> Option<Stop> {
        let r = nodes.get(i)?;
        Some(Stop {
            location: i,
            window: window(r[4], r[5])?,
            extra_windows: Vec::new(),
            service: r[6],
        })
    };
    let mut requests = Vec::new();
    for (i, r) in nodes.iter().enumerate().skip(1) {
        if r[3] > 0.0 {
            requests.push(Request {
                pickup: stop(i)?,
                delivery: stop(r[8] as usize)?,
                load: Load(vec![r[3] as u32]),
                max_ride_time: None,
                skills: vec![],
                vehicle: None,
            });
        }
    }
    let shift = window(nodes[0][4], nodes[0][5])?;
    let vehicles = vec![Vehicle::new(0, Some(0), Load(vec![q]), shift); k];
    let objective = Objective {
        unserved_weight: 1e9,
        vehicle_weight: 1e6,
    };
    Some((
        Kind::LiLim,
        Problem::new(requests, vehicles, objective),
        points,
    ))
}

fn cordeau(rows: &[Vec<f64>]) -> Option<Parsed> {
    let h = &rows[0];
    let (k, n, t, q, l) = (h[0] as usize, h[1] as usize, h[2], h[3] as u32, h[4]);
    let nodes = &rows[1..];
    if nodes.len() != 2 * n + 2 || nodes.iter().any(|r| r.len() < 7) {
        return None;
    }
    let points = nodes.iter().map(|r| (r[1], r[2])).collect();
    let stop = |i: usize| -> Option<Stop> {
        let r = &nodes[i];
        Some(Stop {
            location: i,
            window: window(r[5], r[6])?,
            extra_windows: Vec::new(),
            service: r[3],
        })
    };
    let mut requests = Vec::new();
    for (i, row) in nodes.iter().enumerate().take(n + 1).skip(1) {
        requests.push(Request {
            pickup: stop(i)?,
            delivery: stop(n + i)?,
            load: Load(vec![row[4] as u32]),
            max_ride_time: Some(l),
            skills: vec![],
            vehicle: None,
        });
    }
    let (s, e) = (&nodes[0], &nodes[2 * n + 1]);
    let shift = window(s[5].max(e[5]), s[6].min(e[6]))?;
    let mut vehicle = Vehicle::new(0, Some(2 * n + 1), Load(vec![q]), shift);
    vehicle.max_duration = Some(t);
    let objective = Objective {
        unserved_weight: 1e9,
        vehicle_weight: 0.0,
    };
    Some((
        Kind::Cordeau,
        Problem::new(requests, vec![vehicle; k], objective),
        points,
    ))
}

/// Reads `bks.csv` of a benchmark folder: instance name -> (vehicles, cost).
///
/// # Errors
/// [`InstanceError::Io`] when the file is unreadable.
pub fn read_bks(path: &std::path::Path) -> Result<HashMap<String, (usize, f64)>, InstanceError> {
    let text = std::fs::read_to_string(path).map_err(|source| InstanceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let name = f.next()?.trim().to_string();
            let vehicles = f.next()?.trim().parse().ok()?;
            let cost = f.next()?.trim().parse().ok()?;
            Some((name, (vehicles, cost)))
        })
        .collect())
}

/// Reads a SINTEF solution file (`Route k : n1 n2 ...`) into lists of node ids.
///
/// # Errors
/// [`InstanceError::Io`] when the file is unreadable.
pub fn read_sintef_routes(path: &std::path::Path) -> Result<Vec<Vec<usize>>, InstanceError> {
    let text = std::fs::read_to_string(path).map_err(|source| InstanceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("Route")?;
            let (_, nodes) = rest.split_once(':')?;
            Some(
                nodes
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect(),
            )
        })
        .collect())
}
