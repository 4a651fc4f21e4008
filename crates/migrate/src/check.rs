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
    /// Information, such as when a squash's old files can go; the check passes.
    Info,
}

impl Severity {
    /// Returns `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
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
    /// The fix, when there is one to name.
    pub hint: Option<String>,
}

impl Finding {
    fn error(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Error,
            kind,
            message,
            conflicts: Vec::new(),
            hint: None,
        }
    }

    fn warning(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Warning,
            kind,
            message,
            conflicts: Vec::new(),
            hint: None,
        }
    }

    fn info(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Info,
            kind,
            message,
            conflicts: Vec::new(),
            hint: None,
        }
    }

    fn with_hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
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
                "revision `{}` names parent `{}`, which is already an ancestor of its parent `{}`; it adds nothing and can be removed from `parents`",
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
    findings.extend(missing_file_findings(project, &rows, &applied));
    for edit in edited_applied(project, &rows, applied) {
        findings.push(Finding::error("edited_after_apply", edit.to_string()));
    }
    findings
}

/// Returns the findings about applied revisions that no file declares any
/// more: a version-table row is an error (every later run fails on it); a
/// revision that only the history records as applied last is a warning, since
/// a squash or a deleted branch that was downgraded first leaves such rows too.
pub fn missing_file_findings(
    project: &Project,
    rows: &[String],
    applied: &[(String, String)],
) -> Vec<Finding> {
    let versions = project.versions_dir();
    let mut findings = Vec::new();
    // A squash's replaced revisions are not in the graph: its findings say
    // what a database that ran them needs.
    let known = |id: &String| project.graph.get(id).is_some() || project.squash_of(id).is_some();
    for id in rows.iter().filter(|id| !known(id)) {
        findings.push(
            Finding::error(
                "applied_file_missing",
                format!(
                    "the database is at revision `{id}`, which no file in {} declares: its migration file was deleted or renamed away",
                    versions.display()
                ),
            )
            .with_hint(format!(
                "restore the file of `{id}` (e.g. from version control), or `rev stamp <revision> --purge` to set the version table to a revision that has a file"
            )),
        );
    }
    for (id, _) in applied
        .iter()
        .filter(|(id, _)| !known(id) && !rows.contains(id))
    {
        findings.push(
            Finding::warning(
                "history_file_missing",
                format!(
                    "the history records revision `{id}` as applied last, but no file in {} declares it",
                    versions.display()
                ),
            )
            .with_hint(format!(
                "if `{id}` is still applied, restore its file; if it was squashed or removed on purpose, nothing needs doing"
            )),
        );
    }
    findings
}

/// Returns what the squashes mean for the databases at `urls` (those rev can
/// see): an error when one stands inside a squashed run whose files are
/// missing (it cannot be moved), and information on whether the replaced
/// files that are still here can be deleted (no database inside the run).
pub fn squash_findings(project: &Project, options: &Options, urls: &[String]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let squashes: Vec<&rev_project::MigrationFile> = project.squashes().collect();
    if squashes.is_empty() {
        return findings;
    }
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for url in urls {
        if missing_sqlite_file(url).is_some() {
            seen.push((url.clone(), Vec::new()));
            continue;
        }
        match rev_db::connect(url).and_then(|mut b| b.current_heads(&options.tables)) {
            Ok(rows) => seen.push((url.clone(), rows)),
            Err(e) => findings.push(Finding::warning(
                "database_unreachable",
                format!(
                    "cannot read {} to tell where it stands against the squashes: {e}",
                    crate::url::redact(url)
                ),
            )),
        }
    }
    for squash in squashes {
        let m = &squash.migration;
        let last = m.replaces.last().map_or("", String::as_str);
        let present: Vec<&rev_project::MigrationFile> = project
            .replaced
            .iter()
            .filter(|f| m.replaces.contains(&f.migration.id))
            .collect();
        let missing = m.replaces.len() - present.len();
        let mut inside = 0;
        for (url, rows) in &seen {
            let Some(at) = rows
                .iter()
                .find(|r| m.replaces.contains(r) && r.as_str() != last)
            else {
                continue;
            };
            inside += 1;
            let shown = crate::url::redact(url);
            if missing > 0 {
                findings.push(
                    Finding::error(
                        "squash_files_missing",
                        format!(
                            "the database at {shown} stands inside the run that squash {} replaces (at {at}), and {missing} of the run's files are missing: it cannot be moved",
                            m.id
                        ),
                    )
                    .with_hint(format!(
                        "restore the replaced files (e.g. from version control), run `rev upgrade {last} --url ...` on that database, then delete them again"
                    )),
                );
            } else {
                findings.push(
                    Finding::info(
                        "squash_files_needed",
                        format!(
                            "keep the files squash {} replaces: the database at {shown} stands inside the run (at {at})",
                            m.id
                        ),
                    )
                    .with_hint(format!("`rev upgrade {last}` moves it past the run with the old files")),
                );
            }
        }
        if present.is_empty() || inside > 0 {
            continue;
        }
        let paths: Vec<String> = present
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        if seen.is_empty() {
            findings.push(Finding::info(
                "squash_files_kept",
                format!(
                    "squash {} replaces {} revisions whose files are still here; with --url or --env, `rev check` tells whether deleting them is safe",
                    m.id,
                    present.len()
                ),
            ));
            continue;
        }
        findings.push(
            Finding::info(
                "squash_files_deletable",
                format!(
                    "the {} files that squash {} replaces can be deleted: none of the {} database(s) rev can see stands inside the run",
                    present.len(),
                    m.id,
                    seen.len()
                ),
            )
            .with_hint(format!(
                "delete {}; a database rev cannot see must have passed the run (or applied none of it) first",
                paths.join(" ")
            )),
        );
    }
    findings
}

