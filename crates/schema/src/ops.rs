//! The operations a migration holds, as data (DESIGN.md §2).
//!
//! Field names and variant names are the migration file format: renaming one
//! breaks every file users have written, so they only ever grow.

use serde::{Deserialize, Serialize};

/// A column's type, independent of any dialect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// 16-bit integer.
    SmallInt,
    /// True or false.
    Boolean,
    /// Variable-length text of at most this many characters.
    String(u32),
    /// Text of unbounded length.
    Text,
    /// Exact number with precision and scale.
    Decimal(u8, u8),
    /// Double-precision floating point.
    Float,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time without a zone.
    DateTime,
    /// Date and time with a zone offset.
    DateTimeTz,
    /// A UUID.
    Uuid,
    /// Binary data of at most this many bytes.
    Binary(u32),
    /// Binary data of unbounded length.
    Blob,
    /// A JSON document.
    Json,
    /// A type written as the dialect spells it, passed through unchanged.
    Custom(String),
}

/// A column's default value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Default {
    /// An integer literal.
    Int(i64),
    /// A floating-point literal.
    Float(f64),
    /// A string literal (quoted by the dialect).
    Str(String),
    /// A boolean literal.
    Bool(bool),
    /// The current timestamp.
    Now,
    /// A freshly generated UUID.
    NewUuid,
    /// Raw SQL, written as the dialect needs it.
    Expr(String),
}

/// What happens to referencing rows when the referenced row is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OnDelete {
    /// Delete the referencing rows too.
    Cascade,
    /// Set the referencing columns to NULL.
    SetNull,
    /// Refuse the delete.
    Restrict,
    /// Refuse the delete at the end of the statement.
    NoAction,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The column's type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed; when absent, true unless the column is a primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Whether the column is (part of) the primary key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary_key: bool,
    /// Whether the database generates the value (IDENTITY, AUTOINCREMENT, ...).
    #[serde(default, skip_serializing_if = "is_false")]
    pub identity: bool,
    /// Whether the column's values are unique.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// The column's default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Default>,
}

impl Column {
    /// Returns whether the column accepts NULL, applying the default rule.
    pub fn is_nullable(&self) -> bool {
        self.nullable.unwrap_or(!self.primary_key)
    }
}

/// A foreign-key constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns, in the order of `columns`.
    pub ref_columns: Vec<String>,
    /// The action on delete of the referenced row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unique {
    /// The constraint's name.
    pub name: String,
    /// The columns whose combination is unique.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// The SQL boolean expression that every row must satisfy.
    pub expr: String,
}

/// An index, as models declare it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index enforces uniqueness.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

/// Raw SQL for each dialect; a dialect without text cannot render it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlPerDialect {
    /// Text for SQL Server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mssql: Option<String>,
    /// Text for PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// Text for SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<String>,
    /// Text for MySQL and MariaDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<String>,
}

