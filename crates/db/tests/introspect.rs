//! Round trips through the catalogs: a schema built by rev's own migrations
//! introspects back to exactly that schema, on SQLite, PostgreSQL and MariaDB,
//! and a change made by hand shows up as a difference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common_server;

use common_server::{col, raw_step, tables, TempDb};
use rev_db::introspect::reconcile;
use rev_db::{Backend, Direction, Step};
use rev_schema::{
    diff, Check, Column, ColumnType as T, Default as D, ForeignKey, Index, OnDelete, Schema, Table,
    Unique,
};

fn s(x: &str) -> String {
    x.to_owned()
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| s(x)).collect()
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: s(name),
        schema: None,
        columns,
        indexes: vec![],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
    }
}

fn id() -> Column {
    Column {
        primary_key: true,
        identity: true,
        ..col("id", T::Integer)
    }
}

/// The first models: every column type and every kind of default.
fn v1() -> Schema {
    let users = Table {
        indexes: vec![
            Index {
                name: s("ix_users_born"),
                columns: names(&["born"]),
                unique: false,
            },
            Index {
                name: s("ux_users_nickname"),
                columns: names(&["nickname"]),
                unique: true,
            },
        ],
        checks: vec![Check {
            name: s("ck_users_score"),
            expr: s("score >= 0"),
        }],
        ..table(
            "users",
            vec![
                id(),
                Column {
                    nullable: Some(false),
                    unique: true,
                    ..col("email", T::String(255))
                },
                Column {
                    nullable: Some(false),
                    default: Some(D::Bool(true)),
                    ..col("active", T::Boolean)
                },
                Column {
                    default: Some(D::Int(0)),
                    ..col("score", T::Integer)
                },
                Column {
                    default: Some(D::Now),
                    ..col("created_at", T::DateTime)
                },
                Column {
                    default: Some(D::NewUuid),
                    ..col("token", T::Uuid)
                },
                col("note", T::Text),
                Column {
                    default: Some(D::Float(1.5)),
                    ..col("price", T::Decimal(10, 2))
                },
                Column {
                    default: Some(D::Float(-0.25)),
                    ..col("ratio", T::Float)
                },
                col("born", T::Date),
                col("wakes", T::Time),
                Column {
                    default: Some(D::Now),
                    ..col("seen_at", T::DateTimeTz)
                },
                col("hash", T::Binary(16)),
                col("photo", T::Blob),
                col("prefs", T::Json),
                Column {
                    default: Some(D::Int(-3)),
                    ..col("small", T::SmallInt)
                },
                col("big", T::BigInt),
                Column {
                    default: Some(D::Str(s("it's me"))),
                    ..col("nickname", T::String(50))
                },
            ],
        )
    };
    let posts = Table {
        foreign_keys: vec![ForeignKey {
            name: s("fk_posts_user"),
            columns: names(&["user_id"]),
            ref_table: s("users"),
            ref_columns: names(&["id"]),
            on_delete: Some(OnDelete::Cascade),
        }],
        uniques: vec![Unique {
            name: s("uq_posts_user_title"),
            columns: names(&["user_id", "title"]),
        }],
        ..table(
            "posts",
            vec![
                id(),
                Column {
                    nullable: Some(false),
                    ..col("user_id", T::Integer)
                },
                Column {
                    default: Some(D::Str(s("new"))),
                    ..col("title", T::String(100))
                },
            ],
        )
    };
    Schema::from_tables([users, posts])
}

/// The changed models: a table added, columns dropped, altered and added, a
/// new foreign key, a new check, indexes dropped and added.
fn v2() -> Schema {
    let mut schema = v1();
    for t in schema.tables.values_mut() {
        match t.name.as_str() {
            "users" => {
                t.columns.retain(|c| c.name != "wakes");
                for c in &mut t.columns {
                    if c.name == "score" {
                        c.ty = T::BigInt;
                        c.nullable = Some(false);
                        c.default = Some(D::Int(1));
                    }
                }
                t.columns.push(col("bio", T::String(200)));
                t.indexes.retain(|i| i.name != "ix_users_born");
                t.indexes.push(Index {
                    name: s("ix_users_score"),
                    columns: names(&["score"]),
                    unique: false,
                });
            }
            _ => {
                t.columns.push(col("editor_id", T::Integer));
                t.foreign_keys.push(ForeignKey {
                    name: s("fk_posts_editor"),
                    columns: names(&["editor_id"]),
                    ref_table: s("users"),
                    ref_columns: names(&["id"]),
                    on_delete: Some(OnDelete::SetNull),
                });
                t.indexes.push(Index {
                    name: s("ix_posts_editor"),
                    columns: names(&["editor_id"]),
                    unique: false,
                });
                t.checks.push(Check {
                    name: s("ck_posts_title"),
                    expr: s("title <> ''"),
                });
            }
        }
    }
    let tags = Table {
        foreign_keys: vec![ForeignKey {
            name: s("fk_tags_post"),
            columns: names(&["post_id"]),
            ref_table: s("posts"),
            ref_columns: names(&["id"]),
            on_delete: None,
        }],
        ..table(
            "tags",
            vec![
                id(),
                Column {
                    nullable: Some(false),
                    ..col("post_id", T::Integer)
                },
                col("name", T::String(30)),
            ],
        )
    };
    schema
        .tables
        .insert(rev_schema::TableName::new(None, "tags"), tags);
    schema
}

