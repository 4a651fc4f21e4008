//! Commands that work on the migration files alone, without a database.

use std::fmt::Write as _;
use std::path::Path;

use rev_graph::{NodeIndex, Resolved, Target};
use rev_project::{new_revision_id, now_rfc3339, Migration, Project};
use serde_json::{json, Value};

use crate::args::Format;
use crate::error::CliError;
use crate::Ctx;

/// Returns the JSON object of a revision (DESIGN.md §4).
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

fn message(project: &Project, node: NodeIndex) -> &str {
    project
        .file(node)
        .map_or("", |f| f.migration.message.as_str())
}

/// Returns the revision lines of `history`: `parents -> id (head), message`.
fn history_line(project: &Project, node: NodeIndex) -> String {
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

fn print_revisions(
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

/// `rev heads`.
pub fn heads(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ctx.project()?;
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
    let project = ctx.project()?;
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

/// Resolves one end of a `FROM:TO` range; `None` leaves it open.
fn range_end(
    project: &Project,
    text: &str,
    open: &str,
) -> Result<Option<Vec<NodeIndex>>, CliError> {
    if text.is_empty() || text == open {
        return Ok(None);
    }
    let target = Target::parse(text)?;
    match project.graph.resolve(&target, &[])? {
        Resolved::Base => Ok(None),
        Resolved::Revisions(nodes) => Ok(Some(nodes)),
    }
}

/// `rev history [-r FROM:TO]`.
pub fn history(ctx: &mut Ctx, range: Option<&str>) -> Result<(), CliError> {
    let project = ctx.project()?;
    let nodes = match range {
        None => project.graph.history_order(),
        Some(range) => {
            let Some((from, to)) = range.split_once(':') else {
                return Err(CliError::usage(format!(
                    "invalid range `{range}`: expected FROM:TO, e.g. base:heads, ae10:, :ae10"
                )));
            };
            let from = range_end(&project, from, "base")?;
            let to = range_end(&project, to, "heads")?;
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
    let node = one_revision(&project, revision)?;
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
            let lines: Vec<String> = ops.iter().map(crate::autogen::summary).collect();
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
    let project = ctx.project()?;
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

/// Resolves a user's revision argument to exactly one revision.
fn one_revision(project: &Project, text: &str) -> Result<NodeIndex, CliError> {
    let target = Target::parse(text)?;
    match project.graph.resolve(&target, &[])? {
        Resolved::Revisions(nodes) if nodes.len() == 1 => Ok(nodes[0]),
        Resolved::Revisions(nodes) => Err(CliError::fail(format!(
            "`{text}` names {} revisions ({}); name one",
            nodes.len(),
            project.graph.ids(&nodes).join(", ")
        ))),
        Resolved::Base => Err(CliError::usage(format!(
            "`{text}` names no revision: base is the empty database before every revision"
        ))),
    }
}

fn checked_id(project: &Project, rev_id: Option<&str>) -> Result<String, CliError> {
    match rev_id {
        None => Ok(new_revision_id()),
        Some(id) if !rev_graph::is_valid_id(id) => Err(CliError::usage(format!(
            "revision id `{id}` is invalid: use 1 to 32 characters of [A-Za-z0-9_]"
        ))),
        Some(id) if project.graph.get(id).is_some() => {
            Err(CliError::fail(format!("revision id `{id}` already exists")))
        }
        Some(id) => Ok(id.to_owned()),
    }
}

fn report_written(
    ctx: &mut Ctx,
    migration: &Migration,
    path: &Path,
    what: &str,
) -> Result<(), CliError> {
    if ctx.format(&[Format::Text, Format::Json])? == Format::Json {
        return ctx.json(&json!({
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

/// Refuses an empty message: it names the file and is all `history` shows.
fn check_message(message: &str) -> Result<(), CliError> {
    if message.trim().is_empty() {
        return Err(CliError::usage("the message is empty")
            .hint("say what the migration does, e.g. -m \"add users.email\""));
    }
    Ok(())
}

/// `rev revision`.
pub fn revision(ctx: &mut Ctx, args: &RevisionArgs<'_>) -> Result<(), CliError> {
    check_message(args.message)?;
    let project = ctx.project()?;
    let graph = &project.graph;
    let parent_nodes = match args.head {
        Some("base") => Vec::new(),
        Some(head) => vec![one_revision(&project, head)?],
        None => match graph.heads().as_slice() {
            [] => Vec::new(),
            [one] => vec![*one],
            many => {
                return Err(CliError::fail(format!(
                    "there are {} heads ({}): a new revision needs one parent",
                    many.len(),
                    graph.ids(many).join(", ")
                ))
                .hint("pass `--head <rev>` to pick one, or run `rev merge -m <message>` to join them first"))
            }
        },
    };
    let parents = graph.ids(&parent_nodes);
    let (upgrade, downgrade) = if args.autogenerate {
        let (found, downgrade) =
            crate::autogen::generate(ctx, &project, &parent_nodes, args.from_db)?;
        for note in &found.notes {
            eprintln!("warning: {note}");
        }
        if found.ops.is_empty() {
            if !ctx.cli.quiet {
                ctx.line(if args.from_db {
                    "No changes: the models match the database; nothing written"
                } else {
                    "No changes: the models match what the migrations build; nothing written"
                })?;
            }
            return Ok(());
        }
        if !ctx.cli.quiet && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
            for op in &found.ops {
                ctx.line(&format!("Detected {}", crate::autogen::summary(op)))?;
            }
        }
        (found.ops, Some(downgrade))
    } else {
        (Vec::new(), None)
    };
    let mut depends_on = Vec::new();
    for dep in args.depends_on {
        // A label stays a label so the dependency follows the branch's name.
        if graph.label(dep).is_some() {
            depends_on.push(dep.clone());
        } else {
            depends_on.push(graph.id(one_revision(&project, dep)?).to_owned());
        }
    }
    let migration = Migration {
        id: checked_id(&project, args.rev_id)?,
        parents,
        message: args.message.to_owned(),
        created: Some(now_rfc3339()),
        branch_labels: args.branch_labels.to_vec(),
        depends_on,
        transactional: true,
        upgrade,
        downgrade,
    };
    let path = project.add_migration(&migration)?;
    report_written(ctx, &migration, &path, "revision")
}

/// `rev merge`.
pub fn merge(
    ctx: &mut Ctx,
    revisions: &[String],
    message: &str,
    rev_id: Option<&str>,
) -> Result<(), CliError> {
    check_message(message)?;
    let project = ctx.project()?;
    let graph = &project.graph;
    let mut nodes = Vec::new();
    if revisions.is_empty() {
        nodes = graph.heads();
    } else {
        for text in revisions {
            match graph.resolve(&Target::parse(text)?, &[])? {
                Resolved::Revisions(found) => nodes.extend(found),
                Resolved::Base => return Err(CliError::usage("`base` cannot be merged")),
            }
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.len() < 2 {
        let what = match (revisions.is_empty(), nodes.as_slice()) {
            (true, []) => "there are no revisions yet".to_owned(),
            (true, [one]) => format!("there is only one head ({})", graph.id(*one)),
            (false, _) => format!(
                "{} names only {}",
                revisions.join(" "),
                match graph.ids(&nodes).as_slice() {
                    [] => "base".to_owned(),
                    ids => format!("one revision ({})", ids.join(", ")),
                }
            ),
            (true, _) => "fewer than two heads".to_owned(),
        };
        let hint = if graph.is_empty() {
            "`rev revision -m <message>` writes the first revision"
        } else {
            "`rev heads` lists the heads a merge can join"
        };
        return Err(CliError::fail(format!("nothing to merge: {what}")).hint(hint));
    }
    for &a in &nodes {
        for &b in &nodes {
            if a != b && graph.is_ancestor_or_self(a, b) {
                return Err(CliError::fail(format!(
                    "cannot merge `{}` and `{}`: `{}` is an ancestor of `{}`",
                    graph.id(a),
                    graph.id(b),
                    graph.id(a),
                    graph.id(b)
                ))
                .hint("merge only revisions on different branches, such as the heads `rev heads` lists"));
            }
        }
    }
    let migration = Migration {
        id: checked_id(&project, rev_id)?,
        parents: graph.ids(&nodes),
        message: message.to_owned(),
        created: Some(now_rfc3339()),
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        transactional: true,
        upgrade: Vec::new(),
        downgrade: None,
    };
    let path = project.add_migration(&migration)?;
    report_written(ctx, &migration, &path, "merge revision")
}

/// A finding of `rev check`.
pub struct Finding {
    /// `error` (exit 1) or `warning`.
    pub severity: &'static str,
    /// A short kind, stable for scripts.
    pub kind: &'static str,
    /// The sentence.
    pub message: String,
}

/// Returns what `rev check` finds in the graph alone.
pub fn graph_findings(project: &Project) -> Vec<Finding> {
    let graph = &project.graph;
    let mut findings = Vec::new();
    let heads = graph.heads();
    if heads.len() > 1 {
        findings.push(Finding {
            severity: "error",
            kind: "multiple_heads",
            message: format!(
                "there are {} heads: {}; run `rev merge -m <message>` to join them",
                heads.len(),
                graph.ids(&heads).join(", ")
            ),
        });
    }
    for r in graph.redundant_parents() {
        findings.push(Finding {
            severity: "warning",
            kind: "redundant_parent",
            message: format!(
                "revision `{}` names parent `{}`, which is already an ancestor of its parent `{}`; the redundant parent is ignored",
                r.revision, r.parent, r.via
            ),
        });
    }
    findings
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
        ctx.line(&format!("Next: {cd}rev revision -m \"create users\""))?;
    }
    Ok(())
}
