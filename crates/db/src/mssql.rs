//! The SQL Server backend, over tiberius (DESIGN.md §6–§7).
//!
//! tiberius is asynchronous; the [`Backend`] trait is not. The backend owns a
//! current-thread tokio runtime and blocks on it inside each trait method, so
//! callers never see async and no thread pool is started.
//!
//! A step is one T-SQL batch, one round trip ([`step_batch`]): in one
//! transaction opened under `SET XACT_ABORT ON`, inside TRY/CATCH, each
//! statement through `sp_executesql` (so that it compiles as a batch of its
//! own), the version-table changes with their row counts checked, and the
//! history row; the batch selects back which part failed and why. Revision
//! ids reach the version and history tables as bound parameters (`@P1`),
//! never as SQL text; the statements travel as N'' literals with quotes
//! doubled, which T-SQL reads back verbatim. A `transactional: false` step
//! runs its statements through the journal ([`crate::journal`]) first; its
//! batch then holds only the bookkeeping and closes the journal.

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

/// The T-SQL batch that runs a step in one round trip, and the values bound
/// to its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepBatch {
    /// The batch's text.
    pub sql: String,
    /// The text values bound to `@P1`, `@P2`, `@P3` and from `@P5` on;
    /// `@P4` is an integer, the milliseconds the step spent before the batch.
    pub values: Vec<String>,
}

/// The parameter that holds the milliseconds a step spent before its batch.
const BEFORE_PARAM: usize = 4;

/// Returns the T-SQL batch of a step (DESIGN.md §6–§7): in one transaction
/// under `XACT_ABORT`, inside TRY/CATCH, each of the step's statements (when
/// `with_statements`), its version-table changes and its history row, each
/// through `sp_executesql` so that it compiles when it runs, as in a batch
/// of its own (a CREATE VIEW opens it; a column added earlier is seen).
/// `@rev_step` holds the 1-based position of the part running; a version
/// change that does not touch exactly one row raises error 50001. The batch
/// ends by selecting the failed part, the error and the row count (all NULL
/// but the position when it committed), which [`judge_batch`] reads.
pub fn step_batch(
    dialect: &Mssql,
    tables: &Tables,
    step: &Step,
    with_statements: bool,
) -> StepBatch {
    let literal = |sql: &str| dialect.string_literal(sql);
    let mut values: Vec<String> = vec![
        step.revision.clone(),
        step.direction.as_str().to_owned(),
        step.checksum.clone(),
    ];
    let mut sql = String::from(
        "SET XACT_ABORT ON;\n\
         DECLARE @rev_step INT = 0, @rev_rows INT = NULL, @rev_error INT = NULL, \
         @rev_severity INT = NULL, @rev_state INT = NULL, @rev_line INT = NULL, \
         @rev_procedure NVARCHAR(128) = NULL, @rev_message NVARCHAR(4000) = NULL;\n",
    );
    sql.push_str(&format!(
        "DECLARE @rev_started DATETIME2 = DATEADD(MILLISECOND, -@P{BEFORE_PARAM}, SYSUTCDATETIME());\n\
         BEGIN TRY\n    {};\n",
        dialect.begin_transaction()
    ));
    let mut part = 0;
    if with_statements {
        for statement in &step.statements {
            part += 1;
            sql.push_str(&format!(
                "    SET @rev_step = {part};\n    EXEC sp_executesql {};\n",
                literal(&statement.sql)
            ));
        }
    } else {
        part = step.statements.len();
    }
    let mut next = BEFORE_PARAM + 1;
    for change in step.version_changes() {
        part += 1;
        let params = change.params();
        let declared: Vec<String> = (1..=params.len())
            .map(|i| format!("@P{i} NVARCHAR(4000)"))
            .collect();
        let bound: Vec<String> = (1..=params.len())
            .map(|i| format!("@P{i} = @P{}", next + i - 1))
            .collect();
        next += params.len();
        values.extend(params.into_iter().map(str::to_owned));
        sql.push_str(&format!(
            "    SET @rev_step = {part};\n    EXEC sp_executesql {}, {}, {}, @rev_n = @rev_rows OUTPUT;\n    \
             IF @rev_rows <> 1 THROW 50001, N'a version-table change touched the wrong number of rows', 1;\n",
            literal(&format!(
                "{}; SET @rev_n = @@ROWCOUNT;",
                change.sql(dialect, tables)
            )),
            literal(&format!("{}, @rev_n INT OUTPUT", declared.join(", "))),
            bound.join(", "),
        ));
    }
    part += 1;
    sql.push_str(&format!(
        "    SET @rev_step = {part};\n    EXEC sp_executesql {}, \
         N'@P1 NVARCHAR(4000), @P2 NVARCHAR(4000), @P3 NVARCHAR(4000), @P4 DATETIME2', \
         @P1 = @P1, @P2 = @P2, @P3 = @P3, @P4 = @rev_started;\n",
        literal(&history_sql(dialect, tables)),
    ));
    if !with_statements && journal::journalled(dialect, step) {
        // The statements ran journalled; the journal row (revision @P1,
        // direction @P2) goes with the version change.
        part += 1;
        let closing = journal::finish(dialect, tables, step);
        sql.push_str(&format!(
            "    SET @rev_step = {part};\n    EXEC sp_executesql {}, \
             N'@P1 NVARCHAR(4000), @P2 NVARCHAR(4000)', @P1 = @P1, @P2 = @P2;\n",
            literal(&closing.sql),
        ));
    }
    sql.push_str(&format!("    {};\n", dialect.commit_transaction()));
    sql.push_str(
        "END TRY\n\
         BEGIN CATCH\n    \
         SELECT @rev_error = ERROR_NUMBER(), @rev_severity = ERROR_SEVERITY(), \
         @rev_state = ERROR_STATE(), @rev_line = ERROR_LINE(), \
         @rev_procedure = ERROR_PROCEDURE(), @rev_message = ERROR_MESSAGE();\n    \
         IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\n\
         END CATCH;\n\
         SELECT @rev_step AS [rev_step], @rev_error AS [rev_error], @rev_severity AS [rev_severity], \
         @rev_state AS [rev_state], @rev_line AS [rev_line], @rev_procedure AS [rev_procedure], \
         @rev_message AS [rev_message], @rev_rows AS [rev_rows];",
    );
    StepBatch { sql, values }
}

