//! The engine against SQLite (in memory, or a temporary file where a check
//! opens its own connection), with projects built from in-memory files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_migrate::{Config, Event, MigrateError, Movement, Options, Project};

fn migration(id: &str, parents: &[&str], upgrade: &str) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "Migration(id: {id:?}, parents: [{}], message: \"make {id}\", upgrade: [{upgrade}])",
        parents.join(", ")
    )
}

fn table(name: &str) -> String {
    format!(
        "CreateTable(name: {name:?}, columns: [Column(name: \"id\", type: Integer, primary_key: true)])"
    )
}

/// Builds a project from (file name, text) pairs.
fn project(files: &[(String, String)]) -> Project {
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    Project::from_embedded(Config::default(), &pairs).unwrap()
}

///   c
///  / \
/// a   b
///  \ /
///   base (a and b are both bases here; c merges them)
fn merged() -> Project {
    project(&[
        ("a.ron".into(), migration("a", &[], &table("ta"))),
        ("b.ron".into(), migration("b", &[], &table("tb"))),
        ("c.ron".into(), migration("c", &["a", "b"], "")),
    ])
}

fn memory() -> Box<dyn rev_migrate::Backend> {
    rev_migrate::connect("sqlite::memory:").unwrap()
}

#[test]
fn upgrade_applies_every_revision_in_order_and_reports_events() {
    let project = merged();
    let mut db = memory();
    let mut seen = Vec::new();
    let report = rev_migrate::migrate(
        db.as_mut(),
        &project,
        &Options::default(),
        Movement::Upgrade,
        "heads",
        &mut |event| match event {
            Event::Started { step, .. } => seen.push(format!("start {}", step.revision)),
            Event::Finished { step, .. } => seen.push(format!("end {}", step.revision)),
            Event::Done { applied } => seen.push(format!("done {applied}")),
            _ => {}
        },
    )
    .unwrap();
    assert!(report.from.is_empty());
    assert_eq!(report.to, ["c"]);
    let applied: Vec<&str> = report.applied.iter().map(|a| a.revision.as_str()).collect();
    // Alembic's order: history walks down from c through its parents as
    // declared (c, a, b), and an upgrade runs that backwards.
    assert_eq!(applied, ["b", "a", "c"]);
    assert_eq!(
        seen,
        ["start b", "end b", "start a", "end a", "start c", "end c", "done 3"]
    );
    assert_eq!(
        rev_migrate::current(db.as_mut(), &Options::default()).unwrap(),
        ["c"]
    );
}

#[test]
fn downgrade_one_step_from_a_merge_brings_back_both_rows() {
    let project = merged();
    let mut db = memory();
    let options = Options::default();
    let mut quiet = |_: Event<'_>| {};
    rev_migrate::migrate(
        db.as_mut(),
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut quiet,
    )
    .unwrap();
    let report = rev_migrate::migrate(
        db.as_mut(),
        &project,
        &options,
        Movement::Downgrade,
        "a",
        &mut quiet,
    )
    .unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].direction, "downgrade");
    let mut rows = rev_migrate::current(db.as_mut(), &options).unwrap();
    rows.sort();
    assert_eq!(rows, ["a", "b"]);
}

#[test]
fn stamp_moves_the_rows_without_running_anything() {
    let project = merged();
    let mut db = memory();
    let options = Options::default();
    let mut quiet = |_: Event<'_>| {};
    let report =
        rev_migrate::stamp(db.as_mut(), &project, &options, "c", false, &mut quiet).unwrap();
    assert_eq!(report.to, ["c"]);
    assert_eq!(rev_migrate::current(db.as_mut(), &options).unwrap(), ["c"]);
    // Nothing ran: upgrading now has nothing to do, and no table was made.
    let report = rev_migrate::migrate(
        db.as_mut(),
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut quiet,
    )
    .unwrap();
    assert!(report.applied.is_empty());
    let live = db.introspect(&options.tables).unwrap();
    assert!(live.tables.is_empty(), "{live:?}");
}

