//! The real-roads scenario: a day of demand on real OSM locations, planned on OSRM times.
//!
//! Sites, all real points of the rural extract: settlements are `place=*` nodes (their centres
//! are the meeting points for workers), farms are `landuse=farmyard|farm` areas and the dead
//! ends of country roads away from villages, homes for door-to-door rides are nodes of
//! residential streets near a settlement, appointment places are amenities (town halls,
//! doctors, churches, ...), the hub is the village with most amenities, depots are the hub and
//! the two car parks farthest from it.
//!
//! Demand for `n` requests (one passenger each), seconds since midnight:
//! - dawn shifts (45 %): crews of 1-4 from a settlement to a farm, all arriving 05:30-06:00;
//! - returns after work (35 %): from the farm back to the settlement, picked up 14:00-14:30 or
//!   16:00-16:30 (two shift ends);
//! - appointments (20 %): home to an appointment place arriving in the 30 minutes before a time
//!   spread over 08:00-17:00, and back an hour after it; 10 % of these passengers use a
//!   wheelchair (a wheelchair place and a lift).
//!
//! Ride time may exceed the direct time by 50 % + 10 minutes. Fleet: 8-seat minibuses, every
//! third with a lift and one wheelchair place, 6 vehicles per 100 requests (the solver uses as
//! few as it can).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use routing::check::check;
use routing::matrix::{Location, Matrix};
use routing::model::{Load, Objective, Problem, Request, Stop, TimeWindow, Vehicle};
use routing::solution::{Solution, StopKind};
use routing::travel::{great_circle_m, CachedTravelTimes, TravelTimes};
use routing::Options;

use crate::osm::{Extract, Poi};
use crate::Args;

const HOUR: f64 = 3600.0;
const MINUTE: f64 = 60.0;
/// Trips shorter than this (seconds) are left out of the ride-time ratio.
const MIN_DIRECT_FOR_RATIO: f64 = 300.0;
/// Skill of vehicles with a wheelchair lift.
const LIFT: u32 = 1;

/// South-west and north-east corners of the places in the extract.
pub fn bounds(extract: &Extract) -> (Location, Location) {
    let pois = all_pois(extract);
    let mut sw = Location {
        lon: f64::MAX,
        lat: f64::MAX,
    };
    let mut ne = Location {
        lon: f64::MIN,
        lat: f64::MIN,
    };
    for p in &pois {
        sw.lon = sw.lon.min(p.location.lon);
        sw.lat = sw.lat.min(p.location.lat);
        ne.lon = ne.lon.max(p.location.lon);
        ne.lat = ne.lat.max(p.location.lat);
    }
    (sw, ne)
}

/// Every point of interest the scenario may use.
pub fn all_pois(extract: &Extract) -> Vec<Poi> {
    extract
        .places
        .iter()
        .chain(&extract.farms)
        .chain(&extract.amenities)
        .chain(&extract.road_dead_ends)
        .cloned()
        .collect()
}

/// The real locations a day is drawn from.
struct Sites {
    hub: Poi,
    depots: Vec<Poi>,
    settlements: Vec<Poi>,
    farms: Vec<Poi>,
    appointments: Vec<Poi>,
    /// Street nodes within 800 m of each settlement (same order as `settlements`).
    homes: Vec<Vec<Location>>,
}

fn near(a: Location, b: Location, metres: f64) -> bool {
    great_circle_m(a, b) <= metres
}

