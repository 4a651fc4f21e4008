//! Live tests of the MySQL/MariaDB backend against the local server; each test
//! makes its own database and drops it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common_server;

use std::time::{Duration, Instant};

use common_server::{every_operation_revisions, raw_step, render, tables, TempDb};
use rev_db::mysql::{connect, MysqlBackend};
use rev_db::{Backend, DbError, Direction, Step};
use rev_schema::Schema;

fn fresh() -> Option<(TempDb, Box<dyn Backend>)> {
    let db = TempDb::mysql()?;
    let backend = connect(&db.url).unwrap();
    Some((db, backend))
}

#[test]
fn creates_version_and_history_tables() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    assert_eq!(backend.current_heads(&t).unwrap(), Vec::<String>::new());
    assert_eq!(backend.applied_checksums(&t).unwrap(), vec![]);
    backend.ensure_tables(&t).unwrap();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    insta::assert_snapshot!(db.columns("rev_version").join("\n"), @"version_num varchar(32) NO NULL");
    insta::assert_snapshot!(db.constraints("rev_version").join("\n"), @"PRIMARY PRIMARY KEY");
    insta::assert_snapshot!(db.columns("rev_history").join("\n"), @r#"
    id bigint(20) NO NULL
    revision varchar(32) NO NULL
    direction varchar(16) NO NULL
    checksum varchar(128) NO NULL
    started_at datetime(6) NO NULL
    duration_ms bigint(20) NO NULL
    applied_by varchar(128) NO NULL
    "#);
    assert_eq!(backend.current_heads(&t).unwrap(), Vec::<String>::new());
    assert_eq!(backend.applied_checksums(&t).unwrap(), vec![]);
}

