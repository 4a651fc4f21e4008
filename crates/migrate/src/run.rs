//! The live loop, written once: lock → ensure the tables → read the rows →
//! plan → apply each step → unlock, reporting progress through events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rev_db::{Backend, DbError, Step, StepFailure, Tables};
use rev_graph::Plan;
use rev_project::{Config, Project};
use rev_sql::Dialect;

use crate::check::edited_applied;
use crate::error::{MigrateError, Result};
use crate::plan::{
    current_nodes, plan, purge_steps, render_steps, stamp_rows, stamp_steps, Movement,
};

/// What a live run needs besides the project and the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the version and history tables live.
    pub tables: Tables,
    /// How long to wait for another runner's lock.
    pub lock_timeout: Duration,
    /// Whether to refuse to run when an applied migration's file changed
    /// since it was applied (sqlx's rule): what the database holds is then
    /// not what the files say it holds.
    pub validate_checksums: bool,
    /// Asked between two steps whether to stop: a signal handler (or another
    /// thread) sets it, the running step commits or rolls back, and the run
    /// returns [`MigrateError::Interrupted`].
    pub stop: StopSignal,
    /// How to settle a statement whose effect an interrupted run left in
    /// doubt and the live schema cannot tell (raw SQL): `Some(true)` counts
    /// it as applied, `Some(false)` as not; None stops the run and asks.
    pub assume_applied: Option<bool>,
    /// How many steps may go to the database together, at most (see
    /// [`Backend::run_steps`]): over a network, sending the next steps before
    /// the reply to the first saves a round trip each. 1 sends one at a time.
    pub max_window: usize,
    /// How long a window may take and still let the next one double: steps
    /// already sent run even when a stop is asked for, so slow steps go one
    /// at a time and a stop waits for one step, not for a window of them.
    pub window_budget: Duration,
}

/// The default of [`Options::max_window`]: past about 32 steps a round trip
/// the latency saved is a few percent of the run.
pub const DEFAULT_MAX_WINDOW: usize = 32;

/// The default of [`Options::window_budget`].
pub const DEFAULT_WINDOW_BUDGET: Duration = Duration::from_millis(500);

/// A request to stop a run before its next step, shared with whoever sets it
/// (the `rev` command line's SIGINT/SIGTERM handlers). Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicUsize>);

impl StopSignal {
    /// Returns a flag nobody has set.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Returns the shared cell; a nonzero value (the signal's number) asks
    /// the run to stop. Handlers that may only store an atomic, such as
    /// `signal_hook::flag::register_usize`, write it directly.
    pub fn cell(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.0)
    }

    /// Asks the run to stop, naming the signal (its number, nonzero) that asked.
    pub fn request(&self, signal: usize) {
        self.0.store(signal.max(1), Ordering::SeqCst);
    }

    /// Returns the signal that asked to stop, if one did.
    pub fn requested(&self) -> Option<usize> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }
}

impl PartialEq for StopSignal {
    /// Two signals are equal when they share one flag.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopSignal {}

impl Default for Options {
    /// Returns rev's defaults: `rev_version`, `rev_history`, a 60 s lock timeout.
    fn default() -> Self {
        Options {
            tables: Tables::default(),
            lock_timeout: Duration::from_secs(60),
            validate_checksums: true,
            stop: StopSignal::new(),
            assume_applied: None,
            max_window: DEFAULT_MAX_WINDOW,
            window_budget: DEFAULT_WINDOW_BUDGET,
        }
    }
}

impl Options {
    /// Returns the options rev.ron sets.
    pub fn from_config(config: &Config) -> Self {
        Options {
            tables: Tables {
                schema: config.schema.clone(),
                version: config.version_table.clone(),
                history: config.history_table.clone(),
            },
            lock_timeout: Duration::from_secs(config.lock_timeout_secs),
            validate_checksums: true,
            stop: StopSignal::new(),
            assume_applied: None,
            max_window: DEFAULT_MAX_WINDOW,
            window_budget: DEFAULT_WINDOW_BUDGET,
        }
    }
}

/// Progress of a run, in the order it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A run is about to apply `total` steps.
    Planned {
        /// The steps, in order.
        steps: &'a [Step],
    },
    /// A step is about to run.
    Started {
        /// The step.
        step: &'a Step,
        /// Its 0-based position.
        index: usize,
        /// How many steps the run has.
        total: usize,
    },
    /// The step about to run is one an earlier run left part-way; it
    /// resumes where the journal and the live schema say it stopped.
    Resumed {
        /// The step.
        step: &'a Step,
        /// Where it resumes, and what was found.
        resumption: &'a crate::resume::Resumption,
    },
    /// A step committed.
    Finished {
        /// The step.
        step: &'a Step,
        /// How long it took.
        duration: Duration,
    },
    /// A step failed; the run stops.
    Failed {
        /// The step.
        step: &'a Step,
        /// The database's error.
        error: &'a DbError,
    },
    /// A stop was asked for; the run ends before the next step.
    Interrupted {
        /// How many steps committed.
        applied: usize,
        /// The number of the signal that asked.
        signal: usize,
    },
    /// Every step committed.
    Done {
        /// How many steps ran.
        applied: usize,
    },
}

