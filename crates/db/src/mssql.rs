//! The SQL Server backend, over tiberius (DESIGN.md §6–§7).
//!
//! tiberius is asynchronous; the [`Backend`] trait is not. The backend owns a
//! current-thread tokio runtime and blocks on it inside each trait method, so
//! callers never see async and no thread pool is started.
//!
//! Each statement of a step goes to the server as its own batch, inside one
//! transaction opened with `SET XACT_ABORT ON`; revision ids reach the version
//! and history tables as bound parameters (`@P1`), never as SQL text. A
//! `transactional: false` step runs its statements through the journal
//! ([`crate::journal`]), then its version change in a transaction of its own.

#[path = "mssql_url.rs"]
mod url;

use std::time::{Duration, Instant};

use rev_sql::mssql::Mssql;
use rev_sql::Dialect;
use tiberius::{Client, Config, Row, ToSql};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

pub use url::{
    is_mssql_url, Encrypt, MssqlOptions, Password, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT,
};

use crate::journal::{self, Exec as _};
use crate::{Backend, DbError, Step, Tables};

/// The `sp_getapplock` resource that keeps two rev runners on one database apart.
pub const LOCK_RESOURCE: &str = "rev_migrations";

type Connection = Client<Compat<TcpStream>>;

/// Opens a SQL Server backend from an `mssql://` URL or an ADO.NET string.
pub fn connect(url: &str) -> Result<Box<dyn Backend>, DbError> {
    let options = MssqlOptions::parse(url)?;
    Ok(Box::new(MssqlBackend::connect(&options)?))
}

/// A live SQL Server connection with the runtime that drives it.
pub struct MssqlBackend {
    // Declared before the runtime so that the socket is dropped while its
    // reactor still exists.
    client: Connection,
    runtime: Runtime,
    target: String,
    dialect: Mssql,
    locked: bool,
}

impl std::fmt::Debug for MssqlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MssqlBackend")
            .field("target", &self.target)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

/// Writes a driver error with SQL Server's error number, severity, state,
/// procedure and line when the server sent them.
fn describe(error: &tiberius::error::Error) -> String {
    match error {
        tiberius::error::Error::Server(token) => {
            let mut text = format!(
                "SQL Server error {} (severity {}, state {})",
                token.code(),
                token.class(),
                token.state()
            );
            if !token.procedure().is_empty() {
                text.push_str(&format!(" in {}", token.procedure()));
            }
            text.push_str(&format!(" at line {}: {}", token.line(), token.message()));
            text
        }
        other => other.to_string(),
    }
}

fn other(context: &str, error: &tiberius::error::Error) -> DbError {
    DbError::Other(format!("{context}: {}", describe(error)))
}

/// Connects to `host:port`; the address is given apart from the config
/// because `Config::get_addr` writes IPv6 hosts without brackets.
async fn open(config: Config, host: &str, port: u16) -> tiberius::Result<Connection> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    Client::connect(config, tcp.compat_write()).await
}

/// Connects, following one redirect: Azure SQL answers the login with the
/// address of the node that really serves the database.
async fn open_routed(config: Config, host: &str, port: u16) -> tiberius::Result<Connection> {
    match open(config.clone(), host, port).await {
        Err(tiberius::error::Error::Routing { host, port }) => {
            let mut routed = config;
            routed.host(&host);
            routed.port(port);
            open(routed, &host, port).await
        }
        other => other,
    }
}

/// Runs text as one batch and reads every result, so that an error raised
/// after the first result set is not missed.
async fn batch(client: &mut Connection, sql: &str) -> tiberius::Result<()> {
    client.simple_query(sql).await?.into_results().await?;
    Ok(())
}

