//! A cache of road travel times keyed by *snapped* locations.
//!
//! Re-planning a day asks the same pairs again. [`CachedTravelTimes`] remembers, for every
//! input coordinate, where the road network snapped it, and for every pair of snapped points
//! the duration and distance (or that there is no route). A request is answered from the cache
//! where it can; only the missing part goes to the inner provider, as at most three rectangles:
//! new sources × all destinations, known sources × new destinations, then whatever pairs of
//! known points are still missing.
//!
//! Invariants: only road-network answers are stored (a table marked `estimated` is passed
//! through and forgotten, so estimates never outlive an outage); "no route" is stored as such,
//! never as a number. Memory is bounded: past `max_pairs` cells the cache is cleared.
//!
//! Values are kept as tenths (of seconds, of metres) in a `u32`, OSRM's own precision, in dense
//! rows indexed by snapped point, so a pair is 8 bytes and a 2,000-location day 32 MB; a value
//! read back equals OSRM's
//! (another provider's values come back rounded to a tenth).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;

use super::{validate_locations, Route, Snapped, Table, TravelError, TravelTimes};
use crate::matrix::Location;

/// Counters of what the cache did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Pairs answered from the cache.
    pub hits: u64,
    /// Pairs that had to be asked of the inner provider.
    pub misses: u64,
    /// Calls made to the inner provider's `table`.
    pub inner_calls: u64,
    /// Pairs stored now.
    pub stored_pairs: u64,
}

/// A caching wrapper around another [`TravelTimes`] provider (normally the OSRM client).
pub struct CachedTravelTimes {
    inner: Arc<dyn TravelTimes>,
    max_pairs: usize,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    inner_calls: AtomicU64,
}

