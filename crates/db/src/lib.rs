//! Live database connections: the one trait every backend implements, and
//! `connect`, which picks the backend from a URL.

use std::time::Duration;

use rev_sql::Dialect;

mod connstr;
pub mod introspect;
pub mod journal;
#[cfg(feature = "mssql")]
pub mod mssql;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "mssql"))]
mod shared;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod tls;
pub mod url;

pub use rev_sql::{Direction, Step, VersionTables as Tables};
pub use url::{DatabaseUrl, SecretUrl, SqliteTarget};

/// Returns a connection to the database `url` names (see [`DatabaseUrl`]).
/// A backend this build was compiled without is [`DbError::NotCompiled`].
pub fn connect(url: &str) -> Result<Box<dyn Backend>, DbError> {
    match DatabaseUrl::parse(url)? {
        #[cfg(feature = "sqlite")]
        DatabaseUrl::Sqlite(target) => Ok(Box::new(sqlite::SqliteBackend::open(&target)?)),
        #[cfg(feature = "mssql")]
        DatabaseUrl::Mssql(secret) => mssql::connect(secret.expose()),
        #[cfg(feature = "postgres")]
        DatabaseUrl::Postgres(secret) => postgres::connect(secret.expose()),
        #[cfg(feature = "mysql")]
        DatabaseUrl::Mysql(secret) => mysql::connect(secret.expose()),
        #[allow(unreachable_patterns)]
        other => Err(DbError::NotCompiled(other.dialect_kind())),
    }
}

/// Why talking to the database failed. Messages never carry a password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL could not be understood.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The URL's scheme names no backend rev has.
    #[error("unsupported database URL scheme `{0}`: expected sqlite, mssql, postgres or mysql")]
    UnsupportedScheme(String),
    /// Connecting failed.
    #[error("cannot connect to {target}: {message}")]
    Connect {
        /// The server or file, without credentials.
        target: String,
        /// The driver's message.
        message: String,
    },
    /// Another runner holds the lock.
    #[error("another rev runner holds the migration lock; gave up after {0:?}")]
    LockTimeout(Duration),
    /// A statement of a migration failed; the migration's transaction was rolled back.
    #[error("revision {revision} ({direction}) failed at statement {index}: {message}\n  statement: {sql}")]
    Statement {
        /// The revision being applied or un-applied.
        revision: String,
        /// `upgrade`, `downgrade` or `stamp`.
        direction: &'static str,
        /// The statement's 1-based position in the migration.
        index: usize,
        /// The statement's text.
        sql: String,
        /// The database's message (with its error number and line where it gives them).
        message: String,
        /// Whether earlier statements of the migration stayed committed (no
        /// transactional DDL, or `transactional: false`).
        partially_applied: bool,
    },
    /// The version table did not hold what the plan expected (another runner or
    /// a hand edit changed it); nothing of the migration was kept.
    #[error("version table out of step at revision {revision}: {message}")]
    VersionMismatch {
        /// The revision being applied or un-applied.
        revision: String,
        /// What was found.
        message: String,
    },
    /// A step left rows whose foreign keys point at no row; it was rolled back.
    #[error("revision {revision} ({direction}) would break foreign keys: {message}")]
    ForeignKeyViolation {
        /// The revision being applied or un-applied.
        revision: String,
        /// `upgrade`, `downgrade` or `stamp`.
        direction: &'static str,
        /// The offending rows, as the database reports them.
        message: String,
    },
    /// The URL names a backend that this build leaves out (a cargo feature of rev-db).
    #[error("this build of rev has no {0} backend: enable the cargo feature `{0}`")]
    NotCompiled(rev_sql::DialectKind),
    /// A step that an earlier run began and did not finish stands in the
    /// journal, and this run cannot go on from it as things are.
    #[error(
        "revision {revision} ({direction}) was interrupted part-way by an earlier run: {message}"
    )]
    Interrupted {
        /// The interrupted revision.
        revision: String,
        /// `upgrade` or `downgrade`.
        direction: String,
        /// What stands in the way.
        message: String,
    },
    /// Any other database error.
    #[error("{0}")]
    Other(String),
}

