//! SQL of the fleet: the driver behind a login, the drivers of a region.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Driver, NewVehicle, Vehicle};
use crate::error::{on_constraint, AppResult};
use crate::geo::LonLat;

const VEHICLE_COLUMNS: &str = "region_code, vehicle_id, label, seats, wheelchair_places, operator, depot_name,
    st_x(depot::geometry) as lon, st_y(depot::geometry) as lat, cost_per_km_cents, cost_per_hour_cents, active";

/// Inserts a validated vehicle.
///
/// # Errors
/// A conflict for a label already used in the region; database errors.
pub async fn insert_vehicle(conn: &mut PgConnection, v: &NewVehicle) -> AppResult<Vehicle> {
    let sql = format!(
        "insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot,
            cost_per_km_cents, cost_per_hour_cents)
         values ($1, $2, $3, $4, $5, $6, {}, $9, $10) returning {VEHICLE_COLUMNS}, null::float8 as distance_m",
        crate::sql_point!("$7", "$8")
    );
    sqlx::query_as(&sql)
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
        .fetch_one(conn)
        .await
        .map_err(on_constraint)
}

/// Active vehicles of a region with at least `min_wheelchair_places`; with `at`, nearest
/// depot first (candidate vehicles for a point).
///
/// # Errors
/// Database errors.
pub async fn vehicles(
    conn: &mut PgConnection,
    region: &str,
    at: Option<LonLat>,
    min_wheelchair_places: i16,
) -> AppResult<Vec<Vehicle>> {
    let pt = crate::sql_point!("$2", "$3");
    let sql = format!(
        "select {VEHICLE_COLUMNS},
            case when $2::float8 is null then null else st_distance(depot, {pt}) end as distance_m
         from vehicle
         where region_code = $1 and active and wheelchair_places >= $4
         order by case when $2::float8 is null then 0 else st_distance(depot, {pt}) end, label"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region)
        .bind(at.map(|p| p.lon))
        .bind(at.map(|p| p.lat))
        .bind(min_wheelchair_places)
        .fetch_all(conn)
        .await?)
}

/// Links a driver's login (already created by `auth`) to a new driver row.
///
/// # Errors
/// A conflict for a duplicate; database errors.
pub async fn insert_driver(
    conn: &mut PgConnection,
    region: &str,
    staff_id: Uuid,
    display_name: &str,
    operator: &str,
) -> AppResult<Driver> {
    sqlx::query_as(
        "insert into driver (region_code, staff_id, display_name, operator) values ($1, $2, $3, $4)
         returning region_code, driver_id, staff_id, display_name, operator",
    )
    .bind(region)
    .bind(staff_id)
    .bind(display_name)
    .bind(operator)
    .fetch_one(conn)
    .await
    .map_err(on_constraint)
}

/// The drivers of a region by name.
///
/// # Errors
/// Database errors.
pub async fn drivers_of_region(conn: &mut PgConnection, region: &str) -> AppResult<Vec<Driver>> {
    Ok(sqlx::query_as(
        "select region_code, driver_id, staff_id, display_name, operator from driver
         where region_code = $1 order by display_name",
    )
    .bind(region)
    .fetch_all(conn)
    .await?)
}

/// The driver behind a staff login.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DriverRef {
    /// Region.
    pub region_code: String,
    /// Driver id.
    pub driver_id: Uuid,
    /// The staff login.
    pub staff_id: Uuid,
}

/// The driver row of a staff login, if any.
///
/// # Errors
/// Database errors.
pub async fn driver_of_staff(
    conn: &mut PgConnection,
    staff_id: Uuid,
) -> AppResult<Option<DriverRef>> {
    Ok(
        sqlx::query_as("select region_code, driver_id, staff_id from driver where staff_id = $1")
            .bind(staff_id)
            .fetch_optional(conn)
            .await?,
    )
}
