//! HTTP routes for vehicles and drivers (programme admins manage; planners read).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::{Driver, NewDriver, NewVehicle, Vehicle};
use crate::auth::{create_staff, hash_password, NewStaff, Role, Staff};
use crate::error::{on_constraint, AppError, AppResult};
use crate::extract::{AppJson, AppQuery};
use crate::geo::LonLat;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/vehicles", post(create_vehicle).get(list_vehicles))
        .route("/api/drivers", post(create_driver).get(list_drivers))
}

const VEHICLE_COLUMNS: &str = "region_code, vehicle_id, label, seats, wheelchair_places, operator, depot_name,
    st_x(depot::geometry) as lon, st_y(depot::geometry) as lat, cost_per_km_cents, cost_per_hour_cents, active";

async fn create_vehicle(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewVehicle>,
) -> AppResult<(StatusCode, Json<Vehicle>)> {
    staff.require(&[Role::ProgrammeAdmin])?;
    let v = body.validate()?;
    staff.require_region("region_code", &v.region_code)?;
    let sql = format!(
        "insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot,
            cost_per_km_cents, cost_per_hour_cents)
         values ($1, $2, $3, $4, $5, $6, {}, $9, $10) returning {VEHICLE_COLUMNS}, null::float8 as distance_m",
        crate::sql_point!("$7", "$8")
    );
    let vehicle = sqlx::query_as(&sql)
        .bind(&v.region_code)
        .bind(&v.label)
        .bind(v.seats)
        .bind(v.wheelchair_places)
        .bind(&v.operator)
        .bind(&v.depot_name)
        .bind(v.depot.lon)
        .bind(v.depot.lat)
        .bind(v.cost_per_km_cents)
        .bind(v.cost_per_hour_cents)
        .fetch_one(&state.db)
        .await
        .map_err(on_constraint)?;
    Ok((StatusCode::CREATED, Json(vehicle)))
}

#[derive(Deserialize)]
struct VehicleQuery {
    region: String,
    lon: Option<f64>,
    lat: Option<f64>,
    min_wheelchair_places: Option<i16>,
}

/// Vehicles of a region; with `lon`/`lat`, nearest depot first (candidate vehicles for a point).
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
    let pt = crate::sql_point!("$2", "$3");
    let sql = format!(
        "select {VEHICLE_COLUMNS},
            case when $2::float8 is null then null else st_distance(depot, {pt}) end as distance_m
         from vehicle
         where region_code = $1 and active and wheelchair_places >= $4
         order by case when $2::float8 is null then 0 else st_distance(depot, {pt}) end, label"
    );
    let vehicles = sqlx::query_as(&sql)
        .bind(&q.region)
        .bind(at.map(|p| p.lon))
        .bind(at.map(|p| p.lat))
        .bind(q.min_wheelchair_places.unwrap_or(0))
        .fetch_all(&state.db)
        .await?;
    Ok(Json(vehicles))
}

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
    let driver = sqlx::query_as(
        "insert into driver (region_code, staff_id, display_name, operator) values ($1, $2, $3, $4)
         returning region_code, driver_id, staff_id, display_name, operator",
    )
    .bind(&body.region_code)
    .bind(staff_id)
    .bind(&new.display_name)
    .bind(&operator)
    .fetch_one(&mut *tx)
    .await
    .map_err(on_constraint)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(driver)))
}

#[derive(Deserialize)]
struct RegionQuery {
    region: String,
}

async fn list_drivers(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RegionQuery>,
) -> AppResult<Json<Vec<Driver>>> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    staff.require_region("region", &q.region)?;
    let drivers = sqlx::query_as(
        "select region_code, driver_id, staff_id, display_name, operator from driver
         where region_code = $1 order by display_name",
    )
    .bind(&q.region)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(drivers))
}
