//! The live end-to-end suite on the local PostgreSQL and MariaDB servers,
//! through the binary: every test runs once per server, each in a database of
//! its own, so they run in parallel and leave nothing behind. Then crash
//! safety (a runner killed with SIGKILL at several points, then run again)
//! and several runners started at once.

use std::time::{Duration, Instant};

use crate::common::servers::{finish, LiveEnv, Server, TempDb};
use crate::common::table_migration;

/// Generates one #[test] per server for each test function `fn(Server)`.
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Server::Postgres) })*
        }
        mod mariadb {
            $(#[test] fn $name() { super::$name(super::Server::Mariadb) })*
        }
    };
}

on_both_servers!(
    demo_goes_up_to_heads_and_down_to_base,
    version_rows_follow_the_plan_through_branches_and_merges,
    plan_json_has_the_documented_shape,
    a_migration_failing_at_its_third_statement,
    stamp_sets_the_version_table_without_running_anything,
    check_reports_an_applied_migration_edited_since,
    autogenerate_round_trip,
    a_killed_runner_is_safe_to_run_again,
    the_server_ends_a_killed_runners_statement_soon,
    a_killed_non_transactional_migration_resumes_on_the_rerun,
    a_killed_raw_ddl_statement_stops_the_rerun_until_told,
    four_runners_at_once_apply_each_migration_once,
    a_runner_that_cannot_get_the_lock_in_time_says_so,
    a_failing_test_still_drops_its_database,
    takes_over_a_database_that_alembic_manages,
);

fn history_of(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(r, d)| ((*r).to_owned(), (*d).to_owned()))
        .collect()
}

/// Returns a migration with these operations (RON text, one per item).
fn migration(id: &str, parents: &[&str], message: &str, ops: &[String]) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "Migration(\n    id: \"{id}\",\n    parents: [{}],\n    message: \"{message}\",\n    upgrade: [\n        {},\n    ],\n)\n",
        parents.join(", "),
        ops.join(",\n        ")
    )
}

/// Returns `Sql("...")` for a statement without quotes or backslashes.
fn sql_op(sql: &str) -> String {
    format!("Sql(\"{sql}\")")
}

fn demo_goes_up_to_heads_and_down_to_base(server: Server) {
    let Some(live) = LiveEnv::demo(server) else {
        return;
    };
    assert_eq!(live.rev(&["upgrade", "heads", "-q"]).all(), "[exit 0]");
    assert_eq!(
        live.rev(&["current"]).all(),
        "5e8a1b3c4d58 (head) (mergepoint) merge profiles and email\n[exit 0]"
    );
    assert_eq!(
        live.tables(),
        ["profiles", "rev_history", "rev_version", "users"]
    );
    let (int, varchar, datetime, text) = match server {
        Server::Postgres => (
            "integer",
            "character varying",
            "timestamp without time zone",
            "text",
        ),
        Server::Mariadb => ("int", "varchar", "datetime", "longtext"),
    };
    assert_eq!(
        live.columns("users"),
        [
            format!("id {int} NO"),
            format!("email {varchar} NO"),
            format!("name {varchar} YES"),
            format!("created_at {datetime} NO"),
            format!("last_login {datetime} YES"),
        ]
    );
    assert_eq!(
        live.columns("profiles"),
        [
            format!("id {int} NO"),
            format!("user_id {int} NO"),
            format!("bio {text} YES"),
            format!("avatar_url {varchar} YES"),
        ]
    );
    let constraints = live.constraints("profiles");
    assert!(
        constraints.contains(&"fk_profiles_user_id FOREIGN KEY".to_owned()),
        "{constraints:?}"
    );
    assert!(
        constraints.iter().any(|c| c.ends_with(" PRIMARY KEY")),
        "{constraints:?}"
    );
    assert_eq!(live.indexes("users"), ["ix_users_email unique"]);
    let profile_indexes = live.indexes("profiles");
    assert!(
        profile_indexes.contains(&"ix_profiles_user_id unique".to_owned()),
        "{profile_indexes:?}"
    );
    assert_eq!(live.versions(), ["5e8a1b3c4d58"]);
    assert_eq!(
        live.history_revisions(),
        [
            "1f3a9c2b7d40",
            "3c5d8e0f1a26",
            "4d6f0a2b3c47",
            "2b7e4d1a9c05",
            "5e8a1b3c4d58"
        ]
    );
    assert_eq!(
        live.rev(&["check"]).all(),
        "ok: 5 revisions, one head, no problems found\n[exit 0]"
    );
    // A second run has nothing to do.
    assert_eq!(
        live.rev(&["upgrade", "heads"]).all(),
        "nothing to do: the database is already there\n[exit 0]"
    );

    live.ok(&["downgrade", "base"]);
    assert_eq!(live.tables(), ["rev_history", "rev_version"]);
    assert!(live.versions().is_empty());
    let history = live.history();
    assert_eq!(history.len(), 10, "{history:?}");
    assert!(
        history[5..].iter().all(|(_, d)| d == "downgrade"),
        "{history:?}"
    );
    assert_eq!(history[9].0, "1f3a9c2b7d40");
    // And up again from base, on the tables left behind.
    live.ok(&["upgrade", "heads", "-q"]);
    assert_eq!(live.versions(), ["5e8a1b3c4d58"]);
}

