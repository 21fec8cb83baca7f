//! The real-roads scenario: placement of the hub, depots, settlements and workplaces on real
//! OSM locations, a day of demand, and its planning. (Filled in below.)

use routing::matrix::Location;

use crate::osm::{Extract, Poi};
use crate::Args;

/// South-west and north-east corners of the places in the extract.
pub fn bounds(extract: &Extract) -> (Location, Location) {
    let pois = all_pois(extract);
    let mut sw = Location {
        lon: f64::MAX,
        lat: f64::MAX,
    };
    let mut ne = Location {
        lon: f64::MIN,
        lat: f64::MIN,
    };
    for p in &pois {
        sw.lon = sw.lon.min(p.location.lon);
        sw.lat = sw.lat.min(p.location.lat);
        ne.lon = ne.lon.max(p.location.lon);
        ne.lat = ne.lat.max(p.location.lat);
    }
    (sw, ne)
}

/// Every point of interest the scenario may use.
pub fn all_pois(extract: &Extract) -> Vec<Poi> {
    extract
        .places
        .iter()
        .chain(&extract.farms)
        .chain(&extract.amenities)
        .chain(&extract.road_dead_ends)
        .cloned()
        .collect()
}

/// Runs the scenario.
pub async fn run(_args: &Args) -> Result<(), String> {
    Err("scenario: not written yet".to_owned())
}
