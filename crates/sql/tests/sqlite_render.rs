//! The SQL the SQLite dialect writes for every operation, and an offline script.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use insta::assert_snapshot;
use rev_schema::{Operation, Schema};
use rev_sql::sqlite::Sqlite;
use rev_sql::{offline_script, Dialect, Direction, Statement, Step, VersionTables};

fn parse_ops(text: &str) -> Vec<Operation> {
    ron::Options::default()
        .with_default_extension(
            ron::extensions::Extensions::IMPLICIT_SOME
                | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        )
        .from_str(text)
        .unwrap()
}

const BASE: &str = r#"
    CreateTable(name: "users", columns: [
        Column(name: "id", type: Integer, primary_key: true, identity: true),
        Column(name: "email", type: String(255), nullable: false, unique: true),
        Column(name: "name", type: Text, default: Str("it's me")),
        Column(name: "bio", type: Text),
    ]),
    CreateIndex(name: "ix_users_name", table: "users", columns: ["name"]),
    CreateTable(name: "posts", columns: [
        Column(name: "id", type: BigInt, primary_key: true),
        Column(name: "user_id", type: Integer, nullable: false),
        Column(name: "score", type: Decimal(10, 2), default: Float(0.5)),
    ],
    foreign_keys: [ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade)],
    checks: [Check(name: "ck_posts_score", expr: "score >= 0")]),
"#;

fn base() -> Schema {
    let mut schema = Schema::default();
    for op in parse_ops(&format!("[{BASE}]")) {
        schema.apply(&op).unwrap();
    }
    schema
}

/// Renders each operation against the schema the previous ones left.
fn render_on(mut schema: Schema, ops: &str) -> String {
    let mut out = Vec::new();
    for op in parse_ops(&format!("[{ops}]")) {
        for statement in Sqlite.render_op(&op, &schema).unwrap() {
            assert!(!statement.own_batch);
            out.push(format!("{};", statement.sql));
        }
        schema.apply(&op).unwrap();
    }
    out.join("\n")
}

fn render(ops: &str) -> String {
    render_on(base(), ops)
}

fn render_err(ops: &str) -> String {
    let op = parse_ops(&format!("[{ops}]")).remove(0);
    Sqlite.render_op(&op, &base()).unwrap_err().to_string()
}

#[test]
fn create_tables() {
    assert_snapshot!("create_tables", render_on(Schema::default(), BASE));
    assert_snapshot!(render(r#"CreateTable(name: "all_types", schema: "aux", columns: [
        Column(name: "a", type: Integer, primary_key: true), Column(name: "b", type: BigInt, primary_key: true),
        Column(name: "c", type: SmallInt), Column(name: "d", type: Boolean, default: Bool(true)),
        Column(name: "e", type: String(10)), Column(name: "f", type: Text), Column(name: "g", type: Decimal(5, 1)),
        Column(name: "h", type: Float, default: Float(1.0)), Column(name: "i", type: Date), Column(name: "j", type: Time),
        Column(name: "k", type: DateTime, default: Now), Column(name: "l", type: DateTimeTz),
        Column(name: "m", type: Uuid, default: NewUuid), Column(name: "n", type: Binary(16)), Column(name: "o", type: Blob),
        Column(name: "p", type: Json), Column(name: "q", type: Custom("GEOMETRY")), Column(name: "r", type: Integer, default: Expr("1 + 1")),
        Column(name: "we\"ird", type: Integer, default: Int(-3)),
    ], uniques: [Unique(name: "uq_cd", columns: ["c", "d"])])"#), @r#"
    CREATE TABLE "aux"."all_types" (
        "a" INTEGER NOT NULL,
        "b" BIGINT NOT NULL,
        "c" SMALLINT,
        "d" BOOLEAN DEFAULT 1,
        "e" VARCHAR(10),
        "f" TEXT,
        "g" NUMERIC(5, 1),
        "h" REAL DEFAULT 1.0,
        "i" DATE,
        "j" TIME,
        "k" DATETIME DEFAULT CURRENT_TIMESTAMP,
        "l" TIMESTAMP,
        "m" CHAR(36) DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
        "n" BLOB,
        "o" BLOB,
        "p" TEXT,
        "q" GEOMETRY,
        "r" INTEGER DEFAULT (1 + 1),
        "we""ird" INTEGER DEFAULT -3,
        PRIMARY KEY ("a", "b"),
        CONSTRAINT "uq_cd" UNIQUE ("c", "d")
    );
    "#);
}

