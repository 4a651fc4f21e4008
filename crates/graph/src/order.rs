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
//! recomputed at every merge: quadratic on long histories. The list here is a
//! linked list of slots numbered in the order they were made, which is also
//! their order in Alembic's list (a slot keeps its place when its head moves
//! down, new slots go to the end, and removal keeps the others' order), so
//! "the first head" is the one with the smallest slot number.
//!
//! Two searches answer "the first other head that needs this revision", run
//! in step with each other so that each query costs the cheaper of the two:
//! - a scan of the slots in order, deciding most of them at once from labels
//!   computed once per graph (a reachability interval and a longest-path level
//!   that rule a head out, the dominator tree that proves one in), and
//! - a walk up from the revision through the members still to emit, which
//!   finds every head that needs it. In the sets plans sort (closed under
//!   "between") every member still to emit lies below some current head
//!   through members still to emit, so the walk sees exactly the heads that
//!   need the revision.
//!
//! The scan stops at the first head it proves; at a head its labels cannot
//! decide it waits for the walk, which either reaches that head or ends and
//! gives the smallest slot it saw. The answer for a revision never moves
//! back (heads only move down, new slots go to the end), so when the cursor
//! comes back to the same revision the scan starts where it last stopped.
//! Labels cost one pass over the graph and are made only when a query needs
//! them: a linear history never does.

use crate::walk::{is, unmark};
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

    let mut initial: Vec<NodeIndex> = heads.iter().copied().filter(|&h| is(&todo, h)).collect();
    initial.sort_unstable_by_key(|&h| graph.input_index(h));
    initial.dedup();
    let mut slots = Slots::new(n);
    for h in initial {
        slots.push(h);
    }

    // The graph's edges copied into flat arrays: the walk below reads them in
    // id order, which is random order, and lists of lists cost a cache miss
    // each.
    let edges = Edges {
        down: Adjacency::new(graph, |node| graph.down(node).iter().copied()),
        up: Adjacency::new(graph, |node| graph.needed_by(node)),
    };
    let mut output = Vec::with_capacity(todo.iter().filter(|&&t| t).count());
    let mut finder = HeadFinder::new(n);
    let mut add: Vec<NodeIndex> = Vec::new();
    let mut cursor = slots.first;
    while let Some(slot) = cursor {
        let Some(candidate) = slots.head(slot) else {
            break;
        };
        if let Some(other) =
            finder.first_other_head(graph, &edges, &todo, &mut slots, slot, candidate)
        {
            // Another head still needs the candidate: that head goes first.
            cursor = Some(other);
            continue;
        }
        if is(&todo, candidate) {
            output.push(candidate);
            unmark(&mut todo, candidate);
        }
        add.clear();
        add.extend(
            edges
                .down
                .nodes(candidate)
                .filter(|&d| is(&todo, d) && slots.slot_of(d).is_none()),
        );
        match add.split_first() {
            None => cursor = slots.remove(slot),
            Some((&first, rest)) => {
                slots.replace(slot, first);
                for &r in rest {
                    slots.push(r);
                }
            }
        }
    }
    output
}

