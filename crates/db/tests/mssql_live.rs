//! Live tests against a real SQL Server, run only when `REV_TEST_MSSQL_URL`
//! names one (a login that may create and drop databases). Each test works in
//! a fresh database that it creates and drops. Their names start with
//! `mssql_` so that `cargo test --workspace -- mssql` selects them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rev_db::mssql::{MssqlBackend, MssqlOptions};
use rev_db::{Backend, DbError, Direction, Step, Tables};
use rev_schema::{Column, ColumnType, Default, Operation, Schema};
use rev_sql::mssql::Mssql;
use rev_sql::{Dialect, Statement};

/// Returns the server's options, or prints why the test is skipped.
fn server(test: &str) -> Option<MssqlOptions> {
    match std::env::var("REV_TEST_MSSQL_URL") {
        Ok(url) if !url.trim().is_empty() => Some(
            MssqlOptions::parse(&url)
                .unwrap_or_else(|e| panic!("REV_TEST_MSSQL_URL is not a SQL Server URL: {e}")),
        ),
        _ => {
            // Written to the stream itself, not through eprintln!, which the
            // test harness captures and shows only for failing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: REV_TEST_MSSQL_URL is not set \
                 (e.g. mssql://sa:password@localhost:1433?trust_server_certificate=true)"
            );
            None
        }
    }
}

/// A database made for one test and dropped when the test ends.
struct TempDb {
    admin: MssqlBackend,
    name: String,
    options: MssqlOptions,
}

impl TempDb {
    fn new(options: MssqlOptions, tag: &str) -> TempDb {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("rev_test_{tag}_{}_{nanos}", std::process::id());
        let mut admin_options = options.clone();
        admin_options.database = Some("master".to_owned());
        let mut admin = MssqlBackend::connect(&admin_options).unwrap();
        admin
            .execute_batch(&format!("CREATE DATABASE [{name}]"))
            .unwrap();
        let mut options = options;
        options.database = Some(name.clone());
        TempDb {
            admin,
            name,
            options,
        }
    }

    fn connect(&self) -> MssqlBackend {
        MssqlBackend::connect(&self.options).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let sql = format!(
            "ALTER DATABASE [{0}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{0}]",
            self.name
        );
        if let Err(e) = self.admin.execute_batch(&sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn tables() -> Tables {
    Tables {
        schema: None,
        version: "rev_version".to_owned(),
        history: "rev_history".to_owned(),
    }
}

fn col(name: &str, ty: ColumnType) -> Column {
    Column {
        name: name.to_owned(),
        ty,
        nullable: None,
        primary_key: false,
        identity: false,
        unique: false,
        default: None,
    }
}

fn render(ops: &[Operation]) -> Vec<Statement> {
    let before = Schema::default();
    ops.iter()
        .flat_map(|op| Mssql.render_op(op, &before).unwrap())
        .collect()
}

fn step(revision: &str, statements: Vec<Statement>, delete: &[&str], insert: &[&str]) -> Step {
    Step {
        revision: revision.to_owned(),
        direction: Direction::Upgrade,
        statements,
        delete_versions: delete.iter().map(|s| s.to_string()).collect(),
        insert_versions: insert.iter().map(|s| s.to_string()).collect(),
        checksum: format!("sum-{revision}"),
        transactional: true,
    }
}

fn users_table() -> Operation {
    Operation::CreateTable {
        name: "users".into(),
        columns: vec![
            Column {
                primary_key: true,
                identity: true,
                ..col("id", ColumnType::Integer)
            },
            Column {
                nullable: Some(false),
                unique: true,
                ..col("email", ColumnType::String(255))
            },
            Column {
                default: Some(Default::Now),
                ..col("created_at", ColumnType::DateTime)
            },
        ],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
        schema: None,
    }
}

fn count(db: &mut MssqlBackend, sql: &str) -> String {
    db.query_column(sql).unwrap()[0].clone().unwrap()
}

#[test]
fn mssql_applies_steps_and_moves_the_version_rows() {
    let Some(options) = server("mssql_applies_steps_and_moves_the_version_rows") else {
        return;
    };
    let temp = TempDb::new(options, "apply");
    let mut db = temp.connect();
    let t = tables();
    assert!(db.current_heads(&t).unwrap().is_empty());
    assert!(db.applied_checksums(&t).unwrap().is_empty());
    db.ensure_tables(&t).unwrap();
    db.ensure_tables(&t).unwrap();
    assert!(db.current_heads(&t).unwrap().is_empty());

    db.run_step(&t, &step("aaa", render(&[users_table()]), &[], &["aaa"]))
        .unwrap();
    assert_eq!(db.current_heads(&t).unwrap(), vec!["aaa"]);
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.tables WHERE name = N'users'"
        ),
        "1"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT name FROM sys.default_constraints WHERE parent_object_id = OBJECT_ID(N'[users]')"
        ),
        "DF_users_created_at"
    );

