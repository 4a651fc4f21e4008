//! SQL dialects: render schema operations and version-table statements as SQL text.
//!
//! The engine talks to a [`Dialect`] and never matches on which one it is.

use std::fmt;
use std::str::FromStr;

use rev_schema::{Check, ForeignKey, OnDelete, Operation, Schema, Unique};

pub mod mssql;
pub mod mysql;
pub mod postgres;
pub mod script;
pub mod sqlite;
pub mod version;

pub use script::{offline_purge_script, offline_script};
pub use version::{VersionChange, VersionTables};

/// Returns the dialect of `kind`.
pub fn dialect(kind: DialectKind) -> Box<dyn Dialect> {
    match kind {
        DialectKind::Sqlite => Box::new(sqlite::Sqlite),
        DialectKind::Mssql => Box::new(mssql::Mssql),
        DialectKind::Postgres => Box::new(postgres::Postgres),
        DialectKind::Mysql => Box::new(mysql::Mysql),
    }
}

/// The databases rev can render SQL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialectKind {
    /// Microsoft SQL Server (T-SQL).
    Mssql,
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl DialectKind {
    /// Returns the name used on the command line and in `SqlFor`.
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Mssql => "mssql",
            DialectKind::Sqlite => "sqlite",
            DialectKind::Postgres => "postgres",
            DialectKind::Mysql => "mysql",
        }
    }
}

impl fmt::Display for DialectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dialect name that rev does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown dialect `{0}`: expected mssql, sqlite, postgres or mysql")]
pub struct UnknownDialect(pub String);

impl FromStr for DialectKind {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mssql" | "sqlserver" => Ok(DialectKind::Mssql),
            "sqlite" => Ok(DialectKind::Sqlite),
            "postgres" | "postgresql" => Ok(DialectKind::Postgres),
            "mysql" | "mariadb" => Ok(DialectKind::Mysql),
            other => Err(UnknownDialect(other.to_owned())),
        }
    }
}

/// One SQL statement as rendered for a dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, without a trailing separator.
    pub sql: String,
    /// Whether the statement must open a batch of its own (SQL Server's
    /// CREATE VIEW/PROCEDURE/FUNCTION/TRIGGER, and raw text split on `GO`).
    pub own_batch: bool,
}

impl Statement {
    /// Returns a statement that can share a batch with its neighbours.
    pub fn new(sql: impl Into<String>) -> Self {
        Statement {
            sql: sql.into(),
            own_batch: false,
        }
    }
}

/// Why an operation could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// `SqlFor` has no text for this dialect.
    #[error("SqlFor has no text for {0}")]
    MissingSqlFor(DialectKind),
    /// The operation names a table or column that the folded schema lacks.
    #[error("{0}")]
    UnknownObject(String),
    /// The dialect cannot express the operation.
    #[error("{dialect} cannot {what}")]
    Unsupported {
        /// The dialect.
        dialect: DialectKind,
        /// What it cannot do.
        what: String,
    },
    /// The operation is an item `rev import` could not translate.
    #[error(
        "{dialect} cannot run an untranslated item (from {origin}{}): replace it in the migration file with the operations it stands for",
        if reason.is_empty() { String::new() } else { format!(": {reason}") }
    )]
    Untranslated {
        /// The dialect asked to render it.
        dialect: DialectKind,
        /// Where the item came from.
        origin: String,
        /// Why it was not translated.
        reason: String,
    },
    /// An operation of a migration could not be rendered.
    #[error("operation {index} ({kind}): {source}")]
    AtOperation {
        /// The operation's 1-based position in the migration.
        index: usize,
        /// The operation's kind.
        kind: &'static str,
        /// Why it could not be rendered.
        #[source]
        source: Box<RenderError>,
    },
}

