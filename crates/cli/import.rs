//! `rev import alembic PATH [--into DIR]`: an Alembic project's history as rev migrations.

use std::path::Path;

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

impl From<rev_alembic::ImportError> for CliError {
    fn from(error: rev_alembic::ImportError) -> Self {
        let hint = match &error {
            rev_alembic::ImportError::NotAlembic { .. } => {
                Some("pass the directory holding alembic.ini, or the file itself")
            }
            rev_alembic::ImportError::Exists(_) => {
                Some("import into an empty directory with --into DIR")
            }
            _ => None,
        };
        let cli = CliError::fail(error);
        match hint {
            Some(hint) => cli.hint(hint),
            None => cli,
        }
    }
}

/// Reads the Alembic project at `path`, writes its revisions into the rev
/// project at `into` (creating rev.ron there when there is none) and prints
/// the import report.
pub fn alembic(
    ctx: &mut Ctx,
    path: &Path,
    into: &Path,
    version_table: &str,
) -> Result<(), CliError> {
    let format = ctx.format(&[Format::Text, Format::Json])?;
    let import = rev_alembic::read(path)?;
    let options = rev_alembic::Options {
        version_table: version_table.to_owned(),
        dialect: ctx.cli.dialect.map(|d| d.name().to_owned()),
    };
    let written = rev_alembic::write(&import, into, &options)?;
    let report = rev_alembic::Report::new(&import, &written);
    if format == Format::Json {
        ctx.json(&serde_json::to_value(&report)?)?;
    } else if !ctx.cli.quiet || !report.untranslated.is_empty() {
        let verbose = ctx.cli.verbose;
        ctx.text(&report.text(verbose))?;
    }
    Ok(())
}
