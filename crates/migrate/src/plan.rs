//! Plans against the version rows, the schema folded before each step, and the
//! steps a backend runs or a script prints.

use std::collections::{HashMap, HashSet};

use rev_db::{Direction, Step};
use rev_graph::{NodeIndex, Plan, PlanDirection, Resolved, Target};
use rev_project::Project;
use rev_schema::{Operation, Schema};
use rev_sql::Dialect;

use crate::error::{MigrateError, Result};

/// Which way a run moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Apply revisions (`rev upgrade`).
    Upgrade,
    /// Un-apply revisions (`rev downgrade`).
    Downgrade,
}

/// Maps the version table's rows to revisions, refusing rows no file
/// declares. A row at the end of a squashed run stands for the squash; a row
/// inside one is refused (the engine plans such a database on the old files).
pub fn current_nodes(project: &Project, rows: &[String]) -> Result<Vec<NodeIndex>> {
    let settled = crate::squash::settle(project, rows)?;
    if let Some(inside) = &settled.inside {
        return Err(inside.refusal("the old files must move it"));
    }
    project
        .graph
        .lookup_all(&settled.rows)
        .map_err(MigrateError::UnknownRevision)
}

/// Returns the plan that moves a database at `current` to `target`.
pub fn plan(
    project: &Project,
    movement: Movement,
    target: &str,
    current: &[NodeIndex],
) -> Result<Plan> {
    let graph = &project.graph;
    let parsed = Target::parse(target)?;
    let resolved = graph
        .resolve(&parsed, current)
        .map_err(|e| replaced_or(project, e))?;
    Ok(match movement {
        Movement::Upgrade => graph.plan_upgrade(current, &resolved),
        Movement::Downgrade => match graph.branch_tip(&parsed, current)? {
            Some(tip) => graph.plan_downgrade_along(current, &resolved, tip)?,
            None => graph.plan_downgrade(current, &resolved)?,
        },
    })
}

/// Returns the error for a target that did not resolve: when it names (or
/// starts) the id of a revision a squash replaces, says which squash stands
/// for it.
fn replaced_or(project: &Project, error: rev_graph::ResolveError) -> crate::MigrateError {
    if let rev_graph::ResolveError::Unknown(name) = &error {
        let squash = project.squashes().find(|file| {
            file.migration
                .replaces
                .iter()
                .any(|id| id.starts_with(name.as_str()))
        });
        if let Some(file) = squash {
            return crate::MigrateError::Replaced {
                revision: name.clone(),
                squash: file.migration.id.clone(),
            };
        }
    }
    error.into()
}

/// Resolves a range end of an offline script (`FROM` of `FROM:TO`) to the
/// version rows a database there would hold.
pub fn rows_of(project: &Project, text: &str) -> Result<Vec<NodeIndex>> {
    if text.is_empty() || text == "base" {
        return Ok(Vec::new());
    }
    match project
        .graph
        .resolve(&Target::parse(text)?, &[])
        .map_err(|e| replaced_or(project, e))?
    {
        Resolved::Base => Ok(Vec::new()),
        Resolved::Revisions(nodes) => Ok(nodes),
    }
}

/// Returns the schema that applying `rows` and everything they need leaves.
pub fn schema_at(project: &Project, rows: &[NodeIndex]) -> Result<Schema> {
    Ok(fold_applied(project, rows, &[])?.0)
}

/// Folds every revision that `rows` stand for, in upgrade order, and on the way
/// derives the downgrade of each revision in `invert_for` that has none written:
/// the inverse of its upgrade against the schema just before it. One pass over
/// the history, however many revisions a downgrade un-applies.
fn fold_applied(
    project: &Project,
    rows: &[NodeIndex],
    invert_for: &[NodeIndex],
) -> Result<(Schema, HashMap<NodeIndex, Vec<Operation>>)> {
    let mut schema = Schema::default();
    let mut inverses = HashMap::new();
    let invert_for: HashSet<NodeIndex> = invert_for.iter().copied().collect();
    let plan = project
        .graph
        .plan_upgrade(&[], &Resolved::Revisions(rows.to_vec()));
    for step in &plan.steps {
        let node = step.revision;
        let Some(file) = project.file(node) else {
            continue;
        };
        let revision = || project.graph.id(node).to_owned();
        if file.migration.downgrade.is_none() && invert_for.contains(&node) {
            let inverse =
                rev_schema::invert(&file.migration.upgrade, &schema).map_err(|source| {
                    MigrateError::NotInvertible {
                        path: file.path.clone(),
                        revision: revision(),
                        source: Box::new(source),
                    }
                })?;
            inverses.insert(node, inverse);
        }
        for op in &file.migration.upgrade {
            schema.apply(op).map_err(|source| MigrateError::Fold {
                path: file.path.clone(),
                revision: revision(),
                source: Box::new(source),
            })?;
        }
    }
    Ok((schema, inverses))
}

