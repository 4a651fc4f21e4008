//! Iterative walks over the graph. Nothing here recurses: histories of
//! 100,000 revisions would overflow the stack.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::{Graph, NodeIndex};

/// Returns whether `node` is marked in a per-node list of flags (an index
/// past its end is unmarked).
pub(crate) fn is(set: &[bool], node: NodeIndex) -> bool {
    set.get(node.index()).copied().unwrap_or(false)
}

/// Marks `node` in a per-node list of flags; returns whether it was unmarked.
pub(crate) fn mark(set: &mut [bool], node: NodeIndex) -> bool {
    match set.get_mut(node.index()) {
        Some(slot) if !*slot => {
            *slot = true;
            true
        }
        _ => false,
    }
}

/// Unmarks `node` in a per-node list of flags.
pub(crate) fn unmark(set: &mut [bool], node: NodeIndex) {
    if let Some(slot) = set.get_mut(node.index()) {
        *slot = false;
    }
}

/// Returns whether `target` is `from` or an ancestor of `from` through parents.
///
/// Depths prune the search: a node no deeper than `target` cannot lead to it,
/// so a merge of two short branches looks at a few dozen nodes, not the history.
pub(crate) fn reaches_down(graph: &Graph, from: NodeIndex, target: NodeIndex) -> bool {
    let floor = graph.depth(target);
    let mut seen: HashSet<NodeIndex, FastHash> = HashSet::default();
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        if node == target {
            return true;
        }
        if graph.depth(node) <= floor || !seen.insert(node) {
            continue;
        }
        stack.extend(graph.parents(node).iter().copied());
    }
    false
}

/// Returns whether `target` is `from` or something `from` needs, through
/// parents and depends_on. Pruned by depth like [`reaches_down`].
pub(crate) fn reaches_down_needs(graph: &Graph, from: NodeIndex, target: NodeIndex) -> bool {
    let floor = graph.depth(target);
    let mut seen: HashSet<NodeIndex, FastHash> = HashSet::default();
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        if node == target {
            return true;
        }
        if graph.depth(node) <= floor || !seen.insert(node) {
            continue;
        }
        stack.extend(graph.needs(node));
    }
    false
}

/// A fast hasher for node indexes and revision ids: a multiply-rotate mix
/// over 8 bytes at a time. The keys are small integers and short ids from the
/// project's own files, so SipHash's defence against chosen keys buys nothing.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // hashbrown takes the top 7 bits as a tag and the low bits as the
        // bucket: fold the well-mixed high half into the low one.
        self.0 ^ (self.0 >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (slot, &byte) in word.iter_mut().zip(chunk) {
                *slot = byte;
            }
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }
}

/// Builds [`FastHasher`]s for hash maps and sets.
pub(crate) type FastHash = BuildHasherDefault<FastHasher>;

/// Marks `roots` and every revision they need, through parents and depends_on.
pub(crate) fn closure_down(graph: &Graph, roots: &[NodeIndex]) -> Vec<bool> {
    let mut marked = vec![false; graph.len()];
    let mut stack: Vec<NodeIndex> = Vec::with_capacity(roots.len());
    for &root in roots {
        if mark(&mut marked, root) {
            stack.push(root);
        }
    }
    while let Some(node) = stack.pop() {
        for need in graph.needs(node) {
            if mark(&mut marked, need) {
                stack.push(need);
            }
        }
    }
    marked
}

/// Marks `roots` and every ancestor through parents only.
pub(crate) fn closure_down_parents(graph: &Graph, roots: &[NodeIndex]) -> Vec<bool> {
    let mut marked = vec![false; graph.len()];
    let mut stack: Vec<NodeIndex> = Vec::with_capacity(roots.len());
    for &root in roots {
        if mark(&mut marked, root) {
            stack.push(root);
        }
    }
    while let Some(node) = stack.pop() {
        for &parent in graph.parents(node) {
            if mark(&mut marked, parent) {
                stack.push(parent);
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
        if mark(&mut marked, root) {
            stack.push(root);
        }
    }
    while let Some(node) = stack.pop() {
        for &child in graph.children(node) {
            if mark(&mut marked, child) {
                stack.push(child);
            }
        }
    }
    marked
}
