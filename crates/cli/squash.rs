//! `rev squash FROM:TO -m MSG`: the engine's squash, reported.

use serde_json::json;

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

/// `rev squash`: writes the squash and says which files it replaces and
/// when they may go.
pub fn squash(
    ctx: &mut Ctx,
    range: &str,
    message: &str,
    rev_id: Option<&str>,
) -> Result<(), CliError> {
    let project = ctx.project()?;
    let format = ctx.format(&[Format::Text, Format::Json])?;
    let ask = rev_migrate::Squash {
        range,
        message,
        rev_id,
    };
    let done = rev_migrate::squash(&project, &ask)?;
    let m = &done.migration;
    if format == Format::Json {
        let replaced: Vec<String> = done
            .replaced
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        return ctx.json(&json!({
            "id": m.id,
            "parents": m.parents,
            "depends_on": m.depends_on,
            "branch_labels": m.branch_labels,
            "message": m.message,
            "path": done.path.to_string_lossy(),
            "replaces": m.replaces,
            "replaced_paths": replaced,
        }));
    }
    if !ctx.cli.quiet {
        ctx.line(&format!(
            "Created squash revision {}: {}",
            m.id,
            done.path.display()
        ))?;
        ctx.line(&format!(
            "  replaces {} revisions: {}",
            m.replaces.len(),
            m.replaces.join(", ")
        ))?;
        ctx.line(
            "  keep their files until every database has passed the run; `rev check --url ...` says when they can be deleted",
        )?;
    }
    Ok(())
}
