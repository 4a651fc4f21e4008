//! The engine's error: every variant keeps its source and knows the hint that
//! names the next thing to try.

use std::path::PathBuf;

use rev_db::DbError;
use rev_graph::{ParseTargetError, PlanError, ResolveError};
use rev_project::ProjectError;
use rev_schema::{FoldError, InvertError};
use rev_sql::{DialectKind, RenderError};

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The project could not be loaded or changed.
    #[error(transparent)]
    Project(Box<ProjectError>),
    /// A target string is not valid syntax.
    #[error(transparent)]
    Target(#[from] ParseTargetError),
    /// A target names no revision, or several where one is needed.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The graph cannot plan the move.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A squash's range is not a linear run (`rev squash FROM:TO`).
    #[error(transparent)]
    Range(#[from] rev_graph::RunError),
    /// The database refused or could not be reached.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A target names a revision that a squash replaces; in the squashed
    /// view of the graph it is not a revision of its own.
    #[error("revision `{revision}` is replaced by the squash `{squash}`: name `{squash}` instead")]
    Replaced {
        /// The revision the target named.
        revision: String,
        /// The squash that replaces it.
        squash: String,
    },
    /// The version table names a revision no file declares.
    #[error("the database is at revision `{0}`, which no migration file declares")]
    UnknownRevision(String),
    /// A migration has no downgrade and its upgrade cannot be inverted.
    #[error("{}: revision {revision} has no downgrade and its upgrade cannot be inverted: {source}", path.display())]
    NotInvertible {
        /// The migration file.
        path: PathBuf,
        /// Its revision.
        revision: String,
        /// Why it cannot be inverted.
        #[source]
        source: Box<InvertError>,
    },
    /// A migration's operations do not fit the schema the ones before it build.
    #[error("{}: revision {revision}: {source}", path.display())]
    Fold {
        /// The migration file.
        path: PathBuf,
        /// Its revision.
        revision: String,
        /// What does not fit.
        #[source]
        source: Box<FoldError>,
    },
    /// A migration cannot be written as SQL for the database's dialect.
    #[error("{}: revision {revision} ({direction}): cannot render for {dialect}: {source}", path.display())]
    Render {
        /// The migration file.
        path: PathBuf,
        /// Its revision.
        revision: String,
        /// `upgrade` or `downgrade`.
        direction: &'static str,
        /// The dialect.
        dialect: DialectKind,
        /// Why.
        #[source]
        source: Box<RenderError>,
    },
    /// A step failed; the steps before it stay applied.
    #[error("{source}\n{}", applied_before(.applied))]
    Step {
        /// The database's error.
        #[source]
        source: Box<DbError>,
        /// The steps that completed before the failure (`upgrade <id>`).
        applied: Vec<String>,
        /// What to do about statements that stayed applied, when some did.
        kept: Option<String>,
    },
    /// A stop was asked for (SIGINT, SIGTERM); the step running then
    /// committed or rolled back as a whole, and no later step ran. The lock
    /// is released.
    #[error("interrupted by {}: stopped before the next migration, {} not run; {}", signal_name(*.signal), counted(*.remaining), applied_so_far(.applied))]
    Interrupted {
        /// The number of the signal that asked to stop (2 SIGINT, 15 SIGTERM).
        signal: usize,
        /// The steps that completed (`upgrade <id>`).
        applied: Vec<String>,
        /// How many planned steps did not run.
        remaining: usize,
    },
    /// An earlier run was killed while a statement that commits on its own
    /// (raw SQL) was running, and whether it took effect cannot be known.
    #[error("revision {} ({}) was interrupted by an earlier run at statement {}, and rev cannot tell whether it took effect: {}\n{}", .0.revision, .0.direction, .0.index, .0.why, unsettled_statements(&.0.ran, .0.index, &.0.statement))]
    Unsettled(Box<crate::resume::Unsettled>),
    /// An applied migration's file changed since it was applied; nothing ran.
    #[error("{0}; nothing was run")]
    Edited(Box<crate::check::EditedMigration>),
    /// No database URL was given anywhere.
    #[error("no database URL: pass --url, set DATABASE_URL, or set `url` in rev.ron")]
    NoUrl {
        /// The project's dialect, when something in the project names it
        /// (the URL in `.env.example`), so that the hint fits the project.
        dialect: Option<DialectKind>,
    },
    /// A SQLite database file could not be opened or created.
    #[error(transparent)]
    SqliteOpen(Box<DbError>),
    /// `--env` names an environment rev.ron does not define.
    #[error("no environment `{name}` in rev.ron: {}", known_environments(.known))]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The environments rev.ron defines.
        known: Vec<String>,
    },
    /// An environment's URL names a variable that is set nowhere.
    #[error("environment `{environment}`: the URL names ${{{variable}}}, which is set neither in the environment nor in .env")]
    MissingVariable {
        /// The environment.
        environment: String,
        /// The variable.
        variable: String,
    },
    /// An environment's `urls_file` cannot be read.
    #[error("environment `{environment}`: cannot read urls_file {}: {source}", path.display())]
    UrlsFile {
        /// The environment.
        environment: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An environment names no database at all.
    #[error("environment `{0}` names no database: give it `url`, `urls` or `urls_file`")]
    EmptyEnvironment(String),
    /// The request itself is wrong (a usage error).
    #[error("{message}")]
    Usage {
        /// The sentence.
        message: String,
        /// What to type instead.
        hint: Option<String>,
    },
    /// The branches to be joined or moved conflict (DESIGN.md §3b); the
    /// report says where. Nothing was written.
    #[error("{} between the branches; nothing was written", conflict_count(.0))]
    Conflicts(Vec<crate::conflicts::Conflict>),
    /// The request cannot be carried out as asked.
    #[error("{message}")]
    Refused {
        /// The sentence.
        message: String,
        /// What to type next.
        hint: Option<String>,
    },
}

impl From<ProjectError> for MigrateError {
    fn from(error: ProjectError) -> Self {
        MigrateError::Project(Box::new(error))
    }
}

fn conflict_count(conflicts: &[crate::conflicts::Conflict]) -> String {
    match conflicts.len() {
        1 => "1 conflict".to_owned(),
        n => format!("{n} conflicts"),
    }
}

fn known_environments(known: &[String]) -> String {
    if known.is_empty() {
        "it defines none".to_owned()
    } else {
        format!("it defines {}", known.join(", "))
    }
}

fn applied_before(applied: &[String]) -> String {
    if applied.is_empty() {
        "nothing was applied before it".to_owned()
    } else {
        format!("completed before the failure: {}", applied.join(", "))
    }
}

/// Returns a signal's usual name, for the two that stop a run.
fn signal_name(signal: usize) -> String {
    match signal {
        2 => "SIGINT".to_owned(),
        15 => "SIGTERM".to_owned(),
        n => format!("signal {n}"),
    }
}

fn counted(steps: usize) -> String {
    if steps == 1 {
        "1 step".to_owned()
    } else {
        format!("{steps} steps")
    }
}

fn applied_so_far(applied: &[String]) -> String {
    if applied.is_empty() {
        "nothing was applied".to_owned()
    } else {
        format!("applied: {}", applied.join(", "))
    }
}

impl MigrateError {
    /// Returns a usage error.
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        MigrateError::Usage {
            message: message.into(),
            hint: hint.map(str::to_owned),
        }
    }

    /// Returns a refusal.
    pub fn refused(message: impl Into<String>, hint: Option<&str>) -> Self {
        MigrateError::Refused {
            message: message.into(),
            hint: hint.map(str::to_owned),
        }
    }

    /// Returns whether the caller asked for something malformed (the CLI exits 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            MigrateError::Usage { .. }
                | MigrateError::Target(_)
                | MigrateError::Range(_)
                | MigrateError::Replaced { .. }
                | MigrateError::UnknownEnvironment { .. }
        )
    }

    /// Returns what to try next, naming a command where one helps.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            MigrateError::Project(error) if matches!(**error, ProjectError::Graph { .. }) => {
                "fix the file; nothing was run against the database"
            }
            MigrateError::Resolve(error) => match error {
                ResolveError::MultipleHeads { .. } => "`rev heads` lists them",
                ResolveError::Unknown(_) => "`rev history` lists the revisions",
                ResolveError::Ambiguous { .. } => "type more characters of the id",
                _ => return None,
            },
            MigrateError::Db(error) => return db_hint(error).map(str::to_owned),
            MigrateError::UnknownRevision(_) => {
                "restore the file, or `rev stamp <rev> --purge` to reset the version table"
            }
            MigrateError::Replaced { .. } => {
                "a database inside the squashed run still reaches its revisions through the old files; `rev history` shows the squash"
            }
            MigrateError::NotInvertible { .. } => "write a `downgrade: [...]` list in the file",
            MigrateError::Range(_) => {
                "squash a linear run FROM:TO, older revision first; `rev history` shows the lines"
            }
            MigrateError::Step { source, kept, .. } => {
                return db_hint(source).map(str::to_owned).or_else(|| kept.clone())
            }
            MigrateError::NoUrl { dialect } => return Some(no_url_hint(*dialect)),
            MigrateError::SqliteOpen(_) => {
                "check the file's path in the URL: its directory must exist and be writable (a relative path in rev.ron or .env is taken from the project's directory)"
            }
            MigrateError::Interrupted { .. } => {
                "the database is consistent at the steps applied; run the same command again to go on"
            }
            MigrateError::UnknownEnvironment { .. } | MigrateError::EmptyEnvironment(_) => {
                "environments are defined in rev.ron: environments: {\"staging\": Env(url: \"...\")}"
            }
            MigrateError::MissingVariable { .. } => {
                "export the variable, or set it in the .env file at the project root"
            }
            MigrateError::Unsettled(unsettled) => {
                let direction = &unsettled.direction;
                return Some(format!(
                    "check the database by hand; if the statement took effect, run `rev {direction} \
                     <target> --assume-applied`, if it did not (or you undid it), `rev {direction} \
                     <target> --assume-not-applied`: either resumes the migration after or at it"
                ))
            }
            MigrateError::Edited(_) => {
                "restore the file as it was applied (`rev check` lists every edited one); change the schema in a new revision"
            }
            MigrateError::Conflicts(_) => {
                "resolve them in a new revision on one branch, or pass --allow-conflicts to accept them (the merge records them)"
            }
            MigrateError::Usage { hint, .. } | MigrateError::Refused { hint, .. } => {
                return hint.clone()
            }
            _ => return None,
        };
        Some(text.to_owned())
    }
}