/// Alembic's list of current heads as a linked list of slots. A slot's number
/// is its place in the order of the list.
struct Slots {
    heads: Vec<NodeIndex>,
    prev: Vec<Option<usize>>,
    next: Vec<Option<usize>>,
    first: Option<usize>,
    last: Option<usize>,
    /// The slot that holds a node, by node index.
    slot_of: Vec<Option<usize>>,
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            heads: Vec::new(),
            prev: Vec::new(),
            next: Vec::new(),
            first: None,
            last: None,
            slot_of: vec![None; n],
        }
    }

    fn head(&self, slot: usize) -> Option<NodeIndex> {
        self.heads.get(slot).copied()
    }

    fn next(&self, slot: usize) -> Option<usize> {
        self.next.get(slot).copied().flatten()
    }

    /// Returns the first slot still in the list at or after `slot` in slot
    /// order. A dropped slot keeps the link it had to the one after it, so
    /// the search follows those links, shortening them as it goes.
    fn live_from(&mut self, slot: usize) -> Option<usize> {
        let mut at = Some(slot);
        let mut passed: Vec<usize> = Vec::new();
        while let Some(s) = at {
            if self.head(s).and_then(|h| self.slot_of(h)) == Some(s) {
                break;
            }
            passed.push(s);
            at = self.next(s);
        }
        for p in passed {
            set(&mut self.next, p, at);
        }
        at
    }

    fn slot_of(&self, node: NodeIndex) -> Option<usize> {
        self.slot_of.get(node.index()).copied().flatten()
    }

    fn set_slot_of(&mut self, node: NodeIndex, slot: Option<usize>) {
        if let Some(entry) = self.slot_of.get_mut(node.index()) {
            *entry = slot;
        }
    }

    /// Appends a head at the end of the list.
    fn push(&mut self, head: NodeIndex) {
        let slot = self.heads.len();
        self.heads.push(head);
        self.prev.push(self.last);
        self.next.push(None);
        match self.last.and_then(|last| self.next.get_mut(last)) {
            Some(link) => *link = Some(slot),
            None => self.first = Some(slot),
        }
        self.last = Some(slot);
        self.set_slot_of(head, Some(slot));
    }

    /// Puts another head in a slot, at the same place in the list.
    fn replace(&mut self, slot: usize, head: NodeIndex) {
        if let Some(old) = self.head(slot) {
            self.set_slot_of(old, None);
        }
        if let Some(entry) = self.heads.get_mut(slot) {
            *entry = head;
        }
        self.set_slot_of(head, Some(slot));
    }

    /// Drops a slot; returns where Alembic's cursor goes next: one place
    /// back, or to the new first slot when the dropped one was first.
    fn remove(&mut self, slot: usize) -> Option<usize> {
        let prev = self.prev.get(slot).copied().flatten();
        let next = self.next(slot);
        match prev.and_then(|p| self.next.get_mut(p)) {
            Some(link) => *link = next,
            None => self.first = next,
        }
        match next.and_then(|n| self.prev.get_mut(n)) {
            Some(link) => *link = prev,
            None => self.last = prev,
        }
        if let Some(old) = self.head(slot) {
            self.set_slot_of(old, None);
        }
        prev.or(next)
    }
}

/// What the labels say of "does this head need that revision".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    No,
    Yes,
    Unknown,
}

/// Reachability labels of the whole graph, computed once. A head needs a
/// revision only if it stands on a higher level (its depth: longest path down
/// to a base) and GRAIL's interval test passes (a depth-first numbering
/// walking up from the bases, exact on a tree); it certainly does when the
/// revision dominates it (every way down from the head passes through the
/// revision).
struct Labels {
    /// Each node's depth, copied out of the graph's revisions.
    depth: Vec<u32>,
    /// Post-order number of a depth-first walk up from the bases.
    post: Vec<u32>,
    /// The smallest post-order number among the revisions that need a node,
    /// itself included.
    low: Vec<u32>,
    /// Pre- and post-order numbers in the dominator tree, whose root is a
    /// virtual node below every base.
    dom_pre: Vec<u32>,
    dom_post: Vec<u32>,
}

impl Labels {
    fn new(graph: &Graph, up: &Adjacency) -> Labels {
        let n = graph.len();
        let needs = Adjacency::new(graph, |node| graph.needs(node));
        let order = up.post_order(
            graph
                .nodes()
                .filter(|&node| needs.of(node.index()).is_empty()),
        );
        let mut post = vec![0u32; n];
        for (k, &node) in order.iter().enumerate() {
            set(&mut post, node, u32::try_from(k).unwrap_or(u32::MAX));
        }
        let mut low = post.clone();
        // In post order a revision comes after every revision that needs it.
        for &node in &order {
            let reached = up.of(node).iter().map(|&u| get(&low, u as usize)).min();
            if let Some(reached) = reached {
                let value = get(&low, node).min(reached);
                set(&mut low, node, value);
            }
        }
        let mut dominators = Dominators::new(n);
        for node in by_depth(graph) {
            let mut dominator: Option<usize> = None;
            for &need in needs.of(node.index()) {
                let d = need as usize;
                dominator = Some(match dominator {
                    None => d,
                    Some(so_far) => dominators.common(so_far, d),
                });
            }
            dominators.set(node.index(), dominator);
        }
        let (dom_pre, dom_post) = tree_numbers(&dominators.parent, n);
        Labels {
            depth: graph.nodes().map(|node| graph.depth(node)).collect(),
            post,
            low,
            dom_pre,
            dom_post,
        }
    }

