//! The coordinator console: server-rendered pages under `/console/` for the staff of a Polo
//! (coordinators above all; case workers and mediators see what the API lets them see), with a
//! cookie session ([`crate::auth::StaffPage`]) and a map island (Leaflet, built by
//! `web/build.mjs` into `web/dist/console/`, whose `manifest.json` names the hashed files).
//!
//! Owns no table. Every handler is a thin page over the owning modules' functions — the same
//! ones the JSON API calls — so the console keeps every rule of the API: the same roles, the
//! same scoping (a Polo's staff see only their Polo's people, in lists, searches, maps and
//! typed URLs: another Polo's case or request is "not found"), and every read of case data
//! audited by [`crate::audit`] as the API does.
//!
//! Pages: `/console/login`, `/console/logout`, `/console/` (the day at a glance, with its map
//! fed by `/console/day.json`), `/console/book` (find a person by name or case code),
//! `/console/people/{case_id}` (book, the person's requests, mobility and access log),
//! `/console/requests/{id}` (promised times, cancel, move, correct a no-show),
//! `/console/planning` (run the day's planning, follow it, see its result),
//! `/console/fleet` (lines, vehicles and drivers of the region, a new line),
//! `/console/lines/{line_id}` (a line's stops and its edit, its heat-ordinance timetable and
//! marked days, the Polo's subscribers),
//! `/console/reports` (the workers' confidential reports to the Polo, with their status).

mod day;
mod lines;
mod people;
mod planning;
mod reports;

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Role, Staff, StaffPage};
use crate::error::{AppError, AppResult};
use crate::pages::{self, Ui};
use crate::state::AppState;
use crate::throttle::ClientAddr;

/// The hashed file names of the console's map island (`web/dist/console/manifest.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Assets {
    /// URL of the JS bundle.
    #[serde(default)]
    pub js: String,
    /// URL of the CSS bundle.
    #[serde(default)]
    pub css: String,
}

impl Assets {
    /// Reads `<web_dir>/console/manifest.json`; a console built without its map (no
    /// `make web`) still serves its pages, without the map.
    #[must_use]
    pub fn load(web_dir: &std::path::Path) -> Self {
        let path = web_dir.join("console/manifest.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "console manifest unreadable");
                Self::default()
            }),
            Err(_) => {
                tracing::info!(path = %path.display(), "console map not built (make web): pages without the map");
                Self::default()
            }
        }
    }
}

/// The console's routes, with the cross-site guard of every page router.
pub fn router(web_dir: &std::path::Path) -> Router<AppState> {
    let assets = Arc::new(Assets::load(web_dir));
    Router::new()
        .route(
            "/console",
            get(|| async { pages::redirect_see_other("/console/") }),
        )
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/", get(day::day_page))
        .route("/console/day.json", get(day::day_json))
        .route("/console/book", get(people::search_page))
        .route("/console/people/{case_id}", get(people::person_page))
        .route(
            "/console/people/{case_id}/appointments",
            post(people::book_appointment),
        )
        .route("/console/requests/{id}", get(people::request_page))
        .route("/console/requests/{id}/cancel", post(people::cancel))
        .route("/console/requests/{id}/move", post(people::move_request))
        .route(
            "/console/requests/{id}/no-show-correction",
            post(people::correct_no_show),
        )
        .route(
            "/console/planning",
            get(planning::planning_page).post(planning::start),
        )
        .route("/console/planning/{job}/progress", get(planning::progress))
        .route("/console/fleet", get(lines::fleet_page))
        .route("/console/fleet/lines", post(lines::create_line))
        .route("/console/lines/{line_id}", get(planning::line_page))
        .route("/console/lines/{line_id}/edit", post(lines::edit_line))
        .route(
            "/console/lines/{line_id}/heat-timetable",
            post(planning::set_heat),
        )
        .route(
            "/console/lines/{line_id}/heat-days",
            post(planning::mark_heat_day),
        )
        .route("/console/lines/{line_id}/end", post(planning::end_line))
        .route(
            "/console/lines/{line_id}/subscriptions",
            post(planning::subscribe),
        )
        .route("/console/reports", get(reports::reports_page))
        .route("/console/reports/{id}/status", post(reports::set_status))
        .layer(Extension(assets))
        .layer(axum::middleware::from_fn(pages::same_origin))
}

