//! Runs killed part-way (SIGKILL, no chance to clean up) where a migration
//! cannot be one transaction: MariaDB's DDL, `transactional: false`. The next
//! plain `rev upgrade heads` resumes from the journal and finishes.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::common::servers::{LiveEnv, Server};
use crate::common::TestEnv;

/// Rows each migration inserts.
const ROWS: usize = 400;

/// Returns a migration that builds `t<n>` with schema operations and fills
/// and updates it with raw DML, `transactional` as given.
fn mixed_migration(n: usize, transactional: bool) -> String {
    let parents = if n > 1 {
        format!("\"m{}\"", n - 1)
    } else {
        String::new()
    };
    format!(
        r#"Migration(
    id: "m{n}",
    parents: [{parents}],
    message: "build t{n}",
    transactional: {transactional},
    upgrade: [
        CreateTable(name: "t{n}", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "v", type: String(40)),
        ]),
        Sql("INSERT INTO t{n} (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS}) SELECT x, 'r' FROM c"),
        AddColumn(table: "t{n}", column: Column(name: "extra", type: Integer, nullable: true)),
        CreateIndex(name: "ix_t{n}_v", table: "t{n}", columns: ["v"]),
        Sql("UPDATE t{n} SET extra = id * 2"),
        AddColumn(table: "t{n}", column: Column(name: "note", type: String(20), nullable: true)),
    ],
)
"#
    )
}

fn write_mixed(env: &TestEnv, count: usize, transactional: bool) {
    for n in 1..=count {
        env.write_migration(&format!("m{n}.ron"), &mixed_migration(n, transactional));
    }
}

/// A small seeded generator (xorshift64*), so that a failing trial can be
/// replayed with REV_KILL_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn seed() -> u64 {
    std::env::var("REV_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        })
}

/// Asserts that the database holds what `count` mixed migrations build, once each.
fn assert_complete(live: &LiveEnv, count: usize, context: &str) {
    for n in 1..=count {
        let rows = live.db.rows(&format!(
            "SELECT COUNT(*), SUM(extra), COUNT(note) FROM t{n}"
        ));
        let expected_sum = ROWS * (ROWS + 1);
        assert_eq!(
            rows,
            vec![vec![
                Some(ROWS.to_string()),
                Some(expected_sum.to_string()),
                Some("0".to_owned())
            ]],
            "t{n} after {context}"
        );
    }
    let history = live
        .db
        .column("SELECT revision FROM rev_history WHERE direction = 'upgrade' ORDER BY revision");
    let expected: Vec<String> = (1..=count).map(|n| format!("m{n}")).collect();
    assert_eq!(
        history, expected,
        "one history row per migration after {context}"
    );
    assert_eq!(
        live.db.column("SELECT version_num FROM rev_version"),
        [format!("m{count}")],
        "{context}"
    );
    assert_eq!(
        live.db.column("SELECT COUNT(*) FROM rev_history_journal"),
        ["0"],
        "the journal is empty after {context}"
    );
}

/// Kills `rev upgrade heads` after `delay`, then runs it again plainly and
/// checks the result; returns the rerun's output.
fn kill_and_resume(live: &LiveEnv, count: usize, delay: Duration, context: &str) -> String {
    let mut child = live.spawn(&["upgrade", "heads"]);
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    let rerun = live.rev(&["upgrade", "heads"]);
    assert_eq!(rerun.code, 0, "rerun after {context}:\n{}", rerun.all());
    assert_complete(live, count, context);
    rerun.stdout
}

/// How long an uninterrupted run of the migrations takes here.
fn full_run(server: Server, count: usize, transactional: bool) -> Option<Duration> {
    let live = LiveEnv::new(server)?;
    write_mixed(&live.env, count, transactional);
    let started = Instant::now();
    live.ok(&["upgrade", "heads"]);
    let took = started.elapsed();
    assert_complete(&live, count, "an uninterrupted run");
    Some(took)
}

/// Ten SIGKILLs at random moments of `rev upgrade heads` on `server`, each
/// on a fresh database, each followed by a plain rerun that must finish.
fn kill_trials(server: Server, count: usize, transactional: bool, trials: usize) {
    let Some(full) = full_run(server, count, transactional) else {
        return;
    };
    let seed = seed();
    let mut rng = Rng(seed);
    let mut resumed = 0;
    for trial in 0..trials {
        let Some(live) = LiveEnv::new(server) else {
            return;
        };
        write_mixed(&live.env, count, transactional);
        let millis = full.as_millis().max(1) as u64;
        let delay = Duration::from_millis(rng.next() % millis);
        let context = format!(
            "{} trial {trial}, kill after {delay:?} (REV_KILL_SEED={seed})",
            server.name()
        );
        let out = kill_and_resume(&live, count, delay, &context);
        if out.contains("resumed ") {
            resumed += 1;
        }
    }
    println!(
        "{}: {resumed} of {trials} reruns resumed a migration (seed {seed})",
        server.name()
    );
}

#[test]
fn mariadb_resumes_after_sigkill_at_random_moments() {
    kill_trials(Server::Mariadb, 4, true, 10);
}

#[test]
fn postgres_resumes_non_transactional_migrations_after_sigkill() {
    kill_trials(Server::Postgres, 4, false, 5);
}