#[test]
fn a_failing_step_names_what_was_applied_before_it() {
    let project = project(&[
        ("a.ron".into(), migration("a", &[], &table("ta"))),
        (
            "b.ron".into(),
            migration("b", &["a"], "Sql(\"CREATE TABLE broken (\")"),
        ),
    ]);
    let mut db = memory();
    let options = Options::default();
    let error = rev_migrate::migrate(
        db.as_mut(),
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap_err();
    match &error {
        MigrateError::Step { applied, .. } => assert_eq!(applied, &["upgrade a"]),
        other => panic!("expected a step error, got {other:?}"),
    }
    assert!(error
        .to_string()
        .ends_with("completed before the failure: upgrade a"));
    assert_eq!(rev_migrate::current(db.as_mut(), &options).unwrap(), ["a"]);
}

#[test]
fn an_edited_applied_migration_stops_the_run_and_is_a_check_finding() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let first = project(&[("a.ron".into(), migration("a", &[], &table("ta")))]);
    let options = Options::default();
    let mut db = rev_migrate::connect(&url).unwrap();
    rev_migrate::migrate(
        db.as_mut(),
        &first,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap();
    let edited = project(&[
        ("a.ron".into(), migration("a", &[], &table("renamed"))),
        ("b.ron".into(), migration("b", &["a"], &table("tb"))),
    ]);
    let error = rev_migrate::migrate(
        db.as_mut(),
        &edited,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(error, MigrateError::Edited(_)), "{error:?}");
    assert!(error.hint().unwrap().contains("rev check"));
    // Nothing of b ran.
    assert_eq!(rev_migrate::current(db.as_mut(), &options).unwrap(), ["a"]);

    let findings = rev_migrate::check::checksum_findings(&edited, &options, Some(&url));
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ["edited_after_apply"]);

    // The application may decide to run anyway.
    let lenient = Options {
        validate_checksums: false,
        ..Options::default()
    };
    let report = rev_migrate::migrate(
        db.as_mut(),
        &edited,
        &lenient,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.to, ["b"]);
}

#[test]
fn a_database_at_an_unknown_revision_is_refused_before_anything_runs() {
    let project = merged();
    let mut db = memory();
    let options = Options::default();
    let other = self::project(&[("z.ron".into(), migration("z", &[], &table("tz")))]);
    rev_migrate::stamp(db.as_mut(), &other, &options, "z", false, &mut |_| {}).unwrap();
    let error = rev_migrate::migrate(
        db.as_mut(),
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(&error, MigrateError::UnknownRevision(id) if id == "z"),
        "{error:?}"
    );
}

#[test]
fn graph_findings_report_several_heads() {
    let project = project(&[
        ("a.ron".into(), migration("a", &[], "")),
        ("b.ron".into(), migration("b", &["a"], "")),
        ("c.ron".into(), migration("c", &["a"], "")),
    ]);
    let findings = rev_migrate::check::graph_findings(&project);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, "multiple_heads");
    assert_eq!(findings[0].severity, rev_migrate::Severity::Error);
}

#[test]
fn offline_scripts_need_a_range_to_downgrade() {
    let project = merged();
    let dialect = rev_sql_dialect();
    let error = rev_migrate::migration_script(
        &project,
        dialect.as_ref(),
        &Options::default().tables,
        Movement::Downgrade,
        "base",
    )
    .unwrap_err();
    assert!(error.is_usage());
    let script = rev_migrate::migration_script(
        &project,
        dialect.as_ref(),
        &Options::default().tables,
        Movement::Downgrade,
        "heads:base",
    )
    .unwrap();
    assert!(script.contains("DROP TABLE \"ta\""), "{script}");
}

fn rev_sql_dialect() -> Box<dyn rev_migrate::Dialect> {
    rev_sql::dialect(rev_migrate::DialectKind::Sqlite)
}

#[test]
fn a_broken_embedded_file_names_the_file_line_and_column() {
    let error = Project::from_embedded(
        Config::default(),
        &[(
            "migrations/versions/a.ron",
            "Migration(id: \"a\", parents: [], message: 3)",
        )],
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("migrations/versions/a.ron:1:"), "{text}");
}

/// A SQLite backend that records the windows the run hands it and can ask
/// the run to stop once the first window is in.
struct Windows {
    inner: Box<dyn rev_migrate::Backend>,
    sizes: Vec<usize>,
    stop_after_first: Option<rev_migrate::StopSignal>,
}

