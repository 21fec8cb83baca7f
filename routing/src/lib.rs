//! Passaggio's routing engine: dial-a-ride optimisation and travel-time providers.
//!
//! Layout:
//! - [`matrix`]: travel-time / distance matrices between locations (seconds, metres), with
//!   unreachable pairs kept explicit.
//!
//! The crate does no I/O apart from the travel-time providers, and never touches a database.
#![warn(missing_docs)]

pub mod matrix;
