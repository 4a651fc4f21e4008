//! What a versions directory may hold (DESIGN.md §2): editor leftovers and
//! hidden entries are skipped, anything named `*.ron` that is not a regular
//! file is refused by name, and graph errors point at code, not comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::fs;
use std::path::Path;

use rev_project::{read_migrations, Project, ProjectError};

fn migration(id: &str, parents: &[&str]) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "Migration(id: \"{id}\", parents: [{}], message: \"m\", upgrade: [])\n",
        parents.join(", ")
    )
}

fn ids(dir: &Path) -> Vec<String> {
    read_migrations(dir)
        .unwrap()
        .into_iter()
        .map(|f| f.migration.id)
        .collect()
}

#[cfg(unix)]
#[test]
fn editor_leftovers_and_hidden_entries_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a_first.ron"), migration("a", &[])).unwrap();
    // Emacs's lock file is a dangling symlink; every command used to fail on it.
    std::os::unix::fs::symlink("user@host.1234:1700000000", d.join(".#a_first.ron")).unwrap();
    fs::write(d.join("a_first.ron~"), "not RON at all").unwrap();
    fs::write(d.join(".a_first.ron.swp"), [0u8, 159, 146, 150]).unwrap();
    fs::write(d.join("#a_first.ron#"), "Migration(").unwrap();
    fs::write(d.join(".hidden.ron"), "junk").unwrap();
    fs::create_dir(d.join(".git")).unwrap();
    fs::write(d.join(".git").join("x.ron"), "junk").unwrap();
    fs::create_dir(d.join("notes")).unwrap();
    fs::write(d.join("README.md"), "# notes").unwrap();
    assert_eq!(ids(d), ["a"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_regular_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("shared.ron");
    fs::write(&target, migration("b", &[])).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("b_shared.ron")).unwrap();
    assert_eq!(ids(dir.path()), ["b"]);
}

fn refused(dir: &Path) -> (String, String) {
    match read_migrations(dir) {
        Err(error @ ProjectError::NotAMigrationFile { .. }) => {
            let ProjectError::NotAMigrationFile { path, .. } = &error else {
                unreachable!()
            };
            (path.display().to_string(), error.to_string())
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_device_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    // Reading /dev/zero never ends; the entry must be refused before any read.
    let link = dir.path().join("z_zero.ron");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let (path, message) = refused(dir.path());
    assert_eq!(path, link.display().to_string());
    assert!(message.contains("a symlink to a device"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_named_like_a_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("c_gone.ron");
    std::os::unix::fs::symlink("nowhere.ron", &link).unwrap();
    let (path, message) = refused(dir.path());
    assert_eq!(path, link.display().to_string());
    assert!(message.contains("cannot be followed"), "{message}");
}

#[test]
fn a_directory_named_like_a_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("d_dir.ron")).unwrap();
    let (path, message) = refused(dir.path());
    assert!(path.ends_with("d_dir.ron"), "{path}");
    assert!(
        message.contains("a directory, not a regular file"),
        "{message}"
    );
}

#[test]
fn a_file_over_the_bound_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("e_big.ron");
    // Sparse: the bound is checked without writing 64 MiB.
    let file = fs::File::create(&big).unwrap();
    file.set_len(rev_project::MAX_MIGRATION_FILE + 1).unwrap();
    let (path, message) = refused(dir.path());
    assert_eq!(path, big.display().to_string());
    assert!(message.contains("larger than 64 MiB"), "{message}");
}

#[test]
fn a_graph_error_points_at_the_field_not_a_comment_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("rev.ron"), "Config()\n").unwrap();
    let versions = root.join("migrations").join("versions");
    fs::create_dir_all(&versions).unwrap();
    fs::write(versions.join("a.ron"), migration("a", &[])).unwrap();
    // The comment names the field and the missing parent before the field does.
    let text = "// parents: [\"zz\"] was the old parent\nMigration(\n    id: \"b\",\n    message: \"depends on parents: \\\"zz\\\"\",\n    parents: [\"a\", \"zz\"],\n)\n";
    fs::write(versions.join("b.ron"), text).unwrap();
    let error = Project::load(&root.join("rev.ron")).unwrap_err();
    let ProjectError::Graph { line, col, .. } = &error else {
        panic!("expected a graph error, got {error:?}")
    };
    assert_eq!((*line, *col), (5, 20), "{error}");
}
