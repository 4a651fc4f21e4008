//! SQLAlchemy column types and server defaults, as rev types and defaults.

use rev_schema::{ColumnType, Default};
use rustpython_parser::ast::Expr;

use crate::python::{sa_short, Value};
use crate::translate::Body;

/// Type mappings whose DDL differs from what SQLAlchemy writes on some
/// dialect; the import report lists each one used, once.
pub mod note {
    /// `sa.String(n)` / `sa.Unicode(n)`.
    pub const STRING: &str = "String(n) and Unicode(n) become String(n): NVARCHAR(n) on SQL Server, where SQLAlchemy writes VARCHAR(n) for String";
    /// `sa.String()` without a length.
    pub const STRING_NO_LENGTH: &str = "String() without a length becomes Text";
    /// `sa.Text`.
    pub const TEXT: &str = "Text becomes Text: NVARCHAR(MAX) on SQL Server and LONGTEXT on MySQL, where SQLAlchemy writes VARCHAR(max) and TEXT";
    /// `sa.DateTime`.
    pub const DATETIME: &str =
        "DateTime becomes DateTime: DATETIME2 on SQL Server, where SQLAlchemy writes DATETIME";
    /// `sa.DateTime(timezone=True)`.
    pub const DATETIME_TZ: &str = "DateTime(timezone=True) becomes DateTimeTz: TIMESTAMP on SQLite, where SQLAlchemy writes DATETIME";
    /// `sa.Float`.
    pub const FLOAT: &str =
        "Float becomes Float: REAL on SQLite and DOUBLE on MySQL, where SQLAlchemy writes FLOAT";
    /// `sa.JSON`.
    pub const JSON: &str =
        "JSON becomes Json: JSONB on PostgreSQL and TEXT on SQLite, where SQLAlchemy writes JSON";
    /// `sa.Uuid`.
    pub const UUID: &str =
        "Uuid becomes Uuid: CHAR(36) on SQLite and MySQL, where SQLAlchemy writes CHAR(32)";
    /// An integer primary key that SQLAlchemy makes autoincrementing.
    pub const ARRAY: &str = "ARRAY(T) becomes Custom(\"T[]\") with T as PostgreSQL names it: a PostgreSQL type, as SQLAlchemy's is";
    pub const IDENTITY: &str = "a lone integer primary key becomes an identity column: INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, where SQLAlchemy writes INTEGER PRIMARY KEY";
}

/// Returns `NAME(args)` for a dialect type passed through as written.
fn custom(name: &str, args: &[i64]) -> ColumnType {
    if args.is_empty() {
        ColumnType::Custom(name.to_owned())
    } else {
        let list: Vec<String> = args.iter().map(i64::to_string).collect();
        ColumnType::Custom(format!("{name}({})", list.join(", ")))
    }
}

