//! Commands that touch a database: upgrade, downgrade, stamp, current, and
//! the offline `--sql` scripts that stand in for one. The engine does the
//! work; this module turns its events and results into lines, a progress bar
//! or JSON.

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use rev_graph::{NodeIndex, Plan};
use rev_migrate::{
    Backend, Dialect, DialectKind, Event, MigrateError, Movement, Project, Step, StopSignal,
};
use serde_json::{json, Value};

use crate::args::Format;
use crate::error::CliError;
use crate::render::{self, describe, revision_json, verbose_block};
use crate::Ctx;

/// Returns the dialect of offline scripts: `--dialect`, else the URL's. Without
/// either there is no telling which database the script is for, and a script
/// in the wrong dialect is worse than none.
fn offline_dialect(ctx: &Ctx, project: &Project) -> Result<Box<dyn Dialect>, CliError> {
    let kind = match ctx.cli.dialect {
        Some(kind) => kind,
        None => {
            let url = ctx.database_url(project).map_err(|_| {
                CliError::usage(
                    "--sql needs to know the database: no --dialect and no database URL",
                )
                .hint("pass --dialect mssql|sqlite|postgres|mysql, or --url <URL>")
            })?;
            rev_migrate::dialect_of_url(&url).ok_or_else(|| {
                CliError::usage(format!(
                    "--sql cannot tell the dialect from the database URL `{}`",
                    rev_migrate::redact(&url)
                ))
                .hint("pass --dialect mssql|sqlite|postgres|mysql")
            })?
        }
    };
    Ok(rev_sql::dialect(kind))
}

/// `rev upgrade|downgrade RANGE --sql`: prints the script, touching no database.
pub fn script(ctx: &mut Ctx, movement: Movement, range: &str) -> Result<(), CliError> {
    let project = ctx.project()?;
    let dialect = offline_dialect(ctx, &project)?;
    let tables = ctx.options(&project).tables;
    let script =
        rev_migrate::migration_script(&project, dialect.as_ref(), &tables, movement, range)?;
    ctx.text(&script)
}

/// Connects to the project's database. A live run speaks the database's
/// dialect; a different --dialect means the user expects another database
/// than the one about to be touched.
fn connect(ctx: &Ctx, url: &str) -> Result<Box<dyn Backend>, CliError> {
    if let (Some(asked), Some(found)) = (ctx.cli.dialect, rev_migrate::dialect_of_url(url)) {
        if asked != found {
            return Err(CliError::usage(format!(
                "--dialect {asked} disagrees with the database URL, which is {found}"
            ))
            .hint("--dialect is for --sql scripts; for another database pass --url"));
        }
    }
    Ok(rev_migrate::connect(url)?)
}

/// `rev upgrade|downgrade TARGET --plan`: the steps against the live database.
pub fn plan(ctx: &mut Ctx, movement: Movement, target: &str) -> Result<(), CliError> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project)?;
    let (plan, steps, dialect) = if rev_migrate::missing_sqlite_file(&url).is_some() {
        // Opening the file would create it, and --plan changes nothing: plan from base.
        let dialect = rev_sql::dialect(DialectKind::Sqlite);
        let plan = rev_migrate::plan::plan(&project, movement, target, &[])?;
        let steps = rev_migrate::plan::render_steps(&project, dialect.as_ref(), &plan)?;
        (plan, steps, dialect.kind())
    } else {
        let mut backend = connect(ctx, &url)?;
        let options = ctx.options(&project);
        let (plan, steps) =
            rev_migrate::plan_live(backend.as_mut(), &project, &options, movement, target)?;
        (plan, steps, backend.dialect().kind())
    };
    print_plan(ctx, &project, &plan, rev_sql::dialect(dialect).as_ref())?;
    if ctx.cli.verbose && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
        print_statements(ctx, &steps)?;
    }
    Ok(())
}

/// Prints the statements of each step, for `-v`.
fn print_statements(ctx: &mut Ctx, steps: &[Step]) -> Result<(), CliError> {
    for step in steps {
        ctx.line(&format!("-- {} {}", step.direction.as_str(), step.revision))?;
        for statement in &step.statements {
            ctx.line(&format!("{};", statement.sql))?;
        }
        if step.statements.is_empty() {
            ctx.line("-- (no statements; only the version table changes)")?;
        }
    }
    Ok(())
}

