//! SQL for Poli, places and meeting points. Points cross the boundary as lon/lat.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{MeetingPoint, NewMeetingPoint, NewPlace, NewPolo, Place, PlaceKind, Polo};
use crate::error::{on_constraint, AppError, AppResult};
use crate::geo::LonLat;

const POLO_COLUMNS: &str = "region_code, polo_id, name, kind, hub_polo_id, area, managing_org,
    st_x(location::geometry) as lon, st_y(location::geometry) as lat, opening_hours";

/// Sets (or clears) a Polo's phone, printed on access cards.
///
/// # Errors
/// Not found for an unknown Polo; a validation error for a malformed number.
pub async fn set_polo_phone(
    conn: &mut PgConnection,
    polo_id: Uuid,
    phone: Option<&str>,
) -> AppResult<()> {
    let done = sqlx::query("update polo set phone = $2 where polo_id = $1")
        .bind(polo_id)
        .bind(phone)
        .execute(conn)
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.constraint()) {
                Some(c) if c.contains("phone") => {
                    AppError::invalid("phone", "digits and spaces, an optional leading +")
                }
                _ => AppError::Sqlx(e),
            },
        )?
        .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound("polo"));
    }
    Ok(())
}

/// Inserts a Polo; a spoke's hub must be a hub of the same region.
///
/// # Errors
/// Validation errors for an unknown region or hub.
pub async fn insert_polo(conn: &mut PgConnection, p: &NewPolo) -> AppResult<Polo> {
    if let Some(hub) = p.hub_polo_id {
        let kind: Option<super::PoloKind> =
            sqlx::query_scalar("select kind from polo where region_code = $1 and polo_id = $2")
                .bind(&p.region_code)
                .bind(hub)
                .fetch_optional(&mut *conn)
                .await?;
        if kind != Some(super::PoloKind::Hub) {
            return Err(AppError::invalid(
                "hub_polo_id",
                "no hub with this id in the region",
            ));
        }
    }
    let sql = format!(
        "insert into polo (region_code, name, kind, hub_polo_id, area, managing_org, location, opening_hours)
         values ($1, $2, $3, $4, $5, $6, {}, $9) returning {POLO_COLUMNS}",
        crate::sql_point!("$7", "$8")
    );
    sqlx::query_as(&sql)
        .bind(&p.region_code)
        .bind(&p.name)
        .bind(p.kind)
        .bind(p.hub_polo_id)
        .bind(p.area)
        .bind(&p.managing_org)
        .bind(p.location.lon)
        .bind(p.location.lat)
        .bind(sqlx::types::Json(&p.opening_hours))
        .fetch_one(conn)
        .await
        .map_err(on_constraint)
}

/// Poli of a region, hubs first.
///
/// # Errors
/// Database errors.
pub async fn list_poli(conn: &mut PgConnection, region_code: &str) -> AppResult<Vec<Polo>> {
    let sql = format!("select {POLO_COLUMNS} from polo where region_code = $1 order by kind, name");
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .fetch_all(conn)
        .await?)
}

/// Region of a Polo, if it exists.
///
/// # Errors
/// Database errors.
pub async fn polo_region(conn: &mut PgConnection, polo_id: Uuid) -> AppResult<Option<String>> {
    Ok(
        sqlx::query_scalar("select region_code from polo where polo_id = $1")
            .bind(polo_id)
            .fetch_optional(conn)
            .await?,
    )
}

const PLACE_COLUMNS: &str = "region_code, place_id, kind, name, informal, address,
    st_x(location::geometry) as lon, st_y(location::geometry) as lat";

/// Inserts a place.
///
/// # Errors
/// A validation error for an unknown region.
pub async fn insert_place(conn: &mut PgConnection, p: &NewPlace) -> AppResult<Place> {
    let sql = format!(
        "insert into place (region_code, kind, name, informal, address, location)
         values ($1, $2, $3, $4, $5, {}) returning {PLACE_COLUMNS}, null::float8 as distance_m",
        crate::sql_point!("$6", "$7")
    );
    sqlx::query_as(&sql)
        .bind(&p.region_code)
        .bind(p.kind)
        .bind(&p.name)
        .bind(p.informal)
        .bind(&p.address)
        .bind(p.location.lon)
        .bind(p.location.lat)
        .fetch_one(conn)
        .await
        .map_err(on_constraint)
}

/// Places of a region within `radius_m` metres of `at`, nearest first, optionally of one kind.
///
/// # Errors
/// Database errors.
pub async fn places_within(
    conn: &mut PgConnection,
    region_code: &str,
    at: LonLat,
    radius_m: f64,
    kind: Option<PlaceKind>,
) -> AppResult<Vec<Place>> {
    let pt = crate::sql_point!("$2", "$3");
    let sql = format!(
        "select {PLACE_COLUMNS}, st_distance(location, {pt}) as distance_m
         from place
         where region_code = $1 and st_dwithin(location, {pt}, $4) and ($5::place_kind is null or kind = $5)
         order by distance_m, name"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .bind(at.lon)
        .bind(at.lat)
        .bind(radius_m)
        .bind(kind)
        .fetch_all(conn)
        .await?)
}

