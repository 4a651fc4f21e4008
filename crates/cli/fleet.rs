//! Fleets: `upgrade`, `downgrade`, `stamp`, `current` and `check --db` with
//! `--env NAME` naming several databases. The engine runs them
//! (rev_migrate::fleet); this module shows progress on stderr, then a table
//! (or the JSON report) on stdout, and exits 1 when any database failed.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use rev_migrate::{
    Environment, FleetEvent, FleetOptions, FleetReport, Job, Movement, Options, Outcome, Project,
    Status,
};
use serde_json::{json, Value};

use crate::args::{Command, Format};
use crate::error::CliError;
use crate::Ctx;

/// Runs `command` as a fleet when it is one that runs on many databases and
/// `--env` (without `--url`) names more than one; returns None otherwise,
/// and the command runs on its one database as usual.
pub fn dispatch(ctx: &mut Ctx, command: &Command) -> Result<Option<ExitCode>, CliError> {
    let job = match command {
        Command::Upgrade {
            target,
            sql: false,
            plan: false,
            ..
        } => Job::Migrate {
            movement: Movement::Upgrade,
            target,
        },
        Command::Downgrade {
            target,
            sql: false,
            plan: false,
            ..
        } => Job::Migrate {
            movement: Movement::Downgrade,
            target,
        },
        Command::Stamp {
            target,
            purge,
            sql: false,
        } => Job::Stamp {
            target,
            purge: *purge,
        },
        Command::Current => Job::Current,
        Command::Check { db: true } => Job::Check,
        _ => return Ok(None),
    };
    let (Some(name), None) = (ctx.cli.env.as_deref(), ctx.cli.url.as_deref()) else {
        return Ok(None);
    };
    let project = ctx.project()?;
    let environment = rev_migrate::environment(&project, name)?;
    if environment.urls.len() < 2 {
        return Ok(None);
    }
    let json = ctx.format(&[Format::Text, Format::Json])? == Format::Json;
    let options = ctx.options(&project);
    crate::database::stop_on_signals(&options.stop)?;
    let report = run(ctx, &project, &options, &environment, job);
    if json {
        ctx.json(&report_json(&report))?;
    } else if matches!(job, Job::Current) {
        print_current(ctx, &project, &report)?;
    } else {
        print_table(ctx, &report, matches!(job, Job::Check))?;
    }
    ctx.flush()?;
    // Interrupted: the report is out; exit as a shell reports the signal.
    if let Some(signal) = options.stop.requested() {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "error: interrupted by signal {signal}: no database was started after it; \
             rerun the command to go on"
        );
        return Ok(Some(ExitCode::from(
            u8::try_from(128 + signal).unwrap_or(1),
        )));
    }
    if report.failed() {
        let failed = report
            .databases
            .iter()
            .filter(|d| d.status == Status::Failed)
            .count();
        let not_run = report
            .databases
            .iter()
            .filter(|d| d.status == Status::NotRun)
            .count();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "error: {failed} of {} databases of `{}` failed{}",
            report.databases.len(),
            environment.name,
            if not_run > 0 {
                format!(", {not_run} not run")
            } else {
                String::new()
            }
        );
        return Ok(Some(ExitCode::FAILURE));
    }
    Ok(Some(ExitCode::SUCCESS))
}

/// Runs the fleet with progress on stderr: on a terminal one line that
/// counts done, failed and left; to a pipe or file a line per database as it
/// ends, so that the log of a killed run says which databases ran.
fn run(
    ctx: &Ctx,
    project: &Project,
    options: &Options,
    environment: &Environment,
    job: Job<'_>,
) -> FleetReport {
    let fleet = FleetOptions {
        jobs: ctx
            .cli
            .jobs
            .and_then(|jobs| usize::try_from(jobs).ok())
            .unwrap_or(environment.jobs),
        canary: environment.canary,
        continue_on_error: ctx.cli.continue_on_error,
    };
    let terminal = std::io::stderr().is_terminal();
    let quiet = ctx.cli.quiet;
    let total = environment.urls.len();
    let mut on_event = |event: FleetEvent<'_>| {
        if quiet {
            return;
        }
        let FleetEvent::Finished {
            outcome,
            done,
            failed,
            left,
            ..
        } = event
        else {
            return;
        };
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            let end = if left == 0 { "\n" } else { "" };
            write!(
                err,
                "\r\x1b[2K{}: {done} done, {failed} failed, {left} left of {total}{end}",
                environment.name
            )
        } else {
            writeln!(
                err,
                "{} {} ({} step{}, {} ms)",
                outcome.status.as_str(),
                outcome.target,
                outcome.steps,
                if outcome.steps == 1 { "" } else { "s" },
                outcome.duration.as_millis()
            )
        };
        let _ = err.flush();
    };
    let report = rev_migrate::run_fleet(
        project,
        options,
        &environment.urls,
        &fleet,
        job,
        &mut on_event,
    );
    // The counting line ends with a newline only when the last database ends;
    // a fleet stopped early leaves it open.
    if terminal && !quiet && report.databases.iter().any(|d| d.status == Status::NotRun) {
        let _ = writeln!(std::io::stderr());
    }
    report
}