/// Returns the history insert, run inside [`step_batch`] with `@P4` the
/// step's start; the duration is the server's clock from then.
fn history_sql(dialect: &Mssql, tables: &Tables) -> String {
    format!(
        "INSERT INTO {} ([revision], [direction], [checksum], [started_at], [duration_ms], [applied_by]) \
         VALUES (@P1, @P2, @P3, @P4, DATEDIFF(MILLISECOND, @P4, SYSUTCDATETIME()), SUSER_SNAME())",
        dialect.qualified(tables.schema.as_deref(), &tables.history)
    )
}

/// What the last row of a [`step_batch`] says when a part failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// The failed part's 1-based position: the statements, then the
    /// version changes, then the history row; 0 before the first.
    pub part: usize,
    /// SQL Server's error number.
    pub number: i64,
    /// Its severity.
    pub severity: i64,
    /// Its state.
    pub state: i64,
    /// The line, within the part, of the error.
    pub line: i64,
    /// The procedure it was raised in, if any.
    pub procedure: Option<String>,
    /// The message.
    pub message: String,
    /// The rows the last version change touched.
    pub rows: Option<u64>,
}

/// Returns the error a failed part of a step's batch stands for: the
/// statement (its index and text), a version row that was not there or
/// already was, or the bookkeeping statement that failed.
pub fn judge_batch(
    dialect: &Mssql,
    tables: &Tables,
    step: &Step,
    failure: &BatchFailure,
) -> DbError {
    let mut message = format!(
        "SQL Server error {} (severity {}, state {})",
        failure.number, failure.severity, failure.state
    );
    if let Some(procedure) = failure.procedure.as_deref().filter(|p| !p.is_empty()) {
        message.push_str(&format!(" in {procedure}"));
    }
    message.push_str(&format!(" at line {}: {}", failure.line, failure.message));
    let count = step.statements.len();
    // Statements that ran outside the transaction (`transactional: false`)
    // stay applied when the bookkeeping fails.
    let kept = !step.transactional && count > 0;
    let statement = |index: usize, sql: String, partially_applied: bool| DbError::Statement {
        revision: step.revision.clone(),
        direction: step.direction.as_str(),
        index,
        sql,
        message: message.clone(),
        partially_applied,
    };
    if failure.part == 0 {
        return DbError::Other(format!("cannot open a transaction: {message}"));
    }
    if failure.part <= count {
        let sql = step
            .statements
            .get(failure.part - 1)
            .map(|s| s.sql.clone())
            .unwrap_or_default();
        return statement(failure.part, sql, false);
    }
    let changes = step.version_changes();
    match changes.get(failure.part - count - 1) {
        Some(change) => match failure.number {
            // The primary key already holds this revision.
            2627 | 2601 => DbError::VersionMismatch {
                revision: step.revision.clone(),
                message: change.already_present(),
            },
            50001 => DbError::VersionMismatch {
                revision: step.revision.clone(),
                message: change
                    .wrong_row_count(failure.rows.unwrap_or(0))
                    .unwrap_or_else(|| format!("{} failed", change.describe())),
            },
            _ => statement(failure.part, change.sql(dialect, tables), kept),
        },
        None if failure.part == count + changes.len() + 1 => {
            statement(failure.part, history_sql(dialect, tables), kept)
        }
        None => DbError::Other(format!(
            "revision {}: cannot close the journal: {message}",
            step.revision
        )),
    }
}

