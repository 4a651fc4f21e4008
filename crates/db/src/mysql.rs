//! The MySQL and MariaDB backend, over mysql_async on a current-thread runtime.
//!
//! MySQL commits DDL implicitly, so a migration's statements cannot be rolled
//! back together: they run one by one through the journal (see
//! [`crate::journal`]), then the version-table change, the history row and the
//! journal's removal commit in one transaction. A run killed part-way is
//! resumed by the next one where it stopped.
//!
//! TLS follows the MySQL client's `ssl-mode`: `DISABLED`; `PREFERRED` (the
//! default), TLS when it can be had, else plain text; `REQUIRED`, TLS with any
//! certificate; `VERIFY_IDENTITY`, TLS with the chain checked against `ssl-ca`
//! (a PEM file; the built-in public roots when none is given) and the host
//! name. `ssl-ca` with another mode is refused rather than left unused. `VERIFY_CA` is refused: the driver (mysql_async 0.37.1) cannot check
//! a chain without the name.

use std::fmt;
use std::time::{Duration, Instant};

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Opts, OptsBuilder, Row, SslOpts, TxOpts, Value};
use rev_sql::mysql::Mysql;
use rev_sql::Dialect;
use tokio::runtime::Runtime;

use crate::connstr::{self, percent_decode};
use crate::journal::{self, Exec as _};
use crate::shared::{last_applied, note_kept_statements};
use crate::{Backend, DbError, Step, StepFailure, Tables};

mod batch;

/// MySQL's error number for a duplicate key.
const ER_DUP_ENTRY: u16 = 1062;

/// MySQL's error number for NULL in a NOT NULL column: a batch's check
/// refused a row (see [`batch`]).
const ER_BAD_NULL_ERROR: u16 = 1048;

/// The version table whose name the lock name is derived from when no other
/// name is given (see [`MysqlBackend::with_lock_name`]).
const DEFAULT_LOCK_NAME: &str = "rev_version";

/// Connects to the MySQL or MariaDB database named by `url`
/// (`mysql://user:pass@host:port/db`; `mariadb://` is accepted too).
pub fn connect(url: &str) -> Result<Box<dyn Backend>, DbError> {
    Ok(Box::new(MysqlBackend::connect(url)?))
}

/// A live MySQL or MariaDB connection that runs migrations.
pub struct MysqlBackend {
    runtime: Runtime,
    /// Always `Some` until the backend is dropped.
    conn: Option<Conn>,
    dialect: Mysql,
    target: String,
    lock_name: String,
    locked: bool,
}

impl fmt::Debug for MysqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlBackend")
            .field("target", &self.target)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

/// The MySQL client's `--ssl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it and the handshake succeeds, else plain
    /// text; any certificate accepted (the default).
    Preferred,
    /// TLS or no connection; any certificate accepted.
    Required,
    /// TLS with the chain checked but not the host name: refused (see the module doc).
    VerifyCa,
    /// TLS with the chain and the host name checked.
    VerifyIdentity,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, DbError> {
        Ok(
            match value.to_ascii_uppercase().replace('-', "_").as_str() {
                "DISABLED" => SslMode::Disabled,
                "PREFERRED" => SslMode::Preferred,
                "REQUIRED" => SslMode::Required,
                "VERIFY_CA" => SslMode::VerifyCa,
                "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
                _ => {
                    return Err(DbError::InvalidUrl(
                        "mysql URL: ssl-mode must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA \
                         or VERIFY_IDENTITY"
                            .to_owned(),
                    ))
                }
            },
        )
    }

    /// Returns the MySQL client's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// A MySQL/MariaDB URL as rev reads it: the driver's options without TLS,
/// and the TLS settings that rev turns into the driver's.
pub struct MysqlSettings {
    /// The driver's options, TLS left out.
    pub opts: Opts,
    /// The `ssl-mode` asked for.
    pub ssl_mode: SslMode,
    /// The `ssl-ca` file given.
    pub ssl_ca: Option<std::path::PathBuf>,
    /// The password as written and as decoded, to scrub from driver messages.
    secrets: Vec<String>,
}

