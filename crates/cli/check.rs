//! `rev check`: the engine's findings, as lines or JSON, and the exit status.

use std::process::ExitCode;

use rev_migrate::{Finding, Project, Severity};

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

/// Returns `1 revision`, `2 revisions`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Returns what `rev check` compares the checksums with, for `-v`: it skips
/// them without a database, and a user should not take silence for a pass.
fn checksum_scope(url: Option<&str>) -> String {
    match url {
        None => "skipped the checksums of applied migrations: no database URL".to_owned(),
        Some(url) => match rev_migrate::missing_sqlite_file(url) {
            Some(path) => format!(
                "skipped the checksums of applied migrations: {} does not exist yet",
                path.display()
            ),
            None => format!(
                "checked the checksums of applied migrations in {}",
                rev_migrate::redact(url)
            ),
        },
    }
}

/// `rev check [--db]`: exit status 1 when any finding is an error.
pub fn check(ctx: &mut Ctx, db: bool) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let options = ctx.options(&project);
    let url = ctx.database_url(&project).ok();
    let mut findings = rev_migrate::check::layout_findings(&project);
    findings.extend(rev_migrate::check::graph_findings(&project));
    findings.extend(rev_migrate::check::dialect_findings(
        &project,
        url.as_deref(),
    ));
    findings.extend(rev_migrate::check::checksum_findings(
        &project,
        &options,
        url.as_deref(),
    ));
    // Every database the options name: a squash's files can go only when
    // none of them stands inside its run.
    let urls = rev_migrate::database_urls(&project, ctx.cli.url.as_deref(), ctx.cli.env.as_deref())
        .unwrap_or_default();
    findings.extend(rev_migrate::check::squash_findings(
        &project, &options, &urls,
    ));
    findings.extend(untranslated(&project));
    findings.extend(rev_migrate::check::model_findings(&project)?);
    if db {
        let url = ctx.database_url(&project)?;
        findings.extend(rev_migrate::check::db_findings(&project, &options, &url)?);
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    let format = ctx.format(&[Format::Text, Format::Json])?;
    if ctx.cli.verbose && format == Format::Text {
        for line in scope(&project, url.as_deref(), db) {
            ctx.line(&line)?;
        }
    }
    if format == Format::Json {
        ctx.json(&findings_json(&findings, failed))?;
    } else {
        for f in &findings {
            crate::render::finding(ctx, f.severity.as_str(), &f.message)?;
            for line in crate::render::conflict_lines(&f.conflicts) {
                ctx.line(&format!("  {line}"))?;
            }
            if let Some(hint) = &f.hint {
                ctx.line(&format!("  hint: {hint}"))?;
            }
        }
        if findings
            .iter()
            .any(|f| f.kind == "db_drift" && f.message.contains("\n  "))
        {
            ctx.line(crate::render::DB_DRIFT_LEGEND)?;
        }
        if findings.iter().all(|f| f.severity == Severity::Info) && !ctx.cli.quiet {
            let count = match project.graph.len() {
                0 => "no revisions yet".to_owned(),
                n => match project.graph.heads().len() {
                    1 => format!("{}, one head", counted(n, "revision")),
                    heads => format!(
                        "{}, {heads} heads on separate labelled lineages",
                        counted(n, "revision")
                    ),
                },
            };
            ctx.line(&format!("ok: {count}, no problems found"))?;
        }
    }
    ctx.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Returns an error for each item `rev import alembic` could not translate,
/// until it is replaced by hand: such a migration cannot run.
fn untranslated(project: &Project) -> Vec<Finding> {
    rev_alembic::untranslated_items(project)
        .into_iter()
        .map(|item| Finding {
            severity: Severity::Error,
            kind: "untranslated",
            message: item.message(),
            conflicts: Vec::new(),
            hint: Some("replace the item with operations or `Sql(..)` in the rev file".to_owned()),
        })
        .collect()
}

/// Returns what `-v` says was checked and what was skipped.
fn scope(project: &Project, url: Option<&str>, db: bool) -> Vec<String> {
    let mut scope = vec![
        format!(
            "checked the graph: {}, {}",
            counted(project.graph.len(), "revision"),
            counted(project.graph.heads().len(), "head")
        ),
        checksum_scope(url),
    ];
    scope.push(match &project.config.models {
        Some(dir) => format!("checked the models in {dir}/ against the migrations"),
        None => "skipped the models: `models` is not set in rev.ron".to_owned(),
    });
    if db {
        scope.push("checked the live database against the migrations at its revisions".to_owned());
    }
    scope
}

fn findings_json(findings: &[Finding], failed: bool) -> serde_json::Value {
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut value = serde_json::json!({"severity": f.severity.as_str(), "kind": f.kind, "message": f.message});
            if !f.conflicts.is_empty() {
                let conflicts: Vec<_> = f.conflicts.iter().map(crate::render::conflict_json).collect();
                if let Some(object) = value.as_object_mut() {
                    object.insert("conflicts".to_owned(), serde_json::Value::Array(conflicts));
                }
            }
            if let (Some(hint), Some(object)) = (&f.hint, value.as_object_mut()) {
                object.insert("hint".to_owned(), serde_json::Value::from(hint.as_str()));
            }
            value
        })
        .collect();
    serde_json::json!({ "ok": !failed, "findings": list })
}
