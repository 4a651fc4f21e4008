//! Which database a project talks to, and opening it.

use std::path::{Path, PathBuf};

use rev_db::{Backend, DatabaseUrl, SqliteTarget};
use rev_project::Project;
use rev_sql::DialectKind;

use crate::error::{MigrateError, Result};

/// Returns the database URL: `explicit` (the command line's `--url`), then
/// `DATABASE_URL` (the environment, or `.env` at the project root), then the
/// config. A relative SQLite path in the config is taken from the project's
/// directory, so `--config elsewhere/rev.ron` finds its database.
pub fn database_url(project: &Project, explicit: Option<&str>) -> Result<String> {
    if let Some(url) = explicit {
        return Ok(url.to_owned());
    }
    let _ = dotenvy::from_path(project.root.join(".env"));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    match &project.config.url {
        Some(url) => Ok(relative_to_root(url, &project.root)),
        None => Err(MigrateError::NoUrl),
    }
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
pub fn connect(url: &str) -> Result<Box<dyn Backend>> {
    Ok(rev_db::connect(url)?)
}

/// Returns `url` with any password hidden, for messages.
pub fn redact(url: &str) -> String {
    rev_db::url::redact(url)
}
