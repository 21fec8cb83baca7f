//! The OpenAPI document, generated from the Rust types and handlers (`utoipa`): each module's
//! `router()` is an [`OpenApiRouter`] whose `routes!` take the paths from the handlers'
//! `#[utoipa::path]` attributes, so a route cannot be served without being documented, and the
//! request and response bodies are the very types the handlers (de)serialise.
//!
//! The generated document is served at `GET /api/openapi.json` and `GET /api/openapi.yaml`
//! and committed as `dispatch/api/openapi.yaml` (a test fails when it is out of date; write it
//! anew with `cargo run -p dispatch -- openapi > dispatch/api/openapi.yaml`).

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The shape of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong. A conflict may carry more members that say what the client could do
/// instead (a full line names `alternatives` and its `next_free_date`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable reason: `validation`, `unauthorized`, `forbidden`, `not_found`,
    /// `over_cap`, `line_full`, `final_status`, `infeasible`, `duplicate`, `exceeds_entry`,
    /// `plan_running`, `driver_unavailable`, `payload_too_large`, `too_many_requests`,
    /// `database_unavailable`, …
    #[schema(example = "validation")]
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// On validation errors: the dotted path of the offending field, e.g. `pickup.position.lat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "location.lat")]
    pub field: Option<String>,
    /// On 429: seconds to wait (also in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

const DESCRIPTION: &str = "Free, legal rides for the people followed by the Poli Sociali Integrati (Su.Pr.Eme. 2).

All bodies are JSON; unknown members of a request body are refused (422 naming them). Staff authenticate with `POST /api/auth/login` and send `Authorization: Bearer <token>`. Errors have one shape (`ErrorBody`): 422 names the offending field, 401 means no valid login, 403 a role that may not, 404 something that does not exist *or is not yours to see* (another Polo's case), 409 a conflict (`over_cap`, `line_full`, `final_status`, `infeasible`, `duplicate`, `exceeds_entry`, `plan_running`, `driver_unavailable`), 413 a body over the limit (`payload_too_large`), 429 too many sign-in attempts (`too_many_requests`, with `Retry-After` and `retry_after_s`), 503 the database unreachable (`database_unavailable`, answered within the pool's acquire timeout) or a request over its time limit.

Creations accept an `Idempotency-Key` header: a retry with the same key and body gets the first answer again; the same key with another body is refused (422). Times of day (`HH:MM`) are local Europe/Rome times of the service date; instants are RFC 3339.";

#[derive(OpenApi)]
#[openapi(
    info(title = "Passaggio dispatch API", description = DESCRIPTION),
    servers((url = "http://127.0.0.1:8080", description = "make run")),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "service", description = "Health, metrics, this document"),
        (name = "auth", description = "Staff sign-in and sessions"),
        (name = "places", description = "Poli, settlements, meeting points, workplaces, offices, service areas"),
        (name = "cases", description = "People and their cases, visible only to their Polo"),
        (name = "budgets", description = "Funding sources and the append-only ledger"),
        (name = "fleet", description = "Vehicles and drivers"),
        (name = "bookings", description = "Ride requests and appointments"),
        (name = "lines", description = "Linee lavoro and subscriptions"),
        (name = "runs", description = "Planning, the day's runs, moving requests, crews"),
        (name = "driver", description = "The drivers' API: their runs, stop events, positions"),
        (name = "rides", description = "Rides as taken and what they cost"),
        (name = "reports", description = "Indicators, open data, oversight"),
        (name = "self", description = "Workers book their own rides: access cards (issued by their Polo), sign-in with a card, their rides, lines and reports (`/api/self`, security `worker`); workers' reports for the Polo's coordinator"),
    )
)]
struct ApiDoc;

/// Operations anyone may call without a login.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("get", "/api/openapi.yaml"),
    ("post", "/api/auth/login"),
    ("post", "/api/self/sign-in"),
    ("get", "/open-data/{region}/gtfs.zip"),
];