/// Places of a region, by kind and name.
///
/// # Errors
/// Database errors.
pub async fn list_places(
    conn: &mut PgConnection,
    region_code: &str,
    kind: Option<PlaceKind>,
) -> AppResult<Vec<Place>> {
    let sql = format!(
        "select {PLACE_COLUMNS}, null::float8 as distance_m from place
         where region_code = $1 and ($2::place_kind is null or kind = $2) order by kind, name"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .bind(kind)
        .fetch_all(conn)
        .await?)
}

const MP_COLUMNS: &str = "m.region_code, m.meeting_point_id, m.place_id, p.name as place_name,
    m.name, m.landmark, st_x(m.location::geometry) as lon, st_y(m.location::geometry) as lat";

/// Adds a meeting point to a place.
///
/// # Errors
/// Not found when the place does not exist.
pub async fn insert_meeting_point(
    conn: &mut PgConnection,
    place_id: Uuid,
    m: &NewMeetingPoint,
) -> AppResult<MeetingPoint> {
    let sql = format!(
        "with ins as (
            insert into meeting_point (region_code, place_id, name, landmark, location)
            select region_code, place_id, $2, $3, {} from place where place_id = $1
            returning *)
         select {MP_COLUMNS}, null::float8 as distance_m from ins m join place p using (region_code, place_id)",
        crate::sql_point!("$4", "$5")
    );
    sqlx::query_as(&sql)
        .bind(place_id)
        .bind(&m.name)
        .bind(&m.landmark)
        .bind(m.location.lon)
        .bind(m.location.lat)
        .fetch_optional(conn)
        .await
        .map_err(on_constraint)?
        .ok_or(AppError::NotFound("place"))
}

/// The `limit` meeting points of a region nearest to `at`, nearest first (PostGIS KNN on the
/// spatial index).
///
/// # Errors
/// Database errors.
pub async fn nearest_meeting_points(
    conn: &mut PgConnection,
    region_code: &str,
    at: LonLat,
    limit: i64,
) -> AppResult<Vec<MeetingPoint>> {
    let pt = crate::sql_point!("$2", "$3");
    let sql = format!(
        "select {MP_COLUMNS}, st_distance(m.location, {pt}) as distance_m
         from meeting_point m join place p using (region_code, place_id)
         where m.region_code = $1
         order by m.location <-> {pt}, m.meeting_point_id
         limit $4"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .bind(at.lon)
        .bind(at.lat)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Meeting points of one place.
///
/// # Errors
/// Database errors.
pub async fn meeting_points_of(
    conn: &mut PgConnection,
    place_id: Uuid,
) -> AppResult<Vec<MeetingPoint>> {
    let sql = format!(
        "select {MP_COLUMNS}, null::float8 as distance_m
         from meeting_point m join place p using (region_code, place_id)
         where m.place_id = $1 order by m.name"
    );
    Ok(sqlx::query_as(&sql).bind(place_id).fetch_all(conn).await?)
}

/// Columns of a [`super::ServiceArea`] (the polygon as GeoJSON, its area in km²).
pub const AREA_COLUMNS: &str =
    "region_code, service_area_id, polo_id, name, st_area(area) / 1e6 as area_km2,
    st_asgeojson(area, 6) as geojson";

/// Inserts a service area from a WKT polygon (checked as simple by the caller).
///
/// # Errors
/// A conflict for a duplicate name; database errors.
pub async fn insert_service_area(
    conn: &mut PgConnection,
    region: &str,
    polo_id: Option<Uuid>,
    name: &str,
    wkt: &str,
) -> AppResult<super::ServiceArea> {
    sqlx::query_as(&format!(
        "insert into service_area (region_code, polo_id, name, area)
         values ($1, $2, $3, st_multi(st_geomfromtext($4, 4326))::geography)
         returning {AREA_COLUMNS}"
    ))
    .bind(region)
    .bind(polo_id)
    .bind(name)
    .bind(wkt)
    .fetch_one(conn)
    .await
    .map_err(crate::error::on_constraint)
}

/// Meeting points of a region, by place and name (the console's map).
///
/// # Errors
/// Database errors.
pub async fn meeting_points_of_region(
    conn: &mut PgConnection,
    region_code: &str,
) -> AppResult<Vec<MeetingPoint>> {
    let sql = format!(
        "select {MP_COLUMNS}, null::float8 as distance_m
         from meeting_point m join place p using (region_code, place_id)
         where m.region_code = $1 order by p.name, m.name"
    );
    Ok(sqlx::query_as(&sql)
        .bind(region_code)
        .fetch_all(conn)
        .await?)
}

/// Service areas of a region, by name.
///
/// # Errors
/// Database errors.
pub async fn service_areas_of_region(
    conn: &mut PgConnection,
    region_code: &str,
) -> AppResult<Vec<super::ServiceArea>> {
    Ok(sqlx::query_as(&format!(
        "select {AREA_COLUMNS} from service_area where region_code = $1 order by name"
    ))
    .bind(region_code)
    .fetch_all(conn)
    .await?)
}
