//! Autogenerate: the declared models compared with the schema the migrations
//! build, or with the live database; and `rev check --db`, which compares the
//! live database with the migrations at its current heads.
//!
//! A live schema is compared after [`rev_db::introspect::reconcile`]: what the
//! database's dialect cannot tell apart from the declared schema (a type's
//! spelling, a default the server rewrote, a check expression it re-printed,
//! compared in a normalised form) counts as the same.

use std::collections::BTreeSet;

use rev_db::Backend;
use rev_graph::NodeIndex;
use rev_project::Project;
use rev_schema::{diff, Diff, Operation, Schema, TableName};

use crate::check::{nodes_of_rows, Finding, Severity};
use crate::error::{MigrateError, Result};
use crate::plan::schema_at;
use crate::url::missing_sqlite_file;
use crate::Options;

/// Returns the declared models as a schema, or an error when the project has none.
pub fn models(project: &Project) -> Result<Schema> {
    let Some(dir) = &project.config.models else {
        return Err(MigrateError::refused(
            "rev.ron names no models directory",
            Some("add `models: Some(\"models\")` to rev.ron and declare tables there"),
        ));
    };
    let tables = rev_project::load_models(&project.root.join(dir))?;
    Ok(Schema::from_tables(tables))
}

/// Returns the upgrade (the schema at `parents` → models) and its downgrade;
/// with `from_db` (a URL) the schema at `parents` is read from the live
/// database, which must stand at exactly `parents`.
pub fn generate(
    project: &Project,
    options: &Options,
    parents: &[NodeIndex],
    from_db: Option<&str>,
) -> Result<(Diff, Vec<Operation>)> {
    let desired = models(project)?;
    let current = match from_db {
        Some(url) => {
            let mut backend = crate::url::connect(url)?;
            let rows = backend.current_heads(&options.tables)?;
            let wanted: BTreeSet<&str> = parents.iter().map(|&n| project.graph.id(n)).collect();
            let found: BTreeSet<&str> = rows.iter().map(String::as_str).collect();
            if wanted != found {
                let show = |ids: &BTreeSet<&str>| {
                    if ids.is_empty() {
                        "<base>".to_owned()
                    } else {
                        ids.iter().copied().collect::<Vec<_>>().join(", ")
                    }
                };
                return Err(MigrateError::refused(
                    format!(
                        "the database is at {}, not at {}, the parent of the new revision: it is not up to date",
                        show(&found),
                        show(&wanted)
                    ),
                    Some("run `rev upgrade heads` first, or autogenerate without --from-db"),
                ));
            }
            live_schema(backend.as_mut(), project, options, &desired)?
        }
        None => schema_at(project, parents)?,
    };
    let upgrade = diff(&current, &desired);
    let downgrade = diff(&desired, &current).ops;
    Ok((upgrade, downgrade))
}

/// Returns the live database's schema, its tables addressed as `declared`
/// addresses them and reconciled with `declared` (see the module comment).
pub(crate) fn live_schema(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    declared: &Schema,
) -> Result<Schema> {
    let live = backend.introspect(&options.tables)?;
    let configured = project.config.schema.as_deref();
    // The catalog is read in the configured schema; a declared table there may
    // name that schema or none.
    let mut aligned = Schema::default();
    for (key, mut table) in live.tables {
        let named = TableName::new(configured, &key.name);
        let address = if configured.is_some() && declared.tables.contains_key(&named) {
            named
        } else {
            key
        };
        table.schema.clone_from(&address.schema);
        aligned.tables.insert(address, table);
    }
    Ok(rev_db::introspect::reconcile(
        &aligned,
        declared,
        backend.dialect().kind(),
    ))
}

/// Returns what `rev check --db` finds: differences between the live database
/// and the schema the migrations build up to the database's current heads.
pub fn db_findings(project: &Project, options: &Options, url: &str) -> Result<Vec<Finding>> {
    // Opening a missing SQLite file would create it: there is nothing to compare.
    if let Some(path) = missing_sqlite_file(url) {
        return Err(MigrateError::refused(
            format!(
                "cannot compare the database with the migrations: {} does not exist",
                path.display()
            ),
            Some("run `rev upgrade heads` to create it"),
        ));
    }
    let mut backend = crate::url::connect(url)?;
    let rows = backend.current_heads(&options.tables)?;
    let nodes = nodes_of_rows(project, &rows)?;
    let expected = schema_at(project, &nodes)?;
    let live = live_schema(backend.as_mut(), project, options, &expected)?;
    let found = diff(&expected, &live);
    let mut findings = Vec::new();
    if !found.ops.is_empty() {
        let at = if rows.is_empty() {
            "<base>".to_owned()
        } else {
            rows.join(", ")
        };
        let list = drift_lines(&found.ops, &expected);
        findings.push(Finding {
            severity: Severity::Error,
            kind: "db_drift",
            message: format!(
                "the database differs from what the migrations build at its current revision ({at}); changed by hand?\n  {}",
                list.join("\n  ")
            ),
            conflicts: Vec::new(),
            hint: None,
        });
    }
    for note in found.notes {
        findings.push(Finding {
            severity: Severity::Error,
            kind: "db_drift",
            message: format!("the database differs from the migrations: {note}"),
            conflicts: Vec::new(),
            hint: None,
        });
    }
    Ok(findings)
}

