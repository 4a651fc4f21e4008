//! The MySQL and MariaDB dialect.
//!
//! MySQL commits DDL implicitly, before and after each statement, so a
//! migration's statements cannot be rolled back together: see
//! [`Dialect::transactional_ddl`].

use rev_schema::{Column, ColumnType, Default as ColumnDefault, Operation, Schema};

use crate::postgres::raw_sql;
use crate::{Dialect, DialectKind, HistoryTypes, RenderError, Statement};

/// Renders operations and version-table statements for MySQL 8 and MariaDB 10.5+.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mysql;

impl Mysql {
    /// Returns the MySQL spelling of a column type.
    pub fn column_type(&self, ty: &ColumnType) -> String {
        match ty {
            ColumnType::Integer => "INT".to_owned(),
            ColumnType::BigInt => "BIGINT".to_owned(),
            ColumnType::SmallInt => "SMALLINT".to_owned(),
            ColumnType::Boolean => "TINYINT(1)".to_owned(),
            ColumnType::String(n) => format!("VARCHAR({n})"),
            ColumnType::Text => "LONGTEXT".to_owned(),
            ColumnType::Decimal(p, s) => format!("DECIMAL({p}, {s})"),
            ColumnType::Float => "DOUBLE".to_owned(),
            ColumnType::Date => "DATE".to_owned(),
            ColumnType::Time => "TIME".to_owned(),
            ColumnType::DateTime => "DATETIME(6)".to_owned(),
            ColumnType::DateTimeTz => "TIMESTAMP".to_owned(),
            ColumnType::Uuid => "CHAR(36)".to_owned(),
            ColumnType::Binary(n) => format!("VARBINARY({n})"),
            ColumnType::Blob => "LONGBLOB".to_owned(),
            ColumnType::Json => "JSON".to_owned(),
            ColumnType::Custom(text) => text.clone(),
        }
    }

    /// Returns the SQL expression of a default value for a column of type `ty`.
    ///
    /// MySQL wants `CURRENT_TIMESTAMP` with the column's fractional precision,
    /// so `Now` depends on the type.
    pub fn default_value(
        &self,
        default: &ColumnDefault,
        ty: &ColumnType,
    ) -> Result<String, RenderError> {
        Ok(match default {
            ColumnDefault::Int(n) => n.to_string(),
            ColumnDefault::Float(x) if !x.is_finite() => {
                return Err(RenderError::Unsupported {
                    dialect: DialectKind::Mysql,
                    what: format!("store the non-finite default {x} (it has no NaN or infinity)"),
                })
            }
            ColumnDefault::Float(x) => format!("{x:?}"),
            ColumnDefault::Str(text) => self.string_literal(text),
            ColumnDefault::Bool(true) => "TRUE".to_owned(),
            ColumnDefault::Bool(false) => "FALSE".to_owned(),
            ColumnDefault::Now if *ty == ColumnType::DateTime => "CURRENT_TIMESTAMP(6)".to_owned(),
            ColumnDefault::Now => "CURRENT_TIMESTAMP".to_owned(),
            ColumnDefault::NewUuid => "(UUID())".to_owned(),
            ColumnDefault::Expr(text) => text.clone(),
        })
    }

    /// Returns a column's definition; `keys` adds PRIMARY KEY and UNIQUE, which
    /// MODIFY COLUMN must leave out because the indexes already exist.
    fn column_def(&self, column: &Column, keys: bool) -> Result<String, RenderError> {
        let mut def = format!(
            "{} {}",
            self.quote_ident(&column.name),
            self.column_type(&column.ty)
        );
        def.push_str(if column.is_nullable() {
            " NULL"
        } else {
            " NOT NULL"
        });
        if let Some(default) = &column.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.default_value(default, &column.ty)?);
        }
        if column.identity {
            def.push_str(" AUTO_INCREMENT");
        }
        if keys && column.primary_key {
            def.push_str(" PRIMARY KEY");
        }
        if keys && column.unique {
            def.push_str(" UNIQUE");
        }
        Ok(def)
    }

    fn unknown_column(schema: Option<&str>, table: &str, column: &str) -> RenderError {
        let table = match schema {
            Some(schema) => format!("{schema}.{table}"),
            None => table.to_owned(),
        };
        RenderError::UnknownObject(format!(
            "cannot alter column `{column}` of table `{table}`: the migrations before it do not \
             define that column, and MySQL's MODIFY COLUMN must restate its whole definition"
        ))
    }
}

impl Dialect for Mysql {
    fn kind(&self) -> DialectKind {
        DialectKind::Mysql
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    /// Writes a string literal; MySQL treats a backslash as an escape unless
    /// NO_BACKSLASH_ESCAPES is set, so backslashes are doubled too.
    fn string_literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    }