/// Reads the last row of a step's batch: None when the step committed.
fn batch_outcome(results: &[Vec<Row>]) -> Result<Option<BatchFailure>, DbError> {
    let row = results
        .last()
        .and_then(|rows| rows.first())
        .ok_or_else(|| DbError::Other("SQL Server sent no outcome for the step".to_owned()))?;
    let number = |index: usize| -> Result<Option<i64>, DbError> {
        Ok(cell_text(row, index)?.and_then(|text| text.parse().ok()))
    };
    let Some(error) = number(1)? else {
        return Ok(None);
    };
    Ok(Some(BatchFailure {
        part: number(0)?
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0),
        number: error,
        severity: number(2)?.unwrap_or(0),
        state: number(3)?.unwrap_or(0),
        line: number(4)?.unwrap_or(0),
        procedure: cell_text(row, 5)?,
        message: cell_text(row, 6)?.unwrap_or_default(),
        rows: number(7)?.and_then(|n| u64::try_from(n).ok()),
    }))
}

/// Runs a step's batch (its statements too when `with_statements`) and
/// returns what failed: one round trip, and one more to roll back when the
/// batch could not run to its end (a lost connection).
async fn run_batch(
    client: &mut Connection,
    dialect: &Mssql,
    tables: &Tables,
    step: &Step,
    with_statements: bool,
    before_ms: i32,
) -> Result<(), DbError> {
    let batch = step_batch(dialect, tables, step, with_statements);
    let mut params: Vec<&dyn ToSql> = batch.values.iter().map(|v| v as &dyn ToSql).collect();
    params.insert(BEFORE_PARAM - 1, &before_ms);
    let sent = match client.query(batch.sql.as_str(), &params).await {
        Ok(stream) => stream.into_results().await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(results) => match batch_outcome(&results)? {
            None => Ok(()),
            Some(failure) => Err(judge_batch(dialect, tables, step, &failure)),
        },
        Err(e) => {
            rollback(client).await;
            Err(other(&format!("revision {}", step.revision), &e))
        }
    }
}