/// Runs a parameterised statement and returns how many rows it touched.
async fn execute(
    client: &mut Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> tiberius::Result<u64> {
    Ok(client.execute(sql, params).await?.total())
}

async fn rows(
    client: &mut Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> tiberius::Result<Vec<Row>> {
    client.query(sql, params).await?.into_first_result().await
}

async fn rollback(client: &mut Connection) {
    // The connection may already be gone; the server then rolls back by itself,
    // and the error that got us here is the one worth reporting.
    let _ = batch(client, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION").await;
}

/// Reads a cell as text; rev's tables hold VARCHAR and NVARCHAR values, and
/// integers are written in decimal.
fn cell_text(row: &Row, index: usize) -> Result<Option<String>, DbError> {
    let bad = |e: tiberius::error::Error| other("cannot read a value from SQL Server", &e);
    if let Ok(value) = row.try_get::<&str, _>(index) {
        return Ok(value.map(str::to_owned));
    }
    if let Ok(value) = row.try_get::<i64, _>(index) {
        return Ok(value.map(|v| v.to_string()));
    }
    if let Ok(value) = row.try_get::<i32, _>(index) {
        return Ok(value.map(|v| v.to_string()));
    }
    if let Ok(value) = row.try_get::<i16, _>(index) {
        return Ok(value.map(|v| v.to_string()));
    }
    if let Ok(value) = row.try_get::<u8, _>(index) {
        return Ok(value.map(|v| v.to_string()));
    }
    row.try_get::<bool, _>(index)
        .map(|value| value.map(|v| u8::from(v).to_string()))
        .map_err(bad)
}

fn required_text(row: &Row, index: usize, what: &str) -> Result<String, DbError> {
    cell_text(row, index)?.ok_or_else(|| DbError::Other(format!("{what} is NULL")))
}

/// What a step runs against the version and history tables once its own
/// statements succeeded.
struct Bookkeeping<'a> {
    tables: &'a Tables,
    step: &'a Step,
    dialect: &'a Mssql,
    started: Instant,
    partially_applied: bool,
}

impl Bookkeeping<'_> {
    fn failure(&self, offset: usize, sql: &str, message: String) -> DbError {
        DbError::Statement {
            revision: self.step.revision.clone(),
            direction: self.step.direction.as_str(),
            index: self.step.statements.len() + offset,
            sql: sql.to_owned(),
            message,
            partially_applied: self.partially_applied,
        }
    }

    fn mismatch(&self, message: String) -> DbError {
        DbError::VersionMismatch {
            revision: self.step.revision.clone(),
            message,
        }
    }

    async fn run(&self, client: &mut Connection) -> Result<(), DbError> {
        let schema = self.tables.schema.as_deref();
        let history = self.dialect.qualified(schema, &self.tables.history);
        let mut offset = 0;

        // The one rule of [`Step::version_changes`]: an UPDATE where a row
        // replaces another, DELETEs and INSERTs for the rest.
        for change in self.step.version_changes() {
            offset += 1;
            let sql = change.sql(self.dialect, self.tables);
            let values = change.params();
            let params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
            let touched = match execute(client, &sql, &params).await {
                Ok(touched) => touched,
                // 2627 / 2601: the primary key already holds this revision.
                Err(e) if matches!(e.code(), Some(2627 | 2601)) => {
                    return Err(self.mismatch(change.already_present()))
                }
                Err(e) => return Err(self.failure(offset, &sql, describe(&e))),
            };
            if let Some(message) = change.wrong_row_count(touched) {
                return Err(self.mismatch(message));
            }
        }

        offset += 1;
        let record = format!(
            "INSERT INTO {history} \
             ([revision], [direction], [checksum], [started_at], [duration_ms], [applied_by]) \
             VALUES (@P1, @P2, @P3, DATEADD(MILLISECOND, -@P4, SYSUTCDATETIME()), @P5, SUSER_SNAME())"
        );
        let elapsed = self.started.elapsed().as_millis();
        let elapsed_int = i32::try_from(elapsed).unwrap_or(i32::MAX);
        let elapsed_big = i64::try_from(elapsed).unwrap_or(i64::MAX);
        let params: [&dyn ToSql; 5] = [
            &self.step.revision.as_str(),
            &self.step.direction.as_str(),
            &self.step.checksum.as_str(),
            &elapsed_int,
            &elapsed_big,
        ];
        execute(client, &record, &params)
            .await
            .map_err(|e| self.failure(offset, &record, describe(&e)))?;
        Ok(())
    }
}

fn statement_failure(
    step: &Step,
    index: usize,
    error: &tiberius::error::Error,
    partial: bool,
) -> DbError {
    DbError::Statement {
        revision: step.revision.clone(),
        direction: step.direction.as_str(),
        index: index + 1,
        sql: step
            .statements
            .get(index)
            .map(|s| s.sql.clone())
            .unwrap_or_default(),
        message: describe(error),
        partially_applied: partial,
    }
}

async fn run_step(
    client: &mut Connection,
    dialect: &Mssql,
    tables: &Tables,
    step: &Step,
    started: Instant,
) -> Result<(), DbError> {
    let begin = |e: tiberius::error::Error| other("cannot open a transaction", &e);
    // XACT_ABORT makes any error doom the whole transaction, so no statement
    // after a failed one can commit half a migration. NOCOUNT OFF keeps the
    // row counts that the version-table checks read: a server or login whose
    // default options turn NOCOUNT on would report every change as 0 rows.
    batch(client, "SET XACT_ABORT ON; SET NOCOUNT OFF;")
        .await
        .map_err(|e| other("cannot set XACT_ABORT and NOCOUNT", &e))?;

    if step.transactional {
        batch(client, dialect.begin_transaction())
            .await
            .map_err(begin)?;
        let mut outcome = Ok(());
        for (index, statement) in step.statements.iter().enumerate() {
            if let Err(e) = batch(client, &statement.sql).await {
                outcome = Err(statement_failure(step, index, &e, false));
                break;
            }
        }
        if outcome.is_ok() {
            let books = Bookkeeping {
                tables,
                step,
                dialect,
                started,
                partially_applied: false,
            };
            outcome = books.run(client).await;
        }
        if outcome.is_ok() {
            if let Err(e) = batch(client, dialect.commit_transaction()).await {
                outcome = Err(other(
                    &format!("revision {}: COMMIT failed", step.revision),
                    &e,
                ));
            }
        }
        if outcome.is_err() {
            rollback(client).await;
        }
        outcome
    } else {
        // The statements ran journalled (see `Backend::run_step`); the
        // journal row goes with the version change and the history row.
        batch(client, dialect.begin_transaction())
            .await
            .map_err(begin)?;
        let books = Bookkeeping {
            tables,
            step,
            dialect,
            started,
            partially_applied: !step.statements.is_empty(),
        };
        let mut outcome = books.run(client).await;
        if outcome.is_ok() && journal::journalled(dialect, step) {
            let closing = journal::finish(dialect, tables, step);
            if let Err(e) = execute(client, &closing.sql, &text_params(&closing.params)).await {
                outcome = Err(other("cannot close the journal", &e));
            }
        }
        if outcome.is_ok() {
            if let Err(e) = batch(client, dialect.commit_transaction()).await {
                outcome = Err(other(
                    &format!("revision {}: COMMIT failed", step.revision),
                    &e,
                ));
            }
        }
        if outcome.is_err() {
            rollback(client).await;
        }
        outcome
    }
}

impl MssqlBackend {
    /// Connects to the server the options name, within their connect timeout.
    pub fn connect(options: &MssqlOptions) -> Result<Self, DbError> {
        let target = options.target();
        let failed = |message: String| DbError::Connect {
            target: target.clone(),
            message,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| failed(format!("cannot start the I/O runtime: {e}")))?;
        let config = options.to_config();
        let client = runtime.block_on(async {
            let connecting = open_routed(config, &options.host, options.port);
            match options.connect_timeout {
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(result) => result.map_err(|e| failed(describe(&e))),
                    Err(_) => Err(failed(format!("timed out after {}s", limit.as_secs()))),
                },
                None => connecting.await.map_err(|e| failed(describe(&e))),
            }
        })?;
        Ok(MssqlBackend {
            client,
            runtime,
            target,
            dialect: Mssql,
            locked: false,
        })
    }

    /// Returns where the backend is connected, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs T-SQL text as one batch, outside any migration (for setup and tests).
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        let Self {
            runtime, client, ..
        } = self;
        runtime
            .block_on(batch(client, sql))
            .map_err(|e| other("statement failed", &e))
    }

    /// Runs a query and returns its first column as text, one entry per row
    /// (None for NULL); integers and bits come back in decimal.
    pub fn query_column(&mut self, sql: &str) -> Result<Vec<Option<String>>, DbError> {
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(client, sql, &[]))
            .map_err(|e| other("query failed", &e))?;
        found.iter().map(|row| cell_text(row, 0)).collect()
    }

    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let name = self.dialect.qualified(schema, table);
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(
                client,
                "SELECT CASE WHEN OBJECT_ID(@P1, N'U') IS NULL THEN 0 ELSE 1 END",
                &[&name.as_str()],
            ))
            .map_err(|e| other("cannot look up a table", &e))?;
        let first = found
            .first()
            .map(|row| cell_text(row, 0))
            .transpose()?
            .flatten();
        Ok(first.as_deref() == Some("1"))
    }
}

