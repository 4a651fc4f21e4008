//! Which database a project talks to, and opening it.

use std::path::{Path, PathBuf};

use rev_db::{Backend, DatabaseUrl, SqliteTarget};
use rev_project::Project;
use rev_sql::DialectKind;

use crate::error::{MigrateError, Result};

/// Returns the database URL: `explicit` (the command line's `--url`), then
/// `DATABASE_URL` (the environment, or `.env` at the project root), then the
/// config. A relative SQLite path in the config or in the project's `.env` is
/// taken from the project's directory, so `--config elsewhere/rev.ron` finds
/// its database; one in the real environment (like `--url`) is taken from the
/// current directory, as every other program reads it.
pub fn database_url(project: &Project, explicit: Option<&str>) -> Result<String> {
    if let Some(url) = explicit {
        return Ok(url.to_owned());
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    // Read, not loaded into the environment: a value from the file resolves
    // against the project, and the real environment keeps precedence.
    if let Some(url) = dotenv_url(&project.root.join(".env")) {
        return Ok(relative_to_root(&url, &project.root));
    }
    match &project.config.url {
        Some(url) => Ok(relative_to_root(url, &project.root)),
        None => Err(MigrateError::NoUrl {
            dialect: example_dialect(&project.root),
        }),
    }
}

/// Returns the non-empty `DATABASE_URL` of a dotenv file, if it has one.
fn dotenv_url(path: &Path) -> Option<String> {
    dotenvy::from_path_iter(path)
        .ok()?
        .filter_map(std::result::Result::ok)
        .find(|(key, value)| key == "DATABASE_URL" && !value.is_empty())
        .map(|(_, value)| value)
}

/// Returns the dialect of the URL in the project's `.env.example` (which
/// `rev init --dialect` writes), so that a hint names the project's database.
fn example_dialect(root: &Path) -> Option<DialectKind> {
    dotenv_url(&root.join(".env.example")).and_then(|url| dialect_of_url(&url))
}

fn relative_to_root(url: &str, root: &Path) -> String {
    match DatabaseUrl::parse(url) {
        Ok(DatabaseUrl::Sqlite(SqliteTarget::File(path)))
            if path.is_relative() && !root.as_os_str().is_empty() =>
        {
            format!("sqlite://{}", root.join(path).display())
        }
        _ => url.to_owned(),
    }
}

/// Returns the dialect of a URL's scheme, without connecting: the same reading
/// as the connection's, so that an ADO.NET string is SQL Server whatever key
/// it starts with.
pub fn dialect_of_url(url: &str) -> Option<DialectKind> {
    DatabaseUrl::parse(url)
        .ok()
        .map(|parsed| parsed.dialect_kind())
}

/// Returns the path of a SQLite database file that does not exist yet, however
/// the URL spells it; opening it would create it, which reading commands must not.
pub fn missing_sqlite_file(url: &str) -> Option<PathBuf> {
    match DatabaseUrl::parse(url) {
        Ok(DatabaseUrl::Sqlite(SqliteTarget::File(path))) if !path.exists() => Some(path),
        _ => None,
    }
}

/// Connects to `url`; a backend this build leaves out is an error that says so.
/// A SQLite file that cannot be opened is its own error, since its hint is
/// about a path, not a server.
pub fn connect(url: &str) -> Result<Box<dyn Backend>> {
    rev_db::connect(url).map_err(|error| match (DatabaseUrl::parse(url), error) {
        (Ok(DatabaseUrl::Sqlite(_)), error @ rev_db::DbError::Connect { .. }) => {
            MigrateError::SqliteOpen(Box::new(error))
        }
        (_, error) => error.into(),
    })
}

/// Returns `url` with any password hidden, for messages.
pub fn redact(url: &str) -> String {
    rev_db::url::redact(url)
}
