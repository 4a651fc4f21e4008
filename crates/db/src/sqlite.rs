//! The SQLite backend (rusqlite, bundled SQLite).
//!
//! Two runners are kept apart by an exclusive lock on `<database>.lock`
//! beside the database file, held for the whole run; each step also opens
//! its transaction with `BEGIN IMMEDIATE`, which takes SQLite's write lock
//! at once, and a busy timeout makes other connections wait for it rather
//! than fail.

use std::ffi::OsString;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{params_from_iter, Connection, OptionalExtension};

use rev_sql::sqlite::Sqlite;
use rev_sql::version::{self, VersionChange};
use rev_sql::{Dialect, Step, VersionTables};

use crate::journal::{self, Exec as _};
use crate::url::SqliteTarget;
use crate::{Backend, DbError};

/// How long a connection waits for SQLite's write lock until `lock` sets the run's own timeout.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often `lock` retries while another runner holds the lock file.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// A connection to one SQLite database.
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Connection,
    dialect: Sqlite,
    /// The lock file's path; None for an in-memory database, which no one else can open.
    lock_path: Option<PathBuf>,
    /// The open, locked lock file while the lock is held.
    lock: Option<File>,
}

fn other(context: &str, err: impl std::fmt::Display) -> DbError {
    DbError::Other(format!("{context}: {err}"))
}

impl SqliteBackend {
    /// Opens (creating when missing) the database `target` names.
    pub fn open(target: &SqliteTarget) -> Result<Self, DbError> {
        let (conn, lock_path) = match target {
            SqliteTarget::Memory => (Connection::open_in_memory(), None),
            SqliteTarget::File(path) => (Connection::open(path), Some(lock_path_for(path))),
        };
        let connect_error = |e: rusqlite::Error| DbError::Connect {
            target: match target {
                SqliteTarget::Memory => "sqlite::memory:".to_owned(),
                SqliteTarget::File(path) => path.display().to_string(),
            },
            message: e.to_string(),
        };
        let conn = conn.map_err(connect_error)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .map_err(connect_error)?;
        // Bundled SQLite enables foreign keys by default; say so explicitly,
        // since run_step relies on knowing their state.
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(connect_error)?;
        Ok(SqliteBackend {
            conn,
            dialect: Sqlite,
            lock_path,
            lock: None,
        })
    }

