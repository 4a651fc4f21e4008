//! Upgrade and downgrade plans: which revisions to apply or un-apply, in which
//! order, and how the version table's rows change at each step.

use std::collections::BTreeSet;

use petgraph::graph::NodeIndex;

use crate::{walk, Graph, Resolved};

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

/// Counts, for each revision, how many applied revisions need it directly.
fn applied_need_counts(graph: &Graph, applied: &[bool]) -> Vec<u32> {
    let mut counts = vec![0u32; graph.len()];
    for node in graph.nodes() {
        if applied.get(node.index()).copied().unwrap_or(false) {
            for need in graph.needs(node) {
                counts[need.index()] += 1;
            }
        }
    }
    counts
}

fn sorted(mut nodes: Vec<NodeIndex>) -> Vec<NodeIndex> {
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

impl Graph {
    /// Plans an upgrade from the version rows `current` to `target`: every
    /// revision the target needs that is not applied yet, each after what it needs.
    /// Upgrading to `base`, or to something already applied, plans nothing.
    pub fn plan_upgrade(&self, current: &[NodeIndex], target: &Resolved) -> Plan {
        let applied = self.applied_set(current);
        let targets: &[NodeIndex] = match target {
            Resolved::Base => &[],
            Resolved::Revisions(targets) => targets,
        };
        let order = walk::upgrade_order(self, targets, &applied);

        let mut rows: BTreeSet<NodeIndex> = current.iter().copied().collect();
        let mut steps = Vec::with_capacity(order.len());
        for node in order {
            let mut delete_rows: Vec<NodeIndex> =
                self.needs(node).filter(|n| rows.contains(n)).collect();
            delete_rows = sorted(delete_rows);
            for r in &delete_rows {
                rows.remove(r);
            }
            rows.insert(node);
            steps.push(PlanStep {
                direction: crate::PlanDirection::Upgrade,
                revision: node,
                delete_rows,
                insert_rows: vec![node],
            });
        }
        Plan {
            from: sorted(current.to_vec()),
            to: rows.into_iter().collect(),
            steps,
        }
    }

    /// Plans a downgrade from the version rows `current` to `target` (DESIGN.md §3):
    /// un-applies every applied descendant of the target through parents, and
    /// every applied revision that needs one of those; dependents go first.
    /// `base` un-applies everything.
    pub fn plan_downgrade(
        &self,
        current: &[NodeIndex],
        target: &Resolved,
    ) -> Result<Plan, PlanError> {
        self.downgrade(current, target, None)
    }

    /// Plans a downgrade along one branch, what `<label>@-N` asks for: un-applies
    /// the revisions between `tip` (the branch's applied end) and the target, and
    /// every applied revision that needs one of those, but leaves other branches
    /// that leave the target alone (Alembic's branch downgrade).
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
        let applied = self.applied_set(current);
        let is_applied = |n: NodeIndex| applied.get(n.index()).copied().unwrap_or(false);

        let mut remove = vec![false; self.len()];
        let mut stack: Vec<NodeIndex> = Vec::new();
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
            }
        }
        for &node in &stack {
            remove[node.index()] = true;
        }
        while let Some(node) = stack.pop() {
            for next in self.needed_by(node) {
                if is_applied(next) && !remove[next.index()] {
                    remove[next.index()] = true;
                    stack.push(next);
                }
            }
        }

        // The upgrade order of the removed set, reversed, puts dependents first and
        // keeps each branch together.
        let tops: Vec<NodeIndex> = self
            .nodes()
            .filter(|&n| remove[n.index()] && !self.needed_by(n).any(|d| remove[d.index()]))
            .collect();
        let mut order = walk::upgrade_order_within(self, &tops, |n| remove[n.index()]);
        order.reverse();

        let mut counts = applied_need_counts(self, &applied);
        let mut still_applied = applied.clone();
        let mut rows: BTreeSet<NodeIndex> = current.iter().copied().collect();
        let mut steps = Vec::with_capacity(order.len());
        for node in order {
            still_applied[node.index()] = false;
            let delete_rows = if rows.remove(&node) {
                vec![node]
            } else {
                Vec::new()
            };
            let mut insert_rows = Vec::new();
            for need in self.needs(node) {
                let count = &mut counts[need.index()];
                *count = count.saturating_sub(1);
                if *count == 0 && still_applied[need.index()] && rows.insert(need) {
                    insert_rows.push(need);
                }
            }
            steps.push(PlanStep {
                direction: crate::PlanDirection::Downgrade,
                revision: node,
                delete_rows,
                insert_rows: sorted(insert_rows),
            });
        }
        Ok(Plan {
            from: sorted(current.to_vec()),
            to: rows.into_iter().collect(),
            steps,
        })
    }
}