fn version_rows_follow_the_plan_through_branches_and_merges(server: Server) {
    let Some(live) = LiveEnv::demo(server) else {
        return;
    };
    live.ok(&["upgrade", "2b7e"]);
    assert_eq!(live.versions(), ["2b7e4d1a9c05"]);
    live.ok(&["upgrade", "4d6f"]);
    // Two branches applied: one row per applied head.
    assert_eq!(live.versions(), ["2b7e4d1a9c05", "4d6f0a2b3c47"]);
    live.ok(&["upgrade", "heads"]);
    assert_eq!(live.versions(), ["5e8a1b3c4d58"]);
    assert_eq!(
        live.rev(&["downgrade", "1f3a", "--plan"]).all(),
        "from: 5e8a1b3c4d58\n\
         to:   1f3a9c2b7d40\n\
         downgrade 5e8a1b3c4d58 merge profiles and email\n\
         downgrade 2b7e4d1a9c05 create profiles\n\
         downgrade 4d6f0a2b3c47 add users last_login\n\
         downgrade 3c5d8e0f1a26 unique user email\n"
            .to_owned()
            + match server {
                Server::Postgres => "",
                Server::Mariadb => "note: mysql commits DDL implicitly: a migration that fails part-way keeps the statements that ran before the failure\n",
            }
            + "[exit 0]"
    );
    live.ok(&["downgrade", "1f3a"]);
    assert_eq!(live.versions(), ["1f3a9c2b7d40"]);
    assert_eq!(live.tables(), ["rev_history", "rev_version", "users"]);
    assert!(live.indexes("users").is_empty());
    assert_eq!(live.columns("users").len(), 4);
    let run = live.rev(&["upgrade", "+1"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("`+1` is ambiguous at `1f3a9c2b7d40`"),
        "{}",
        run.all()
    );
    live.ok(&["upgrade", "3c5d"]);
    live.ok(&["upgrade", "+1"]);
    assert_eq!(live.versions(), ["4d6f0a2b3c47"]);
    live.ok(&["downgrade", "-1"]);
    assert_eq!(live.versions(), ["3c5d8e0f1a26"]);
    // The other branch joins: two rows again, then the merge makes them one.
    live.ok(&["upgrade", "2b7e"]);
    assert_eq!(live.versions(), ["2b7e4d1a9c05", "3c5d8e0f1a26"]);
    live.ok(&["upgrade", "heads"]);
    assert_eq!(live.versions(), ["5e8a1b3c4d58"]);
    assert_eq!(
        live.history(),
        history_of(&[
            ("1f3a9c2b7d40", "upgrade"),
            ("2b7e4d1a9c05", "upgrade"),
            ("3c5d8e0f1a26", "upgrade"),
            ("4d6f0a2b3c47", "upgrade"),
            ("5e8a1b3c4d58", "upgrade"),
            ("5e8a1b3c4d58", "downgrade"),
            ("2b7e4d1a9c05", "downgrade"),
            ("4d6f0a2b3c47", "downgrade"),
            ("3c5d8e0f1a26", "downgrade"),
            ("3c5d8e0f1a26", "upgrade"),
            ("4d6f0a2b3c47", "upgrade"),
            ("4d6f0a2b3c47", "downgrade"),
            ("2b7e4d1a9c05", "upgrade"),
            ("4d6f0a2b3c47", "upgrade"),
            ("5e8a1b3c4d58", "upgrade"),
        ])
    );
}

fn plan_json_has_the_documented_shape(server: Server) {
    let Some(live) = LiveEnv::demo(server) else {
        return;
    };
    live.ok(&["upgrade", "2b7e"]);
    let plan: serde_json::Value =
        serde_json::from_str(&live.ok(&["upgrade", "heads", "--plan", "--format", "json"]))
            .unwrap();
    assert_eq!(
        plan,
        serde_json::json!({
            "from": ["2b7e4d1a9c05"],
            "to": ["5e8a1b3c4d58"],
            "steps": [
                {"direction": "upgrade", "revision": "3c5d8e0f1a26", "message": "unique user email"},
                {"direction": "upgrade", "revision": "4d6f0a2b3c47", "message": "add users last_login"},
                {"direction": "upgrade", "revision": "5e8a1b3c4d58", "message": "merge profiles and email"},
            ],
        })
    );
    let down: serde_json::Value =
        serde_json::from_str(&live.ok(&["downgrade", "base", "--plan", "--format", "json"]))
            .unwrap();
    assert_eq!(down["to"], serde_json::json!([]));
    assert_eq!(
        down["steps"],
        serde_json::json!([
            {"direction": "downgrade", "revision": "2b7e4d1a9c05", "message": "create profiles"},
            {"direction": "downgrade", "revision": "1f3a9c2b7d40", "message": "create users"},
        ])
    );
    // --plan changes nothing.
    assert_eq!(live.versions(), ["2b7e4d1a9c05"]);
    assert_eq!(live.history().len(), 2);
    assert_eq!(
        live.tables(),
        ["profiles", "rev_history", "rev_version", "users"]
    );
}

fn a_migration_failing_at_its_third_statement(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    live.env
        .write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    live.env.write_migration(
        "b_broken.ron",
        r#"Migration(
    id: "b2",
    parents: ["a1"],
    message: "broken",
    upgrade: [
        CreateTable(name: "second", columns: [Column(name: "id", type: Integer, primary_key: true)]),
        AddColumn(table: "first", column: Column(name: "extra", type: Text)),
        Sql("INSERT INTO missing_table VALUES (1)"),
    ],
)
"#,
    );
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let stderr = live.redact(&run.stderr);
    assert!(
        stderr.contains("revision b2 (upgrade) failed at statement 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("statement: INSERT INTO missing_table VALUES (1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("completed before the failure: upgrade a1"),
        "{stderr}"
    );
    // a1 stays applied; b2 is in neither the version table nor the history.
    assert_eq!(live.versions(), ["a1"]);
    assert_eq!(live.history(), history_of(&[("a1", "upgrade")]));
    match server {
        Server::Postgres => {
            assert!(
                stderr.contains(r#"relation "missing_table" does not exist (SQLSTATE 42P01)"#),
                "{stderr}"
            );
            // Nothing of b2 remains: no table, no column.
            assert_eq!(live.tables(), ["first", "rev_history", "rev_version"]);
            assert_eq!(
                live.columns("first"),
                ["id integer NO", "name character varying YES"]
            );
        }
        Server::Mariadb => {
            assert!(
                stderr.contains(
                    "ERROR 1146 (42S02): Table '$DB.missing_table' doesn't exist\n  \
                     statements 1 to 2 completed and stay applied (recorded in \
                     rev_history_journal): once the cause is fixed, rev resumes at statement 3"
                ),
                "{stderr}"
            );
            assert!(
                stderr.contains(
                    "hint: statements 1 to 2 of revision b2 completed and are kept in the \
                     journal: fix the cause of the failure (not the statements that \
                     completed), then run rev again; it resumes at statement 3"
                ),
                "{stderr}"
            );
            // What the error says: the first two statements stay, journalled.
            assert_eq!(
                live.tables(),
                ["first", "rev_history", "rev_version", "second"]
            );
            assert_eq!(
                live.columns("first"),
                ["id int NO", "name varchar YES", "extra longtext YES"]
            );
            assert_eq!(live.journal(), ["b2 upgrade 2 NULL"]);
        }
    }

    // With the failing statement fixed (and the others as they were), the
    // next run finishes b2: from its start on PostgreSQL, from statement 3 on
    // MariaDB, where running statements 1 and 2 again would fail.
    live.env.write_migration(
        "b_broken.ron",
        r#"Migration(id: "b2", parents: ["a1"], message: "fixed", upgrade: [
            CreateTable(name: "second", columns: [Column(name: "id", type: Integer, primary_key: true)]),
            AddColumn(table: "first", column: Column(name: "extra", type: Text)),
            Sql("INSERT INTO second (id) VALUES (1)"),
        ])"#,
    );
    let out = live.ok(&["upgrade", "heads"]);
    let first_line = match server {
        Server::Postgres => "running   upgrade b2 fixed\n",
        Server::Mariadb => {
            "resumed   upgrade b2: statements 1 to 2 had completed; resuming at statement 3\n"
        }
    };
    assert!(out.starts_with(first_line), "{out}");
    assert_eq!(live.versions(), ["b2"]);
    assert_eq!(
        live.tables(),
        ["first", "rev_history", "rev_version", "second"]
    );
    assert_eq!(live.db.column("SELECT id FROM second"), ["1"]);
    assert_eq!(live.columns("first").len(), 3);
    assert_eq!(
        live.history(),
        history_of(&[("a1", "upgrade"), ("b2", "upgrade")])
    );
    assert!(live.journal().is_empty());
}

fn stamp_sets_the_version_table_without_running_anything(server: Server) {
    let Some(live) = LiveEnv::demo(server) else {
        return;
    };
    live.ok(&["stamp", "heads"]);
    assert_eq!(live.versions(), ["5e8a1b3c4d58"]);
    assert_eq!(live.tables(), ["rev_history", "rev_version"]);
    assert_eq!(live.history(), history_of(&[("5e8a1b3c4d58", "stamp")]));
    live.ok(&["stamp", "2b7e"]);
    assert_eq!(live.versions(), ["2b7e4d1a9c05"]);
    live.ok(&["stamp", "base"]);
    assert!(live.versions().is_empty());
    assert_eq!(live.tables(), ["rev_history", "rev_version"]);
    // A row that names no file stops every run until --purge clears it.
    live.db
        .exec("INSERT INTO rev_version (version_num) VALUES ('deadbeef0000')");
    assert_eq!(
        live.rev(&["upgrade", "heads"]).all(),
        "error: the database is at revision `deadbeef0000`, which no migration file declares\n\
         hint: restore the file, or `rev stamp <rev> --purge` to reset the version table\n[exit 1]"
    );
    live.ok(&["stamp", "1f3a", "--purge"]);
    assert_eq!(live.versions(), ["1f3a9c2b7d40"]);
    // Stamped, the upgrade runs only what comes after.
    live.db.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, \
         name VARCHAR(100), created_at TIMESTAMP)",
    );
    live.ok(&["upgrade", "3c5d"]);
    assert_eq!(live.versions(), ["3c5d8e0f1a26"]);
    assert_eq!(live.indexes("users"), ["ix_users_email unique"]);
    assert_eq!(
        live.history().last(),
        Some(&("3c5d8e0f1a26".to_owned(), "upgrade".to_owned()))
    );
}