impl rev_migrate::Backend for Windows {
    fn dialect(&self) -> &dyn rev_sql::Dialect {
        self.inner.dialect()
    }
    fn lock(&mut self, timeout: std::time::Duration) -> Result<(), rev_db::DbError> {
        self.inner.lock(timeout)
    }
    fn unlock(&mut self) -> Result<(), rev_db::DbError> {
        self.inner.unlock()
    }
    fn ensure_tables(&mut self, tables: &rev_db::Tables) -> Result<(), rev_db::DbError> {
        self.inner.ensure_tables(tables)
    }
    fn ensure_journal(&mut self, tables: &rev_db::Tables) -> Result<(), rev_db::DbError> {
        self.inner.ensure_journal(tables)
    }
    fn current_heads(&mut self, tables: &rev_db::Tables) -> Result<Vec<String>, rev_db::DbError> {
        self.inner.current_heads(tables)
    }
    fn applied_checksums(
        &mut self,
        tables: &rev_db::Tables,
    ) -> Result<Vec<(String, String)>, rev_db::DbError> {
        self.inner.applied_checksums(tables)
    }
    fn run_step(
        &mut self,
        tables: &rev_db::Tables,
        step: &rev_db::Step,
    ) -> Result<(), rev_db::DbError> {
        self.inner.run_step(tables, step)
    }
    fn run_steps(
        &mut self,
        tables: &rev_db::Tables,
        steps: &[rev_db::Step],
        committed: &mut dyn FnMut(usize),
    ) -> Result<(), rev_db::StepFailure> {
        self.sizes.push(steps.len());
        if let Some(stop) = self.stop_after_first.take() {
            stop.request(2);
        }
        self.inner.run_steps(tables, steps, committed)
    }
    fn introspect(
        &mut self,
        tables: &rev_db::Tables,
    ) -> Result<rev_schema::Schema, rev_db::DbError> {
        self.inner.introspect(tables)
    }
}

fn linear(count: usize) -> Project {
    let files: Vec<(String, String)> = (0..count)
        .map(|i| {
            let id = format!("m{i:02}");
            let parents: Vec<String> = i
                .checked_sub(1)
                .map(|p| format!("m{p:02}"))
                .into_iter()
                .collect();
            let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
            (
                format!("{id}.ron"),
                migration(&id, &parents, &table(&format!("t{i}"))),
            )
        })
        .collect();
    project(&files)
}

#[test]
fn windows_double_up_to_the_limit_and_events_stay_in_step_order() {
    let project = linear(20);
    let mut db = Windows {
        inner: memory(),
        sizes: Vec::new(),
        stop_after_first: None,
    };
    let options = Options {
        max_window: 8,
        window_budget: std::time::Duration::MAX,
        ..Options::default()
    };
    let mut seen = Vec::new();
    let report = rev_migrate::migrate(
        &mut db,
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |event| match event {
            Event::Started { step, index, .. } => {
                seen.push(format!("start {} {index}", step.revision))
            }
            Event::Finished { step, .. } => seen.push(format!("end {}", step.revision)),
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(db.sizes, [1, 2, 4, 8, 5]);
    assert_eq!(report.applied.len(), 20);
    let expected: Vec<String> = (0..20)
        .flat_map(|i| [format!("start m{i:02} {i}"), format!("end m{i:02}")])
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_slow_window_halves_the_next_and_one_step_is_the_floor() {
    let project = linear(4);
    let mut db = Windows {
        inner: memory(),
        sizes: Vec::new(),
        stop_after_first: None,
    };
    // Every window is over a zero budget.
    let options = Options {
        window_budget: std::time::Duration::ZERO,
        ..Options::default()
    };
    rev_migrate::migrate(
        &mut db,
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(db.sizes, [1, 1, 1, 1]);
}

#[test]
fn a_stop_asked_for_during_a_window_ends_the_run_after_it() {
    let project = linear(6);
    let options = Options {
        window_budget: std::time::Duration::MAX,
        ..Options::default()
    };
    let mut db = Windows {
        inner: memory(),
        sizes: Vec::new(),
        stop_after_first: Some(options.stop.clone()),
    };
    let error = rev_migrate::migrate(
        &mut db,
        &project,
        &options,
        Movement::Upgrade,
        "heads",
        &mut |_| {},
    )
    .unwrap_err();
    match error {
        MigrateError::Interrupted {
            applied, remaining, ..
        } => {
            assert_eq!((applied.len(), remaining), (1, 5));
        }
        other => panic!("{other}"),
    }
    assert_eq!(db.sizes, [1]);
    assert_eq!(rev_migrate::current(&mut db, &options).unwrap(), ["m00"]);
}
