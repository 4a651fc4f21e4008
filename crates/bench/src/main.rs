//! The benchmark harness of rev (DESIGN.md §9).
//!
//! `rev-bench gen linear|branchy|wide N DIR [--seed S]` writes a synthetic
//! project; `rev-bench plan DIR [--runs K]` times, inside the process, each
//! phase of loading a project and planning an upgrade to `heads` from nothing.
//! Whole-process timings of the `rev` binary are taken by `benches/run.sh`
//! with hyperfine.
//!
//! Against the local servers, for each `--rev BINARY` given (so that two
//! builds compare in one run): `rev-bench roundtrips` counts the round trips
//! a migration costs on PostgreSQL and MariaDB; `rev-bench net [--n N]
//! [--delay-ms D]` applies N one-table migrations through a proxy that adds
//! D ms each way; `rev-bench fleet --backend B --dbs N[,N2] [--migrations M]
//! [--jobs J]` upgrades a fleet of N databases.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rev_bench::live::{self, Backend};
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
    "usage: rev-bench gen linear|branchy|wide N DIR [--seed S]\n       \
     rev-bench plan DIR [--runs K]\n       \
     rev-bench roundtrips --rev BINARY...\n       \
     rev-bench net --rev BINARY... [--n N] [--delay-ms D] [--backends postgres,mariadb]\n       \
     rev-bench fleet --rev BINARY... --backend sqlite|postgres|mariadb --dbs N[,N...] \
     [--migrations M] [--jobs J]"
        .to_owned()
}

/// Returns every value given to a repeatable flag.
fn values<'a>(args: &'a [String], name: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|pair| pair.first().is_some_and(|a| a == name))
        .filter_map(|pair| pair.get(1).map(String::as_str))
        .collect()
}

/// Returns the comma-separated list a flag holds, or `default`.
fn list<'a>(args: &'a [String], name: &str, default: &'a str) -> Vec<&'a str> {
    values(args, name)
        .first()
        .copied()
        .unwrap_or(default)
        .split(',')
        .filter(|s| !s.is_empty())
        .collect()
}

fn binaries(args: &[String]) -> Result<Vec<PathBuf>, String> {
    // Absolute: each run's working directory is its project's.
    let binaries: Vec<PathBuf> = values(args, "--rev")
        .into_iter()
        .map(|path| std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}")))
        .collect::<Result<_, _>>()?;
    if binaries.is_empty() {
        return Err(format!("--rev BINARY is needed\n{}", usage()));
    }
    Ok(binaries)
}

fn backends(names: &[&str]) -> Result<Vec<Backend>, String> {
    names
        .iter()
        .map(|name| Backend::parse(name).ok_or_else(|| format!("unknown backend `{name}`")))
        .collect()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_owned())
}

fn roundtrips(args: &[String]) -> Result<(), String> {
    for backend in backends(&list(args, "--backends", "postgres,mariadb"))? {
        for binary in binaries(args)? {
            let per = live::round_trips_per_migration(&binary, backend)?;
            println!(
                "{:<9} {}: {per:.1} round trips per migration",
                backend.name(),
                binary.display()
            );
        }
    }
    Ok(())
}

fn net(args: &[String], number: &dyn Fn(&str, u64) -> Result<u64, String>) -> Result<(), String> {
    let n = number("--n", 1_000)? as usize;
    let delay = Duration::from_millis(number("--delay-ms", 10)?);
    println!(
        "{n} one-table migrations, {} ms each way; load {}",
        delay.as_millis(),
        load()
    );
    for backend in backends(&list(args, "--backends", "postgres,mariadb"))? {
        for binary in binaries(args)? {
            let (took, trips) = live::through_proxy(&binary, backend, n, delay)?;
            println!(
                "{:<9} {}: {:>8.2} s, {trips} round trips ({:.2} a migration)",
                backend.name(),
                binary.display(),
                took.as_secs_f64(),
                trips as f64 / n as f64
            );
        }
    }
    Ok(())
}

fn fleet(args: &[String], number: &dyn Fn(&str, u64) -> Result<u64, String>) -> Result<(), String> {
    let backend = values(args, "--backend")
        .first()
        .and_then(|name| Backend::parse(name))
        .ok_or_else(|| format!("--backend sqlite|postgres|mariadb is needed\n{}", usage()))?;
    let migrations = number("--migrations", 10)? as usize;
    let jobs = number("--jobs", 4)? as usize;
    for size in list(args, "--dbs", "100") {
        let databases: usize = size
            .parse()
            .map_err(|_| format!("--dbs takes numbers, not `{size}`"))?;
        for binary in binaries(args)? {
            let took = live::fleet(&binary, backend, databases, migrations, jobs)?;
            println!(
                "{:<9} {}: {databases} databases x {migrations} migrations, {jobs} jobs: \
                 {:>7.2} s ({:.2} ms a database; load {})",
                backend.name(),
                binary.display(),
                took.as_secs_f64(),
                took.as_secs_f64() * 1e3 / databases as f64,
                load()
            );
        }
    }
    Ok(())
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
        Some("roundtrips") => roundtrips(args),
        Some("net") => net(args, &flag),
        Some("fleet") => fleet(args, &flag),
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