/// The Polo and region of a Polo's staff member: the scope of every console page.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub staff: Staff,
    pub polo: Uuid,
    pub region: String,
}

impl Scope {
    /// Whether the caller coordinates the Polo (plans, moves, corrects, sees the map).
    pub fn coordinator(&self) -> bool {
        self.staff.role == Role::PoloCoordinator
    }
}

pub(crate) async fn scope(state: &AppState, staff: Staff) -> AppResult<Scope> {
    let polo = staff.case_polo()?;
    let mut conn = state.db.acquire().await?;
    let region = crate::places::db::polo_region(&mut conn, polo)
        .await?
        .ok_or(AppError::NotFound("polo"))?;
    Ok(Scope {
        staff,
        polo,
        region,
    })
}

/// The common members of every console page's context.
pub(crate) fn base(scope: Option<&Scope>, assets: &Assets, section: &str) -> minijinja::Value {
    minijinja::context! {
        staff => scope.map(|s| minijinja::context! {
            username => s.staff.username.clone(),
            display_name => s.staff.display_name.clone(),
            coordinator => s.coordinator(),
        }),
        assets => assets.clone(),
        section => section,
    }
}

/// An error as a page: the status of the API's answer, with its message.
pub(crate) fn error_page(state: &AppState, ui: &Ui, e: &AppError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::warn!(error = %e, "console page failed");
    }
    let message = if status.is_server_error() {
        String::new()
    } else {
        e.to_string()
    };
    state.pages.render_status(
        status,
        ui,
        "console/error.html",
        minijinja::context! {
            status => status.as_u16(),
            message => message,
            ..base(None, &Assets::default(), "")
        },
    )
}

/// Runs a page body; an error becomes an error page.
pub(crate) fn page(state: &AppState, ui: &Ui, r: AppResult<Response>) -> Response {
    r.unwrap_or_else(|e| error_page(state, ui, &e))
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    failed: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    state.pages.render(
        &ui,
        "console/login.html",
        minijinja::context! { failed => q.failed, ..base(None, &assets, "login") },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// Signs in through the one sign-in path of the service ([`crate::auth::sign_in`]: the same
/// rate limits and argon2 check as the API) and sets the session cookie.
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    match crate::auth::sign_in(&state, client, &f.username, f.password).await {
        Ok(session) => {
            let max_age = (session.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(60);
            let mut res = pages::redirect_see_other("/console/");
            res.headers_mut().append(
                header::SET_COOKIE,
                state
                    .pages
                    .set_cookie(crate::auth::STAFF_COOKIE, &session.token, Some(max_age)),
            );
            res
        }
        Err(AppError::TooManyRequests { .. }) => {
            pages::redirect_see_other("/console/login?failed=limited")
        }
        Err(AppError::Unauthorized | AppError::Validation { .. }) => {
            pages::redirect_see_other("/console/login?failed=wrong")
        }
        Err(e) => {
            tracing::warn!(error = %e, "console sign-in failed");
            (StatusCode::SERVICE_UNAVAILABLE, "sign-in unavailable").into_response()
        }
    }
}

/// Ends the session: the row goes, and the cookie with it.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = pages::cookie(&headers, crate::auth::STAFF_COOKIE) {
        if let Err(e) = crate::auth::end_session(&state.db, &token).await {
            tracing::warn!(error = %e, "console logout");
        }
    }
    let mut res = pages::redirect_see_other("/console/login");
    res.headers_mut().append(
        header::SET_COOKIE,
        state.pages.clear_cookie(crate::auth::STAFF_COOKIE),
    );
    res
}

/// The signed-in Polo staff member of a page with their Polo and region; without a session a
/// redirect to the sign-in page, for staff of no Polo the error page (403).
impl axum::extract::FromRequestParts<AppState> for Scope {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let StaffPage(staff) = StaffPage::from_request_parts(parts, state).await?;
        match scope(state, staff).await {
            Ok(s) => Ok(s),
            Err(e) => {
                let ui = Ui::from_headers(&state.pages, &parts.headers);
                Err(error_page(state, &ui, &e))
            }
        }
    }
}
