//! Building and validating a [`Graph`] from revision declarations.

use std::collections::HashMap;

use crate::walk::{self, FastHash};
use crate::{Graph, Node, NodeIndex, RedundantParent};

/// A revision as a migration file declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevisionSpec {
    /// The revision's id.
    pub id: String,
    /// The ids of its parents (empty for a base).
    pub parents: Vec<String>,
    /// Ids, unique id prefixes or branch labels of revisions applied first.
    pub depends_on: Vec<String>,
    /// Labels naming the branch that starts at this revision.
    pub branch_labels: Vec<String>,
}

/// Why a set of revisions does not form a valid graph. `input` fields are
/// positions in the slice given to [`Graph::build`], so the caller can name files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An id is empty, too long or holds characters outside `[A-Za-z0-9_]`.
    #[error("revision id `{id}` is invalid: use 1 to 32 characters of [A-Za-z0-9_]")]
    InvalidId {
        /// The id.
        id: String,
        /// Where it was declared.
        input: usize,
    },
    /// Two revisions share an id.
    #[error("revision id `{id}` is declared twice")]
    DuplicateId {
        /// The id.
        id: String,
        /// The first declaration.
        first: usize,
        /// The second declaration.
        second: usize,
    },
    /// A parent names no revision.
    #[error("revision `{revision}` names parent `{parent}`, which does not exist")]
    MissingParent {
        /// The revision naming the parent.
        revision: String,
        /// The missing parent.
        parent: String,
        /// Where the revision was declared.
        input: usize,
    },
    /// A revision names the same parent twice, or itself as its parent.
    #[error("revision `{revision}` names parent `{parent}` {reason}")]
    BadParent {
        /// The revision.
        revision: String,
        /// The parent.
        parent: String,
        /// "twice" or "although it is the revision itself".
        reason: &'static str,
        /// Where the revision was declared.
        input: usize,
    },
    /// A `depends_on` entry matches no revision or label.
    #[error("revision `{revision}` depends on `{dependency}`, which is no revision id, id prefix or branch label")]
    MissingDependency {
        /// The revision.
        revision: String,
        /// The unresolved entry.
        dependency: String,
        /// Where the revision was declared.
        input: usize,
    },
    /// A `depends_on` prefix matches several revisions.
    #[error("revision `{revision}` depends on `{dependency}`, which is ambiguous: {}", candidates.join(", "))]
    AmbiguousDependency {
        /// The revision.
        revision: String,
        /// The ambiguous entry.
        dependency: String,
        /// The revisions it could mean.
        candidates: Vec<String>,
        /// Where the revision was declared.
        input: usize,
    },
    /// A branch label is declared twice, or collides with a target keyword.
    #[error("branch label `{label}` on revision `{revision}` {reason}")]
    BadLabel {
        /// The label.
        label: String,
        /// The revision carrying it.
        revision: String,
        /// Why it is refused.
        reason: String,
        /// Where the revision was declared.
        input: usize,
    },
    /// Parents or dependencies form a cycle.
    #[error("revisions form a cycle through parents or depends_on: {} (each needs the next)", revisions.join(" -> "))]
    Cycle {
        /// The revisions on the cycle, from the smallest id, each needing the
        /// next, back to the first.
        revisions: Vec<String>,
        /// Where each was declared, in the same order.
        inputs: Vec<usize>,
    },
}

impl BuildError {
    /// Returns the input position of the declaration at fault (the first one,
    /// for errors involving several).
    pub fn input(&self) -> usize {
        match self {
            BuildError::InvalidId { input, .. }
            | BuildError::MissingParent { input, .. }
            | BuildError::BadParent { input, .. }
            | BuildError::MissingDependency { input, .. }
            | BuildError::AmbiguousDependency { input, .. }
            | BuildError::BadLabel { input, .. } => *input,
            BuildError::DuplicateId { second, .. } => *second,
            BuildError::Cycle { inputs, .. } => inputs.first().copied().unwrap_or(0),
        }
    }
}

/// Returns whether `id` is a valid revision id: 1–32 characters of `[A-Za-z0-9_]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const RESERVED_LABELS: [&str; 3] = ["base", "head", "heads"];

