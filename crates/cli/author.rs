//! Commands that write files: init, revision, merge.

use std::path::Path;

use rev_migrate::{Autogenerate, Migration, NewRevision};
use serde_json::json;

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

fn report_written(
    ctx: &mut Ctx,
    migration: &Migration,
    path: &Path,
    what: &str,
    conflicts: &[rev_migrate::Conflict],
) -> Result<(), CliError> {
    if ctx.format(&[Format::Text, Format::Json])? == Format::Json {
        let conflicts: Vec<_> = conflicts.iter().map(crate::render::conflict_json).collect();
        return ctx.json(&json!({
            "conflicts": conflicts,
            "id": migration.id,
            "parents": migration.parents,
            "depends_on": migration.depends_on,
            "branch_labels": migration.branch_labels,
            "message": migration.message,
            "path": path.to_string_lossy(),
        }));
    }
    if !ctx.cli.quiet {
        ctx.line(&format!(
            "Created {what} {}: {}",
            migration.id,
            path.display()
        ))?;
    }
    if ctx.cli.verbose {
        let parents = if migration.parents.is_empty() {
            "<base>".to_owned()
        } else {
            migration.parents.join(", ")
        };
        ctx.line(&format!("Parent: {parents}"))?;
        if !migration.depends_on.is_empty() {
            ctx.line(&format!(
                "Also depends on: {}",
                migration.depends_on.join(", ")
            ))?;
        }
        if !migration.branch_labels.is_empty() {
            ctx.line(&format!(
                "Branch names: {}",
                migration.branch_labels.join(", ")
            ))?;
        }
    }
    Ok(())
}

/// Options of `rev revision`.
pub struct RevisionArgs<'a> {
    /// The message.
    pub message: &'a str,
    /// `--head`.
    pub head: Option<&'a str>,
    /// `--branch-label`.
    pub branch_labels: &'a [String],
    /// `--depends-on`.
    pub depends_on: &'a [String],
    /// `--rev-id`.
    pub rev_id: Option<&'a str>,
    /// `--autogenerate`.
    pub autogenerate: bool,
    /// `--from-db`: autogenerate against the live database.
    pub from_db: bool,
}

/// `rev revision`.
pub fn revision(ctx: &mut Ctx, args: &RevisionArgs<'_>) -> Result<(), CliError> {
    let project = ctx.project()?;
    let url = if args.from_db {
        Some(ctx.database_url(&project)?)
    } else {
        None
    };
    let autogenerate = match (&url, args.autogenerate) {
        (_, false) => Autogenerate::Off,
        (Some(url), true) => Autogenerate::FromDatabase(url),
        (None, true) => Autogenerate::FromMigrations,
    };
    let ask = NewRevision {
        message: args.message,
        head: args.head,
        branch_labels: args.branch_labels,
        depends_on: args.depends_on,
        rev_id: args.rev_id,
        autogenerate,
    };
    let revised = rev_migrate::new_revision(&project, &ctx.options(&project), &ask)?;
    for note in &revised.notes {
        crate::render::warning(note);
    }
    let Some((migration, path)) = revised.written else {
        if !ctx.cli.quiet {
            ctx.line(if args.from_db {
                "No changes: the models match the database; nothing written"
            } else {
                "No changes: the models match what the migrations build; nothing written"
            })?;
        }
        return Ok(());
    };
    if !ctx.cli.quiet && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
        for op in &revised.detected {
            ctx.line(&format!("Detected {}", rev_migrate::autogen::summary(op)))?;
        }
        if !revised.detected.is_empty() {
            ctx.line(crate::render::AUTOGENERATE_LEGEND)?;
        }
    }
    report_written(ctx, &migration, &path, "revision", &[])
}

/// `rev merge`: prints the conflict report of the joined branches, refuses
/// conflicts without `--allow-conflicts`, and records accepted ones in the file.
pub fn merge(ctx: &mut Ctx, ask: &rev_migrate::Merge<'_>) -> Result<(), CliError> {
    let project = ctx.project()?;
    let format = ctx.format(&[Format::Text, Format::Json])?;
    match rev_migrate::merge(&project, ask) {
        Ok(merged) => {
            if format == Format::Text && !ctx.cli.quiet {
                for line in crate::render::conflict_lines(&merged.conflicts) {
                    ctx.line(&line)?;
                }
                if !merged.conflicts.is_empty() {
                    ctx.line(&format!(
                        "Recorded {} acknowledged conflict(s) in the merge file",
                        merged.conflicts.len()
                    ))?;
                }
            }
            report_written(
                ctx,
                &merged.migration,
                &merged.path,
                "merge revision",
                &merged.conflicts,
            )
        }
        Err(rev_migrate::MigrateError::Conflicts(conflicts)) => {
            crate::render::refuse_conflicts(ctx, format, conflicts)
        }
        Err(error) => Err(error.into()),
    }
}

/// `rev init`.
pub fn init(ctx: &mut Ctx, dir: &Path) -> Result<(), CliError> {
    let dialect = ctx.cli.dialect.map_or("sqlite", rev_sql::DialectKind::name);
    let config = dir.join("rev.ron");
    if config.exists() {
        return Err(CliError::fail(format!(
            "{} already exists: this directory holds a project",
            config.strip_prefix(".").unwrap_or(&config).display()
        ))
        .hint("`rev init <dir>` makes a new project in another directory"));
    }
    let created = rev_project::init(dir, dialect)?;
    if !ctx.cli.quiet {
        for path in created {
            let shown = path.strip_prefix(".").unwrap_or(&path);
            ctx.line(&format!("Created {}", shown.display()))?;
        }
        let cd = if dir == Path::new(".") {
            String::new()
        } else {
            format!("cd {} && ", dir.display())
        };
        // DATABASE_URL in .env overrides rev.ron's url; the example is the way in.
        ctx.line(&format!(
            "Next: {cd}cp .env.example .env   # then edit DATABASE_URL in .env"
        ))?;
        ctx.line("      rev revision -m \"create users\"")?;
    }
    Ok(())
}
