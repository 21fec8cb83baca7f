//! Open data of the lines: a GTFS feed of the linee lavoro (stops, trips, season calendars) and
//! GTFS-Flex for the on-demand service (meeting points as location groups, service areas as
//! zones in `locations.geojson`, booking rules), as one zip.
//!
//! The feed shows where settlements are, so by default it is behind a login
//! (`GET /api/reports/gtfs`). The programme may publish a *coarsened* version without a login
//! (`GET /open-data/{region}/gtfs.zip`, off until an admin turns it on): every stop that is not
//! a public office is moved to the centre of a grid cell of [`GRID_DEG`] degrees (about 2 km)
//! and named by its kind and a number only (no settlement, farm or meeting point names, no
//! landmarks), consecutive stops that fall in the same cell are merged, lines are named
//! "Linea lavoro N", and service areas are rounded to 3 decimals. No feed ever contains
//! anything about people or rides: only lines, stops, areas and times.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Days, NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::{Role, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;

/// Size of the grid cells stops are moved to in the coarsened feed, degrees.
pub const GRID_DEG: f64 = 0.02;

/// How long before a ride it must be booked, minutes (same-day rides are inserted live).
pub const PRIOR_NOTICE_MIN: u32 = 60;

/// Who may download the full feed.
const FEED_ROLES: &[Role] = &[
    Role::ProgrammeAdmin,
    Role::PoloCoordinator,
    Role::CaseWorker,
    Role::Mediator,
];

/// Routes of the feed.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed))
        .routes(routes!(publication))
        .routes(routes!(public_feed))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    region: Option<String>,
    coarsened: Option<String>,
}

#[utoipa::path(get, path = "/api/reports/gtfs", tag = "reports", params(FeedQuery), responses((status = 200, description = "A GTFS zip", content_type = "application/zip")))]
async fn feed(
    State(state): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<FeedQuery>,
) -> AppResult<Response> {
    staff.require(FEED_ROLES)?;
    let region = q
        .region
        .as_deref()
        .ok_or_else(|| AppError::invalid("region", "required"))?;
    staff.require_region("region", region)?;
    let coarsened = match q.coarsened.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(AppError::invalid(
                "coarsened",
                format!("{other:?}: true or false"),
            ))
        }
    };
    let mut conn = state.db.acquire().await?;
    let today = crate::service_day::day_of(state.now());
    let zip = build(&mut conn, region, today, coarsened).await?;
    Ok(zip_response(region, coarsened, zip))
}

#[utoipa::path(get, path = "/open-data/{region}/gtfs.zip", tag = "reports", responses((status = 200, description = "The coarsened public GTFS zip, where published", content_type = "application/zip")), params(("region" = String, Path)))]
async fn public_feed(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
) -> AppResult<Response> {
    let region = file.as_str();
    if !crate::auth::REGIONS.contains(&region) {
        return Err(AppError::NotFound("feed"));
    }
    let mut conn = state.db.acquire().await?;
    let published: bool = sqlx::query_scalar("select gtfs_public_coarsened from programme_config")
        .fetch_one(&mut *conn)
        .await?;
    if !published {
        return Err(AppError::NotFound("feed"));
    }
    let today = crate::service_day::day_of(state.now());
    let zip = build(&mut conn, region, today, true).await?;
    Ok(zip_response(region, true, zip))
}

/// Whether the coarsened feed is public.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
struct Publication {
    public: bool,
}

/// Turns the public coarsened feed on or off (programme admin).
#[utoipa::path(post, path = "/api/reports/gtfs/publication", tag = "reports", request_body = Publication, responses((status = 200, body = Publication)))]
async fn publication(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(body): AppJson<Publication>,
) -> AppResult<Json<Publication>> {
    staff.require(&[Role::ProgrammeAdmin])?;
    let mut conn = state.db.acquire().await?;
    crate::budgets::db::set_gtfs_public_coarsened(&mut conn, body.public).await?;
    tracing::info!(staff = %staff.username, public = body.public, "public GTFS feed setting");
    Ok(Json(Publication {
        public: body.public,
    }))
}

fn zip_response(region: &str, coarsened: bool, zip: Vec<u8>) -> Response {
    let name = if coarsened {
        format!("passaggio-{region}-gtfs-public.zip")
    } else {
        format!("passaggio-{region}-gtfs.zip")
    };
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        zip,
    )
        .into_response()
}

