//! Fleets: one command against many databases (an environment of rev.ron with
//! several URLs). Each database gets its own connection and its own lock and
//! runs the ordinary engine call; `jobs` of them run at once, the first
//! `canary` before all the others. The backends are blocking and own their
//! runtimes, so plain scoped threads with a shared work queue are enough.
//!
//! A database is never skipped silently: one that cannot be reached, is
//! locked past the timeout, or fails a step is reported with its error, and
//! one that was not started because of an earlier failure is reported as
//! not run.
//!
//! A stop request (SIGINT/SIGTERM through [`Options::stop`]) starts no new
//! database; each running one stops after the migration it is running
//! commits or rolls back, as a single run does, and the report says which
//! were not run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rev_db::Backend;
use rev_project::Project;

use crate::check::{Finding, Severity};
use crate::error::MigrateError;
use crate::plan::Movement;
use crate::run::{current, migrate, stamp, Options, StopSignal};
use crate::url::{connect, missing_sqlite_file, redact};

/// How a fleet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    /// How many databases run at once (0 counts as 1).
    pub jobs: usize,
    /// How many databases run first; when one of them fails, no other starts.
    pub canary: usize,
    /// Whether to keep starting databases after one failed (canaries apart).
    pub continue_on_error: bool,
}

/// What a fleet does to each database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job<'a> {
    /// `upgrade`/`downgrade` to a target.
    Migrate {
        /// Up or down.
        movement: Movement,
        /// The target.
        target: &'a str,
    },
    /// `stamp` a target.
    Stamp {
        /// The target.
        target: &'a str,
        /// Whether to empty the version table first.
        purge: bool,
    },
    /// Read the version rows (`current`); changes nothing.
    Current,
    /// Compare checksums and the live schema with the migrations (`check --db`).
    Check,
}

/// How one database fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The job succeeded.
    Ok,
    /// The job failed; `error` says why.
    Failed,
    /// The job was not started, because an earlier database failed.
    NotRun,
}

impl Status {
    /// Returns `ok`, `failed` or `not_run`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::NotRun => "not_run",
        }
    }
}

/// One database's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Its URL with any password hidden.
    pub target: String,
    /// How it fared.
    pub status: Status,
    /// The version rows before (None when they could not be read).
    pub from: Option<Vec<String>>,
    /// The version rows after (None when they could not be read).
    pub to: Option<Vec<String>>,
    /// How many steps ran.
    pub steps: usize,
    /// How long it took.
    pub duration: Duration,
    /// Why it failed or did not run.
    pub error: Option<String>,
    /// What `check --db` found (warnings included).
    pub findings: Vec<Finding>,
}

impl Outcome {
    fn not_run(url: &str, why: &str) -> Self {
        Outcome {
            target: redact(url),
            status: Status::NotRun,
            from: None,
            to: None,
            steps: 0,
            duration: Duration::ZERO,
            error: Some(why.to_owned()),
            findings: Vec::new(),
        }
    }
}

/// Progress of a fleet, sent from the calling thread as each database ends.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// A database finished (or failed).
    Finished {
        /// Its position in the list of URLs.
        index: usize,
        /// How it fared.
        outcome: &'a Outcome,
        /// How many databases finished without failing so far.
        done: usize,
        /// How many failed so far.
        failed: usize,
        /// How many are still running or waiting.
        left: usize,
    },
}

/// What a fleet did: one outcome per URL, in the order of the URLs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FleetReport {
    /// The databases.
    pub databases: Vec<Outcome>,
}

impl FleetReport {
    /// Returns whether any database failed or was not run.
    pub fn failed(&self) -> bool {
        self.databases.iter().any(|d| d.status != Status::Ok)
    }
}

