//! SIGINT/SIGTERM during a live run: the running migration commits, the run
//! stops before the next one, says what was applied and exits 128 + signal.

use crate::common::{run_and_signal, TestEnv, Watch};

/// A migration that takes a while on SQLite: a table filled by a recursive CTE.
fn slow_migration(id: &str, parent: Option<&str>, table: &str) -> String {
    let parents = parent.map(|p| format!("\"{p}\"")).unwrap_or_default();
    format!(
        r#"Migration(
    id: "{id}",
    parents: [{parents}],
    message: "fill {table}",
    upgrade: [
        Sql("CREATE TABLE {table} AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000) SELECT x FROM c"),
    ],
    downgrade: [Sql("DROP TABLE {table}")],
)
"#
    )
}

fn version_rows(env: &TestEnv) -> Vec<String> {
    let db = rusqlite::Connection::open(env.path().join("rev.db")).unwrap();
    let mut stmt = db.prepare("SELECT version_num FROM rev_version").unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Starts `rev upgrade heads`, sends `signal` once the first step line is
/// out (a piped run writes each step's line as it finishes), and returns
/// (exit code, stdout, stderr).
fn interrupt_upgrade(env: &TestEnv, signal: &str) -> (i32, String, String) {
    let run = run_and_signal(
        env.path(),
        &["upgrade", "heads"],
        Watch::Stdout,
        |line| line.starts_with("upgrade"),
        signal,
    );
    (run.code, run.stdout, run.stderr)
}

fn slow_project() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("a1_fill_t1.ron", &slow_migration("a1", None, "t1"));
    env.write_migration("a2_fill_t2.ron", &slow_migration("a2", Some("a1"), "t2"));
    env.write_migration("a3_fill_t3.ron", &slow_migration("a3", Some("a2"), "t3"));
    env.write_migration("a4_fill_t4.ron", &slow_migration("a4", Some("a3"), "t4"));
    env
}

fn check_interrupted(signal: &str, status: i32) {
    let env = slow_project();
    let (code, stdout, stderr) = interrupt_upgrade(&env, signal);
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, status, "{all}");
    let applied: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("upgrade"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // The step running when the signal came committed; no later one started.
    assert!(!applied.is_empty() && applied.len() < 4, "{all}");
    assert!(
        stdout.contains("interrupted: stopped after"),
        "the log says the run stopped: {all}"
    );
    assert!(
        stderr.contains(&format!("interrupted by SIG{signal}")),
        "{all}"
    );
    let named: Vec<String> = applied.iter().map(|id| format!("upgrade {id}")).collect();
    assert!(
        stderr.contains(&format!("applied: {}", named.join(", "))),
        "{all}"
    );
    // The version table holds exactly the last committed step.
    assert_eq!(version_rows(&env), [*applied.last().unwrap()], "{all}");
    // A plain rerun finishes the rest.
    let rest = env.ok(&["upgrade", "heads"]);
    assert!(
        !rest.contains(&format!("upgrade   {} ", applied[0])),
        "{rest}"
    );
    assert!(rest.contains("upgrade   a4 "), "{rest}");
    assert_eq!(version_rows(&env), ["a4"]);
}

#[test]
fn sigterm_stops_between_migrations_and_exits_143() {
    check_interrupted("TERM", 143);
}

#[test]
fn sigint_stops_between_migrations_and_exits_130() {
    check_interrupted("INT", 130);
}
