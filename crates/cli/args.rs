//! The command line's shape (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// rev: schema migrations as a DAG of revisions, for SQL Server, SQLite,
/// PostgreSQL and MySQL.
#[derive(Debug, Parser)]
#[command(name = "rev", version, about, max_term_width = 100)]
pub struct Cli {
    /// The project's config file.
    #[arg(long, global = true, default_value = "rev.ron", value_name = "FILE")]
    pub config: PathBuf,
    /// The database URL (overrides DATABASE_URL and the config).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Output format; each command accepts the ones that make sense for it.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// The dialect of `--sql` scripts when there is no URL.
    #[arg(long, global = true, value_name = "DIALECT")]
    pub dialect: Option<String>,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
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
    },
    /// List the heads.
    Heads,
    /// List the branch points and the branches leaving them.
    Branches,
    /// List revisions, newest first.
    History {
        /// A range FROM:TO (either end may be left out).
        #[arg(short = 'r', long = "rev-range", value_name = "FROM:TO")]
        range: Option<String>,
    },
    /// Show one revision.
    Show {
        /// The revision.
        #[arg(allow_hyphen_values = true)]
        revision: String,
    },
    /// Draw the graph.
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
    },
    /// Set the version table to a target without running migrations.
    Stamp {
        /// The target.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Empty the version table first.
        #[arg(long)]
        purge: bool,
        /// Print the SQL script instead of touching the database.
        #[arg(long)]
        sql: bool,
    },
    /// Report graph problems, several heads, edited applied migrations and model drift.
    Check {
        /// Also compare the live database with the migrations at its current
        /// revisions, and report changes made by hand.
        #[arg(long)]
        db: bool,
    },
}
