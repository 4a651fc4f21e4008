//! Autogenerate against the live database (`--from-db`) and drift checks
//! (`rev check --db`), through the binary, on SQLite, PostgreSQL and MariaDB.
//! Each server test runs in a fresh database, dropped afterwards; with
//! `REV_REQUIRE_SERVICES=1` an unreachable server fails the test.

use insta::assert_snapshot;
use mysql_async::prelude::Queryable;

use crate::common::{Run, TestEnv};

/// Which database a round trip runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Sqlite,
    Postgres,
    Mysql,
}

/// A database made for one test, dropped when the value is dropped.
struct Db {
    server: Server,
    url: String,
    name: String,
    admin_url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn unavailable(what: &str, why: &str) -> Option<Db> {
    if std::env::var("REV_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{what} is required (REV_REQUIRE_SERVICES=1) but unreachable: {why}");
    }
    println!("skipped: {what} is unreachable: {why}");
    None
}

/// Returns `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    format!("{scheme}://{host}/{name}")
}

impl Db {
    fn sqlite(env: &TestEnv) -> Db {
        Db {
            server: Server::Sqlite,
            url: format!("sqlite://{}", env.path().join("live.db").display()),
            name: String::new(),
            admin_url: String::new(),
        }
    }

    fn create(server: Server) -> Option<Db> {
        let name = format!("rev_test_{}", uuid::Uuid::new_v4().simple());
        let (what, admin_url) = match server {
            Server::Postgres => (
                "PostgreSQL",
                std::env::var("REV_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            ),
            _ => (
                "MariaDB/MySQL",
                std::env::var("REV_TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned()),
            ),
        };
        let db = Db {
            server,
            url: with_database(&admin_url, &name),
            name: name.clone(),
            admin_url: admin_url.clone(),
        };
        let created = match server {
            Server::Postgres => db.admin(&format!("CREATE DATABASE \"{name}\"")),
            _ => db.admin(&format!("CREATE DATABASE `{name}`")),
        };
        match created {
            Ok(()) => Some(db),
            Err(why) => {
                // Nothing was created: dropping it would only report a second failure.
                std::mem::forget(db);
                unavailable(what, &why)
            }
        }
    }

    fn run(&self, url: &str, sql: &str) -> Result<(), String> {
        runtime().block_on(async {
            match self.server {
                Server::Postgres => {
                    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokio::spawn(conn);
                    client.batch_execute(sql).await.map_err(|e| e.to_string())
                }
                Server::Mysql => {
                    let opts = mysql_async::Opts::from_url(url).map_err(|e| e.to_string())?;
                    let mut conn = mysql_async::Conn::new(opts)
                        .await
                        .map_err(|e| e.to_string())?;
                    conn.query_drop(sql).await.map_err(|e| e.to_string())?;
                    conn.disconnect().await.map_err(|e| e.to_string())
                }
                Server::Sqlite => {
                    let path = url.trim_start_matches("sqlite://");
                    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                    conn.execute_batch(sql).map_err(|e| e.to_string())
                }
            }
        })
    }

    fn admin(&self, sql: &str) -> Result<(), String> {
        self.run(&self.admin_url, sql)
    }

    /// Runs SQL on the test database, as a user changing it by hand would.
    fn exec(&self, sql: &str) {
        self.run(&self.url, sql).unwrap();
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let dropped = match self.server {
            Server::Sqlite => Ok(()),
            Server::Postgres => self.admin(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )),
            Server::Mysql => self.admin(&format!("DROP DATABASE IF EXISTS `{}`", self.name)),
        };
        if let Err(why) = dropped {
            eprintln!("could not drop test database {}: {why}", self.name);
        }
    }
}

const MODELS_V1: &str = r#"[
    Table(name: "users", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "email", type: String(255), nullable: false, unique: true),
        Column(name: "active", type: Boolean, nullable: false, default: Bool(true)),
        Column(name: "created_at", type: DateTime, default: Now),
        Column(name: "score", type: Integer, default: Int(0)),
        Column(name: "price", type: Decimal(10, 2), default: Float(1.5)),
        Column(name: "prefs", type: Json),
        Column(name: "born", type: Date),
    ],
    indexes: [Index(name: "ix_users_born", columns: ["born"])],
    checks: [Check(name: "ck_users_score", expr: "score >= 0")]),
    Table(name: "posts", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "user_id", type: Integer, nullable: false),
        Column(name: "title", type: String(100), default: Str("it's new")),
    ],
    foreign_keys: [
        ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade),
    ]),
]"#;

