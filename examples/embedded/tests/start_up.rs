//! The example binary, run as its users run it: a fresh database is upgraded
//! at start-up, a second start changes nothing, and a database the binary
//! does not know is refused with the application's own exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::process::Command;

fn start(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rev-example-embedded"))
        .arg(url)
        .output()
        .unwrap()
}

#[test]
fn a_fresh_sqlite_file_is_upgraded_at_start_up_and_a_restart_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("notes.db").display());
    let first = start(&url);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        "database at 0002; 2 migration(s) applied now\n"
    );
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(log.contains("migrated: upgrade 0001"), "{log}");
    assert!(log.contains("migrated: upgrade 0002"), "{log}");

    let conn = rusqlite::Connection::open(dir.path().join("notes.db")).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('notes') ORDER BY cid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns, ["id", "title", "body"]);
    drop(conn);

    let second = start(&url);
    assert!(second.status.success(), "{second:?}");
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "database at 0002; 0 migration(s) applied now\n"
    );
}

#[test]
fn a_database_ahead_of_the_binary_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ahead.db");
    let url = format!("sqlite://{}", path.display());
    assert!(start(&url).status.success());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE rev_version SET version_num = 'ffff'", [])
        .unwrap();
    drop(conn);
    let out = start(&url);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the database is at revision `ffff`, which no migration file declares"));
}
