//! `op.bulk_insert(table, rows)` as SQL: one INSERT per run of rows that set
//! the same columns.

use rev_schema::{Operation, SqlPerDialect};

use crate::python::{TableLit, Value};

/// How many rows one INSERT carries (SQL Server takes at most 1,000).
const ROWS_PER_INSERT: usize = 500;

/// The dialects' spellings that a portable statement cannot share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Bare identifiers and no booleans: one text for every dialect.
    Portable,
    Mssql,
    Postgres,
    Sqlite,
    Mysql,
}

/// Words that cannot be bare identifiers somewhere.
const RESERVED: &[&str] = &[
    "all",
    "alter",
    "and",
    "as",
    "asc",
    "begin",
    "between",
    "by",
    "case",
    "check",
    "column",
    "comment",
    "create",
    "current_user",
    "database",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "exists",
    "file",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "into",
    "is",
    "join",
    "key",
    "left",
    "level",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "option",
    "or",
    "order",
    "outer",
    "percent",
    "plan",
    "primary",
    "public",
    "range",
    "references",
    "right",
    "role",
    "row",
    "rows",
    "schema",
    "select",
    "session",
    "set",
    "table",
    "then",
    "to",
    "type",
    "union",
    "unique",
    "update",
    "user",
    "value",
    "values",
    "when",
    "where",
    "with",
];

fn plain(ident: &str) -> bool {
    let mut chars = ident.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&ident)
}

fn quote(flavor: Flavor, ident: &str) -> String {
    match flavor {
        Flavor::Portable => ident.to_owned(),
        Flavor::Mssql => format!("[{}]", ident.replace(']', "]]")),
        Flavor::Mysql => format!("`{}`", ident.replace('`', "``")),
        Flavor::Postgres | Flavor::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
    }
}

fn literal(flavor: Flavor, value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::None => "NULL".to_owned(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) if x.is_finite() => format!("{x:?}"),
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bool(b) => match flavor {
            Flavor::Postgres | Flavor::Mysql => if *b { "TRUE" } else { "FALSE" }.to_owned(),
            _ => u8::from(*b).to_string(),
        },
        _ => return Err("a row value that is not a string, number, boolean or None".to_owned()),
    })
}

/// Returns the INSERT statements of `rows` (dicts of column to value) into `table`.
pub fn inserts(table: &TableLit, rows: &[Value]) -> Result<Vec<Operation>, String> {
    let mut parsed: Vec<Vec<(String, Value)>> = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Dict(pairs) = row else {
            return Err("a row that is not a dict".to_owned());
        };
        let mut cells = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Value::Str(key) = key else {
                return Err("a row key that is not a column name".to_owned());
            };
            if !table.columns.contains(key) {
                return Err(format!(
                    "a row sets `{key}`, which sa.table(...) does not list"
                ));
            }
            cells.push((key.clone(), value.clone()));
        }
        // The table's column order, as SQLAlchemy writes the INSERT.
        cells.sort_by_key(|(k, _)| table.columns.iter().position(|c| c == k));
        parsed.push(cells);
    }
    let portable = plain(&table.name)
        && table.schema.as_deref().is_none_or(plain)
        && parsed
            .iter()
            .flatten()
            .all(|(k, v)| plain(k) && !matches!(v, Value::Bool(_)));
    // Runs of rows that set the same columns, at most ROWS_PER_INSERT each.
    let mut runs: Vec<Vec<&Vec<(String, Value)>>> = Vec::new();
    for row in &parsed {
        let same = runs
            .last()
            .and_then(|run| run.first())
            .is_some_and(|first| first.iter().map(|(k, _)| k).eq(row.iter().map(|(k, _)| k)));
        match runs.last_mut() {
            Some(run) if same && run.len() < ROWS_PER_INSERT => run.push(row),
            _ => runs.push(vec![row]),
        }
    }
    let mut ops = Vec::new();
    for chunk in runs {
        let keys: Vec<&String> = chunk
            .first()
            .map(|row| row.iter().map(|(k, _)| k).collect())
            .unwrap_or_default();
        let render = |flavor: Flavor| -> Result<String, String> {
            let name = match &table.schema {
                Some(s) => format!("{}.{}", quote(flavor, s), quote(flavor, &table.name)),
                None => quote(flavor, &table.name),
            };
            let cols: Vec<String> = keys.iter().map(|k| quote(flavor, k)).collect();
            let mut values = Vec::with_capacity(chunk.len());
            for row in &chunk {
                let cells: Vec<String> = row
                    .iter()
                    .map(|(_, v)| literal(flavor, v))
                    .collect::<Result<_, _>>()?;
                values.push(format!("({})", cells.join(", ")));
            }
            Ok(if cols.is_empty() {
                format!("INSERT INTO {name} DEFAULT VALUES")
            } else {
                format!(
                    "INSERT INTO {name} ({}) VALUES {}",
                    cols.join(", "),
                    values.join(", ")
                )
            })
        };
        if portable {
            ops.push(Operation::Sql(render(Flavor::Portable)?));
        } else {
            ops.push(Operation::SqlFor(SqlPerDialect {
                mssql: Some(render(Flavor::Mssql)?),
                postgres: Some(render(Flavor::Postgres)?),
                sqlite: Some(render(Flavor::Sqlite)?),
                mysql: Some(render(Flavor::Mysql)?),
            }));
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, cols: &[&str]) -> TableLit {
        TableLit {
            name: name.into(),
            schema: None,
            columns: cols.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn row(cells: &[(&str, Value)]) -> Value {
        Value::Dict(
            cells
                .iter()
                .map(|(k, v)| (Value::Str((*k).into()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn plain_rows_are_one_portable_insert() {
        let ops = inserts(
            &table("roles", &["id", "name"]),
            &[
                row(&[("name", Value::Str("admin".into())), ("id", Value::Int(1))]),
                row(&[("id", Value::Int(2)), ("name", Value::Str("o'neil".into()))]),
            ],
        )
        .unwrap();
        assert_eq!(
            ops,
            vec![Operation::Sql(
                "INSERT INTO roles (id, name) VALUES (1, 'admin'), (2, 'o''neil')".into()
            )]
        );
    }

    #[test]
    fn booleans_and_reserved_words_are_per_dialect() {
        let ops = inserts(
            &table("user", &["id", "active"]),
            &[row(&[("id", Value::Int(1)), ("active", Value::Bool(true))])],
        )
        .unwrap();
        let Operation::SqlFor(per) = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(
            per.mssql.as_deref(),
            Some("INSERT INTO [user] ([id], [active]) VALUES (1, 1)")
        );
        assert_eq!(
            per.postgres.as_deref(),
            Some("INSERT INTO \"user\" (\"id\", \"active\") VALUES (1, TRUE)")
        );
    }

    #[test]
    fn unknown_columns_are_refused() {
        let err = inserts(&table("t", &["a"]), &[row(&[("b", Value::Int(1))])]).unwrap_err();
        assert!(err.contains("`b`"), "{err}");
    }
}
