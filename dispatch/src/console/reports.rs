//! The workers' confidential reports to the Polo ("someone asked me for money / for my
//! documents / I was threatened"), for the Polo's coordinator: the list, newest first, and
//! where each stands. Thin pages over `workers::http::{reports_as, report_status_as}`, the
//! functions of the API (coordinator only, reads of named reports audited).

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use uuid::Uuid;

use super::{base, page, Assets, Scope};
use crate::error::AppError;
use crate::pages::{self, Ui};
use crate::state::AppState;
use crate::workers::ReportStatus;

/// `GET /console/reports`.
pub(crate) async fn reports_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
) -> Response {
    let r = async {
        let reports = crate::workers::http::reports_as(&state, &scope.staff).await?;
        Ok(state.pages.render(
            &ui,
            "console/reports.html",
            minijinja::context! {
                reports => reports,
                ..base(Some(&scope), &assets, "reports")
            },
        ))
    }
    .await;
    page(&state, &ui, r)
}

#[derive(Deserialize)]
pub(crate) struct StatusForm {
    status: ReportStatus,
}

/// `POST /console/reports/{id}/status`: then back to the list.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    ui: Ui,
    scope: Scope,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Response {
    let r = async {
        let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound("report"))?;
        crate::workers::http::report_status_as(&state, &scope.staff, id, f.status).await?;
        Ok(pages::redirect_see_other(&format!(
            "/console/reports#report-{id}"
        )))
    }
    .await;
    page(&state, &ui, r)
}
