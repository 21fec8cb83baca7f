//! The built web front-ends, served from one folder ([`crate::config::Config::web_dir`], built
//! by `web/build.mjs`): `<web_dir>/driver/` under `/driver/`, the base-map tiles of
//! `scripts/tiles.sh` under `/tiles/`; the worker pages and the coordinator console add their
//! folder to [`FRONT_ENDS`] the same way. Owns no table.
//!
//! Caching: files under `assets/` carry a content hash in their name and never change, so they
//! are `immutable` for a year; everything else (the HTML, the web manifest, `sw.js`) is
//! `no-cache`, so a phone learns of a new version on its next visit. The build writes a gzip
//! copy beside each text file, served to clients that accept it.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

use crate::state::AppState;

/// The folders of `web_dir` served, by the path they live under: the front-ends, and the
/// base-map tiles that `make tiles` builds (`tiles/<set>/{z}/{x}/{y}.pbf`, `tiles/index.json`).
pub const FRONT_ENDS: &[&str] = &["driver", "tiles"];

/// Front-ends whose pages the service renders itself (under `/<name>/`), of which only the
/// built assets are files: `<web_dir>/<name>/assets/` under `/<name>/assets/`. The console's
/// map island is one (its `manifest.json` names the hashed files; see `crate::console`).
pub const ASSET_ONLY: &[&str] = &["console"];

/// Routes serving each built front-end; a front-end not built yet is a 404.
pub fn router(web_dir: &std::path::Path) -> Router<AppState> {
    let mut router = Router::new();
    for name in FRONT_ENDS {
        // Rooted at `web_dir`: the request path `/driver/x` is the file `driver/x`.
        let files = ServeDir::new(web_dir).precompressed_gzip();
        router = router
            .route(
                &format!("/{name}"),
                get(move || async move { Redirect::permanent(&format!("/{name}/")) }),
            )
            .route_service(&format!("/{name}/"), files.clone())
            .route_service(&format!("/{name}/{{*path}}"), files);
    }
    for name in ASSET_ONLY {
        let files = ServeDir::new(web_dir).precompressed_gzip();
        router = router.route_service(&format!("/{name}/assets/{{*path}}"), files);
    }
    router.layer(axum::middleware::from_fn(cache_headers))
}

/// `Cache-Control` by kind of file (see the module's docs), and no sniffing of types.
async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = req.uri().path().contains("/assets/");
    let mut res = next.run(req).await.into_response();
    let policy = if hashed && res.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