/// Turns a plan into the steps a backend runs, rendering each migration's
/// operations against the schema folded so far.
pub fn render_steps(project: &Project, dialect: &dyn Dialect, plan: &Plan) -> Result<Vec<Step>> {
    let downgraded: Vec<NodeIndex> = plan
        .steps
        .iter()
        .filter(|s| s.direction == PlanDirection::Downgrade)
        .map(|s| s.revision)
        .collect();
    let (mut schema, mut inverses) = fold_applied(project, &plan.from, &downgraded)?;
    let graph = &project.graph;
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let node = step.revision;
        let Some(file) = project.file(node) else {
            continue;
        };
        let (ops, direction) = match step.direction {
            PlanDirection::Upgrade => (file.migration.upgrade.clone(), Direction::Upgrade),
            PlanDirection::Downgrade => (
                file.migration
                    .downgrade
                    .clone()
                    .or_else(|| inverses.remove(&node))
                    .unwrap_or_default(),
                Direction::Downgrade,
            ),
        };
        let statements =
            rev_sql::render_migration(dialect, &ops, &mut schema).map_err(|source| {
                MigrateError::Render {
                    path: file.path.clone(),
                    revision: graph.id(node).to_owned(),
                    direction: step.direction.as_str(),
                    dialect: dialect.kind(),
                    source: Box::new(source),
                }
            })?;
        steps.push(Step {
            revision: graph.id(node).to_owned(),
            direction,
            statements,
            delete_versions: graph.ids(&step.delete_rows),
            insert_versions: graph.ids(&step.insert_rows),
            checksum: file.migration.checksum(),
            transactional: file.migration.transactional,
        });
    }
    Ok(steps)
}

/// Returns the operations of the plan's first step and the schema they
/// start from, for settling where an interrupted run of that step stopped.
pub(crate) fn first_step_ops(
    project: &Project,
    plan: &Plan,
) -> Result<Option<(Schema, Vec<Operation>)>> {
    let Some(first) = plan.steps.first() else {
        return Ok(None);
    };
    let Some(file) = project.file(first.revision) else {
        return Ok(None);
    };
    let downgraded: Vec<NodeIndex> = match first.direction {
        PlanDirection::Downgrade => vec![first.revision],
        PlanDirection::Upgrade => Vec::new(),
    };
    let (schema, mut inverses) = fold_applied(project, &plan.from, &downgraded)?;
    let ops = match first.direction {
        PlanDirection::Upgrade => file.migration.upgrade.clone(),
        PlanDirection::Downgrade => file
            .migration
            .downgrade
            .clone()
            .or_else(|| inverses.remove(&first.revision))
            .unwrap_or_default(),
    };
    Ok(Some((schema, ops)))
}

/// Returns the version rows after stamping `target` over `current`, as Alembic
/// does: `base` leaves no row; otherwise the target revisions (less any that
/// another of them needs) replace the current rows on their lineage (rows they
/// need or that need them), and rows on unrelated branches stay, so that
/// stamping one branch does not mark another as never applied (its migrations
/// would run again on the next upgrade). `kept` is what rows survive a purge:
/// none, or `current`.
pub fn stamp_rows(
    project: &Project,
    target: &str,
    current: &[NodeIndex],
    kept: &[NodeIndex],
) -> Result<Vec<NodeIndex>> {
    let graph = &project.graph;
    let resolved = graph
        .resolve(&Target::parse(target)?, current)
        .map_err(|e| replaced_or(project, e))?;
    let Resolved::Revisions(nodes) = resolved else {
        return Ok(Vec::new());
    };
    let below = graph.applied_set(&nodes);
    let mut rows: Vec<NodeIndex> = kept
        .iter()
        .copied()
        .filter(|&row| {
            let needs_target = {
                let under = graph.applied_set(&[row]);
                nodes
                    .iter()
                    .any(|t| under.get(t.index()).copied().unwrap_or(false))
            };
            let needed = below.get(row.index()).copied().unwrap_or(false);
            !needs_target && !needed
        })
        .collect();
    rows.extend(nodes);
    Ok(graph.plan_upgrade(&[], &Resolved::Revisions(rows)).to)
}