fn plan_json(project: &Project, plan: &Plan) -> Value {
    let graph = &project.graph;
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            json!({
                "direction": s.direction.as_str(),
                "revision": graph.id(s.revision),
                "message": project.file(s.revision).map(|f| f.migration.message.as_str()),
            })
        })
        .collect();
    json!({
        "from": graph.ids(&plan.from),
        "to": graph.ids(&plan.to),
        "steps": steps,
    })
}

fn print_plan(
    ctx: &mut Ctx,
    project: &Project,
    plan: &Plan,
    dialect: &dyn Dialect,
) -> Result<(), CliError> {
    if ctx.format(&[Format::Text, Format::Json])? == Format::Json {
        return ctx.json(&plan_json(project, plan));
    }
    let graph = &project.graph;
    let ids = |nodes: &[NodeIndex]| {
        if nodes.is_empty() {
            "<base>".to_owned()
        } else {
            graph.ids(nodes).join(", ")
        }
    };
    ctx.line(&format!("from: {}", ids(&plan.from)))?;
    ctx.line(&format!("to:   {}", ids(&plan.to)))?;
    if plan.steps.is_empty() {
        ctx.line("nothing to do")?;
    }
    for step in &plan.steps {
        let message = project
            .file(step.revision)
            .map_or("", |f| f.migration.message.as_str());
        let transactional = project
            .file(step.revision)
            .is_none_or(|f| f.migration.transactional);
        ctx.line(&format!(
            "{:<9} {} {}{}",
            step.direction.as_str(),
            graph.id(step.revision),
            message,
            if transactional {
                ""
            } else {
                " (outside a transaction)"
            }
        ))?;
    }
    if !dialect.transactional_ddl() && !plan.steps.is_empty() {
        ctx.line(&format!(
            "note: {} commits DDL implicitly: a migration that fails part-way keeps the statements that ran before the failure",
            dialect.kind()
        ))?;
    }
    Ok(())
}

/// Returns what a stamp step did to the version table, since a stamp that
/// only removes a row is not "at" the revision it names.
fn stamp_line(step: &Step, message: &str) -> String {
    let mut parts = Vec::new();
    if !step.insert_versions.is_empty() {
        parts.push(format!(
            "added {} {message}",
            step.insert_versions.join(", ")
        ));
    }
    if !step.delete_versions.is_empty() {
        parts.push(format!("removed {}", step.delete_versions.join(", ")));
    }
    format!("stamp     {}", parts.join("; "))
}

/// Turns the engine's events into output: on a terminal a progress bar and a
/// line per finished step; to a pipe or file a line as each step starts and
/// ends, flushed at once so that the log of a killed run says what ran; with
/// `--format json` one JSON object per event and line.
struct Progress<'p> {
    project: &'p Project,
    json: bool,
    quiet: bool,
    verbose: bool,
    /// Whether stderr is a terminal: then the bar shows how far a long run is.
    bar: indicatif::ProgressBar,
    /// What to say when there is no step to run.
    nothing: &'static str,
    started: Instant,
    /// The first failure to write, reported when the run ends.
    error: Option<CliError>,
}

impl<'p> Progress<'p> {
    fn new(ctx: &Ctx, project: &'p Project, json: bool, nothing: &'static str) -> Self {
        Progress {
            project,
            json,
            nothing,
            quiet: ctx.cli.quiet,
            verbose: ctx.cli.verbose,
            bar: indicatif::ProgressBar::hidden(),
            started: Instant::now(),
            error: None,
        }
    }

