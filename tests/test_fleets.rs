//! Fleets: `--env NAME` naming several databases (DESIGN.md §5, §6): every
//! database reaches the target, a fault fails only its database and is
//! reported, a rerun touches only what is behind, canaries go first, and no
//! password appears in the report.

use serde_json::Value;

use crate::common::servers::{LiveEnv, Server, TempDb};
use crate::common::{set_environments, table_migration, Run, TestEnv};

/// A project with two revisions: `aaaa` creates `one`, `bbbb` creates `two`.
fn project() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("aaaa_one.ron", &table_migration("aaaa", &[], "one"));
    env.write_migration("bbbb_two.ron", &table_migration("bbbb", &["aaaa"], "two"));
    env
}

/// A fleet of `n` SQLite files listed in tenants.txt (with a comment and a
/// blank line, which are skipped), as the environment `prod`.
pub(crate) fn sqlite_fleet(n: usize, jobs: usize, canary: usize) -> TestEnv {
    let env = project();
    std::fs::create_dir_all(env.path().join("tenants")).unwrap();
    let mut list = String::from("# one line per tenant\n\n");
    for i in 0..n {
        list.push_str(&format!("sqlite://tenants/t{i}.db\n"));
    }
    std::fs::write(env.path().join("tenants.txt"), list).unwrap();
    set_environments(
        &env,
        &format!(r#""prod": Env(urls_file: "tenants.txt", jobs: {jobs}, canary: {canary})"#),
        "",
    );
    env
}

pub(crate) fn tenant(env: &TestEnv, i: usize) -> std::path::PathBuf {
    env.path().join("tenants").join(format!("t{i}.db"))
}

fn sqlite(env: &TestEnv, i: usize, sql: &str) {
    let conn = rusqlite::Connection::open(tenant(env, i)).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Returns the databases of a `--format json` fleet report.
pub(crate) fn report(run: &Run) -> Vec<Value> {
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}", run.all()));
    value["databases"].as_array().unwrap().clone()
}

fn field<'a>(databases: &'a [Value], name: &str) -> Vec<&'a Value> {
    databases.iter().map(|d| &d[name]).collect()
}

fn steps(databases: &[Value]) -> Vec<u64> {
    databases
        .iter()
        .map(|d| d["steps"].as_u64().unwrap())
        .collect()
}

