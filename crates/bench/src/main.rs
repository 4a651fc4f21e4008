//! The benchmark harness of rev (DESIGN.md §9).
//!
//! `rev-bench gen linear|branchy|wide N DIR [--seed S]` writes a synthetic
//! project; `rev-bench plan DIR [--runs K]` times, inside the process, each
//! phase of loading a project and planning an upgrade to `heads` from nothing.
//! Whole-process timings of the `rev` binary are taken by `benches/run.sh`
//! with hyperfine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rev_bench::{generate, write_project, Shape};
use rev_graph::{Resolved, Target};
use rev_project::{build_graph, read_migrations, Project};

/// Returns the median, minimum and maximum of some timings.
fn spread(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let min = times.first().copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    let mid = times.get(times.len() / 2).copied().unwrap_or_default();
    (mid, min, max)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` `runs` times and prints one line of its timings.
fn time<T>(
    label: &str,
    runs: usize,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let value = f()?;
        times.push(started.elapsed());
        last = Some(value);
    }
    let (mid, min, max) = spread(times);
    println!(
        "{label:<28} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms",
        ms(mid),
        ms(min),
        ms(max)
    );
    last.ok_or_else(|| "no run".to_owned())
}

fn plan(dir: &Path, runs: usize) -> Result<(), String> {
    let project = Project::load(&dir.join("rev.ron")).map_err(|e| e.to_string())?;
    let versions = project.versions_dir();
    drop(project);
    let files = time("read and parse files", runs, || {
        read_migrations(&versions).map_err(|e| e.to_string())
    })?;
    let graph = time("build graph", runs, || {
        build_graph(&files).map_err(|e| e.to_string())
    })?;
    let heads = time("heads", runs, || Ok(graph.heads()))?;
    time("history order", runs, || Ok(graph.history_order()))?;
    let target = Target::parse("heads").map_err(|e| e.to_string())?;
    let plan = time("plan upgrade base -> heads", runs, || {
        let resolved: Resolved = graph.resolve(&target, &[]).map_err(|e| e.to_string())?;
        Ok(graph.plan_upgrade(&[], &resolved))
    })?;
    println!(
        "revisions: {}   heads: {}   plan steps: {}   runs: {runs}",
        graph.len(),
        heads.len(),
        plan.steps.len()
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
            let Some(shape) = Shape::parse(shape) else {
                return Err(format!("unknown shape `{shape}`\n{}", usage()));
            };
            let revs = generate(shape, n, flag("--seed", 42)?);
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
