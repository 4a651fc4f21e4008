//! Squashes (`rev squash`, DESIGN.md §3b): a revision whose `replaces` names a
//! linear run of older revisions. The project reads the history in one of two
//! views, so that the graph the engine plans on always has one line there:
//!
//! - the squashed view (what [`crate::Project::load`] gives): the replaced
//!   revisions are left out of the graph (their files, if still present, are
//!   in [`crate::Project::replaced`]) and a reference to the last replaced
//!   revision (a child's parent, a `depends_on`) reads as the squash;
//! - the view of the old files ([`crate::Project::unsquashed`]): the squash is
//!   left out, its replaced files are back, and a reference to the squash
//!   reads as the last replaced revision. A database that stands inside the
//!   run is moved past it in this view.

use std::collections::{HashMap, HashSet};

use rev_graph::RevisionSpec;

use crate::MigrationFile;

/// Maps a revision id that stands for another in a view to that other id.
pub(crate) type Aliases = HashMap<String, String>;

/// Splits loaded files into the files of the squashed view and the files of
/// revisions that a squash replaces.
pub(crate) fn split(files: Vec<MigrationFile>) -> (Vec<MigrationFile>, Vec<MigrationFile>) {
    let replaced: HashSet<String> = files
        .iter()
        .flat_map(|f| f.migration.replaces.iter().cloned())
        .collect();
    if replaced.is_empty() {
        return (files, Vec::new());
    }
    files
        .into_iter()
        .partition(|f| !replaced.contains(&f.migration.id))
}

/// Returns the aliases of the squashed view: the last revision each squash
/// among `files` replaces stands for the squash.
pub(crate) fn squashed_aliases(files: &[MigrationFile]) -> Aliases {
    files
        .iter()
        .filter_map(|f| {
            let last = f.migration.replaces.last()?;
            Some((last.clone(), f.migration.id.clone()))
        })
        .collect()
}

/// Returns what the graph needs to know of each file, every parent and
/// `depends_on` entry that has an alias read as the revision it stands for.
pub(crate) fn specs(files: &[MigrationFile], aliases: &Aliases) -> Vec<RevisionSpec> {
    // A chain (a squash of a squash) is followed to its end; the bound keeps a
    // cycle of aliases from looping.
    let resolve = |id: &String| -> String {
        let mut id = id;
        for _ in 0..=aliases.len() {
            match aliases.get(id) {
                Some(next) => id = next,
                None => break,
            }
        }
        id.clone()
    };
    files
        .iter()
        .map(|f| {
            let mut spec = crate::spec(&f.migration);
            if !aliases.is_empty() {
                spec.parents = spec.parents.iter().map(resolve).collect();
                spec.depends_on = spec.depends_on.iter().map(resolve).collect();
            }
            spec
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migration;

    fn file(text: &str) -> MigrationFile {
        MigrationFile {
            path: "x.ron".into(),
            migration: Migration::parse(text).unwrap(),
        }
    }

    #[test]
    fn children_of_the_run_read_the_squash_as_their_parent() {
        //   a ─ b ─ c ─ d        s replaces [b, c]; d names c
        //    \
        //     s
        let files = vec![
            file(r#"Migration(id: "a")"#),
            file(r#"Migration(id: "b", parents: ["a"])"#),
            file(r#"Migration(id: "c", parents: ["b"])"#),
            file(r#"Migration(id: "d", parents: ["c"], depends_on: ["c", "a"])"#),
            file(r#"Migration(id: "s", parents: ["a"], replaces: ["b", "c"])"#),
        ];
        let (active, replaced) = split(files);
        let ids = |files: &[MigrationFile]| -> Vec<String> {
            files.iter().map(|f| f.migration.id.clone()).collect()
        };
        assert_eq!(ids(&active), ["a", "d", "s"]);
        assert_eq!(ids(&replaced), ["b", "c"]);
        let specs = specs(&active, &squashed_aliases(&active));
        assert_eq!(specs[1].parents, ["s"]);
        assert_eq!(specs[1].depends_on, ["s", "a"]);
        assert_eq!(specs[2].parents, ["a"]);
    }
}
