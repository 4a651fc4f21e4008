//! The schema model of rev: operations as data, the tables they build, and
//! folding operations into the schema each revision leaves behind.

mod diff;
mod ops;
mod schema;

pub use diff::{diff, Diff};

pub use ops::{
    Check, Column, ColumnType, Default, ForeignKey, Index, OnDelete, Operation, SqlPerDialect,
    Table, Unique,
};
pub use schema::{Schema, TableName};
