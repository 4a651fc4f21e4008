//! `rev squash FROM:TO` (DESIGN.md §3b): one revision that replaces a linear
//! run, and what a database that ran some, all or none of the run holds.
//!
//! The squash's upgrade is the run's operations in sequence (raw `Sql`
//! included, in order); nothing is cancelled out, so the squash does exactly
//! what the run did. Its downgrade is the run's downgrades in reverse order,
//! each written or derived against the schema before its revision.

use std::borrow::Cow;
use std::path::PathBuf;

use rev_db::{Direction, Step};
use rev_graph::{NodeIndex, Plan, PlanDirection};
use rev_project::{now_rfc3339, Migration, Project};
use rev_schema::Operation;

use crate::author::{check_message, checked_id, resolve_one};
use crate::error::{MigrateError, Result};
use crate::plan::{schema_at, Movement};

/// What `rev squash` asks for.
#[derive(Debug, Clone, Copy)]
pub struct Squash<'a> {
    /// The run, `FROM:TO`, oldest first.
    pub range: &'a str,
    /// The message of the new revision.
    pub message: &'a str,
    /// A chosen id instead of a random one.
    pub rev_id: Option<&'a str>,
}

/// What `rev squash` wrote.
#[derive(Debug, Clone)]
pub struct Squashed {
    /// The squash revision.
    pub migration: Migration,
    /// Its file.
    pub path: PathBuf,
    /// The files of the revisions it replaces, which stay until every
    /// database has passed the run (`rev check` says when).
    pub replaced: Vec<PathBuf>,
}

/// Writes one revision that replaces the linear run `FROM:TO`: its parents
/// are FROM's, its upgrade the run's operations, its downgrade their undoing,
/// `replaces` the run's ids. Nothing is written when the range is not such a
/// run (see [`rev_graph::Graph::linear_run`]) or names unknown revisions.
pub fn squash(project: &Project, ask: &Squash<'_>) -> Result<Squashed> {
    check_message(ask.message)?;
    let graph = &project.graph;
    let Some((from, to)) = ask
        .range
        .split_once(':')
        .filter(|(from, to)| !from.is_empty() && !to.is_empty())
    else {
        return Err(MigrateError::usage(
            format!("`{}` is not a range: squash takes FROM:TO", ask.range),
            Some("e.g. `rev squash 1a2b:9f8e -m \"squash the first year\"` (`rev history` lists the ids)"),
        ));
    };
    let (from, to) = (resolve_one(project, from)?, resolve_one(project, to)?);
    let run = graph.linear_run(from, to)?;
    for &member in &run {
        let Some(inner) = project.file(member) else {
            continue;
        };
        let kept: Vec<&str> = inner
            .migration
            .replaces
            .iter()
            .filter(|id| project.replaced.iter().any(|f| &f.migration.id == *id))
            .map(String::as_str)
            .collect();
        if !kept.is_empty() {
            return Err(MigrateError::refused(
                format!(
                    "{} in the range is itself a squash whose replaced files ({}) still exist",
                    inner.migration.id,
                    kept.join(", ")
                ),
                Some("delete those files first (`rev check` says when that is safe), then squash again"),
            ));
        }
    }
    let id = checked_id(project, ask.rev_id)?;
    if project.replaced.iter().any(|f| f.migration.id == id) {
        return Err(MigrateError::usage(
            format!("revision id `{id}` already exists (a replaced revision)"),
            Some("choose another --rev-id, or leave it out for a random one"),
        ));
    }
    let outside = |n: &NodeIndex| !run.contains(n);
    let mut depends: Vec<NodeIndex> = Vec::new();
    for &member in &run {
        for &d in graph.depends_on(member).iter().filter(|d| outside(d)) {
            if !depends.contains(&d) {
                depends.push(d);
            }
        }
    }
    let parents = graph.parents(from).to_vec();
    let mut before_rows = parents.clone();
    before_rows.extend(&depends);
    let (upgrade, downgrade, transactional) = fold_run(project, &run, &before_rows)?;
    let mut replaced = Vec::new();
    let mut branch_labels = Vec::new();
    for &member in &run {
        if let Some(file) = project.file(member) {
            replaced.push(file.path.clone());
            branch_labels.extend(file.migration.branch_labels.iter().cloned());
        }
    }
    let migration = Migration {
        id,
        parents: graph.ids(&parents),
        message: ask.message.to_owned(),
        created: Some(now_rfc3339()),
        branch_labels,
        depends_on: graph.ids(&depends),
        transactional,
        replaces: graph.ids(&run),
        upgrade,
        downgrade,
        acknowledged: Vec::new(),
    };
    let path = project.add_migration(&migration)?;
    Ok(Squashed {
        migration,
        path,
        replaced,
    })
}

