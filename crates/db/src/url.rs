//! Database URLs: which backend a URL names, with every password redacted
//! from what is printed.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rev_sql::DialectKind;

use crate::{connstr, DbError};

/// What replaces a password in anything printed.
const REDACTED: &str = "****";

/// A parsed database URL. Display and Debug never show a password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://relative/path`, `sqlite:///abs/path` or `sqlite::memory:`.
    Sqlite(SqliteTarget),
    /// `mssql://`/`sqlserver://` URLs and ADO.NET strings (`server=...;`), parsed by the mssql backend.
    Mssql(SecretUrl),
    /// `postgres://` and `postgresql://` URLs and libpq strings (`host=.. dbname=..`),
    /// parsed by the postgres backend.
    Postgres(SecretUrl),
    /// `mysql://` and `mariadb://` URLs, parsed by the mysql backend.
    Mysql(SecretUrl),
}

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    /// A private in-memory database, gone when the connection closes.
    Memory,
    /// A database file (created when missing).
    File(PathBuf),
}

/// A connection string that may hold a password: only [`SecretUrl::expose`]
/// gives the text; Display and Debug redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Returns a secret holding `url`.
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(url.into())
    }

    /// Returns the full text, password included, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns the text with any password replaced by `****`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.redacted())
    }
}

impl DatabaseUrl {
    /// Returns the backend a URL names, or an error saying why it names none.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if lower == "sqlite::memory:" || lower == "sqlite://:memory:" {
            return Ok(DatabaseUrl::Sqlite(SqliteTarget::Memory));
        }
        if lower.starts_with("sqlite:") {
            let rest = &url["sqlite:".len()..];
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(DbError::InvalidUrl(
                    "the sqlite URL names no file: use sqlite://<path> or sqlite::memory:"
                        .to_owned(),
                ));
            }
            if path.contains('?') {
                return Err(DbError::InvalidUrl(format!(
                    "sqlite URL options are not supported: `{url}`"
                )));
            }
            return Ok(DatabaseUrl::Sqlite(SqliteTarget::File(PathBuf::from(path))));
        }
        if let Some(scheme) = connstr::url_scheme(&lower) {
            let secret = SecretUrl::new(url);
            return match scheme {
                "mssql" | "sqlserver" => Ok(DatabaseUrl::Mssql(secret)),
                "postgres" | "postgresql" => Ok(DatabaseUrl::Postgres(secret)),
                "mysql" | "mariadb" => Ok(DatabaseUrl::Mysql(secret)),
                other => Err(DbError::UnsupportedScheme(other.to_owned())),
            };
        }
        if is_ado_net(url) {
            return Ok(DatabaseUrl::Mssql(SecretUrl::new(url)));
        }
        if connstr::is_libpq(url) {
            return Ok(DatabaseUrl::Postgres(SecretUrl::new(url)));
        }
        Err(DbError::InvalidUrl(format!(
            "`{}` is neither a URL (sqlite://, mssql://, postgres://, mysql://) nor an ADO.NET \
             or libpq (host=.. dbname=..) connection string",
            redact(url)
        )))
    }

    /// Returns the dialect of the database the URL names.
    pub fn dialect_kind(&self) -> DialectKind {
        match self {
            DatabaseUrl::Sqlite(_) => DialectKind::Sqlite,
            DatabaseUrl::Mssql(_) => DialectKind::Mssql,
            DatabaseUrl::Postgres(_) => DialectKind::Postgres,
            DatabaseUrl::Mysql(_) => DialectKind::Mysql,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = DbError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(SqliteTarget::Memory) => f.write_str("sqlite::memory:"),
            DatabaseUrl::Sqlite(SqliteTarget::File(path)) => {
                write!(f, "sqlite://{}", path.display())
            }
            DatabaseUrl::Mssql(s) | DatabaseUrl::Postgres(s) | DatabaseUrl::Mysql(s) => {
                fmt::Display::fmt(s, f)
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(target) => f.debug_tuple("Sqlite").field(target).finish(),
            DatabaseUrl::Mssql(s) => f.debug_tuple("Mssql").field(s).finish(),
            DatabaseUrl::Postgres(s) => f.debug_tuple("Postgres").field(s).finish(),
            DatabaseUrl::Mysql(s) => f.debug_tuple("Mysql").field(s).finish(),
        }
    }
}

