//! Iterative walks over the graph. Nothing here recurses: histories of
//! 100,000 revisions would overflow the stack.

use std::collections::HashSet;

use petgraph::graph::NodeIndex;

use crate::Graph;

/// Returns whether `target` is `from` or an ancestor of `from` through parents.
///
/// Generations prune the search: a node older than `target` cannot lead to it,
/// so a merge of two short branches looks at a few dozen nodes, not the history.
pub(crate) fn reaches_down(graph: &Graph, from: NodeIndex, target: NodeIndex) -> bool {
    let floor = graph.generation(target);
    let mut seen = HashSet::new();
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        if node == target {
            return true;
        }
        if graph.generation(node) <= floor || !seen.insert(node) {
            continue;
        }
        stack.extend(graph.parents(node).iter().copied());
    }
    false
}

/// Returns the revisions to apply, in order, to bring `targets` and all they
/// need (through parents and depends_on) into the applied set.
///
/// A post-order depth-first walk: each revision comes right after everything it
/// needs, parents before dependencies, each in id order. That finishes one
/// branch before starting its sibling, and makes the order deterministic.
pub(crate) fn upgrade_order(
    graph: &Graph,
    targets: &[NodeIndex],
    applied: &[bool],
) -> Vec<NodeIndex> {
    upgrade_order_within(graph, targets, |n| {
        !applied.get(n.index()).copied().unwrap_or(false)
    })
}

/// Like [`upgrade_order`], restricted to the revisions `include` accepts.
pub(crate) fn upgrade_order_within(
    graph: &Graph,
    targets: &[NodeIndex],
    include: impl Fn(NodeIndex) -> bool,
) -> Vec<NodeIndex> {
    let mut done = vec![false; graph.len()];
    let mut order = Vec::new();
    // (node, index of the next need to visit)
    let mut stack: Vec<(NodeIndex, usize)> = Vec::new();
    for &target in targets {
        if done[target.index()] || !include(target) {
            continue;
        }
        done[target.index()] = true;
        stack.push((target, 0));
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let need = graph.needs(node).nth(next);
            top.1 += 1;
            match need {
                Some(need) => {
                    if !done[need.index()] && include(need) {
                        done[need.index()] = true;
                        stack.push((need, 0));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    order
}

/// Marks `roots` and every revision they need, through parents and depends_on.
pub(crate) fn closure_down(graph: &Graph, roots: &[NodeIndex]) -> Vec<bool> {
    let mut marked = vec![false; graph.len()];
    let mut stack: Vec<NodeIndex> = Vec::with_capacity(roots.len());
    for &root in roots {
        if !marked[root.index()] {
            marked[root.index()] = true;
            stack.push(root);
        }
    }
    while let Some(node) = stack.pop() {
        for need in graph.needs(node) {
            if !marked[need.index()] {
                marked[need.index()] = true;
                stack.push(need);
            }
        }
    }
    marked
}

/// Marks `roots` and every descendant through children.
pub(crate) fn closure_up_parents(graph: &Graph, roots: &[NodeIndex]) -> Vec<bool> {
    let mut marked = vec![false; graph.len()];
    let mut stack: Vec<NodeIndex> = Vec::with_capacity(roots.len());
    for &root in roots {
        if !marked[root.index()] {
            marked[root.index()] = true;
            stack.push(root);
        }
    }
    while let Some(node) = stack.pop() {
        for &child in graph.children(node) {
            if !marked[child.index()] {
                marked[child.index()] = true;
                stack.push(child);
            }
        }
    }
    marked
}
