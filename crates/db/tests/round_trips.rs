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

/// The proxy's delay each way: as over a network, a request the driver
/// writes in two pieces reaches the server before any reply to the first
/// reaches the client, so it counts once, as latency charges it.
const LATENCY: Duration = Duration::from_millis(3);

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

/// How a test hands the steps to the backend.
#[derive(Clone, Copy)]
enum Send {
    /// `run_step`, one call a step: the statement-by-statement path.
    EachAlone,
    /// `run_steps` with windows of this many steps, as a run does.
    Windows(usize),
}

/// Runs the history through the proxy and returns the round trips the steps
/// took, the connection, lock, tables and reads of the version rows left out.
fn count(db: &TempDb, url: &str, connect: fn(&str) -> Box<dyn Backend>, send: Send) -> u64 {
    let proxy = Proxy::start(server(&db.url), LATENCY).unwrap();
    let mut backend = connect(&through(&proxy, url));
    let t = tables();
    backend.lock(Duration::from_secs(5)).unwrap();
    backend.ensure_tables(&t).unwrap();
    // A run makes the journal once, with the tables (MySQL journals every step).
    backend.ensure_journal(&t).unwrap();
    let before = proxy.round_trips();
    let steps = steps();
    match send {
        Send::EachAlone => {
            for step in &steps {
                backend.run_step(&t, step).unwrap();
            }
        }
        Send::Windows(size) => {
            let mut committed = Vec::new();
            for (window, chunk) in steps.chunks(size).enumerate() {
                backend
                    .run_steps(&t, chunk, &mut |i| committed.push(window * size + i))
                    .unwrap();
            }
            assert_eq!(committed, (0..steps.len()).collect::<Vec<_>>());
        }
    }
    let spent = proxy.round_trips() - before;
    backend.unlock().unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["r9"]);
    assert_eq!(proxy.connections(), 1);
    spent
}

/// Returns a PostgreSQL URL in plain text, so that the count is the
/// protocol's and not TLS's.
fn plain_postgres(db: &TempDb) -> String {
    format!("{}?sslmode=disable", db.url)
}

/// Returns a MariaDB URL in plain text over TCP (the driver would move to
/// the Unix socket, past the proxy).
fn plain_mysql(db: &TempDb) -> String {
    format!("{}?ssl-mode=disabled&prefer_socket=false", db.url)
}

fn postgres(url: &str) -> Box<dyn Backend> {
    rev_db::postgres::connect(url).unwrap()
}

fn mysql(url: &str) -> Box<dyn Backend> {
    rev_db::mysql::connect(url).unwrap()
}

#[test]
fn postgres_takes_one_round_trip_per_migration() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let spent = count(&db, &plain_postgres(&db), postgres, Send::EachAlone);
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
fn postgres_takes_one_round_trip_per_window() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let spent = count(&db, &plain_postgres(&db), postgres, Send::Windows(4));
    // Windows of 4, 4 and 2.
    assert_eq!(spent, 3, "{spent} round trips for {MIGRATIONS} migrations");
    assert_eq!(
        db.column("SELECT count(*) FROM rev_history WHERE duration_ms >= 0"),
        [MIGRATIONS.to_string()]
    );
}

#[test]
fn mariadb_takes_one_round_trip_per_window() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let url = plain_mysql(&db);
    // One step a window: the step's journal writes, statement, version
    // change, history row and COMMIT in one multi-statement query.
    let spent = count(&db, &url, mysql, Send::Windows(1));
    assert_eq!(
        spent, MIGRATIONS,
        "{spent} round trips for {MIGRATIONS} migrations"
    );
    assert_eq!(
        db.column("SELECT count(*) FROM rev_history WHERE duration_ms >= 0"),
        [MIGRATIONS.to_string()]
    );
    assert_eq!(db.column("SELECT count(*) FROM rev_history_journal"), ["0"]);
}

#[test]
fn mariadb_windows_of_several_steps_take_one_round_trip() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let spent = count(&db, &plain_mysql(&db), mysql, Send::Windows(4));
    assert_eq!(spent, 3, "{spent} round trips for {MIGRATIONS} migrations");
}

#[test]
fn mariadb_statement_by_statement_round_trips_as_they_are() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    // The path of a step that cannot go in a batch (raw SQL that is not
    // plainly one statement) and of a resumed one: the journal row written
    // before and after each statement, each write one autocommitted round
    // trip, then the version change, history row and journal close each on
    // their own in one transaction; counted: 116 for 10 one-statement
    // migrations, the driver's first-use statement preparations included.
    let spent = count(&db, &plain_mysql(&db), mysql, Send::EachAlone);
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
    let proxy = Proxy::start(server(&db.url), LATENCY).unwrap();
    let mut backend = postgres(&through(&proxy, &plain_postgres(&db)));
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