/// Returns whether `text` is an ADO.NET connection string: `key=value`
/// pairs separated by `;`, one of them naming a server. A string with a
/// mistake (say an unclosed quote) that names a server is one too, so that
/// the SQL Server reader can say what the mistake is.
fn is_ado_net(text: &str) -> bool {
    match connstr::split_ado(text) {
        Ok(pairs) => connstr::names_ado_server(&pairs),
        Err(_) => text.split(';').any(|segment| {
            segment.split_once('=').is_some_and(|(key, _)| {
                matches!(
                    key.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_ascii_lowercase()
                        .as_str(),
                    "server" | "data source" | "addr" | "address" | "network address"
                )
            })
        }),
    }
}

/// Returns `url` with every password replaced by `****`, however the string
/// is spelt: the password of a URL's `user:password@` (which may hold `@`,
/// `:`, `/`, `?` or `#` unescaped), a `password=` query parameter, the
/// `password`/`pwd` key of an ADO.NET string (quoted or not) and the
/// `password` of a libpq `key=value` string. Text none of these readers can
/// split is cut at its first password key.
pub fn redact(url: &str) -> String {
    let redacted = redact_structured(url);
    // The last guard: a password key that still has a value of its own (a
    // key the readers took for part of another, say) cuts the text there.
    if connstr::shows_password_value(&redacted, REDACTED) {
        connstr::cut_at_password(&redacted, REDACTED)
    } else {
        redacted
    }
}

