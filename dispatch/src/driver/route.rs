//! The run's path for the driver's map: road geometry from the travel-time provider (OSRM
//! where configured) leg by leg, or straight lines between the stops. Asked after the
//! manifest's transaction (no pooled connection is held while the provider answers) and
//! bounded in time: the map is a help, the manifest must not wait for it.

use routing::matrix::Location;
use serde::Serialize;

use crate::state::AppState;

/// The run's path for the phone's map: road geometry from the travel-time provider (OSRM
/// where configured), or straight lines between the stops (`estimated`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RouteGeometry {
    /// True when any part is a straight-line sketch rather than roads.
    estimated: bool,
    /// `[lon, lat]` points from the first stop to the last.
    coordinates: Vec<[f64; 2]>,
}

impl RouteGeometry {
    /// True when any part is a straight-line sketch rather than roads.
    #[must_use]
    pub fn estimated(&self) -> bool {
        self.estimated
    }

    /// `[lon, lat]` points from the first stop to the last.
    #[must_use]
    pub fn points(&self) -> &[[f64; 2]] {
        &self.coordinates
    }
}

/// How long the manifest waits for road geometry before drawing straight lines.
const ROUTE_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// The path through `stops` (lon, lat) in order (consecutive stops at the same point count once); never
/// fails: a leg the provider cannot give, or all of them after [`ROUTE_BUDGET`], is a
/// straight line.
pub async fn route_through(state: &AppState, stops: &[(f64, f64)]) -> RouteGeometry {
    let mut points: Vec<Location> = Vec::new();
    for &(lon, lat) in stops {
        let p = Location { lon, lat };
        if points.last() != Some(&p) {
            points.push(p);
        }
    }
    let straight = RouteGeometry {
        estimated: true,
        coordinates: points.iter().map(|p| [p.lon, p.lat]).collect(),
    };
    let roads = async {
        let mut out = RouteGeometry {
            estimated: false,
            coordinates: Vec::new(),
        };
        for leg in points.windows(2) {
            match state.travel.route(leg[0], leg[1]).await {
                Ok(r) if !r.geometry.is_empty() => {
                    out.estimated |= r.estimated;
                    out.coordinates
                        .extend(r.geometry.iter().map(|p| [p.lon, p.lat]));
                }
                _ => {
                    out.estimated = true;
                    out.coordinates
                        .extend([[leg[0].lon, leg[0].lat], [leg[1].lon, leg[1].lat]]);
                }
            }
        }
        out
    };
    match tokio::time::timeout(ROUTE_BUDGET, roads).await {
        Ok(r) if points.len() > 1 => r,
        _ => straight,
    }
}
