//! The fallback model: travel times with no server, from great-circle distance.
//!
//! Road distance ≈ great-circle distance × a detour factor; duration ≈ a fixed overhead (getting
//! from a door to a through road) + road distance / a speed that depends on how far the trip is
//! (short trips run on slow village streets, long ones on faster country roads). The factor,
//! overhead and speeds are calibrated per region against OSRM ([`calibrate`]) and stored as a
//! JSON [`Calibration`] with the errors measured before and after, so the figures are checked in
//! with the numbers they produce.
//!
//! Invariant: everything this model answers is marked `estimated`; it never claims a pair is
//! unreachable (it cannot know), and it is 0 only for identical points.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{great_circle_m, validate_locations, Route, Snapped, Table, TravelError, TravelTimes};
use crate::matrix::Location;

/// Speed over one stretch of trip length: a trip of great-circle length `d` drives its first
/// kilometres at the first band's speed, the next at the second's, and so on (a continuous,
/// piecewise-linear duration, so a longer trip never takes less time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeedBand {
    /// Upper bound of the band, great-circle kilometres; `None` for the last, open band.
    pub up_to_km: Option<f64>,
    /// Speed over the *road* distance (great-circle × detour factor) in this band, km/h.
    pub speed_kmh: f64,
}

/// How far the model is from the road network, on a set of pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Pairs compared.
    pub pairs: usize,
    /// Mean absolute error of durations, seconds.
    pub duration_mae_s: f64,
    /// Mean absolute duration error as a percentage of the mean OSRM duration.
    pub duration_mae_percent: f64,
    /// Mean of |error| / OSRM duration, percent (weighs short trips more).
    pub duration_mape_percent: f64,
    /// Mean absolute distance error as a percentage of the mean OSRM distance.
    pub distance_mae_percent: f64,
    /// Mean signed duration error, seconds (positive: the model is slower than the road).
    pub duration_bias_s: f64,
}

/// Where a calibration came from and how good it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// What it was fitted against, e.g. the extract, profile and sampling.
    pub source: String,
    /// Errors of the uncalibrated default model on the held-out pairs.
    pub before: ErrorReport,
    /// Errors of this calibration on the held-out pairs (not the ones it was fitted on).
    pub after: ErrorReport,
    /// Pairs used for fitting.
    pub fitted_on: usize,
}

/// Parameters of the [`FallbackModel`] for one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Region name, e.g. `rural` (north of Bayreuth) or `foggia`.
    pub region: String,
    /// Road distance / great-circle distance.
    pub detour_factor: f64,
    /// Seconds added to every trip between distinct points.
    pub overhead_s: f64,
    /// Speeds by great-circle distance, ascending; the last band is open.
    pub bands: Vec<SpeedBand>,
    /// How this calibration was obtained and its measured error, when fitted.
    pub fit: Option<FitReport>,
}

impl Calibration {
    /// The uncalibrated default: detour factor 1.3 and 50 km/h everywhere, no overhead.
    /// (1.3 is the usual rural road/straight-line ratio; 50 km/h a country-road average.)
    #[must_use]
    pub fn uncalibrated() -> Self {
        Self {
            region: "uncalibrated".to_owned(),
            detour_factor: 1.3,
            overhead_s: 0.0,
            bands: vec![SpeedBand {
                up_to_km: None,
                speed_kmh: 50.0,
            }],
            fit: None,
        }
    }

    /// Reads a calibration stored as JSON (see `routing/calibration/`).
    ///
    /// # Errors
    /// [`TravelError::Config`] when the JSON is malformed or the values are not usable.
    pub fn from_json(json: &str) -> Result<Self, TravelError> {
        let c: Self = serde_json::from_str(json)
            .map_err(|e| TravelError::Config(format!("calibration JSON: {e}")))?;
        let speeds_ok = !c.bands.is_empty()
            && c.bands
                .iter()
                .all(|b| b.speed_kmh.is_finite() && b.speed_kmh > 0.0);
        let last_open = c.bands.last().is_some_and(|b| b.up_to_km.is_none());
        let factors_ok = c.detour_factor.is_finite()
            && c.detour_factor >= 1.0
            && c.overhead_s.is_finite()
            && c.overhead_s >= 0.0;
        if !factors_ok || !speeds_ok || !last_open {
            return Err(TravelError::Config(format!(
                "calibration {:?}: detour factor must be >= 1, overhead >= 0, speeds > 0, \
                 and the last band open (up_to_km null)",
                c.region
            )));
        }
        Ok(c)
    }