fn ms(outcome: &Outcome) -> u64 {
    u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX)
}

/// Returns the report as DESIGN.md §4 shapes it, with each database's
/// status (and, for `check --db`, its findings) beside.
fn report_json(report: &FleetReport) -> Value {
    let databases: Vec<Value> = report
        .databases
        .iter()
        .map(|d| {
            let mut value = json!({
                "target": d.target,
                "status": d.status.as_str(),
                "from": d.from,
                "to": d.to,
                "steps": d.steps,
                "ms": ms(d),
                "error": d.error,
            });
            if !d.findings.is_empty() {
                if let Some(map) = value.as_object_mut() {
                    let findings: Vec<Value> = d
                        .findings
                        .iter()
                        .map(|f| json!({"severity": f.severity.as_str(), "kind": f.kind, "message": f.message}))
                        .collect();
                    map.insert("findings".to_owned(), Value::Array(findings));
                }
            }
            value
        })
        .collect();
    json!({ "databases": databases })
}

fn rows(rows: Option<&Vec<String>>) -> String {
    match rows {
        None => "?".to_owned(),
        Some(rows) if rows.is_empty() => "<base>".to_owned(),
        Some(rows) => rows.join(","),
    }
}

/// Prints one line per database, then the errors in full and a count.
fn print_table(ctx: &mut Ctx, report: &FleetReport, check: bool) -> Result<(), CliError> {
    let width = report
        .databases
        .iter()
        .map(|d| d.target.chars().count())
        .max()
        .unwrap_or(0)
        .max("DATABASE".len());
    if !ctx.cli.quiet {
        ctx.line(&format!(
            "{:<width$}  {:<7}  {:<14}  {:<14}  {:>5}  {:>7}",
            "DATABASE", "STATUS", "FROM", "TO", "STEPS", "MS"
        ))?;
        for d in &report.databases {
            ctx.line(&format!(
                "{:<width$}  {:<7}  {:<14}  {:<14}  {:>5}  {:>7}",
                d.target,
                d.status.as_str(),
                rows(d.from.as_ref()),
                rows(d.to.as_ref()),
                d.steps,
                ms(d)
            ))?;
        }
    }
    for d in &report.databases {
        if check {
            for f in &d.findings {
                ctx.line(&format!(
                    "{}: {}: {}",
                    d.target,
                    f.severity.as_str(),
                    f.message
                ))?;
            }
            // A database that could not be checked at all has no findings, only its error.
            if d.status == Status::Failed && d.findings.is_empty() {
                let error = d.error.as_deref().unwrap_or("");
                ctx.line(&format!("{}: error: {error}", d.target))?;
            }
        } else if d.status == Status::Failed {
            let error = d.error.as_deref().unwrap_or("").replace('\n', "\n    ");
            ctx.line(&format!("{}: {error}", d.target))?;
        }
    }
    if !ctx.cli.quiet {
        ctx.line(&summary(report))?;
    }
    Ok(())
}

/// Returns `12 databases: 10 ok, 1 failed, 1 not run`.
fn summary(report: &FleetReport) -> String {
    let count = |status: Status| {
        report
            .databases
            .iter()
            .filter(|d| d.status == status)
            .count()
    };
    format!(
        "{} databases: {} ok, {} failed, {} not run",
        report.databases.len(),
        count(Status::Ok),
        count(Status::Failed),
        count(Status::NotRun)
    )
}

/// `rev current --env NAME`: the databases grouped by the revisions they are at.
fn print_current(ctx: &mut Ctx, project: &Project, report: &FleetReport) -> Result<(), CliError> {
    let mut groups: BTreeMap<Vec<String>, Vec<&str>> = BTreeMap::new();
    for d in &report.databases {
        if let (Status::Ok, Some(rows)) = (d.status, &d.to) {
            groups.entry(rows.clone()).or_default().push(&d.target);
        }
    }
    for (rows, targets) in &groups {
        let at = if rows.is_empty() {
            "<base> (nothing applied)".to_owned()
        } else {
            rows.iter()
                .map(|id| match project.graph.get(id) {
                    Some(node) => {
                        let message = project
                            .file(node)
                            .map_or("", |f| f.migration.message.as_str());
                        format!("{id} {message}")
                    }
                    None => format!("{id} (not in the migration files)"),
                })
                .collect::<Vec<_>>()
                .join(" + ")
        };
        ctx.line(&format!("{} at {at}", counted(targets.len())))?;
        if !ctx.cli.quiet {
            for target in targets {
                ctx.line(&format!("  {target}"))?;
            }
        }
    }
    for d in &report.databases {
        if d.status != Status::Ok {
            let error = d.error.as_deref().unwrap_or("").replace('\n', "\n    ");
            ctx.line(&format!("unreadable: {}: {error}", d.target))?;
        }
    }
    Ok(())
}

fn counted(n: usize) -> String {
    if n == 1 {
        "1 database".to_owned()
    } else {
        format!("{n} databases")
    }
}