    fn message(&self, revision: &str) -> &'p str {
        self.project
            .graph
            .get(revision)
            .and_then(|n| self.project.file(n))
            .map_or("", |f| f.migration.message.as_str())
    }

    fn emit(&mut self, ctx: &mut Ctx, lines: &[String]) {
        if self.error.is_some() {
            return;
        }
        let result = self.bar.suspend(|| -> Result<(), CliError> {
            for line in lines {
                ctx.line(line)?;
            }
            ctx.flush()
        });
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    fn on(&mut self, ctx: &mut Ctx, event: &Event<'_>) {
        if self.json {
            let value = match event {
                Event::Planned { steps } => json!({"event": "planned", "steps": steps.len()}),
                Event::Started { step, index, total } => json!({
                    "event": "started", "direction": step.direction.as_str(),
                    "revision": step.revision, "index": index, "total": total,
                }),
                Event::Resumed { step, resumption } => json!({
                    "event": "resumed", "direction": step.direction.as_str(),
                    "revision": step.revision, "done": resumption.done,
                    "found": resumption.found,
                }),
                Event::Finished { step, duration } => json!({
                    "event": "finished", "direction": step.direction.as_str(),
                    "revision": step.revision,
                    "ms": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                    "removed": step.delete_versions, "added": step.insert_versions,
                }),
                Event::Failed { step, error } => json!({
                    "event": "failed", "direction": step.direction.as_str(),
                    "revision": step.revision, "error": error.to_string(),
                }),
                Event::Interrupted { applied, signal } => json!({
                    "event": "interrupted", "applied": applied, "signal": signal,
                }),
                Event::Done { applied } => json!({
                    "event": "done", "applied": applied,
                    "ms": u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
                }),
                _ => return,
            };
            self.emit(ctx, &[value.to_string()]);
            return;
        }
        match event {
            Event::Planned { steps } => {
                if steps.is_empty() && !self.quiet {
                    let nothing = self.nothing.to_owned();
                    self.emit(ctx, &[nothing]);
                }
                if steps.len() > 1 && !self.quiet && std::io::stderr().is_terminal() {
                    let bar = indicatif::ProgressBar::new(steps.len() as u64);
                    if let Ok(style) =
                        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    {
                        bar.set_style(style);
                    }
                    self.bar = bar;
                }
            }
            Event::Started { step, .. } => {
                self.bar
                    .set_message(format!("{} {}", step.direction.as_str(), step.revision));
                // A log (a pipe or a file) gets the line at once, so that a
                // run killed during a long step says which one was running. A
                // stamp only changes the version table, at once: no line.
                if !ctx.live && !self.quiet && step.direction != rev_migrate::Direction::Stamp {
                    let line = format!(
                        "{:<9} {} {} {}",
                        "running",
                        step.direction.as_str(),
                        step.revision,
                        self.message(&step.revision)
                    );
                    self.emit(ctx, &[line.trim_end().to_owned()]);
                }
            }
            Event::Resumed { step, resumption } => {
                let line = format!(
                    "{:<9} {} {}: {}",
                    "resumed",
                    step.direction.as_str(),
                    step.revision,
                    resumption.found
                );
                self.emit(ctx, &[line]);
            }
            Event::Finished { step, duration } => {
                self.bar.inc(1);
                let mut lines = Vec::new();
                if !self.quiet {
                    let message = self.message(&step.revision);
                    let (style, line) = if step.direction == rev_migrate::Direction::Stamp {
                        (render::style::STAMP, stamp_line(step, message))
                    } else {
                        let style = if step.direction == rev_migrate::Direction::Downgrade {
                            render::style::DOWNGRADE
                        } else {
                            render::style::UPGRADE
                        };
                        let line = format!(
                            "{:<9} {} {} ({} ms)",
                            step.direction.as_str(),
                            step.revision,
                            message,
                            duration.as_millis()
                        );
                        (style, line)
                    };
                    // The direction's column (9 wide) carries the colour.
                    let (word, rest) = line.split_at_checked(9).unwrap_or((&line, ""));
                    lines.push(format!("{}{rest}", render::paint(ctx.colour, style, word)));
                }
                if self.verbose && step.direction != rev_migrate::Direction::Stamp {
                    for statement in &step.statements {
                        lines.push(format!("    {};", statement.sql.replace('\n', "\n    ")));
                    }
                    for id in &step.delete_versions {
                        lines.push(format!("    -- version table: removed {id}"));
                    }
                    for id in &step.insert_versions {
                        lines.push(format!("    -- version table: added {id}"));
                    }
                }
                self.emit(ctx, &lines);
            }
            Event::Failed { .. } => self.bar.abandon(),
            Event::Interrupted { applied, .. } => {
                self.bar.abandon();
                if !self.quiet {
                    let line = format!(
                        "interrupted: stopped after {applied} step(s), before the next migration"
                    );
                    self.emit(ctx, &[line]);
                }
            }
            Event::Done { .. } => self.bar.finish_and_clear(),
            _ => {}
        }
    }
}

/// Returns whether `--format json` asks for one JSON event per line.
fn json_events(ctx: &Ctx) -> Result<bool, CliError> {
    Ok(ctx.format(&[Format::Text, Format::Json])? == Format::Json)
}

