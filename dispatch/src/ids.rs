//! Typed ids of the main aggregates: a case id can no longer be passed where a run id is
//! expected. Each is a UUID underneath, transparent in JSON and in SQL (binds and `FromRow`
//! columns take them as they are).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id! {
    /// A ride request (`ride_request`, owned by bookings).
    RideRequestId,
    /// A run of a vehicle on a day (`run`, owned by runs).
    RunId,
    /// A case, *presa in carico* (`care_case`, owned by cases).
    CaseId,
    /// A person (`person`, owned by cases).
    PersonId,
    /// A funding source (`funding_source`, owned by budgets).
    FundingSourceId,
    /// A vehicle (`vehicle`, owned by fleet).
    VehicleId,
    /// A driver (`driver`, owned by fleet).
    DriverId,
    /// A staff login (`staff`, owned by auth).
    StaffId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_uuids_in_json() {
        let id = RunId(Uuid::from_u128(7));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", Uuid::from_u128(7)));
        let back: RunId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }
}
