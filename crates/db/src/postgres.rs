//! The PostgreSQL backend, over tokio-postgres on a current-thread runtime.
//!
//! TLS goes through rustls ([`crate::tls`]) with libpq's `sslmode`:
//! `disable`; `allow` and `prefer` (the default), TLS when the server offers
//! it; `require`, TLS or no connection; `verify-ca`, TLS with the chain checked
//! against `sslrootcert` (a PEM file, or `system` for the built-in public
//! roots, which are also the roots when none is given); `verify-full`, the
//! chain and the host name. As in libpq, `require` with an `sslrootcert`
//! checks the chain, and the weaker modes accept any certificate.
//!
//! A migration costs one round trip (DESIGN.md §6): BEGIN, its statements,
//! its version-table changes, its history row and COMMIT are pipelined in
//! one write, with every value bound. The server checks that each change
//! touched exactly one row (a failed check aborts the transaction, so the
//! COMMIT rolls it back), and the replies, read in order, say what failed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::Poll;
use std::time::{Duration, Instant};

use rev_sql::postgres::Postgres;
use rev_sql::{Dialect, VersionChange};
use tokio::runtime::Runtime;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config};

use crate::connstr::{self, percent_decode};
use crate::journal::{self, Exec as _};
use crate::shared::{last_applied, note_kept_statements};
use crate::tls::{self, MakeRustls, Roots, Verify};
use crate::{Backend, DbError, Step, StepFailure, Tables};

/// How long to wait between two tries of the advisory lock.
const LOCK_POLL: Duration = Duration::from_millis(100);

/// The version table whose name the advisory lock key is derived from when
/// no other name is given (see [`PostgresBackend::with_lock_name`]).
const DEFAULT_LOCK_NAME: &str = "rev_version";

/// Connects to the PostgreSQL database named by `url` (`postgres://user:pass@host:port/db`
/// or a `key=value` connection string).
pub fn connect(url: &str) -> Result<Box<dyn Backend>, DbError> {
    Ok(Box::new(PostgresBackend::connect(url)?))
}

/// A live PostgreSQL connection that runs migrations.
pub struct PostgresBackend {
    runtime: Runtime,
    client: Client,
    dialect: Postgres,
    target: String,
    lock_key: i64,
    locked: bool,
    /// The last token a windowed step set in the session (see [`window`]).
    token: u64,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("target", &self.target)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to the PostgreSQL database named by `url`.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let settings = PgSettings::parse(url)?;
        let config = &settings.config;
        let target = describe(config);
        let connect_error = |message: String| DbError::Connect {
            target: target.clone(),
            message: settings.scrub(message),
        };
        let tls = MakeRustls::new(
            tls::client_config(settings.verify(), &settings.roots(), Some(b"postgresql"))
                .map_err(&connect_error)?,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| DbError::Other(format!("cannot start the async runtime: {e}")))?;
        let connected = match runtime.block_on(config.connect(tls.clone())) {
            // libpq's `prefer` goes on in plain text when the handshake fails.
            Err(e)
                if matches!(settings.ssl_mode, SslMode::Prefer | SslMode::Allow)
                    && is_tls_failure(&e) =>
            {
                let mut plain = config.clone();
                plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
                runtime.block_on(plain.connect(tls))
            }
            other => other,
        };
        let (client, connection) = connected.map_err(|e| connect_error(settings.explain(&e)))?;
        // The connection task makes progress whenever a later `block_on` runs.
        runtime.spawn(connection);
        // A runner killed mid-statement otherwise leaves its session running
        // until the statement ends, holding the migration lock and its table
        // locks, so every rerun waits or times out. Since PostgreSQL 14 the
        // server can notice the dead client and roll back; older servers do
        // not know the setting and keep their old behaviour.
        match runtime.block_on(client.batch_execute("SET client_connection_check_interval = 1000"))
        {
            Ok(()) => {}
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => {}
            Err(e) => return Err(connect_error(pg_message(&e))),
        }
        Ok(PostgresBackend {
            runtime,
            client,
            dialect: Postgres,
            target,
            lock_key: lock_key(DEFAULT_LOCK_NAME),
            locked: false,
            token: 0,
        })
    }

    /// Returns this backend with its advisory lock keyed on `version_table`,
    /// so that projects with different version tables in one database do not
    /// wait for each other.
    pub fn with_lock_name(mut self, version_table: &str) -> Self {
        self.lock_key = lock_key(version_table);
        self
    }

    /// Returns the server and database this backend talks to, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn version_table(&self, tables: &Tables) -> String {
        self.dialect
            .qualified(tables.schema.as_deref(), &tables.version)
    }

    fn history_table(&self, tables: &Tables) -> String {
        self.dialect
            .qualified(tables.schema.as_deref(), &tables.history)
    }

    /// Returns whether the table exists, resolving an unqualified name through
    /// the search path as the statements themselves do.
    fn table_exists(&mut self, qualified: &str) -> Result<bool, DbError> {
        let client = &self.client;
        self.runtime.block_on(async {
            let row = client
                .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&qualified])
                .await
                .map_err(other)?;
            row.try_get::<_, bool>(0).map_err(other)
        })
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it (libpq tries plain text first; rev tries
    /// TLS first, as with `prefer`).
    Allow,
    /// TLS when the server offers it, any certificate accepted (the default).
    Prefer,
    /// TLS or no connection; any certificate accepted unless `sslrootcert` is given.
    Require,
    /// TLS with the certificate chain checked, not the host name.
    VerifyCa,
    /// TLS with the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, DbError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(DbError::InvalidUrl(
                    "postgres URL: sslmode must be disable, allow, prefer, require, verify-ca \
                     or verify-full"
                        .to_owned(),
                ))
            }
        })
    }

    /// Returns libpq's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A PostgreSQL connection string as rev reads it: the driver's
