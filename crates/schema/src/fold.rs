//! Folding operations into a [`Schema`]: the schema each revision leaves behind.

use std::fmt;

use crate::{Column, Operation, Schema, Table, TableName};

/// Why an operation does not fit the schema it is folded into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// The operation names a table that does not exist.
    #[error("table `{0}` does not exist")]
    NoTable(TableName),
    /// The operation creates a table that already exists.
    #[error("table `{0}` already exists")]
    TableExists(TableName),
    /// The operation names a column that the table lacks.
    #[error("column `{column}` does not exist in `{table}`")]
    NoColumn {
        /// The table.
        table: TableName,
        /// The missing column.
        column: String,
    },
    /// The operation adds a column that the table already has.
    #[error("column `{column}` already exists in `{table}`")]
    ColumnExists {
        /// The table.
        table: TableName,
        /// The repeated column.
        column: String,
    },
    /// The operation names an index that the table lacks.
    #[error("index `{index}` does not exist on `{table}`")]
    NoIndex {
        /// The table.
        table: TableName,
        /// The missing index.
        index: String,
    },
    /// The operation creates an index whose name the table already uses.
    #[error("index `{index}` already exists on `{table}`")]
    IndexExists {
        /// The table.
        table: TableName,
        /// The repeated index name.
        index: String,
    },
    /// The operation names a constraint that the table lacks.
    #[error("constraint `{constraint}` does not exist on `{table}`")]
    NoConstraint {
        /// The table.
        table: TableName,
        /// The missing constraint.
        constraint: String,
    },
    /// The operation adds a constraint whose name the table already uses.
    #[error("constraint `{constraint}` already exists on `{table}`")]
    ConstraintExists {
        /// The table.
        table: TableName,
        /// The repeated constraint name.
        constraint: String,
    },
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl Table {
    /// Returns the column called `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Returns whether a foreign key, unique or check constraint is called `name`.
    pub fn has_constraint(&self, name: &str) -> bool {
        self.foreign_keys.iter().any(|c| c.name == name)
            || self.uniques.iter().any(|c| c.name == name)
            || self.checks.iter().any(|c| c.name == name)
    }

    /// Returns whether `column` takes part in a primary key, unique flag, index,
    /// unique constraint, foreign key or check of this table.
    pub fn column_is_constrained(&self, column: &str) -> bool {
        let named = |cols: &[String]| cols.iter().any(|c| c == column);
        self.column(column)
            .is_some_and(|c| c.primary_key || c.unique || c.identity)
            || self.indexes.iter().any(|i| named(&i.columns))
            || self.uniques.iter().any(|u| named(&u.columns))
            || self.foreign_keys.iter().any(|f| named(&f.columns))
            || self.checks.iter().any(|c| expr_mentions(&c.expr, column))
    }
}

/// Returns whether `ident` occurs as an identifier token (bare, "double-quoted",
/// [bracketed] or `backticked`) in `expr`, outside string literals.
pub fn expr_mentions(expr: &str, ident: &str) -> bool {
    let mut found = false;
    rewrite_idents(expr, |word| {
        if word.eq_ignore_ascii_case(ident) {
            found = true;
        }
        None
    });
    found
}

/// Returns `expr` with every identifier token equal to `old` renamed to `new`,
/// keeping the token's quoting; string literals are left alone.
pub fn rename_in_expr(expr: &str, old: &str, new: &str) -> String {
    rewrite_idents(expr, |word| {
        word.eq_ignore_ascii_case(old).then(|| new.to_owned())
    })
}

/// Walks the identifier tokens of a SQL expression, letting `f` replace them.
fn rewrite_idents(expr: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.char_indices().peekable();
    while let Some((start, ch)) = chars.next() {
        let close = match ch {
            '\'' => {
                out.push(ch);
                // A string literal: '' inside is an escaped quote, which the
                // loop sees as the literal closing and a new one opening.
                for (_, c) in chars.by_ref() {
                    out.push(c);
                    if c == '\'' {
                        break;
                    }
                }
                continue;
            }
            '"' => Some('"'),
            '[' => Some(']'),
            '`' => Some('`'),
            c if c.is_alphabetic() || c == '_' => None,
            c => {
                out.push(c);
                continue;
            }
        };
        match close {
            Some(close) => {
                let mut word = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == close {
                        closed = true;
                        break;
                    }
                    word.push(c);
                }
                out.push(ch);
                out.push_str(&f(&word).unwrap_or(word));
                if closed {
                    out.push(close);
                }
            }
            None => {
                let mut end = start + ch.len_utf8();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '$' {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &expr[start..end];
                out.push_str(&f(word).unwrap_or_else(|| word.to_owned()));
            }
        }
    }
    out
}

