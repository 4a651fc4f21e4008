//! How revisions look on the command line: the one-line and `-v` forms, the
//! JSON object, and lists of them. Shared by every command that shows revisions.

use std::fmt::Write as _;

use rev_graph::NodeIndex;
use rev_project::Project;
use serde_json::{json, Value};

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

/// Returns the JSON object of a revision: id, parents, depends_on, branch_labels, message, path.
pub fn revision_json(project: &Project, node: NodeIndex) -> Value {
    let Some(file) = project.file(node) else {
        return Value::Null;
    };
    let m = &file.migration;
    json!({
        "id": m.id,
        "parents": m.parents,
        "depends_on": m.depends_on,
        "branch_labels": m.branch_labels,
        "message": m.message,
        "path": file.path.to_string_lossy(),
    })
}

/// Returns `id (label) (head) (branchpoint) (mergepoint)` for a revision.
pub fn describe(project: &Project, node: NodeIndex) -> String {
    let mut text = String::new();
    describe_into(&mut text, project, node);
    text
}

/// Appends what [`describe`] returns to `text`, allocating nothing of its own.
fn describe_into(text: &mut String, project: &Project, node: NodeIndex) {
    let graph = &project.graph;
    text.push_str(graph.id(node));
    let labels = graph.branch_labels(node);
    if !labels.is_empty() {
        text.push_str(" (");
        for (i, label) in labels.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(label);
        }
        text.push(')');
    }
    if graph.children(node).is_empty() {
        text.push_str(" (head)");
    }
    if graph.children(node).len() > 1 {
        text.push_str(" (branchpoint)");
    }
    if graph.parents(node).len() > 1 {
        text.push_str(" (mergepoint)");
    }
}

pub fn message(project: &Project, node: NodeIndex) -> &str {
    project
        .file(node)
        .map_or("", |f| f.migration.message.as_str())
}

/// Returns the revision lines of `history`: `parents -> id (head), message`.
pub fn history_line(project: &Project, node: NodeIndex) -> String {
    // One allocation per line: `rev history` prints one line per revision.
    let graph = &project.graph;
    let message = message(project, node);
    let mut line = String::with_capacity(64 + message.len());
    match graph.parents(node) {
        [] => line.push_str("<base>"),
        parents => {
            for (i, &parent) in parents.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                line.push_str(graph.id(parent));
            }
        }
    }
    line.push_str(" -> ");
    describe_into(&mut line, project, node);
    line.push_str(", ");
    line.push_str(message);
    line
}

/// Below this many revisions the text is formatted on one thread: starting a
/// second costs more than it saves.
const PARALLEL_TEXT: usize = 20_000;

/// Returns a revision as `-v` lists it: id and markers, parents, dependencies,
/// labels, file and message, then a blank line (Alembic's `history -v`).
pub fn verbose_block(project: &Project, node: NodeIndex) -> String {
    let graph = &project.graph;
    let mut text = format!("Rev: {}\n", describe(project, node));
    let parents = match graph.parents(node) {
        [] => "<base>".to_owned(),
        parents => graph.ids(parents).join(", "),
    };
    let _ = writeln!(text, "Parent: {parents}");
    let deps = graph.depends_on(node);
    if !deps.is_empty() {
        let _ = writeln!(text, "Also depends on: {}", graph.ids(deps).join(", "));
    }
    let labels = graph.branch_labels(node);
    if !labels.is_empty() {
        let _ = writeln!(text, "Branch names: {}", labels.join(", "));
    }
    if let Some(file) = project.file(node) {
        let _ = writeln!(text, "Path: {}", file.path.display());
    }
    let _ = writeln!(text, "\n    {}\n", message(project, node));
    text
}

pub fn print_revisions(
    ctx: &mut Ctx,
    project: &Project,
    nodes: &[NodeIndex],
    text: impl Fn(NodeIndex) -> String + Sync,
) -> Result<(), CliError> {
    match ctx.format(&[Format::Text, Format::Json])? {
        Format::Json => {
            let list: Vec<Value> = nodes.iter().map(|&n| revision_json(project, n)).collect();
            ctx.json(&Value::Array(list))
        }
        _ if nodes.len() >= PARALLEL_TEXT => {
            // Formatting 100,000 lines is mostly waiting on memory (each line
            // reads a revision's file entry and graph node): two threads each
            // format half, and the halves are printed in order.
            let half = nodes.len().div_ceil(2);
            let format = |part: &[NodeIndex]| {
                let mut out = String::with_capacity(part.len() * 80);
                for &node in part {
                    out.push_str(&text(node));
                    out.push('\n');
                }
                out
            };
            let (first, second) = nodes.split_at(half);
            let (first, second) = std::thread::scope(|scope| {
                let later = scope.spawn(|| format(second));
                (format(first), later.join())
            });
            let second = second.map_err(|_| CliError::fail("a formatting thread panicked"))?;
            ctx.text(&first)?;
            ctx.text(&second)
        }
        _ => {
            for &node in nodes {
                let line = text(node);
                ctx.line(&line)?;
            }
            Ok(())
        }
    }
}

