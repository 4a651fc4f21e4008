//! Comparing two schemas: the operations that turn one into the other, for
//! autogenerate and drift checks.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Column, Operation, Schema, Table, TableName};

/// The result of comparing two schemas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// The operations that turn the first schema into the second, ordered so
    /// that a foreign key never points at a table that does not exist.
    pub ops: Vec<Operation>,
    /// Differences no operation can express (a primary key or identity change),
    /// which the user must handle by hand.
    pub notes: Vec<String>,
}

impl Diff {
    /// Returns whether the schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.notes.is_empty()
    }
}

impl Schema {
    /// Returns the schema made of these tables.
    pub fn from_tables(tables: impl IntoIterator<Item = Table>) -> Schema {
        Schema {
            tables: tables
                .into_iter()
                .map(|t| (TableName::new(t.schema.as_deref(), &t.name), t))
                .collect(),
        }
    }
}

/// Returns the tables of `names` ordered so that each comes after the tables its
/// foreign keys reference (among `names`); tables in a reference cycle keep id order.
fn creation_order<'a>(names: &[&'a TableName], schema: &'a Schema) -> Vec<&'a TableName> {
    let wanted: BTreeSet<&TableName> = names.iter().copied().collect();
    let mut placed: BTreeSet<&TableName> = BTreeSet::new();
    let mut order = Vec::with_capacity(names.len());
    while order.len() < names.len() {
        let before = order.len();
        for &name in names {
            if placed.contains(name) {
                continue;
            }
            let ready = schema.tables.get(name).is_none_or(|t| {
                t.foreign_keys.iter().all(|fk| {
                    let target = TableName::new(name.schema.as_deref(), &fk.ref_table);
                    target == *name || !wanted.contains(&target) || placed.contains(&target)
                })
            });
            if ready {
                placed.insert(name);
                order.push(name);
            }
        }
        if order.len() == before {
            // A reference cycle: place the rest as they are; their foreign keys
            // are added after every table exists.
            for &name in names {
                if placed.insert(name) {
                    order.push(name);
                }
            }
        }
    }
    order
}

fn column_change(
    table: &TableName,
    old: &Column,
    new: &Column,
    notes: &mut Vec<String>,
) -> Option<Operation> {
    if old.primary_key != new.primary_key || old.identity != new.identity {
        notes.push(format!(
            "column `{}`.`{}` changes primary key or identity, which no operation expresses; write it by hand",
            table.name, new.name
        ));
    }
    if old.unique != new.unique {
        notes.push(format!(
            "column `{}`.`{}` changes its unique flag; declare a unique constraint or index instead",
            table.name, new.name
        ));
    }
    let ty = (old.ty != new.ty).then(|| new.ty.clone());
    let nullable = (old.is_nullable() != new.is_nullable()).then(|| new.is_nullable());
    let default_changed = old.default != new.default;
    let default = if default_changed {
        new.default.clone()
    } else {
        None
    };
    let drop_default = default_changed && new.default.is_none();
    if ty.is_none() && nullable.is_none() && !default_changed {
        return None;
    }
    Some(Operation::AlterColumn {
        table: table.name.clone(),
        name: new.name.clone(),
        ty,
        nullable,
        default,
        drop_default,
        schema: table.schema.clone(),
    })
}