#[test]
fn applies_every_operation_to_tables_with_rows() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let [a, b, c] = every_operation_revisions();
    let mut schema = Schema::default();
    let mut step = |revision: &str, ops, delete: &[&str], insert: &[&str]| Step {
        statements: render(backend.dialect(), &mut schema, ops),
        ..raw_step(revision, Direction::Upgrade, &[], delete, insert)
    };
    let step_a = step("a", &a, &[], &["a"]);
    let step_b = step("b", &b, &["a"], &["b"]);
    let step_c = step("c", &c, &["b"], &["c"]);

    backend.run_step(&t, &step_a).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    assert_eq!(
        db.column("SELECT title FROM posts ORDER BY id"),
        ["it's new", "it's new"]
    );

    backend.run_step(&t, &step_b).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["b"]);
    insta::assert_snapshot!(db.columns("users").join("\n"), @r#"
    id int(11) NO NULL
    email varchar(255) NO NULL
    active tinyint(1) NO NULL
    score bigint(20) NO 1
    created_at datetime(6) YES current_timestamp(6)
    token char(36) YES uuid()
    bio longtext YES NULL
    price decimal(10,2) YES 1.50
    ratio double YES NULL
    born date YES NULL
    seen_at timestamp YES current_timestamp()
    hash varbinary(16) YES NULL
    photo longblob YES NULL
    prefs longtext YES NULL
    small smallint(6) YES NULL
    big bigint(20) YES NULL
    nickname varchar(50) NO 'anon'
    "#);
    insta::assert_snapshot!(db.constraints("users").join("\n"), @r#"
    email UNIQUE
    prefs CHECK
    PRIMARY PRIMARY KEY
    "#);
    insta::assert_snapshot!(db.columns("articles").join("\n"), @r#"
    id int(11) NO NULL
    user_id int(11) NO NULL
    title varchar(100) YES 'it''s new'
    editor_id int(11) YES NULL
    "#);
    insta::assert_snapshot!(db.constraints("articles").join("\n"), @r#"
    ck_posts_title CHECK
    fk_posts_editor FOREIGN KEY
    PRIMARY PRIMARY KEY
    "#);
    assert_eq!(
        db.column(
            "SELECT DISTINCT CONCAT(table_name, '.', index_name) FROM information_schema.statistics \
             WHERE table_schema = DATABASE() ORDER BY 1"
        ),
        // fk_posts_user was dropped, and with it the index MySQL made for it.
        [
            "articles.fk_posts_editor",
            "articles.PRIMARY",
            "rev_history.PRIMARY",
            "rev_history_journal.PRIMARY",
            "rev_version.PRIMARY",
            "users.email",
            "users.ix_users_nickname",
            "users.PRIMARY"
        ]
    );
    assert_eq!(
        db.rows("SELECT email, nickname, score FROM users ORDER BY email"),
        [
            [Some("a@x".into()), Some("anon".into()), Some("0".into())],
            [Some("b@x".into()), Some("anon".into()), Some("0".into())],
        ]
    );
    assert_eq!(
        db.column("SELECT title FROM articles ORDER BY id"),
        ["it's new!", "it's new!"]
    );

    backend.run_step(&t, &step_c).unwrap();
    assert!(!db.has_table("articles"));
    assert!(db.has_table("users"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["c"]);
    assert_eq!(
        db.column(
            "SELECT CONCAT_WS(' ', revision, direction, checksum, applied_by = CURRENT_USER(), \
             duration_ms >= 0, started_at <= NOW(6)) FROM rev_history ORDER BY id"
        ),
        [
            "a upgrade sum-a 1 1 1",
            "b upgrade sum-b 1 1 1",
            "c upgrade sum-c 1 1 1"
        ]
    );
}

#[test]
fn a_step_failing_at_its_third_statement_says_which_statements_ran() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    backend
        .run_step(&t, &raw_step("a", Direction::Upgrade, &[], &[], &["a"]))
        .unwrap();
    let failing = raw_step(
        "b",
        Direction::Upgrade,
        &[
            "CREATE TABLE t1 (id INTEGER)",
            "INSERT INTO t1 VALUES (1)",
            "INSERT INTO missing_table VALUES (1)",
            "CREATE TABLE t2 (id INTEGER)",
        ],
        &["a"],
        &["b"],
    );
    let err = backend.run_step(&t, &failing).unwrap_err();
    match &err {
        DbError::Statement {
            revision,
            index,
            partially_applied,
            sql,
            ..
        } => {
            assert_eq!(revision, "b");
            assert_eq!(*index, 3);
            assert!(partially_applied);
            assert_eq!(sql, "INSERT INTO missing_table VALUES (1)");
        }
        other => panic!("unexpected error {other:?}"),
    }
    insta::assert_snapshot!(err.to_string().replace(&db.name, "<db>"), @r#"
    revision b (upgrade) failed at statement 3: ERROR 1146 (42S02): Table '<db>.missing_table' doesn't exist
      statements 1 to 2 completed and stay applied (recorded in rev_history_journal): once the cause is fixed, rev resumes at statement 3
      statement: INSERT INTO missing_table VALUES (1)
    "#);
    // MySQL commits DDL implicitly: what ran stays, what did not never ran,
    // and the version table and history are untouched.
    assert!(db.has_table("t1"));
    assert_eq!(db.column("SELECT id FROM t1"), ["1"]);
    assert!(!db.has_table("t2"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    assert_eq!(db.column("SELECT revision FROM rev_history"), ["a"]);
    let journal = backend.journal(&t).unwrap();
    assert_eq!(
        (journal.len(), journal[0].done, journal[0].running),
        (1, 2, None)
    );

    // Once the cause is fixed, the same step resumes at statement 3: the
    // rows of statement 2 are not inserted twice.
    db.rows("CREATE TABLE missing_table (id INTEGER)");
    backend.run_step(&t, &failing).unwrap();
    assert_eq!(db.column("SELECT id FROM t1"), ["1"]);
    assert_eq!(db.column("SELECT id FROM missing_table"), ["1"]);
    assert!(db.has_table("t2"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["b"]);
    assert!(backend.journal(&t).unwrap().is_empty());
    db.rows("DROP TABLE missing_table");
    db.rows("DROP TABLE t2");
    db.rows("DROP TABLE t1");
    backend
        .run_step(
            &t,
            &raw_step("b", Direction::Downgrade, &[], &["b"], &["a"]),
        )
        .unwrap();

    // A failure at the first statement has nothing partially applied.
    let first = raw_step("b", Direction::Upgrade, &["SELEC 1"], &["a"], &["b"]);
    let err = backend.run_step(&t, &first).unwrap_err();
    assert!(
        matches!(
            err,
            DbError::Statement {
                index: 1,
                partially_applied: false,
                ..
            }
        ),
        "{err:?}"
    );
    insta::assert_snapshot!(err.to_string(), @r#"
    revision b (upgrade) failed at statement 1: ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEC 1' at line 1
      statement: SELEC 1
    "#);
}

#[test]
fn version_rows_follow_the_rules() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let up = |rev: &str, delete: &[&str], insert: &[&str]| {
        raw_step(rev, Direction::Upgrade, &[], delete, insert)
    };
    // Two bases, then a merge collapses their rows into one.
    backend.run_step(&t, &up("a", &[], &["a"])).unwrap();
    backend.run_step(&t, &up("x", &[], &["x"])).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a", "x"]);
    backend.run_step(&t, &up("m", &["a", "x"], &["m"])).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["m"]);

    // A row that is not there: found before any statement runs, since
    // MySQL could not take the statements back.
    let stale = raw_step(
        "n",
        Direction::Upgrade,
        &["CREATE TABLE kept_out (id INTEGER)"],
        &["a"],
        &["n"],
    );
    let err = backend.run_step(&t, &stale).unwrap_err();
    assert!(matches!(err, DbError::VersionMismatch { .. }), "{err:?}");
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision n: expected the version row `a`, found none; no statement ran");
    let err = backend
        .run_step(&t, &up("n", &["a", "m"], &["n"]))
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision n: expected the version row `a`, found none; no statement ran");
    // A row that is already there.
    let err = backend.run_step(&t, &up("m", &[], &["m"])).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision m: `m` is already in the version table; no statement ran");
    assert!(!db.has_table("kept_out"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["m"]);

    // Un-applying the merge brings both rows back.
    let down = raw_step("m", Direction::Downgrade, &[], &["m"], &["a", "x"]);
    backend.run_step(&t, &down).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a", "x"]);
    assert_eq!(
        db.column("SELECT CONCAT_WS(' ', revision, direction) FROM rev_history ORDER BY id"),
        ["a upgrade", "x upgrade", "m upgrade", "m downgrade"]
    );
}

#[test]
fn current_heads_and_applied_checksums() {
    let Some((_db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    backend
        .run_step(&t, &raw_step("a", Direction::Upgrade, &[], &[], &["a"]))
        .unwrap();
    backend
        .run_step(&t, &raw_step("b", Direction::Upgrade, &[], &["a"], &["b"]))
        .unwrap();
    backend
        .run_step(
            &t,
            &raw_step("b", Direction::Downgrade, &[], &["b"], &["a"]),
        )
        .unwrap();
    let stamp = Step {
        checksum: "stamped".to_owned(),
        ..raw_step("s", Direction::Stamp, &[], &[], &["s"])
    };
    backend.run_step(&t, &stamp).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a", "s"]);
    assert_eq!(
        backend.applied_checksums(&t).unwrap(),
        [
            ("a".to_owned(), "sum-a".to_owned()),
            ("s".to_owned(), "stamped".to_owned())
        ]
    );
}

#[test]
fn lock_contention_times_out_cleanly() {
    let Some((db, mut first)) = fresh() else {
        return;
    };
    let mut second = connect(&db.url).unwrap();
    first.lock(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let err = second.lock(Duration::from_millis(400)).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, DbError::LockTimeout(_)), "{err:?}");
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    insta::assert_snapshot!(err.to_string(), @"another rev runner holds the migration lock; gave up after 400ms");
    first.unlock().unwrap();
    second.lock(Duration::from_secs(5)).unwrap();
    second.unlock().unwrap();
    // A lock keyed on another version table does not wait.
    let mut other = MysqlBackend::connect(&db.url)
        .unwrap()
        .with_lock_name("other_version");
    first.lock(Duration::from_secs(1)).unwrap();
    other.lock(Duration::ZERO).unwrap();
    other.unlock().unwrap();
    first.unlock().unwrap();
}

#[test]
fn a_non_transactional_step_runs_like_any_other() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let mut step = raw_step(
        "a",
        Direction::Upgrade,
        &["CREATE TABLE t1 (id INTEGER)"],
        &[],
        &["a"],
    );
    step.transactional = false;
    backend.run_step(&t, &step).unwrap();
    assert!(db.has_table("t1"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
}

#[test]
fn mariadb_urls_are_accepted() {
    let Some(db) = TempDb::mysql() else { return };
    let url = db.url.replacen("mysql://", "mariadb://", 1);
    let mut backend = connect(&url).unwrap();
    assert_eq!(
        backend.current_heads(&tables()).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn urls_never_show_the_password() {
    let err = MysqlBackend::connect("mysql://rev:s3cret-pw@127.0.0.1:1/db").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("mysql://rev@127.0.0.1:1/db"), "{shown}");

    let err = MysqlBackend::connect("mysql://rev:s3cret-pw@127.0.0.1:1/db?ssl-mode=REQUIRED")
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("mysql://rev@127.0.0.1:1/db"), "{shown}");

    // A password with unescaped `@`, `:`, `/`, `?` and `#` is cut at the right `@`.
    let err = MysqlBackend::connect("mysql://rev:Sup3r@Se:c/r?e#t@127.0.0.1:1/db").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Se:c/r?e#t"), "{shown}");
    assert!(!shown.contains("Sup3r"), "{shown}");
    assert!(shown.contains("mysql://rev@127.0.0.1:1/db"), "{shown}");

    let err = MysqlBackend::connect("mysql://rev:s3cret-pw@127.0.0.1:1/db?bogus=1").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");

    let err = MysqlBackend::connect("mysql://rev:s3cret-pw@127.0.0.1:1").unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"invalid database URL: mysql://rev@127.0.0.1:1/: the URL must name a database (mysql://user@host/db)");

    let Some(db) = TempDb::mysql() else { return };
    let backend = MysqlBackend::connect(&db.url).unwrap();
    assert!(!format!("{backend:?}").contains("password"));
}

#[test]
fn a_version_failure_after_statements_says_they_stay() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    // Both rows pass the check made before the statements, and the second
    // INSERT then fails inside the version transaction.
    let step = raw_step(
        "z",
        Direction::Upgrade,
        &["CREATE TABLE t1 (id INTEGER)"],
        &[],
        &["z", "z"],
    );
    let err = backend.run_step(&t, &step).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision z: `z` is already in the version table; the migration's 1 statement(s) ran outside a transaction and stay applied");
    assert!(db.has_table("t1"));
    assert_eq!(backend.current_heads(&t).unwrap(), Vec::<String>::new());
    assert_eq!(db.column("SELECT COUNT(*) FROM rev_history"), ["0"]);
}

#[test]
fn an_existing_alembic_version_table_is_taken_over() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    db.rows(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    );
    db.rows("INSERT INTO alembic_version VALUES ('1975ea83b712')");
    let t = rev_db::Tables {
        schema: None,
        version: "alembic_version".to_owned(),
        history: "rev_history".to_owned(),
    };
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["1975ea83b712"]);
    backend
        .run_step(
            &t,
            &raw_step(
                "ae1027a6acf",
                Direction::Upgrade,
                &[],
                &["1975ea83b712"],
                &["ae1027a6acf"],
            ),
        )
        .unwrap();
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["ae1027a6acf"]
    );
}
