//! "OSRM with fallback": a primary provider that degrades to the [`FallbackModel`].
//!
//! When the primary fails (server down, timeout, refusal), the same question is answered by the
//! model and the answer is marked `estimated`, so the plan built on it can say "planned on
//! estimates". The switch is logged once (a `warn` when the primary first fails, an `info` when
//! it answers again), not at every request of an outage.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::{CachedTravelTimes, FallbackModel, Route, Snapped, Table, TravelError, TravelTimes};
use crate::matrix::Location;

/// A provider that answers from `primary`, or from the model when `primary` fails.
pub struct WithFallback {
    primary: Arc<dyn TravelTimes>,
    /// The cache in front of the primary, if any: during an outage, pairs it knows keep their
    /// road values and only the others are estimated.
    cache: Option<Arc<CachedTravelTimes>>,
    fallback: FallbackModel,
    degraded: AtomicBool,
    fallbacks: AtomicU64,
}

impl std::fmt::Debug for WithFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithFallback")
            .field("primary", &self.primary.name())
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

impl WithFallback {
    /// `primary` (e.g. a cached OSRM client), falling back to `fallback`.
    #[must_use]
    pub fn new(primary: Arc<dyn TravelTimes>, fallback: FallbackModel) -> Self {
        Self {
            primary,
            cache: None,
            fallback,
            degraded: AtomicBool::new(false),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// `cache` (usually in front of OSRM) as the primary. During an outage a table keeps the
    /// road values the cache has and estimates only the pairs it has never seen (the answer is
    /// still marked `estimated`).
    #[must_use]
    pub fn over_cache(cache: Arc<CachedTravelTimes>, fallback: FallbackModel) -> Self {
        Self {
            cache: Some(cache.clone()),
            ..Self::new(cache, fallback)
        }
    }

    /// True while the last call to the primary failed.
    #[must_use]
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// How many answers came from the fallback model.
    #[must_use]
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// The fallback model.
    #[must_use]
    pub fn model(&self) -> &FallbackModel {
        &self.fallback
    }

    fn primary_failed(&self, what: &str, error: &TravelError) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                provider = self.primary.name(),
                request = what,
                error = %error,
                "travel-time provider failed: planning on estimates (fallback model) until it answers again"
            );
        }
    }

    fn primary_answered(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!(
                provider = self.primary.name(),
                "travel-time provider answers again: back to road travel times"
            );
        }
    }

    /// Whether an error should send us to the model. An invalid location is the caller's bug:
    /// the model would refuse it too, so it is returned as is.
    fn falls_back(error: &TravelError) -> bool {
        !matches!(
            error,
            TravelError::InvalidLocation { .. } | TravelError::NoRoute { .. }
        )
    }
}

impl TravelTimes for WithFallback {
    fn name(&self) -> &str {
        self.primary.name()
    }