impl fmt::Debug for MysqlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlSettings")
            .field("target", &describe(&self.opts))
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_ca", &self.ssl_ca)
            .finish_non_exhaustive()
    }
}

impl MysqlSettings {
    /// Reads a `mysql://` or `mariadb://` URL, whose password may hold `@`,
    /// `:`, `/`, `?` or `#` unescaped.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        let parts = connstr::split_url(url)
            .filter(|parts| {
                matches!(
                    parts.scheme.to_ascii_lowercase().as_str(),
                    "mysql" | "mariadb"
                )
            })
            .ok_or_else(|| {
                DbError::InvalidUrl("a MySQL URL starts with mysql:// or mariadb://".to_owned())
            })?;
        let mut secrets = Vec::new();
        let user = match parts.user.filter(|user| !user.is_empty()) {
            Some(user) => Some(percent_decode(user, "the user")?),
            None => None,
        };
        let password = match parts.password {
            Some(password) => {
                secrets.push(password.to_owned());
                let decoded = percent_decode(password, "the password")?;
                secrets.push(decoded.clone());
                Some(decoded)
            }
            None => None,
        };
        if parts.hosts.contains(',') {
            return Err(DbError::InvalidUrl(
                "mysql URL: name one host (mysql://user@host:3306/db)".to_owned(),
            ));
        }
        let (host, port) = connstr::split_host_port(parts.hosts)?;
        let database = percent_decode(
            parts.path.unwrap_or_default().trim_end_matches('/'),
            "the database",
        )?;
        let mut ssl_mode = SslMode::Preferred;
        let mut ssl_ca = None;
        let mut driver_query = Vec::new();
        for (raw_key, raw_value) in &parts.query {
            let key = percent_decode(raw_key, "a query key")?;
            let value = || percent_decode(raw_value, &format!("the value of `{key}`"));
            match key.to_ascii_lowercase().replace('_', "-").as_str() {
                "ssl-mode" | "sslmode" => ssl_mode = SslMode::parse(&value()?)?,
                "ssl-ca" | "sslca" => ssl_ca = Some(std::path::PathBuf::from(value()?)),
                "require-ssl" | "verify-ca" | "verify-identity" | "built-in-roots" => {
                    return Err(DbError::InvalidUrl(format!(
                        "mysql URL: use ssl-mode=REQUIRED|VERIFY_IDENTITY and ssl-ca=<file> \
                         instead of `{key}`"
                    )))
                }
                _ if connstr::is_password_key(&key) => {
                    return Err(DbError::InvalidUrl(
                        "mysql URL: give the password in the URL (mysql://user:password@host/db), \
                         not as a parameter"
                            .to_owned(),
                    ))
                }
                _ => driver_query.push(format!("{raw_key}={raw_value}")),
            }
        }
        if ssl_ca.is_some() && ssl_mode != SslMode::VerifyIdentity {
            // The MySQL client takes a CA without a mode for VERIFY_CA, which
            // rev cannot do; a CA that checks nothing would only mislead.
            return Err(DbError::InvalidUrl(format!(
                "mysql URL: ssl-ca is used by ssl-mode=VERIFY_IDENTITY only, and ssl-mode is \
                 {}: add ssl-mode=VERIFY_IDENTITY, or leave out ssl-ca",
                ssl_mode.as_str()
            )));
        }
        if ssl_mode == SslMode::VerifyCa {
            return Err(DbError::InvalidUrl(
                "mysql URL: ssl-mode=VERIFY_CA is not available: the MySQL driver rev uses \
                 cannot check a certificate chain without its host name; use \
                 ssl-mode=VERIFY_IDENTITY (connecting by a name the certificate holds) or \
                 ssl-mode=REQUIRED"
                    .to_owned(),
            ));
        }
        // The driver reads everything but the credentials and the database
        // from a URL of its own, so that no message of its can quote them.
        let host = if host.is_empty() {
            "127.0.0.1".to_owned()
        } else {
            host
        };
        let host_for_url = if host.contains(':') {
            format!("[{host}]")
        } else {
            connstr::percent_encode(&host)
        };
        let mut driver_url = format!("mysql://{host_for_url}:{}/", port.unwrap_or(3306));
        if !driver_query.is_empty() {
            driver_url.push('?');
            driver_url.push_str(&driver_query.join("&"));
        }
        let scrub = |message: String| {
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            connstr::scrub(message, &secrets, "****")
        };
        let opts = Opts::from_url(&driver_url)
            .map_err(|e| DbError::InvalidUrl(scrub(format!("mysql URL: {e}"))))?;
        let opts = OptsBuilder::from_opts(opts)
            .user(user)
            .pass(password)
            .db_name((!database.is_empty()).then_some(database))
            .into();
        Ok(MysqlSettings {
            opts,
            ssl_mode,
            ssl_ca,
            secrets,
        })
    }

    /// Returns the driver's TLS options for the mode, None for no TLS; the
    /// `ssl-ca` file is read here, so that a missing file is named.
    pub fn ssl_opts(&self) -> Result<Option<SslOpts>, String> {
        let opts = match self.ssl_mode {
            SslMode::Disabled => return Ok(None),
            SslMode::Preferred | SslMode::Required => SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
            SslMode::VerifyCa | SslMode::VerifyIdentity => SslOpts::default(),
        };
        let opts = match &self.ssl_ca {
            Some(path) => {
                crate::tls::read_pem_certificates(path)?;
                let pem = std::fs::read(path).map_err(|e| {
                    format!(
                        "cannot read the root certificate file {}: {e}",
                        path.display()
                    )
                })?;
                opts.with_root_certs(vec![pem.into()])
                    .with_disable_built_in_roots(true)
            }
            None => opts,
        };
        Ok(Some(opts))
    }

    fn scrub(&self, message: String) -> String {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        connstr::scrub(message, &secrets, "****")
    }

    /// Returns why connecting failed, in words that say what to change when
    /// TLS was the cause.
    fn explain(&self, error: &mysql_async::Error) -> String {
        let mode = self.ssl_mode.as_str();
        if matches!(
            error,
            mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
        ) {
            return format!(
                "the server does not offer TLS, and ssl-mode={mode} requires it: turn TLS on in \
                 the server (ssl_cert, ssl_key), or use ssl-mode=PREFERRED or ssl-mode=DISABLED"
            );
        }
        if let Some(failure) = crate::tls::failure(error) {
            let why = failure.describe(
                "use ssl-mode=REQUIRED, which checks no certificate",
                "ssl-ca",
            );
            let roots = match &self.ssl_ca {
                Some(path) => format!("the roots in {}", path.display()),
                None => "the built-in public roots".to_owned(),
            };
            return match self.ssl_mode {
                SslMode::VerifyIdentity => {
                    format!("{why} (ssl-mode={mode}, checked against {roots})")
                }
                _ => format!("{why} (ssl-mode={mode})"),
            };
        }
        my_message(error)
    }
}