    /// Whether `head` needs `revision` (which is not `head`).
    fn needs(&self, head: NodeIndex, revision: NodeIndex) -> Needs {
        let (h, r) = (head.index(), revision.index());
        let above = get(&self.depth, h) > get(&self.depth, r)
            && get(&self.low, r) <= get(&self.low, h)
            && get(&self.post, h) <= get(&self.post, r);
        if !above {
            Needs::No
        } else if get(&self.dom_pre, r) <= get(&self.dom_pre, h)
            && get(&self.dom_post, h) <= get(&self.dom_post, r)
        {
            Needs::Yes
        } else {
            Needs::Unknown
        }
    }
}

/// Every node, bases first and each after all it needs: a counting sort by
/// depth, which needs no search.
fn by_depth(graph: &Graph) -> Vec<NodeIndex> {
    let deepest = graph
        .nodes()
        .map(|node| graph.depth(node))
        .max()
        .unwrap_or(0) as usize;
    let mut start = vec![0usize; deepest + 2];
    for node in graph.nodes() {
        if let Some(count) = start.get_mut(graph.depth(node) as usize + 1) {
            *count += 1;
        }
    }
    for k in 1..start.len() {
        let before = start.get(k - 1).copied().unwrap_or(0);
        if let Some(entry) = start.get_mut(k) {
            *entry += before;
        }
    }
    let mut order = vec![NodeIndex::new(0); graph.len()];
    for node in graph.nodes() {
        if let Some(at) = start.get_mut(graph.depth(node) as usize) {
            set(&mut order, *at, node);
            *at += 1;
        }
    }
    order
}

/// The two directions of edges the order walks.
struct Edges {
    /// Alembic's normalized down revisions of each node.
    down: Adjacency,
    /// What needs each node: its children, then its dependents.
    up: Adjacency,
}

/// One direction of the graph's edges in two flat arrays, so that a
/// depth-first walk reads memory in few places.
struct Adjacency {
    start: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// The edges `of` gives each node, copied in one pass in node order.
    fn new<I: Iterator<Item = NodeIndex>>(graph: &Graph, of: impl Fn(NodeIndex) -> I) -> Adjacency {
        let mut start = Vec::with_capacity(graph.len() + 1);
        let mut targets = Vec::with_capacity(graph.len());
        start.push(0);
        for node in graph.nodes() {
            targets.extend(of(node).map(|u| u32::try_from(u.index()).unwrap_or(u32::MAX)));
            start.push(u32::try_from(targets.len()).unwrap_or(u32::MAX));
        }
        Adjacency { start, targets }
    }

    /// The same edges as node indexes.
    fn nodes(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.of(node.index())
            .iter()
            .map(|&k| NodeIndex::new(k as usize))
    }

    fn of(&self, node: usize) -> &[u32] {
        let from = self.start.get(node).copied().unwrap_or(0) as usize;
        let to = self.start.get(node + 1).copied().unwrap_or(0) as usize;
        self.targets.get(from..to).unwrap_or(&[])
    }

