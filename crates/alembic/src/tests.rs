//! The translation of each construct, and an import written and loaded back.

use std::fs;

use rev_schema::{
    Check, Column, ColumnType, Default, ForeignKey, OnDelete, Operation, SqlPerDialect, Unique,
};

use crate::translate::translate;

const HEADER: &str = "\"\"\"add things\n\nRevision ID: a1\nRevises:\nCreate Date: 2024-03-05 10:11:12.345678\n\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\nimport textwrap\nfrom sqlalchemy.dialects import postgresql, mssql\n\nrevision = \"a1\"\ndown_revision = None\n";

/// Returns the upgrade of a file whose upgrade() body is `body`.
fn up(body: &str) -> Vec<Operation> {
    let text = format!(
        "{HEADER}\ndef upgrade():\n{}\n\ndef downgrade():\n    pass\n",
        indent(body)
    );
    let t = translate(&text, "versions/a1_x.py").unwrap();
    t.migration.upgrade
}

fn indent(body: &str) -> String {
    body.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn col(name: &str, ty: ColumnType) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable: None,
        primary_key: false,
        identity: false,
        unique: false,
        default: None,
    }
}

fn untranslated(ops: &[Operation]) -> Vec<(String, String)> {
    ops.iter()
        .filter_map(|op| match op {
            Operation::Untranslated { origin, reason, .. } => {
                Some((origin.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn revision_fields() {
    let text = "\"\"\"merge the two heads\n\nRevision ID: m1\nRevises: b2, a1\nCreate Date: 2024-03-05 10:11:12.345678+00:00\n\"\"\"\nfrom typing import Sequence, Union\n\nrevision: str = 'm1'\ndown_revision: Union[str, Sequence[str], None] = ('b2', 'a1')\nbranch_labels = ('feature',)\ndepends_on = 'c3'\n\ndef upgrade() -> None:\n    pass\n\ndef downgrade() -> None:\n    pass\n";
    let t = translate(text, "versions/m1.py").unwrap();
    let m = t.migration;
    assert_eq!(m.id, "m1");
    assert_eq!(m.parents, ["b2", "a1"], "the declared order is kept");
    assert_eq!(m.branch_labels, ["feature"]);
    assert_eq!(m.depends_on, ["c3"]);
    assert_eq!(m.message, "merge the two heads");
    assert_eq!(m.created.as_deref(), Some("2024-03-05T10:11:12Z"));
    assert!(m.upgrade.is_empty());
    assert_eq!(m.downgrade, Some(vec![]), "an empty body is an empty list");
    assert!(t.items.is_empty());
}

#[test]
fn module_constants_and_unknown_labels() {
    let text = "from alembic import op\nfrom app import cli\nPREV = 'a0'\nrevision = 'b1'\ndown_revision = PREV\nbranch_labels = (cli.EXPAND_BRANCH,)\nTABLE = 'users'\n\ndef upgrade():\n    op.drop_table(TABLE)\n\ndef downgrade():\n    pass\n";
    let t = translate(text, "versions/b1.py").unwrap();
    assert_eq!(t.migration.parents, ["a0"]);
    assert!(t.migration.branch_labels.is_empty());
    assert_eq!(t.items.len(), 1);
    assert_eq!(t.items[0].direction, "metadata");
    assert_eq!(t.items[0].line, 6);
    assert_eq!(t.items[0].source, "branch_labels = (cli.EXPAND_BRANCH,)");
    // The marker runs first, then the translated body.
    assert!(
        matches!(&t.migration.upgrade[0], Operation::Untranslated { origin, .. } if origin == "versions/b1.py:6")
    );
    assert_eq!(
        t.migration.upgrade[1],
        Operation::DropTable {
            name: "users".into(),
            schema: None
        }
    );
}

#[test]
fn a_file_without_revision_is_an_error() {
    let err = translate("x = 1\n", "versions/x.py").unwrap_err();
    assert!(err.contains("revision"), "{err}");
    let err = translate("def (:\n", "versions/x.py").unwrap_err();
    assert!(err.starts_with("line 1"), "{err}");
}

#[test]
fn create_table_with_columns_and_constraints() {
    let ops = up(r#"op.create_table(
    "orders",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code", sa.String(length=20), nullable=False, unique=True),
    sa.Column("total", sa.Numeric(10, 2), server_default="0"),
    sa.Column("note", sa.Text()),
    sa.Column("placed", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("paid", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("ref", sa.String(40), index=True),
    sa.PrimaryKeyConstraint("id", name="pk_orders"),
    sa.ForeignKeyConstraint(["ref"], ["refs.code"], name="fk_orders_ref"),
    sa.UniqueConstraint("user_id", "code"),
    sa.CheckConstraint("total >= 0", name="ck_total"),
    sa.CheckConstraint("paid IN (0, 1)"),
    schema=None,
    mysql_engine="InnoDB",
)"#);
    let mut id = col("id", ColumnType::Integer);
    id.primary_key = true;
    id.identity = true;
    let mut user_id = col("user_id", ColumnType::Integer);
    user_id.nullable = Some(false);
    let mut code = col("code", ColumnType::String(20));
    code.nullable = Some(false);
    code.unique = true;
    let mut total = col("total", ColumnType::Decimal(10, 2));
    total.default = Some(Default::Str("0".into()));
    let mut placed = col("placed", ColumnType::DateTimeTz);
    placed.default = Some(Default::Now);
    let mut paid = col("paid", ColumnType::Boolean);
    paid.default = Some(Default::Bool(false));
    paid.nullable = Some(false);
    assert_eq!(
        ops,
        vec![
            Operation::CreateTable {
                name: "orders".into(),
                columns: vec![
                    id,
                    user_id,
                    code,
                    total,
                    col("note", ColumnType::Text),
                    placed,
                    paid,
                    col("ref", ColumnType::String(40)),
                ],
                foreign_keys: vec![
                    ForeignKey {
                        name: "orders_user_id_fkey".into(),
                        columns: vec!["user_id".into()],
                        ref_table: "users".into(),
                        ref_columns: vec!["id".into()],
                        on_delete: Some(OnDelete::Cascade),
                    },
                    ForeignKey {
                        name: "fk_orders_ref".into(),
                        columns: vec!["ref".into()],
                        ref_table: "refs".into(),
                        ref_columns: vec!["code".into()],
                        on_delete: None,
                    },
                ],
                uniques: vec![Unique {
                    name: "orders_user_id_code_key".into(),
                    columns: vec!["user_id".into(), "code".into()],
                }],
                checks: vec![
                    Check {
                        name: "ck_total".into(),
                        expr: "total >= 0".into()
                    },
                    Check {
                        name: "orders_paid_check".into(),
                        expr: "paid IN (0, 1)".into()
                    },
                ],
                schema: None,
            },
            Operation::CreateIndex {
                name: "ix_orders_ref".into(),
                table: "orders".into(),
                columns: vec!["ref".into()],
                unique: false,
                schema: None,
            },
        ]
    );
}

#[test]
fn identity_follows_sqlalchemy_autoincrement() {
    let table = |cols: &str| match &up(&format!("op.create_table(\"t\", {cols})"))[0] {
        Operation::CreateTable { columns, .. } => columns
            .iter()
            .map(|c| (c.name.clone(), c.identity))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        table("sa.Column(\"id\", sa.Integer, primary_key=True)"),
        [("id".to_owned(), true)]
    );
    assert_eq!(
        table("sa.Column(\"id\", sa.Integer, primary_key=True, autoincrement=False)"),
        [("id".to_owned(), false)]
    );
    assert_eq!(
        table("sa.Column(\"id\", sa.String(8), primary_key=True)"),
        [("id".to_owned(), false)]
    );
    assert_eq!(
        table("sa.Column(\"a\", sa.Integer), sa.Column(\"b\", sa.Integer), sa.PrimaryKeyConstraint(\"a\", \"b\")"),
        [("a".to_owned(), false), ("b".to_owned(), false)]
    );
    assert_eq!(
        table("sa.Column(\"id\", sa.BigInteger, sa.Identity(), primary_key=True)"),
        [("id".to_owned(), true)]
    );
}

#[test]
fn column_changes() {
    let ops = up(
        r#"op.add_column("users", sa.Column("age", sa.SmallInteger(), nullable=True))
op.add_column("users", sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), index=True))
op.drop_column("users", "legacy")
op.alter_column("users", "name", existing_type=sa.String(50), type_=sa.String(100), nullable=False)
op.alter_column("users", "age", server_default=None, existing_nullable=True)
op.alter_column("users", "flag", server_default=sa.text("1"))
op.alter_column("users", "email", new_column_name="mail", existing_type=sa.String(255))
op.alter_column("users", "x", existing_type=sa.Integer)"#,
    );
    let u = |s: &str| s.to_owned();
    assert_eq!(
        ops,
        vec![
            Operation::AddColumn {
                table: u("users"),
                column: col("age", ColumnType::SmallInt),
                schema: None
            },
            Operation::AddColumn {
                table: u("users"),
                column: col("team_id", ColumnType::Integer),
                schema: None
            },
            Operation::AddForeignKey {
                table: u("users"),
                foreign_key: ForeignKey {
                    name: u("users_team_id_fkey"),
                    columns: vec![u("team_id")],
                    ref_table: u("teams"),
                    ref_columns: vec![u("id")],
                    on_delete: None
                },
                schema: None
            },
            Operation::CreateIndex {
                name: u("ix_users_team_id"),
                table: u("users"),
                columns: vec![u("team_id")],
                unique: false,
                schema: None
            },
            Operation::DropColumn {
                table: u("users"),
                name: u("legacy"),
                schema: None
            },
            Operation::AlterColumn {
                table: u("users"),
                name: u("name"),
                ty: Some(ColumnType::String(100)),
                nullable: Some(false),
                default: None,
                drop_default: false,
                schema: None
            },
            Operation::AlterColumn {
                table: u("users"),
                name: u("age"),
                ty: None,
                nullable: None,
                default: None,
                drop_default: true,
                schema: None
            },
            Operation::AlterColumn {
                table: u("users"),
                name: u("flag"),
                ty: None,
                nullable: None,
                default: Some(Default::Int(1)),
                drop_default: false,
                schema: None
            },
            Operation::RenameColumn {
                table: u("users"),
                name: u("email"),
                new_name: u("mail"),
                schema: None
            },
        ]
    );
}

#[test]
fn indexes_and_constraints() {
    let ops = up(
        r#"op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
op.create_index("ix_two", "users", ["a", "b"], schema="app")
op.drop_index(op.f("ix_users_email"), table_name="users")
op.create_foreign_key("fk_posts_user", "posts", "users", ["user_id"], ["id"], ondelete="SET NULL")
op.create_foreign_key(None, "posts", "users", ["editor_id"], ["id"])
op.create_unique_constraint("uq_users_name", "users", ["name"])
op.create_check_constraint("ck_age", "users", "age >= 0")
op.drop_constraint("fk_posts_user", "posts", type_="foreignkey")
op.rename_table("posts", "articles")
op.drop_table("old", schema="app")"#,
    );
    let u = |s: &str| s.to_owned();
    assert_eq!(
        ops,
        vec![
            Operation::CreateIndex {
                name: u("ix_users_email"),
                table: u("users"),
                columns: vec![u("email")],
                unique: true,
                schema: None
            },
            Operation::CreateIndex {
                name: u("ix_two"),
                table: u("users"),
                columns: vec![u("a"), u("b")],
                unique: false,
                schema: Some(u("app"))
            },
            Operation::DropIndex {
                name: u("ix_users_email"),
                table: u("users"),
                schema: None
            },
            Operation::AddForeignKey {
                table: u("posts"),
                foreign_key: ForeignKey {
                    name: u("fk_posts_user"),
                    columns: vec![u("user_id")],
                    ref_table: u("users"),
                    ref_columns: vec![u("id")],
                    on_delete: Some(OnDelete::SetNull)
                },
                schema: None
            },
            Operation::AddForeignKey {
                table: u("posts"),
                foreign_key: ForeignKey {
                    name: u("posts_editor_id_fkey"),
                    columns: vec![u("editor_id")],
                    ref_table: u("users"),
                    ref_columns: vec![u("id")],
                    on_delete: None
                },
                schema: None
            },
            Operation::AddUnique {
                table: u("users"),
                unique: Unique {
                    name: u("uq_users_name"),
                    columns: vec![u("name")]
                },
                schema: None
            },
            Operation::AddCheck {
                table: u("users"),
                check: Check {
                    name: u("ck_age"),
                    expr: u("age >= 0")
                },
                schema: None
            },
            Operation::DropConstraint {
                table: u("posts"),
                name: u("fk_posts_user"),
                schema: None
            },
            Operation::RenameTable {
                name: u("posts"),
                new_name: u("articles"),
                schema: None
            },
            Operation::DropTable {
                name: u("old"),
                schema: Some(u("app"))
            },
        ]
    );
}

#[test]
fn sql_and_bulk_insert() {
    let ops = up(r#"op.execute("UPDATE users SET active = 1")
op.execute(sa.text("UPDATE users SET t = '10\:30'"))
op.execute(textwrap.dedent("""
    DELETE FROM users
    WHERE id = 0
"""))
roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String))
op.bulk_insert(roles, [{"id": 1, "name": "admin"}, {"id": 2, "name": "user"}])
op.bulk_insert(sa.table("flags", sa.column("on", sa.Boolean)), [{"on": True}])
conn = op.get_bind()
conn.execute(sa.text("DELETE FROM sessions"))
op.get_bind().exec_driver_sql("VACUUM")"#);
    assert_eq!(
        ops,
        vec![
            Operation::Sql("UPDATE users SET active = 1".into()),
            Operation::Sql("UPDATE users SET t = '10:30'".into()),
            Operation::Sql("\nDELETE FROM users\nWHERE id = 0\n".into()),
            Operation::Sql("INSERT INTO roles (id, name) VALUES (1, 'admin'), (2, 'user')".into()),
            Operation::SqlFor(SqlPerDialect {
                mssql: Some("INSERT INTO [flags] ([on]) VALUES (1)".into()),
                postgres: Some("INSERT INTO \"flags\" (\"on\") VALUES (TRUE)".into()),
                sqlite: Some("INSERT INTO \"flags\" (\"on\") VALUES (1)".into()),
                mysql: Some("INSERT INTO `flags` (`on`) VALUES (TRUE)".into()),
            }),
            Operation::Sql("DELETE FROM sessions".into()),
            Operation::Sql("VACUUM".into()),
        ]
    );
}

#[test]
fn batch_alter_table_blocks() {
    let ops = up(
        r#"with op.batch_alter_table("users", schema=None, recreate="auto") as batch_op:
    batch_op.add_column(sa.Column("nick", sa.String(30), nullable=True))
    batch_op.alter_column("name", existing_type=sa.VARCHAR(length=50), nullable=False)
    batch_op.create_index(batch_op.f("ix_users_nick"), ["nick"], unique=False)
    batch_op.drop_index("ix_users_old")
    batch_op.create_foreign_key("fk_users_team", "teams", ["team_id"], ["id"])
    batch_op.create_unique_constraint("uq_nick", ["nick"])
    batch_op.create_check_constraint("ck_nick", "length(nick) > 1")
    batch_op.drop_constraint("uq_old", type_="unique")
    batch_op.drop_column("legacy")"#,
    );
    let kinds: Vec<&str> = ops.iter().map(Operation::kind).collect();
    assert_eq!(
        kinds,
        [
            "AddColumn",
            "AlterColumn",
            "CreateIndex",
            "DropIndex",
            "AddForeignKey",
            "AddUnique",
            "AddCheck",
            "DropConstraint",
            "DropColumn"
        ]
    );
    assert!(ops
        .iter()
        .all(|op| op.target_table() == Some((None, "users"))));
    assert_eq!(
        ops[2],
        Operation::CreateIndex {
            name: "ix_users_nick".into(),
            table: "users".into(),
            columns: vec!["nick".into()],
            unique: false,
            schema: None
        }
    );
}

#[test]
fn types() {
    let ty = |t: &str| match &up(&format!("op.add_column(\"t\", sa.Column(\"c\", {t}))"))[0] {
        Operation::AddColumn { column, .. } => column.ty.clone(),
        other => panic!("{t}: {other:?}"),
    };
    let c = |s: &str| ColumnType::Custom(s.into());
    for (python, want) in [
        ("sa.Integer", ColumnType::Integer),
        ("sa.Integer()", ColumnType::Integer),
        ("sa.BigInteger()", ColumnType::BigInt),
        ("sa.SmallInteger()", ColumnType::SmallInt),
        ("sa.String(50)", ColumnType::String(50)),
        ("sa.String(length=50)", ColumnType::String(50)),
        ("sa.String()", ColumnType::Text),
        ("sa.Unicode(20)", ColumnType::String(20)),
        ("sa.VARCHAR(length=10)", ColumnType::String(10)),
        ("sa.Text()", ColumnType::Text),
        ("sa.UnicodeText()", ColumnType::Text),
        ("sa.Boolean()", ColumnType::Boolean),
        ("sa.Numeric(12, 4)", ColumnType::Decimal(12, 4)),
        (
            "sa.Numeric(precision=8, scale=2, asdecimal=False)",
            ColumnType::Decimal(8, 2),
        ),
        ("sa.Numeric()", c("NUMERIC")),
        ("sa.Float()", ColumnType::Float),
        ("sa.Float(precision=53)", ColumnType::Float),
        ("sa.Date()", ColumnType::Date),
        ("sa.Time()", ColumnType::Time),
        ("sa.DateTime()", ColumnType::DateTime),
        ("sa.DateTime(timezone=True)", ColumnType::DateTimeTz),
        ("sa.TIMESTAMP()", ColumnType::DateTime),
        ("sa.Uuid()", ColumnType::Uuid),
        ("sa.LargeBinary()", ColumnType::Blob),
        ("sa.JSON()", ColumnType::Json),
        ("sa.CHAR(3)", c("CHAR(3)")),
        ("postgresql.UUID(as_uuid=True)", ColumnType::Uuid),
        ("postgresql.JSONB(astext_type=sa.Text())", ColumnType::Json),
        (
            "postgresql.TIMESTAMP(timezone=True)",
            ColumnType::DateTimeTz,
        ),
        ("postgresql.INET()", c("INET")),
        ("postgresql.DOUBLE_PRECISION()", ColumnType::Float),
        ("mssql.NVARCHAR(length=255)", ColumnType::String(255)),
        ("mssql.NVARCHAR()", ColumnType::Text),
        ("mssql.VARCHAR(40)", c("VARCHAR(40)")),
        ("mssql.BIT()", ColumnType::Boolean),
        ("mssql.DATETIME2()", ColumnType::DateTime),
        ("mssql.DATETIME()", c("DATETIME")),
        ("mssql.DATETIMEOFFSET()", ColumnType::DateTimeTz),
        ("mssql.UNIQUEIDENTIFIER()", ColumnType::Uuid),
        ("mssql.TINYINT()", c("TINYINT")),
        ("sa.VARBINARY(16)", ColumnType::Binary(16)),
    ] {
        assert_eq!(ty(python), want, "{python}");
    }
    for refused in [
        "sa.Enum('a', 'b', name='kind')",
        "sa.Interval()",
        "myapp.types.GUID()",
        "sa.String(50, collation='C')",
    ] {
        let ops = up(&format!(
            "op.add_column(\"t\", sa.Column(\"c\", {refused}))"
        ));
        assert!(
            matches!(&ops[..], [Operation::Untranslated { .. }]),
            "{refused}: {ops:?}"
        );
    }
}

#[test]
fn server_defaults() {
    let default = |d: &str| match &up(&format!(
        "op.add_column(\"t\", sa.Column(\"c\", sa.Integer, server_default={d}))"
    ))[0]
    {
        Operation::AddColumn { column, .. } => column.default.clone(),
        other => panic!("{d}: {other:?}"),
    };
    assert_eq!(default("\"x\""), Some(Default::Str("x".into())));
    assert_eq!(default("sa.text(\"0\")"), Some(Default::Int(0)));
    assert_eq!(default("sa.text(\"now()\")"), Some(Default::Now));
    assert_eq!(default("sa.func.current_timestamp()"), Some(Default::Now));
    assert_eq!(default("sa.true()"), Some(Default::Bool(true)));
    assert_eq!(
        default("sa.text(\"uuid_generate_v4()\")"),
        Some(Default::Expr("uuid_generate_v4()".into()))
    );
    assert_eq!(default("sa.func.gen_random_uuid()"), Some(Default::NewUuid));
}

#[test]
fn what_does_not_translate_is_marked_with_its_source_and_line() {
    let text = format!(
        "{HEADER}\ndef _helper():\n    op.drop_table(\"h\")\n\ndef upgrade():\n    for t in (\"a\", \"b\"):\n        op.drop_table(t)\n    if op.get_context().dialect.name == \"postgresql\":\n        op.execute(\"SET x = 1\")\n    _helper()\n    conn = op.get_bind()\n    rows = conn.execute(sa.text(\"SELECT 1\")).fetchall()\n    op.create_primary_key(\"pk\", \"t\", [\"id\"])\n    op.add_column(\"t\", sa.Column(\"c\", sa.Integer, sa.Sequence(\"s\")))\n    op.create_index(\"ix_lower\", \"t\", [sa.text(\"lower(name)\")])\n    op.create_index(\"ix_p\", \"t\", [\"a\"], postgresql_where=sa.text(\"a > 0\"))\n    op.alter_column(\"t\", \"c\", type_=sa.Integer, postgresql_using=\"c::integer\")\n    op.drop_constraint(\"t_pkey\", \"t\", type_=\"primary\")\n\ndef downgrade():\n    pass\n"
    );
    let t = translate(&text, "versions/a1_x.py").unwrap();
    let found = untranslated(&t.migration.upgrade);
    let lines: Vec<&str> = found.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        lines,
        [
            "versions/a1_x.py:20",
            "versions/a1_x.py:22",
            "versions/a1_x.py:26",
            "versions/a1_x.py:27",
            "versions/a1_x.py:28",
            "versions/a1_x.py:29",
            "versions/a1_x.py:30",
            "versions/a1_x.py:31",
            "versions/a1_x.py:32",
        ]
    );
    assert_eq!(found[0].1, "a loop");
    assert_eq!(found[1].1, "a conditional");
    assert_eq!(t.items.len(), 9);
    assert_eq!(
        t.items[0].source,
        "for t in (\"a\", \"b\"):\n    op.drop_table(t)"
    );
    // The parameterless helper is translated in place.
    assert!(t.migration.upgrade.contains(&Operation::DropTable {
        name: "h".into(),
        schema: None
    }));
    // The connection bound by op.get_bind() is understood; its result is not.
    assert!(found[2].1.contains("conn.execute"), "{}", found[2].1);
}

#[test]
fn notes_for_details_left_out() {
    let text = format!(
        "{HEADER}\ndef upgrade():\n    op.create_table(\"t\", sa.Column(\"id\", sa.Integer, primary_key=True, comment=\"key\"), sa.Column(\"n\", sa.String(5), default=\"x\"), mysql_engine=\"InnoDB\", comment=\"things\")\n\ndef downgrade():\n    op.drop_table(\"t\")\n"
    );
    let t = translate(&text, "versions/a1_x.py").unwrap();
    assert!(t.items.is_empty(), "{:?}", t.items);
    let messages: Vec<&str> = t.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(t.notes.iter().all(|n| n.line == 17), "{:?}", t.notes);
    assert_eq!(
        t.migration.downgrade,
        Some(vec![Operation::DropTable {
            name: "t".into(),
            schema: None
        }])
    );
}

/// Writes an Alembic project into `dir`.
fn alembic_project(dir: &std::path::Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir.join("migrations/versions")).unwrap();
    fs::write(
        dir.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://u:secret@localhost/app\n",
    )
    .unwrap();
    for (name, text) in files {
        fs::write(dir.join("migrations/versions").join(name), text).unwrap();
    }
}

#[test]
fn an_import_is_written_and_loads_back_with_both_readers() {
    let src = tempfile::tempdir().unwrap();
    alembic_project(
        src.path(),
        &[
            ("a1_create.py", "\"\"\"create users\n\nCreate Date: 2024-01-01 00:00:00\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), sa.Column('email', sa.String(255)))\n    op.create_index(op.f('ix_users_email'), 'users', ['email'])\n\ndef downgrade():\n    op.drop_index(op.f('ix_users_email'))\n    op.drop_table('users')\n"),
            ("b2_loop.py", "\"\"\"a data fix\n\"\"\"\nfrom alembic import op\nrevision = 'b2'\ndown_revision = 'a1'\n\ndef upgrade():\n    for name in ('x', 'y'):\n        op.execute(f\"DELETE FROM users WHERE email = '{name}'\")\n\ndef downgrade():\n    pass\n"),
        ],
    );
    let import = crate::read(src.path()).unwrap();
    assert_eq!(import.dialect, Some("postgres"));
    assert_eq!(import.revisions.len(), 2);
    // drop_index without table_name found its table from create_index.
    let down = import.revisions[0].migration.downgrade.clone().unwrap();
    assert_eq!(
        down[0],
        Operation::DropIndex {
            name: "ix_users_email".into(),
            table: "users".into(),
            schema: None
        }
    );

    let out = tempfile::tempdir().unwrap();
    let written = crate::write(&import, out.path(), &crate::Options::default()).unwrap();
    assert!(written.created_config);
    assert_eq!(written.version_table, "alembic_version");
    let config = fs::read_to_string(out.path().join("rev.ron")).unwrap();
    assert!(
        config.contains("version_table: \"alembic_version\","),
        "{config}"
    );
    assert!(!config.contains("secret"), "no URL is copied: {config}");

    let project = rev_project::Project::load(&out.path().join("rev.ron")).unwrap();
    assert_eq!(project.files.len(), 2);
    for (file, r) in project.files.iter().zip(&import.revisions) {
        assert_eq!(file.migration, r.migration);
        let text = fs::read_to_string(&file.path).unwrap();
        // RON's own reader agrees with the fast one rev tries first.
        let by_ron: rev_project::Migration = ron::Options::default()
            .with_default_extension(
                ron::extensions::Extensions::IMPLICIT_SOME
                    | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
            )
            .from_str(&text)
            .unwrap();
        assert_eq!(by_ron, r.migration);
        assert!(
            text.contains("// imported from Alembic: versions/"),
            "{text}"
        );
    }
    let pending = crate::untranslated_items(&project);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].revision, "b2");
    assert_eq!(pending[0].direction, "upgrade");
    assert_eq!(pending[0].origin, "versions/b2_loop.py:8");
    assert!(pending[0].message().contains("replace it by hand"));

    let report = crate::Report::new(&import, &written);
    assert_eq!((report.complete, report.to_review), (1, 1));
    let text = report.text(false);
    assert!(
        text.contains("versions/b2_loop.py:8 (upgrade of b2): a loop"),
        "{text}"
    );

    // A second import into the same project refuses to overwrite anything.
    let again = crate::write(&import, out.path(), &crate::Options::default());
    assert!(again.is_err());
}

#[test]
fn graph_errors_name_the_file() {
    let src = tempfile::tempdir().unwrap();
    alembic_project(
        src.path(),
        &[(
            "x.py",
            "revision = 'x1'\ndown_revision = 'nope'\ndef upgrade():\n    pass\n",
        )],
    );
    let err = crate::read(src.path()).unwrap_err().to_string();
    assert!(err.contains("x.py") && err.contains("nope"), "{err}");
}

#[test]
fn nested_version_locations() {
    let src = tempfile::tempdir().unwrap();
    let dir = src.path();
    fs::create_dir_all(dir.join("db/versions")).unwrap();
    fs::create_dir_all(dir.join("plugins/a/deep")).unwrap();
    fs::write(
        dir.join("alembic.ini"),
        "[alembic]\nscript_location = db\nversion_locations = %(here)s/db/versions %(here)s/plugins\nrecursive_version_locations = true\n",
    )
    .unwrap();
    fs::write(dir.join("db/versions/a.py"), "revision = 'a'\ndown_revision = None\ndef upgrade():\n    pass\ndef downgrade():\n    pass\n").unwrap();
    fs::write(dir.join("plugins/a/deep/b.py"), "revision = 'b'\ndown_revision = 'a'\nbranch_labels = 'plugin'\ndef upgrade():\n    pass\ndef downgrade():\n    pass\n").unwrap();
    fs::write(dir.join("plugins/__init__.py"), "").unwrap();
    let import = crate::read(&dir.join("alembic.ini")).unwrap();
    let ids: Vec<&str> = import
        .revisions
        .iter()
        .map(|r| r.migration.id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(import.revisions[1].origin, "plugins/a/deep/b.py");
    assert_eq!(import.revisions[1].migration.branch_labels, ["plugin"]);
}

#[test]
fn an_unnamed_single_column_unique_is_the_columns_unique() {
    let ops = up("op.create_table(\"t\", sa.Column(\"id\", sa.Integer(), nullable=False), sa.Column(\"name\", sa.String(8)), sa.PrimaryKeyConstraint(\"id\"), sa.UniqueConstraint(\"name\"))");
    let Operation::CreateTable {
        columns, uniques, ..
    } = &ops[0]
    else {
        panic!("{ops:?}")
    };
    assert!(uniques.is_empty());
    assert!(columns[1].unique);
}

#[test]
fn indexes_among_the_table_items() {
    let ops = up("op.create_table(\"t\", sa.Column(\"a\", sa.Integer), sa.Column(\"b\", sa.Integer), sa.Index(\"ix_t_ab\", \"a\", \"b\", unique=True))");
    assert_eq!(
        ops[1],
        Operation::CreateIndex {
            name: "ix_t_ab".into(),
            table: "t".into(),
            columns: vec!["a".into(), "b".into()],
            unique: true,
            schema: None
        }
    );
}

#[test]
fn sql_bound_to_a_local_name_runs_where_it_is_used() {
    let ops = up(r#"stmt = textwrap.dedent("""\
    UPDATE accounts SET plan = 'free'
    WHERE plan IS NULL;
""")
bind = op.get_bind()
bind.execute(sa.text(stmt))
reset = sa.text("UPDATE accounts SET seen = '09\:00'")
op.execute(reset)
bind.execute(reset)"#);
    assert_eq!(
        ops,
        vec![
            Operation::Sql("UPDATE accounts SET plan = 'free'\nWHERE plan IS NULL;\n".into()),
            Operation::Sql("UPDATE accounts SET seen = '09:00'".into()),
            Operation::Sql("UPDATE accounts SET seen = '09:00'".into()),
        ]
    );
    let refused = up(r#"reset = sa.text("DELETE FROM accounts")
op.get_bind().exec_driver_sql(reset)"#);
    assert_eq!(
        untranslated(&refused),
        [(
            "versions/a1_x.py:18".to_owned(),
            "a text() construct where a plain string is needed".to_owned()
        )],
        "exec_driver_sql takes a string, never a text() construct"
    );
}

#[test]
fn print_of_literals_is_a_note_and_other_prints_stay_marked() {
    let text = format!(
        "{HEADER}\ndef upgrade():\n    print(\"\\nfilling the plan column\", end=\"\")\n    op.drop_column(\"accounts\", \"legacy\")\n    print(op.get_bind().execute(sa.text(\"DELETE FROM accounts\")))\n\ndef downgrade():\n    pass\n"
    );
    let t = translate(&text, "versions/a1_x.py").unwrap();
    assert_eq!(
        t.migration.upgrade.first(),
        Some(&Operation::DropColumn {
            table: "accounts".into(),
            schema: None,
            name: "legacy".into()
        })
    );
    assert_eq!(t.notes.len(), 1, "{:?}", t.notes);
    assert_eq!(t.notes[0].line, 17);
    assert!(t.notes[0].message.contains("filling the plan column"));
    // A print whose argument runs a statement is not dropped.
    assert_eq!(t.items.len(), 1, "{:?}", t.items);
    assert_eq!(t.items[0].line, 19);
    assert!(t.items[0].source.starts_with("print(op.get_bind()"));
}

#[test]
fn literal_server_defaults_and_sqlmodel_guid() {
    let ops = up(r#"import sqlmodel
op.add_column("agents", sa.Column("release", sa.String(16), server_default=sa.literal("1.0")))
op.add_column("agents", sa.Column("slots", sa.Integer(), server_default=sa.literal(4)))
op.add_column("agents", sa.Column("token", sqlmodel.sql.sqltypes.GUID(), nullable=False))"#);
    let got: Vec<(ColumnType, Option<Default>)> = ops
        .iter()
        .map(|op| match op {
            Operation::AddColumn { column, .. } => (column.ty.clone(), column.default.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ColumnType::String(16), Some(Default::Str("1.0".into()))),
            (ColumnType::Integer, Some(Default::Int(4))),
            (ColumnType::Uuid, None),
        ]
    );
    let refused = up(
        r#"op.add_column("agents", sa.Column("v", sa.String(9), server_default=sa.literal(sa.func.now())))"#,
    );
    assert_eq!(untranslated(&refused).len(), 1, "{refused:?}");
}

#[test]
fn arrays_and_positional_timezones() {
    let ty = |t: &str| match &up(&format!("op.add_column(\"t\", sa.Column(\"c\", {t}))"))[0] {
        Operation::AddColumn { column, .. } => column.ty.clone(),
        other => panic!("{t}: {other:?}"),
    };
    let c = |s: &str| ColumnType::Custom(s.into());
    assert_eq!(ty("sa.ARRAY(sa.String())"), c("VARCHAR[]"));
    assert_eq!(ty("postgresql.ARRAY(sa.String(40))"), c("VARCHAR(40)[]"));
    assert_eq!(ty("postgresql.ARRAY(sa.Integer)"), c("INTEGER[]"));
    assert_eq!(ty("sa.ARRAY(postgresql.UUID(as_uuid=True))"), c("UUID[]"));
    assert_eq!(ty("sa.DateTime(True)"), ColumnType::DateTimeTz);
    assert_eq!(ty("sa.DateTime(False)"), ColumnType::DateTime);
    assert_eq!(ty("postgresql.TIMESTAMP(True)"), ColumnType::DateTimeTz);
    // An item type whose PostgreSQL name is not certain stays to review.
    for t in [
        "sa.ARRAY(sa.Numeric(5, 2))",
        "sa.ARRAY(sa.Integer, dimensions=2)",
    ] {
        let ops = up(&format!("op.add_column(\"t\", sa.Column(\"c\", {t}))"));
        assert_eq!(untranslated(&ops).len(), 1, "{t}: {ops:?}");
    }
}
