//! Targets: parsing a target string into a [`Target`] (no graph needed), and
//! resolving a `Target` against a graph and the database's current heads.

use std::fmt;

use crate::build::is_valid_id;
use crate::{walk, Graph, NodeIndex};

/// Where a relative step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The database's single current head (`+N`, `-N`).
    Current,
    /// A revision (`<rev>+N`, `<rev>-N`).
    Revision(String),
    /// The current head on a branch (`<label>@+N`, `<label>@-N`).
    Branch(String),
}

/// A parsed target string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Before every revision: `base`.
    Base,
    /// All heads: `heads`.
    Heads,
    /// The only head: `head`.
    Head,
    /// A full id, a unique id prefix or a branch label.
    Revision(String),
    /// The one head descending from a revision or label: `<x>@head`.
    BranchHead(String),
    /// A revision that must lie on a branch: `<label>@<rev>`.
    OnBranch {
        /// The branch label (or revision) that starts the branch.
        branch: String,
        /// The id or id prefix.
        revision: String,
    },
    /// A number of steps up (positive) or down (negative) from an anchor.
    Relative {
        /// Where the steps start.
        anchor: Anchor,
        /// How many steps; never zero.
        steps: i64,
    },
}

/// Why a target string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target `{input}`: {reason}")]
pub struct ParseTargetError {
    /// The string given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Target {
    /// Parses a target string as DESIGN.md §3 defines them.
    pub fn parse(input: &str) -> Result<Target, ParseTargetError> {
        let fail = |reason: &str| ParseTargetError {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let name = |s: &str| -> Result<String, ParseTargetError> {
            if is_valid_id(s) {
                Ok(s.to_owned())
            } else if s.is_empty() {
                Err(fail("a revision id, prefix or branch label is missing"))
            } else {
                Err(fail(
                    "expected base, heads, head, an id, an id prefix, a branch label, <x>@head, <label>@<rev>, +N, -N, <rev>+N or <rev>-N",
                ))
            }
        };
        match input {
            "base" => return Ok(Target::Base),
            "heads" => return Ok(Target::Heads),
            "head" => return Ok(Target::Head),
            _ => {}
        }
        if let Some((branch, rest)) = input.split_once('@') {
            let branch = name(branch)?;
            if rest == "head" {
                return Ok(Target::BranchHead(branch));
            }
            if let Some(steps) = parse_steps(rest).map_err(|r| fail(&r))? {
                return Ok(Target::Relative {
                    anchor: Anchor::Branch(branch),
                    steps,
                });
            }
            return Ok(Target::OnBranch {
                branch,
                revision: name(rest)?,
            });
        }
        if let Some(steps) = parse_steps(input).map_err(|r| fail(&r))? {
            return Ok(Target::Relative {
                anchor: Anchor::Current,
                steps,
            });
        }
        if let Some(at) = input.rfind(['+', '-']) {
            let (base, rest) = input.split_at(at);
            if let Some(steps) = parse_steps(rest).map_err(|r| fail(&r))? {
                return Ok(Target::Relative {
                    anchor: Anchor::Revision(name(base)?),
                    steps,
                });
            }
        }
        Ok(Target::Revision(name(input)?))
    }
}

/// Parses `+N` or `-N`; `Ok(None)` when the text does not start with a sign.
fn parse_steps(text: &str) -> Result<Option<i64>, String> {
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Ok(None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a relative step like +2 or -1"));
    }
    match digits.parse::<i64>() {
        Ok(0) => Err("a relative step must move at least one revision".to_owned()),
        Ok(n) => Ok(Some(sign * n)),
        Err(_) => Err(format!("`{text}` is too large")),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signed = |steps: i64| {
            if steps > 0 {
                format!("+{steps}")
            } else {
                steps.to_string()
            }
        };
        match self {
            Target::Base => f.write_str("base"),
            Target::Heads => f.write_str("heads"),
            Target::Head => f.write_str("head"),
            Target::Revision(r) => f.write_str(r),
            Target::BranchHead(b) => write!(f, "{b}@head"),
            Target::OnBranch { branch, revision } => write!(f, "{branch}@{revision}"),
            Target::Relative { anchor, steps } => match anchor {
                Anchor::Current => f.write_str(&signed(*steps)),
                Anchor::Revision(r) => write!(f, "{r}{}", signed(*steps)),
                Anchor::Branch(b) => write!(f, "{b}@{}", signed(*steps)),
            },
        }
    }
}

/// What a target resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Before every revision.
    Base,
    /// These revisions, sorted by id: several for `heads` (the heads nothing
    /// needs), and for a step down from a merge (its parents).
    Revisions(Vec<NodeIndex>),
}

