//! SQLite's catalog: `sqlite_master` and the table pragmas.
//!
//! The pragmas know columns, keys and indexes but not constraint names or
//! check expressions, which live only in the table's `CREATE TABLE` text;
//! that text is split into its parts to find them. SQLite keeps the text as
//! it was written, so checks read back exactly.

use std::collections::BTreeMap;

use rev_schema::{Check, ColumnType, ForeignKey, Index, Schema, TableName, Unique};
use rev_sql::{DialectKind, VersionTables};
use rusqlite::Connection;

use super::{column, empty_table, on_delete, parse_default, parse_type};
use crate::DbError;

fn fail(context: &str, err: impl std::fmt::Display) -> DbError {
    DbError::Other(format!("cannot read the SQLite catalog ({context}): {err}"))
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Returns the user tables of `tables.schema` (default `main`), without the
/// version and history tables.
pub(crate) fn read(conn: &Connection, tables: &VersionTables) -> Result<Schema, DbError> {
    let db = quote(tables.schema.as_deref().unwrap_or("main"));
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name, sql FROM {db}.sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ))
        .map_err(|e| fail("tables", e))?;
    let found: Vec<(String, Option<String>)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .and_then(Iterator::collect)
        .map_err(|e| fail("tables", e))?;
    let journal = crate::journal::table_name(tables);
    let mut schema = Schema::default();
    for (name, sql) in found {
        if name == tables.version || name == tables.history || name == journal {
            continue;
        }
        let table = read_table(conn, &db, &name, sql.as_deref().unwrap_or_default())?;
        schema.tables.insert(TableName::new(None, &name), table);
    }
    Ok(schema)
}

/// What the `CREATE TABLE` text says that the pragmas do not.
#[derive(Default)]
struct Definition {
    /// Named UNIQUE table constraints.
    uniques: Vec<Unique>,
    /// CHECK table constraints, with the expression as written; unnamed ones
    /// are called `<table>_check_<n>`.
    checks: Vec<Check>,
    /// Foreign-key constraint names by (columns, referenced table), in order.
    fk_names: Vec<(Vec<String>, String, String)>,
    /// The column declared AUTOINCREMENT.
    autoincrement: Option<String>,
}

