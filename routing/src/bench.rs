//! `routing bench`: solve every benchmark instance of a folder, check each solution with the
//! independent checker, compare with `bks.csv`, and write one CSV line and one solution file
//! (`{"routes": [[node ids], ...]}`, depot omitted) per instance.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::check::check;
use crate::instances::{read, read_bks, Instance, InstanceError, Kind};
use crate::solution::Solution;
use crate::solver::{solve_with_stats, Options};

/// Result of one instance.
#[derive(Debug, Clone)]
pub struct BenchLine {
    /// Instance name.
    pub instance: String,
    /// Vehicles used.
    pub vehicles: usize,
    /// Total distance (recomputed by the checker).
    pub cost: f64,
    /// Best-known (vehicles, cost), if listed.
    pub bks: Option<(usize, f64)>,
    /// Whether the checker accepted the solution (all requests served included).
    pub feasible: bool,
    /// Wall seconds of the solve.
    pub seconds: f64,
    /// ALNS iterations.
    pub iterations: u64,
}

impl BenchLine {
    /// Gap to the best-known cost, percent.
    #[must_use]
    pub fn gap(&self) -> Option<f64> {
        self.bks.map(|(_, c)| 100.0 * (self.cost - c) / c)
    }
}

/// Node ids of the instance file per route (what `checker.py` reads).
#[must_use]
pub fn node_routes(inst: &Instance, sol: &Solution) -> Vec<Vec<usize>> {
    sol.routes
        .iter()
        .map(|r| {
            r.stops
                .iter()
                .map(|s| match s.kind {
                    crate::solution::StopKind::Pickup => {
                        inst.problem.requests()[s.request].pickup.location
                    }
                    crate::solution::StopKind::Delivery => {
                        inst.problem.requests()[s.request].delivery.location
                    }
                    crate::solution::StopKind::Job => inst.problem.jobs()[s.request].stop.location,
                })
                .collect()
        })
        .collect()
}

/// Solves and checks one instance.
#[must_use]
pub fn run_one(
    inst: &Instance,
    bks: Option<(usize, f64)>,
    options: &Options,
) -> (BenchLine, Solution) {
    let t = std::time::Instant::now();
    let (sol, stats) = solve_with_stats(&inst.problem, &inst.matrix, options).unwrap_or((
        Solution::default(),
        crate::solver::SearchStats {
            iterations: 0,
            converged: false,
        },
    ));
    let seconds = t.elapsed().as_secs_f64();
    let report = check(&inst.problem, &inst.matrix, &sol);
    let feasible = report
        .as_ref()
        .is_ok_and(|r| r.served == inst.problem.requests().len());
    let line = BenchLine {
        instance: inst.name.clone(),
        vehicles: sol.vehicles(),
        cost: report.map_or(sol.distance(), |r| r.distance),
        bks,
        feasible,
        seconds,
        iterations: stats.iterations,
    };
    (line, sol)
}

/// Instance files (`*.txt`) of a folder, sorted by name.
///
/// # Errors
/// [`InstanceError::Io`] when the folder is unreadable.
pub fn instance_files(dir: &Path) -> Result<Vec<PathBuf>, InstanceError> {
    let io = |source| InstanceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    Ok(files)
}

/// The median of runs of one instance on the hierarchical objective: feasible first, then
/// fewer vehicles, then less distance (the upper median for an even count).
#[must_use]
pub fn median_run(runs: &[BenchLine]) -> Option<usize> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&runs[a], &runs[b]);
        y.feasible
            .cmp(&x.feasible)
            .then(x.vehicles.cmp(&y.vehicles))
            .then(x.cost.total_cmp(&y.cost))
    });
    order.get(runs.len() / 2).copied()
}

/// Best-known vehicles, best-known cost and gap of `line` as text (empty when unknown).
fn bks_fields(line: &BenchLine) -> (String, String, String) {
    let (bv, bc) = line.bks.map_or((String::new(), String::new()), |(v, c)| {
        (v.to_string(), format!("{c:.4}"))
    });
    let gap = line.gap().map_or(String::new(), |g| format!("{g:.3}"));
    (bv, bc, gap)
}

