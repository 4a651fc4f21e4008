//! Snapshot tests of the T-SQL that the SQL Server dialect writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_schema::{
    Check, Column, ColumnType, Default, ForeignKey, OnDelete, Operation, Schema, SqlPerDialect,
    Table, TableName, Unique,
};
use rev_sql::mssql::{must_open_batch, split_batches, Mssql};
use rev_sql::{Dialect, DialectKind, RenderError, Statement};

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

fn with_default(mut column: Column, default: Default) -> Column {
    column.default = Some(default);
    column
}

fn not_null(mut column: Column) -> Column {
    column.nullable = Some(false);
    column
}

/// Writes statements one after another; `-- own batch` marks those that open a batch.
fn show(statements: &[Statement]) -> String {
    statements
        .iter()
        .map(|s| {
            if s.own_batch {
                format!("-- own batch\n{}", s.sql)
            } else {
                s.sql.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n;\n")
}

fn render_in(op: &Operation, before: &Schema) -> String {
    show(&Mssql.render_op(op, before).unwrap())
}

fn render(op: &Operation) -> String {
    render_in(op, &Schema::default())
}

fn table(schema: Option<&str>, name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: name.to_owned(),
        schema: schema.map(str::to_owned),
        columns,
        indexes: vec![],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
    }
}

fn schema_of(tables: Vec<Table>) -> Schema {
    let mut schema = Schema::default();
    for t in tables {
        schema
            .tables
            .insert(TableName::new(t.schema.as_deref(), &t.name), t);
    }
    schema
}

/// The `users` table as the folded schema holds it before the AlterColumn tests.
fn users_schema() -> Schema {
    schema_of(vec![
        table(
            None,
            "users",
            vec![
                Column {
                    primary_key: true,
                    identity: true,
                    ..col("id", ColumnType::Integer)
                },
                not_null(col("email", ColumnType::String(255))),
                with_default(
                    col("status", ColumnType::String(20)),
                    Default::Str("new".into()),
                ),
                col("bio", ColumnType::Text),
            ],
        ),
        table(
            Some("sales"),
            "orders",
            vec![not_null(col("total", ColumnType::Decimal(10, 2)))],
        ),
    ])
}

fn alter(name: &str) -> Operation {
    Operation::AlterColumn {
        table: "users".into(),
        name: name.into(),
        ty: None,
        nullable: None,
        default: None,
        drop_default: false,
        schema: None,
    }
}

#[test]
fn trait_basics() {
    let d = Mssql;
    assert_eq!(d.kind(), DialectKind::Mssql);
    assert_eq!(d.placeholder(1), "@P1");
    assert_eq!(d.placeholder(12), "@P12");
    assert_eq!(d.begin_transaction(), "BEGIN TRANSACTION");
    assert_eq!(d.commit_transaction(), "COMMIT TRANSACTION");
    assert_eq!(d.batch_separator(), Some("GO"));
    let preamble = d.script_preamble();
    assert_eq!(preamble.len(), 1);
    assert!(preamble[0].sql.ends_with("\nSET XACT_ABORT ON"));
    assert!(preamble[0]
        .sql
        .lines()
        .rev()
        .skip(1)
        .all(|l| l.starts_with("-- ")));
    assert!(d.transactional_ddl());
}

#[test]
fn quoting() {
    let d = Mssql;
    assert_eq!(d.quote_ident("users"), "[users]");
    assert_eq!(d.quote_ident("odd]name"), "[odd]]name]");
    assert_eq!(d.quote_ident("a]]b[c"), "[a]]]]b[c]");
    assert_eq!(d.qualified(Some("dbo"), "users"), "[dbo].[users]");
    assert_eq!(d.qualified(Some("my]schema"), "t"), "[my]]schema].[t]");
    assert_eq!(d.qualified(None, "users"), "[users]");
    assert_eq!(d.string_literal("it's"), "N'it''s'");
    assert_eq!(d.string_literal("ünïcødé"), "N'ünïcødé'");
}

#[test]
fn column_types() {
    let d = Mssql;
    let all = [
        ColumnType::Integer,
        ColumnType::BigInt,
        ColumnType::SmallInt,
        ColumnType::Boolean,
        ColumnType::String(255),
        ColumnType::String(4000),
        ColumnType::String(4001),
        ColumnType::Text,
        ColumnType::Decimal(18, 4),
        ColumnType::Float,
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::DateTime,
        ColumnType::DateTimeTz,
        ColumnType::Uuid,
        ColumnType::Binary(16),
        ColumnType::Binary(8001),
        ColumnType::Blob,
        ColumnType::Json,
        ColumnType::Custom("GEOGRAPHY".into()),
    ];
    let out = all
        .iter()
        .map(|ty| format!("{ty:?} => {}", d.column_type(ty).unwrap()))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(out, @r#"
    Integer => INT
    BigInt => BIGINT
    SmallInt => SMALLINT
    Boolean => BIT
    String(255) => NVARCHAR(255)
    String(4000) => NVARCHAR(4000)
    String(4001) => NVARCHAR(MAX)
    Text => NVARCHAR(MAX)
    Decimal(18, 4) => DECIMAL(18, 4)
    Float => FLOAT
    Date => DATE
    Time => TIME
    DateTime => DATETIME2
    DateTimeTz => DATETIMEOFFSET
    Uuid => UNIQUEIDENTIFIER
    Binary(16) => VARBINARY(16)
    Binary(8001) => VARBINARY(MAX)
    Blob => VARBINARY(MAX)
    Json => NVARCHAR(MAX)
    Custom("GEOGRAPHY") => GEOGRAPHY
    "#);
    assert!(matches!(
        d.column_type(&ColumnType::String(0)),
        Err(RenderError::Unsupported { .. })
    ));
}

#[test]
fn create_table_with_everything() {
    let op = Operation::CreateTable {
        name: "users".into(),
        columns: vec![
            Column {
                primary_key: true,
                identity: true,
                ..col("id", ColumnType::Integer)
            },
            Column {
                unique: true,
                ..not_null(col("email", ColumnType::String(255)))
            },
            with_default(col("created_at", ColumnType::DateTime), Default::Now),
            with_default(col("seen_at", ColumnType::DateTimeTz), Default::Now),
            with_default(col("token", ColumnType::Uuid), Default::NewUuid),
            with_default(
                col("name", ColumnType::String(50)),
                Default::Str("O'Brien".into()),
            ),
            with_default(col("active", ColumnType::Boolean), Default::Bool(true)),
            with_default(col("score", ColumnType::Float), Default::Float(1.5)),
            with_default(col("visits", ColumnType::BigInt), Default::Int(-3)),
            with_default(
                col("code", ColumnType::String(8)),
                Default::Expr("CONVERT(NVARCHAR(8), NEWID())".into()),
            ),
            col("team_id", ColumnType::Integer),
        ],
        foreign_keys: vec![ForeignKey {
            name: "fk_users_team".into(),
            columns: vec!["team_id".into()],
            ref_table: "teams".into(),
            ref_columns: vec!["id".into()],
            on_delete: Some(OnDelete::Cascade),
        }],
        uniques: vec![Unique {
            name: "uq_users_name_team".into(),
            columns: vec!["name".into(), "team_id".into()],
        }],
        checks: vec![Check {
            name: "ck_users_score".into(),
            expr: "[score] >= 0".into(),
        }],
        schema: Some("dbo".into()),
    };
    insta::assert_snapshot!(render(&op));
}

#[test]
fn create_table_composite_key_and_odd_names() {
    let op = Operation::CreateTable {
        name: "odd]table".into(),
        columns: vec![
            Column {
                primary_key: true,
                ..col("a]", ColumnType::Integer)
            },
            Column {
                primary_key: true,
                ..col("b", ColumnType::SmallInt)
            },
            with_default(col("note", ColumnType::Text), Default::Str("it's ]".into())),
        ],
        foreign_keys: vec![],
        uniques: vec![],
        checks: vec![],
        schema: None,
    };
    insta::assert_snapshot!(render(&op), @r"
    CREATE TABLE [odd]]table] (
        [a]]] INT NOT NULL,
        [b] SMALLINT NOT NULL,
        [note] NVARCHAR(MAX) NULL CONSTRAINT [DF_odd]]table_note] DEFAULT N'it''s ]',
        CONSTRAINT [PK_odd]]table] PRIMARY KEY ([a]]], [b])
    )
    ");
}