/// configuration, and the TLS settings that rev handles itself.
pub struct PgSettings {
    /// The driver's configuration (its `sslmode` is `disable`, `prefer` or `require`).
    pub config: Config,
    /// The `sslmode` asked for.
    pub ssl_mode: SslMode,
    /// The `sslrootcert` given: a file, or `system` (the built-in roots).
    pub root_cert: Option<Roots>,
    /// The password as written and as decoded, to scrub from driver messages.
    secrets: Vec<String>,
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgSettings")
            .field("target", &describe(&self.config))
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .finish_non_exhaustive()
    }
}

impl PgSettings {
    /// Reads a `postgres://` URL (whose password may hold `@`, `:`, `/`, `?`
    /// or `#` unescaped) or a libpq `key=value` string.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        let mut secrets = Vec::new();
        let pairs: Vec<(String, String)> = match connstr::split_url(url) {
            Some(parts) => {
                if !matches!(
                    parts.scheme.to_ascii_lowercase().as_str(),
                    "postgres" | "postgresql"
                ) {
                    return Err(DbError::UnsupportedScheme(parts.scheme.to_owned()));
                }
                let mut pairs = Vec::new();
                if let Some(user) = parts.user.filter(|user| !user.is_empty()) {
                    pairs.push(("user".to_owned(), percent_decode(user, "the user")?));
                }
                if let Some(password) = parts.password {
                    secrets.push(password.to_owned());
                    pairs.push((
                        "password".to_owned(),
                        percent_decode(password, "the password")?,
                    ));
                }
                let hosts = parts.host_list()?;
                if !hosts.is_empty() {
                    let names: Vec<&str> = hosts.iter().map(|(host, _)| host.as_str()).collect();
                    pairs.push(("host".to_owned(), names.join(",")));
                    if hosts.iter().any(|(_, port)| port.is_some()) {
                        let ports: Vec<String> = hosts
                            .iter()
                            .map(|(_, port)| port.map(|p| p.to_string()).unwrap_or_default())
                            .collect();
                        pairs.push(("port".to_owned(), ports.join(",")));
                    }
                }
                if let Some(path) = parts.path.filter(|path| !path.is_empty()) {
                    pairs.push(("dbname".to_owned(), percent_decode(path, "the database")?));
                }
                pairs.extend(parts.decoded_query()?);
                pairs
            }
            None => connstr::split_libpq(url)
                .map_err(|e| match e {
                    DbError::InvalidUrl(message) => {
                        DbError::InvalidUrl(format!("postgres connection string: {message}"))
                    }
                    other => other,
                })?
                .into_iter()
                .map(|pair| (pair.key.to_owned(), pair.value))
                .collect(),
        };
        let mut ssl_mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut driver = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "sslmode" => ssl_mode = SslMode::parse(&value)?,
                "sslrootcert" => {
                    root_cert = Some(if value == "system" {
                        Roots::BuiltIn
                    } else {
                        Roots::File(value.into())
                    })
                }
                "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" | "sslsni"
                | "requirepeer" | "gssencmode" | "krbsrvname" => {
                    return Err(DbError::InvalidUrl(format!(
                        "postgres URL: `{key}` is not supported by rev (client certificates, \
                         CRLs and GSSAPI are not); sslmode and sslrootcert are"
                    )))
                }
                _ => {
                    if connstr::is_password_key(&key) {
                        secrets.push(value.clone());
                    }
                    driver.push(format!("{key}={}", connstr::libpq_quote(&value)));
                }
            }
        }
        let driver_mode = match ssl_mode {
            SslMode::Disable => "disable",
            SslMode::Allow | SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        };
        driver.push(format!("sslmode={driver_mode}"));
        let settings = PgSettings {
            config: Config::new(),
            ssl_mode,
            root_cert,
            secrets,
        };
        let config = Config::from_str(&driver.join(" "))
            .map_err(|e| DbError::InvalidUrl(settings.scrub(format!("postgres URL: {e}"))))?;
        Ok(PgSettings { config, ..settings })
    }

    /// Returns how much of the server's certificate is checked.
    pub fn verify(&self) -> Verify {
        match self.ssl_mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => Verify::Nothing,
            SslMode::Require if self.root_cert.is_some() => Verify::Chain,
            SslMode::Require => Verify::Nothing,
            SslMode::VerifyCa => Verify::Chain,
            SslMode::VerifyFull => Verify::ChainAndName,
        }
    }

    /// Returns the roots the chain is checked against.
    pub fn roots(&self) -> Roots {
        self.root_cert.clone().unwrap_or(Roots::BuiltIn)
    }

    fn scrub(&self, message: String) -> String {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        connstr::scrub(message, &secrets, "****")
    }

    /// Returns why connecting failed, in words that say what to change when
    /// TLS was the cause.
    fn explain(&self, error: &tokio_postgres::Error) -> String {
        let mode = self.ssl_mode.as_str();
        if let Some(failure) = tls::failure(error) {
            let why = failure.describe("check the chain only (sslmode=verify-ca)", "sslrootcert");
            return match self.verify() {
                Verify::Nothing => format!("{why} (sslmode={mode})"),
                _ => format!("{why} (sslmode={mode}, checked against {})", self.roots()),
            };
        }
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if cause.to_string().contains("server does not support TLS") {
                return format!(
                    "the server does not offer TLS, and sslmode={mode} requires it: turn ssl \
                     on in the server, or use sslmode=prefer or sslmode=disable"
                );
            }
            source = cause.source();
        }
        pg_message(error)
    }
}

