//! `rev rebase` against PostgreSQL databases (DESIGN.md §3b): a branch that
//! a database has applied stays where it is; one it has not applied moves,
//! and the database then upgrades along the new line.

use crate::common::servers::{Server, TempDb};
use crate::common::{table_migration, TestEnv};

/// aaaa ─┬─ bbbb ─ b2b2      (the branch to move)
///       └─ cccc             (the line to move it onto)
fn forked() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("aaaa_a.ron", &table_migration("aaaa", &[], "t_a"));
    env.write_migration(
        "bbbb_b.ron",
        "// b\nMigration(\n    id: \"bbbb\",\n    parents: [\"aaaa\"], // forked here\n    message: \"b\",\n    upgrade: [CreateTable(name: \"t_b\", columns: [Column(name: \"id\", type: Integer)])],\n)\n",
    );
    env.write_migration("b2b2_b2.ron", &table_migration("b2b2", &["bbbb"], "t_b2"));
    env.write_migration("cccc_c.ron", &table_migration("cccc", &["aaaa"], "t_c"));
    env
}

#[test]
fn rebase_refuses_a_branch_a_postgres_database_applied() {
    let (Some(applied), Some(other)) = (
        TempDb::create(Server::Postgres),
        TempDb::create(Server::Postgres),
    ) else {
        println!("skipped rebase_refuses_a_branch_a_postgres_database_applied: PostgreSQL is unreachable");
        return;
    };
    let env = forked();
    let path = env.versions().join("bbbb_b.ron");
    let before = std::fs::read_to_string(&path).unwrap();
    env.ok(&["upgrade", "b2b2", "--url", &applied.url]);
    env.ok(&["upgrade", "cccc", "--url", &other.url]);

    let run = env.rev(&["rebase", "b2b2", "--onto", "cccc", "--url", &applied.url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("has applied revisions of the branch (b2b2, bbbb)"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("rev merge"), "{}", run.all());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // The other database ran only the line it moves onto: the branch moves.
    let run = env.rev(&["rebase", "b2b2", "--onto", "cccc", "--url", &other.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("parents [aaaa] -> [cccc]"),
        "{}",
        run.all()
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before.replace("parents: [\"aaaa\"]", "parents: [\"cccc\"]")
    );
    env.ok(&["upgrade", "heads", "--url", &other.url]);
    assert_eq!(
        other.column("SELECT version_num FROM rev_version"),
        ["b2b2"]
    );
    assert_eq!(
        other.column("SELECT revision FROM rev_history ORDER BY id"),
        ["aaaa", "cccc", "bbbb", "b2b2"]
    );
}
