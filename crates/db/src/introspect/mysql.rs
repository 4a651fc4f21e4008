//! MySQL's and MariaDB's catalog: information_schema.
//!
//! Both servers make every UNIQUE an index, so unique indexes come back as
//! unique constraints (see [`super::reconcile`]); an index named after the
//! column alone is a column-level UNIQUE. MariaDB stores JSON as LONGTEXT with
//! a `json_valid` check named after the column, which reads back as `Json`.

use std::collections::BTreeMap;

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Row, Value};
use rev_schema::{Check, ColumnType, ForeignKey, Index, Schema, Table, TableName, Unique};
use rev_sql::{DialectKind, VersionTables};
use tokio::runtime::Runtime;

use super::{column, empty_table, on_delete, parse_default, parse_type};
use crate::DbError;

fn fail(context: &str, err: impl std::fmt::Display) -> DbError {
    DbError::Other(format!("cannot read the MySQL catalog ({context}): {err}"))
}

fn cell<T: FromValue>(row: &Row, index: usize, context: &str) -> Result<T, DbError> {
    match row.get_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(fail(context, e)),
        None => Err(fail(context, format!("no column {index}"))),
    }
}

async fn rows(
    conn: &mut Conn,
    sql: &str,
    schema: &str,
    context: &str,
) -> Result<Vec<Row>, DbError> {
    conn.exec(sql, vec![Value::from(schema)])
        .await
        .map_err(|e| fail(context, e))
}