fn check_reports_an_applied_migration_edited_since(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    live.env
        .write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    live.ok(&["upgrade", "heads"]);
    live.ok(&["check"]);
    // Layout and comments do not count ...
    live.env.write_migration(
        "a_first.ron",
        &format!(
            "// a comment\n{}",
            table_migration("a1", &[], "first").replace("    ", "\t")
        ),
    );
    live.ok(&["check"]);
    // ... what the migration does does.
    live.env
        .write_migration("a_first.ron", &table_migration("a1", &[], "renamed"));
    let run = live.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("revision a1"), "{}", run.all());
    assert!(
        run.stdout.contains("edited after it was applied"),
        "{}",
        run.all()
    );
    // Un-applied (with the file as it was), the edit no longer matters.
    live.env
        .write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    live.ok(&["downgrade", "base"]);
    live.env
        .write_migration("a_first.ron", &table_migration("a1", &[], "renamed"));
    live.ok(&["check"]);
}

fn autogenerate_round_trip(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    let models = live.env.path().join("models").join("app.ron");
    std::fs::write(
        &models,
        r#"[
    Table(name: "authors", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "name", type: String(100), nullable: false),
    ]),
]"#,
    )
    .unwrap();
    live.ok(&[
        "revision",
        "--autogenerate",
        "-m",
        "authors",
        "--rev-id",
        "g1",
    ]);
    live.ok(&["upgrade", "heads"]);
    live.ok(&["check"]);
    std::fs::write(
        &models,
        r#"[
    Table(name: "authors", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "name", type: String(200), nullable: false),
        Column(name: "born", type: Date),
    ]),
    Table(name: "books", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "author_id", type: Integer, nullable: false),
        Column(name: "title", type: String(300), nullable: false, default: Str("untitled")),
    ], indexes: [
        Index(name: "ix_books_title", columns: ["title"]),
    ], foreign_keys: [
        ForeignKey(name: "fk_books_author", columns: ["author_id"], ref_table: "authors", ref_columns: ["id"]),
    ]),
]"#,
    )
    .unwrap();
    let run = live.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.all().contains("+ table books"), "{}", run.all());
    live.ok(&[
        "revision",
        "--autogenerate",
        "-m",
        "books",
        "--rev-id",
        "g2",
    ]);
    live.ok(&["upgrade", "heads"]);
    live.ok(&["check"]);
    assert_eq!(
        live.tables(),
        ["authors", "books", "rev_history", "rev_version"]
    );
    let (int, varchar, date) = match server {
        Server::Postgres => ("integer", "character varying", "date"),
        Server::Mariadb => ("int", "varchar", "date"),
    };
    assert_eq!(
        live.columns("authors"),
        [
            format!("id {int} NO"),
            format!("name {varchar} NO"),
            format!("born {date} YES"),
        ]
    );
    let width = live.db.column(&format!(
        "SELECT character_maximum_length FROM information_schema.columns \
         WHERE table_schema = {} AND table_name = 'authors' AND column_name = 'name'",
        server.current_schema()
    ));
    assert_eq!(width, ["200"]);
    assert!(live
        .constraints("books")
        .contains(&"fk_books_author FOREIGN KEY".to_owned()));
    // MariaDB adds an index of its own for the foreign key.
    let indexes = live.indexes("books");
    assert!(
        indexes.contains(&"ix_books_title index".to_owned()),
        "{indexes:?}"
    );
    live.db.exec("INSERT INTO authors (name) VALUES ('Ann')");
    live.db
        .exec("INSERT INTO books (author_id) SELECT id FROM authors");
    assert_eq!(live.db.column("SELECT title FROM books"), ["untitled"]);
    // Nothing more to generate.
    assert_eq!(
        live.rev(&["revision", "--autogenerate", "-m", "nothing"])
            .all(),
        "No changes: the models match what the migrations build; nothing written\n[exit 0]"
    );
    live.ok(&["downgrade", "-1"]);
    assert_eq!(live.tables(), ["authors", "rev_history", "rev_version"]);
    assert_eq!(
        live.columns("authors"),
        [format!("id {int} NO"), format!("name {varchar} NO")]
    );
    assert_eq!(live.db.column("SELECT name FROM authors"), ["Ann"]);
}

