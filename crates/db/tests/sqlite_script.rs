//! Offline scripts for SQLite run as they are and leave the database where a
//! live run would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_db::sqlite::SqliteBackend;
use rev_db::{Backend, Direction, SqliteTarget, Step, Tables};
use rev_schema::{Operation, Schema};
use rev_sql::sqlite::Sqlite;
use rev_sql::{offline_script, Dialect};
use rusqlite::Connection;

fn parse_ops(text: &str) -> Vec<Operation> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(&format!("[{text}]"))
        .unwrap()
}

fn step(schema: &mut Schema, revision: &str, parent: Option<&str>, ops: &str) -> Step {
    let mut statements = Vec::new();
    for op in parse_ops(ops) {
        statements.extend(Sqlite.render_op(&op, schema).unwrap());
        schema.apply(&op).unwrap();
    }
    Step {
        revision: revision.to_owned(),
        direction: Direction::Upgrade,
        statements,
        delete_versions: parent.iter().map(|p| (*p).to_owned()).collect(),
        insert_versions: vec![revision.to_owned()],
        checksum: format!("sum_{revision}"),
        transactional: true,
    }
}

#[test]
fn an_offline_script_runs_in_sqlite_and_keeps_child_rows() {
    let mut schema = Schema::default();
    let steps = vec![
        step(
            &mut schema,
            "a1",
            None,
            r#"
            CreateTable(name: "users", columns: [Column(name: "id", type: Integer, primary_key: true, identity: true), Column(name: "email", type: Text)]),
            CreateTable(name: "posts", columns: [Column(name: "id", type: Integer, primary_key: true), Column(name: "user_id", type: Integer)],
                foreign_keys: [ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade)]),
            Sql("INSERT INTO users (email) VALUES ('a@x'), ('b@x')"),
            Sql("INSERT INTO posts (id, user_id) VALUES (1, 1), (2, 2)"),
        "#,
        ),
        // Rebuilds the parent: with foreign keys on, this would cascade-delete the posts.
        step(
            &mut schema,
            "b2",
            Some("a1"),
            r#"AlterColumn(table: "users", name: "email", nullable: false)"#,
        ),
    ];
    let tables = Tables::default();
    let script = offline_script(&Sqlite, &tables, &steps);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offline.db");
    // A fresh connection, foreign keys on as bundled SQLite has them.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    // `.bail on` is for the sqlite3 shell; a library runs the SQL after it.
    let (header, rest) = script.split_once("\n.bail on\n").unwrap();
    let sql = format!("{header}\n{rest}");
    conn.execute_batch(&sql).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM posts"), 2);
    assert_eq!(count("SELECT count(*) FROM users"), 2);
    assert_eq!(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_eq!(count("SELECT count(*) FROM rev_history"), 2);
    drop(conn);

    let mut backend = SqliteBackend::open(&SqliteTarget::File(path)).unwrap();
    assert_eq!(
        backend.current_heads(&tables).unwrap(),
        vec!["b2".to_owned()]
    );
    assert_eq!(
        backend.applied_checksums(&tables).unwrap(),
        vec![
            ("a1".to_owned(), "sum_a1".to_owned()),
            ("b2".to_owned(), "sum_b2".to_owned())
        ]
    );
}
