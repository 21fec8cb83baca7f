//! The console's line forms: a new line on the fleet page, a line's edit on its own page. Both
//! go through the API's own functions (`lines::http::create_line_as`, `edit_line_as`), so the
//! console keeps every rule of `POST /api/lines` and `POST /api/lines/{line_id}/edit`. A refused
//! form is shown again with its input and the API's message (422 or 409).
//!
//! Stops are picked from the region's places and their meeting points (a select grouped by
//! place); empty stop rows are ignored.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::{base, page, Assets, Scope};
use crate::error::{AppError, AppResult};
use crate::lines::http::LineDetail;
use crate::lines::{LineEdit, NewStop};
use crate::pages::{self, Ui};
use crate::state::AppState;

/// Stop rows a form offers at least.
const STOP_ROWS: usize = 6;

/// A line form's values, as typed (so a refused form is shown again unchanged).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub(crate) struct LineForm {
    pub name: String,
    pub season_start: String,
    pub season_end: String,
    /// Monday .. Sunday ticked.
    pub days: Vec<bool>,
    pub capacity: String,
    pub wheelchair_places: String,
    pub vehicle_id: String,
    pub stops: Vec<StopRow>,
}

/// A stop row: `place_id` or `place_id/meeting_point_id`, and `HH:MM`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub(crate) struct StopRow {
    pub stop: String,
    pub time: String,
}

fn pad(mut stops: Vec<StopRow>) -> Vec<StopRow> {
    let rows = (stops.len() + 1).max(STOP_ROWS);
    stops.resize(rows, StopRow::default());
    stops
}

impl LineForm {
    /// A blank form: Monday to Friday ticked.
    pub fn blank() -> Self {
        Self {
            days: (1..=7).map(|d| d <= 5).collect(),
            stops: pad(Vec::new()),
            ..Self::default()
        }
    }

    /// The form of an existing line.
    pub fn of(detail: &LineDetail) -> Self {
        let l = &detail.line;
        Self {
            name: l.name.clone(),
            season_start: l.season_start.to_string(),
            season_end: l.season_end.to_string(),
            days: (1..=7).map(|d| l.operating_days.contains(&d)).collect(),
            capacity: l.capacity.to_string(),
            wheelchair_places: l.wheelchair_places.to_string(),
            vehicle_id: l.vehicle_id.map(|v| v.to_string()).unwrap_or_default(),
            stops: pad(detail
                .stops
                .iter()
                .map(|s| StopRow {
                    stop: match s.meeting_point_id {
                        Some(m) => format!("{}/{m}", s.place_id),
                        None => s.place_id.to_string(),
                    },
                    time: s.stop_time.clone(),
                })
                .collect()),
        }
    }

    /// The form as posted: `name`, `season_start`, `season_end`, `d1`..`d7`, `capacity`,
    /// `wheelchair_places`, `vehicle_id`, `stop0`/`time0`...
    pub fn posted(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let mut stops = Vec::new();
        for i in 0..50 {
            let (stop, time) = (get(&format!("stop{i}")), get(&format!("time{i}")));
            if !pairs.iter().any(|(k, _)| *k == format!("stop{i}")) {
                break;
            }
            stops.push(StopRow { stop, time });
        }
        Self {
            name: get("name"),
            season_start: get("season_start"),
            season_end: get("season_end"),
            days: (1..=7).map(|d| !get(&format!("d{d}")).is_empty()).collect(),
            capacity: get("capacity"),
            wheelchair_places: get("wheelchair_places"),
            vehicle_id: get("vehicle_id"),
            stops: pad(stops),
        }
    }

