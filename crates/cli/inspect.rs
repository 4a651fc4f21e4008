//! Commands that read the migration files: heads, branches, history, show,
//! graph. Only `history -r` with `current` as an end reads the database too.
//! All but `show` print the graph and nothing of what a migration does, so
//! they load headers only, through the header cache.

use std::fmt::Write as _;
// The graph commands' projects are never dropped: 100,000 revisions are a
// million allocations, and freeing them one by one just before the process
// exits costs tens of milliseconds that the OS saves by taking the memory
// back at once.
use std::mem::ManuallyDrop;

use rev_graph::{NodeIndex, Resolved, Target};
use rev_project::Project;
use serde_json::{json, Value};

use crate::args::Format;
use crate::error::CliError;
use crate::render::{
    describe, history_line, message, print_revisions, revision_json, verbose_block,
};
use crate::Ctx;

/// `rev heads`.
pub fn heads(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ManuallyDrop::new(ctx.project_headers()?);
    let heads = project.graph.heads();
    if ctx.cli.verbose && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
        for &node in &heads {
            let block = verbose_block(&project, node);
            ctx.text(&block)?;
        }
        return Ok(());
    }
    print_revisions(ctx, &project, &heads, |n| {
        format!("{} {}", describe(&project, n), message(&project, n))
    })
}

/// `rev branches`.
pub fn branches(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ManuallyDrop::new(ctx.project_headers()?);
    let points = project.graph.branch_points();
    let verbose = ctx.cli.verbose;
    print_revisions(ctx, &project, &points, |n| {
        let mut text = if verbose {
            verbose_block(&project, n).trim_end().to_owned() + "\n"
        } else {
            format!("{} {}", describe(&project, n), message(&project, n))
        };
        for &child in project.graph.children(n) {
            let _ = write!(
                text,
                "\n    -> {}, {}",
                describe(&project, child),
                message(&project, child)
            );
            if let Some(file) = project.file(child).filter(|_| verbose) {
                let _ = write!(text, " ({})", file.path.display());
            }
        }
        if verbose {
            text.push('\n');
        }
        text
    })
}

/// Returns the revisions the database's version rows name (none at base).
/// A SQLite file that does not exist yet is at base, and is not created.
fn current_nodes(ctx: &Ctx, project: &Project) -> Result<Vec<NodeIndex>, CliError> {
    let url = ctx.database_url(project)?;
    if rev_migrate::missing_sqlite_file(&url).is_some() {
        return Ok(Vec::new());
    }
    let mut backend = rev_migrate::connect(&url)?;
    let rows = rev_migrate::current(backend.as_mut(), &ctx.options(project))?;
    Ok(rev_migrate::current_nodes(project, &rows)?)
}

/// Resolves one end of a `FROM:TO` range; `None` leaves it open. `current`
/// is the database's revisions: as FROM at base it leaves the range open, as
/// TO at base it makes the range empty.
fn range_end(
    ctx: &Ctx,
    project: &Project,
    text: &str,
    open: &str,
) -> Result<Option<Vec<NodeIndex>>, CliError> {
    if text.is_empty() || text == open {
        return Ok(None);
    }
    if text == "current" {
        let nodes = current_nodes(ctx, project)?;
        return Ok(if nodes.is_empty() && open == "base" {
            None
        } else {
            Some(nodes)
        });
    }
    let target = Target::parse(text)?;
    match project.graph.resolve(&target, &[])? {
        Resolved::Base => Ok(None),
        Resolved::Revisions(nodes) => Ok(Some(nodes)),
    }
}

/// `rev history [-r FROM:TO]`.
pub fn history(ctx: &mut Ctx, range: Option<&str>) -> Result<(), CliError> {
    // An end at `current` reads the database's version rows against the
    // squashes, which is the engine's business: it gets the full files.
    let reads_database = range.is_some_and(|r| r.split(':').any(|end| end == "current"));
    let project = ManuallyDrop::new(if reads_database {
        ctx.project()?
    } else {
        ctx.project_headers()?
    });
    let nodes = match range {
        None => project.graph.history_order(),
        Some(range) => {
            let Some((from, to)) = range.split_once(':') else {
                return Err(CliError::usage(format!(
                    "invalid range `{range}`: expected FROM:TO, e.g. base:heads, ae10:, :ae10, current:"
                )));
            };
            let from = range_end(ctx, &project, from, "base")?;
            let to = range_end(ctx, &project, to, "heads")?;
            project.graph.history_range(from.as_deref(), to.as_deref())
        }
    };
    if ctx.cli.verbose && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
        for &node in &nodes {
            let block = verbose_block(&project, node);
            ctx.text(&block)?;
        }
        return Ok(());
    }
    print_revisions(ctx, &project, &nodes, |n| history_line(&project, n))
}