fn read_table(
    conn: &Connection,
    db: &str,
    name: &str,
    sql: &str,
) -> Result<rev_schema::Table, DbError> {
    let definition = parse_definition(name, sql);
    let mut table = empty_table(name);

    let mut stmt = conn
        .prepare(&format!("PRAGMA {db}.table_xinfo({})", quote(name)))
        .map_err(|e| fail("columns", e))?;
    type ColumnRow = (String, String, bool, Option<String>, i64, i64);
    let rows: Vec<ColumnRow> = stmt
        .query_map([], |row| {
            Ok((
                row.get(1)?,
                row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("columns", e))?;
    for (col_name, ty, notnull, default, pk, hidden) in rows {
        if hidden != 0 {
            continue;
        }
        let identity = definition.autoincrement.as_deref() == Some(col_name.as_str());
        let ty = parse_type(DialectKind::Sqlite, &ty);
        // A primary key column reads as nullable unless declared NOT NULL;
        // rev treats every key column as NOT NULL.
        let mut c = column(col_name, ty.clone(), !notnull && pk == 0, pk > 0);
        c.identity = identity;
        c.default = default.and_then(|d| parse_default(DialectKind::Sqlite, &ty, &d));
        table.columns.push(c);
    }
    if table.columns.iter().any(|c| c.identity) {
        for c in &mut table.columns {
            if c.identity {
                c.ty = ColumnType::Integer;
            }
        }
    }

    let mut stmt = conn
        .prepare(&format!("PRAGMA {db}.index_list({})", quote(name)))
        .map_err(|e| fail("indexes", e))?;
    let indexes: Vec<(String, bool, String, bool)> = stmt
        .query_map([], |row| {
            Ok((row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("indexes", e))?;
    let mut autos = 0usize;
    for (index, unique, origin, partial) in indexes {
        if origin == "pk" || partial {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!("PRAGMA {db}.index_info({})", quote(&index)))
            .map_err(|e| fail("index columns", e))?;
        let columns: Vec<Option<String>> = stmt
            .query_map([], |row| row.get(2))
            .and_then(Iterator::collect)
            .map_err(|e| fail("index columns", e))?;
        // An index on an expression has no column name there; the model cannot
        // declare one, so it reads as a column the table does not have.
        let columns: Vec<String> = columns
            .into_iter()
            .map(|c| c.unwrap_or_else(|| "<expression>".to_owned()))
            .collect();
        if origin == "u" {
            if let Some(named) = definition.uniques.iter().find(|u| u.columns == columns) {
                table.uniques.push(named.clone());
            } else if let [only] = columns.as_slice() {
                if let Some(c) = table.columns.iter_mut().find(|c| &c.name == only) {
                    c.unique = true;
                }
            } else {
                autos += 1;
                table.uniques.push(Unique {
                    name: format!("{name}_unique_{autos}"),
                    columns,
                });
            }
        } else {
            table.indexes.push(Index {
                name: index,
                columns,
                unique,
            });
        }
    }
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut stmt = conn
        .prepare(&format!("PRAGMA {db}.foreign_key_list({})", quote(name)))
        .map_err(|e| fail("foreign keys", e))?;
    type FkRow = (i64, String, String, Option<String>, String);
    let rows: Vec<FkRow> = stmt
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(6)?,
            ))
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("foreign keys", e))?;
    let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for (id, ref_table, from, to, action) in rows {
        let fk = fks.entry(id).or_insert_with(|| ForeignKey {
            name: String::new(),
            columns: Vec::new(),
            ref_table,
            ref_columns: Vec::new(),
            on_delete: on_delete(&action),
        });
        fk.columns.push(from);
        fk.ref_columns.extend(to);
    }
    let mut unnamed = 0usize;
    for (_, mut fk) in fks {
        let named = definition.fk_names.iter().find(|(cols, target, _)| {
            *cols == fk.columns && target.eq_ignore_ascii_case(&fk.ref_table)
        });
        fk.name = match named {
            Some((_, _, n)) => n.clone(),
            None => {
                unnamed += 1;
                format!("{name}_fk_{unnamed}")
            }
        };
        table.foreign_keys.push(fk);
    }
    table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    table.checks = definition.checks;
    Ok(table)
}

/// One token of a `CREATE TABLE` text, with where it lies in the text.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare or quoted identifier or keyword, unquoted.
    Word(String, bool),
    /// A single punctuation character.
    Punct(char),
    /// A string literal.
    Str,
}

fn tokenize(sql: &str) -> Vec<(Token, usize, usize)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            }
            b'"' | b'`' | b'[' | b'\'' => {
                let close = if c == b'[' { b']' } else { c };
                let mut text = Vec::new();
                i += 1;
                while let Some(&b) = bytes.get(i) {
                    if b == close {
                        if close != b']' && bytes.get(i + 1) == Some(&close) {
                            text.push(close);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    text.push(b);
                    i += 1;
                }
                if c == b'\'' {
                    out.push((Token::Str, start, i));
                } else {
                    out.push((
                        Token::Word(String::from_utf8_lossy(&text).into_owned(), true),
                        start,
                        i,
                    ));
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while bytes.get(i).is_some_and(|&b| {
                    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 || b == b'$'
                }) {
                    i += 1;
                }
                out.push((
                    Token::Word(
                        String::from_utf8_lossy(bytes.get(start..i).unwrap_or_default())
                            .into_owned(),
                        false,
                    ),
                    start,
                    i,
                ));
            }
            _ => {
                out.push((Token::Punct(char::from(c)), start, i + 1));
                i += 1;
            }
        }
    }
    out
}

fn keyword(token: Option<&(Token, usize, usize)>, word: &str) -> bool {
    matches!(token, Some((Token::Word(w, false), _, _)) if w.eq_ignore_ascii_case(word))
}

/// Returns the identifiers of a parenthesised list starting at `tokens[0]`,
/// and how many tokens it took.
fn ident_list(tokens: &[(Token, usize, usize)]) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    if !matches!(tokens.first(), Some((Token::Punct('('), _, _))) {
        return (names, 0);
    }
    for (i, (token, _, _)) in tokens.iter().enumerate().skip(1) {
        match token {
            Token::Word(w, _) => names.push(w.clone()),
            Token::Punct(')') => return (names, i + 1),
            _ => {}
        }
    }
    (names, tokens.len())
}