    /// The fields of a line, for the API's rules; what cannot even be read is refused here,
    /// naming the field as the API would.
    pub fn edit(&self, funding_source_id: Option<Uuid>) -> AppResult<LineEdit> {
        let date = |field: &str, v: &str| {
            v.parse::<NaiveDate>()
                .map_err(|_| AppError::invalid(field, "give a date"))
        };
        let number = |field: &str, v: &str| -> AppResult<Option<i16>> {
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse()
                    .map(Some)
                    .map_err(|_| AppError::invalid(field, "a whole number"))
            }
        };
        let vehicle_id = if self.vehicle_id.is_empty() {
            None
        } else {
            Some(
                Uuid::parse_str(&self.vehicle_id)
                    .map_err(|_| AppError::invalid("vehicle_id", "not a vehicle"))?,
            )
        };
        let mut stops = Vec::new();
        for row in &self.stops {
            if row.stop.is_empty() && row.time.is_empty() {
                continue;
            }
            let i = stops.len();
            let mut ids = row.stop.splitn(2, '/').map(Uuid::parse_str);
            let place_id = match ids.next() {
                Some(Ok(p)) => p,
                _ => {
                    return Err(AppError::invalid(
                        format!("stops.{i}.place_id"),
                        "choose the stop's place",
                    ))
                }
            };
            let meeting_point_id = match ids.next() {
                None => None,
                Some(Ok(m)) => Some(m),
                Some(Err(_)) => {
                    return Err(AppError::invalid(
                        format!("stops.{i}.meeting_point_id"),
                        "not a meeting point",
                    ))
                }
            };
            stops.push(NewStop {
                place_id,
                meeting_point_id,
                stop_time: row.time.clone(),
            });
        }
        Ok(LineEdit {
            name: self.name.clone(),
            season_start: date("season_start", &self.season_start)?,
            season_end: date("season_end", &self.season_end)?,
            operating_days: (1_u8..=7)
                .filter(|d| self.days.get(usize::from(*d - 1)) == Some(&true))
                .map(i16::from)
                .collect(),
            capacity: number("capacity", &self.capacity)?,
            wheelchair_places: number("wheelchair_places", &self.wheelchair_places)?,
            vehicle_id,
            funding_source_id,
            stops,
        })
    }
}

/// The choices of a line form: the region's places with their meeting points, and vehicles.
pub(crate) async fn choices(state: &AppState, region: &str) -> AppResult<minijinja::Value> {
    let mut conn = state.db.acquire().await?;
    let places = crate::places::db::list_places(&mut conn, region, None).await?;
    let points = crate::places::db::meeting_points_of_region(&mut conn, region).await?;
    let vehicles = crate::fleet::db::vehicles(&mut conn, region, None, 0).await?;
    let mut groups: Vec<_> = places
        .iter()
        .map(|p| {
            let mut options = vec![minijinja::context! {
                value => p.place_id.to_string(),
                label => p.name.clone(),
            }];
            options.extend(points.iter().filter(|m| m.place_id == p.place_id).map(|m| {
                minijinja::context! {
                    value => format!("{}/{}", p.place_id, m.meeting_point_id),
                    label => format!("{} - {}", p.name, m.name),
                }
            }));
            (p.name.clone(), options)
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let groups: Vec<_> = groups
        .into_iter()
        .map(|(place, options)| minijinja::context! { place => place, options => options })
        .collect();
    Ok(minijinja::context! { stop_groups => groups, vehicles => vehicles })
}

fn require_coordinator(scope: &Scope) -> AppResult<()> {
    if scope.coordinator() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "lines are planned by the Polo's coordinator".into(),
        ))
    }
}

/// Whether an error is the form's to show (the input was refused), not the page's.
fn refused(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Validation { .. } | AppError::Conflict { .. } | AppError::ConflictWith { .. }
    )
}

/// The fleet page with its new-line form.
async fn fleet(
    state: &AppState,
    ui: &Ui,
    assets: &Assets,
    scope: &Scope,
    form: &LineForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    require_coordinator(scope)?;
    let mut conn = state.db.acquire().await?;
    let lines = crate::lines::db::list_lines(&mut conn, &scope.region, None).await?;
    let vehicles = crate::fleet::db::vehicles(&mut conn, &scope.region, None, 0).await?;
    let drivers = crate::fleet::db::drivers_of_region(&mut conn, &scope.region).await?;
    drop(conn);
    Ok(state.pages.render_status(
        status,
        ui,
        "console/fleet.html",
        minijinja::context! {
            lines => lines,
            vehicles => vehicles,
            drivers => drivers,
            form => form,
            error => error,
            choices => choices(state, &scope.region).await?,
            ..base(Some(scope), assets, "fleet")
        },
    ))
}

