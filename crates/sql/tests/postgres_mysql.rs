//! Snapshot tests of the PostgreSQL and MySQL dialects: every operation of
//! DESIGN.md §2, the version tables, quoting and the errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_schema::{
    Check, Column, ColumnType, Default as ColumnDefault, ForeignKey, OnDelete, Operation, Schema,
    SqlPerDialect, Table, TableName, Unique,
};
use rev_sql::mysql::Mysql;
use rev_sql::postgres::Postgres;
use rev_sql::{Dialect, RenderError};

fn col(name: &str, ty: ColumnType) -> Column {
    Column {
        name: name.to_owned(),
        ty,
        nullable: None,
        primary_key: false,
        identity: false,
        unique: false,
        default: None,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Returns every column type once, with every kind of default.
fn every_column() -> Vec<Column> {
    vec![
        Column {
            primary_key: true,
            identity: true,
            ..col("id", ColumnType::Integer)
        },
        col("big", ColumnType::BigInt),
        Column {
            default: Some(ColumnDefault::Int(-3)),
            ..col("small", ColumnType::SmallInt)
        },
        Column {
            nullable: Some(false),
            default: Some(ColumnDefault::Bool(true)),
            ..col("active", ColumnType::Boolean)
        },
        Column {
            nullable: Some(false),
            unique: true,
            ..col("email", ColumnType::String(255))
        },
        Column {
            default: Some(ColumnDefault::Str("it's a \\ test".to_owned())),
            ..col("name", ColumnType::String(40))
        },
        col("bio", ColumnType::Text),
        Column {
            default: Some(ColumnDefault::Float(0.5)),
            ..col("price", ColumnType::Decimal(10, 2))
        },
        Column {
            default: Some(ColumnDefault::Float(1.0)),
            ..col("ratio", ColumnType::Float)
        },
        col("born", ColumnType::Date),
        col("wakes", ColumnType::Time),
        Column {
            default: Some(ColumnDefault::Now),
            ..col("created_at", ColumnType::DateTime)
        },
        Column {
            default: Some(ColumnDefault::Now),
            ..col("seen_at", ColumnType::DateTimeTz)
        },
        Column {
            default: Some(ColumnDefault::NewUuid),
            ..col("token", ColumnType::Uuid)
        },
        col("hash", ColumnType::Binary(32)),
        col("photo", ColumnType::Blob),
        col("prefs", ColumnType::Json),
        Column {
            default: Some(ColumnDefault::Expr("'x'".to_owned())),
            ..col("custom", ColumnType::Custom("CHAR(1)".to_owned()))
        },
    ]
}

/// Returns one of each operation, in an order that would run.
fn every_operation() -> Vec<Operation> {
    vec![
        Operation::CreateTable {
            name: "users".to_owned(),
            columns: every_column(),
            foreign_keys: vec![],
            uniques: vec![Unique {
                name: "uq_users_name_born".to_owned(),
                columns: strings(&["name", "born"]),
            }],
            checks: vec![Check {
                name: "ck_users_small".to_owned(),
                expr: "small > -10".to_owned(),
            }],
            schema: None,
        },
        Operation::CreateTable {
            name: "posts".to_owned(),
            columns: vec![
                Column {
                    primary_key: true,
                    ..col("user_id", ColumnType::Integer)
                },
                Column {
                    primary_key: true,
                    ..col("seq", ColumnType::Integer)
                },
                col("title", ColumnType::String(100)),
            ],
            foreign_keys: vec![ForeignKey {
                name: "fk_posts_user".to_owned(),
                columns: strings(&["user_id"]),
                ref_table: "users".to_owned(),
                ref_columns: strings(&["id"]),
                on_delete: Some(OnDelete::Cascade),
            }],
            uniques: vec![],
            checks: vec![],
            schema: Some("app".to_owned()),
        },
        Operation::AddColumn {
            table: "users".to_owned(),
            column: Column {
                nullable: Some(false),
                default: Some(ColumnDefault::Int(0)),
                ..col("score", ColumnType::Integer)
            },
            schema: None,
        },
        Operation::AlterColumn {
            table: "users".to_owned(),
            name: "score".to_owned(),
            ty: Some(ColumnType::BigInt),
            nullable: Some(true),
            default: None,
            drop_default: true,
            schema: None,
        },
        Operation::AlterColumn {
            table: "users".to_owned(),
            name: "name".to_owned(),
            ty: None,
            nullable: Some(false),
            default: Some(ColumnDefault::Str("anon".to_owned())),
            drop_default: false,
            schema: None,
        },
        Operation::RenameColumn {
            table: "users".to_owned(),
            name: "bio".to_owned(),
            new_name: "about".to_owned(),
            schema: None,
        },
        Operation::CreateIndex {
            name: "ix_users_born".to_owned(),
            table: "users".to_owned(),
            columns: strings(&["born", "wakes"]),
            unique: false,
            schema: None,
        },
        Operation::CreateIndex {
            name: "ux_posts_title".to_owned(),
            table: "posts".to_owned(),
            columns: strings(&["title"]),
            unique: true,
            schema: Some("app".to_owned()),
        },
        Operation::DropIndex {
            name: "ux_posts_title".to_owned(),
            table: "posts".to_owned(),
            schema: Some("app".to_owned()),
        },
        Operation::AddForeignKey {
            table: "posts".to_owned(),
            foreign_key: ForeignKey {
                name: "fk_posts_user2".to_owned(),
                columns: strings(&["user_id"]),
                ref_table: "users".to_owned(),
                ref_columns: strings(&["id"]),
                on_delete: Some(OnDelete::SetNull),
            },
            schema: None,
        },
        Operation::AddUnique {
            table: "users".to_owned(),
            unique: Unique {
                name: "uq_users_token".to_owned(),
                columns: strings(&["token"]),
            },
            schema: None,
        },
        Operation::AddCheck {
            table: "users".to_owned(),
            check: Check {
                name: "ck_users_score".to_owned(),
                expr: "score >= 0".to_owned(),
            },
            schema: None,
        },
        Operation::DropConstraint {
            table: "posts".to_owned(),
            name: "fk_posts_user2".to_owned(),
            schema: None,
        },
        Operation::DropConstraint {
            table: "users".to_owned(),
            name: "uq_users_token".to_owned(),
            schema: None,
        },
        Operation::DropConstraint {
            table: "users".to_owned(),
            name: "ck_users_score".to_owned(),
            schema: None,
        },
        Operation::DropColumn {
            table: "users".to_owned(),
            name: "about".to_owned(),
            schema: None,
        },
        Operation::RenameTable {
            name: "posts".to_owned(),
            new_name: "articles".to_owned(),
            schema: Some("app".to_owned()),
        },
        Operation::DropTable {
            name: "articles".to_owned(),
            schema: Some("app".to_owned()),
        },
        Operation::Sql("UPDATE users SET small = 1;  \n".to_owned()),
        Operation::SqlFor(SqlPerDialect {
            postgres: Some("VACUUM users".to_owned()),
            mysql: Some("OPTIMIZE TABLE users".to_owned()),
            ..SqlPerDialect::default()
        }),
    ]
}

/// Returns the schema each operation of [`every_operation`] runs against, as far
/// as the dialects look at it (MySQL's MODIFY COLUMN and DROP CONSTRAINT).
fn schema_before() -> Schema {
    let mut users_columns = every_column();
    users_columns.push(Column {
        nullable: Some(false),
        default: Some(ColumnDefault::Int(0)),
        ..col("score", ColumnType::Integer)
    });
    let users = Table {
        name: "users".to_owned(),
        schema: None,
        columns: users_columns,
        indexes: vec![],
        foreign_keys: vec![],
        uniques: vec![Unique {
            name: "uq_users_token".to_owned(),
            columns: strings(&["token"]),
        }],
        checks: vec![Check {
            name: "ck_users_score".to_owned(),
            expr: "score >= 0".to_owned(),
        }],
    };
    let posts = Table {
        name: "posts".to_owned(),
        schema: None,
        columns: vec![col("user_id", ColumnType::Integer)],
        indexes: vec![],
        foreign_keys: vec![ForeignKey {
            name: "fk_posts_user2".to_owned(),
            columns: strings(&["user_id"]),
            ref_table: "users".to_owned(),
            ref_columns: strings(&["id"]),
            on_delete: None,
        }],
        uniques: vec![],
        checks: vec![],
    };
    let mut schema = Schema::default();
    schema.tables.insert(TableName::new(None, "users"), users);
    schema.tables.insert(TableName::new(None, "posts"), posts);
    schema
}

/// Renders every operation, each under a comment naming it.
fn render_all(dialect: &dyn Dialect) -> String {
    let before = schema_before();
    let mut out = String::new();
    for op in every_operation() {
        out.push_str(&format!("-- {}\n", op.kind()));
        for statement in dialect.render_op(&op, &before).unwrap() {
            out.push_str(&statement.sql);
            out.push_str(";\n");
        }
    }
    out
}

fn render_one(dialect: &dyn Dialect, op: &Operation) -> Result<String, RenderError> {
    let statements = dialect.render_op(op, &schema_before())?;
    Ok(statements
        .iter()
        .map(|s| s.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n"))
}

#[test]
fn postgres_renders_every_operation() {
    insta::assert_snapshot!(render_all(&Postgres));
}

#[test]
fn mysql_renders_every_operation() {
    insta::assert_snapshot!(render_all(&Mysql));
}

#[test]
fn postgres_version_tables() {
    let d = Postgres;
    let mut out = String::new();
    for s in d
        .create_version_table(None, "rev_version")
        .into_iter()
        .chain(d.create_history_table(Some("ops"), "rev_history"))
    {
        out.push_str(&s.sql);
        out.push_str(";\n");
    }
    insta::assert_snapshot!(out, @r#"
    CREATE TABLE IF NOT EXISTS "rev_version" (
        "version_num" VARCHAR(32) NOT NULL,
        CONSTRAINT "rev_version_pkc" PRIMARY KEY ("version_num")
    );
    CREATE TABLE IF NOT EXISTS "ops"."rev_history" (
        "id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        "revision" VARCHAR(32) NOT NULL,
        "direction" VARCHAR(16) NOT NULL,
        "checksum" VARCHAR(128) NOT NULL,
        "started_at" TIMESTAMPTZ NOT NULL,
        "duration_ms" BIGINT NOT NULL,
        "applied_by" VARCHAR(128) NOT NULL
    );
    "#);
}

#[test]
fn mysql_version_tables() {
    let d = Mysql;
    let mut out = String::new();
    for s in d
        .create_version_table(None, "alembic_version")
        .into_iter()
        .chain(d.create_history_table(None, "rev_history"))
    {
        out.push_str(&s.sql);
        out.push_str(";\n");
    }
    insta::assert_snapshot!(out, @r#"
    CREATE TABLE IF NOT EXISTS `alembic_version` (
        `version_num` VARCHAR(32) NOT NULL,
        CONSTRAINT `alembic_version_pkc` PRIMARY KEY (`version_num`)
    );
    CREATE TABLE IF NOT EXISTS `rev_history` (
        `id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        `revision` VARCHAR(32) NOT NULL,
        `direction` VARCHAR(16) NOT NULL,
        `checksum` VARCHAR(128) NOT NULL,
        `started_at` DATETIME(6) NOT NULL,
        `duration_ms` BIGINT NOT NULL,
        `applied_by` VARCHAR(128) NOT NULL
    );
    "#);
}

#[test]
fn identifiers_are_quoted_with_their_quote_doubled() {
    assert_eq!(Postgres.quote_ident(r#"we"ird"#), r#""we""ird""#);
    assert_eq!(Mysql.quote_ident("we`ird"), "`we``ird`");
    assert_eq!(
        Postgres.qualified(Some("s\""), "t"),
        r#""s""".."t""#.replace("..", ".")
    );
    assert_eq!(Mysql.qualified(Some("db"), "t`"), "`db`.`t```");
}

#[test]
fn string_literals_escape_quotes_and_mysql_backslashes() {
    assert_eq!(Postgres.string_literal(r"it's \n"), r"'it''s \n'");
    assert_eq!(Mysql.string_literal(r"it's \n"), r"'it''s \\n'");
}

#[test]
fn placeholders_and_transactional_ddl() {
    assert_eq!(Postgres.placeholder(1), "$1");
    assert_eq!(Postgres.placeholder(12), "$12");
    assert_eq!(Mysql.placeholder(3), "?");
    assert!(Postgres.transactional_ddl());
    assert!(!Mysql.transactional_ddl());
}

#[test]
fn sql_for_without_text_for_the_dialect_is_an_error() {
    let op = Operation::SqlFor(SqlPerDialect {
        mssql: Some("SELECT 1".to_owned()),
        ..SqlPerDialect::default()
    });
    let pg = render_one(&Postgres, &op).unwrap_err();
    let my = render_one(&Mysql, &op).unwrap_err();
    insta::assert_snapshot!(format!("{pg}\n{my}"), @r#"
    SqlFor has no text for postgres
    SqlFor has no text for mysql
    "#);
}

#[test]
fn mysql_alter_column_of_an_unknown_column_is_an_error() {
    let op = Operation::AlterColumn {
        table: "users".to_owned(),
        name: "nope".to_owned(),
        ty: Some(ColumnType::Text),
        nullable: None,
        default: None,
        drop_default: false,
        schema: None,
    };
    let err = render_one(&Mysql, &op).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot alter column `nope` of table `users`: the migrations before it do not define that column, and MySQL's MODIFY COLUMN must restate its whole definition");
    // PostgreSQL names only what changes, so it needs no folded schema.
    insta::assert_snapshot!(render_one(&Postgres, &op).unwrap(), @r#"
    ALTER TABLE "users" ALTER COLUMN "nope" TYPE TEXT
    "#);
}

#[test]
fn mysql_alter_column_keeps_identity_and_leaves_keys_alone() {
    let op = Operation::AlterColumn {
        table: "users".to_owned(),
        name: "id".to_owned(),
        ty: Some(ColumnType::BigInt),
        nullable: None,
        default: None,
        drop_default: false,
        schema: None,
    };
    insta::assert_snapshot!(render_one(&Mysql, &op).unwrap(), @"ALTER TABLE `users` MODIFY COLUMN `id` BIGINT NOT NULL AUTO_INCREMENT");
}

#[test]
fn mysql_drop_constraint_unknown_to_the_schema_uses_drop_constraint() {
    let op = Operation::DropConstraint {
        table: "elsewhere".to_owned(),
        name: "ck_raw".to_owned(),
        schema: None,
    };
    insta::assert_snapshot!(render_one(&Mysql, &op).unwrap(), @"ALTER TABLE `elsewhere` DROP CONSTRAINT `ck_raw`");
}

#[test]
fn alter_column_without_changes_renders_nothing() {
    let op = Operation::AlterColumn {
        table: "users".to_owned(),
        name: "name".to_owned(),
        ty: None,
        nullable: None,
        default: None,
        drop_default: false,
        schema: None,
    };
    assert_eq!(render_one(&Postgres, &op).unwrap(), "");
    assert_eq!(render_one(&Mysql, &op).unwrap(), "");
}

#[test]
fn non_finite_float_defaults() {
    let op = Operation::AddColumn {
        table: "t".to_owned(),
        column: Column {
            default: Some(ColumnDefault::Float(f64::INFINITY)),
            ..col("x", ColumnType::Float)
        },
        schema: None,
    };
    insta::assert_snapshot!(render_one(&Postgres, &op).unwrap(), @r#"
    ALTER TABLE "t" ADD COLUMN "x" DOUBLE PRECISION DEFAULT 'Infinity'
    "#);
    insta::assert_snapshot!(render_one(&Mysql, &op).unwrap_err().to_string(), @"mysql cannot store the non-finite default inf (it has no NaN or infinity)");
}
