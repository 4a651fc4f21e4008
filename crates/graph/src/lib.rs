//! The revision DAG of rev: ids, the graph, targets, upgrade and downgrade
//! plans, and the version-table rows they leave. Pure: no I/O.
//!
//! Revisions are stored in a petgraph `DiGraph` whose node indexes follow the
//! revisions sorted by id, so "ties broken by id" is simply "ties broken by
//! index" everywhere below. Edges point from what is needed to what needs it
//! (parent → child, dependency → dependent).

mod ascii;
mod build;
mod plan;
mod target;
mod walk;

use std::collections::HashMap;

use petgraph::graph::DiGraph;

pub use petgraph::graph::NodeIndex;

pub use ascii::render_ascii;
pub use build::{is_valid_id, BuildError, RevisionSpec};
pub use plan::{Plan, PlanDirection, PlanError, PlanStep};
pub use target::{Anchor, ParseTargetError, ResolveError, Resolved, Target};

/// The kind of an edge between two revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// The source is a parent of the target.
    Parent,
    /// The target names the source in `depends_on`.
    DependsOn,
}

/// One revision as the graph knows it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) branch_labels: Vec<String>,
    /// Position of the revision in the input given to [`Graph::build`].
    pub(crate) input: usize,
    /// Longest distance from a base through parents; a parent always has a
    /// smaller generation than its child, which bounds ancestry searches.
    pub(crate) generation: u32,
}

/// A parent that another parent of the same revision already descends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedundantParent {
    /// The revision that names both parents.
    pub revision: String,
    /// The parent that is ignored.
    pub parent: String,
    /// The other parent, which descends from `parent`.
    pub via: String,
}

/// A validated revision DAG.
#[derive(Debug, Clone)]
pub struct Graph {
    dag: DiGraph<Node, EdgeKind, u32>,
    /// Effective parents of each node, sorted by id (redundant parents removed).
    parents: Vec<Vec<NodeIndex>>,
    /// Resolved `depends_on` of each node, sorted by id.
    depends: Vec<Vec<NodeIndex>>,
    /// Children through effective parents, sorted by id.
    children: Vec<Vec<NodeIndex>>,
    /// Revisions naming this one in `depends_on`, sorted by id.
    dependents: Vec<Vec<NodeIndex>>,
    labels: HashMap<String, NodeIndex>,
    redundant: Vec<RedundantParent>,
}

impl Graph {
    /// Returns the number of revisions.
    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    /// Returns whether the graph has no revisions.
    pub fn is_empty(&self) -> bool {
        self.dag.node_count() == 0
    }

    /// Returns the index of the revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<NodeIndex> {
        let nodes = self.dag.raw_nodes();
        nodes
            .binary_search_by(|node| node.weight.id.as_str().cmp(id))
            .ok()
            .map(NodeIndex::new)
    }

    /// Returns the id of a revision.
    pub fn id(&self, node: NodeIndex) -> &str {
        &self.dag[node].id
    }

    /// Returns the ids of several revisions.
    pub fn ids(&self, nodes: &[NodeIndex]) -> Vec<String> {
        nodes.iter().map(|&n| self.id(n).to_owned()).collect()
    }

    /// Returns the position the revision had in the input to [`Graph::build`].
    pub fn input_index(&self, node: NodeIndex) -> usize {
        self.dag[node].input
    }

    /// Returns the branch labels a revision carries.
    pub fn branch_labels(&self, node: NodeIndex) -> &[String] {
        &self.dag[node].branch_labels
    }

    /// Returns the revision that carries a branch label.
    pub fn label(&self, label: &str) -> Option<NodeIndex> {
        self.labels.get(label).copied()
    }

    /// Returns every revision, sorted by id.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeIndex> + '_ {
        self.dag.node_indices()
    }

    /// Returns a revision's effective parents (redundant ones ignored), sorted by id.
    pub fn parents(&self, node: NodeIndex) -> &[NodeIndex] {
        self.parents.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Returns the revisions a revision `depends_on`, sorted by id.
    pub fn depends_on(&self, node: NodeIndex) -> &[NodeIndex] {
        self.depends.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Returns a revision's children (revisions naming it as a parent), sorted by id.
    pub fn children(&self, node: NodeIndex) -> &[NodeIndex] {
        self.children.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Returns the revisions that name this one in `depends_on`, sorted by id.
    pub fn dependents(&self, node: NodeIndex) -> &[NodeIndex] {
        self.dependents.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Returns every revision a revision needs applied first: its parents, then
    /// its dependencies.
    pub fn needs(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.parents(node)
            .iter()
            .chain(self.depends_on(node))
            .copied()
    }

    /// Returns every revision that needs this one: its children, then its dependents.
    pub fn needed_by(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.children(node)
            .iter()
            .chain(self.dependents(node))
            .copied()
    }

    /// Returns the heads: revisions no other revision names as a parent, sorted by id.
    pub fn heads(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.children(n).is_empty())
            .collect()
    }

    /// Returns the bases: revisions without parents, sorted by id.
    pub fn bases(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.parents(n).is_empty())
            .collect()
    }

    /// Returns the branch points: revisions with two or more children, sorted by id.
    pub fn branch_points(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.children(n).len() >= 2)
            .collect()
    }

    /// Returns the merges: revisions with two or more effective parents, sorted by id.
    pub fn merges(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.parents(n).len() >= 2)
            .collect()
    }

    /// Returns the parents that were ignored because another parent of the
    /// same revision descends from them (`rev check` warns about these).
    pub fn redundant_parents(&self) -> &[RedundantParent] {
        &self.redundant
    }

    /// Returns whether `ancestor` is `node` or one of its ancestors through parents.
    pub fn is_ancestor_or_self(&self, ancestor: NodeIndex, node: NodeIndex) -> bool {
        walk::reaches_down(self, node, ancestor)
    }

    /// Returns the revisions with these ids, or the first id that is unknown.
    pub fn lookup_all<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<NodeIndex>, String> {
        ids.iter()
            .map(|id| self.get(id.as_ref()).ok_or_else(|| id.as_ref().to_owned()))
            .collect()
    }

    /// Returns every revision in the order `rev history` lists them: newest first,
    /// the reverse of the upgrade order from nothing to all heads.
    pub fn history_order(&self) -> Vec<NodeIndex> {
        let mut order = walk::upgrade_order(self, &self.heads(), &vec![false; self.len()]);
        order.reverse();
        order
    }

    /// Returns the revisions between `from` (exclusive of nothing: `from` itself
    /// is included) and `to`, newest first: descendants-or-self of `from` through
    /// parents that are ancestors-or-self of `to` through parents and depends_on.
    /// `None` leaves that end open.
    pub fn history_range(
        &self,
        from: Option<&[NodeIndex]>,
        to: Option<&[NodeIndex]>,
    ) -> Vec<NodeIndex> {
        let keep_to = to.map(|to| walk::closure_down(self, to));
        let keep_from = from.map(|from| walk::closure_up_parents(self, from));
        self.history_order()
            .into_iter()
            .filter(|n| keep_to.as_ref().is_none_or(|k| k[n.index()]))
            .filter(|n| keep_from.as_ref().is_none_or(|k| k[n.index()]))
            .collect()
    }

    /// Returns the edges of the DAG as (from, to, kind), where `from` is needed by `to`.
    pub fn edges(&self) -> impl Iterator<Item = (NodeIndex, NodeIndex, EdgeKind)> + '_ {
        self.dag
            .raw_edges()
            .iter()
            .map(|e| (e.source(), e.target(), e.weight))
    }
}