/// The region's work lines (with the new-line form), vehicles and drivers.
pub(crate) async fn fleet_page(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
) -> Response {
    let r = fleet(
        &state,
        &ui,
        &assets,
        &scope,
        &LineForm::blank(),
        None,
        StatusCode::OK,
    )
    .await;
    page(&state, &ui, r)
}

/// Creates a line of the coordinator's region (`POST /console/fleet/lines`).
pub(crate) async fn create_line(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = LineForm::posted(&pairs);
    let r = async {
        require_coordinator(&scope)?;
        let created = match form.edit(None) {
            Ok(edit) => {
                crate::lines::http::create_line_as(
                    &state,
                    &scope.staff,
                    edit.into_new(scope.region.clone()),
                )
                .await
            }
            Err(e) => Err(e),
        };
        match created {
            Ok(line) => Ok(pages::redirect_see_other(&format!(
                "/console/lines/{}?saved=created",
                line.line.line_id
            ))),
            Err(e) if refused(&e) => {
                fleet(
                    &state,
                    &ui,
                    &assets,
                    &scope,
                    &form,
                    Some(e.to_string()),
                    e.status(),
                )
                .await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&state, &ui, r)
}

/// Edits a line (`POST /console/lines/{line_id}/edit`).
pub(crate) async fn edit_line(
    State(state): State<AppState>,
    ui: Ui,
    Extension(assets): Extension<Arc<Assets>>,
    scope: Scope,
    Path(line_id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = LineForm::posted(&pairs);
    let r = async {
        require_coordinator(&scope)?;
        let id = Uuid::parse_str(&line_id).map_err(|_| AppError::NotFound("line"))?;
        let current = crate::lines::http::line_as(&state, &scope.staff, id).await?;
        let edited = match form.edit(current.line.funding_source_id) {
            Ok(edit) => crate::lines::http::edit_line_as(&state, &scope.staff, id, edit).await,
            Err(e) => Err(e),
        };
        match edited {
            Ok(_) => Ok(pages::redirect_see_other(&format!(
                "/console/lines/{id}?saved=edited"
            ))),
            Err(e) if refused(&e) => {
                super::planning::line_body(
                    &state,
                    &ui,
                    &assets,
                    &scope,
                    id,
                    super::planning::LineQuery::default(),
                    Some((form.clone(), e.to_string(), e.status())),
                )
                .await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&state, &ui, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn a_posted_form_keeps_its_input_and_skips_empty_stop_rows() {
        let p = Uuid::new_v4();
        let m = Uuid::new_v4();
        let q = Uuid::new_v4();
        let posted = pairs(&[
            ("name", " Linea "),
            ("season_start", "2027-06-01"),
            ("season_end", "2027-09-30"),
            ("d1", "on"),
            ("d3", "on"),
            ("capacity", "8"),
            ("wheelchair_places", ""),
            ("vehicle_id", ""),
            ("stop0", &format!("{p}/{m}")),
            ("time0", "05:00"),
            ("stop1", ""),
            ("time1", ""),
            ("stop2", &q.to_string()),
            ("time2", "05:30"),
        ]);
        let form = LineForm::posted(&posted);
        assert_eq!(form.stops.len(), STOP_ROWS);
        assert_eq!(form.days, [true, false, true, false, false, false, false]);
        let edit = form.edit(None).unwrap();
        assert_eq!(edit.operating_days, [1, 3]);
        assert_eq!(edit.capacity, Some(8));
        assert_eq!(edit.wheelchair_places, None);
        assert_eq!(edit.stops.len(), 2);
        assert_eq!(edit.stops[0].meeting_point_id, Some(m));
        assert_eq!(edit.stops[1].place_id, q);

        let bad = LineForm {
            capacity: "otto".into(),
            ..form.clone()
        };
        match bad.edit(None) {
            Err(AppError::Validation { field, .. }) => assert_eq!(field, "capacity"),
            other => panic!("{other:?}"),
        }
        let bad = LineForm {
            stops: pad(vec![StopRow {
                stop: String::new(),
                time: "05:00".into(),
            }]),
            ..form
        };
        match bad.edit(None) {
            Err(AppError::Validation { field, .. }) => assert_eq!(field, "stops.0.place_id"),
            other => panic!("{other:?}"),
        }
    }
}
