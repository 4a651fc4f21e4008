//! Deriving a downgrade from an upgrade: the inverse of each operation, in
//! reverse order, each knowing the schema it undoes.

use crate::{FoldError, Operation, Schema, TableName};

/// Why a list of operations cannot be inverted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvertError {
    /// An operation is raw SQL, whose effect rev cannot know.
    #[error(
        "operation {index} ({kind}) is raw SQL, which cannot be inverted; write a `downgrade` list"
    )]
    RawSql {
        /// The operation's 1-based position in the upgrade.
        index: usize,
        /// `Sql` or `SqlFor`.
        kind: &'static str,
    },
    /// An operation is an item `rev import` could not translate.
    #[error("operation {index} is untranslated (from {origin}); replace it by hand")]
    Untranslated {
        /// The operation's 1-based position in the upgrade.
        index: usize,
        /// Where the item came from.
        origin: String,
    },
    /// An operation does not fit the schema it runs against.
    #[error("operation {index} ({kind}): {source}")]
    Fold {
        /// The operation's 1-based position in the upgrade.
        index: usize,
        /// The operation's kind.
        kind: &'static str,
        /// What is wrong.
        #[source]
        source: FoldError,
    },
}

/// Returns the operations that undo `ops`, which run against `before`.
///
/// Each inverse restores what its operation removed as it was: a dropped table
/// comes back with its constraints and indexes, a dropped column with the
/// indexes and constraints that named it, an altered column with its old type,
/// nullability and default.
pub fn invert(ops: &[Operation], before: &Schema) -> Result<Vec<Operation>, InvertError> {
    // Only the tables the operations name matter to their inverses; cloning
    // the whole schema for every migration would make long histories quadratic.
    let mut schema = Schema::default();
    for (schema_name, name) in ops.iter().filter_map(Operation::target_table) {
        let key = TableName::new(schema_name, name);
        if let Some(table) = before.tables.get(&key) {
            schema.tables.entry(key).or_insert_with(|| table.clone());
        }
    }
    let mut inverses: Vec<Vec<Operation>> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let index = i + 1;
        if let Operation::Untranslated { origin, .. } = op {
            return Err(InvertError::Untranslated {
                index,
                origin: origin.clone(),
            });
        }
        if matches!(op, Operation::Sql(_) | Operation::SqlFor(_)) {
            return Err(InvertError::RawSql {
                index,
                kind: op.kind(),
            });
        }
        let fold_err = |source| InvertError::Fold {
            index,
            kind: op.kind(),
            source,
        };
        let mut after = schema.clone();
        after.apply(op).map_err(fold_err)?;
        inverses.push(invert_one(op, &schema, &after).map_err(fold_err)?);
        schema = after;
    }
    Ok(without_drops_before_drop_table(
        inverses.into_iter().rev().flatten().collect(),
    ))
}

/// Removes index and constraint drops that a later `DropTable` of the same
/// table makes redundant. Besides saving work, this matters on MySQL, which
/// refuses to drop an index a foreign key of the table still uses.
fn without_drops_before_drop_table(ops: Vec<Operation>) -> Vec<Operation> {
    let dropped_later = |from: usize, table: &str, owner: &Option<String>| {
        for later in ops.iter().skip(from + 1) {
            match later {
                Operation::DropTable { name, schema } if name == table && schema == owner => {
                    return true
                }
                Operation::CreateTable { name, schema, .. } if name == table && schema == owner => {
                    return false
                }
                Operation::RenameTable {
                    name,
                    new_name,
                    schema,
                } if (name == table || new_name == table) && schema == owner => return false,
                _ => {}
            }
        }
        false
    };
    let keep: Vec<bool> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| match op {
            Operation::DropIndex { table, schema, .. }
            | Operation::DropConstraint { table, schema, .. } => !dropped_later(i, table, schema),
            _ => true,
        })
        .collect();
    ops.into_iter()
        .zip(keep)
        .filter_map(|(op, keep)| keep.then_some(op))
        .collect()
}

fn table<'a>(
    schema: &'a Schema,
    owner: Option<&String>,
    name: &str,
) -> Result<&'a crate::Table, FoldError> {
    schema
        .table(owner.map(String::as_str), name)
        .ok_or_else(|| FoldError::NoTable(TableName::new(owner.map(String::as_str), name)))
}