impl std::fmt::Debug for CachedTravelTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTravelTimes")
            .field("inner", &self.inner.name())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A coordinate rounded to 1e-6 degrees (OSRM's precision), lon then lat.
type Key = (i64, i64);
/// No route: both values are this.
const UNREACHABLE: u32 = u32::MAX;
/// Not known yet.
const UNKNOWN: u32 = u32::MAX - 1;

#[derive(Default)]
struct State {
    /// Input coordinate → id of the point it snaps to.
    snapped: HashMap<Key, u32>,
    /// Snapped point → id.
    ids: HashMap<Key, u32>,
    /// Id → snapped point.
    points: Vec<Key>,
    /// `rows[from id][to id]` = (tenths of seconds, tenths of metres), or `UNKNOWN`. Dense
    /// rows indexed by id: storing a day is a sequential write and a look-up an index, which
    /// is several times cheaper than a hash map of 4 million pairs.
    rows: Vec<Vec<(u32, u32)>>,
    /// Cells allocated in `rows` (the memory bound).
    cells: usize,
    /// Pairs known.
    known: usize,
}

impl State {
    fn id_of_snap(&mut self, snap: Location) -> u32 {
        let k = key(snap);
        if let Some(&id) = self.ids.get(&k) {
            return id;
        }
        let id = u32::try_from(self.points.len()).unwrap_or(u32::MAX);
        self.ids.insert(k, id);
        self.points.push(k);
        id
    }

    fn lookup(&self, from: Option<u32>, to: Option<u32>) -> Option<(u32, u32)> {
        let value = *self.rows.get(from? as usize)?.get(to? as usize)?;
        (value.0 != UNKNOWN).then_some(value)
    }

    fn set(&mut self, from: u32, to: u32, value: (u32, u32)) {
        let (a, b) = (from as usize, to as usize);
        if self.rows.len() <= a {
            self.rows.resize_with(a + 1, Vec::new);
        }
        let row = &mut self.rows[a];
        if row.len() <= b {
            self.cells += b + 1 - row.len();
            row.resize(b + 1, (UNKNOWN, UNKNOWN));
        }
        if row[b].0 == UNKNOWN {
            self.known += 1;
        }
        row[b] = value;
    }
}

impl CachedTravelTimes {
    /// A cache in front of `inner`, holding at most 16 million pairs (128 MB).
    #[must_use]
    pub fn new(inner: Arc<dyn TravelTimes>) -> Self {
        Self::with_capacity(inner, 16_000_000)
    }

    /// A cache in front of `inner` holding at most about `max_pairs` pairs (8 bytes each);
    /// when a new answer would not fit, the cache is cleared first.
    #[must_use]
    pub fn with_capacity(inner: Arc<dyn TravelTimes>, max_pairs: usize) -> Self {
        Self {
            inner,
            max_pairs,
            state: Mutex::new(State::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inner_calls: AtomicU64::new(0),
        }
    }

    /// What the cache has done so far.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            inner_calls: self.inner_calls.load(Ordering::Relaxed),
            stored_pairs: self.lock().known as u64,
        }
    }

    /// Fills `table` (same sources and destinations) with every pair the cache knows, without
    /// asking anyone: used by [`super::WithFallback`] during an outage, so that only the pairs
    /// the cache has never seen are estimated. Returns how many pairs were filled.
    pub fn fill_known(
        &self,
        sources: &[Location],
        destinations: &[Location],
        table: &mut Table,
    ) -> usize {
        if table.sources != sources.len() || table.destinations != destinations.len() {
            return 0;
        }
        let state = self.lock();
        let ids = |locs: &[Location]| -> Vec<Option<u32>> {
            locs.iter()
                .map(|l| state.snapped.get(&key(*l)).copied())
                .collect()
        };
        let (src, dst) = (ids(sources), ids(destinations));
        let m = destinations.len();
        let mut filled = 0;
        for (i, s) in src.iter().enumerate() {
            for (j, d) in dst.iter().enumerate() {
                let value = match state.lookup(*s, *d) {
                    None => continue,
                    Some((UNREACHABLE, _) | (_, UNREACHABLE)) => (None, None),
                    Some((d, l)) => (Some(f64::from(d) / 10.0), Some(f64::from(l) / 10.0)),
                };
                table.durations[i * m + j] = value.0;
                table.distances[i * m + j] = value.1;
                filled += 1;
            }
        }
        filled
    }

    /// Forgets everything (e.g. after the road graph was rebuilt).
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters (each insert is independent), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn table_cached(
        &self,
        sources: &[Location],
        destinations: &[Location],
    ) -> Result<Table, TravelError> {
        validate_locations(sources)?;
        validate_locations(destinations)?;
        let (n, m) = (sources.len(), destinations.len());
        // A day seen before: one pass over the pairs, no provider call.
        if let Some(table) = self.assemble(sources, destinations, Vec::new()) {
            self.hits.fetch_add((n * m) as u64, Ordering::Relaxed);
            return Ok(table);
        }
        let mut asked = 0u64;
        let mut estimated_parts: Vec<(Vec<usize>, Vec<usize>, Table)> = Vec::new();
        // At most three rounds: new sources, then new destinations, then leftover pairs.
        for _ in 0..3 {
            let Some((rows, cols)) = self.next_rectangle(sources, destinations) else {
                break;
            };
            self.inner_calls.fetch_add(1, Ordering::Relaxed);
            asked += (rows.len() * cols.len()) as u64;
            if rows.len() == n && cols.len() == m {
                // Nothing known (a new day): ask with the caller's own slices, so a square
                // request stays square for the provider, and answer from it directly.
                let whole = self.inner.table(sources, destinations).await?;
                if !whole.estimated {
                    self.store(sources, destinations, &whole);
                }
                self.misses.fetch_add(asked, Ordering::Relaxed);
                return Ok(whole);
            }
            let row_locs: Vec<Location> = rows.iter().map(|&i| sources[i]).collect();
            let col_locs: Vec<Location> = cols.iter().map(|&j| destinations[j]).collect();
            let part = self.inner.table(&row_locs, &col_locs).await?;
            if part.estimated {
                // Not stored: keep it aside for this answer only.
                estimated_parts.push((rows, cols, part));
                break;
            }
            self.store(&row_locs, &col_locs, &part);
        }
        self.misses.fetch_add(asked, Ordering::Relaxed);
        self.hits
            .fetch_add(((n * m) as u64).saturating_sub(asked), Ordering::Relaxed);
        // Missing only if the cache was cleared (full) while this answer was built.
        self.assemble(sources, destinations, estimated_parts)
            .ok_or_else(|| {
                TravelError::BadResponse(
                    "travel-time cache was cleared while answering; retry".to_owned(),
                )
            })
    }

    /// The next rectangle (source indices, destination indices) to ask for, or `None` when the
    /// cache can answer everything.
    fn next_rectangle(
        &self,
        sources: &[Location],
        destinations: &[Location],
    ) -> Option<(Vec<usize>, Vec<usize>)> {
        let state = self.lock();
        let src: Vec<Option<u32>> = sources
            .iter()
            .map(|l| state.snapped.get(&key(*l)).copied())
            .collect();
        let dst: Vec<Option<u32>> = destinations
            .iter()
            .map(|l| state.snapped.get(&key(*l)).copied())
            .collect();
        let all_dst: Vec<usize> = (0..destinations.len()).collect();
        let new_src: Vec<usize> = (0..sources.len()).filter(|&i| src[i].is_none()).collect();
        if !new_src.is_empty() && !destinations.is_empty() {
            return Some((new_src, all_dst));
        }
        let new_dst: Vec<usize> = (0..destinations.len())
            .filter(|&j| dst[j].is_none())
            .collect();
        if !new_dst.is_empty() && !sources.is_empty() {
            return Some(((0..sources.len()).collect(), new_dst));
        }
        let mut rows = Vec::new();
        let mut col_missing = vec![false; destinations.len()];
        for (i, &s) in src.iter().enumerate() {
            let mut row_missing = false;
            for (j, &d) in dst.iter().enumerate() {
                if state.lookup(s, d).is_none() {
                    row_missing = true;
                    col_missing[j] = true;
                }
            }
            if row_missing {
                rows.push(i);
            }
        }
        if rows.is_empty() {
            return None;
        }
        let cols = (0..destinations.len())
            .filter(|&j| col_missing[j])
            .collect();
        Some((rows, cols))
    }

    fn store(&self, row_locs: &[Location], col_locs: &[Location], part: &Table) {
        let mut state = self.lock();
        // Upper bound of the growth: each new row at most as long as there are points.
        let growth = part.sources * (state.points.len() + part.destinations);
        if state.cells > 0 && state.cells + growth > self.max_pairs {
            tracing::info!(
                stored = state.known,
                max = self.max_pairs,
                "travel-time cache full: clearing it"
            );
            *state = State::default();
        }
        let row_ids: Vec<u32> = (0..part.sources)
            .map(|i| {
                let id = state.id_of_snap(part.source_snaps[i]);
                state.snapped.insert(key(row_locs[i]), id);
                id
            })
            .collect();
        let col_ids: Vec<u32> = (0..part.destinations)
            .map(|j| {
                let id = state.id_of_snap(part.destination_snaps[j]);
                state.snapped.insert(key(col_locs[j]), id);
                id
            })
            .collect();
        for (i, &a) in row_ids.iter().enumerate() {
            for (j, &b) in col_ids.iter().enumerate() {
                let value = match (part.duration(i, j), part.distance(i, j)) {
                    (Some(d), Some(l)) => (tenths(d), tenths(l)),
                    _ => (UNREACHABLE, UNREACHABLE),
                };
                state.set(a, b, value);
            }
        }
    }

    /// The answer from the cache (and the estimated parts fetched for it), or `None` if a pair
    /// is missing.
    fn assemble(
        &self,
        sources: &[Location],
        destinations: &[Location],
        estimated_parts: Vec<(Vec<usize>, Vec<usize>, Table)>,
    ) -> Option<Table> {
        let (n, m) = (sources.len(), destinations.len());
        let mut table = Table {
            sources: n,
            destinations: m,
            durations: vec![None; n * m],
            distances: vec![None; n * m],
            source_snaps: sources.to_vec(),
            destination_snaps: destinations.to_vec(),
            estimated: !estimated_parts.is_empty(),
        };
        let mut filled = vec![false; n * m];
        for (rows, cols, part) in estimated_parts {
            for (pi, &i) in rows.iter().enumerate() {
                for (pj, &j) in cols.iter().enumerate() {
                    table.durations[i * m + j] = part.duration(pi, pj);
                    table.distances[i * m + j] = part.distance(pi, pj);
                    filled[i * m + j] = true;
                }
            }
        }
        let state = self.lock();
        let snap_of = |id: u32| state.points.get(id as usize).map(|k| unkey(*k));
        let src: Vec<Option<u32>> = sources
            .iter()
            .map(|l| state.snapped.get(&key(*l)).copied())
            .collect();
        let dst: Vec<Option<u32>> = destinations
            .iter()
            .map(|l| state.snapped.get(&key(*l)).copied())
            .collect();
        for (i, s) in src.iter().enumerate() {
            if let Some(loc) = s.and_then(snap_of) {
                table.source_snaps[i] = loc;
            }
            for (j, d) in dst.iter().enumerate() {
                if filled[i * m + j] {
                    continue;
                }
                match state.lookup(*s, *d) {
                    Some((UNREACHABLE, _) | (_, UNREACHABLE)) => {}
                    Some((d, l)) => {
                        table.durations[i * m + j] = Some(f64::from(d) / 10.0);
                        table.distances[i * m + j] = Some(f64::from(l) / 10.0);
                    }
                    None => return None,
                }
            }
        }
        for (j, d) in dst.iter().enumerate() {
            if let Some(loc) = d.and_then(snap_of) {
                table.destination_snaps[j] = loc;
            }
        }
        Some(table)
    }
}