/// One step that a run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The revision.
    pub revision: String,
    /// `upgrade`, `downgrade` or `stamp`.
    pub direction: &'static str,
    /// How long it took.
    pub duration: Duration,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The version rows before the run.
    pub from: Vec<String>,
    /// The version rows after the run.
    pub to: Vec<String>,
    /// The steps applied, in order.
    pub applied: Vec<Applied>,
}

/// Returns the version table's rows (empty when the table is missing).
pub fn current(backend: &mut dyn Backend, options: &Options) -> Result<Vec<String>> {
    Ok(backend.current_heads(&options.tables)?)
}

/// Returns the plan and rendered steps that `migrate` would run now, changing
/// nothing. Rendering here too makes a migration that cannot run fail the plan.
pub fn plan_live(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    movement: Movement,
    target: &str,
) -> Result<(Plan, Vec<Step>)> {
    let rows = backend.current_heads(&options.tables)?;
    let settled = crate::squash::settle(project, &rows)?;
    if let Some(inside) = &settled.inside {
        // The plan's revisions would be those of the old files' graph.
        return Err(inside.refusal("--plan shows the squashed history only"));
    }
    let current = current_nodes(project, &settled.rows)?;
    let plan = plan(project, movement, target, &current)?;
    let mut steps = settled.rewrite;
    steps.extend(render_steps(project, backend.dialect(), &plan)?);
    Ok((plan, steps))
}