    /// The calibration stored in the repository for the rural extract north of Bayreuth,
    /// fitted against OSRM's car profile (`routing/calibration/rural.json`).
    ///
    /// # Panics
    /// Never in a released build: the file is checked by a unit test.
    #[must_use]
    pub fn rural() -> Self {
        Self::from_json(include_str!("../../calibration/rural.json"))
            .expect("routing/calibration/rural.json is valid (checked by a unit test)")
    }

    /// Seconds to drive the road distance of a trip `great_circle_m` long (overhead excluded):
    /// each band's share of the distance at that band's speed.
    fn driving_s(&self, great_circle_m: f64) -> f64 {
        let km = great_circle_m / 1000.0;
        let mut lower = 0.0;
        let mut hours = 0.0;
        for band in &self.bands {
            let upper = band.up_to_km.unwrap_or(f64::INFINITY);
            let share = (km.min(upper) - lower).max(0.0);
            hours += share * self.detour_factor / band.speed_kmh;
            if km <= upper {
                break;
            }
            lower = upper;
        }
        hours * 3600.0
    }
}

/// Travel times without a server. Cheap, always available, always `estimated`.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackModel {
    calibration: Calibration,
}

impl Default for FallbackModel {
    fn default() -> Self {
        Self::new(Calibration::uncalibrated())
    }
}

impl FallbackModel {
    /// A model with these parameters.
    #[must_use]
    pub fn new(calibration: Calibration) -> Self {
        Self { calibration }
    }

    /// The parameters in use.
    #[must_use]
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Estimated (duration seconds, road distance metres) from `a` to `b`.
    #[must_use]
    pub fn estimate(&self, a: Location, b: Location) -> (f64, f64) {
        let straight = great_circle_m(a, b);
        if straight == 0.0 {
            return (0.0, 0.0);
        }
        let road = straight * self.calibration.detour_factor;
        let duration = self.calibration.overhead_s + self.calibration.driving_s(straight);
        (duration, road)
    }

    fn table_now(
        &self,
        sources: &[Location],
        destinations: &[Location],
    ) -> Result<Table, TravelError> {
        validate_locations(sources)?;
        validate_locations(destinations)?;
        let (n, m) = (sources.len(), destinations.len());
        let mut durations = Vec::with_capacity(n * m);
        let mut distances = Vec::with_capacity(n * m);
        for a in sources {
            for b in destinations {
                let (d, l) = self.estimate(*a, *b);
                durations.push(Some(d));
                distances.push(Some(l));
            }
        }
        Ok(Table {
            sources: n,
            destinations: m,
            durations,
            distances,
            source_snaps: sources.to_vec(),
            destination_snaps: destinations.to_vec(),
            estimated: true,
        })
    }
}

impl TravelTimes for FallbackModel {
    fn name(&self) -> &str {
        "fallback"
    }

    fn table<'a>(
        &'a self,
        sources: &'a [Location],
        destinations: &'a [Location],
    ) -> BoxFuture<'a, Result<Table, TravelError>> {
        Box::pin(std::future::ready(self.table_now(sources, destinations)))
    }

    fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
        let result = validate_locations(&[from, to]).map(|()| {
            let (duration_s, distance_m) = self.estimate(from, to);
            Route {
                duration_s,
                distance_m,
                geometry: vec![from, to],
                estimated: true,
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
        let result = validate_locations(&[location]).map(|()| Snapped {
            location,
            distance_m: 0.0,
            estimated: true,
        });
        Box::pin(std::future::ready(result))
    }
}

/// One pair measured on the road network, for calibration and evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Start (a point on the road network).
    pub from: Location,
    /// End.
    pub to: Location,
    /// OSRM duration, seconds.
    pub road_s: f64,
    /// OSRM distance, metres.
    pub road_m: f64,
}

