//! Commands that touch a database: upgrade, downgrade, stamp, current, and the
//! offline `--sql` scripts that stand in for a database.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rev_db::{Backend, DbError, Direction, Step, Tables};
use rev_graph::{NodeIndex, Plan, PlanDirection, Resolved, Target};
use rev_project::Project;
use rev_schema::{Operation, Schema};
use rev_sql::{Dialect, DialectKind};
use serde_json::{json, Value};

use crate::args::Format;
use crate::error::CliError;
use crate::offline::{describe, revision_json};
use crate::Ctx;

impl From<DbError> for CliError {
    fn from(error: DbError) -> Self {
        let hint = match &error {
            DbError::LockTimeout(_) => Some("another `rev` is migrating this database; wait for it, or raise lock_timeout_secs in rev.ron"),
            DbError::VersionMismatch { .. } => Some("run `rev current` to see where the database stands, then retry"),
            _ => None,
        };
        CliError {
            message: error.to_string(),
            hint: hint.map(str::to_owned),
            status: 1,
        }
    }
}

/// Returns the database URL: `--url`, then `DATABASE_URL` (environment or
/// `.env`), then the config. A relative SQLite path in the config is taken
/// from the config's directory, so `--config elsewhere/rev.ron` finds its database.
pub fn database_url(ctx: &Ctx, project: &Project) -> Result<String, CliError> {
    if let Some(url) = &ctx.cli.url {
        return Ok(url.clone());
    }
    let _ = dotenvy::from_path(project.root.join(".env"));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    match &project.config.url {
        Some(url) => Ok(relative_to_root(url, &project.root)),
        None => Err(CliError::fail(
            "no database URL: pass --url, set DATABASE_URL, or set `url` in rev.ron",
        )
        .hint("for a local SQLite file: --url sqlite://app.db")),
    }
}

fn relative_to_root(url: &str, root: &Path) -> String {
    match rev_db::DatabaseUrl::parse(url) {
        Ok(rev_db::DatabaseUrl::Sqlite(rev_db::SqliteTarget::File(path)))
            if path.is_relative() && !root.as_os_str().is_empty() =>
        {
            format!("sqlite://{}", root.join(path).display())
        }
        _ => url.to_owned(),
    }
}

fn tables(project: &Project) -> Tables {
    Tables {
        schema: project.config.schema.clone(),
        version: project.config.version_table.clone(),
        history: project.config.history_table.clone(),
    }
}

/// Maps the version table's rows to revisions, refusing rows no file declares.
fn current_nodes(project: &Project, rows: &[String]) -> Result<Vec<NodeIndex>, CliError> {
    project.graph.lookup_all(rows).map_err(|id| {
        CliError::fail(format!(
            "the database is at revision `{id}`, which no migration file declares"
        ))
        .hint("restore the file, or `rev stamp <rev> --purge` to reset the version table")
    })
}

/// Returns the schema that applying `rows` and everything they need leaves.
pub fn schema_at(project: &Project, rows: &[NodeIndex]) -> Result<Schema, CliError> {
    Ok(fold_applied(project, rows, &[])?.0)
}

/// Folds every revision that `rows` stand for, in upgrade order, and on the way
/// derives the downgrade of each revision in `invert_for` that has none written:
/// the inverse of its upgrade against the schema just before it. One pass over
/// the history, however many revisions a downgrade un-applies.
fn fold_applied(
    project: &Project,
    rows: &[NodeIndex],
    invert_for: &[NodeIndex],
) -> Result<(Schema, HashMap<NodeIndex, Vec<Operation>>), CliError> {
    let mut schema = Schema::default();
    let mut inverses = HashMap::new();
    let invert_for: std::collections::HashSet<NodeIndex> = invert_for.iter().copied().collect();
    let plan = project
        .graph
        .plan_upgrade(&[], &Resolved::Revisions(rows.to_vec()));
    for step in &plan.steps {
        let node = step.revision;
        let Some(file) = project.file(node) else {
            continue;
        };
        if file.migration.downgrade.is_none() && invert_for.contains(&node) {
            let inverse = rev_schema::invert(&file.migration.upgrade, &schema).map_err(|e| {
                CliError::fail(format!(
                    "{}: revision {} has no downgrade and its upgrade cannot be inverted: {e}",
                    file.path.display(),
                    project.graph.id(node)
                ))
                .hint("write a `downgrade: [...]` list in the file")
            })?;
            inverses.insert(node, inverse);
        }
        for op in &file.migration.upgrade {
            schema.apply(op).map_err(|e| {
                CliError::fail(format!(
                    "{}: revision {}: {e}",
                    file.path.display(),
                    project.graph.id(node)
                ))
            })?;
        }
    }
    Ok((schema, inverses))
}