/// Returns the stamp steps that change the version rows from `current` to `target`.
pub fn stamp_steps(project: &Project, current: &[NodeIndex], target: &[NodeIndex]) -> Vec<Step> {
    let graph = &project.graph;
    let delete: Vec<NodeIndex> = current
        .iter()
        .copied()
        .filter(|c| !target.contains(c))
        .collect();
    let insert: Vec<NodeIndex> = target
        .iter()
        .copied()
        .filter(|t| !current.contains(t))
        .collect();
    let checksum = |n: NodeIndex| {
        project
            .file(n)
            .map(|f| f.migration.checksum())
            .unwrap_or_default()
    };
    let mut steps = Vec::new();
    let mut pending_delete = graph.ids(&delete);
    for &node in &insert {
        steps.push(stamp_step(
            graph.id(node),
            std::mem::take(&mut pending_delete),
            vec![graph.id(node).to_owned()],
            checksum(node),
        ));
    }
    for id in pending_delete {
        let sum = graph.get(&id).map(checksum).unwrap_or_default();
        steps.push(stamp_step(&id, vec![id.clone()], Vec::new(), sum));
    }
    steps
}

/// Returns the steps of a purging stamp: every row that is there goes, named
/// by a file or not (such rows are what `--purge` is for), then the target's
/// rows are added.
pub fn purge_steps(project: &Project, raw_rows: &[String], target: &str) -> Result<Vec<Step>> {
    let current = project.graph.lookup_all(raw_rows).unwrap_or_default();
    let target_rows = stamp_rows(project, target, &current, &[])?;
    let mut steps: Vec<Step> = raw_rows
        .iter()
        .map(|id| stamp_step(id, vec![id.clone()], Vec::new(), String::new()))
        .collect();
    steps.extend(stamp_steps(project, &[], &target_rows));
    Ok(steps)
}

fn stamp_step(revision: &str, delete: Vec<String>, insert: Vec<String>, checksum: String) -> Step {
    Step {
        revision: revision.to_owned(),
        direction: Direction::Stamp,
        statements: Vec::new(),
        delete_versions: delete,
        insert_versions: insert,
        checksum,
        transactional: true,
    }
}

/// Returns the offline script (`--sql`) that moves a database along `range`:
/// `TO`, or `FROM:TO` (a downgrade needs both ends, there being no database to
/// start from).
pub fn migration_script(
    project: &Project,
    dialect: &dyn Dialect,
    tables: &rev_db::Tables,
    movement: Movement,
    range: &str,
) -> Result<String> {
    let (from, to) = match range.split_once(':') {
        Some((from, to)) => (rows_of(project, from)?, to),
        None if movement == Movement::Downgrade => {
            return Err(MigrateError::usage(
                "downgrade --sql needs a range FROM:TO, since there is no database to start from",
                Some("e.g. `rev downgrade heads:base --sql`"),
            ));
        }
        None => (Vec::new(), range),
    };
    let plan = plan(project, movement, to, &from)?;
    let steps = render_steps(project, dialect, &plan)?;
    Ok(rev_sql::offline_script(dialect, tables, &steps))
}

/// Returns the offline script of `rev stamp TARGET [--purge] --sql`.
pub fn stamp_script(
    project: &Project,
    dialect: &dyn Dialect,
    tables: &rev_db::Tables,
    range: &str,
    purge: bool,
) -> Result<String> {
    let (from, to) = match range.split_once(':') {
        Some((from, to)) => (rows_of(project, from)?, to),
        None => (Vec::new(), range),
    };
    if purge {
        // The script empties the version table first, so the stamp starts
        // from nothing whatever `FROM` says.
        let rows = stamp_rows(project, to, &from, &[])?;
        let steps = stamp_steps(project, &[], &rows);
        return Ok(rev_sql::offline_purge_script(dialect, tables, &steps));
    }
    let rows = stamp_rows(project, to, &from, &from)?;
    let steps = stamp_steps(project, &from, &rows);
    Ok(rev_sql::offline_script(dialect, tables, &steps))
}
