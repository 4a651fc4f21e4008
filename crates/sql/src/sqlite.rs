//! The SQLite dialect.
//!
//! SQLite's ALTER TABLE can rename a table or column, add a plain column and
//! drop an unconstrained one; everything else (changing a column, adding or
//! dropping a constraint, adding a column ALTER TABLE refuses, dropping a
//! column that an index or constraint names) rebuilds the table the way
//! <https://sqlite.org/lang_altertable.html#otheralter> describes: create the
//! new shape under a temporary name, copy every row, drop the old table,
//! rename the new one into place, re-create the indexes. Views that name the
//! table keep working; triggers on it are dropped with the old table, since
//! the schema model does not know them.
//!
//! Foreign keys during a rebuild: with `foreign_keys` ON, `DROP TABLE` of the
//! old table deletes its rows first, which fires the ON DELETE actions of
//! every table that references it (CASCADE would empty the children), and
//! `PRAGMA defer_foreign_keys = ON` does not stop actions, only defers checks.
//! `PRAGMA foreign_keys` is a no-op inside a transaction, so it is switched
//! off around the migration's transaction by whoever opens it: for a step
//! that drops a table, the SQLite backend turns it off before `BEGIN` and
//! runs `PRAGMA foreign_key_check` before `COMMIT`; offline scripts turn it
//! off in their preamble. The
//! rebuild statements themselves stay plain so they run inside the
//! migration's transaction and keep every row.

use rev_schema::{Column, ColumnType, Default, Operation, Schema, Table, TableName};

use crate::{Dialect, DialectKind, HistoryTypes, RenderError, Statement};

/// The SQLite dialect: `"quoted"` identifiers, `?N` placeholders, table rebuilds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

/// The prefix of the temporary table a rebuild copies the rows into.
const REBUILD_PREFIX: &str = "_rev_new_";

impl Sqlite {
    fn unsupported(what: impl Into<String>) -> RenderError {
        RenderError::Unsupported {
            dialect: DialectKind::Sqlite,
            what: what.into(),
        }
    }

    /// Returns the type as SQLite declares it; the name keeps the model's
    /// intent while SQLite derives the column's affinity from it.
    pub fn column_type(&self, ty: &ColumnType) -> String {
        match ty {
            ColumnType::Integer => "INTEGER".to_owned(),
            ColumnType::BigInt => "BIGINT".to_owned(),
            ColumnType::SmallInt => "SMALLINT".to_owned(),
            ColumnType::Boolean => "BOOLEAN".to_owned(),
            ColumnType::String(n) => format!("VARCHAR({n})"),
            ColumnType::Text | ColumnType::Json => "TEXT".to_owned(),
            ColumnType::Decimal(p, s) => format!("NUMERIC({p}, {s})"),
            ColumnType::Float => "REAL".to_owned(),
            ColumnType::Date => "DATE".to_owned(),
            ColumnType::Time => "TIME".to_owned(),
            ColumnType::DateTime => "DATETIME".to_owned(),
            ColumnType::DateTimeTz => "TIMESTAMP".to_owned(),
            ColumnType::Uuid => "CHAR(36)".to_owned(),
            ColumnType::Binary(_) | ColumnType::Blob => "BLOB".to_owned(),
            ColumnType::Custom(text) => text.clone(),
        }
    }

    /// Returns the SQL expression of a default value as SQLite stores it.
    pub fn default_value(&self, default: &Default) -> Result<String, RenderError> {
        Ok(match default {
            Default::Int(v) => v.to_string(),
            Default::Float(v) if v.is_finite() => format!("{v:?}"),
            Default::Float(v) => return Err(Self::unsupported(format!("store the default {v}"))),
            Default::Str(s) => self.string_literal(s),
            Default::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Default::Now => "CURRENT_TIMESTAMP".to_owned(),
            // SQLite has no UUID function: build a version-4 UUID from random bytes.
            Default::NewUuid => "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) \
                || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' \
                || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) \
                || '-' || lower(hex(randomblob(6))))"
                .to_owned(),
            Default::Expr(expr) => format!("({expr})"),
        })
    }