/// Turns a plan into the steps a backend runs, rendering each migration's
/// operations against the schema folded so far.
pub fn render_steps(
    project: &Project,
    dialect: &dyn Dialect,
    plan: &Plan,
) -> Result<Vec<Step>, CliError> {
    let downgraded: Vec<NodeIndex> = plan
        .steps
        .iter()
        .filter(|s| s.direction == PlanDirection::Downgrade)
        .map(|s| s.revision)
        .collect();
    let (mut schema, mut inverses) = fold_applied(project, &plan.from, &downgraded)?;
    let graph = &project.graph;
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let node = step.revision;
        let Some(file) = project.file(node) else {
            continue;
        };
        let (ops, direction) = match step.direction {
            PlanDirection::Upgrade => (file.migration.upgrade.clone(), Direction::Upgrade),
            PlanDirection::Downgrade => (
                file.migration
                    .downgrade
                    .clone()
                    .or_else(|| inverses.remove(&node))
                    .unwrap_or_default(),
                Direction::Downgrade,
            ),
        };
        let statements = rev_sql::render_migration(dialect, &ops, &mut schema).map_err(|e| {
            CliError::fail(format!(
                "{}: revision {} ({}): cannot render for {}: {e}",
                file.path.display(),
                graph.id(node),
                step.direction.as_str(),
                dialect.kind()
            ))
        })?;
        steps.push(Step {
            revision: graph.id(node).to_owned(),
            direction,
            statements,
            delete_versions: graph.ids(&step.delete_rows),
            insert_versions: graph.ids(&step.insert_rows),
            checksum: file.migration.checksum(),
            transactional: file.migration.transactional,
        });
    }
    Ok(steps)
}

/// Returns the dialect of a URL's scheme, without connecting: the same reading
/// as the connection's, so that an ADO.NET string is SQL Server whatever key
/// it starts with.
fn dialect_of_url(url: &str) -> Option<DialectKind> {
    rev_db::DatabaseUrl::parse(url)
        .ok()
        .map(|parsed| parsed.dialect_kind())
}

/// Returns the dialect of offline scripts: `--dialect`, else the URL's. Without
/// either there is no telling which database the script is for, and a script
/// in the wrong dialect is worse than none.
fn offline_dialect(ctx: &Ctx, project: &Project) -> Result<Box<dyn Dialect>, CliError> {
    let kind = match ctx.cli.dialect {
        Some(kind) => kind,
        None => {
            let url = database_url(ctx, project).map_err(|_| {
                CliError::usage(
                    "--sql needs to know the database: no --dialect and no database URL",
                )
                .hint("pass --dialect mssql|sqlite|postgres|mysql, or --url <URL>")
            })?;
            dialect_of_url(&url).ok_or_else(|| {
                CliError::usage(format!(
                    "--sql cannot tell the dialect from the database URL `{}`",
                    rev_db::url::redact(&url)
                ))
                .hint("pass --dialect mssql|sqlite|postgres|mysql")
            })?
        }
    };
    Ok(rev_sql::dialect(kind))
}

/// Which command a migration run serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// `rev upgrade`.
    Upgrade,
    /// `rev downgrade`.
    Downgrade,
}

fn make_plan(
    project: &Project,
    movement: Move,
    target: &str,
    current: &[NodeIndex],
) -> Result<Plan, CliError> {
    let parsed = Target::parse(target)?;
    let resolved = project.graph.resolve(&parsed, current)?;
    match movement {
        Move::Upgrade => Ok(project.graph.plan_upgrade(current, &resolved)),
        Move::Downgrade => match project.graph.branch_tip(&parsed, current)? {
            Some(tip) => Ok(project
                .graph
                .plan_downgrade_along(current, &resolved, tip)?),
            None => Ok(project.graph.plan_downgrade(current, &resolved)?),
        },
    }
}