/// V1 with a table added, a column dropped, one altered and one added, and a new foreign key.
const MODELS_V2: &str = r#"[
    Table(name: "users", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "email", type: String(255), nullable: false, unique: true),
        Column(name: "active", type: Boolean, nullable: false, default: Bool(true)),
        Column(name: "created_at", type: DateTime, default: Now),
        Column(name: "score", type: BigInt, nullable: false, default: Int(1)),
        Column(name: "price", type: Decimal(10, 2), default: Float(1.5)),
        Column(name: "prefs", type: Json),
        Column(name: "bio", type: String(200)),
    ],
    checks: [Check(name: "ck_users_score", expr: "score >= 0")]),
    Table(name: "posts", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "user_id", type: Integer, nullable: false),
        Column(name: "title", type: String(100), default: Str("it's new")),
        Column(name: "editor_id", type: Integer),
    ],
    indexes: [Index(name: "ix_posts_editor", columns: ["editor_id"])],
    foreign_keys: [
        ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade),
        ForeignKey(name: "fk_posts_editor", columns: ["editor_id"], ref_table: "users", ref_columns: ["id"], on_delete: SetNull),
    ]),
    Table(name: "tags", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "post_id", type: Integer, nullable: false),
        Column(name: "name", type: String(30)),
    ],
    foreign_keys: [
        ForeignKey(name: "fk_tags_post", columns: ["post_id"], ref_table: "posts", ref_columns: ["id"]),
    ]),
]"#;

fn rev(env: &TestEnv, db: &Db, args: &[&str]) -> Run {
    env.rev_env(args, &[("DATABASE_URL", &db.url)])
}

fn ok(env: &TestEnv, db: &Db, args: &[&str]) -> String {
    let run = rev(env, db, args);
    assert_eq!(run.code, 0, "rev {args:?} failed:\n{}", run.all());
    run.stdout
}

fn write_models(env: &TestEnv, text: &str) {
    std::fs::write(env.path().join("models").join("app.ron"), text).unwrap();
}