/// Returns whether connecting failed for want of TLS (the server offers
/// none, or the handshake failed), so that `PREFERRED` may go on in plain text.
fn is_tls_failure(error: &mysql_async::Error) -> bool {
    matches!(
        error,
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
            | mysql_async::Error::Io(mysql_async::IoError::Tls(_))
    ) || crate::tls::failure(error).is_some()
}

/// Returns `user@host:port/db` for messages: never the password.
fn describe(opts: &Opts) -> String {
    let user = opts.user().map(|u| format!("{u}@")).unwrap_or_default();
    format!(
        "mysql://{user}{}:{}/{}",
        opts.ip_or_hostname(),
        opts.tcp_port(),
        opts.db_name().unwrap_or_default()
    )
}

/// Returns the server's message with its error number and SQLSTATE.
fn my_message(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Server(server) => format!(
            "ERROR {} ({}): {}",
            server.code, server.state, server.message
        ),
        other => other.to_string(),
    }
}

fn other(error: mysql_async::Error) -> DbError {
    DbError::Other(my_message(&error))
}

fn is_duplicate(error: &mysql_async::Error) -> bool {
    matches!(error, mysql_async::Error::Server(server) if server.code == ER_DUP_ENTRY)
}

/// Reads one cell, failing instead of panicking on an unexpected value.
fn cell<T: FromValue>(row: &Row, index: usize) -> Result<T, DbError> {
    match row.get_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(DbError::Other(format!(
            "unexpected value in column {index} of a MySQL reply: {e}"
        ))),
        None => Err(DbError::Other(format!(
            "a MySQL reply has no column {index}"
        ))),
    }
}

