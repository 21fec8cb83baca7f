//! Poli Sociali Integrati, places (settlements, workplaces, public offices) and the meeting
//! points of settlements. Every location is a PostGIS geography point (WGS84).
//!
//! Invariants: a spoke belongs to a hub of the same region, a hub to none; an informal place is
//! a settlement; a meeting point has a landmark a person can find without a map.

pub mod db;
pub mod http;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::{non_blank, LonLat};

/// Hub or spoke.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "polo_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PoloKind {
    /// A main Polo.
    Hub,
    /// An outlying Polo that belongs to a hub.
    Spoke,
}

/// Kind of territory a Polo serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "area_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// Town centre.
    Urban,
    /// Edge of a town.
    Periurban,
    /// Countryside.
    Rural,
}

/// What a place is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "place_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// Where people live, possibly an informal camp.
    Settlement,
    /// A farm.
    Farm,
    /// A packing house.
    PackingHouse,
    /// Police immigration office.
    Questura,
    /// Local health authority.
    Asl,
    /// Job centre (Centro per l'impiego).
    JobCentre,
    /// Town hall.
    Municipality,
    /// Any other public office.
    OtherOffice,
}

/// An opening period of a Polo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpeningPeriod {
    /// Days, e.g. `["mon", "tue"]`.
    pub days: Vec<String>,
    /// Opening time, `HH:MM`.
    pub opens: String,
    /// Closing time, `HH:MM`.
    pub closes: String,
}

/// A Polo to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPolo {
    /// Region code, e.g. `puglia`.
    pub region_code: String,
    /// Name.
    pub name: String,
    /// Hub or spoke.
    pub kind: PoloKind,
    /// The hub of a spoke.
    pub hub_polo_id: Option<Uuid>,
    /// Territory served.
    pub area: AreaKind,
    /// Organisation managing the Polo.
    pub managing_org: String,
    /// Position.
    pub location: LonLat,
    /// Opening hours.
    #[serde(default)]
    pub opening_hours: Vec<OpeningPeriod>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
}

impl NewPolo {
    /// Checks every field, naming the first wrong one.
    ///
    /// # Errors
    /// A validation error.
    pub fn validate(mut self) -> AppResult<Self> {
        self.name = non_blank("name", &self.name)?;
        self.managing_org = non_blank("managing_org", &self.managing_org)?;
        self.location = self.location.validate("location")?;
        match (self.kind, self.hub_polo_id) {
            (PoloKind::Hub, Some(_)) => {
                return Err(AppError::invalid(
                    "hub_polo_id",
                    "a hub belongs to no other Polo",
                ))
            }
            (PoloKind::Spoke, None) => {
                return Err(AppError::invalid(
                    "hub_polo_id",
                    "a spoke needs the id of its hub",
                ))
            }
            _ => {}
        }
        for (i, p) in self.opening_hours.iter().enumerate() {
            if let Some(d) = p.days.iter().find(|d| !DAYS.contains(&d.as_str())) {
                return Err(AppError::invalid(
                    format!("opening_hours.{i}.days"),
                    format!("unknown day {d:?}; use mon..sun"),
                ));
            }
            let (Some(o), Some(c)) = (parse_hhmm(&p.opens), parse_hhmm(&p.closes)) else {
                return Err(AppError::invalid(
                    format!("opening_hours.{i}"),
                    "times are HH:MM",
                ));
            };
            if c <= o {
                return Err(AppError::invalid(
                    format!("opening_hours.{i}.closes"),
                    "closes before it opens",
                ));
            }
        }
        Ok(self)
    }
}

/// A Polo as returned by the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Polo {
    /// Region.
    pub region_code: String,
    /// Id.
    pub polo_id: Uuid,
    /// Name.
    pub name: String,
    /// Hub or spoke.
    pub kind: PoloKind,
    /// Hub of a spoke.
    pub hub_polo_id: Option<Uuid>,
    /// Territory.
    pub area: AreaKind,
    /// Managing organisation.
    pub managing_org: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Opening hours.
    #[schema(value_type = Vec<OpeningPeriod>)]
    pub opening_hours: sqlx::types::Json<Vec<OpeningPeriod>>,
}

