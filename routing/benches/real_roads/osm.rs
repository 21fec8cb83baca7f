//! Just enough of an OpenStreetMap XML reader to place a scenario on real locations.
//!
//! Reads the `.osm` / `.osm.gz` extracts in `../shared/osm` line by line (they are written one
//! element per line, as Overpass and osmosis do) and keeps: node positions, `place=*` nodes
//! (settlements), `landuse=farmyard|farm` areas (farms), `amenity=*` points (appointments,
//! depots) and the highway ways (to find dead ends of country roads).
//! It is a test-data reader, not a general OSM parser: attributes must be double-quoted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use routing::matrix::Location;

/// A named point of interest.
#[derive(Debug, Clone)]
pub struct Poi {
    /// OSM id of the node (for a way, its first node).
    pub id: i64,
    /// Tag value that selected it, e.g. `hamlet`, `farmyard`, `parking`.
    pub kind: String,
    /// `name=*`, or empty.
    pub name: String,
    /// Position (for an area, the mean of its nodes).
    pub location: Location,
}

/// What the scenario needs from an extract.
#[derive(Debug, Default)]
pub struct Extract {
    /// Settlements: `place=village|hamlet|isolated_dwelling|town`.
    pub places: Vec<Poi>,
    /// Farms: `landuse=farmyard|farm` areas.
    pub farms: Vec<Poi>,
    /// Amenities (nodes and areas), by kind.
    pub amenities: Vec<Poi>,
    /// Ends of car roads (`unclassified`, `service`, `residential`) that join no other road.
    pub road_dead_ends: Vec<Poi>,
    /// Nodes of streets where people live (`residential`, `living_street`): door-to-door pickups.
    pub street_nodes: Vec<Poi>,
}

#[derive(Default)]
struct Element {
    kind: &'static str,
    id: i64,
    location: Option<Location>,
    refs: Vec<i64>,
    tags: Vec<(String, String)>,
}

