//! Running migrations for real against SQLite files, through the binary.

use insta::assert_snapshot;

use crate::common::{copy_demo, table_migration, TestEnv};

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.path().join("rev.db")).unwrap()
}

fn tables(env: &TestEnv) -> Vec<String> {
    let conn = db(env);
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn versions(env: &TestEnv) -> Vec<String> {
    let conn = db(env);
    let mut stmt = conn
        .prepare("SELECT version_num FROM rev_version ORDER BY version_num")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn history(env: &TestEnv) -> Vec<(String, String)> {
    let conn = db(env);
    let mut stmt = conn
        .prepare("SELECT revision, direction FROM rev_history ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_readme_quick_start_migrates_the_demo_and_back() {
    let env = TestEnv::empty();
    copy_demo(&env);
    assert_snapshot!(env.rev(&["upgrade", "heads", "-q"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["current"]).all(), @r"
    5e8a1b3c4d58 (head) (mergepoint) merge profiles and email
    [exit 0]
    ");
    assert_eq!(
        tables(&env),
        ["profiles", "rev_history", "rev_version", "users"]
    );
    assert_eq!(versions(&env), ["5e8a1b3c4d58"]);
    assert_eq!(history(&env).len(), 5);
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: 5 revisions, one head, no problems found
    [exit 0]
    ");
    env.ok(&["downgrade", "base"]);
    assert_eq!(tables(&env), ["rev_history", "rev_version"]);
    assert!(versions(&env).is_empty());
}

#[test]
fn version_rows_follow_the_plan_through_branches_and_merges() {
    let env = TestEnv::empty();
    copy_demo(&env);
    env.ok(&["upgrade", "2b7e"]);
    assert_eq!(versions(&env), ["2b7e4d1a9c05"]);
    env.ok(&["upgrade", "4d6f"]);
    // Two branches applied: one row per applied head.
    assert_eq!(versions(&env), ["2b7e4d1a9c05", "4d6f0a2b3c47"]);
    env.ok(&["upgrade", "heads"]);
    assert_eq!(versions(&env), ["5e8a1b3c4d58"]);
    // Down to the branch point un-applies both branches and the merge.
    assert_snapshot!(env.rev(&["downgrade", "1f3a", "--plan"]).all(), @r"
    from: 5e8a1b3c4d58
    to:   1f3a9c2b7d40
    downgrade 5e8a1b3c4d58 merge profiles and email
    downgrade 2b7e4d1a9c05 create profiles
    downgrade 4d6f0a2b3c47 add users last_login
    downgrade 3c5d8e0f1a26 unique user email
    [exit 0]
    ");
    env.ok(&["downgrade", "1f3a"]);
    assert_eq!(versions(&env), ["1f3a9c2b7d40"]);
    assert_eq!(tables(&env), ["rev_history", "rev_version", "users"]);
    assert_snapshot!(env.rev(&["upgrade", "+1"]).all(), @r"
    error: `+1` is ambiguous at `1f3a9c2b7d40`: it could go to 2b7e4d1a9c05 or 3c5d8e0f1a26; name the revision instead
    [exit 1]
    ");
    env.ok(&["upgrade", "3c5d"]);
    env.ok(&["upgrade", "+1"]);
    assert_eq!(versions(&env), ["4d6f0a2b3c47"]);
    env.ok(&["downgrade", "-1"]);
    assert_eq!(versions(&env), ["3c5d8e0f1a26"]);
}

#[test]
fn plan_json_has_the_documented_shape() {
    let env = TestEnv::empty();
    copy_demo(&env);
    env.ok(&["upgrade", "2b7e"]);
    let plan: serde_json::Value =
        serde_json::from_str(&env.ok(&["upgrade", "heads", "--plan", "--format", "json"])).unwrap();
    assert_eq!(plan["from"], serde_json::json!(["2b7e4d1a9c05"]));
    assert_eq!(plan["to"], serde_json::json!(["5e8a1b3c4d58"]));
    assert_eq!(
        plan["steps"][0],
        serde_json::json!({"direction": "upgrade", "revision": "3c5d8e0f1a26", "message": "unique user email"})
    );
    assert_eq!(plan["steps"].as_array().map(Vec::len), Some(3));
    // --plan changes nothing.
    assert_eq!(versions(&env), ["2b7e4d1a9c05"]);
}

#[test]
fn a_migration_failing_at_its_third_statement_leaves_nothing_behind() {
    let env = TestEnv::new();
    env.write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    env.write_migration(
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
    let run = env.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("b2"), "{}", run.all());
    assert!(run.stderr.contains("statement 3"), "{}", run.all());
    assert!(
        run.stderr.contains("INSERT INTO missing_table"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains("no such table: missing_table"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr
            .contains("completed before the failure: upgrade a1"),
        "{}",
        run.all()
    );
    // a1 stays applied; nothing of b2 remains: no table, no column, no version, no history.
    assert_eq!(tables(&env), ["first", "rev_history", "rev_version"]);
    let columns: Vec<String> = {
        let conn = db(&env);
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('first')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(columns, ["id", "name"]);
    assert_eq!(versions(&env), ["a1"]);
    assert_eq!(history(&env), [("a1".to_owned(), "upgrade".to_owned())]);

    // Fixed, the next run goes on from where the database stands.
    env.write_migration(
        "b_broken.ron",
        r#"Migration(id: "b2", parents: ["a1"], message: "fixed", upgrade: [
            CreateTable(name: "second", columns: [Column(name: "id", type: Integer, primary_key: true)]),
        ])"#,
    );
    env.ok(&["upgrade", "heads"]);
    assert_eq!(versions(&env), ["b2"]);
    assert_eq!(
        tables(&env),
        ["first", "rev_history", "rev_version", "second"]
    );
}

#[test]
fn two_runners_started_together_apply_each_migration_once() {
    let env = TestEnv::new();
    let mut parent: Option<String> = None;
    for i in 0..40 {
        let id = format!("r{i:03}");
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        env.write_migration(
            &format!("{id}.ron"),
            &table_migration(&id, &parents, &format!("t{i}")),
        );
        parent = Some(id);
    }
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rev"))
            .args(["upgrade", "heads", "-q"])
            .current_dir(env.path())
            .env_remove("DATABASE_URL")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let history = history(&env);
    assert_eq!(
        history.len(),
        40,
        "every migration applied exactly once: {history:?}"
    );
    let mut revisions: Vec<&String> = history.iter().map(|(r, _)| r).collect();
    revisions.dedup();
    assert_eq!(revisions.len(), 40);
    assert_eq!(versions(&env), ["r039"]);
}

#[test]
fn stamp_sets_the_version_table_without_running_anything() {
    let env = TestEnv::empty();
    copy_demo(&env);
    env.ok(&["stamp", "heads"]);
    assert_eq!(versions(&env), ["5e8a1b3c4d58"]);
    assert_eq!(tables(&env), ["rev_history", "rev_version"]);
    assert_eq!(
        history(&env),
        [("5e8a1b3c4d58".to_owned(), "stamp".to_owned())]
    );
    env.ok(&["stamp", "2b7e"]);
    assert_eq!(versions(&env), ["2b7e4d1a9c05"]);
    env.ok(&["stamp", "base"]);
    assert!(versions(&env).is_empty());
    // --purge clears rows that name no file.
    db(&env)
        .execute("INSERT INTO rev_version VALUES ('deadbeef0000')", [])
        .unwrap();
    assert_snapshot!(env.rev(&["upgrade", "heads"]).all(), @r"
    error: the database is at revision `deadbeef0000`, which no migration file declares
    hint: restore the file, or `rev stamp <rev> --purge` to reset the version table
    [exit 1]
    ");
    env.ok(&["stamp", "1f3a", "--purge"]);
    assert_eq!(versions(&env), ["1f3a9c2b7d40"]);
}

#[test]
fn stamp_leaves_the_rows_of_unrelated_branches() {
    let env = TestEnv::new();
    env.write_migration("a1.ron", &table_migration("a1", &[], "base_t"));
    env.write_migration("b1.ron", &table_migration("b1", &["a1"], "bill"));
    env.write_migration("b2.ron", &table_migration("b2", &["b1"], "bill_more"));
    env.write_migration("c1.ron", &table_migration("c1", &["a1"], "ship"));
    env.ok(&["upgrade", "b1"]);
    env.ok(&["upgrade", "c1"]);
    assert_eq!(versions(&env), ["b1", "c1"]);
    // b2 was applied by hand: stamping it must not forget that c1 is applied,
    // or the next upgrade would run c1 again.
    env.ok(&["stamp", "b2"]);
    assert_eq!(versions(&env), ["b2", "c1"]);
    assert_snapshot!(env.rev(&["upgrade", "heads"]).all(), @r"
    nothing to do: the database is already there
    [exit 0]
    ");
    // Stamping down within a branch replaces that branch's row only.
    env.ok(&["stamp", "b1"]);
    assert_eq!(versions(&env), ["b1", "c1"]);
    // A revision that both branches lead up from replaces both rows.
    env.ok(&["stamp", "a1"]);
    assert_eq!(versions(&env), ["a1"]);
    env.ok(&["stamp", "heads"]);
    assert_eq!(versions(&env), ["b2", "c1"]);
    // --purge empties the table first, so only the target is left.
    env.ok(&["stamp", "b1", "--purge"]);
    assert_eq!(versions(&env), ["b1"]);
    env.ok(&["stamp", "base"]);
    assert!(versions(&env).is_empty());
}

#[test]
fn an_offline_script_run_by_sqlite3_stops_at_a_failed_statement() {
    if std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: sqlite3 is not installed");
        return;
    }
    let env = TestEnv::new();
    env.write_migration("a1.ron", &table_migration("a1", &[], "first"));
    env.write_migration(
        "b2.ron",
        r#"Migration(
    id: "b2",
    parents: ["a1"],
    message: "fails half-way",
    upgrade: [
        CreateTable(name: "second", columns: [Column(name: "id", type: Integer, primary_key: true)]),
        Sql("INSERT INTO no_such_table VALUES (1)"),
    ],
    downgrade: [DropTable(name: "second")],
)
"#,
    );
    let script = env.ok(&["upgrade", "heads", "--sql", "--dialect", "sqlite"]);
    let script_path = env.path().join("up.sql");
    std::fs::write(&script_path, &script).unwrap();
    let run = std::process::Command::new("sqlite3")
        .arg(env.path().join("rev.db"))
        .stdin(std::fs::File::open(&script_path).unwrap())
        .output()
        .unwrap();
    assert!(!run.status.success(), "{script}");
    // a1 committed; b2 neither kept its table nor reached the version table.
    assert_eq!(versions(&env), ["a1"], "{script}");
    assert_eq!(tables(&env), ["first", "rev_history", "rev_version"]);
}

#[test]
fn check_reports_an_applied_migration_edited_since() {
    let env = TestEnv::new();
    env.write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    env.ok(&["upgrade", "heads"]);
    env.ok(&["check"]);
    // Layout and comments do not count ...
    env.write_migration(
        "a_first.ron",
        &format!(
            "// a comment\n{}",
            table_migration("a1", &[], "first").replace("    ", "\t")
        ),
    );
    assert_eq!(env.rev(&["check"]).code, 0, "{}", env.rev(&["check"]).all());
    // ... what the migration does does.
    env.write_migration("a_first.ron", &table_migration("a1", &[], "renamed"));
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("revision a1"), "{}", run.all());
    assert!(
        run.stdout.contains("edited after it was applied"),
        "{}",
        run.all()
    );
}

#[test]
fn check_ignores_revisions_a_stamp_took_out_of_the_version_table() {
    let env = TestEnv::new();
    env.write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    env.write_migration("b_second.ron", &table_migration("b2", &["a1"], "second"));
    env.ok(&["upgrade", "heads"]);
    // Stamping down leaves b2's last history row an upgrade, and stamping to
    // base writes a `stamp` row for a1: neither is applied any more, so
    // editing their files is no longer editing applied migrations.
    env.ok(&["stamp", "a1"]);
    env.write_migration("b_second.ron", &table_migration("b2", &["a1"], "renamed"));
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 0, "{}", run.all());
    env.ok(&["stamp", "base"]);
    env.write_migration("a_first.ron", &table_migration("a1", &[], "renamed_too"));
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // Applied again, an edit is caught again.
    env.ok(&["upgrade", "a1"]);
    env.write_migration("a_first.ron", &table_migration("a1", &[], "first"));
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("revision a1"), "{}", run.all());
}

#[test]
fn autogenerate_round_trip_on_sqlite() {
    let env = TestEnv::new();
    std::fs::write(
        env.path().join("models").join("app.ron"),
        r#"[
    Table(name: "authors", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "name", type: String(100), nullable: false),
    ]),
]"#,
    )
    .unwrap();
    assert_snapshot!(env.rev(&["revision", "--autogenerate", "-m", "authors", "--rev-id", "g1"]).all(), @r"
    Detected + table authors
    (+ added, - dropped, ~ changed by the new revision)
    Created revision g1: migrations/versions/g1_authors.ron
    [exit 0]
    ");
    env.ok(&["upgrade", "heads"]);
    assert_snapshot!(env.rev(&["revision", "--autogenerate", "-m", "nothing"]).all(), @r"
    No changes: the models match what the migrations build; nothing written
    [exit 0]
    ");
    std::fs::write(
        env.path().join("models").join("app.ron"),
        r#"[
    Table(name: "authors", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "name", type: String(200), nullable: false),
        Column(name: "born", type: Date),
    ]),
    Table(name: "books", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "author_id", type: Integer, nullable: false),
    ], foreign_keys: [
        ForeignKey(name: "fk_books_author", columns: ["author_id"], ref_table: "authors", ref_columns: ["id"]),
    ]),
]"#,
    )
    .unwrap();
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1);
    assert_snapshot!(run.all(), @r"
    error: the models differ from what the migrations build; `rev revision --autogenerate -m <message>` would write:
      + table books
      ~ column authors.name: type String(200)
      + column authors.born
    [exit 1]
    ");
    env.ok(&[
        "revision",
        "--autogenerate",
        "-m",
        "books",
        "--rev-id",
        "g2",
    ]);
    env.ok(&["upgrade", "heads"]);
    assert_eq!(
        tables(&env),
        ["authors", "books", "rev_history", "rev_version"]
    );
    env.ok(&["check"]);
    env.ok(&["downgrade", "-1"]);
    assert_eq!(tables(&env), ["authors", "rev_history", "rev_version"]);
    let columns: Vec<String> = {
        let conn = db(&env);
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('authors')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(columns, ["id", "name"]);
}

#[test]
fn offline_sql_touches_no_database() {
    let env = TestEnv::empty();
    copy_demo(&env);
    let script = env.ok(&["upgrade", "heads", "--sql"]);
    assert!(script.contains("CREATE TABLE \"users\""), "{script}");
    assert!(!env.path().join("rev.db").exists());
    let run = env.rev(&["downgrade", "base", "--sql"]);
    assert_eq!(run.code, 2, "{}", run.all());
    let down = env.ok(&["downgrade", "heads:base", "--sql"]);
    assert!(down.contains("DROP TABLE \"users\""), "{down}");
    let range = env.ok(&["upgrade", "2b7e:heads", "--sql"]);
    assert!(!range.contains("CREATE TABLE \"users\""), "{range}");
    assert!(range.contains("ix_users_email"), "{range}");
}

#[test]
fn database_url_precedence_and_no_password_in_output() {
    let env = TestEnv::empty();
    copy_demo(&env);
    std::fs::write(
        env.path().join(".env"),
        "DATABASE_URL=sqlite://from_env.db\n",
    )
    .unwrap();
    env.ok(&["upgrade", "1f3a"]);
    assert!(env.path().join("from_env.db").exists());
    assert!(!env.path().join("rev.db").exists());
    env.ok(&["upgrade", "1f3a", "--url", "sqlite://from_flag.db"]);
    assert!(env.path().join("from_flag.db").exists());
    let run = env.rev(&[
        "current",
        "--url",
        "postgres://admin:hunter2@127.0.0.1:1/nope",
    ]);
    assert_eq!(run.code, 1);
    assert!(!run.all().contains("hunter2"), "{}", run.all());
}

#[test]
fn a_branch_downgrade_stays_on_its_branch() {
    let env = TestEnv::new();
    env.write_migration("a1.ron", &table_migration("a1", &[], "base_t"));
    env.write_migration(
        "b1.ron",
        &table_migration("b1", &["a1"], "bill_t")
            .replace("upgrade:", "branch_labels: [\"bill\"],\n    upgrade:"),
    );
    env.write_migration(
        "s1.ron",
        &table_migration("s1", &["a1"], "ship_t")
            .replace("upgrade:", "branch_labels: [\"ship\"],\n    upgrade:"),
    );
    env.ok(&["upgrade", "heads"]);
    assert_eq!(versions(&env), ["b1", "s1"]);
    env.ok(&["downgrade", "ship@-1"]);
    assert_eq!(versions(&env), ["b1"]);
    assert_eq!(
        tables(&env),
        ["base_t", "bill_t", "rev_history", "rev_version"]
    );
}