#[test]
fn identity_needs_a_single_integer_key() {
    assert_snapshot!(render_err(r#"CreateTable(name: "t", columns: [Column(name: "id", type: Text, primary_key: true, identity: true)])"#),
        @"sqlite cannot make `id` an identity: AUTOINCREMENT needs a single-column integer primary key");
    assert_snapshot!(render_err(r#"CreateTable(name: "t", columns: [Column(name: "id", type: Integer, identity: true)])"#),
        @"sqlite cannot make `id` an identity: AUTOINCREMENT needs a single-column integer primary key");
    assert_snapshot!(render_err(r#"SqlFor(mssql: "SELECT 1")"#), @"SqlFor has no text for sqlite");
    assert_snapshot!(render_err(r#"DropTable(name: "ghost")"#), @"table `ghost` does not exist");
}

#[test]
fn plain_alter_table() {
    assert_snapshot!(render(r#"
        DropTable(name: "posts"),
        RenameTable(name: "users", new_name: "people"),
        RenameColumn(table: "people", name: "bio", new_name: "about"),
        AddColumn(table: "people", column: Column(name: "age", type: Integer, nullable: false, default: Int(0))),
        DropColumn(table: "people", name: "about"),
        CreateIndex(name: "ix_people_age", table: "people", columns: ["age", "name"], unique: true),
        DropIndex(name: "ix_users_name", table: "people"),
        Sql("UPDATE people SET age = 1"),
        SqlFor(sqlite: "VACUUM", mssql: "SELECT 1"),
    "#), @r#"
    DROP TABLE "posts";
    ALTER TABLE "users" RENAME TO "people";
    ALTER TABLE "people" RENAME COLUMN "bio" TO "about";
    ALTER TABLE "people" ADD COLUMN "age" INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE "people" DROP COLUMN "about";
    CREATE UNIQUE INDEX "ix_people_age" ON "people" ("age", "name");
    DROP INDEX "ix_users_name";
    UPDATE people SET age = 1;
    VACUUM;
    "#);
}

#[test]
fn schema_qualified_names() {
    let mut schema = Schema::default();
    schema
        .apply(&parse_ops(r#"[CreateTable(name: "t", schema: "aux", columns: [Column(name: "a", type: Integer)])]"#)[0])
        .unwrap();
    assert_snapshot!(render_on(schema, r#"
        CreateIndex(name: "ix_t_a", table: "t", columns: ["a"], schema: "aux"),
        AlterColumn(table: "t", name: "a", nullable: false, schema: "aux"),
        DropIndex(name: "ix_t_a", table: "t", schema: "aux"),
        RenameTable(name: "t", new_name: "u", schema: "aux"),
    "#), @r#"
    CREATE INDEX "aux"."ix_t_a" ON "t" ("a");
    CREATE TABLE "aux"."_rev_new_t" (
        "a" INTEGER NOT NULL
    );
    INSERT INTO "aux"."_rev_new_t" ("a") SELECT "a" FROM "aux"."t";
    DROP TABLE "aux"."t";
    PRAGMA legacy_alter_table = ON;
    ALTER TABLE "aux"."_rev_new_t" RENAME TO "t";
    PRAGMA legacy_alter_table = OFF;
    CREATE INDEX "aux"."ix_t_a" ON "t" ("a");
    DROP INDEX "aux"."ix_t_a";
    ALTER TABLE "aux"."t" RENAME TO "u";
    "#);
}

#[test]
fn rebuilds() {
    assert_snapshot!(
        "rebuild_alter_column",
        render(
            r#"AlterColumn(table: "users", name: "bio", type: String(500), nullable: false, default: Str(""))"#
        )
    );
    assert_snapshot!(
        "rebuild_add_column_unique",
        render(
            r#"AddColumn(table: "users", column: Column(name: "handle", type: String(30), unique: true))"#
        )
    );
    assert_snapshot!(
        "rebuild_add_column_now",
        render(
            r#"AddColumn(table: "posts", column: Column(name: "created", type: DateTime, nullable: false, default: Now))"#
        )
    );
    assert_snapshot!(
        "rebuild_drop_indexed_column",
        render(r#"DropColumn(table: "users", name: "name")"#)
    );
    assert_snapshot!(
        "rebuild_drop_fk_column",
        render(r#"DropColumn(table: "posts", name: "user_id")"#)
    );
    assert_snapshot!(
        "rebuild_add_foreign_key",
        render(
            r#"AddForeignKey(table: "posts", foreign_key: ForeignKey(name: "fk_posts_self", columns: ["score"], ref_table: "posts", ref_columns: ["id"], on_delete: SetNull))"#
        )
    );
    assert_snapshot!(
        "rebuild_add_unique",
        render(
            r#"AddUnique(table: "users", unique: Unique(name: "uq_users_name_bio", columns: ["name", "bio"]))"#
        )
    );
    assert_snapshot!(
        "rebuild_add_check",
        render(
            r#"AddCheck(table: "users", check: Check(name: "ck_users_email", expr: "email LIKE '%@%'"))"#
        )
    );
    assert_snapshot!(
        "rebuild_drop_constraint",
        render(r#"DropConstraint(table: "posts", name: "fk_posts_user")"#)
    );
}

#[test]
fn version_and_history_tables() {
    let statements: Vec<String> = Sqlite
        .create_version_table(None, "alembic_version")
        .into_iter()
        .chain(Sqlite.create_history_table(Some("main"), "rev_history"))
        .map(|s| s.sql)
        .collect();
    assert_snapshot!(statements.join(";\n"), @r#"
    CREATE TABLE IF NOT EXISTS "alembic_version" (
        "version_num" VARCHAR(32) NOT NULL,
        CONSTRAINT "alembic_version_pkc" PRIMARY KEY ("version_num")
    );
    CREATE TABLE IF NOT EXISTS "main"."rev_history" (
        "id" INTEGER PRIMARY KEY AUTOINCREMENT,
        "revision" VARCHAR(32) NOT NULL,
        "direction" VARCHAR(16) NOT NULL,
        "checksum" VARCHAR(128) NOT NULL,
        "started_at" TEXT NOT NULL,
        "duration_ms" INTEGER NOT NULL,
        "applied_by" VARCHAR(255) NOT NULL
    )
    "#);
}

fn steps() -> Vec<Step> {
    let schema = Schema::default();
    let create = &parse_ops(
        r#"[CreateTable(name: "users", columns: [Column(name: "id", type: Integer, primary_key: true)])]"#,
    )[0];
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        Step {
            revision: "a1".into(),
            direction: Direction::Upgrade,
            statements: Sqlite.render_op(create, &schema).unwrap(),
            delete_versions: vec![],
            insert_versions: ids(&["a1"]),
            checksum: "sha256:0a".into(),
            transactional: true,
        },
        Step {
            revision: "b2".into(),
            direction: Direction::Upgrade,
            statements: vec![
                Statement::new("CREATE VIEW v AS SELECT 1"),
                Statement {
                    sql: "CREATE TRIGGER x".into(),
                    own_batch: true,
                },
            ],
            delete_versions: ids(&["a1"]),
            insert_versions: ids(&["b2"]),
            checksum: "sha256:0b".into(),
            transactional: false,
        },
        Step {
            revision: "merge_o'k".into(),
            direction: Direction::Upgrade,
            statements: vec![],
            delete_versions: ids(&["b2", "c3"]),
            insert_versions: ids(&["merge_o'k"]),
            checksum: "sha256:0c".into(),
            transactional: true,
        },
        Step {
            revision: "merge_o'k".into(),
            direction: Direction::Downgrade,
            statements: vec![],
            delete_versions: ids(&["merge_o'k"]),
            insert_versions: ids(&["b2", "c3"]),
            checksum: "sha256:0c".into(),
            transactional: true,
        },
    ]
}

#[test]
fn offline_script_sqlite() {
    let tables = VersionTables::default();
    assert_snapshot!(
        "offline_script_sqlite",
        offline_script(&Sqlite, &tables, &steps())
    );
}

/// SQLite with SQL Server's batches, to show where `GO` goes.
struct Batched;

impl Dialect for Batched {
    fn kind(&self) -> rev_sql::DialectKind {
        rev_sql::DialectKind::Mssql
    }
    fn quote_ident(&self, ident: &str) -> String {
        Sqlite.quote_ident(ident)
    }
    fn render_op(
        &self,
        op: &Operation,
        before: &Schema,
    ) -> Result<Vec<Statement>, rev_sql::RenderError> {
        Sqlite.render_op(op, before)
    }
    fn placeholder(&self, index: usize) -> String {
        Sqlite.placeholder(index)
    }
    fn history_types(&self) -> rev_sql::HistoryTypes {
        Sqlite.history_types()
    }
    fn script_preamble(&self) -> Vec<Statement> {
        vec![Statement::new("SET XACT_ABORT ON")]
    }
    fn batch_separator(&self) -> Option<&'static str> {
        Some("GO")
    }
}

#[test]
fn offline_script_with_batches() {
    let tables = VersionTables {
        schema: Some("dbo".into()),
        ..VersionTables::default()
    };
    assert_snapshot!(
        "offline_script_batches",
        offline_script(&Batched, &tables, &steps()[..2])
    );
}

#[test]
fn dialect_lookup() {
    use rev_sql::DialectKind::*;
    for kind in [Sqlite, Mssql, Postgres, Mysql] {
        assert_eq!(rev_sql::dialect(kind).kind(), kind);
        assert_eq!(kind.name().parse::<rev_sql::DialectKind>().unwrap(), kind);
    }
}

#[test]
fn render_migration_folds_as_it_goes() {
    let mut schema = base();
    let ops = parse_ops(
        r#"[
        AddColumn(table: "users", column: Column(name: "age", type: Integer)),
        CreateIndex(name: "ix_users_age", table: "users", columns: ["age"]),
    ]"#,
    );
    let statements = rev_sql::render_migration(&Sqlite, &ops, &mut schema).unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(schema.table(None, "users").unwrap().indexes.len(), 2);
    let ops = parse_ops(
        r#"[DropIndex(name: "ix_users_age", table: "users"), DropColumn(table: "users", name: "ghost")]"#,
    );
    let err = rev_sql::render_migration(&Sqlite, &ops, &mut schema).unwrap_err();
    assert_snapshot!(err.to_string(), @"operation 2 (DropColumn): column `ghost` does not exist in `users`");
}
