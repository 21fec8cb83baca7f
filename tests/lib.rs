//! Helpers for the end-to-end tests in `main.rs`: start the real service on port 0 against a
//! per-test database, log in over HTTP, and make JSON requests.

use std::net::SocketAddr;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

/// A running service.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database (per test).
    pub pool: PgPool,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A JSON response.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: StatusCode,
    /// Body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Resp {
    /// The `field` of a validation error body.
    #[must_use]
    pub fn error_field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

/// Starts the service on 127.0.0.1:0 with `pool` (migrations already applied by `sqlx::test`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_with(pool, |s| s).await
}

/// Starts the service with the demo region and a fixed clock.
pub async fn spawn_demo_at(pool: PgPool, now: &str) -> TestApp {
    let now: chrono::DateTime<chrono::Utc> = now.parse().expect("RFC 3339 time");
    let today = dispatch::service_day::day_of(now);
    assert!(dispatch::demo::seed_on(&pool, false, today)
        .await
        .expect("demo seed"));
    spawn_with(pool, move |s| s.with_now(now)).await
}

/// Starts the service with a state adjusted by `adjust` (a clock, a travel-time provider).
pub async fn spawn_with(
    pool: PgPool,
    adjust: impl FnOnce(dispatch::state::AppState) -> dispatch::state::AppState,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let config = dispatch::config::Config::for_tests("postgres://unused");
    let state = adjust(dispatch::state::AppState::new(pool.clone(), config));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        dispatch::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        addr,
        pool,
        client: Client::new(),
        stop: Some(tx),
    }
}

/// A pool of `n` connections to the same per-test database (the pool `sqlx::test` hands out
/// has five): with it, concurrent requests really race in the database. Close it at the end
/// of the test (`app.pool.close().await`) so the test database can be dropped.
pub async fn wide_pool(pool: &PgPool, n: u32) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(n)
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect_with((*pool.connect_options()).clone())
        .await
        .expect("a wider pool to the test database")
}

/// Starts the service with the demo region loaded.
pub async fn spawn_demo(pool: PgPool) -> TestApp {
    assert!(dispatch::demo::seed(&pool, false).await.expect("demo seed"));
    spawn_app(pool).await
}

impl TestApp {
    /// Base URL.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body }
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// POST a driver's batch of events to `…/runs/{run_id}/events` as the driver app does: each
    /// event that names its stop by `stop_seq` only gets that stop's `stop_key` from the manifest
    /// the phone would hold now (`GET …/runs/{run_id}` with the same login). When the manifest
    /// cannot be read (another driver, another day), the batch goes as it is.
    pub async fn post_events(&self, path: &str, token: &str, body: &Value) -> Resp {
        let manifest = self.get(path.trim_end_matches("/events"), token).await;
        let mut body = body.clone();
        if manifest.status == StatusCode::OK {
            let keys: std::collections::HashMap<i64, Value> = manifest.body["stops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| Some((s["seq"].as_i64()?, s["stop_key"].clone())))
                .collect();
            for e in body["events"].as_array_mut().into_iter().flatten() {
                if e.get("stop_key").is_none() {
                    if let Some(key) = e["stop_seq"].as_i64().and_then(|q| keys.get(&q)) {
                        e["stop_key"] = key.clone();
                    }
                }
            }
        }
        self.post(path, token, &body).await
    }

    /// Logs in with the demo password and returns the token.
    pub async fn login(&self, username: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(&serde_json::json!({ "username": username, "password": dispatch::demo::DEMO_PASSWORD })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {:?}", r.body);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Counts rows of a table (to show that a refused request wrote nothing).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
