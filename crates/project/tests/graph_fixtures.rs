//! The graph fixtures under `fixtures/graphs/`, loaded as real projects.
//!
//! Each fixture gets one file snapshot of a text report (heads, bases, branch
//! points, merges, history, upgrade and downgrade plans with the version rows
//! after each step, the ascii drawing) and inline snapshots of target
//! resolution. Every plan in a report is also checked against a naive reading
//! of DESIGN.md §3, so a snapshot cannot silently record a wrong plan.
//!
//! The drawings above each group show parents below children; `:` marks a
//! `depends_on` edge, `(x)` a branch label.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::fmt::Write as _;
use std::path::PathBuf;

use rev_graph::{Graph, NodeIndex, Plan, PlanDirection, Resolved, Target};
use rev_project::Project;

fn fixture_path(shape: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/graphs")
        .join(shape)
        .join("rev.ron")
}

fn load(shape: &str) -> Project {
    Project::load(&fixture_path(shape)).unwrap()
}

fn ids(graph: &Graph, nodes: &[NodeIndex]) -> String {
    if nodes.is_empty() {
        return "(none)".to_owned();
    }
    graph.ids(nodes).join(", ")
}

fn node(graph: &Graph, id: &str) -> NodeIndex {
    graph.get(id).unwrap()
}

/// Returns every revision `roots` need, themselves included (parents and depends_on).
fn naive_closure(graph: &Graph, roots: &[NodeIndex]) -> Vec<bool> {
    let mut applied = vec![false; graph.len()];
    let mut todo: Vec<NodeIndex> = roots.to_vec();
    while let Some(n) = todo.pop() {
        if !applied[n.index()] {
            applied[n.index()] = true;
            todo.extend(graph.needs(n));
        }
    }
    applied
}

/// §3: the version rows are the applied revisions no other applied revision needs.
fn naive_rows(graph: &Graph, applied: &[bool]) -> Vec<NodeIndex> {
    graph
        .nodes()
        .filter(|&n| applied[n.index()])
        .filter(|&n| {
            !graph
                .nodes()
                .any(|m| applied[m.index()] && graph.needs(m).any(|x| x == n))
        })
        .collect()
}

/// Replays a plan on the applied set, asserting §3 at every step: each revision
/// is applied after (un-applied before) what it needs, and the rows after each
/// step are the naive rows of the applied set at that point.
fn check_plan(graph: &Graph, plan: &Plan) {
    let mut applied = naive_closure(graph, &plan.from);
    assert_eq!(naive_rows(graph, &applied), plan.from);
    for (step, rows) in plan.steps.iter().zip(plan.rows_after_each_step()) {
        let n = step.revision;
        match step.direction {
            PlanDirection::Upgrade => {
                assert!(!applied[n.index()], "{} applied twice", graph.id(n));
                for need in graph.needs(n) {
                    assert!(
                        applied[need.index()],
                        "{} before {}",
                        graph.id(n),
                        graph.id(need)
                    );
                }
                applied[n.index()] = true;
            }
            PlanDirection::Downgrade => {
                assert!(applied[n.index()], "{} is not applied", graph.id(n));
                for user in graph.needed_by(n) {
                    assert!(
                        !applied[user.index()],
                        "{} before {}",
                        graph.id(n),
                        graph.id(user)
                    );
                }
                applied[n.index()] = false;
            }
        }
        assert_eq!(rows, naive_rows(graph, &applied), "after {}", graph.id(n));
    }
    assert_eq!(naive_rows(graph, &applied), plan.to);
}

fn write_plan(out: &mut String, title: &str, graph: &Graph, plan: &Plan) {
    check_plan(graph, plan);
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "  rows before: {}", ids(graph, &plan.from));
    if plan.steps.is_empty() {
        let _ = writeln!(out, "  (nothing to do)");
    }
    for (step, rows) in plan.steps.iter().zip(plan.rows_after_each_step()) {
        let _ = writeln!(
            out,
            "  {:<9} {:<3} -> rows: {}",
            step.direction.as_str(),
            graph.id(step.revision),
            ids(graph, &rows)
        );
    }
    out.push('\n');
}