/// Returns the operations that turn `from` into `to`.
///
/// Order: constraints and indexes that go away are dropped first; then new
/// tables are created (referenced ones first), columns added and altered, new
/// indexes, uniques and checks added, then new foreign keys on existing tables
/// (so one can reference a unique added here); then columns and tables dropped (referencing
/// tables first). So a foreign key never points at a missing table in either
/// direction, and the same function gives the downgrade with its arguments swapped.
pub fn diff(from: &Schema, to: &Schema) -> Diff {
    let mut drops_first = Vec::new();
    let mut creates = Vec::new();
    let mut columns = Vec::new();
    let mut adds = Vec::new();
    let mut fk_adds = Vec::new();
    let mut late_fks = Vec::new();
    let mut column_drops = Vec::new();
    let mut table_drops = Vec::new();
    let mut notes = Vec::new();

    let new_tables: Vec<&TableName> = to
        .tables
        .keys()
        .filter(|k| !from.tables.contains_key(*k))
        .collect();
    let old_tables: Vec<&TableName> = from
        .tables
        .keys()
        .filter(|k| !to.tables.contains_key(*k))
        .collect();

    for name in creation_order(&new_tables, to) {
        let Some(table) = to.tables.get(name) else {
            continue;
        };
        let placed_before: BTreeSet<&str> = creates
            .iter()
            .filter_map(|op: &Operation| match op {
                Operation::CreateTable { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        // Foreign keys to tables created later (a reference cycle) wait until every table exists.
        let (now, later): (Vec<_>, Vec<_>) = table.foreign_keys.iter().cloned().partition(|fk| {
            fk.ref_table == table.name
                || placed_before.contains(fk.ref_table.as_str())
                || !new_tables.iter().any(|n| n.name == fk.ref_table)
        });
        creates.push(Operation::CreateTable {
            name: table.name.clone(),
            columns: table.columns.clone(),
            foreign_keys: now,
            uniques: table.uniques.clone(),
            checks: table.checks.clone(),
            schema: table.schema.clone(),
        });
        for fk in later {
            late_fks.push(Operation::AddForeignKey {
                table: table.name.clone(),
                foreign_key: fk,
                schema: table.schema.clone(),
            });
        }
        for index in &table.indexes {
            creates.push(Operation::CreateIndex {
                name: index.name.clone(),
                table: table.name.clone(),
                columns: index.columns.clone(),
                unique: index.unique,
                schema: table.schema.clone(),
            });
        }
    }

    for (name, new) in &to.tables {
        let Some(old) = from.tables.get(name) else {
            continue;
        };
        let schema = name.schema.clone();
        let table = name.name.clone();

        let old_fks: BTreeMap<&str, _> = old
            .foreign_keys
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect();
        let new_fks: BTreeMap<&str, _> = new
            .foreign_keys
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect();
        let old_uniques: BTreeMap<&str, _> =
            old.uniques.iter().map(|u| (u.name.as_str(), u)).collect();
        let new_uniques: BTreeMap<&str, _> =
            new.uniques.iter().map(|u| (u.name.as_str(), u)).collect();
        let old_checks: BTreeMap<&str, _> =
            old.checks.iter().map(|c| (c.name.as_str(), c)).collect();
        let new_checks: BTreeMap<&str, _> =
            new.checks.iter().map(|c| (c.name.as_str(), c)).collect();
        let old_indexes: BTreeMap<&str, _> =
            old.indexes.iter().map(|i| (i.name.as_str(), i)).collect();
        let new_indexes: BTreeMap<&str, _> =
            new.indexes.iter().map(|i| (i.name.as_str(), i)).collect();

        let drop_constraint = |name: &str| Operation::DropConstraint {
            table: table.clone(),
            name: name.to_owned(),
            schema: schema.clone(),
        };
        for (n, fk) in &old_fks {
            if new_fks.get(n) != Some(fk) {
                drops_first.push(drop_constraint(n));
            }
        }
        for (n, u) in &old_uniques {
            if new_uniques.get(n) != Some(u) {
                drops_first.push(drop_constraint(n));
            }
        }
        for (n, c) in &old_checks {
            if new_checks.get(n) != Some(c) {
                drops_first.push(drop_constraint(n));
            }
        }
        for (n, i) in &old_indexes {
            if new_indexes.get(n) != Some(i) {
                drops_first.push(Operation::DropIndex {
                    name: (*n).to_owned(),
                    table: table.clone(),
                    schema: schema.clone(),
                });
            }
        }

        for column in &new.columns {
            match old.columns.iter().find(|c| c.name == column.name) {
                None => columns.push(Operation::AddColumn {
                    table: table.clone(),
                    column: column.clone(),
                    schema: schema.clone(),
                }),
                Some(before) => columns.extend(column_change(name, before, column, &mut notes)),
            }
        }
        for column in &old.columns {
            if !new.columns.iter().any(|c| c.name == column.name) {
                column_drops.push(Operation::DropColumn {
                    table: table.clone(),
                    name: column.name.clone(),
                    schema: schema.clone(),
                });
            }
        }

        for (n, i) in &new_indexes {
            if old_indexes.get(n) != Some(i) {
                adds.push(Operation::CreateIndex {
                    name: (*n).to_owned(),
                    table: table.clone(),
                    columns: i.columns.clone(),
                    unique: i.unique,
                    schema: schema.clone(),
                });
            }
        }
        for (n, u) in &new_uniques {
            if old_uniques.get(n) != Some(u) {
                adds.push(Operation::AddUnique {
                    table: table.clone(),
                    unique: (*u).clone(),
                    schema: schema.clone(),
                });
            }
        }
        for (n, c) in &new_checks {
            if old_checks.get(n) != Some(c) {
                adds.push(Operation::AddCheck {
                    table: table.clone(),
                    check: (*c).clone(),
                    schema: schema.clone(),
                });
            }
        }
        // New foreign keys go after every other addition, on every table: one
        // may reference a new unique, and MySQL only makes an index of its own
        // for a foreign key whose columns no index covers yet.
        for (n, fk) in &new_fks {
            if old_fks.get(n) != Some(fk) {
                fk_adds.push(Operation::AddForeignKey {
                    table: table.clone(),
                    foreign_key: (*fk).clone(),
                    schema: schema.clone(),
                });
            }
        }
    }

    // Dropped tables go referencing-first: the reverse of their creation order.
    let mut drop_order = creation_order(&old_tables, from);
    drop_order.reverse();
    for name in drop_order {
        // Foreign keys between dropped tables in a cycle must go before either table.
        if let Some(table) = from.tables.get(name) {
            for fk in &table.foreign_keys {
                let cyclic = from
                    .tables
                    .get(&TableName::new(name.schema.as_deref(), &fk.ref_table))
                    .is_some_and(|t| {
                        t.name != table.name
                            && old_tables.iter().any(|n| n.name == t.name)
                            && t.foreign_keys
                                .iter()
                                .any(|back| back.ref_table == table.name)
                    });
                if cyclic {
                    drops_first.push(Operation::DropConstraint {
                        table: table.name.clone(),
                        name: fk.name.clone(),
                        schema: table.schema.clone(),
                    });
                }
            }
        }
        table_drops.push(Operation::DropTable {
            name: name.name.clone(),
            schema: name.schema.clone(),
        });
    }

    let mut ops = drops_first;
    ops.extend(creates);
    ops.extend(late_fks);
    ops.extend(columns);
    ops.extend(adds);
    ops.extend(fk_adds);
    ops.extend(column_drops);
    ops.extend(table_drops);
    Diff { ops, notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnType, ForeignKey, Unique};

    fn table(name: &str, columns: &[&str]) -> Table {
        Table {
            name: name.to_owned(),
            schema: None,
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).to_owned(),
                    ty: ColumnType::Integer,
                    nullable: None,
                    primary_key: false,
                    identity: false,
                    unique: false,
                    default: None,
                })
                .collect(),
            indexes: vec![],
            foreign_keys: vec![],
            uniques: vec![],
            checks: vec![],
        }
    }

    #[test]
    fn new_foreign_keys_come_after_the_uniques_they_reference_on_any_table() {
        let from = Schema::from_tables([table("a", &["x"]), table("z", &["code"])]);
        let mut a = table("a", &["x"]);
        a.foreign_keys.push(ForeignKey {
            name: "fk_a_z".into(),
            columns: vec!["x".into()],
            ref_table: "z".into(),
            ref_columns: vec!["code".into()],
            on_delete: None,
        });
        let mut z = table("z", &["code"]);
        z.uniques.push(Unique {
            name: "uq_z_code".into(),
            columns: vec!["code".into()],
        });
        let to = Schema::from_tables([a, z]);
        let kinds: Vec<&str> = diff(&from, &to).ops.iter().map(Operation::kind).collect();
        assert_eq!(kinds, ["AddUnique", "AddForeignKey"]);
    }
}