/// `rev show REV`.
pub fn show(ctx: &mut Ctx, revision: &str) -> Result<(), CliError> {
    let project = ctx.project()?;
    let node = rev_migrate::resolve_one(&project, revision)?;
    let graph = &project.graph;
    let Some(file) = project.file(node) else {
        return Err(CliError::fail(format!("revision {revision} has no file")));
    };
    let m = &file.migration;
    if ctx.format(&[Format::Text, Format::Json])? == Format::Json {
        let mut value = revision_json(&project, node);
        if let Value::Object(map) = &mut value {
            map.insert("children".into(), json!(graph.ids(graph.children(node))));
            map.insert("created".into(), json!(m.created));
            map.insert("transactional".into(), json!(m.transactional));
            map.insert("checksum".into(), json!(m.checksum()));
            map.insert(
                "upgrade".into(),
                json!(m.upgrade.iter().map(|o| o.kind()).collect::<Vec<_>>()),
            );
            map.insert(
                "downgrade".into(),
                json!(m
                    .downgrade
                    .as_ref()
                    .map(|d| d.iter().map(|o| o.kind()).collect::<Vec<_>>())),
            );
        }
        return ctx.json(&value);
    }
    let mut text = format!("Rev: {}\n", describe(&project, node));
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "<none>".to_owned()
        } else {
            ids.join(", ")
        }
    };
    let _ = writeln!(
        text,
        "Parent: {}",
        if m.parents.is_empty() {
            "<base>".to_owned()
        } else {
            m.parents.join(", ")
        }
    );
    if !m.depends_on.is_empty() {
        let _ = writeln!(text, "Also depends on: {}", m.depends_on.join(", "));
    }
    if !m.branch_labels.is_empty() {
        let _ = writeln!(text, "Branch names: {}", m.branch_labels.join(", "));
    }
    let _ = writeln!(text, "Children: {}", list(&graph.ids(graph.children(node))));
    let _ = writeln!(text, "Path: {}", file.path.display());
    if let Some(created) = &m.created {
        let _ = writeln!(text, "Created: {created}");
    }
    if !m.transactional {
        text.push_str("Transactional: no (runs outside a transaction)\n");
    }
    let _ = writeln!(text, "Checksum: {}", m.checksum());
    let _ = writeln!(text, "\n    {}\n", m.message);
    let verbose = ctx.cli.verbose;
    // "1 operation(s): CreateTable"; with -v, one line per operation.
    let ops = |ops: &[rev_schema::Operation]| {
        let count = format!("{} operation(s)", ops.len());
        if ops.is_empty() {
            count
        } else if verbose {
            let lines: Vec<String> = ops.iter().map(rev_migrate::autogen::summary).collect();
            format!("{count}:\n    {}", lines.join("\n    "))
        } else {
            let kinds: Vec<&str> = ops.iter().map(|o| o.kind()).collect();
            format!("{count}: {}", kinds.join(", "))
        }
    };
    let _ = writeln!(text, "Upgrade: {}", ops(&m.upgrade));
    match &m.downgrade {
        Some(d) => {
            let _ = writeln!(text, "Downgrade: {}", ops(d));
        }
        None => text.push_str("Downgrade: derived from the upgrade\n"),
    }
    ctx.text(&text)
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// `rev graph [--format ascii|dot|mermaid|json]`.
pub fn graph(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ManuallyDrop::new(ctx.project_headers()?);
    let graph = &project.graph;
    let order = graph.history_order();
    match ctx.format(&[Format::Ascii, Format::Dot, Format::Mermaid, Format::Json])? {
        Format::Dot => {
            let mut out =
                String::from("digraph revisions {\n    rankdir=BT;\n    node [shape=box];\n");
            for &n in &order {
                let _ = writeln!(
                    out,
                    "    \"{}\" [label=\"{}\\n{}\"];",
                    graph.id(n),
                    dot_escape(&describe(&project, n)),
                    dot_escape(message(&project, n))
                );
            }
            for (from, to, kind) in graph.edges() {
                let style = match kind {
                    rev_graph::EdgeKind::Parent => "",
                    rev_graph::EdgeKind::DependsOn => " [style=dashed, label=\"depends_on\"]",
                };
                let _ = writeln!(
                    out,
                    "    \"{}\" -> \"{}\"{style};",
                    graph.id(from),
                    graph.id(to)
                );
            }
            out.push_str("}\n");
            ctx.text(&out)
        }
        Format::Mermaid => {
            let mut out = String::from("flowchart BT\n");
            for &n in &order {
                let _ = writeln!(
                    out,
                    "    r_{}[\"{}<br/>{}\"]",
                    graph.id(n),
                    mermaid_escape(&describe(&project, n)),
                    mermaid_escape(message(&project, n))
                );
            }
            for (from, to, kind) in graph.edges() {
                let arrow = match kind {
                    rev_graph::EdgeKind::Parent => "-->",
                    rev_graph::EdgeKind::DependsOn => "-.->|depends_on|",
                };
                let _ = writeln!(out, "    r_{} {arrow} r_{}", graph.id(from), graph.id(to));
            }
            ctx.text(&out)
        }
        Format::Json => {
            let revisions: Vec<Value> = order.iter().map(|&n| revision_json(&project, n)).collect();
            let edges: Vec<Value> = graph
                .edges()
                .map(|(from, to, kind)| {
                    json!({
                        "from": graph.id(from),
                        "to": graph.id(to),
                        "kind": match kind {
                            rev_graph::EdgeKind::Parent => "parent",
                            rev_graph::EdgeKind::DependsOn => "depends_on",
                        },
                    })
                })
                .collect();
            ctx.json(&json!({ "revisions": revisions, "edges": edges }))
        }
        _ => {
            let drawing = rev_graph::render_ascii(graph, &order, |n| {
                let mut text = format!("{} {}", describe(&project, n), message(&project, n));
                let deps = graph.depends_on(n);
                if !deps.is_empty() {
                    let _ = write!(text, " [depends on {}]", graph.ids(deps).join(", "));
                }
                text
            });
            ctx.text(&drawing)
        }
    }
}
