//! Alembic's order: the topological sort of its revision map
//! (`RevisionMap._topological_sort` in alembic/script/revision.py), which
//! orders `alembic history` and every upgrade (backwards) and downgrade.
//!
//! Alembic keeps a list of current heads, sorted by load order, and walks down
//! from the one at a cursor: a revision is emitted once no other current head
//! still needs it (through parents or depends_on, transitively), and is then
//! replaced by its down revisions (parents in declared order, then its own
//! dependencies) that are still to emit and not already heads; the first takes
//! its place, the others go to the end of the list. When a revision is still
//! needed by another head, the cursor moves to the first such head. A head
//! with nothing left below is dropped and the cursor steps back by one.
//!
//! Alembic answers "does another head need it" with an ancestor set per head,
//! recomputed at every merge: quadratic on long histories. Here the answer
//! comes from the revision's side: in the sets plans sort (closed under
//! "between": whatever lies between two members is a member) every member
//! still to emit is needed by some current head through members still to
//! emit, so a revision is needed by another head exactly when a walk up from
//! it through members still to emit reaches one. Most revisions have no such
//! member above them at all, and the walk is skipped.

use crate::walk::{is, mark, unmark};
use crate::{Graph, NodeIndex};

/// Returns the members of `set` (by node index) newest first, in Alembic's
/// order, walking down from `heads` (only those in the set count).
///
/// `set` must be closed under "between" and every member must be needed by
/// (or be) one of the heads: true of every upgrade set (what targets need less
/// what is applied), downgrade set (what is applied above some revisions) and
/// of the whole graph from its real heads.
pub(crate) fn alembic_order(graph: &Graph, set: &[bool], heads: &[NodeIndex]) -> Vec<NodeIndex> {
    let n = graph.len();
    // Members still to emit.
    let mut todo: Vec<bool> = (0..n)
        .map(|k| set.get(k).copied().unwrap_or(false))
        .collect();

    let mut current: Vec<NodeIndex> = heads.iter().copied().filter(|&h| is(&todo, h)).collect();
    current.sort_unstable_by_key(|&h| graph.input_index(h));
    current.dedup();
    let mut is_current = vec![false; n];
    for &h in &current {
        mark(&mut is_current, h);
    }

    let mut output = Vec::with_capacity(todo.iter().filter(|&&t| t).count());
    let mut above = Above::new(n);
    let mut cursor = 0usize;
    while let Some(&candidate) = current.get(cursor) {
        if let Some(other) = above.first_other_head(graph, &todo, &current, cursor, candidate) {
            // Another head still needs the candidate: that head goes first.
            cursor = other;
            continue;
        }
        if is(&todo, candidate) {
            output.push(candidate);
            unmark(&mut todo, candidate);
        }
        let add: Vec<NodeIndex> = graph
            .down(candidate)
            .iter()
            .copied()
            .filter(|&d| is(&todo, d) && !is(&is_current, d))
            .collect();
        match add.split_first() {
            None => {
                current.remove(cursor);
                unmark(&mut is_current, candidate);
                cursor = cursor.saturating_sub(1);
            }
            Some((&first, rest)) => {
                unmark(&mut is_current, candidate);
                if let Some(slot) = current.get_mut(cursor) {
                    *slot = first;
                }
                mark(&mut is_current, first);
                for &r in rest {
                    current.push(r);
                    mark(&mut is_current, r);
                }
            }
        }
    }
    output
}

/// Upward walks through the members still to emit, with a generation stamp
/// so that no walk clears the marks of the one before.
struct Above {
    mark: Vec<u32>,
    stamp: u32,
    stack: Vec<NodeIndex>,
}

impl Above {
    fn new(n: usize) -> Above {
        Above {
            mark: vec![0; n],
            stamp: 0,
            stack: Vec::new(),
        }
    }

    /// Returns the position in `current` of the first head other than the one
    /// at `cursor` that needs `candidate`, if any.
    fn first_other_head(
        &mut self,
        graph: &Graph,
        todo: &[bool],
        current: &[NodeIndex],
        cursor: usize,
        candidate: NodeIndex,
    ) -> Option<usize> {
        let pending = |node: NodeIndex| is(todo, node);
        // The common case: nothing still to emit needs the candidate directly.
        if !graph.needed_by(candidate).any(pending) {
            return None;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        self.stack.clear();
        self.stack.push(candidate);
        self.stamp_node(candidate);
        while let Some(node) = self.stack.pop() {
            for up in graph.needed_by(node) {
                if pending(up) && self.stamp_node(up) {
                    self.stack.push(up);
                }
            }
        }
        current
            .iter()
            .enumerate()
            .find(|&(k, &h)| {
                k != cursor && h != candidate && self.mark.get(h.index()) == Some(&stamp)
            })
            .map(|(k, _)| k)
    }

    /// Stamps a node; returns whether it was not stamped by this walk yet.
    fn stamp_node(&mut self, node: NodeIndex) -> bool {
        match self.mark.get_mut(node.index()) {
            Some(slot) if *slot != self.stamp => {
                *slot = self.stamp;
                true
            }
            _ => false,
        }
    }
}