    // Two heads, then a merge that collapses them into one row.
    db.run_step(&t, &step("bbb", vec![], &[], &["bbb"]))
        .unwrap();
    assert_eq!(db.current_heads(&t).unwrap(), vec!["aaa", "bbb"]);
    db.run_step(&t, &step("ccc", vec![], &["aaa", "bbb"], &["ccc"]))
        .unwrap();
    assert_eq!(db.current_heads(&t).unwrap(), vec!["ccc"]);

    let mut down = step("ccc", vec![], &["ccc"], &["aaa", "bbb"]);
    down.direction = Direction::Downgrade;
    db.run_step(&t, &down).unwrap();
    assert_eq!(db.current_heads(&t).unwrap(), vec!["aaa", "bbb"]);
    assert_eq!(
        db.applied_checksums(&t).unwrap(),
        vec![
            ("aaa".to_owned(), "sum-aaa".to_owned()),
            ("bbb".to_owned(), "sum-bbb".to_owned())
        ]
    );
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM [rev_history]"), "4");
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM [rev_history] WHERE [applied_by] = SUSER_SNAME() AND [started_at] <= SYSUTCDATETIME()"
        ),
        "4"
    );
}

#[test]
fn mssql_failing_step_is_rolled_back() {
    let Some(options) = server("mssql_failing_step_is_rolled_back") else {
        return;
    };
    let temp = TempDb::new(options, "rollback");
    let mut db = temp.connect();
    let t = tables();
    db.ensure_tables(&t).unwrap();
    db.run_step(&t, &step("aaa", vec![], &[], &["aaa"]))
        .unwrap();

    let mut statements = render(&[users_table()]);
    statements.push(Statement::new(
        "INSERT INTO [users] ([email]) VALUES (N'a@b')",
    ));
    statements.push(Statement::new("SELECT * FROM [no_such_table]"));
    let err = db
        .run_step(&t, &step("bbb", statements, &["aaa"], &["bbb"]))
        .unwrap_err();
    match &err {
        DbError::Statement {
            revision,
            direction,
            index,
            sql,
            message,
            partially_applied,
        } => {
            assert_eq!(revision, "bbb");
            assert_eq!(*direction, "upgrade");
            assert_eq!(*index, 3);
            assert_eq!(sql, "SELECT * FROM [no_such_table]");
            assert!(message.contains("SQL Server error 208"), "{message}");
            assert!(message.contains("no_such_table"), "{message}");
            assert!(!partially_applied);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.tables WHERE name = N'users'"
        ),
        "0"
    );
    assert_eq!(db.current_heads(&t).unwrap(), vec!["aaa"]);
    assert_eq!(count(&mut db, "SELECT @@TRANCOUNT"), "0");
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM [rev_history]"), "1");
}