/// One schema change, Alembic's `op.*` set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Operation {
    /// Creates a table with its columns and table-level constraints.
    CreateTable {
        /// The table's name.
        name: String,
        /// The table's columns, in order.
        columns: Vec<Column>,
        /// Foreign keys created with the table.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        foreign_keys: Vec<ForeignKey>,
        /// Unique constraints created with the table.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uniques: Vec<Unique>,
        /// Check constraints created with the table.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        checks: Vec<Check>,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Drops a table.
    DropTable {
        /// The table's name.
        name: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Renames a table.
    RenameTable {
        /// The table's current name.
        name: String,
        /// The table's new name.
        new_name: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Adds a column to a table.
    AddColumn {
        /// The table's name.
        table: String,
        /// The new column.
        column: Column,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Drops a column from a table.
    DropColumn {
        /// The table's name.
        table: String,
        /// The column's name.
        name: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Changes a column's type, nullability or default; absent fields stay as they are.
    AlterColumn {
        /// The table's name.
        table: String,
        /// The column's name.
        name: String,
        /// The new type.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        ty: Option<ColumnType>,
        /// The new nullability.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nullable: Option<bool>,
        /// The new default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<Default>,
        /// Whether to remove the current default.
        #[serde(default, skip_serializing_if = "is_false")]
        drop_default: bool,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Renames a column.
    RenameColumn {
        /// The table's name.
        table: String,
        /// The column's current name.
        name: String,
        /// The column's new name.
        new_name: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Creates an index.
    CreateIndex {
        /// The index's name.
        name: String,
        /// The indexed table.
        table: String,
        /// The indexed columns, in order.
        columns: Vec<String>,
        /// Whether the index enforces uniqueness.
        #[serde(default, skip_serializing_if = "is_false")]
        unique: bool,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Drops an index.
    DropIndex {
        /// The index's name.
        name: String,
        /// The indexed table.
        table: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Adds a foreign key to an existing table.
    AddForeignKey {
        /// The referencing table.
        table: String,
        /// The constraint.
        foreign_key: ForeignKey,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Adds a unique constraint to an existing table.
    AddUnique {
        /// The table's name.
        table: String,
        /// The constraint.
        unique: Unique,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Adds a check constraint to an existing table.
    AddCheck {
        /// The table's name.
        table: String,
        /// The constraint.
        check: Check,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Drops a named constraint (foreign key, unique or check).
    DropConstraint {
        /// The table's name.
        table: String,
        /// The constraint's name.
        name: String,
        /// The schema that holds the table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
    },
    /// Raw SQL run as written on every dialect.
    Sql(String),
    /// Raw SQL per dialect.
    SqlFor(SqlPerDialect),
    /// Something `rev import` could not translate, kept as written in the
    /// source it came from. Every dialect refuses to render it and `rev check`
    /// reports it, until it is replaced by hand with the operations it stands for.
    Untranslated {
        /// The source text, as written (Python for an Alembic import).
        source: String,
        /// Where it came from: `versions/1a2b_add_users.py:12`.
        origin: String,
        /// Why it was not translated.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
}

impl Operation {
    /// Returns the name of the variant, as the file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::CreateTable { .. } => "CreateTable",
            Operation::DropTable { .. } => "DropTable",
            Operation::RenameTable { .. } => "RenameTable",
            Operation::AddColumn { .. } => "AddColumn",
            Operation::DropColumn { .. } => "DropColumn",
            Operation::AlterColumn { .. } => "AlterColumn",
            Operation::RenameColumn { .. } => "RenameColumn",
            Operation::CreateIndex { .. } => "CreateIndex",
            Operation::DropIndex { .. } => "DropIndex",
            Operation::AddForeignKey { .. } => "AddForeignKey",
            Operation::AddUnique { .. } => "AddUnique",
            Operation::AddCheck { .. } => "AddCheck",
            Operation::DropConstraint { .. } => "DropConstraint",
            Operation::Sql(_) => "Sql",
            Operation::SqlFor(_) => "SqlFor",
            Operation::Untranslated { .. } => "Untranslated",
        }
    }

    /// Returns the schema and name of the table the operation changes (a
    /// table's current name for RenameTable), or None for raw SQL and
    /// untranslated items.
    pub fn target_table(&self) -> Option<(Option<&str>, &str)> {
        let (schema, name) = match self {
            Operation::CreateTable { name, schema, .. }
            | Operation::DropTable { name, schema }
            | Operation::RenameTable { name, schema, .. } => (schema, name),
            Operation::AddColumn { table, schema, .. }
            | Operation::DropColumn { table, schema, .. }
            | Operation::AlterColumn { table, schema, .. }
            | Operation::RenameColumn { table, schema, .. }
            | Operation::CreateIndex { table, schema, .. }
            | Operation::DropIndex { table, schema, .. }
            | Operation::AddForeignKey { table, schema, .. }
            | Operation::AddUnique { table, schema, .. }
            | Operation::AddCheck { table, schema, .. }
            | Operation::DropConstraint { table, schema, .. } => (schema, table),
            Operation::Sql(_) | Operation::SqlFor(_) | Operation::Untranslated { .. } => {
                return None
            }
        };
        Some((schema.as_deref(), name.as_str()))
    }
}

/// A declared table (a model), for autogenerate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// The schema that holds the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The table's columns, in order.
    pub columns: Vec<Column>,
    /// The table's indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// The table's foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// The table's unique constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Unique>,
    /// The table's check constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}