impl TravelTimes for CachedTravelTimes {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn table<'a>(
        &'a self,
        sources: &'a [Location],
        destinations: &'a [Location],
    ) -> BoxFuture<'a, Result<Table, TravelError>> {
        Box::pin(self.table_cached(sources, destinations))
    }

    fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
        self.inner.route(from, to)
    }

    fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
        self.inner.nearest(location)
    }
}

fn key(l: Location) -> Key {
    // Saturating float-to-int casts; inputs are validated lon/lat, so no overflow.
    #[allow(clippy::cast_possible_truncation)]
    let k = ((l.lon * 1e6).round() as i64, (l.lat * 1e6).round() as i64);
    k
}

fn unkey(k: Key) -> Location {
    #[allow(clippy::cast_precision_loss)]
    let l = Location {
        lon: k.0 as f64 / 1e6,
        lat: k.1 as f64 / 1e6,
    };
    l
}

/// Tenths, saturating below the "unknown" and "unreachable" markers.
fn tenths(value: f64) -> u32 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let t = (value * 10.0).round().clamp(0.0, f64::from(UNKNOWN - 1)) as u32;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::FallbackModel;

    /// A provider that counts calls and answers from the fallback model, marked as road data.
    struct Counting {
        model: FallbackModel,
        calls: AtomicU64,
        pairs: AtomicU64,
    }

    impl TravelTimes for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn table<'a>(
            &'a self,
            sources: &'a [Location],
            destinations: &'a [Location],
        ) -> BoxFuture<'a, Result<Table, TravelError>> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.pairs.fetch_add(
                (sources.len() * destinations.len()) as u64,
                Ordering::Relaxed,
            );
            Box::pin(async move {
                let mut t = self.model.table(sources, destinations).await?;
                t.estimated = false;
                // Like OSRM, answer in tenths.
                let tenth = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
                t.durations = t.durations.into_iter().map(tenth).collect();
                t.distances = t.distances.into_iter().map(tenth).collect();
                Ok(t)
            })
        }
        fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
            self.model.route(from, to)
        }
        fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
            self.model.nearest(location)
        }
    }

    fn points(n: usize, offset: f64) -> Vec<Location> {
        (0..n)
            .map(|k| Location {
                lon: 11.5 + offset + 0.001 * k as f64,
                lat: 50.0 + 0.0007 * (k % 7) as f64,
            })
            .collect()
    }

    fn setup() -> (Arc<Counting>, CachedTravelTimes) {
        let inner = Arc::new(Counting {
            model: FallbackModel::default(),
            calls: AtomicU64::new(0),
            pairs: AtomicU64::new(0),
        });
        let cache = CachedTravelTimes::new(inner.clone());
        (inner, cache)
    }

    #[tokio::test]
    async fn a_repeated_day_is_answered_without_asking_again() {
        let (inner, cache) = setup();
        let day = points(30, 0.0);
        let first = cache.matrix(&day).await.unwrap();
        assert_eq!(inner.calls.load(Ordering::Relaxed), 1);
        let again = cache.matrix(&day).await.unwrap();
        assert_eq!(inner.calls.load(Ordering::Relaxed), 1, "no new call");
        assert_eq!(first.matrix, again.matrix);
        assert_eq!(cache.stats().hits, 900);
    }

    #[tokio::test]
    async fn only_pairs_with_a_new_location_are_asked() {
        let (inner, cache) = setup();
        let mut day = points(20, 0.0);
        cache.matrix(&day).await.unwrap();
        day.extend(points(2, 1.0));
        let m = cache.matrix(&day).await.unwrap();
        // 2 new rows x 22 columns, then 20 known rows x 2 new columns.
        assert_eq!(inner.calls.load(Ordering::Relaxed), 3);
        assert_eq!(inner.pairs.load(Ordering::Relaxed), 400 + 44 + 40);
        let direct = FallbackModel::default().matrix(&day).await.unwrap();
        for i in 0..22 {
            for j in 0..22 {
                let (a, b) = (m.matrix.duration(i, j), direct.matrix.duration(i, j));
                assert!((a - b).abs() <= 0.05, "({i},{j}): {a} vs {b}");
            }
        }
    }

    #[tokio::test]
    async fn estimated_answers_are_not_stored() {
        let model: Arc<dyn TravelTimes> = Arc::new(FallbackModel::default());
        let cache = CachedTravelTimes::new(model);
        let day = points(5, 0.0);
        assert!(cache.matrix(&day).await.unwrap().estimated);
        assert_eq!(cache.stats().stored_pairs, 0);
    }

    #[tokio::test]
    async fn a_full_cache_is_cleared_before_it_grows_past_its_bound() {
        let inner = Arc::new(Counting {
            model: FallbackModel::default(),
            calls: AtomicU64::new(0),
            pairs: AtomicU64::new(0),
        });
        let cache = CachedTravelTimes::with_capacity(inner.clone(), 1000);
        let (monday, tuesday) = (points(20, 0.0), points(20, 1.0));
        cache.matrix(&monday).await.unwrap();
        assert_eq!(cache.stats().stored_pairs, 400);
        cache.matrix(&tuesday).await.unwrap();
        // 400 + 20 x (20 + 20) > 1000: Monday was dropped to make room.
        assert_eq!(cache.stats().stored_pairs, 400);
        let m = cache.matrix(&tuesday).await.unwrap();
        assert_eq!(inner.calls.load(Ordering::Relaxed), 2);
        assert!(m.matrix.duration(0, 1) > 0.0);
    }

    #[test]
    fn tenths_round_trip_exactly_for_osrm_values() {
        for v in [0.0, 0.1, 123.4, 1780.7, 17367.5, 99_999.9] {
            assert_eq!(f64::from(tenths(v)) / 10.0, v);
        }
    }
}