impl Element {
    fn tag(&self, k: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an extract (`.gz` is decompressed on the fly).
///
/// # Errors
/// I/O errors and malformed numbers.
pub fn read(path: &Path) -> std::io::Result<Extract> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut nodes: HashMap<i64, Location> = HashMap::new();
    let mut out = Extract::default();
    let mut road_ends: HashMap<i64, u32> = HashMap::new();
    let mut road_nodes: HashMap<i64, u32> = HashMap::new();
    let mut streets: Vec<i64> = Vec::new();
    let mut current: Option<Element> = None;
    for line in BufReader::new(reader).lines() {
        let line = line?;
        let t = line.trim_start();
        if t.starts_with("<node ") || t.starts_with("<way ") {
            let kind = if t.starts_with("<node") {
                "node"
            } else {
                "way"
            };
            let mut e = Element {
                kind,
                id: attr(t, "id").and_then(|v| v.parse().ok()).unwrap_or(0),
                ..Element::default()
            };
            if let (Some(lat), Some(lon)) = (attr(t, "lat"), attr(t, "lon")) {
                let loc = Location {
                    lon: lon.parse().map_err(bad)?,
                    lat: lat.parse().map_err(bad)?,
                };
                nodes.insert(e.id, loc);
                e.location = Some(loc);
            }
            if t.ends_with("/>") {
                finish(
                    &e,
                    &nodes,
                    &mut out,
                    &mut road_ends,
                    &mut road_nodes,
                    &mut streets,
                );
            } else {
                current = Some(e);
            }
        } else if t.starts_with("<tag ") {
            if let (Some(e), Some(k), Some(v)) = (current.as_mut(), attr(t, "k"), attr(t, "v")) {
                e.tags.push((k, v));
            }
        } else if t.starts_with("<nd ") {
            if let (Some(e), Some(r)) = (current.as_mut(), attr(t, "ref")) {
                e.refs.push(r.parse().map_err(bad)?);
            }
        } else if t.starts_with("</node>") || t.starts_with("</way>") {
            if let Some(e) = current.take() {
                finish(
                    &e,
                    &nodes,
                    &mut out,
                    &mut road_ends,
                    &mut road_nodes,
                    &mut streets,
                );
            }
        }
    }
    // A dead end: the end of exactly one car road, and on no other road.
    let mut ends: Vec<i64> = road_ends
        .iter()
        .filter(|(id, &n)| n == 1 && road_nodes.get(id) == Some(&1))
        .map(|(id, _)| *id)
        .collect();
    ends.sort_unstable();
    out.road_dead_ends = ends
        .into_iter()
        .filter_map(|id| {
            nodes.get(&id).map(|&location| Poi {
                id,
                kind: "dead_end".to_owned(),
                name: String::new(),
                location,
            })
        })
        .collect();
    streets.sort_unstable();
    streets.dedup();
    out.street_nodes = streets
        .into_iter()
        .filter_map(|id| {
            nodes.get(&id).map(|&location| Poi {
                id,
                kind: "street".to_owned(),
                name: String::new(),
                location,
            })
        })
        .collect();
    Ok(out)
}

fn finish(
    e: &Element,
    nodes: &HashMap<i64, Location>,
    out: &mut Extract,
    road_ends: &mut HashMap<i64, u32>,
    road_nodes: &mut HashMap<i64, u32>,
    streets: &mut Vec<i64>,
) {
    let location = match e.kind {
        "node" => e.location,
        _ => centroid(&e.refs, nodes),
    };
    let Some(location) = location else { return };
    let poi = |kind: &str| Poi {
        id: if e.kind == "node" {
            e.id
        } else {
            e.refs.first().copied().unwrap_or(e.id)
        },
        kind: kind.to_owned(),
        name: e.tag("name").unwrap_or("").to_owned(),
        location,
    };
    if let Some(p) = e.tag("place") {
        if e.kind == "node" && matches!(p, "village" | "hamlet" | "isolated_dwelling" | "town") {
            out.places.push(poi(p));
        }
    }
    if let Some(l) = e.tag("landuse") {
        if matches!(l, "farmyard" | "farm") {
            out.farms.push(poi(l));
        }
    }
    if let Some(a) = e.tag("amenity") {
        out.amenities.push(poi(a));
    }
    if e.kind == "way" {
        if let Some(h) = e.tag("highway") {
            let car = matches!(
                h,
                "motorway"
                    | "motorway_link"
                    | "primary"
                    | "primary_link"
                    | "secondary"
                    | "tertiary"
                    | "unclassified"
                    | "residential"
                    | "service"
                    | "living_street"
            );
            if car {
                for r in &e.refs {
                    *road_nodes.entry(*r).or_default() += 1;
                }
                if matches!(h, "residential" | "living_street") {
                    streets.extend(&e.refs);
                }
                // Interior nodes can join other roads too; count them as non-ends.
                if matches!(h, "unclassified" | "service" | "residential") && e.refs.len() >= 2 {
                    for end in [e.refs[0], e.refs[e.refs.len() - 1]] {
                        *road_ends.entry(end).or_default() += 1;
                    }
                }
            }
        }
    }
}

fn centroid(refs: &[i64], nodes: &HashMap<i64, Location>) -> Option<Location> {
    let pts: Vec<Location> = refs.iter().filter_map(|r| nodes.get(r).copied()).collect();
    if pts.is_empty() {
        return None;
    }
    let n = pts.len() as f64;
    Some(Location {
        lon: pts.iter().map(|p| p.lon).sum::<f64>() / n,
        lat: pts.iter().map(|p| p.lat).sum::<f64>() / n,
    })
}

/// The value of `name="..."` in an XML start tag, with the five XML entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}=\"");
    let start = tag.find(&pat)? + pat.len();
    let end = start + tag[start..].find('"')?;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn bad<E: std::error::Error + Send + Sync + 'static>(e: E) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}