/// Writes the crash project: c1 (fast), c2 (DDL, a 3 s sleep, DDL) and c3
/// (a 1 s sleep, then DDL).
fn crash_project(live: &LiveEnv) {
    let server = live.server();
    live.env
        .write_migration("c1.ron", &table_migration("c1", &[], "one"));
    live.env.write_migration(
        "c2.ron",
        &migration(
            "c2",
            &["c1"],
            "slow",
            &[
                r#"CreateTable(name: "two", columns: [Column(name: "id", type: Integer, primary_key: true)])"#.to_owned(),
                sql_op(&server.sleep(3)),
                r#"AddColumn(table: "two", column: Column(name: "extra", type: Integer))"#.to_owned(),
            ],
        ),
    );
    live.env.write_migration(
        "c3.ron",
        &migration(
            "c3",
            &["c2"],
            "waits first",
            &[
                sql_op(&server.sleep(1)),
                r#"CreateTable(name: "three", columns: [Column(name: "id", type: Integer, primary_key: true)])"#.to_owned(),
            ],
        ),
    );
}

/// Asserts the state of a completed crash project: schema, version row and
/// history agree, every migration applied exactly once.
fn assert_crash_project_complete(live: &LiveEnv) {
    assert_eq!(
        live.tables(),
        ["one", "rev_history", "rev_version", "three", "two"]
    );
    let int = match live.server() {
        Server::Postgres => "integer",
        Server::Mariadb => "int",
    };
    assert_eq!(
        live.columns("two"),
        [format!("id {int} NO"), format!("extra {int} YES")]
    );
    assert_eq!(live.versions(), ["c3"]);
    assert_eq!(
        live.history(),
        history_of(&[("c1", "upgrade"), ("c2", "upgrade"), ("c3", "upgrade")])
    );
    assert!(live.journal().is_empty(), "{:?}", live.journal());
    live.ok(&["check"]);
}