    /// Returns a column's definition; `inline_pk` when it alone is the primary key.
    fn column_def(&self, column: &Column, inline_pk: bool) -> Result<String, RenderError> {
        let mut def = format!("{} ", self.quote_ident(&column.name));
        if column.identity {
            let integer = matches!(
                column.ty,
                ColumnType::Integer | ColumnType::BigInt | ColumnType::SmallInt
            );
            if !(inline_pk && integer) {
                return Err(Self::unsupported(format!(
                    "make `{}` an identity: AUTOINCREMENT needs a single-column integer primary key",
                    column.name
                )));
            }
            // Only the exact type name INTEGER makes the column the rowid.
            def.push_str("INTEGER PRIMARY KEY AUTOINCREMENT");
        } else {
            def.push_str(&self.column_type(&column.ty));
            if inline_pk {
                def.push_str(" PRIMARY KEY");
            }
        }
        if !column.is_nullable() {
            def.push_str(" NOT NULL");
        }
        if column.unique {
            def.push_str(" UNIQUE");
        }
        if let Some(default) = &column.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.default_value(default)?);
        }
        Ok(def)
    }

    /// Returns `CREATE TABLE` for the whole table (without its indexes) under `name`.
    fn create_table(&self, table: &Table, name: &str) -> Result<String, RenderError> {
        let pk: Vec<&Column> = table.columns.iter().filter(|c| c.primary_key).collect();
        let inline_pk = pk.len() == 1;
        let mut parts = Vec::new();
        for column in &table.columns {
            parts.push(self.column_def(column, inline_pk && column.primary_key)?);
        }
        if pk.len() > 1 {
            let names: Vec<String> = pk.iter().map(|c| c.name.clone()).collect();
            parts.push(format!("PRIMARY KEY ({})", self.column_list(&names)));
        }
        parts.extend(table.uniques.iter().map(|u| self.unique_clause(u)));
        parts.extend(table.checks.iter().map(|c| self.check_clause(c)));
        // SQLite resolves REFERENCES in the referencing table's own schema and
        // refuses a qualifier there.
        parts.extend(
            table
                .foreign_keys
                .iter()
                .map(|fk| self.foreign_key_clause(None, fk)),
        );
        Ok(format!(
            "CREATE TABLE {} (\n    {}\n)",
            self.qualified(table.schema.as_deref(), name),
            parts.join(",\n    ")
        ))
    }

    /// Returns `CREATE INDEX`; SQLite puts the schema on the index, not the table.
    fn create_index(
        &self,
        schema: Option<&str>,
        name: &str,
        table: &str,
        columns: &[String],
        unique: bool,
    ) -> String {
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if unique { "UNIQUE " } else { "" },
            self.qualified(schema, name),
            self.quote_ident(table),
            self.column_list(columns)
        )
    }

    /// Returns the statements that rebuild `before` into `after` (same name),
    /// copying the columns both share, by name.
    fn rebuild(&self, before: &Table, after: &Table) -> Result<Vec<Statement>, RenderError> {
        let schema = after.schema.as_deref();
        let temp = format!("{REBUILD_PREFIX}{}", after.name);
        let shared: Vec<String> = after
            .columns
            .iter()
            .filter(|c| before.column(&c.name).is_some())
            .map(|c| c.name.clone())
            .collect();
        let mut statements = vec![Statement::new(self.create_table(after, &temp)?)];
        if !shared.is_empty() {
            let list = self.column_list(&shared);
            statements.push(Statement::new(format!(
                "INSERT INTO {} ({list}) SELECT {list} FROM {}",
                self.qualified(schema, &temp),
                self.qualified(schema, &before.name)
            )));
        }
        statements.push(Statement::new(format!(
            "DROP TABLE {}",
            self.qualified(schema, &before.name)
        )));
        // Since SQLite 3.26 a rename checks every view and trigger in the
        // schema, and one that names the table just dropped fails it; the
        // legacy rename only renames, which is all a rebuild needs.
        statements.push(Statement::new("PRAGMA legacy_alter_table = ON"));
        statements.push(Statement::new(format!(
            "ALTER TABLE {} RENAME TO {}",
            self.qualified(schema, &temp),
            self.quote_ident(&after.name)
        )));
        statements.push(Statement::new("PRAGMA legacy_alter_table = OFF"));
        for index in &after.indexes {
            statements.push(Statement::new(self.create_index(
                schema,
                &index.name,
                &after.name,
                &index.columns,
                index.unique,
            )));
        }
        Ok(statements)
    }

    /// Returns whether `ALTER TABLE ADD COLUMN` can add `column`: SQLite refuses
    /// PRIMARY KEY and UNIQUE columns, non-constant defaults, and NOT NULL
    /// without a default.
    fn can_add_column(column: &Column) -> bool {
        let constant_default = matches!(
            column.default,
            None | Some(Default::Int(_) | Default::Float(_) | Default::Str(_) | Default::Bool(_))
        );
        !column.primary_key
            && !column.identity
            && !column.unique
            && constant_default
            && (column.is_nullable() || column.default.is_some())
    }
}

