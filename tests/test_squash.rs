//! `rev squash FROM:TO` (DESIGN.md §3b) through the binary: the file it
//! writes, the ranges it refuses, and databases at every position against
//! the run (before, inside, after, after the old files are deleted), on
//! SQLite and PostgreSQL.

use crate::common::servers::{Server, TempDb};
use crate::common::{table_migration, TestEnv};

/// a ─ b ─ c ─ d, each creating its own table; the run b..c is squashed.
fn line() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("aaaa_a.ron", &table_migration("aaaa", &[], "t_a"));
    env.write_migration("bbbb_b.ron", &table_migration("bbbb", &["aaaa"], "t_b"));
    env.write_migration("cccc_c.ron", &table_migration("cccc", &["bbbb"], "t_c"));
    env.write_migration("dddd_d.ron", &table_migration("dddd", &["cccc"], "t_d"));
    env
}

fn files(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.versions())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn squash_writes_one_revision_that_replaces_the_run() {
    let env = line();
    let out = env.ok(&["squash", "bbbb:cccc", "-m", "b and c", "--rev-id", "ssss"]);
    assert!(out.contains("Created squash revision ssss"), "{out}");
    assert!(out.contains("replaces 2 revisions: bbbb, cccc"), "{out}");
    let text = std::fs::read_to_string(env.versions().join("ssss_b_and_c.ron")).unwrap();
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains("parents:[\"aaaa\",]"), "{text}");
    assert!(flat.contains("replaces:[\"bbbb\",\"cccc\",]"), "{text}");
    let (b, c) = (text.find("\"t_b\"").unwrap(), text.find("\"t_c\"").unwrap());
    assert!(b < c, "the run's operations stay in order: {text}");
    // One head, and the squash stands where the run stood.
    assert_eq!(env.ok(&["heads"]).trim(), "dddd (head) create t_d");
    let history = env.ok(&["history", "--format", "json"]);
    let ids: Vec<String> = serde_json::from_str::<serde_json::Value>(&history)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["dddd", "ssss", "aaaa"]);
    // A replaced id as a target names the squash that stands for it.
    let replaced = env.rev(&["upgrade", "cccc", "--url", "sqlite://fresh.db"]);
    assert_eq!(replaced.code, 2, "{}", replaced.all());
    assert!(
        replaced
            .stderr
            .contains("revision `cccc` is replaced by the squash `ssss`: name `ssss` instead"),
        "{}",
        replaced.all()
    );
    // dddd's file still names cccc; the graph reads that as the squash.
    let show = env.ok(&["show", "ssss", "--format", "json"]);
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(show["children"], serde_json::json!(["dddd"]));
    // Without a database rev check cannot tell whether the files may go.
    let check = env.rev(&["check", "--url", "sqlite://never.db"]);
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(
        check
            .stdout
            .contains("info: the 2 files that squash ssss replaces can be deleted"),
        "{}",
        check.all()
    );
    // A downgrade of the squash undoes the whole run, newest first.
    let sql = env.ok(&["downgrade", "ssss:aaaa", "--sql"]);
    let (drop_c, drop_b) = (
        sql.find("DROP TABLE \"t_c\"").unwrap(),
        sql.find("DROP TABLE \"t_b\"").unwrap(),
    );
    assert!(drop_c < drop_b, "{sql}");
}

