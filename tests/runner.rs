//! End-to-end tests of the built `rev` binary, in one test binary (as jj does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common;
mod test_autogenerate;
mod test_cache;
mod test_check_misses;
mod test_cli;
mod test_conflicts;
mod test_fleet_faults;
mod test_fleets;
mod test_import;
mod test_mssql_scripts;
mod test_offline;
mod test_polish;
mod test_rebase_postgres;
mod test_resume;
mod test_servers;
mod test_signals;
mod test_sqlite;
mod test_squash;