impl Graph {
    /// Builds and validates the graph of these revisions.
    ///
    /// Fails on the first problem found, checking in this order: ids, duplicates,
    /// labels, parents, dependencies, cycles. Related parents are not an error:
    /// both edges stay, as in Alembic, and [`Graph::redundant_parents`] names them.
    /// The input order is the order Alembic loads the revisions in (by file
    /// name); plans and `history` break ties by it.
    pub fn build(specs: &[RevisionSpec]) -> Result<Graph, BuildError> {
        // (input position, spec), sorted by id; ties are broken by position, so
        // the unstable sort gives the stable order.
        let mut sorted: Vec<(usize, &RevisionSpec)> = specs.iter().enumerate().collect();
        sorted.sort_unstable_by(|a, b| a.1.id.cmp(&b.1.id).then(a.0.cmp(&b.0)));

        for &(i, spec) in &sorted {
            if !is_valid_id(&spec.id) {
                return Err(BuildError::InvalidId {
                    id: spec.id.clone(),
                    input: i,
                });
            }
        }
        for pair in sorted.windows(2) {
            if let [(a, first), (b, second)] = *pair {
                if first.id == second.id {
                    return Err(BuildError::DuplicateId {
                        id: first.id.clone(),
                        first: a,
                        second: b,
                    });
                }
            }
        }

        let index = IdIndex::new(&sorted);
        let nodes: Vec<Node> = sorted
            .iter()
            .map(|&(i, spec)| Node {
                id: spec.id.clone(),
                branch_labels: spec.branch_labels.clone(),
                input: i,
                depth: 0,
            })
            .collect();

        let labels = collect_labels(&sorted)?;

        let n = specs.len();
        let mut parents: Vec<Vec<NodeIndex>> = Vec::with_capacity(n);
        let mut depends: Vec<Vec<NodeIndex>> = Vec::with_capacity(n);
        for (pos, &(i, spec)) in sorted.iter().enumerate() {
            let node = NodeIndex::new(pos);
            let mut mine: Vec<NodeIndex> = Vec::with_capacity(spec.parents.len());
            for parent in &spec.parents {
                let Some(p) = index.get(parent.as_str()) else {
                    return Err(BuildError::MissingParent {
                        revision: spec.id.clone(),
                        parent: parent.clone(),
                        input: i,
                    });
                };
                let reason = if p == node {
                    Some("although it is the revision itself")
                } else if mine.contains(&p) {
                    Some("twice")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(BuildError::BadParent {
                        revision: spec.id.clone(),
                        parent: parent.clone(),
                        reason,
                        input: i,
                    });
                }
                mine.push(p);
            }
            parents.push(mine);
            let mut deps: Vec<NodeIndex> = Vec::new();
            for dependency in &spec.depends_on {
                let d = resolve_dependency(spec, i, dependency, &index, &labels, &nodes)?;
                if d == node {
                    return Err(BuildError::Cycle {
                        revisions: vec![spec.id.clone()],
                        inputs: vec![i],
                    });
                }
                if !deps.contains(&d) {
                    deps.push(d);
                }
            }
            depends.push(deps);
        }

        let topo = topological_or_cycle(&nodes, &parents, &depends)?;

        let mut graph = Graph {
            nodes,
            parents,
            depends,
            down: Vec::new(),
            children: vec![Vec::new(); n],
            dependents: vec![Vec::new(); n],
            labels,
            redundant: Vec::new(),
        };
        for &node in &topo {
            let depth = graph
                .needs(node)
                .map(|p| graph.node(p).depth + 1)
                .max()
                .unwrap_or(0);
            if let Some(slot) = graph.nodes.get_mut(node.index()) {
                slot.depth = depth;
            }
        }
        // Filling children in node order keeps every list sorted by id.
        for (child, (parents, depends)) in graph.parents.iter().zip(&graph.depends).enumerate() {
            let child = NodeIndex::new(child);
            for p in parents {
                if let Some(list) = graph.children.get_mut(p.index()) {
                    list.push(child);
                }
            }
            for d in depends {
                if let Some(list) = graph.dependents.get_mut(d.index()) {
                    list.push(child);
                }
            }
        }
        graph.find_redundant_parents();
        graph.down = graph
            .nodes()
            .map(|node| graph.normalized_down(node))
            .collect();
        Ok(graph)
    }