impl MysqlBackend {
    /// Connects to the MySQL or MariaDB database named by `url`.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let settings = MysqlSettings::parse(url)?;
        let target = describe(&settings.opts);
        if settings.opts.db_name().is_none() {
            return Err(DbError::InvalidUrl(format!(
                "{target}: the URL must name a database (mysql://user@host/db)"
            )));
        }
        let connect_error = |message: String| DbError::Connect {
            target: target.clone(),
            message: settings.scrub(message),
        };
        let ssl_opts = settings.ssl_opts().map_err(&connect_error)?;
        // Found rows, not changed rows, so that an UPDATE's count says whether
        // it matched the one version row it must touch.
        let plain = OptsBuilder::from_opts(settings.opts.clone()).client_found_rows(true);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| DbError::Other(format!("cannot start the async runtime: {e}")))?;
        let conn = match ssl_opts {
            None => runtime.block_on(Conn::new(plain)),
            Some(ssl_opts) => {
                // The TLS connection itself, not the Unix socket the driver
                // would otherwise move to on this machine.
                let secure = plain.clone().ssl_opts(ssl_opts).prefer_socket(false);
                match runtime.block_on(Conn::new(secure)) {
                    Err(e) if settings.ssl_mode == SslMode::Preferred && is_tls_failure(&e) => {
                        runtime.block_on(Conn::new(plain))
                    }
                    other => other,
                }
            }
        }
        .map_err(|e| connect_error(settings.explain(&e)))?;
        Ok(MysqlBackend {
            runtime,
            conn: Some(conn),
            dialect: Mysql,
            target,
            lock_name: DEFAULT_LOCK_NAME.to_owned(),
            locked: false,
        })
    }

    /// Returns this backend with its GET_LOCK name derived from
    /// `version_table`, so that projects with different version tables in one
    /// database do not wait for each other.
    pub fn with_lock_name(mut self, version_table: &str) -> Self {
        version_table.clone_into(&mut self.lock_name);
        self
    }

    /// Returns the server and database this backend talks to, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Splits the backend into its runtime and its connection.
    fn parts(&mut self) -> Result<(&Runtime, &mut Conn), DbError> {
        match self.conn.as_mut() {
            Some(conn) => Ok((&self.runtime, conn)),
            None => Err(DbError::Other("the MySQL connection is closed".to_owned())),
        }
    }

    fn version_table(&self, tables: &Tables) -> String {
        self.dialect
            .qualified(tables.schema.as_deref(), &tables.version)
    }

    fn history_table(&self, tables: &Tables) -> String {
        self.dialect
            .qualified(tables.schema.as_deref(), &tables.history)
    }

    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let params = vec![schema.map_or(Value::NULL, Value::from), Value::from(table)];
        let (runtime, conn) = self.parts()?;
        runtime.block_on(async {
            let row: Option<Row> = conn
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?",
                    params,
                )
                .await
                .map_err(other)?;
            match row {
                Some(row) => Ok(cell::<i64>(&row, 0)? > 0),
                None => Ok(false),
            }
        })
    }
}

