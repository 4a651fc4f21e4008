//! `rev check`'s findings as data: graph problems, edited or missing applied
//! migrations, model drift. Live drift is in [`crate::autogen::db_findings`].

use std::collections::HashSet;

use rev_graph::{NodeIndex, Resolved};
use rev_project::Project;

use crate::conflicts::{conflicts, without_acknowledged, Conflict};
use crate::error::Result;
use crate::plan::{current_nodes, schema_at};
use crate::url::missing_sqlite_file;
use crate::Options;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The check fails (exit status 1).
    Error,
    /// Worth reading; the check still passes.
    Warning,
}

impl Severity {
    /// Returns `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One thing `rev check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A short kind, stable for scripts (`multiple_heads`, `edited_after_apply`, ...).
    pub kind: &'static str,
    /// The sentence.
    pub message: String,
    /// For several heads: what the open branches do to each other.
    pub conflicts: Vec<Conflict>,
}

impl Finding {
    fn error(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Error,
            kind,
            message,
            conflicts: Vec::new(),
        }
    }

    fn warning(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Warning,
            kind,
            message,
            conflicts: Vec::new(),
        }
    }
}

/// Returns what the graph alone shows: several heads (with what their
/// branches do to each other), redundant parents.
pub fn graph_findings(project: &Project) -> Vec<Finding> {
    let graph = &project.graph;
    let mut findings = Vec::new();
    for heads in open_head_groups(project) {
        let mut finding = Finding::error(
            "multiple_heads",
            format!(
                "there are {} heads: {}; run `rev merge -m <message>` to join them",
                heads.len(),
                graph.ids(&heads).join(", ")
            ),
        );
        finding.conflicts = without_acknowledged(project, conflicts(project, &heads));
        findings.push(finding);
    }
    for r in graph.redundant_parents() {
        findings.push(Finding::warning(
            "redundant_parent",
            format!(
                "revision `{}` names parent `{}`, which is already an ancestor of its parent `{}`; the redundant parent is ignored",
                r.revision, r.parent, r.via
            ),
        ));
    }
    findings
}

/// Returns the groups of heads that ought to be one head, each of two or more.
///
/// Heads are meant to stay apart when they stand on separate lineages (no
/// revision in common through parents) and every lineage has a base with a
/// branch label: independent trees such as `app` and `audit`. Then only the
/// heads within one lineage are grouped; otherwise all heads are one group.
pub fn open_head_groups(project: &Project) -> Vec<Vec<NodeIndex>> {
    let graph = &project.graph;
    let heads = graph.heads();
    if heads.len() < 2 {
        return Vec::new();
    }
    // Union-find over parent edges: one root per lineage.
    let mut root: Vec<usize> = (0..graph.len()).collect();
    fn find(root: &mut [usize], mut x: usize) -> usize {
        while let Some(&up) = root.get(x) {
            if up == x {
                break;
            }
            let grand = root.get(up).copied().unwrap_or(up);
            if let Some(slot) = root.get_mut(x) {
                *slot = grand;
            }
            x = grand;
        }
        x
    }
    for node in graph.nodes() {
        for parent in graph.parents(node) {
            let a = find(&mut root, node.index());
            let b = find(&mut root, parent.index());
            if let Some(slot) = root.get_mut(a) {
                *slot = b;
            }
        }
    }
    let mut labelled: HashSet<usize> = HashSet::new();
    let mut lineages: HashSet<usize> = HashSet::new();
    for base in graph.bases() {
        let r = find(&mut root, base.index());
        lineages.insert(r);
        if !graph.branch_labels(base).is_empty() {
            labelled.insert(r);
        }
    }
    if lineages.len() < 2 || labelled.len() < lineages.len() {
        return vec![heads];
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<NodeIndex>> = Default::default();
    for head in heads {
        groups
            .entry(find(&mut root, head.index()))
            .or_default()
            .push(head);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// Returns the findings about applied revisions whose file changed since.
/// Without a URL, or with a SQLite file that does not exist yet (which reading
/// must not create), there is nothing to compare.
pub fn checksum_findings(project: &Project, options: &Options, url: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(url) = url else {
        return findings;
    };
    if missing_sqlite_file(url).is_some() {
        return findings;
    }
    let applied = rev_db::connect(url).and_then(|mut backend| {
        Ok((
            backend.current_heads(&options.tables)?,
            backend.applied_checksums(&options.tables)?,
        ))
    });
    let (rows, applied) = match applied {
        Ok(found) => found,
        Err(e) => {
            findings.push(Finding::warning(
                "database_unreachable",
                format!("cannot read the database to compare checksums: {e}"),
            ));
            return findings;
        }
    };
    for edit in edited_applied(project, &rows, applied) {
        findings.push(Finding::error("edited_after_apply", edit.to_string()));
    }
    findings
}

/// An applied revision whose file changed since it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedMigration {
    /// The revision.
    pub revision: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// The checksum the history recorded when it was applied.
    pub recorded: String,
    /// The checksum of the file now.
    pub now: String,
}

impl std::fmt::Display for EditedMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "revision {} ({}) was edited after it was applied: checksum {} then, {} now",
            self.revision,
            self.path.display(),
            self.recorded.get(..12).unwrap_or(&self.recorded),
            self.now.get(..12).unwrap_or(&self.now)
        )
    }
}