/// Why a target names no single place in the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No revision has this id, prefix or label.
    #[error("no revision matches `{0}`")]
    Unknown(String),
    /// A prefix matches several revisions.
    #[error("revision `{prefix}` is ambiguous: {}", candidates.join(", "))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// The revisions it matches.
        candidates: Vec<String>,
    },
    /// `head` was asked for but there are several heads.
    #[error("there are {} heads ({}); name one, or use `heads`, `<label>@head` or `rev merge`", heads.len(), heads.join(", "))]
    MultipleHeads {
        /// The heads.
        heads: Vec<String>,
    },
    /// `head` was asked for but there are no revisions.
    #[error("there are no revisions yet")]
    Empty,
    /// `<x>@head` where several heads descend from x.
    #[error("several heads descend from `{from}`: {}; name one of them", heads.join(", "))]
    BranchHeads {
        /// The starting point.
        from: String,
        /// The heads descending from it.
        heads: Vec<String>,
    },
    /// `<label>@<rev>` where the revision is not on that branch.
    #[error("revision `{revision}` is not on branch `{branch}`")]
    NotOnBranch {
        /// The branch.
        branch: String,
        /// The revision.
        revision: String,
    },
    /// A relative step from the database's heads when there are several.
    #[error("`{target}` is ambiguous: the database has several current heads ({}); use `<label>@{steps}` or `<rev>{steps}`", heads.join(", "), steps = signed(*steps))]
    SeveralCurrent {
        /// The target as given.
        target: String,
        /// The steps.
        steps: i64,
        /// The current heads.
        heads: Vec<String>,
    },
    /// A relative step that must choose between several revisions.
    #[error("`{target}` is ambiguous at `{at}`: it could go to {}; name the revision instead", choices.join(" or "))]
    AmbiguousStep {
        /// The target as given.
        target: String,
        /// Where the walk stood.
        at: String,
        /// The revisions it could go to.
        choices: Vec<String>,
    },
    /// A relative step that runs off the graph.
    #[error("`{target}` goes beyond {end}")]
    OutOfRange {
        /// The target as given.
        target: String,
        /// "base" or "head `x`".
        end: String,
    },
    /// `<label>@-N` when nothing on that branch is applied.
    #[error("nothing on branch `{0}` is applied, so there is nothing to step down from")]
    BranchNotApplied(String),
}

fn signed(steps: i64) -> String {
    if steps > 0 {
        format!("+{steps}")
    } else {
        steps.to_string()
    }
}

impl Graph {
    /// Returns the revision a full id, a branch label or a unique id prefix names.
    pub fn find(&self, name: &str) -> Result<NodeIndex, ResolveError> {
        self.find_among(name, |_| true)
    }

    /// Like [`Graph::find`], considering for prefixes only the revisions `keep` accepts.
    fn find_among(
        &self,
        name: &str,
        keep: impl Fn(NodeIndex) -> bool,
    ) -> Result<NodeIndex, ResolveError> {
        if let Some(node) = self.get(name) {
            return Ok(node);
        }
        if let Some(node) = self.label(name) {
            return Ok(node);
        }
        let matches = self.prefix_matches(name, keep);
        match matches.as_slice() {
            [] => Err(ResolveError::Unknown(name.to_owned())),
            [only] => Ok(*only),
            many => Err(ResolveError::Ambiguous {
                prefix: name.to_owned(),
                candidates: self.ids(many),
            }),
        }
    }

    /// Returns the revisions whose id starts with `prefix`, in id order.
    fn prefix_matches(&self, prefix: &str, keep: impl Fn(NodeIndex) -> bool) -> Vec<NodeIndex> {
        let nodes = &self.nodes;
        let start = nodes.partition_point(|n| n.id.as_str() < prefix);
        (start..nodes.len())
            .take_while(|&k| nodes.get(k).is_some_and(|n| n.id.starts_with(prefix)))
            .map(NodeIndex::new)
            .filter(|&n| keep(n))
            .collect()
    }

    /// Returns the revisions that are applied when these are the version rows:
    /// the rows and everything they need.
    pub fn applied_set(&self, rows: &[NodeIndex]) -> Vec<bool> {
        walk::closure_down(self, rows)
    }

