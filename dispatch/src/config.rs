//! Service configuration from `PASSAGGIO_*` environment variables, with local defaults that
//! match `make run`. Secrets never appear in `Debug` output.

use std::fmt;
use std::net::SocketAddr;

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
        Ok(Self {
            database_url,
            listen,
            db_max_connections,
            session_hours,
            osrm_url,
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
