//! Property tests of upgrade and downgrade plans on random DAGs.
//!
//! The model below reads DESIGN.md §3 literally over the declared revisions
//! (declared parents, redundant ones included, and depends_on), in creation
//! order, which is topological because every revision only names earlier ones.
//! The exact order of the steps is Alembic's, checked against Alembic itself by
//! the conformance run and the graph's unit tests; here any order that honours
//! the needs passes.
//! It shares nothing with the engine but the input, so agreement means
//! something: the engine walks petgraph indexes in id order, and the ids are a
//! random permutation of the creation order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use rev_graph::{
    Graph, NodeIndex, Plan, PlanDirection, PlanError, ResolveError, Resolved, RevisionSpec, Target,
};

/// A random DAG as declared, indexed by creation order.
#[derive(Debug, Clone)]
struct Model {
    ids: Vec<String>,
    parents: Vec<Vec<usize>>,
    depends_on: Vec<Vec<usize>>,
}

impl Model {
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Returns what `x` needs applied first: its declared parents and dependencies.
    fn needs(&self, x: usize) -> impl Iterator<Item = usize> + '_ {
        self.parents[x].iter().chain(&self.depends_on[x]).copied()
    }

    fn specs(&self) -> Vec<RevisionSpec> {
        (0..self.len())
            .map(|x| RevisionSpec {
                id: self.ids[x].clone(),
                parents: self.parents[x]
                    .iter()
                    .map(|&p| self.ids[p].clone())
                    .collect(),
                depends_on: self.depends_on[x]
                    .iter()
                    .map(|&d| self.ids[d].clone())
                    .collect(),
                branch_labels: Vec::new(),
            })
            .collect()
    }

    /// Returns the parents of `x` that no other parent of `x` descends from
    /// (a redundant parent adds nothing to what must run first).
    fn effective_parents(&self, x: usize) -> Vec<usize> {
        let ancestors = |q: usize| {
            let mut seen = vec![false; self.len()];
            let mut todo = self.parents[q].clone();
            while let Some(a) = todo.pop() {
                if !seen[a] {
                    seen[a] = true;
                    todo.extend(&self.parents[a]);
                }
            }
            seen
        };
        let declared = &self.parents[x];
        declared
            .iter()
            .copied()
            .filter(|&p| !declared.iter().any(|&q| q != p && ancestors(q)[p]))
            .collect()
    }

    /// Returns the roots and everything they need.
    fn closure(&self, roots: impl IntoIterator<Item = usize>) -> Vec<bool> {
        let mut marked = vec![false; self.len()];
        for root in roots {
            marked[root] = true;
        }
        // Needs point to earlier revisions, so one backward pass closes the set.
        for x in (0..self.len()).rev() {
            if marked[x] {
                for n in self.needs(x) {
                    marked[n] = true;
                }
            }
        }
        marked
    }

    /// §3: the version rows are the applied revisions no other applied revision needs.
    fn rows(&self, applied: &[bool]) -> BTreeSet<usize> {
        (0..self.len())
            .filter(|&x| applied[x])
            .filter(|&x| !(0..self.len()).any(|y| applied[y] && self.needs(y).any(|n| n == x)))
            .collect()
    }

    /// §3: a downgrade to `target` un-applies every applied revision descending
    /// from it through parents (not itself), and every applied revision that
    /// needs one being un-applied; `None` (base) un-applies everything.
    fn downgrade_set(&self, applied: &[bool], target: Option<usize>) -> Vec<bool> {
        let Some(t) = target else {
            return applied.to_vec();
        };
        let mut descends = vec![false; self.len()];
        let mut remove = vec![false; self.len()];
        for x in 0..self.len() {
            descends[x] = self.parents[x].iter().any(|&p| p == t || descends[p]);
            remove[x] = applied[x] && (descends[x] || self.needs(x).any(|n| remove[n]));
        }
        remove
    }
}