/// Runs `steps` as one window through `backend`, returning the positions
/// that committed and the failure, if any.
fn window(backend: &mut dyn Backend, steps: &[Step]) -> (Vec<usize>, Option<rev_db::StepFailure>) {
    let mut committed = Vec::new();
    let failure = backend
        .run_steps(&tables(), steps, &mut |i| committed.push(i))
        .err();
    (committed, failure)
}

#[test]
fn postgres_a_failed_step_stops_its_window_on_the_server() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let proxy = Proxy::start(server(&db.url), LATENCY).unwrap();
    let mut backend = postgres(&through(&proxy, &plain_postgres(&db)));
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend
        .run_step(&t, &raw_step("a", Direction::Upgrade, &[], &[], &["a"]))
        .unwrap();

    let b = raw_step(
        "b",
        Direction::Upgrade,
        &["CREATE TABLE tb (id INTEGER)"],
        &["a"],
        &["b"],
    );
    let c = raw_step(
        "c",
        Direction::Upgrade,
        &[
            "CREATE TABLE tc (id INTEGER)",
            "SELECT * FROM no_such_table",
        ],
        &["b"],
        &["c"],
    );
    let d = raw_step(
        "d",
        Direction::Upgrade,
        &["CREATE TABLE td (id INTEGER)"],
        &["c"],
        &["d"],
    );
    let before = proxy.round_trips();
    let (committed, failure) = window(backend.as_mut(), &[b, c, d.clone()]);
    assert_eq!(proxy.round_trips() - before, 1);
    assert_eq!(committed, [0]);
    let failure = failure.unwrap();
    assert_eq!(failure.index, 1);
    match failure.error {
        DbError::Statement {
            revision, index, ..
        } => assert_eq!((revision.as_str(), index), ("c", 2)),
        other => panic!("{other}"),
    }
    // b committed; c rolled back; d's guard kept it from running at all.
    assert!(db.has_table("tb"));
    assert!(!db.has_table("tc"));
    assert!(!db.has_table("td"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["b"]);
    assert_eq!(
        db.column("SELECT revision FROM rev_history ORDER BY id"),
        ["a", "b"]
    );

    // The session is clean: the fixed window commits.
    let fixed = raw_step(
        "c",
        Direction::Upgrade,
        &["CREATE TABLE tc (id INTEGER)"],
        &["b"],
        &["c"],
    );
    let (committed, failure) = window(backend.as_mut(), &[fixed, d]);
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(committed, [0, 1]);
    assert_eq!(backend.current_heads(&t).unwrap(), ["d"]);
    assert!(db.has_table("td"));
}

#[test]
fn postgres_a_window_whose_session_forgets_goes_on_step_by_step() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let proxy = Proxy::start(server(&db.url), LATENCY).unwrap();
    let mut backend = postgres(&through(&proxy, &plain_postgres(&db)));
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    // As behind a pooler that gives each transaction another session: a
    // deferred trigger clears the window's token at every commit.
    db.rows(
        "CREATE FUNCTION forget() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM set_config('rev.window', '', false); RETURN NULL; END $$",
    );
    db.rows(
        "CREATE CONSTRAINT TRIGGER forget AFTER INSERT ON rev_history \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION forget()",
    );
    let before = proxy.round_trips();
    let (committed, failure) = window(backend.as_mut(), &steps());
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(committed, (0..10).collect::<Vec<_>>());
    // The window, where the first step committed and the second's guard
    // found no token; then the nine others one a round trip.
    assert_eq!(proxy.round_trips() - before, 10);
    assert_eq!(backend.current_heads(&t).unwrap(), ["r9"]);
    assert_eq!(db.column("SELECT count(*) FROM rev_history"), ["10"]);
}

