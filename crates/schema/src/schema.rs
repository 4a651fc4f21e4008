//! The schema a sequence of operations leaves behind.

use std::collections::BTreeMap;

use crate::Table;

/// A table's address: its schema (None = the connection's default) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    /// The schema that holds the table, if any.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
}

impl TableName {
    /// Returns the address of `name` in `schema`.
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        TableName {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

/// The tables that exist after some operations ran; indexes and constraints
/// live on their tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Every table, by address.
    pub tables: BTreeMap<TableName, Table>,
}

impl Schema {
    /// Returns the table at this address, if it exists.
    pub fn table(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        self.tables.get(&TableName::new(schema, name))
    }
}