/// Answers any operation can give besides its own: documented once here rather than on every
/// handler, each with the `ErrorBody` shape.
const COMMON_ERRORS: &[(&str, &str)] = &[
    ("401", "No valid login"),
    ("403", "This role may not do this"),
    ("404", "Not found, or not yours to see"),
    ("409", "Conflicts with the current state"),
    ("413", "Body over the limit"),
    ("422", "Invalid input; `field` names it"),
    ("429", "Too many attempts; retry after `retry_after_s`"),
    (
        "503",
        "Database unreachable or request over its time limit; retry",
    ),
];

struct Finish;

impl Modify for Finish {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // A worker signed in with their access card: the token of `POST /api/self/sign-in`,
        // or the HttpOnly cookie of the pages under `/w/`.
        components.add_security_scheme(
            "worker",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A worker's session token from `POST /api/self/sign-in` (an access card's code)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "worker_cookie",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::workers::COOKIE,
                    "The session cookie of the workers' pages (HttpOnly, SameSite=Lax)",
                ),
            )),
        );
        for (code, text) in COMMON_ERRORS {
            components.responses.insert(
                format!("E{code}"),
                RefOr::T(
                    utoipa::openapi::ResponseBuilder::new()
                        .description(*text)
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                ),
            );
        }
        for (path, item) in &mut doc.paths.paths {
            for (method, op) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                let public = PUBLIC.contains(&(method, path.as_str()));
                let worker = path.starts_with("/api/self");
                op.security = Some(if public {
                    vec![SecurityRequirement::default()]
                } else if worker {
                    vec![
                        SecurityRequirement::new("worker", Vec::<String>::new()),
                        SecurityRequirement::new("worker_cookie", Vec::<String>::new()),
                    ]
                } else {
                    vec![SecurityRequirement::new("bearer", Vec::<String>::new())]
                });
                for (code, _) in COMMON_ERRORS {
                    op.responses
                        .responses
                        .entry((*code).to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(format!("E{code}"))));
                }
            }
        }
    }
}

/// Every route of the API with its documentation; [`crate::app`] serves the routes, the
/// document is [`document`].
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::service_routes())
        .merge(crate::auth::router())
        .merge(crate::places::http::router())
        .merge(crate::cases::http::router())
        .merge(crate::budgets::http::router())
        .merge(crate::fleet::http::router())
        .merge(crate::bookings::http::router())
        .merge(crate::runs::http::router())
        .merge(crate::driver::http::router())
        .merge(crate::rides::http::router())
        .merge(crate::lines::http::router())
        .merge(crate::reports::http::router())
        .merge(crate::workers::http::router())
}

/// The OpenAPI document of the whole API.
#[must_use]
pub fn document() -> Document {
    let mut doc = routes().split_for_parts().1;
    Finish.modify(&mut doc);
    doc
}

/// The document as JSON, made once per process.
pub fn json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// The document as YAML, as committed in `dispatch/api/openapi.yaml`.
///
/// # Panics
/// Never in practice: the document is plain data.
#[must_use]
pub fn yaml() -> &'static str {
    static YAML: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    YAML.get_or_init(|| {
        document()
            .to_yaml()
            .expect("the OpenAPI document serialises")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = include_str!("../api/openapi.yaml");
        assert!(
            committed == super::yaml(),
            "dispatch/api/openapi.yaml is out of date: write it anew with \
             `cargo run -p dispatch -- openapi > dispatch/api/openapi.yaml`"
        );
    }

    #[test]
    fn every_operation_documents_its_errors_and_security() {
        let doc = super::document();
        let mut n = 0;
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.post].into_iter().flatten() {
                n += 1;
                assert!(op.responses.responses.contains_key("422"), "{path}");
                assert!(op.security.is_some(), "{path}");
                assert!(
                    op.responses.responses.keys().any(|k| k.starts_with('2')),
                    "{path} documents no success"
                );
            }
        }
        assert!(n >= 60, "{n} operations");
    }
}
