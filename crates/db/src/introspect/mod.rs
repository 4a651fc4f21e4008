//! Reading the current schema back from a live database's catalog, and
//! comparing it with a schema that migrations or models declare.
//!
//! A catalog does not give back what rev wrote: types come back in the
//! server's spelling (`character varying(255)`, `int(11)`, `nvarchar` with a
//! byte length), several model types share one column type (SQLite stores
//! `Json` as `TEXT`), defaults come back rewritten (`'x'::character varying`,
//! `((0))`, `current_timestamp()`), and check expressions are re-printed by
//! the server. Each backend's reader turns the catalog into a [`Schema`] in
//! rev's terms as closely as the catalog allows, and [`reconcile`] then takes,
//! for every part the dialect cannot tell apart from the declared schema, the
//! declared spelling, so that [`rev_schema::diff`] only reports real differences.
//!
//! Check constraints are compared by name and by a normalised form of their
//! expression (see [`normalize_sql`]): lower case, without whitespace, quotes,
//! parentheses or PostgreSQL casts. A server that rewrites an expression into
//! a different shape (PostgreSQL turns `x IN (1, 2)` into `x = ANY (ARRAY[1, 2])`)
//! is reported as a changed check.

// Builds with only some backends leave some of the shared readers unused.
#![cfg_attr(
    not(all(
        feature = "sqlite",
        feature = "postgres",
        feature = "mysql",
        feature = "mssql"
    )),
    allow(dead_code)
)]

use rev_schema::{Column, ColumnType, Default, OnDelete, Schema, Table};
use rev_sql::DialectKind;

#[cfg(feature = "mssql")]
pub(crate) mod mssql;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Returns `live` with every column type, default, nullability, foreign key,
/// check and unique that the dialect `kind` cannot tell apart from its
/// counterpart of the same name in `declared` replaced by the declared one.
///
/// Diffing the result against `declared` then lists only the differences the
/// database really has, in the declared schema's own terms.
pub fn reconcile(live: &Schema, declared: &Schema, kind: DialectKind) -> Schema {
    let mut out = live.clone();
    for (name, table) in out.tables.iter_mut() {
        if let Some(want) = declared.tables.get(name) {
            reconcile_table(table, want, kind);
        }
    }
    out
}

fn reconcile_table(table: &mut Table, want: &Table, kind: DialectKind) {
    for column in &mut table.columns {
        if let Some(declared) = want.column(&column.name) {
            reconcile_column(column, declared, kind);
        }
    }
    // A column-level UNIQUE comes back as an index or constraint with a name
    // the server chose; the declared column flag stands for it. A unique that
    // the models name themselves (as a constraint or, on MySQL, as a unique
    // index on the same column) is not that one.
    for declared in want.columns.iter().filter(|c| c.unique) {
        let found = table.uniques.iter().position(|u| {
            u.columns == [declared.name.clone()]
                && !want.uniques.iter().any(|w| w.name == u.name)
                && !want.indexes.iter().any(|i| i.name == u.name)
        });
        if let Some(at) = found {
            table.uniques.remove(at);
            if let Some(column) = table.columns.iter_mut().find(|c| c.name == declared.name) {
                column.unique = true;
            }
        }
    }
    // MySQL cannot tell a unique index from a unique constraint.
    if kind == DialectKind::Mysql {
        for index in want.indexes.iter().filter(|i| i.unique) {
            let found = table
                .uniques
                .iter()
                .position(|u| u.name == index.name && u.columns == index.columns);
            if let Some(at) = found {
                table.uniques.remove(at);
                table.indexes.push(index.clone());
            }
        }
    }
    for fk in &mut table.foreign_keys {
        if let Some(declared) = want.foreign_keys.iter().find(|f| f.name == fk.name) {
            if declared.columns == fk.columns
                && declared.ref_table == fk.ref_table
                && declared.ref_columns == fk.ref_columns
                && same_action(kind, declared.on_delete, fk.on_delete)
            {
                fk.on_delete = declared.on_delete;
            }
        }
    }
    for check in &mut table.checks {
        if let Some(declared) = want.checks.iter().find(|c| c.name == check.name) {
            if normalize_check(kind, &declared.expr) == normalize_check(kind, &check.expr) {
                check.expr.clone_from(&declared.expr);
            }
        }
    }
}

