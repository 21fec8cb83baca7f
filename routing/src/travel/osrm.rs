//! OSRM client over HTTP: `/table` for matrices, `/route` for map geometry, `/nearest` to snap.
//!
//! This is the crate's only network I/O. A large table is cut into tiles that respect the
//! server's `--max-table-size` (OSRM accepts a request when `sources × destinations ≤ max²`),
//! tiles run concurrently up to a bound, transient failures (connection refused, timeouts, 5xx,
//! 429) are retried with exponential backoff, and every request has a timeout. A pair with no
//! route comes back from OSRM as `null` and stays `None`: it is never turned into 0 or a big
//! number.
//!
//! Measured on the rural extract (2 cores): a 2,000 × 2,000 table as four concurrent
//! 1,000 × 1,000 tiles takes about a third of the time of a single request, because OSRM
//! answers one request on one thread and the JSON of one huge answer is itself slow to write.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{validate_locations, Route, Snapped, Table, TravelError, TravelTimes};
use crate::matrix::Location;

/// How to reach an OSRM server and how hard to push it.
#[derive(Debug, Clone)]
pub struct OsrmConfig {
    /// Base URL, e.g. `http://127.0.0.1:5001` (no trailing slash needed).
    pub base_url: String,
    /// Profile segment of the URL; `osrm-routed` ignores it, `driving` by convention.
    pub profile: String,
    /// The server's `--max-table-size`. Tiles are at most this many sources by this many
    /// destinations. If the server refuses a tile as `TooBig`, the client halves the tile side
    /// and tries again (and remembers it).
    pub max_table_size: usize,
    /// Tiles in flight at once; the server's thread count is a good value.
    pub concurrency: usize,
    /// Timeout of one HTTP request, connection included.
    pub timeout: Duration,
    /// Timeout for establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Extra attempts after a transient failure (0 = no retry).
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl OsrmConfig {
    /// Defaults that suit the local server started by `scripts/osrm.sh`
    /// (`--max-table-size 1000`, 2 threads): 1,000-location tiles, 2 in flight, 30 s per
    /// request, 2 retries starting at 200 ms.
    #[must_use]
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            profile: "driving".to_owned(),
            max_table_size: 1000,
            concurrency: 2,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// Counters of what the client asked the server, for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsrmStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries after a transient failure.
    pub retries: u64,
    /// `/table` tiles answered.
    pub tiles: u64,
}

/// A [`TravelTimes`] provider backed by an OSRM server.
#[derive(Debug)]
pub struct OsrmClient {
    config: OsrmConfig,
    http: reqwest::Client,
    tile_side: AtomicUsize,
    requests: AtomicU64,
    retries: AtomicU64,
    tiles: AtomicU64,
}

impl OsrmClient {
    /// A client for the server in `config`. Sends nothing until asked.
    ///
    /// # Errors
    /// [`TravelError::Config`] when the URL does not parse or the HTTP client cannot be built.
    pub fn new(config: OsrmConfig) -> Result<Self, TravelError> {
        reqwest::Url::parse(&config.base_url)
            .map_err(|e| TravelError::Config(format!("OSRM URL {:?}: {e}", config.base_url)))?;
        if config.max_table_size < 1 || config.concurrency < 1 {
            return Err(TravelError::Config(
                "max_table_size and concurrency must be at least 1".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.concurrency)
            .build()
            .map_err(|e| TravelError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            tile_side: AtomicUsize::new(config.max_table_size),
            config,
            http,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            tiles: AtomicU64::new(0),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &OsrmConfig {
        &self.config
    }

    /// What has been asked so far.
    #[must_use]
    pub fn stats(&self) -> OsrmStats {
        OsrmStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            tiles: self.tiles.load(Ordering::Relaxed),
        }
    }

    async fn table_tiled(
        &self,
        sources: &[Location],
        destinations: &[Location],
    ) -> Result<Table, TravelError> {
        loop {
            let side = self.tile_side.load(Ordering::Relaxed);
            match self.table_with_side(sources, destinations, side).await {
                Err(TravelError::Osrm { code, .. }) if code == "TooBig" && side > 1 => {
                    let smaller = side / 2;
                    tracing::warn!(
                        url = %self.config.base_url,
                        from = side,
                        to = smaller,
                        "OSRM refused a table tile as too big: lower max_table_size to match \
                         the server's --max-table-size"
                    );
                    self.tile_side.store(smaller, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    async fn table_with_side(
        &self,
        sources: &[Location],
        destinations: &[Location],
        side: usize,
    ) -> Result<Table, TravelError> {
        let (n, m) = (sources.len(), destinations.len());
        // A square request for one list: diagonal tiles need each coordinate only once.
        let same = std::ptr::eq(sources, destinations);
        let mut tiles = Vec::new();
        for r0 in (0..n).step_by(side) {
            for c0 in (0..m).step_by(side) {
                tiles.push(Tile {
                    rows: r0..(r0 + side).min(n),
                    cols: c0..(c0 + side).min(m),
                });
            }
        }
        let answers: Vec<(Tile, TableResponse)> = futures::stream::iter(tiles)
            .map(|tile| async move {
                let url = self.tile_url(sources, destinations, &tile, same);
                let answer: TableResponse = self.get_json(&url).await?;
                self.tiles.fetch_add(1, Ordering::Relaxed);
                Ok::<_, TravelError>((tile, answer))
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;

        let mut table = Table {
            sources: n,
            destinations: m,
            durations: vec![None; n * m],
            distances: vec![None; n * m],
            source_snaps: sources.to_vec(),
            destination_snaps: destinations.to_vec(),
            estimated: false,
        };
        for (tile, answer) in answers {
            answer.copy_into(&tile, &mut table)?;
        }
        Ok(table)
    }

    fn tile_url(
        &self,
        sources: &[Location],
        destinations: &[Location],
        tile: &Tile,
        same: bool,
    ) -> String {
        let mut url = format!("{}/table/v1/{}/", self.config.base_url, self.config.profile);
        if same && tile.rows == tile.cols {
            push_coordinates(&mut url, &sources[tile.rows.clone()]);
            url.push_str("?annotations=duration,distance");
            return url;
        }
        push_coordinates(&mut url, &sources[tile.rows.clone()]);
        url.push(';');
        push_coordinates(&mut url, &destinations[tile.cols.clone()]);
        let r = tile.rows.len();
        url.push_str("?annotations=duration,distance&sources=");
        push_indices(&mut url, 0..r);
        url.push_str("&destinations=");
        push_indices(&mut url, r..r + tile.cols.len());
        url
    }

    /// GET `url` and decode OSRM's JSON, retrying transient failures with backoff.
    async fn get_json<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &str,
    ) -> Result<T, TravelError> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            match self.get_once(url).await {
                Ok(value) => return Ok(value),
                Err(failure) if failure.is_transient() && attempt <= self.config.retries => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = self.config.backoff * 2u32.saturating_pow(attempt - 1);
                    tracing::debug!(url = %self.config.base_url, attempt, ?delay, ?failure, "retrying OSRM");
                    tokio::time::sleep(delay).await;
                }
                Err(failure) => return Err(failure.into_error(&self.config, attempt)),
            }
        }
    }

    async fn get_once<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &str,
    ) -> Result<T, Failure> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?;
        if status.is_success() {
            // A 1,000 x 1,000 tile is ~13 MB of JSON: decode it off the async threads, so that
            // tiles decode in parallel with each other and with the server's work.
            if body.len() > LARGE_BODY {
                return tokio::task::spawn_blocking(move || serde_json::from_slice(&body))
                    .await
                    .map_err(|e| Failure::Bad(e.to_string()))?
                    .map_err(|e| Failure::Bad(e.to_string()));
            }
            return serde_json::from_slice(&body).map_err(|e| Failure::Bad(e.to_string()));
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Status(status.as_u16()));
        }
        // OSRM explains a refusal as {"code": "...", "message": "..."}.
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(e) => Err(Failure::Refused {
                status: status.as_u16(),
                code: e.code,
                message: e.message.unwrap_or_default(),
            }),
            Err(_) => Err(Failure::Refused {
                status: status.as_u16(),
                code: "HttpError".to_owned(),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            }),
        }
    }

    async fn route_impl(&self, from: Location, to: Location) -> Result<Route, TravelError> {
        validate_locations(&[from, to])?;
        let mut url = format!("{}/route/v1/{}/", self.config.base_url, self.config.profile);
        push_coordinates(&mut url, &[from, to]);
        url.push_str("?overview=full&geometries=geojson&steps=false");
        let answer: RouteResponse = match self.get_json(&url).await {
            Err(TravelError::Osrm { code, .. }) if code == "NoRoute" => {
                return Err(TravelError::NoRoute { from, to })
            }
            other => other?,
        };
        let route = answer
            .routes
            .into_iter()
            .next()
            .ok_or(TravelError::NoRoute { from, to })?;
        Ok(Route {
            duration_s: route.duration,
            distance_m: route.distance,
            geometry: route
                .geometry
                .coordinates
                .into_iter()
                .map(|[lon, lat]| Location { lon, lat })
                .collect(),
            estimated: false,
        })
    }

    async fn nearest_impl(&self, location: Location) -> Result<Snapped, TravelError> {
        validate_locations(&[location])?;
        let mut url = format!(
            "{}/nearest/v1/{}/",
            self.config.base_url, self.config.profile
        );
        push_coordinates(&mut url, &[location]);
        url.push_str("?number=1");
        let answer: NearestResponse = self.get_json(&url).await?;
        let w = answer.waypoints.into_iter().next().ok_or_else(|| {
            TravelError::BadResponse("/nearest answered without a waypoint".to_owned())
        })?;
        Ok(Snapped {
            location: w.location(),
            distance_m: w.distance,
            estimated: false,
        })
    }
}

impl TravelTimes for OsrmClient {
    fn name(&self) -> &str {
        "osrm"
    }

    fn table<'a>(
        &'a self,
        sources: &'a [Location],
        destinations: &'a [Location],
    ) -> BoxFuture<'a, Result<Table, TravelError>> {
        Box::pin(async move {
            validate_locations(sources)?;
            validate_locations(destinations)?;
            self.table_tiled(sources, destinations).await
        })
    }

    fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
        Box::pin(self.route_impl(from, to))
    }

    fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
        Box::pin(self.nearest_impl(location))
    }
}

/// One block of the table: source rows × destination columns.
#[derive(Debug, Clone)]
struct Tile {
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
}

/// What went wrong with one attempt, before deciding whether to retry.
#[derive(Debug)]
enum Failure {
    Connect(String),
    Timeout,
    Status(u16),
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    Bad(String),
}

impl Failure {
    fn from_reqwest(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            Self::Connect(error_chain(e))
        } else {
            Self::Bad(error_chain(e))
        }
    }

    fn is_transient(&self) -> bool {
        matches!(self, Self::Connect(_) | Self::Timeout | Self::Status(_))
    }

    fn into_error(self, config: &OsrmConfig, attempts: u32) -> TravelError {
        let url = config.base_url.clone();
        match self {
            Self::Connect(reason) => TravelError::Unreachable {
                url,
                attempts,
                reason,
            },
            Self::Timeout => TravelError::Timeout {
                url,
                timeout: config.timeout,
                attempts,
            },
            Self::Status(status) => TravelError::Osrm {
                status,
                code: "ServerError".to_owned(),
                message: format!("HTTP {status} after {attempts} attempt(s)"),
            },
            Self::Refused {
                status,
                code,
                message,
            } => TravelError::Osrm {
                status,
                code,
                message,
            },
            Self::Bad(reason) => TravelError::BadResponse(reason),
        }
    }
}

