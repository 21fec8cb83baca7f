//! Service configuration from `PASSAGGIO_*` environment variables, with local defaults that
//! match `make run`. Secrets never appear in `Debug` output.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// Everything the service reads from its environment.
#[derive(Clone)]
pub struct Config {
    /// PostgreSQL/PostGIS connection string (`DATABASE_URL` or `PASSAGGIO_DATABASE_URL`).
    pub database_url: String,
    /// Address the HTTP server binds to (`PASSAGGIO_LISTEN`).
    pub listen: SocketAddr,
    /// Maximum pooled database connections (`PASSAGGIO_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// Lifetime of a login session in hours (`PASSAGGIO_SESSION_HOURS`).
    pub session_hours: i64,
    /// OSRM base URL for road travel times (`PASSAGGIO_OSRM_URL`); none means estimates only.
    pub osrm_url: Option<String>,
    /// How long a request waits for a database connection before a 503
    /// (`PASSAGGIO_DB_ACQUIRE_TIMEOUT_MS`, default 1000).
    pub db_acquire_timeout: Duration,
    /// Protection of the HTTP server: timeouts, body size, sign-in limits.
    pub limits: Limits,
    /// What is forgotten, and when.
    pub retention: Retention,
    /// Bearer token that `GET /metrics` requires (`PASSAGGIO_METRICS_TOKEN`); without one,
    /// only clients on the loopback interface may read the metrics.
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`PASSAGGIO_TRUSTED_PROXIES`, a
    /// comma-separated list of addresses, e.g. `127.0.0.1` for a TLS terminator on the same
    /// machine). Without one, the header is ignored: a client cannot pick the address its
    /// sign-in attempts are counted against.
    pub trusted_proxies: std::sync::Arc<[std::net::IpAddr]>,
    /// Folder of the built web front-ends (`PASSAGGIO_WEB_DIR`, default `web/dist` of the
    /// source tree): `<dir>/driver/` is served under `/driver/` (see [`crate::web`]).
    pub web_dir: std::path::PathBuf,
    /// Folder of the Fluent message files, one `<language>.ftl` each (`PASSAGGIO_MESSAGES_DIR`,
    /// default `messages/` of the source tree): the server-rendered pages read them at start.
    pub messages_dir: std::path::PathBuf,
    /// Whether cookies are marked `Secure` (`PASSAGGIO_SECURE_COOKIES=1`): set it when the
    /// service is reached over HTTPS (it must be in production); off for `http://127.0.0.1`.
    pub secure_cookies: bool,
}

/// `web/dist` of the source tree, where `web/build.mjs` writes the built front-ends.
#[must_use]
pub fn default_web_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist")
}

/// `messages/` of the source tree, the Fluent files shared by every front-end.
#[must_use]
pub fn default_messages_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../messages")
}

/// Timeouts, body size and sign-in limits of the HTTP server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Whole request, handler included (`PASSAGGIO_REQUEST_TIMEOUT_S`, default 30); a
    /// request over it is answered 503.
    pub request_timeout: Duration,
    /// Reading a request's headers (`PASSAGGIO_HEADER_TIMEOUT_S`, default 10); the connection
    /// is closed after it.
    pub header_timeout: Duration,
    /// Reading a request's body (`PASSAGGIO_BODY_TIMEOUT_S`, default 10).
    pub body_timeout: Duration,
    /// Largest request body, bytes (`PASSAGGIO_MAX_BODY_BYTES`, default 2 MiB); larger is 413.
    pub max_body_bytes: usize,
    /// Sign-in attempts per account per minute, after the burst
    /// (`PASSAGGIO_LOGIN_ACCOUNT_PER_MINUTE`, default 5).
    pub login_account_per_minute: u32,
    /// Attempts an account may make at once before the rate applies
    /// (`PASSAGGIO_LOGIN_ACCOUNT_BURST`, default 10).
    pub login_account_burst: u32,
    /// Sign-in attempts per client address per minute (`PASSAGGIO_LOGIN_CLIENT_PER_MINUTE`,
    /// default 30).
    pub login_client_per_minute: u32,
    /// Burst per client address (`PASSAGGIO_LOGIN_CLIENT_BURST`, default 60).
    pub login_client_burst: u32,
    /// Password checks (argon2, 19 MiB each) running at once (`PASSAGGIO_LOGIN_CONCURRENCY`,
    /// default: the number of CPUs); the rest wait, up to `login_queue` of them.
    pub login_concurrency: usize,
    /// Password checks that may wait for a turn (`PASSAGGIO_LOGIN_QUEUE`, default 64); more
    /// are answered 503 at once.
    pub login_queue: usize,
}

