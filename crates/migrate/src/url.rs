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

/// The databases an environment of rev.ron names, with how to run them.
#[derive(Clone, PartialEq, Eq)]
pub struct Environment {
    /// Its name in rev.ron.
    pub name: String,
    /// Its URLs, variables expanded and relative SQLite paths taken from the
    /// project's directory, in the order written.
    pub urls: Vec<String>,
    /// How many databases run at once (at least 1).
    pub jobs: usize,
    /// How many databases run first, before the rest start.
    pub canary: usize,
}

// URLs may hold passwords once expanded: Debug shows them redacted.
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| redact(u)).collect();
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("urls", &urls)
            .field("jobs", &self.jobs)
            .field("canary", &self.canary)
            .finish()
    }
}

/// How many databases an environment runs at once when rev.ron does not say.
/// A fleet waits on disks (SQLite's syncs) or on the network, not on this
/// machine's cores, so more in flight than cores pays: 1,000 SQLite files
/// take 12.0 s at 4 and 8.4 s at 8 (BENCHMARKS.md), and eight connections
/// are little for any server.
pub const DEFAULT_JOBS: usize = 8;

/// Returns the environment `name` of rev.ron with its URLs read: `url`, then
/// `urls`, then the lines of `urls_file` (blank lines and `#` comments
/// skipped). `${VAR}` in a URL is read from the process's environment, else
/// from `.env` at the project root; a variable set in neither is an error
/// that names it.
pub fn environment(project: &Project, name: &str) -> Result<Environment> {
    let Some(env) = project.config.environments.get(name) else {
        return Err(MigrateError::UnknownEnvironment {
            name: name.to_owned(),
            known: project.config.environments.keys().cloned().collect(),
        });
    };
    let mut written: Vec<String> = env.url.iter().chain(&env.urls).cloned().collect();
    if let Some(file) = &env.urls_file {
        let path = project.root.join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| MigrateError::UrlsFile {
            environment: name.to_owned(),
            path: path.clone(),
            source,
        })?;
        written.extend(urls_of_file(&text));
    }
    if written.is_empty() {
        return Err(MigrateError::EmptyEnvironment(name.to_owned()));
    }
    let dotenv = read_dotenv(&project.root);
    let lookup = |variable: &str| {
        std::env::var(variable).ok().or_else(|| {
            dotenv
                .iter()
                .find(|(k, _)| k == variable)
                .map(|(_, v)| v.clone())
        })
    };
    let urls = written
        .iter()
        .map(|url| {
            let url = expand_variables(url, &lookup).map_err(|variable| {
                MigrateError::MissingVariable {
                    environment: name.to_owned(),
                    variable,
                }
            })?;
            Ok(relative_to_root(&url, &project.root))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Environment {
        name: name.to_owned(),
        urls,
        jobs: env.jobs.unwrap_or(DEFAULT_JOBS).max(1),
        canary: env.canary,
    })
}

/// Returns the databases a command talks to: `--url` alone, else the
/// environment `--env` names, else the one database of [`database_url`].
pub fn database_urls(
    project: &Project,
    explicit: Option<&str>,
    env: Option<&str>,
) -> Result<Vec<String>> {
    match (explicit, env) {
        (None, Some(name)) => Ok(environment(project, name)?.urls),
        _ => Ok(vec![database_url(project, explicit)?]),
    }
}

/// Returns the URLs of a `urls_file`'s text: one a line, surrounding blanks
/// trimmed, blank lines and lines starting with `#` skipped.
pub fn urls_of_file(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
}