#[derive(Debug, sqlx::FromRow)]
struct LineRow {
    line_id: Uuid,
    name: String,
    season_start: NaiveDate,
    season_end: NaiveDate,
    operating_days: Vec<i16>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct StopRow {
    line_id: Uuid,
    stop_time: NaiveTime,
    place_id: Uuid,
    meeting_point_id: Option<Uuid>,
    place_name: String,
    place_kind: String,
    meeting_point_name: Option<String>,
    landmark: Option<String>,
    lon: f64,
    lat: f64,
}

#[derive(Debug, sqlx::FromRow)]
struct AreaRow {
    service_area_id: Uuid,
    name: String,
    geojson: String,
}

#[derive(Debug, sqlx::FromRow)]
struct AreaPoint {
    service_area_id: Uuid,
    place_id: Uuid,
    meeting_point_id: Option<Uuid>,
    place_name: String,
    place_kind: String,
    meeting_point_name: Option<String>,
    landmark: Option<String>,
    lon: f64,
    lat: f64,
}

/// A stop of the feed.
#[derive(Debug, Clone, PartialEq)]
struct Stop {
    id: String,
    name: String,
    desc: String,
    lon: f64,
    lat: f64,
}

const PUBLIC_OFFICES: [&str; 5] = [
    "questura",
    "asl",
    "job_centre",
    "municipality",
    "other_office",
];

/// The stop a place or meeting point becomes: exact, or coarsened to its grid cell.
struct Stops {
    coarsened: bool,
    by_id: BTreeMap<String, Stop>,
    /// Kind label and number of each coarsened cell, in order of first use.
    numbered: BTreeMap<String, usize>,
}

impl Stops {
    #[allow(clippy::too_many_arguments)]
    fn stop(
        &mut self,
        place_id: Uuid,
        meeting_point_id: Option<Uuid>,
        place_name: &str,
        place_kind: &str,
        mp_name: Option<&str>,
        landmark: Option<&str>,
        lon: f64,
        lat: f64,
    ) -> String {
        let exact = !self.coarsened || PUBLIC_OFFICES.contains(&place_kind);
        let stop = if exact {
            let (id, name) = match (meeting_point_id, mp_name) {
                (Some(m), Some(n)) => (format!("mp-{m}"), format!("{place_name} - {n}")),
                _ => (format!("pl-{place_id}"), place_name.to_owned()),
            };
            Stop {
                id,
                name,
                desc: if self.coarsened {
                    String::new()
                } else {
                    landmark.unwrap_or_default().to_owned()
                },
                lon,
                lat,
            }
        } else {
            let (i, j) = grid_cell(lon, lat);
            let id = format!("cell_{i}_{j}");
            let label = match place_kind {
                "settlement" => "Punto di raccolta",
                "farm" | "packing_house" => "Luogo di lavoro",
                _ => "Fermata",
            };
            let n = self.numbered.len() + 1;
            let n = *self.numbered.entry(id.clone()).or_insert(n);
            #[allow(clippy::cast_precision_loss)]
            let centre = |k: i64| ((k as f64) + 0.5) * GRID_DEG;
            Stop {
                name: format!("{label} {n}"),
                desc: String::new(),
                lon: round6(centre(i)),
                lat: round6(centre(j)),
                id,
            }
        };
        let id = stop.id.clone();
        self.by_id.entry(id.clone()).or_insert(stop);
        id
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The grid cell of a point in the coarsened feed.
///
/// ```
/// use dispatch::reports::gtfs::grid_cell;
/// assert_eq!(grid_cell(15.6352, 41.4893), (781, 2074));
/// assert_eq!(grid_cell(15.6395, 41.4955), (781, 2074), "the same settlement, one cell");
/// ```
#[must_use]
pub fn grid_cell(lon: f64, lat: f64) -> (i64, i64) {
    #[allow(clippy::cast_possible_truncation)]
    let cell = |x: f64| (x / GRID_DEG).floor() as i64;
    (cell(lon), cell(lat))
}

fn gtfs_time(t: NaiveTime) -> String {
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn gtfs_date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn secs_time(s: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = s.round().max(0.0) as u32;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Rows of one GTFS file: CSV, UTF-8 without a byte-order mark, `\n` line ends.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let field = |s: &str| {
        if s.contains(',') || s.contains('"') || s.contains('\n') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = header.join(",") + "\n";
    for r in rows {
        out.push_str(&r.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Builds the feed of a region as a zip (files stored uncompressed, fixed timestamps, so the
/// same data gives the same bytes).
///
/// # Errors
/// Database errors; an internal error if the zip cannot be written.
#[allow(clippy::too_many_lines)]
pub async fn build(
    conn: &mut PgConnection,
    region: &str,
    today: NaiveDate,
    coarsened: bool,
) -> AppResult<Vec<u8>> {
    let agency_url: String = sqlx::query_scalar("select gtfs_agency_url from programme_config")
        .fetch_one(&mut *conn)
        .await?;
    let region_name: String = sqlx::query_scalar("select name from region where region_code = $1")
        .bind(region)
        .fetch_one(&mut *conn)
        .await?;
    let lines: Vec<LineRow> = sqlx::query_as(
        "select line_id, name, season_start, season_end, operating_days from work_line
         where region_code = $1 and season_end >= $2 order by name, line_id",
    )
    .bind(region)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    let line_stops: Vec<StopRow> = sqlx::query_as(
        "select s.line_id, s.stop_time, s.place_id, s.meeting_point_id, p.name as place_name,
                p.kind::text as place_kind, m.name as meeting_point_name, m.landmark,
                st_x(coalesce(m.location, p.location)::geometry) as lon,
                st_y(coalesce(m.location, p.location)::geometry) as lat
         from work_line_stop s
         join work_line l on l.line_id = s.line_id
         join place p on p.place_id = s.place_id
         left join meeting_point m on m.meeting_point_id = s.meeting_point_id
         where l.region_code = $1 and l.season_end >= $2
         order by s.line_id, s.seq",
    )
    .bind(region)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    let digits: i32 = if coarsened { 3 } else { 6 };
    let areas: Vec<AreaRow> = sqlx::query_as(
        "select service_area_id, name, st_asgeojson(area::geometry, $2) as geojson
         from service_area where region_code = $1 order by name, service_area_id",
    )
    .bind(region)
    .bind(digits)
    .fetch_all(&mut *conn)
    .await?;
    let area_points: Vec<AreaPoint> = sqlx::query_as(
        "select a.service_area_id, p.place_id, m.meeting_point_id, p.name as place_name,
                p.kind::text as place_kind, m.name as meeting_point_name, m.landmark,
                st_x(m.location::geometry) as lon, st_y(m.location::geometry) as lat
         from service_area a
         join meeting_point m on m.region_code = a.region_code and st_covers(a.area, m.location)
         join place p on p.place_id = m.place_id
         where a.region_code = $1
         order by a.service_area_id, p.name, m.name, m.meeting_point_id",
    )
    .bind(region)
    .fetch_all(&mut *conn)
    .await?;

    let mut stops = Stops {
        coarsened,
        by_id: BTreeMap::new(),
        numbered: BTreeMap::new(),
    };
    let agency_id = "supreme2";
    let mut routes = Vec::new();
    let mut trips = Vec::new();
    let mut stop_times = Vec::new();
    let mut calendar = Vec::new();
    let mut first_day = today;
    let mut last_day = today + Days::new(364);
    for (n, l) in lines.iter().enumerate() {
        let route_name = if coarsened {
            format!("Linea lavoro {}", n + 1)
        } else {
            l.name.clone()
        };
        routes.push(vec![
            l.line_id.to_string(),
            agency_id.into(),
            format!("L{}", n + 1),
            route_name,
            "Linea lavoro: trasporto al lavoro riservato alle persone seguite dai Poli".into(),
            "3".into(),
        ]);
        let service_id = format!("season-{}", l.line_id);
        let trip_id = format!("line-{}", l.line_id);
        let mut row = vec![service_id.clone()];
        for day in 1..=7i16 {
            row.push(
                if l.operating_days.contains(&day) {
                    "1"
                } else {
                    "0"
                }
                .into(),
            );
        }
        row.push(gtfs_date(l.season_start));
        row.push(gtfs_date(l.season_end));
        calendar.push(row);
        first_day = first_day.min(l.season_start);
        last_day = last_day.max(l.season_end);
        // Consecutive stops that become the same stop (coarsened) are merged, unless that
        // would leave a trip of one stop (a short line within one cell): then its first and
        // last stops stay, both in the cell.
        let mut seq: Vec<(String, NaiveTime, NaiveTime)> = Vec::new();
        let of_line: Vec<&StopRow> = line_stops
            .iter()
            .filter(|s| s.line_id == l.line_id)
            .collect();
        for s in &of_line {
            let id = stops.stop(
                s.place_id,
                s.meeting_point_id,
                &s.place_name,
                &s.place_kind,
                s.meeting_point_name.as_deref(),
                s.landmark.as_deref(),
                s.lon,
                s.lat,
            );
            match seq.last_mut() {
                Some(last) if last.0 == id => last.2 = s.stop_time,
                _ => seq.push((id, s.stop_time, s.stop_time)),
            }
        }
        if let ([(id, first, _)], [.., last]) = (seq.as_slice(), of_line.as_slice()) {
            let (id, first) = (id.clone(), *first);
            seq = vec![
                (id.clone(), first, first),
                (id, last.stop_time, last.stop_time),
            ];
        }
        let headsign = seq
            .last()
            .and_then(|(id, _, _)| stops.by_id.get(id))
            .map(|s| s.name.clone())
            .unwrap_or_default();
        trips.push(vec![
            l.line_id.to_string(),
            service_id,
            trip_id.clone(),
            headsign,
        ]);
        for (i, (id, arrive, depart)) in seq.iter().enumerate() {
            stop_times.push(vec![
                trip_id.clone(),
                gtfs_time(*arrive),
                gtfs_time(*depart),
                id.clone(),
                String::new(),
                String::new(),
                (i + 1).to_string(),
                String::new(),
                String::new(),
                "0".into(),
                "0".into(),
                String::new(),
                String::new(),
            ]);
        }
    }

    // GTFS-Flex: per service area, a trip from its meeting points (a location group) to
    // anywhere in the area (a zone), every day within the fleet's hours, booked through a Polo.
    let mut groups = Vec::new();
    let mut group_stops = Vec::new();
    let mut features = Vec::new();
    let window = (
        secs_time(crate::runs::SHIFT_START_S),
        secs_time(crate::runs::SHIFT_END_S),
    );
    let on_demand_service = "on-demand";
    let mut any_area = false;
    for (n, a) in areas.iter().enumerate() {
        let zone_id = format!("area-{}", a.service_area_id);
        let group_id = format!("group-{}", a.service_area_id);
        let area_name = if coarsened {
            format!("Area servizio a chiamata {}", n + 1)
        } else {
            a.name.clone()
        };
        let geometry: serde_json::Value = serde_json::from_str(&a.geojson)
            .map_err(|e| anyhow::anyhow!("service area GeoJSON: {e}"))?;
        features.push(serde_json::json!({
            "type": "Feature",
            "id": zone_id,
            "properties": { "stop_name": area_name, "stop_desc": "Area del servizio a chiamata" },
            "geometry": geometry,
        }));
        let members: BTreeSet<String> = area_points
            .iter()
            .filter(|m| m.service_area_id == a.service_area_id)
            .map(|m| {
                stops.stop(
                    m.place_id,
                    m.meeting_point_id,
                    &m.place_name,
                    &m.place_kind,
                    m.meeting_point_name.as_deref(),
                    m.landmark.as_deref(),
                    m.lon,
                    m.lat,
                )
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        any_area = true;
        groups.push(vec![
            group_id.clone(),
            format!("Punti di incontro - {area_name}"),
        ]);
        for m in &members {
            group_stops.push(vec![group_id.clone(), m.clone()]);
        }
        let route_id = format!("on-demand-{}", a.service_area_id);
        routes.push(vec![
            route_id.clone(),
            agency_id.into(),
            format!("C{}", n + 1),
            format!("Servizio a chiamata - {area_name}"),
            "Corse a chiamata dai punti di incontro, prenotate dal Polo".into(),
            "3".into(),
        ]);
        let trip_id = format!("on-demand-{}", a.service_area_id);
        trips.push(vec![
            route_id,
            on_demand_service.into(),
            trip_id.clone(),
            area_name.clone(),
        ]);
        let flex = |seq: &str, group: &str, zone: &str, pickup: &str, drop: &str| {
            vec![
                trip_id.clone(),
                String::new(),
                String::new(),
                String::new(),
                group.to_owned(),
                zone.to_owned(),
                seq.to_owned(),
                window.0.clone(),
                window.1.clone(),
                pickup.to_owned(),
                drop.to_owned(),
                if pickup == "2" { "polo" } else { "" }.to_owned(),
                if drop == "2" { "polo" } else { "" }.to_owned(),
            ]
        };
        stop_times.push(flex("1", &group_id, "", "2", "1"));
        stop_times.push(flex("2", "", &zone_id, "1", "2"));
    }
    if any_area {
        calendar.push(vec![
            on_demand_service.into(),
            "1".into(),
            "1".into(),
            "1".into(),
            "1".into(),
            "1".into(),
            "1".into(),
            "1".into(),
            gtfs_date(today),
            gtfs_date(today + Days::new(364)),
        ]);
    }

    let mut files: Vec<(&str, String)> = vec![
        (
            "agency.txt",
            table(
                &[
                    "agency_id",
                    "agency_name",
                    "agency_url",
                    "agency_timezone",
                    "agency_lang",
                ],
                &[vec![
                    agency_id.into(),
                    format!("Su.Pr.Eme. 2 - Passaggio ({region_name})"),
                    agency_url.clone(),
                    "Europe/Rome".into(),
                    "it".into(),
                ]],
            ),
        ),
        (
            "feed_info.txt",
            table(
                &[
                    "feed_publisher_name",
                    "feed_publisher_url",
                    "feed_lang",
                    "feed_start_date",
                    "feed_end_date",
                    "feed_version",
                    "feed_contact_url",
                ],
                &[vec![
                    "Programma Su.Pr.Eme. 2".into(),
                    agency_url.clone(),
                    "it".into(),
                    gtfs_date(first_day),
                    gtfs_date(last_day),
                    format!(
                        "{}{}",
                        today.format("%Y%m%d"),
                        if coarsened { "-public" } else { "" }
                    ),
                    agency_url.clone(),
                ]],
            ),
        ),
        (
            "stops.txt",
            table(
                &[
                    "stop_id",
                    "stop_name",
                    "stop_desc",
                    "stop_lat",
                    "stop_lon",
                    "location_type",
                ],
                &stops
                    .by_id
                    .values()
                    .map(|s| {
                        vec![
                            s.id.clone(),
                            s.name.clone(),
                            s.desc.clone(),
                            format!("{:.6}", s.lat),
                            format!("{:.6}", s.lon),
                            "0".into(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "routes.txt",
            table(
                &[
                    "route_id",
                    "agency_id",
                    "route_short_name",
                    "route_long_name",
                    "route_desc",
                    "route_type",
                ],
                &routes,
            ),
        ),
        (
            "trips.txt",
            table(
                &["route_id", "service_id", "trip_id", "trip_headsign"],
                &trips,
            ),
        ),
        (
            "stop_times.txt",
            table(
                &[
                    "trip_id",
                    "arrival_time",
                    "departure_time",
                    "stop_id",
                    "location_group_id",
                    "location_id",
                    "stop_sequence",
                    "start_pickup_drop_off_window",
                    "end_pickup_drop_off_window",
                    "pickup_type",
                    "drop_off_type",
                    "pickup_booking_rule_id",
                    "drop_off_booking_rule_id",
                ],
                &stop_times,
            ),
        ),
        (
            "calendar.txt",
            table(
                &[
                    "service_id",
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                    "start_date",
                    "end_date",
                ],
                &calendar,
            ),
        ),
    ];
    if any_area {
        files.push((
            "booking_rules.txt",
            table(
                &[
                    "booking_rule_id",
                    "booking_type",
                    "prior_notice_duration_min",
                    "message",
                    "info_url",
                ],
                &[vec![
                    "polo".into(),
                    "1".into(),
                    PRIOR_NOTICE_MIN.to_string(),
                    "Servizio riservato alle persone seguite dai Poli Sociali Integrati: \
                     prenotazione tramite l'operatore o il mediatore del proprio Polo."
                        .into(),
                    agency_url.clone(),
                ]],
            ),
        ));
        files.push((
            "location_groups.txt",
            table(&["location_group_id", "location_group_name"], &groups),
        ));
        files.push((
            "location_group_stops.txt",
            table(&["location_group_id", "stop_id"], &group_stops),
        ));
        files.push((
            "locations.geojson",
            serde_json::to_string_pretty(&serde_json::json!({
                "type": "FeatureCollection",
                "features": features,
            }))
            .map_err(|e| anyhow::anyhow!("locations.geojson: {e}"))?,
        ));
    }
    zip_files(&files).map_err(|e| AppError::Internal(anyhow::anyhow!("writing the zip: {e}")))
}

fn zip_files(files: &[(&str, String)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, content) in files {
        w.start_file(*name, options)?;
        w.write_all(content.as_bytes())?;
    }
    Ok(w.finish()?.into_inner())
}