impl MysqlBackend {
    /// Cleans up after statement `part` of `step` failed in a batch and
    /// returns the step's error, as the statement-by-statement path would
    /// have it; None when the batch's first check refused the step before
    /// anything of it ran.
    fn batch_failed(
        &mut self,
        tables: &Tables,
        step: &Step,
        part: batch::Part,
        error: &mysql_async::Error,
    ) -> Option<DbError> {
        use batch::Part;
        let refused = matches!(
            error,
            mysql_async::Error::Server(e) if e.code == ER_BAD_NULL_ERROR || e.code == ER_DUP_ENTRY
        );
        if part == Part::Open && refused {
            return None;
        }
        let counts = match part {
            Part::History if refused => batch::counts_sql(step.version_changes().len()),
            _ => None,
        };
        // A DDL statement that failed did not take effect: the journal says
        // so, and a rerun starts with it again without asking.
        let settle = match part {
            Part::Statement(index)
                if !step
                    .statements
                    .get(index)
                    .is_some_and(|s| journal::is_data(&s.sql)) =>
            {
                let before = journal::prefix_hash(step.statements.get(..index).unwrap_or(&[]));
                Some(journal::progress(
                    &Mysql,
                    tables,
                    &step.revision,
                    step.direction.as_str(),
                    index,
                    None,
                    &before,
                ))
            }
            _ => None,
        };
        let mut message = my_message(error);
        let (runtime, conn) = match self.parts() {
            Ok(parts) => parts,
            Err(e) => return Some(DbError::Other(format!("{message}; {e}"))),
        };
        let (cleanup, counts) = runtime.block_on(async {
            if let Err(e) = conn.query_drop("ROLLBACK").await {
                return (Some(e), None);
            }
            if let Some(settle) = settle {
                if let Err(e) = conn.exec_drop(&settle.sql, settle.params).await {
                    return (Some(e), None);
                }
            }
            match counts {
                Some(sql) => (None, conn.query_first::<Row, _>(sql).await.ok().flatten()),
                None => (None, None),
            }
        });
        if let Some(e) = cleanup {
            message.push_str(&format!("; then cleaning up failed: {}", my_message(&e)));
        }
        let error = match part {
            Part::Statement(index) => journal::statement_failed(tables, step, index, message),
            Part::Progress(index) => journal::statement_failed(tables, step, index, message),
            Part::Change(index) if is_duplicate(error) => match step.version_changes().get(index) {
                Some(change) => DbError::VersionMismatch {
                    revision: step.revision.clone(),
                    message: change.already_present(),
                },
                None => DbError::Other(message),
            },
            Part::History if refused => {
                let touched = counts.and_then(|row| {
                    step.version_changes()
                        .iter()
                        .enumerate()
                        .find_map(|(i, change)| {
                            let n = row.get_opt::<Option<u64>, _>(i)?.ok()??;
                            change.wrong_row_count(n)
                        })
                });
                match touched {
                    Some(message) => DbError::VersionMismatch {
                        revision: step.revision.clone(),
                        message,
                    },
                    None => DbError::Other(format!("revision {}: {message}", step.revision)),
                }
            }
            _ => DbError::Other(format!(
                "revision {} ({}): {message}",
                step.revision,
                step.direction.as_str()
            )),
        };
        Some(note_kept_statements(error, step, true))
    }
}

impl Drop for MysqlBackend {
    fn drop(&mut self) {
        // A clean COM_QUIT frees the server's session (and its named lock) at
        // once; inside another runtime block_on would panic, and the driver's
        // own drop then closes the socket instead.
        if let Some(conn) = self.conn.take() {
            if tokio::runtime::Handle::try_current().is_err() {
                let _ = self.runtime.block_on(conn.disconnect());
            }
        }
    }
}

/// Applies the step's version-table changes (the one rule of
/// [`Step::version_changes`]); each must touch exactly one row.
async fn change_versions(
    tx: &mut mysql_async::Transaction<'_>,
    tables: &Tables,
    step: &Step,
) -> Result<(), DbError> {
    let mismatch = |message: String| DbError::VersionMismatch {
        revision: step.revision.clone(),
        message,
    };
    for change in step.version_changes() {
        let sql = change.sql(&Mysql, tables);
        let params: Vec<Value> = change.params().into_iter().map(Value::from).collect();
        match tx.exec_drop(sql, params).await {
            Ok(()) => {
                if let Some(message) = change.wrong_row_count(tx.affected_rows()) {
                    return Err(mismatch(message));
                }
            }
            Err(e) if is_duplicate(&e) => return Err(mismatch(change.already_present())),
            Err(e) => return Err(other(e)),
        }
    }
    Ok(())
}

