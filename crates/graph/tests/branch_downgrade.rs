//! `<label>@-N` downgrades stay on their branch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_graph::{Graph, Resolved, RevisionSpec, Target};

fn spec(id: &str, parents: &[&str], depends_on: &[&str], labels: &[&str]) -> RevisionSpec {
    RevisionSpec {
        id: id.into(),
        parents: parents.iter().map(|p| (*p).into()).collect(),
        depends_on: depends_on.iter().map(|d| (*d).into()).collect(),
        branch_labels: labels.iter().map(|l| (*l).into()).collect(),
    }
}

//      ┌── b1 (bill)
//   a1 ┤
//      └── s1 (ship) ── s2
//   x1 (a dependent of s1 on another base: depends_on s1)
fn graph() -> Graph {
    Graph::build(&[
        spec("a1", &[], &[], &[]),
        spec("b1", &["a1"], &[], &["bill"]),
        spec("s1", &["a1"], &[], &["ship"]),
        spec("s2", &["s1"], &[], &[]),
        spec("x0", &[], &[], &[]),
        spec("x1", &["x0"], &["s1"], &[]),
    ])
    .unwrap()
}

fn downgrade(graph: &Graph, current: &[&str], target: &str) -> (Vec<String>, Vec<String>) {
    let current = graph.lookup_all(current).unwrap();
    let target = Target::parse(target).unwrap();
    let resolved: Resolved = graph.resolve(&target, &current).unwrap();
    let plan = match graph.branch_tip(&target, &current).unwrap() {
        Some(tip) => graph.plan_downgrade_along(&current, &resolved, tip),
        None => graph.plan_downgrade(&current, &resolved),
    }
    .unwrap();
    let steps = plan
        .steps
        .iter()
        .map(|s| graph.id(s.revision).to_owned())
        .collect();
    (steps, graph.ids(&plan.to))
}

#[test]
fn a_branch_downgrade_leaves_sibling_branches_applied() {
    let graph = graph();
    assert_eq!(
        downgrade(&graph, &["b1", "s2"], "ship@-1"),
        (
            vec!["s2".to_owned()],
            vec!["b1".to_owned(), "s1".to_owned()]
        )
    );
    // Walking down to the branch point keeps `bill`, unlike a plain downgrade to a1.
    assert_eq!(
        downgrade(&graph, &["b1", "s2"], "ship@-2"),
        (
            vec!["s2".to_owned(), "s1".to_owned()],
            vec!["b1".to_owned()]
        )
    );
    // Alembic's order (checked with Alembic 1.20.1): its topological sort
    // starts from the rows in load order, b1 first.
    assert_eq!(
        downgrade(&graph, &["b1", "s2"], "a1").0,
        vec!["b1".to_owned(), "s2".to_owned(), "s1".to_owned()]
    );
}

#[test]
fn what_needs_the_branch_goes_with_it() {
    let graph = graph();
    let (steps, rows) = downgrade(&graph, &["b1", "s2", "x1"], "ship@-2");
    // Alembic's order: s2 first (the first row in load order that nothing
    // else needs), then x1, which still needs s1.
    assert_eq!(steps, ["s2", "x1", "s1"]);
    assert_eq!(rows, ["b1", "x0"]);
}

#[test]
fn a_branch_downgrade_to_base_takes_what_needs_the_shared_base() {
    let graph = graph();
    // From s2, three steps down un-apply a1 too, and `bill` needs a1.
    let (steps, rows) = downgrade(&graph, &["b1", "s2"], "ship@-3");
    // Alembic's order: b1 is the first row in load order.
    assert_eq!(steps, ["b1", "s2", "s1", "a1"]);
    assert!(rows.is_empty());
}