/// Returns whether connecting failed in the TLS handshake.
fn is_tls_failure(error: &tokio_postgres::Error) -> bool {
    tls::failure(error).is_some() || error.to_string().contains("TLS handshake")
}

/// Returns `user@host:port/db` for messages: never the password.
fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}:{port}/{db}")
}

/// Returns the advisory-lock key for a version table: the FNV-1a hash of its
/// name, stable across builds (unlike std's hasher).
fn lock_key(version_table: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("rev:{version_table}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Returns the server's message with its SQLSTATE, detail and hint.
fn pg_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut message = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(detail) = db.detail() {
                message.push_str("\n  detail: ");
                message.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                message.push_str("\n  hint: ");
                message.push_str(hint);
            }
            message
        }
        None => {
            // The driver's own text is terse ("error connecting to server"):
            // the causes say why.
            let mut message = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            message
        }
    }
}

fn other(error: tokio_postgres::Error) -> DbError {
    other_ref(&error)
}

fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// The reply to one request of a pipelined round trip: rows touched (0 for
/// a simple query).
type Reply<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// Awaits every request together, polling them in order: each sends its
/// messages on its first poll, before the connection task runs, so they
/// leave in order and in one write, and the server answers them in turn.
/// Returns each reply in the order of the requests.
async fn pipelined(requests: Vec<Reply<'_>>) -> Vec<Result<u64, tokio_postgres::Error>> {
    let mut pending: Vec<Option<Reply<'_>>> = requests.into_iter().map(Some).collect();
    let mut replies: Vec<Option<Result<u64, tokio_postgres::Error>>> =
        pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, reply) in pending.iter_mut().zip(replies.iter_mut()) {
            if let Some(request) = slot {
                match request.as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        *reply = Some(result);
                        *slot = None;
                    }
                    Poll::Pending => done = false,
                }
            }
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    replies.into_iter().flatten().collect()
}

/// Returns the history insert: started when the transaction began, less
/// `$4` milliseconds spent before it (the statements of a step that runs
/// outside a transaction); the duration is the server's own clock, since
/// the row travels with the statements and cannot wait for their end.
fn history_sql(history_table: &str) -> String {
    format!(
        "INSERT INTO {history_table} (\"revision\", \"direction\", \"checksum\", \"started_at\", \
         \"duration_ms\", \"applied_by\") VALUES ($1, $2, $3, \
         now() - $4::bigint * interval '1 millisecond', \
         $4 + (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint, current_user)"
    )
}

/// The text that a version change which touched the wrong number of rows
/// fails to cast, so that the server aborts the transaction itself; the
/// count sits between it and [`COUNT_CHECK_END`].
const COUNT_CHECK: &str = "rev: version change touched ";
const COUNT_CHECK_END: &str = " rows";

/// A version-table change of a step, rendered for PostgreSQL.
struct Change {
    change: VersionChange,
    sql: String,
}