fn rows_of(project: &Project, text: &str) -> Result<Vec<NodeIndex>, CliError> {
    if text.is_empty() || text == "base" {
        return Ok(Vec::new());
    }
    match project.graph.resolve(&Target::parse(text)?, &[])? {
        Resolved::Base => Ok(Vec::new()),
        Resolved::Revisions(nodes) => Ok(nodes),
    }
}

/// `rev upgrade|downgrade TARGET --sql`: prints the script, touching no database.
pub fn offline(ctx: &mut Ctx, movement: Move, target: &str) -> Result<(), CliError> {
    let project = ctx.project()?;
    let dialect = offline_dialect(ctx, &project)?;
    let (from, to) = match target.split_once(':') {
        Some((from, to)) => (rows_of(&project, from)?, to),
        None if movement == Move::Downgrade => {
            return Err(CliError::usage(
                "downgrade --sql needs a range FROM:TO, since there is no database to start from",
            )
            .hint("e.g. `rev downgrade heads:base --sql`"));
        }
        None => (Vec::new(), target),
    };
    let plan = make_plan(&project, movement, to, &from)?;
    let steps = render_steps(&project, dialect.as_ref(), &plan)?;
    let script = rev_sql::offline_script(dialect.as_ref(), &tables(&project), &steps);
    ctx.text(&script)
}

/// Connects, with the password kept out of any message.
fn connect(ctx: &Ctx, project: &Project) -> Result<Box<dyn Backend>, CliError> {
    let url = database_url(ctx, project)?;
    // A live run speaks the database's dialect; a different --dialect means the
    // user expects another database than the one about to be touched.
    if let (Some(asked), Some(found)) = (ctx.cli.dialect, dialect_of_url(&url)) {
        if asked != found {
            return Err(CliError::usage(format!(
                "--dialect {asked} disagrees with the database URL, which is {found}"
            ))
            .hint("--dialect is for --sql scripts; for another database pass --url"));
        }
    }
    rev_db::connect(&url).map_err(|error| {
        let hint = match &error {
            DbError::Connect { .. } => Some(
                "check the URL (from --url, DATABASE_URL or `url` in rev.ron), the user and password, and that the server is running",
            ),
            DbError::InvalidUrl(_) | DbError::UnsupportedScheme(_) => Some(
                "URLs look like sqlite://app.db, postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db, mssql://user:pass@host:1433/db or server=tcp:host,1433;database=db;user id=user;password=pass",
            ),
            _ => None,
        };
        let mut err = CliError::from(error);
        if err.hint.is_none() {
            err.hint = hint.map(str::to_owned);
        }
        err
    })
}

/// Returns the path of a SQLite database file that does not exist yet;
/// opening it would create it.
fn missing_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match rev_db::DatabaseUrl::parse(url) {
        Ok(rev_db::DatabaseUrl::Sqlite(rev_db::SqliteTarget::File(path))) if !path.exists() => {
            Some(path)
        }
        _ => None,
    }
}

/// Prints the statements of each step, for `-v`.
fn print_statements(ctx: &mut Ctx, steps: &[Step]) -> Result<(), CliError> {
    for step in steps {
        ctx.line(&format!("-- {} {}", step.direction.as_str(), step.revision))?;
        for statement in &step.statements {
            ctx.line(&format!("{};", statement.sql))?;
        }
        if step.statements.is_empty() {
            ctx.line("-- (no statements; only the version table changes)")?;
        }
    }
    Ok(())
}

fn plan_json(project: &Project, plan: &Plan) -> Value {
    let graph = &project.graph;
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            json!({
                "direction": s.direction.as_str(),
                "revision": graph.id(s.revision),
                "message": project.file(s.revision).map(|f| f.migration.message.as_str()),
            })
        })
        .collect();
    json!({
        "from": graph.ids(&plan.from),
        "to": graph.ids(&plan.to),
        "steps": steps,
    })
}