/// Pairs per distance bin when fitting; fewer bins for smaller samples.
const PAIRS_PER_BIN: usize = 500;
/// Most bands a calibration has.
const MAX_BANDS: usize = 8;
/// Marginal speeds are kept in this range (km/h), so a noisy bin cannot make time stand still.
const SPEED_RANGE_KMH: (f64, f64) = (5.0, 130.0);

/// Fits a [`Calibration`] for `region` on `samples` (pairs of distinct points with a route).
///
/// The detour factor is the median road/great-circle distance ratio. For durations, the pairs
/// are sorted by great-circle distance and cut into equal-count bins; each bin gives a knot
/// (median distance, median duration), medians because they minimise the absolute error and
/// shrug off the odd pair that must go round a valley. Knots that would make a longer trip
/// shorter are dropped; the line through the first two knots, extended to 0 km, gives the
/// overhead; the slopes between knots give the band speeds.
///
/// # Errors
/// [`TravelError::Config`] when fewer than 40 usable pairs are given.
pub fn calibrate(region: &str, samples: &[Sample]) -> Result<Calibration, TravelError> {
    let mut usable: Vec<(f64, &Sample)> = samples
        .iter()
        .map(|s| (great_circle_m(s.from, s.to), s))
        .filter(|(d, s)| {
            *d > 50.0 && s.road_s.is_finite() && s.road_m.is_finite() && s.road_s > 0.0
        })
        .collect();
    if usable.len() < 40 {
        return Err(TravelError::Config(format!(
            "calibration needs at least 40 pairs with a route, got {}",
            usable.len()
        )));
    }
    let detour_factor = median(usable.iter().map(|(d, s)| s.road_m / d).collect()).max(1.0);

    usable.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bins = (usable.len() / PAIRS_PER_BIN).clamp(2, MAX_BANDS + 1);
    let mut knots: Vec<(f64, f64)> = Vec::new(); // (great-circle km, seconds)
    for chunk in usable.chunks(usable.len().div_ceil(bins)) {
        let km = median(chunk.iter().map(|(d, _)| d / 1000.0).collect());
        let s = median(chunk.iter().map(|(_, s)| s.road_s).collect());
        if knots.last().is_none_or(|&(k0, s0)| km > k0 && s > s0) {
            knots.push((km, s));
        }
    }
    let speed = |(k0, s0): (f64, f64), (k1, s1): (f64, f64)| {
        (((k1 - k0) * detour_factor) / ((s1 - s0) / 3600.0))
            .clamp(SPEED_RANGE_KMH.0, SPEED_RANGE_KMH.1)
    };
    let (overhead_s, mut bands) = if knots.len() >= 2 {
        let first = speed(knots[0], knots[1]);
        let overhead = (knots[0].1 - knots[0].0 * detour_factor / first * 3600.0).clamp(0.0, 600.0);
        let mut bands = vec![SpeedBand {
            up_to_km: Some(knots[0].0),
            speed_kmh: (knots[0].0 * detour_factor / ((knots[0].1 - overhead).max(1.0) / 3600.0))
                .clamp(SPEED_RANGE_KMH.0, SPEED_RANGE_KMH.1),
        }];
        for w in knots.windows(2) {
            bands.push(SpeedBand {
                up_to_km: Some(w[1].0),
                speed_kmh: speed(w[0], w[1]),
            });
        }
        (overhead, bands)
    } else {
        let (km, s) = knots[0];
        (
            0.0,
            vec![SpeedBand {
                up_to_km: None,
                speed_kmh: (km * detour_factor / (s / 3600.0))
                    .clamp(SPEED_RANGE_KMH.0, SPEED_RANGE_KMH.1),
            }],
        )
    };
    // Beyond the last knot, keep the last speed.
    if let Some(last) = bands.last().copied() {
        if last.up_to_km.is_some() {
            bands.push(SpeedBand {
                up_to_km: None,
                speed_kmh: last.speed_kmh,
            });
        }
    }
    Ok(Calibration {
        region: region.to_owned(),
        detour_factor,
        overhead_s,
        bands,
        fit: None,
    })
}