impl RenderError {
    /// Returns the error of `kind` for an [`Operation::Untranslated`], or None
    /// for any other operation.
    pub fn untranslated(kind: DialectKind, op: &Operation) -> Option<RenderError> {
        match op {
            Operation::Untranslated { origin, reason, .. } => Some(RenderError::Untranslated {
                dialect: kind,
                origin: origin.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}

/// Renders a migration's operations in order, each against the schema the
/// ones before it left, and folds them into `schema` as it goes; an error
/// names the operation's 1-based position, and leaves `schema` folded up to
/// the operation before it.
pub fn render_migration(
    dialect: &dyn Dialect,
    ops: &[Operation],
    schema: &mut Schema,
) -> Result<Vec<Statement>, RenderError> {
    let mut statements = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let at = |source: RenderError| RenderError::AtOperation {
            index: i + 1,
            kind: op.kind(),
            source: Box::new(source),
        };
        statements.extend(dialect.render_op(op, schema).map_err(at)?);
        schema
            .apply(op)
            .map_err(|e| at(RenderError::UnknownObject(e.to_string())))?;
    }
    Ok(statements)
}

/// Which way a step moves the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applies a revision.
    Upgrade,
    /// Un-applies a revision.
    Downgrade,
    /// Changes the version table only.
    Stamp,
}

impl Direction {
    /// Returns the word stored in the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One migration to run: its statements and its version-table change commit
/// together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The revision applied or un-applied.
    pub revision: String,
    /// Which way.
    pub direction: Direction,
    /// The statements, in order (empty for a stamp or a merge without operations).
    pub statements: Vec<Statement>,
    /// Version rows to remove (each DELETE/UPDATE must touch exactly one row).
    pub delete_versions: Vec<String>,
    /// Version rows to add.
    pub insert_versions: Vec<String>,
    /// The checksum of the migration's operations, stored in the history table.
    pub checksum: String,
    /// False when the statements must run outside a transaction.
    pub transactional: bool,
}

impl Step {
    /// Returns the version-table changes of this step, pairing each removed
    /// row with an added one as an UPDATE (see [`VersionChange::plan`]).
    pub fn version_changes(&self) -> Vec<VersionChange> {
        VersionChange::plan(&self.delete_versions, &self.insert_versions)
    }
}

/// The dialect-specific column types of the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryTypes {
    /// The `id` column's type with its auto-increment and primary key.
    pub id: &'static str,
    /// The type of `started_at`.
    pub timestamp: &'static str,
    /// The type of `duration_ms`.
    pub integer: &'static str,
    /// The type of `applied_by`.
    pub applied_by: &'static str,
}

/// What a dialect must know how to write.
pub trait Dialect: Send + Sync {
    /// Returns which dialect this is.
    fn kind(&self) -> DialectKind;

    /// Quotes an identifier, escaping the quote character.
    fn quote_ident(&self, ident: &str) -> String;

    /// Quotes a table name, prefixed by its schema when it has one.
    fn qualified(&self, schema: Option<&str>, name: &str) -> String {
        match schema {
            Some(schema) => format!("{}.{}", self.quote_ident(schema), self.quote_ident(name)),
            None => self.quote_ident(name),
        }
    }

    /// Returns the statement that drops a column, the same in every dialect;
    /// SQL Server first drops the constraints that hold the column.
    fn drop_column_sql(&self, schema: Option<&str>, table: &str, column: &str) -> String {
        format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.qualified(schema, table),
            self.quote_ident(column)
        )
    }

    /// Writes a string as a literal, for offline scripts only (live runs bind values).
    fn string_literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    /// Returns quoted column names separated by commas.
    fn column_list(&self, columns: &[String]) -> String {
        columns
            .iter()
            .map(|c| self.quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Returns how the dialect spells an ON DELETE action.
    fn on_delete_sql(&self, action: OnDelete) -> &'static str {
        match action {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Restrict => "RESTRICT",
            OnDelete::NoAction => "NO ACTION",
        }
    }

    /// Returns `CONSTRAINT .. FOREIGN KEY (..) REFERENCES .. (..) [ON DELETE ..]`,
    /// the referenced table in `schema`.
    fn foreign_key_clause(&self, schema: Option<&str>, fk: &ForeignKey) -> String {
        let mut clause = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            self.quote_ident(&fk.name),
            self.column_list(&fk.columns),
            self.qualified(schema, &fk.ref_table),
            self.column_list(&fk.ref_columns)
        );
        if let Some(action) = fk.on_delete {
            clause.push_str(" ON DELETE ");
            clause.push_str(self.on_delete_sql(action));
        }
        clause
    }

