//! Upgrade and downgrade plans: which revisions to apply or un-apply, in which
//! order, and how the version table's rows change at each step.

use std::collections::BTreeSet;

use crate::{order, walk, Graph, NodeIndex, Resolved};

/// Which way a plan moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanDirection {
    /// Applies revisions.
    Upgrade,
    /// Un-applies revisions.
    Downgrade,
}

impl PlanDirection {
    /// Returns `upgrade` or `downgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanDirection::Upgrade => "upgrade",
            PlanDirection::Downgrade => "downgrade",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// Which way the step goes.
    pub direction: PlanDirection,
    /// The revision applied or un-applied.
    pub revision: NodeIndex,
    /// Version rows the step removes, sorted by id.
    pub delete_rows: Vec<NodeIndex>,
    /// Version rows the step adds, sorted by id.
    pub insert_rows: Vec<NodeIndex>,
}

/// An ordered list of steps from one set of version rows to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The version rows before the plan, sorted by id.
    pub from: Vec<NodeIndex>,
    /// The version rows after the plan, sorted by id.
    pub to: Vec<NodeIndex>,
    /// The steps, in the order they run.
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// Returns the version rows after each step, sorted by id.
    pub fn rows_after_each_step(&self) -> Vec<Vec<NodeIndex>> {
        let mut rows: BTreeSet<NodeIndex> = self.from.iter().copied().collect();
        self.steps
            .iter()
            .map(|step| {
                for r in &step.delete_rows {
                    rows.remove(r);
                }
                rows.extend(step.insert_rows.iter().copied());
                rows.iter().copied().collect()
            })
            .collect()
    }
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A downgrade to a revision that is not applied.
    #[error("cannot downgrade to `{0}`: it is not applied (see `rev current`)")]
    NotApplied(String),
}

fn sorted(mut nodes: Vec<NodeIndex>) -> Vec<NodeIndex> {
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// The version rows during a plan, moved step by step by Alembic's rules
/// (`HeadMaintainer.update_to_step` in alembic/runtime/migration.py), with the
/// set of applied revisions alongside.
struct Rows<'g> {
    graph: &'g Graph,
    rows: BTreeSet<NodeIndex>,
    applied: Vec<bool>,
    /// Marks of the last upward walk (see [`Rows::needed_by_a_row`]).
    mark: Vec<u32>,
    stamp: u32,
}