/// Splits a `CREATE TABLE` text into its column and constraint definitions
/// and reads what the pragmas leave out.
fn parse_definition(table: &str, sql: &str) -> Definition {
    let tokens = tokenize(sql);
    let mut def = Definition::default();
    let Some(open) = tokens.iter().position(|(t, _, _)| *t == Token::Punct('(')) else {
        return def;
    };
    // Top-level items between the outer parentheses, split on commas.
    let mut items: Vec<&[(Token, usize, usize)]> = Vec::new();
    let mut depth = 0;
    let mut start = open + 1;
    for (i, (token, _, _)) in tokens.iter().enumerate().skip(open + 1) {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') if depth == 0 => {
                items.push(tokens.get(start..i).unwrap_or_default());
                break;
            }
            Token::Punct(')') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                items.push(tokens.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    for item in items {
        let Some((Token::Word(first, quoted), _, _)) = item.first() else {
            continue;
        };
        let constraint = !quoted && first.eq_ignore_ascii_case("constraint");
        let table_level = constraint
            || (!quoted
                && ["unique", "check", "foreign", "primary"]
                    .iter()
                    .any(|k| first.eq_ignore_ascii_case(k)));
        if !table_level {
            if item.iter().any(|t| keyword(Some(t), "autoincrement")) {
                def.autoincrement = Some(first.clone());
            }
            continue;
        }
        let (name, rest) = match (constraint, item.get(1)) {
            (true, Some((Token::Word(n, _), _, _))) => {
                (Some(n.clone()), item.get(2..).unwrap_or_default())
            }
            _ => (None, item),
        };
        if keyword(rest.first(), "unique") {
            let (columns, _) = ident_list(rest.get(1..).unwrap_or_default());
            if let Some(name) = name {
                def.uniques.push(Unique { name, columns });
            }
        } else if keyword(rest.first(), "check") {
            let Some((Token::Punct('('), open_at, _)) = rest.get(1) else {
                continue;
            };
            // An unnamed check is named as it would be reported; rev names every check it makes.
            let name = name.unwrap_or_else(|| format!("{table}_check_{}", def.checks.len() + 1));
            let mut depth = 0;
            for (token, _, end) in rest.get(1..).unwrap_or_default() {
                match token {
                    Token::Punct('(') => depth += 1,
                    Token::Punct(')') => {
                        depth -= 1;
                        if depth == 0 {
                            if let Some(expr) = sql.get(open_at + 1..end - 1) {
                                def.checks.push(Check {
                                    name: name.clone(),
                                    expr: expr.trim().to_owned(),
                                });
                            }
                            break;
                        }
                    }
                    _ => {}
                }
            }
        } else if keyword(rest.first(), "foreign") && keyword(rest.get(1), "key") {
            let (columns, used) = ident_list(rest.get(2..).unwrap_or_default());
            let after = rest.get(2 + used..).unwrap_or_default();
            if let (Some(name), true, Some((Token::Word(target, _), _, _))) =
                (name, keyword(after.first(), "references"), after.get(1))
            {
                def.fk_names.push((columns, target.clone(), name));
            }
        }
    }
    def
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_give_names_checks_and_autoincrement() {
        let def = parse_definition(
            "t",
            "CREATE TABLE \"t\" (\n    \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \"a\" VARCHAR(10) DEFAULT 'x,(y' CHECK (a <> ''),\n    CONSTRAINT \"uq_a\" UNIQUE (\"a\", \"id\"),\n    CONSTRAINT \"ck \"\"odd\" CHECK (length(a) > 1 AND (id > 0)),\n    CONSTRAINT \"fk_t\" FOREIGN KEY (\"a\") REFERENCES \"u\" (\"b\") ON DELETE CASCADE\n)",
        );
        assert_eq!(def.autoincrement.as_deref(), Some("id"));
        assert_eq!(
            def.uniques,
            vec![Unique {
                name: "uq_a".into(),
                columns: vec!["a".into(), "id".into()]
            }]
        );
        assert_eq!(
            def.checks,
            vec![Check {
                name: "ck \"odd".into(),
                expr: "length(a) > 1 AND (id > 0)".into()
            }]
        );
        assert_eq!(
            def.fk_names,
            vec![(vec!["a".to_owned()], "u".to_owned(), "fk_t".to_owned())]
        );
    }
}
