//! `rev rebase BRANCH --onto REV`: the engine's rebase, reported.

use serde_json::json;

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

/// `rev rebase`: prints the conflict report, then what changed in which file.
pub fn rebase(
    ctx: &mut Ctx,
    branch: &str,
    onto: &str,
    allow_conflicts: bool,
) -> Result<(), CliError> {
    let project = ctx.project()?;
    let format = ctx.format(&[Format::Text, Format::Json])?;
    // The database it can see: --url, DATABASE_URL, or rev.ron; none at all is fine.
    let url = ctx.database_url(&project).ok();
    let ask = rev_migrate::Rebase {
        branch,
        onto,
        url: url.as_deref(),
        allow_conflicts,
    };
    let done = match rev_migrate::rebase(&project, &ctx.options(&project), &ask) {
        Ok(done) => done,
        Err(rev_migrate::MigrateError::Conflicts(conflicts)) => {
            return crate::render::refuse_conflicts(ctx, format, conflicts);
        }
        Err(error) => return Err(error.into()),
    };
    if format == Format::Json {
        let conflicts: Vec<_> = done
            .conflicts
            .iter()
            .map(crate::render::conflict_json)
            .collect();
        return ctx.json(&json!({
            "revision": done.revision,
            "path": done.path.to_string_lossy(),
            "old_parents": done.old_parents,
            "new_parents": done.new_parents,
            "moved": done.moved,
            "conflicts": conflicts,
        }));
    }
    if !ctx.cli.quiet {
        for line in crate::render::conflict_lines(&done.conflicts) {
            ctx.line(&line)?;
        }
        ctx.line(&format!(
            "Rebased {} ({} revision(s)) onto {}",
            done.revision,
            done.moved.len(),
            done.new_parents.join(", ")
        ))?;
        ctx.line(&format!(
            "  {}: parents [{}] -> [{}]",
            done.path.display(),
            done.old_parents.join(", "),
            done.new_parents.join(", ")
        ))?;
    }
    Ok(())
}