#[test]
fn mssql_version_row_changes_touch_exactly_one_row() {
    let Some(options) = server("mssql_version_row_changes_touch_exactly_one_row") else {
        return;
    };
    let temp = TempDb::new(options, "versions");
    let mut db = temp.connect();
    let t = tables();
    db.ensure_tables(&t).unwrap();
    db.run_step(&t, &step("aaa", vec![], &[], &["aaa"]))
        .unwrap();

    let missing = db
        .run_step(
            &t,
            &step("bbb", render(&[users_table()]), &["zzz"], &["bbb"]),
        )
        .unwrap_err();
    assert!(
        matches!(missing, DbError::VersionMismatch { .. }),
        "{missing}"
    );
    let twice = db
        .run_step(&t, &step("aaa", vec![], &[], &["aaa"]))
        .unwrap_err();
    assert!(matches!(twice, DbError::VersionMismatch { .. }), "{twice}");
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.tables WHERE name = N'users'"
        ),
        "0"
    );
    assert_eq!(db.current_heads(&t).unwrap(), vec!["aaa"]);
}

#[test]
fn mssql_lock_keeps_a_second_runner_out() {
    let Some(options) = server("mssql_lock_keeps_a_second_runner_out") else {
        return;
    };
    let temp = TempDb::new(options, "lock");
    let mut first = temp.connect();
    let mut second = temp.connect();
    first.lock(Duration::from_secs(5)).unwrap();
    let err = second.lock(Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, DbError::LockTimeout(_)), "{err}");
    first.unlock().unwrap();
    second.lock(Duration::from_secs(5)).unwrap();
    second.unlock().unwrap();
    // Unlocking what is not held is a no-op.
    second.unlock().unwrap();
}

#[test]
fn mssql_schema_changes_run_on_the_server() {
    let Some(options) = server("mssql_schema_changes_run_on_the_server") else {
        return;
    };
    let temp = TempDb::new(options, "ddl");
    let mut db = temp.connect();
    let t = tables();
    db.ensure_tables(&t).unwrap();
    // Constraints with server-made names, as a hand-written table would have.
    db.execute_batch(
        "CREATE TABLE [teams] ([id] INT NOT NULL PRIMARY KEY);\n\
         CREATE TABLE [odd]]t] ([id] INT NOT NULL PRIMARY KEY,\n\
           [team_id] INT NULL DEFAULT 1 CHECK ([team_id] > 0) REFERENCES [teams] ([id]) UNIQUE,\n\
           [note] NVARCHAR(20) NULL)",
    )
    .unwrap();
    let mut before = Schema::default();
    let table = rev_schema::Table {
        name: "odd]t".into(),
        schema: None,
        columns: vec![
            col("id", ColumnType::Integer),
            col("team_id", ColumnType::Integer),
            col("note", ColumnType::String(20)),
        ],
        indexes: vec![],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
    };
    before
        .tables
        .insert(rev_schema::TableName::new(None, "odd]t"), table);
    let ops = [
        Operation::AlterColumn {
            table: "odd]t".into(),
            name: "note".into(),
            ty: Some(ColumnType::String(40)),
            nullable: Some(false),
            default: Some(Default::Str("it's".into())),
            drop_default: false,
            schema: None,
        },
        Operation::DropColumn {
            table: "odd]t".into(),
            name: "team_id".into(),
            schema: None,
        },
        Operation::RenameColumn {
            table: "odd]t".into(),
            name: "note".into(),
            new_name: "remark".into(),
            schema: None,
        },
        Operation::RenameTable {
            name: "odd]t".into(),
            new_name: "plain".into(),
            schema: None,
        },
        Operation::Sql(
            "CREATE VIEW [v_plain] AS SELECT [id], [remark] FROM [plain]\nGO\nINSERT INTO [plain] ([id]) VALUES (1)".into(),
        ),
    ];
    let statements = ops
        .iter()
        .flat_map(|op| Mssql.render_op(op, &before).unwrap())
        .collect();
    db.run_step(&t, &step("ddl", statements, &[], &["ddl"]))
        .unwrap();
    assert_eq!(
        count(&mut db, "SELECT [remark] FROM [v_plain] WHERE [id] = 1"),
        "it's"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.columns WHERE object_id = OBJECT_ID(N'[plain]')"
        ),
        "2"
    );
}

