//! The revision DAG of rev: ids, the graph, targets, upgrade and downgrade
//! plans, and the version-table rows they leave. Pure: no I/O.
//!
//! Revisions are indexed by their ids in sorted order ([`NodeIndex`]), which
//! makes lookups a binary search and every id-sorted list a sorted list of
//! indexes. The edges are kept once, as declared: each revision's parents in
//! the order its file names them (a parent that another parent descends from
//! included, as Alembic keeps it) and its `depends_on`. Orders follow Alembic's
//! revision map: its topological sort walks from the heads in the order the
//! revisions were loaded (the input order of [`Graph::build`], i.e. by file
//! name) and takes each revision's parents in declared order.

mod ascii;
mod build;
mod linear;
mod order;
mod plan;
mod target;
mod walk;

use std::collections::HashMap;

pub use ascii::render_ascii;
pub use build::{is_valid_id, BuildError, RevisionSpec};
pub use linear::RunError;
pub use plan::{Plan, PlanDirection, PlanError, PlanStep};
pub use target::{Anchor, ParseTargetError, ResolveError, Resolved, Target};

/// The index of a revision in a [`Graph`]: its position among the revisions
/// sorted by id, so comparing indexes compares ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIndex(u32);

impl NodeIndex {
    pub(crate) fn new(index: usize) -> NodeIndex {
        // A graph holds fewer than 2^32 revisions: `Graph::build` refuses more.
        NodeIndex(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// Returns the position of the revision among the revisions sorted by id.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

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
    /// Longest distance from a base through parents and depends_on: whatever a
    /// revision needs has a smaller depth, which bounds ancestry searches.
    pub(crate) depth: u32,
}

/// A parent that another parent of the same revision already descends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedundantParent {
    /// The revision that names both parents.
    pub revision: String,
    /// The parent that another parent descends from.
    pub parent: String,
    /// The other parent, which descends from `parent`.
    pub via: String,
}

/// A validated revision DAG.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The revisions, sorted by id.
    nodes: Vec<Node>,
    /// Parents of each node, in declared order: the one record of parent edges.
    parents: Vec<Vec<NodeIndex>>,
    /// Resolved `depends_on` of each node, in declared order, without repeats:
    /// the one record of dependency edges.
    depends: Vec<Vec<NodeIndex>>,
    /// What each node's step moves the version rows from (Alembic's
    /// `_normalized_down_revisions`): its parents, then the dependencies that no
    /// ancestor through parents also depends on. Derived from the two above.
    down: Vec<Vec<NodeIndex>>,
    /// Children (revisions naming the node as a parent), sorted by id.
    children: Vec<Vec<NodeIndex>>,
    /// Revisions naming this one in `depends_on`, sorted by id.
    dependents: Vec<Vec<NodeIndex>>,
    labels: HashMap<String, NodeIndex>,
    redundant: Vec<RedundantParent>,
}

impl Graph {
    /// Returns the number of revisions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Returns whether the graph has no revisions.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn node(&self, node: NodeIndex) -> &Node {
        // An index from another graph finds the empty revision, not a panic.
        static MISSING: Node = Node {
            id: String::new(),
            branch_labels: Vec::new(),
            input: 0,
            depth: 0,
        };
        self.nodes.get(node.index()).unwrap_or(&MISSING)
    }

    /// Returns the index of the revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<NodeIndex> {
        self.nodes
            .binary_search_by(|node| node.id.as_str().cmp(id))
            .ok()
            .map(NodeIndex::new)
    }

    /// Returns the id of a revision.
    pub fn id(&self, node: NodeIndex) -> &str {
        &self.node(node).id
    }

    /// Returns the ids of several revisions.
    pub fn ids(&self, nodes: &[NodeIndex]) -> Vec<String> {
        nodes.iter().map(|&n| self.id(n).to_owned()).collect()
    }

    /// Returns the position the revision had in the input to [`Graph::build`].
    pub fn input_index(&self, node: NodeIndex) -> usize {
        self.node(node).input
    }

    /// Returns the branch labels a revision carries.
    pub fn branch_labels(&self, node: NodeIndex) -> &[String] {
        &self.node(node).branch_labels
    }

    /// Returns the revision that carries a branch label.
    pub fn label(&self, label: &str) -> Option<NodeIndex> {
        self.labels.get(label).copied()
    }

    /// Returns every revision, sorted by id.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeIndex> + '_ {
        (0..self.nodes.len()).map(NodeIndex::new)
    }

    /// Returns a revision's parents in the order its file declares them, a
    /// parent that another parent descends from included (see
    /// [`Graph::redundant_parents`]).
    pub fn parents(&self, node: NodeIndex) -> &[NodeIndex] {
        self.parents.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Returns the revisions a revision `depends_on`, in declared order.
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

    /// Returns what a revision's step moves the version rows from: its parents
    /// in declared order, then the dependencies no ancestor through parents
    /// also depends on (Alembic's `_normalized_down_revisions`).
    pub(crate) fn down(&self, node: NodeIndex) -> &[NodeIndex] {
        self.down.get(node.index()).map_or(&[], Vec::as_slice)
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

    /// Returns the heads that no revision needs at all, neither as a parent nor
    /// in `depends_on` (Alembic's "real heads", what the target `heads` means),
    /// sorted by id.
    pub fn real_heads(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.children(n).is_empty() && self.dependents(n).is_empty())
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

    /// Returns the merges: revisions with two or more parents, sorted by id.
    pub fn merges(&self) -> Vec<NodeIndex> {
        self.nodes()
            .filter(|&n| self.parents(n).len() >= 2)
            .collect()
    }

    /// Returns the parents that another parent of the same revision descends
    /// from (`rev check` warns about these). The edges stay in the graph, as in
    /// Alembic: they count for branch points and children, and plans honour them.
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

    /// Returns every revision in the order `rev history` lists them, which is
    /// the order of `alembic history`: newest first, Alembic's topological sort
    /// from the real heads; an upgrade from nothing to all heads runs it backwards.
    pub fn history_order(&self) -> Vec<NodeIndex> {
        order::alembic_order(self, &vec![true; self.len()], &self.real_heads())
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
            .filter(|&n| keep_to.as_ref().is_none_or(|k| walk::is(k, n)))
            .filter(|&n| keep_from.as_ref().is_none_or(|k| walk::is(k, n)))
            .collect()
    }

    /// Returns the edges of the DAG as (from, to, kind), where `from` is needed
    /// by `to`: for each revision in id order, its parents in declared order,
    /// then its dependencies.
    pub fn edges(&self) -> impl Iterator<Item = (NodeIndex, NodeIndex, EdgeKind)> + '_ {
        self.nodes().flat_map(move |node| {
            let parents = self
                .parents(node)
                .iter()
                .map(move |&p| (p, node, EdgeKind::Parent));
            let depends = self
                .depends_on(node)
                .iter()
                .map(move |&d| (d, node, EdgeKind::DependsOn));
            parents.chain(depends)
        })
    }
}