/// Kills a runner before it starts the slow migration: c1 is applied, and
/// the runner waits for the lock that the test holds as another runner would.
fn kill_before_the_slow_migration(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    crash_project(&live);
    live.ok(&["upgrade", "c1"]);
    let lock = live.hold_lock();
    let child = live.spawn(&["upgrade", "heads"]);
    live.wait_until("the runner to wait for the lock", |s| {
        live.waiting_for_lock(s) == 1
    });
    kill(child);
    drop(lock);
    // Nothing of c2 or c3 ran.
    assert_eq!(live.tables(), ["one", "rev_history", "rev_version"]);
    assert_eq!(live.versions(), ["c1"]);
    assert_eq!(live.history(), history_of(&[("c1", "upgrade")]));
    assert!(live.journal().is_empty());
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .starts_with("running   upgrade c2 slow\nupgrade   c2 slow ("),
        "the rerun starts at c2: {}",
        run.all()
    );
    assert_crash_project_complete(&live);
}

/// Kills a runner in the 3 s sleep of c2, after its first DDL statement.
fn kill_inside_the_slow_migration(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    crash_project(&live);
    let child = live.spawn(&["upgrade", "heads"]);
    let sleep = server.sleep(3);
    live.wait_until("c2's sleep", |s| live.running(s, &sleep));
    kill(child);
    assert_eq!(live.versions(), ["c1"]);
    assert_eq!(live.history(), history_of(&[("c1", "upgrade")]));
    let first_lines = match server {
        Server::Postgres => {
            // c2's transaction never committed: nothing of it is visible now,
            // nor after the server notices the runner is gone.
            assert_eq!(live.tables(), ["one", "rev_history", "rev_version"]);
            assert!(live.journal().is_empty());
            // The rerun takes the lock once the server has ended the dead
            // session, and applies c2 from its start.
            "running   upgrade c2 slow\nupgrade   c2 slow ("
        }
        Server::Mariadb => {
            // MariaDB committed c2's first statement on its own (implicit
            // commit), and the journal says so; the sleep (a row statement)
            // commits with its journal row, so it never did.
            assert_eq!(live.tables(), ["one", "rev_history", "rev_version", "two"]);
            assert_eq!(live.columns("two"), ["id int NO"]);
            assert_eq!(live.journal(), ["c2 upgrade 1 NULL"]);
            // The rerun waits for the dead session's lock, then resumes c2 at
            // statement 2: CREATE TABLE two does not run again.
            "resumed   upgrade c2: statement 1 had completed; resuming at statement 2\n\
             running   upgrade c2 slow\nupgrade   c2 slow ("
        }
    };
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.starts_with(first_lines), "{}", run.all());
    assert_crash_project_complete(&live);
}

/// Kills a runner after c2 committed, while c3 has run none of its DDL.
fn kill_between_migrations(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    crash_project(&live);
    let child = live.spawn(&["upgrade", "heads"]);
    let sleep = server.sleep(1);
    live.wait_until("c3's sleep", |s| live.running(s, &sleep));
    kill(child);
    assert_eq!(live.versions(), ["c2"]);
    assert_eq!(
        live.history(),
        history_of(&[("c1", "upgrade"), ("c2", "upgrade")])
    );
    assert_eq!(live.tables(), ["one", "rev_history", "rev_version", "two"]);
    assert_eq!(live.columns("two").len(), 2);
    let first_lines = match server {
        Server::Postgres => {
            assert!(live.journal().is_empty());
            "running   upgrade c3 waits first\nupgrade   c3 waits first ("
        }
        Server::Mariadb => {
            // c3 had begun: its journal row stands, with nothing completed.
            assert_eq!(live.journal(), ["c3 upgrade 0 NULL"]);
            "resumed   upgrade c3: no statement had completed; resuming at statement 1\n\
             running   upgrade c3 waits first\nupgrade   c3 waits first ("
        }
    };
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.starts_with(first_lines),
        "the rerun starts at c3: {}",
        run.all()
    );
    assert_crash_project_complete(&live);
}

/// Sends SIGKILL to a runner and checks that it died of it.
fn kill(mut child: std::process::Child) {
    child.kill().unwrap();
    let killed = finish(child);
    assert_eq!(killed.code, -1, "killed by a signal: {}", killed.all());
}

