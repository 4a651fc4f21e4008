//! `rev rebase BRANCH --onto REV` (DESIGN.md §3b): moves the first revision of
//! a branch onto another revision, so the history stays linear instead of
//! gaining a merge. Only the `parents` list of that one file changes.

use std::path::PathBuf;

use rev_graph::NodeIndex;
use rev_project::{replace_parents, Migration, Project};

use crate::author::resolve_one;
use crate::check::Severity;
use crate::conflicts::{conflicts, without_acknowledged, Conflict};
use crate::error::{MigrateError, Result};
use crate::url::missing_sqlite_file;
use crate::Options;

/// What `rev rebase` asks for.
#[derive(Debug, Clone, Copy)]
pub struct Rebase<'a> {
    /// The branch: a branch label or a head.
    pub branch: &'a str,
    /// The revision its first revision is moved onto.
    pub onto: &'a str,
    /// The database to look at, if any: a branch it has applied is not moved.
    pub url: Option<&'a str>,
    /// Whether to move the branch although it conflicts with `onto`'s lineage.
    pub allow_conflicts: bool,
}

/// What `rev rebase` changed.
#[derive(Debug, Clone)]
pub struct Rebased {
    /// The branch's first revision, whose file was rewritten.
    pub revision: String,
    /// That file.
    pub path: PathBuf,
    /// Its parents before.
    pub old_parents: Vec<String>,
    /// Its parents now.
    pub new_parents: Vec<String>,
    /// The revisions of the branch that moved with it.
    pub moved: Vec<String>,
    /// The conflicts (warnings, or errors that were allowed) found first.
    pub conflicts: Vec<Conflict>,
}

/// Returns the branch's first revision: the labelled revision, or for a head
/// the revision right after the branch point below it (or the nearest
/// revision with a branch label, if that comes first).
fn first_revision(project: &Project, branch: &str) -> Result<NodeIndex> {
    let graph = &project.graph;
    if let Some(labelled) = graph.label(branch) {
        return Ok(labelled);
    }
    let head = resolve_one(project, branch)?;
    if !graph.children(head).is_empty() {
        return Err(MigrateError::usage(
            format!(
                "`{branch}` is neither a branch label nor a head: revision {} has children",
                graph.id(head)
            ),
            Some("name the branch by its label or by its head (`rev heads` lists them)"),
        ));
    }
    let mut node = head;
    loop {
        // A label names the branch that starts at its revision.
        if !graph.branch_labels(node).is_empty() && !graph.parents(node).is_empty() {
            return Ok(node);
        }
        match graph.parents(node) {
            [parent] if graph.children(*parent).len() == 1 => node = *parent,
            [_] => return Ok(node),
            [] => {
                return Err(MigrateError::refused(
                    format!(
                        "the branch of `{branch}` has no branch point: it goes down to the base {}",
                        graph.id(node)
                    ),
                    Some("a branch to rebase leaves another line of revisions; this one is the only line"),
                ))
            }
            _ => {
                return Err(MigrateError::refused(
                    format!(
                        "the branch of `{branch}` contains the merge {}; a merge cannot be rebased",
                        graph.id(node)
                    ),
                    None,
                ))
            }
        }
    }
}

/// Returns the revisions that descend from `first` through parents, `first` included.
fn descendants(project: &Project, first: NodeIndex) -> Vec<bool> {
    let graph = &project.graph;
    let mut seen = vec![false; graph.len()];
    let mut stack = vec![first];
    while let Some(node) = stack.pop() {
        match seen.get_mut(node.index()) {
            Some(slot) if !*slot => *slot = true,
            _ => continue,
        }
        stack.extend(graph.children(node));
    }
    seen
}

/// Returns the branch's revisions that the database at `url` has applied.
/// A SQLite file that does not exist has applied nothing, and is not created.
fn applied_in_branch(
    project: &Project,
    options: &Options,
    url: &str,
    branch: &[bool],
) -> Result<Vec<String>> {
    if missing_sqlite_file(url).is_some() {
        return Ok(Vec::new());
    }
    let mut backend = crate::url::connect(url)?;
    let rows = backend.current_heads(&options.tables)?;
    let nodes = crate::plan::current_nodes(project, &rows)?;
    let applied = project.graph.applied_set(&nodes);
    Ok(project
        .graph
        .nodes()
        .filter(|n| {
            branch.get(n.index()).copied().unwrap_or(false)
                && applied.get(n.index()).copied().unwrap_or(false)
        })
        .map(|n| project.graph.id(n).to_owned())
        .collect())
}