/// Returns the text report of a fixture; `extra_downgrades` are downgrade
/// targets worth showing besides `base` and the branch points.
fn report(shape: &str, extra_downgrades: &[&str]) -> String {
    let project = load(shape);
    let graph = &project.graph;
    let mut out = String::new();
    let _ = writeln!(out, "fixture: {shape}");
    let _ = writeln!(out, "heads: {}", ids(graph, &graph.heads()));
    let _ = writeln!(out, "bases: {}", ids(graph, &graph.bases()));
    let _ = writeln!(out, "branch points: {}", ids(graph, &graph.branch_points()));
    let merges = graph.merges();
    if merges.is_empty() {
        let _ = writeln!(out, "merges: (none)");
    }
    for m in merges {
        let _ = writeln!(
            out,
            "merge: {} of {}",
            graph.id(m),
            ids(graph, graph.parents(m))
        );
    }
    for n in graph.nodes().filter(|&n| !graph.depends_on(n).is_empty()) {
        let _ = writeln!(
            out,
            "depends_on: {} needs {}",
            graph.id(n),
            ids(graph, graph.depends_on(n))
        );
    }
    for n in graph.nodes() {
        for label in graph.branch_labels(n) {
            let _ = writeln!(out, "label: {label} on {}", graph.id(n));
        }
    }
    for r in graph.redundant_parents() {
        let _ = writeln!(
            out,
            "redundant parent: {} names {}, already reached through {}",
            r.revision, r.parent, r.via
        );
    }
    let history = graph.history_order();
    let _ = writeln!(out, "history (newest first): {}", ids(graph, &history));
    out.push('\n');

    let _ = writeln!(out, "graph:");
    let message = |n: NodeIndex| {
        let text = project
            .file(n)
            .map_or(String::new(), |f| f.migration.message.clone());
        format!("{} {text}", graph.id(n))
    };
    out.push_str(&rev_graph::render_ascii(graph, &history, message));
    out.push('\n');

    let upgrade = |to: &Resolved| graph.plan_upgrade(&[], to);
    let all = graph.resolve(&Target::Heads, &[]).unwrap();
    let all_plan = upgrade(&all);
    write_plan(&mut out, "upgrade heads from nothing", graph, &all_plan);
    for head in graph.heads() {
        let plan = upgrade(&Resolved::Revisions(vec![head]));
        let title = format!("upgrade {} from nothing", graph.id(head));
        write_plan(&mut out, &title, graph, &plan);
    }

    let applied = all_plan.to.clone();
    let mut targets: Vec<(String, Resolved)> = vec![("base".to_owned(), Resolved::Base)];
    for bp in graph.branch_points() {
        let title = format!("{} (branch point)", graph.id(bp));
        targets.push((title, Resolved::Revisions(vec![bp])));
    }
    for &extra in extra_downgrades {
        targets.push((
            extra.to_owned(),
            Resolved::Revisions(vec![node(graph, extra)]),
        ));
    }
    for (title, target) in targets {
        let plan = graph.plan_downgrade(&applied, &target).unwrap();
        let title = format!("downgrade to {title} from all heads applied");
        write_plan(&mut out, &title, graph, &plan);
    }
    out
}

/// Resolves a target string against a fixture with these version rows, as
/// `ids` or `error: message`.
fn resolve(project: &Project, target: &str, current: &[&str]) -> String {
    let graph = &project.graph;
    let current: Vec<NodeIndex> = current.iter().map(|id| node(graph, id)).collect();
    let parsed = match Target::parse(target) {
        Ok(parsed) => parsed,
        Err(e) => return format!("error: {e}"),
    };
    match graph.resolve(&parsed, &current) {
        Ok(Resolved::Base) => "base".to_owned(),
        Ok(Resolved::Revisions(nodes)) => ids(graph, &nodes),
        Err(e) => format!("error: {e}"),
    }
}