    fn render_op(&self, op: &Operation, before: &Schema) -> Result<Vec<Statement>, RenderError> {
        let sql = match op {
            Operation::CreateTable {
                name,
                columns,
                foreign_keys,
                uniques,
                checks,
                schema,
            } => {
                let schema = schema.as_deref();
                let pk: Vec<String> = columns
                    .iter()
                    .filter(|c| c.primary_key)
                    .map(|c| c.name.clone())
                    .collect();
                let mut parts = columns
                    .iter()
                    .map(|c| self.column_def(c, false))
                    .collect::<Result<Vec<_>, _>>()?;
                if !pk.is_empty() {
                    parts.push(format!("PRIMARY KEY ({})", self.column_list(&pk)));
                }
                for column in columns.iter().filter(|c| c.unique) {
                    parts.push(format!("UNIQUE ({})", self.quote_ident(&column.name)));
                }
                parts.extend(
                    foreign_keys
                        .iter()
                        .map(|fk| self.foreign_key_clause(schema, fk)),
                );
                parts.extend(uniques.iter().map(|u| {
                    format!(
                        "CONSTRAINT {} UNIQUE ({})",
                        self.quote_ident(&u.name),
                        self.column_list(&u.columns)
                    )
                }));
                parts.extend(checks.iter().map(|c| self.check_clause(c)));
                format!(
                    "CREATE TABLE {} (\n    {}\n)",
                    self.qualified(schema, name),
                    parts.join(",\n    ")
                )
            }
            Operation::DropTable { name, schema } => {
                format!("DROP TABLE {}", self.qualified(schema.as_deref(), name))
            }
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => format!(
                "RENAME TABLE {} TO {}",
                self.qualified(schema.as_deref(), name),
                self.qualified(schema.as_deref(), new_name)
            ),
            Operation::AddColumn {
                table,
                column,
                schema,
            } => format!(
                "ALTER TABLE {} ADD COLUMN {}",
                self.qualified(schema.as_deref(), table),
                self.column_def(column, true)?
            ),
            Operation::DropColumn {
                table,
                name,
                schema,
            } => self.drop_column_sql(schema.as_deref(), table, name),
            Operation::AlterColumn {
                table,
                name,
                ty,
                nullable,
                default,
                drop_default,
                schema,
            } => {
                if ty.is_none() && nullable.is_none() && default.is_none() && !drop_default {
                    return Ok(Vec::new());
                }
                let current = before
                    .table(schema.as_deref(), table)
                    .and_then(|t| t.columns.iter().find(|c| &c.name == name))
                    .ok_or_else(|| Self::unknown_column(schema.as_deref(), table, name))?;
                let mut column = current.clone();
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
                format!(
                    "ALTER TABLE {} MODIFY COLUMN {}",
                    self.qualified(schema.as_deref(), table),
                    self.column_def(&column, false)?
                )
            }
            Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            } => format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                self.qualified(schema.as_deref(), table),
                self.quote_ident(name),
                self.quote_ident(new_name)
            ),
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
                schema,
            } => format!(
                "CREATE {}INDEX {} ON {} ({})",
                if *unique { "UNIQUE " } else { "" },
                self.quote_ident(name),
                self.qualified(schema.as_deref(), table),
                self.column_list(columns)
            ),
            Operation::DropIndex {
                name,
                table,
                schema,
            } => format!(
                "DROP INDEX {} ON {}",
                self.quote_ident(name),
                self.qualified(schema.as_deref(), table)
            ),
            Operation::AddForeignKey { .. }
            | Operation::AddUnique { .. }
            | Operation::AddCheck { .. } => self.add_constraint(op).ok_or_else(|| {
                RenderError::UnknownObject(format!("{} adds no constraint", op.kind()))
            })?,
            Operation::DropConstraint {
                table,
                name,
                schema,
            } => {
                // MySQL drops each kind of constraint with its own clause; a
                // constraint the folded schema does not know (made by raw SQL)
                // gets the generic DROP CONSTRAINT of MySQL 8.0.19+ and MariaDB.
                let found = before.table(schema.as_deref(), table);
                let qualified = self.qualified(schema.as_deref(), table);
                if let Some(fk) =
                    found.and_then(|t| t.foreign_keys.iter().find(|fk| &fk.name == name))
                {
                    let mut statements = vec![Statement::new(format!(
                        "ALTER TABLE {qualified} DROP FOREIGN KEY {}",
                        self.quote_ident(name)
                    ))];
                    // MySQL gives a foreign key without a usable index one of its
                    // own, named after the constraint, and keeps it when the key goes.
                    if found.is_some_and(|t| !has_index_led_by(t, &fk.columns)) {
                        statements.push(Statement::new(format!(
                            "ALTER TABLE {qualified} DROP INDEX {}",
                            self.quote_ident(name)
                        )));
                    }
                    return Ok(statements);
                }
                let clause = match found {
                    Some(t) if t.uniques.iter().any(|u| &u.name == name) => "DROP INDEX",
                    _ => "DROP CONSTRAINT",
                };
                format!(
                    "ALTER TABLE {qualified} {clause} {}",
                    self.quote_ident(name)
                )
            }
            Operation::Sql(text) => return Ok(vec![raw_sql(text)]),
            Operation::SqlFor(per_dialect) => {
                return per_dialect
                    .mysql
                    .as_deref()
                    .map(|text| vec![raw_sql(text)])
                    .ok_or(RenderError::MissingSqlFor(DialectKind::Mysql));
            }
            Operation::Untranslated { .. } => {
                return Err(crate::untranslated(DialectKind::Mysql, op))
            }
        };
        Ok(vec![Statement::new(sql)])
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".to_owned()
    }

    fn history_types(&self) -> HistoryTypes {
        HistoryTypes {
            id: "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            timestamp: "DATETIME(6)",
            integer: "BIGINT",
            applied_by: "VARCHAR(128)",
        }
    }

    fn transactional_ddl(&self) -> bool {
        false
    }
}

/// Returns whether some index of the table (primary key, unique constraint or
/// declared index) starts with `columns`, so MySQL needed no index of its own
/// for a foreign key on them.
fn has_index_led_by(table: &rev_schema::Table, columns: &[String]) -> bool {
    let leads = |index: &[String]| {
        index.len() >= columns.len() && index.iter().zip(columns).all(|(a, b)| a == b)
    };
    let primary: Vec<String> = table
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.clone())
        .collect();
    let single_unique =
        |c: &rev_schema::Column| c.unique && columns.len() == 1 && columns.first() == Some(&c.name);
    leads(&primary)
        || table.columns.iter().any(single_unique)
        || table.uniques.iter().any(|u| leads(&u.columns))
        || table.indexes.iter().any(|i| leads(&i.columns))
}
