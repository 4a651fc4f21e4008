//! `rev.ron`: where the migrations are and how to reach the database.

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
    // Named databases, chosen with `rev --env NAME`:
    // environments: {{
    //     \"staging\": Env(url: \"{url}\"),
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
    fn every_field_is_optional() {
        let config: Config = parse_ron("Config()").unwrap();
        assert_eq!(config.migrations, "migrations");
        assert_eq!(config.lock_timeout_secs, 60);
        assert_eq!(config.models, None);
    }
}
