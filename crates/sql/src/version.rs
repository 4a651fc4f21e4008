//! Statements on the version and history tables, written once for every
//! dialect through its quoting and placeholders, so that live backends and
//! offline scripts change the tables the same way.

use crate::Dialect;

/// Where the version and history tables live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTables {
    /// The schema that holds both tables (None = the connection's default).
    pub schema: Option<String>,
    /// The version table's name (`alembic_version` to share a database with Alembic).
    pub version: String,
    /// The history table's name.
    pub history: String,
}

impl Default for VersionTables {
    /// Returns rev's default names, `rev_version` and `rev_history`, in the default schema.
    fn default() -> Self {
        VersionTables {
            schema: None,
            version: "rev_version".to_owned(),
            history: "rev_history".to_owned(),
        }
    }
}

impl VersionTables {
    /// Returns the version table's name, quoted and qualified for `dialect`.
    pub fn version_name(&self, dialect: &dyn Dialect) -> String {
        dialect.qualified(self.schema.as_deref(), &self.version)
    }

    /// Returns the history table's name, quoted and qualified for `dialect`.
    pub fn history_name(&self, dialect: &dyn Dialect) -> String {
        dialect.qualified(self.schema.as_deref(), &self.history)
    }
}

/// One change to the version table; each UPDATE and DELETE must touch exactly one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// Adds a row.
    Insert {
        /// The revision to add.
        new: String,
    },
    /// Replaces one row by another.
    Update {
        /// The row that must be there.
        old: String,
        /// What it becomes.
        new: String,
    },
    /// Removes one row.
    Delete {
        /// The row that must be there.
        old: String,
    },
}

impl VersionChange {
    /// Returns the changes that remove `delete` and add `insert`, the way
    /// Alembic does: each removed row is paired with an added one as an UPDATE
    /// (a revision replacing its parent), the removed rows left over are
    /// DELETEd (a merge collapsing heads) and the added rows left over are
    /// INSERTed (a first revision, or a downgrade below a branch point).
    pub fn plan(delete: &[String], insert: &[String]) -> Vec<VersionChange> {
        let paired = delete.len().min(insert.len());
        let updates = delete
            .iter()
            .zip(insert)
            .map(|(old, new)| VersionChange::Update {
                old: old.clone(),
                new: new.clone(),
            });
        let deletes = delete
            .iter()
            .skip(paired)
            .map(|old| VersionChange::Delete { old: old.clone() });
        let inserts = insert
            .iter()
            .skip(paired)
            .map(|new| VersionChange::Insert { new: new.clone() });
        updates.chain(deletes).chain(inserts).collect()
    }

    /// Returns what the change does, for messages: "updating version `a` to `b`".
    pub fn describe(&self) -> String {
        match self {
            VersionChange::Insert { new } => format!("inserting version `{new}`"),
            VersionChange::Update { old, new } => format!("updating version `{old}` to `{new}`"),
            VersionChange::Delete { old } => format!("deleting version `{old}`"),
        }
    }

    /// Returns why the change failed when it touched `touched` rows: every
    /// change must touch exactly one, or another runner or a hand edit moved
    /// the table under the plan.
    pub fn wrong_row_count(&self, touched: u64) -> Option<String> {
        (touched != 1).then(|| {
            format!(
                "{} touched {touched} rows, expected exactly 1",
                self.describe()
            )
        })
    }

    /// Returns the message for a change that would add a row the table
    /// already holds (the primary key refused it).
    pub fn already_present(&self) -> String {
        match self {
            VersionChange::Insert { new } | VersionChange::Update { new, .. } => {
                format!("`{new}` is already in the version table")
            }
            VersionChange::Delete { .. } => format!("{} failed", self.describe()),
        }
    }

    /// Returns the statement with placeholders; bind [`VersionChange::params`] in order.
    pub fn sql(&self, dialect: &dyn Dialect, tables: &VersionTables) -> String {
        let (first, second) = (dialect.placeholder(1), dialect.placeholder(2));
        self.render(dialect, tables, &first, &second)
    }