#[test]
fn squash_refuses_ranges_that_are_not_a_linear_run() {
    //   aaaa ─ bbbb ─ cccc ─ dddd ─ mmmm ─ nnnn
    //            └─── xxxx ──────────┘
    let env = line();
    env.write_migration("xxxx_x.ron", &table_migration("xxxx", &["bbbb"], "t_x"));
    env.write_migration(
        "mmmm_m.ron",
        "Migration(id: \"mmmm\", parents: [\"dddd\", \"xxxx\"], message: \"join\")\n",
    );
    env.write_migration("nnnn_n.ron", &table_migration("nnnn", &["mmmm"], "t_n"));
    let before = files(&env);
    let cases: &[(&[&str], &str)] = &[
        (
            &["aaaa:dddd"],
            "bbbb is a branch point (children cccc, xxxx)",
        ),
        (&["cccc:nnnn"], "the range crosses the merge mmmm"),
        (
            &["dddd:cccc"],
            "dddd is not an ancestor of cccc (cccc comes before dddd",
        ),
        (&["xxxx:dddd"], "xxxx is not an ancestor of dddd"),
        (&["cccc:cccc"], "the range cccc:cccc holds one revision"),
        (&["cccc:zzzz"], "zzzz"),
        (&["cccc"], "`cccc` is not a range"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["squash"];
        all.extend(*args);
        all.extend(["-m", "nope", "--rev-id", "ssss"]);
        let run = env.rev(&all);
        assert_ne!(run.code, 0, "{args:?}: {}", run.all());
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.all());
        assert_eq!(files(&env), before, "{args:?} wrote a file");
    }
    // A merge at FROM is fine: the squash takes its parents.
    env.ok(&[
        "squash",
        "mmmm:nnnn",
        "-m",
        "join and n",
        "--rev-id",
        "ssss",
    ]);
    let show = env.ok(&["show", "ssss", "--format", "json"]);
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(show["parents"], serde_json::json!(["dddd", "xxxx"]));
}

/// Where the databases stand before the squash is written, by name.
const POSITIONS: [(&str, &str); 4] = [
    ("before", "aaaa"),
    ("inside", "bbbb"),
    ("after", "cccc"),
    ("past", "dddd"),
];

/// Runs the squash scenario on four databases, one per position; `sql`
/// returns the first column of a query's rows on the database at an index.
fn positions(env: &TestEnv, urls: &[String], sql: &dyn Fn(usize, &str) -> Vec<String>) {
    let history = |i: usize| {
        sql(
            i,
            "SELECT revision || ':' || direction FROM rev_history ORDER BY id",
        )
    };
    let versions = |i: usize| {
        sql(
            i,
            "SELECT version_num FROM rev_version ORDER BY version_num",
        )
    };
    let with = |args: &[&str], i: usize| {
        let mut all = args.to_vec();
        all.extend(["--url", urls[i].as_str()]);
        env.rev(&all)
    };
    let ok = |args: &[&str], i: usize| {
        let run = with(args, i);
        assert_eq!(run.code, 0, "{args:?} on {}: {}", POSITIONS[i].0, run.all());
        run.stdout
    };
    for (i, (_, at)) in POSITIONS.iter().enumerate() {
        ok(&["upgrade", at], i);
    }
    env.ok(&["squash", "bbbb:cccc", "-m", "b and c", "--rev-id", "ssss"]);

    // Inside the run: refused, with the way out; rev check keeps the files.
    let run = with(&["upgrade", "heads"], 1);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("inside the run that squash ssss replaces (at bbbb"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("`rev upgrade cccc`"), "{}", run.all());
    assert_eq!(versions(1), ["bbbb"]);
    let check = with(&["check"], 1);
    assert!(
        check
            .stdout
            .contains("info: keep the files squash ssss replaces"),
        "{}",
        check.all()
    );
    assert!(!check.stdout.contains("can be deleted"), "{}", check.all());
    // The old files move it past the run; the next run records the squash.
    ok(&["upgrade", "cccc"], 1);
    assert_eq!(versions(1), ["cccc"]);

    // Before the run: the squash is applied as one step.
    ok(&["upgrade", "heads"], 0);
    assert_eq!(versions(0), ["dddd"]);
    assert_eq!(history(0), ["aaaa:upgrade", "ssss:upgrade", "dddd:upgrade"]);

    // After the run (all replaced applied): the row is rewritten, with a stamp row.
    for i in [1, 2] {
        ok(&["upgrade", "heads"], i);
        assert_eq!(versions(i), ["dddd"]);
        let h = history(i);
        assert_eq!(h[h.len() - 2..], ["ssss:stamp", "dddd:upgrade"], "{h:?}");
    }
    // Past the run: nothing to do.
    ok(&["upgrade", "heads"], 3);
    assert_eq!(versions(3), ["dddd"]);
    assert_eq!(history(3).len(), 4);

    // Every database has passed the run: the files may go.
    let mut args = vec!["check"];
    for url in urls {
        args.extend(["--url", url.as_str()]);
        let run = env.rev(&args);
        assert!(run.stdout.contains("can be deleted"), "{}", run.all());
        args.truncate(1);
    }

    // A downgrade un-applies the squash as one step, and an upgrade re-applies it.
    ok(&["downgrade", "aaaa"], 2);
    assert_eq!(versions(2), ["aaaa"]);
    ok(&["upgrade", "heads"], 2);
    assert_eq!(versions(2), ["dddd"]);

    // After deleting the old files the squash is an ordinary revision.
    let late = 1;
    ok(&["downgrade", "aaaa"], late);
    std::fs::remove_file(env.versions().join("bbbb_b.ron")).unwrap();
    std::fs::remove_file(env.versions().join("cccc_c.ron")).unwrap();
    let check = with(&["check"], 0);
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(!check.stdout.contains("warning"), "{}", check.all());
    ok(&["upgrade", "heads"], late);
    assert_eq!(versions(late), ["dddd"]);
    ok(&["downgrade", "base"], 0);
    ok(&["upgrade", "heads"], 0);
    assert_eq!(versions(0), ["dddd"]);
}