fn print_plan(
    ctx: &mut Ctx,
    project: &Project,
    plan: &Plan,
    dialect: &dyn Dialect,
) -> Result<(), CliError> {
    if ctx.format(&[Format::Text, Format::Json])? == Format::Json {
        return ctx.json(&plan_json(project, plan));
    }
    let graph = &project.graph;
    let ids = |nodes: &[NodeIndex]| {
        if nodes.is_empty() {
            "<base>".to_owned()
        } else {
            graph.ids(nodes).join(", ")
        }
    };
    ctx.line(&format!("from: {}", ids(&plan.from)))?;
    ctx.line(&format!("to:   {}", ids(&plan.to)))?;
    if plan.steps.is_empty() {
        ctx.line("nothing to do")?;
    }
    for step in &plan.steps {
        let message = project
            .file(step.revision)
            .map_or("", |f| f.migration.message.as_str());
        let transactional = project
            .file(step.revision)
            .is_none_or(|f| f.migration.transactional);
        ctx.line(&format!(
            "{:<9} {} {}{}",
            step.direction.as_str(),
            graph.id(step.revision),
            message,
            if transactional {
                ""
            } else {
                " (outside a transaction)"
            }
        ))?;
    }
    if !dialect.transactional_ddl() && !plan.steps.is_empty() {
        ctx.line(&format!(
            "note: {} commits DDL implicitly: a migration that fails part-way keeps the statements that ran before the failure",
            dialect.kind()
        ))?;
    }
    Ok(())
}

/// Returns, for a step whose statements commit one by one, what to do about
/// those that stayed applied when statement `index` (1-based) failed. At the
/// first statement, the likely cause is an earlier run killed part-way: its
/// statements stayed while the version table still says they never ran, so
/// the rerun trips over them (e.g. "table already exists").
fn kept_statements_hint(dialect: &dyn Dialect, step: &Step, index: usize) -> Option<String> {
    let reason = if !dialect.transactional_ddl() {
        format!("{} commits each DDL statement at once", dialect.kind())
    } else if !step.transactional {
        format!("revision {} runs outside a transaction", step.revision)
    } else {
        return None;
    };
    let revision = &step.revision;
    Some(if index <= 1 {
        format!(
            "{reason}: if an earlier run of revision {revision} was interrupted, the statements \
             it ran stay applied; undo them by hand, then run rev again"
        )
    } else {
        format!(
            "{reason}: undo by hand what revision {revision} applied before the failure (or \
             make those statements safe to run twice), then run rev again"
        )
    })
}