#[test]
fn foreign_key_actions() {
    let fk = |on_delete| Operation::AddForeignKey {
        table: "orders".into(),
        foreign_key: ForeignKey {
            name: "fk_orders_user".into(),
            columns: vec!["user_id".into()],
            ref_table: "users".into(),
            ref_columns: vec!["id".into()],
            on_delete,
        },
        schema: Some("sales".into()),
    };
    let out = [
        None,
        Some(OnDelete::Cascade),
        Some(OnDelete::SetNull),
        Some(OnDelete::Restrict),
        Some(OnDelete::NoAction),
    ]
    .into_iter()
    .map(|action| render(&fk(action)))
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!(out, @r"
    ALTER TABLE [sales].[orders] ADD CONSTRAINT [fk_orders_user] FOREIGN KEY ([user_id]) REFERENCES [sales].[users] ([id])
    ALTER TABLE [sales].[orders] ADD CONSTRAINT [fk_orders_user] FOREIGN KEY ([user_id]) REFERENCES [sales].[users] ([id]) ON DELETE CASCADE
    ALTER TABLE [sales].[orders] ADD CONSTRAINT [fk_orders_user] FOREIGN KEY ([user_id]) REFERENCES [sales].[users] ([id]) ON DELETE SET NULL
    ALTER TABLE [sales].[orders] ADD CONSTRAINT [fk_orders_user] FOREIGN KEY ([user_id]) REFERENCES [sales].[users] ([id]) ON DELETE NO ACTION
    ALTER TABLE [sales].[orders] ADD CONSTRAINT [fk_orders_user] FOREIGN KEY ([user_id]) REFERENCES [sales].[users] ([id]) ON DELETE NO ACTION
    ");
}

#[test]
fn simple_operations() {
    let ops = vec![
        Operation::DropTable {
            name: "users".into(),
            schema: Some("dbo".into()),
        },
        Operation::DropTable {
            name: "x]y".into(),
            schema: None,
        },
        Operation::AddColumn {
            table: "users".into(),
            column: with_default(
                not_null(col("status", ColumnType::String(20))),
                Default::Str("new".into()),
            ),
            schema: Some("dbo".into()),
        },
        Operation::AddColumn {
            table: "users".into(),
            column: Column {
                unique: true,
                ..col("handle", ColumnType::String(40))
            },
            schema: None,
        },
        Operation::CreateIndex {
            name: "ix_users_email".into(),
            table: "users".into(),
            columns: vec!["email".into()],
            unique: false,
            schema: None,
        },
        Operation::CreateIndex {
            name: "ux_users_a_b".into(),
            table: "users".into(),
            columns: vec!["a".into(), "b]".into()],
            unique: true,
            schema: Some("dbo".into()),
        },
        Operation::DropIndex {
            name: "ix_users_email".into(),
            table: "users".into(),
            schema: Some("dbo".into()),
        },
        Operation::AddUnique {
            table: "users".into(),
            unique: Unique {
                name: "uq_users_email".into(),
                columns: vec!["email".into()],
            },
            schema: None,
        },
        Operation::AddCheck {
            table: "users".into(),
            check: Check {
                name: "ck_users_age".into(),
                expr: "[age] BETWEEN 0 AND 150".into(),
            },
            schema: None,
        },
        Operation::DropConstraint {
            table: "users".into(),
            name: "ck_users_age".into(),
            schema: Some("dbo".into()),
        },
    ];
    let out = ops.iter().map(render).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(out, @r"
    DROP TABLE [dbo].[users]
    DROP TABLE [x]]y]
    ALTER TABLE [dbo].[users] ADD [status] NVARCHAR(20) NOT NULL CONSTRAINT [DF_users_status] DEFAULT N'new'
    ALTER TABLE [users] ADD [handle] NVARCHAR(40) NULL CONSTRAINT [UQ_users_handle] UNIQUE
    CREATE INDEX [ix_users_email] ON [users] ([email])
    CREATE UNIQUE INDEX [ux_users_a_b] ON [dbo].[users] ([a], [b]]])
    DROP INDEX [ix_users_email] ON [dbo].[users]
    ALTER TABLE [users] ADD CONSTRAINT [uq_users_email] UNIQUE ([email])
    ALTER TABLE [users] ADD CONSTRAINT [ck_users_age] CHECK ([age] BETWEEN 0 AND 150)
    ALTER TABLE [dbo].[users] DROP CONSTRAINT [ck_users_age]
    ");
}