    /// Returns the underlying connection, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn table_exists(&self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let sql = format!(
            "SELECT 1 FROM {}.sqlite_master WHERE type = 'table' AND name = ?1",
            self.dialect.quote_ident(schema.unwrap_or("main"))
        );
        self.conn
            .query_row(&sql, [table], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| other(&format!("cannot look for table `{table}`"), e))
    }

    /// Rolls back the open transaction, if SQLite has not already done so.
    fn rollback(&self) {
        if !self.conn.is_autocommit() {
            // The step already failed; its error is what the caller needs.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    fn foreign_keys_on(&self) -> Result<bool, DbError> {
        self.conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get::<_, i64>(0))
            .map(|v| v == 1)
            .map_err(|e| other("cannot read PRAGMA foreign_keys", e))
    }

    fn set_foreign_keys(&self, on: bool) -> Result<(), DbError> {
        let sql = if on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        self.conn
            .execute_batch(sql)
            .map_err(|e| other("cannot set PRAGMA foreign_keys", e))
    }

    /// Runs the step's statements (in the caller's transaction, or in
    /// autocommit mode for a non-transactional step).
    fn run_statements(&self, step: &Step) -> Result<(), DbError> {
        for (i, statement) in step.statements.iter().enumerate() {
            self.conn
                .execute_batch(&statement.sql)
                .map_err(|e| DbError::Statement {
                    revision: step.revision.clone(),
                    direction: step.direction.as_str(),
                    index: i + 1,
                    sql: statement.sql.clone(),
                    message: statement_error(&e),
                    partially_applied: !step.transactional && i > 0,
                })?;
        }
        Ok(())
    }

    /// Applies the step's version-table changes; each must touch exactly one row.
    fn change_versions(&self, tables: &VersionTables, step: &Step) -> Result<(), DbError> {
        let mismatch = |message: String| DbError::VersionMismatch {
            revision: step.revision.clone(),
            message,
        };
        for change in step.version_changes() {
            let sql = change.sql(&self.dialect, tables);
            let mut statement = self
                .conn
                .prepare_cached(&sql)
                .map_err(|e| mismatch(format!("cannot prepare `{sql}`: {e}")))?;
            let touched = statement
                .execute(params_from_iter(change.params()))
                .map_err(|e| mismatch(format!("{}: {e}", describe_change(&change))))?;
            if touched != 1 {
                return Err(mismatch(format!(
                    "{} touched {touched} rows, expected exactly 1",
                    describe_change(&change)
                )));
            }
        }
        Ok(())
    }

    /// Fails when the database holds rows whose foreign keys point nowhere;
    /// run before COMMIT because keys were off during the step.
    fn check_foreign_keys(&self, step: &Step) -> Result<(), DbError> {
        let mut statement = self
            .conn
            .prepare_cached("PRAGMA foreign_key_check")
            .map_err(|e| other("cannot check foreign keys", e))?;
        let violations: Vec<String> = statement
            .query_map([], |row| {
                Ok(format!(
                    "`{}` row {} references missing `{}`",
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?
                        .map_or_else(|| "?".to_owned(), |id| id.to_string()),
                    row.get::<_, String>(2)?
                ))
            })
            .and_then(|rows| rows.take(5).collect())
            .map_err(|e| other("cannot check foreign keys", e))?;
        if violations.is_empty() {
            return Ok(());
        }
        let mut message = violations.join("; ");
        if !step.transactional {
            message.push_str(" (the step is not transactional: its statements stay applied)");
        }
        Err(DbError::ForeignKeyViolation {
            revision: step.revision.clone(),
            direction: step.direction.as_str(),
            message,
        })
    }

    fn write_history(
        &self,
        tables: &VersionTables,
        step: &Step,
        started_at: &str,
        started: Instant,
    ) -> Result<(), DbError> {
        let sql = version::insert_history(&self.dialect, tables);
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    step.revision,
                    step.direction.as_str(),
                    step.checksum,
                    started_at,
                    duration_ms,
                    applied_by(),
                ])
            })
            .map_err(|e| other(&format!("cannot record {} in history", step.revision), e))?;
        Ok(())
    }

    fn now(&self) -> Result<String, DbError> {
        self.conn
            .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| {
                row.get(0)
            })
            .map_err(|e| other("cannot read the time", e))
    }

    /// Runs `body` with foreign keys off when the step drops a table (see
    /// rev_sql::sqlite: a rebuild's DROP TABLE would fire ON DELETE actions
    /// otherwise), telling it whether they were on and so must be checked
    /// before COMMIT, and turns them back on afterwards. Other steps keep
    /// them on, so SQLite checks each statement and no step pays for a scan
    /// of the whole database.
    fn without_foreign_keys(
        &self,
        step: &Step,
        body: impl FnOnce(bool) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        if !drops_a_table(step) {
            return body(false);
        }
        let keys_were_on = self.foreign_keys_on()?;
        if keys_were_on {
            self.set_foreign_keys(false)?;
        }
        let result = body(keys_were_on);
        let restored = if keys_were_on {
            self.set_foreign_keys(true)
        } else {
            Ok(())
        };
        result.and(restored)
    }

    /// Runs a transactional step: statements, version change, foreign-key
    /// check and history row commit together or not at all.
    fn run_in_transaction(&self, tables: &VersionTables, step: &Step) -> Result<(), DbError> {
        let started = Instant::now();
        let started_at = self.now()?;
        self.without_foreign_keys(step, |check_keys| {
            let result = self
                .begin(step)
                .and_then(|()| self.run_statements(step))
                .and_then(|()| self.finish(tables, step, &started_at, started, check_keys));
            if result.is_err() {
                self.rollback();
            }
            result
        })
    }

    /// Runs a non-transactional step: statements one by one as they come,
    /// then the version change, foreign-key check and history row in a
    /// transaction of their own.
    fn run_outside_transaction(&self, tables: &VersionTables, step: &Step) -> Result<(), DbError> {
        let started = Instant::now();
        let started_at = self.now()?;
        self.without_foreign_keys(step, |check_keys| {
            // Each statement commits on its own, journalled, so that a run
            // killed part-way is resumed where it stopped.
            journal::run(&mut SqliteExec(&self.conn), &self.dialect, tables, step)?;
            let result = self
                .begin(step)
                .and_then(|()| self.finish(tables, step, &started_at, started, check_keys));
            if result.is_err() {
                self.rollback();
            }
            result
        })
    }

    fn begin(&self, step: &Step) -> Result<(), DbError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| other(&format!("cannot begin {}", step.revision), e))
    }

    /// Writes the step's version change and history row and commits.
    fn finish(
        &self,
        tables: &VersionTables,
        step: &Step,
        started_at: &str,
        started: Instant,
        check_keys: bool,
    ) -> Result<(), DbError> {
        self.change_versions(tables, step)?;
        if check_keys {
            self.check_foreign_keys(step)?;
        }
        self.write_history(tables, step, started_at, started)?;
        if journal::journalled(&self.dialect, step) {
            let closing = journal::finish(&self.dialect, tables, step);
            SqliteExec(&self.conn)
                .bound(&closing)
                .map_err(|e| other("cannot close the journal", e))?;
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| other(&format!("cannot commit {}", step.revision), e))
    }
}