fn sites(extract: &Extract) -> Result<Sites, String> {
    let mut settlements: Vec<Poi> = extract.places.clone();
    settlements.sort_by_key(|p| p.id);
    if settlements.is_empty() {
        return Err("the extract has no place=* nodes".to_owned());
    }
    let useful = |p: &&Poi| {
        !matches!(
            p.kind.as_str(),
            "parking"
                | "bench"
                | "hunting_stand"
                | "recycling"
                | "post_box"
                | "waste_basket"
                | "vending_machine"
        )
    };
    let mut appointments: Vec<Poi> = extract.amenities.iter().filter(useful).cloned().collect();
    appointments.sort_by_key(|p| p.id);
    let hub = settlements
        .iter()
        .filter(|p| p.kind == "village" || p.kind == "town")
        .max_by_key(|p| {
            let amenities = appointments
                .iter()
                .filter(|a| near(a.location, p.location, 1500.0))
                .count();
            (amenities, std::cmp::Reverse(p.id))
        })
        .unwrap_or(&settlements[0])
        .clone();
    appointments.push(hub.clone());

    let mut farms: Vec<Poi> = extract.farms.clone();
    // Dead ends of country roads well away from any settlement: a farm at the end of a road.
    farms.extend(
        extract
            .road_dead_ends
            .iter()
            .filter(|d| {
                !settlements
                    .iter()
                    .any(|s| near(s.location, d.location, 600.0))
            })
            .cloned(),
    );
    farms.sort_by_key(|p| p.id);
    farms.dedup_by_key(|p| p.id);

    // Depots: the hub, then the car parks farthest from the depots chosen so far.
    let mut parks: Vec<Poi> = extract
        .amenities
        .iter()
        .filter(|a| a.kind == "parking")
        .cloned()
        .collect();
    parks.sort_by_key(|p| p.id);
    let mut depots = vec![hub.clone()];
    while depots.len() < 3 && !parks.is_empty() {
        let (k, _) = parks
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let d = depots
                    .iter()
                    .map(|q| great_circle_m(p.location, q.location))
                    .fold(f64::INFINITY, f64::min);
                (k, d)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("parks is not empty");
        depots.push(parks.swap_remove(k));
    }
    let homes = settlements
        .iter()
        .map(|s| {
            extract
                .street_nodes
                .iter()
                .filter(|n| near(n.location, s.location, 800.0))
                .map(|n| n.location)
                .collect()
        })
        .collect();
    Ok(Sites {
        hub,
        depots,
        settlements,
        farms,
        appointments,
        homes,
    })
}

/// What kind of trip a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Dawn,
    Return,
    Appointment,
}

/// A request before the matrix exists: real locations and times.
struct Trip {
    purpose: Purpose,
    from: Location,
    to: Location,
    wheelchair: bool,
    /// Pickup window (start, end) and drop-off window, seconds since midnight; the drop-off
    /// end is tightened later with the direct time.
    pickup: (f64, f64),
    delivery: (f64, f64),
}

fn demand(sites: &Sites, n: usize, rng: &mut StdRng) -> Vec<Trip> {
    let dawn = n * 45 / 100;
    let appointments = (n * 20 / 100) & !1; // pairs: there and back
    let returns = n - dawn - appointments;
    let mut trips = Vec::with_capacity(n);
    // Settlements weigh by size: villages send more workers than hamlets.
    let weight = |p: &Poi| {
        if p.kind == "village" || p.kind == "town" {
            3
        } else {
            1
        }
    };
    let pick_settlement = |rng: &mut StdRng| -> usize {
        let total: u32 = sites.settlements.iter().map(weight).sum();
        let mut x = rng.gen_range(0..total);
        for (k, s) in sites.settlements.iter().enumerate() {
            let w = weight(s);
            if x < w {
                return k;
            }
            x -= w;
        }
        sites.settlements.len() - 1
    };
    let mut crews: Vec<(usize, usize, f64)> = Vec::new(); // (settlement, farm, shift end)
    while trips.len() < dawn {
        let s = pick_settlement(rng);
        let f = rng.gen_range(0..sites.farms.len());
        let end = if rng.gen_bool(0.5) {
            14.0 * HOUR
        } else {
            16.0 * HOUR
        };
        for _ in 0..rng.gen_range(1..=4).min(dawn - trips.len()) {
            crews.push((s, f, end));
            trips.push(Trip {
                purpose: Purpose::Dawn,
                from: sites.settlements[s].location,
                to: sites.farms[f].location,
                wheelchair: false,
                pickup: (4.5 * HOUR, 6.0 * HOUR),
                delivery: (5.5 * HOUR, 6.0 * HOUR),
            });
        }
    }
    // Most dawn workers go home the same way; the rest get a lift from a colleague.
    crews.shuffle(rng);
    for &(s, f, end) in crews.iter().cycle().take(returns) {
        trips.push(Trip {
            purpose: Purpose::Return,
            from: sites.farms[f].location,
            to: sites.settlements[s].location,
            wheelchair: false,
            pickup: (end, end + 30.0 * MINUTE),
            delivery: (end, end + 3.0 * HOUR),
        });
    }
    while trips.len() < n {
        let s = pick_settlement(rng);
        let home = sites.homes[s]
            .choose(rng)
            .copied()
            .unwrap_or(sites.settlements[s].location);
        let place = sites
            .appointments
            .choose(rng)
            .expect("the hub at least")
            .location;
        let at = 8.0 * HOUR + f64::from(rng.gen_range(0..=36)) * 15.0 * MINUTE;
        let wheelchair = rng.gen_bool(0.1);
        trips.push(Trip {
            purpose: Purpose::Appointment,
            from: home,
            to: place,
            wheelchair,
            pickup: (at - 2.0 * HOUR, at),
            delivery: (at - 30.0 * MINUTE, at),
        });
        if trips.len() < n {
            trips.push(Trip {
                purpose: Purpose::Appointment,
                from: place,
                to: home,
                wheelchair,
                pickup: (at + HOUR, at + 1.5 * HOUR),
                delivery: (at + HOUR, at + 4.0 * HOUR),
            });
        }
    }
    trips
}

