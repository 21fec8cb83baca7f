//! Real-roads scenario, matrix timing and fallback calibration on the rural OSM extract.
//!
//! A bench binary (`harness = false`) so that it builds with optimisations and never runs in
//! `cargo test`. Reproducible: every random choice comes from `--seed`.
//!
//! ```text
//! scripts/osrm.sh install && scripts/osrm.sh build rural && scripts/osrm.sh start rural 5001
//! cargo bench -p routing --bench real_roads -- matrix    --osrm http://127.0.0.1:5001 --n 2000
//! cargo bench -p routing --bench real_roads -- calibrate --osrm http://127.0.0.1:5001 --write
//! cargo bench -p routing --bench real_roads -- scenario  --osrm http://127.0.0.1:5001 --sizes 100,500,2000
//! ```

#[path = "real_roads/osm.rs"]
mod osm;
#[path = "real_roads/scenario.rs"]
mod scenario;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use routing::matrix::Location;
use routing::travel::fallback::{self, Sample};
use routing::travel::{
    CachedTravelTimes, Calibration, FallbackModel, OsrmClient, OsrmConfig, TravelTimes,
};

const USAGE: &str = "usage: cargo bench -p routing --bench real_roads -- COMMAND [OPTIONS]
commands:
  matrix     time an N x N matrix from OSRM, then the same day through the cache
  calibrate  fit the fallback model against OSRM on the extract's real places (--write stores it)
  scenario   generate days of demand on real places and plan them on OSRM travel times
