//! Behaviours that follow Alembic 1.20.1, each answer checked against
//! Alembic's own RevisionMap and HeadMaintainer on the same graph (loaded in
//! the same order). Drawings: children above parents, `:` a depends_on edge,
//! `(x)` a branch label.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_graph::{Graph, NodeIndex, Plan, Resolved, RevisionSpec, Target};

fn spec(id: &str, parents: &[&str], depends_on: &[&str], labels: &[&str]) -> RevisionSpec {
    RevisionSpec {
        id: id.into(),
        parents: parents.iter().map(|p| (*p).into()).collect(),
        depends_on: depends_on.iter().map(|d| (*d).into()).collect(),
        branch_labels: labels.iter().map(|l| (*l).into()).collect(),
    }
}

fn ids(graph: &Graph, nodes: &[NodeIndex]) -> Vec<String> {
    graph.ids(nodes)
}

fn rows(graph: &Graph, ids: &[&str]) -> Vec<NodeIndex> {
    graph.lookup_all(ids).unwrap()
}

fn resolve(graph: &Graph, target: &str, current: &[&str]) -> Resolved {
    graph
        .resolve(&Target::parse(target).unwrap(), &rows(graph, current))
        .unwrap()
}

/// Plans like the CLI: along the branch when the target asks for it.
fn plan(graph: &Graph, up: bool, target: &str, current: &[&str]) -> Plan {
    let current = rows(graph, current);
    let parsed = Target::parse(target).unwrap();
    let resolved = graph.resolve(&parsed, &current).unwrap();
    if up {
        return graph.plan_upgrade(&current, &resolved);
    }
    match graph.branch_tip(&parsed, &current).unwrap() {
        Some(tip) => graph.plan_downgrade_along(&current, &resolved, tip),
        None => graph.plan_downgrade(&current, &resolved),
    }
    .unwrap()
}

fn steps(graph: &Graph, plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| graph.id(s.revision).to_owned())
        .collect()
}

//   m      m declares its parents as (c, b)
//   |\
//   c b
//   |/
//   a
#[test]
fn order_at_a_merge_follows_the_declared_parents() {
    let g = Graph::build(&[
        spec("a", &[], &[], &[]),
        spec("b", &["a"], &[], &[]),
        spec("c", &["a"], &[], &[]),
        spec("m", &["c", "b"], &[], &[]),
    ])
    .unwrap();
    assert_eq!(ids(&g, g.parents(g.get("m").unwrap())), ["c", "b"]);
    assert_eq!(ids(&g, &g.history_order()), ["m", "c", "b", "a"]);
    let up = plan(&g, true, "heads", &[]);
    assert_eq!(steps(&g, &up), ["a", "b", "c", "m"]);
    assert_eq!(ids(&g, &up.to), ["m"]);
}

//   m       m names a and b; b already descends from a
//   |\
//   b |
//   |/
//   a
#[test]
fn a_redundant_parent_stays_an_edge() {
    let g = Graph::build(&[
        spec("a", &[], &[], &[]),
        spec("b", &["a"], &[], &[]),
        spec("m", &["b", "a"], &[], &[]),
    ])
    .unwrap();
    let a = g.get("a").unwrap();
    assert_eq!(ids(&g, g.children(a)), ["b", "m"]);
    assert_eq!(ids(&g, &g.branch_points()), ["a"]);
    assert_eq!(ids(&g, &g.merges()), ["m"]);
    assert_eq!(g.redundant_parents().len(), 1);
    // One record of edges: what `graph --format dot|json` draws is what plans use.
    let edges: Vec<(String, String)> = g
        .edges()
        .map(|(from, to, _)| (g.id(from).to_owned(), g.id(to).to_owned()))
        .collect();
    assert_eq!(
        edges,
        [("a", "b"), ("b", "m"), ("a", "m")].map(|(x, y)| (x.to_owned(), y.to_owned()))
    );
    let drawing = rev_graph::render_ascii(&g, &g.history_order(), |n| g.id(n).to_owned());
    assert_eq!(drawing.matches('*').count(), 3);
    // Un-applying the merge leaves b alone: a is below b.
    let down = plan(&g, false, "-1", &["m"]);
    assert_eq!(steps(&g, &down), ["m"]);
    assert_eq!(ids(&g, &down.to), ["b"]);
}

//   m       the single current row is a merge
//   |\
//   c b
//   |/
//   a
// rev's extension (DESIGN.md §3): Alembic 1.20.1 refuses this with
// "Ambiguous walk"; the plan is the one Alembic makes for `downgrade m-1`
// spelled as the parents.
#[test]
fn minus_one_from_a_merge_un_applies_the_merge() {
    let g = Graph::build(&[
        spec("a", &[], &[], &[]),
        spec("b", &["a"], &[], &[]),
        spec("c", &["a"], &[], &[]),
        spec("m", &["c", "b"], &[], &[]),
    ])
    .unwrap();
    assert_eq!(
        resolve(&g, "-1", &["m"]),
        Resolved::Revisions(rows(&g, &["b", "c"]))
    );
    let down = plan(&g, false, "-1", &["m"]);
    assert_eq!(steps(&g, &down), ["m"]);
    assert_eq!(ids(&g, &down.to), ["b", "c"]);
    // Two steps down from a merge must choose: refused.
    assert!(g
        .resolve(&Target::parse("-2").unwrap(), &rows(&g, &["m"]))
        .is_err());
}