/// Unique locations (depots first) and each trip's (pickup, drop-off) index.
fn locations(sites: &Sites, trips: &[Trip]) -> (Vec<Location>, Vec<(usize, usize)>) {
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    let mut locs = Vec::new();
    let mut id = |l: Location| -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let key = ((l.lon * 1e7).round() as i64, (l.lat * 1e7).round() as i64);
        *index.entry(key).or_insert_with(|| {
            locs.push(l);
            locs.len() - 1
        })
    };
    for d in &sites.depots {
        id(d.location);
    }
    let pairs = trips.iter().map(|t| (id(t.from), id(t.to))).collect();
    (locs, pairs)
}

fn problem(
    trips: &[Trip],
    pairs: &[(usize, usize)],
    m: &Matrix,
    depots: usize,
) -> Result<Problem, String> {
    let window = |a: f64, b: f64| TimeWindow::new(a, b).map_err(|e| e.to_string());
    let mut requests = Vec::with_capacity(trips.len());
    for (t, &(p, d)) in trips.iter().zip(pairs) {
        let direct = m.duration(p, d);
        let service = if t.wheelchair { 2.0 * MINUTE } else { MINUTE };
        let max_ride = 1.5 * direct + 10.0 * MINUTE;
        // Pick up early enough to make the drop-off window at all.
        let pickup_end = t
            .pickup
            .1
            .min(t.delivery.1 - direct - service)
            .max(t.pickup.0);
        requests.push(Request {
            pickup: Stop {
                location: p,
                window: window(t.pickup.0, pickup_end)?,
                extra_windows: Vec::new(),
                service,
            },
            delivery: Stop {
                location: d,
                window: window(t.delivery.0, t.delivery.1)?,
                extra_windows: Vec::new(),
                service,
            },
            load: Load(vec![1, u32::from(t.wheelchair)]),
            max_ride_time: Some(max_ride),
            skills: if t.wheelchair { vec![LIFT] } else { vec![] },
            vehicle: None,
        });
    }
    let fleet = (trips.len() * 6).div_ceil(100) + 2;
    let vehicles = (0..fleet)
        .map(|k| {
            let depot = k % depots;
            let lift = k % 3 == 0;
            let mut v = Vehicle::new(
                depot,
                Some(depot),
                Load(vec![8, u32::from(lift)]),
                TimeWindow::new(4.0 * HOUR, 21.0 * HOUR).expect("valid shift"),
            );
            if lift {
                v.skills = vec![LIFT];
            }
            v
        })
        .collect();
    Problem::new(requests, vehicles, Objective::default()).map_err(|e| e.to_string())
}

/// Figures of a planned day.
struct Figures {
    served: usize,
    vehicles: usize,
    fleet: usize,
    vehicle_hours: f64,
    driving_hours: f64,
    passenger_km: f64,
    vehicle_km: f64,
    ride_ratio_mean: f64,
    ride_ratio_max: f64,
}

fn figures(problem: &Problem, m: &Matrix, solution: &Solution) -> Figures {
    let mut pickup_done = vec![0.0; problem.requests().len()];
    let (mut ratios, mut passenger_m) = (Vec::new(), 0.0);
    for route in &solution.routes {
        // the scenario has no single-stop jobs
        for stop in route.stops.iter().filter(|s| s.kind != StopKind::Job) {
            let r = &problem.requests()[stop.request];
            match stop.kind {
                StopKind::Pickup => {
                    pickup_done[stop.request] = stop.service_start + r.pickup.service;
                }
                StopKind::Delivery => {
                    let direct = m.duration(r.pickup.location, r.delivery.location);
                    let ride = stop.service_start - pickup_done[stop.request];
                    // A ratio over a one-minute trip says little: count trips of 5 minutes up.
                    if direct >= MIN_DIRECT_FOR_RATIO {
                        ratios.push(ride / direct);
                    }
                    passenger_m += m.distance(r.pickup.location, r.delivery.location);
                }
                StopKind::Job => {}
            }
        }
    }
    let served = problem.requests().len() - solution.unserved.len();
    Figures {
        served,
        vehicles: solution
            .routes
            .iter()
            .filter(|r| !r.stops.is_empty())
            .count(),
        fleet: problem.vehicles().len(),
        vehicle_hours: solution
            .routes
            .iter()
            .map(|r| r.end_time - r.start_time)
            .sum::<f64>()
            / HOUR,
        driving_hours: solution.routes.iter().map(|r| r.travel_time).sum::<f64>() / HOUR,
        passenger_km: passenger_m / 1000.0,
        vehicle_km: solution.distance() / 1000.0,
        ride_ratio_mean: ratios.iter().sum::<f64>() / ratios.len().max(1) as f64,
        ride_ratio_max: ratios.iter().copied().fold(0.0, f64::max),
    }
}