/// A place to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPlace {
    /// Region code.
    pub region_code: String,
    /// What it is.
    pub kind: PlaceKind,
    /// Name.
    pub name: String,
    /// An informal settlement (a camp with no address).
    #[serde(default)]
    pub informal: bool,
    /// Street address, if it has one.
    pub address: Option<String>,
    /// Position.
    pub location: LonLat,
}

impl NewPlace {
    /// Checks every field.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(mut self) -> AppResult<Self> {
        self.name = non_blank("name", &self.name)?;
        self.location = self.location.validate("location")?;
        if self.informal && self.kind != PlaceKind::Settlement {
            return Err(AppError::invalid(
                "informal",
                "only a settlement can be informal",
            ));
        }
        self.address = self
            .address
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        Ok(self)
    }
}

/// A place as returned by the API, with its distance when the query had a position.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Place {
    /// Region.
    pub region_code: String,
    /// Id.
    pub place_id: Uuid,
    /// What it is.
    pub kind: PlaceKind,
    /// Name.
    pub name: String,
    /// Informal settlement.
    pub informal: bool,
    /// Address, if any.
    pub address: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Metres from the query position.
    pub distance_m: Option<f64>,
}

/// A meeting point to create at a place.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewMeetingPoint {
    /// Name, e.g. "Ingresso nord".
    pub name: String,
    /// What a person looks for, e.g. "the water tank by the old hangar".
    pub landmark: String,
    /// Position.
    pub location: LonLat,
}

impl NewMeetingPoint {
    /// Checks every field.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(mut self) -> AppResult<Self> {
        self.name = non_blank("name", &self.name)?;
        self.landmark = non_blank("landmark", &self.landmark)?;
        self.location = self.location.validate("location")?;
        Ok(self)
    }
}

/// A meeting point as returned by the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MeetingPoint {
    /// Region.
    pub region_code: String,
    /// Id.
    pub meeting_point_id: Uuid,
    /// The place it belongs to.
    pub place_id: Uuid,
    /// The place's name.
    pub place_name: String,
    /// Name.
    pub name: String,
    /// Landmark.
    pub landmark: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Metres from the query position.
    pub distance_m: Option<f64>,
}

/// A service area: where the transport reaches (a position booked outside every area of its
/// region is refused).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ServiceArea {
    /// Region.
    pub region_code: String,
    /// Id.
    pub service_area_id: Uuid,
    /// The Polo it belongs to, if any.
    pub polo_id: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Area, km².
    pub area_km2: f64,
    /// GeoJSON of the area, for maps.
    pub geojson: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polo() -> NewPolo {
        NewPolo {
            region_code: "puglia".into(),
            name: "Polo Foggia".into(),
            kind: PoloKind::Hub,
            hub_polo_id: None,
            area: AreaKind::Urban,
            managing_org: "Comune".into(),
            location: LonLat {
                lon: 15.54,
                lat: 41.46,
            },
            opening_hours: vec![],
        }
    }

    fn field_of(r: AppResult<NewPolo>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_spoke_without_hub_is_rejected() {
        let p = NewPolo {
            kind: PoloKind::Spoke,
            ..polo()
        };
        assert_eq!(field_of(p.validate()), "hub_polo_id");
    }

    #[test]
    fn an_empty_name_is_rejected() {
        let p = NewPolo {
            name: "  ".into(),
            ..polo()
        };
        assert_eq!(field_of(p.validate()), "name");
    }

    #[test]
    fn opening_hours_that_close_before_opening_are_rejected() {
        let p = NewPolo {
            opening_hours: vec![OpeningPeriod {
                days: vec!["mon".into()],
                opens: "13:00".into(),
                closes: "09:00".into(),
            }],
            ..polo()
        };
        assert_eq!(field_of(p.validate()), "opening_hours.0.closes");
    }

    #[test]
    fn a_valid_polo_passes() {
        assert!(polo().validate().is_ok());
    }
}