/// Returns the applied revisions whose file's checksum differs from the one
/// recorded when they were applied. `rows` is the version table; `applied`
/// the history's last checksum of each revision.
pub fn edited_applied(
    project: &Project,
    rows: &[String],
    applied: Vec<(String, String)>,
) -> Vec<EditedMigration> {
    // The history's last row of a revision says what last happened to it, not
    // whether it is applied: a stamp changes the version table without an
    // `upgrade`/`downgrade` row for each revision it adds or takes away. The
    // version table says what is applied.
    let heads: Vec<NodeIndex> = rows.iter().filter_map(|id| project.graph.get(id)).collect();
    let in_force: HashSet<NodeIndex> = project
        .graph
        .plan_upgrade(&[], &Resolved::Revisions(heads))
        .steps
        .iter()
        .map(|step| step.revision)
        .collect();
    let mut edited = Vec::new();
    for (id, recorded) in applied {
        let Some(node) = project.graph.get(&id) else {
            continue;
        };
        if !in_force.contains(&node) {
            continue;
        }
        let Some(file) = project.file(node) else {
            continue;
        };
        let now = file.migration.checksum();
        if !recorded.is_empty() && recorded != now {
            edited.push(EditedMigration {
                revision: id,
                path: file.path.clone(),
                recorded,
                now,
            });
        }
    }
    edited
}

/// Returns what differs between the models and the schema the migrations build.
pub fn model_findings(project: &Project) -> Result<Vec<Finding>> {
    let Some(dir) = &project.config.models else {
        return Ok(Vec::new());
    };
    let tables = rev_project::load_models(&project.root.join(dir))?;
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let desired = rev_schema::Schema::from_tables(tables);
    let built = schema_at(project, &project.graph.heads())?;
    let found = rev_schema::diff(&built, &desired);
    let mut findings = Vec::new();
    if !found.ops.is_empty() {
        let list: Vec<String> = found.ops.iter().map(crate::autogen::summary).collect();
        findings.push(Finding::error(
            "model_drift",
            format!(
                "the models differ from what the migrations build; `rev revision --autogenerate -m <message>` would write:\n  {}",
                list.join("\n  ")
            ),
        ));
    }
    for note in found.notes {
        findings.push(Finding::warning("model_drift", note));
    }
    Ok(findings)
}

/// Returns the findings of `rev check --db`: the live database against the
/// schema the migrations build up to its current heads.
pub fn db_findings(project: &Project, options: &Options, url: &str) -> Result<Vec<Finding>> {
    crate::autogen::db_findings(project, options, url)
}

/// Maps version rows to revisions for checks, with the engine's error.
pub(crate) fn nodes_of_rows(project: &Project, rows: &[String]) -> Result<Vec<NodeIndex>> {
    current_nodes(project, rows)
}