/// `rev upgrade|downgrade TARGET` against the live database.
pub fn migrate(ctx: &mut Ctx, movement: Movement, target: &str) -> Result<(), CliError> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project)?;
    let mut backend = connect(ctx, &url)?;
    let options = ctx.options(&project);
    stop_on_signals(&options.stop)?;
    let mut progress = Progress::new(
        ctx,
        &project,
        json_events(ctx)?,
        "nothing to do: the database is already there",
    );
    let result = rev_migrate::migrate(
        backend.as_mut(),
        &project,
        &options,
        movement,
        target,
        &mut |event| progress.on(ctx, &event),
    );
    finish(progress, result)
}

/// Makes SIGINT and SIGTERM ask the run to stop between two migrations
/// instead of killing it in the middle of one, so that the running migration
/// commits or rolls back and the log says what was applied. A second signal
/// ends the process at once (128 + its number); the database then rolls the
/// open transaction back.
pub fn stop_on_signals(stop: &StopSignal) -> Result<(), CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let cannot = |e: std::io::Error| CliError::fail(format!("cannot watch for signals: {e}"));
    let again = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Handlers run in the order registered: the first exits when an
        // earlier signal already set `again`, the second sets it.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&again))
            .map_err(cannot)?;
        signal_hook::flag::register(signal, Arc::clone(&again)).map_err(cannot)?;
        let number = usize::try_from(signal).unwrap_or(1);
        signal_hook::flag::register_usize(signal, stop.cell(), number).map_err(cannot)?;
    }
    Ok(())
}

/// Returns the run's error, else the first failure to write its output. An
/// interrupted run exits 128 + the signal's number (130 SIGINT, 143 SIGTERM),
/// as a shell reports a process the signal killed.
fn finish<T>(progress: Progress<'_>, result: rev_migrate::Result<T>) -> Result<(), CliError> {
    if let Err(error) = result {
        let status = match &error {
            MigrateError::Interrupted { signal, .. } => u8::try_from(128 + signal).ok(),
            _ => None,
        };
        let mut error = CliError::from(error);
        if let Some(status) = status {
            error.status = status;
        }
        return Err(error);
    }
    match progress.error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// `rev stamp TARGET [--purge] [--sql]`.
pub fn stamp(ctx: &mut Ctx, target: &str, purge: bool, sql: bool) -> Result<(), CliError> {
    let project = ctx.project()?;
    let options = ctx.options(&project);
    if sql {
        ctx.format(&[Format::Text])?;
        let dialect = offline_dialect(ctx, &project)?;
        let script =
            rev_migrate::stamp_script(&project, dialect.as_ref(), &options.tables, target, purge)?;
        return ctx.text(&script);
    }
    let url = ctx.database_url(&project)?;
    let mut backend = connect(ctx, &url)?;
    stop_on_signals(&options.stop)?;
    let mut progress = Progress::new(
        ctx,
        &project,
        json_events(ctx)?,
        "nothing to do: the version table already says that",
    );
    let result = rev_migrate::stamp(
        backend.as_mut(),
        &project,
        &options,
        target,
        purge,
        &mut |event| progress.on(ctx, &event),
    );
    finish(progress, result)
}

/// `rev current`.
pub fn current(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project)?;
    // Reading where a missing SQLite file stands must not create it.
    let rows = if rev_migrate::missing_sqlite_file(&url).is_some() {
        Vec::new()
    } else {
        let mut backend = connect(ctx, &url)?;
        rev_migrate::current(backend.as_mut(), &ctx.options(&project))?
    };
    let json = ctx.format(&[Format::Text, Format::Json])? == Format::Json;
    if ctx.cli.verbose && !json {
        ctx.line(&format!("database: {}", rev_migrate::redact(&url)))?;
    }
    let mut list = Vec::new();
    for id in &rows {
        match project.graph.get(id) {
            Some(node) if json => list.push(revision_json(&project, node)),
            Some(node) if ctx.cli.verbose => {
                let block = verbose_block(&project, node);
                ctx.text(&block)?;
            }
            Some(node) => {
                let message = project.file(node).map_or("", |f| f.migration.message.as_str());
                ctx.line(&format!("{} {message}", describe(&project, node)))?;
            }
            None if json => list.push(json!({"id": id, "parents": [], "depends_on": [], "branch_labels": [], "message": null, "path": null})),
            None => ctx.line(&format!("{id} (not in the migration files)"))?,
        }
    }
    if json {
        return ctx.json(&Value::Array(list));
    }
    if rows.is_empty() && !ctx.cli.quiet {
        ctx.line("<base> (nothing applied)")?;
    }
    Ok(())
}
