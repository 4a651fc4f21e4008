//! Target strings come from users: parsing and resolving any of them must
//! return a value or an error, never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use proptest::prelude::*;
use rev_graph::{Graph, RevisionSpec, Target};

fn small_graph() -> Graph {
    //   a1 ── b1 ── m1
    //    └─── c1 ──┘  (c1 carries the label `feat`)
    let spec = |id: &str, parents: &[&str], labels: &[&str]| RevisionSpec {
        id: id.into(),
        parents: parents.iter().map(|p| (*p).into()).collect(),
        depends_on: vec![],
        branch_labels: labels.iter().map(|l| (*l).into()).collect(),
    };
    Graph::build(&[
        spec("a1", &[], &[]),
        spec("b1", &["a1"], &[]),
        spec("c1", &["a1"], &["feat"]),
        spec("m1", &["b1", "c1"], &[]),
    ])
    .unwrap()
}

proptest! {
    #[test]
    fn any_string_parses_or_errors(input in "\\PC{0,40}") {
        let _ = Target::parse(&input);
    }

    #[test]
    fn target_like_strings_resolve_or_error(
        input in "(base|heads|head|a|b1|c|m1|feat|zz)?(@)?(head|feat|b1|[+-][0-9]{1,20})?",
        current in prop::sample::subsequence(vec![0usize, 1, 2, 3], 0..3),
    ) {
        let graph = small_graph();
        let current: Vec<_> = graph.nodes().filter(|n| current.contains(&n.index())).collect();
        if let Ok(target) = Target::parse(&input) {
            // Display gives back a string that parses to the same target.
            prop_assert_eq!(Target::parse(&target.to_string()), Ok(target.clone()));
            if let Ok(resolved) = graph.resolve(&target, &current) {
                let _ = graph.plan_upgrade(&current, &resolved);
                let _ = graph.plan_downgrade(&current, &resolved);
            }
        }
    }
}