    /// Returns the values to bind to [`VersionChange::sql`], in placeholder order.
    pub fn params(&self) -> Vec<&str> {
        match self {
            VersionChange::Insert { new } => vec![new],
            VersionChange::Update { old, new } => vec![new, old],
            VersionChange::Delete { old } => vec![old],
        }
    }

    /// Returns the statement with the revisions written as escaped literals,
    /// for offline scripts.
    pub fn literal_sql(&self, dialect: &dyn Dialect, tables: &VersionTables) -> String {
        let params = self.params();
        let literal = |i: usize| {
            params
                .get(i)
                .map(|v| dialect.string_literal(v))
                .unwrap_or_default()
        };
        self.render(dialect, tables, &literal(0), &literal(1))
    }

    fn render(
        &self,
        dialect: &dyn Dialect,
        tables: &VersionTables,
        first: &str,
        second: &str,
    ) -> String {
        let table = tables.version_name(dialect);
        let column = dialect.quote_ident("version_num");
        match self {
            VersionChange::Insert { .. } => {
                format!("INSERT INTO {table} ({column}) VALUES ({first})")
            }
            VersionChange::Update { .. } => {
                format!("UPDATE {table} SET {column} = {first} WHERE {column} = {second}")
            }
            VersionChange::Delete { .. } => {
                format!("DELETE FROM {table} WHERE {column} = {first}")
            }
        }
    }
}

/// Returns the query of every version row, in order.
pub fn select_versions(dialect: &dyn Dialect, tables: &VersionTables) -> String {
    let column = dialect.quote_ident("version_num");
    format!(
        "SELECT {column} FROM {} ORDER BY {column}",
        tables.version_name(dialect)
    )
}

/// The history table's columns that a step writes, in [`insert_history`]'s order.
pub const HISTORY_COLUMNS: [&str; 6] = [
    "revision",
    "direction",
    "checksum",
    "started_at",
    "duration_ms",
    "applied_by",
];

/// Returns the history insert with six placeholders, bound in the order of
/// [`HISTORY_COLUMNS`].
pub fn insert_history(dialect: &dyn Dialect, tables: &VersionTables) -> String {
    let values: Vec<String> = (1..=HISTORY_COLUMNS.len())
        .map(|i| dialect.placeholder(i))
        .collect();
    history_insert(dialect, tables, &values)
}

/// Returns the history insert with literal values, for offline scripts:
/// the time is the database's (in UTC) when the script runs, the duration unknown (0).
pub fn insert_history_literal(
    dialect: &dyn Dialect,
    tables: &VersionTables,
    revision: &str,
    direction: &str,
    checksum: &str,
    applied_by: &str,
) -> String {
    let values = [
        dialect.string_literal(revision),
        dialect.string_literal(direction),
        dialect.string_literal(checksum),
        dialect.now_utc().to_owned(),
        "0".to_owned(),
        dialect.string_literal(applied_by),
    ];
    history_insert(dialect, tables, &values)
}

fn history_insert(dialect: &dyn Dialect, tables: &VersionTables, values: &[String]) -> String {
    let columns: Vec<String> = HISTORY_COLUMNS
        .iter()
        .map(|c| dialect.quote_ident(c))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        tables.history_name(dialect),
        columns.join(", "),
        values.join(", ")
    )
}

/// Returns the query of every history row's revision, direction and
/// checksum, oldest first.
pub fn select_history(dialect: &dyn Dialect, tables: &VersionTables) -> String {
    format!(
        "SELECT {}, {}, {} FROM {} ORDER BY {}",
        dialect.quote_ident("revision"),
        dialect.quote_ident("direction"),
        dialect.quote_ident("checksum"),
        tables.history_name(dialect),
        dialect.quote_ident("id"),
    )
}

