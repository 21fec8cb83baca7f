//! HTTP routes for Poli, places and meeting points.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{db, MeetingPoint, NewMeetingPoint, NewPlace, NewPolo, Place, PlaceKind, Polo};
use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::geo::LonLat;
use crate::state::AppState;

const PLANNERS: &[Role] = &[
    Role::ProgrammeAdmin,
    Role::PoloCoordinator,
    Role::CaseWorker,
];

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_polo, list_poli))
        .routes(routes!(create_place, list_places))
        .routes(routes!(create_meeting_point, list_meeting_points))
        .routes(routes!(nearest_meeting_points))
        .routes(routes!(create_service_area, list_service_areas))
}

#[utoipa::path(post, path = "/api/poli", tag = "places", request_body = NewPolo, responses((status = 201, body = Polo)))]
async fn create_polo(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewPolo>,
) -> AppResult<(StatusCode, Json<Polo>)> {
    staff.require(&[Role::ProgrammeAdmin])?;
    let body = body.validate()?;
    staff.require_region("region_code", &body.region_code)?;
    let mut tx = state.db.begin().await?;
    let polo = db::insert_polo(&mut tx, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(polo)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RegionQuery {
    region: String,
}

#[utoipa::path(get, path = "/api/poli", tag = "places", params(RegionQuery), responses((status = 200, body = Vec<Polo>)))]
async fn list_poli(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RegionQuery>,
) -> AppResult<Json<Vec<Polo>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(db::list_poli(&mut conn, &q.region).await?))
}

#[utoipa::path(post, path = "/api/places", tag = "places", request_body = NewPlace, responses((status = 201, body = Place)))]
async fn create_place(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewPlace>,
) -> AppResult<(StatusCode, Json<Place>)> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    let body = body.validate()?;
    staff.require_region("region_code", &body.region_code)?;
    let mut tx = state.db.begin().await?;
    let place = db::insert_place(&mut tx, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(place)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PlacesQuery {
    region: String,
    kind: Option<PlaceKind>,
    lon: Option<f64>,
    lat: Option<f64>,
    radius_m: Option<f64>,
}

#[utoipa::path(get, path = "/api/places", tag = "places", params(PlacesQuery), responses((status = 200, body = Vec<Place>)))]
async fn list_places(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<PlacesQuery>,
) -> AppResult<Json<Vec<Place>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    let places = match (q.lon, q.lat) {
        (Some(lon), Some(lat)) => {
            let at = LonLat { lon, lat }.validate("")?;
            let radius = q.radius_m.unwrap_or(10_000.0);
            if !(radius > 0.0 && radius <= 200_000.0) {
                return Err(AppError::invalid(
                    "radius_m",
                    "must be in (0, 200000] metres",
                ));
            }
            db::places_within(&mut conn, &q.region, at, radius, q.kind).await?
        }
        (None, None) => db::list_places(&mut conn, &q.region, q.kind).await?,
        _ => {
            return Err(AppError::invalid(
                "lon",
                "give both lon and lat, or neither",
            ))
        }
    };
    Ok(Json(places))
}

#[utoipa::path(post, path = "/api/places/{place_id}/meeting-points", tag = "places", request_body = NewMeetingPoint, responses((status = 201, body = MeetingPoint)), params(("place_id" = Uuid, Path)))]
async fn create_meeting_point(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(place_id): AppPath<Uuid>,
    AppJson(body): AppJson<NewMeetingPoint>,
) -> AppResult<(StatusCode, Json<MeetingPoint>)> {
    staff.require(&[Role::ProgrammeAdmin, Role::PoloCoordinator])?;
    let body = body.validate()?;
    let mut tx = state.db.begin().await?;
    let mp = db::insert_meeting_point(&mut tx, place_id, &body).await?;
    staff.require_region("region_code", &mp.region_code)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(mp)))
}

#[utoipa::path(get, path = "/api/places/{place_id}/meeting-points", tag = "places", responses((status = 200, body = Vec<MeetingPoint>)), params(("place_id" = Uuid, Path)))]
async fn list_meeting_points(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(place_id): AppPath<Uuid>,
) -> AppResult<Json<Vec<MeetingPoint>>> {
    staff.require(PLANNERS)?;
    let mut conn = state.db.acquire().await?;
    let points = db::meeting_points_of(&mut conn, place_id).await?;
    if let Some(p) = points.first() {
        staff.require_region("region_code", &p.region_code)?;
    }
    Ok(Json(points))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NearestQuery {
    region: String,
    lon: f64,
    lat: f64,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/meeting-points/nearest", tag = "places", params(NearestQuery), responses((status = 200, body = Vec<MeetingPoint>)))]
async fn nearest_meeting_points(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<NearestQuery>,
) -> AppResult<Json<Vec<MeetingPoint>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let at = LonLat {
        lon: q.lon,
        lat: q.lat,
    }
    .validate("")?;
    let limit = q.limit.unwrap_or(5);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be 1..100"));
    }
    let mut conn = state.db.acquire().await?;
    Ok(Json(
        db::nearest_meeting_points(&mut conn, &q.region, at, limit).await?,
    ))
}

/// A service area to create: one polygon ring of lon/lat points, closed or not.
#[derive(Deserialize, utoipa::ToSchema)]
struct NewServiceArea {
    region_code: String,
    name: String,
    polo_id: Option<Uuid>,
    polygon: Vec<[f64; 2]>,
}

use super::ServiceArea;

#[utoipa::path(post, path = "/api/service-areas", tag = "places", request_body = NewServiceArea, responses((status = 201, body = ServiceArea)))]
async fn create_service_area(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<NewServiceArea>,
) -> AppResult<(StatusCode, Json<ServiceArea>)> {
    staff.require(&[Role::ProgrammeAdmin])?;
    staff.require_region("region_code", &body.region_code)?;
    let name = crate::geo::non_blank("name", &body.name)?;
    let mut ring = body.polygon.clone();
    for (i, p) in ring.iter().enumerate() {
        LonLat {
            lon: p[0],
            lat: p[1],
        }
        .validate(&format!("polygon.{i}"))?;
    }
    if ring.first() != ring.last() {
        if let Some(first) = ring.first().copied() {
            ring.push(first);
        }
    }
    if ring.len() < 4 {
        return Err(AppError::invalid(
            "polygon",
            "at least three distinct points",
        ));
    }
    let wkt = format!(
        "POLYGON(({}))",
        ring.iter()
            .map(|p| format!("{} {}", p[0], p[1]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut tx = state.db.begin().await?;
    let valid: Option<String> =
        sqlx::query_scalar("select st_isvalidreason(st_geomfromtext($1, 4326))")
            .bind(&wkt)
            .fetch_one(&mut *tx)
            .await?;
    if valid.as_deref() != Some("Valid Geometry") {
        return Err(AppError::invalid(
            "polygon",
            format!("not a simple polygon: {}", valid.unwrap_or_default()),
        ));
    }
    let area =
        super::db::insert_service_area(&mut tx, &body.region_code, body.polo_id, &name, &wkt)
            .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(area)))
}

#[utoipa::path(get, path = "/api/service-areas", tag = "places", params(RegionQuery), responses((status = 200, body = Vec<ServiceArea>)))]
async fn list_service_areas(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RegionQuery>,
) -> AppResult<Json<Vec<ServiceArea>>> {
    staff.require(PLANNERS)?;
    staff.require_region("region", &q.region)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(
        super::db::service_areas_of_region(&mut conn, &q.region).await?,
    ))
}
