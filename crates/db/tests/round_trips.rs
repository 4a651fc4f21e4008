//! Round trips per migration, counted by the harness's proxy (DESIGN.md §6,
//! §9): a migration's statements, its version-row change and its history
//! row travel in as few round trips as the driver allows. The counts are
//! exact, so a change that adds one fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common_server;

use std::time::Duration;

use common_server::{raw_step, tables, TempDb};
use rev_bench::proxy::Proxy;
use rev_db::{Backend, DbError, Direction, Step};

/// How many one-table migrations each test runs.
const MIGRATIONS: u64 = 10;

/// Returns `url` with its `host:port` replaced by the proxy's address.
fn through(proxy: &Proxy, url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, rest) = rest.split_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    format!("{scheme}://{credentials}@{}/{path}", proxy.addr())
}

/// Returns the server address of a temporary database's URL.
fn server(url: &str) -> String {
    let rest = url.split_once('@').unwrap().1;
    rest.split_once('/').unwrap().0.to_owned()
}

/// Returns the linear history t0 → t9, each migration creating one table.
fn steps() -> Vec<Step> {
    (0..MIGRATIONS)
        .map(|i| {
            let revision = format!("r{i}");
            let parent = i.checked_sub(1).map(|p| format!("r{p}"));
            let sql = format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name VARCHAR(100))");
            raw_step(
                &revision,
                Direction::Upgrade,
                &[&sql],
                &parent.iter().map(String::as_str).collect::<Vec<_>>(),
                &[&revision],
            )
        })
        .collect()
}

/// Runs the history through the proxy and returns the round trips the steps
/// took, the connection, lock, tables and reads of the version rows left out.
fn count(db: &TempDb, url: &str, connect: fn(&str) -> Box<dyn Backend>) -> u64 {
    let proxy = Proxy::start(server(&db.url), Duration::ZERO).unwrap();
    let mut backend = connect(&through(&proxy, url));
    let t = tables();
    backend.lock(Duration::from_secs(5)).unwrap();
    backend.ensure_tables(&t).unwrap();
    // A run makes the journal once, with the tables (MySQL journals every step).
    backend.ensure_journal(&t).unwrap();
    let before = proxy.round_trips();
    for step in steps() {
        backend.run_step(&t, &step).unwrap();
    }
    let spent = proxy.round_trips() - before;
    backend.unlock().unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["r9"]);
    assert_eq!(proxy.connections(), 1);
    spent
}

#[test]
fn postgres_takes_one_round_trip_per_migration() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    // Plain text, so that the count is the protocol's and not TLS's.
    let url = format!("{}?sslmode=disable", db.url);
    let spent = count(&db, &url, |url| rev_db::postgres::connect(url).unwrap());
    assert_eq!(
        spent, MIGRATIONS,
        "{spent} round trips for {MIGRATIONS} migrations"
    );
    assert_eq!(
        db.column("SELECT count(*) FROM rev_history WHERE duration_ms >= 0"),
        [MIGRATIONS.to_string()]
    );
}

#[test]
fn mariadb_round_trips_per_migration_as_they_are() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    // MySQL commits DDL at once, so every statement is journalled (the
    // journal row written before and after it, each write one autocommitted
    // round trip), then the version change, history row and journal close
    // each go on their own in one transaction; counted: 116 for 10
    // one-statement migrations, the driver's first-use statement
    // preparations included. This pins
    // today's count so that a regression shows (and an improvement
    // updates it).
    let url = format!("{}?ssl-mode=disabled&prefer_socket=false", db.url);
    let spent = count(&db, &url, |url| rev_db::mysql::connect(url).unwrap());
    assert_eq!(
        spent, 116,
        "{spent} round trips for {MIGRATIONS} migrations"
    );
}

#[test]
fn postgres_failures_cost_one_round_trip_and_leave_nothing() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let proxy = Proxy::start(server(&db.url), Duration::ZERO).unwrap();
    let mut backend =
        rev_db::postgres::connect(&through(&proxy, &format!("{}?sslmode=disable", db.url)))
            .unwrap();
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    let first = raw_step("a", Direction::Upgrade, &[], &[], &["a"]);
    backend.run_step(&t, &first).unwrap();

    // The version row the step replaces is not there: the server's check
    // aborts the transaction, and the pipelined COMMIT rolls it back.
    let before = proxy.round_trips();
    let wrong_parent = raw_step(
        "b",
        Direction::Upgrade,
        &["CREATE TABLE kept_out (id INTEGER)"],
        &["nope"],
        &["b"],
    );
    let err = backend.run_step(&t, &wrong_parent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "version table out of step at revision b: updating version `nope` to `b` touched 0 \
         rows, expected exactly 1"
    );
    assert_eq!(proxy.round_trips() - before, 1);
    assert!(!db.has_table("kept_out"));

    // A failing statement is named by its index; the ones before it are gone.
    let before = proxy.round_trips();
    let failing = raw_step(
        "b",
        Direction::Upgrade,
        &[
            "CREATE TABLE kept_out (id INTEGER)",
            "SELECT * FROM no_such_table",
        ],
        &["a"],
        &["b"],
    );
    match backend.run_step(&t, &failing).unwrap_err() {
        DbError::Statement { index, sql, .. } => {
            assert_eq!((index, sql.as_str()), (2, "SELECT * FROM no_such_table"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(proxy.round_trips() - before, 1);
    assert!(!db.has_table("kept_out"));

    // The session is out of the failed transactions: the next step commits.
    let fixed = raw_step(
        "b",
        Direction::Upgrade,
        &["CREATE TABLE made (id INTEGER)"],
        &["a"],
        &["b"],
    );
    backend.run_step(&t, &fixed).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["b"]);
    assert!(db.has_table("made"));
    assert_eq!(db.column("SELECT count(*) FROM rev_history"), ["2"]);
}