    /// Lists, for each merge, every parent that another parent descends from.
    fn find_redundant_parents(&mut self) {
        let mut redundant = Vec::new();
        for merge in self.merges() {
            let declared = self.parents(merge);
            for &p in declared {
                let via = declared
                    .iter()
                    .copied()
                    .find(|&q| q != p && walk::reaches_down(self, q, p));
                if let Some(q) = via {
                    redundant.push(RedundantParent {
                        revision: self.id(merge).to_owned(),
                        parent: self.id(p).to_owned(),
                        via: self.id(q).to_owned(),
                    });
                }
            }
        }
        self.redundant = redundant;
    }

    /// Returns Alembic's `_normalized_down_revisions` of a node: its parents in
    /// declared order, then each dependency that no ancestor through parents
    /// also names in `depends_on` (Alembic keeps those in a set, whose order
    /// depends on the hash seed; rev keeps the declared order), without repeats.
    fn normalized_down(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut down = self.parents(node).to_vec();
        for &d in self.depends_on(node) {
            if down.contains(&d) {
                continue;
            }
            // Another revision naming the same dependency below this one makes it implied.
            let inherited = self
                .dependents(d)
                .iter()
                .any(|&other| other != node && walk::reaches_down(self, node, other));
            if !inherited {
                down.push(d);
            }
        }
        down
    }

    pub(crate) fn depth(&self, node: NodeIndex) -> u32 {
        self.node(node).depth
    }
}

/// Finds revisions by id. Node indexes are positions in the sorted order; a
/// hash map finds them in one or two memory accesses where a binary search
/// over 100,000 ids takes seventeen scattered ones.
struct IdIndex<'a> {
    map: HashMap<&'a str, NodeIndex, FastHash>,
}