/// Returns the user tables of `tables.schema` (default: the connection's
/// database), without the version and history tables.
pub(crate) fn read(
    runtime: &Runtime,
    conn: &mut Conn,
    tables: &VersionTables,
) -> Result<Schema, DbError> {
    runtime.block_on(async {
        let schema = match &tables.schema {
            Some(s) => s.clone(),
            None => {
                let row: Option<Row> = conn
                    .query_first("SELECT DATABASE()")
                    .await
                    .map_err(|e| fail("schema", e))?;
                match row {
                    Some(row) => cell::<Option<String>>(&row, 0, "schema")?.unwrap_or_default(),
                    None => String::new(),
                }
            }
        };
        let version: Option<Row> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| fail("version", e))?;
        let mariadb = match version {
            Some(row) => cell::<String>(&row, 0, "version")?.contains("MariaDB"),
            None => false,
        };
        let journal = crate::journal::table_name(tables);
        let skip = |t: &str| t == tables.version || t == tables.history || t == journal;
        let mut out: BTreeMap<String, Table> = BTreeMap::new();

        for row in rows(
            conn,
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            &schema,
            "tables",
        )
        .await?
        {
            let name: String = cell(&row, 0, "tables")?;
            if !skip(&name) {
                out.insert(name.clone(), empty_table(&name));
            }
        }

        for row in rows(
            conn,
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, ORDINAL_POSITION",
            &schema,
            "columns",
        )
        .await?
        {
            let ctx = "columns";
            let table: String = cell(&row, 0, ctx)?;
            let Some(table) = out.get_mut(&table) else {
                continue;
            };
            let name: String = cell(&row, 1, ctx)?;
            let ty_text: String = cell(&row, 2, ctx)?;
            let nullable: String = cell(&row, 3, ctx)?;
            let default: Option<String> = cell(&row, 4, ctx)?;
            let extra: String = cell::<Option<String>>(&row, 5, ctx)?.unwrap_or_default();
            let extra = extra.to_ascii_lowercase();
            let ty = parse_type(DialectKind::Mysql, &ty_text);
            let mut c = column(name, ty.clone(), nullable == "YES", false);
            c.identity = extra.contains("auto_increment");
            c.default = default.and_then(|d| {
                // MySQL 8 gives a literal default unquoted and marks expressions;
                // MariaDB quotes literals.
                let text = if mariadb
                    || extra.contains("default_generated")
                    || (super::is_numeric(&ty) && is_number(&d))
                {
                    d
                } else {
                    format!("'{}'", d.replace('\'', "''"))
                };
                parse_default(DialectKind::Mysql, &ty, &text)
            });
            table.columns.push(c);
        }

        let mut indexes: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
        for row in rows(
            conn,
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            &schema,
            "indexes",
        )
        .await?
        {
            let ctx = "indexes";
            let table: String = cell(&row, 0, ctx)?;
            let name: String = cell(&row, 1, ctx)?;
            let non_unique: i64 = cell(&row, 2, ctx)?;
            let column: Option<String> = cell(&row, 3, ctx)?;
            let entry = indexes.entry((table, name)).or_insert((non_unique == 0, Vec::new()));
            entry
                .1
                .push(column.unwrap_or_else(|| "<expression>".to_owned()));
        }

        let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
        for row in rows(
            conn,
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
             k.REFERENCED_COLUMN_NAME, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
              AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            &schema,
            "foreign keys",
        )
        .await?
        {
            let ctx = "foreign keys";
            let table: String = cell(&row, 0, ctx)?;
            let name: String = cell(&row, 1, ctx)?;
            let column: String = cell(&row, 2, ctx)?;
            let ref_table: String = cell(&row, 3, ctx)?;
            let ref_column: String = cell(&row, 4, ctx)?;
            let rule: String = cell(&row, 5, ctx)?;
            let fk = fks.entry((table, name.clone())).or_insert_with(|| ForeignKey {
                name,
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
                on_delete: on_delete(&rule),
            });
            fk.columns.push(column);
            fk.ref_columns.push(ref_column);
        }

        let checks_sql = if mariadb {
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME"
        } else {
            "SELECT t.TABLE_NAME, t.CONSTRAINT_NAME, c.CHECK_CLAUSE \
             FROM information_schema.TABLE_CONSTRAINTS t \
             JOIN information_schema.CHECK_CONSTRAINTS c \
               ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME \
             WHERE t.TABLE_SCHEMA = ? AND t.CONSTRAINT_TYPE = 'CHECK' \
             ORDER BY t.TABLE_NAME, t.CONSTRAINT_NAME"
        };
        for row in rows(conn, checks_sql, &schema, "checks").await? {
            let ctx = "checks";
            let table_name: String = cell(&row, 0, ctx)?;
            let Some(table) = out.get_mut(&table_name) else {
                continue;
            };
            let name: String = cell(&row, 1, ctx)?;
            let expr: String = cell(&row, 2, ctx)?;
            let json_column = table
                .columns
                .iter_mut()
                .find(|c| c.name == name && c.ty == ColumnType::Text);
            let is_json_check = super::normalize_sql(&expr) == format!("json_valid{}", name.to_lowercase());
            match json_column {
                Some(c) if is_json_check => c.ty = ColumnType::Json,
                _ => table.checks.push(Check { name, expr }),
            }
        }

        for ((table_name, _), fk) in fks {
            if let Some(table) = out.get_mut(&table_name) {
                table.foreign_keys.push(fk);
            }
        }
        for ((table_name, name), (unique, columns)) in indexes {
            let Some(table) = out.get_mut(&table_name) else {
                continue;
            };
            if name == "PRIMARY" {
                for c in &mut table.columns {
                    if columns.contains(&c.name) {
                        c.primary_key = true;
                        c.nullable = None;
                    }
                }
                continue;
            }
            // The index MySQL makes for a foreign key is named after it.
            if !unique && table.foreign_keys.iter().any(|fk| fk.name == name) {
                continue;
            }
            if unique {
                match columns.as_slice() {
                    [only] if *only == name || is_numbered(&name, only) => {
                        if let Some(c) = table.columns.iter_mut().find(|c| c.name == *only) {
                            c.unique = true;
                        }
                    }
                    _ => table.uniques.push(Unique { name, columns }),
                }
            } else {
                table.indexes.push(Index {
                    name,
                    columns,
                    unique,
                });
            }
        }

        Ok(Schema {
            tables: out
                .into_iter()
                .map(|(name, table)| (TableName::new(None, &name), table))
                .collect(),
        })
    })
}

fn is_number(text: &str) -> bool {
    text.parse::<f64>().is_ok()
}

/// Returns whether `name` is `column_N`, MySQL's name for a second UNIQUE on a column.
fn is_numbered(name: &str, column: &str) -> bool {
    name.strip_prefix(column)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}
