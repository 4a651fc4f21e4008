//! Resuming a step that an earlier run left part-way (see [`rev_db::journal`]).
//!
//! The journal says which statements completed. At most one statement is in
//! doubt: one that commits on its own (DDL, raw SQL) and was running when
//! the run stopped. For a schema operation the live schema settles it:
//! introspected and compared, on the tables the operation touches, with the
//! schema folded before and after the operation. Raw SQL cannot be settled
//! so; the run stops and names the statements, and `--assume-applied` or
//! `--assume-not-applied` settles it by the user's word.

use rev_db::{Backend, Step};
use rev_graph::Plan;
use rev_project::Project;
use rev_schema::{Operation, Schema, TableName};

use crate::error::{MigrateError, Result};
use crate::plan::first_step_ops;
use crate::run::{Event, Options};

/// What the journal and the live schema say about an interrupted step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumption {
    /// How many statements, from the first, count as done now.
    pub done: usize,
    /// What was found, in words.
    pub found: String,
}

/// A statement in doubt that the live schema cannot settle (see
/// [`MigrateError::Unsettled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    /// The interrupted revision.
    pub revision: String,
    /// `upgrade` or `downgrade`.
    pub direction: String,
    /// The statements that completed, in order.
    pub ran: Vec<String>,
    /// The 1-based position of the statement in doubt.
    pub index: usize,
    /// Its text.
    pub statement: String,
    /// Why the live schema cannot tell.
    pub why: String,
}

/// Settles the journal before a run: when the plan's first step is the one
/// an earlier run left part-way, the statement in doubt (if any) is settled
/// and the step resumes in [`Backend::run_step`]; a journal of another step
/// stops the run.
pub(crate) fn settle(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    plan: &Plan,
    steps: &[Step],
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let Some(entry) = backend.journal(&options.tables)?.into_iter().next() else {
        return Ok(());
    };
    let Some(step) = steps.first().filter(|step| entry.is_for(step)) else {
        return Err(MigrateError::refused(
            format!(
                "revision {} ({}) was interrupted part-way by an earlier run: {} of its \
                 statements completed, recorded in {}",
                entry.revision,
                entry.direction,
                entry.done,
                rev_db::journal::table_name(&options.tables)
            ),
            Some(&format!(
                "finish it first: `rev {} {}`",
                entry.direction, entry.revision
            )),
        ));
    };
    let Some(index) = entry.uncertain() else {
        let found = format!(
            "{}; resuming at statement {}",
            completed(entry.done),
            entry.done + 1
        );
        on_event(Event::Resumed {
            step,
            resumption: &Resumption {
                done: entry.done,
                found,
            },
        });
        return Ok(());
    };
    let statement = step
        .statements
        .get(index - 1)
        .map_or("", |s| s.sql.as_str())
        .to_owned();
    let verdict = match options.assume_applied {
        Some(applied) => Ok((
            applied,
            format!(
                "statement {index} counted as {} (as asked)",
                if applied { "applied" } else { "not applied" }
            ),
        )),
        None => judge(backend, project, options, plan, index)?,
    };
    let (applied, found) = match verdict {
        Ok(verdict) => verdict,
        Err(why) => {
            return Err(MigrateError::Unsettled(Box::new(Unsettled {
                revision: entry.revision.clone(),
                direction: entry.direction.clone(),
                ran: step
                    .statements
                    .iter()
                    .take(entry.done)
                    .map(|s| s.sql.clone())
                    .collect(),
                index,
                statement,
                why,
            })))
        }
    };
    backend.settle_journal(&options.tables, &entry, step, applied)?;
    let done = if applied { index } else { index - 1 };
    let found = format!(
        "{}; {found}; resuming at statement {}",
        completed(entry.done),
        done + 1
    );
    on_event(Event::Resumed {
        step,
        resumption: &Resumption { done, found },
    });
    Ok(())
}

fn completed(done: usize) -> String {
    match done {
        0 => "no statement had completed".to_owned(),
        n => format!("{} had completed", rev_db::journal::first_statements(n)),
    }
}

/// Returns whether statement `index` (1-based) of the plan's first step took
/// effect, from the live schema, with what was found; or why that cannot be
/// told.
fn judge(
    backend: &mut dyn Backend,
    project: &Project,
    options: &Options,
    plan: &Plan,
    index: usize,
) -> Result<std::result::Result<(bool, String), String>> {
    let Some((mut schema, ops)) = first_step_ops(project, plan)? else {
        return Ok(Err("the migration file is gone".to_owned()));
    };
    let dialect = backend.dialect();
    let mut first = 1;
    for (number, op) in ops.iter().enumerate() {
        let count = match dialect.render_op(op, &schema) {
            Ok(statements) => statements.len(),
            Err(e) => {
                return Ok(Err(format!(
                    "operation {} cannot be rendered: {e}",
                    number + 1
                )))
            }
        };
        let before = schema.clone();
        if schema.apply(op).is_err() {
            return Ok(Err(format!(
                "operation {} does not fit the schema",
                number + 1
            )));
        }
        let last = first + count;
        if !(first..last).contains(&index) {
            first = last;
            continue;
        }
        let what = format!("operation {} ({})", number + 1, op.kind());
        if matches!(
            op,
            Operation::Sql(_) | Operation::SqlFor(_) | Operation::Untranslated { .. }
        ) {
            return Ok(Err(format!(
                "it is raw SQL ({what}), whose effect rev cannot read from the schema"
            )));
        }
        let touched = touched(&before, &schema);
        if touched.is_empty() {
            return Ok(Err(format!(
                "{what} changes nothing rev reads back from the catalog"
            )));
        }
        let live = crate::autogen::live_schema(backend, project, options, &before)?;
        let is_before = same_on(&live, &before, &touched);
        let live = crate::autogen::live_schema(backend, project, options, &schema)?;
        let is_after = same_on(&live, &schema, &touched);
        let is_first = index == first;
        let is_last = index + 1 == last;
        return Ok(match (is_before, is_after) {
            (true, false) if is_first => Ok((
                false,
                format!("statement {index} ({what}) had not taken effect"),
            )),
            (false, true) if is_last => {
                Ok((true, format!("statement {index} ({what}) had taken effect")))
            }
            (true, true) => Err(format!(
                "the live schema looks the same before and after {what}"
            )),
            _ => Err(format!(
                "the live schema matches neither the schema before {what} nor after it, at \
                 statement {} of its {count}",
                index - first + 1
            )),
        });
    }
    Ok(Err(format!(
        "the migration renders fewer than {index} statements now"
    )))
}

/// Returns the tables that differ between two schemas.
fn touched(before: &Schema, after: &Schema) -> Vec<TableName> {
    before
        .tables
        .keys()
        .chain(after.tables.keys())
        .filter(|key| before.tables.get(*key) != after.tables.get(*key))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Returns whether `live` and `folded` agree on these tables.
fn same_on(live: &Schema, folded: &Schema, tables: &[TableName]) -> bool {
    let only = |schema: &Schema| Schema {
        tables: schema
            .tables
            .iter()
            .filter(|(key, _)| tables.contains(key))
            .map(|(key, table)| (key.clone(), table.clone()))
            .collect(),
    };
    rev_schema::diff(&only(folded), &only(live)).is_empty()
}
