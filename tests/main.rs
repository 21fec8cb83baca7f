//! End-to-end tests: the real dispatch service on a real port, over real HTTP, against a
//! per-test PostGIS database (`sqlx::test` creates and migrates it; `DATABASE_URL` names the
//! server, which `make test` starts).

mod auth_scoping;
mod authz_matrix;
mod budgets;
mod console;
mod crash;
mod dispatch_day;
mod driver;
mod driver_app;
mod fuzz;
mod ledger_caps;
mod lines;
mod operating_day;
mod pages;
mod places;
mod races;
mod reliability;
mod reports;
mod rides;
mod schema;
mod service;
mod validation;
mod whole_day;
mod workers;