/// Runs the scenario at every size in `args.sizes`.
pub async fn run(args: &Args) -> Result<(), String> {
    let extract =
        crate::osm::read(&args.osm).map_err(|e| format!("{}: {e}", args.osm.display()))?;
    let sites = sites(&extract)?;
    println!(
        "real-roads scenario on {} (seed {}): hub {:?}, {} depots, {} settlements, {} farms, {} appointment places",
        args.osm.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        args.seed,
        sites.hub.name,
        sites.depots.len(),
        sites.settlements.len(),
        sites.farms.len(),
        sites.appointments.len()
    );
    let osrm = crate::osrm_client(&args.osrm)?;
    let cache = CachedTravelTimes::new(osrm.clone());
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let mut rng = StdRng::seed_from_u64(args.seed ^ (n as u64).rotate_left(17));
        let trips = demand(&sites, n, &mut rng);
        let (locs, pairs) = locations(&sites, &trips);
        let count = |p: Purpose| trips.iter().filter(|t| t.purpose == p).count();
        println!(
            "\n{n} requests: {} dawn shift, {} return, {} appointment ({} wheelchair); {} locations",
            count(Purpose::Dawn),
            count(Purpose::Return),
            count(Purpose::Appointment),
            trips.iter().filter(|t| t.wheelchair).count(),
            locs.len()
        );
        let before = osrm.stats().requests;
        let start = Instant::now();
        let tm = cache.matrix(&locs).await.map_err(|e| e.to_string())?;
        let matrix_s = start.elapsed().as_secs_f64();
        let unreachable = tm.matrix.unreachable_pairs().len();
        println!(
            "  matrix {k}x{k} on OSRM: {matrix_s:.2} s ({} OSRM requests, {unreachable} unreachable pairs)",
            osrm.stats().requests - before,
            k = locs.len()
        );
        let problem = problem(&trips, &pairs, &tm.matrix, sites.depots.len())?;
        let options = Options {
            seed: args.seed,
            time_limit: Duration::from_secs_f64(args.time_limit_s),
            max_iterations: None,
            stall_iterations: None,
            threads: if args.threads == 0 {
                Options::all_cores()
            } else {
                args.threads
            },
        };
        let matrix = Arc::new(tm.matrix);
        let start = Instant::now();
        let solution = {
            let (p, m) = (problem.clone(), matrix.clone());
            let options = options.clone();
            tokio::task::spawn_blocking(move || routing::solve(&p, &m, &options))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        };
        let solve_s = start.elapsed().as_secs_f64();
        let feasible = match check(&problem, &matrix, &solution) {
            Ok(_) => "yes".to_owned(),
            Err(errors) => format!("NO: {}", errors.join("; ")),
        };
        let f = figures(&problem, &matrix, &solution);
        println!(
            "  solve: {solve_s:.1} s (time limit {:.0} s, {} thread(s))",
            args.time_limit_s, options.threads
        );
        println!(
            "  served {}/{n}, vehicles {}/{}, vehicle-hours {:.1} (driving {:.1}), passenger-km {:.0} / vehicle-km {:.0} = {:.2}",
            f.served, f.vehicles, f.fleet, f.vehicle_hours, f.driving_hours, f.passenger_km, f.vehicle_km,
            f.passenger_km / f.vehicle_km.max(1e-9)
        );
        println!(
            "  ride-time ratio (trips of 5 min or more) mean {:.2}, max {:.2}; every route feasible on OSRM times (checker): {feasible}",
            f.ride_ratio_mean, f.ride_ratio_max
        );
        rows.push((n, locs.len(), matrix_s, solve_s, f, feasible));
    }
    println!("\n| requests | locations | matrix s | solve s | served | vehicles | veh-h | pkm/vkm | ride ratio mean/max | feasible |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for (n, k, ms, ss, f, feasible) in rows {
        println!(
            "| {n} | {k} | {ms:.2} | {ss:.1} | {} | {}/{} | {:.1} | {:.2} | {:.2} / {:.2} | {} |",
            f.served,
            f.vehicles,
            f.fleet,
            f.vehicle_hours,
            f.passenger_km / f.vehicle_km.max(1e-9),
            f.ride_ratio_mean,
            f.ride_ratio_max,
            if feasible == "yes" { "yes" } else { "NO" }
        );
    }
    Ok(())
}