/// Runs steps one by one, reporting each; on failure, says what was applied before.
///
/// On a terminal a progress bar on stderr shows how far a long run is; piped
/// output gets the step lines only.
fn run_steps(
    ctx: &mut Ctx,
    backend: &mut dyn Backend,
    tables: &Tables,
    steps: &[Step],
    project: &Project,
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let bar = if steps.len() > 1 && !ctx.cli.quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(steps.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut done: Vec<String> = Vec::new();
    for step in steps {
        bar.set_message(format!("{} {}", step.direction.as_str(), step.revision));
        let started = Instant::now();
        if let Err(error) = backend.run_step(tables, step) {
            bar.abandon();
            let failed_at = match &error {
                DbError::Statement { index, .. } => Some(*index),
                _ => None,
            };
            let mut err = CliError::from(error);
            if let (Some(index), None) = (failed_at, &err.hint) {
                err.hint = kept_statements_hint(backend.dialect(), step, index);
            }
            let before = if done.is_empty() {
                "nothing was applied before it".to_owned()
            } else {
                format!("completed before the failure: {}", done.join(", "))
            };
            err.message = format!("{}\n{before}", err.message);
            return Err(err);
        }
        done.push(format!("{} {}", step.direction.as_str(), step.revision));
        bar.inc(1);
        if !ctx.cli.quiet {
            let message = project
                .graph
                .get(&step.revision)
                .and_then(|n| project.file(n))
                .map_or("", |f| f.migration.message.as_str());
            let line = if step.direction == Direction::Stamp {
                stamp_line(step, message)
            } else {
                format!(
                    "{:<9} {} {} ({} ms)",
                    step.direction.as_str(),
                    step.revision,
                    message,
                    started.elapsed().as_millis()
                )
            };
            bar.suspend(|| ctx.line(&line))?;
        }
        if ctx.cli.verbose && step.direction != Direction::Stamp {
            bar.suspend(|| -> Result<(), CliError> {
                for statement in &step.statements {
                    ctx.line(&format!("    {};", statement.sql.replace('\n', "\n    ")))?;
                }
                for id in &step.delete_versions {
                    ctx.line(&format!("    -- version table: removed {id}"))?;
                }
                for id in &step.insert_versions {
                    ctx.line(&format!("    -- version table: added {id}"))?;
                }
                Ok(())
            })?;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// Returns what a stamp step did to the version table, since a stamp that
/// only removes a row is not "at" the revision it names.
fn stamp_line(step: &Step, message: &str) -> String {
    let mut parts = Vec::new();
    if !step.insert_versions.is_empty() {
        parts.push(format!(
            "added {} {message}",
            step.insert_versions.join(", ")
        ));
    }
    if !step.delete_versions.is_empty() {
        parts.push(format!("removed {}", step.delete_versions.join(", ")));
    }
    format!("stamp     {}", parts.join("; "))
}

/// Runs `body` with the migration lock held, releasing it on every path.
fn with_lock<T>(
    ctx: &mut Ctx,
    project: &Project,
    backend: &mut dyn Backend,
    body: impl FnOnce(&mut Ctx, &mut dyn Backend) -> Result<T, CliError>,
) -> Result<T, CliError> {
    backend.lock(Duration::from_secs(project.config.lock_timeout_secs))?;
    let result = body(ctx, backend);
    let unlocked = backend.unlock();
    let value = result?;
    unlocked?;
    Ok(value)
}

/// `rev upgrade|downgrade TARGET [--plan]` against the live database.
pub fn migrate(
    ctx: &mut Ctx,
    movement: Move,
    target: &str,
    plan_only: bool,
) -> Result<(), CliError> {
    let project = ctx.project()?;
    let tables = tables(&project);
    if plan_only && missing_sqlite_file(&database_url(ctx, &project)?).is_some() {
        // Opening the file would create it, and --plan changes nothing: plan from base.
        let dialect = rev_sql::dialect(DialectKind::Sqlite);
        let plan = make_plan(&project, movement, target, &[])?;
        let steps = render_steps(&project, dialect.as_ref(), &plan)?;
        print_plan(ctx, &project, &plan, dialect.as_ref())?;
        if ctx.cli.verbose && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
            print_statements(ctx, &steps)?;
        }
        return Ok(());
    }
    let mut backend = connect(ctx, &project)?;
    if plan_only {
        let rows = backend.current_heads(&tables)?;
        let current = current_nodes(&project, &rows)?;
        let plan = make_plan(&project, movement, target, &current)?;
        // Render now so that a migration that cannot run fails the plan too.
        let steps = render_steps(&project, backend.dialect(), &plan)?;
        print_plan(ctx, &project, &plan, backend.dialect())?;
        if ctx.cli.verbose && ctx.format(&[Format::Text, Format::Json])? == Format::Text {
            print_statements(ctx, &steps)?;
        }
        return Ok(());
    }
    with_lock(ctx, &project, backend.as_mut(), |ctx, backend| {
        backend.ensure_tables(&tables)?;
        let rows = backend.current_heads(&tables)?;
        let current = current_nodes(&project, &rows)?;
        let plan = make_plan(&project, movement, target, &current)?;
        let steps = render_steps(&project, backend.dialect(), &plan)?;
        if steps.is_empty() && !ctx.cli.quiet {
            ctx.line("nothing to do: the database is already there")?;
        }
        run_steps(ctx, backend, &tables, &steps, &project)
    })
}

/// Returns the stamp steps that change the version rows from `current` to `target`.
fn stamp_steps(project: &Project, current: &[NodeIndex], target: &[NodeIndex]) -> Vec<Step> {
    let graph = &project.graph;
    let delete: Vec<NodeIndex> = current
        .iter()
        .copied()
        .filter(|c| !target.contains(c))
        .collect();
    let insert: Vec<NodeIndex> = target
        .iter()
        .copied()
        .filter(|t| !current.contains(t))
        .collect();
    let checksum = |n: NodeIndex| {
        project
            .file(n)
            .map(|f| f.migration.checksum())
            .unwrap_or_default()
    };
    let mut steps = Vec::new();
    let mut pending_delete = graph.ids(&delete);
    for &node in &insert {
        steps.push(Step {
            revision: graph.id(node).to_owned(),
            direction: Direction::Stamp,
            statements: Vec::new(),
            delete_versions: std::mem::take(&mut pending_delete),
            insert_versions: vec![graph.id(node).to_owned()],
            checksum: checksum(node),
            transactional: true,
        });
    }
    for id in pending_delete {
        let node = graph.get(&id);
        steps.push(Step {
            revision: id.clone(),
            direction: Direction::Stamp,
            statements: Vec::new(),
            delete_versions: vec![id],
            insert_versions: Vec::new(),
            checksum: node.map(checksum).unwrap_or_default(),
            transactional: true,
        });
    }
    steps
}

/// Returns the version rows after stamping `target` over `current`, as Alembic
/// does: `base` leaves no row; otherwise the target revisions (less any that
/// another of them needs) replace the current rows on their lineage (rows they
/// need or that need them), and rows on unrelated branches stay, so that
/// stamping one branch does not mark another as never applied (its migrations
/// would run again on the next upgrade). `kept` is what rows survive a purge:
/// none, or `current`.
fn stamp_rows(
    project: &Project,
    target: &str,
    current: &[NodeIndex],
    kept: &[NodeIndex],
) -> Result<Vec<NodeIndex>, CliError> {
    let graph = &project.graph;
    let resolved = graph.resolve(&Target::parse(target)?, current)?;
    let Resolved::Revisions(nodes) = resolved else {
        return Ok(Vec::new());
    };
    let below = graph.applied_set(&nodes);
    let mut rows: Vec<NodeIndex> = kept
        .iter()
        .copied()
        .filter(|&row| {
            let needs_target = {
                let under = graph.applied_set(&[row]);
                nodes
                    .iter()
                    .any(|t| under.get(t.index()).copied().unwrap_or(false))
            };
            let needed = below.get(row.index()).copied().unwrap_or(false);
            !needs_target && !needed
        })
        .collect();
    rows.extend(nodes);
    Ok(graph.plan_upgrade(&[], &Resolved::Revisions(rows)).to)
}

/// `rev stamp TARGET [--purge] [--sql]`.
pub fn stamp(ctx: &mut Ctx, target: &str, purge: bool, sql: bool) -> Result<(), CliError> {
    let project = ctx.project()?;
    let tables = tables(&project);
    if sql {
        let dialect = offline_dialect(ctx, &project)?;
        let (from, to) = match target.split_once(':') {
            Some((from, to)) => (rows_of(&project, from)?, to),
            None => (Vec::new(), target),
        };
        let rows = stamp_rows(&project, to, &from, if purge { &[] } else { &from })?;
        let steps = stamp_steps(&project, &from, &rows);
        let script = rev_sql::offline_script(dialect.as_ref(), &tables, &steps);
        return ctx.text(&script);
    }
    let mut backend = connect(ctx, &project)?;
    with_lock(ctx, &project, backend.as_mut(), |ctx, backend| {
        backend.ensure_tables(&tables)?;
        let raw_rows = backend.current_heads(&tables)?;
        let steps = if purge {
            // Rows that name no file are exactly what --purge is for: drop them all.
            let current = project.graph.lookup_all(&raw_rows).unwrap_or_default();
            let target_rows = stamp_rows(&project, target, &current, &[])?;
            let mut steps: Vec<Step> = raw_rows
                .iter()
                .map(|id| Step {
                    revision: id.clone(),
                    direction: Direction::Stamp,
                    statements: Vec::new(),
                    delete_versions: vec![id.clone()],
                    insert_versions: Vec::new(),
                    checksum: String::new(),
                    transactional: true,
                })
                .collect();
            steps.extend(stamp_steps(&project, &[], &target_rows));
            steps
        } else {
            let current = current_nodes(&project, &raw_rows)?;
            let target_rows = stamp_rows(&project, target, &current, &current)?;
            stamp_steps(&project, &current, &target_rows)
        };
        if steps.is_empty() && !ctx.cli.quiet {
            ctx.line("nothing to do: the version table already says that")?;
        }
        run_steps(ctx, backend, &tables, &steps, &project)
    })
}

/// `rev current`.
pub fn current(ctx: &mut Ctx) -> Result<(), CliError> {
    let project = ctx.project()?;
    let tables = tables(&project);
    // Reading where a missing SQLite file stands must not create it.
    let rows = if missing_sqlite_file(&database_url(ctx, &project)?).is_some() {
        Vec::new()
    } else {
        connect(ctx, &project)?.current_heads(&tables)?
    };
    let json = ctx.format(&[Format::Text, Format::Json])? == Format::Json;
    let mut list = Vec::new();
    for id in &rows {
        match project.graph.get(id) {
            Some(node) if json => list.push(revision_json(&project, node)),
            Some(node) if ctx.cli.verbose => {
                let line = crate::offline::verbose_block(&project, node);
                ctx.text(&line)?;
            }
            Some(node) => {
                let message = project.file(node).map_or("", |f| f.migration.message.as_str());
                ctx.line(&format!("{} {message}", describe(&project, node)))?;
            }
            None if json => list.push(json!({"id": id, "parents": [], "depends_on": [], "branch_labels": [], "message": null, "path": null})),
            None => ctx.line(&format!("{id} (not in the migration files)"))?,
        }
    }
    if json {
        return ctx.json(&Value::Array(list));
    }
    if rows.is_empty() && !ctx.cli.quiet {
        ctx.line("<base> (nothing applied)")?;
    }
    Ok(())
}

/// Returns what `rev check` compares the checksums with, for `-v`: it skips
/// them without a database, and a user should not take silence for a pass.
pub fn checksum_scope(ctx: &Ctx, project: &Project) -> String {
    match database_url(ctx, project) {
        Err(_) => "skipped the checksums of applied migrations: no database URL".to_owned(),
        Ok(url) => match missing_sqlite_file(&url) {
            Some(path) => format!(
                "skipped the checksums of applied migrations: {} does not exist yet",
                path.display()
            ),
            None => format!(
                "checked the checksums of applied migrations in {}",
                rev_db::url::redact(&url)
            ),
        },
    }
}

/// Returns `rev check`'s findings about applied revisions whose file changed.
pub fn checksum_findings(ctx: &Ctx, project: &Project) -> Vec<crate::offline::Finding> {
    let mut findings = Vec::new();
    let Ok(url) = database_url(ctx, project) else {
        return findings;
    };
    // Checking must not create an SQLite file that does not exist yet,
    // however the URL spells it (`sqlite://`, `sqlite:`, any case).
    if missing_sqlite_file(&url).is_some() {
        return findings;
    }
    let tables = tables(project);
    let applied = rev_db::connect(&url).and_then(|mut backend| {
        Ok((
            backend.current_heads(&tables)?,
            backend.applied_checksums(&tables)?,
        ))
    });
    match applied {
        Err(e) => findings.push(crate::offline::Finding {
            severity: "warning",
            kind: "database_unreachable",
            message: format!("cannot read the database to compare checksums: {e}"),
        }),
        Ok((rows, applied)) => {
            // The history's last row of a revision says what last happened
            // to it, not whether it is applied: a stamp changes the version
            // table without an `upgrade`/`downgrade` row for each revision
            // it adds or takes away. The version table says what is applied.
            let heads: Vec<NodeIndex> =
                rows.iter().filter_map(|id| project.graph.get(id)).collect();
            let in_force: std::collections::HashSet<NodeIndex> = project
                .graph
                .plan_upgrade(&[], &Resolved::Revisions(heads))
                .steps
                .iter()
                .map(|step| step.revision)
                .collect();
            for (id, recorded) in applied {
                let Some(node) = project.graph.get(&id) else {
                    continue;
                };
                if !in_force.contains(&node) {
                    continue;
                }
                let Some(file) = project.file(node) else {
                    continue;
                };
                let now = file.migration.checksum();
                if !recorded.is_empty() && recorded != now {
                    findings.push(crate::offline::Finding {
                        severity: "error",
                        kind: "edited_after_apply",
                        message: format!(
                            "revision {id} ({}) was edited after it was applied: checksum {} then, {} now",
                            file.path.display(),
                            &recorded.get(..12).unwrap_or(&recorded),
                            &now.get(..12).unwrap_or(&now)
                        ),
                    });
                }
            }
        }
    }
    findings
}
