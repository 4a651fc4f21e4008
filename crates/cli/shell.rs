//! What the shell and `man` need: completion scripts and the man page, both
//! generated from the command line's own definition, so they never fall
//! behind it.

use clap::CommandFactory;

use crate::args::Cli;
use crate::error::CliError;
use crate::Ctx;

/// `rev completions SHELL`.
pub fn completions(ctx: &mut Ctx, shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "rev", &mut script);
    ctx.text(&String::from_utf8_lossy(&script))
}

/// `rev man`: the man page as roff. A command rather than a build-time file:
/// the page always matches the binary that prints it, packagers get it with
/// `rev man > rev.1`, and the build needs no build script.
pub fn man(ctx: &mut Ctx) -> Result<(), CliError> {
    let page = clap_mangen::Man::new(Cli::command());
    let mut roff = Vec::new();
    page.render(&mut roff)?;
    ctx.text(&String::from_utf8_lossy(&roff))
}