impl Body<'_> {
    fn int_arg(&self, e: Option<&Expr>, what: &str) -> Result<Option<i64>, String> {
        match e.map(|e| self.lit(e)).transpose()? {
            None | Some(Value::None) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(n)),
            Some(_) => Err(format!("the {what} of a type is not a number")),
        }
    }

    /// Translates a SQLAlchemy type (`sa.Integer`, `sa.String(50)`,
    /// `postgresql.UUID(as_uuid=True)`, ...).
    pub(crate) fn column_type(&mut self, e: &Expr) -> Result<ColumnType, String> {
        let (func, call) = match e {
            Expr::Call(c) => (&*c.func, Some(c)),
            other => (other, None),
        };
        let unknown = || format!("the type `{}` has no rev equivalent", self.src.segment(e));
        let path = self.scope.path(func).ok_or_else(unknown)?;
        let mut args = match call {
            Some(call) => crate::translate::Args::new(call, path.clone())?,
            None => crate::translate::Args::empty(path.clone()),
        };

        if path.starts_with("sqlmodel.") && path.ends_with(".AutoString") {
            let length = self.int_arg(args.get(0, "length"), "length")?;
            args.finish(&["collation"]).and_then(|left| {
                if left.is_empty() {
                    Ok(())
                } else {
                    Err("a collation".to_owned())
                }
            })?;
            return Ok(match length {
                Some(n) => {
                    self.type_notes.insert(note::STRING);
                    ColumnType::String(u32::try_from(n).map_err(|_| unknown())?)
                }
                None => {
                    self.type_notes.insert(note::STRING_NO_LENGTH);
                    ColumnType::Text
                }
            });
        }
        if path.starts_with("sqlmodel.") && path.ends_with(".GUID") {
            // sqlmodel's GUID is UUID on PostgreSQL and CHAR(32) elsewhere,
            // as sa.Uuid is.
            args.finish(&[])?;
            self.type_notes.insert(note::UUID);
            return Ok(ColumnType::Uuid);
        }
        let short = sa_short(&path).ok_or_else(unknown)?;
        let (dialect, name) = match short.split_once('.') {
            Some((d, n)) if !d.is_empty() && !n.contains('.') => (Some(d), n),
            Some(_) => return Err(unknown()),
            None => (None, short.as_str()),
        };
        // `timezone` is the first positional parameter of every time type
        // but SQL Server's DATETIME2 (whose first is the precision).
        let timezone = |this: &Self, args: &mut crate::translate::Args<'_>| {
            let e = if name == "DATETIME2" {
                args.kw("timezone")
            } else {
                args.get(0, "timezone")
            };
            this.opt_bool(e).map(|t| t.unwrap_or(false))
        };
        let ty = match name {
            "Integer" | "INTEGER" | "INT" => ColumnType::Integer,
            "BigInteger" | "BIGINT" => ColumnType::BigInt,
            "SmallInteger" | "SMALLINT" => ColumnType::SmallInt,
            "Boolean" | "BOOLEAN" | "BIT" => {
                if self.opt_bool(args.kw("create_constraint"))? == Some(true) {
                    return Err("Boolean(create_constraint=True): the CHECK it adds".to_owned());
                }
                let _ = args.kw("name");
                ColumnType::Boolean
            }
            "VARCHAR" if dialect == Some("mssql") || dialect == Some("mysql") => {
                let length = self.int_arg(args.get(0, "length"), "length")?;
                match length {
                    Some(n) => custom("VARCHAR", &[n]),
                    None => ColumnType::Custom("VARCHAR(max)".to_owned()),
                }
            }
            "String" | "VARCHAR" | "Unicode" | "NVARCHAR" => {
                let length = self.int_arg(args.get(0, "length"), "length")?;
                match length {
                    Some(n) => {
                        if dialect != Some("mssql") {
                            self.type_notes.insert(note::STRING);
                        }
                        ColumnType::String(u32::try_from(n).map_err(|_| unknown())?)
                    }
                    None => {
                        if dialect != Some("mssql") {
                            self.type_notes.insert(note::STRING_NO_LENGTH);
                        }
                        ColumnType::Text
                    }
                }
            }
            "CHAR" | "NCHAR" => {
                let length = self.int_arg(args.get(0, "length"), "length")?;
                custom(name, &length.into_iter().collect::<Vec<_>>())
            }
            "Text" | "TEXT" | "UnicodeText" | "CLOB" => {
                let _ = args.get(0, "length");
                self.type_notes.insert(note::TEXT);
                ColumnType::Text
            }
            "Numeric" | "NUMERIC" | "DECIMAL" => {
                let precision = self.int_arg(args.get(0, "precision"), "precision")?;
                let scale = self.int_arg(args.get(1, "scale"), "scale")?;
                let _ = args.get(2, "decimal_return_scale");
                let _ = args.get(3, "asdecimal");
                match precision {
                    Some(p) => ColumnType::Decimal(
                        u8::try_from(p).map_err(|_| unknown())?,
                        u8::try_from(scale.unwrap_or(0)).map_err(|_| unknown())?,
                    ),
                    None => ColumnType::Custom(name.to_ascii_uppercase()),
                }
            }
            "Float" | "FLOAT" | "Double" | "DOUBLE" | "DOUBLE_PRECISION" => {
                let _ = args.get(0, "precision");
                let _ = args.get(1, "asdecimal");
                let _ = args.get(2, "decimal_return_scale");
                if dialect.is_none() {
                    self.type_notes.insert(note::FLOAT);
                }
                ColumnType::Float
            }
            "REAL" => ColumnType::Custom("REAL".to_owned()),
            "Date" | "DATE" => ColumnType::Date,
            "Time" | "TIME" => {
                if timezone(self, &mut args)? {
                    ColumnType::Custom("TIME WITH TIME ZONE".to_owned())
                } else {
                    ColumnType::Time
                }
            }
            "DATETIME" if dialect == Some("mssql") => ColumnType::Custom("DATETIME".to_owned()),
            "DateTime" | "DATETIME" | "TIMESTAMP" | "DATETIME2" => {
                let tz = timezone(self, &mut args)?;
                if let Some(p) = self.int_arg(args.kw("precision"), "precision")? {
                    if tz {
                        return Err("a zoned timestamp with a precision".to_owned());
                    }
                    custom(&name.to_ascii_uppercase(), &[p])
                } else if tz {
                    self.type_notes.insert(note::DATETIME_TZ);
                    ColumnType::DateTimeTz
                } else {
                    if dialect != Some("mssql") {
                        self.type_notes.insert(note::DATETIME);
                    }
                    ColumnType::DateTime
                }
            }
            "DATETIMEOFFSET" => ColumnType::DateTimeTz,
            "Uuid" | "UUID" | "UNIQUEIDENTIFIER" => {
                let _ = args.get(0, "as_uuid");
                let _ = args.kw("native_uuid");
                if dialect.is_none() {
                    self.type_notes.insert(note::UUID);
                }
                ColumnType::Uuid
            }
            "LargeBinary" | "BLOB" | "BYTEA" | "LONGBLOB" => {
                let _ = args.get(0, "length");
                ColumnType::Blob
            }
            "VARBINARY" => match args.get(0, "length").map(|e| self.lit(e)).transpose()? {
                Some(Value::Int(n)) => ColumnType::Binary(u32::try_from(n).map_err(|_| unknown())?),
                _ => ColumnType::Blob,
            },
            "JSON" if dialect.is_none() => {
                let _ = args.kw("none_as_null");
                self.type_notes.insert(note::JSON);
                ColumnType::Json
            }
            "JSONB" => {
                let _ = args.kw("none_as_null");
                let _ = args.kw("astext_type");
                ColumnType::Json
            }
            "JSON" => {
                let _ = args.kw("none_as_null");
                let _ = args.kw("astext_type");
                ColumnType::Custom("JSON".to_owned())
            }
            "Enum" | "ENUM" => {
                return Err(
                    "an Enum type (a type of its own on PostgreSQL, a CHECK or ENUM elsewhere)"
                        .to_owned(),
                )
            }
            "ARRAY" => {
                let inner = args.get(0, "item_type").ok_or_else(unknown)?;
                let _ = args.kw("as_tuple");
                if args.kw("dimensions").is_some() || args.kw("zero_indexes").is_some() {
                    return Err(unknown());
                }
                self.type_notes.insert(note::ARRAY);
                ColumnType::Custom(format!("{}[]", self.postgres_item_type(inner)?))
            }
            "PickleType" | "Interval" | "TypeDecorator" | "NullType" | "TupleType" => {
                return Err(unknown())
            }
            // Another dialect type, such as mssql.TINYINT or postgresql.INET(),
            // is written as its name with its numeric arguments.
            _ if dialect.is_some()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
            {
                let mut nums = Vec::new();
                for e in args.rest(0) {
                    match self.lit(e)? {
                        Value::Int(n) => nums.push(n),
                        _ => return Err(unknown()),
                    }
                }
                for kw in ["length", "precision", "scale"] {
                    if let Some(n) = self.int_arg(args.kw(kw), kw)? {
                        nums.push(n);
                    }
                }
                custom(name, &nums)
            }
            _ => return Err(unknown()),
        };
        let left = args.finish(&[])?;
        if !left.is_empty() {
            return Err(unknown());
        }
        Ok(ty)
    }

    /// Returns the PostgreSQL name of an ARRAY's item type, as SQLAlchemy
    /// writes it there: only the plain types whose name is certain.
    fn postgres_item_type(&self, e: &Expr) -> Result<String, String> {
        let unknown = || format!("the ARRAY item type `{}`", self.src.segment(e));
        let (func, call) = match e {
            Expr::Call(c) => (&*c.func, Some(c)),
            other => (other, None),
        };
        let short = self.scope.sa_name(func).ok_or_else(unknown)?;
        let name = short.rsplit('.').next().unwrap_or(&short);
        let mut args = match call {
            Some(call) => crate::translate::Args::new(call, short.clone())?,
            None => crate::translate::Args::empty(short.clone()),
        };
        let sql = match name {
            "Integer" | "INTEGER" => "INTEGER".to_owned(),
            "BigInteger" | "BIGINT" => "BIGINT".to_owned(),
            "SmallInteger" | "SMALLINT" => "SMALLINT".to_owned(),
            "Boolean" | "BOOLEAN" => "BOOLEAN".to_owned(),
            "Text" | "TEXT" | "UnicodeText" => "TEXT".to_owned(),
            "Date" | "DATE" => "DATE".to_owned(),
            "UUID" | "Uuid" => {
                let _ = args.get(0, "as_uuid");
                "UUID".to_owned()
            }
            "String" | "VARCHAR" | "Unicode" => {
                match self.int_arg(args.get(0, "length"), "length")? {
                    Some(n) => format!("VARCHAR({n})"),
                    None => "VARCHAR".to_owned(),
                }
            }
            _ => return Err(unknown()),
        };
        if !args.finish(&[])?.is_empty() {
            return Err(unknown());
        }
        Ok(sql)
    }

    /// Translates `server_default=`: `"text"`, `sa.text("SQL")`,
    /// `sa.func.now()`, `sa.false()`, ...; None for no default.
    pub(crate) fn server_default(&self, e: &Expr) -> Result<Option<Default>, String> {
        let refuse = || format!("the server default `{}`", self.src.segment(e));
        if let Expr::Call(call) = e {
            let short = self.scope.sa_name(&call.func).ok_or_else(refuse)?;
            let one_string = || match call.args.as_slice() {
                [arg] if call.keywords.is_empty() => match self.lit(arg) {
                    Ok(Value::Str(s)) => Ok(s),
                    _ => Err(refuse()),
                },
                _ => Err(refuse()),
            };
            return match short.as_str() {
                "text"
                | "sql.text"
                | "sql.expression.text"
                | "literal_column"
                | "sql.expression.literal_column" => Ok(sql_default(&one_string()?)),
                "DefaultClause" => match call.args.as_slice() {
                    [arg] => self.server_default(arg),
                    _ => Err(refuse()),
                },
                // A bound literal, which DDL renders inline.
                "literal" | "sql.literal" | "sql.expression.literal" => {
                    match call.args.as_slice() {
                        [arg] if call.keywords.is_empty() => match self.lit(arg) {
                            Ok(Value::Str(s)) => Ok(Some(Default::Str(s))),
                            Ok(Value::Int(n)) => Ok(Some(Default::Int(n))),
                            Ok(Value::Bool(b)) => Ok(Some(Default::Bool(b))),
                            _ => Err(refuse()),
                        },
                        _ => Err(refuse()),
                    }
                }
                "false" | "sql.false" | "sql.expression.false" => Ok(Some(Default::Bool(false))),
                "true" | "sql.true" | "sql.expression.true" => Ok(Some(Default::Bool(true))),
                "null" | "sql.null" | "sql.expression.null" => Ok(None),
                f if f.starts_with("func.") || f.starts_with("sql.func.") => {
                    if !call.args.is_empty() || !call.keywords.is_empty() {
                        return Err(refuse());
                    }
                    let name = f.rsplit('.').next().unwrap_or(f);
                    Ok(sql_default(&format!("{name}()")))
                }
                _ => Err(refuse()),
            };
        }
        match self.lit(e) {
            Ok(Value::Str(s)) => Ok(Some(Default::Str(s))),
            Ok(Value::None) => Ok(None),
            _ => Err(refuse()),
        }
    }
}

