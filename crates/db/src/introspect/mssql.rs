//! SQL Server's catalog: the sys.* views.
//!
//! Every value is converted to NVARCHAR in the query, so that each row reads
//! the same way whatever the column's type. Not tested against a live server
//! here; `crates/db/tests/introspect_mssql.rs` runs when `REV_TEST_MSSQL_URL` is set.

use std::collections::BTreeMap;

use rev_schema::{Check, ForeignKey, Index, Schema, Table, TableName, Unique};
use rev_sql::{DialectKind, VersionTables};
use tiberius::{Client, ToSql};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_util::compat::Compat;

use super::{column, empty_table, on_delete, parse_default, parse_type};
use crate::DbError;

type Connection = Client<Compat<TcpStream>>;

/// Rows with every cell as text (None = NULL).
type TextRows = Vec<Vec<Option<String>>>;

/// Runs a query with `params` bound as `@P1`, ... and returns its rows as text.
async fn collect_rows(
    client: &mut Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<TextRows, DbError> {
    let fail = |e: tiberius::error::Error| {
        DbError::Other(format!("cannot read the SQL Server catalog: {e}"))
    };
    let rows = client
        .query(sql, params)
        .await
        .map_err(fail)?
        .into_first_result()
        .await
        .map_err(fail)?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.try_get::<&str, _>(i)
                        .map(|v| v.map(str::to_owned))
                        .map_err(fail)
                })
                .collect()
        })
        .collect()
}

const COLUMNS: &str = "SELECT t.name, c.name, ty.name, CONVERT(NVARCHAR(20), c.max_length), \
    CONVERT(NVARCHAR(20), c.precision), CONVERT(NVARCHAR(20), c.scale), \
    CONVERT(NVARCHAR(1), c.is_nullable), CONVERT(NVARCHAR(1), c.is_identity), dc.definition, \
    CONVERT(NVARCHAR(1), c.is_computed) \
    FROM sys.columns c JOIN sys.tables t ON t.object_id = c.object_id \
    JOIN sys.schemas s ON s.schema_id = t.schema_id \
    JOIN sys.types ty ON ty.user_type_id = c.user_type_id \
    LEFT JOIN sys.default_constraints dc ON dc.parent_object_id = c.object_id \
      AND dc.parent_column_id = c.column_id \
    WHERE s.name = @P1 AND t.is_ms_shipped = 0 ORDER BY t.name, c.column_id";

const INDEXES: &str = "SELECT t.name, i.name, CONVERT(NVARCHAR(1), i.is_primary_key), \
    CONVERT(NVARCHAR(1), i.is_unique_constraint), CONVERT(NVARCHAR(1), i.is_unique), c.name \
    FROM sys.indexes i JOIN sys.tables t ON t.object_id = i.object_id \
    JOIN sys.schemas s ON s.schema_id = t.schema_id \
    JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
    JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
    WHERE s.name = @P1 AND t.is_ms_shipped = 0 AND i.type > 0 AND i.is_hypothetical = 0 \
      AND ic.is_included_column = 0 \
    ORDER BY t.name, i.name, ic.key_ordinal";

const FOREIGN_KEYS: &str = "SELECT t.name, fk.name, pc.name, rt.name, rc.name, \
    fk.delete_referential_action_desc \
    FROM sys.foreign_keys fk JOIN sys.tables t ON t.object_id = fk.parent_object_id \
    JOIN sys.schemas s ON s.schema_id = t.schema_id \
    JOIN sys.tables rt ON rt.object_id = fk.referenced_object_id \
    JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id \
    JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id \
    JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id \
    WHERE s.name = @P1 ORDER BY t.name, fk.name, fkc.constraint_column_id";

const CHECKS: &str = "SELECT t.name, cc.name, cc.definition FROM sys.check_constraints cc \
    JOIN sys.tables t ON t.object_id = cc.parent_object_id \
    JOIN sys.schemas s ON s.schema_id = t.schema_id \
    WHERE s.name = @P1 ORDER BY t.name, cc.name";

/// Returns the type as `parse_type` reads it, from sys.columns' byte length,
/// precision and scale.
fn type_text(name: &str, max_length: &str, precision: &str, scale: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let bytes: i64 = max_length.parse().unwrap_or(0);
    match lower.as_str() {
        "nvarchar" | "nchar" | "varchar" | "char" | "varbinary" | "binary" => {
            if bytes < 0 {
                format!("{lower}(max)")
            } else if lower.starts_with('n') {
                format!("{lower}({})", bytes / 2)
            } else {
                format!("{lower}({bytes})")
            }
        }
        "decimal" | "numeric" => format!("{lower}({precision}, {scale})"),
        _ => lower,
    }
}