/// Builds a random DAG of up to `max` revisions: mostly one parent, some new
/// bases, some merges of two or three earlier revisions (related ones too),
/// and a `depends_on` on about one revision in four.
fn model(max: usize) -> impl Strategy<Value = Model> {
    (1..=max).prop_flat_map(|n| {
        let shape = (
            0u8..10,
            proptest::collection::vec(any::<Index>(), 3),
            0u8..4,
            any::<Index>(),
        );
        let ids: Vec<usize> = (0..n).collect();
        (
            proptest::collection::vec(shape, n),
            Just(ids).prop_shuffle(),
        )
            .prop_map(|(shapes, perm)| {
                let mut parents = Vec::with_capacity(shapes.len());
                let mut depends_on = Vec::with_capacity(shapes.len());
                for (x, (kind, picks, dep_roll, dep)) in shapes.into_iter().enumerate() {
                    let count = match kind {
                        _ if x == 0 => 0,
                        0 => 0,
                        1..=6 => 1,
                        7 | 8 => 2,
                        _ => 3,
                    };
                    let mut ps: Vec<usize> = picks.iter().take(count).map(|i| i.index(x)).collect();
                    ps.sort_unstable();
                    ps.dedup();
                    parents.push(ps);
                    depends_on.push(if x > 0 && dep_roll == 0 {
                        vec![dep.index(x)]
                    } else {
                        Vec::new()
                    });
                }
                Model {
                    ids: perm.iter().map(|p| format!("r{p:02}")).collect(),
                    parents,
                    depends_on,
                }
            })
    })
}

/// The engine's graph of a model, with the node of each revision.
struct Built {
    graph: Graph,
    node: Vec<NodeIndex>,
    /// The creation index of each node, by node index.
    index: Vec<usize>,
}

fn build(model: &Model) -> Built {
    let graph = Graph::build(&model.specs()).expect("a DAG of earlier parents is valid");
    let node: Vec<NodeIndex> = model.ids.iter().map(|id| graph.get(id).unwrap()).collect();
    let mut index = vec![0; model.len()];
    for (x, n) in node.iter().enumerate() {
        index[n.index()] = x;
    }
    Built { graph, node, index }
}

impl Built {
    fn set(&self, nodes: &[NodeIndex]) -> BTreeSet<usize> {
        nodes.iter().map(|n| self.index[n.index()]).collect()
    }

    fn nodes(&self, set: &BTreeSet<usize>) -> Vec<NodeIndex> {
        set.iter().map(|&x| self.node[x]).collect()
    }
}

/// Replays a plan from `applied`, checking §3 after every step, and returns the
/// applied set it leaves.
fn replay(
    model: &Model,
    built: &Built,
    plan: &Plan,
    direction: PlanDirection,
    applied: &[bool],
) -> Result<Vec<bool>, TestCaseError> {
    let mut applied = applied.to_vec();
    prop_assert_eq!(built.set(&plan.from), model.rows(&applied));
    let after = plan.rows_after_each_step();
    prop_assert_eq!(after.len(), plan.steps.len());
    for (step, rows) in plan.steps.iter().zip(after) {
        prop_assert_eq!(step.direction, direction);
        let x = built.index[step.revision.index()];
        match direction {
            PlanDirection::Upgrade => {
                prop_assert!(!applied[x], "{} applied twice", model.ids[x]);
                for n in model.needs(x) {
                    prop_assert!(applied[n], "{} before {}", model.ids[x], model.ids[n]);
                }
                applied[x] = true;
            }
            PlanDirection::Downgrade => {
                prop_assert!(applied[x], "{} is not applied", model.ids[x]);
                for y in (0..model.len()).filter(|&y| applied[y]) {
                    prop_assert!(
                        !model.needs(y).any(|n| n == x),
                        "{} un-applied before {}, which needs it",
                        model.ids[x],
                        model.ids[y]
                    );
                }
                applied[x] = false;
            }
        }
        check_rows(model, built, &rows, &applied, direction, &model.ids[x])?;
    }
    check_rows(model, built, &plan.to, &applied, direction, "the end")?;
    Ok(applied)
}