fn reconcile_column(column: &mut Column, declared: &Column, kind: DialectKind) {
    if canonical_type(kind, &column.ty, column.identity)
        == canonical_type(kind, &declared.ty, declared.identity)
    {
        column.ty = declared.ty.clone();
    }
    // Servers make an identity column NOT NULL whatever the model says.
    if column.is_nullable() == declared.is_nullable() || (column.identity && declared.identity) {
        column.nullable = declared.nullable;
    }
    let ty = &declared.ty;
    let same = match (&column.default, &declared.default) {
        (None, None) => true,
        (Some(live), Some(want)) => same_default(kind, ty, live, want),
        _ => false,
    };
    if same {
        column.default.clone_from(&declared.default);
    }
}

/// Returns whether two ON DELETE actions behave the same on `kind`: an absent
/// action is NO ACTION everywhere, and RESTRICT too on MySQL.
fn same_action(kind: DialectKind, a: Option<OnDelete>, b: Option<OnDelete>) -> bool {
    let norm = |x: Option<OnDelete>| match x {
        None | Some(OnDelete::NoAction) => None,
        Some(OnDelete::Restrict) if kind == DialectKind::Mysql => None,
        other => other,
    };
    norm(a) == norm(b)
}

/// Returns the type a column of type `ty` reads back as from `kind`'s catalog:
/// rev's rendering of it, parsed back (SQLite's `Json` is `Text`, SQL Server's
/// `String(5000)` is `Text`, an identity column on SQLite is `Integer`).
pub fn canonical_type(kind: DialectKind, ty: &ColumnType, identity: bool) -> ColumnType {
    if kind == DialectKind::Sqlite && identity {
        return ColumnType::Integer;
    }
    match render_type(kind, ty) {
        Some(text) => parse_type(kind, &text),
        None => ty.clone(),
    }
}

fn render_type(kind: DialectKind, ty: &ColumnType) -> Option<String> {
    match kind {
        DialectKind::Sqlite => Some(rev_sql::sqlite::Sqlite.column_type(ty)),
        DialectKind::Postgres => Some(rev_sql::postgres::Postgres.column_type(ty)),
        DialectKind::Mysql => Some(rev_sql::mysql::Mysql.column_type(ty)),
        DialectKind::Mssql => rev_sql::mssql::Mssql.column_type(ty).ok(),
    }
}

fn render_default(kind: DialectKind, default: &Default, ty: &ColumnType) -> Option<String> {
    match kind {
        DialectKind::Sqlite => rev_sql::sqlite::Sqlite.default_value(default).ok(),
        DialectKind::Postgres => Some(rev_sql::postgres::Postgres.default_value(default)),
        DialectKind::Mysql => rev_sql::mysql::Mysql.default_value(default, ty).ok(),
        DialectKind::Mssql => rev_sql::mssql::Mssql.default_expr(default, ty).ok(),
    }
}

/// Returns whether a default read from the catalog (`live`) is the one rev
/// writes for `declared` on a column of type `ty`.
fn same_default(kind: DialectKind, ty: &ColumnType, live: &Default, declared: &Default) -> bool {
    let want = match render_default(kind, declared, ty) {
        Some(text) => parse_default(kind, ty, &text),
        None => Some(declared.clone()),
    };
    match (live, want.as_ref()) {
        (_, None) => false,
        (Default::Int(a), Some(Default::Float(b))) | (Default::Float(b), Some(Default::Int(a))) => {
            // Integers this small are exact in an f64.
            #[allow(clippy::cast_precision_loss)]
            let a = *a as f64;
            a == *b
        }
        (Default::Expr(a), Some(Default::Expr(b))) => normalize_sql(a) == normalize_sql(b),
        (a, Some(b)) => a == b,
    }
}