#[test]
fn mariadb_a_failed_statement_stops_its_window_and_the_next_run_resumes() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let proxy = Proxy::start(server(&db.url), LATENCY).unwrap();
    let mut backend = mysql(&through(&proxy, &plain_mysql(&db)));
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    db.rows("CREATE TABLE in_the_way (id INT)");

    let a = raw_step(
        "a",
        Direction::Upgrade,
        &["CREATE TABLE ta (id INT)"],
        &[],
        &["a"],
    );
    let b = raw_step(
        "b",
        Direction::Upgrade,
        &[
            "CREATE TABLE tb (id INT)",
            "INSERT INTO tb VALUES (1)",
            "CREATE TABLE in_the_way (id INT)",
        ],
        &["a"],
        &["b"],
    );
    let c = raw_step(
        "c",
        Direction::Upgrade,
        &["CREATE TABLE tc (id INT)"],
        &["b"],
        &["c"],
    );
    let before = proxy.round_trips();
    let (committed, failure) = window(backend.as_mut(), &[a, b.clone(), c.clone()]);
    // The batch, then the rollback and the journal's note that statement 3
    // did not take effect (prepared, then executed).
    assert_eq!(proxy.round_trips() - before, 4);
    assert_eq!(committed, [0]);
    let failure = failure.unwrap();
    assert_eq!(failure.index, 1);
    match &failure.error {
        DbError::Statement {
            index,
            partially_applied,
            message,
            ..
        } => {
            assert_eq!((*index, *partially_applied), (3, true));
            assert!(message.contains("1050"), "{message}");
            assert!(message.contains("rev resumes at statement 3"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert!(db.has_table("tb"));
    assert!(!db.has_table("tc"));
    assert_eq!(db.column("SELECT id FROM tb"), ["1"]);
    assert_eq!(
        db.rows("SELECT revision, done, running FROM rev_history_journal"),
        [[Some("b".to_owned()), Some("2".to_owned()), None]]
    );
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);

    // With the cause removed, b resumes at its third statement (its journal
    // row keeps it out of a batch) and c goes on in one.
    db.rows("DROP TABLE in_the_way");
    let (committed, failure) = window(backend.as_mut(), &[b, c]);
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(committed, [0, 1]);
    assert_eq!(backend.current_heads(&t).unwrap(), ["c"]);
    assert_eq!(db.column("SELECT id FROM tb"), ["1"]);
    assert!(db.has_table("in_the_way"));
    assert!(db.has_table("tc"));
    assert_eq!(db.column("SELECT count(*) FROM rev_history_journal"), ["0"]);
    assert_eq!(
        db.column("SELECT revision FROM rev_history ORDER BY id"),
        ["a", "b", "c"]
    );
}

#[test]
fn mariadb_batches_check_the_version_rows_before_anything_runs() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let mut backend = mysql(&plain_mysql(&db));
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let (_, failure) = window(
        backend.as_mut(),
        &[raw_step("a", Direction::Upgrade, &[], &[], &["a"])],
    );
    assert!(failure.is_none());

    // Statements and a missing parent row: refused before the first.
    let orphan = raw_step(
        "b",
        Direction::Upgrade,
        &["CREATE TABLE tb (id INT)"],
        &["nope"],
        &["b"],
    );
    let (committed, failure) = window(backend.as_mut(), &[orphan]);
    assert!(committed.is_empty());
    assert_eq!(
        failure.unwrap().error.to_string(),
        "version table out of step at revision b: expected the version row `nope`, found \
         none; no statement ran"
    );
    assert!(!db.has_table("tb"));

    // No statements: the server's count check refuses the history row.
    let stamp = raw_step("b", Direction::Upgrade, &[], &["nope"], &["b"]);
    let (_, failure) = window(backend.as_mut(), &[stamp]);
    assert_eq!(
        failure.unwrap().error.to_string(),
        "version table out of step at revision b: updating version `nope` to `b` touched 0 \
         rows, expected exactly 1"
    );

    // A row that is there already, with and without statements.
    let again = raw_step(
        "a",
        Direction::Upgrade,
        &["CREATE TABLE ta (id INT)"],
        &[],
        &["a"],
    );
    let (_, failure) = window(backend.as_mut(), &[again]);
    assert_eq!(
        failure.unwrap().error.to_string(),
        "version table out of step at revision a: `a` is already in the version table; no \
         statement ran"
    );
    assert!(!db.has_table("ta"));
    let again = raw_step("a", Direction::Upgrade, &[], &[], &["a"]);
    let (_, failure) = window(backend.as_mut(), &[again]);
    assert_eq!(
        failure.unwrap().error.to_string(),
        "version table out of step at revision a: `a` is already in the version table"
    );
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    assert_eq!(db.column("SELECT count(*) FROM rev_history"), ["1"]);
    assert_eq!(db.column("SELECT count(*) FROM rev_history_journal"), ["0"]);
}

#[test]
fn mariadb_values_travel_as_literals_unchanged() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let mut backend = mysql(&plain_mysql(&db));
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    // Quotes, a backslash, a `?` and a non-ASCII letter, in the revision and
    // the checksum, with a statement and without.
    let odd = "r'\\?é";
    let mut first = raw_step(
        odd,
        Direction::Upgrade,
        &["CREATE TABLE t1 (id INT)"],
        &[],
        &[odd],
    );
    first.checksum = "sum'; DROP TABLE t1; --".to_owned();
    let second = raw_step("x\"`", Direction::Upgrade, &[], &[odd], &["x\"`"]);
    let (committed, failure) = window(backend.as_mut(), &[first, second]);
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(committed, [0, 1]);
    assert_eq!(backend.current_heads(&t).unwrap(), ["x\"`"]);
    assert_eq!(
        db.rows("SELECT revision, checksum FROM rev_history ORDER BY id"),
        [
            [
                Some(odd.to_owned()),
                Some("sum'; DROP TABLE t1; --".to_owned())
            ],
            [Some("x\"`".to_owned()), Some("sum-x\"`".to_owned())],
        ]
    );
    assert!(db.has_table("t1"));
}