/// Returns a generated migration file without its `created` line, which changes every run.
fn migration_file(env: &TestEnv, name: &str) -> String {
    std::fs::read_to_string(env.versions().join(name))
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("created:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// From an empty project: autogenerate from the database, upgrade, compare;
/// change the models, again; downgrade the last revision and compare with the
/// first models; then a column added by hand is reported by `rev check --db`.
fn round_trip(env: &TestEnv, db: &Db) -> (String, String, String) {
    let autogenerate = |message: &str, id: &str| {
        ok(
            env,
            db,
            &[
                "revision",
                "--autogenerate",
                "--from-db",
                "-m",
                message,
                "--rev-id",
                id,
            ],
        )
    };
    let no_changes = |models: &str, head: &str| {
        write_models(env, models);
        let out = ok(
            env,
            db,
            &[
                "revision",
                "--autogenerate",
                "--from-db",
                "-m",
                "nothing",
                "--head",
                head,
            ],
        );
        assert!(out.starts_with("No changes"), "{out}");
    };

    write_models(env, MODELS_V1);
    autogenerate("first", "r1");
    ok(env, db, &["upgrade", "heads"]);
    ok(env, db, &["check", "--db"]);
    no_changes(MODELS_V1, "r1");

    write_models(env, MODELS_V2);
    let detected = autogenerate("second", "r2");
    ok(env, db, &["upgrade", "heads"]);
    ok(env, db, &["check", "--db"]);
    no_changes(MODELS_V2, "r2");

    ok(env, db, &["downgrade", "-1"]);
    ok(env, db, &["check", "--db"]);
    // Back at r1, the database is what the first models describe.
    no_changes(MODELS_V1, "r1");

    // Only the database drifts: the models match the migrations' heads.
    write_models(env, MODELS_V2);
    db.exec("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)");
    let drift = rev(env, db, &["check", "--db"]);
    assert_eq!(drift.code, 1, "{}", drift.all());
    (detected, drift.all(), migration_file(env, "r2_second.ron"))
}

#[test]
fn sqlite_round_trip_from_the_database() {
    let env = TestEnv::new();
    let db = Db::sqlite(&env);
    let (detected, drift, _) = round_trip(&env, &db);
    assert_snapshot!(detected, @r"
    Detected - index ix_users_born on users
    Detected + table tags
    Detected + column posts.editor_id
    Detected ~ column users.score: type BigInt, not null, default 1
    Detected + column users.bio
    Detected + index ix_posts_editor on posts
    Detected + foreign key fk_posts_editor on posts -> users
    Detected - column users.born
    (+ added, - dropped, ~ changed by the new revision)
    Created revision r2: migrations/versions/r2_second.ron
    ");
    assert_snapshot!(drift, @r"
    error: the database differs from what the migrations build at its current revision (r1); changed by hand?
      + column users.nickname
    (+ only in the database, - only in the migrations, ~ differs between them)
    [exit 1]
    ");
    assert_snapshot!("first_revision", migration_file(&env, "r1_first.ron"));
    assert_snapshot!("second_revision", migration_file(&env, "r2_second.ron"));
}

#[test]
fn postgres_round_trip_from_the_database() {
    let Some(db) = Db::create(Server::Postgres) else {
        return;
    };
    let env = TestEnv::new();
    let (detected, drift, second) = round_trip(&env, &db);
    assert_snapshot!(detected, @r"
    Detected - index ix_users_born on users
    Detected + table tags
    Detected + column posts.editor_id
    Detected ~ column users.score: type BigInt, not null, default 1
    Detected + column users.bio
    Detected + index ix_posts_editor on posts
    Detected + foreign key fk_posts_editor on posts -> users
    Detected - column users.born
    (+ added, - dropped, ~ changed by the new revision)
    Created revision r2: migrations/versions/r2_second.ron
    ");
    assert_snapshot!(drift, @r"
    error: the database differs from what the migrations build at its current revision (r1); changed by hand?
      + column users.nickname
    (+ only in the database, - only in the migrations, ~ differs between them)
    [exit 1]
    ");
    // The database is read in its own dialect, and yet gives the same migration as SQLite.
    assert_snapshot!("second_revision", second);
}

#[test]
fn mysql_round_trip_from_the_database() {
    let Some(db) = Db::create(Server::Mysql) else {
        return;
    };
    let env = TestEnv::new();
    let (detected, drift, second) = round_trip(&env, &db);
    assert_snapshot!(detected, @r"
    Detected - index ix_users_born on users
    Detected + table tags
    Detected + column posts.editor_id
    Detected ~ column users.score: type BigInt, not null, default 1
    Detected + column users.bio
    Detected + index ix_posts_editor on posts
    Detected + foreign key fk_posts_editor on posts -> users
    Detected - column users.born
    (+ added, - dropped, ~ changed by the new revision)
    Created revision r2: migrations/versions/r2_second.ron
    ");
    assert_snapshot!(drift, @r"
    error: the database differs from what the migrations build at its current revision (r1); changed by hand?
      + column users.nickname
    (+ only in the database, - only in the migrations, ~ differs between them)
    [exit 1]
    ");
    assert_snapshot!("second_revision", second);
}

#[test]
fn from_db_refuses_a_database_that_is_not_up_to_date() {
    let env = TestEnv::new();
    let db = Db::sqlite(&env);
    write_models(&env, MODELS_V1);
    ok(
        &env,
        &db,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "first",
            "--rev-id",
            "r1",
        ],
    );
    let run = rev(
        &env,
        &db,
        &["revision", "--autogenerate", "--from-db", "-m", "again"],
    );
    assert_snapshot!(run.all(), @r"
    error: the database is at <base>, not at r1, the parent of the new revision: it is not up to date
    hint: run `rev upgrade heads` first, or autogenerate without --from-db
    [exit 1]
    ");
}

#[test]
fn from_db_needs_autogenerate() {
    let env = TestEnv::new();
    let run = env.rev(&["revision", "--from-db", "-m", "x"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn check_db_does_not_create_a_missing_sqlite_file() {
    let env = TestEnv::new();
    let run = env.rev(&["check", "--db"]);
    assert!(!env.path().join("rev.db").exists());
    assert_snapshot!(run.all(), @r"
    error: cannot compare the database with the migrations: rev.db does not exist
    hint: run `rev upgrade heads` to create it
    [exit 1]
    ");
}

#[test]
fn check_db_reports_drift_as_json() {
    let env = TestEnv::new();
    let db = Db::sqlite(&env);
    write_models(&env, MODELS_V1);
    ok(
        &env,
        &db,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "first",
            "--rev-id",
            "r1",
        ],
    );
    ok(&env, &db, &["upgrade", "heads"]);
    db.exec("DROP INDEX ix_users_born");
    let run = rev(&env, &db, &["check", "--db", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_snapshot!(run.stdout, @r#"
    {
      "findings": [
        {
          "kind": "db_drift",
          "message": "the database differs from what the migrations build at its current revision (r1); changed by hand?\n  - index ix_users_born on users",
          "severity": "error"
        }
      ],
      "ok": false
    }
    "#);
}