/// A database stamped inside the run whose old files are gone: rev check
/// errors and an upgrade is refused with the way out.
fn inside_without_files(env: &TestEnv, url: &str) {
    let run = env.rev(&["check", "--url", url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("error: the database at"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("stands inside the run that squash ssss replaces (at bbbb)"),
        "{}",
        run.all()
    );
    let run = env.rev(&["upgrade", "heads", "--url", url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("restore them"), "{}", run.all());
}

#[test]
fn sqlite_databases_at_every_position() {
    let env = line();
    let urls: Vec<String> = POSITIONS
        .iter()
        .map(|(name, _)| {
            format!(
                "sqlite://{}",
                env.path().join(format!("{name}.db")).display()
            )
        })
        .collect();
    let paths: Vec<std::path::PathBuf> = POSITIONS
        .iter()
        .map(|(name, _)| env.path().join(format!("{name}.db")))
        .collect();
    let sql = |i: usize, query: &str| -> Vec<String> {
        let db = rusqlite::Connection::open(&paths[i]).unwrap();
        let mut stmt = db.prepare(query).unwrap();
        stmt.query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    positions(&env, &urls, &sql);
    // A fresh database stamped inside the run, after the files are gone.
    let url = format!("sqlite://{}", env.path().join("late.db").display());
    env.ok(&["upgrade", "aaaa", "--url", &url]);
    let db = rusqlite::Connection::open(env.path().join("late.db")).unwrap();
    db.execute("UPDATE rev_version SET version_num = 'bbbb'", [])
        .unwrap();
    inside_without_files(&env, &url);
}

#[test]
fn postgres_databases_at_every_position() {
    let mut dbs = Vec::new();
    for _ in 0..5 {
        let Some(db) = TempDb::create(Server::Postgres) else {
            println!("skipped postgres_databases_at_every_position: PostgreSQL is unreachable");
            return;
        };
        dbs.push(db);
    }
    let env = line();
    let urls: Vec<String> = dbs.iter().take(4).map(|d| d.url.clone()).collect();
    let sql = |i: usize, query: &str| dbs[i].column(query);
    positions(&env, &urls, &sql);
    let late = &dbs[4];
    env.ok(&["upgrade", "aaaa", "--url", &late.url]);
    late.exec("UPDATE rev_version SET version_num = 'bbbb'");
    inside_without_files(&env, &late.url);
}
