//! The local PostgreSQL and MariaDB servers for the live end-to-end suite: a
//! fresh database per test, dropped by a guard (also when the test fails), the
//! skip-or-fail rule for a server that cannot be reached (DESIGN.md §8), and
//! readers of what the database holds, through information_schema.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::{Run, TestEnv};

/// The rows of a reply, each cell as text (None = NULL).
pub type Rows = Vec<Vec<Option<String>>>;

/// The PostgreSQL advisory-lock key of the version table `rev_version`.
/// It is pinned in rev-db's unit tests: runners of different releases must
/// keep excluding each other, so tests may rely on it too.
const PG_LOCK_KEY: i64 = -6_974_551_163_831_350_334;

/// One of the two local servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL at 127.0.0.1:5432 (or `REV_TEST_PG_URL`).
    Postgres,
    /// MariaDB at 127.0.0.1:3306 (or `REV_TEST_MYSQL_URL`).
    Mariadb,
}

impl Server {
    /// Returns the URL of the server's administrative database.
    fn admin_url(self) -> String {
        match self {
            Server::Postgres => std::env::var("REV_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            Server::Mariadb => std::env::var("REV_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned()),
        }
    }

    /// Returns the server's name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Mariadb => "MariaDB",
        }
    }

    /// Returns a statement that sleeps `secs` seconds on this server.
    pub fn sleep(self, secs: u32) -> String {
        match self {
            Server::Postgres => format!("SELECT pg_sleep({secs})"),
            Server::Mariadb => format!("DO SLEEP({secs})"),
        }
    }

    /// Returns the expression naming the connection's schema (database on MariaDB).
    pub fn current_schema(self) -> &'static str {
        match self {
            Server::Postgres => "current_schema()",
            Server::Mariadb => "DATABASE()",
        }
    }
}

/// Returns `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    format!("{scheme}://{host}/{name}{query}")
}

/// One open connection, for queries and for holding a lock.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    conn: Conn,
}

enum Conn {
    Pg(tokio_postgres::Client),
    My(Option<mysql_async::Conn>),
}

impl Session {
    /// Connects, or says why not.
    fn open(server: Server, url: &str) -> Result<Session, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime.block_on(async {
            match server {
                Server::Postgres => {
                    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                        .await
                        .map_err(|e| match std::error::Error::source(&e) {
                            Some(cause) => format!("{e}: {cause}"),
                            None => e.to_string(),
                        })?;
                    tokio::spawn(conn);
                    Ok::<_, String>(Conn::Pg(client))
                }
                Server::Mariadb => {
                    let opts = mysql_async::Opts::from_url(url).map_err(|e| e.to_string())?;
                    let conn = mysql_async::Conn::new(opts)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Conn::My(Some(conn)))
                }
            }
        })?;
        Ok(Session { runtime, conn })
    }

    /// Runs SQL text and returns every row of its reply as text.
    pub fn try_rows(&mut self, sql: &str) -> Result<Rows, String> {
        let Session { runtime, conn } = self;
        runtime.block_on(async {
            match conn {
                Conn::Pg(client) => {
                    let mut out = Vec::new();
                    for message in client.simple_query(sql).await.map_err(|e| e.to_string())? {
                        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                            out.push(
                                (0..row.len())
                                    .map(|i| row.get(i).map(str::to_owned))
                                    .collect(),
                            );
                        }
                    }
                    Ok(out)
                }
                Conn::My(conn) => {
                    let conn = conn.as_mut().unwrap();
                    let rows: Vec<mysql_async::Row> =
                        conn.query(sql).await.map_err(|e| e.to_string())?;
                    Ok(rows
                        .into_iter()
                        .map(|row| row.unwrap().into_iter().map(text).collect())
                        .collect())
                }
            }
        })
    }

    /// Runs SQL text and returns every row of its reply as text; panics on an error.
    pub fn rows(&mut self, sql: &str) -> Rows {
        self.try_rows(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Conn::My(conn) = &mut self.conn {
            if let Some(conn) = conn.take() {
                let _ = self.runtime.block_on(conn.disconnect());
            }
        }
    }
}

fn text(value: mysql_async::Value) -> Option<String> {
    match value {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        other => Some(other.as_sql(true)),
    }
}