/// Returns one line per difference the database has; a check the database
/// holds with another expression (a drop and an add of the same name) is one
/// `~` line with both expressions, so that the reader sees what differs.
fn drift_lines(ops: &[Operation], expected: &Schema) -> Vec<String> {
    // (table, check name, expression in the migrations, in the database)
    let mut changed: Vec<(&str, &str, &str, &str)> = Vec::new();
    for op in ops {
        if let Operation::AddCheck {
            table,
            check,
            schema,
        } = op
        {
            let dropped = ops.iter().any(|other| {
                matches!(other, Operation::DropConstraint { table: t, name, .. }
                    if t == table && name == &check.name)
            });
            let old = expected
                .tables
                .get(&TableName::new(schema.as_deref(), table))
                .and_then(|t| t.checks.iter().find(|c| c.name == check.name));
            if let (true, Some(old)) = (dropped, old) {
                changed.push((table, &check.name, &old.expr, &check.expr));
            }
        }
    }
    let is_changed = |table: &str, name: &str| {
        changed
            .iter()
            .find(|(t, n, _, _)| *t == table && *n == name)
            .copied()
    };
    let mut lines = Vec::new();
    for op in ops {
        match op {
            Operation::DropConstraint { table, name, .. } => match is_changed(table, name) {
                Some((_, _, old, new)) => lines.push(format!(
                    "~ check {name} on {table}: the migrations have `{old}`, the database `{new}`"
                )),
                None => lines.push(summary(op)),
            },
            Operation::AddCheck { table, check, .. }
                if is_changed(table, &check.name).is_some() => {}
            other => lines.push(summary(other)),
        }
    }
    lines
}

/// Returns a column type as a person reads it: the file's spelling, and a
/// custom type's own name rather than `Custom("..")`.
fn type_text(ty: &rev_schema::ColumnType) -> String {
    match ty {
        rev_schema::ColumnType::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

/// Returns a default as a person reads it: strings in SQL quotes, raw
/// expressions as written.
fn default_text(default: &rev_schema::Default) -> String {
    match default {
        rev_schema::Default::Int(i) => i.to_string(),
        rev_schema::Default::Float(f) => f.to_string(),
        rev_schema::Default::Str(s) => format!("'{}'", s.replace('\'', "''")),
        rev_schema::Default::Bool(b) => b.to_string(),
        rev_schema::Default::Now => "now".to_owned(),
        rev_schema::Default::NewUuid => "a new uuid".to_owned(),
        rev_schema::Default::Expr(e) => e.clone(),
    }
}

/// Returns a one-line summary of an operation, for what autogenerate and check print.
pub fn summary(op: &Operation) -> String {
    let qualified = |schema: &Option<String>, name: &str| match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.to_owned(),
    };
    match op {
        Operation::CreateTable { name, schema, .. } => {
            format!("+ table {}", qualified(schema, name))
        }
        Operation::DropTable { name, schema } => format!("- table {}", qualified(schema, name)),
        Operation::RenameTable { name, new_name, .. } => {
            format!("~ table {name} renamed to {new_name}")
        }
        Operation::AddColumn {
            table,
            column,
            schema,
        } => {
            format!("+ column {}.{}", qualified(schema, table), column.name)
        }
        Operation::DropColumn {
            table,
            name,
            schema,
        } => format!("- column {}.{name}", qualified(schema, table)),
        Operation::AlterColumn {
            table,
            name,
            ty,
            nullable,
            default,
            drop_default,
            schema,
        } => {
            let mut what = Vec::new();
            if let Some(ty) = ty {
                what.push(format!("type {}", type_text(ty)));
            }
            if let Some(nullable) = nullable {
                what.push(if *nullable {
                    "nullable".to_owned()
                } else {
                    "not null".to_owned()
                });
            }
            if let Some(default) = default {
                what.push(format!("default {}", default_text(default)));
            }
            if *drop_default {
                what.push("no default".to_owned());
            }
            format!(
                "~ column {}.{name}: {}",
                qualified(schema, table),
                what.join(", ")
            )
        }
        Operation::RenameColumn {
            table,
            name,
            new_name,
            ..
        } => {
            format!("~ column {table}.{name} renamed to {new_name}")
        }
        Operation::CreateIndex { name, table, .. } => format!("+ index {name} on {table}"),
        Operation::DropIndex { name, table, .. } => format!("- index {name} on {table}"),
        Operation::AddForeignKey {
            table, foreign_key, ..
        } => {
            format!(
                "+ foreign key {} on {table} -> {}",
                foreign_key.name, foreign_key.ref_table
            )
        }
        Operation::AddUnique { table, unique, .. } => {
            format!("+ unique {} on {table}", unique.name)
        }
        Operation::AddCheck { table, check, .. } => {
            format!("+ check {} on {table}: {}", check.name, check.expr)
        }
        Operation::DropConstraint { table, name, .. } => format!("- constraint {name} on {table}"),
        Operation::Sql(_) | Operation::SqlFor(_) => "raw SQL".to_owned(),
        Operation::Untranslated { origin, .. } => format!("untranslated item from {origin}"),
    }
}