fn a_killed_runner_is_safe_to_run_again(server: Server) {
    // The three kill points sleep on the server, not on the CPU: run them side by side.
    std::thread::scope(|s| {
        let handles = [
            s.spawn(|| kill_before_the_slow_migration(server)),
            s.spawn(|| kill_inside_the_slow_migration(server)),
            s.spawn(|| kill_between_migrations(server)),
        ];
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

fn the_server_ends_a_killed_runners_statement_soon(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    live.set_lock_timeout(2);
    let long = server.sleep(60);
    let table = r#"CreateTable(name: "t", columns: [Column(name: "id", type: Integer, primary_key: true)])"#;
    live.env.write_migration(
        "l1.ron",
        &migration("l1", &[], "long", &[sql_op(&long), table.to_owned()]),
    );
    let child = live.spawn(&["upgrade", "heads"]);
    live.wait_until("the long statement", |s| live.running(s, &long));
    kill(child);
    // A dead runner's statement must not keep running (and holding the
    // migration lock and its table locks) until it ends on its own: that
    // could be hours for a data migration, and every rerun would time out.
    live.wait_until("the server to end the dead runner's statement", |s| {
        !live.running(s, &long)
    });
    assert!(live.versions().is_empty());
    assert!(live.history().is_empty());
    live.env
        .write_migration("l1.ron", &migration("l1", &[], "long", &[table.to_owned()]));
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(live.versions(), ["l1"]);
}

fn a_killed_non_transactional_migration_resumes_on_the_rerun(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    let create = |t: &str| {
        format!(
            r#"CreateTable(name: "{t}", columns: [Column(name: "id", type: Integer, primary_key: true)])"#
        )
    };
    let sleep = server.sleep(3);
    live.env.write_migration(
        "n1.ron",
        &migration(
            "n1",
            &[],
            "outside",
            &[create("a"), sql_op(&sleep), create("b")],
        )
        .replace("    upgrade:", "    transactional: false,\n    upgrade:"),
    );
    assert!(live
        .rev(&["upgrade", "heads", "--plan"])
        .stdout
        .contains("upgrade   n1 outside (outside a transaction)"));
    let child = live.spawn(&["upgrade", "heads"]);
    live.wait_until("n1's sleep", |s| live.running(s, &sleep));
    kill(child);
    // Statement 1 committed on its own on both servers, and the journal
    // says so; the sleep commits with its journal row, so it never did.
    assert_eq!(live.tables(), ["a", "rev_history", "rev_version"]);
    assert_eq!(live.journal(), ["n1 upgrade 1 NULL"]);
    assert!(live.versions().is_empty());
    assert!(live.history().is_empty());
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.starts_with(
            "resumed   upgrade n1: statement 1 had completed; resuming at statement 2\n\
             running   upgrade n1 outside\nupgrade   n1 outside ("
        ),
        "{}",
        run.all()
    );
    assert_eq!(live.tables(), ["a", "b", "rev_history", "rev_version"]);
    assert_eq!(live.versions(), ["n1"]);
    assert_eq!(live.history(), history_of(&[("n1", "upgrade")]));
    assert!(live.journal().is_empty());
}

/// A kill while raw DDL commits on its own leaves it in doubt: the rerun
/// stops, lists what ran, and goes on once told what the database shows.
fn a_killed_raw_ddl_statement_stops_the_rerun_until_told(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    let slow = match server {
        Server::Postgres => "CREATE TABLE slow AS SELECT 1 AS s FROM pg_sleep(3)",
        Server::Mariadb => "CREATE TABLE slow AS SELECT SLEEP(3) AS s",
    };
    live.env.write_migration(
        "r1.ron",
        &migration(
            "r1",
            &[],
            "raw",
            &[
                r#"CreateTable(name: "a", columns: [Column(name: "id", type: Integer, primary_key: true)])"#.to_owned(),
                sql_op(slow),
            ],
        )
        .replace("    upgrade:", "    transactional: false,\n    upgrade:"),
    );
    let child = live.spawn(&["upgrade", "heads"]);
    live.wait_until("the slow statement", |s| live.running(s, slow));
    kill(child);
    assert_eq!(live.journal(), ["r1 upgrade 1 2"]);
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let stderr = live.redact(&run.stderr);
    let expected = format!(
        "error: revision r1 (upgrade) was interrupted by an earlier run at statement 2, and rev \
         cannot tell whether it took effect: it is raw SQL (operation 2 (Sql)), whose effect \
         rev cannot read from the schema\n  completed 1: {}\n  in doubt  2: {slow}\n",
        match server {
            Server::Postgres =>
                "CREATE TABLE \"a\" (\n    \"id\" INTEGER NOT NULL,\n    PRIMARY KEY (\"id\")\n)",
            Server::Mariadb =>
                "CREATE TABLE `a` (\n    `id` INT NOT NULL,\n    PRIMARY KEY (`id`)\n)",
        }
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr.contains("--assume-applied") && stderr.contains("--assume-not-applied"),
        "{stderr}"
    );
    assert!(live.versions().is_empty());
    assert_eq!(live.journal(), ["r1 upgrade 1 2"]);

    // What the user does: wait for the dead session to end, look, and say.
    live.wait_until("the server to end the dead runner's statement", |s| {
        !live.running(s, slow)
    });
    let took_effect = live.tables().contains(&"slow".to_owned());
    let flag = if took_effect {
        "--assume-applied"
    } else {
        "--assume-not-applied"
    };
    let out = live.ok(&["upgrade", "heads", flag]);
    let counted = if took_effect {
        "statement 2 counted as applied (as asked); resuming at statement 3"
    } else {
        "statement 2 counted as not applied (as asked); resuming at statement 2"
    };
    assert!(
        out.starts_with(&format!(
            "resumed   upgrade r1: statement 1 had completed; {counted}\n"
        )),
        "{out}"
    );
    assert_eq!(live.tables(), ["a", "rev_history", "rev_version", "slow"]);
    assert_eq!(live.db.column("SELECT COUNT(*) FROM slow"), ["1"]);
    assert_eq!(live.versions(), ["r1"]);
    assert_eq!(live.history(), history_of(&[("r1", "upgrade")]));
    assert!(live.journal().is_empty());
}

fn four_runners_at_once_apply_each_migration_once(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    let ids: Vec<String> = (0..12).map(|i| format!("r{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let parents: Vec<&str> = i
            .checked_sub(1)
            .map(|p| ids[p].as_str())
            .into_iter()
            .collect();
        let mut ops = vec![format!(
            r#"CreateTable(name: "t{i}", columns: [Column(name: "id", type: Integer, primary_key: true)])"#
        )];
        if i == 0 {
            // The first runner holds the lock long enough for all to be waiting.
            ops.push(sql_op(&server.sleep(2)));
        }
        live.env
            .write_migration(&format!("{id}.ron"), &migration(id, &parents, id, &ops));
    }
    let children: Vec<_> = (0..4).map(|_| live.spawn(&["upgrade", "heads"])).collect();
    // While the first runs r000, the three others wait for the lock.
    let first = server.sleep(2);
    live.wait_until("three runners waiting for the lock", |s| {
        live.running(s, &first) && live.waiting_for_lock(s) == 3
    });
    let runs: Vec<_> = children.into_iter().map(finish).collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.all());
    }
    // Every migration was applied by exactly one runner ...
    let mut applied: Vec<String> = runs
        .iter()
        .flat_map(|run| run.stdout.lines())
        .filter_map(|line| line.strip_prefix("upgrade   "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_owned)
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        ids,
        "{:?}",
        runs.iter().map(|r| r.all()).collect::<Vec<_>>()
    );
    // ... the first to get the lock ran them all, while the other three
    // waited for it (the first holds it for over two seconds) and then found
    // nothing to do.
    let idle = runs
        .iter()
        .filter(|run| run.stdout == "nothing to do: the database is already there\n")
        .count();
    assert_eq!(
        idle,
        3,
        "{:?}",
        runs.iter().map(|r| r.all()).collect::<Vec<_>>()
    );
    // The history proves it, in order.
    assert_eq!(live.history_revisions(), ids);
    assert_eq!(live.versions(), ["r011"]);
    assert_eq!(live.tables().len(), 12 + 2);
}

fn a_runner_that_cannot_get_the_lock_in_time_says_so(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    live.set_lock_timeout(1);
    live.env.write_migration(
        "s1.ron",
        &migration("s1", &[], "slow", &[sql_op(&server.sleep(3))]),
    );
    let first = live.spawn(&["upgrade", "heads"]);
    let sleep = server.sleep(3);
    live.wait_until("the first runner's sleep", |s| live.running(s, &sleep));
    let started = Instant::now();
    let second = live.rev(&["upgrade", "heads"]);
    let waited = started.elapsed();
    assert_eq!(
        second.all(),
        "error: another rev runner holds the migration lock; gave up after 1s\n\
         hint: another `rev` is migrating this database; wait for it, or raise lock_timeout_secs in rev.ron\n\
         [exit 1]"
    );
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    let first = finish(first);
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(live.history(), history_of(&[("s1", "upgrade")]));
}

#[test]
fn an_unreachable_server_skips_or_fails_as_configured() {
    let closed = "postgres://postgres@127.0.0.1:1/test".to_owned();
    assert!(TempDb::create_at(Server::Postgres, closed.clone(), false).is_none());
    let required = std::panic::catch_unwind(|| TempDb::create_at(Server::Postgres, closed, true));
    let message = required
        .err()
        .and_then(|p| p.downcast::<String>().ok())
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.starts_with("PostgreSQL is required (REV_REQUIRE_SERVICES=1) but unusable:"),
        "{message}"
    );
    let closed = "mysql://root@127.0.0.1:1/test".to_owned();
    assert!(TempDb::create_at(Server::Mariadb, closed, false).is_none());
}

