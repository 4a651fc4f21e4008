//! The `rev` command line: parses arguments, calls the libraries, prints
//! results, and decides the exit status in one place.

mod args;
mod author;
mod check;
mod database;
mod error;
mod fleet;
mod import;
mod inspect;
mod rebase;
mod render;
mod shell;
mod squash;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use rev_migrate::{Movement, Options, Project};

use crate::args::{Cli, Command, Format};
use crate::error::CliError;

/// What every command gets: the arguments, the output, and the project once loaded.
pub struct Ctx {
    /// The parsed command line.
    pub cli: Cli,
    /// Buffered: stdout alone writes each line with its own system call,
    /// 10,000 of them for `rev history` of 10,000 revisions.
    out: io::BufWriter<io::StdoutLock<'static>>,
    /// Whether stdout is a terminal, where each line shows as it is printed.
    live: bool,
    /// Whether stdout gets colour (a terminal without NO_COLOR, or CLICOLOR_FORCE).
    pub colour: bool,
    /// The subcommand's name, for messages.
    pub command_name: &'static str,
    /// What `--assume-applied` / `--assume-not-applied` ask (see
    /// [`Options::assume_applied`]).
    assume_applied: Option<bool>,
}

impl Ctx {
    /// Loads the project named by `--config`, every migration file in full.
    pub fn project(&self) -> Result<Project, CliError> {
        self.load(Project::load)
    }

    /// Loads the project named by `--config` with the migrations' headers
    /// only (see [`Project::load_headers`]), through the header cache unless
    /// `REV_NO_CACHE` is set: for the commands that print the graph and
    /// nothing of what a migration does (heads, branches, history, graph).
    pub fn project_headers(&self) -> Result<Project, CliError> {
        let use_cache = std::env::var_os("REV_NO_CACHE").is_none_or(|v| v.is_empty() || v == "0");
        self.load(|config| Project::load_headers(config, use_cache))
    }

    /// Loads the project named by `--config` with `load`, turning a missing
    /// or misnamed config file into a usage error with a hint.
    fn load(
        &self,
        load: impl FnOnce(&std::path::Path) -> Result<Project, rev_project::ProjectError>,
    ) -> Result<Project, CliError> {
        let config = &self.cli.config;
        if config.is_dir() {
            let inside = config.join("rev.ron");
            let error = CliError::usage(format!(
                "--config {} is a directory; it names the config file",
                config.display()
            ));
            return Err(if inside.is_file() {
                error.hint(format!("pass --config {}", inside.display()))
            } else {
                error.hint("pass the path of a rev.ron, or run `rev init` to create one")
            });
        }
        match load(config) {
            Ok(project) => Ok(project),
            Err(rev_project::ProjectError::NoConfig(path)) => Err(no_config(&path)),
            Err(error) => Err(error.into()),
        }
    }

    /// Returns the database URL: `--url`, then `--env`, then `DATABASE_URL`
    /// (environment or `.env` at the project root), then rev.ron's `url`.
    /// An environment of several databases is refused here: only the fleet
    /// commands run on more than one.
    pub fn database_url(&self, project: &Project) -> Result<String, CliError> {
        let urls =
            rev_migrate::database_urls(project, self.cli.url.as_deref(), self.cli.env.as_deref())?;
        match urls.as_slice() {
            [url] => Ok(url.clone()),
            _ => Err(CliError::usage(format!(
                "environment `{}` names {} databases, and this use of `rev {}` runs on one",
                self.cli.env.as_deref().unwrap_or_default(),
                urls.len(),
                self.command_name
            ))
            .hint("pass --url for one of them; upgrade, downgrade, stamp, current and check --db run on them all")),
        }
    }

    /// Returns the run options rev.ron sets (tables, lock timeout).
    pub fn options(&self, project: &Project) -> Options {
        let mut options = Options::from_config(&project.config);
        options.assume_applied = self.assume_applied;
        options
    }