impl Change {
    /// Renders `change` so that the server checks its row count: the
    /// statement runs in a CTE, and unless it touched exactly one row the
    /// outer SELECT casts a text naming the count to integer, which fails
    /// (SQLSTATE 22P02) and aborts the transaction before COMMIT comes.
    fn new(change: VersionChange, tables: &Tables) -> Change {
        let sql = format!(
            "WITH changed AS ({} RETURNING 1) SELECT CASE WHEN count(*) = 1 THEN 1 \
             ELSE ('{COUNT_CHECK}' || count(*) || '{COUNT_CHECK_END}')::integer END FROM changed",
            change.sql(&Postgres, tables)
        );
        Change { change, sql }
    }

    /// Returns the error the change's reply stands for, if any.
    fn failure(&self, step: &Step, error: &tokio_postgres::Error) -> DbError {
        let mismatch = |message: String| DbError::VersionMismatch {
            revision: step.revision.clone(),
            message,
        };
        if is_unique_violation(error) {
            return mismatch(self.change.already_present());
        }
        if error.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION) {
            if let Some(message) = error.as_db_error().map(|db| db.message()) {
                let touched = message
                    .split_once(COUNT_CHECK)
                    .and_then(|(_, rest)| rest.split_once(COUNT_CHECK_END))
                    .and_then(|(count, _)| count.parse::<u64>().ok());
                if let Some(message) = touched.and_then(|n| self.change.wrong_row_count(n)) {
                    return mismatch(message);
                }
            }
        }
        in_step(step, error)
    }
}

/// Runs the bookkeeping of a step, and its statements when `statements`,
/// in one transaction and one round trip: BEGIN, the statements, the
/// version-table changes (each checked by the server to touch exactly one
/// row), the history row and COMMIT are pipelined. A failure aborts the
/// transaction, so the COMMIT that follows rolls it back; the replies, read
/// in order, say which part failed.
async fn transaction(
    client: &Client,
    history_table: &str,
    tables: &Tables,
    step: &Step,
    statements: bool,
    before_ms: i64,
    closing: Option<&journal::Bound>,
) -> Result<(), DbError> {
    let changes: Vec<Change> = step
        .version_changes()
        .into_iter()
        .map(|change| Change::new(change, tables))
        .collect();
    let change_values: Vec<Vec<&str>> = changes.iter().map(|c| c.change.params()).collect();
    let history = history_sql(history_table);
    let direction = step.direction.as_str();
    let ran: &[rev_sql::Statement] = if statements { &step.statements } else { &[] };

    // A journalled step's journal row goes in the transaction that records it.
    let closing_params: Vec<(&(dyn ToSql + Sync), Type)> = closing
        .map(|c| {
            c.params
                .iter()
                .map(|v| (v as &(dyn ToSql + Sync), Type::TEXT))
                .collect()
        })
        .unwrap_or_default();
    let mut requests: Vec<Reply<'_>> = Vec::with_capacity(ran.len() + changes.len() + 4);
    requests.push(Box::pin(async move {
        client
            .batch_execute(Postgres.begin_transaction())
            .await
            .map(|()| 0)
    }));
    for statement in ran {
        requests.push(Box::pin(async move {
            client.batch_execute(&statement.sql).await.map(|()| 0)
        }));
    }
    for (change, values) in changes.iter().zip(&change_values) {
        let params: Vec<(&(dyn ToSql + Sync), Type)> = values
            .iter()
            .map(|v| (v as &(dyn ToSql + Sync), Type::TEXT))
            .collect();
        requests.push(Box::pin(async move {
            client.execute_typed(&change.sql, &params).await
        }));
    }
    requests.push(Box::pin(async {
        client
            .execute_typed(
                &history,
                &[
                    (&step.revision, Type::TEXT),
                    (&direction, Type::TEXT),
                    (&step.checksum, Type::TEXT),
                    (&before_ms, Type::INT8),
                ],
            )
            .await
    }));
    if let Some(closing) = closing {
        let params = &closing_params;
        requests.push(Box::pin(async move {
            client.execute_typed(&closing.sql, params).await
        }));
    }
    requests.push(Box::pin(async move {
        client
            .batch_execute(Postgres.commit_transaction())
            .await
            .map(|()| 0)
    }));
    let replies = pipelined(requests).await;
    judge(step, ran, &changes, closing.is_some(), &replies)
}

/// Returns the first failure among the replies to a step's pipelined
/// requests (BEGIN, `ran`, `changes`, the history row, COMMIT): the
/// requests after a failed one only report the aborted transaction.
fn judge(
    step: &Step,
    ran: &[rev_sql::Statement],
    changes: &[Change],
    closing: bool,
    replies: &[Result<u64, tokio_postgres::Error>],
) -> Result<(), DbError> {
    let mut replies = replies.iter();
    let missing = || DbError::Other("PostgreSQL sent fewer replies than requests".to_owned());
    let failed = |e: &tokio_postgres::Error| in_step(step, e);
    replies
        .next()
        .ok_or_else(missing)?
        .as_ref()
        .map_err(failed)?;
    for (index, statement) in ran.iter().enumerate() {
        if let Err(e) = replies.next().ok_or_else(missing)? {
            return Err(statement_failed(step, index, statement, e));
        }
    }
    for change in changes {
        if let Err(e) = replies.next().ok_or_else(missing)? {
            return Err(change.failure(step, e));
        }
    }
    // The history row, the journal's closing if any, then COMMIT (which can
    // fail on a deferred constraint).
    for _ in 0..2 + usize::from(closing) {
        replies
            .next()
            .ok_or_else(missing)?
            .as_ref()
            .map_err(failed)?;
    }
    Ok(())
}

