//! Travel-time providers: where the durations and distances the solver plans on come from.
//!
//! Every provider implements [`TravelTimes`], an object-safe async trait used as
//! `Arc<dyn TravelTimes>`:
//! - [`osrm::OsrmClient`]: road travel times from an OSRM server (`/table`, `/route`,
//!   `/nearest`); the crate's only network I/O lives there.
//! - [`fallback::FallbackModel`]: no server; great-circle distance × a detour factor, at speeds
//!   calibrated per region against OSRM. Its answers are always marked `estimated`.
//! - [`cache::CachedTravelTimes`]: remembers road answers by *snapped* location, so re-planning
//!   a day asks the server only for pairs it has never seen.
//! - [`failover::WithFallback`]: a primary provider (OSRM, usually cached) that falls back to the
//!   model when the primary fails, logs that once, and marks the answer `estimated`.
//!
//! Invariants: a pair with no route is `None` in a [`Table`] and unreachable in the
//! [`Matrix`] ([`f64::INFINITY`]), never 0 or a large number; an answer that is not entirely
//! from the road network says so with `estimated: true`.

pub mod cache;
pub mod failover;
pub mod fallback;
pub mod osrm;

use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::matrix::{Location, Matrix, MatrixError};

pub use cache::CachedTravelTimes;
pub use failover::WithFallback;
pub use fallback::{Calibration, FallbackModel};
pub use osrm::{OsrmClient, OsrmConfig};

/// The provider the dispatch service uses: OSRM (`config`) behind a [`CachedTravelTimes`],
/// falling back to `model` when OSRM fails (pairs already in the cache keep their road values). Hold it as `Arc<dyn TravelTimes>`, or as
/// `Arc<WithFallback>` to also read [`WithFallback::is_degraded`].
///
/// ```
/// use std::sync::Arc;
/// use routing::travel::{osrm_with_fallback, Calibration, FallbackModel, OsrmConfig, TravelTimes};
///
/// let travel: Arc<dyn TravelTimes> = Arc::new(
///     osrm_with_fallback(
///         OsrmConfig::new("http://127.0.0.1:5001"),
///         FallbackModel::new(Calibration::rural()),
///     )
///     .unwrap(),
/// );
/// assert_eq!(travel.name(), "osrm");
/// ```
///
/// # Errors
/// [`TravelError::Config`] when the OSRM URL does not parse.
pub fn osrm_with_fallback(
    config: OsrmConfig,
    model: FallbackModel,
) -> Result<WithFallback, TravelError> {
    let osrm = std::sync::Arc::new(OsrmClient::new(config)?);
    let cached = std::sync::Arc::new(CachedTravelTimes::new(osrm));
    Ok(WithFallback::over_cache(cached, model))
}

/// A source of travel durations (seconds) and distances (metres) between locations.
///
/// Object-safe and `Send + Sync`, so the service holds an `Arc<dyn TravelTimes>` and tests
/// inject any implementation. Methods return boxed futures (no `async fn` in traits, which
/// would not be object-safe).
pub trait TravelTimes: Send + Sync {
    /// Short name for logs and reports, e.g. `osrm` or `fallback`.
    fn name(&self) -> &str;

    /// Durations and distances from every source to every destination.
    ///
    /// # Errors
    /// [`TravelError`] when the provider cannot answer (server down, timeout, bad answer).
    /// A pair with no route is *not* an error: it is `None` in the [`Table`].
    fn table<'a>(
        &'a self,
        sources: &'a [Location],
        destinations: &'a [Location],
    ) -> BoxFuture<'a, Result<Table, TravelError>>;

    /// The road route from `from` to `to`, with its geometry for maps.
    ///
    /// # Errors
    /// [`TravelError::NoRoute`] when there is none, or any provider failure.
    fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>>;

    /// The nearest point of the road network to `location` (where a vehicle can stop).
    ///
    /// # Errors
    /// Any provider failure, or [`TravelError::Osrm`] with code `NoSegment` when nothing is near.
    fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>>;

    /// The square matrix between `locations`, in the form the solver takes.
    ///
    /// # Errors
    /// As [`TravelTimes::table`].
    fn matrix<'a>(
        &'a self,
        locations: &'a [Location],
    ) -> BoxFuture<'a, Result<TravelMatrix, TravelError>> {
        Box::pin(async move {
            let table = self.table(locations, locations).await?;
            table.into_matrix()
        })
    }
}

/// A rectangular table of travel durations (seconds) and distances (metres), row-major by
/// source; `None` marks a pair with no route.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Number of sources (rows).
    pub sources: usize,
    /// Number of destinations (columns).
    pub destinations: usize,
    /// `sources * destinations` durations in seconds.
    pub durations: Vec<Option<f64>>,
    /// `sources * destinations` distances in metres.
    pub distances: Vec<Option<f64>>,
    /// Where each source was snapped to on the road network (the input itself for models).
    pub source_snaps: Vec<Location>,
    /// Where each destination was snapped to.
    pub destination_snaps: Vec<Location>,
    /// True when any value is an estimate rather than a road-network answer.
    pub estimated: bool,
}

impl Table {
    /// Duration in seconds from source `i` to destination `j`; `None` if unreachable.
    #[must_use]
    pub fn duration(&self, i: usize, j: usize) -> Option<f64> {
        self.durations[i * self.destinations + j]
    }

    /// Distance in metres from source `i` to destination `j`; `None` if unreachable.
    #[must_use]
    pub fn distance(&self, i: usize, j: usize) -> Option<f64> {
        self.distances[i * self.destinations + j]
    }