async fn run_step(
    client: &mut Connection,
    dialect: &Mssql,
    tables: &Tables,
    step: &Step,
    started: Instant,
) -> Result<(), DbError> {
    if step.transactional {
        return run_batch(client, dialect, tables, step, true, 0).await;
    }
    // The statements ran journalled (see `Backend::run_step`); the batch
    // records the step and closes the journal in one transaction.
    let before_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    run_batch(client, dialect, tables, step, false, before_ms)
        .await
        .map_err(|e| crate::shared::note_kept_statements(e, step, !step.statements.is_empty()))
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

#[cfg(test)]
mod tests {
    use rev_sql::{Direction, Statement};

    use super::*;

    fn step(statements: &[&str], delete: &[&str], insert: &[&str]) -> Step {
        Step {
            revision: "bbb".to_owned(),
            direction: Direction::Upgrade,
            statements: statements.iter().map(|s| Statement::new(*s)).collect(),
            delete_versions: delete.iter().map(|s| (*s).to_owned()).collect(),
            insert_versions: insert.iter().map(|s| (*s).to_owned()).collect(),
            checksum: "sum-bbb".to_owned(),
            transactional: true,
        }
    }

    fn failure(part: usize, number: i64, rows: Option<u64>) -> BatchFailure {
        BatchFailure {
            part,
            number,
            severity: 16,
            state: 1,
            line: 1,
            procedure: None,
            message: "it broke".to_owned(),
            rows,
        }
    }

    #[test]
    fn a_step_is_one_batch_with_its_statements_version_change_and_history() {
        let step = step(
            &[
                "CREATE TABLE [t] ([id] INT NOT NULL, [name] NVARCHAR(100))",
                "CREATE VIEW [v] AS SELECT [name] FROM [t] WHERE [name] <> N'it''s'",
            ],
            &["aaa"],
            &["bbb"],
        );
        let batch = step_batch(&Mssql, &Tables::default(), &step, true);
        assert_eq!(batch.values, ["bbb", "upgrade", "sum-bbb", "bbb", "aaa"]);
        assert!(
            !batch.sql.contains("journal"),
            "a transactional step keeps no journal"
        );
        insta::assert_snapshot!(batch.sql);
    }

    #[test]
    fn a_merge_binds_each_version_row_and_a_schema_qualifies_the_tables() {
        let step = step(&[], &["b1", "b2"], &["m"]);
        let tables = Tables {
            schema: Some("ops]x".to_owned()),
            ..Tables::default()
        };
        let batch = step_batch(&Mssql, &tables, &step, true);
        assert_eq!(batch.values, ["bbb", "upgrade", "sum-bbb", "m", "b1", "b2"]);
        insta::assert_snapshot!(batch.sql);
    }

    #[test]
    fn outside_a_transaction_the_batch_keeps_only_the_bookkeeping() {
        let mut step = step(
            &["CREATE INDEX [i] ON [t] ([id]) WITH (ONLINE = ON)"],
            &[],
            &["bbb"],
        );
        step.transactional = false;
        let batch = step_batch(&Mssql, &Tables::default(), &step, false);
        assert!(!batch.sql.contains("CREATE INDEX"), "{}", batch.sql);
        // The parts keep their numbers: the insert is part 2, the history 3.
        assert!(batch.sql.contains("SET @rev_step = 2;"), "{}", batch.sql);
        assert!(batch.sql.contains("SET @rev_step = 3;"), "{}", batch.sql);
        assert!(!batch.sql.contains("SET @rev_step = 1;"), "{}", batch.sql);
        // The statements ran journalled: part 4 closes the journal row, with
        // the revision and direction the batch already binds, before COMMIT.
        let close = batch.sql.find("SET @rev_step = 4;").expect(&batch.sql);
        let rest = &batch.sql[close..];
        assert!(
            rest.contains(
                "DELETE FROM [rev_history_journal] WHERE [revision] = @P1 AND [direction] = @P2"
            ) && rest.find("DELETE").unwrap() < rest.find("COMMIT").unwrap(),
            "{}",
            batch.sql
        );
        assert_eq!(batch.values, ["bbb", "upgrade", "sum-bbb", "bbb"]);
    }

    #[test]
    fn a_failed_part_names_the_statement_or_the_version_row() {
        let t = Tables::default();
        let step = step(
            &["CREATE TABLE [a] ([id] INT)", "SELECT * FROM [nope]"],
            &["aaa"],
            &["bbb"],
        );
        match judge_batch(&Mssql, &t, &step, &failure(2, 208, None)) {
            DbError::Statement {
                index,
                sql,
                message,
                partially_applied,
                ..
            } => {
                assert_eq!(index, 2);
                assert_eq!(sql, "SELECT * FROM [nope]");
                assert_eq!(
                    message,
                    "SQL Server error 208 (severity 16, state 1) at line 1: it broke"
                );
                assert!(!partially_applied);
            }
            other => panic!("{other}"),
        }
        let wrong = judge_batch(&Mssql, &t, &step, &failure(3, 50001, Some(0)));
        assert_eq!(
            wrong.to_string(),
            "version table out of step at revision bbb: updating version `aaa` to `bbb` \
             touched 0 rows, expected exactly 1"
        );
        let present = judge_batch(&Mssql, &t, &step, &failure(3, 2627, None));
        assert!(present
            .to_string()
            .contains("`bbb` is already in the version table"));
        match judge_batch(&Mssql, &t, &step, &failure(4, 515, None)) {
            DbError::Statement { index, sql, .. } => {
                assert_eq!(index, 4);
                assert!(sql.starts_with("INSERT INTO [rev_history]"), "{sql}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn bookkeeping_failures_after_kept_statements_say_so() {
        let mut step = step(&["CREATE INDEX [i] ON [t] ([id])"], &[], &["bbb"]);
        step.transactional = false;
        match judge_batch(&Mssql, &Tables::default(), &step, &failure(3, 515, None)) {
            DbError::Statement {
                index,
                partially_applied,
                ..
            } => assert_eq!((index, partially_applied), (3, true)),
            other => panic!("{other}"),
        }
    }
}