/// Moves the database to `target`, one transaction per migration, holding the
/// migration lock throughout.
pub fn migrate(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    movement: Movement,
    target: &str,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Report> {
    with_lock(backend, options, |backend| {
        backend.ensure_tables(&options.tables)?;
        let rows = backend.current_heads(&options.tables)?;
        // A squash: a finished run's row is rewritten to it first; a database
        // inside a run moves on the old files, and only through the run.
        let settled = crate::squash::settle(project, &rows)?;
        let project = settled.project.as_ref();
        let current = current_nodes(project, &settled.rows)?;
        if options.validate_checksums {
            let applied = backend.applied_checksums(&options.tables)?;
            if let Some(edit) = edited_applied(project, &settled.rows, applied)
                .into_iter()
                .next()
            {
                return Err(MigrateError::Edited(Box::new(edit)));
            }
        }
        let plan = plan(project, movement, target, &current)?;
        if let Some(inside) = &settled.inside {
            inside.allow(movement, &plan, project)?;
        }
        let rendered = render_steps(project, backend.dialect(), &plan)?;
        // Once per run, not per step: a journalled step then costs no round
        // trip for the table.
        if rendered
            .iter()
            .any(|step| rev_db::journal::journalled(backend.dialect(), step))
        {
            backend.ensure_journal(&options.tables)?;
        }
        // An interrupted step is the plan's first; the squash's version-row
        // rewrite, which runs before it, has no statements to resume.
        crate::resume::settle(backend, project, options, &plan, &rendered, on_event)?;
        let mut steps = settled.rewrite;
        steps.extend(rendered);
        let mut report = run_steps(backend, options, &steps, on_event)?;
        report.from = rows;
        report.to = project.graph.ids(&plan.to);
        Ok(report)
    })
}

/// Sets the version table to `target` without running migrations; `purge`
/// empties it first, rows that name no file included.
pub fn stamp(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    target: &str,
    purge: bool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Report> {
    with_lock(backend, options, |backend| {
        backend.ensure_tables(&options.tables)?;
        let rows = backend.current_heads(&options.tables)?;
        let (steps, to) = if purge {
            let steps = purge_steps(project, &rows, target)?;
            let current = project.graph.lookup_all(&rows).unwrap_or_default();
            let to = stamp_rows(project, target, &current, &[])?;
            (steps, project.graph.ids(&to))
        } else {
            // A finished squashed run's row becomes the squash first; inside
            // a run, the stamp reads the old files.
            let settled = crate::squash::settle(project, &rows)?;
            let view = settled.project.as_ref();
            let current = current_nodes(view, &settled.rows)?;
            let to = stamp_rows(view, target, &current, &current)?;
            let mut steps = settled.rewrite;
            steps.extend(stamp_steps(view, &current, &to));
            (steps, view.graph.ids(&to))
        };
        let mut report = run_steps(backend, options, &steps, on_event)?;
        report.from = rows;
        report.to = to;
        Ok(report)
    })
}

/// Runs `body` with the migration lock held, releasing it on every path.
fn with_lock<T>(
    backend: &mut dyn Backend,
    options: &Options,
    body: impl FnOnce(&mut dyn Backend) -> Result<T>,
) -> Result<T> {
    backend.lock(options.lock_timeout)?;
    let result = body(backend);
    let unlocked = backend.unlock();
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Runs steps in order, in windows that [`Backend::run_steps`] may send
/// together; on failure, says what was applied before it. A window starts
/// at one step and doubles, up to [`Options::max_window`], while each
/// finishes within [`Options::window_budget`]; a slow one halves the next.
/// A stop request is honoured between windows, so that every step already
/// sent commits (or rolls back) as a whole.
fn run_steps(
    backend: &mut dyn Backend,
    options: &Options,
    steps: &[Step],
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Report> {
    let tables = &options.tables;
    on_event(Event::Planned { steps });
    let mut report = Report::default();
    let mut next = 0;
    let mut window = 1;
    while next < steps.len() {
        if let Some(signal) = options.stop.requested() {
            on_event(Event::Interrupted {
                applied: report.applied.len(),
                signal,
            });
            return Err(MigrateError::Interrupted {
                signal,
                applied: applied_names(&report),
                remaining: steps.len() - next,
            });
        }
        let end = next.saturating_add(window).min(steps.len());
        let sent = steps.get(next..end).unwrap_or_default();
        if let Some(step) = sent.first() {
            on_event(Event::Started {
                step,
                index: next,
                total: steps.len(),
            });
        }
        let window_started = Instant::now();
        let mut step_started = window_started;
        // The server runs the window's steps in turn, so the next one starts
        // when the one before it commits.
        let mut committed = |offset: usize| {
            let Some(step) = sent.get(offset) else {
                return;
            };
            let duration = step_started.elapsed();
            step_started = Instant::now();
            on_event(Event::Finished { step, duration });
            report.applied.push(Applied {
                revision: step.revision.clone(),
                direction: step.direction.as_str(),
                duration,
            });
            if let Some(following) = sent.get(offset + 1) {
                on_event(Event::Started {
                    step: following,
                    index: next + offset + 1,
                    total: steps.len(),
                });
            }
        };
        let outcome = backend.run_steps(tables, sent, &mut committed);
        if let Err(StepFailure { index, error }) = outcome {
            let Some(step) = sent.get(index) else {
                return Err(MigrateError::Db(error));
            };
            on_event(Event::Failed {
                step,
                error: &error,
            });
            let kept = match &error {
                DbError::Statement { index, .. } => {
                    kept_statements_hint(backend.dialect(), step, *index)
                }
                _ => None,
            };
            return Err(MigrateError::Step {
                source: Box::new(error),
                applied: applied_names(&report),
                kept,
            });
        }
        next = end;
        window = if window_started.elapsed() <= options.window_budget {
            window.saturating_mul(2)
        } else {
            window / 2
        }
        .clamp(1, options.max_window.max(1));
    }
    on_event(Event::Done {
        applied: report.applied.len(),
    });
    Ok(report)
}

/// Returns the steps a run applied so far, as `upgrade <id>`.
fn applied_names(report: &Report) -> Vec<String> {
    report
        .applied
        .iter()
        .map(|a| format!("{} {}", a.direction, a.revision))
        .collect()
}

/// Returns, for a step whose statements commit one by one, what to do about
/// those that stayed applied when statement `index` (1-based) failed: they
/// are in the journal, and the next run resumes at the failed one.
fn kept_statements_hint(dialect: &dyn Dialect, step: &Step, index: usize) -> Option<String> {
    if !rev_db::journal::journalled(dialect, step) || index <= 1 {
        return None;
    }
    Some(format!(
        "{} of revision {} completed and {} kept in the journal: fix the cause of the failure \
         (not the statements that completed), then run rev again; it resumes at statement {index}",
        rev_db::journal::first_statements(index - 1),
        step.revision,
        if index == 2 { "is" } else { "are" }
    ))
}