// diamond
//
//     m1
//    /  \
//   b1  c1
//    \  /
//     a1
#[test]
fn diamond_report() {
    insta::assert_snapshot!("diamond", report("diamond", &["b1"]));
}

#[test]
fn diamond_targets() {
    let p = load("diamond");
    insta::assert_snapshot!(resolve(&p, "base", &[]), @"base");
    insta::assert_snapshot!(resolve(&p, "heads", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "head", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "m1", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "m", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "zz", &[]), @"error: no revision matches `zz`");
    // Stepping down from the merge must choose a parent.
    insta::assert_snapshot!(resolve(&p, "-1", &["m1"]), @"b1, c1");
    insta::assert_snapshot!(resolve(&p, "m1-1", &[]), @"b1, c1");
    // Stepping up from the branch point must choose a child.
    insta::assert_snapshot!(resolve(&p, "+1", &["a1"]), @"error: `+1` is ambiguous at `a1`: it could go to b1 or c1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "a1+1", &[]), @"error: `a1+1` is ambiguous at `a1`: it could go to b1 or c1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "+1", &["b1"]), @"m1");
    insta::assert_snapshot!(resolve(&p, "+2", &["b1"]), @"error: `+2` goes beyond head `m1`");
    insta::assert_snapshot!(resolve(&p, "+1", &["b1", "c1"]), @"error: `+1` is ambiguous: the database has several current heads (b1, c1); use `<label>@+1` or `<rev>+1`");
    insta::assert_snapshot!(resolve(&p, "b1-1", &[]), @"a1");
    insta::assert_snapshot!(resolve(&p, "b1-2", &[]), @"base");
    insta::assert_snapshot!(resolve(&p, "b1-3", &[]), @"error: `b1-3` goes beyond base");
    insta::assert_snapshot!(resolve(&p, "+1", &[]), @"a1");
    insta::assert_snapshot!(resolve(&p, "-1", &[]), @"error: `-1` goes beyond base");
    insta::assert_snapshot!(resolve(&p, "+1", &["m1"]), @"error: `+1` goes beyond head `m1`");
    insta::assert_snapshot!(resolve(&p, "b1@head", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "a1@head", &[]), @"m1");
}

// double_diamond
//
//     m2
//    /  \
//   d1  e1
//    \  /
//     m1
//    /  \
//   b1  c1
//    \  /
//     a1
#[test]
fn double_diamond_report() {
    insta::assert_snapshot!("double_diamond", report("double_diamond", &["c1"]));
}

