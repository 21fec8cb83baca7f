//! Helpers for the end-to-end tests in main.rs.
