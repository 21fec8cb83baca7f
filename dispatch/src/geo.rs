//! Points at the SQL boundary: longitude then latitude in WGS84 degrees, validated on the way in.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

impl From<routing::matrix::Location> for LonLat {
    fn from(l: routing::matrix::Location) -> Self {
        LonLat {
            lon: l.lon,
            lat: l.lat,
        }
    }
}

/// A position as clients send it and as the service returns it.
#[derive(
    Debug, Clone, Copy, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema,
)]
pub struct LonLat {
    /// Longitude, -180..=180.
    pub lon: f64,
    /// Latitude, -90..=90.
    pub lat: f64,
}

impl LonLat {
    /// Checks the ranges; `field` is the body path of the point, e.g. `location` (empty for
    /// query parameters `lon`/`lat`).
    ///
    /// # Errors
    /// A validation error on `field.lon` or `field.lat`.
    pub fn validate(self, field: &str) -> Result<Self, AppError> {
        let path = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };
        if !(self.lat.is_finite() && (-90.0..=90.0).contains(&self.lat)) {
            return Err(AppError::invalid(
                path("lat"),
                format!("latitude {} is outside -90..90", self.lat),
            ));
        }
        if !(self.lon.is_finite() && (-180.0..=180.0).contains(&self.lon)) {
            return Err(AppError::invalid(
                path("lon"),
                format!("longitude {} is outside -180..180", self.lon),
            ));
        }
        Ok(self)
    }
}

/// SQL expression turning two bind parameters (lon, lat) into a geography point.
#[macro_export]
macro_rules! sql_point {
    ($lon:literal, $lat:literal) => {
        concat!(
            "st_setsrid(st_makepoint(",
            $lon,
            ", ",
            $lat,
            "), 4326)::geography"
        )
    };
}

/// Rejects a blank text field.
///
/// # Errors
/// A validation error on `field`.
pub fn non_blank(field: &str, value: &str) -> Result<String, AppError> {
    let t = value.trim();
    if t.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latitude_of_123_names_the_field() {
        let err = LonLat {
            lon: 15.5,
            lat: 123.0,
        }
        .validate("location")
        .unwrap_err();
        assert!(matches!(err, AppError::Validation { ref field, .. } if field == "location.lat"));
    }

    #[test]
    fn valid_points_pass() {
        assert!(LonLat {
            lon: 15.54,
            lat: 41.46
        }
        .validate("location")
        .is_ok());
    }
}