/// Returns whether a statement of the step starts with DROP TABLE, as every
/// table rebuild and DropTable render.
fn drops_a_table(step: &Step) -> bool {
    step.statements.iter().any(|statement| {
        statement
            .sql
            .trim_start()
            .get(..10)
            .is_some_and(|head| head.eq_ignore_ascii_case("DROP TABLE"))
    })
}

fn describe_change(change: &VersionChange) -> String {
    match change {
        VersionChange::Insert { new } => format!("inserting version `{new}`"),
        VersionChange::Update { old, new } => format!("updating version `{old}` to `{new}`"),
        VersionChange::Delete { old } => format!("deleting version `{old}`"),
    }
}

/// Returns `<path>.lock`.
fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Returns who runs the migration, for the history table.
fn applied_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    /// Takes an exclusive lock on `<database>.lock`; the file stays behind
    /// afterwards, since deleting it could let two runners lock different files.
    fn lock(&mut self, timeout: Duration) -> Result<(), DbError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| other("cannot set the busy timeout", e))?;
        let Some(path) = &self.lock_path else {
            return Ok(());
        };
        if self.lock.is_some() {
            return Ok(());
        }
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| other(&format!("cannot open lock file {}", path.display()), e))?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(LOCK_POLL);
                }
                Err(TryLockError::WouldBlock) => return Err(DbError::LockTimeout(timeout)),
                Err(TryLockError::Error(e)) => {
                    return Err(other(&format!("cannot lock {}", path.display()), e))
                }
            }
        }
        self.lock = Some(file);
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        match self.lock.take() {
            Some(file) => file
                .unlock()
                .map_err(|e| other("cannot release the migration lock", e)),
            None => Ok(()),
        }
    }

    fn ensure_tables(&mut self, tables: &VersionTables) -> Result<(), DbError> {
        let schema = tables.schema.as_deref();
        let failed = |e| other("cannot create the version tables", e);
        // One transaction for both tables: a commit costs SQLite a journal
        // and its syncs, the most of a new database's set-up in a fleet.
        self.conn.execute_batch("BEGIN").map_err(failed)?;
        for statement in self
            .dialect
            .create_version_table(schema, &tables.version)
            .into_iter()
            .chain(self.dialect.create_history_table(schema, &tables.history))
        {
            if let Err(e) = self.conn.execute_batch(&statement.sql) {
                self.rollback();
                return Err(failed(e));
            }
        }
        self.conn.execute_batch("COMMIT").map_err(|e| {
            self.rollback();
            failed(e)
        })
    }

    fn ensure_journal(&mut self, tables: &VersionTables) -> Result<(), DbError> {
        self.conn
            .execute_batch(&journal::create_sql(&self.dialect, tables))
            .map_err(|e| other("cannot create the journal table", e))
    }

    fn current_heads(&mut self, tables: &VersionTables) -> Result<Vec<String>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &tables.version)? {
            return Ok(Vec::new());
        }
        let sql = version::select_versions(&self.dialect, tables);
        let mut heads: Vec<String> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(|e| other("cannot read the version table", e))?;
        heads.sort();
        Ok(heads)
    }

    fn applied_checksums(
        &mut self,
        tables: &VersionTables,
    ) -> Result<Vec<(String, String)>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &tables.history)? {
            return Ok(Vec::new());
        }
        let sql = version::select_history(&self.dialect, tables);
        let rows: Vec<(String, String, String)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect()
            })
            .map_err(|e| other("cannot read the history table", e))?;
        Ok(version::applied_checksums(rows))
    }

    fn introspect(&mut self, tables: &VersionTables) -> Result<rev_schema::Schema, DbError> {
        crate::introspect::sqlite::read(&self.conn, tables)
    }

    fn journal(&mut self, tables: &VersionTables) -> Result<Vec<journal::Entry>, DbError> {
        if !self.table_exists(tables.schema.as_deref(), &journal::table_name(tables))? {
            return Ok(Vec::new());
        }
        journal::read(&mut SqliteExec(&self.conn), &self.dialect, tables)
    }

    fn settle_journal(
        &mut self,
        tables: &VersionTables,
        entry: &journal::Entry,
        step: &Step,
        applied: bool,
    ) -> Result<(), DbError> {
        let bound = journal::settle(&self.dialect, tables, entry, step, applied);
        SqliteExec(&self.conn)
            .journal(&bound)
            .map_err(DbError::Other)
    }

    fn run_step(&mut self, tables: &VersionTables, step: &Step) -> Result<(), DbError> {
        if step.transactional {
            self.run_in_transaction(tables, step)
        } else {
            self.run_outside_transaction(tables, step)
        }
    }
}