/// Returns the findings about where the migration files should be: a
/// versions directory that does not exist means a mistyped `migrations:`
/// path in rev.ron (every command then sees no revision at all, and
/// `rev upgrade` says there is nothing to do) or a fresh clone of a project
/// whose empty directory git did not keep.
pub fn layout_findings(project: &Project) -> Vec<Finding> {
    let versions = project.versions_dir();
    if versions.is_dir() {
        return Vec::new();
    }
    let what = if versions.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    vec![Finding::error(
        "missing_versions_dir",
        format!(
            "the versions directory {} {what} (rev.ron says `migrations: \"{}\"`): no migration file is read",
            versions.display(),
            project.config.migrations
        ),
    )
    .with_hint(format!(
        "fix `migrations` in rev.ron if it is mistyped; for a project with no revisions yet, `mkdir -p {}` (with a .gitkeep, since git keeps no empty directory)",
        versions.display()
    ))]
}

/// Returns the findings about `SqlFor` operations that have no text for the
/// dialect of the configured database (known from the URL, without
/// connecting): `rev upgrade` would refuse them there, so `rev check` says so
/// first. Without a URL, or with one of no known dialect, nothing is checked.
pub fn dialect_findings(project: &Project, url: Option<&str>) -> Vec<Finding> {
    let Some(kind) = url.and_then(crate::url::dialect_of_url) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for file in &project.files {
        let migration = &file.migration;
        let lists = [
            ("upgrade", Some(&migration.upgrade)),
            ("downgrade", migration.downgrade.as_ref()),
        ];
        for (direction, ops) in lists {
            for (at, op) in ops.into_iter().flatten().enumerate() {
                let rev_schema::Operation::SqlFor(per) = op else {
                    continue;
                };
                let text = match kind {
                    rev_sql::DialectKind::Mssql => &per.mssql,
                    rev_sql::DialectKind::Sqlite => &per.sqlite,
                    rev_sql::DialectKind::Postgres => &per.postgres,
                    rev_sql::DialectKind::Mysql => &per.mysql,
                };
                if text.is_some() {
                    continue;
                }
                findings.push(
                    Finding::error(
                        "sql_for_missing_dialect",
                        format!(
                            "{}: revision {}: {direction} operation {} is a SqlFor without text for {kind}, the dialect of the configured database; `rev {direction}` would refuse it",
                            file.path.display(),
                            migration.id,
                            at + 1
                        ),
                    )
                    .with_hint(format!(
                        "add `{kind}: \"...\"` to that SqlFor, or write Sql(\"...\") when one text fits every database"
                    )),
                );
            }
        }
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