//   f2
//   |
//   f1 (feat)   t2
//   |          /
//   t1 -------
//   |
//   t0
#[test]
fn branch_steps_and_revisions_cover_the_lineage() {
    let g = Graph::build(&[
        spec("t0", &[], &[], &[]),
        spec("t1", &["t0"], &[], &[]),
        spec("t2", &["t1"], &[], &[]),
        spec("f1", &["t1"], &[], &["feat"]),
        spec("f2", &["f1"], &[], &[]),
    ])
    .unwrap();
    // From nothing, feat@+1 is one step: the base under the branch.
    let up = plan(&g, true, "feat@+1", &[]);
    assert_eq!(steps(&g, &up), ["t0"]);
    assert_eq!(
        steps(&g, &plan(&g, true, "feat@+3", &[])),
        ["t0", "t1", "f1"]
    );
    // An ancestor of the labelled revision is on its branch.
    assert_eq!(
        resolve(&g, "feat@t0", &[]),
        Resolved::Revisions(rows(&g, &["t0"]))
    );
    assert!(g.resolve(&Target::parse("feat@t2").unwrap(), &[]).is_err());
}

//   c2 : e2      c2 depends_on e1 (the contract/expand pattern)
//   |  / |
//   c1 e1|
//   |  / |
//   r0
#[test]
fn label_at_base_un_applies_the_branch() {
    let g = Graph::build(&[
        spec("r0", &[], &[], &[]),
        spec("c1", &["r0"], &[], &["contract"]),
        spec("c2", &["c1"], &["e1"], &[]),
        spec("e1", &["r0"], &[], &["expand"]),
        spec("e2", &["e1"], &[], &[]),
    ])
    .unwrap();
    // `heads` is the heads nothing needs; e2 is one, e1 comes with c2.
    assert_eq!(
        resolve(&g, "heads", &[]),
        Resolved::Revisions(rows(&g, &["c2", "e2"]))
    );
    // One base: as in Alembic, the branch's bases are all of them, so
    // everything applied goes.
    let down = plan(&g, false, "contract@base", &["c2", "e2"]);
    assert_eq!(steps(&g, &down), ["c2", "c1", "e2", "e1", "r0"]);
    assert!(down.to.is_empty());
}

//   x1 : s1      x1 (on base x0) depends_on s1
//   |    |
//   x0   s1   b1
//         \  /
//          a1
#[test]
fn rows_after_an_unmerge_next_to_another_branch_are_alembics() {
    let g = Graph::build(&[
        spec("a1", &[], &[], &[]),
        spec("b1", &["a1"], &[], &[]),
        spec("s1", &["a1"], &[], &[]),
        spec("x0", &[], &[], &[]),
        spec("x1", &["x0"], &["s1"], &[]),
    ])
    .unwrap();
    // Alembic's order: from the real heads in load order (b1, then x1), the
    // walk leaves a1 for b1 while x1 still needs it through s1.
    let up = plan(&g, true, "heads", &[]);
    assert_eq!(steps(&g, &up), ["a1", "s1", "x0", "x1", "b1"]);
    assert_eq!(ids(&g, &up.to), ["b1", "x1"]);
    // Un-applying x1 brings back both of its down revisions, x0 and s1: no
    // other row (b1) needs them.
    let down = plan(&g, false, "x0", &["b1", "x1"]);
    assert_eq!(steps(&g, &down), ["x1"]);
    assert_eq!(ids(&g, &down.to), ["b1", "s1", "x0"]);
}

//   m        m names (b, a): a is also below b
//   |\
//   b |
//   |/
//   a     z  (another base)
#[test]
fn an_unmerge_beside_another_row_keeps_every_parent_as_a_row() {
    let g = Graph::build(&[
        spec("a", &[], &[], &[]),
        spec("b", &["a"], &[], &[]),
        spec("m", &["b", "a"], &[], &[]),
        spec("z", &[], &[], &[]),
    ])
    .unwrap();
    // With another row (z), Alembic moves m's row to every down revision that
    // z does not need: b and a, although b needs a.
    let down = plan(&g, false, "b", &["m", "z"]);
    assert_eq!(steps(&g, &down), ["m"]);
    assert_eq!(ids(&g, &down.to), ["a", "b", "z"]);
    // Alone, a is dropped: b needs it.
    let down = plan(&g, false, "b", &["m"]);
    assert_eq!(ids(&g, &down.to), ["b"]);
}