fn table<'a>(
    schema: &'a Schema,
    owner: Option<&str>,
    name: &str,
) -> Result<&'a Table, RenderError> {
    schema.table(owner, name).ok_or_else(|| {
        RenderError::UnknownObject(format!(
            "table `{}` does not exist",
            TableName::new(owner, name)
        ))
    })
}

/// Returns a schema holding only the operation's table as the operation
/// leaves it, checking that the operation fits. Folding a clone of the whole
/// schema for every operation would make long histories quadratic.
fn fold_target(op: &Operation, before: &Schema) -> Result<Schema, RenderError> {
    let mut after = Schema::default();
    if let Some((schema, name)) = op.target_table() {
        let key = TableName::new(schema, name);
        if let Some(table) = before.tables.get(&key) {
            after.tables.insert(key, table.clone());
        }
    }
    after
        .apply(op)
        .map_err(|e| RenderError::UnknownObject(e.to_string()))?;
    Ok(after)
}

impl Dialect for Sqlite {
    fn kind(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn placeholder(&self, index: usize) -> String {
        format!("?{index}")
    }

    /// Returns `.bail on`: a failed statement leaves an SQLite transaction
    /// open, and the sqlite3 shell would otherwise run the rest of the
    /// migration, its version change and its COMMIT. A client that does not
    /// know dot-commands fails on this first line, before anything runs.
    fn script_directive(&self) -> Option<&'static str> {
        Some(".bail on")
    }

    fn render_op(&self, op: &Operation, before: &Schema) -> Result<Vec<Statement>, RenderError> {
        let after = fold_target(op, before)?;
        let rebuild_of = |schema: &Option<String>, name: &str| {
            let schema = schema.as_deref();
            self.rebuild(table(before, schema, name)?, table(&after, schema, name)?)
        };
        let one = |sql: String| Ok(vec![Statement::new(sql)]);
        match op {
            Operation::CreateTable { name, schema, .. } => {
                one(self.create_table(table(&after, schema.as_deref(), name)?, name)?)
            }
            Operation::DropTable { name, schema } => one(format!(
                "DROP TABLE {}",
                self.qualified(schema.as_deref(), name)
            )),
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => one(format!(
                "ALTER TABLE {} RENAME TO {}",
                self.qualified(schema.as_deref(), name),
                self.quote_ident(new_name)
            )),
            Operation::AddColumn {
                table: name,
                column,
                schema,
            } => {
                if Self::can_add_column(column) {
                    one(format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        self.qualified(schema.as_deref(), name),
                        self.column_def(column, false)?
                    ))
                } else {
                    rebuild_of(schema, name)
                }
            }
            Operation::DropColumn {
                table: name,
                name: column,
                schema,
            } => {
                if table(before, schema.as_deref(), name)?.column_is_constrained(column) {
                    rebuild_of(schema, name)
                } else {
                    one(self.drop_column_sql(schema.as_deref(), name, column))
                }
            }
            Operation::RenameColumn {
                table: name,
                name: column,
                new_name,
                schema,
            } => one(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                self.qualified(schema.as_deref(), name),
                self.quote_ident(column),
                self.quote_ident(new_name)
            )),
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
                schema,
            } => one(self.create_index(schema.as_deref(), name, table, columns, *unique)),
            Operation::DropIndex { name, schema, .. } => one(format!(
                "DROP INDEX {}",
                self.qualified(schema.as_deref(), name)
            )),
            Operation::AlterColumn { table, schema, .. }
            | Operation::AddForeignKey { table, schema, .. }
            | Operation::AddUnique { table, schema, .. }
            | Operation::AddCheck { table, schema, .. }
            | Operation::DropConstraint { table, schema, .. } => rebuild_of(schema, table),
            Operation::Sql(sql) => one(sql.clone()),
            Operation::SqlFor(per) => match &per.sqlite {
                Some(sql) => one(sql.clone()),
                None => Err(RenderError::MissingSqlFor(DialectKind::Sqlite)),
            },
            Operation::Untranslated { .. } => Err(crate::untranslated(DialectKind::Sqlite, op)),
        }
    }

    fn history_types(&self) -> HistoryTypes {
        HistoryTypes {
            id: "INTEGER PRIMARY KEY AUTOINCREMENT",
            timestamp: "TEXT",
            integer: "INTEGER",
            applied_by: "VARCHAR(255)",
        }
    }

    fn script_preamble(&self) -> Vec<Statement> {
        // Table rebuilds need foreign keys off (see the module comment), and
        // the pragma only takes effect outside a transaction.
        vec![Statement::new("PRAGMA foreign_keys = OFF")]
    }
}