/// `e` and its sources, e.g. "error sending request: ... Connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    out
}

/// Appends `lon,lat;lon,lat;...` with OSRM's precision (6 decimals, about 0.1 m).
fn push_coordinates(url: &mut String, locations: &[Location]) {
    for (k, l) in locations.iter().enumerate() {
        if k > 0 {
            url.push(';');
        }
        let _ = write!(url, "{:.6},{:.6}", l.lon, l.lat);
    }
}

fn push_indices(url: &mut String, indices: std::ops::Range<usize>) {
    for (k, i) in indices.enumerate() {
        if k > 0 {
            url.push(';');
        }
        let _ = write!(url, "{i}");
    }
}

#[derive(Deserialize)]
struct ErrorResponse {
    code: String,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Waypoint {
    location: [f64; 2],
    #[serde(default)]
    distance: f64,
}

impl Waypoint {
    fn location(&self) -> Location {
        Location {
            lon: self.location[0],
            lat: self.location[1],
        }
    }
}

#[derive(Deserialize)]
struct TableResponse {
    durations: Option<Vec<Vec<Option<f64>>>>,
    distances: Option<Vec<Vec<Option<f64>>>>,
    #[serde(default)]
    sources: Vec<Waypoint>,
    #[serde(default)]
    destinations: Vec<Waypoint>,
}

impl TableResponse {
    /// Writes this tile's answer into the full table, checking its shape.
    fn copy_into(self, tile: &Tile, table: &mut Table) -> Result<(), TravelError> {
        let (r, c) = (tile.rows.len(), tile.cols.len());
        let bad = |what: &str| {
            TravelError::BadResponse(format!(
                "/table tile {:?}x{:?}: {what}",
                tile.rows, tile.cols
            ))
        };
        let durations = self.durations.ok_or_else(|| bad("no durations"))?;
        let distances = self.distances.ok_or_else(|| bad("no distances"))?;
        if durations.len() != r || distances.len() != r {
            return Err(bad("wrong number of rows"));
        }
        for (k, (drow, lrow)) in durations.into_iter().zip(distances).enumerate() {
            if drow.len() != c || lrow.len() != c {
                return Err(bad("wrong number of columns"));
            }
            let i = tile.rows.start + k;
            let at = i * table.destinations + tile.cols.start;
            for (j, (d, l)) in drow.into_iter().zip(lrow).enumerate() {
                // OSRM gives null for both when there is no route; keep the pair unreachable
                // if either is missing rather than inventing the other.
                let (d, l) = match (d, l) {
                    (Some(d), Some(l)) => (Some(not_negative(d)?), Some(not_negative(l)?)),
                    _ => (None, None),
                };
                table.durations[at + j] = d;
                table.distances[at + j] = l;
            }
        }
        if self.sources.len() == r {
            for (k, w) in self.sources.iter().enumerate() {
                table.source_snaps[tile.rows.start + k] = w.location();
            }
        }
        if self.destinations.len() == c {
            for (k, w) in self.destinations.iter().enumerate() {
                table.destination_snaps[tile.cols.start + k] = w.location();
            }
        }
        Ok(())
    }
}

/// OSRM sometimes answers a tiny negative value (e.g. -0.3 m) for two points snapped onto the
/// same road segment, from rounding the offsets along it; that is 0. A clearly negative value
/// would be a server bug and is refused rather than passed to the solver.
fn not_negative(value: f64) -> Result<f64, TravelError> {
    if value >= 0.0 {
        Ok(value)
    } else if value >= -NEGATIVE_TOLERANCE {
        Ok(0.0)
    } else {
        Err(TravelError::BadResponse(format!(
            "/table answered a negative value {value}"
        )))
    }
}

/// Answers larger than this (bytes) are decoded on a blocking thread.
const LARGE_BODY: usize = 256 * 1024;

/// Largest negative value taken as 0 (seconds or metres).
const NEGATIVE_TOLERANCE: f64 = 5.0;

#[derive(Deserialize)]
struct RouteResponse {
    #[serde(default)]
    routes: Vec<RouteJson>,
}

#[derive(Deserialize)]
struct RouteJson {
    duration: f64,
    distance: f64,
    geometry: GeoJsonLine,
}

#[derive(Deserialize)]
struct GeoJsonLine {
    coordinates: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct NearestResponse {
    #[serde(default)]
    waypoints: Vec<Waypoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> OsrmClient {
        OsrmClient::new(OsrmConfig::new("http://127.0.0.1:1/")).unwrap()
    }

    #[test]
    fn an_off_diagonal_tile_sends_its_rows_then_its_columns() {
        let l = |x: f64| Location { lon: x, lat: 50.0 };
        let locs = [l(11.0), l(11.1), l(11.2)];
        let tile = Tile {
            rows: 0..2,
            cols: 2..3,
        };
        let url = client().tile_url(&locs, &locs, &tile, true);
        assert_eq!(
            url,
            "http://127.0.0.1:1/table/v1/driving/11.000000,50.000000;11.100000,50.000000;\
             11.200000,50.000000?annotations=duration,distance&sources=0;1&destinations=2"
        );
    }

    #[test]
    fn a_diagonal_tile_of_a_square_table_sends_each_location_once() {
        let l = |x: f64| Location { lon: x, lat: 50.0 };
        let locs = [l(11.0), l(11.1)];
        let tile = Tile {
            rows: 0..2,
            cols: 0..2,
        };
        let url = client().tile_url(&locs, &locs, &tile, true);
        assert!(
            url.ends_with("11.100000,50.000000?annotations=duration,distance"),
            "{url}"
        );
    }

    #[test]
    fn a_null_from_osrm_stays_unreachable() {
        let json = r#"{"code":"Ok","durations":[[0,null]],"distances":[[0,null]],
            "sources":[{"location":[1,2]}],"destinations":[{"location":[1,2]},{"location":[3,4]}]}"#;
        let answer: TableResponse = serde_json::from_str(json).unwrap();
        let loc = Location { lon: 0.0, lat: 0.0 };
        let mut table = Table {
            sources: 1,
            destinations: 2,
            durations: vec![None; 2],
            distances: vec![None; 2],
            source_snaps: vec![loc],
            destination_snaps: vec![loc; 2],
            estimated: false,
        };
        let tile = Tile {
            rows: 0..1,
            cols: 0..2,
        };
        answer.copy_into(&tile, &mut table).unwrap();
        assert_eq!(table.duration(0, 0), Some(0.0));
        assert_eq!(table.duration(0, 1), None);
        assert_eq!(table.destination_snaps[1], Location { lon: 3.0, lat: 4.0 });
    }

    #[test]
    fn a_bad_url_is_a_configuration_error() {
        assert!(matches!(
            OsrmClient::new(OsrmConfig::new("not a url")),
            Err(TravelError::Config(_))
        ));
    }
}