fn takes_over_a_database_that_alembic_manages(server: Server) {
    let Some(live) = LiveEnv::demo(server) else {
        return;
    };
    let config = live.env.path().join("rev.ron");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"rev_version\"", "\"alembic_version\""),
    )
    .unwrap();
    // What Alembic leaves: its version table at the first revision, whose
    // table it created itself.
    live.db.exec(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    );
    live.db
        .exec("INSERT INTO alembic_version (version_num) VALUES ('1f3a9c2b7d40')");
    live.db.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, \
         name VARCHAR(100), created_at TIMESTAMP)",
    );
    assert_eq!(
        live.rev(&["current"]).all(),
        "1f3a9c2b7d40 (branchpoint) create users\n[exit 0]"
    );
    live.ok(&["upgrade", "heads", "-q"]);
    assert_eq!(
        live.db.column("SELECT version_num FROM alembic_version"),
        ["5e8a1b3c4d58"]
    );
    assert_eq!(
        live.tables(),
        ["alembic_version", "profiles", "rev_history", "users"]
    );
    assert_eq!(live.history_revisions().len(), 4);
    // And back, as Alembic would expect to find it.
    live.ok(&["downgrade", "1f3a", "-q"]);
    assert_eq!(
        live.db.column("SELECT version_num FROM alembic_version"),
        ["1f3a9c2b7d40"]
    );
    assert_eq!(live.tables(), ["alembic_version", "rev_history", "users"]);
}

