//! Live tests of the PostgreSQL backend against the local server; each test
//! makes its own database and drops it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common_server;

use std::time::{Duration, Instant};

use common_server::{every_operation_revisions, raw_step, render, tables, TempDb};
use rev_db::postgres::{connect, PostgresBackend};
use rev_db::{Backend, DbError, Direction, Step};
use rev_schema::Schema;

fn fresh() -> Option<(TempDb, Box<dyn Backend>)> {
    let db = TempDb::postgres()?;
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
    insta::assert_snapshot!(db.columns("rev_version").join("\n"), @"version_num character varying NO NULL");
    insta::assert_snapshot!(db.constraints("rev_version").join("\n"), @"rev_version_pkc PRIMARY KEY");
    insta::assert_snapshot!(db.columns("rev_history").join("\n"), @r#"
    id bigint NO NULL
    revision character varying NO NULL
    direction character varying NO NULL
    checksum character varying NO NULL
    started_at timestamp with time zone NO NULL
    duration_ms bigint NO NULL
    applied_by character varying NO NULL
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
    id integer NO NULL
    email character varying NO NULL
    active boolean NO NULL
    score bigint NO 1
    created_at timestamp without time zone YES CURRENT_TIMESTAMP
    token uuid YES gen_random_uuid()
    bio text YES NULL
    price numeric YES 1.5
    ratio double precision YES NULL
    born date YES NULL
    seen_at timestamp with time zone YES CURRENT_TIMESTAMP
    hash bytea YES NULL
    photo bytea YES NULL
    prefs jsonb YES NULL
    small smallint YES NULL
    big bigint YES NULL
    nickname character varying NO 'anon'::character varying
    "#);
    insta::assert_snapshot!(db.constraints("users").join("\n"), @r#"
    users_email_key UNIQUE
    users_pkey PRIMARY KEY
    "#);
    insta::assert_snapshot!(db.columns("articles").join("\n"), @r#"
    id integer NO NULL
    user_id integer NO NULL
    title character varying YES 'it''s new'::character varying
    editor_id integer YES NULL
    "#);
    insta::assert_snapshot!(db.constraints("articles").join("\n"), @r#"
    ck_posts_title CHECK
    fk_posts_editor FOREIGN KEY
    posts_pkey PRIMARY KEY
    "#);
    assert_eq!(
        db.column(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('users', 'articles') ORDER BY 1"
        ),
        [
            "ix_users_nickname",
            "posts_pkey",
            "users_email_key",
            "users_pkey"
        ]
    );
    assert_eq!(
        db.rows("SELECT email, nickname, score::text FROM users ORDER BY email"),
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
        db.column("SELECT revision || ' ' || direction || ' ' || checksum || ' ' || (applied_by = current_user) || ' ' || (duration_ms >= 0) || ' ' || (started_at <= now()) FROM rev_history ORDER BY id"),
        [
            "a upgrade sum-a true true true",
            "b upgrade sum-b true true true",
            "c upgrade sum-c true true true"
        ]
    );
}

#[test]
fn a_step_failing_at_its_third_statement_leaves_nothing() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
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
            assert!(!partially_applied);
            assert_eq!(sql, "INSERT INTO missing_table VALUES (1)");
        }
        other => panic!("unexpected error {other:?}"),
    }
    insta::assert_snapshot!(err.to_string(), @r#"
    revision b (upgrade) failed at statement 3: ERROR: relation "missing_table" does not exist (SQLSTATE 42P01)
      statement: INSERT INTO missing_table VALUES (1)
    "#);
    assert!(!db.has_table("t1"));
    assert!(!db.has_table("t2"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    assert_eq!(db.column("SELECT revision FROM rev_history"), ["a"]);
    // The connection is still usable after the rollback.
    backend
        .run_step(
            &t,
            &raw_step(
                "b",
                Direction::Upgrade,
                &["CREATE TABLE t1 (id INTEGER)"],
                &["a"],
                &["b"],
            ),
        )
        .unwrap();
    assert!(db.has_table("t1"));
}

#[test]
fn version_rows_follow_the_rules() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    let up = |rev: &str, delete: &[&str], insert: &[&str]| {
        raw_step(rev, Direction::Upgrade, &[], delete, insert)
    };
    // Two bases, then a merge collapses their rows into one.
    backend.run_step(&t, &up("a", &[], &["a"])).unwrap();
    backend.run_step(&t, &up("x", &[], &["x"])).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a", "x"]);
    backend.run_step(&t, &up("m", &["a", "x"], &["m"])).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["m"]);

    // A row that is not there: the DELETE/UPDATE touches no row, and the
    // step's statements are rolled back with it.
    let stale = raw_step(
        "n",
        Direction::Upgrade,
        &["CREATE TABLE kept_out (id INTEGER)"],
        &["a"],
        &["n"],
    );
    let err = backend.run_step(&t, &stale).unwrap_err();
    assert!(matches!(err, DbError::VersionMismatch { .. }), "{err:?}");
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision n: updating version `a` to `n` touched 0 rows, expected exactly 1");
    let err = backend
        .run_step(&t, &up("n", &["a", "m"], &["n"]))
        .unwrap_err();
    // The one rule pairs `a` with `n` as an UPDATE before it deletes `m`.
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision n: updating version `a` to `n` touched 0 rows, expected exactly 1");
    // A row that is already there.
    let err = backend.run_step(&t, &up("m", &[], &["m"])).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision m: `m` is already in the version table");
    assert!(!db.has_table("kept_out"));
    assert_eq!(backend.current_heads(&t).unwrap(), ["m"]);

    // Un-applying the merge brings both rows back.
    let down = raw_step("m", Direction::Downgrade, &[], &["m"], &["a", "x"]);
    backend.run_step(&t, &down).unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a", "x"]);
    assert_eq!(
        db.column("SELECT revision || ' ' || direction FROM rev_history ORDER BY id"),
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
    let mut other = PostgresBackend::connect(&db.url)
        .unwrap()
        .with_lock_name("other_version");
    first.lock(Duration::from_secs(1)).unwrap();
    other.lock(Duration::ZERO).unwrap();
    other.unlock().unwrap();
    first.unlock().unwrap();
}

#[test]
fn a_non_transactional_step_runs_outside_a_transaction() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let mut step = raw_step(
        "a",
        Direction::Upgrade,
        &[
            "CREATE TABLE t1 (id INTEGER)",
            "CREATE INDEX CONCURRENTLY ix_t1 ON t1 (id)",
        ],
        &[],
        &["a"],
    );
    let err = backend.run_step(&t, &step).unwrap_err();
    assert!(
        matches!(err, DbError::Statement { index: 2, .. }),
        "{err:?}"
    );
    assert!(!db.has_table("t1"));
    step.transactional = false;
    backend.run_step(&t, &step).unwrap();
    let failing = Step {
        transactional: false,
        ..raw_step(
            "b",
            Direction::Upgrade,
            &["CREATE TABLE t2 (id INTEGER)", "SELEC 1"],
            &["a"],
            &["b"],
        )
    };
    let err = backend.run_step(&t, &failing).unwrap_err();
    assert!(
        matches!(
            err,
            DbError::Statement {
                index: 2,
                partially_applied: true,
                ..
            }
        ),
        "{err:?}"
    );
    insta::assert_snapshot!(err.to_string(), @r#"
    revision b (upgrade) failed at statement 2: ERROR: syntax error at or near "SELEC" (SQLSTATE 42601)
      statement 1 completed and stays applied (recorded in rev_history_journal): once the cause is fixed, rev resumes at statement 2
      statement: SELEC 1
    "#);
    assert!(db.has_table("t2"));
    assert_eq!(
        db.column("SELECT indexname FROM pg_indexes WHERE tablename = 't1'"),
        ["ix_t1"]
    );
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    let journal = backend.journal(&t).unwrap();
    assert_eq!(
        (journal.len(), journal[0].done, journal[0].running),
        (1, 1, None)
    );

    // With the failed statement fixed, the step resumes at it: statement 1
    // (CREATE TABLE t2) does not run again, or it would fail.
    let fixed = Step {
        statements: vec![
            rev_sql::Statement::new("CREATE TABLE t2 (id INTEGER)"),
            rev_sql::Statement::new("INSERT INTO t2 VALUES (7)"),
        ],
        ..failing
    };
    backend.run_step(&t, &fixed).unwrap();
    assert_eq!(db.column("SELECT id FROM t2"), ["7"]);
    assert_eq!(backend.current_heads(&t).unwrap(), ["b"]);
    assert!(backend.journal(&t).unwrap().is_empty());
}

#[test]
fn urls_never_show_the_password() {
    let err = PostgresBackend::connect("postgres://rev:s3cret-pw@127.0.0.1:1/db").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("postgres://rev@127.0.0.1:1/db"), "{shown}");

    let err = PostgresBackend::connect("postgres://rev:s3cret-pw@127.0.0.1:1/db?sslmode=require")
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("postgres://rev@127.0.0.1:1/db"), "{shown}");

    // The issue's case: an unescaped `@` in the password once put half of it
    // in the host name, and so in the message.
    let err = PostgresBackend::connect("postgres://revpw:Sup3r@Secret@127.0.0.1:1/db").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Secret"), "{shown}");
    assert!(!shown.contains("Sup3r"), "{shown}");
    assert!(shown.contains("postgres://revpw@127.0.0.1:1/db"), "{shown}");

    let err =
        PostgresBackend::connect("postgres://rev:s3cret-pw@127.0.0.1:1/db?bogus=1").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");

    let Some(db) = TempDb::postgres() else { return };
    let backend = PostgresBackend::connect(&db.url).unwrap();
    assert!(!format!("{backend:?}").contains("password"));
}

#[test]
fn a_version_failure_after_non_transactional_statements_says_they_stay() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    let t = tables();
    backend.ensure_tables(&t).unwrap();
    backend.ensure_journal(&t).unwrap();
    let mut step = raw_step(
        "z",
        Direction::Upgrade,
        &["CREATE TABLE t1 (id INTEGER)"],
        &[],
        &["z", "z"],
    );
    step.transactional = false;
    let err = backend.run_step(&t, &step).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"version table out of step at revision z: `z` is already in the version table; the migration's 1 statement(s) ran outside a transaction and stay applied");
    assert!(db.has_table("t1"));
    assert_eq!(backend.current_heads(&t).unwrap(), Vec::<String>::new());
    assert_eq!(db.column("SELECT COUNT(*) FROM rev_history"), ["0"]);
}

#[test]
fn tables_in_another_schema() {
    let Some((db, mut backend)) = fresh() else {
        return;
    };
    db.rows("CREATE SCHEMA ops");
    let t = rev_db::Tables {
        schema: Some("ops".to_owned()),
        version: "alembic_version".to_owned(),
        history: "rev_history".to_owned(),
    };
    assert_eq!(backend.current_heads(&t).unwrap(), Vec::<String>::new());
    backend.ensure_tables(&t).unwrap();
    backend
        .run_step(&t, &raw_step("a", Direction::Upgrade, &[], &[], &["a"]))
        .unwrap();
    assert_eq!(backend.current_heads(&t).unwrap(), ["a"]);
    assert_eq!(
        db.column("SELECT version_num FROM ops.alembic_version"),
        ["a"]
    );
    assert!(!db.has_table("alembic_version"));
    assert_eq!(
        backend.current_heads(&tables()).unwrap(),
        Vec::<String>::new()
    );
}
