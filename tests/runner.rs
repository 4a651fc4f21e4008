//! End-to-end tests of the built `rev` binary, in one test binary (as jj does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common;
mod test_autogenerate;
mod test_cli;
mod test_mssql_scripts;
mod test_offline;
mod test_polish;
mod test_servers;
mod test_sqlite;