    /// Resolves a target. `current` is the database's version rows (needed only
    /// by relative targets).
    pub fn resolve(
        &self,
        target: &Target,
        current: &[NodeIndex],
    ) -> Result<Resolved, ResolveError> {
        match target {
            Target::Base => Ok(Resolved::Base),
            // Alembic's `heads`: the heads nothing needs. A head that another
            // revision names in depends_on comes with that revision.
            Target::Heads => Ok(Resolved::Revisions(self.real_heads())),
            Target::Head => match self.heads().as_slice() {
                [] => Err(ResolveError::Empty),
                [one] => Ok(Resolved::Revisions(vec![*one])),
                many => Err(ResolveError::MultipleHeads {
                    heads: self.ids(many),
                }),
            },
            Target::Revision(name) => Ok(Resolved::Revisions(vec![self.find(name)?])),
            Target::BranchHead(name) => {
                let from = self.find(name)?;
                Ok(Resolved::Revisions(vec![self.branch_head(from)?]))
            }
            Target::OnBranch { branch, revision } if revision == "base" => {
                // `<label>@base`: before the branch; a downgrade takes the branch
                // tip from [`Graph::branch_tip`].
                self.find(branch)?;
                Ok(Resolved::Base)
            }
            Target::OnBranch { branch, revision } => {
                let start = self.find(branch)?;
                let on_branch = self.lineage(start);
                let keep = |n: NodeIndex| on_branch.get(n.index()).copied().unwrap_or(false);
                let node = self.find_among(revision, keep)?;
                if keep(node) {
                    Ok(Resolved::Revisions(vec![node]))
                } else {
                    Err(ResolveError::NotOnBranch {
                        branch: branch.clone(),
                        revision: revision.clone(),
                    })
                }
            }
            Target::Relative { anchor, steps } => {
                let (start, steps) = self.relative_start(target, anchor, *steps, current)?;
                self.step(target, start, steps)
            }
        }
    }

    /// Returns the one head that descends from (or is) `from`.
    fn branch_head(&self, from: NodeIndex) -> Result<NodeIndex, ResolveError> {
        let reach = walk::closure_up_parents(self, &[from]);
        let heads: Vec<NodeIndex> = self
            .heads()
            .into_iter()
            .filter(|h| reach.get(h.index()).copied().unwrap_or(false))
            .collect();
        match heads.as_slice() {
            [one] => Ok(*one),
            many => Err(ResolveError::BranchHeads {
                from: self.id(from).to_owned(),
                heads: self.ids(many),
            }),
        }
    }

    /// Returns a branch's lineage as Alembic's labels cover it: the revision
    /// that starts it, its ancestors and its descendants, through parents.
    fn lineage(&self, start: NodeIndex) -> Vec<bool> {
        let up = walk::closure_up_parents(self, &[start]);
        let down = walk::closure_down_parents(self, &[start]);
        up.iter().zip(down).map(|(&u, d)| u || d).collect()
    }

    /// Returns, for a target that a downgrade takes along one branch, the
    /// revision the branch stands at; `None` for every other target. A
    /// downgrade to such a target ([`Graph::plan_downgrade_along`]) stays on the
    /// branch: `<label>@-N` and `-N` from where the walk starts (for `-N`, the
    /// single current row, as Alembic restricts `-N` to that row's branch), and
    /// `<label>@base` from the revision carrying the label.
    pub fn branch_tip(
        &self,
        target: &Target,
        current: &[NodeIndex],
    ) -> Result<Option<NodeIndex>, ResolveError> {
        match target {
            Target::Relative {
                anchor: anchor @ Anchor::Branch(_),
                steps,
            } => Ok(self.relative_start(target, anchor, *steps, current)?.0),
            Target::Relative {
                anchor: Anchor::Current,
                steps,
            } if *steps < 0 => match current {
                [one] => Ok(Some(*one)),
                _ => Ok(None),
            },
            Target::OnBranch { branch, revision } if revision == "base" => {
                Ok(Some(self.find(branch)?))
            }
            _ => Ok(None),
        }
    }