/// Runs `job` on every database of `urls` (see the module comment) and
/// returns the report; `on_event` is called on the calling thread.
pub fn run_fleet(
    project: &Project,
    options: &Options,
    urls: &[String],
    fleet: &FleetOptions,
    job: Job<'_>,
    on_event: &mut dyn FnMut(FleetEvent<'_>),
) -> FleetReport {
    run_each(
        urls,
        fleet,
        &options.stop,
        &|url: &str| run_one(project, options, url, job),
        on_event,
    )
}

/// Runs `work` on each URL as [`run_fleet`] schedules them: the canaries
/// first (a failure among them stops the run), then the rest, `jobs` at a
/// time; after a failure no new one starts unless `continue_on_error`, and
/// after a `stop` request none does.
pub fn run_each(
    urls: &[String],
    fleet: &FleetOptions,
    stop: &StopSignal,
    work: &(dyn Fn(&str) -> Outcome + Sync),
    on_event: &mut dyn FnMut(FleetEvent<'_>),
) -> FleetReport {
    let mut slots: Vec<Option<Outcome>> = vec![None; urls.len()];
    let canary = fleet.canary.min(urls.len());
    let mut tally = Tally {
        done: 0,
        failed: 0,
        total: urls.len(),
    };
    let (canaries, rest) = urls.split_at(canary);
    let canary_failed = run_phase(
        canaries, 0, fleet.jobs, true, stop, work, &mut slots, &mut tally, on_event,
    );
    if canary_failed || stop.requested().is_some() {
        let why =
            interrupted(stop).unwrap_or_else(|| "not run: a canary database failed".to_owned());
        fill_not_run(&mut slots, urls, &why);
    } else {
        run_phase(
            rest,
            canary,
            fleet.jobs,
            !fleet.continue_on_error,
            stop,
            work,
            &mut slots,
            &mut tally,
            on_event,
        );
        let why = interrupted(stop)
            .unwrap_or_else(|| "not run: stopped after a database failed".to_owned());
        fill_not_run(&mut slots, urls, &why);
    }
    FleetReport {
        databases: slots.into_iter().flatten().collect(),
    }
}

/// Counts of finished databases, for progress events.
struct Tally {
    done: usize,
    failed: usize,
    total: usize,
}

/// Returns why the databases left were not run when a stop was asked for.
fn interrupted(stop: &StopSignal) -> Option<String> {
    stop.requested()
        .map(|signal| format!("not run: the run was interrupted (signal {signal})"))
}

fn fill_not_run(slots: &mut [Option<Outcome>], urls: &[String], why: &str) {
    for (slot, url) in slots.iter_mut().zip(urls) {
        if slot.is_none() {
            *slot = Some(Outcome::not_run(url, why));
        }
    }
}

/// Runs `urls` (whose first is number `offset` of the fleet) on up to `jobs`
/// threads that take the next URL from a shared counter; returns whether
/// any failed. With `stop_on_failure`, a failure stops the threads from
/// taking more, and the running ones finish; so does a `signal` request.
#[allow(clippy::too_many_arguments)]
fn run_phase(
    urls: &[String],
    offset: usize,
    jobs: usize,
    stop_on_failure: bool,
    signal: &StopSignal,
    work: &(dyn Fn(&str) -> Outcome + Sync),
    slots: &mut [Option<Outcome>],
    tally: &mut Tally,
    on_event: &mut dyn FnMut(FleetEvent<'_>),
) -> bool {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut any_failed = false;
    let threads = jobs.max(1).min(urls.len());
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, Outcome)>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) && signal.requested().is_none() {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(url) = urls.get(i) else {
                        break;
                    };
                    let outcome = work(url);
                    if outcome.status != Status::Ok && stop_on_failure {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if sender.send((i, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        // The receiver ends when every thread has dropped its sender.
        drop(sender);
        for (i, outcome) in receiver {
            let index = offset + i;
            if outcome.status == Status::Ok {
                tally.done += 1;
            } else {
                tally.failed += 1;
                any_failed = true;
            }
            on_event(FleetEvent::Finished {
                index,
                outcome: &outcome,
                done: tally.done,
                failed: tally.failed,
                left: tally.total.saturating_sub(tally.done + tally.failed),
            });
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(outcome);
            }
        }
    });
    any_failed
}

/// Runs `job` on one database with its own connection (and, for the jobs
/// that change it, its own lock, taken by the engine call).
fn run_one(project: &Project, options: &Options, url: &str, job: Job<'_>) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        target: redact(url),
        status: Status::Ok,
        from: None,
        to: None,
        steps: 0,
        duration: Duration::ZERO,
        error: None,
        findings: Vec::new(),
    };
    if let Err(error) = job_on(project, options, url, job, &mut outcome) {
        outcome.status = Status::Failed;
        outcome.error = Some(message(&error));
    }
    outcome.duration = started.elapsed();
    outcome
}

/// Returns the error's sentence with its hint, on one line per part.
fn message(error: &MigrateError) -> String {
    match error.hint() {
        Some(hint) => format!("{error} (hint: {hint})"),
        None => error.to_string(),
    }
}

fn job_on(
    project: &Project,
    options: &Options,
    url: &str,
    job: Job<'_>,
    outcome: &mut Outcome,
) -> crate::Result<()> {
    // Reading commands must not create a SQLite file that is not there.
    if matches!(job, Job::Current) && missing_sqlite_file(url).is_some() {
        outcome.from = Some(Vec::new());
        outcome.to = Some(Vec::new());
        return Ok(());
    }
    if matches!(job, Job::Check) {
        return check_one(project, options, url, outcome);
    }
    let mut backend = connect(url)?;
    if matches!(job, Job::Current) {
        let rows = current(backend.as_mut(), options)?;
        outcome.from = Some(rows.clone());
        outcome.to = Some(rows);
        return Ok(());
    }
    // Read before the run, so that a failed run still says where it started.
    outcome.from = current(backend.as_mut(), options).ok();
    let result = match job {
        Job::Migrate { movement, target } => migrate(
            backend.as_mut(),
            project,
            options,
            movement,
            target,
            &mut |_| {},
        ),
        Job::Stamp { target, purge } => stamp(
            backend.as_mut(),
            project,
            options,
            target,
            purge,
            &mut |_| {},
        ),
        Job::Current | Job::Check => return Ok(()),
    };
    match result {
        Ok(report) => {
            outcome.from = Some(report.from);
            outcome.to = Some(report.to);
            outcome.steps = report.applied.len();
            Ok(())
        }
        Err(error) => {
            outcome.to = after_failure(backend.as_mut(), options);
            outcome.steps = match &error {
                MigrateError::Step { applied, .. } | MigrateError::Interrupted { applied, .. } => {
                    applied.len()
                }
                _ => 0,
            };
            Err(error)
        }
    }
}

/// Returns where a database stands after a failed run, when it can be read.
fn after_failure(backend: &mut dyn Backend, options: &Options) -> Option<Vec<String>> {
    current(backend, options).ok()
}

/// `check --db` on one database: an error finding fails it.
fn check_one(
    project: &Project,
    options: &Options,
    url: &str,
    outcome: &mut Outcome,
) -> crate::Result<()> {
    let mut findings = crate::check::checksum_findings(project, options, Some(url));
    findings.extend(crate::check::db_findings(project, options, url)?);
    let errors: Vec<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.as_str())
        .collect();
    if !errors.is_empty() {
        outcome.status = Status::Failed;
        outcome.error = Some(errors.join("; "));
    }
    outcome.findings = findings;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn urls(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sqlite://db{i}.db")).collect()
    }

    fn outcome(url: &str, fail: bool) -> Outcome {
        let mut outcome = Outcome::not_run(url, "");
        outcome.error = fail.then(|| "broken".to_owned());
        outcome.status = if fail { Status::Failed } else { Status::Ok };
        outcome
    }

    fn options(jobs: usize, canary: usize, continue_on_error: bool) -> FleetOptions {
        FleetOptions {
            jobs,
            canary,
            continue_on_error,
        }
    }

    fn statuses(report: &FleetReport) -> Vec<&'static str> {
        report.databases.iter().map(|d| d.status.as_str()).collect()
    }

    #[test]
    fn every_database_runs_once_in_order_of_the_list() {
        let seen = Mutex::new(Vec::new());
        let work = |url: &str| {
            seen.lock().unwrap().push(url.to_owned());
            outcome(url, false)
        };
        let mut events = 0;
        let report = run_each(
            &urls(20),
            &options(3, 0, false),
            &StopSignal::new(),
            &work,
            &mut |_| events += 1,
        );
        assert_eq!(events, 20);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        let mut expected = urls(20);
        expected.sort();
        assert_eq!(seen, expected);
        let targets: Vec<&str> = report.databases.iter().map(|d| d.target.as_str()).collect();
        assert_eq!(targets, urls(20));
        assert!(!report.failed());
    }

    #[test]
    fn a_failure_stops_new_starts_but_is_reported() {
        // One thread: the order is the list's, so what follows the failure is known.
        let work = |url: &str| outcome(url, url == "sqlite://db2.db");
        let report = run_each(
            &urls(5),
            &options(1, 0, false),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        assert_eq!(
            statuses(&report),
            ["ok", "ok", "failed", "not_run", "not_run"]
        );
        assert_eq!(report.databases[2].error.as_deref(), Some("broken"));
        assert!(report.failed());
    }

    #[test]
    fn continue_on_error_runs_the_rest() {
        let work = |url: &str| outcome(url, url == "sqlite://db2.db");
        let report = run_each(
            &urls(5),
            &options(2, 0, true),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        assert_eq!(statuses(&report), ["ok", "ok", "failed", "ok", "ok"]);
    }

    #[test]
    fn a_failed_canary_stops_the_rest_even_with_continue_on_error() {
        let started = Mutex::new(Vec::new());
        let work = |url: &str| {
            started.lock().unwrap().push(url.to_owned());
            outcome(url, url == "sqlite://db1.db")
        };
        let report = run_each(
            &urls(6),
            &options(4, 2, true),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        assert_eq!(statuses(&report)[2..], ["not_run"; 4]);
        assert_eq!(started.into_inner().unwrap().len(), 2);
        assert!(report.databases[3]
            .error
            .as_deref()
            .unwrap()
            .contains("canary"));
    }

    #[test]
    fn canaries_finish_before_the_rest_start() {
        let order = Mutex::new(Vec::new());
        let work = |url: &str| {
            order.lock().unwrap().push(format!("start {url}"));
            std::thread::sleep(Duration::from_millis(5));
            order.lock().unwrap().push(format!("end {url}"));
            outcome(url, false)
        };
        run_each(
            &urls(6),
            &options(4, 2, false),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        let order = order.into_inner().unwrap();
        let last_canary_end = order
            .iter()
            .rposition(|e| e == "end sqlite://db0.db" || e == "end sqlite://db1.db")
            .unwrap();
        let first_other_start = order
            .iter()
            .position(|e| {
                e.starts_with("start") && !e.ends_with("db0.db") && !e.ends_with("db1.db")
            })
            .unwrap();
        assert!(last_canary_end < first_other_start, "{order:?}");
    }

    #[test]
    fn no_more_than_jobs_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let work = |url: &str| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(3));
            running.fetch_sub(1, Ordering::SeqCst);
            outcome(url, false)
        };
        run_each(
            &urls(12),
            &options(3, 0, false),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        assert!(most.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn progress_counts_add_up() {
        let work = |url: &str| outcome(url, url.ends_with("3.db"));
        let mut last = (0, 0, 0);
        run_each(
            &urls(5),
            &options(2, 0, true),
            &StopSignal::new(),
            &work,
            &mut |event| {
                let FleetEvent::Finished {
                    done, failed, left, ..
                } = event;
                assert_eq!(done + failed + left, 5);
                last = (done, failed, left);
            },
        );
        assert_eq!(last, (4, 1, 0));
    }

    #[test]
    fn a_stop_request_starts_no_new_database_and_says_so() {
        let stop = StopSignal::new();
        // One thread: db1 asks to stop while it runs (as SIGINT would), and
        // finishes; nothing after it starts.
        let work = |url: &str| {
            if url == "sqlite://db1.db" {
                stop.request(2);
            }
            outcome(url, false)
        };
        let report = run_each(&urls(5), &options(1, 0, true), &stop, &work, &mut |_| {});
        assert_eq!(
            statuses(&report),
            ["ok", "ok", "not_run", "not_run", "not_run"]
        );
        assert_eq!(
            report.databases[2].error.as_deref(),
            Some("not run: the run was interrupted (signal 2)")
        );
        // During the canaries too: the rest never start.
        let stop = StopSignal::new();
        let work = |url: &str| {
            stop.request(15);
            outcome(url, false)
        };
        let report = run_each(&urls(4), &options(1, 2, false), &stop, &work, &mut |_| {});
        assert_eq!(statuses(&report), ["ok", "not_run", "not_run", "not_run"]);
    }

    #[test]
    fn an_empty_fleet_is_an_empty_report() {
        let work = |url: &str| outcome(url, false);
        let report = run_each(
            &[],
            &options(4, 2, false),
            &StopSignal::new(),
            &work,
            &mut |_| {},
        );
        assert!(report.databases.is_empty());
    }
}