/// Records the step in the history table; started_at is now less the duration.
async fn record_history(
    tx: &mut mysql_async::Transaction<'_>,
    history_table: &str,
    step: &Step,
    started: Instant,
) -> Result<(), DbError> {
    let micros = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    let sql = format!(
        "INSERT INTO {history_table} (`revision`, `direction`, `checksum`, `started_at`, \
         `duration_ms`, `applied_by`) VALUES (?, ?, ?, \
         TIMESTAMPADD(MICROSECOND, -?, NOW(6)), ?, LEFT(CURRENT_USER(), 128))"
    );
    tx.exec_drop(
        sql,
        (
            step.revision.as_str(),
            step.direction.as_str(),
            step.checksum.as_str(),
            micros,
            micros / 1000,
        ),
    )
    .await
    .map_err(other)
}

/// Returns the version rows a step's statements may run against: each row
/// it removes, expected once, and each it adds (and does not also remove),
/// expected absent.
fn expected_versions(step: &Step) -> impl Iterator<Item = (&String, i64)> + '_ {
    step.delete_versions.iter().map(|v| (v, 1)).chain(
        step.insert_versions
            .iter()
            .filter(|v| !step.delete_versions.contains(v))
            .map(|v| (v, 0)),
    )
}

/// Checks, before any statement runs, that the version rows to remove are
/// there and the ones to add are not, since MySQL cannot undo the DDL later.
async fn check_versions(conn: &mut Conn, version_table: &str, step: &Step) -> Result<(), DbError> {
    let sql = format!("SELECT COUNT(*) FROM {version_table} WHERE `version_num` = ?");
    for (version, expected) in expected_versions(step) {
        let row: Option<Row> = conn
            .exec_first(&sql, (version.as_str(),))
            .await
            .map_err(other)?;
        let found = match row {
            Some(row) => cell::<i64>(&row, 0)?,
            None => 0,
        };
        if found != expected {
            let message = if expected == 1 {
                format!("expected the version row `{version}`, found none; no statement ran")
            } else {
                format!("`{version}` is already in the version table; no statement ran")
            };
            return Err(DbError::VersionMismatch {
                revision: step.revision.clone(),
                message,
            });
        }
    }
    Ok(())
}

impl Backend for MysqlBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn lock(&mut self, timeout: Duration) -> Result<(), DbError> {
        if self.locked {
            return Ok(());
        }
        // GET_LOCK names are server-wide, so the name carries the database;
        // hashed, since a lock name is limited to 64 characters.
        let params = (format!(".{}", self.lock_name), timeout.as_secs_f64());
        let (runtime, conn) = self.parts()?;
        let got = runtime.block_on(async {
            let row: Option<Row> = conn
                .exec_first(
                    "SELECT GET_LOCK(CONCAT('rev_', MD5(CONCAT(DATABASE(), ?))), ?)",
                    params,
                )
                .await
                .map_err(other)?;
            match row {
                Some(row) => cell::<Option<i64>>(&row, 0),
                None => Ok(None),
            }
        })?;
        match got {
            Some(1) => {
                self.locked = true;
                Ok(())
            }
            Some(_) => Err(DbError::LockTimeout(timeout)),
            None => Err(DbError::Other(
                "GET_LOCK failed (the server returned NULL: out of memory or the thread was killed)"
                    .to_owned(),
            )),
        }
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        if !self.locked {
            return Ok(());
        }
        let name = format!(".{}", self.lock_name);
        let (runtime, conn) = self.parts()?;
        let released = runtime.block_on(async {
            let row: Option<Row> = conn
                .exec_first(
                    "SELECT RELEASE_LOCK(CONCAT('rev_', MD5(CONCAT(DATABASE(), ?))))",
                    (name,),
                )
                .await
                .map_err(other)?;
            match row {
                Some(row) => cell::<Option<i64>>(&row, 0),
                None => Ok(None),
            }
        })?;
        self.locked = false;
        match released {
            Some(1) => Ok(()),
            _ => Err(DbError::Other(
                "the MySQL named lock was not held when rev released it".to_owned(),
            )),
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
        let (runtime, conn) = self.parts()?;
        runtime.block_on(async {
            for statement in &statements {
                conn.query_drop(&statement.sql).await.map_err(other)?;
            }
            Ok(())
        })
    }