/// The step of a [`Backend::run_steps`] call that failed, and why.
#[derive(Debug)]
pub struct StepFailure {
    /// The failed step's 0-based position in the steps given.
    pub index: usize,
    /// Its error, as [`Backend::run_step`] would have returned it.
    pub error: DbError,
}

/// Runs `steps[index]` alone through [`Backend::run_step`] and reports it
/// committed: the path of a step that a backend's [`Backend::run_steps`]
/// cannot send with others.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn run_alone(
    backend: &mut dyn Backend,
    tables: &Tables,
    steps: &[Step],
    index: usize,
    committed: &mut dyn FnMut(usize),
) -> Result<(), StepFailure> {
    if let Some(step) = steps.get(index) {
        backend
            .run_step(tables, step)
            .map_err(|error| StepFailure { index, error })?;
        committed(index);
    }
    Ok(())
}

/// What every backend must do. The engine never asks which backend it has.
pub trait Backend {
    /// Returns the dialect that renders SQL for this database.
    fn dialect(&self) -> &dyn Dialect;

    /// Takes the migration lock, waiting at most `timeout` for another runner.
    fn lock(&mut self, timeout: Duration) -> Result<(), DbError>;

    /// Releases the migration lock.
    fn unlock(&mut self) -> Result<(), DbError>;

    /// Creates the version and history tables when they are missing.
    fn ensure_tables(&mut self, tables: &Tables) -> Result<(), DbError>;

    /// Creates the journal table (see [`journal`]) when it is missing. Call
    /// it once per run that has a journalled step ([`journal::journalled`]),
    /// before [`Backend::run_step`] runs one: a database that never ran such
    /// a step gets no journal table.
    fn ensure_journal(&mut self, tables: &Tables) -> Result<(), DbError>;

    /// Returns the rows of the version table, sorted; empty when the table is missing.
    fn current_heads(&mut self, tables: &Tables) -> Result<Vec<String>, DbError>;

    /// Returns, for each revision whose last history row is an upgrade or a
    /// stamp, the checksum recorded then; empty when the table is missing.
    fn applied_checksums(&mut self, tables: &Tables) -> Result<Vec<(String, String)>, DbError>;

    /// Runs one step: its statements, its version-table change and its history
    /// row, in one transaction unless the step is not transactional.
    fn run_step(&mut self, tables: &Tables, step: &Step) -> Result<(), DbError>;

    /// Runs `steps` in order, each exactly as [`Backend::run_step`] would
    /// (its own transaction, its statement index in errors, the version
    /// table's row checks), in as few round trips as the backend can: a
    /// backend may send several steps at once when it can make the server
    /// skip the steps after a failed one. `committed(i)` is called as step `i`
    /// commits, in order. On a failure, the steps before it committed and
    /// none after it ran. The default sends one step at a time.
    fn run_steps(
        &mut self,
        tables: &Tables,
        steps: &[Step],
        committed: &mut dyn FnMut(usize),
    ) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.run_step(tables, step)
                .map_err(|error| StepFailure { index, error })?;
            committed(index);
        }
        Ok(())
    }

    /// Returns the user tables of the configured schema (`tables.schema`, else
    /// the connection's default) as the catalog describes them, never the
    /// version and history tables; tables carry no schema name. Compare the
    /// result with a declared schema through [`introspect::reconcile`].
    fn introspect(&mut self, tables: &Tables) -> Result<rev_schema::Schema, DbError>;

    /// Returns the journal's rows: the step an earlier run began and did not
    /// finish, if one did (see [`journal`]); empty when the table is missing.
    fn journal(&mut self, tables: &Tables) -> Result<Vec<journal::Entry>, DbError> {
        let _ = tables;
        Ok(Vec::new())
    }

    /// Settles the statement of `entry` whose effect was unknown: `applied`
    /// counts it as done, else as not run, so that the next
    /// [`Backend::run_step`] of `step` resumes after or at it.
    fn settle_journal(
        &mut self,
        tables: &Tables,
        entry: &journal::Entry,
        step: &Step,
        applied: bool,
    ) -> Result<(), DbError> {
        let _ = (tables, step, applied);
        Err(DbError::Interrupted {
            revision: entry.revision.clone(),
            direction: entry.direction.clone(),
            message: "this backend keeps no journal".to_owned(),
        })
    }
}