/// Returns what to pass when no URL is set, in the project's dialect when known.
fn no_url_hint(dialect: Option<DialectKind>) -> String {
    let example = match dialect {
        Some(DialectKind::Sqlite) => "sqlite://rev.db",
        Some(DialectKind::Postgres) => "postgres://user@localhost:5432/app",
        Some(DialectKind::Mysql) => "mysql://user@localhost:3306/app",
        Some(DialectKind::Mssql) => "mssql://user:password@localhost:1433/app",
        None => {
            return "e.g. --url postgres://user@localhost:5432/app, or copy .env.example to .env"
                .to_owned()
        }
    };
    format!("copy .env.example to .env and edit it, or pass --url {example}")
}

/// Lists the statements that completed and the one in doubt.
fn unsettled_statements(ran: &[String], index: usize, statement: &str) -> String {
    let mut text = String::new();
    for (number, sql) in ran.iter().enumerate() {
        text.push_str(&format!("  completed {}: {sql}\n", number + 1));
    }
    text.push_str(&format!("  in doubt  {index}: {statement}"));
    text
}

fn db_hint(error: &DbError) -> Option<&'static str> {
    match error {
        DbError::LockTimeout(_) => Some("another `rev` is migrating this database; wait for it, or raise lock_timeout_secs in rev.ron"),
        DbError::VersionMismatch { .. } => Some("run `rev current` to see where the database stands, then retry"),
        DbError::Connect { .. } => Some(
            "check the URL (from --url, DATABASE_URL or `url` in rev.ron), the user and password, and that the server is running",
        ),
        DbError::Interrupted { .. } => Some(
            "run the same command again to resume it, or restore the migration file as it was when the run was interrupted",
        ),
        DbError::InvalidUrl(_) | DbError::UnsupportedScheme(_) => Some(
            "URLs look like sqlite://app.db, postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db, mssql://user:pass@host:1433/db or server=tcp:host,1433;database=db;user id=user;password=pass",
        ),
        _ => None,
    }
}

/// The engine's result.
pub type Result<T, E = MigrateError> = std::result::Result<T, E>;