/// Errors of `model` against the road network on `samples` (pairs of distinct points).
#[must_use]
pub fn evaluate(model: &FallbackModel, samples: &[Sample]) -> ErrorReport {
    let usable: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.road_s.is_finite() && s.road_s > 0.0 && s.from != s.to)
        .collect();
    let n = usable.len().max(1) as f64;
    let (mut abs, mut signed, mut rel, mut sum_road) = (0.0, 0.0, 0.0, 0.0);
    let (mut abs_m, mut sum_road_m) = (0.0, 0.0);
    for s in &usable {
        let (d, l) = model.estimate(s.from, s.to);
        abs += (d - s.road_s).abs();
        signed += d - s.road_s;
        rel += (d - s.road_s).abs() / s.road_s;
        sum_road += s.road_s;
        abs_m += (l - s.road_m).abs();
        sum_road_m += s.road_m;
    }
    ErrorReport {
        pairs: usable.len(),
        duration_mae_s: abs / n,
        duration_mae_percent: 100.0 * abs / sum_road.max(f64::MIN_POSITIVE),
        duration_mape_percent: 100.0 * rel / n,
        distance_mae_percent: 100.0 * abs_m / sum_road_m.max(f64::MIN_POSITIVE),
        duration_bias_s: signed / n,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> Location {
        Location { lon, lat }
    }

    #[test]
    fn the_same_point_is_zero_and_everything_is_estimated() {
        let m = FallbackModel::default();
        let a = at(11.5, 50.0);
        assert_eq!(m.estimate(a, a), (0.0, 0.0));
        let t = m.table_now(&[a, at(11.6, 50.0)], &[a]).unwrap();
        assert!(t.estimated);
        assert_eq!(t.duration(0, 0), Some(0.0));
        assert!(t.duration(1, 0).unwrap() > 0.0);
    }

    #[test]
    fn the_default_model_is_detour_times_great_circle_at_50_kmh() {
        let (a, b) = (at(11.5, 50.0), at(11.5, 50.1));
        let (d, l) = FallbackModel::default().estimate(a, b);
        let straight = great_circle_m(a, b);
        assert!((l - 1.3 * straight).abs() < 1e-6);
        assert!((d - l / (50.0 / 3.6)).abs() < 1e-6);
    }

    #[test]
    fn calibration_recovers_the_parameters_of_synthetic_roads() {
        // Roads 1.4x the straight line, 30 s overhead, 40 km/h up to 3 km and 70 km/h beyond.
        let truth = Calibration {
            region: "synthetic".to_owned(),
            detour_factor: 1.4,
            overhead_s: 30.0,
            bands: vec![
                SpeedBand {
                    up_to_km: Some(3.0),
                    speed_kmh: 40.0,
                },
                SpeedBand {
                    up_to_km: None,
                    speed_kmh: 70.0,
                },
            ],
            fit: None,
        };
        let model = FallbackModel::new(truth);
        let samples: Vec<Sample> = (1..400)
            .map(|k| {
                let (from, to) = (at(11.5, 50.0), at(11.5 + 0.0007 * f64::from(k), 50.0));
                let (road_s, road_m) = model.estimate(from, to);
                Sample {
                    from,
                    to,
                    road_s,
                    road_m,
                }
            })
            .collect();
        let fitted = FallbackModel::new(calibrate("synthetic", &samples).unwrap());
        assert!((fitted.calibration().detour_factor - 1.4).abs() < 1e-6);
        let report = evaluate(&fitted, &samples);
        assert!(report.duration_mae_percent < 5.0, "{report:?}");
        assert!(
            evaluate(&FallbackModel::default(), &samples).duration_mae_percent
                > report.duration_mae_percent
        );
    }

    #[test]
    fn the_stored_rural_calibration_is_valid() {
        let c = Calibration::rural();
        assert_eq!(c.region, "rural");
        let fit = c.fit.expect("stored with its measured errors");
        assert!(fit.after.duration_mae_percent <= 20.0, "{fit:?}");
    }

    #[test]
    fn a_calibration_with_a_closed_last_band_is_rejected() {
        let json = r#"{"region":"x","detour_factor":1.2,"overhead_s":0,
            "bands":[{"up_to_km":3.0,"speed_kmh":40}],"fit":null}"#;
        assert!(Calibration::from_json(json).is_err());
    }
}
