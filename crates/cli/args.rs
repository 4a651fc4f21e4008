//! The command line's shape (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use rev_sql::DialectKind;

/// Where the options every command takes are listed in `--help`, apart from the command's own.
const GLOBAL: &str = "Global options";

/// rev: schema migrations as a DAG of revisions, for SQL Server, SQLite,
/// PostgreSQL and MySQL.
#[derive(Parser)]
#[command(
    name = "rev",
    version,
    about,
    max_term_width = 100,
    after_help = "Examples:
  rev init app --dialect mssql             a new project in app/
  rev revision -m \"create users\"           a new migration on the single head
  rev upgrade heads --plan                 what would run against the database
  rev upgrade heads                        run it
  rev upgrade heads --sql > deploy.sql     a script instead (--dialect without a URL)
  rev downgrade ae10                       un-apply the revisions after ae10
  rev history -v                           revisions with parents and files
  rev upgrade heads --env prod             every database of an environment of rev.ron
  rev history -r current:                  from the database's revision to the heads
  rev completions bash                     a completion script; `rev man` prints the man page

Targets: base, heads, head, an id or unique prefix, a branch label, <label>@head,
+N, -N, <rev>+N, <label>@-N, ...  Exit status: 0 ok, 1 failure, 2 usage error."
)]
pub struct Cli {
    /// The project's config file.
    #[arg(
        long,
        global = true,
        default_value = "rev.ron",
        value_name = "FILE",
        help_heading = GLOBAL
    )]
    pub config: PathBuf,
    /// The database URL (overrides DATABASE_URL and `url` in rev.ron).
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub url: Option<String>,
    /// An environment of rev.ron: one database, or a fleet run `jobs` at a time.
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub env: Option<String>,
    /// In a fleet, keep starting databases after one failed (canaries apart).
    #[arg(long = "continue-on-error", global = true, help_heading = GLOBAL)]
    pub continue_on_error: bool,
    /// In a fleet, how many databases run at once (overrides the environment's `jobs`).
    #[arg(
        long,
        global = true,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        help_heading = GLOBAL
    )]
    pub jobs: Option<u32>,
    /// Output format: text (the default) or json; `graph` draws ascii, dot or mermaid.
    #[arg(
        long,
        global = true,
        value_enum,
        hide_possible_values = true,
        value_name = "text|json|ascii|dot|mermaid",
        help_heading = GLOBAL
    )]
    pub format: Option<Format>,
    /// The dialect of `--sql` scripts without a URL, and of the project `init` writes.
    #[arg(
        long,
        global = true,
        value_name = "mssql|sqlite|postgres|mysql",
        value_parser = parse_dialect,
        help_heading = GLOBAL
    )]
    pub dialect: Option<DialectKind>,
    /// Print only errors and the data asked for.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Print more detail: parents and paths of revisions, the SQL of each step.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "quiet",
        help_heading = GLOBAL
    )]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl std::fmt::Debug for Cli {
    /// Writes the options with the URL's password hidden, as everywhere else.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cli")
            .field("config", &self.config)
            .field("url", &self.url.as_deref().map(rev_db::url::redact))
            .field("env", &self.env)
            .field("continue_on_error", &self.continue_on_error)
            .field("jobs", &self.jobs)
            .field("format", &self.format)
            .field("dialect", &self.dialect)
            .field("quiet", &self.quiet)
            .field("verbose", &self.verbose)
            .field("command", &self.command)
            .finish()
    }
}

/// Returns the dialect a `--dialect` value names.
fn parse_dialect(text: &str) -> Result<DialectKind, rev_sql::UnknownDialect> {
    text.parse()
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// Stable JSON for scripts.
    Json,
    /// A text drawing (for `graph`).
    Ascii,
    /// Graphviz dot (for `graph`).
    Dot,
    /// Mermaid flowchart (for `graph`).
    Mermaid,
}