    fn ensure_journal(&mut self, tables: &Tables) -> Result<(), DbError> {
        let sql = journal::create_sql(&Mysql, tables);
        let (runtime, conn) = self.parts()?;
        MysqlExec { runtime, conn }
            .alone(&sql)
            .map_err(|e| DbError::Other(format!("cannot create the journal table: {e}")))
    }

    fn current_heads(&mut self, tables: &Tables) -> Result<Vec<String>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &tables.version)? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT `version_num` FROM {}", self.version_table(tables));
        let (runtime, conn) = self.parts()?;
        let mut heads = runtime.block_on(async {
            let rows: Vec<Row> = conn.query(sql).await.map_err(other)?;
            rows.iter()
                .map(|row| cell::<String>(row, 0))
                .collect::<Result<Vec<_>, _>>()
        })?;
        heads.sort();
        Ok(heads)
    }

    fn applied_checksums(&mut self, tables: &Tables) -> Result<Vec<(String, String)>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &tables.history)? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT `revision`, `direction`, `checksum` FROM {} ORDER BY `id`",
            self.history_table(tables)
        );
        let (runtime, conn) = self.parts()?;
        let rows = runtime.block_on(async {
            let rows: Vec<Row> = conn.query(sql).await.map_err(other)?;
            rows.iter()
                .map(|row| Ok((cell(row, 0)?, cell(row, 1)?, cell(row, 2)?)))
                .collect::<Result<Vec<_>, DbError>>()
        })?;
        Ok(last_applied(rows))
    }

    fn introspect(&mut self, tables: &Tables) -> Result<rev_schema::Schema, DbError> {
        let (runtime, conn) = self.parts()?;
        crate::introspect::mysql::read(runtime, conn, tables)
    }

    fn journal(&mut self, tables: &Tables) -> Result<Vec<journal::Entry>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &journal::table_name(tables))? {
            return Ok(Vec::new());
        }
        let (runtime, conn) = self.parts()?;
        journal::read(&mut MysqlExec { runtime, conn }, &Mysql, tables)
    }

    fn settle_journal(
        &mut self,
        tables: &Tables,
        entry: &journal::Entry,
        step: &Step,
        applied: bool,
    ) -> Result<(), DbError> {
        let bound = journal::settle(&Mysql, tables, entry, step, applied);
        let (runtime, conn) = self.parts()?;
        MysqlExec { runtime, conn }
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
            let mut sent = batch::Batch::default();
            let mut taken = 0;
            for step in rest {
                if taken > 0 && sent.sql().len() >= batch::MAX_BATCH_BYTES {
                    break;
                }
                if !sent.add(taken, step, tables) {
                    break;
                }
                taken += 1;
            }
            if taken == 0 {
                // Not plainly batchable: one statement at a time.
                crate::run_alone(self, tables, steps, start, committed)?;
                start += 1;
                continue;
            }
            let (runtime, conn) = self.parts().map_err(|error| StepFailure {
                index: start,
                error,
            })?;
            let outcome = runtime.block_on(batch::send(conn, &sent, &mut |offset| {
                committed(start + offset)
            }));
            let Err((position, error)) = outcome else {
                start += taken;
                continue;
            };
            let (offset, part) = sent.part(position).unwrap_or((0, batch::Part::Setup));
            let index = start + offset;
            let Some(step) = steps.get(index) else {
                return Err(StepFailure {
                    index,
                    error: other(error),
                });
            };
            match self.batch_failed(tables, step, part, &error) {
                // The journal was not empty or the version rows not as
                // planned, and nothing of the step ran: the
                // statement-by-statement path says why, or resumes the
                // journal's step.
                None => {
                    crate::run_alone(self, tables, steps, index, committed)?;
                    start = index + 1;
                }
                Some(error) => return Err(StepFailure { index, error }),
            }
        }
        Ok(())
    }

    fn run_step(&mut self, tables: &Tables, step: &Step) -> Result<(), DbError> {
        let version_table = self.version_table(tables);
        let history_table = self.history_table(tables);
        let (runtime, conn) = self.parts()?;
        let started = Instant::now();
        runtime.block_on(check_versions(conn, &version_table, step))?;
        // MySQL commits DDL at once: the statements run journalled, so that a
        // run killed part-way can be resumed where it stopped.
        journal::run(&mut MysqlExec { runtime, conn }, &Mysql, tables, step)?;
        let closing = journal::finish(&Mysql, tables, step);
        runtime.block_on(async {
            let mut tx = conn
                .start_transaction(TxOpts::default())
                .await
                .map_err(other)?;
            let recorded = match change_versions(&mut tx, tables, step).await {
                Ok(()) => match record_history(&mut tx, &history_table, step, started).await {
                    Ok(()) if !step.statements.is_empty() => tx
                        .exec_drop(&closing.sql, closing.params.clone())
                        .await
                        .map_err(other),
                    other => other,
                },
                Err(e) => Err(e),
            };
            match recorded {
                Ok(()) => tx.commit().await.map_err(other),
                Err(e) => {
                    // The step's own error says more than a failed rollback, and
                    // the server discards an uncommitted transaction anyway.
                    let _ = tx.rollback().await;
                    Err(note_kept_statements(e, step, true))
                }
            }
        })
    }
}