/// Moves the first revision of `ask.branch` onto `ask.onto`: checks the move
/// (not onto the branch itself or its descendants, no conflicts unless
/// allowed, nothing of the branch applied in the database it can see), then
/// rewrites only the `parents` list of that file. Nothing is written when a
/// check fails.
pub fn rebase(project: &Project, options: &Options, ask: &Rebase<'_>) -> Result<Rebased> {
    let graph = &project.graph;
    let first = first_revision(project, ask.branch)?;
    let onto = resolve_one(project, ask.onto)?;
    let branch = descendants(project, first);
    let first_id = graph.id(first).to_owned();
    let onto_id = graph.id(onto).to_owned();
    if onto == first {
        return Err(MigrateError::usage(
            format!("cannot rebase the branch starting at {first_id} onto itself"),
            Some("--onto names a revision on another branch, such as another head"),
        ));
    }
    if branch.get(onto.index()).copied().unwrap_or(false) {
        return Err(MigrateError::usage(
            format!(
                "cannot rebase the branch starting at {first_id} onto {onto_id}: {onto_id} is on that branch (a descendant of {first_id})"
            ),
            Some("--onto names a revision outside the branch, such as another head"),
        ));
    }
    let old_parents = graph.ids(graph.parents(first));
    if old_parents == [onto_id.clone()] {
        return Err(MigrateError::refused(
            format!("{first_id} already has {onto_id} as its parent; nothing to do"),
            None,
        ));
    }
    // What moves: every revision of the branch; its heads meet `onto` in the report.
    let moved_nodes: Vec<NodeIndex> = graph
        .nodes()
        .filter(|n| branch.get(n.index()).copied().unwrap_or(false))
        .collect();
    let mut tips: Vec<NodeIndex> = moved_nodes
        .iter()
        .copied()
        .filter(|&n| graph.children(n).is_empty())
        .collect();
    tips.push(onto);
    let found = without_acknowledged(project, conflicts(project, &tips));
    if !ask.allow_conflicts && found.iter().any(|c| c.severity() == Severity::Error) {
        return Err(MigrateError::Conflicts(found));
    }
    if let Some(url) = ask.url {
        let applied = applied_in_branch(project, options, url, &branch)?;
        if !applied.is_empty() {
            return Err(MigrateError::refused(
                format!(
                    "the database at {} has applied {} of the branch ({}); rebasing would rewrite history it has run",
                    crate::url::redact(url),
                    if applied.len() == 1 { "one revision" } else { "revisions" },
                    applied.join(", ")
                ),
                Some("run `rev merge -m <message>` to join the branches instead"),
            ));
        }
    }
    let Some(file) = project.file(first) else {
        return Err(MigrateError::refused(
            format!("revision {first_id} has no file"),
            None,
        ));
    };
    let path = file.path.clone();
    let io = |source: std::io::Error| {
        MigrateError::from(rev_project::ProjectError::Io {
            path: path.clone(),
            source,
        })
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let new_parents = vec![onto_id.clone()];
    let Some(rewritten) = replace_parents(&text, &new_parents) else {
        return Err(MigrateError::refused(
            format!("{}: no `parents` field to rewrite", path.display()),
            None,
        ));
    };
    // The edit must change the parents and nothing else a reader sees.
    let expected = Migration {
        parents: new_parents.clone(),
        ..file.migration.clone()
    };
    match Migration::parse(&rewritten) {
        Ok(read) if read == expected => {}
        _ => {
            return Err(MigrateError::refused(
                format!(
                    "{}: rewriting the parents list would change more than the parents; nothing was written",
                    path.display()
                ),
                Some("edit the `parents` line by hand"),
            ))
        }
    }
    // Written beside the file under a name the loader skips, then renamed
    // over it, so a crash leaves the old file or the new one, never half.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.rebase"));
    std::fs::write(&temp, rewritten).map_err(io)?;
    std::fs::rename(&temp, &path).map_err(io)?;
    Ok(Rebased {
        revision: first_id,
        path,
        old_parents,
        new_parents,
        moved: graph.ids(&moved_nodes),
        conflicts: found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    //   b1 ─ b2   (branch "feat" starts at b1)
    //  /
    // a ─ c        rebase feat --onto c  →  a ─ c ─ b1 ─ b2
    fn project(dir: &std::path::Path, b1_ops: &str) -> Project {
        let versions = dir.join("migrations").join("versions");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(dir.join("rev.ron"), "Config(url: None)\n").unwrap();
        let files = [
            ("a.ron", r#"Migration(id: "a", parents: [], upgrade: [CreateTable(name: "users", columns: [Column(name: "id", type: Integer), Column(name: "name", type: Text)])])"#.to_owned()),
            ("b1.ron", format!("// first of feat\nMigration(\n    id: \"b1\",\n    parents: [\"a\"], // the fork\n    branch_labels: [\"feat\"],\n    upgrade: [{b1_ops}],\n)\n")),
            ("b2.ron", r#"Migration(id: "b2", parents: ["b1"])"#.to_owned()),
            ("c.ron", r#"Migration(id: "c", parents: ["a"], upgrade: [AlterColumn(table: "users", name: "name", type: String(10))])"#.to_owned()),
        ];
        for (name, text) in files {
            std::fs::write(versions.join(name), text).unwrap();
        }
        Project::load(&dir.join("rev.ron")).unwrap()
    }

    fn ask<'a>(branch: &'a str, onto: &'a str) -> Rebase<'a> {
        Rebase {
            branch,
            onto,
            url: None,
            allow_conflicts: false,
        }
    }

    #[test]
    fn moves_the_first_revision_and_keeps_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path(), "");
        let done = rebase(&p, &Options::default(), &ask("feat", "c")).unwrap();
        assert_eq!(done.revision, "b1");
        assert_eq!(done.old_parents, ["a"]);
        assert_eq!(done.moved, ["b1", "b2"]);
        let text = std::fs::read_to_string(&done.path).unwrap();
        assert_eq!(
            text,
            "// first of feat\nMigration(\n    id: \"b1\",\n    parents: [\"c\"], // the fork\n    branch_labels: [\"feat\"],\n    upgrade: [],\n)\n"
        );
        let p = Project::load(&dir.path().join("rev.ron")).unwrap();
        assert_eq!(p.graph.ids(&p.graph.heads()), ["b2"]);
        // By head id too, now back onto a.
        let done = rebase(&p, &Options::default(), &ask("b2", "a")).unwrap();
        assert_eq!(done.revision, "b1");
        assert_eq!(done.old_parents, ["c"]);
    }

    #[test]
    fn bad_targets_are_clear_errors_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path(), "");
        let before =
            std::fs::read_to_string(dir.path().join("migrations/versions/b1.ron")).unwrap();
        let itself = rebase(&p, &Options::default(), &ask("feat", "b1")).unwrap_err();
        assert!(itself.to_string().contains("onto itself"), "{itself}");
        let below = rebase(&p, &Options::default(), &ask("feat", "b2")).unwrap_err();
        assert!(below.to_string().contains("is on that branch"), "{below}");
        let same = rebase(&p, &Options::default(), &ask("feat", "a")).unwrap_err();
        assert!(same.to_string().contains("already has a"), "{same}");
        let not_head = rebase(&p, &Options::default(), &ask("a", "c")).unwrap_err();
        assert!(
            not_head
                .to_string()
                .contains("neither a branch label nor a head"),
            "{not_head}"
        );
        let after = std::fs::read_to_string(dir.path().join("migrations/versions/b1.ron")).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn conflicts_refuse_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(
            dir.path(),
            r#"RenameColumn(table: "users", name: "name", new_name: "full_name")"#,
        );
        let refused = rebase(&p, &Options::default(), &ask("feat", "c")).unwrap_err();
        match &refused {
            MigrateError::Conflicts(found) => {
                assert_eq!(found.len(), 1);
                assert_eq!(found[0].object.to_string(), "column users.name");
            }
            other => panic!("{other}"),
        }
        let allowed = Rebase {
            allow_conflicts: true,
            ..ask("feat", "c")
        };
        let done = rebase(&p, &Options::default(), &allowed).unwrap();
        assert_eq!(done.conflicts.len(), 1);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_branch_the_database_applied_is_not_moved() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path(), "");
        let db = dir.path().join("app.db");
        let url = format!("sqlite://{}", db.display());
        // A database file that does not exist has applied nothing and is not created.
        let missing = Rebase {
            url: Some(&url),
            ..ask("feat", "c")
        };
        let checked = rebase(&p, &Options::default(), &missing);
        assert!(checked.is_ok(), "{:?}", checked.err());
        assert!(!db.exists());
        // Back to where it was, then apply the branch's first revision.
        let p = Project::load(&dir.path().join("rev.ron")).unwrap();
        rebase(&p, &Options::default(), &ask("feat", "a")).unwrap();
        let p = Project::load(&dir.path().join("rev.ron")).unwrap();
        let mut backend = crate::url::connect(&url).unwrap();
        crate::run::migrate(
            backend.as_mut(),
            &p,
            &Options::default(),
            crate::Movement::Upgrade,
            "b1",
            &mut |_| {},
        )
        .unwrap();
        let before =
            std::fs::read_to_string(dir.path().join("migrations/versions/b1.ron")).unwrap();
        let refused = rebase(&p, &Options::default(), &missing).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("has applied one revision of the branch (b1)"),
            "{refused}"
        );
        let after = std::fs::read_to_string(dir.path().join("migrations/versions/b1.ron")).unwrap();
        assert_eq!(before, after);
    }
}