/// Returns the `.env` file's pairs, without putting them into the process's
/// environment: fleets read it from several threads.
fn read_dotenv(root: &Path) -> Vec<(String, String)> {
    match dotenvy::from_path_iter(root.join(".env")) {
        Ok(iter) => iter.filter_map(std::result::Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

/// Returns `text` with each `${NAME}` (NAME of letters, digits and `_`)
/// replaced by `lookup(NAME)`; the error is the first name it has no value
/// for. The value goes in as it is: a password with `@`, `/` or `:` must be
/// %-escaped where it is set.
pub fn expand_variables(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let body = after.get(2..).unwrap_or("");
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = body.get(..name_len).unwrap_or("");
        if name.is_empty() || !body.get(name_len..).unwrap_or("").starts_with('}') {
            // Not a variable reference: keep the text as written.
            out.push_str("${");
            rest = body;
            continue;
        }
        out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        rest = body.get(name_len + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "PW" => Some("s3cret".to_owned()),
            "HOST" => Some("db.internal".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn variables_expand() {
        assert_eq!(
            expand_variables("postgres://u:${PW}@${HOST}:5432/app", &vars).as_deref(),
            Ok("postgres://u:s3cret@db.internal:5432/app")
        );
        assert_eq!(
            expand_variables("sqlite://a.db", &vars).as_deref(),
            Ok("sqlite://a.db")
        );
    }

    #[test]
    fn a_missing_variable_is_named() {
        assert_eq!(
            expand_variables("postgres://u:${PW}@h/${NOPE}", &vars),
            Err("NOPE".to_owned())
        );
    }

    #[test]
    fn text_that_is_no_reference_stays() {
        for text in ["a${", "a${}b", "a${x y}", "$PW", "${PW"] {
            assert_eq!(expand_variables(text, &vars).as_deref(), Ok(text), "{text}");
        }
    }

    fn project_with(config: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rev.ron"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let project = Project::load(&dir.path().join("rev.ron")).unwrap();
        (dir, project)
    }

    #[test]
    fn an_environment_reads_its_file_and_dotenv() {
        let (dir, project) = project_with(
            r#"Config(environments: {"prod": Env(url: "sqlite://${REV_TEST_FLEET_FIRST}.db", urls_file: "tenants.txt", jobs: 0, canary: 1)})"#,
            &[
                (
                    "tenants.txt",
                    "# all of them\nsqlite://t1.db\n\nsqlite://t2.db\n",
                ),
                (".env", "REV_TEST_FLEET_FIRST=first\n"),
            ],
        );
        let env = environment(&project, "prod").unwrap();
        let root = dir.path().display();
        assert_eq!(
            env.urls,
            [
                format!("sqlite://{root}/first.db"),
                format!("sqlite://{root}/t1.db"),
                format!("sqlite://{root}/t2.db"),
            ]
        );
        assert_eq!((env.jobs, env.canary), (1, 1));
        // .env is read, not put into the process's environment.
        assert!(std::env::var("REV_TEST_FLEET_FIRST").is_err());
    }

    #[test]
    fn environment_errors_name_what_is_wrong() {
        let (_dir, project) = project_with(
            r#"Config(environments: {"a": Env(url: "postgres://u:${REV_TEST_FLEET_UNSET}@h/db"), "b": Env(), "c": Env(urls_file: "gone.txt")})"#,
            &[],
        );
        let text = |name: &str| environment(&project, name).unwrap_err().to_string();
        assert!(
            text("a").contains("${REV_TEST_FLEET_UNSET}"),
            "{}",
            text("a")
        );
        assert!(text("b").contains("names no database"), "{}", text("b"));
        assert!(text("c").contains("gone.txt"), "{}", text("c"));
        let unknown = environment(&project, "prod").unwrap_err();
        assert!(unknown.is_usage());
        assert!(
            unknown.to_string().contains("it defines a, b, c"),
            "{unknown}"
        );
        // --url wins over --env.
        let urls = database_urls(&project, Some("sqlite::memory:"), Some("nope")).unwrap();
        assert_eq!(urls, ["sqlite::memory:"]);
    }

    #[test]
    fn urls_files_skip_comments_and_blanks() {
        let text = "# tenants\nsqlite://a.db\n\n   \n  sqlite://b.db  \n#sqlite://c.db\n";
        let urls: Vec<String> = urls_of_file(text).collect();
        assert_eq!(urls, ["sqlite://a.db", "sqlite://b.db"]);
    }
}