#[test]
fn renames() {
    let ops = [
        Operation::RenameTable {
            name: "users".into(),
            new_name: "people".into(),
            schema: Some("dbo".into()),
        },
        Operation::RenameTable {
            name: "it's]".into(),
            new_name: "new's]".into(),
            schema: None,
        },
        Operation::RenameColumn {
            table: "users".into(),
            name: "email".into(),
            new_name: "mail".into(),
            schema: Some("dbo".into()),
        },
        Operation::RenameColumn {
            table: "t".into(),
            name: "o'd]".into(),
            new_name: "n'w".into(),
            schema: None,
        },
    ];
    let out = ops.iter().map(render).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(out, @r"
    EXEC sp_rename N'[dbo].[users]', N'people', N'OBJECT'
    EXEC sp_rename N'[it''s]]]', N'new''s]', N'OBJECT'
    EXEC sp_rename N'[dbo].[users].[email]', N'mail', N'COLUMN'
    EXEC sp_rename N'[t].[o''d]]]', N'n''w', N'COLUMN'
    ");
}

#[test]
fn drop_column_drops_constraints_first() {
    let op = Operation::DropColumn {
        table: "users".into(),
        name: "email".into(),
        schema: Some("dbo".into()),
    };
    insta::assert_snapshot!(render(&op));
}

#[test]
fn drop_column_escapes_names_in_dynamic_sql() {
    let op = Operation::DropColumn {
        table: "it's]".into(),
        name: "o'; DROP TABLE x; --".into(),
        schema: Some("we'ird".into()),
    };
    let statements = Mssql.render_op(&op, &Schema::default()).unwrap();
    assert_eq!(statements.len(), 2);
    let prelude: Vec<&str> = statements[0].sql.lines().take(2).collect();
    insta::assert_snapshot!(prelude.join("\n"), @r"
    DECLARE @table NVARCHAR(MAX) = N'[we''ird].[it''s]]]';
    DECLARE @column SYSNAME = N'o''; DROP TABLE x; --';
    ");
    insta::assert_snapshot!(statements[1].sql, @"ALTER TABLE [we'ird].[it's]]] DROP COLUMN [o'; DROP TABLE x; --]");
    // Past the prelude, names reach the dynamic SQL only through QUOTENAME and variables.
    let rest: String = statements[0].sql.lines().skip(2).collect();
    assert!(!rest.contains("we''ird") && !rest.contains("DROP TABLE x"));
}

#[test]
fn alter_column_nullability_restates_type() {
    let mut op = alter("email");
    if let Operation::AlterColumn { nullable, .. } = &mut op {
        *nullable = Some(true);
    }
    insta::assert_snapshot!(render_in(&op, &users_schema()), @"ALTER TABLE [users] ALTER COLUMN [email] NVARCHAR(255) NULL");
}

#[test]
fn alter_column_type_keeps_nullability() {
    let mut op = alter("email");
    if let Operation::AlterColumn { ty, .. } = &mut op {
        *ty = Some(ColumnType::String(320));
    }
    insta::assert_snapshot!(render_in(&op, &users_schema()), @"ALTER TABLE [users] ALTER COLUMN [email] NVARCHAR(320) NOT NULL");
}

#[test]
fn alter_column_in_schema() {
    let op = Operation::AlterColumn {
        table: "orders".into(),
        name: "total".into(),
        ty: Some(ColumnType::Decimal(12, 2)),
        nullable: None,
        default: None,
        drop_default: false,
        schema: Some("sales".into()),
    };
    insta::assert_snapshot!(render_in(&op, &users_schema()), @"ALTER TABLE [sales].[orders] ALTER COLUMN [total] DECIMAL(12, 2) NOT NULL");
}

#[test]
fn alter_column_type_of_defaulted_column_moves_default() {
    let mut op = alter("status");
    if let Operation::AlterColumn { ty, .. } = &mut op {
        *ty = Some(ColumnType::String(40));
    }
    insta::assert_snapshot!(render_in(&op, &users_schema()), @r"
    -- own batch
    DECLARE @table NVARCHAR(MAX) = N'[users]';
    DECLARE @column SYSNAME = N'status';
    DECLARE @object_id INT = OBJECT_ID(@table, N'U');
    DECLARE @column_id INT = COLUMNPROPERTY(@object_id, @column, 'ColumnId');
    DECLARE @sql NVARCHAR(MAX) = N'';
    SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(dc.name) + N';'
    FROM sys.default_constraints AS dc
    WHERE dc.parent_object_id = @object_id AND dc.parent_column_id = @column_id;
    EXEC sp_executesql @sql;
    ;
    ALTER TABLE [users] ALTER COLUMN [status] NVARCHAR(40) NULL
    ;
    ALTER TABLE [users] ADD CONSTRAINT [DF_users_status] DEFAULT N'new' FOR [status]
    ");
}

#[test]
fn alter_column_sets_default() {
    let mut op = alter("bio");
    if let Operation::AlterColumn { default, .. } = &mut op {
        *default = Some(Default::Str("none yet".into()));
    }
    let out = render_in(&op, &users_schema());
    let last = out.rsplit("\n;\n").next().unwrap();
    assert!(out.starts_with("-- own batch\nDECLARE @table NVARCHAR(MAX) = N'[users]';"));
    insta::assert_snapshot!(last, @"ALTER TABLE [users] ADD CONSTRAINT [DF_users_bio] DEFAULT N'none yet' FOR [bio]");
}

#[test]
fn alter_column_drops_default() {
    let mut op = alter("status");
    if let Operation::AlterColumn { drop_default, .. } = &mut op {
        *drop_default = true;
    }
    let statements = Mssql.render_op(&op, &users_schema()).unwrap();
    assert_eq!(statements.len(), 1);
    assert!(statements[0].own_batch);
    assert!(statements[0]
        .sql
        .contains("FROM sys.default_constraints AS dc"));
    assert!(statements[0].sql.ends_with("EXEC sp_executesql @sql;"));
}

#[test]
fn alter_column_type_nullability_and_default_together() {
    let op = Operation::AlterColumn {
        table: "users".into(),
        name: "status".into(),
        ty: Some(ColumnType::SmallInt),
        nullable: Some(false),
        default: Some(Default::Int(0)),
        drop_default: false,
        schema: None,
    };
    let statements = Mssql.render_op(&op, &users_schema()).unwrap();
    let tail = show(&statements[1..]);
    insta::assert_snapshot!(tail, @r"
    ALTER TABLE [users] ALTER COLUMN [status] SMALLINT NOT NULL
    ;
    ALTER TABLE [users] ADD CONSTRAINT [DF_users_status] DEFAULT 0 FOR [status]
    ");
}

#[test]
fn alter_column_without_changes_renders_nothing() {
    assert!(Mssql
        .render_op(&alter("email"), &users_schema())
        .unwrap()
        .is_empty());
}

#[test]
fn alter_column_unknown_objects() {
    let err = Mssql
        .render_op(&alter("nope"), &users_schema())
        .unwrap_err();
    assert!(matches!(err, RenderError::UnknownObject(_)));
    insta::assert_snapshot!(err.to_string(), @"AlterColumn: table `users` has no column `nope` at this revision");

    let mut op = alter("email");
    if let Operation::AlterColumn {
        schema, nullable, ..
    } = &mut op
    {
        *schema = Some("other".into());
        *nullable = Some(true);
    }
    let err = Mssql.render_op(&op, &users_schema()).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"AlterColumn: table `other.users` does not exist at this revision");
}

#[test]
fn alter_column_refuses_set_and_drop_default() {
    let mut op = alter("status");
    if let Operation::AlterColumn {
        default,
        drop_default,
        ..
    } = &mut op
    {
        *default = Some(Default::Int(1));
        *drop_default = true;
    }
    let err = Mssql.render_op(&op, &users_schema()).unwrap_err();
    assert!(matches!(err, RenderError::Unsupported { .. }));
}

#[test]
fn defaults_of_each_kind() {
    let d = Mssql;
    let cases = [
        (Default::Int(42), ColumnType::Integer),
        (Default::Float(0.25), ColumnType::Float),
        (Default::Float(1e300), ColumnType::Float),
        (Default::Str("a'b".into()), ColumnType::Text),
        (Default::Bool(false), ColumnType::Boolean),
        (Default::Now, ColumnType::DateTime),
        (Default::Now, ColumnType::DateTimeTz),
        (Default::NewUuid, ColumnType::Uuid),
        (Default::Expr("GETUTCDATE()".into()), ColumnType::DateTime),
    ];
    let out = cases
        .iter()
        .map(|(default, ty)| format!("{default:?} => {}", d.default_expr(default, ty).unwrap()))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(out, @r#"
    Int(42) => 42
    Float(0.25) => 0.25
    Float(1e300) => 1e300
    Str("a'b") => N'a''b'
    Bool(false) => 0
    Now => SYSDATETIME()
    Now => SYSDATETIMEOFFSET()
    NewUuid => NEWID()
    Expr("GETUTCDATE()") => (GETUTCDATE())
    "#);
    assert!(d
        .default_expr(&Default::Float(f64::NAN), &ColumnType::Float)
        .is_err());
}

#[test]
fn raw_sql_splits_on_go_lines() {
    let text = "CREATE TABLE a (id INT)\nGO\n  go  \nINSERT INTO a VALUES (1)\r\n\tGo\r\nSELECT 'GO'\nGOTO done\n";
    insta::assert_snapshot!(render(&Operation::Sql(text.into())), @r"
    -- own batch
    CREATE TABLE a (id INT)
    ;
    -- own batch
    INSERT INTO a VALUES (1)
    ;
    -- own batch
    SELECT 'GO'
    GOTO done
    ");
}

#[test]
fn raw_sql_without_go_is_one_statement() {
    let statements = split_batches("UPDATE t SET a = 1;\nUPDATE t SET b = 2;");
    assert_eq!(
        statements,
        vec![Statement::new("UPDATE t SET a = 1;\nUPDATE t SET b = 2;")]
    );
    assert!(split_batches("  \nGO\n\n").is_empty());
}

#[test]
fn create_view_opens_a_batch() {
    let statements = split_batches(
        "-- the active users\n/* outer /* nested */ still comment */\n  create   view [v] AS SELECT 1 AS x",
    );
    assert_eq!(statements.len(), 1);
    assert!(statements[0].own_batch);
}

#[test]
fn batch_detection() {
    let opens = [
        "CREATE VIEW v AS SELECT 1",
        "create procedure p AS SELECT 1",
        "CREATE PROC p AS SELECT 1",
        "CREATE FUNCTION f() RETURNS INT AS BEGIN RETURN 1 END",
        "CREATE TRIGGER tr ON t AFTER INSERT AS SELECT 1",
        "CREATE OR ALTER VIEW v AS SELECT 1",
        "CREATE\n  OR /* c */ ALTER\tPROCEDURE p AS SELECT 1",
        "ALTER VIEW v AS SELECT 2",
        "ALTER PROCEDURE p AS SELECT 2",
        "CREATE SCHEMA sales",
        "--c\nCREATE TRIGGER tr ON t AFTER INSERT AS SELECT 1",
    ];
    for sql in opens {
        assert!(must_open_batch(sql), "{sql}");
    }
    let shares = [
        "CREATE TABLE views (id INT)",
        "CREATE INDEX ix ON t (a)",
        "ALTER TABLE t ADD c INT",
        "SELECT 'CREATE VIEW'",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "CREATE VIEWS",
        "-- CREATE VIEW v\nUPDATE t SET a = 1",
        "/* CREATE VIEW v */ UPDATE t SET a = 1",
        "/* unterminated CREATE VIEW",
        "",
    ];
    for sql in shares {
        assert!(!must_open_batch(sql), "{sql}");
    }
}

#[test]
fn sql_for_picks_mssql() {
    let op = Operation::SqlFor(SqlPerDialect {
        mssql: Some("CREATE VIEW v AS SELECT 1\nGO\nEXEC sp_refreshview N'v'".into()),
        postgres: Some("CREATE VIEW v AS SELECT 1".into()),
        sqlite: None,
        mysql: None,
    });
    insta::assert_snapshot!(render(&op), @r"
    -- own batch
    CREATE VIEW v AS SELECT 1
    ;
    -- own batch
    EXEC sp_refreshview N'v'
    ");
    let missing = Operation::SqlFor(SqlPerDialect {
        postgres: Some("SELECT 1".into()),
        ..SqlPerDialect::default()
    });
    let err = Mssql.render_op(&missing, &Schema::default()).unwrap_err();
    assert!(matches!(
        err,
        RenderError::MissingSqlFor(DialectKind::Mssql)
    ));
}

#[test]
fn version_and_history_tables() {
    let d = Mssql;
    insta::assert_snapshot!(show(&d.create_version_table(Some("dbo"), "alembic_version")), @r"
    IF OBJECT_ID(N'[dbo].[alembic_version]', N'U') IS NULL
    CREATE TABLE [dbo].[alembic_version] (
        [version_num] VARCHAR(32) NOT NULL,
        CONSTRAINT [alembic_version_pkc] PRIMARY KEY ([version_num])
    )
    ");
    insta::assert_snapshot!(show(&d.create_version_table(None, "it's]")), @r"
    IF OBJECT_ID(N'[it''s]]]', N'U') IS NULL
    CREATE TABLE [it's]]] (
        [version_num] VARCHAR(32) NOT NULL,
        CONSTRAINT [it's]]_pkc] PRIMARY KEY ([version_num])
    )
    ");
    insta::assert_snapshot!(show(&d.create_history_table(None, "rev_history")), @r"
    IF OBJECT_ID(N'[rev_history]', N'U') IS NULL
    CREATE TABLE [rev_history] (
        [id] BIGINT IDENTITY(1,1) NOT NULL,
        [revision] VARCHAR(32) NOT NULL,
        [direction] VARCHAR(16) NOT NULL,
        [checksum] VARCHAR(128) NOT NULL,
        [started_at] DATETIME2 NOT NULL,
        [duration_ms] BIGINT NOT NULL,
        [applied_by] NVARCHAR(128) NOT NULL,
        CONSTRAINT [rev_history_pkc] PRIMARY KEY ([id])
    )
    ");
}

#[test]
fn raw_sql_that_declares_a_variable_gets_its_own_batch() {
    let declares = split_batches("DECLARE @n INT = 1;\nPRINT @n");
    assert!(declares[0].own_batch);
    let lower = split_batches("set nocount on; declare\n  @n int");
    assert!(lower[0].own_batch);
    for plain in [
        "UPDATE t SET undeclared = 1",
        "SELECT @@ROWCOUNT",
        "EXEC declare_x @a = 1",
    ] {
        assert!(!split_batches(plain)[0].own_batch, "{plain}");
    }
}

/// ```text
/// parents (id PK, code NVARCHAR(10) UNIQUE via uq_parents_code, ix_parents_code)
///    ^ fk_children_parent (children.parent_code -> parents.code)
/// children (parent_code NVARCHAR(10), ck_children_code mentions it)
/// ```
fn keyed_schema() -> Schema {
    let mut parents = table(
        None,
        "parents",
        vec![
            Column {
                primary_key: true,
                ..col("id", ColumnType::Integer)
            },
            not_null(col("code", ColumnType::String(10))),
        ],
    );
    parents.uniques = vec![Unique {
        name: "uq_parents_code".into(),
        columns: vec!["code".into()],
    }];
    parents.indexes = vec![rev_schema::Index {
        name: "ix_parents_code".into(),
        columns: vec!["id".into(), "code".into()],
        unique: false,
    }];
    parents.checks = vec![Check {
        name: "ck_parents_code".into(),
        expr: "LEN([code]) > 2".into(),
    }];
    let mut children = table(
        None,
        "children",
        vec![col("parent_code", ColumnType::String(10))],
    );
    children.foreign_keys = vec![ForeignKey {
        name: "fk_children_parent".into(),
        columns: vec!["parent_code".into()],
        ref_table: "parents".into(),
        ref_columns: vec!["code".into()],
        on_delete: Some(OnDelete::Cascade),
    }];
    schema_of(vec![parents, children])
}

fn retype(table: &str, name: &str, ty: ColumnType) -> Operation {
    Operation::AlterColumn {
        table: table.into(),
        name: name.into(),
        ty: Some(ty),
        nullable: None,
        default: None,
        drop_default: false,
        schema: None,
    }
}

#[test]
fn alter_column_type_moves_the_constraints_that_depend_on_it() {
    let schema = keyed_schema();
    insta::assert_snapshot!(render_in(&retype("parents", "code", ColumnType::Integer), &schema), @r"
    ALTER TABLE [children] DROP CONSTRAINT [fk_children_parent]
    ;
    DROP INDEX [ix_parents_code] ON [parents]
    ;
    ALTER TABLE [parents] DROP CONSTRAINT [uq_parents_code]
    ;
    ALTER TABLE [parents] DROP CONSTRAINT [ck_parents_code]
    ;
    ALTER TABLE [parents] ALTER COLUMN [code] INT NOT NULL
    ;
    ALTER TABLE [parents] ADD CONSTRAINT [ck_parents_code] CHECK (LEN([code]) > 2)
    ;
    ALTER TABLE [parents] ADD CONSTRAINT [uq_parents_code] UNIQUE ([code])
    ;
    CREATE INDEX [ix_parents_code] ON [parents] ([id], [code])
    ;
    ALTER TABLE [children] ADD CONSTRAINT [fk_children_parent] FOREIGN KEY ([parent_code]) REFERENCES [parents] ([code]) ON DELETE CASCADE
    ");
    // Widening a string keeps indexes and constraints; foreign keys still move.
    insta::assert_snapshot!(render_in(&retype("parents", "code", ColumnType::String(40)), &schema), @r"
    ALTER TABLE [children] DROP CONSTRAINT [fk_children_parent]
    ;
    ALTER TABLE [parents] ALTER COLUMN [code] NVARCHAR(40) NOT NULL
    ;
    ALTER TABLE [children] ADD CONSTRAINT [fk_children_parent] FOREIGN KEY ([parent_code]) REFERENCES [parents] ([code]) ON DELETE CASCADE
    ");
    insta::assert_snapshot!(render_in(&retype("children", "parent_code", ColumnType::String(40)), &schema), @r"
    ALTER TABLE [children] DROP CONSTRAINT [fk_children_parent]
    ;
    ALTER TABLE [children] ALTER COLUMN [parent_code] NVARCHAR(40) NULL
    ;
    ALTER TABLE [children] ADD CONSTRAINT [fk_children_parent] FOREIGN KEY ([parent_code]) REFERENCES [parents] ([code]) ON DELETE CASCADE
    ");
    // The same type again changes nothing around the column.
    insta::assert_snapshot!(render_in(&retype("parents", "code", ColumnType::String(10)), &schema), @"ALTER TABLE [parents] ALTER COLUMN [code] NVARCHAR(10) NOT NULL");
}

#[test]
fn alter_column_type_of_key_columns() {
    let schema = keyed_schema();
    let err = Mssql
        .render_op(&retype("parents", "id", ColumnType::BigInt), &schema)
        .unwrap_err();
    assert!(err.to_string().contains("primary key"), "{err}");
    let unique = schema_of(vec![table(
        None,
        "t",
        vec![Column {
            unique: true,
            ..col("u", ColumnType::String(10))
        }],
    )]);
    // Widening keeps the column-level unique constraint; shrinking moves it.
    insta::assert_snapshot!(render_in(&retype("t", "u", ColumnType::String(20)), &unique), @"ALTER TABLE [t] ALTER COLUMN [u] NVARCHAR(20) NULL");
    let shrink = Mssql
        .render_op(&retype("t", "u", ColumnType::String(5)), &unique)
        .unwrap();
    assert_eq!(shrink.len(), 3);
    assert!(shrink[0].own_batch);
    assert!(
        shrink[0].sql.contains("kc.type = 'UQ'"),
        "{}",
        shrink[0].sql
    );
    assert!(
        shrink[0].sql.contains("DECLARE @column SYSNAME = N'u';"),
        "{}",
        shrink[0].sql
    );
    insta::assert_snapshot!(show(&shrink[1..]), @r"
    ALTER TABLE [t] ALTER COLUMN [u] NVARCHAR(5) NULL
    ;
    ALTER TABLE [t] ADD CONSTRAINT [UQ_t_u] UNIQUE ([u])
    ");
}

#[test]
fn raw_sql_refuses_go_with_a_repeat_count() {
    let err = Mssql
        .render_op(
            &Operation::Sql("INSERT INTO t DEFAULT VALUES\n  go 3\n".into()),
            &Schema::default(),
        )
        .unwrap_err();
    insta::assert_snapshot!(err, @"mssql cannot run `go 3`: a GO line with a repeat count; repeat the batch in the text instead");
    assert!(Mssql
        .render_op(
            &Operation::Sql("SELECT 1\nGO\nGOTO x\n".into()),
            &Schema::default()
        )
        .is_ok());
}

/// Renders each operation, or says why it was refused.
fn render_or_refusal(ops: &[Operation]) -> String {
    ops.iter()
        .map(|op| match Mssql.render_op(op, &users_schema()) {
            Ok(statements) => show(&statements),
            Err(e) => format!("refused: {e}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn names_that_would_put_go_alone_on_a_line_are_refused() {
    let ops = [
        // sqlcmd would end the batch inside the bracketed name.
        Operation::CreateTable {
            name: "t\nGO\n".into(),
            columns: vec![col("id", ColumnType::Integer)],
            foreign_keys: vec![],
            uniques: vec![],
            checks: vec![],
            schema: None,
        },
        Operation::AddColumn {
            table: "users".into(),
            column: col("c\r\n  go 2", ColumnType::Integer),
            schema: Some("dbo".into()),
        },
        Operation::RenameTable {
            name: "users".into(),
            new_name: "x\nGo;".into(),
            schema: Some("dbo".into()),
        },
        Operation::CreateIndex {
            name: "ix\n:r evil.sql".into(),
            table: "users".into(),
            columns: vec!["email".into()],
            unique: false,
            schema: Some("dbo".into()),
        },
        Operation::AddColumn {
            table: "users".into(),
            column: with_default(
                col("note", ColumnType::Text),
                Default::Str("a\nGO\nb".into()),
            ),
            schema: Some("dbo".into()),
        },
        Operation::DropIndex {
            name: "ix\n!! rm -rf /".into(),
            table: "users".into(),
            schema: Some("dbo".into()),
        },
    ];
    insta::assert_snapshot!(render_or_refusal(&ops), @r"
    refused: mssql cannot write a name or text that starts a line with `GO`: in a --sql script sqlcmd and SSMS would read that line as a command (GO ends the batch), not as part of the statement; take the line break out of the name or text
    refused: mssql cannot write a name or text that starts a line with `go`: in a --sql script sqlcmd and SSMS would read that line as a command (GO ends the batch), not as part of the statement; take the line break out of the name or text
    refused: mssql cannot write a name or text that starts a line with `Go`: in a --sql script sqlcmd and SSMS would read that line as a command (GO ends the batch), not as part of the statement; take the line break out of the name or text
    refused: mssql cannot write a name or text that starts a line with `:r`: in a --sql script sqlcmd and SSMS would read that line as a command (sqlcmd runs it), not as part of the statement; take the line break out of the name or text
    refused: mssql cannot write a name or text that starts a line with `GO`: in a --sql script sqlcmd and SSMS would read that line as a command (GO ends the batch), not as part of the statement; take the line break out of the name or text
    refused: mssql cannot write a name or text that starts a line with `!!`: in a --sql script sqlcmd and SSMS would read that line as a command (sqlcmd runs it), not as part of the statement; take the line break out of the name or text
    ");
}

#[test]
fn line_breaks_that_make_no_command_are_kept() {
    let ops = [
        Operation::RenameTable {
            name: "users".into(),
            new_name: "a\nGOOD\ngo_on\nGOTO x".into(),
            schema: Some("dbo".into()),
        },
        Operation::AddColumn {
            table: "users".into(),
            column: col("GO", ColumnType::Integer),
            schema: Some("dbo".into()),
        },
        // The author's own script is split on its GO lines, not refused.
        Operation::Sql("SELECT 1\nGO\nSELECT 2".into()),
    ];
    insta::assert_snapshot!(render_or_refusal(&ops), @r"
    EXEC sp_rename N'[dbo].[users]', N'a
    GOOD
    go_on
    GOTO x', N'OBJECT'
    ALTER TABLE [dbo].[users] ADD [GO] INT NULL
    -- own batch
    SELECT 1
    ;
    -- own batch
    SELECT 2
    ");
}
