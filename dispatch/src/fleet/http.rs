//! HTTP routes for vehicles and drivers (programme admins manage; planners read).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{db, Driver, NewDriver, NewVehicle, Vehicle};
use crate::auth::{create_staff, hash_password, NewStaff, Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppQuery};
use crate::geo::LonLat;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_vehicle, list_vehicles))
        .routes(routes!(create_driver, list_drivers))
}

#[utoipa::path(post, path = "/api/vehicles", tag = "fleet", request_body = NewVehicle, responses((status = 201, body = Vehicle)))]
async fn create_vehicle(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewVehicle>,
) -> AppResult<(StatusCode, Json<Vehicle>)> {
    staff.require(&[Role::ProgrammeAdmin])?;
    let v = body.validate()?;
    staff.require_region("region_code", &v.region_code)?;
    let mut conn = state.db.acquire().await?;
    let vehicle = db::insert_vehicle(&mut conn, &v).await?;
    Ok((StatusCode::CREATED, Json(vehicle)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VehicleQuery {
    region: String,
    lon: Option<f64>,
    lat: Option<f64>,
    min_wheelchair_places: Option<i16>,
}

/// Vehicles of a region; with `lon`/`lat`, nearest depot first (candidate vehicles for a point).
#[utoipa::path(get, path = "/api/vehicles", tag = "fleet", params(VehicleQuery), responses((status = 200, body = Vec<Vehicle>)))]
async fn list_vehicles(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<VehicleQuery>,
) -> AppResult<Json<Vec<Vehicle>>> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    staff.require_region("region", &q.region)?;
    let at = match (q.lon, q.lat) {
        (Some(lon), Some(lat)) => Some(LonLat { lon, lat }.validate("")?),
        (None, None) => None,
        _ => {
            return Err(AppError::invalid(
                "lon",
                "give both lon and lat, or neither",
            ))
        }
    };
    let mut conn = state.db.acquire().await?;
    let vehicles = db::vehicles(
        &mut conn,
        &q.region,
        at,
        q.min_wheelchair_places.unwrap_or(0),
    )
    .await?;
    Ok(Json(vehicles))
}

#[utoipa::path(post, path = "/api/drivers", tag = "fleet", request_body = NewDriver, responses((status = 201, body = Driver)))]
async fn create_driver(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewDriver>,
) -> AppResult<(StatusCode, Json<Driver>)> {
    staff.require(&[Role::ProgrammeAdmin])?;
    staff.require_region("region_code", &body.region_code)?;
    if body.password.chars().count() < 10 {
        return Err(AppError::invalid("password", "at least 10 characters"));
    }
    let operator = crate::geo::non_blank("operator", &body.operator)?;
    let new = NewStaff {
        username: body.username.trim().to_owned(),
        display_name: body.display_name.trim().to_owned(),
        role: Role::Driver,
        region_code: Some(body.region_code.clone()),
        polo_id: None,
    };
    new.validate()?;
    let password = body.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| anyhow::anyhow!("hashing task: {e}"))??;
    let mut tx = state.db.begin().await?;
    let staff_id = create_staff(&mut tx, &new, &hash).await?;
    let driver = db::insert_driver(
        &mut tx,
        &body.region_code,
        staff_id,
        &new.display_name,
        &operator,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(driver)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RegionQuery {
    region: String,
}

#[utoipa::path(get, path = "/api/drivers", tag = "fleet", params(RegionQuery), responses((status = 200, body = Vec<Driver>)))]
async fn list_drivers(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RegionQuery>,
) -> AppResult<Json<Vec<Driver>>> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    let drivers = db::drivers_of_region(&mut conn, &q.region).await?;
    Ok(Json(drivers))
}