    /// Node indexes in the post order of a depth-first walk from `starts`,
    /// then from whatever they leave out (nothing, in a graph without cycles).
    fn post_order(&self, starts: impl Iterator<Item = NodeIndex>) -> Vec<usize> {
        let n = self.start.len().saturating_sub(1);
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for start in starts.map(|s| s.index()).chain(0..n) {
            if !take(&mut seen, start) {
                continue;
            }
            stack.push((start, 0));
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                match self.of(node).get(*next) {
                    Some(&up) => {
                        *next += 1;
                        let up = up as usize;
                        if take(&mut seen, up) {
                            stack.push((up, 0));
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
}

/// Marks a flag; returns whether it was clear.
fn take(flags: &mut [bool], k: usize) -> bool {
    match flags.get_mut(k) {
        Some(flag) if !*flag => {
            *flag = true;
            true
        }
        _ => false,
    }
}

/// The dominator tree built bottom-up: a revision's immediate dominator is the
/// nearest common dominator of all it needs. Each node keeps, beside its
/// parent, one jump pointer laid out by depth in skew-binary steps (as in
/// Myers' random-access lists), so the common dominator of two nodes is found
/// in a logarithm of the depth: a long-lived branch that keeps depending on a
/// moving trunk costs that per revision, not the distance between the two.
struct Dominators {
    parent: Vec<usize>,
    jump: Vec<usize>,
    depth: Vec<u32>,
}

impl Dominators {
    /// Nodes `0..n`, and the virtual root `n`.
    fn new(n: usize) -> Dominators {
        Dominators {
            parent: vec![n; n + 1],
            jump: vec![n; n + 1],
            depth: vec![0; n + 1],
        }
    }

    fn root(&self) -> usize {
        self.parent.len() - 1
    }

    fn parent(&self, x: usize) -> usize {
        self.parent.get(x).copied().unwrap_or(self.root())
    }

    fn jump(&self, x: usize) -> usize {
        self.jump.get(x).copied().unwrap_or(self.root())
    }

    fn depth(&self, x: usize) -> u32 {
        get(&self.depth, x)
    }

    /// Records a node's immediate dominator (`None`: the virtual root).
    fn set(&mut self, x: usize, dominator: Option<usize>) {
        let d = dominator.unwrap_or(self.root());
        let (j1, j2) = (self.jump(d), self.jump(self.jump(d)));
        let even = self.depth(d) - self.depth(j1) == self.depth(j1) - self.depth(j2);
        let jump = if even { j2 } else { d };
        let depth = self.depth(d).saturating_add(1);
        set(&mut self.parent, x, d);
        set(&mut self.jump, x, jump);
        set(&mut self.depth, x, depth);
    }

    /// The nearest common dominator of two nodes already recorded.
    fn common(&self, mut a: usize, mut b: usize) -> usize {
        if self.depth(a) < self.depth(b) {
            std::mem::swap(&mut a, &mut b);
        }
        let target = self.depth(b);
        while self.depth(a) > target {
            let j = self.jump(a);
            a = if self.depth(j) >= target {
                j
            } else {
                self.parent(a)
            };
        }
        // At equal depths the jump pointers lead to equal depths too.
        while a != b {
            let (ja, jb) = (self.jump(a), self.jump(b));
            if ja != jb {
                a = ja;
                b = jb;
            } else {
                let (pa, pb) = (self.parent(a), self.parent(b));
                if pa == a && pb == b {
                    break;
                }
                a = pa;
                b = pb;
            }
        }
        a
    }
}

fn get(values: &[u32], k: usize) -> u32 {
    values.get(k).copied().unwrap_or(0)
}

fn set<T>(values: &mut [T], k: usize, value: T) {
    if let Some(entry) = values.get_mut(k) {
        *entry = value;
    }
}

/// Pre- and post-order numbers of the tree given by `parent` links, from `root`.
fn tree_numbers(parent: &[usize], root: usize) -> (Vec<u32>, Vec<u32>) {
    let size = parent.len();
    // Children in one flat list, by parent.
    let mut start = vec![0usize; size + 1];
    for (k, &p) in parent.iter().enumerate() {
        if k != root {
            if let Some(count) = start.get_mut(p + 1) {
                *count += 1;
            }
        }
    }
    for k in 0..size {
        let before = start.get(k).copied().unwrap_or(0);
        if let Some(entry) = start.get_mut(k + 1) {
            *entry += before;
        }
    }
    let mut fill = start.clone();
    let mut children = vec![0usize; size];
    for (k, &p) in parent.iter().enumerate() {
        if k == root {
            continue;
        }
        if let Some(at) = fill.get_mut(p) {
            if let Some(entry) = children.get_mut(*at) {
                *entry = k;
            }
            *at += 1;
        }
    }
    let mut pre = vec![0u32; size];
    let mut post = vec![0u32; size];
    let (mut pre_count, mut post_count) = (0u32, 0u32);
    let mut stack: Vec<(usize, usize)> = vec![(root, get_usize(&start, root))];
    set(&mut pre, root, pre_count);
    pre_count += 1;
    while let Some(&mut (node, ref mut at)) = stack.last_mut() {
        if *at < get_usize(&start, node + 1) {
            let child = get_usize(&children, *at);
            *at += 1;
            set(&mut pre, child, pre_count);
            pre_count += 1;
            stack.push((child, get_usize(&start, child)));
        } else {
            set(&mut post, node, post_count);
            post_count += 1;
            stack.pop();
        }
    }
    (pre, post)
}

fn get_usize(values: &[usize], k: usize) -> usize {
    values.get(k).copied().unwrap_or(0)
}

/// Answers "the first head other than the one at the cursor that needs this
/// revision", with the labels made on first use and a walk whose marks carry a
/// generation stamp so that no walk clears the marks of the one before.
struct HeadFinder {
    labels: Option<Labels>,
    /// By cursor slot: the candidate last asked about there and the answer.
    resume: Vec<Option<(NodeIndex, usize)>>,
    mark: Vec<u32>,
    stamp: u32,
    stack: Vec<NodeIndex>,
}

impl HeadFinder {
    fn new(n: usize) -> HeadFinder {
        HeadFinder {
            labels: None,
            resume: Vec::new(),
            mark: vec![0; n],
            stamp: 0,
            stack: Vec::new(),
        }
    }

    /// Returns the slot of the first head other than the one at `cursor` that
    /// needs `candidate`, if any.
    fn first_other_head(
        &mut self,
        graph: &Graph,
        edges: &Edges,
        todo: &[bool],
        slots: &mut Slots,
        cursor: usize,
        candidate: NodeIndex,
    ) -> Option<usize> {
        let answer = self.search(graph, edges, todo, slots, cursor, candidate);
        if let Some(found) = answer {
            if self.resume.len() <= cursor {
                self.resume.resize(cursor + 1, None);
            }
            set(&mut self.resume, cursor, Some((candidate, found)));
        }
        answer
    }

    fn search(
        &mut self,
        graph: &Graph,
        edges: &Edges,
        todo: &[bool],
        slots: &mut Slots,
        cursor: usize,
        candidate: NodeIndex,
    ) -> Option<usize> {
        let pending = |node: NodeIndex| is(todo, node);
        // The common case: nothing still to emit needs the candidate directly.
        if !edges.up.nodes(candidate).any(pending) {
            return None;
        }
        let labels = self
            .labels
            .get_or_insert_with(|| Labels::new(graph, &edges.up));
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        let mark = &mut self.mark;
        self.stack.clear();
        self.stack.push(candidate);
        stamp_node(mark, stamp, candidate);

        // The smallest slot the walk has seen, and the slot the scan is at.
        let mut seen: Option<usize> = None;
        // Slots before the last answer for the same candidate still do not
        // need it: heads only move down, and new slots go to the end.
        let mut scan = match self.resume.get(cursor).copied().flatten() {
            Some((asked, found)) if asked == candidate => slots.live_from(found),
            _ => slots.first,
        };
        let slots: &Slots = slots;
        let mut waiting = false;
        loop {
            if !waiting {
                match scan {
                    // No slot left to scan: the walk alone decides, so that
                    // the answer never rests on the scan having seen all.
                    None => waiting = true,
                    Some(slot) if slot == cursor => scan = slots.next(slot),
                    Some(slot) => {
                        let head = slots.head(slot);
                        if head.is_some_and(|h| mark.get(h.index()) == Some(&stamp)) {
                            // The walk has already come up to it.
                            return Some(slot);
                        }
                        match head.map(|h| labels.needs(h, candidate)) {
                            Some(Needs::Yes) => return Some(slot),
                            Some(Needs::Unknown) => waiting = true,
                            Some(Needs::No) | None => scan = slots.next(slot),
                        }
                    }
                }
            }
            let Some(node) = self.stack.pop() else {
                // The walk has seen every head that needs the candidate.
                return seen;
            };
            for up in edges.up.nodes(node) {
                if pending(up) && stamp_node(mark, stamp, up) {
                    self.stack.push(up);
                    if let Some(slot) = slots.slot_of(up) {
                        if waiting && scan == Some(slot) {
                            return scan;
                        }
                        seen = Some(seen.map_or(slot, |s| s.min(slot)));
                    }
                }
            }
        }
    }
}

/// Stamps a node; returns whether this walk had not stamped it yet.
fn stamp_node(mark: &mut [u32], stamp: u32, node: NodeIndex) -> bool {
    match mark.get_mut(node.index()) {
        Some(slot) if *slot != stamp => {
            *slot = stamp;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! The order against the implementation it replaced, a direct walk up
    //! per query that was checked against Alembic itself (conformance, exact
    //! order 160/160), on random graphs and random upgrade sets.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)] // a test may panic

    use proptest::prelude::*;

    use super::alembic_order;
    use crate::walk::{is, mark, unmark};
    use crate::{Graph, NodeIndex, RevisionSpec};

    pub(super) fn reference_order(
        graph: &Graph,
        set: &[bool],
        heads: &[NodeIndex],
    ) -> Vec<NodeIndex> {
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
        let mut above = RefAbove::new(n);
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
    struct RefAbove {
        mark: Vec<u32>,
        stamp: u32,
        stack: Vec<NodeIndex>,
    }

    impl RefAbove {
        fn new(n: usize) -> RefAbove {
            RefAbove {
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

    /// A random DAG: each revision names up to three earlier ones as parents
    /// and up to two as dependencies; ids are shuffled so that id order and
    /// load order differ.
    fn graph_strategy() -> impl Strategy<Value = Graph> {
        (2usize..60)
            .prop_flat_map(|n| {
                (
                    Just(n),
                    proptest::collection::vec(
                        (
                            proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
                            proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
                            0u8..4,
                        ),
                        n,
                    ),
                    Just(()).prop_perturb(move |_, mut rng| {
                        let mut ids: Vec<usize> = (0..n).collect();
                        for k in (1..n).rev() {
                            let j = (rng.next_u32() as usize) % (k + 1);
                            ids.swap(k, j);
                        }
                        ids
                    }),
                )
            })
            .prop_map(|(n, links, ids)| {
                let name = |k: usize| format!("r{:03}", ids[k]);
                let specs: Vec<RevisionSpec> = (0..n)
                    .map(|k| {
                        let (parents, deps, bases) = &links[k];
                        let pick = |list: &Vec<prop::sample::Index>| {
                            let mut out: Vec<String> = Vec::new();
                            if k > 0 {
                                for i in list {
                                    // Mostly near the tip, as real histories are.
                                    let back = 1 + i.index(k.min(12));
                                    let p = name(k - back.min(k));
                                    if !out.contains(&p) {
                                        out.push(p);
                                    }
                                }
                            }
                            out
                        };
                        let mut parents = pick(parents);
                        if k > 0 && parents.is_empty() && *bases != 0 {
                            parents.push(name(k - 1));
                        }
                        let depends_on: Vec<String> = pick(deps)
                            .into_iter()
                            .filter(|d| !parents.contains(d))
                            .collect();
                        RevisionSpec {
                            id: name(k),
                            parents,
                            depends_on,
                            branch_labels: Vec::new(),
                        }
                    })
                    .collect();
                Graph::build(&specs).unwrap()
            })
    }

    /// Every node that `from` needs, itself included.
    fn below(graph: &Graph, from: &[NodeIndex]) -> Vec<bool> {
        let mut seen = vec![false; graph.len()];
        let mut stack: Vec<NodeIndex> = from.to_vec();
        while let Some(node) = stack.pop() {
            if mark(&mut seen, node) {
                stack.extend(graph.needs(node));
            }
        }
        seen
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn same_order_as_the_direct_walk(
            graph in graph_strategy(),
            targets in proptest::collection::vec(any::<prop::sample::Index>(), 1..4),
            applied in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            let all = vec![true; graph.len()];
            let heads = graph.real_heads();
            prop_assert_eq!(
                alembic_order(&graph, &all, &heads),
                reference_order(&graph, &all, &heads)
            );
            let nodes: Vec<NodeIndex> = graph.nodes().collect();
            let targets: Vec<NodeIndex> = targets.iter().map(|i| *i.get(&nodes)).collect();
            let applied: Vec<NodeIndex> = applied.iter().map(|i| *i.get(&nodes)).collect();
            let need = below(&graph, &targets);
            let done = below(&graph, &applied);
            let set: Vec<bool> = need.iter().zip(&done).map(|(&n, &d)| n && !d).collect();
            prop_assert_eq!(
                alembic_order(&graph, &set, &targets),
                reference_order(&graph, &set, &targets)
            );
        }
    }
}