/// The statement that opens every windowed step but the first: it divides
/// by zero, aborting the step's transaction before its statements, unless
/// the step before it set `$1` as it committed. A setting made in a
/// transaction that rolls back is undone with it, so a failed step stops
/// the rest of its window on the server, in the same round trip.
const WINDOW_GUARD: &str =
    "SELECT 1 / coalesce((current_setting('rev.window', true) = $1)::integer, 0)";

/// The statement that closes every windowed step but the last, setting the
/// token its follower's [`WINDOW_GUARD`] asks for; it lasts the session.
const WINDOW_MARK: &str = "SELECT set_config('rev.window', $1, false)";

/// One step of a window, with what its requests borrow.
struct Windowed<'s> {
    step: &'s Step,
    changes: Vec<Change>,
    values: Vec<Vec<String>>,
    /// The token the step before it set, for [`WINDOW_GUARD`].
    guard: Option<String>,
    /// The token this step sets, for [`WINDOW_MARK`].
    mark: Option<String>,
}

/// How a windowed step ended.
enum Verdict {
    Committed,
    Failed(DbError),
    /// Its guard found no token: the step before it did not commit (or the
    /// session's settings did not last, as behind a transaction pooler), and
    /// nothing of it ran.
    Skipped,
}

/// Sends every request at once, then hands each reply to `each` in order as
/// it comes, so that a step is known committed before the window ends.
async fn pipelined_in_turn(
    requests: Vec<Reply<'_>>,
    each: &mut dyn FnMut(Result<u64, tokio_postgres::Error>),
) {
    let mut slots: Vec<(Reply<'_>, Option<Result<u64, tokio_postgres::Error>>)> =
        requests.into_iter().map(|r| (r, None)).collect();
    // The first poll of each request queues its messages, in order.
    std::future::poll_fn(|cx| {
        for (request, reply) in slots.iter_mut() {
            if let Poll::Ready(result) = request.as_mut().poll(cx) {
                *reply = Some(result);
            }
        }
        Poll::Ready(())
    })
    .await;
    for (request, reply) in slots {
        let result = match reply {
            Some(result) => result,
            None => request.await,
        };
        each(result);
    }
}

/// Runs transactional steps as one window: every step's BEGIN, guard,
/// statements, version changes, history row, mark and COMMIT go in one
/// write. Calls `committed` as each step's replies say it committed, and
/// returns how many did, with the failure that ended the window, if any.
async fn window(
    client: &Client,
    history_table: &str,
    steps: &[Windowed<'_>],
    committed: &mut dyn FnMut(usize),
) -> (usize, Option<Verdict>) {
    let history = history_sql(history_table);
    let no_delay: i64 = 0;
    let mut requests: Vec<Reply<'_>> = Vec::new();
    let mut counts = Vec::with_capacity(steps.len());
    for windowed in steps {
        let before = requests.len();
        let step = windowed.step;
        requests.push(Box::pin(async move {
            client
                .batch_execute(Postgres.begin_transaction())
                .await
                .map(|()| 0)
        }));
        if let Some(token) = &windowed.guard {
            requests.push(Box::pin(async move {
                client
                    .execute_typed(WINDOW_GUARD, &[(token, Type::TEXT)])
                    .await
            }));
        }
        for statement in &step.statements {
            requests.push(Box::pin(async move {
                client.batch_execute(&statement.sql).await.map(|()| 0)
            }));
        }
        for (change, values) in windowed.changes.iter().zip(&windowed.values) {
            requests.push(Box::pin(async move {
                let params: Vec<(&(dyn ToSql + Sync), Type)> = values
                    .iter()
                    .map(|v| (v as &(dyn ToSql + Sync), Type::TEXT))
                    .collect();
                client.execute_typed(&change.sql, &params).await
            }));
        }
        let history = &history;
        let no_delay = &no_delay;
        requests.push(Box::pin(async move {
            client
                .execute_typed(
                    history,
                    &[
                        (&step.revision, Type::TEXT),
                        (&step.direction.as_str(), Type::TEXT),
                        (&step.checksum, Type::TEXT),
                        (no_delay, Type::INT8),
                    ],
                )
                .await
        }));
        if let Some(token) = &windowed.mark {
            requests.push(Box::pin(async move {
                client
                    .execute_typed(WINDOW_MARK, &[(token, Type::TEXT)])
                    .await
            }));
        }
        requests.push(Box::pin(async move {
            client
                .batch_execute(Postgres.commit_transaction())
                .await
                .map(|()| 0)
        }));
        counts.push(requests.len() - before);
    }
    // The replies of the step being read, judged once all are in.
    let mut replies = Vec::new();
    let mut counts_left = counts.iter();
    let mut current = counts_left.next().copied().unwrap_or(0);
    let mut judged = 0;
    let mut done = 0;
    let mut ended: Option<Verdict> = None;
    pipelined_in_turn(requests, &mut |reply| {
        replies.push(reply);
        if replies.len() < current {
            return;
        }
        let verdict = match steps.get(judged) {
            Some(windowed) => judge_windowed(windowed, &replies),
            None => Verdict::Failed(DbError::Other(
                "PostgreSQL sent more replies than requests".to_owned(),
            )),
        };
        replies.clear();
        judged += 1;
        current = counts_left.next().copied().unwrap_or(0);
        match verdict {
            Verdict::Committed if ended.is_none() => {
                committed(done);
                done += 1;
            }
            // After the first failure the replies only say the rest were
            // skipped; the first is the one to report.
            _ if ended.is_some() => {}
            other => ended = Some(other),
        }
    })
    .await;
    (done, ended)
}

/// Returns how a windowed step ended, from its replies (see [`window`]).
fn judge_windowed(
    windowed: &Windowed<'_>,
    replies: &[Result<u64, tokio_postgres::Error>],
) -> Verdict {
    let step = windowed.step;
    let mut replies = replies.iter();
    if let Some(Err(e)) = replies.next() {
        return Verdict::Failed(in_step(step, e));
    }
    if windowed.guard.is_some() {
        match replies.next() {
            Some(Err(e)) if e.code() == Some(&SqlState::DIVISION_BY_ZERO) => {
                return Verdict::Skipped;
            }
            // Aborted before the guard ran: the step before did not commit.
            Some(Err(e)) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => {
                return Verdict::Skipped;
            }
            Some(Err(e)) => return Verdict::Failed(in_step(step, e)),
            _ => {}
        }
    }
    for (index, statement) in step.statements.iter().enumerate() {
        if let Some(Err(e)) = replies.next() {
            return Verdict::Failed(statement_failed(step, index, statement, e));
        }
    }
    for change in &windowed.changes {
        if let Some(Err(e)) = replies.next() {
            return Verdict::Failed(change.failure(step, e));
        }
    }
    // The history row, the mark, then COMMIT (which can fail on a deferred
    // constraint).
    for reply in replies {
        if let Err(e) = reply {
            return Verdict::Failed(in_step(step, e));
        }
    }
    Verdict::Committed
}

/// Returns the error of a step whose statement `index` (0-based) failed in
/// its transaction, which rolled back with it.
fn statement_failed(
    step: &Step,
    index: usize,
    statement: &rev_sql::Statement,
    error: &tokio_postgres::Error,
) -> DbError {
    DbError::Statement {
        revision: step.revision.clone(),
        direction: step.direction.as_str(),
        index: index + 1,
        sql: statement.sql.clone(),
        message: pg_message(error),
        partially_applied: false,
    }
}

/// Returns an error of a step's bookkeeping (BEGIN, the version and history
/// rows, COMMIT, or a lost connection), naming the step.
fn in_step(step: &Step, error: &tokio_postgres::Error) -> DbError {
    DbError::Other(format!(
        "revision {} ({}): {}",
        step.revision,
        step.direction.as_str(),
        pg_message(error)
    ))
}

fn other_ref(error: &tokio_postgres::Error) -> DbError {
    DbError::Other(pg_message(error))
}

impl Backend for PostgresBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn lock(&mut self, timeout: Duration) -> Result<(), DbError> {
        if self.locked {
            return Ok(());
        }
        let client = &self.client;
        let key = self.lock_key;
        self.runtime.block_on(async {
            let started = Instant::now();
            loop {
                let row = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .await
                    .map_err(other)?;
                if row.try_get::<_, bool>(0).map_err(other)? {
                    return Ok(());
                }
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(DbError::LockTimeout(timeout));
                }
                tokio::time::sleep(LOCK_POLL.min(timeout - waited)).await;
            }
        })?;
        self.locked = true;
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        if !self.locked {
            return Ok(());
        }
        let client = &self.client;
        let key = self.lock_key;
        let released = self.runtime.block_on(async {
            let row = client
                .query_one("SELECT pg_advisory_unlock($1)", &[&key])
                .await
                .map_err(other)?;
            row.try_get::<_, bool>(0).map_err(other)
        })?;
        self.locked = false;
        if released {
            Ok(())
        } else {
            Err(DbError::Other(
                "the PostgreSQL advisory lock was not held when rev released it".to_owned(),
            ))
        }
    }

    fn ensure_tables(&mut self, tables: &Tables) -> Result<(), DbError> {
        let schema = tables.schema.as_deref();
        let statements: Vec<_> = self
            .dialect
            .create_version_table(schema, &tables.version)
            .into_iter()
            .chain(self.dialect.create_history_table(schema, &tables.history))
            .collect();
        let client = &self.client;
        self.runtime.block_on(async {
            for statement in &statements {
                client.batch_execute(&statement.sql).await.map_err(other)?;
            }
            Ok(())
        })
    }

    fn ensure_journal(&mut self, tables: &Tables) -> Result<(), DbError> {
        let sql = journal::create_sql(&self.dialect, tables);
        PgExec {
            runtime: &self.runtime,
            client: &mut self.client,
        }
        .alone(&sql)
        .map_err(|e| DbError::Other(format!("cannot create the journal table: {e}")))
    }

    fn current_heads(&mut self, tables: &Tables) -> Result<Vec<String>, DbError> {
        let table = self.version_table(tables);
        if !self.table_exists(&table)? {
            return Ok(Vec::new());
        }
        let client = &self.client;
        let mut heads = self.runtime.block_on(async {
            let rows = client
                .query(&format!("SELECT \"version_num\" FROM {table}"), &[])
                .await
                .map_err(other)?;
            rows.iter()
                .map(|row| row.try_get::<_, String>(0).map_err(other))
                .collect::<Result<Vec<_>, _>>()
        })?;
        heads.sort();
        Ok(heads)
    }

    fn applied_checksums(&mut self, tables: &Tables) -> Result<Vec<(String, String)>, DbError> {
        let table = self.history_table(tables);
        if !self.table_exists(&table)? {
            return Ok(Vec::new());
        }
        let client = &self.client;
        let rows = self.runtime.block_on(async {
            let rows = client
                .query(
                    &format!(
                        "SELECT \"revision\", \"direction\", \"checksum\" FROM {table} ORDER BY \"id\""
                    ),
                    &[],
                )
                .await
                .map_err(other)?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get::<_, String>(0).map_err(other)?,
                        row.try_get::<_, String>(1).map_err(other)?,
                        row.try_get::<_, String>(2).map_err(other)?,
                    ))
                })
                .collect::<Result<Vec<_>, DbError>>()
        })?;
        Ok(last_applied(rows))
    }

    fn introspect(&mut self, tables: &Tables) -> Result<rev_schema::Schema, DbError> {
        crate::introspect::postgres::read(&self.runtime, &self.client, tables)
    }

    fn journal(&mut self, tables: &Tables) -> Result<Vec<journal::Entry>, DbError> {
        let table = self
            .dialect
            .qualified(tables.schema.as_deref(), &journal::table_name(tables));
        if !self.table_exists(&table)? {
            return Ok(Vec::new());
        }
        let mut exec = PgExec {
            runtime: &self.runtime,
            client: &mut self.client,
        };
        journal::read(&mut exec, &Postgres, tables)
    }

    fn settle_journal(
        &mut self,
        tables: &Tables,
        entry: &journal::Entry,
        step: &Step,
        applied: bool,
    ) -> Result<(), DbError> {
        let bound = journal::settle(&Postgres, tables, entry, step, applied);
        PgExec {
            runtime: &self.runtime,
            client: &mut self.client,
        }
        .journal(&bound)
        .map_err(DbError::Other)
    }

    fn run_steps(
        &mut self,
        tables: &Tables,
        steps: &[Step],
        committed: &mut dyn FnMut(usize),
    ) -> Result<(), StepFailure> {
        let mut start = 0;
        while let Some(rest) = steps.get(start..).filter(|rest| !rest.is_empty()) {
            // A step that commits statement by statement goes alone.
            let windowable = rest
                .iter()
                .take_while(|step| step.transactional && !journal::journalled(&self.dialect, step))
                .count();
            if windowable < 2 {
                crate::run_alone(self, tables, steps, start, committed)?;
                start += 1;
                continue;
            }
            let sent = rest.get(..windowable).unwrap_or_default();
            let mut windowed = Vec::with_capacity(sent.len());
            let mut guard = None;
            for (offset, step) in sent.iter().enumerate() {
                let changes: Vec<Change> = step
                    .version_changes()
                    .into_iter()
                    .map(|change| Change::new(change, tables))
                    .collect();
                let values = changes
                    .iter()
                    .map(|c| c.change.params().into_iter().map(str::to_owned).collect())
                    .collect();
                let mark = (offset + 1 < sent.len()).then(|| {
                    self.token += 1;
                    self.token.to_string()
                });
                windowed.push(Windowed {
                    step,
                    changes,
                    values,
                    guard: guard.take(),
                    mark: mark.clone(),
                });
                guard = mark;
            }
            let history_table = self.history_table(tables);
            let client = &self.client;
            let (done, ended) =
                self.runtime
                    .block_on(window(client, &history_table, &windowed, &mut |offset| {
                        committed(start + offset)
                    }));
            match ended {
                None | Some(Verdict::Committed) => {}
                Some(Verdict::Failed(error)) => {
                    return Err(StepFailure {
                        index: start + done,
                        error,
                    })
                }
                Some(Verdict::Skipped) => {
                    // The step before committed, yet its token did not last
                    // (a pooler that hands each transaction another session):
                    // the rest of the window goes one step at a time.
                    for index in start + done..start + windowable {
                        crate::run_alone(self, tables, steps, index, committed)?;
                    }
                }
            }
            start += windowable;
        }
        Ok(())
    }

    fn run_step(&mut self, tables: &Tables, step: &Step) -> Result<(), DbError> {
        let history_table = self.history_table(tables);
        let closing = journal::journalled(&self.dialect, step)
            .then(|| journal::finish(&self.dialect, tables, step));
        if !step.transactional {
            // Statements such as CREATE INDEX CONCURRENTLY refuse a
            // transaction: each commits on its own, journalled, so that a run
            // killed part-way is resumed where it stopped.
            let started = Instant::now();
            let mut exec = PgExec {
                runtime: &self.runtime,
                client: &mut self.client,
            };
            journal::run(&mut exec, &self.dialect, tables, step)?;
            let before_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            let client = &self.client;
            return self.runtime.block_on(async {
                transaction(
                    client,
                    &history_table,
                    tables,
                    step,
                    false,
                    before_ms,
                    closing.as_ref(),
                )
                .await
                .map_err(|e| note_kept_statements(e, step, true))
            });
        }
        let client = &self.client;
        self.runtime.block_on(async {
            transaction(
                client,
                &history_table,
                tables,
                step,
                true,
                0,
                closing.as_ref(),
            )
            .await
        })
    }
}

