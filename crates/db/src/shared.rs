//! What the PostgreSQL and MySQL backends share: reading the history, and
//! the wording of errors about statements that stayed applied.

use crate::{DbError, Step};

/// Returns, from history rows `(revision, direction, checksum)` in the order
/// they were written, each revision whose last row is an upgrade or a stamp,
/// with that row's checksum, sorted by revision.
pub(crate) fn last_applied(rows: Vec<(String, String, String)>) -> Vec<(String, String)> {
    let mut last = std::collections::BTreeMap::new();
    for (revision, direction, checksum) in rows {
        last.insert(revision, (direction, checksum));
    }
    last.into_iter()
        .filter(|(_, (direction, _))| direction == "upgrade" || direction == "stamp")
        .map(|(revision, (_, checksum))| (revision, checksum))
        .collect()
}

/// Adds to a version-table error that the step's statements stayed applied,
/// when they ran outside the transaction that failed.
pub(crate) fn note_kept_statements(error: DbError, step: &Step, kept: bool) -> DbError {
    match error {
        DbError::VersionMismatch { revision, message } if kept && !step.statements.is_empty() => {
            DbError::VersionMismatch {
                revision,
                message: format!(
                    "{message}; the migration's {} statement(s) ran outside a transaction and stay applied",
                    step.statements.len()
                ),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_applied_keeps_revisions_whose_last_row_applies_them() {
        let row = |r: &str, d: &str, c: &str| (r.to_owned(), d.to_owned(), c.to_owned());
        let rows = vec![
            row("b", "upgrade", "b1"),
            row("a", "upgrade", "a1"),
            row("b", "downgrade", "b1"),
            row("c", "stamp", "c1"),
            row("a", "downgrade", "a1"),
            row("a", "upgrade", "a2"),
        ];
        assert_eq!(
            last_applied(rows),
            [
                ("a".to_owned(), "a2".to_owned()),
                ("c".to_owned(), "c1".to_owned())
            ]
        );
    }
}