#[test]
fn double_diamond_targets() {
    let p = load("double_diamond");
    insta::assert_snapshot!(resolve(&p, "m1+1", &[]), @"error: `m1+1` is ambiguous at `m1`: it could go to d1 or e1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "d1-1", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "d1-2", &[]), @"b1, c1");
    insta::assert_snapshot!(resolve(&p, "m2-2", &[]), @"error: `m2-2` is ambiguous at `m2`: it could go to d1 or e1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "m", &[]), @"error: revision `m` is ambiguous: m1, m2");
    insta::assert_snapshot!(resolve(&p, "m2", &[]), @"m2");
    insta::assert_snapshot!(resolve(&p, "b1@m2", &[]), @"m2");
}

// three_way_merge
//
//        m1
//      / |  \
//    b2  |   \
//    |   |    \
//    b1  c1   d1
//      \ |  /
//        a1
#[test]
fn three_way_merge_report() {
    insta::assert_snapshot!("three_way_merge", report("three_way_merge", &["b1"]));
}

#[test]
fn three_way_merge_targets() {
    let p = load("three_way_merge");
    insta::assert_snapshot!(resolve(&p, "m1-1", &[]), @"b2, c1, d1");
    insta::assert_snapshot!(resolve(&p, "+1", &["a1"]), @"error: `+1` is ambiguous at `a1`: it could go to b1 or c1 or d1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "b1+2", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "b", &[]), @"error: revision `b` is ambiguous: b1, b2");
    insta::assert_snapshot!(resolve(&p, "d1@head", &[]), @"m1");
}

// depends_on_across_branches
//
//   b2   c2
//   |  :  |      c2 depends_on b1
//   b1    c1
//     \  /
//      a1
#[test]
fn depends_on_across_branches_report() {
    insta::assert_snapshot!(
        "depends_on_across_branches",
        report("depends_on_across_branches", &["b1", "c1"])
    );
}

#[test]
fn depends_on_across_branches_targets() {
    let p = load("depends_on_across_branches");
    insta::assert_snapshot!(resolve(&p, "head", &[]), @"error: there are 2 heads (b2, c2); name one, or use `heads`, `<label>@head` or `rev merge`");
    insta::assert_snapshot!(resolve(&p, "heads", &[]), @"b2, c2");
    insta::assert_snapshot!(resolve(&p, "b1@head", &[]), @"b2");
    insta::assert_snapshot!(resolve(&p, "c1@head", &[]), @"c2");
    insta::assert_snapshot!(resolve(&p, "a1@head", &[]), @"error: several heads descend from `a1`: b2, c2; name one of them");
    insta::assert_snapshot!(resolve(&p, "c2-1", &[]), @"c1");
    insta::assert_snapshot!(resolve(&p, "-1", &["c2"]), @"c1");
    insta::assert_snapshot!(resolve(&p, "+1", &["b2", "c2"]), @"error: `+1` is ambiguous: the database has several current heads (b2, c2); use `<label>@+1` or `<rev>+1`");
    insta::assert_snapshot!(resolve(&p, "-1", &["b2", "c2"]), @"error: `-1` is ambiguous: the database has several current heads (b2, c2); use `<label>@-1` or `<rev>-1`");
}

#[test]
fn depends_on_keeps_a_revision_that_merely_depends_on_the_target() {
    let p = load("depends_on_across_branches");
    let g = &p.graph;
    let rows = vec![node(g, "b2"), node(g, "c2")];
    // Down to b1: b2 goes, c2 (which depends_on b1 itself) stays.
    let plan = g
        .plan_downgrade(&rows, &Resolved::Revisions(vec![node(g, "b1")]))
        .unwrap();
    check_plan(g, &plan);
    assert_eq!(
        g.ids(&plan.steps.iter().map(|s| s.revision).collect::<Vec<_>>()),
        ["b2"]
    );
    assert_eq!(g.ids(&plan.to), ["c2"]);
}

// labels
//
//   b2   c3
//   |  :  |      c3 depends_on the label auth (b1)
//   |     c2
//   |     |
//   b1    c1
//  (auth) (billing)
//     \  /
//      a1
#[test]
fn labels_report() {
    insta::assert_snapshot!("labels", report("labels", &["b1", "c1", "c2"]));
}

#[test]
fn labels_targets() {
    let p = load("labels");
    insta::assert_snapshot!(resolve(&p, "auth", &[]), @"b1");
    insta::assert_snapshot!(resolve(&p, "billing", &[]), @"c1");
    insta::assert_snapshot!(resolve(&p, "auth@head", &[]), @"b2");
    insta::assert_snapshot!(resolve(&p, "billing@head", &[]), @"c3");
    insta::assert_snapshot!(resolve(&p, "billing@c2", &[]), @"c2");
    insta::assert_snapshot!(resolve(&p, "billing@c", &[]), @"error: revision `c` is ambiguous: c1, c2, c3");
    insta::assert_snapshot!(resolve(&p, "auth@c2", &[]), @"error: revision `c2` is not on branch `auth`");
    insta::assert_snapshot!(resolve(&p, "auth@a1", &[]), @"a1");
    insta::assert_snapshot!(resolve(&p, "nope@head", &[]), @"error: no revision matches `nope`");
    insta::assert_snapshot!(resolve(&p, "auth+1", &[]), @"b2");
    insta::assert_snapshot!(resolve(&p, "billing+2", &[]), @"c3");
    insta::assert_snapshot!(resolve(&p, "auth-1", &[]), @"a1");
    // Within a branch, from the branch's current revision.
    insta::assert_snapshot!(resolve(&p, "billing@+1", &["b2", "c1"]), @"c2");
    insta::assert_snapshot!(resolve(&p, "billing@+2", &["b2", "c1"]), @"c3");
    insta::assert_snapshot!(resolve(&p, "billing@+3", &["b2", "c1"]), @"error: `billing@+3` goes beyond head `c3`");
    insta::assert_snapshot!(resolve(&p, "billing@-1", &["b2", "c2"]), @"c1");
    insta::assert_snapshot!(resolve(&p, "auth@-1", &["b2", "c2"]), @"b1");
    insta::assert_snapshot!(resolve(&p, "auth@-2", &["b2", "c2"]), @"a1");
    // Alembic: a label covers its lineage, ancestors included. With a1
    // applied, one step up is the branch's first revision; from nothing, the
    // base below it; one step down from a1 is base.
    insta::assert_snapshot!(resolve(&p, "auth@+1", &["a1"]), @"b1");
    insta::assert_snapshot!(resolve(&p, "auth@+2", &["a1"]), @"b2");
    insta::assert_snapshot!(resolve(&p, "billing@+1", &[]), @"a1");
    insta::assert_snapshot!(resolve(&p, "auth@-1", &["a1"]), @"base");
    // b1 is applied but no version row: c3 needs it through depends_on.
    insta::assert_snapshot!(resolve(&p, "auth@-1", &["c3"]), @"a1");
    insta::assert_snapshot!(resolve(&p, "auth@+1", &["c3"]), @"b2");
    insta::assert_snapshot!(resolve(&p, "+1", &["b2", "c2"]), @"error: `+1` is ambiguous: the database has several current heads (b2, c2); use `<label>@+1` or `<rev>+1`");
}

// two_bases
//
//       n1
//       |
//       m1
//      /  \
//    a2    x2
//    |     |
//    a1    x1
//   (app)  (audit)
#[test]
fn two_bases_report() {
    insta::assert_snapshot!("two_bases", report("two_bases", &["a2", "x1"]));
}

#[test]
fn two_bases_targets() {
    let p = load("two_bases");
    insta::assert_snapshot!(resolve(&p, "head", &[]), @"n1");
    insta::assert_snapshot!(resolve(&p, "+1", &[]), @"error: `+1` is ambiguous at `base`: it could go to a1 or x1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "app@+1", &[]), @"a1");
    insta::assert_snapshot!(resolve(&p, "audit@+2", &[]), @"x2");
    insta::assert_snapshot!(resolve(&p, "audit@+3", &["x2", "a2"]), @"error: `audit@+3` goes beyond head `n1`");
    insta::assert_snapshot!(resolve(&p, "app@head", &[]), @"n1");
    insta::assert_snapshot!(resolve(&p, "audit@x2", &[]), @"x2");
    insta::assert_snapshot!(resolve(&p, "audit@a2", &[]), @"error: revision `a2` is not on branch `audit`");
    insta::assert_snapshot!(resolve(&p, "-1", &["n1"]), @"m1");
    insta::assert_snapshot!(resolve(&p, "-2", &["n1"]), @"a2, x2");
    insta::assert_snapshot!(resolve(&p, "a1-1", &[]), @"base");
    insta::assert_snapshot!(resolve(&p, "a1-2", &[]), @"error: `a1-2` goes beyond base");
}

// uneven_merge
//
//       m1
//      /  \
//     |    c4
//     |    |
//     |    c3
//     |    |
//     |    c2
//     |    |
//     b1   c1
//      \  /
//       a1
#[test]
fn uneven_merge_report() {
    insta::assert_snapshot!("uneven_merge", report("uneven_merge", &["c2"]));
}

#[test]
fn uneven_merge_targets() {
    let p = load("uneven_merge");
    insta::assert_snapshot!(resolve(&p, "c1+3", &[]), @"c4");
    insta::assert_snapshot!(resolve(&p, "c1+4", &[]), @"m1");
    insta::assert_snapshot!(resolve(&p, "c4-3", &[]), @"c1");
    insta::assert_snapshot!(resolve(&p, "-2", &["c4"]), @"c2");
    insta::assert_snapshot!(resolve(&p, "+1", &["b1", "c4"]), @"error: `+1` is ambiguous: the database has several current heads (b1, c4); use `<label>@+1` or `<rev>+1`");
    insta::assert_snapshot!(resolve(&p, "c", &[]), @"error: revision `c` is ambiguous: c1, c2, c3, c4");
}

#[test]
fn uneven_merge_history_ranges() {
    let p = load("uneven_merge");
    let g = &p.graph;
    let range = |from: Option<&str>, to: Option<&str>| {
        let from = from.map(|id| vec![node(g, id)]);
        let to = to.map(|id| vec![node(g, id)]);
        ids(g, &g.history_range(from.as_deref(), to.as_deref()))
    };
    insta::assert_snapshot!(range(Some("c2"), None), @"m1, c4, c3, c2");
    insta::assert_snapshot!(range(Some("c2"), Some("c4")), @"c4, c3, c2");
    insta::assert_snapshot!(range(None, Some("c2")), @"c2, c1, a1");
    insta::assert_snapshot!(range(Some("b1"), Some("m1")), @"m1, b1");
    insta::assert_snapshot!(range(Some("b1"), Some("c4")), @"(none)");
}

// downgrade_to_branch_point: three branches left open
//
//   c2
//   |
//   c1   d1 : e2     e2 depends_on d1
//   |    |    |
//   |    |    e1
//    \   |   /
//        b1
//        |
//        a1
#[test]
fn downgrade_to_branch_point_report() {
    insta::assert_snapshot!(
        "downgrade_to_branch_point",
        report("downgrade_to_branch_point", &["c1", "d1", "e1"])
    );
}

#[test]
fn downgrade_to_branch_point_targets() {
    let p = load("downgrade_to_branch_point");
    insta::assert_snapshot!(resolve(&p, "head", &[]), @"error: there are 3 heads (c2, d1, e2); name one, or use `heads`, `<label>@head` or `rev merge`");
    insta::assert_snapshot!(resolve(&p, "heads", &[]), @"c2, e2");
    insta::assert_snapshot!(resolve(&p, "b1@head", &[]), @"error: several heads descend from `b1`: c2, d1, e2; name one of them");
    insta::assert_snapshot!(resolve(&p, "c1@head", &[]), @"c2");
    insta::assert_snapshot!(resolve(&p, "e", &[]), @"error: revision `e` is ambiguous: e1, e2");
    insta::assert_snapshot!(resolve(&p, "+1", &["b1"]), @"error: `+1` is ambiguous at `b1`: it could go to c1 or d1 or e1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "-1", &["c2", "d1", "e2"]), @"error: `-1` is ambiguous: the database has several current heads (c2, d1, e2); use `<label>@-1` or `<rev>-1`");
    insta::assert_snapshot!(resolve(&p, "c2-2", &[]), @"b1");
    // Relative steps within a branch start from its applied tip, a version row or not.
    insta::assert_snapshot!(resolve(&p, "b1@+1", &["c2", "d1", "e2"]), @"error: `b1@+1` is ambiguous: the database has several current heads (c2, d1, e2); use `<label>@+1` or `<rev>+1`");
    insta::assert_snapshot!(resolve(&p, "c1@-1", &["c2", "e2"]), @"c1");
    insta::assert_snapshot!(resolve(&p, "d1@-1", &["c2", "e2"]), @"b1");
    insta::assert_snapshot!(resolve(&p, "e1@+1", &["c2", "d1"]), @"e1");
}

// redundant_parent: m1 names b1, c1 and d1, but c1 already descends from b1
//
//       m1
//      /  \
//    c1    \
//    |      \
//    b1     d1
//      \   /
//       a1
#[test]
fn redundant_parent_report() {
    insta::assert_snapshot!("redundant_parent", report("redundant_parent", &["b1"]));
}

#[test]
fn redundant_parent_targets() {
    let p = load("redundant_parent");
    insta::assert_snapshot!(resolve(&p, "b1+1", &[]), @"error: `b1+1` is ambiguous at `b1`: it could go to c1 or m1; name the revision instead");
    insta::assert_snapshot!(resolve(&p, "m1-1", &[]), @"b1, c1, d1");
    insta::assert_snapshot!(resolve(&p, "head", &[]), @"m1");
}

#[test]
fn targets_that_do_not_parse() {
    let p = load("diamond");
    insta::assert_snapshot!(resolve(&p, "", &[]), @"error: invalid target ``: a revision id, prefix or branch label is missing");
    insta::assert_snapshot!(resolve(&p, "+0", &[]), @"error: invalid target `+0`: a relative step must move at least one revision");
    insta::assert_snapshot!(resolve(&p, "a1+x", &[]), @"error: invalid target `a1+x`: `+x` is not a relative step like +2 or -1");
    insta::assert_snapshot!(resolve(&p, "@head", &[]), @"error: invalid target `@head`: a revision id, prefix or branch label is missing");
    insta::assert_snapshot!(resolve(&p, "a-b", &[]), @"error: invalid target `a-b`: `-b` is not a relative step like +2 or -1");
}

/// Loads a temporary project holding these migration files and returns the
/// load error, with the temporary directory shown as `<tmp>`.
fn load_error(config: &str, files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let versions = dir.path().join("migrations").join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(dir.path().join("rev.ron"), config).unwrap();
    for (name, text) in files {
        std::fs::write(versions.join(name), text).unwrap();
    }
    let err = Project::load(&dir.path().join("rev.ron")).unwrap_err();
    err.to_string()
        .replace(&dir.path().display().to_string(), "<tmp>")
}

/// Returns a migration file's text with these fields after `id`.
fn migration(id: &str, rest: &str) -> String {
    format!("Migration(\n    id: \"{id}\",\n{rest}    upgrade: [],\n)\n")
}

const CONFIG: &str = "Config()\n";

#[test]
fn malformed_ron_names_file_line_and_column() {
    let text = "Migration(\n    id: \"a1\",\n    parents: [\"x\" \"y\"],\n    upgrade: [],\n)\n";
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", text)]), @"<tmp>/migrations/versions/a1_a.ron:3:19: Expected comma");
    let text = "Migration(\n    id: \"a1\",\n    parent: [],\n)\n";
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", text)]), @"<tmp>/migrations/versions/a1_a.ron:3:5: Unexpected field named `parent` in `Migration`, expected one of `id`, `parents`, `message`, `created`, `branch_labels`, `depends_on`, `transactional`, `replaces`, `upgrade`, `downgrade`, or `acknowledged` instead");
    let text = "Migration(\n    id: \"a1\",\n    upgrade: [\n        CreateTable(name: \"t\", columns: [Column(name: \"id\", type: Integr)]),\n    ],\n)\n";
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", text)]), @"<tmp>/migrations/versions/a1_a.ron:4:67: Unexpected variant named `Integr` in enum `ColumnType`, expected one of `Integer`, `BigInt`, `SmallInt`, `Boolean`, `String`, `Text`, `Decimal`, `Float`, `Date`, `Time`, `DateTime`, `DateTimeTz`, `Uuid`, `Binary`, `Blob`, `Json`, or `Custom` instead");
    let text = "Migration(\n    id: \"a1\",\n";
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", text)]), @"<tmp>/migrations/versions/a1_a.ron:2:14: Unexpected end of RON");
    insta::assert_snapshot!(load_error("Config(\n    migrations: 3,\n)\n", &[]), @"<tmp>/rev.ron:2:17: Expected string");
    // A value of the wrong type is pointed at, not the blank before it.
    let text = "Migration(\n    id: \"a1\",\n    transactional: \"no\",\n)\n";
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", text)]), @"<tmp>/migrations/versions/a1_a.ron:3:20: Expected boolean");
}

#[test]
fn graph_errors_name_file_line_and_column() {
    let a1 = migration("a1", "    parents: [],\n");
    // Missing parent.
    let b1 = migration("b1", "    parents: [\"a1\", \"zz\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:3:21: revision `b1` names parent `zz`, which does not exist");
    // Duplicate id, in two files.
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("a1_again.ron", &a1)]), @"<tmp>/migrations/versions/a1_again.ron:2:9: revision id `a1` is declared twice (also in <tmp>/migrations/versions/a1_a.ron)");
    // Cycle through parents.
    let x1 = migration("x1", "    parents: [\"y1\"],\n");
    let y1 = migration("y1", "    parents: [\"x1\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("x1_x.ron", &x1), ("y1_y.ron", &y1)]), @"<tmp>/migrations/versions/x1_x.ron:3:5: revisions form a cycle through parents or depends_on: x1 -> y1 -> x1 (each needs the next)");
    // Cycle through depends_on.
    let b1 = migration("b1", "    parents: [\"a1\"],\n    depends_on: [\"c1\"],\n");
    let c1 = migration("c1", "    parents: [\"b1\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1), ("c1_c.ron", &c1)]), @"<tmp>/migrations/versions/b1_b.ron:3:5: revisions form a cycle through parents or depends_on: b1 -> c1 -> b1 (each needs the next)");
    // Unknown and ambiguous depends_on.
    let b1 = migration(
        "b1",
        "    parents: [\"a1\"],\n    depends_on: [\"nothere\"],\n",
    );
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:4:18: revision `b1` depends on `nothere`, which is no revision id, id prefix or branch label");
    let b1 = migration("b1", "    parents: [\"a1\"],\n");
    let b2 = migration("b2", "    parents: [\"a1\"],\n");
    let c1 = migration("c1", "    parents: [\"a1\"],\n    depends_on: [\"b\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1), ("b2_b.ron", &b2), ("c1_c.ron", &c1)]), @"<tmp>/migrations/versions/c1_c.ron:4:18: revision `c1` depends on `b`, which is ambiguous: b1, b2");
    // Bad branch labels: a keyword, bad characters, the same label twice.
    let b1 = migration(
        "b1",
        "    parents: [\"a1\"],\n    branch_labels: [\"heads\"],\n",
    );
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:4:21: branch label `heads` on revision `b1` is reserved: `heads` is a target keyword");
    let b1 = migration(
        "b1",
        "    parents: [\"a1\"],\n    branch_labels: [\"my-branch\"],\n",
    );
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:4:21: branch label `my-branch` on revision `b1` is invalid: use 1 to 32 characters of [A-Za-z0-9_]");
    let b1 = migration(
        "b1",
        "    parents: [\"a1\"],\n    branch_labels: [\"auth\"],\n",
    );
    let c1 = migration(
        "c1",
        "    parents: [\"a1\"],\n    message: \"x\",\n    branch_labels: [\"auth\"],\n",
    );
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1), ("c1_c.ron", &c1)]), @"<tmp>/migrations/versions/c1_c.ron:5:21: branch label `auth` on revision `c1` is already on revision `b1`");
    // Bad ids and parents.
    let bad = migration("bad-id", "    parents: [],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("bad.ron", &bad)]), @"<tmp>/migrations/versions/bad.ron:2:9: revision id `bad-id` is invalid: use 1 to 32 characters of [A-Za-z0-9_]");
    let b1 = migration("b1", "    parents: [\"a1\", \"a1\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("a1_a.ron", &a1), ("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:3:15: revision `b1` names parent `a1` twice");
    let b1 = migration("b1", "    parents: [\"b1\"],\n");
    insta::assert_snapshot!(load_error(CONFIG, &[("b1_b.ron", &b1)]), @"<tmp>/migrations/versions/b1_b.ron:3:15: revision `b1` names parent `b1` although it is the revision itself");
}