    /// Writes out what is buffered, so that a log read during a long run, or
    /// after a kill, holds every line printed so far.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.out.flush()?;
        Ok(())
    }

    /// Returns the output format, refusing one the command does not offer;
    /// without `--format` the first of `allowed` applies.
    pub fn format(&self, allowed: &[Format]) -> Result<Format, CliError> {
        let default = allowed.first().copied().unwrap_or(Format::Text);
        match self.cli.format {
            None => Ok(default),
            // `text` is each command's human form, whatever it is called there.
            Some(Format::Text) => Ok(default),
            Some(format) if allowed.contains(&format) => Ok(format),
            Some(format) => {
                let offered: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
                Err(CliError::usage(format!(
                    "`rev {}` does not offer --format {}; it offers {}",
                    self.command_name,
                    format.name(),
                    offered.join(", ")
                )))
            }
        }
    }

    /// Prints one line.
    pub fn line(&mut self, line: &str) -> Result<(), CliError> {
        writeln!(self.out, "{line}")?;
        if self.live {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Prints text as it is.
    pub fn text(&mut self, text: &str) -> Result<(), CliError> {
        self.out.write_all(text.as_bytes())?;
        if self.live {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Prints a JSON value, pretty, with a final newline.
    pub fn json(&mut self, value: &serde_json::Value) -> Result<(), CliError> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)?;
        Ok(())
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let stdout = io::stdout();
    let live = stdout.is_terminal();
    let colour = render::colour_for(&stdout);
    let mut ctx = Ctx {
        colour,
        command_name: cli.command.name(),
        cli,
        out: io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        live,
        assume_applied: None,
    };
    let command = std::mem::replace(&mut ctx.cli.command, Command::Heads);
    if let Command::Upgrade {
        assume_applied,
        assume_not_applied,
        ..
    }
    | Command::Downgrade {
        assume_applied,
        assume_not_applied,
        ..
    } = &command
    {
        ctx.assume_applied = match (assume_applied, assume_not_applied) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
    }
    // Commands that print only progress or a script refuse --format json
    // rather than print text to a script that expects JSON.
    let text_only = match &command {
        Command::Init { .. } | Command::Completions { .. } | Command::Man => true,
        Command::Upgrade { sql, .. } | Command::Downgrade { sql, .. } => *sql,
        _ => false,
    };
    if text_only {
        ctx.format(&[Format::Text])?;
    }
    if let Some(code) = fleet::dispatch(&mut ctx, &command)? {
        return Ok(code);
    }
    match &command {
        Command::Init { dir } => author::init(&mut ctx, dir)?,
        Command::Revision {
            message,
            head,
            branch_label,
            depends_on,
            rev_id,
            autogenerate,
            from_db,
        } => {
            let args = author::RevisionArgs {
                message,
                head: head.as_deref(),
                branch_labels: branch_label,
                depends_on,
                rev_id: rev_id.as_deref(),
                autogenerate: *autogenerate,
                from_db: *from_db,
            };
            author::revision(&mut ctx, &args)?;
        }
        Command::Merge {
            revisions,
            message,
            rev_id,
            allow_conflicts,
        } => author::merge(
            &mut ctx,
            &rev_migrate::Merge {
                revisions,
                message,
                rev_id: rev_id.as_deref(),
                allow_conflicts: *allow_conflicts,
            },
        )?,
        Command::Rebase {
            branch,
            onto,
            allow_conflicts,
        } => rebase::rebase(&mut ctx, branch, onto, *allow_conflicts)?,
        Command::Squash {
            range,
            message,
            rev_id,
        } => squash::squash(&mut ctx, range, message, rev_id.as_deref())?,
        Command::Completions { shell } => shell::completions(&mut ctx, *shell)?,
        Command::Man => shell::man(&mut ctx)?,
        Command::Heads => inspect::heads(&mut ctx)?,
        Command::Branches => inspect::branches(&mut ctx)?,
        Command::History { range } => inspect::history(&mut ctx, range.as_deref())?,
        Command::Show { revision } => inspect::show(&mut ctx, revision)?,
        Command::Graph => inspect::graph(&mut ctx)?,
        Command::Check { db } => return check::check(&mut ctx, *db),
        Command::Current => database::current(&mut ctx)?,
        Command::Upgrade {
            target, sql, plan, ..
        } => move_database(&mut ctx, Movement::Upgrade, target, *sql, *plan)?,
        Command::Downgrade {
            target, sql, plan, ..
        } => move_database(&mut ctx, Movement::Downgrade, target, *sql, *plan)?,
        Command::Stamp { target, purge, sql } => database::stamp(&mut ctx, target, *purge, *sql)?,
        Command::Import(args::ImportFrom::Alembic {
            path,
            into,
            version_table,
        }) => import::alembic(&mut ctx, path, into, version_table)?,
    }
    ctx.out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `rev upgrade|downgrade`: a script, a plan, or a run.
fn move_database(
    ctx: &mut Ctx,
    movement: Movement,
    target: &str,
    sql: bool,
    plan: bool,
) -> Result<(), CliError> {
    if sql {
        database::script(ctx, movement, target)
    } else if plan {
        database::plan(ctx, movement, target)
    } else {
        database::migrate(ctx, movement, target)
    }
}

/// Returns the error for a missing config file, pointing at a `rev.ron` in a
/// parent directory when the user runs rev from inside a project.
fn no_config(path: &std::path::Path) -> CliError {
    let cwd = std::env::current_dir().unwrap_or_default();
    let shown = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let error = CliError::fail(format!("no config file at {}", shown.display()));
    let found = (!path.is_absolute() && path.components().count() == 1)
        .then(|| {
            cwd.ancestors()
                .skip(1)
                .map(|dir| dir.join(path))
                .find(|candidate| candidate.is_file())
        })
        .flatten();
    match found {
        Some(config) => error.hint(format!(
            "this looks like a subdirectory of the project at {}: run rev there, or pass --config {}",
            config.parent().unwrap_or(&cwd).display(),
            config.display()
        )),
        None => error.hint("run `rev init` to create a project here, or pass --config <path/to/rev.ron>"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) if error.status == 0 => ExitCode::SUCCESS,
        Err(error) => {
            render::error(&error.message, error.hint.as_deref());
            ExitCode::from(error.status)
        }
    }
}