fn redact_structured(url: &str) -> String {
    if let Some(parts) = connstr::split_url(url) {
        return parts.redacted(REDACTED);
    }
    if !url.contains(';') {
        if let Ok(pairs) = connstr::split_libpq(url) {
            return connstr::redact_libpq(&pairs, REDACTED);
        }
    }
    if let Ok(pairs) = connstr::split_ado(url) {
        return connstr::redact_ado(&pairs, REDACTED);
    }
    connstr::cut_at_password(url, REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> String {
        match DatabaseUrl::parse(url) {
            Ok(u) => format!("{u:?} | {u}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            parsed("sqlite://rev.db"),
            r#"Sqlite(File("rev.db")) | sqlite://rev.db"#
        );
        assert_eq!(
            parsed("sqlite://data/app.db"),
            r#"Sqlite(File("data/app.db")) | sqlite://data/app.db"#
        );
        assert_eq!(
            parsed("sqlite:///var/db/app.db"),
            r#"Sqlite(File("/var/db/app.db")) | sqlite:///var/db/app.db"#
        );
        assert_eq!(
            parsed("sqlite::memory:"),
            "Sqlite(Memory) | sqlite::memory:"
        );
        assert_eq!(
            parsed("SQLITE://:memory:"),
            "Sqlite(Memory) | sqlite::memory:"
        );
        assert_eq!(
            parsed("sqlite://"),
            "error: invalid database URL: the sqlite URL names no file: use sqlite://<path> or sqlite::memory:"
        );
        assert_eq!(
            parsed("sqlite://x.db?mode=rwc"),
            "error: invalid database URL: sqlite URL options are not supported: `sqlite://x.db?mode=rwc`"
        );
    }

    #[test]
    fn server_urls_are_redacted() {
        assert_eq!(
            parsed("mssql://sa:S3cret!@db:1433/app?encrypt=true"),
            r#"Mssql(SecretUrl("mssql://sa:****@db:1433/app?encrypt=true")) | mssql://sa:****@db:1433/app?encrypt=true"#
        );
        assert_eq!(
            parsed("postgres://u:p%40ss@localhost/app?password=other&sslmode=require"),
            r#"Postgres(SecretUrl("postgres://u:****@localhost/app?password=****&sslmode=require")) | postgres://u:****@localhost/app?password=****&sslmode=require"#
        );
        assert_eq!(
            parsed("postgresql://localhost/app"),
            r#"Postgres(SecretUrl("postgresql://localhost/app")) | postgresql://localhost/app"#
        );
        assert_eq!(
            parsed("mariadb://root:pw@127.0.0.1:3306/app"),
            r#"Mysql(SecretUrl("mariadb://root:****@127.0.0.1:3306/app")) | mariadb://root:****@127.0.0.1:3306/app"#
        );
        assert_eq!(
            parsed("mysql://root@h/app"),
            r#"Mysql(SecretUrl("mysql://root@h/app")) | mysql://root@h/app"#
        );
        assert_eq!(
            parsed("oracle://u:p@h/x"),
            "error: unsupported database URL scheme `oracle`: expected sqlite, mssql, postgres or mysql"
        );
    }

    #[test]
    fn ado_net_strings() {
        let url = "Server=tcp:db,1433;Database=app;User Id=sa;Password={a;b}}c};Encrypt=true";
        let parsed = DatabaseUrl::parse(url).unwrap();
        assert_eq!(parsed.dialect_kind(), DialectKind::Mssql);
        assert_eq!(
            parsed.to_string(),
            "Server=tcp:db,1433;Database=app;User Id=sa;Password=****;Encrypt=true"
        );
        match &parsed {
            DatabaseUrl::Mssql(secret) => assert_eq!(secret.expose(), url),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            redact("data source=x;pwd=\"q;uoted\";user=u"),
            "data source=x;pwd=****;user=u"
        );
        assert_eq!(
            parsed_err("just some text"),
            "invalid database URL: `just some text` is neither a URL (sqlite://, mssql://, postgres://, mysql://) nor an ADO.NET or libpq (host=.. dbname=..) connection string"
        );
        assert!(!parsed_err("password=hunter2;x=y").contains("hunter2"));
        // A password holding `://` does not make the string a URL whose
        // "scheme" (all before it) an error would quote.
        assert_eq!(
            super::tests::parsed("Server=h;User Id=a;Password={Zq://x};Encrypt=true"),
            r#"Mssql(SecretUrl("Server=h;User Id=a;Password=****;Encrypt=true")) | Server=h;User Id=a;Password=****;Encrypt=true"#
        );
    }

    #[test]
    fn passwords_with_url_delimiters_are_redacted_whole() {
        assert_eq!(
            redact("postgres://u:pa/ss@h:5432/db"),
            "postgres://u:****@h:5432/db"
        );
        assert_eq!(
            redact("mysql://root:a#b?c@h/app?x=1"),
            "mysql://root:****@h/app?x=1"
        );
        assert_eq!(
            redact("postgres://u:p@h/db?application_name=a@b"),
            "postgres://u:****@h/db?application_name=a@b"
        );
        assert_eq!(
            redact("postgres://h/db?application_name=a@b"),
            "postgres://h/db?application_name=a@b"
        );
        assert_eq!(
            parsed("postgres://u:se/cr?et@db/app"),
            r#"Postgres(SecretUrl("postgres://u:****@db/app")) | postgres://u:****@db/app"#
        );
    }

    #[test]
    fn space_separated_passwords_are_redacted() {
        let url = "host=h user=u password=s3cret dbname=d";
        assert_eq!(
            parsed(url),
            r#"Postgres(SecretUrl("host=h user=u password=**** dbname=d")) | host=h user=u password=**** dbname=d"#
        );
        assert_eq!(
            redact("host=h user=u PWD = s3cret dbname=d"),
            "host=h user=u PWD=**** dbname=d"
        );
        assert_eq!(
            redact("host=h password='s3 cr\\'et' dbname=d"),
            "host=h password=**** dbname=d"
        );
        // A libpq string taken for ADO.NET is still cut at its password.
        assert_eq!(
            redact("server=x;host=h password=s3cret dbname=d"),
            "server=x;host=h password=****"
        );
    }

    fn parsed_err(url: &str) -> String {
        DatabaseUrl::parse(url).unwrap_err().to_string()
    }
}