/// Returns a check expression in the form checks are compared in for
/// `kind`: [`normalize_sql`], then the spellings the server rewrites to
/// taken back to one. MariaDB stores `length(x)` as `octet_length(x)` (the
/// same function: MySQL's `length` counts bytes).
pub fn normalize_check(kind: DialectKind, expr: &str) -> String {
    let text = normalize_sql(expr);
    if kind != DialectKind::Mysql {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("octet_length") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        // Only the function name, not the tail of a longer identifier.
        let word_start = out
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        out.push_str(if word_start { "length" } else { "octet_length" });
        rest = after.get("octet_length".len()..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Returns an SQL expression in the form checks and raw defaults are compared
/// in: lower case outside string literals, without whitespace, identifier
/// quotes (`"`, `` ` ``, `[ ]`), parentheses, or PostgreSQL casts (`::text`).
pub fn normalize_sql(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push('\'');
                while let Some(inner) = chars.next() {
                    out.push(inner);
                    if inner == '\'' {
                        if chars.peek() == Some(&'\'') {
                            out.push('\'');
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                // A cast's type name: words, spaces between words, and `[]`.
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_alphanumeric()
                        || next == '_'
                        || next == ' '
                        || next == '['
                        || next == ']'
                    {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            '"' | '`' | '[' | ']' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Returns the text inside one pair of parentheses that wraps all of `text`.
fn strip_outer_parens(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    let mut quoted = false;
    for c in inner.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then_some(inner)
}

/// Returns `text` without a trailing PostgreSQL cast (`'x'::character varying`).
fn strip_cast(text: &str) -> &str {
    let mut quoted = false;
    let mut cut = None;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b':' if !quoted && bytes.get(i + 1) == Some(&b':') && cut.is_none() => cut = Some(i),
            _ => {}
        }
    }
    match cut {
        Some(i) => {
            let (head, tail) = text.split_at(i);
            let is_type = tail[2..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " _[](),".contains(c));
            if is_type {
                head.trim_end()
            } else {
                text
            }
        }
        None => text,
    }
}

/// Returns a single-quoted literal's value (`N'x'` too), or None when `text` is not one.
fn string_literal(text: &str) -> Option<String> {
    let body = text
        .strip_prefix("N'")
        .or_else(|| text.strip_prefix('\''))?
        .strip_suffix('\'')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return None;
            }
        } else if c == '\\' && chars.peek().is_some() {
            // MariaDB escapes quotes and backslashes in COLUMN_DEFAULT.
            if let Some(next) = chars.next() {
                out.push(next);
            }
            continue;
        }
        out.push(c);
    }
    Some(out)
}

/// Returns whether a column of this type holds numbers (booleans are 0 and 1 on most servers).
pub(crate) fn is_numeric(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::SmallInt
            | ColumnType::Decimal(..)
            | ColumnType::Float
            | ColumnType::Boolean
    )
}

fn number(text: &str) -> Option<Default> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Default::Int(n));
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || ".-+eE".contains(c))
        && text.chars().any(|c| c.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(x) if looks_numeric => Some(Default::Float(x)),
        _ => None,
    }
}

/// Returns the default a catalog's default expression stands for on a column
/// of type `ty`; None for no default (`NULL`).
pub fn parse_default(kind: DialectKind, ty: &ColumnType, text: &str) -> Option<Default> {
    let mut text = text.trim();
    loop {
        let stripped = strip_cast(text);
        let stripped = strip_outer_parens(stripped).unwrap_or(stripped).trim();
        if stripped == text {
            break;
        }
        text = stripped;
    }
    if text.eq_ignore_ascii_case("null") || text.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let bare = lower.split('(').next().unwrap_or_default().trim();
    let call_args_simple = lower
        .strip_prefix(bare)
        .is_none_or(|rest| rest.is_empty() || rest.chars().all(|c| "()0123456789 ".contains(c)));
    if call_args_simple {
        match bare {
            "current_timestamp" | "now" | "sysdatetime" | "sysdatetimeoffset" | "getdate"
            | "localtimestamp" | "getutcdate" | "sysutcdatetime" => return Some(Default::Now),
            "gen_random_uuid" | "uuid" | "newid" | "uuid_generate_v4" => {
                return Some(Default::NewUuid)
            }
            _ => {}
        }
    }
    if lower.contains("randomblob(") && lower.contains("'89ab'") {
        return Some(Default::NewUuid);
    }
    let value = if let Some(s) = string_literal(text) {
        match number(&s) {
            Some(n) if is_numeric(ty) => n,
            _ => Default::Str(s),
        }
    } else if let Some(n) = number(text) {
        n
    } else if lower == "true" {
        Default::Bool(true)
    } else if lower == "false" {
        Default::Bool(false)
    } else {
        Default::Expr(text.to_owned())
    };
    // Only PostgreSQL keeps booleans apart from the integers 0 and 1.
    Some(match value {
        Default::Bool(b) if kind != DialectKind::Postgres => Default::Int(i64::from(b)),
        other => other,
    })
}