impl<'a> IdIndex<'a> {
    fn new(sorted: &[(usize, &'a RevisionSpec)]) -> IdIndex<'a> {
        let mut map = HashMap::with_capacity_and_hasher(sorted.len(), FastHash::default());
        for (pos, &(_, spec)) in sorted.iter().enumerate() {
            map.insert(spec.id.as_str(), NodeIndex::new(pos));
        }
        IdIndex { map }
    }

    fn get(&self, id: &str) -> Option<NodeIndex> {
        self.map.get(id).copied()
    }
}

fn collect_labels(
    sorted: &[(usize, &RevisionSpec)],
) -> Result<HashMap<String, NodeIndex>, BuildError> {
    let mut labels: HashMap<String, NodeIndex> = HashMap::new();
    for (pos, &(i, spec)) in sorted.iter().enumerate() {
        let node = NodeIndex::new(pos);
        for label in &spec.branch_labels {
            let refuse = |reason: String| BuildError::BadLabel {
                label: label.clone(),
                revision: spec.id.clone(),
                reason,
                input: i,
            };
            if RESERVED_LABELS.contains(&label.as_str()) {
                return Err(refuse(format!(
                    "is reserved: `{label}` is a target keyword"
                )));
            }
            if !is_valid_id(label) {
                return Err(refuse(
                    "is invalid: use 1 to 32 characters of [A-Za-z0-9_]".into(),
                ));
            }
            if let Some(&other) = labels.get(label) {
                let other_id = sorted.get(other.index()).map_or("", |(_, s)| s.id.as_str());
                return Err(refuse(format!("is already on revision `{other_id}`")));
            }
            labels.insert(label.clone(), node);
        }
    }
    Ok(labels)
}

fn resolve_dependency(
    spec: &RevisionSpec,
    input: usize,
    dependency: &str,
    index: &IdIndex<'_>,
    labels: &HashMap<String, NodeIndex>,
    nodes: &[Node],
) -> Result<NodeIndex, BuildError> {
    if let Some(d) = index.get(dependency) {
        return Ok(d);
    }
    if let Some(&d) = labels.get(dependency) {
        return Ok(d);
    }
    let start = nodes.partition_point(|n| n.id.as_str() < dependency);
    let matches: Vec<(usize, &Node)> = nodes
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(_, n)| n.id.starts_with(dependency))
        .collect();
    match matches.as_slice() {
        [(only, _)] if !dependency.is_empty() => Ok(NodeIndex::new(*only)),
        [] | [_] => Err(BuildError::MissingDependency {
            revision: spec.id.clone(),
            dependency: dependency.to_owned(),
            input,
        }),
        many => Err(BuildError::AmbiguousDependency {
            revision: spec.id.clone(),
            dependency: dependency.to_owned(),
            candidates: many.iter().map(|(_, n)| n.id.clone()).collect(),
            input,
        }),
    }
}

/// Returns the nodes in a topological order (Kahn), or the cycle that prevents one.
fn topological_or_cycle(
    nodes: &[Node],
    parents: &[Vec<NodeIndex>],
    depends: &[Vec<NodeIndex>],
) -> Result<Vec<NodeIndex>, BuildError> {
    let n = nodes.len();
    let needs = |i: usize| {
        let parents = parents.get(i).map_or(&[][..], Vec::as_slice);
        let depends = depends.get(i).map_or(&[][..], Vec::as_slice);
        parents.iter().chain(depends).copied()
    };
    let mut waiting: Vec<usize> = (0..n).map(|i| needs(i).count()).collect();
    // Who needs each node: the reverse of parents and depends_on.
    let mut needed_by: Vec<Vec<NodeIndex>> = vec![Vec::new(); n];
    for i in 0..n {
        for need in needs(i) {
            if let Some(list) = needed_by.get_mut(need.index()) {
                list.push(NodeIndex::new(i));
            }
        }
    }
    let mut ready: Vec<NodeIndex> = waiting
        .iter()
        .enumerate()
        .filter(|&(_, &w)| w == 0)
        .map(|(i, _)| NodeIndex::new(i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(node) = ready.pop() {
        order.push(node);
        for &next in needed_by.get(node.index()).map_or(&[][..], Vec::as_slice) {
            if let Some(slot) = waiting.get_mut(next.index()) {
                *slot = slot.saturating_sub(1);
                if *slot == 0 {
                    ready.push(next);
                }
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Kahn stalls on cycles; Tarjan (petgraph's, on a throw-away graph) names
    // the smallest strongly connected set.
    let mut dag: petgraph::graph::DiGraph<(), (), u32> =
        petgraph::graph::DiGraph::with_capacity(n, n);
    for _ in 0..n {
        dag.add_node(());
    }
    for i in 0..n {
        for need in needs(i) {
            dag.add_edge(
                petgraph::graph::NodeIndex::new(need.index()),
                petgraph::graph::NodeIndex::new(i),
                (),
            );
        }
    }
    let scc: Vec<NodeIndex> = petgraph::algo::tarjan_scc(&dag)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .min_by_key(|scc| scc.len())
        .unwrap_or_default()
        .into_iter()
        .map(|k| NodeIndex::new(k.index()))
        .collect();
    let cycle = cycle_path(&needs, &scc);
    let node = |c: &NodeIndex| nodes.get(c.index());
    Err(BuildError::Cycle {
        revisions: cycle
            .iter()
            .filter_map(node)
            .map(|n| n.id.clone())
            .collect(),
        inputs: cycle.iter().filter_map(node).map(|n| n.input).collect(),
    })
}

/// Returns one cycle through the smallest node of a strongly connected set,
/// following needs, closed by repeating its first node.
fn cycle_path<I: Iterator<Item = NodeIndex>>(
    needs: &impl Fn(usize) -> I,
    scc: &[NodeIndex],
) -> Vec<NodeIndex> {
    let Some(&start) = scc.iter().min() else {
        return Vec::new();
    };
    let inside: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
    // Breadth-first over needs inside the set finds the shortest way back to `start`.
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut inner: Vec<NodeIndex> =
            needs(node.index()).filter(|n| inside.contains(n)).collect();
        inner.sort_unstable();
        inner.dedup();
        for need in inner {
            if need == start {
                let mut path = vec![node];
                let mut at = node;
                while let Some(&prev) = came_from.get(&at) {
                    path.push(prev);
                    at = prev;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = came_from.entry(need) {
                slot.insert(node);
                queue.push_back(need);
            }
        }
    }
    scc.to_vec()
}