/// Returns the default of a SQL text: rev's own kinds where the text means
/// one (`0`, `false`, `CURRENT_TIMESTAMP`, `now()`, `'x'`), else the text as
/// an expression.
pub fn sql_default(text: &str) -> Option<Default> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if lower == "null" {
        return None;
    }
    if let Ok(n) = t.parse::<i64>() {
        return Some(Default::Int(n));
    }
    if t.contains('.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        if let Ok(x) = t.parse::<f64>() {
            return Some(Default::Float(x));
        }
    }
    Some(match lower.as_str() {
        "true" => Default::Bool(true),
        "false" => Default::Bool(false),
        "current_timestamp" | "current_timestamp()" | "now()" => Default::Now,
        "gen_random_uuid()" | "newid()" => Default::NewUuid,
        _ => match quoted(t) {
            Some(s) => Default::Str(s),
            None => Default::Expr(t.to_owned()),
        },
    })
}

/// Returns the value of a single-quoted SQL literal (`''` inside is a quote).
fn quoted(text: &str) -> Option<String> {
    let body = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_defaults() {
        assert_eq!(sql_default("0"), Some(Default::Int(0)));
        assert_eq!(sql_default("1.5"), Some(Default::Float(1.5)));
        assert_eq!(sql_default("FALSE"), Some(Default::Bool(false)));
        assert_eq!(sql_default("now()"), Some(Default::Now));
        assert_eq!(sql_default("CURRENT_TIMESTAMP"), Some(Default::Now));
        assert_eq!(sql_default("'it''s'"), Some(Default::Str("it's".into())));
        assert_eq!(
            sql_default("'a' || 'b'"),
            Some(Default::Expr("'a' || 'b'".into()))
        );
        assert_eq!(
            sql_default("uuid_generate_v4()"),
            Some(Default::Expr("uuid_generate_v4()".into()))
        );
        assert_eq!(sql_default("NULL"), None);
    }
}