options:
  --osrm URL       OSRM server (default $PASSAGGIO_OSRM_URL or http://127.0.0.1:5001)
  --osm PATH       OSM extract (default ../shared/osm/north-bayreuth.osm.gz)
  --seed N         random seed (default 1)
  --n N            matrix size for `matrix` (default 2000)
  --tile N         `matrix`: tile side, = the server's --max-table-size (default 1000)
  --concurrency N  `matrix`: tiles in flight (default 2)
  --sizes A,B,C    request counts for `scenario` (default 100,500,2000)
  --time-limit S   solver time limit per size for `scenario`, seconds (default 30)
  --threads N      `scenario`: parallel searches (default 1; 0 = one per core)
  --region NAME    `calibrate`: region name (default rural)
  --write          `calibrate`: write routing/calibration/REGION.json";

/// Parsed command line.
pub struct Args {
    command: String,
    osrm: String,
    osm: PathBuf,
    seed: u64,
    n: usize,
    sizes: Vec<usize>,
    time_limit_s: f64,
    threads: usize,
    write: bool,
    region: String,
    tile: usize,
    concurrency: usize,
}

fn parse_args() -> Result<Option<Args>, String> {
    // `cargo bench` passes `--bench`; ignore it.
    let raw: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(command) = raw.first().cloned() else {
        return Ok(None);
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        command,
        osrm: std::env::var("PASSAGGIO_OSRM_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:5001".to_owned()),
        osm: manifest.join("../../shared/osm/north-bayreuth.osm.gz"),
        seed: 1,
        n: 2000,
        sizes: vec![100, 500, 2000],
        time_limit_s: 30.0,
        threads: 1,
        write: false,
        region: "rural".to_owned(),
        tile: 1000,
        concurrency: 2,
    };
    let mut it = raw.into_iter().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--osrm" => args.osrm = value()?,
            "--osm" => args.osm = PathBuf::from(value()?),
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--n" => args.n = value()?.parse().map_err(|e| format!("--n: {e}"))?,
            "--time-limit" => {
                args.time_limit_s = value()?.parse().map_err(|e| format!("--time-limit: {e}"))?;
            }
            "--sizes" => {
                args.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|e| format!("--sizes: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--threads" => {
                args.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?;
            }
            "--write" => args.write = true,
            "--region" => args.region = value()?,
            "--tile" => args.tile = value()?.parse().map_err(|e| format!("--tile: {e}"))?,
            "--concurrency" => {
                args.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?;
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(Some(args))
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            eprintln!("real_roads: nothing to do without a command (this is not a criterion bench)\n{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("real_roads: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match args.command.as_str() {
            "matrix" => matrix(&args).await,
            "calibrate" => calibrate(&args).await,
            "scenario" => scenario::run(&args).await,
            other => Err(format!("unknown command {other}\n{USAGE}")),
        }
    });
    if let Err(e) = result {
        eprintln!("real_roads: {e}");
        std::process::exit(1);
    }
}

/// The OSRM client as the scenario uses it (config of the local server from scripts/osrm.sh).
pub fn osrm_client(url: &str) -> Result<Arc<OsrmClient>, String> {
    OsrmClient::new(OsrmConfig::new(url))
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// `n` random points in the area the extract covers (most are off-road: OSRM snaps them).
fn random_points(extract: &osm::Extract, n: usize, seed: u64) -> Vec<Location> {
    let b = scenario::bounds(extract);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| Location {
            lon: rng.gen_range(b.0.lon..b.1.lon),
            lat: rng.gen_range(b.0.lat..b.1.lat),
        })
        .collect()
}

async fn matrix(args: &Args) -> Result<(), String> {
    let extract = osm::read(&args.osm).map_err(|e| format!("{}: {e}", args.osm.display()))?;
    let points = random_points(&extract, args.n, args.seed);
    let mut config = OsrmConfig::new(args.osrm.as_str());
    config.max_table_size = args.tile;
    config.concurrency = args.concurrency;
    let osrm = Arc::new(OsrmClient::new(config).map_err(|e| e.to_string())?);
    println!(
        "matrix {n} x {n} from {url} (tiles of {t}, {c} in flight)",
        n = args.n,
        url = args.osrm,
        t = osrm.config().max_table_size,
        c = osrm.config().concurrency
    );
    let (start, cpu0, server0) = (
        Instant::now(),
        cpu_seconds("self"),
        server_cpu_seconds(&args.osrm),
    );
    let m = osrm.matrix(&points).await.map_err(|e| e.to_string())?;
    let direct = start.elapsed();
    let unreachable = m.matrix.unreachable_pairs().len();
    println!(
        "  OSRM direct:      {:.2} s, {} requests, {} unreachable pairs; CPU: client {:.2} s, osrm-routed {}; load average {}",
        direct.as_secs_f64(),
        osrm.stats().requests,
        unreachable,
        cpu_seconds("self") - cpu0,
        match (server0, server_cpu_seconds(&args.osrm)) {
            (Some(a), Some(b)) => format!("{:.2} s", b - a),
            _ => "unknown (not started by scripts/osrm.sh)".to_owned(),
        },
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default()
    );

    let cache = CachedTravelTimes::new(osrm.clone());
    let before = osrm.stats().requests;
    let start = Instant::now();
    let first = cache.matrix(&points).await.map_err(|e| e.to_string())?;
    println!(
        "  cache, first day: {:.2} s, {} OSRM requests",
        start.elapsed().as_secs_f64(),
        osrm.stats().requests - before
    );
    let before = osrm.stats().requests;
    let start = Instant::now();
    let again = cache.matrix(&points).await.map_err(|e| e.to_string())?;
    println!(
        "  cache, same day:  {:.2} s, {} OSRM requests, identical: {}",
        start.elapsed().as_secs_f64(),
        osrm.stats().requests - before,
        again.matrix == first.matrix && first.matrix == m.matrix
    );
    Ok(())
}

/// The file name of an extract, for reports.
fn extract_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
}

/// User + system CPU seconds of process `pid` (`self` for this one), from /proc (Linux).
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| {
        fields
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of the osrm-routed that scripts/osrm.sh started for the port in `url`.
fn server_cpu_seconds(url: &str) -> Option<f64> {
    let port = url.rsplit(':').next()?.trim_end_matches('/');
    let run = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.local/osrm/run");
    for entry in std::fs::read_dir(run).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(&format!("-{port}.pid")) {
            let pid = std::fs::read_to_string(entry.path()).ok()?;
            return Some(cpu_seconds(pid.trim()));
        }
    }
    None
}

/// Pairs between distinct real places of the extract, measured by OSRM.
async fn samples(osrm: &OsrmClient, points: &[Location]) -> Result<Vec<Sample>, String> {
    let table = osrm
        .table(points, points)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..points.len() {
        for j in 0..points.len() {
            let (from, to) = (table.source_snaps[i], table.destination_snaps[j]);
            if let (Some(road_s), Some(road_m), true) =
                (table.duration(i, j), table.distance(i, j), from != to)
            {
                out.push(Sample {
                    from,
                    to,
                    road_s,
                    road_m,
                });
            }
        }
    }
    Ok(out)
}

async fn calibrate(args: &Args) -> Result<(), String> {
    let extract = osm::read(&args.osm).map_err(|e| format!("{}: {e}", args.osm.display()))?;
    let mut pois = scenario::all_pois(&extract);
    // Sorted by OSM id before the seeded shuffle, so the split does not depend on file order.
    pois.sort_by_key(|p| (p.id, p.kind.clone()));
    let named = pois.iter().filter(|p| !p.name.is_empty()).count();
    println!(
        "calibration points: {} real locations from {} ({named} named)",
        pois.len(),
        args.osm.display()
    );
    let mut pool: Vec<Location> = pois.iter().map(|p| p.location).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    pool.shuffle(&mut rng);
    let (train, test) = pool.split_at(pool.len() / 2);
    let osrm = osrm_client(&args.osrm)?;
    let train = samples(&osrm, train).await?;
    let test = samples(&osrm, test).await?;
    let mut calibration = fallback::calibrate(&args.region, &train).map_err(|e| e.to_string())?;
    let before = fallback::evaluate(&FallbackModel::default(), &test);
    let after = fallback::evaluate(&FallbackModel::new(calibration.clone()), &test);
    calibration.fit = Some(fallback::FitReport {
        source: format!(
            "OSRM 26.10 car.lua on {}; places, farmyards, amenities and road \
             dead ends, shuffled with seed {}: fitted on one half, errors on the other",
            extract_name(&args.osm),
            args.seed
        ),
        before,
        after,
        fitted_on: train.len(),
    });
    println!(
        "fallback model against OSRM on {} ({} held-out pairs):",
        extract_name(&args.osm),
        test.len()
    );
    for (name, r) in [
        ("uncalibrated (x1.3, 50 km/h)", before),
        ("calibrated", after),
    ] {
        println!(
            "  {name:<30} duration MAE {:6.1} s = {:5.1} % of mean, MAPE {:5.1} %, bias {:+6.1} s, distance MAE {:5.1} %",
            r.duration_mae_s,
            r.duration_mae_percent,
            r.duration_mape_percent,
            r.duration_bias_s,
            r.distance_mae_percent
        );
    }
    let json = serde_json::to_string_pretty(&calibration).map_err(|e| e.to_string())?;
    println!("{json}");
    if args.write {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("calibration/{}.json", args.region));
        std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        println!("written to {}", path.display());
    }
    // Loading it back through the same validation the service uses.
    let _ =
        Calibration::from_json(&serde_json::to_string(&calibration).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    Ok(())
}