/// Returns whether CI demands the servers (`REV_REQUIRE_SERVICES=1`).
fn services_required() -> bool {
    std::env::var("REV_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// A database `rev_e2e_<random>` made for one test and dropped with this value.
pub struct TempDb {
    /// The server it lives on.
    pub server: Server,
    /// Its name.
    pub name: String,
    /// The URL `rev` connects to.
    pub url: String,
    admin_url: String,
}

impl TempDb {
    /// Creates a fresh database, or, when the server cannot be reached, fails
    /// (REV_REQUIRE_SERVICES=1) or prints "skipped: <why>" and returns None.
    pub fn create(server: Server) -> Option<TempDb> {
        TempDb::create_at(server, server.admin_url(), services_required())
    }

    /// Creates a fresh database on the server `admin_url` names; when that
    /// fails, panics if `required`, else prints "skipped: <why>" and returns None.
    pub fn create_at(server: Server, admin_url: String, required: bool) -> Option<TempDb> {
        let name = format!("rev_e2e_{}", uuid::Uuid::new_v4().simple());
        let created = Session::open(server, &admin_url).and_then(|mut s| {
            let quoted = match server {
                Server::Postgres => format!("\"{name}\""),
                Server::Mariadb => format!("`{name}`"),
            };
            s.try_rows(&format!("CREATE DATABASE {quoted}")).map(drop)
        });
        if let Err(why) = created {
            let what = server.name();
            assert!(
                !required,
                "{what} is required (REV_REQUIRE_SERVICES=1) but unusable: {why}"
            );
            println!("skipped: {what} is unreachable: {why}");
            return None;
        }
        Some(TempDb {
            server,
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// Opens a new connection to the database.
    pub fn session(&self) -> Session {
        Session::open(self.server, &self.url).unwrap()
    }

    /// Runs SQL text on the database and returns every row as text.
    pub fn rows(&self, sql: &str) -> Rows {
        self.session().rows(sql)
    }

    /// Returns the first column of every row, NULL as "NULL".
    pub fn column(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|row| row.into_iter().next().flatten().unwrap_or("NULL".into()))
            .collect()
    }

    /// Runs statements on the database.
    pub fn exec(&self, sql: &str) {
        self.rows(sql);
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let sql = match self.server {
            // FORCE ends sessions a killed runner left behind.
            Server::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            Server::Mariadb => format!("DROP DATABASE IF EXISTS `{}`", self.name),
        };
        let dropped =
            Session::open(self.server, &self.admin_url).and_then(|mut s| s.try_rows(&sql));
        if let Err(why) = dropped {
            eprintln!("could not drop test database {}: {why}", self.name);
        }
    }
}

/// A rev project in a temporary directory, run against its own live database.
pub struct LiveEnv {
    /// The project.
    pub env: TestEnv,
    /// Its database.
    pub db: TempDb,
}

impl LiveEnv {
    /// Returns a project made by `rev init` with a fresh database, or None
    /// when the server is unreachable and the test should be skipped.
    pub fn new(server: Server) -> Option<LiveEnv> {
        let db = TempDb::create(server)?;
        Some(LiveEnv {
            env: TestEnv::new(),
            db,
        })
    }

    /// Returns a copy of the repository's demo project with a fresh database.
    pub fn demo(server: Server) -> Option<LiveEnv> {
        let db = TempDb::create(server)?;
        let env = TestEnv::empty();
        super::copy_demo(&env);
        Some(LiveEnv { env, db })
    }

    /// Returns which server the database lives on.
    pub fn server(&self) -> Server {
        self.db.server
    }

    /// Returns `text` with the database's random name replaced by `$DB`.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.db.name, "$DB")
    }

    /// Sets `lock_timeout_secs` in the project's rev.ron.
    pub fn set_lock_timeout(&self, secs: u64) {
        let path = self.env.path().join("rev.ron");
        let config = std::fs::read_to_string(&path).unwrap();
        let start = config.find("lock_timeout_secs:").unwrap();
        let end = start + config[start..].find(',').unwrap();
        let config = format!(
            "{}lock_timeout_secs: {secs}{}",
            &config[..start],
            &config[end..]
        );
        std::fs::write(path, config).unwrap();
    }

    /// Runs `rev` with these arguments against the database.
    pub fn rev(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--url", &self.db.url]);
        self.env.rev(&all)
    }

    /// Runs `rev` and asserts it succeeded; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.rev(args);
        assert_eq!(
            run.code,
            0,
            "rev {args:?} failed on {}:\n{}",
            self.server().name(),
            run.all()
        );
        run.stdout
    }

    /// Returns the command that runs `rev` with these arguments against the
    /// database, for tests that start several at once or kill one.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rev"));
        cmd.args(args)
            .args(["--url", &self.db.url])
            .current_dir(self.env.path())
            .env_remove("DATABASE_URL");
        cmd
    }

    /// Starts `rev` in the background, its output captured.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Returns the tables of the database, sorted.
    /// rev's journal (made when a step first runs journalled) is left out.
    pub fn tables(&self) -> Vec<String> {
        self.db.column(&format!(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = {} AND table_name <> 'rev_history_journal' \
             ORDER BY table_name",
            self.server().current_schema()
        ))
    }

    /// Returns `name type nullable` for each column of a table, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        self.db
            .rows(&format!(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                 WHERE table_schema = {} AND table_name = '{table}' ORDER BY ordinal_position",
                self.server().current_schema()
            ))
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(Option::unwrap_or_default)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Returns `name type` for each PRIMARY KEY, UNIQUE, FOREIGN KEY and CHECK
    /// constraint of a table, sorted; the server's own NOT NULL checks are left out.
    pub fn constraints(&self, table: &str) -> Vec<String> {
        self.db
            .rows(&format!(
                "SELECT constraint_name, constraint_type FROM information_schema.table_constraints \
                 WHERE table_schema = {} AND table_name = '{table}' \
                 AND constraint_name NOT LIKE '%\\_not\\_null' ORDER BY constraint_name",
                self.server().current_schema()
            ))
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(Option::unwrap_or_default)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Returns `name unique|index` for each secondary index of a table, sorted
    /// (primary keys left out). Indexes are not in information_schema on
    /// PostgreSQL, so pg_indexes stands in there.
    pub fn indexes(&self, table: &str) -> Vec<String> {
        let sql = match self.server() {
            Server::Postgres => format!(
                "SELECT indexname, CASE WHEN indexdef LIKE 'CREATE UNIQUE%' THEN 'unique' ELSE 'index' END \
                 FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '{table}' \
                 AND indexname NOT LIKE '%\\_pkey' ORDER BY indexname"
            ),
            Server::Mariadb => format!(
                "SELECT DISTINCT index_name, CASE non_unique WHEN 0 THEN 'unique' ELSE 'index' END \
                 FROM information_schema.statistics WHERE table_schema = DATABASE() \
                 AND table_name = '{table}' AND index_name <> 'PRIMARY' ORDER BY index_name"
            ),
        };
        self.db
            .rows(&sql)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(Option::unwrap_or_default)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Returns the version table's rows, sorted.
    pub fn versions(&self) -> Vec<String> {
        self.db
            .column("SELECT version_num FROM rev_version ORDER BY version_num")
    }

    /// Returns `(revision, direction)` for each history row, oldest first.
    pub fn history(&self) -> Vec<(String, String)> {
        self.db
            .rows("SELECT revision, direction FROM rev_history ORDER BY id")
            .into_iter()
            .map(|row| {
                let mut cells = row.into_iter().map(Option::unwrap_or_default);
                (cells.next().unwrap(), cells.next().unwrap())
            })
            .collect()
    }

    /// Returns rev's journal as `revision direction done running` (running
    /// NULL when no statement is in doubt), one line per interrupted step;
    /// empty when no journalled step ever ran here (no journal table).
    pub fn journal(&self) -> Vec<String> {
        let made = self.db.column(&format!(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = {} AND table_name = 'rev_history_journal'",
            self.server().current_schema()
        ));
        if made != ["1"] {
            return Vec::new();
        }
        self.db
            .rows("SELECT revision, direction, done, running FROM rev_history_journal")
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|cell| cell.unwrap_or_else(|| "NULL".to_owned()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Returns the revisions of the history rows, oldest first.
    pub fn history_revisions(&self) -> Vec<String> {
        self.history().into_iter().map(|(r, _)| r).collect()
    }

    /// Returns how many other sessions of the database are running a
    /// statement that contains `needle`; with `or_idle`, PostgreSQL sessions
    /// whose last statement it was count too (MariaDB shows only running ones).
    pub fn sessions(&self, session: &mut Session, needle: &str, or_idle: bool) -> usize {
        let sql = match self.server() {
            Server::Postgres => format!(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{}' \
                 AND pid <> pg_backend_pid() AND query LIKE '%{needle}%'{}",
                self.db.name,
                if or_idle { "" } else { " AND state = 'active'" }
            ),
            Server::Mariadb => format!(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE db = '{}' \
                 AND id <> CONNECTION_ID() AND info LIKE '%{needle}%'",
                self.db.name
            ),
        };
        let rows = session.rows(&sql);
        rows[0][0].as_deref().unwrap().parse().unwrap()
    }

    /// Returns whether another session of the database is running a
    /// statement that contains `needle`.
    pub fn running(&self, session: &mut Session, needle: &str) -> bool {
        self.sessions(session, needle, false) > 0
    }

    /// Returns how many runners are waiting for the migration lock.
    pub fn waiting_for_lock(&self, session: &mut Session) -> usize {
        match self.server() {
            Server::Postgres => self.sessions(session, "pg_try_advisory_lock", true),
            Server::Mariadb => self.sessions(session, "GET_LOCK", false),
        }
    }

    /// Waits (at most 20 s) until `ready` holds, polling the database.
    pub fn wait_until(&self, what: &str, mut ready: impl FnMut(&mut Session) -> bool) {
        let mut session = self.db.session();
        let started = Instant::now();
        while !ready(&mut session) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "gave up waiting for {what} on {}",
                self.server().name()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes rev's migration lock from a session of the test's own, as another
    /// runner would; released when the session is dropped.
    pub fn hold_lock(&self) -> Session {
        let mut session = self.db.session();
        let sql = match self.server() {
            Server::Postgres => format!("SELECT pg_advisory_lock({PG_LOCK_KEY})"),
            Server::Mariadb => {
                "SELECT GET_LOCK(CONCAT('rev_', MD5(CONCAT(DATABASE(), '.rev_version'))), 0)"
                    .to_owned()
            }
        };
        let got = session.rows(&sql);
        if self.server() == Server::Mariadb {
            assert_eq!(got, [[Some("1".to_owned())]], "the test took the lock");
        }
        session
    }
}

/// Waits for a child and returns what it printed and how it exited.
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}