impl<'g> Rows<'g> {
    fn new(graph: &'g Graph, current: &[NodeIndex]) -> Rows<'g> {
        Rows {
            graph,
            rows: current.iter().copied().collect(),
            applied: walk::closure_down(graph, current),
            mark: vec![0; graph.len()],
            stamp: 0,
        }
    }

    fn is_applied(&self, node: NodeIndex) -> bool {
        walk::is(&self.applied, node)
    }

    /// Returns whether a version row other than `except` is `node` or needs it
    /// (Alembic: `node` is among the ancestors of the other heads).
    ///
    /// Whatever a row needs is applied, so the walk goes up from `node` through
    /// applied revisions only, and most of the time stops at once: a revision
    /// that nothing applied needs is needed by no row but itself.
    fn needed_by_a_row(&mut self, node: NodeIndex, except: NodeIndex) -> bool {
        if node != except && self.rows.contains(&node) {
            return true;
        }
        let graph = self.graph;
        let up = |rows: &Rows<'_>, n: NodeIndex| n != except && rows.is_applied(n);
        if !graph.needed_by(node).any(|n| up(self, n)) {
            return false;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        let mut stack = vec![node];
        self.stamp_node(node);
        while let Some(at) = stack.pop() {
            for next in graph.needed_by(at) {
                if !up(self, next) || !self.stamp_node(next) {
                    continue;
                }
                if self.rows.contains(&next) {
                    return true;
                }
                stack.push(next);
            }
        }
        false
    }

    /// Stamps a node for the current walk; returns whether it was not stamped yet.
    fn stamp_node(&mut self, node: NodeIndex) -> bool {
        match self.mark.get_mut(node.index()) {
            Some(slot) if *slot != self.stamp => {
                *slot = self.stamp;
                true
            }
            _ => false,
        }
    }

    /// Applies `node` and returns the rows deleted and inserted.
    fn upgrade(&mut self, node: NodeIndex) -> (Vec<NodeIndex>, Vec<NodeIndex>) {
        let graph = self.graph;
        let down = graph.down(node);
        let present: Vec<NodeIndex> = down
            .iter()
            .copied()
            .filter(|d| self.rows.contains(d))
            .collect();
        let delete: Vec<NodeIndex> = if down.len() > 1 && present.len() > 1 {
            // A merge of several rows: each joins the merge unless a row outside
            // the merge's down revisions still needs it.
            let others: Vec<NodeIndex> = self
                .rows
                .iter()
                .copied()
                .filter(|r| !down.contains(r))
                .collect();
            present
                .into_iter()
                .filter(|&d| !self.others_need(d, &others))
                .collect()
        } else {
            // A new branch (no down revision is a row), or one row moves up.
            present.into_iter().take(1).collect()
        };
        for d in &delete {
            self.rows.remove(d);
        }
        self.rows.insert(node);
        walk::mark(&mut self.applied, node);
        (sorted(delete), vec![node])
    }

    /// Returns whether one of `others` (rows) needs `node`.
    fn others_need(&mut self, node: NodeIndex, others: &[NodeIndex]) -> bool {
        if others.is_empty() {
            return false;
        }
        // Rows not among `others` are the merge's own down revisions: set
        // them aside for the walk by walking with them not counted as rows.
        let hidden: Vec<NodeIndex> = self
            .rows
            .iter()
            .copied()
            .filter(|r| !others.contains(r))
            .collect();
        for h in &hidden {
            self.rows.remove(h);
        }
        let needed = self.needed_by_a_row(node, node);
        self.rows.extend(hidden);
        needed
    }

    /// Un-applies `node` and returns the rows deleted and inserted.
    fn downgrade(&mut self, node: NodeIndex) -> (Vec<NodeIndex>, Vec<NodeIndex>) {
        let graph = self.graph;
        walk::unmark(&mut self.applied, node);
        if !self.rows.contains(&node) {
            // Alembic fails here; a plan never gets here, since everything
            // that needs a revision goes before it.
            return (Vec::new(), Vec::new());
        }
        let down = graph.down(node);
        let alone = self.rows.len() == 1;
        // What the rows move to (Alembic's `_unmerge_to_revisions`): with other
        // rows, the down revisions none of them needs; alone, the down
        // revisions no other down revision needs.
        let to: Vec<NodeIndex> = if alone {
            down.iter()
                .copied()
                .filter(|&d| {
                    !down
                        .iter()
                        .any(|&e| e != d && walk::reaches_down_needs(graph, e, d))
                })
                .collect()
        } else {
            let mut to = Vec::new();
            for &d in down {
                if !self.needed_by_a_row(d, node) {
                    to.push(d);
                }
            }
            to
        };
        self.rows.remove(&node);
        let mut insert = Vec::new();
        for d in to {
            if self.rows.insert(d) {
                insert.push(d);
            }
        }
        (vec![node], sorted(insert))
    }
}

impl Graph {
    /// Plans an upgrade from the version rows `current` to `target`: every
    /// revision the target needs that is not applied yet, each after what it
    /// needs, in Alembic's order (its topological sort from the targets, run
    /// backwards). Upgrading to `base`, or to something already applied, plans nothing.
    pub fn plan_upgrade(&self, current: &[NodeIndex], target: &Resolved) -> Plan {
        let mut rows = Rows::new(self, current);
        let targets: &[NodeIndex] = match target {
            Resolved::Base => &[],
            Resolved::Revisions(targets) => targets,
        };
        let wanted = walk::closure_down(self, targets);
        let set: Vec<bool> = wanted
            .iter()
            .zip(&rows.applied)
            .map(|(&w, &a)| w && !a)
            .collect();
        let mut order = order::alembic_order(self, &set, targets);
        order.reverse();

        let mut steps = Vec::with_capacity(order.len());
        for node in order {
            let (delete_rows, insert_rows) = rows.upgrade(node);
            steps.push(PlanStep {
                direction: crate::PlanDirection::Upgrade,
                revision: node,
                delete_rows,
                insert_rows,
            });
        }
        Plan {
            from: sorted(current.to_vec()),
            to: rows.rows.into_iter().collect(),
            steps,
        }
    }

    /// Plans a downgrade from the version rows `current` to `target` (DESIGN.md §3):
    /// un-applies every applied descendant of the target through parents, and
    /// every applied revision that needs one of those; dependents go first, in
    /// Alembic's order (its topological sort from the current rows). `base`
    /// un-applies everything. With several targets (the parents of a merge),
    /// what the targets need stays.
    pub fn plan_downgrade(
        &self,
        current: &[NodeIndex],
        target: &Resolved,
    ) -> Result<Plan, PlanError> {
        self.downgrade(current, target, None)
    }

    /// Plans a downgrade along one branch, what `<label>@-N`, `-N` and
    /// `<label>@base` ask for: un-applies the revisions between `tip` (the
    /// branch's applied end) and the target, and every applied revision that
    /// needs one of those, but leaves other branches that leave the target
    /// alone (Alembic's branch downgrade). For `base`, un-applies what `tip`
    /// needs through parents, and everything that needs it.
    pub fn plan_downgrade_along(
        &self,
        current: &[NodeIndex],
        target: &Resolved,
        tip: NodeIndex,
    ) -> Result<Plan, PlanError> {
        let along = walk::closure_down_parents(self, &[tip]);
        self.downgrade(current, target, Some(&along))
    }

    fn downgrade(
        &self,
        current: &[NodeIndex],
        target: &Resolved,
        along: Option<&[bool]>,
    ) -> Result<Plan, PlanError> {
        let on_path =
            |n: NodeIndex| along.is_none_or(|a| a.get(n.index()).copied().unwrap_or(false));
        let mut rows = Rows::new(self, current);
        let applied = rows.applied.clone();
        let is_applied = |n: NodeIndex| applied.get(n.index()).copied().unwrap_or(false);

        let mut remove = vec![false; self.len()];
        let mut stack: Vec<NodeIndex> = Vec::new();
        let mut keep: Option<Vec<bool>> = None;
        match target {
            Resolved::Base => {
                stack.extend(self.nodes().filter(|&n| is_applied(n) && on_path(n)));
            }
            Resolved::Revisions(targets) => {
                for &t in targets {
                    if !is_applied(t) {
                        return Err(PlanError::NotApplied(self.id(t).to_owned()));
                    }
                    // Revisions that merely depend_on the target stay: start from children only.
                    stack.extend(
                        self.children(t)
                            .iter()
                            .copied()
                            .filter(|&c| is_applied(c) && on_path(c)),
                    );
                }
                if targets.len() > 1 {
                    keep = Some(walk::closure_down(self, targets));
                }
            }
        }
        for &node in &stack {
            walk::mark(&mut remove, node);
        }
        while let Some(node) = stack.pop() {
            for next in self.needed_by(node) {
                if is_applied(next) && walk::mark(&mut remove, next) {
                    stack.push(next);
                }
            }
        }
        if let Some(keep) = keep {
            for (r, k) in remove.iter_mut().zip(keep) {
                *r = *r && !k;
            }
        }

        let order = order::alembic_order(self, &remove, current);

        let mut steps = Vec::with_capacity(order.len());
        for node in order {
            let (delete_rows, insert_rows) = rows.downgrade(node);
            steps.push(PlanStep {
                direction: crate::PlanDirection::Downgrade,
                revision: node,
                delete_rows,
                insert_rows,
            });
        }
        Ok(Plan {
            from: sorted(current.to_vec()),
            to: rows.rows.into_iter().collect(),
            steps,
        })
    }
}
