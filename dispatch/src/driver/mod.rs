//! The drivers' HTTP face (`/driver/api/*`): a driver's runs of a day, today's manifest, stop
//! events and position reports from the phone. It owns no table and no state machine: runs,
//! stops, stop events and positions belong to [`crate::runs`] (its `driving` part), which this
//! module calls; the driver row behind a login belongs to [`crate::fleet`].
//!
//! Refusals: a login that is not a driver → 403; a run that is not the caller's → 404.

pub mod http;
pub mod route;