/// The SQLite side of the journalled loop (see [`journal::Exec`]).
struct SqliteExec<'a>(&'a Connection);

impl SqliteExec<'_> {
    fn bound(&self, bound: &journal::Bound) -> Result<(), String> {
        self.0
            .execute(&bound.sql, params_from_iter(bound.params.iter()))
            .map(drop)
            .map_err(|e| statement_error(&e))
    }
}

impl journal::Exec for SqliteExec<'_> {
    fn alone(&mut self, sql: &str) -> Result<(), String> {
        self.0.execute_batch(sql).map_err(|e| statement_error(&e))
    }

    fn with_journal(
        &mut self,
        statement: Option<&str>,
        journal: &journal::Bound,
    ) -> Result<(), String> {
        self.0
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| statement_error(&e))?;
        let result = statement
            .map_or(Ok(()), |sql| self.alone(sql))
            .and_then(|()| self.bound(journal))
            .and_then(|()| {
                self.0
                    .execute_batch("COMMIT")
                    .map_err(|e| statement_error(&e))
            });
        if result.is_err() && !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
        result
    }

    fn read(&mut self, sql: &str) -> Result<Vec<journal::Entry>, String> {
        let count = |n: Option<i64>| n.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        self.0
            .prepare(sql)
            .and_then(|mut s| {
                s.query_map([], |row| {
                    Ok(journal::Entry {
                        revision: row.get(0)?,
                        direction: row.get(1)?,
                        done: count(row.get(2)?).unwrap_or(0),
                        running: count(row.get(3)?),
                        prefix: row.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| statement_error(&e))
    }
}

/// Returns SQLite's message for a failed statement, without the statement's
/// text that rusqlite appends (the error shows the statement once already).
fn statement_error(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqlInputError { msg, offset, .. } => format!("{msg} (at offset {offset})"),
        other => other.to_string(),
    }
}
