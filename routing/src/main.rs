//! `routing`: command-line front end of the optimiser.
//!
//! - `routing solve --input problem.json [--time-limit S] [--seed N]`: VROOM JSON in, VROOM
//!   JSON out (stdout), with the extensions documented in `routing::vroom`.
//! - `routing bench DIR --time-limit S [--out results.csv] [--solutions DIR2]`: benchmark
//!   instances (Li & Lim, Cordeau), one line per instance plus a summary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use routing::solver::{solve, Options};

#[derive(Parser)]
#[command(
    name = "routing",
    about = "Dial-a-ride optimiser (VROOM-compatible input/output)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Solve a problem in VROOM's JSON input format; prints VROOM's output format.
    Solve {
        /// Input file (`-` for stdin).
        #[arg(long, short)]
        input: PathBuf,
        /// Wall-clock limit, seconds.
        #[arg(long, default_value_t = 5.0)]
        time_limit: f64,
        /// Random seed (same seed and iteration limit = same result).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Optional iteration limit (makes the run independent of machine speed).
        #[arg(long)]
        max_iterations: Option<u64>,
        /// Searches in parallel (one per core: `--threads 0`).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Stop early after this many iterations without a better solution (the search has
        /// converged). Default: 2,000 + 100 per request or job; 0: search until the limit.
        #[arg(long)]
        stall_iterations: Option<u64>,
        /// Speed for great-circle travel times when the input has no matrix, km/h.
        #[arg(long, default_value_t = 40.0)]
        speed_kmh: f64,
    },
    /// Solve every `*.txt` benchmark instance of a folder and compare with its `bks.csv`.
    Bench {
        /// Folder with instances and `bks.csv`.
        dir: PathBuf,
        /// Wall-clock limit per instance, seconds.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// CSV file of results.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Folder for `<instance>.json` solutions (node ids, depot omitted).
        #[arg(long)]
        solutions: Option<PathBuf>,
        /// Optional iteration limit per instance (deterministic runs).
        #[arg(long)]
        max_iterations: Option<u64>,
        /// Searches in parallel per instance (one per core: `--threads 0`).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Only these instances (comma separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Solve each instance once per seed (comma separated, e.g. `1,2,3`) and report the
        /// median run per instance and how far apart the runs were; overrides `--seed`.
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Solve {
            input,
            time_limit,
            seed,
            max_iterations,
            threads,
            stall_iterations,
            speed_kmh,
        } => {
            let text = if input.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&input)
            };
            let text = match text {
                Ok(t) => t,
                Err(e) => return fail(&format!("cannot read {}: {e}", input.display())),
            };
            let parsed = match routing::vroom::parse(&text, speed_kmh / 3.6) {
                Ok(p) => p,
                Err(e) => return fail(&e.to_string()),
            };
            let tasks = parsed.problem.requests().len() + parsed.problem.jobs().len();
            let stall = stall_iterations.unwrap_or(2_000 + 100 * tasks as u64);
            let options = Options {
                seed,
                time_limit: Duration::from_secs_f64(time_limit),
                max_iterations,
                stall_iterations: (stall > 0).then_some(stall),
                threads: threads_or_all(threads),
            };
            match solve(&parsed.problem, &parsed.matrix, &options) {
                Ok(sol) => {
                    println!("{}", parsed.output(&sol));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Bench {
            dir,
            time_limit,
            seed,
            out,
            solutions,
            max_iterations,
            threads,
            only,
            seeds,
        } => {
            let options = Options {
                seed,
                time_limit: Duration::from_secs_f64(time_limit),
                max_iterations,
                stall_iterations: None,
                threads: threads_or_all(threads),
            };
            match routing::bench::run_dir(
                &dir,
                &only,
                &options,
                &seeds,
                out.as_deref(),
                solutions.as_deref(),
            ) {
                Ok(lines) if lines.iter().all(|l| l.feasible) => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(2),
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

/// `0` means one thread per core.
fn threads_or_all(n: usize) -> usize {
    if n == 0 {
        Options::all_cores()
    } else {
        n
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{}", serde_json::json!({ "code": 2, "error": message }));
    ExitCode::from(2)
}