#[test]
fn mssql_non_transactional_step_reports_partial_application() {
    let Some(options) = server("mssql_non_transactional_step_reports_partial_application") else {
        return;
    };
    let temp = TempDb::new(options, "nontx");
    let mut db = temp.connect();
    let t = tables();
    db.ensure_tables(&t).unwrap();
    db.ensure_journal(&t).unwrap();
    let mut failing = step(
        "aaa",
        vec![
            Statement::new("CREATE TABLE [kept] ([id] INT)"),
            Statement::new("SELECT * FROM [no_such_table]"),
        ],
        &[],
        &["aaa"],
    );
    failing.transactional = false;
    let err = db.run_step(&t, &failing).unwrap_err();
    assert!(
        matches!(
            err,
            DbError::Statement {
                index: 2,
                partially_applied: true,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.tables WHERE name = N'kept'"
        ),
        "1"
    );
    assert!(db.current_heads(&t).unwrap().is_empty());
}

/// Runs an offline script the way sqlcmd does, batch by batch on one
/// session, and returns the error of each batch that failed.
fn run_script(db: &mut MssqlBackend, script: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if line.trim().eq_ignore_ascii_case("go") {
            if let Err(e) = db.execute_batch(&current) {
                errors.push(e.to_string());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert!(current.trim().is_empty(), "text after the last GO");
    errors
}

#[test]
fn mssql_offline_script_runs_batch_by_batch_and_stops_at_a_failure() {
    let Some(options) = server("mssql_offline_script_runs_batch_by_batch_and_stops_at_a_failure")
    else {
        return;
    };
    let temp = TempDb::new(options, "script");
    let t = tables();
    let table = |name: &str| Operation::CreateTable {
        name: name.into(),
        columns: vec![col("id", ColumnType::Integer)],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
        schema: None,
    };
    let good = rev_sql::offline_script(
        &Mssql,
        &t,
        &[
            step("aaa", render(&[table("t1")]), &[], &["aaa"]),
            step(
                "bbb",
                render(&[
                    table("t2"),
                    Operation::Sql("CREATE VIEW [v2] AS SELECT [id] FROM [t2]".into()),
                ]),
                &["aaa"],
                &["bbb"],
            ),
        ],
    );
    let mut db = temp.connect();
    assert_eq!(run_script(&mut db, &good), Vec::<String>::new());
    assert_eq!(db.current_heads(&t).unwrap(), vec!["bbb"]);

    // A name that does not resolve fails its batch without XACT_ABORT rolling
    // the transaction back; the guards must stop the script all the same.
    let failing = rev_sql::offline_script(
        &Mssql,
        &t,
        &[
            step(
                "ccc",
                render(&[
                    table("t3"),
                    Operation::Sql("SELECT * FROM [no_such_table]".into()),
                ]),
                &["bbb"],
                &["ccc"],
            ),
            step("ddd", render(&[table("t4")]), &["ccc"], &["ddd"]),
        ],
    );
    let errors = run_script(&mut db, &failing);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("no_such_table"), "{errors:?}");
    assert!(
        errors[1].contains("rev: a batch above failed"),
        "{errors:?}"
    );
    assert_eq!(count(&mut db, "SELECT @@TRANCOUNT"), "0");
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM sys.tables WHERE name IN (N't3', N't4')"
        ),
        "0"
    );
    assert_eq!(db.current_heads(&t).unwrap(), vec!["bbb"]);

    // A script that starts from the wrong revision fails on the row check.
    let stale = rev_sql::offline_script(&Mssql, &t, &[step("eee", vec![], &["aaa"], &["eee"])]);
    let mut fresh = temp.connect();
    let errors = run_script(&mut fresh, &stale);
    assert!(
        errors.first().is_some_and(|e| e.contains("no row `aaa`")),
        "{errors:?}"
    );
    assert_eq!(fresh.current_heads(&t).unwrap(), vec!["bbb"]);
}
