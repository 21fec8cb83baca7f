//! Abuse resistance of every sign-in: rate limits per account and per client address (with
//! `governor`'s GCRA limiters, which answer how long to wait: the client is told to back off
//! with `Retry-After`), and a bound on the expensive work of checking a secret, so that a flood
//! of attempts cannot exhaust memory (argon2 takes 19 MiB per check).
//!
//! Staff logins use it now (`auth`); every code-based sign-in to come (a driver's phone code,
//! a one-time code) must go through [`SignInGuard::admit`] with its own `kind`, and do its
//! secret check through [`SignInGuard::verify`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;
use crate::error::{AppError, AppResult};

/// The client's address, when the server knows it (it does for every connection it accepts;
/// a router called without a connection, as in unit tests, has none). Behind a trusted
/// reverse proxy (`Config::trusted_proxies`), the address the proxy saw: the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy. From anyone else the header
/// is ignored.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The reverse proxies whose `X-Forwarded-For` is believed, as the service state gives them
/// (shared, not copied, per request).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpAddr]>);

impl<S> axum::extract::FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    TrustedProxies: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRef;
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = TrustedProxies::from_ref(state);
        Ok(Self(client_of(peer, &parts.headers, &trusted.0)))
    }
}

/// The client behind `peer`: see [`ClientAddr`].
#[must_use]
pub fn client_of(
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// Longest account key kept (longer names are cut: a limiter key must not grow with input).
const MAX_KEY_CHARS: usize = 80;

/// Rate limits and bounded work for sign-ins, shared by the whole service.
pub struct SignInGuard {
    per_account: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    /// Sign-ins by a code alone (an access card): a third of the client budget, since a
    /// wrong code costs the guesser nothing else.
    per_client_codes: DefaultKeyedRateLimiter<IpAddr>,
    /// Checks to run, taken by `login_concurrency` dedicated threads (they end when the guard
    /// is dropped). Few, long-lived threads: each keeps its working memory.
    checks: Mutex<mpsc::Sender<Job>>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

type Job = Box<dyn FnOnce() + Send>;

fn start_checkers(n: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n.max(1) {
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name(format!("sign-in-check-{i}"))
            .spawn(move || loop {
                let job = match rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                match job {
                    // A panicking check drops its answer (the caller gets an error) but does
                    // not take the thread with it.
                    Ok(job) => {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                    Err(_) => return,
                }
            })
            .expect("starting a sign-in check thread");
    }
    tx
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n.max(1)).expect("at least one");
    Quota::per_minute(nz(per_minute)).allow_burst(nz(burst))
}

impl SignInGuard {
    /// Limits as configured.
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        Self {
            per_account: RateLimiter::keyed(quota(
                limits.login_account_per_minute,
                limits.login_account_burst,
            )),
            per_client: RateLimiter::keyed(quota(
                limits.login_client_per_minute,
                limits.login_client_burst,
            )),
            per_client_codes: RateLimiter::keyed(quota(
                limits.login_client_per_minute / 3,
                limits.login_client_burst / 3,
            )),
            checks: Mutex::new(start_checkers(limits.login_concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: limits.login_queue,
        }
    }

    /// Admits one attempt of sign-in `kind` ("login", "driver_code"…) at `account` from
    /// `client`, or refuses it with 429 and how long to wait. The client's budget is spent
    /// first, so one address spraying many accounts is stopped too.
    ///
    /// # Errors
    /// [`AppError::TooManyRequests`].
    pub fn admit(&self, kind: &str, account: &str, client: Option<IpAddr>) -> AppResult<()> {
        let clock = DefaultClock::default();
        if let Some(ip) = client {
            if let Err(not_until) = self.per_client.check_key(&ip) {
                return Err(too_many(
                    "too many sign-in attempts from this address",
                    not_until.wait_time_from(clock.now()),
                ));
            }
        }
        let key: String = format!("{kind}:{}", account.trim().to_lowercase())
            .chars()
            .take(MAX_KEY_CHARS)
            .collect();
        if let Err(not_until) = self.per_account.check_key(&key) {
            return Err(too_many(
                "too many sign-in attempts for this account",
                not_until.wait_time_from(clock.now()),
            ));
        }
        Ok(())
    }

    /// Admits one sign-in by a code alone (`kind`, e.g. "access_card"; `code_key` a digest of
    /// the code, never the code): the client's code budget (a third of its sign-in budget),
    /// then its sign-in budget, then the code's own. Codes cannot be enumerated from one
    /// address, nor one code guessed (its PIN) from many.
    ///
    /// # Errors
    /// [`AppError::TooManyRequests`].
    pub fn admit_code(&self, kind: &str, code_key: &str, client: Option<IpAddr>) -> AppResult<()> {
        if let Some(ip) = client {
            if let Err(not_until) = self.per_client_codes.check_key(&ip) {
                return Err(too_many(
                    "too many sign-in attempts from this address",
                    not_until.wait_time_from(DefaultClock::default().now()),
                ));
            }
        }
        self.admit(kind, code_key, client)
    }

    /// Runs an expensive secret check on one of the guard's `login_concurrency` threads (so at
    /// most that many run at once, off the async threads); when `login_queue` checks already
    /// wait for a turn, answers 503 at once.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when the queue is full; internal errors if the check panics.
    pub async fn verify<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::Unavailable(
                "too many sign-ins in progress; try again in a few seconds",
            ));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiting = Arc::clone(&self.waiting);
        let job: Job = Box::new(move || {
            waiting.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(check());
        });
        let sent = self
            .checks
            .lock()
            .map_err(|_| anyhow::anyhow!("sign-in checks: poisoned lock"))?
            .send(job);
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(anyhow::anyhow!("sign-in check threads have stopped").into());
        }
        Ok(rx
            .await
            .map_err(|_| anyhow::anyhow!("a sign-in check failed"))?)
    }

    /// Forgets limiter state that has fully recovered, so the maps do not grow with every
    /// name ever tried (called by the maintenance job).
    pub fn forget_recovered(&self) {
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
        self.per_client.retain_recent();
        self.per_client.shrink_to_fit();
        self.per_client_codes.retain_recent();
        self.per_client_codes.shrink_to_fit();
    }

    /// Keys currently tracked (accounts, clients).
    #[must_use]
    pub fn tracked(&self) -> (usize, usize) {
        (self.per_account.len(), self.per_client.len())
    }
}

