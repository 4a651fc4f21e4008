//! What `rev check` used to pass as "ok" (issue 13 item 5), and the purge of
//! an offline `rev stamp --purge --sql`.

use crate::common::{table_migration, TestEnv};

#[test]
fn check_reports_an_applied_migration_whose_file_was_deleted() {
    let env = TestEnv::new();
    env.write_migration("a1_t1.ron", &table_migration("a1", &[], "t1"));
    env.write_migration("a2_t2.ron", &table_migration("a2", &["a1"], "t2"));
    env.ok(&["upgrade", "heads"]);
    std::fs::remove_file(env.versions().join("a2_t2.ron")).unwrap();
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("error: the database is at revision `a2`, which no file in"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("hint: restore the file of `a2`"),
        "{}",
        run.all()
    );
    let json = env.rev(&["check", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds: Vec<&str> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"applied_file_missing"), "{}", json.stdout);
    assert!(value["findings"][0]["hint"].is_string(), "{}", json.stdout);
}

#[test]
fn check_reports_a_mistyped_migrations_path_and_revision_refuses_it() {
    let env = TestEnv::new();
    env.write_migration("a1_t1.ron", &table_migration("a1", &[], "t1"));
    let config = std::fs::read_to_string(env.path().join("rev.ron")).unwrap();
    let mistyped = config.replace("migrations: \"migrations\"", "migrations: \"migratons\"");
    assert_ne!(config, mistyped);
    std::fs::write(env.path().join("rev.ron"), mistyped).unwrap();
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("migratons/versions does not exist"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("hint: fix `migrations` in rev.ron"),
        "{}",
        run.all()
    );
    let run = env.rev(&["revision", "-m", "x"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("mistyped"), "{}", run.all());
    assert!(!env.path().join("migratons").exists());
}

#[test]
fn revision_creates_the_default_directory_of_a_fresh_clone() {
    let env = TestEnv::new();
    // git keeps no empty directory: a fresh clone has no migrations/ at all.
    std::fs::remove_dir_all(env.path().join("migrations")).unwrap();
    env.ok(&["revision", "-m", "first", "--rev-id", "f1"]);
    assert_eq!(std::fs::read_dir(env.versions()).unwrap().count(), 1);
}

#[test]
fn check_reports_sql_for_without_the_configured_dialect() {
    let env = TestEnv::new();
    env.write_migration(
        "a1_pg_only.ron",
        r#"Migration(
    id: "a1",
    parents: [],
    message: "pg only",
    upgrade: [SqlFor(postgres: "CREATE EXTENSION citext")],
    downgrade: [],
)
"#,
    );
    let run = env.rev(&["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains(
            "a1_pg_only.ron: revision a1: upgrade operation 1 is a SqlFor without text for sqlite"
        ),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("hint: add `sqlite: \"...\"`"),
        "{}",
        run.all()
    );
}

#[test]
fn stamp_purge_sql_empties_the_version_table_before_the_insert() {
    let env = TestEnv::new();
    env.write_migration("a1_t1.ron", &table_migration("a1", &[], "t1"));
    let script = env.ok(&["stamp", "a1", "--purge", "--sql"]);
    let delete = script
        .find("DELETE FROM \"rev_version\";")
        .unwrap_or_else(|| panic!("no purge in:\n{script}"));
    let insert = script.find("INSERT INTO \"rev_version\"").unwrap();
    assert!(delete < insert, "{script}");
    // Without --purge there is nothing to delete.
    let plain = env.ok(&["stamp", "a1", "--sql"]);
    assert!(!plain.contains("DELETE FROM \"rev_version\";"), "{plain}");
    // The script runs: a database stamped elsewhere ends at a1 alone.
    let db = rusqlite::Connection::open(env.path().join("s.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE rev_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); INSERT INTO rev_version VALUES ('gone');",
    )
    .unwrap();
    // `.bail on` is for the sqlite3 shell; the rest is SQL.
    let sql: String = script
        .lines()
        .filter(|line| !line.starts_with('.'))
        .map(|line| format!("{line}\n"))
        .collect();
    db.execute_batch(&sql).unwrap();
    let rows: Vec<String> = db
        .prepare("SELECT version_num FROM rev_version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows, ["a1"]);
}