impl Format {
    /// Returns the name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Ascii => "ascii",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a project: rev.ron, migrations/versions, models, .env.example.
    Init {
        /// Where to create it.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Write a new migration file.
    Revision {
        /// What the migration does.
        #[arg(short, long)]
        message: String,
        /// The parent (default: the single head; `base` starts a new base).
        #[arg(long, value_name = "REV")]
        head: Option<String>,
        /// A label naming the branch that starts at the new revision.
        #[arg(long = "branch-label", value_name = "LABEL")]
        branch_label: Vec<String>,
        /// A revision or branch label to apply first, without being a parent.
        #[arg(long = "depends-on", value_name = "REV")]
        depends_on: Vec<String>,
        /// Use this id instead of a random one.
        #[arg(long = "rev-id", value_name = "ID")]
        rev_id: Option<String>,
        /// Fill the migration from the difference between models and migrations.
        #[arg(long)]
        autogenerate: bool,
        /// With --autogenerate: compare the models with the live database
        /// (which must be at the new revision's parent) instead of the migrations.
        #[arg(long = "from-db", requires = "autogenerate")]
        from_db: bool,
    },
    /// Write a revision that joins several heads.
    Merge {
        /// The revisions to join (default: all heads).
        revisions: Vec<String>,
        /// What the merge is for.
        #[arg(short, long)]
        message: String,
        /// Use this id instead of a random one.
        #[arg(long = "rev-id", value_name = "ID")]
        rev_id: Option<String>,
        /// Write the merge although the branches conflict; the file records
        /// the conflicts as acknowledged.
        #[arg(long = "allow-conflicts")]
        allow_conflicts: bool,
    },
    /// Move a branch onto another revision (its first revision's parent
    /// changes), so the history stays linear instead of gaining a merge.
    Rebase {
        /// The branch: a branch label or a head.
        branch: String,
        /// The revision to move it onto, usually another head.
        #[arg(long, value_name = "REV")]
        onto: String,
        /// Move the branch although it conflicts with the other line.
        #[arg(long = "allow-conflicts")]
        allow_conflicts: bool,
    },
    /// Write one revision that replaces a linear run of revisions FROM:TO.
    Squash {
        /// The run, oldest first: FROM:TO.
        range: String,
        /// What the squash is for.
        #[arg(short, long)]
        message: String,
        /// Use this id instead of a random one.
        #[arg(long = "rev-id", value_name = "ID")]
        rev_id: Option<String>,
    },
    /// List the heads.
    Heads,
    /// List the branch points and the branches leaving them.
    Branches,
    /// List revisions, newest first.
    History {
        /// A range FROM:TO (either end may be left out; `current` is the database's revision).
        #[arg(short = 'r', long = "rev-range", value_name = "FROM:TO")]
        range: Option<String>,
    },
    /// Show one revision.
    Show {
        /// The revision (an id, a unique id prefix, a branch label, `head`, ...).
        #[arg(allow_hyphen_values = true)]
        revision: String,
    },
    /// Draw the graph (--format ascii, dot, mermaid or json).
    Graph,
    /// Show the database's current revisions.
    Current,
    /// Apply revisions up to a target.
    Upgrade {
        /// The target (`heads`, `head`, an id, `<label>@head`, `+1`, ...) or FROM:TO with --sql.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print the SQL script instead of touching the database.
        #[arg(long)]
        sql: bool,
        /// Print the steps against the live database and change nothing.
        #[arg(long, conflicts_with = "sql")]
        plan: bool,
        /// Resume a migration that an earlier run left part-way, counting the
        /// statement it was running (raw SQL, which rev cannot check) as applied.
        #[arg(long = "assume-applied", conflicts_with_all = ["sql", "assume_not_applied"])]
        assume_applied: bool,
        /// Resume a migration that an earlier run left part-way, counting the
        /// statement it was running as not applied (it runs again).
        #[arg(long = "assume-not-applied", conflicts_with = "sql")]
        assume_not_applied: bool,
    },
    /// Un-apply revisions down to a target.
    Downgrade {
        /// The target (`base`, an id, `-1`, ...) or FROM:TO with --sql.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print the SQL script instead of touching the database.
        #[arg(long)]
        sql: bool,
        /// Print the steps against the live database and change nothing.
        #[arg(long, conflicts_with = "sql")]
        plan: bool,
        /// Resume a migration that an earlier run left part-way, counting the
        /// statement it was running (raw SQL, which rev cannot check) as applied.
        #[arg(long = "assume-applied", conflicts_with_all = ["sql", "assume_not_applied"])]
        assume_applied: bool,
        /// Resume a migration that an earlier run left part-way, counting the
        /// statement it was running as not applied (it runs again).
        #[arg(long = "assume-not-applied", conflicts_with = "sql")]
        assume_not_applied: bool,
    },
    /// Set the version table to a target without running migrations.
    Stamp {
        /// The target (`heads`, `base`, an id, ...) or FROM:TO with --sql.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Empty the version table first.
        #[arg(long)]
        purge: bool,
        /// Print the SQL script instead of touching the database.
        #[arg(long)]
        sql: bool,
    },
    /// Bring another tool's history over as rev migrations.
    #[command(subcommand)]
    Import(ImportFrom),
    /// Print a shell completion script: `rev completions bash > ~/.local/share/bash-completion/completions/rev`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `rev man > ~/.local/share/man/man1/rev.1`.
    Man,
    /// Report graph problems, several heads, edited applied migrations and model drift.
    Check {
        /// Also compare the live database with the migrations at its current
        /// revisions, and report changes made by hand.
        #[arg(long)]
        db: bool,
    },
}

impl Command {
    /// Returns the command's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init { .. } => "init",
            Command::Revision { .. } => "revision",
            Command::Merge { .. } => "merge",
            Command::Rebase { .. } => "rebase",
            Command::Squash { .. } => "squash",
            Command::Heads => "heads",
            Command::Branches => "branches",
            Command::History { .. } => "history",
            Command::Show { .. } => "show",
            Command::Graph => "graph",
            Command::Current => "current",
            Command::Upgrade { .. } => "upgrade",
            Command::Downgrade { .. } => "downgrade",
            Command::Stamp { .. } => "stamp",
            Command::Check { .. } => "check",
            Command::Import(_) => "import",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
        }
    }
}

/// What `rev import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// An Alembic project (alembic.ini, versions/*.py), read without running its Python.
    Alembic {
        /// The directory holding alembic.ini, the file itself, or a script directory.
        path: PathBuf,
        /// The rev project to write into (created when it has no rev.ron).
        #[arg(long, default_value = ".", value_name = "DIR")]
        into: PathBuf,
        /// The version table Alembic's env.py uses, for the rev.ron written.
        #[arg(
            long = "version-table",
            default_value = "alembic_version",
            value_name = "NAME"
        )]
        version_table: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn debug_hides_the_url_password() {
        let cli = Cli::parse_from(["rev", "--url", "postgres://u:s3cret@h/db", "current"]);
        let text = format!("{cli:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("postgres://u:****@h/db"), "{text}");
    }
}