fn too_many(message: &str, wait: std::time::Duration) -> AppError {
    AppError::TooManyRequests {
        message: format!("{message}; try again in {} s", wait.as_secs().max(1)),
        retry_after_s: wait.as_secs().max(1),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        // A client naming its own address: ignored without a trusted proxy.
        h.insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
        assert_eq!(super::client_of(Some(client), &h, &[]), Some(client));
        assert_eq!(super::client_of(Some(client), &h, &[proxy]), Some(client));
        // Through the proxy: the right-most address the proxy did not add itself; what the
        // client wrote further left does not count.
        h.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7".parse().unwrap(),
        );
        assert_eq!(super::client_of(Some(proxy), &h, &[proxy]), Some(client));
        // A malformed header from behind the proxy: the proxy's own address, never a guess.
        h.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(super::client_of(Some(proxy), &h, &[proxy]), Some(proxy));
        assert_eq!(super::client_of(None, &h, &[proxy]), None);
    }

    use super::*;

    #[test]
    fn the_burst_passes_then_the_account_is_limited_but_others_are_not() {
        let limits = Limits {
            login_account_burst: 3,
            login_account_per_minute: 1,
            ..Limits::default()
        };
        let g = SignInGuard::new(&limits);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            g.admit("login", "Coord.Foggia", Some(ip)).unwrap();
        }
        match g.admit("login", "coord.foggia ", Some(ip)) {
            Err(AppError::TooManyRequests { retry_after_s, .. }) => {
                assert!((1..=60).contains(&retry_after_s), "{retry_after_s}");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        g.admit("login", "cw.foggia", Some(ip)).unwrap();
        g.admit("driver_code", "coord.foggia", Some(ip)).unwrap();
    }

    #[test]
    fn a_very_long_account_name_is_kept_short() {
        let g = SignInGuard::new(&Limits::default());
        let long = "x".repeat(100_000);
        g.admit("login", &long, None).unwrap();
        assert_eq!(g.tracked(), (1, 0));
    }
}