/// Prints a refused operation's conflicts (text lines or one JSON object)
/// and returns the error that refuses it.
pub fn refuse_conflicts(
    ctx: &mut Ctx,
    format: Format,
    conflicts: Vec<rev_migrate::Conflict>,
) -> Result<(), CliError> {
    if format == Format::Json {
        let list: Vec<_> = conflicts.iter().map(conflict_json).collect();
        ctx.json(&json!({ "conflicts": list }))?;
    } else {
        for line in conflict_lines(&conflicts) {
            ctx.line(&line)?;
        }
    }
    ctx.flush()?;
    Err(rev_migrate::MigrateError::Conflicts(conflicts).into())
}

/// Returns the lines of a conflict report: what clashes, then each side's
/// revision, file and operation.
pub fn conflict_lines(conflicts: &[rev_migrate::Conflict]) -> Vec<String> {
    let mut lines = Vec::new();
    for c in conflicts {
        let label = match c.severity() {
            rev_migrate::Severity::Error => "conflict",
            rev_migrate::Severity::Warning | rev_migrate::Severity::Info => "warning",
        };
        lines.push(format!("{label}: {}", c.describe()));
        for side in [&c.left, &c.right] {
            lines.push(format!(
                "  {} {}: {}",
                side.revision,
                side.path.display(),
                side.op
            ));
        }
    }
    lines
}

/// Returns the JSON of a conflict:
/// `{"object","kind","severity","message","left":{"revision","path","op"},"right":{..}}`.
pub fn conflict_json(c: &rev_migrate::Conflict) -> Value {
    let side = |s: &rev_migrate::Side| json!({"revision": s.revision, "path": s.path.to_string_lossy(), "op": s.op});
    json!({
        "object": c.object.to_string(),
        "kind": c.kind.as_str(),
        "severity": c.severity().as_str(),
        "message": c.describe(),
        "left": side(&c.left),
        "right": side(&c.right),
    })
}

/// Explains the signs of `rev check --db`'s drift lines, printed once after them.
pub const DB_DRIFT_LEGEND: &str =
    "(+ only in the database, - only in the migrations, ~ differs between them)";

/// Explains the signs of what `rev revision --autogenerate` detected.
pub const AUTOGENERATE_LEGEND: &str = "(+ added, - dropped, ~ changed by the new revision)";

/// Returns whether colour goes to this stream: a terminal, unless NO_COLOR is
/// set, or anything when CLICOLOR_FORCE is (what clap itself reads). A pipe
/// or file never gets colour.
pub fn colour_for(stream: &impl anstream::stream::RawStream) -> bool {
    !matches!(
        anstream::AutoStream::choice(stream),
        anstream::ColorChoice::Never
    )
}

/// Styles of the words that carry the meaning of a line.
pub mod style {
    use anstyle::{AnsiColor, Style};

    /// `error:`.
    pub const ERROR: Style = AnsiColor::Red.on_default().bold();
    /// `warning:`.
    pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
    /// `hint:`.
    pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
    /// An upgrade step.
    pub const UPGRADE: Style = AnsiColor::Green.on_default();
    /// A downgrade step.
    pub const DOWNGRADE: Style = AnsiColor::Yellow.on_default();
    /// A stamp step.
    pub const STAMP: Style = AnsiColor::Cyan.on_default();
}

/// Returns `text` in `style` when `colour` is on, else `text` as it is.
pub fn paint(colour: bool, style: anstyle::Style, text: &str) -> String {
    if colour {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Returns the style of a severity's word (`error` or `warning`).
fn severity_style(severity: &str) -> anstyle::Style {
    if severity == "error" {
        style::ERROR
    } else if severity == "info" {
        style::HINT
    } else {
        style::WARNING
    }
}

/// Prints a `rev check` finding: `error: ...` or `warning: ...`.
pub fn finding(ctx: &mut Ctx, severity: &str, message: &str) -> Result<(), CliError> {
    let word = paint(
        ctx.colour,
        severity_style(severity),
        &format!("{severity}:"),
    );
    ctx.line(&format!("{word} {message}"))
}

/// Prints a warning to stderr.
pub fn warning(note: &str) {
    let colour = colour_for(&std::io::stderr());
    eprintln!("{} {note}", paint(colour, style::WARNING, "warning:"));
}

/// Prints an error and its hint to stderr.
pub fn error(message: &str, hint: Option<&str>) {
    use std::io::Write as _;
    let stderr = std::io::stderr();
    let colour = colour_for(&stderr);
    let mut err = stderr.lock();
    let _ = writeln!(err, "{} {message}", paint(colour, style::ERROR, "error:"));
    if let Some(hint) = hint {
        let _ = writeln!(err, "{} {hint}", paint(colour, style::HINT, "hint:"));
    }
}