fn print_line(line: &BenchLine, tag: &str) {
    let (bv, bc, gap) = bks_fields(line);
    println!(
        "{:<10} vehicles {:>3} (bks {:>3}) cost {:>10.2} (bks {:>10}) gap {:>7}% feasible {} {:.1}s {} it{tag}",
        line.instance, line.vehicles, bv, line.cost, bc, gap, line.feasible, line.seconds, line.iterations
    );
}

/// Runs a whole folder, each instance once per seed of `seeds` (none: `options.seed` only);
/// prints every run and returns one line per instance. With several seeds, an instance's
/// line, CSV row and solution file are its median run ([`median_run`]), and the summary also
/// gives how far apart the runs of one instance were.
///
/// # Errors
/// [`InstanceError`] when the folder or an instance cannot be read, or an output cannot be
/// written.
pub fn run_dir(
    dir: &Path,
    only: &[String],
    options: &Options,
    seeds: &[u64],
    csv: Option<&Path>,
    solutions: Option<&Path>,
) -> Result<Vec<BenchLine>, InstanceError> {
    let seeds: Vec<u64> = if seeds.is_empty() {
        vec![options.seed]
    } else {
        seeds.to_vec()
    };
    let mut spreads: Vec<f64> = Vec::new();
    let bks = read_bks(&dir.join("bks.csv")).unwrap_or_default();
    let mut lines = Vec::new();
    let mut out =
        String::from("instance,vehicles,cost,bks_vehicles,bks_cost,gap_pct,feasible,seconds\n");
    let wio = |p: &Path| {
        let path = p.display().to_string();
        move |source| InstanceError::Io { path, source }
    };
    if let Some(s) = solutions {
        std::fs::create_dir_all(s).map_err(wio(s))?;
    }
    for file in instance_files(dir)? {
        let inst = read(&file)?;
        if !only.is_empty() && !only.contains(&inst.name) {
            continue;
        }
        let (mut runs, mut sols): (Vec<BenchLine>, Vec<Solution>) = (Vec::new(), Vec::new());
        for &seed in &seeds {
            let o = Options {
                seed,
                ..options.clone()
            };
            let (line, sol) = run_one(&inst, bks.get(&inst.name).copied(), &o);
            let tag = if seeds.len() > 1 {
                format!(" seed {seed}")
            } else {
                String::new()
            };
            print_line(&line, &tag);
            runs.push(line);
            sols.push(sol);
        }
        let m = median_run(&runs).expect("at least one seed");
        let (line, sol) = (runs[m].clone(), sols.swap_remove(m));
        if seeds.len() > 1 {
            print_line(&line, " median");
            let gaps: Vec<f64> = runs
                .iter()
                .filter(|l| l.vehicles == line.vehicles)
                .filter_map(BenchLine::gap)
                .collect();
            if let (Some(lo), Some(hi)) = (
                gaps.iter().copied().reduce(f64::min),
                gaps.iter().copied().reduce(f64::max),
            ) {
                spreads.push(hi - lo);
            }
        }
        let (bv, bc, gap) = bks_fields(&line);
        let _ = writeln!(
            out,
            "{},{},{:.4},{bv},{bc},{gap},{},{:.2}",
            line.instance,
            line.vehicles,
            line.cost,
            u8::from(line.feasible),
            line.seconds
        );
        if let Some(s) = solutions {
            let json = serde_json::json!({ "routes": node_routes(&inst, &sol) });
            let p = s.join(format!("{}.json", inst.name));
            std::fs::write(&p, json.to_string()).map_err(wio(&p))?;
        }
        if let Some(c) = csv {
            std::fs::write(c, &out).map_err(wio(c))?;
        }
        lines.push(line);
    }
    println!("{}", summary(&lines, lines.first().map(|_| kind_of(dir))));
    if !spreads.is_empty() {
        spreads.sort_by(f64::total_cmp);
        println!(
            "SPREAD over {} seeds (largest minus smallest gap of one instance, runs with the median's fleet): mean {:.3} points, median {:.3}, max {:.3}",
            seeds.len(),
            spreads.iter().sum::<f64>() / spreads.len() as f64,
            spreads[spreads.len() / 2],
            spreads[spreads.len() - 1]
        );
    }
    Ok(lines)
}