/// Returns a schema as one line per column, index and constraint, for snapshots.
fn show(schema: &Schema) -> String {
    let mut out = Vec::new();
    for table in schema.tables.values() {
        out.push(format!("table {}", table.name));
        for c in &table.columns {
            let mut flags = Vec::new();
            if c.primary_key {
                flags.push("pk".to_owned());
            }
            if c.identity {
                flags.push("identity".to_owned());
            }
            if c.unique {
                flags.push("unique".to_owned());
            }
            if let Some(n) = c.nullable {
                flags.push(if n { "null" } else { "not null" }.to_owned());
            }
            if let Some(d) = &c.default {
                flags.push(format!("default {d:?}"));
            }
            out.push(
                format!("  {} {:?} {}", c.name, c.ty, flags.join(" "))
                    .trim_end()
                    .to_owned(),
            );
        }
        for i in &table.indexes {
            out.push(format!(
                "  index {} {:?} unique={}",
                i.name, i.columns, i.unique
            ));
        }
        for u in &table.uniques {
            out.push(format!("  unique {} {:?}", u.name, u.columns));
        }
        for f in &table.foreign_keys {
            out.push(format!(
                "  fk {} {:?} -> {} {:?} {:?}",
                f.name, f.columns, f.ref_table, f.ref_columns, f.on_delete
            ));
        }
        for c in &table.checks {
            out.push(format!("  check {} {}", c.name, c.expr));
        }
    }
    out.join("\n")
}

/// Runs the operations that turn `from` into `to` as one step.
fn migrate(backend: &mut dyn Backend, revision: &str, from: &Schema, to: &Schema) {
    let ops = diff(from, to).ops;
    assert!(!ops.is_empty());
    let mut folded = from.clone();
    let statements = rev_sql::render_migration(backend.dialect(), &ops, &mut folded).unwrap();
    let step = Step {
        statements,
        ..raw_step(revision, Direction::Upgrade, &[], &[], &[])
    };
    backend.run_step(&tables(), &step).unwrap();
}

/// Returns what the live database has that `expected` does not, as operations.
fn drift(backend: &mut dyn Backend, expected: &Schema) -> Vec<String> {
    let live = backend.introspect(&tables()).unwrap();
    let kind = backend.dialect().kind();
    let found = diff(expected, &reconcile(&live, expected, kind));
    let mut out: Vec<String> = found.ops.iter().map(|op| format!("{op:?}")).collect();
    out.extend(found.notes);
    out
}

/// Runs the round trip and returns the catalog's own reading of the first
/// models, before it is reconciled with them.
fn round_trip(backend: &mut dyn Backend, add_column_by_hand: &str) -> String {
    backend.ensure_tables(&tables()).unwrap();
    backend.ensure_journal(&tables()).unwrap();
    assert_eq!(drift(backend, &Schema::default()), Vec::<String>::new());

    migrate(backend, "one", &Schema::default(), &v1());
    assert_eq!(drift(backend, &v1()), Vec::<String>::new());
    let raw = show(&backend.introspect(&tables()).unwrap());

    migrate(backend, "two", &v1(), &v2());
    assert_eq!(drift(backend, &v2()), Vec::<String>::new());

    migrate(backend, "two_down", &v2(), &v1());
    assert_eq!(drift(backend, &v1()), Vec::<String>::new());

    let step = raw_step(
        "by_hand",
        Direction::Upgrade,
        &[add_column_by_hand],
        &[],
        &[],
    );
    backend.run_step(&tables(), &step).unwrap();
    let found = drift(backend, &v1());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("AddColumn") && found[0].contains("\"nickname2\""),
        "{found:#?}"
    );
    raw
}