/// A kill just after the DDL of statement 1 committed, before the journal
/// recorded it: the rerun reads the live schema, finds the table, and
/// resumes at statement 2 instead of failing on "table exists".
#[test]
fn mariadb_settles_a_ddl_statement_from_the_live_schema() {
    let Some(live) = LiveEnv::new(Server::Mariadb) else {
        return;
    };
    write_mixed(&live.env, 1, true);
    // What a kill between the CREATE TABLE and its journal update leaves.
    live.db.exec(
        "CREATE TABLE rev_history_journal (revision VARCHAR(32) NOT NULL, direction \
         VARCHAR(16) NOT NULL, done INTEGER NOT NULL, running INTEGER NULL, prefix \
         VARCHAR(64) NOT NULL, PRIMARY KEY (revision, direction))",
    );
    live.db.exec(
        "INSERT INTO rev_history_journal VALUES ('m1', 'upgrade', 0, 1, \
         'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')",
    );
    live.db
        .exec("CREATE TABLE t1 (id INT NOT NULL, v VARCHAR(40) NULL, PRIMARY KEY (id))");
    let out = live.ok(&["upgrade", "heads"]);
    assert!(
        out.contains(
            "resumed   upgrade m1: no statement had completed; statement 1 (operation 1 \
             (CreateTable)) had taken effect; resuming at statement 2"
        ),
        "{out}"
    );
    assert_complete(&live, 1, "a settled resume");
}

/// Raw DDL in doubt cannot be settled from the schema: the run stops, lists
/// the statements that completed and the one in doubt, and
/// `--assume-not-applied` lets it go on.
#[test]
fn mariadb_stops_on_raw_sql_in_doubt_until_told() {
    let Some(live) = LiveEnv::new(Server::Mariadb) else {
        return;
    };
    live.env.write_migration(
        "r1.ron",
        r#"Migration(
    id: "r1",
    parents: [],
    message: "raw",
    upgrade: [
        Sql("CREATE TABLE a (id INT PRIMARY KEY)"),
        Sql("CREATE TABLE b (id INT PRIMARY KEY)"),
    ],
)
"#,
    );
    // The first run is killed while statement 2 commits on its own.
    live.db.exec(
        "CREATE TABLE rev_history_journal (revision VARCHAR(32) NOT NULL, direction \
         VARCHAR(16) NOT NULL, done INTEGER NOT NULL, running INTEGER NULL, prefix \
         VARCHAR(64) NOT NULL, PRIMARY KEY (revision, direction))",
    );
    live.db.exec("CREATE TABLE a (id INT PRIMARY KEY)");
    // The hash of statement 1's text, as the journal keeps it.
    let prefix = rev_db::journal::prefix_hash(&[rev_sql::Statement::new(
        "CREATE TABLE a (id INT PRIMARY KEY)",
    )]);
    live.db.exec(&format!(
        "INSERT INTO rev_history_journal VALUES ('r1', 'upgrade', 1, 2, '{prefix}')"
    ));
    let run = live.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("interrupted by an earlier run at statement 2")
            && run
                .stderr
                .contains("completed 1: CREATE TABLE a (id INT PRIMARY KEY)")
            && run
                .stderr
                .contains("in doubt  2: CREATE TABLE b (id INT PRIMARY KEY)")
            && run.stderr.contains("--assume-not-applied"),
        "{}",
        run.stderr
    );
    assert_eq!(live.db.column("SELECT COUNT(*) FROM rev_history"), ["0"]);
    let out = live.ok(&["upgrade", "heads", "--assume-not-applied"]);
    assert!(out.contains("counted as not applied"), "{out}");
    assert_eq!(
        live.db.column("SELECT version_num FROM rev_version"),
        ["r1"]
    );
    assert_eq!(live.tables(), ["a", "b", "rev_history", "rev_version"]);
}

/// A piped run's log says which step is running before it finishes: the
/// line is out while the step blocks, and stays after a kill.
#[test]
fn a_piped_log_shows_the_running_step_before_it_ends() {
    let Some(live) = LiveEnv::new(Server::Postgres) else {
        return;
    };
    live.env.write_migration(
        "s1.ron",
        r#"Migration(
    id: "s1",
    parents: [],
    message: "sleep",
    upgrade: [Sql("SELECT pg_sleep(30)")],
)
"#,
    );
    let mut child = live.spawn(&["upgrade", "heads"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let started = Instant::now();
    stdout.read_line(&mut line).unwrap();
    let waited = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line, "running   upgrade s1 sleep\n");
    assert!(
        waited < Duration::from_secs(25),
        "the line came after {waited:?}"
    );
    assert_eq!(live.db.column("SELECT COUNT(*) FROM rev_version"), ["0"]);
}

/// SIGKILL at random moments of a `transactional: false` run on SQLite; a
/// plain rerun finishes with every table and row, one history row each.
#[test]
fn sqlite_resumes_non_transactional_migrations_after_sigkill() {
    let seed = seed();
    let mut rng = Rng(seed);
    for trial in 0..5 {
        let env = TestEnv::new();
        write_mixed(&env, 4, false);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rev"))
            .args(["upgrade", "heads"])
            .current_dir(env.path())
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next() % 150));
        let _ = child.kill();
        let _ = child.wait();
        let context = format!("SQLite trial {trial} (REV_KILL_SEED={seed})");
        let rerun = env.rev(&["upgrade", "heads"]);
        assert_eq!(rerun.code, 0, "{context}:\n{}", rerun.all());
        let db = rusqlite::Connection::open(env.path().join("rev.db")).unwrap();
        for n in 1..=4 {
            let found: (i64, i64) = db
                .query_row(
                    &format!("SELECT COUNT(*), SUM(extra) FROM t{n}"),
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                found,
                (ROWS as i64, (ROWS * (ROWS + 1)) as i64),
                "t{n}, {context}"
            );
        }
        let history: (i64, i64) = db
            .query_row(
                "SELECT COUNT(*), COUNT(DISTINCT revision) FROM rev_history",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(history, (4, 4), "one history row per migration, {context}");
        let journal: i64 = db
            .query_row("SELECT COUNT(*) FROM rev_history_journal", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, 0, "{context}");
    }
}