/// Returns the inverse of one operation, given the schema before and after it.
fn invert_one(
    op: &Operation,
    before: &Schema,
    after: &Schema,
) -> Result<Vec<Operation>, FoldError> {
    let inverse =
        match op {
            Operation::CreateTable { name, schema, .. } => vec![Operation::DropTable {
                name: name.clone(),
                schema: schema.clone(),
            }],
            Operation::DropTable { name, schema } => {
                let t = table(before, schema.as_ref(), name)?;
                let mut ops = vec![Operation::CreateTable {
                    name: t.name.clone(),
                    columns: t.columns.clone(),
                    foreign_keys: t.foreign_keys.clone(),
                    uniques: t.uniques.clone(),
                    checks: t.checks.clone(),
                    schema: schema.clone(),
                }];
                ops.extend(t.indexes.iter().map(|i| Operation::CreateIndex {
                    name: i.name.clone(),
                    table: name.clone(),
                    columns: i.columns.clone(),
                    unique: i.unique,
                    schema: schema.clone(),
                }));
                ops
            }
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => vec![Operation::RenameTable {
                name: new_name.clone(),
                new_name: name.clone(),
                schema: schema.clone(),
            }],
            Operation::AddColumn {
                table,
                column,
                schema,
            } => vec![Operation::DropColumn {
                table: table.clone(),
                name: column.name.clone(),
                schema: schema.clone(),
            }],
            Operation::DropColumn {
                table: name,
                name: column,
                schema,
            } => {
                let old = table(before, schema.as_ref(), name)?;
                let new = table(after, schema.as_ref(), name)?;
                let col = old.column(column).ok_or_else(|| FoldError::NoColumn {
                    table: TableName::new(schema.as_deref(), name),
                    column: column.clone(),
                })?;
                let mut ops = vec![Operation::AddColumn {
                    table: name.clone(),
                    column: col.clone(),
                    schema: schema.clone(),
                }];
                // The fold dropped what named the column; bring each back.
                ops.extend(
                    old.indexes
                        .iter()
                        .filter(|i| !new.indexes.contains(i))
                        .map(|i| Operation::CreateIndex {
                            name: i.name.clone(),
                            table: name.clone(),
                            columns: i.columns.clone(),
                            unique: i.unique,
                            schema: schema.clone(),
                        }),
                );
                ops.extend(
                    old.uniques
                        .iter()
                        .filter(|u| !new.uniques.contains(u))
                        .map(|u| Operation::AddUnique {
                            table: name.clone(),
                            unique: u.clone(),
                            schema: schema.clone(),
                        }),
                );
                ops.extend(
                    old.foreign_keys
                        .iter()
                        .filter(|f| !new.foreign_keys.contains(f))
                        .map(|f| Operation::AddForeignKey {
                            table: name.clone(),
                            foreign_key: f.clone(),
                            schema: schema.clone(),
                        }),
                );
                ops.extend(
                    old.checks
                        .iter()
                        .filter(|c| !new.checks.contains(c))
                        .map(|c| Operation::AddCheck {
                            table: name.clone(),
                            check: c.clone(),
                            schema: schema.clone(),
                        }),
                );
                ops
            }
            Operation::AlterColumn {
                table: name,
                name: column,
                ty,
                nullable,
                default,
                drop_default,
                schema,
            } => {
                let old = table(before, schema.as_ref(), name)?;
                let col = old.column(column).ok_or_else(|| FoldError::NoColumn {
                    table: TableName::new(schema.as_deref(), name),
                    column: column.clone(),
                })?;
                let touches_default = default.is_some() || *drop_default;
                vec![Operation::AlterColumn {
                    table: name.clone(),
                    name: column.clone(),
                    ty: ty.as_ref().map(|_| col.ty.clone()),
                    nullable: nullable.map(|_| col.is_nullable()),
                    default: if touches_default {
                        col.default.clone()
                    } else {
                        None
                    },
                    drop_default: touches_default && col.default.is_none(),
                    schema: schema.clone(),
                }]
            }
            Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            } => vec![Operation::RenameColumn {
                table: table.clone(),
                name: new_name.clone(),
                new_name: name.clone(),
                schema: schema.clone(),
            }],
            Operation::CreateIndex {
                name,
                table,
                schema,
                ..
            } => vec![Operation::DropIndex {
                name: name.clone(),
                table: table.clone(),
                schema: schema.clone(),
            }],
            Operation::DropIndex {
                name,
                table: owner,
                schema,
            } => {
                let t = table(before, schema.as_ref(), owner)?;
                let index = t.indexes.iter().find(|i| i.name == *name).ok_or_else(|| {
                    FoldError::NoIndex {
                        table: TableName::new(schema.as_deref(), owner),
                        index: name.clone(),
                    }
                })?;
                vec![Operation::CreateIndex {
                    name: name.clone(),
                    table: owner.clone(),
                    columns: index.columns.clone(),
                    unique: index.unique,
                    schema: schema.clone(),
                }]
            }
            Operation::AddForeignKey {
                table,
                foreign_key,
                schema,
            } => vec![drop_constraint(table, &foreign_key.name, schema)],
            Operation::AddUnique {
                table,
                unique,
                schema,
            } => vec![drop_constraint(table, &unique.name, schema)],
            Operation::AddCheck {
                table,
                check,
                schema,
            } => vec![drop_constraint(table, &check.name, schema)],
            Operation::DropConstraint {
                table: owner,
                name,
                schema,
            } => {
                let t = table(before, schema.as_ref(), owner)?;
                let restore = if let Some(fk) = t.foreign_keys.iter().find(|c| c.name == *name) {
                    Operation::AddForeignKey {
                        table: owner.clone(),
                        foreign_key: fk.clone(),
                        schema: schema.clone(),
                    }
                } else if let Some(unique) = t.uniques.iter().find(|c| c.name == *name) {
                    Operation::AddUnique {
                        table: owner.clone(),
                        unique: unique.clone(),
                        schema: schema.clone(),
                    }
                } else if let Some(check) = t.checks.iter().find(|c| c.name == *name) {
                    Operation::AddCheck {
                        table: owner.clone(),
                        check: check.clone(),
                        schema: schema.clone(),
                    }
                } else {
                    return Err(FoldError::NoConstraint {
                        table: TableName::new(schema.as_deref(), owner),
                        constraint: name.clone(),
                    });
                };
                vec![restore]
            }
            // `invert` refuses raw SQL and untranslated items before it gets here.
            Operation::Sql(_) | Operation::SqlFor(_) | Operation::Untranslated { .. } => Vec::new(),
        };
    Ok(inverse)
}

