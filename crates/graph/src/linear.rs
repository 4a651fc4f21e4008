//! Linear runs: the revisions `rev squash FROM:TO` may fold into one.

use crate::{Graph, NodeIndex};

/// Why `FROM..TO` is not a run of revisions one squash can replace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// FROM and TO are one revision.
    #[error("the range {from}:{from} holds one revision; a squash replaces two or more")]
    OneRevision {
        /// The revision.
        from: String,
    },
    /// FROM is not an ancestor of TO.
    #[error("{from} is not an ancestor of {to}{}", if *.after { format!(" ({to} comes before {from}: write the older revision first)") } else { String::new() })]
    NotAncestor {
        /// The range's start.
        from: String,
        /// The range's end.
        to: String,
        /// Whether TO is an ancestor of FROM (the ends are swapped).
        after: bool,
    },
    /// A revision after FROM has several parents.
    #[error("the range crosses the merge {revision} (parents {}); a squash replaces a linear run", parents.join(", "))]
    Merge {
        /// The merge.
        revision: String,
        /// Its parents.
        parents: Vec<String>,
    },
    /// A revision before TO has several children.
    #[error("the range is not linear: {revision} is a branch point (children {}); a squash replaces a linear run", children.join(", "))]
    BranchPoint {
        /// The branch point.
        revision: String,
        /// Its children.
        children: Vec<String>,
    },
    /// A revision outside the run `depends_on` a revision inside it other than TO.
    #[error("{dependent} depends on {revision}, inside the range: after the squash, nothing would stand for {revision} alone")]
    DependedOn {
        /// The revision inside the run.
        revision: String,
        /// The revision that depends on it.
        dependent: String,
    },
}

impl Graph {
    /// Returns the revisions from `from` to `to`, oldest first, when they form
    /// a run one squash can replace: `from` an ancestor of `to`, every revision
    /// after `from` with exactly one parent (the one before it), every
    /// revision before `to` with exactly one child (the one after it), and no
    /// revision outside the run depending on one inside it but `to` (which the
    /// squash stands for). `from` may itself be a merge: the squash takes its parents.
    pub fn linear_run(&self, from: NodeIndex, to: NodeIndex) -> Result<Vec<NodeIndex>, RunError> {
        if from == to {
            return Err(RunError::OneRevision {
                from: self.id(from).to_owned(),
            });
        }
        if !self.is_ancestor_or_self(from, to) {
            return Err(RunError::NotAncestor {
                from: self.id(from).to_owned(),
                to: self.id(to).to_owned(),
                after: self.is_ancestor_or_self(to, from),
            });
        }
        let mut run = vec![to];
        let mut node = to;
        while node != from {
            let parent = match self.parents(node) {
                [parent] => *parent,
                parents => {
                    return Err(RunError::Merge {
                        revision: self.id(node).to_owned(),
                        parents: self.ids(parents),
                    })
                }
            };
            if self.children(parent) != [node] {
                return Err(RunError::BranchPoint {
                    revision: self.id(parent).to_owned(),
                    children: self.ids(self.children(parent)),
                });
            }
            run.push(parent);
            node = parent;
        }
        run.reverse();
        for &member in run.iter().filter(|&&m| m != to) {
            if let Some(&dependent) = self.dependents(member).iter().find(|d| !run.contains(d)) {
                return Err(RunError::DependedOn {
                    revision: self.id(member).to_owned(),
                    dependent: self.id(dependent).to_owned(),
                });
            }
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::RunError;
    use crate::{Graph, RevisionSpec};

    fn graph(revs: &[(&str, &[&str], &[&str])]) -> Graph {
        let specs: Vec<RevisionSpec> = revs
            .iter()
            .map(|(id, parents, depends)| RevisionSpec {
                id: (*id).to_owned(),
                parents: parents.iter().map(|p| (*p).to_owned()).collect(),
                depends_on: depends.iter().map(|p| (*p).to_owned()).collect(),
                branch_labels: Vec::new(),
            })
            .collect();
        Graph::build(&specs).unwrap()
    }

    fn run(g: &Graph, from: &str, to: &str) -> Result<Vec<String>, RunError> {
        let (from, to) = (g.get(from).unwrap(), g.get(to).unwrap());
        g.linear_run(from, to).map(|run| g.ids(&run))
    }

    #[test]
    fn linear_runs_and_what_breaks_them() {
        //   a ─ b ─ c ─ d ─ m ─ n
        //   │    \         /
        //   y     x ──────┘      y depends on d
        let g = graph(&[
            ("a", &[], &[]),
            ("b", &["a"], &[]),
            ("c", &["b"], &[]),
            ("d", &["c"], &[]),
            ("x", &["b"], &[]),
            ("m", &["d", "x"], &[]),
            ("n", &["m"], &[]),
            ("y", &["a"], &["d"]),
        ]);
        assert_eq!(run(&g, "c", "d").unwrap(), ["c", "d"]);
        assert!(matches!(
            run(&g, "d", "d"),
            Err(RunError::OneRevision { .. })
        ));
        assert!(matches!(
            run(&g, "d", "c"),
            Err(RunError::NotAncestor { after: true, .. })
        ));
        assert!(matches!(
            run(&g, "x", "d"),
            Err(RunError::NotAncestor { after: false, .. })
        ));
        assert!(
            matches!(run(&g, "c", "n"), Err(RunError::Merge { ref revision, .. }) if revision == "m")
        );
        // A merge at FROM is fine: the squash takes its parents.
        assert_eq!(run(&g, "m", "n").unwrap(), ["m", "n"]);
        assert!(
            matches!(run(&g, "a", "d"), Err(RunError::BranchPoint { ref revision, .. }) if revision == "b")
        );
        assert!(
            matches!(run(&g, "b", "d"), Err(RunError::BranchPoint { ref revision, .. }) if revision == "b")
        );
        let g = graph(&[
            ("a", &[], &[]),
            ("b", &["a"], &[]),
            ("c", &["b"], &[]),
            ("y", &[], &["b"]),
            ("z", &[], &["c"]),
        ]);
        assert!(
            matches!(run(&g, "a", "c"), Err(RunError::DependedOn { ref dependent, .. }) if dependent == "y")
        );
        assert_eq!(
            run(&g, "b", "c").err(),
            Some(RunError::DependedOn {
                revision: "b".into(),
                dependent: "y".into()
            })
        );
    }
}
