//! PostgreSQL's catalog: `pg_catalog`, which knows constraint names, index
//! columns in order and identity columns more directly than information_schema.

use std::collections::BTreeMap;

use rev_schema::{Check, ColumnType, ForeignKey, Index, Schema, Table, TableName, Unique};
use rev_sql::{DialectKind, VersionTables};
use tokio::runtime::Runtime;
use tokio_postgres::Client;

use super::{column, empty_table, on_delete, parse_default, parse_type};
use crate::DbError;

fn fail(context: &str, err: &tokio_postgres::Error) -> DbError {
    DbError::Other(format!(
        "cannot read the PostgreSQL catalog ({context}): {err}"
    ))
}

const COLUMNS: &str =
    "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
    AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "SELECT c.relname::text, k.conname::text, k.contype::text, \
    ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i) \
          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), \
    f.relname::text, \
    ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i) \
          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i), \
    k.confdeltype::text, pg_get_constraintdef(k.oid) \
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_class f ON f.oid = k.confrelid \
    WHERE n.nspname = $1 AND k.contype IN ('p', 'u', 'f', 'c') \
    ORDER BY c.relname, k.conname";

const INDEXES: &str = "SELECT t.relname::text, i.relname::text, x.indisunique, \
    ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, o) \
          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o), \
    x.indnatts, (x.indexprs IS NOT NULL OR x.indpred IS NOT NULL) \
    FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid \
    JOIN pg_class i ON i.oid = x.indexrelid \
    JOIN pg_namespace n ON n.oid = t.relnamespace \
    WHERE n.nspname = $1 AND t.relkind IN ('r', 'p') AND NOT x.indisprimary \
    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid \
                    AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')) \
    ORDER BY t.relname, i.relname";

/// Returns the user tables of `tables.schema` (default: the connection's
/// current schema), without the version and history tables.
pub(crate) fn read(
    runtime: &Runtime,
    client: &Client,
    tables: &VersionTables,
) -> Result<Schema, DbError> {
    runtime.block_on(async {
        let row = client
            .query_one(
                "SELECT COALESCE($1::text, current_schema())",
                &[&tables.schema],
            )
            .await
            .map_err(|e| fail("schema", &e))?;
        let namespace: Option<String> = row.try_get(0).map_err(|e| fail("schema", &e))?;
        let Some(namespace) = namespace else {
            return Ok(Schema::default());
        };
        let journal = crate::journal::table_name(tables);
        let skip = |t: &str| t == tables.version || t == tables.history || t == journal;
        let mut out: BTreeMap<String, Table> = BTreeMap::new();

        for row in client
            .query(COLUMNS, &[&namespace])
            .await
            .map_err(|e| fail("columns", &e))?
        {
            let get = |e| fail("columns", &e);
            let table: String = row.try_get(0).map_err(get)?;
            if skip(&table) {
                continue;
            }
            let name: String = row.try_get(1).map_err(get)?;
            let ty: String = row.try_get(2).map_err(get)?;
            let not_null: bool = row.try_get(3).map_err(get)?;
            let default: Option<String> = row.try_get(4).map_err(get)?;
            let identity: String = row.try_get(5).map_err(get)?;
            let generated: String = row.try_get(6).map_err(get)?;
            let ty = parse_type(DialectKind::Postgres, &ty);
            let mut c = column(name, ty.clone(), !not_null, false);
            c.identity = !identity.is_empty();
            match default {
                // A serial column: an identity by another name.
                Some(d) if d.starts_with("nextval(") => c.identity = true,
                Some(d) if generated.is_empty() => {
                    c.default = parse_default(DialectKind::Postgres, &ty, &d);
                }
                _ => {}
            }
            if !generated.is_empty() {
                c.ty = ColumnType::Custom(format!("{} GENERATED", ty_text(&c.ty)));
            }
            out.entry(table.clone())
                .or_insert_with(|| empty_table(&table))
                .columns
                .push(c);
        }

        for row in client
            .query(CONSTRAINTS, &[&namespace])
            .await
            .map_err(|e| fail("constraints", &e))?
        {
            let get = |e| fail("constraints", &e);
            let table_name: String = row.try_get(0).map_err(get)?;
            let Some(table) = out.get_mut(&table_name) else {
                continue;
            };
            let name: String = row.try_get(1).map_err(get)?;
            let kind: String = row.try_get(2).map_err(get)?;
            let columns: Vec<String> = row.try_get(3).map_err(get)?;
            match kind.as_str() {
                "p" => {
                    for c in &mut table.columns {
                        if columns.contains(&c.name) {
                            c.primary_key = true;
                            c.nullable = None;
                        }
                    }
                }
                "u" => {
                    // A column-level UNIQUE gets PostgreSQL's own name.
                    let column_level = matches!(columns.as_slice(),
                        [only] if name == format!("{table_name}_{only}_key"));
                    match columns.as_slice() {
                        [only] if column_level => {
                            if let Some(c) = table.columns.iter_mut().find(|c| &c.name == only) {
                                c.unique = true;
                            }
                        }
                        _ => table.uniques.push(Unique { name, columns }),
                    }
                }
                "f" => {
                    let ref_table: Option<String> = row.try_get(4).map_err(get)?;
                    let ref_columns: Vec<String> = row.try_get(5).map_err(get)?;
                    let action: String = row.try_get(6).map_err(get)?;
                    table.foreign_keys.push(ForeignKey {
                        name,
                        columns,
                        ref_table: ref_table.unwrap_or_default(),
                        ref_columns,
                        on_delete: on_delete(&action),
                    });
                }
                _ => {
                    let definition: String = row.try_get(7).map_err(get)?;
                    table.checks.push(Check {
                        name,
                        expr: check_expr(&definition),
                    });
                }
            }
        }

        for row in client
            .query(INDEXES, &[&namespace])
            .await
            .map_err(|e| fail("indexes", &e))?
        {
            let get = |e| fail("indexes", &e);
            let table_name: String = row.try_get(0).map_err(get)?;
            let Some(table) = out.get_mut(&table_name) else {
                continue;
            };
            let name: String = row.try_get(1).map_err(get)?;
            let unique: bool = row.try_get(2).map_err(get)?;
            let columns: Vec<String> = row.try_get(3).map_err(get)?;
            let count: i16 = row.try_get(4).map_err(get)?;
            let partial: bool = row.try_get(5).map_err(get)?;
            // The model has no expression or partial indexes: say so in the name's columns.
            if partial || usize::try_from(count).ok() != Some(columns.len()) {
                table.indexes.push(Index {
                    name,
                    columns: vec!["<expression>".to_owned()],
                    unique,
                });
                continue;
            }
            table.indexes.push(Index {
                name,
                columns,
                unique,
            });
        }

        Ok(Schema {
            tables: out
                .into_iter()
                .map(|(name, table)| (TableName::new(None, &name), table))
                .collect(),
        })
    })
}

fn ty_text(ty: &ColumnType) -> String {
    match ty {
        ColumnType::Custom(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// Returns the expression of `CHECK ((expr))` as `pg_get_constraintdef` prints it.
fn check_expr(definition: &str) -> String {
    let text = definition.trim();
    let text = text.strip_suffix("NOT VALID").unwrap_or(text).trim_end();
    let text = text.strip_prefix("CHECK").unwrap_or(text).trim();
    let text = super::strip_outer_parens(text).unwrap_or(text).trim();
    super::strip_outer_parens(text)
        .unwrap_or(text)
        .trim()
        .to_owned()
}
