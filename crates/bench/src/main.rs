//! The benchmark harness of rev (DESIGN.md §9).
//!
//! `rev-bench gen linear|branchy|wide N DIR [--seed S]` writes a synthetic
//! project; `rev-bench plan DIR [--runs K]` times, inside the process, loading
//! and planning an upgrade to `heads` from nothing. Whole-process timings of the
//! `rev` binary are taken by `benches/run.sh` with hyperfine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rev_graph::{Resolved, Target};
use rev_project::{Migration, Project};
use rev_schema::{Column, ColumnType, Operation};

/// A small deterministic generator (xorshift64*), so a seed always gives the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn id(&mut self) -> String {
        format!("{:012x}", self.next() & 0xffff_ffff_ffff)
    }
}

/// One revision of a synthetic history.
struct Rev {
    id: String,
    parents: Vec<String>,
    depends_on: Vec<String>,
    label: Option<String>,
}

/// A straight line of `n` revisions.
fn linear(n: usize, rng: &mut Rng) -> Vec<Rev> {
    let mut revs: Vec<Rev> = Vec::with_capacity(n);
    for i in 0..n {
        let parents = if i == 0 {
            Vec::new()
        } else {
            vec![revs[i - 1].id.clone()]
        };
        revs.push(Rev {
            id: rng.id(),
            parents,
            depends_on: Vec::new(),
            label: None,
        });
    }
    revs
}

/// A team's history: mostly linear, a fork of 2–4 branches about every 20
/// revisions merged back, three labelled long-lived branches with depends_on
/// links into the trunk, and two open heads at the end.
fn branchy(n: usize, rng: &mut Rng) -> Vec<Rev> {
    let mut revs: Vec<Rev> = Vec::with_capacity(n);
    let push = |revs: &mut Vec<Rev>, rng: &mut Rng, parents: Vec<String>| -> String {
        let id = rng.id();
        revs.push(Rev {
            id: id.clone(),
            parents,
            depends_on: Vec::new(),
            label: None,
        });
        id
    };
    let mut trunk = push(&mut revs, rng, Vec::new());
    let mut long_lived: Vec<String> = Vec::new();
    while revs.len() + 8 < n {
        let step = revs.len();
        if step.is_multiple_of(20) && revs.len() + 20 < n {
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
        } else if long_lived.len() < 3 && step % 997 == 5 {
            let id = push(&mut revs, rng, vec![trunk.clone()]);
            if let Some(last) = revs.last_mut() {
                last.label = Some(format!("feature{}", long_lived.len()));
            }
            long_lived.push(id);
        } else if !long_lived.is_empty() && step % 50 == 7 {
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
    // Two open heads: the trunk forks at the end and is not merged back.
    let fork = trunk.clone();
    let mut left = fork.clone();
    let mut right = fork;
    while revs.len() < n {
        if revs.len().is_multiple_of(2) {
            left = push(&mut revs, rng, vec![left]);
        } else {
            right = push(&mut revs, rng, vec![right]);
        }
    }
    // Long-lived branches are merged into the left head so that exactly two heads stay open.
    if !long_lived.is_empty() {
        if let Some(last) = revs.iter_mut().rev().find(|r| r.id == left) {
            last.parents.extend(long_lived);
        }
    }
    revs
}

/// Many open heads: each revision's parent is a random earlier revision.
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
        revs.push(Rev {
            id: rng.id(),
            parents,
            depends_on: Vec::new(),
            label: None,
        });
    }
    revs
}

fn write_project(dir: &Path, revs: &[Rev]) -> Result<(), String> {
    let versions = dir.join("migrations").join("versions");
    std::fs::create_dir_all(&versions).map_err(|e| format!("{}: {e}", versions.display()))?;
    std::fs::write(
        dir.join("rev.ron"),
        "Config(url: Some(\"sqlite://bench.db\"))\n",
    )
    .map_err(|e| e.to_string())?;
    for (i, rev) in revs.iter().enumerate() {
        let migration = Migration {
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
                    Column {
                        name: "id".into(),
                        ty: ColumnType::Integer,
                        nullable: None,
                        primary_key: true,
                        identity: false,
                        unique: false,
                        default: None,
                    },
                    Column {
                        name: "name".into(),
                        ty: ColumnType::String(100),
                        nullable: None,
                        primary_key: false,
                        identity: false,
                        unique: false,
                        default: None,
                    },
                ],
                foreign_keys: Vec::new(),
                uniques: Vec::new(),
                checks: Vec::new(),
                schema: None,
            }],
            downgrade: None,
        };
        let text = migration.to_ron().map_err(|e| e.to_string())?;
        let path = versions.join(format!("{}_create_table_t{i}.ron", rev.id));
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn median(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let min = times.first().copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    let mid = times.get(times.len() / 2).copied().unwrap_or_default();
    (mid, min, max)
}

fn plan(dir: &Path, runs: usize) -> Result<(), String> {
    let config = dir.join("rev.ron");
    let started = Instant::now();
    let project = Project::load(&config).map_err(|e| e.to_string())?;
    let load = started.elapsed();
    let mut times = Vec::with_capacity(runs);
    let mut steps = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let target = Target::parse("heads").map_err(|e| e.to_string())?;
        let resolved: Resolved = project
            .graph
            .resolve(&target, &[])
            .map_err(|e| e.to_string())?;
        let plan = project.graph.plan_upgrade(&[], &resolved);
        steps = plan.steps.len();
        times.push(started.elapsed());
    }
    let (mid, min, max) = median(times);
    println!(
        "revisions: {}  load: {:.1} ms  plan to heads ({} steps, {} runs): median {:.2} ms, min {:.2} ms, max {:.2} ms",
        project.graph.len(),
        load.as_secs_f64() * 1e3,
        steps,
        runs,
        mid.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    Ok(())
}

fn usage() -> String {
    "usage: rev-bench gen linear|branchy|wide N DIR [--seed S]\n       rev-bench plan DIR [--runs K]".to_owned()
}

fn run(args: &[String]) -> Result<(), String> {
    let flag = |name: &str, default: u64| -> Result<u64, String> {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number")),
            None => Ok(default),
        }
    };
    match args.first().map(String::as_str) {
        Some("gen") => {
            let (Some(shape), Some(n), Some(dir)) = (args.get(1), args.get(2), args.get(3)) else {
                return Err(usage());
            };
            let n: usize = n
                .parse()
                .map_err(|_| format!("N must be a number, not `{n}`"))?;
            let mut rng = Rng(flag("--seed", 42)?.max(1));
            let revs = match shape.as_str() {
                "linear" => linear(n, &mut rng),
                "branchy" => branchy(n, &mut rng),
                "wide" => wide(n, &mut rng),
                other => return Err(format!("unknown shape `{other}`\n{}", usage())),
            };
            write_project(&PathBuf::from(dir), &revs)
        }
        Some("plan") => {
            let Some(dir) = args.get(1) else {
                return Err(usage());
            };
            plan(Path::new(dir), flag("--runs", 20)? as usize)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