/// The MySQL side of the journalled loop (see [`journal::Exec`]).
struct MysqlExec<'a> {
    runtime: &'a Runtime,
    conn: &'a mut Conn,
}

impl journal::Exec for MysqlExec<'_> {
    fn alone(&mut self, sql: &str) -> Result<(), String> {
        self.runtime
            .block_on(self.conn.query_drop(sql))
            .map_err(|e| my_message(&e))
    }

    fn with_journal(
        &mut self,
        statement: Option<&str>,
        journal: &journal::Bound,
    ) -> Result<(), String> {
        let conn = &mut *self.conn;
        self.runtime.block_on(async {
            let mut tx = conn
                .start_transaction(TxOpts::default())
                .await
                .map_err(|e| my_message(&e))?;
            if let Some(sql) = statement {
                if let Err(e) = tx.query_drop(sql).await {
                    let _ = tx.rollback().await;
                    return Err(my_message(&e));
                }
            }
            if let Err(e) = tx.exec_drop(&journal.sql, journal.params.clone()).await {
                let _ = tx.rollback().await;
                return Err(my_message(&e));
            }
            tx.commit().await.map_err(|e| my_message(&e))
        })
    }

    fn journal(&mut self, journal: &journal::Bound) -> Result<(), String> {
        // Autocommit: the one statement commits alone, in one round trip.
        self.runtime
            .block_on(self.conn.exec_drop(&journal.sql, journal.params.clone()))
            .map_err(|e| my_message(&e))
    }

    fn read(&mut self, sql: &str) -> Result<Vec<journal::Entry>, String> {
        let conn = &mut *self.conn;
        self.runtime.block_on(async {
            let rows: Vec<Row> = conn.query(sql).await.map_err(|e| my_message(&e))?;
            rows.iter()
                .map(|row| {
                    let count = |index| -> Result<Option<usize>, DbError> {
                        Ok(cell::<Option<i64>>(row, index)?
                            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
                    };
                    Ok(journal::Entry {
                        revision: cell(row, 0)?,
                        direction: cell(row, 1)?,
                        done: count(2)?.unwrap_or(0),
                        running: count(3)?,
                        prefix: cell(row, 4)?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()
                .map_err(|e| e.to_string())
        })
    }
}
