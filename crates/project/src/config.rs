//! `rev.ron`: where the migrations are and how to reach the database.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

fn default_migrations() -> String {
    "migrations".to_owned()
}

fn default_version_table() -> String {
    "rev_version".to_owned()
}

fn default_history_table() -> String {
    "rev_history".to_owned()
}

fn default_lock_timeout() -> u64 {
    60
}

/// A project's configuration (DESIGN.md §5).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Config", deny_unknown_fields)]
pub struct Config {
    /// The directory holding `versions/`, relative to the config file.
    #[serde(default = "default_migrations")]
    pub migrations: String,
    /// The directory of declared tables, for autogenerate.
    #[serde(default)]
    pub models: Option<String>,
    /// The database URL used when neither `--url` nor `DATABASE_URL` is set.
    #[serde(default)]
    pub url: Option<String>,
    /// The version table's name (`alembic_version` to share a database with Alembic).
    #[serde(default = "default_version_table")]
    pub version_table: String,
    /// The history table's name.
    #[serde(default = "default_history_table")]
    pub history_table: String,
    /// The schema holding both tables.
    #[serde(default)]
    pub schema: Option<String>,
    /// How long to wait for another runner's lock, in seconds.
    #[serde(default = "default_lock_timeout")]
    pub lock_timeout_secs: u64,
    /// Named sets of databases, chosen with `--env NAME`.
    #[serde(default)]
    pub environments: BTreeMap<String, Env>,
}

/// One environment of rev.ron: a database, or a fleet of them that runs
/// `jobs` at a time after `canary` of them went first.
///
/// URLs may name environment variables as `${NAME}`; they are expanded when a
/// command runs, so that no password needs to be written in the file.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename = "Env", deny_unknown_fields)]
pub struct Env {
    /// One database.
    #[serde(default)]
    pub url: Option<String>,
    /// Several databases, listed inline.
    #[serde(default)]
    pub urls: Vec<String>,
    /// A file of URLs, one a line (`#` comments and blank lines skipped),
    /// relative to the project's directory.
    #[serde(default)]
    pub urls_file: Option<String>,
    /// How many databases to migrate at once (default 4).
    #[serde(default)]
    pub jobs: Option<usize>,
    /// How many databases to migrate first, before the rest start; a failure
    /// among them stops the run.
    #[serde(default)]
    pub canary: usize,
}

// URLs may hold passwords: Debug shows only how many are set.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("urls", &self.urls.len())
            .field("urls_file", &self.urls_file)
            .field("jobs", &self.jobs)
            .field("canary", &self.canary)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            migrations: default_migrations(),
            models: Some("models".to_owned()),
            url: None,
            version_table: default_version_table(),
            history_table: default_history_table(),
            schema: None,
            lock_timeout_secs: default_lock_timeout(),
            environments: BTreeMap::new(),
        }
    }
}

// The URL may hold a password: Debug shows only whether one is set.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("migrations", &self.migrations)
            .field("models", &self.models)
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("version_table", &self.version_table)
            .field("history_table", &self.history_table)
            .field("schema", &self.schema)
            .field("lock_timeout_secs", &self.lock_timeout_secs)
            .field("environments", &self.environments)
            .finish()
    }
}

/// Returns the URL a new project of `dialect` starts with: a local database
/// with the server's usual user, for the developer to edit.
pub fn example_url(dialect: &str) -> &'static str {
    match dialect {
        "mssql" => {
            "mssql://sa:change-me@localhost:1433/app?encrypt=true&trust_server_certificate=true"
        }
        "postgres" => "postgres://postgres@localhost:5432/app",
        "mysql" => "mysql://root@localhost:3306/app",
        _ => "sqlite://rev.db",
    }
}

/// Returns the text of a new project's `rev.ron` for a dialect.
pub fn config_template(dialect: &str) -> String {
    let url = example_url(dialect);
    let comment = if dialect == "sqlite" {
        "// relative to this file; DATABASE_URL (or .env) overrides it"
    } else {
        "// a local server; DATABASE_URL (or .env) overrides it"
    };
    format!(
        "// rev's configuration: see docs/configuration.md.
Config(
    migrations: \"migrations\",            // holds versions/
    models: Some(\"models\"),              // declared tables, for autogenerate
    url: Some(\"{url}\"), {comment}
    version_table: \"rev_version\",        // \"alembic_version\" to share a database with Alembic
    history_table: \"rev_history\",
    schema: None,
    lock_timeout_secs: 60,
    // Named databases for `--env NAME`; `${{VAR}}` is read from the environment or .env:
    // environments: {{
    //     \"staging\": Env(url: \"postgres://app:${{STAGING_PG_PASSWORD}}@staging-db:5432/app\"),
    //     \"prod\": Env(urls_file: \"tenants.txt\", jobs: 8, canary: 2),
    // }},
)
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::parse_ron;

    #[test]
    fn templates_parse_for_every_dialect() {
        for dialect in ["sqlite", "mssql", "postgres", "mysql"] {
            let config: Config = parse_ron(&config_template(dialect)).unwrap();
            assert_eq!(config.version_table, "rev_version");
            assert_eq!(config.url.as_deref(), Some(example_url(dialect)));
        }
    }

    #[test]
    fn debug_hides_the_url() {
        let config = Config {
            url: Some("postgres://u:secret@h/db".into()),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn environments_parse() {
        let config: Config = parse_ron(
            r#"Config(environments: {
                "staging": Env(url: "postgres://u:${PW}@h/db"),
                "prod": Env(urls_file: "tenants.txt", jobs: 8, canary: 2),
                "dev": Env(urls: ["sqlite://a.db", "sqlite://b.db"]),
            })"#,
        )
        .unwrap();
        let prod = &config.environments["prod"];
        assert_eq!(prod.urls_file.as_deref(), Some("tenants.txt"));
        assert_eq!((prod.jobs, prod.canary), (Some(8), 2));
        assert_eq!(config.environments["dev"].urls.len(), 2);
        assert_eq!(
            config.environments["staging"].url.as_deref(),
            Some("postgres://u:${PW}@h/db")
        );
        let bad = parse_ron::<Config>(r#"Config(environments: {"x": Env(uri: "a")})"#);
        assert!(bad.is_err());
    }

    #[test]
    fn debug_hides_environment_urls() {
        let config: Config = parse_ron(
            r#"Config(environments: {"p": Env(url: "postgres://u:secret@h/db", urls: ["mysql://u:hidden@h/db"])})"#,
        )
        .unwrap();
        let text = format!("{config:?}");
        assert!(
            !text.contains("secret") && !text.contains("hidden"),
            "{text}"
        );
    }

    #[test]
    fn every_field_is_optional() {
        let config: Config = parse_ron("Config()").unwrap();
        assert_eq!(config.migrations, "migrations");
        assert_eq!(config.lock_timeout_secs, 60);
        assert_eq!(config.models, None);
    }
}