fn drop_constraint(table: &str, name: &str, schema: &Option<String>) -> Operation {
    Operation::DropConstraint {
        table: table.to_owned(),
        name: name.to_owned(),
        schema: schema.clone(),
    }
}

#[cfg(test)]
mod drop_table_tests {
    use super::*;
    use crate::{Column, ColumnType};

    #[test]
    fn a_dropped_table_takes_its_indexes_with_it() {
        let ops = vec![
            Operation::CreateTable {
                name: "t".into(),
                columns: vec![Column {
                    name: "id".into(),
                    ty: ColumnType::Integer,
                    nullable: None,
                    primary_key: true,
                    identity: false,
                    unique: false,
                    default: None,
                }],
                foreign_keys: vec![],
                uniques: vec![],
                checks: vec![],
                schema: None,
            },
            Operation::CreateIndex {
                name: "ix_t".into(),
                table: "t".into(),
                columns: vec!["id".into()],
                unique: false,
                schema: None,
            },
        ];
        let inverse = invert(&ops, &Schema::default()).unwrap();
        assert_eq!(
            inverse,
            vec![Operation::DropTable {
                name: "t".into(),
                schema: None
            }]
        );
    }
}

#[cfg(test)]
mod untranslated_tests {
    use super::*;

    #[test]
    fn folding_passes_over_an_untranslated_item_and_inverting_refuses_it() {
        let op = Operation::Untranslated {
            source: "conn = op.get_bind()".into(),
            origin: "versions/x.py:3".into(),
            reason: String::new(),
        };
        let mut schema = Schema::default();
        schema.apply(&op).unwrap();
        assert_eq!(schema, Schema::default());
        assert_eq!(op.target_table(), None);
        let err = invert(std::slice::from_ref(&op), &Schema::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "operation 1 is untranslated (from versions/x.py:3); replace it by hand"
        );
    }
}