/// Returns text values as the driver binds them.
fn pg_params(params: &[String]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// The PostgreSQL side of the journalled loop (see [`journal::Exec`]).
struct PgExec<'a> {
    runtime: &'a Runtime,
    client: &'a mut Client,
}

impl journal::Exec for PgExec<'_> {
    fn alone(&mut self, sql: &str) -> Result<(), String> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| pg_message(&e))
    }

    fn with_journal(
        &mut self,
        statement: Option<&str>,
        journal: &journal::Bound,
    ) -> Result<(), String> {
        let client = &mut *self.client;
        self.runtime.block_on(async {
            let tx = client.transaction().await.map_err(|e| pg_message(&e))?;
            if let Some(sql) = statement {
                tx.batch_execute(sql).await.map_err(|e| pg_message(&e))?;
            }
            tx.execute(&journal.sql, &pg_params(&journal.params))
                .await
                .map_err(|e| pg_message(&e))?;
            tx.commit().await.map_err(|e| pg_message(&e))
        })
    }

    fn journal(&mut self, journal: &journal::Bound) -> Result<(), String> {
        // Outside a transaction block the one statement commits alone, in
        // one round trip.
        let client = &*self.client;
        self.runtime
            .block_on(client.execute(&journal.sql, &pg_params(&journal.params)))
            .map(drop)
            .map_err(|e| pg_message(&e))
    }

    fn read(&mut self, sql: &str) -> Result<Vec<journal::Entry>, String> {
        let client = &*self.client;
        self.runtime.block_on(async {
            let rows = client.query(sql, &[]).await.map_err(|e| pg_message(&e))?;
            let count = |n: Option<i32>| n.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            rows.iter()
                .map(|row| {
                    Ok(journal::Entry {
                        revision: row.try_get(0)?,
                        direction: row.try_get(1)?,
                        done: count(row.try_get(2)?).unwrap_or(0),
                        running: count(row.try_get(3)?),
                        prefix: row.try_get(4)?,
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(|e| pg_message(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ_per_version_table() {
        assert_eq!(lock_key("rev_version"), lock_key("rev_version"));
        assert_ne!(lock_key("rev_version"), lock_key("alembic_version"));
        // Pinned: a key that changed between releases would let an old and a
        // new rev run side by side.
        // (FNV-1a of "rev:rev_version", computed independently.)
        assert_eq!(lock_key("rev_version"), -6_974_551_163_831_350_334);
    }

    #[test]
    fn descriptions_leave_out_the_password() {
        let config = Config::from_str("postgres://rev:s3cret@db.example:6543/app").unwrap();
        assert_eq!(describe(&config), "postgres://rev@db.example:6543/app");
        let config = Config::from_str("host=h user=u password=s3cret dbname=d").unwrap();
        assert_eq!(describe(&config), "postgres://u@h:5432/d");
    }
}