fn a_failing_test_still_drops_its_database(server: Server) {
    let Some(db) = TempDb::create(server) else {
        return;
    };
    let name = db.name.clone();
    let failed = std::panic::catch_unwind(move || {
        let _db = db;
        panic!("a failing test (expected)");
    });
    assert!(failed.is_err());
    let vantage = TempDb::create(server).unwrap();
    let sql = match server {
        Server::Postgres => format!("SELECT datname FROM pg_database WHERE datname = '{name}'"),
        Server::Mariadb => format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = '{name}'"
        ),
    };
    assert!(vantage.column(&sql).is_empty(), "{name} is left behind");
}

/// A PostgreSQL script run by psql, which goes on after a failed statement:
/// a script whose version row is missing must not commit its migration.
#[test]
fn postgres_script_refuses_a_version_row_that_is_not_there() {
    let Some(live) = LiveEnv::new(Server::Postgres) else {
        return;
    };
    if std::process::Command::new("psql")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: psql is not installed");
        return;
    }
    live.env
        .write_migration("a1.ron", &table_migration("a1", &[], "first"));
    live.env
        .write_migration("a2.ron", &table_migration("a2", &["a1"], "second"));
    // The version table exists and is empty: the database is at base, not at a1.
    live.ok(&["stamp", "base"]);
    let script = live.ok(&["upgrade", "a1:a2", "--sql", "--dialect", "postgres"]);
    let mut psql = std::process::Command::new("psql")
        .args([live.db.url.as_str(), "-X", "-q", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    psql.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the version table has no row `a1`"),
        "{stderr}\n{script}"
    );
    assert!(live.versions().is_empty());
    assert_eq!(live.tables(), ["rev_history", "rev_version"], "{script}");
}

/// A statement of a non-transactional migration that fails under psql
/// stops the script: the version table does not move past it.
#[test]
fn postgres_script_stops_at_a_failed_non_transactional_statement() {
    let Some(live) = LiveEnv::new(Server::Postgres) else {
        return;
    };
    if std::process::Command::new("psql")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: psql is not installed");
        return;
    }
    live.env
        .write_migration("a1.ron", &table_migration("a1", &[], "first"));
    live.env.write_migration(
        "a2.ron",
        &migration(
            "a2",
            &["a1"],
            "concurrent index",
            &[r#"Sql("CREATE INDEX CONCURRENTLY ix_missing ON no_such_table (id)")"#.to_owned()],
        )
        .replace("upgrade: [", "transactional: false,\n    upgrade: ["),
    );
    live.ok(&["upgrade", "a1"]);
    let script = live.ok(&["upgrade", "a1:a2", "--sql", "--dialect", "postgres"]);
    let mut psql = std::process::Command::new("psql")
        .args([live.db.url.as_str(), "-X", "-q", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    psql.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert_eq!(live.versions(), ["a1"], "{script}");
    assert!(!out.status.success(), "{script}");
}

/// MariaDB stores `length(title) > 0` as ``octet_length(`title`) > 0``: the
/// same check, so neither `rev check --db` nor `--autogenerate --from-db`
/// sees drift; a check really changed by hand shows both expressions.
#[test]
fn mariadb_check_expressions_compare_in_a_normalised_form() {
    let Some(live) = LiveEnv::new(Server::Mariadb) else {
        return;
    };
    std::fs::write(
        live.env.path().join("models").join("app.ron"),
        r#"[
    Table(name: "posts", columns: [
        Column(name: "id", type: Integer, primary_key: true),
        Column(name: "title", type: String(100), nullable: false),
    ], checks: [
        Check(name: "ck_posts_title", expr: "length(title) > 0"),
    ]),
]"#,
    )
    .unwrap();
    live.ok(&[
        "revision",
        "--autogenerate",
        "-m",
        "posts",
        "--rev-id",
        "p1",
    ]);
    live.ok(&["upgrade", "heads"]);
    let stored = live.db.column(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'ck_posts_title'",
    );
    assert_eq!(stored, ["octet_length(`title`) > 0"]);
    let run = live.rev(&["check", "--db"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = live.rev(&["revision", "--autogenerate", "--from-db", "-m", "again"]);
    assert_eq!(
        run.all(),
        "No changes: the models match the database; nothing written\n[exit 0]"
    );
    live.db
        .exec("ALTER TABLE posts DROP CONSTRAINT ck_posts_title");
    live.db
        .exec("ALTER TABLE posts ADD CONSTRAINT ck_posts_title CHECK (length(title) > 1)");
    let run = live.rev(&["check", "--db"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let out = run.all();
    assert!(
        out.contains(
            "~ check ck_posts_title on posts: the migrations have `length(title) > 0`, \
             the database `octet_length(`title`) > 1`"
        ),
        "{out}"
    );
    assert!(!out.contains("- constraint"), "{out}");
    assert!(
        out.contains("(+ only in the database, - only in the migrations, ~ differs between them)"),
        "{out}"
    );
}