    /// The square matrix, when sources and destinations are the same list.
    ///
    /// # Errors
    /// [`TravelError::Matrix`] when the table is not square or holds an invalid value.
    pub fn into_matrix(self) -> Result<TravelMatrix, TravelError> {
        if self.sources != self.destinations {
            return Err(TravelError::Matrix(MatrixError::WrongSize {
                n: self.sources,
                got: self.sources * self.destinations,
            }));
        }
        let matrix = Matrix::new(self.sources, self.durations, self.distances)?;
        Ok(TravelMatrix {
            matrix,
            estimated: self.estimated,
            snaps: self.source_snaps,
        })
    }
}

/// A square [`Matrix`] for the solver, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelMatrix {
    /// Durations (s) and distances (m); unreachable pairs are explicit.
    pub matrix: Matrix,
    /// True when some values are estimates (the fallback model), not road travel times:
    /// a plan made on it must be marked "planned on estimates".
    pub estimated: bool,
    /// Where each location was snapped to on the road network.
    pub snaps: Vec<Location>,
}

/// A route between two points, for maps and for checking a leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Travel duration, seconds.
    pub duration_s: f64,
    /// Travel distance, metres.
    pub distance_m: f64,
    /// The path as points (lon, lat), first at the snapped start, last at the snapped end.
    pub geometry: Vec<Location>,
    /// True when this is a model's straight line, not a road route.
    pub estimated: bool,
}

/// A location moved onto the road network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Snapped {
    /// The point on the road network.
    pub location: Location,
    /// How far it is from the input, metres (a walk for the passenger).
    pub distance_m: f64,
    /// True when no road network was consulted (the input is returned as is).
    pub estimated: bool,
}

/// Why a provider could not answer. Messages say what to check next.
#[derive(Debug, thiserror::Error)]
pub enum TravelError {
    /// No connection could be made (after retries).
    #[error(
        "OSRM at {url} is unreachable after {attempts} attempt(s): {reason}; \
         is osrm-routed running? (scripts/osrm.sh start rural PORT)"
    )]
    Unreachable {
        /// Server base URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Last transport error.
        reason: String,
    },
    /// Every attempt timed out.
    #[error(
        "OSRM at {url} did not answer within {timeout:?} ({attempts} attempt(s)); \
         the server may be overloaded or the request too large"
    )]
    Timeout {
        /// Server base URL.
        url: String,
        /// Per-request timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered with an error code (OSRM's `code` and `message`).
    #[error("OSRM refused the request ({status}, {code}): {message}")]
    Osrm {
        /// HTTP status.
        status: u16,
        /// OSRM code, e.g. `TooBig`, `NoSegment`, `InvalidQuery`.
        code: String,
        /// OSRM's explanation.
        message: String,
    },
    /// The answer could not be read or does not have the expected shape.
    #[error("OSRM answer could not be read: {0}")]
    BadResponse(String),
    /// There is no route between the two points.
    #[error("no route from {from:?} to {to:?}")]
    NoRoute {
        /// Start.
        from: Location,
        /// End.
        to: Location,
    },
    /// A location is not a valid WGS84 coordinate.
    #[error("location {index} ({location:?}) is not a valid lon/lat coordinate")]
    InvalidLocation {
        /// Position in the request.
        index: usize,
        /// The offending value.
        location: Location,
    },
    /// The provider misconfigured (e.g. an unparsable URL).
    #[error("travel-time provider misconfigured: {0}")]
    Config(String),
    /// Values that do not form a valid matrix.
    #[error(transparent)]
    Matrix(#[from] MatrixError),
}

/// Checks that every location is a finite lon/lat in range.
///
/// # Errors
/// [`TravelError::InvalidLocation`] for the first bad one.
pub fn validate_locations(locations: &[Location]) -> Result<(), TravelError> {
    for (index, location) in locations.iter().enumerate() {
        let ok = location.lon.is_finite()
            && location.lat.is_finite()
            && (-180.0..=180.0).contains(&location.lon)
            && (-90.0..=90.0).contains(&location.lat);
        if !ok {
            return Err(TravelError::InvalidLocation {
                index,
                location: *location,
            });
        }
    }
    Ok(())
}

/// Mean earth radius in metres (IUGG), the value `geo::Haversine` uses too.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle (haversine) distance in metres between two points.
///
/// Written out rather than taken from `geo`: it is the only geodesy this module needs, and
/// `geo` would add a large dependency tree to a crate the service and CI build often.
#[must_use]
pub fn great_circle_m(a: Location, b: Location) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn great_circle_distance_matches_a_known_value() {
        // One degree of latitude is about 111.2 km on the mean sphere.
        let d = great_circle_m(
            Location {
                lon: 11.5,
                lat: 50.0,
            },
            Location {
                lon: 11.5,
                lat: 51.0,
            },
        );
        assert!((d - 111_195.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn an_out_of_range_location_is_rejected() {
        let bad = [
            Location {
                lon: 11.5,
                lat: 50.0,
            },
            Location {
                lon: 200.0,
                lat: 50.0,
            },
        ];
        assert!(matches!(
            validate_locations(&bad),
            Err(TravelError::InvalidLocation { index: 1, .. })
        ));
        assert!(validate_locations(&bad[..1]).is_ok());
    }

    #[test]
    fn a_non_square_table_is_not_a_matrix() {
        let loc = Location { lon: 0.0, lat: 0.0 };
        let t = Table {
            sources: 1,
            destinations: 2,
            durations: vec![Some(0.0), Some(1.0)],
            distances: vec![Some(0.0), Some(1.0)],
            source_snaps: vec![loc],
            destination_snaps: vec![loc, loc],
            estimated: false,
        };
        assert!(t.into_matrix().is_err());
    }
}
