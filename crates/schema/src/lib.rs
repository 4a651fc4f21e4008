//! The schema model of rev: operations as data, the tables they build, and
//! folding operations into the schema each revision leaves behind.

mod diff;
mod fold;
mod invert;
mod ops;
mod schema;
#[cfg(test)]
mod tests;

pub use diff::{diff, Diff};

pub use fold::{expr_mentions, rename_in_expr, FoldError};
pub use invert::{invert, InvertError};
pub use ops::{
    Check, Column, ColumnType, Default, ForeignKey, Index, OnDelete, Operation, SqlPerDialect,
    Table, Unique,
};
pub use schema::{Schema, TableName};