/// Upgrades from the rows of §3 keep them (the applied revisions nothing
/// applied needs); after a downgrade, Alembic's rules may keep a row that
/// another row needs (an un-merge next to another branch brings back every
/// down revision no other row needs), so the rows only have to stand for
/// exactly the applied revisions.
fn check_rows(
    model: &Model,
    built: &Built,
    rows: &[NodeIndex],
    applied: &[bool],
    direction: PlanDirection,
    at: &str,
) -> Result<(), TestCaseError> {
    let rows = built.set(rows);
    match direction {
        PlanDirection::Upgrade => prop_assert_eq!(rows, model.rows(applied), "after {}", at),
        PlanDirection::Downgrade => {
            prop_assert!(model.rows(applied).is_subset(&rows), "after {}", at);
            prop_assert_eq!(
                model.closure(rows.iter().copied()),
                applied.to_vec(),
                "after {}",
                at
            );
        }
    }
    Ok(())
}

fn check_upgrade(
    model: &Model,
    built: &Built,
    applied: &[bool],
    targets: &[usize],
) -> Result<(), TestCaseError> {
    let rows = built.nodes(&model.rows(applied));
    let target = Resolved::Revisions(targets.iter().map(|&t| built.node[t]).collect());
    let plan = built.graph.plan_upgrade(&rows, &target);
    let after = replay(model, built, &plan, PlanDirection::Upgrade, applied)?;
    // Exactly the missing ancestors: the closure of the targets added to what was there.
    let wanted = model.closure(targets.iter().copied());
    for x in 0..model.len() {
        prop_assert_eq!(
            after[x],
            applied[x] || wanted[x],
            "revision {}",
            model.ids[x]
        );
    }
    Ok(())
}