/// Returns the run's upgrade operations in order, its downgrade (None when
/// no revision of the run writes one: the squash's is then derived as
/// theirs were; also None when one cannot be undone, as the run could not
/// be either), and whether every revision of it is transactional.
fn fold_run(
    project: &Project,
    run: &[NodeIndex],
    before: &[NodeIndex],
) -> Result<(Vec<Operation>, Option<Vec<Operation>>, bool)> {
    let mut schema = schema_at(project, before)?;
    let mut upgrade = Vec::new();
    let mut undo: Vec<Vec<Operation>> = Vec::new();
    let mut written = false;
    let mut undoable = true;
    let mut transactional = true;
    for &member in run {
        let Some(file) = project.file(member) else {
            continue;
        };
        let m = &file.migration;
        transactional &= m.transactional;
        match &m.downgrade {
            Some(ops) => {
                written = true;
                undo.push(ops.clone());
            }
            None => match rev_schema::invert(&m.upgrade, &schema) {
                Ok(ops) => undo.push(ops),
                Err(_) => undoable = false,
            },
        }
        for op in &m.upgrade {
            schema.apply(op).map_err(|source| MigrateError::Fold {
                path: file.path.clone(),
                revision: m.id.clone(),
                source: Box::new(source),
            })?;
            upgrade.push(op.clone());
        }
    }
    let downgrade =
        (written && undoable).then(|| undo.into_iter().rev().flatten().collect::<Vec<_>>());
    Ok((upgrade, downgrade, transactional))
}

/// Where a database's version rows stand against the squashes.
#[derive(Debug)]
pub(crate) struct Settled<'p> {
    /// The project to plan on: the squashed view, or the view of the old
    /// files when the database stands inside a run.
    pub project: Cow<'p, Project>,
    /// The version rows, a row at the end of a run read as its squash.
    pub rows: Vec<String>,
    /// Stamp steps that rewrite each row at the end of a run to its squash,
    /// run before anything else (each records a `stamp` history row).
    pub rewrite: Vec<Step>,
    /// Set when the database stands inside a run.
    pub inside: Option<Inside>,
}

/// A database that has applied some of a squash's run but not all.
#[derive(Debug, Clone)]
pub(crate) struct Inside {
    /// The squash.
    pub squash: String,
    /// The run it replaces, oldest first.
    pub replaces: Vec<String>,
    /// The version row inside the run.
    pub at: String,
}

impl Inside {
    /// Returns the refusal of a database inside a run, for what it cannot do.
    pub(crate) fn refusal(&self, what: &str) -> MigrateError {
        let last = self.replaces.last().map_or("", String::as_str);
        MigrateError::refused(
            format!(
                "the database stands inside the run that squash {} replaces (at {}, before {last}): {what}",
                self.squash, self.at
            ),
            Some(&format!(
                "upgrade past the run with the old files first: `rev upgrade {last}`; the next run then records squash {} in its place",
                self.squash
            )),
        )
    }

    /// Refuses a plan that would go beyond the run from inside it: only the
    /// old files' steps through the run, and downgrades, are allowed.
    pub(crate) fn allow(&self, movement: Movement, plan: &Plan, project: &Project) -> Result<()> {
        if movement == Movement::Downgrade {
            return Ok(());
        }
        let beyond = plan.steps.iter().find(|s| {
            s.direction == PlanDirection::Upgrade
                && !self
                    .replaces
                    .iter()
                    .any(|r| r == project.graph.id(s.revision))
        });
        match beyond {
            Some(step) => Err(self.refusal(&format!(
                "this upgrade would also apply {}, which is not part of the run",
                project.graph.id(step.revision)
            ))),
            None => Ok(()),
        }
    }
}

/// Reads the version rows against the squashes: a row at the end of a run
/// (every replaced revision applied) is taken to be the squash, and a
/// rewrite step says so; a row inside a run makes the project the view of
/// the old files, refused when they are gone. Rows of no squash pass as they are.
pub(crate) fn settle<'p>(project: &'p Project, rows: &[String]) -> Result<Settled<'p>> {
    let mut settled = Settled {
        project: Cow::Borrowed(project),
        rows: Vec::with_capacity(rows.len()),
        rewrite: Vec::new(),
        inside: None,
    };
    for row in rows {
        let squash = match project.squash_of(row) {
            Some(file) if project.graph.get(row).is_none() => &file.migration,
            _ => {
                settled.rows.push(row.clone());
                continue;
            }
        };
        if squash.replaces.last() == Some(row) {
            settled.rewrite.push(Step {
                revision: squash.id.clone(),
                direction: Direction::Stamp,
                statements: Vec::new(),
                delete_versions: vec![row.clone()],
                insert_versions: vec![squash.id.clone()],
                checksum: squash.checksum(),
                transactional: true,
            });
            settled.rows.push(squash.id.clone());
            continue;
        }
        let inside = Inside {
            squash: squash.id.clone(),
            replaces: squash.replaces.clone(),
            at: row.clone(),
        };
        if settled.inside.is_some() {
            return Err(inside.refusal("it stands inside another squashed run too"));
        }
        let view = project.unsquashed(&squash.id).map_err(|e| {
            inside.refusal(&format!(
                "{e}; restore them (e.g. from version control) to move it"
            ))
        })?;
        settled.project = Cow::Owned(view);
        settled.inside = Some(inside);
        settled.rows.push(row.clone());
    }
    Ok(settled)
}