    /// Returns `CONSTRAINT .. UNIQUE (..)`.
    fn unique_clause(&self, unique: &Unique) -> String {
        format!(
            "CONSTRAINT {} UNIQUE ({})",
            self.quote_ident(&unique.name),
            self.column_list(&unique.columns)
        )
    }

    /// Returns `CONSTRAINT .. CHECK (..)`; the expression is the user's SQL, as written.
    fn check_clause(&self, check: &Check) -> String {
        format!(
            "CONSTRAINT {} CHECK ({})",
            self.quote_ident(&check.name),
            check.expr
        )
    }

    /// Returns `ALTER TABLE .. ADD <constraint>` for `AddForeignKey`, `AddUnique`
    /// and `AddCheck`, which SQL Server, PostgreSQL and MySQL spell alike; `None`
    /// for any other operation.
    fn add_constraint(&self, op: &Operation) -> Option<String> {
        let (schema, table, clause) = match op {
            Operation::AddForeignKey {
                table,
                foreign_key,
                schema,
            } => (
                schema,
                table,
                self.foreign_key_clause(schema.as_deref(), foreign_key),
            ),
            Operation::AddUnique {
                table,
                unique,
                schema,
            } => (schema, table, self.unique_clause(unique)),
            Operation::AddCheck {
                table,
                check,
                schema,
            } => (schema, table, self.check_clause(check)),
            _ => return None,
        };
        Some(format!(
            "ALTER TABLE {} ADD {clause}",
            self.qualified(schema.as_deref(), table)
        ))
    }

    /// Renders one operation; `before` is the schema just before it runs.
    fn render_op(&self, op: &Operation, before: &Schema) -> Result<Vec<Statement>, RenderError>;

    /// Returns the parameter placeholder for the `index`-th bound value (1-based):
    /// `?1` on SQLite, `?` on MySQL, `$1` on PostgreSQL, `@P1` on SQL Server.
    fn placeholder(&self, index: usize) -> String;