impl Backend for MssqlBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn lock(&mut self, timeout: Duration) -> Result<(), DbError> {
        // Session applocks are counted: a second sp_getapplock would need a
        // second release, and unlock releases once.
        if self.locked {
            return Ok(());
        }
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(
                client,
                "DECLARE @result INT;\n\
                 EXEC @result = sp_getapplock @Resource = @P1, @LockMode = 'Exclusive', \
                 @LockOwner = 'Session', @LockTimeout = @P2;\n\
                 SELECT @result;",
                &[&LOCK_RESOURCE, &millis],
            ))
            .map_err(|e| other("sp_getapplock failed", &e))?;
        let code = found
            .first()
            .map(|row| cell_text(row, 0))
            .transpose()?
            .flatten()
            .and_then(|text| text.parse::<i32>().ok())
            .ok_or_else(|| DbError::Other("sp_getapplock returned no result".to_owned()))?;
        match code {
            0 | 1 => {
                self.locked = true;
                Ok(())
            }
            -1 => Err(DbError::LockTimeout(timeout)),
            -2 => Err(DbError::Other(
                "sp_getapplock: the lock request was cancelled".to_owned(),
            )),
            -3 => Err(DbError::Other(
                "sp_getapplock: chosen as a deadlock victim while waiting for the lock".to_owned(),
            )),
            other => Err(DbError::Other(format!(
                "sp_getapplock failed with return code {other}"
            ))),
        }
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        if !self.locked {
            return Ok(());
        }
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(
                client,
                "DECLARE @result INT;\n\
                 EXEC @result = sp_releaseapplock @Resource = @P1, @LockOwner = 'Session';\n\
                 SELECT @result;",
                &[&LOCK_RESOURCE],
            ))
            .map_err(|e| other("sp_releaseapplock failed", &e))?;
        let code = found
            .first()
            .map(|row| cell_text(row, 0))
            .transpose()?
            .flatten();
        self.locked = false;
        match code.as_deref() {
            Some("0") => Ok(()),
            Some(code) => Err(DbError::Other(format!(
                "sp_releaseapplock failed with return code {code}"
            ))),
            None => Err(DbError::Other(
                "sp_releaseapplock returned no result".to_owned(),
            )),
        }
    }

    fn ensure_tables(&mut self, tables: &Tables) -> Result<(), DbError> {
        let schema = tables.schema.as_deref();
        let mut statements = self.dialect.create_version_table(schema, &tables.version);
        statements.extend(self.dialect.create_history_table(schema, &tables.history));
        for statement in statements {
            self.execute_batch(&statement.sql)
                .map_err(|e| DbError::Other(format!("cannot create rev's tables: {e}")))?;
        }
        Ok(())
    }

    fn ensure_journal(&mut self, tables: &Tables) -> Result<(), DbError> {
        let sql = crate::journal::create_sql(&self.dialect, tables);
        self.execute_batch(&sql)
            .map_err(|e| DbError::Other(format!("cannot create the journal table: {e}")))
    }

    fn current_heads(&mut self, tables: &Tables) -> Result<Vec<String>, DbError> {
        let schema = tables.schema.as_deref();
        if !self.table_exists(schema, &tables.version)? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT [version_num] FROM {}",
            self.dialect.qualified(schema, &tables.version)
        );
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(client, &sql, &[]))
            .map_err(|e| other("cannot read the version table", &e))?;
        let mut heads = found
            .iter()
            .map(|row| required_text(row, 0, "a version_num"))
            .collect::<Result<Vec<_>, _>>()?;
        heads.sort();
        Ok(heads)
    }

    fn applied_checksums(&mut self, tables: &Tables) -> Result<Vec<(String, String)>, DbError> {
        let schema = tables.schema.as_deref();
        if !self.table_exists(schema, &tables.history)? {
            return Ok(Vec::new());
        }
        let history = self.dialect.qualified(schema, &tables.history);
        let sql = format!(
            "SELECT h.[revision], h.[checksum] FROM {history} AS h \
             WHERE h.[id] = (SELECT MAX(l.[id]) FROM {history} AS l WHERE l.[revision] = h.[revision]) \
             AND h.[direction] IN ('upgrade', 'stamp')"
        );
        let Self {
            runtime, client, ..
        } = self;
        let found = runtime
            .block_on(rows(client, &sql, &[]))
            .map_err(|e| other("cannot read the history table", &e))?;
        let mut applied = found
            .iter()
            .map(|row| {
                Ok((
                    required_text(row, 0, "a history revision")?,
                    required_text(row, 1, "a history checksum")?,
                ))
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        applied.sort();
        Ok(applied)
    }

    fn introspect(&mut self, tables: &Tables) -> Result<rev_schema::Schema, DbError> {
        let Self {
            runtime, client, ..
        } = self;
        crate::introspect::mssql::read(runtime, client, tables)
    }

    fn run_step(&mut self, tables: &Tables, step: &Step) -> Result<(), DbError> {
        let Self {
            runtime,
            client,
            dialect,
            ..
        } = self;
        let started = Instant::now();
        if !step.transactional {
            // Statements that refuse a transaction commit one by one,
            // journalled, so that a run killed part-way resumes where it stopped.
            journal::run(&mut MssqlExec { runtime, client }, dialect, tables, step)?;
        }
        runtime.block_on(run_step(client, dialect, tables, step, started))
    }

    fn journal(&mut self, tables: &Tables) -> Result<Vec<journal::Entry>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &journal::table_name(tables))? {
            return Ok(Vec::new());
        }
        let Self {
            runtime,
            client,
            dialect,
            ..
        } = self;
        journal::read(&mut MssqlExec { runtime, client }, dialect, tables)
    }

    fn settle_journal(
        &mut self,
        tables: &Tables,
        entry: &journal::Entry,
        step: &Step,
        applied: bool,
    ) -> Result<(), DbError> {
        let Self {
            runtime,
            client,
            dialect,
            ..
        } = self;
        let bound = journal::settle(dialect, tables, entry, step, applied);
        MssqlExec { runtime, client }
            .journal(&bound)
            .map_err(DbError::Other)
    }
}