#[test]
fn sqlite_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut backend = rev_db::connect(&url).unwrap();
    let raw = round_trip(
        backend.as_mut(),
        "ALTER TABLE users ADD COLUMN nickname2 VARCHAR(10)",
    );
    insta::assert_snapshot!("sqlite_catalog", raw);
}

#[test]
fn postgres_round_trip() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let mut backend = rev_db::connect(&db.url).unwrap();
    let raw = round_trip(
        backend.as_mut(),
        "ALTER TABLE users ADD COLUMN nickname2 VARCHAR(10)",
    );
    insta::assert_snapshot!("postgres_catalog", raw);
}

#[test]
fn mysql_round_trip() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let mut backend = rev_db::connect(&db.url).unwrap();
    let raw = round_trip(
        backend.as_mut(),
        "ALTER TABLE users ADD COLUMN nickname2 VARCHAR(10)",
    );
    insta::assert_snapshot!("mysql_catalog", raw);
}

#[test]
fn version_and_history_tables_are_never_introspected() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut backend = rev_db::connect(&url).unwrap();
    backend.ensure_tables(&tables()).unwrap();
    backend.ensure_journal(&tables()).unwrap();
    let step = raw_step(
        "a",
        Direction::Upgrade,
        &["CREATE TABLE x (y INTEGER)"],
        &[],
        &["a"],
    );
    backend.run_step(&tables(), &step).unwrap();
    let live = backend.introspect(&tables()).unwrap();
    let found: Vec<&str> = live.tables.keys().map(|k| k.name.as_str()).collect();
    assert_eq!(found, ["x"]);
}

/// A SQL Server database made for one test, dropped when the value is dropped.
struct MssqlDb {
    admin: rev_db::mssql::MssqlBackend,
    name: String,
    options: rev_db::mssql::MssqlOptions,
}

impl MssqlDb {
    /// Creates the database, or returns None when `REV_TEST_MSSQL_URL` is not set.
    fn create() -> Option<MssqlDb> {
        let url = match std::env::var("REV_TEST_MSSQL_URL") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                println!("skipped: REV_TEST_MSSQL_URL is not set");
                return None;
            }
        };
        let options = rev_db::mssql::MssqlOptions::parse(&url).unwrap();
        let name = format!("rev_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin_options = options.clone();
        admin_options.database = Some("master".to_owned());
        let mut admin = rev_db::mssql::MssqlBackend::connect(&admin_options).unwrap();
        admin
            .execute_batch(&format!("CREATE DATABASE [{name}]"))
            .unwrap();
        let mut options = options;
        options.database = Some(name.clone());
        Some(MssqlDb {
            admin,
            name,
            options,
        })
    }
}

