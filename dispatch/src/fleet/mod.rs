//! The fleet: vehicles (seats, wheelchair places, operator, depot, costs) and drivers.

pub mod db;
pub mod http;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::geo::{non_blank, LonLat};

/// A vehicle to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewVehicle {
    /// Region.
    pub region_code: String,
    /// Plate or fleet number.
    pub label: String,
    /// Passenger seats.
    pub seats: i16,
    /// Wheelchair places.
    #[serde(default)]
    pub wheelchair_places: i16,
    /// Operating company or association.
    pub operator: String,
    /// Name of the depot.
    pub depot_name: String,
    /// Depot position.
    pub depot: LonLat,
    /// Cost per km, cents.
    pub cost_per_km_cents: i32,
    /// Cost per hour, cents.
    pub cost_per_hour_cents: i32,
}

impl NewVehicle {
    /// Checks every field.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(mut self) -> AppResult<Self> {
        self.label = non_blank("label", &self.label)?;
        self.operator = non_blank("operator", &self.operator)?;
        self.depot_name = non_blank("depot_name", &self.depot_name)?;
        self.depot = self.depot.validate("depot")?;
        if !(1..=80).contains(&self.seats) {
            return Err(AppError::invalid("seats", "1..80 passenger seats"));
        }
        if !(0..=self.seats).contains(&self.wheelchair_places) {
            return Err(AppError::invalid("wheelchair_places", "0..seats"));
        }
        if self.cost_per_km_cents < 0 {
            return Err(AppError::invalid(
                "cost_per_km_cents",
                "must not be negative",
            ));
        }
        if self.cost_per_hour_cents < 0 {
            return Err(AppError::invalid(
                "cost_per_hour_cents",
                "must not be negative",
            ));
        }
        Ok(self)
    }
}

/// A vehicle as returned by the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Vehicle {
    /// Region.
    pub region_code: String,
    /// Id.
    pub vehicle_id: Uuid,
    /// Label.
    pub label: String,
    /// Seats.
    pub seats: i16,
    /// Wheelchair places.
    pub wheelchair_places: i16,
    /// Operator.
    pub operator: String,
    /// Depot name.
    pub depot_name: String,
    /// Depot longitude.
    pub lon: f64,
    /// Depot latitude.
    pub lat: f64,
    /// Cost per km, cents.
    pub cost_per_km_cents: i32,
    /// Cost per hour, cents.
    pub cost_per_hour_cents: i32,
    /// In service.
    pub active: bool,
    /// Metres from the query position.
    pub distance_m: Option<f64>,
}

/// A driver to create, with their login.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDriver {
    /// Region.
    pub region_code: String,
    /// Login name.
    pub username: String,
    /// Initial password (at least 10 characters).
    pub password: String,
    /// Name.
    pub display_name: String,
    /// Operator.
    pub operator: String,
}

/// A driver as returned by the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Driver {
    /// Region.
    pub region_code: String,
    /// Id.
    pub driver_id: Uuid,
    /// Login.
    pub staff_id: Uuid,
    /// Name.
    pub display_name: String,
    /// Operator.
    pub operator: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn van() -> NewVehicle {
        NewVehicle {
            region_code: "puglia".into(),
            label: "FG-01".into(),
            seats: 8,
            wheelchair_places: 1,
            operator: "Coop".into(),
            depot_name: "Foggia".into(),
            depot: LonLat {
                lon: 15.54,
                lat: 41.46,
            },
            cost_per_km_cents: 45,
            cost_per_hour_cents: 2200,
        }
    }

    #[test]
    fn more_wheelchair_places_than_seats_are_rejected() {
        let v = NewVehicle {
            wheelchair_places: 9,
            ..van()
        };
        assert!(
            matches!(v.validate(), Err(AppError::Validation { field, .. }) if field == "wheelchair_places")
        );
    }

    #[test]
    fn a_plain_van_passes() {
        assert!(van().validate().is_ok());
    }
}