fn names_column(columns: &[String], column: &str) -> bool {
    columns.iter().any(|c| c == column)
}

fn rename_column_in(columns: &mut [String], old: &str, new: &str) {
    for c in columns.iter_mut().filter(|c| *c == old) {
        *c = new.to_owned();
    }
}

impl Schema {
    /// Returns the table at this address mutably, or an error naming it.
    fn table_mut(&mut self, key: &TableName) -> Result<&mut Table, FoldError> {
        self.tables
            .get_mut(key)
            .ok_or_else(|| FoldError::NoTable(key.clone()))
    }

    /// Changes the schema as `op` changes the database.
    ///
    /// Dropping a column also drops the indexes and constraints that name it;
    /// renaming a table or column also renames it where other tables' foreign
    /// keys and this table's indexes and constraints refer to it, as SQLite,
    /// PostgreSQL and SQL Server do. Raw SQL and untranslated items leave the
    /// schema unchanged.
    pub fn apply(&mut self, op: &Operation) -> Result<(), FoldError> {
        match op {
            Operation::CreateTable {
                name,
                columns,
                foreign_keys,
                uniques,
                checks,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), name);
                if self.tables.contains_key(&key) {
                    return Err(FoldError::TableExists(key));
                }
                let mut table = Table {
                    name: name.clone(),
                    schema: schema.clone(),
                    columns: Vec::with_capacity(columns.len()),
                    indexes: Vec::new(),
                    foreign_keys: Vec::new(),
                    uniques: Vec::new(),
                    checks: Vec::new(),
                };
                for column in columns {
                    if table.column(&column.name).is_some() {
                        return Err(FoldError::ColumnExists {
                            table: key,
                            column: column.name.clone(),
                        });
                    }
                    table.columns.push(column.clone());
                }
                for fk in foreign_keys {
                    add_constraint_name(&table, &key, &fk.name)?;
                    require_columns(&table, &key, &fk.columns)?;
                    table.foreign_keys.push(fk.clone());
                }
                for unique in uniques {
                    add_constraint_name(&table, &key, &unique.name)?;
                    require_columns(&table, &key, &unique.columns)?;
                    table.uniques.push(unique.clone());
                }
                for check in checks {
                    add_constraint_name(&table, &key, &check.name)?;
                    table.checks.push(check.clone());
                }
                self.tables.insert(key, table);
            }
            Operation::DropTable { name, schema } => {
                let key = TableName::new(schema.as_deref(), name);
                self.tables.remove(&key).ok_or(FoldError::NoTable(key))?;
            }
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), name);
                let new_key = TableName::new(schema.as_deref(), new_name);
                if self.tables.contains_key(&new_key) {
                    return Err(FoldError::TableExists(new_key));
                }
                let mut table = self
                    .tables
                    .remove(&key)
                    .ok_or_else(|| FoldError::NoTable(key.clone()))?;
                table.name = new_name.clone();
                self.tables.insert(new_key, table);
                for (_, other) in self
                    .tables
                    .iter_mut()
                    .filter(|(k, _)| k.schema == key.schema)
                {
                    for fk in other
                        .foreign_keys
                        .iter_mut()
                        .filter(|f| f.ref_table == *name)
                    {
                        fk.ref_table = new_name.clone();
                    }
                }
            }
            Operation::AddColumn {
                table,
                column,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                if t.column(&column.name).is_some() {
                    return Err(FoldError::ColumnExists {
                        table: key,
                        column: column.name.clone(),
                    });
                }
                t.columns.push(column.clone());
            }
            Operation::DropColumn {
                table,
                name,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                require_columns(t, &key, std::slice::from_ref(name))?;
                t.columns.retain(|c| c.name != *name);
                t.indexes.retain(|i| !names_column(&i.columns, name));
                t.uniques.retain(|u| !names_column(&u.columns, name));
                t.foreign_keys.retain(|f| !names_column(&f.columns, name));
                t.checks.retain(|c| !expr_mentions(&c.expr, name));
            }
            Operation::AlterColumn {
                table,
                name,
                ty,
                nullable,
                default,
                drop_default,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                let column = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == *name)
                    .ok_or_else(|| FoldError::NoColumn {
                        table: key.clone(),
                        column: name.clone(),
                    })?;
                if let Some(ty) = ty {
                    column.ty = ty.clone();
                }
                if let Some(nullable) = nullable {
                    column.nullable = Some(*nullable);
                }
                if *drop_default {
                    column.default = None;
                }
                if let Some(default) = default {
                    column.default = Some(default.clone());
                }
            }
            Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                if t.column(new_name).is_some() {
                    return Err(FoldError::ColumnExists {
                        table: key,
                        column: new_name.clone(),
                    });
                }
                let column = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == *name)
                    .ok_or_else(|| FoldError::NoColumn {
                        table: key.clone(),
                        column: name.clone(),
                    })?;
                column.name = new_name.clone();
                for index in &mut t.indexes {
                    rename_column_in(&mut index.columns, name, new_name);
                }
                for unique in &mut t.uniques {
                    rename_column_in(&mut unique.columns, name, new_name);
                }
                for fk in &mut t.foreign_keys {
                    rename_column_in(&mut fk.columns, name, new_name);
                }
                for check in &mut t.checks {
                    check.expr = rename_in_expr(&check.expr, name, new_name);
                }
                for (_, other) in self
                    .tables
                    .iter_mut()
                    .filter(|(k, _)| k.schema == key.schema)
                {
                    for fk in other
                        .foreign_keys
                        .iter_mut()
                        .filter(|f| f.ref_table == key.name)
                    {
                        rename_column_in(&mut fk.ref_columns, name, new_name);
                    }
                }
            }
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                // Only the table's own indexes are searched: scanning every
                // table per index would make folding a long history quadratic,
                // and the database refuses a name taken by another table.
                if t.indexes.iter().any(|i| i.name == *name) {
                    return Err(FoldError::IndexExists {
                        table: key,
                        index: name.clone(),
                    });
                }
                require_columns(t, &key, columns)?;
                t.indexes.push(crate::Index {
                    name: name.clone(),
                    columns: columns.clone(),
                    unique: *unique,
                });
            }
            Operation::DropIndex {
                name,
                table,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                let before = t.indexes.len();
                t.indexes.retain(|i| i.name != *name);
                if t.indexes.len() == before {
                    return Err(FoldError::NoIndex {
                        table: key,
                        index: name.clone(),
                    });
                }
            }
            Operation::AddForeignKey {
                table,
                foreign_key,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                add_constraint_name(t, &key, &foreign_key.name)?;
                require_columns(t, &key, &foreign_key.columns)?;
                t.foreign_keys.push(foreign_key.clone());
            }
            Operation::AddUnique {
                table,
                unique,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                add_constraint_name(t, &key, &unique.name)?;
                require_columns(t, &key, &unique.columns)?;
                t.uniques.push(unique.clone());
            }
            Operation::AddCheck {
                table,
                check,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                add_constraint_name(t, &key, &check.name)?;
                t.checks.push(check.clone());
            }
            Operation::DropConstraint {
                table,
                name,
                schema,
            } => {
                let key = TableName::new(schema.as_deref(), table);
                let t = self.table_mut(&key)?;
                if !t.has_constraint(name) {
                    return Err(FoldError::NoConstraint {
                        table: key,
                        constraint: name.clone(),
                    });
                }
                t.foreign_keys.retain(|c| c.name != *name);
                t.uniques.retain(|c| c.name != *name);
                t.checks.retain(|c| c.name != *name);
            }
            // What an untranslated item does is unknown until it is replaced;
            // rendering refuses it, so folding passes over it like raw SQL.
            Operation::Sql(_) | Operation::SqlFor(_) | Operation::Untranslated { .. } => {}
        }
        Ok(())
    }
}

fn add_constraint_name(table: &Table, key: &TableName, name: &str) -> Result<(), FoldError> {
    if table.has_constraint(name) {
        return Err(FoldError::ConstraintExists {
            table: key.clone(),
            constraint: name.to_owned(),
        });
    }
    Ok(())
}

fn require_columns(table: &Table, key: &TableName, columns: &[String]) -> Result<(), FoldError> {
    match columns.iter().find(|c| table.column(c).is_none()) {
        Some(missing) => Err(FoldError::NoColumn {
            table: key.clone(),
            column: missing.clone(),
        }),
        None => Ok(()),
    }
}