impl Drop for MssqlDb {
    fn drop(&mut self) {
        let sql = format!(
            "ALTER DATABASE [{0}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{0}]",
            self.name
        );
        if let Err(e) = self.admin.execute_batch(&sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// SQL Server refuses the second models (two cascading paths from `users` to
/// `posts`), so it runs the first models, their downgrade, and a change by hand.
#[test]
fn mssql_round_trip() {
    let Some(db) = MssqlDb::create() else {
        return;
    };
    let mut backend = rev_db::mssql::MssqlBackend::connect(&db.options).unwrap();
    backend.ensure_tables(&tables()).unwrap();
    backend.ensure_journal(&tables()).unwrap();
    assert_eq!(
        drift(&mut backend, &Schema::default()),
        Vec::<String>::new()
    );
    migrate(&mut backend, "one", &Schema::default(), &v1());
    assert_eq!(drift(&mut backend, &v1()), Vec::<String>::new());
    let step = raw_step(
        "by_hand",
        Direction::Upgrade,
        &["ALTER TABLE users ADD nickname2 NVARCHAR(10) NULL"],
        &[],
        &[],
    );
    backend.run_step(&tables(), &step).unwrap();
    let found = drift(&mut backend, &v1());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("\"nickname2\""), "{found:#?}");
    migrate(&mut backend, "one_down", &v1(), &Schema::default());
    let live = backend.introspect(&tables()).unwrap();
    assert!(live.tables.is_empty(), "{live:#?}");
}

/// Runs hand-written DDL and returns what the catalog reads back.
fn read_hand_written(backend: &mut dyn Backend, statements: &[&str]) -> String {
    backend.ensure_tables(&tables()).unwrap();
    backend.ensure_journal(&tables()).unwrap();
    let step = raw_step("by_hand", Direction::Upgrade, statements, &[], &[]);
    backend.run_step(&tables(), &step).unwrap();
    show(&backend.introspect(&tables()).unwrap())
}

#[test]
fn sqlite_reads_hand_written_tables() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut backend = rev_db::connect(&url).unwrap();
    let found = read_hand_written(
        backend.as_mut(),
        &[
            "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
             rating REAL DEFAULT 0.5, meta, CHECK (rating >= 0))",
            "CREATE TABLE books (id integer primary key autoincrement, \
             author_id INTEGER REFERENCES authors(id) ON DELETE SET NULL, \
             title varchar(80) default 'x' /* a comment */, \
             CONSTRAINT ck_title CHECK (length(title) > 0), \
             CONSTRAINT uq_books UNIQUE (author_id, title))",
            "CREATE INDEX ix_books_title ON books (title)",
            "CREATE INDEX ix_books_expr ON books (lower(title))",
        ],
    );
    insta::assert_snapshot!(found, @r#"
    table authors
      id Integer pk
      name Text unique not null
      rating Float default Float(0.5)
      meta Custom("")
      check authors_check_1 rating >= 0
    table books
      id Integer pk identity
      author_id Integer
      title String(80) default Str("x")
      index ix_books_expr ["<expression>"] unique=false
      index ix_books_title ["title"] unique=false
      unique uq_books ["author_id", "title"]
      fk books_fk_1 ["author_id"] -> authors ["id"] Some(SetNull)
      check ck_title length(title) > 0
    "#);
}

#[test]
fn postgres_reads_hand_written_tables() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let mut backend = rev_db::connect(&db.url).unwrap();
    let found = read_hand_written(
        backend.as_mut(),
        &[
            "CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL UNIQUE, \
             rating real DEFAULT 0.5, born timestamp(3) DEFAULT now(), CHECK (rating >= 0))",
            "CREATE TABLE books (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             author_id int REFERENCES authors(id) ON DELETE SET NULL, \
             title varchar(80) DEFAULT 'x', tags text[], \
             CONSTRAINT ck_title CHECK (length(title) > 0 AND title IN ('a', 'b')), \
             CONSTRAINT uq_books UNIQUE (author_id, title))",
            "CREATE INDEX ix_books_title ON books (title)",
            "CREATE INDEX ix_books_expr ON books (lower(title))",
        ],
    );
    insta::assert_snapshot!(found, @r#"
    table authors
      id Integer pk identity
      name Text unique not null
      rating Custom("real") default Float(0.5)
      born DateTime default Now
      check authors_rating_check rating >= (0)::double precision
    table books
      id BigInt pk identity
      author_id Integer
      title String(80) default Str("x")
      tags Custom("text[]")
      index ix_books_expr ["<expression>"] unique=false
      index ix_books_title ["title"] unique=false
      unique uq_books ["author_id", "title"]
      fk books_author_id_fkey ["author_id"] -> authors ["id"] Some(SetNull)
      check ck_title (length((title)::text) > 0) AND ((title)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))
    "#);
}

#[test]
fn mysql_reads_hand_written_tables() {
    let Some(db) = TempDb::mysql() else {
        return;
    };
    let mut backend = rev_db::connect(&db.url).unwrap();
    let found = read_hand_written(
        backend.as_mut(),
        &[
            "CREATE TABLE authors (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
             name VARCHAR(100) NOT NULL UNIQUE, rating FLOAT DEFAULT 0.5, \
             active BOOL DEFAULT TRUE, CHECK (rating >= 0))",
            "CREATE TABLE books (id BIGINT AUTO_INCREMENT PRIMARY KEY, author_id INT UNSIGNED, \
             title VARCHAR(80) DEFAULT 'x', \
             CONSTRAINT fk_books_author FOREIGN KEY (author_id) REFERENCES authors(id) ON DELETE SET NULL, \
             CONSTRAINT uq_books UNIQUE (author_id, title), INDEX ix_books_title (title))",
        ],
    );
    insta::assert_snapshot!(found, @r#"
    table authors
      id Custom("int(10) unsigned") pk identity
      name String(100) unique not null
      rating Custom("float") default Float(0.5)
      active Boolean default Int(1)
      check CONSTRAINT_1 `rating` >= 0
    table books
      id BigInt pk identity
      author_id Custom("int(10) unsigned")
      title String(80) default Str("x")
      index ix_books_title ["title"] unique=false
      unique uq_books ["author_id", "title"]
      fk fk_books_author ["author_id"] -> authors ["id"] Some(SetNull)
    "#);
}