fn check_downgrade(
    model: &Model,
    built: &Built,
    applied: &[bool],
    target: Option<usize>,
) -> Result<(), TestCaseError> {
    let rows = built.nodes(&model.rows(applied));
    let resolved = match target {
        None => Resolved::Base,
        Some(t) => Resolved::Revisions(vec![built.node[t]]),
    };
    let plan = built
        .graph
        .plan_downgrade(&rows, &resolved)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let after = replay(model, built, &plan, PlanDirection::Downgrade, applied)?;
    let remove = model.downgrade_set(applied, target);
    for x in 0..model.len() {
        prop_assert_eq!(
            after[x],
            applied[x] && !remove[x],
            "revision {}",
            model.ids[x]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn plans_follow_the_design(
        model in model(40),
        picks in proptest::collection::vec(any::<bool>(), 40),
        up in any::<Index>(),
        down in any::<Index>(),
    ) {
        let built = build(&model);
        let n = model.len();
        let applied = model.closure((0..n).filter(|&x| picks[x]));
        let heads: Vec<usize> = (0..n)
            .filter(|&x| !(0..n).any(|y| model.parents[y].contains(&x)))
            .collect();
        prop_assert_eq!(built.set(&built.graph.heads()), heads.iter().copied().collect::<BTreeSet<_>>());

        check_upgrade(&model, &built, &applied, &heads)?;
        check_upgrade(&model, &built, &vec![false; n], &heads)?;
        check_upgrade(&model, &built, &applied, &[up.index(n)])?;

        check_downgrade(&model, &built, &applied, None)?;
        let applied_ids: Vec<usize> = (0..n).filter(|&x| applied[x]).collect();
        if !applied_ids.is_empty() {
            let t = applied_ids[down.index(applied_ids.len())];
            check_downgrade(&model, &built, &applied, Some(t))?;
        }
        let missing: Vec<usize> = (0..n).filter(|&x| !applied[x]).collect();
        if !missing.is_empty() {
            let t = missing[down.index(missing.len())];
            let rows = built.nodes(&model.rows(&applied));
            let result = built.graph.plan_downgrade(&rows, &Resolved::Revisions(vec![built.node[t]]));
            prop_assert_eq!(result, Err(PlanError::NotApplied(model.ids[t].clone())));
        }
    }

    #[test]
    fn parents_stay_as_declared_and_history_follows_needs(model in model(40)) {
        let built = build(&model);
        for x in 0..model.len() {
            let parents: Vec<usize> = built
                .graph
                .parents(built.node[x])
                .iter()
                .map(|n| built.index[n.index()])
                .collect();
            prop_assert_eq!(&parents, &model.parents[x], "parents of {}", model.ids[x]);
            let redundant = model.parents[x].len() - model.effective_parents(x).len();
            let reported = built
                .graph
                .redundant_parents()
                .iter()
                .filter(|r| r.revision == model.ids[x])
                .count();
            prop_assert_eq!(reported, redundant, "redundant parents of {}", model.ids[x]);
        }
        let history = built.graph.history_order();
        prop_assert_eq!(history.len(), model.len());
        let mut seen = vec![false; model.len()];
        // Newest first: walking it backwards, each revision comes after its needs.
        for node in history.iter().rev() {
            let x = built.index[node.index()];
            prop_assert!(!seen[x]);
            for n in model.needs(x) {
                prop_assert!(seen[n], "{} listed before {}", model.ids[x], model.ids[n]);
            }
            seen[x] = true;
        }
        let drawing = rev_graph::render_ascii(&built.graph, &history, |n| built.graph.id(n).to_owned());
        prop_assert_eq!(drawing.matches('*').count(), model.len());
    }
}

/// What a relative step resolves to, in creation indexes: a revision, base,
/// or the kind of error.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    At(usize),
    /// The parents of a merge, sorted by creation index.
    Parents(Vec<usize>),
    Base,
    Fork,
    Beyond,
    NothingApplied,
    SeveralTips,
}

/// Walks `steps` from `x` by the §3 rules: up through children, down through
/// (effective) parents, refusing to choose at a fork.
fn naive_step(model: &Model, x: usize, steps: i64) -> Step {
    naive_walk(model, Some(x), steps)
}

/// Walks `steps` from `at`; `None` stands for base, below which nothing lies.
/// The last step down from a merge lands on all its parents.
fn naive_walk(model: &Model, at: Option<usize>, steps: i64) -> Step {
    naive_walk_within(model, at, steps, &vec![true; model.len()])
}

/// Like [`naive_walk`], going up only into revisions `within` accepts
/// (and from base, into its bases).
fn naive_walk_within(model: &Model, mut at: Option<usize>, steps: i64, within: &[bool]) -> Step {
    let count = steps.unsigned_abs();
    for taken in 0..count {
        let next: Vec<usize> = match (at, steps > 0) {
            (Some(a), true) => (0..model.len())
                .filter(|&y| model.parents[y].contains(&a) && within[y])
                .collect(),
            (None, true) => (0..model.len())
                .filter(|&y| model.parents[y].is_empty() && within[y])
                .collect(),
            (Some(a), false) => model.parents[a].clone(),
            (None, false) => return Step::Beyond,
        };
        at = match next.as_slice() {
            [one] => Some(*one),
            [] if steps < 0 => None,
            [] => return Step::Beyond,
            _ if steps < 0 && taken + 1 == count => {
                let mut parents = next.clone();
                parents.sort_unstable();
                return Step::Parents(parents);
            }
            _ => return Step::Fork,
        };
    }
    at.map_or(Step::Base, Step::At)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn relative_steps_walk_one_path_or_name_the_fork(
        model in model(30),
        from in any::<Index>(),
        steps in (1i64..5).prop_flat_map(|n| prop_oneof![Just(n), Just(-n)]),
    ) {
        let built = build(&model);
        let x = from.index(model.len());
        let sign = if steps > 0 { "+" } else { "" };
        let text = format!("{}{sign}{steps}", model.ids[x]);
        let target = Target::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = match built.graph.resolve(&target, &[]) {
            Ok(Resolved::Revisions(nodes)) if nodes.len() == 1 => Step::At(built.index[nodes[0].index()]),
            Ok(Resolved::Revisions(nodes)) => Step::Parents(built.set(&nodes).into_iter().collect()),
            Ok(Resolved::Base) => Step::Base,
            Err(ResolveError::AmbiguousStep { .. }) => Step::Fork,
            Err(ResolveError::OutOfRange { .. }) => Step::Beyond,
            other => return Err(TestCaseError::fail(format!("{text}: {other:?}"))),
        };
        prop_assert_eq!(got, naive_step(&model, x, steps), "{}", text);
    }

    #[test]
    fn branch_steps_start_from_the_branch_tip(
        model in model(30),
        picks in proptest::collection::vec(any::<bool>(), 30),
        from in any::<Index>(),
        steps in (1i64..4).prop_flat_map(|n| prop_oneof![Just(n), Just(-n)]),
    ) {
        let built = build(&model);
        let n = model.len();
        let x = from.index(n);
        let applied = model.closure((0..n).filter(|&y| picks[y]));
        let rows = built.nodes(&model.rows(&applied));
        let children = |a: usize| -> Vec<usize> {
            (0..n).filter(|&y| model.parents[y].contains(&a)).collect()
        };
        // Alembic: the branch's lineage is x, its ancestors and its
        // descendants through parents; the walk starts at the current rows on
        // it, else (up) at the applied revisions of it that no other applied
        // one of it needs, or (down) at those with no applied child.
        let mut up = vec![false; n];
        up[x] = true;
        for y in x + 1..n {
            up[y] = model.parents[y].iter().any(|&p| up[p]);
        }
        let mut down = vec![false; n];
        down[x] = true;
        for y in (0..=x).rev() {
            if down[y] {
                for &p in &model.parents[y] {
                    down[p] = true;
                }
            }
        }
        let lineage: Vec<bool> = (0..n).map(|y| up[y] || down[y]).collect();
        let row_set = model.rows(&applied);
        let mut here: Vec<usize> = row_set.iter().copied().filter(|&y| lineage[y]).collect();
        if here.is_empty() {
            let on = |y: usize| applied[y] && lineage[y];
            here = if steps > 0 {
                (0..n)
                    .filter(|&y| on(y) && !(0..n).any(|z| on(z) && model.needs(z).any(|w| w == y)))
                    .collect()
            } else {
                (0..n)
                    .filter(|&y| on(y) && !children(y).iter().any(|&c| applied[c]))
                    .collect()
            };
        }
        let within = if steps > 0 { lineage.clone() } else { vec![true; n] };
        let expected = match here.as_slice() {
            [one] => naive_walk_within(&model, Some(*one), steps, &within),
            [] if steps > 0 => naive_walk_within(&model, None, steps, &within),
            [] => Step::NothingApplied,
            _ => Step::SeveralTips,
        };
        let sign = if steps > 0 { "+" } else { "" };
        let text = format!("{}@{sign}{steps}", model.ids[x]);
        let target = Target::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = match built.graph.resolve(&target, &rows) {
            Ok(Resolved::Revisions(nodes)) if nodes.len() == 1 => Step::At(built.index[nodes[0].index()]),
            Ok(Resolved::Revisions(nodes)) => Step::Parents(built.set(&nodes).into_iter().collect()),
            Ok(Resolved::Base) => Step::Base,
            Err(ResolveError::AmbiguousStep { .. }) => Step::Fork,
            Err(ResolveError::OutOfRange { .. }) => Step::Beyond,
            Err(ResolveError::BranchNotApplied(_)) => Step::NothingApplied,
            Err(ResolveError::SeveralCurrent { .. }) => Step::SeveralTips,
            other => return Err(TestCaseError::fail(format!("{text}: {other:?}"))),
        };
        prop_assert_eq!(got, expected, "{}", text);
    }
}