    /// Returns the statements that create the version table when it is missing:
    /// Alembic's shape, `version_num VARCHAR(32) NOT NULL` with primary key `<table>_pkc`.
    fn create_version_table(&self, schema: Option<&str>, table: &str) -> Vec<Statement> {
        let version_num = self.quote_ident("version_num");
        vec![Statement::new(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    {version_num} VARCHAR(32) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY ({version_num})\n)",
            self.qualified(schema, table),
            self.quote_ident(&format!("{table}_pkc")),
        ))]
    }

    /// Returns the statements that create the history table when it is missing
    /// (DESIGN.md §6: id, revision, direction, checksum, started_at, duration_ms, applied_by).
    fn create_history_table(&self, schema: Option<&str>, table: &str) -> Vec<Statement> {
        let types = self.history_types();
        let q = |name: &str| self.quote_ident(name);
        vec![Statement::new(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    {} {},\n    {} VARCHAR(32) NOT NULL,\n    {} VARCHAR(16) NOT NULL,\n    {} VARCHAR(128) NOT NULL,\n    {} {} NOT NULL,\n    {} {} NOT NULL,\n    {} {} NOT NULL\n)",
            self.qualified(schema, table),
            q("id"),
            types.id,
            q("revision"),
            q("direction"),
            q("checksum"),
            q("started_at"),
            types.timestamp,
            q("duration_ms"),
            types.integer,
            q("applied_by"),
            types.applied_by,
        ))]
    }

    /// Returns the column types of the history table in this dialect.
    fn history_types(&self) -> HistoryTypes;

    /// Returns the statement that opens a transaction.
    fn begin_transaction(&self) -> &'static str {
        "BEGIN"
    }

    /// Returns the statement that commits a transaction.
    fn commit_transaction(&self) -> &'static str {
        "COMMIT"
    }

    /// Returns the line written as it is (no `;`) right after an offline
    /// script's header, for the client that runs it (SQLite: `.bail on`, so
    /// that the sqlite3 shell stops at a failed statement instead of going
    /// on to COMMIT half a migration); None (the default) for none.
    fn script_directive(&self) -> Option<&'static str> {
        None
    }

    /// Returns the statements an offline script starts with (SQL Server: `SET XACT_ABORT ON`).
    fn script_preamble(&self) -> Vec<Statement> {
        Vec::new()
    }

    /// Returns the line that ends a batch in offline scripts (`GO` on SQL Server).
    fn batch_separator(&self) -> Option<&'static str> {
        None
    }

    /// Returns the statement that an offline script runs as a batch of its
    /// own between batches, to stop the script after a failed batch (SQL
    /// Server: `IF @@ERROR <> 0 SET NOEXEC ON`); `in_transaction` says whether
    /// the batches around it share an open transaction. None (the default)
    /// where a script has no batches.
    fn script_guard(&self, in_transaction: bool) -> Option<String> {
        let _ = in_transaction;
        None
    }

    /// Returns the statements an offline script ends with (SQL Server: roll
    /// back and raise an error when a guard stopped the script).
    fn script_epilogue(&self) -> Vec<Statement> {
        Vec::new()
    }

    /// Returns the statement that, placed right after an UPDATE or DELETE in
    /// an offline script, fails the migration unless exactly one row was
    /// touched, with `message` as the error; None where the dialect cannot
    /// say that in plain SQL.
    fn expect_one_row(&self, message: &str) -> Option<String> {
        let _ = message;
        None
    }

    /// Returns the statement that, placed right before an UPDATE or DELETE of
    /// the version table `table` (quoted) in an offline script, fails the
    /// migration unless exactly one row has `column` (quoted) equal to
    /// `value` (a literal), with `message` as the error: for dialects that
    /// cannot check a row count afterwards ([`Dialect::expect_one_row`]).
    /// The table's primary key makes one row before the change one row
    /// touched by it. None (the default) where plain SQL cannot say it.
    fn expect_one_row_before(
        &self,
        table: &str,
        column: &str,
        value: &str,
        message: &str,
    ) -> Option<String> {
        let _ = (table, column, value, message);
        None
    }

    /// Returns the SQL expression of the current time in UTC, as history rows store it.
    fn now_utc(&self) -> &'static str {
        "CURRENT_TIMESTAMP"
    }

    /// Returns whether DDL takes part in transactions (false on MySQL, which
    /// commits implicitly before and after each DDL statement).
    fn transactional_ddl(&self) -> bool {
        true
    }
}

/// Returns the error for an [`Operation::Untranslated`] on `kind`.
pub(crate) fn untranslated(kind: DialectKind, op: &Operation) -> RenderError {
    RenderError::untranslated(kind, op).unwrap_or_else(|| RenderError::Unsupported {
        dialect: kind,
        what: format!("render {} as an untranslated item", op.kind()),
    })
}

#[cfg(test)]
mod untranslated_tests {
    use super::*;

    #[test]
    fn every_dialect_refuses_an_untranslated_item() {
        let op = Operation::Untranslated {
            source: "for t in TABLES:\n    op.drop_table(t)".into(),
            origin: "versions/1a2b_x.py:12".into(),
            reason: "a loop".into(),
        };
        for kind in [
            DialectKind::Sqlite,
            DialectKind::Mssql,
            DialectKind::Postgres,
            DialectKind::Mysql,
        ] {
            let mut schema = Schema::default();
            let err = render_migration(&*dialect(kind), std::slice::from_ref(&op), &mut schema)
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!("operation 1 (Untranslated): {kind} cannot run an untranslated item (from versions/1a2b_x.py:12: a loop): replace it in the migration file with the operations it stands for")
            );
        }
    }
}