/// Returns text values as tiberius binds them (NVARCHAR parameters).
fn text_params(params: &[String]) -> Vec<&dyn ToSql> {
    params.iter().map(|p| p as &dyn ToSql).collect()
}

/// The SQL Server side of the journalled loop (see [`journal::Exec`]).
struct MssqlExec<'a> {
    runtime: &'a Runtime,
    client: &'a mut Connection,
}

impl journal::Exec for MssqlExec<'_> {
    fn alone(&mut self, sql: &str) -> Result<(), String> {
        let client = &mut *self.client;
        self.runtime.block_on(async {
            let result = batch(client, sql).await.map_err(|e| describe(&e));
            if result.is_err() {
                // A statement of the user's may have opened a transaction
                // that its failure left open; it must not swallow the journal.
                rollback(client).await;
            }
            result
        })
    }

    fn with_journal(
        &mut self,
        statement: Option<&str>,
        journal: &journal::Bound,
    ) -> Result<(), String> {
        let client = &mut *self.client;
        self.runtime.block_on(async {
            let result = async {
                batch(client, Mssql.begin_transaction()).await?;
                if let Some(sql) = statement {
                    batch(client, sql).await?;
                }
                execute(client, &journal.sql, &text_params(&journal.params)).await?;
                batch(client, Mssql.commit_transaction()).await
            }
            .await;
            if result.is_err() {
                rollback(client).await;
            }
            result.map_err(|e| describe(&e))
        })
    }

    fn read(&mut self, sql: &str) -> Result<Vec<journal::Entry>, String> {
        let client = &mut *self.client;
        let found = self
            .runtime
            .block_on(rows(client, sql, &[]))
            .map_err(|e| describe(&e))?;
        let count = |row: &Row, index| -> Result<Option<usize>, DbError> {
            Ok(cell_text(row, index)?.and_then(|n| n.parse().ok()))
        };
        found
            .iter()
            .map(|row| {
                Ok(journal::Entry {
                    revision: required_text(row, 0, "a journal revision")?,
                    direction: required_text(row, 1, "a journal direction")?,
                    done: count(row, 2)?.unwrap_or(0),
                    running: count(row, 3)?,
                    prefix: required_text(row, 4, "a journal prefix")?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()
            .map_err(|e| e.to_string())
    }
}