/// Returns the user tables of `tables.schema` (default: the user's default
/// schema), without the version and history tables.
pub(crate) fn read(
    runtime: &Runtime,
    client: &mut Connection,
    tables: &VersionTables,
) -> Result<Schema, DbError> {
    runtime.block_on(async {
        let schema = match &tables.schema {
            Some(s) => s.clone(),
            None => collect_rows(client, "SELECT SCHEMA_NAME()", &[])
                .await?
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next().flatten())
                .unwrap_or_else(|| "dbo".to_owned()),
        };
        let journal = crate::journal::table_name(tables);
        let skip = |t: &str| t == tables.version || t == tables.history || t == journal;
        let mut out: BTreeMap<String, Table> = BTreeMap::new();
        let text = |row: &[Option<String>], i: usize| -> String {
            row.get(i).cloned().flatten().unwrap_or_default()
        };

        for row in collect_rows(client, COLUMNS, &[&schema.as_str()]).await? {
            let table = text(&row, 0);
            if skip(&table) {
                continue;
            }
            let ty = type_text(
                &text(&row, 2),
                &text(&row, 3),
                &text(&row, 4),
                &text(&row, 5),
            );
            let ty = parse_type(DialectKind::Mssql, &ty);
            let mut c = column(text(&row, 1), ty.clone(), text(&row, 6) == "1", false);
            c.identity = text(&row, 7) == "1";
            c.default = row
                .get(8)
                .cloned()
                .flatten()
                .and_then(|d| parse_default(DialectKind::Mssql, &ty, &d));
            if text(&row, 9) == "1" {
                c.ty = rev_schema::ColumnType::Custom("computed".to_owned());
            }
            out.entry(table.clone())
                .or_insert_with(|| empty_table(&table))
                .columns
                .push(c);
        }

        let mut indexes: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
        for row in collect_rows(client, INDEXES, &[&schema.as_str()]).await? {
            let kind = if text(&row, 2) == "1" {
                "pk"
            } else if text(&row, 3) == "1" {
                "uq"
            } else if text(&row, 4) == "1" {
                "unique"
            } else {
                "index"
            };
            indexes
                .entry((text(&row, 0), text(&row, 1)))
                .or_insert_with(|| (kind.to_owned(), Vec::new()))
                .1
                .push(text(&row, 5));
        }
        for ((table_name, name), (kind, columns)) in indexes {
            let Some(table) = out.get_mut(&table_name) else {
                continue;
            };
            match kind.as_str() {
                "pk" => {
                    for c in &mut table.columns {
                        if columns.contains(&c.name) {
                            c.primary_key = true;
                            c.nullable = None;
                        }
                    }
                }
                "uq" => match columns.as_slice() {
                    // SQL Server names a column-level UNIQUE `UQ__table__hash`.
                    [only] if name.starts_with("UQ__") => {
                        if let Some(c) = table.columns.iter_mut().find(|c| c.name == *only) {
                            c.unique = true;
                        }
                    }
                    _ => table.uniques.push(Unique { name, columns }),
                },
                other => table.indexes.push(Index {
                    name,
                    columns,
                    unique: other == "unique",
                }),
            }
        }

        let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
        for row in collect_rows(client, FOREIGN_KEYS, &[&schema.as_str()]).await? {
            let fk = fks
                .entry((text(&row, 0), text(&row, 1)))
                .or_insert_with(|| ForeignKey {
                    name: text(&row, 1),
                    columns: Vec::new(),
                    ref_table: text(&row, 3),
                    ref_columns: Vec::new(),
                    on_delete: on_delete(&text(&row, 5)),
                });
            fk.columns.push(text(&row, 2));
            fk.ref_columns.push(text(&row, 4));
        }
        for ((table_name, _), fk) in fks {
            if let Some(table) = out.get_mut(&table_name) {
                table.foreign_keys.push(fk);
            }
        }

        for row in collect_rows(client, CHECKS, &[&schema.as_str()]).await? {
            if let Some(table) = out.get_mut(&text(&row, 0)) {
                let definition = text(&row, 2);
                let expr = super::strip_outer_parens(definition.trim())
                    .unwrap_or(&definition)
                    .to_owned();
                table.checks.push(Check {
                    name: text(&row, 1),
                    expr,
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