/// Returns the model type of a column type as `kind`'s catalog spells it;
/// `Custom` with the catalog's text when no model type matches.
pub fn parse_type(kind: DialectKind, text: &str) -> ColumnType {
    let lower = text.trim().to_ascii_lowercase();
    // The name without its arguments, which PostgreSQL writes mid-name:
    // `timestamp(3) with time zone` is a `timestamp with time zone`.
    let (base, args) = match lower.split_once('(') {
        Some((head, rest)) => {
            let (args, tail) = rest.split_once(')').unwrap_or((rest, ""));
            let base = format!("{} {}", head.trim(), tail.trim());
            (base.trim().to_owned(), args.to_owned())
        }
        None => (lower.clone(), String::new()),
    };
    let nums: Vec<&str> = args.split(',').map(str::trim).collect();
    let n = nums.first().and_then(|x| x.parse::<u32>().ok());
    let m = nums.get(1).and_then(|x| x.parse::<u8>().ok());
    let custom = || ColumnType::Custom(text.trim().to_owned());
    if base.contains("unsigned") || base.contains("zerofill") || base.ends_with("[]") {
        return custom();
    }
    match (kind, base.as_str()) {
        (DialectKind::Mysql, "tinyint") if n == Some(1) => ColumnType::Boolean,
        (DialectKind::Mssql, "bit") => ColumnType::Boolean,
        (_, "integer" | "int" | "int4") => ColumnType::Integer,
        (_, "bigint" | "int8") => ColumnType::BigInt,
        (_, "smallint" | "int2") => ColumnType::SmallInt,
        (_, "boolean" | "bool") => ColumnType::Boolean,
        (DialectKind::Mssql, "nvarchar" | "varchar") if args.trim() == "max" => ColumnType::Text,
        (_, "varchar" | "character varying" | "nvarchar" | "national character varying") => {
            n.map_or_else(custom, ColumnType::String)
        }
        (DialectKind::Sqlite | DialectKind::Mysql, "char") if n == Some(36) => ColumnType::Uuid,
        (DialectKind::Mysql, "longtext") | (DialectKind::Mssql, "ntext") | (_, "text") => {
            ColumnType::Text
        }
        (_, "numeric" | "decimal") => match (n.and_then(|p| u8::try_from(p).ok()), m) {
            (Some(p), Some(s)) => ColumnType::Decimal(p, s),
            (Some(p), None) if kind == DialectKind::Mssql || kind == DialectKind::Mysql => {
                ColumnType::Decimal(p, 0)
            }
            _ => custom(),
        },
        (DialectKind::Sqlite, "real")
        | (DialectKind::Postgres, "double precision" | "float8")
        | (DialectKind::Mysql, "double")
        | (DialectKind::Mssql, "float") => ColumnType::Float,
        (_, "date") => ColumnType::Date,
        (DialectKind::Postgres, "time without time zone")
        | (DialectKind::Sqlite | DialectKind::Mysql | DialectKind::Mssql, "time") => {
            ColumnType::Time
        }
        (DialectKind::Sqlite | DialectKind::Mysql, "datetime")
        | (DialectKind::Postgres, "timestamp without time zone" | "timestamp")
        | (DialectKind::Mssql, "datetime2") => ColumnType::DateTime,
        (DialectKind::Sqlite | DialectKind::Mysql, "timestamp")
        | (DialectKind::Postgres, "timestamp with time zone" | "timestamptz")
        | (DialectKind::Mssql, "datetimeoffset") => ColumnType::DateTimeTz,
        (DialectKind::Postgres, "uuid") | (DialectKind::Mssql, "uniqueidentifier") => {
            ColumnType::Uuid
        }
        (DialectKind::Mssql, "varbinary") if args.trim() == "max" => ColumnType::Blob,
        (DialectKind::Mysql | DialectKind::Mssql, "varbinary") => {
            n.map_or_else(custom, ColumnType::Binary)
        }
        (DialectKind::Sqlite, "blob")
        | (DialectKind::Postgres, "bytea")
        | (DialectKind::Mysql, "longblob") => ColumnType::Blob,
        (DialectKind::Postgres, "jsonb") | (DialectKind::Mysql, "json") => ColumnType::Json,
        _ => custom(),
    }
}

/// Returns the `nullable` field rev writes for a column: None when it says
/// what the default rule gives (NULL allowed unless primary key).
fn nullable_field(nullable: bool, primary_key: bool) -> Option<bool> {
    (nullable == primary_key).then_some(nullable)
}

/// Returns a column as read from a catalog.
fn column(name: String, ty: ColumnType, nullable: bool, primary_key: bool) -> Column {
    Column {
        name,
        ty,
        nullable: nullable_field(nullable, primary_key),
        primary_key,
        identity: false,
        unique: false,
        default: None,
    }
}

/// Returns an empty table of this name, for a reader to fill.
fn empty_table(name: &str) -> Table {
    Table {
        name: name.to_owned(),
        schema: None,
        columns: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        uniques: Vec::new(),
        checks: Vec::new(),
    }
}

/// Returns the ON DELETE action a catalog names (`CASCADE`, `SET_NULL`, `c`, ...);
/// None for NO ACTION, the default everywhere.
fn on_delete(text: &str) -> Option<OnDelete> {
    match text.trim().to_ascii_uppercase().replace('_', " ").as_str() {
        "CASCADE" | "C" => Some(OnDelete::Cascade),
        "SET NULL" | "N" => Some(OnDelete::SetNull),
        "RESTRICT" | "R" => Some(OnDelete::Restrict),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
