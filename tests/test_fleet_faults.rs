//! Fleets under faults (DESIGN.md §5, §6): a connection dropped mid-run
//! fails its database only, `--jobs` overrides the environment's `jobs`, and
//! SIGINT starts no new database, lets the running one finish its
//! migration, prints the report and exits 130.

use std::time::Duration;

use rev_bench::proxy::Proxy;
use serde_json::Value;

use crate::common::servers::{LiveEnv, Server, TempDb};
use crate::common::{run_and_signal, set_environments, table_migration, Watch};
use crate::test_fleets::{report, sqlite_fleet, statuses, tenant};

#[test]
fn jobs_on_the_command_line_override_the_environment() {
    // Four at a time in rev.ron; one at a time asked for: after tenant 1
    // fails, tenants 2 and 3 are never started.
    let env = sqlite_fleet(4, 4, 0);
    let conn = rusqlite::Connection::open(tenant(&env, 1)).unwrap();
    conn.execute_batch("CREATE TABLE one (x INTEGER)").unwrap();
    drop(conn);
    let run = env.rev(&[
        "upgrade", "heads", "--env", "prod", "--jobs", "1", "--format", "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        statuses(&report(&run)),
        ["ok", "failed", "not_run", "not_run"]
    );
    assert!(!tenant(&env, 2).exists() && !tenant(&env, 3).exists());

    let zero = env.rev(&["upgrade", "heads", "--env", "prod", "--jobs", "0"]);
    assert_eq!(zero.code, 2, "{}", zero.all());
    assert!(zero.stderr.contains("--jobs"), "{}", zero.all());
}

#[test]
fn sigint_starts_no_new_database_and_exits_130() {
    let n = 300;
    let env = sqlite_fleet(n, 1, 0);
    // To a pipe, a line per database as it ends: signal after the first.
    let run = run_and_signal(
        env.path(),
        &["upgrade", "heads", "--env", "prod", "--format", "json"],
        Watch::Stderr,
        |line| line.starts_with("ok "),
        "INT",
    );
    let (log, stdout, code) = (run.stderr, run.stdout, Some(run.code));
    assert_eq!(code, Some(130), "{log}\n{stdout}");
    assert!(log.contains("interrupted by signal 2"), "{log}");

    let value: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let databases = value["databases"].as_array().unwrap();
    assert_eq!(databases.len(), n);
    let statuses = statuses(databases);
    let ok = statuses.iter().take_while(|s| **s == "ok").count();
    assert!(ok >= 1, "{statuses:?}");
    // The database running when the signal came finished the migration it
    // was in, then stopped; nothing after it was started.
    let mut rest = statuses[ok..].iter().peekable();
    if rest.peek() == Some(&&"failed") {
        rest.next();
        let stopped = &databases[ok];
        assert!(
            stopped["error"].as_str().unwrap().contains("interrupted"),
            "{stopped}"
        );
        // Stopped before its first migration or after it.
        let expected = match stopped["steps"].as_u64().unwrap() {
            0 => serde_json::json!([]),
            1 => serde_json::json!(["aaaa"]),
            steps => panic!("{steps} steps: {stopped}"),
        };
        assert_eq!(stopped["to"], expected, "{stopped}");
    }
    let not_run: Vec<usize> = (n - rest.len()..n).collect();
    assert!(rest.all(|s| *s == "not_run"), "{statuses:?}");
    assert!(!not_run.is_empty(), "{statuses:?}");
    for i in not_run {
        assert!(!tenant(&env, i).exists(), "tenant {i} was started");
        assert!(databases[i]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted (signal 2)"));
    }
    for d in &databases[..ok] {
        assert_eq!(d["to"], serde_json::json!(["bbbb"]), "{d}");
    }
}

/// Returns `url` with its `host:port` replaced by the proxy's address.
fn through(proxy: &Proxy, url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, rest) = rest.split_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    format!("{scheme}://{credentials}@{}/{path}", proxy.addr())
}

fn dropped_connection(server: Server) {
    let Some(live) = LiveEnv::new(server) else {
        return;
    };
    live.env
        .write_migration("aaaa_one.ron", &table_migration("aaaa", &[], "one"));
    live.env
        .write_migration("bbbb_two.ron", &table_migration("bbbb", &["aaaa"], "two"));
    let others: Vec<TempDb> = (0..2).map(|_| TempDb::create(server).unwrap()).collect();
    let host = live.db.url.split_once('@').unwrap().1;
    let proxy = Proxy::start(host.split_once('/').unwrap().0, Duration::ZERO).unwrap();
    // In plain text, so that the proxy sees the statements; MariaDB's
    // driver would otherwise also move from TCP to the server's Unix socket.
    let cut = match server {
        Server::Postgres => format!("{}?sslmode=disable", through(&proxy, &others[0].url)),
        Server::Mariadb => format!("{}?prefer_socket=false", through(&proxy, &others[0].url)),
    };
    let urls = [&live.db.url, &cut, &others[1].url]
        .map(|url| format!("{url:?}"))
        .join(", ");
    set_environments(
        &live.env,
        &format!(r#""tenants": Env(urls: [{urls}], jobs: 3)"#),
        "",
    );
    // The second migration's statements never reach the second database.
    let create_two: &[u8] = match server {
        Server::Postgres => b"CREATE TABLE \"two\"",
        Server::Mariadb => b"CREATE TABLE `two`",
    };
    proxy.cut_on(Some(create_two));
    let upgrade = [
        "upgrade",
        "heads",
        "--env",
        "tenants",
        "--continue-on-error",
        "--format",
        "json",
    ];
    let run = live.env.rev(&upgrade);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(proxy.cuts(), 1, "{}", run.all());
    let databases = report(&run);
    assert_eq!(
        statuses(&databases),
        ["ok", "failed", "ok"],
        "{}",
        run.all()
    );
    let error = databases[1]["error"].as_str().unwrap();
    assert!(error.contains("bbbb"), "{error}");
    assert_eq!(databases[1]["steps"], 1, "{}", run.all());
    assert_eq!(
        others[0].column("SELECT version_num FROM rev_version"),
        ["aaaa"]
    );

    proxy.cut_on(None);
    let rerun = live.env.rev(&upgrade);
    assert_eq!(rerun.code, 0, "{}", rerun.all());
    let steps: Vec<u64> = report(&rerun)
        .iter()
        .map(|d| d["steps"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 1, 0]);
    for db in std::iter::once(&live.db).chain(&others) {
        assert_eq!(db.column("SELECT version_num FROM rev_version"), ["bbbb"]);
    }
}

#[test]
fn postgres_fleet_dropped_connection_fails_only_its_database() {
    dropped_connection(Server::Postgres);
}

#[test]
fn mariadb_fleet_dropped_connection_fails_only_its_database() {
    dropped_connection(Server::Mariadb);
}