    /// Returns where a relative walk starts (`None` stands for "before every
    /// revision") and how many of the steps are left to walk from there.
    fn relative_start(
        &self,
        target: &Target,
        anchor: &Anchor,
        steps: i64,
        current: &[NodeIndex],
    ) -> Result<(Option<NodeIndex>, i64), ResolveError> {
        match anchor {
            Anchor::Revision(name) => Ok((Some(self.find(name)?), steps)),
            Anchor::Current => match current {
                [] => Ok((None, steps)),
                [one] => Ok((Some(*one), steps)),
                many => Err(ResolveError::SeveralCurrent {
                    target: target.to_string(),
                    steps,
                    heads: self.ids(many),
                }),
            },
            Anchor::Branch(name) => {
                let start = self.find(name)?;
                let lineage = self.lineage(start);
                let is = |set: &[bool], n: NodeIndex| set.get(n.index()).copied().unwrap_or(false);
                // Alembic: the current rows on the branch's lineage.
                let mut here: Vec<NodeIndex> = current
                    .iter()
                    .copied()
                    .filter(|&n| is(&lineage, n))
                    .collect();
                here.sort_unstable();
                here.dedup();
                if here.is_empty() {
                    let applied = self.applied_set(current);
                    let on = |n: NodeIndex| is(&applied, n) && is(&lineage, n);
                    here = if steps > 0 {
                        // Up: the applied revisions of the lineage that no other
                        // applied one of it moves from.
                        let below: Vec<bool> = {
                            let mut below = vec![false; self.len()];
                            for n in self.nodes().filter(|&n| on(n)) {
                                for &d in self.down(n) {
                                    walk::mark(&mut below, d);
                                }
                            }
                            below
                        };
                        self.nodes()
                            .filter(|&n| on(n) && !walk::is(&below, n))
                            .collect()
                    } else {
                        // Down: the applied revisions with no applied child, on the lineage.
                        self.nodes()
                            .filter(|&n| on(n))
                            .filter(|&n| !self.children(n).iter().any(|&c| is(&applied, c)))
                            .collect()
                    };
                }
                match here.as_slice() {
                    [one] => Ok((Some(*one), steps)),
                    // Nothing of the lineage is applied: walk up from before
                    // every revision, along the lineage.
                    [] if steps > 0 => Ok((None, steps)),
                    [] => Err(ResolveError::BranchNotApplied(name.clone())),
                    many => Err(ResolveError::SeveralCurrent {
                        target: target.to_string(),
                        steps,
                        heads: self.ids(many),
                    }),
                }
            }
        }
    }

    /// Walks `steps` revisions up (children) or down (parents) from `start`,
    /// refusing to choose at a fork. A walk up along a branch only considers
    /// the branch's lineage. The last step down from a merge lands on all its
    /// parents (Alembic refuses any step down from a merge: "Ambiguous walk").
    fn step(
        &self,
        target: &Target,
        start: Option<NodeIndex>,
        steps: i64,
    ) -> Result<Resolved, ResolveError> {
        let lineage = match target {
            Target::Relative {
                anchor: Anchor::Branch(name),
                ..
            } if steps > 0 => Some(self.lineage(self.find(name)?)),
            _ => None,
        };
        let on_lineage = |n: &NodeIndex| {
            lineage
                .as_ref()
                .is_none_or(|l| l.get(n.index()).copied().unwrap_or(false))
        };
        let mut at = start;
        let ambiguous = |from: NodeIndex, choices: &[NodeIndex]| ResolveError::AmbiguousStep {
            target: target.to_string(),
            at: self.id(from).to_owned(),
            choices: self.ids(choices),
        };
        let count = steps.unsigned_abs();
        for taken in 0..count {
            at = if steps > 0 {
                let next: Vec<NodeIndex> = match at {
                    None => self.bases(),
                    Some(node) => self.children(node).to_vec(),
                }
                .into_iter()
                .filter(on_lineage)
                .collect();
                match next.as_slice() {
                    [one] => Some(*one),
                    [] => {
                        return Err(ResolveError::OutOfRange {
                            target: target.to_string(),
                            end: match at {
                                Some(node) => format!("head `{}`", self.id(node)),
                                None => "the last revision".to_owned(),
                            },
                        })
                    }
                    many => match at {
                        Some(node) => return Err(ambiguous(node, many)),
                        None => {
                            return Err(ResolveError::AmbiguousStep {
                                target: target.to_string(),
                                at: "base".to_owned(),
                                choices: self.ids(many),
                            })
                        }
                    },
                }
            } else {
                let Some(node) = at else {
                    return Err(ResolveError::OutOfRange {
                        target: target.to_string(),
                        end: "base".to_owned(),
                    });
                };
                match self.parents(node) {
                    [] => None,
                    [one] => Some(*one),
                    many if taken + 1 == count => {
                        let mut parents = many.to_vec();
                        parents.sort_unstable();
                        return Ok(Resolved::Revisions(parents));
                    }
                    many => return Err(ambiguous(node, many)),
                }
            };
        }
        Ok(match at {
            Some(node) => Resolved::Revisions(vec![node]),
            None => Resolved::Base,
        })
    }
}
