//! Synthetic histories for rev's benchmark harness (DESIGN.md §9).
//!
//! Every shape is deterministic: a seed always gives the same revisions, ids
//! included, so timings taken on different days compare like with like.
// The generator indexes only vectors it built itself, never input.
#![allow(clippy::indexing_slicing)]

pub mod live;
pub mod proxy;

use std::collections::HashSet;
use std::path::Path;

use rev_graph::RevisionSpec;
use rev_project::Migration;
use rev_schema::{Column, ColumnType, Operation};

/// A small deterministic generator (xorshift64*), so a seed always gives the same history.
struct Rng {
    state: u64,
    ids: HashSet<String>,
}

impl Rng {
    fn new(seed: u64) -> Rng {
        // xorshift has one fixed point, zero; any other state works.
        Rng {
            state: seed.max(1),
            ids: HashSet::new(),
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Returns a fresh 12-hex-digit id, never one handed out before.
    fn id(&mut self) -> String {
        loop {
            let id = format!("{:012x}", self.next() & 0xffff_ffff_ffff);
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One straight line: one base, one head.
    Linear,
    /// A team's history: mostly linear, a fork of 2–4 branches about every 20
    /// revisions merged back, three labelled long-lived branches with
    /// depends_on links into the trunk, and two open heads at the end.
    Branchy,
    /// Many open heads: each revision's parent is a random one of the 200 before it.
    Wide,
}

impl Shape {
    /// Returns the shape a name (`linear`, `branchy`, `wide`) stands for.
    pub fn parse(name: &str) -> Option<Shape> {
        match name {
            "linear" => Some(Shape::Linear),
            "branchy" => Some(Shape::Branchy),
            "wide" => Some(Shape::Wide),
            _ => None,
        }
    }
}

/// One revision of a synthetic history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rev {
    /// The revision's id: 12 lowercase hex digits.
    pub id: String,
    /// Its parents' ids.
    pub parents: Vec<String>,
    /// Ids it depends on without being their child.
    pub depends_on: Vec<String>,
    /// The branch label it carries, if any.
    pub label: Option<String>,
}

impl Rev {
    /// Returns what the graph needs to know of the revision.
    pub fn spec(&self) -> RevisionSpec {
        RevisionSpec {
            id: self.id.clone(),
            parents: self.parents.clone(),
            depends_on: self.depends_on.clone(),
            branch_labels: self.label.iter().cloned().collect(),
        }
    }
}

/// Returns `n` revisions of the given shape, the same ones for the same seed,
/// listed so that every parent comes before its children.
pub fn generate(shape: Shape, n: usize, seed: u64) -> Vec<Rev> {
    let mut rng = Rng::new(seed);
    match shape {
        Shape::Linear => linear(n, &mut rng),
        Shape::Branchy => branchy(n, &mut rng),
        Shape::Wide => wide(n, &mut rng),
    }
}

fn push(revs: &mut Vec<Rev>, rng: &mut Rng, parents: Vec<String>) -> String {
    let id = rng.id();
    revs.push(Rev {
        id: id.clone(),
        parents,
        depends_on: Vec::new(),
        label: None,
    });
    id
}

fn linear(n: usize, rng: &mut Rng) -> Vec<Rev> {
    let mut revs: Vec<Rev> = Vec::with_capacity(n);
    let mut tip: Option<String> = None;
    for _ in 0..n {
        tip = Some(push(&mut revs, rng, tip.into_iter().collect()));
    }
    revs
}

/// How many labelled long-lived branches a branchy history has.
const LONG_LIVED: usize = 3;

fn branchy(n: usize, rng: &mut Rng) -> Vec<Rev> {
    let mut revs: Vec<Rev> = Vec::with_capacity(n);
    if n == 0 {
        return revs;
    }
    let mut trunk = push(&mut revs, rng, Vec::new());
    let mut long_lived: Vec<String> = Vec::new();
    // Long-lived branches start early enough to matter and spread over the history.
    let every = (n / (LONG_LIVED + 1)).max(1);
    while revs.len() + 8 < n {
        let step = revs.len();
        if step.is_multiple_of(20) && step + 20 < n {
            // A fork of 2–4 branches, each 1–4 revisions long, merged back.
            let width = 2 + rng.below(3) as usize;
            let mut tips = Vec::with_capacity(width);
            for _ in 0..width {
                let mut tip = trunk.clone();
                for _ in 0..1 + rng.below(4) {
                    tip = push(&mut revs, rng, vec![tip]);
                }
                tips.push(tip);
            }
            trunk = push(&mut revs, rng, tips);
        } else if long_lived.len() < LONG_LIVED && step >= every * long_lived.len() + 5 {
            let id = push(&mut revs, rng, vec![trunk.clone()]);
            if let Some(last) = revs.last_mut() {
                last.label = Some(format!("feature{}", long_lived.len()));
            }
            long_lived.push(id);
        } else if !long_lived.is_empty() && step % 50 == 7 {
            // Work on a long-lived branch that needs the trunk as it is now.
            let k = rng.below(long_lived.len() as u64) as usize;
            let id = push(&mut revs, rng, vec![long_lived[k].clone()]);
            if let Some(last) = revs.last_mut() {
                last.depends_on.push(trunk.clone());
            }
            long_lived[k] = id;
        } else {
            trunk = push(&mut revs, rng, vec![trunk]);
        }
    }
    // Two open heads: the trunk forks at the end and is not merged back; the
    // long-lived branches are merged into the left one.
    let mut left = trunk.clone();
    let mut right = trunk;
    let mut merged = false;
    while revs.len() < n {
        if !merged && !long_lived.is_empty() {
            let mut parents = vec![left];
            parents.append(&mut long_lived);
            left = push(&mut revs, rng, parents);
            merged = true;
        } else if revs.len().is_multiple_of(2) {
            left = push(&mut revs, rng, vec![left]);
        } else {
            right = push(&mut revs, rng, vec![right]);
        }
    }
    revs
}

fn wide(n: usize, rng: &mut Rng) -> Vec<Rev> {
    let mut revs: Vec<Rev> = Vec::with_capacity(n);
    for i in 0..n {
        let parents = if i == 0 {
            Vec::new()
        } else {
            let lo = i.saturating_sub(200);
            let p = lo + rng.below((i - lo) as u64) as usize;
            vec![revs[p].id.clone()]
        };
        push(&mut revs, rng, parents);
    }
    revs
}

/// Returns the migration file of the `i`-th revision: one table of two columns.
pub fn migration(i: usize, rev: &Rev) -> Migration {
    let column = |name: &str, ty: ColumnType, primary_key: bool| Column {
        name: name.into(),
        ty,
        nullable: None,
        primary_key,
        identity: false,
        unique: false,
        default: None,
    };
    Migration {
        id: rev.id.clone(),
        parents: rev.parents.clone(),
        message: format!("create table t{i}"),
        created: None,
        branch_labels: rev.label.iter().cloned().collect(),
        depends_on: rev.depends_on.clone(),
        transactional: true,
        upgrade: vec![Operation::CreateTable {
            name: format!("t{i}"),
            columns: vec![
                column("id", ColumnType::Integer, true),
                column("name", ColumnType::String(100), false),
            ],
            foreign_keys: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            schema: None,
        }],
        downgrade: None,
        acknowledged: Vec::new(),
        replaces: Vec::new(),
    }
}

/// Writes a project of these revisions into `dir`: `rev.ron` (SQLite at
/// `bench.db`) and one file per revision under `migrations/versions/`.
pub fn write_project(dir: &Path, revs: &[Rev]) -> Result<(), String> {
    let versions = dir.join("migrations").join("versions");
    std::fs::create_dir_all(&versions).map_err(|e| format!("{}: {e}", versions.display()))?;
    let config = dir.join("rev.ron");
    std::fs::write(&config, "Config(url: Some(\"sqlite://bench.db\"))\n")
        .map_err(|e| format!("{}: {e}", config.display()))?;
    for (i, rev) in revs.iter().enumerate() {
        let text = migration(i, rev).to_ron().map_err(|e| e.to_string())?;
        let path = versions.join(format!("{}_create_table_t{i}.ron", rev.id));
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rev_graph::Graph;

    fn graph(revs: &[Rev]) -> Graph {
        let specs: Vec<RevisionSpec> = revs.iter().map(Rev::spec).collect();
        Graph::build(&specs).expect("a generated history is a valid graph")
    }

    #[test]
    fn a_seed_always_gives_the_same_history() {
        for shape in [Shape::Linear, Shape::Branchy, Shape::Wide] {
            let a = generate(shape, 500, 7);
            assert_eq!(a, generate(shape, 500, 7));
            assert_ne!(a, generate(shape, 500, 8));
            assert_eq!(a.len(), 500);
        }
    }

    #[test]
    fn branchy_looks_like_a_teams_history() {
        for n in [50, 1_000, 10_000] {
            let revs = generate(Shape::Branchy, n, 42);
            assert_eq!(revs.len(), n);
            let g = graph(&revs);
            assert_eq!(g.heads().len(), 2, "n = {n}");
            assert_eq!(g.bases().len(), 1);
            assert!(g.redundant_parents().is_empty());
            if n >= 1_000 {
                // A fork about every 20 revisions, each of 2–4 branches.
                let forks = g.branch_points();
                assert!(
                    forks.len() * 25 > n && forks.len() * 15 < n,
                    "{}",
                    forks.len()
                );
                // A long-lived branch may start where a fork does: one child more.
                assert!(forks
                    .iter()
                    .all(|&f| (2..=5).contains(&g.children(f).len())));
                let labels: Vec<_> = revs.iter().filter_map(|r| r.label.clone()).collect();
                assert_eq!(labels, ["feature0", "feature1", "feature2"]);
                let with_deps = revs.iter().filter(|r| !r.depends_on.is_empty()).count();
                assert!(with_deps * 100 > n, "{with_deps}");
            }
        }
    }

    #[test]
    fn linear_and_wide_have_the_promised_heads() {
        let g = graph(&generate(Shape::Linear, 1_000, 1));
        assert_eq!((g.heads().len(), g.bases().len()), (1, 1));
        let g = graph(&generate(Shape::Wide, 1_000, 1));
        assert!(g.heads().len() > 100, "{}", g.heads().len());
    }

    #[test]
    fn written_projects_load() {
        let dir = std::env::temp_dir().join(format!("rev-bench-test-{}", std::process::id()));
        let revs = generate(Shape::Branchy, 120, 3);
        write_project(&dir, &revs).unwrap();
        let project = rev_project::Project::load(&dir.join("rev.ron")).unwrap();
        assert_eq!(project.graph.len(), 120);
        assert_eq!(project.graph.heads().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
