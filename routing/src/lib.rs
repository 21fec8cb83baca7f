//! Passaggio's routing engine: dial-a-ride optimisation and travel-time providers.
//!
//! Layout:
//! - [`matrix`]: travel-time / distance matrices between locations (seconds, metres), with
//!   unreachable pairs kept explicit.
//! - [`model`]: the problem (requests, vehicles, objective), with invariants enforced.
//! - [`solver`]: [`solve`] (regret insertion + adaptive large neighbourhood search).
//! - [`solution`]: routes with schedules, unserved requests with reasons.
//! - [`check`]: independent feasibility checker used by every test.
//! - [`instances`], [`bench`]: benchmark readers and the `routing bench` runner.
//! - [`dynamic`]: [`dynamic::insert`] / [`dynamic::reoptimise`] during the day, with a locked past.
//! - [`vroom`]: VROOM JSON input/output for `routing solve`.
//! - [`travel`]: travel-time providers (OSRM client, fallback model, cache, failover).
//!
//! The crate does no I/O apart from the travel-time providers, and never touches a database.
#![warn(missing_docs)]

pub mod bench;
pub mod check;
pub mod dynamic;
pub mod instances;
pub mod matrix;
pub mod model;
pub mod solution;
pub mod solver;
pub mod vroom;

pub use solver::{solve, Options};
pub mod travel;