    fn table<'a>(
        &'a self,
        sources: &'a [Location],
        destinations: &'a [Location],
    ) -> BoxFuture<'a, Result<Table, TravelError>> {
        Box::pin(async move {
            match self.primary.table(sources, destinations).await {
                Ok(table) => {
                    self.primary_answered();
                    Ok(table)
                }
                Err(e) if Self::falls_back(&e) => {
                    self.primary_failed("table", &e);
                    let mut table = self.fallback.table(sources, destinations).await?;
                    if let Some(cache) = &self.cache {
                        let known = cache.fill_known(sources, destinations, &mut table);
                        tracing::debug!(known, "outage: pairs answered from the cache");
                    }
                    Ok(table)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
        Box::pin(async move {
            match self.primary.route(from, to).await {
                Ok(route) => {
                    self.primary_answered();
                    Ok(route)
                }
                Err(e) if Self::falls_back(&e) => {
                    self.primary_failed("route", &e);
                    self.fallback.route(from, to).await
                }
                Err(e) => Err(e),
            }
        })
    }

    fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
        Box::pin(async move {
            match self.primary.nearest(location).await {
                Ok(snapped) => {
                    self.primary_answered();
                    Ok(snapped)
                }
                Err(e) if Self::falls_back(&e) => {
                    self.primary_failed("nearest", &e);
                    self.fallback.nearest(location).await
                }
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails while `down` is set, otherwise answers as the default model marked as road data.
    struct Flaky {
        down: AtomicBool,
    }

    impl TravelTimes for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn table<'a>(
            &'a self,
            sources: &'a [Location],
            destinations: &'a [Location],
        ) -> BoxFuture<'a, Result<Table, TravelError>> {
            Box::pin(async move {
                if self.down.load(Ordering::Relaxed) {
                    return Err(TravelError::Unreachable {
                        url: "http://127.0.0.1:1".to_owned(),
                        attempts: 1,
                        reason: "connection refused".to_owned(),
                    });
                }
                let mut t = FallbackModel::default()
                    .table(sources, destinations)
                    .await?;
                t.estimated = false;
                Ok(t)
            })
        }
        fn route(&self, from: Location, to: Location) -> BoxFuture<'_, Result<Route, TravelError>> {
            Box::pin(async move { Err(TravelError::NoRoute { from, to }) })
        }
        fn nearest(&self, location: Location) -> BoxFuture<'_, Result<Snapped, TravelError>> {
            Box::pin(async move { FallbackModel::default().nearest(location).await })
        }
    }

    #[tokio::test]
    async fn a_failing_primary_gives_an_estimated_answer_and_recovers() {
        let flaky = Arc::new(Flaky {
            down: AtomicBool::new(true),
        });
        let p = WithFallback::new(flaky.clone(), FallbackModel::default());
        let locs = [
            Location {
                lon: 11.5,
                lat: 50.0,
            },
            Location {
                lon: 11.6,
                lat: 50.0,
            },
        ];
        let m = p.matrix(&locs).await.unwrap();
        assert!(m.estimated);
        assert!(p.is_degraded());
        p.matrix(&locs).await.unwrap();
        assert_eq!(p.fallbacks(), 2);

        flaky.down.store(false, Ordering::Relaxed);
        let m = p.matrix(&locs).await.unwrap();
        assert!(!m.estimated);
        assert!(!p.is_degraded());
    }

    #[tokio::test]
    async fn during_an_outage_pairs_the_cache_knows_keep_their_road_values() {
        let flaky = Arc::new(Flaky {
            down: AtomicBool::new(false),
        });
        let cache = Arc::new(CachedTravelTimes::new(flaky.clone()));
        // A model that differs from the "road" answers, to tell them apart.
        let mut slow = crate::travel::Calibration::uncalibrated();
        slow.bands[0].speed_kmh = 20.0;
        let p = WithFallback::over_cache(cache, FallbackModel::new(slow.clone()));
        let day = [
            Location {
                lon: 11.5,
                lat: 50.0,
            },
            Location {
                lon: 11.6,
                lat: 50.0,
            },
        ];
        let road = p.matrix(&day).await.unwrap();
        assert!(!road.estimated);

        flaky.down.store(true, Ordering::Relaxed);
        let bigger = [
            day[0],
            day[1],
            Location {
                lon: 11.55,
                lat: 50.05,
            },
        ];
        let m = p.matrix(&bigger).await.unwrap();
        assert!(m.estimated);
        // From the cache (which keeps tenths of a second, OSRM's precision).
        assert!((m.matrix.duration(0, 1) - road.matrix.duration(0, 1)).abs() <= 0.05);
        let (estimate, _) = FallbackModel::new(slow).estimate(bigger[0], bigger[2]);
        assert_eq!(m.matrix.duration(0, 2), estimate, "estimated");
    }

    #[tokio::test]
    async fn no_route_is_an_answer_not_a_failure() {
        let flaky = Arc::new(Flaky {
            down: AtomicBool::new(false),
        });
        let p = WithFallback::new(flaky, FallbackModel::default());
        let a = Location {
            lon: 11.5,
            lat: 50.0,
        };
        assert!(matches!(
            p.route(a, a).await,
            Err(TravelError::NoRoute { .. })
        ));
        assert_eq!(p.fallbacks(), 0);
    }
}