/// Retention periods (see `retention.rs`).
#[derive(Debug, Clone)]
pub struct Retention {
    /// Days a vehicle position is kept, coarsened after its day
    /// (`PASSAGGIO_RETAIN_POSITIONS_DAYS`, default 30).
    pub positions_days: u32,
    /// Days after a case closes before its rides and stop events are pseudonymised
    /// (`PASSAGGIO_RETAIN_CLOSED_CASE_DAYS`, default 180).
    pub closed_case_days: u32,
    /// Seconds between two runs of the maintenance job (`PASSAGGIO_MAINTENANCE_INTERVAL_S`,
    /// default 3600; 0 turns the periodic job off).
    pub interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
            login_account_per_minute: 5,
            login_account_burst: 10,
            login_client_per_minute: 30,
            login_client_burst: 60,
            login_concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            login_queue: 64,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            positions_days: 30,
            closed_case_days: 180,
            interval: Duration::from_secs(3600),
        }
    }
}

/// The local default database, the one `make run` starts.
pub const DEFAULT_DATABASE_URL: &str = "postgres://passaggio@127.0.0.1:5433/passaggio";

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    /// When a variable is set but cannot be parsed; the message names the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let database_url = var("PASSAGGIO_DATABASE_URL")
            .or_else(|| var("DATABASE_URL"))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let parse = |name: &str, default: &str| -> anyhow::Result<String> {
            Ok(var(name).unwrap_or_else(|| default.to_owned()))
        };
        let listen = parse("PASSAGGIO_LISTEN", "127.0.0.1:8080")?;
        let listen = listen
            .parse()
            .map_err(|e| anyhow::anyhow!("PASSAGGIO_LISTEN={listen:?} is not host:port ({e})"))?;
        let max = parse("PASSAGGIO_DB_MAX_CONNECTIONS", "20")?;
        let db_max_connections = max.parse().map_err(|e| {
            anyhow::anyhow!("PASSAGGIO_DB_MAX_CONNECTIONS={max:?} is not a number ({e})")
        })?;
        let hours = parse("PASSAGGIO_SESSION_HOURS", "12")?;
        let session_hours = hours.parse().map_err(|e| {
            anyhow::anyhow!("PASSAGGIO_SESSION_HOURS={hours:?} is not a number ({e})")
        })?;
        let osrm_url = var("PASSAGGIO_OSRM_URL");
        if let Some(u) = &osrm_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                anyhow::bail!(
                    "PASSAGGIO_OSRM_URL={u:?} is not an http(s) URL, e.g. http://127.0.0.1:5001"
                );
            }
        }
        fn num<T: FromStr>(name: &str, default: T) -> anyhow::Result<T>
        where
            T::Err: fmt::Display,
        {
            match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{name}={v:?} is not a number ({e})")),
            }
        }
        let positive = |name: &str, default: u64| -> anyhow::Result<u64> {
            let v = num(name, default)?;
            anyhow::ensure!(v > 0, "{name} must be positive");
            Ok(v)
        };
        let d = Limits::default();
        let limits = Limits {
            request_timeout: Duration::from_secs(positive("PASSAGGIO_REQUEST_TIMEOUT_S", 30)?),
            header_timeout: Duration::from_secs(positive("PASSAGGIO_HEADER_TIMEOUT_S", 10)?),
            body_timeout: Duration::from_secs(positive("PASSAGGIO_BODY_TIMEOUT_S", 10)?),
            max_body_bytes: usize::try_from(positive(
                "PASSAGGIO_MAX_BODY_BYTES",
                d.max_body_bytes as u64,
            )?)?,
            login_account_per_minute: u32::try_from(positive(
                "PASSAGGIO_LOGIN_ACCOUNT_PER_MINUTE",
                d.login_account_per_minute.into(),
            )?)?,
            login_account_burst: u32::try_from(positive(
                "PASSAGGIO_LOGIN_ACCOUNT_BURST",
                d.login_account_burst.into(),
            )?)?,
            login_client_per_minute: u32::try_from(positive(
                "PASSAGGIO_LOGIN_CLIENT_PER_MINUTE",
                d.login_client_per_minute.into(),
            )?)?,
            login_client_burst: u32::try_from(positive(
                "PASSAGGIO_LOGIN_CLIENT_BURST",
                d.login_client_burst.into(),
            )?)?,
            login_concurrency: usize::try_from(positive(
                "PASSAGGIO_LOGIN_CONCURRENCY",
                d.login_concurrency as u64,
            )?)?,
            login_queue: num("PASSAGGIO_LOGIN_QUEUE", d.login_queue)?,
        };
        let retention = Retention {
            positions_days: num("PASSAGGIO_RETAIN_POSITIONS_DAYS", 30)?,
            closed_case_days: num("PASSAGGIO_RETAIN_CLOSED_CASE_DAYS", 180)?,
            interval: Duration::from_secs(num("PASSAGGIO_MAINTENANCE_INTERVAL_S", 3600)?),
        };
        Ok(Self {
            database_url,
            listen,
            db_max_connections,
            session_hours,
            osrm_url,
            db_acquire_timeout: Duration::from_millis(positive(
                "PASSAGGIO_DB_ACQUIRE_TIMEOUT_MS",
                1000,
            )?),
            limits,
            retention,
            metrics_token: var("PASSAGGIO_METRICS_TOKEN"),
            trusted_proxies: match var("PASSAGGIO_TRUSTED_PROXIES") {
                None => std::sync::Arc::default(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.parse().map_err(|_| {
                            anyhow::anyhow!("PASSAGGIO_TRUSTED_PROXIES: {a:?} is not an IP address")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into(),
            },
            web_dir: var("PASSAGGIO_WEB_DIR").map_or_else(default_web_dir, Into::into),
            messages_dir: var("PASSAGGIO_MESSAGES_DIR")
                .map_or_else(default_messages_dir, Into::into),
            secure_cookies: var("PASSAGGIO_SECURE_COOKIES")
                .is_some_and(|v| v == "1" || v == "true"),
        })
    }

    /// A configuration for tests: the given database, port 0, no OSRM.
    #[must_use]
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_max_connections: 10,
            session_hours: 1,
            osrm_url: None,
            db_acquire_timeout: Duration::from_millis(500),
            limits: Limits::default(),
            retention: Retention::default(),
            metrics_token: None,
            trusted_proxies: std::sync::Arc::default(),
            web_dir: default_web_dir(),
            messages_dir: default_messages_dir(),
            secure_cookies: false,
        }
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("db_max_connections", &self.db_max_connections)
            .field("session_hours", &self.session_hours)
            .field("osrm_url", &self.osrm_url.as_deref().map(redact_url))
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("limits", &self.limits)
            .field("retention", &self.retention)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("web_dir", &self.web_dir)
            .field("messages_dir", &self.messages_dir)
            .field("secure_cookies", &self.secure_cookies)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_database_password() {
        let mut c = Config::for_tests("postgres://app:s3cret@db.example:5432/passaggio");
        c.osrm_url = Some("http://u:p@osrm:5000".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.example:5432/passaggio"),
            "{shown}"
        );
        assert!(!shown.contains(":p@"), "{shown}");
    }

    #[test]
    fn a_url_without_password_is_shown_as_is() {
        assert_eq!(redact_url(DEFAULT_DATABASE_URL), DEFAULT_DATABASE_URL);
    }
}