/// Returns, from history rows `(revision, direction, checksum)` oldest first,
/// each revision whose last row is an upgrade or a stamp with that row's
/// checksum, sorted by revision.
pub fn applied_checksums<I>(rows: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (String, String, String)>,
{
    let mut last = std::collections::BTreeMap::new();
    for (revision, direction, checksum) in rows {
        last.insert(revision, (direction, checksum));
    }
    last.into_iter()
        .filter(|(_, (direction, _))| direction == "upgrade" || direction == "stamp")
        .map(|(revision, (_, checksum))| (revision, checksum))
        .collect()
}

#[cfg(test)]
mod tests {
    use insta::assert_snapshot;

    use super::*;
    use crate::sqlite::Sqlite;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn show(changes: &[VersionChange]) -> String {
        let tables = VersionTables::default();
        changes
            .iter()
            .map(|c| format!("{}  -- {:?}", c.sql(&Sqlite, &tables), c.params()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn plans_like_alembic() {
        // A first revision.
        assert_snapshot!(show(&VersionChange::plan(&[], &ids(&["a"]))), @r#"INSERT INTO "rev_version" ("version_num") VALUES (?1)  -- ["a"]"#);
        // A revision replacing its parent.
        assert_snapshot!(show(&VersionChange::plan(&ids(&["a"]), &ids(&["b"]))), @r#"UPDATE "rev_version" SET "version_num" = ?1 WHERE "version_num" = ?2  -- ["b", "a"]"#);
        // A merge collapsing three heads.
        assert_snapshot!(show(&VersionChange::plan(&ids(&["b", "c", "d"]), &ids(&["m"]))), @r#"
        UPDATE "rev_version" SET "version_num" = ?1 WHERE "version_num" = ?2  -- ["m", "b"]
        DELETE FROM "rev_version" WHERE "version_num" = ?1  -- ["c"]
        DELETE FROM "rev_version" WHERE "version_num" = ?1  -- ["d"]
        "#);
        // Downgrading a merge brings its parents back.
        assert_snapshot!(show(&VersionChange::plan(&ids(&["m"]), &ids(&["b", "c"]))), @r#"
        UPDATE "rev_version" SET "version_num" = ?1 WHERE "version_num" = ?2  -- ["b", "m"]
        INSERT INTO "rev_version" ("version_num") VALUES (?1)  -- ["c"]
        "#);
        // Downgrading to base.
        assert_snapshot!(show(&VersionChange::plan(&ids(&["a"]), &[])), @r#"DELETE FROM "rev_version" WHERE "version_num" = ?1  -- ["a"]"#);
    }

    #[test]
    fn literals_are_escaped() {
        let tables = VersionTables {
            schema: Some("main".into()),
            version: "alembic_version".into(),
            history: "hist\"ory".into(),
        };
        let change = VersionChange::Update {
            old: "o'ld".into(),
            new: "new".into(),
        };
        assert_snapshot!(change.literal_sql(&Sqlite, &tables), @r#"UPDATE "main"."alembic_version" SET "version_num" = 'new' WHERE "version_num" = 'o''ld'"#);
        assert_snapshot!(insert_history_literal(&Sqlite, &tables, "a'b", "upgrade", "c", "rev"), @r#"INSERT INTO "main"."hist""ory" ("revision", "direction", "checksum", "started_at", "duration_ms", "applied_by") VALUES ('a''b', 'upgrade', 'c', CURRENT_TIMESTAMP, 0, 'rev')"#);
        assert_snapshot!(insert_history(&Sqlite, &tables), @r#"INSERT INTO "main"."hist""ory" ("revision", "direction", "checksum", "started_at", "duration_ms", "applied_by") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"#);
        assert_snapshot!(select_versions(&Sqlite, &tables), @r#"SELECT "version_num" FROM "main"."alembic_version" ORDER BY "version_num""#);
        assert_snapshot!(select_history(&Sqlite, &tables), @r#"SELECT "revision", "direction", "checksum" FROM "main"."hist""ory" ORDER BY "id""#);
    }

    #[test]
    fn checksums_follow_the_last_row() {
        let rows = [
            ("a", "upgrade", "1"),
            ("b", "upgrade", "2"),
            ("b", "downgrade", "2"),
            ("c", "stamp", "3"),
            ("a", "downgrade", "1"),
            ("a", "upgrade", "9"),
        ]
        .map(|(r, d, c)| (r.to_owned(), d.to_owned(), c.to_owned()));
        assert_eq!(
            applied_checksums(rows),
            vec![("a".into(), "9".into()), ("c".into(), "3".into())]
        );
    }
}