fn kind_of(dir: &Path) -> Kind {
    instance_files(dir)
        .ok()
        .and_then(|f| f.first().and_then(|p| read(p).ok()))
        .map_or(Kind::LiLim, |i| i.kind)
}

/// One-paragraph summary: feasible count, vehicles against the best-known, mean gaps.
#[must_use]
pub fn summary(lines: &[BenchLine], kind: Option<Kind>) -> String {
    let n = lines.len();
    let feasible = lines.iter().filter(|l| l.feasible).count();
    let with_bks: Vec<&BenchLine> = lines
        .iter()
        .filter(|l| l.feasible && l.bks.is_some())
        .collect();
    let more = with_bks
        .iter()
        .filter(|l| l.vehicles > l.bks.map_or(0, |b| b.0))
        .count();
    let fewer = with_bks
        .iter()
        .filter(|l| l.vehicles < l.bks.map_or(0, |b| b.0))
        .count();
    let mean = |ls: &[&&BenchLine]| {
        if ls.is_empty() {
            f64::NAN
        } else {
            ls.iter().filter_map(|l| l.gap()).sum::<f64>() / ls.len() as f64
        }
    };
    let all: Vec<&&BenchLine> = with_bks.iter().collect();
    let same: Vec<&&BenchLine> = with_bks
        .iter()
        .filter(|l| l.vehicles == l.bks.map_or(0, |b| b.0))
        .collect();
    let secs: f64 = lines.iter().map(|l| l.seconds).sum::<f64>() / n.max(1) as f64;
    let fleet_note = if kind == Some(Kind::Cordeau) {
        " (Cordeau: vehicle count not minimised; fleet K is a limit)"
    } else {
        ""
    };
    format!(
        "SUMMARY: {n} instances, {feasible} feasible; vehicles vs BKS: {more} more, {fewer} fewer{fleet_note}; \
         mean gap {:.3}% (all feasible), {:.3}% (same vehicles as BKS, {} instances); mean {secs:.1}s",
        mean(&all),
        mean(&same),
        same.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::tests::bench_dir;

    #[test]
    fn a_bench_run_checks_the_solution_and_writes_every_node_once() {
        let inst = read(&bench_dir("lilim100").join("lc101.txt")).unwrap();
        let options = Options {
            seed: 1,
            time_limit: std::time::Duration::from_secs(20),
            max_iterations: Some(400),
            stall_iterations: None,
            threads: 1,
        };
        let (line, sol) = run_one(&inst, Some((10, 828.9369)), &options);
        assert!(line.feasible);
        assert!(line.gap().unwrap() < 5.0);
        let mut nodes: Vec<usize> = node_routes(&inst, &sol).into_iter().flatten().collect();
        nodes.sort_unstable();
        assert_eq!(nodes, (1..=106).collect::<Vec<_>>());
        assert!(summary(&[line], Some(Kind::LiLim)).contains("1 instances, 1 feasible"));
    }

    fn line(vehicles: usize, cost: f64, feasible: bool) -> BenchLine {
        BenchLine {
            instance: "x".into(),
            vehicles,
            cost,
            bks: Some((10, 100.0)),
            feasible,
            seconds: 1.0,
            iterations: 1,
        }
    }

    #[test]
    fn the_median_run_orders_by_feasibility_then_vehicles_then_distance() {
        // sorted: (10, 90), (10, 95), (11, 80), infeasible (9, 70); the upper median of four
        // is (11, 80)
        let runs = [
            line(11, 80.0, true),
            line(9, 70.0, false),
            line(10, 95.0, true),
            line(10, 90.0, true),
        ];
        assert_eq!(median_run(&runs), Some(0));
        // (10, 90), (10, 95), infeasible: the middle one is (10, 95)
        assert_eq!(median_run(&runs[1..]), Some(1));
        assert_eq!(median_run(&[line(10, 1.0, true)]), Some(0));
        assert_eq!(median_run(&[]), None);
    }
}
