//! Live tests of the SQLite backend on real database files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::fmt::Write;
use std::time::Duration;

use insta::assert_snapshot;
use rev_db::sqlite::SqliteBackend;
use rev_db::{connect, Backend, DbError, Direction, SqliteTarget, Step, Tables};
use rev_schema::{Operation, Schema};
use rev_sql::Statement;
use rusqlite::Connection;
use tempfile::TempDir;

fn parse_ops(text: &str) -> Vec<Operation> {
    ron::Options::default()
        .with_default_extension(
            ron::extensions::Extensions::IMPLICIT_SOME
                | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        )
        .from_str(&format!("[{text}]"))
        .unwrap()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A database file in a temporary directory, the schema its migrations
/// folded, and the revision it stands at.
struct Db {
    _dir: TempDir,
    backend: SqliteBackend,
    schema: Schema,
    tables: Tables,
    head: Option<String>,
    counter: usize,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(&SqliteTarget::File(dir.path().join("app.db"))).unwrap();
        let mut db = Db {
            _dir: dir,
            backend,
            schema: Schema::default(),
            tables: Tables::default(),
            head: None,
            counter: 0,
        };
        db.backend.ensure_tables(&db.tables).unwrap();
        db
    }

    fn conn(&self) -> &Connection {
        self.backend.connection()
    }

    /// Renders `ops` against the folded schema into the next revision's step.
    fn step(&mut self, ops: &str) -> (Step, Schema) {
        let mut schema = self.schema.clone();
        let mut statements = Vec::new();
        for op in parse_ops(ops) {
            statements.extend(self.backend.dialect().render_op(&op, &schema).unwrap());
            schema.apply(&op).unwrap();
        }
        self.counter += 1;
        let revision = format!("rev{:03}", self.counter);
        let step = Step {
            revision: revision.clone(),
            direction: Direction::Upgrade,
            statements,
            delete_versions: self.head.iter().cloned().collect(),
            insert_versions: vec![revision],
            checksum: format!("sum{}", self.counter),
            transactional: true,
        };
        (step, schema)
    }

    /// Runs `ops` as the next revision and returns its statements.
    fn migrate(&mut self, ops: &str) -> String {
        let (step, schema) = self.step(ops);
        self.backend.run_step(&self.tables, &step).unwrap();
        self.schema = schema;
        self.head = Some(step.revision.clone());
        step.statements
            .iter()
            .map(|s| format!("{};", s.sql))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn exec(&self, sql: &str) {
        self.conn().execute_batch(sql).unwrap();
    }

    /// Returns the user objects SQLite's catalogue holds, as created.
    fn catalogue(&self) -> String {
        self.catalogue_entries().join("\n")
    }

    fn catalogue_entries(&self) -> Vec<String> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT type, name, sql FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'rev_%' ORDER BY tbl_name, type DESC, name",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {}: {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default()
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// Returns every row of `table`, ordered by its first column.
    fn rows(&self, table: &str) -> String {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .unwrap();
        let width = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..width {
                    let cell: rusqlite::types::Value = r.get(i)?;
                    cells.push(match cell {
                        rusqlite::types::Value::Null => "NULL".to_owned(),
                        rusqlite::types::Value::Integer(v) => v.to_string(),
                        rusqlite::types::Value::Real(v) => v.to_string(),
                        rusqlite::types::Value::Text(v) => format!("'{v}'"),
                        rusqlite::types::Value::Blob(v) => format!("<{} bytes>", v.len()),
                    });
                }
                Ok(cells.join(", "))
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn versions(&mut self) -> Vec<String> {
        self.backend.current_heads(&self.tables).unwrap()
    }

    fn history(&self) -> String {
        self.rows("rev_history")
            .lines()
            .map(|line| {
                // Drop started_at, duration_ms and applied_by, which vary by run.
                line.split(", ").take(4).collect::<Vec<_>>().join(", ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// users (parent, 3 rows) and posts (child with ON DELETE CASCADE, 4 rows).
fn seeded() -> Db {
    let mut db = Db::new();
    db.migrate(
        r#"
        CreateTable(name: "users", columns: [
            Column(name: "id", type: Integer, primary_key: true, identity: true),
            Column(name: "email", type: String(255), nullable: false, unique: true),
            Column(name: "name", type: Text, default: Str("anon")),
            Column(name: "bio", type: Text),
        ]),
        CreateIndex(name: "ix_users_name", table: "users", columns: ["name"]),
        CreateTable(name: "posts", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "user_id", type: Integer, nullable: false),
            Column(name: "title", type: String(100)),
            Column(name: "score", type: Integer, default: Int(0)),
        ],
        foreign_keys: [ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade)],
        checks: [Check(name: "ck_posts_score", expr: "score >= 0")]),
        CreateIndex(name: "ix_posts_title", table: "posts", columns: ["title"]),
    "#,
    );
    db.exec(
        "INSERT INTO users (email, name, bio) VALUES ('a@x', 'Ann', 'hi'), ('b@x', 'Bob', NULL), ('c@x', 'Cy', 'yo');
         INSERT INTO posts (id, user_id, title, score) VALUES (10, 1, 'one', 1), (11, 1, 'two', 2), (12, 2, 'three', 3), (13, 3, 'four', 4);",
    );
    db
}

/// Runs each operation as its own migration on the seeded database and
/// records the SQL, the catalogue of the touched table and its rows.
#[test]
fn every_operation_keeps_every_row() {
    let mut db = seeded();
    let mut log = String::new();
    let steps: &[(&str, &str)] = &[
        (
            "users",
            r#"AddColumn(table: "users", column: Column(name: "age", type: Integer, nullable: false, default: Int(30)))"#,
        ),
        (
            "users",
            r#"AddColumn(table: "users", column: Column(name: "handle", type: String(30), unique: true))"#,
        ),
        (
            "users",
            r#"AddColumn(table: "users", column: Column(name: "joined", type: Date, default: Expr("'2026-01-01'")))"#,
        ),
        (
            "users",
            r#"AlterColumn(table: "users", name: "age", type: BigInt, nullable: true, drop_default: true)"#,
        ),
        (
            "users",
            r#"AlterColumn(table: "users", name: "name", nullable: false, default: Str("nobody"))"#,
        ),
        (
            "users",
            r#"RenameColumn(table: "users", name: "bio", new_name: "about")"#,
        ),
        ("users", r#"DropColumn(table: "users", name: "about")"#),
        ("users", r#"DropColumn(table: "users", name: "name")"#),
        ("users", r#"DropColumn(table: "users", name: "handle")"#),
        (
            "articles",
            r#"RenameTable(name: "posts", new_name: "articles")"#,
        ),
        (
            "articles",
            r#"CreateIndex(name: "ix_articles_score", table: "articles", columns: ["score", "title"], unique: true)"#,
        ),
        (
            "articles",
            r#"DropIndex(name: "ix_posts_title", table: "articles")"#,
        ),
        (
            "articles",
            r#"AddUnique(table: "articles", unique: Unique(name: "uq_articles_title", columns: ["title"]))"#,
        ),
        (
            "articles",
            r#"AddCheck(table: "articles", check: Check(name: "ck_articles_title", expr: "length(title) > 2"))"#,
        ),
        (
            "articles",
            r#"DropConstraint(table: "articles", name: "ck_posts_score")"#,
        ),
        (
            "articles",
            r#"DropConstraint(table: "articles", name: "fk_posts_user")"#,
        ),
        (
            "articles",
            r#"AddForeignKey(table: "articles", foreign_key: ForeignKey(name: "fk_articles_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Restrict))"#,
        ),
        (
            "articles",
            r#"DropColumn(table: "articles", name: "user_id")"#,
        ),
        (
            "articles",
            r#"Sql("UPDATE articles SET score = score * 10"), SqlFor(sqlite: "UPDATE articles SET title = upper(title)", mssql: "nonsense")"#,
        ),
        (
            "tags",
            r#"CreateTable(name: "tags", columns: [Column(name: "id", type: Integer, primary_key: true), Column(name: "label", type: Text)])"#,
        ),
        ("articles", r#"DropTable(name: "tags")"#),
    ];
    for (table, ops) in steps {
        let sql = db.migrate(ops);
        let table_sql: String = db
            .catalogue_entries()
            .into_iter()
            .filter(|l| l.contains(&format!("\"{table}\"")) || l.contains(&format!(" {table}:")))
            .collect::<Vec<_>>()
            .join("\n");
        writeln!(
            log,
            "=== {}\n{sql}\n--- catalogue\n{table_sql}\n--- rows of {table}\n{}\n",
            ops.trim(),
            db.rows(table)
        )
        .unwrap();
        // The child table keeps its rows through every rebuild of its parent.
        let child = if db.schema.table(None, "posts").is_some() {
            "posts"
        } else {
            "articles"
        };
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {child}")),
            4,
            "after {ops}"
        );
        assert_eq!(db.count("SELECT count(*) FROM users"), 3, "after {ops}");
        assert_eq!(db.count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    }
    // AUTOINCREMENT survived the rebuilds: the next id follows the copied ones.
    db.exec("INSERT INTO users (email) VALUES ('d@x')");
    assert_eq!(db.count("SELECT id FROM users WHERE email = 'd@x'"), 4);
    db.exec("DELETE FROM users WHERE email = 'd@x'");
    // Foreign keys are on again once the steps are done, and no temporary table is left.
    assert_eq!(db.count("PRAGMA foreign_keys"), 1);
    assert_eq!(
        db.count("SELECT count(*) FROM sqlite_master WHERE name LIKE '_rev_new_%'"),
        0
    );
    assert_snapshot!("every_operation", log);
    assert_snapshot!(db.catalogue(), @r#"
    table articles: CREATE TABLE "articles" (
        "id" INTEGER PRIMARY KEY NOT NULL,
        "title" VARCHAR(100),
        "score" INTEGER DEFAULT 0,
        CONSTRAINT "uq_articles_title" UNIQUE ("title"),
        CONSTRAINT "ck_articles_title" CHECK (length(title) > 2)
    )
    index ix_articles_score: CREATE UNIQUE INDEX "ix_articles_score" ON "articles" ("score", "title")
    table users: CREATE TABLE "users" (
        "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
        "email" VARCHAR(255) NOT NULL UNIQUE,
        "age" BIGINT,
        "joined" DATE DEFAULT ('2026-01-01')
    )
    "#);
}

/// Returns the whole observable state: catalogue, rows, versions, history.
fn state(db: &mut Db) -> String {
    format!(
        "{}\n{}\n{}\n{:?}\n{}",
        db.catalogue(),
        db.rows("users"),
        db.rows("posts"),
        db.versions(),
        db.history()
    )
}

#[test]
fn a_failing_statement_rolls_the_whole_step_back() {
    let mut db = seeded();
    let before = state(&mut db);
    let (mut step, _) = db.step(
        r#"
        CreateTable(name: "tags", columns: [Column(name: "id", type: Integer)]),
        AlterColumn(table: "users", name: "bio", type: String(10)),
    "#,
    );
    step.statements
        .insert(2, Statement::new("INSERT INTO nowhere VALUES (1)"));
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    match &err {
        DbError::Statement {
            revision,
            index,
            sql,
            message,
            partially_applied,
            ..
        } => {
            assert_eq!(revision, "rev002");
            assert_eq!(*index, 3);
            assert_eq!(sql, "INSERT INTO nowhere VALUES (1)");
            assert!(message.contains("no such table: nowhere"), "{message}");
            assert!(!partially_applied);
        }
        other => panic!("{other:?}"),
    }
    assert_snapshot!(err.to_string(), @r"
    revision rev002 (upgrade) failed at statement 3: no such table: nowhere
      statement: INSERT INTO nowhere VALUES (1)
    ");
    assert_eq!(state(&mut db), before);
    assert_eq!(db.count("PRAGMA foreign_keys"), 1);
}

#[test]
fn a_failing_rebuild_keeps_the_table_and_its_rows() {
    let mut db = seeded();
    let before = state(&mut db);
    // Bob has no bio: NOT NULL cannot hold, and the copy fails mid-rebuild.
    let (step, _) = db.step(r#"AlterColumn(table: "users", name: "bio", nullable: false)"#);
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    assert!(
        matches!(&err, DbError::Statement { index: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("NOT NULL constraint failed: _rev_new_users.bio"),
        "{err}"
    );
    assert_eq!(state(&mut db), before);
}

#[test]
fn broken_foreign_keys_roll_the_step_back() {
    let mut db = seeded();
    let before = state(&mut db);
    // No table is dropped: foreign keys stay on and SQLite refuses the row at once.
    let (step, _) =
        db.step(r#"Sql("INSERT INTO posts (id, user_id, title) VALUES (99, 42, 'orphan')")"#);
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    assert!(
        matches!(&err, DbError::Statement { index: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("FOREIGN KEY constraint failed"),
        "{err}"
    );
    assert_eq!(state(&mut db), before);

    // A rebuild runs with foreign keys off; the check before COMMIT catches the orphan.
    let (step, _) = db.step(
        r#"AlterColumn(table: "posts", name: "title", type: Text),
           Sql("INSERT INTO posts (id, user_id, title) VALUES (99, 42, 'orphan')")"#,
    );
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    assert_snapshot!(err.to_string(), @"revision rev003 (upgrade) would break foreign keys: `posts` row 99 references missing `users`");
    assert_eq!(state(&mut db), before);
    assert_eq!(db.count("PRAGMA foreign_keys"), 1);
}

#[test]
fn non_transactional_steps_keep_what_ran() {
    let mut db = seeded();
    db.backend.ensure_journal(&db.tables).unwrap();
    let (mut step, _) =
        db.step(r#"Sql("CREATE TABLE kept (id INTEGER)"), Sql("INSERT INTO nowhere VALUES (1)")"#);
    step.transactional = false;
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    assert!(
        matches!(
            &err,
            DbError::Statement {
                index: 2,
                partially_applied: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM sqlite_master WHERE name = 'kept'"),
        1
    );
    assert_eq!(db.versions(), ids(&["rev001"]));
    let journal = db.backend.journal(&db.tables).unwrap();
    assert_eq!(
        (journal.len(), journal[0].revision.as_str(), journal[0].done),
        (1, "rev002", 1)
    );

    // Another step is refused while rev002 stands part-way in the journal.
    let (mut other, _) = db.step(r#"Sql("CREATE TABLE also_kept (id INTEGER)")"#);
    other.transactional = false;
    let err = db.backend.run_step(&db.tables, &other).unwrap_err();
    assert!(
        matches!(&err, DbError::Interrupted { revision, .. } if revision == "rev002"),
        "{err:?}"
    );

    // rev002 with its failed statement fixed resumes there: CREATE TABLE kept
    // does not run again (it would fail: the table exists).
    step.statements[1] = rev_sql::Statement::new("INSERT INTO kept VALUES (1)");
    db.backend.run_step(&db.tables, &step).unwrap();
    assert_eq!(db.count("SELECT count(*) FROM kept"), 1);
    assert_eq!(db.versions(), ids(&["rev002"]));
    assert!(db.backend.journal(&db.tables).unwrap().is_empty());
}

fn version_step(revision: &str, direction: Direction, delete: &[&str], insert: &[&str]) -> Step {
    Step {
        revision: revision.to_owned(),
        direction,
        statements: vec![Statement::new(format!(
            "CREATE TABLE \"t_{revision}_{direction}\" (x)"
        ))],
        delete_versions: ids(delete),
        insert_versions: ids(insert),
        checksum: format!("c_{revision}"),
        transactional: true,
    }
}

#[test]
fn version_rows_change_like_alembic() {
    let mut db = Db::new();
    assert_eq!(db.versions(), Vec::<String>::new());
    let run = |db: &mut Db, step: Step| db.backend.run_step(&db.tables, &step);
    run(&mut db, version_step("a", Direction::Upgrade, &[], &["a"])).unwrap();
    assert_eq!(db.versions(), ids(&["a"]));
    run(
        &mut db,
        version_step("b", Direction::Upgrade, &["a"], &["b"]),
    )
    .unwrap();
    // A sibling branch from `a` while `b` is applied: a second head.
    run(&mut db, version_step("c", Direction::Upgrade, &[], &["c"])).unwrap();
    assert_eq!(db.versions(), ids(&["b", "c"]));
    run(
        &mut db,
        version_step("m", Direction::Upgrade, &["c", "b"], &["m"]),
    )
    .unwrap();
    assert_eq!(db.versions(), ids(&["m"]));
    run(
        &mut db,
        version_step("m", Direction::Downgrade, &["m"], &["c", "b"]),
    )
    .unwrap();
    assert_eq!(db.versions(), ids(&["b", "c"]));
    run(
        &mut db,
        version_step("b", Direction::Downgrade, &["b"], &[]),
    )
    .unwrap();
    assert_eq!(db.versions(), ids(&["c"]));
    run(&mut db, version_step("s", Direction::Stamp, &["c"], &["s"])).unwrap();
    assert_eq!(db.versions(), ids(&["s"]));

    // Each UPDATE or DELETE must touch exactly one row; otherwise nothing of the step stays.
    let before = state_of_versions(&mut db);
    for (step, expected) in [
        (version_step("x", Direction::Upgrade, &["gone"], &["x"]), "version table out of step at revision x: updating version `gone` to `x` touched 0 rows, expected exactly 1"),
        (version_step("y", Direction::Downgrade, &["gone"], &[]), "version table out of step at revision y: deleting version `gone` touched 0 rows, expected exactly 1"),
        (version_step("z", Direction::Upgrade, &["s", "gone"], &["z"]), "version table out of step at revision z: deleting version `gone` touched 0 rows, expected exactly 1"),
        (version_step("s", Direction::Upgrade, &[], &["s"]), "version table out of step at revision s: inserting version `s`: UNIQUE constraint failed: rev_version.version_num"),
    ] {
        let err = run(&mut db, step).unwrap_err();
        assert!(matches!(err, DbError::VersionMismatch { .. }));
        assert_eq!(err.to_string(), expected);
        assert_eq!(state_of_versions(&mut db), before);
    }

    assert_snapshot!(db.history(), @r"
    1, 'a', 'upgrade', 'c_a'
    2, 'b', 'upgrade', 'c_b'
    3, 'c', 'upgrade', 'c_c'
    4, 'm', 'upgrade', 'c_m'
    5, 'm', 'downgrade', 'c_m'
    6, 'b', 'downgrade', 'c_b'
    7, 's', 'stamp', 'c_s'
    ");
    assert_eq!(
        db.backend.applied_checksums(&db.tables).unwrap(),
        vec![
            ("a".to_owned(), "c_a".to_owned()),
            ("c".to_owned(), "c_c".to_owned()),
            ("s".to_owned(), "c_s".to_owned())
        ]
    );
    let (started_at, applied_by): (String, String) = db
        .conn()
        .query_row(
            "SELECT started_at, applied_by FROM rev_history WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        started_at.ends_with('Z') && started_at.contains('T'),
        "{started_at}"
    );
    assert!(!applied_by.is_empty());
}

fn state_of_versions(db: &mut Db) -> String {
    format!("{}\n{:?}\n{}", db.catalogue(), db.versions(), db.history())
}

#[test]
fn missing_tables_read_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut backend = SqliteBackend::open(&SqliteTarget::File(dir.path().join("new.db"))).unwrap();
    let tables = Tables {
        schema: None,
        version: "alembic_version".into(),
        history: "hist".into(),
    };
    assert!(backend.current_heads(&tables).unwrap().is_empty());
    assert!(backend.applied_checksums(&tables).unwrap().is_empty());
    backend.ensure_tables(&tables).unwrap();
    backend.ensure_tables(&tables).unwrap();
    let sql: String = backend
        .connection()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        sql.contains("CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (\"version_num\")"),
        "{sql}"
    );
    assert!(backend.current_heads(&tables).unwrap().is_empty());
}

#[test]
fn the_lock_keeps_a_second_runner_out() {
    let dir = tempfile::tempdir().unwrap();
    let target = SqliteTarget::File(dir.path().join("locked.db"));
    let mut first = SqliteBackend::open(&target).unwrap();
    let mut second = SqliteBackend::open(&target).unwrap();
    first.lock(Duration::from_secs(1)).unwrap();
    assert!(dir.path().join("locked.db.lock").exists());
    let started = std::time::Instant::now();
    let err = second.lock(Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(matches!(err, DbError::LockTimeout(_)), "{err:?}");
    assert_snapshot!(err.to_string(), @"another rev runner holds the migration lock; gave up after 300ms");
    first.unlock().unwrap();
    second.lock(Duration::from_millis(300)).unwrap();
    second.unlock().unwrap();

    // A runner that waits gets the lock once the holder lets go.
    first.lock(Duration::from_secs(1)).unwrap();
    let waiter = std::thread::spawn(move || second.lock(Duration::from_secs(5)).map(|()| second));
    std::thread::sleep(Duration::from_millis(200));
    first.unlock().unwrap();
    waiter.join().unwrap().unwrap();
}

#[test]
fn in_memory_databases_need_no_lock() {
    let mut backend = SqliteBackend::open(&SqliteTarget::Memory).unwrap();
    backend.lock(Duration::from_millis(10)).unwrap();
    let tables = Tables::default();
    backend.ensure_tables(&tables).unwrap();
    backend
        .run_step(&tables, &version_step("a", Direction::Upgrade, &[], &["a"]))
        .unwrap();
    assert_eq!(backend.current_heads(&tables).unwrap(), ids(&["a"]));
    backend.unlock().unwrap();
}

#[test]
fn connect_picks_the_backend_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut backend = connect(&url).unwrap();
    assert_eq!(backend.dialect().kind(), rev_sql::DialectKind::Sqlite);
    backend.ensure_tables(&Tables::default()).unwrap();
    assert!(dir.path().join("c.db").exists());
    assert!(connect("sqlite::memory:").is_ok());
    let err = connect("oracle://u:hunter2@localhost/db")
        .err()
        .unwrap()
        .to_string();
    assert_snapshot!(err, @"unsupported database URL scheme `oracle`: expected sqlite, mssql, postgres or mysql");
    // Whatever a server backend answers, the password stays out of it.
    let err = connect("postgres://u:hunter2@127.0.0.1:1/db")
        .err()
        .unwrap()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    let missing = dir.path().join("no/such/dir/x.db");
    let err = connect(&format!("sqlite://{}", missing.display()))
        .err()
        .unwrap();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
}

#[test]
fn a_second_connection_waits_for_a_busy_database() {
    let dir = tempfile::tempdir().unwrap();
    let target = SqliteTarget::File(dir.path().join("busy.db"));
    let first = SqliteBackend::open(&target).unwrap();
    let mut second = SqliteBackend::open(&target).unwrap();
    let tables = Tables::default();
    second.ensure_tables(&tables).unwrap();
    first.connection().execute_batch("BEGIN IMMEDIATE").unwrap();
    let waiter = std::thread::spawn(move || {
        let result = second.run_step(&tables, &version_step("a", Direction::Upgrade, &[], &["a"]));
        result.map(|()| second.current_heads(&tables).unwrap())
    });
    std::thread::sleep(Duration::from_millis(300));
    first.connection().execute_batch("COMMIT").unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), ids(&["a"]));
}

#[test]
fn views_on_a_rebuilt_table_keep_working() {
    let mut db = seeded();
    db.exec("CREATE VIEW user_emails AS SELECT email FROM users");
    db.migrate(r#"AlterColumn(table: "users", name: "email", type: Text)"#);
    assert_eq!(db.count("SELECT count(*) FROM user_emails"), 3);
    assert_eq!(db.count("PRAGMA legacy_alter_table"), 0);
}

#[test]
fn non_transactional_rebuilds_keep_child_rows() {
    let mut db = seeded();
    db.backend.ensure_journal(&db.tables).unwrap();
    let (mut step, schema) =
        db.step(r#"AlterColumn(table: "users", name: "bio", type: String(50))"#);
    step.transactional = false;
    db.backend.run_step(&db.tables, &step).unwrap();
    db.schema = schema;
    db.head = Some(step.revision.clone());
    assert_eq!(db.count("SELECT count(*) FROM posts"), 4);
    assert_eq!(db.count("PRAGMA foreign_keys"), 1);

    // Broken keys are reported, and the version stays where it was.
    let (mut step, _) = db.step(
        r#"AlterColumn(table: "users", name: "bio", type: Text),
           Sql("INSERT INTO posts (id, user_id) VALUES (77, 404)")"#,
    );
    step.transactional = false;
    let err = db.backend.run_step(&db.tables, &step).unwrap_err();
    assert_snapshot!(err.to_string(), @"revision rev003 (upgrade) would break foreign keys: `posts` row 77 references missing `users` (the step is not transactional: its statements stay applied)");
    assert_eq!(db.versions(), ids(&["rev002"]));
}
