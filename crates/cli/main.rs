//! The `rev` command line: parses arguments, calls the libraries, prints
//! results, and decides the exit status in one place.

mod args;
mod autogen;
mod error;
mod import;
mod offline;
mod online;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use rev_project::Project;

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
    /// The subcommand's name, for messages.
    pub command_name: &'static str,
}

impl Ctx {
    /// Loads the project named by `--config`.
    pub fn project(&self) -> Result<Project, CliError> {
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
        match Project::load(config) {
            Ok(project) => Ok(project),
            Err(rev_project::ProjectError::NoConfig(path)) => Err(no_config(&path)),
            Err(error) => Err(error.into()),
        }
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
    let mut ctx = Ctx {
        command_name: cli.command.name(),
        cli,
        out: io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        live,
    };
    let command = std::mem::replace(&mut ctx.cli.command, Command::Heads);
    // Commands that print only progress or a script refuse --format json
    // rather than print text to a script that expects JSON.
    let text_only = match &command {
        Command::Init { .. } | Command::Stamp { .. } => true,
        Command::Upgrade { plan, .. } | Command::Downgrade { plan, .. } => !plan,
        _ => false,
    };
    if text_only {
        ctx.format(&[Format::Text]).map_err(|e| match &command {
            Command::Upgrade { sql: false, .. } | Command::Downgrade { sql: false, .. } => {
                e.hint("`--plan --format json` prints the steps as JSON")
            }
            _ => e,
        })?;
    }
    match &command {
        Command::Init { dir } => offline::init(&mut ctx, dir)?,
        Command::Revision {
            message,
            head,
            branch_label,
            depends_on,
            rev_id,
            autogenerate,
            from_db,
        } => {
            let args = offline::RevisionArgs {
                message,
                head: head.as_deref(),
                branch_labels: branch_label,
                depends_on,
                rev_id: rev_id.as_deref(),
                autogenerate: *autogenerate,
                from_db: *from_db,
            };
            offline::revision(&mut ctx, &args)?;
        }
        Command::Merge {
            revisions,
            message,
            rev_id,
        } => offline::merge(&mut ctx, revisions, message, rev_id.as_deref())?,
        Command::Heads => offline::heads(&mut ctx)?,
        Command::Branches => offline::branches(&mut ctx)?,
        Command::History { range } => offline::history(&mut ctx, range.as_deref())?,
        Command::Show { revision } => offline::show(&mut ctx, revision)?,
        Command::Graph => offline::graph(&mut ctx)?,
        Command::Check { db } => return check(&mut ctx, *db),
        Command::Current => online::current(&mut ctx)?,
        Command::Upgrade { target, sql, plan } => {
            if *sql {
                online::offline(&mut ctx, online::Move::Upgrade, target)?;
            } else {
                online::migrate(&mut ctx, online::Move::Upgrade, target, *plan)?;
            }
        }
        Command::Downgrade { target, sql, plan } => {
            if *sql {
                online::offline(&mut ctx, online::Move::Downgrade, target)?;
            } else {
                online::migrate(&mut ctx, online::Move::Downgrade, target, *plan)?;
            }
        }
        Command::Stamp { target, purge, sql } => online::stamp(&mut ctx, target, *purge, *sql)?,
        Command::Import(args::ImportFrom::Alembic {
            path,
            into,
            version_table,
        }) => import::alembic(&mut ctx, path, into, version_table)?,
    }
    ctx.out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn check(ctx: &mut Ctx, db: bool) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let mut findings = offline::graph_findings(&project);
    findings.extend(online::checksum_findings(ctx, &project));
    findings.extend(model_findings(&project)?);
    if db {
        findings.extend(autogen::db_findings(ctx, &project)?);
    }
    let failed = findings.iter().any(|f| f.severity == "error");
    let format = ctx.format(&[Format::Text, Format::Json])?;
    if ctx.cli.verbose && format == Format::Text {
        let heads = project.graph.heads().len();
        let mut scope = vec![
            format!(
                "checked the graph: {}, {}",
                counted(project.graph.len(), "revision"),
                counted(heads, "head")
            ),
            online::checksum_scope(ctx, &project),
        ];
        scope.push(match &project.config.models {
            Some(dir) => format!("checked the models in {dir}/ against the migrations"),
            None => "skipped the models: `models` is not set in rev.ron".to_owned(),
        });
        if db {
            scope.push(
                "checked the live database against the migrations at its revisions".to_owned(),
            );
        }
        for line in scope {
            ctx.line(&line)?;
        }
    }
    if format == Format::Json {
        let list: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| serde_json::json!({"severity": f.severity, "kind": f.kind, "message": f.message}))
            .collect();
        ctx.json(&serde_json::json!({ "ok": !failed, "findings": list }))?;
    } else {
        for f in &findings {
            ctx.line(&format!("{}: {}", f.severity, f.message))?;
        }
        if findings.is_empty() && !ctx.cli.quiet {
            let count = match project.graph.len() {
                0 => "no revisions yet".to_owned(),
                n => format!("{}, one head", counted(n, "revision")),
            };
            ctx.line(&format!("ok: {count}, no problems found"))?;
        }
    }
    ctx.out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Returns `1 revision`, `2 revisions`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Returns what `rev check` finds when the models and the migrations disagree.
fn model_findings(project: &Project) -> Result<Vec<offline::Finding>, CliError> {
    let Some(dir) = &project.config.models else {
        return Ok(Vec::new());
    };
    let tables = rev_project::load_models(&project.root.join(dir))?;
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let desired = rev_schema::Schema::from_tables(tables);
    let built = online::schema_at(project, &project.graph.heads())?;
    let found = rev_schema::diff(&built, &desired);
    let mut findings = Vec::new();
    if !found.ops.is_empty() {
        let list: Vec<String> = found.ops.iter().map(autogen::summary).collect();
        findings.push(offline::Finding {
            severity: "error",
            kind: "model_drift",
            message: format!(
                "the models differ from what the migrations build; `rev revision --autogenerate -m <message>` would write:\n  {}",
                list.join("\n  ")
            ),
        });
    }
    for note in found.notes {
        findings.push(offline::Finding {
            severity: "warning",
            kind: "model_drift",
            message: note,
        });
    }
    Ok(findings)
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
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "error: {}", error.message);
            if let Some(hint) = &error.hint {
                let _ = writeln!(err, "hint: {hint}");
            }
            ExitCode::from(error.status)
        }
    }
}