pub(crate) fn statuses(databases: &[Value]) -> Vec<&str> {
    databases
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_sqlite_fleet_reaches_the_target_and_a_rerun_touches_nothing() {
    let env = sqlite_fleet(6, 3, 0);
    let run = env.rev(&["upgrade", "heads", "--env", "prod", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let databases = report(&run);
    assert_eq!(databases.len(), 6);
    assert_eq!(steps(&databases), [2; 6]);
    assert!(field(&databases, "to")
        .iter()
        .all(|to| **to == serde_json::json!(["bbbb"])));
    assert!(field(&databases, "error").iter().all(|e| e.is_null()));
    assert_eq!(databases[4]["target"], "sqlite://tenants/t4.db");

    let again = env.rev(&["upgrade", "heads", "--env", "prod", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(steps(&report(&again)), [0; 6]);

    // The text form: a table and a count.
    let text = env.rev(&["upgrade", "heads", "--env", "prod"]);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout
            .contains("6 databases: 6 ok, 0 failed, 0 not run"),
        "{}",
        text.all()
    );
}

#[test]
fn current_groups_the_databases_by_revision() {
    let env = sqlite_fleet(4, 2, 0);
    env.ok(&["upgrade", "heads", "--env", "prod"]);
    env.ok(&["downgrade", "aaaa", "--url", "sqlite://tenants/t1.db"]);
    let out = env.ok(&["current", "--env", "prod"]);
    assert_eq!(
        out,
        "1 database at aaaa create one\n  sqlite://tenants/t1.db\n\
         3 databases at bbbb create two\n  sqlite://tenants/t0.db\n  \
         sqlite://tenants/t2.db\n  sqlite://tenants/t3.db\n"
    );
}

#[test]
fn a_fault_fails_its_database_only_and_the_rerun_fixes_it() {
    let env = sqlite_fleet(5, 2, 0);
    // A table the second migration creates already exists in tenant 3.
    sqlite(&env, 3, "CREATE TABLE two (x INTEGER)");
    let run = env.rev(&[
        "upgrade",
        "heads",
        "--env",
        "prod",
        "--continue-on-error",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    let databases = report(&run);
    assert_eq!(statuses(&databases), ["ok", "ok", "ok", "failed", "ok"]);
    let error = databases[3]["error"].as_str().unwrap();
    assert!(
        error.contains("revision bbbb") && error.contains("already exists"),
        "{error}"
    );
    assert_eq!(databases[3]["to"], serde_json::json!(["aaaa"]));
    assert!(
        run.stderr.contains("1 of 5 databases of `prod` failed"),
        "{}",
        run.all()
    );

    sqlite(&env, 3, "DROP TABLE two");
    let rerun = env.rev(&["upgrade", "heads", "--env", "prod", "--format", "json"]);
    assert_eq!(rerun.code, 0, "{}", rerun.all());
    assert_eq!(steps(&report(&rerun)), [0, 0, 0, 1, 0]);
}

#[test]
fn after_a_failure_no_new_database_starts() {
    // One job at a time: the databases after the failed one are not started.
    let env = sqlite_fleet(4, 1, 0);
    sqlite(&env, 1, "CREATE TABLE one (x INTEGER)");
    let run = env.rev(&["upgrade", "heads", "--env", "prod", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let databases = report(&run);
    assert_eq!(statuses(&databases), ["ok", "failed", "not_run", "not_run"]);
    assert!(!tenant(&env, 2).exists() && !tenant(&env, 3).exists());
    assert!(databases[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("not run"));
}

#[test]
fn a_failed_canary_stops_the_rest() {
    let env = sqlite_fleet(5, 4, 2);
    sqlite(&env, 0, "CREATE TABLE one (x INTEGER)");
    let run = env.rev(&["upgrade", "heads", "--env", "prod", "--continue-on-error"]);
    assert_eq!(run.code, 1, "{}", run.all());
    for i in 2..5 {
        assert!(
            !tenant(&env, i).exists(),
            "tenant {i} was touched:\n{}",
            run.all()
        );
    }
    assert!(
        run.stdout
            .contains("5 databases: 1 ok, 1 failed, 3 not run"),
        "{}",
        run.all()
    );
}

#[test]
fn stamp_and_downgrade_run_on_the_fleet() {
    let env = sqlite_fleet(3, 3, 1);
    env.ok(&["stamp", "aaaa", "--env", "prod"]);
    assert_eq!(
        env.ok(&["current", "--env", "prod", "-q"]),
        "3 databases at aaaa create one\n"
    );
    // Stamped, table `one` is not there; `two` is made by the upgrade and dropped again.
    env.ok(&["upgrade", "heads", "--env", "prod"]);
    let run = env.rev(&["downgrade", "aaaa", "--env", "prod", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let databases = report(&run);
    assert_eq!(steps(&databases), [1; 3]);
    assert!(field(&databases, "to")
        .iter()
        .all(|to| **to == serde_json::json!(["aaaa"])));
}

#[test]
fn check_db_reports_each_database() {
    let env = sqlite_fleet(3, 2, 0);
    env.ok(&["upgrade", "heads", "--env", "prod"]);
    sqlite(&env, 2, "CREATE TABLE by_hand (x INTEGER)");
    let run = env.rev(&["check", "--db", "--env", "prod", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let databases = report(&run);
    assert_eq!(statuses(&databases), ["ok", "ok", "failed"]);
    assert!(databases[2]["error"].as_str().unwrap().contains("by_hand"));
}

#[test]
fn environments_resolve_with_variables_and_precedence() {
    let env = project();
    set_environments(
        &env,
        r#""staging": Env(url: "sqlite://${STAGING_FILE}"), "two": Env(urls: ["sqlite://a.db", "sqlite://b.db"])"#,
        "",
    );
    // A missing variable is named; the single database of an environment is used as --url would be.
    let missing = env.rev(&["upgrade", "heads", "--env", "staging"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(
        missing.stderr.contains("${STAGING_FILE}"),
        "{}",
        missing.all()
    );
    std::fs::write(env.path().join(".env"), "STAGING_FILE=staging.db\n").unwrap();
    env.ok(&["upgrade", "heads", "--env", "staging"]);
    assert!(env.path().join("staging.db").exists());
    // --url comes before --env.
    env.ok(&[
        "upgrade",
        "aaaa",
        "--env",
        "staging",
        "--url",
        "sqlite://other.db",
    ]);
    assert!(env.path().join("other.db").exists());
    // An unknown name lists the known ones.
    let unknown = env.rev(&["current", "--env", "prod"]);
    assert_eq!(unknown.code, 2, "{}", unknown.all());
    assert!(
        unknown.stderr.contains("it defines staging, two"),
        "{}",
        unknown.all()
    );
    // A command that runs on one database refuses a fleet.
    let plan = env.rev(&["upgrade", "heads", "--plan", "--env", "two"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stderr.contains("names 2 databases"), "{}", plan.all());
}

/// A fleet of three databases on `server`: the project's own and two more.
fn server_fleet(server: Server, password: bool) -> Option<(LiveEnv, Vec<TempDb>)> {
    let live = LiveEnv::new(server)?;
    live.env
        .write_migration("aaaa_one.ron", &table_migration("aaaa", &[], "one"));
    live.env
        .write_migration("bbbb_two.ron", &table_migration("bbbb", &["aaaa"], "two"));
    let others: Vec<TempDb> = (0..2).map(|_| TempDb::create(server).unwrap()).collect();
    let urls: Vec<String> = std::iter::once(&live.db)
        .chain(&others)
        .map(|db| {
            let url = if password {
                // The local PostgreSQL trusts local users: any password is accepted.
                db.url.replacen("postgres@", "postgres:${FLEET_PW}@", 1)
            } else {
                db.url.clone()
            };
            format!("{url:?}")
        })
        .collect();
    set_environments(
        &live.env,
        &format!(r#""tenants": Env(urls: [{}], jobs: 3)"#, urls.join(", ")),
        "lock_timeout_secs: 1,",
    );
    Some((live, others))
}

fn server_fleet_fault_and_rerun(server: Server) {
    let password = server == Server::Postgres;
    let Some((live, others)) = server_fleet(server, password) else {
        return;
    };
    let vars = [("FLEET_PW", "Sup3rS3cretPw")];
    let upgrade = [
        "upgrade",
        "heads",
        "--env",
        "tenants",
        "--continue-on-error",
        "--format",
        "json",
    ];
    others[0].rows("CREATE TABLE two (x INTEGER)");
    let run = live.env.rev_env(&upgrade, &vars);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(!run.all().contains("Sup3rS3cretPw"), "{}", run.all());
    let databases = report(&run);
    assert_eq!(
        statuses(&databases),
        ["ok", "failed", "ok"],
        "{}",
        run.all()
    );
    let error = databases[1]["error"].as_str().unwrap();
    assert!(error.contains("bbbb"), "{error}");
    if password {
        assert!(databases[1]["target"].as_str().unwrap().contains(":****@"));
    }

    others[0].rows("DROP TABLE two");
    let rerun = live.env.rev_env(&upgrade, &vars);
    assert_eq!(rerun.code, 0, "{}", rerun.all());
    assert!(!rerun.all().contains("Sup3rS3cretPw"));
    assert_eq!(steps(&report(&rerun)), [0, 1, 0]);
    for db in std::iter::once(&live.db).chain(&others) {
        assert_eq!(db.column("SELECT version_num FROM rev_version"), ["bbbb"]);
    }

    // A database locked by another runner is reported, the others finish.
    live.env.ok(&["downgrade", "base", "--url", &others[1].url]);
    let held = live.hold_lock();
    let locked = live.env.rev_env(&upgrade, &vars);
    drop(held);
    assert_eq!(locked.code, 1, "{}", locked.all());
    let databases = report(&locked);
    assert_eq!(
        statuses(&databases),
        ["failed", "ok", "ok"],
        "{}",
        locked.all()
    );
    assert_eq!(steps(&databases), [0, 0, 2]);
    assert!(
        databases[0]["error"].as_str().unwrap().contains("lock"),
        "{}",
        locked.all()
    );
}

#[test]
fn postgres_fleet_fault_lock_and_rerun() {
    server_fleet_fault_and_rerun(Server::Postgres);
}

#[test]
fn mariadb_fleet_fault_lock_and_rerun() {
    server_fleet_fault_and_rerun(Server::Mariadb);
}
