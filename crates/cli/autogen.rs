//! Autogenerate: the declared models compared with the schema the migrations build.

use rev_graph::NodeIndex;
use rev_project::Project;
use rev_schema::{diff, Diff, Operation, Schema};

use crate::error::CliError;
use crate::online::schema_at;

/// Returns the declared models as a schema, or an error when the project has none.
pub fn models(project: &Project) -> Result<Schema, CliError> {
    let Some(dir) = &project.config.models else {
        return Err(CliError::fail("rev.ron names no models directory")
            .hint("add `models: Some(\"models\")` to rev.ron and declare tables there"));
    };
    let tables = rev_project::load_models(&project.root.join(dir))?;
    Ok(Schema::from_tables(tables))
}

/// Returns the upgrade (migrations at `parents` → models) and its downgrade.
pub fn generate(
    project: &Project,
    parents: &[NodeIndex],
) -> Result<(Diff, Vec<Operation>), CliError> {
    let desired = models(project)?;
    let current = schema_at(project, parents)?;
    let upgrade = diff(&current, &desired);
    let downgrade = diff(&desired, &current).ops;
    Ok((upgrade, downgrade))
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
                what.push(format!("type {ty:?}"));
            }
            if let Some(nullable) = nullable {
                what.push(if *nullable {
                    "nullable".to_owned()
                } else {
                    "not null".to_owned()
                });
            }
            if let Some(default) = default {
                what.push(format!("default {default:?}"));
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
        Operation::AddCheck { table, check, .. } => format!("+ check {} on {table}", check.name),
        Operation::DropConstraint { table, name, .. } => format!("- constraint {name} on {table}"),
        Operation::Sql(_) | Operation::SqlFor(_) => "raw SQL".to_owned(),
    }
}
