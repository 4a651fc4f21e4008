//! Test harness for the live PostgreSQL and MariaDB/MySQL tests: a fresh
//! database per test, dropped afterwards, and the skip-or-fail rule for a
//! server that cannot be reached (DESIGN.md §8).

#![allow(dead_code)]

use mysql_async::prelude::Queryable;
use rev_db::{Direction, Step, Tables};
use rev_schema::{Operation, Schema, Table, TableName};
use rev_sql::Dialect;

/// The admin URL of the local PostgreSQL server, unless the environment names another.
fn postgres_admin_url() -> String {
    std::env::var("REV_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The admin URL of the local MariaDB/MySQL server, unless the environment names another.
fn mysql_admin_url() -> String {
    std::env::var("REV_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// Which server a temporary database lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Mysql,
}

/// A database created for one test and dropped when the value is dropped.
pub struct TempDb {
    pub kind: Kind,
    pub name: String,
    pub url: String,
    admin_url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Returns `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    format!("{scheme}://{host}/{name}{query}")
}

/// Says why a server cannot be used: fails when CI requires the services,
/// else prints that the test is skipped.
fn unavailable(what: &str, why: &str) -> Option<TempDb> {
    if std::env::var("REV_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{what} is required (REV_REQUIRE_SERVICES=1) but unreachable: {why}");
    }
    println!("skipped: {what} is unreachable: {why}");
    None
}

fn fresh_name() -> String {
    format!("rev_test_{}", uuid::Uuid::new_v4().simple())
}

/// A cell of a result row as text (None = NULL).
pub type Rows = Vec<Vec<Option<String>>>;

impl TempDb {
    /// Creates a fresh PostgreSQL database, or returns None (after saying why)
    /// when the server is unreachable.
    pub fn postgres() -> Option<TempDb> {
        let admin_url = postgres_admin_url();
        let name = fresh_name();
        let created = runtime().block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!(
                        "{e}: {}",
                        std::error::Error::source(&e)
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    )
                })?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .map_err(|e| e.to_string())
        });
        if let Err(why) = created {
            return unavailable("PostgreSQL", &why);
        }
        Some(TempDb {
            kind: Kind::Postgres,
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// Creates a fresh MariaDB/MySQL database, or returns None (after saying
    /// why) when the server is unreachable.
    pub fn mysql() -> Option<TempDb> {
        let admin_url = mysql_admin_url();
        let name = fresh_name();
        let created = runtime().block_on(async {
            let opts = mysql_async::Opts::from_url(&admin_url).map_err(|e| e.to_string())?;
            let mut conn = mysql_async::Conn::new(opts)
                .await
                .map_err(|e| e.to_string())?;
            conn.query_drop(format!("CREATE DATABASE `{name}`"))
                .await
                .map_err(|e| e.to_string())?;
            conn.disconnect().await.map_err(|e| e.to_string())
        });
        if let Err(why) = created {
            return unavailable("MariaDB/MySQL", &why);
        }
        Some(TempDb {
            kind: Kind::Mysql,
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// Runs SQL text on the temporary database and returns every row as text.
    pub fn rows(&self, sql: &str) -> Rows {
        runtime().block_on(async {
            match self.kind {
                Kind::Postgres => {
                    let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                    tokio::spawn(conn);
                    let mut out = Vec::new();
                    for message in client.simple_query(sql).await.unwrap() {
                        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                            out.push(
                                (0..row.len())
                                    .map(|i| row.get(i).map(str::to_owned))
                                    .collect(),
                            );
                        }
                    }
                    out
                }
                Kind::Mysql => {
                    let opts = mysql_async::Opts::from_url(&self.url).unwrap();
                    let mut conn = mysql_async::Conn::new(opts).await.unwrap();
                    let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap();
                    let out = rows
                        .into_iter()
                        .map(|row| row.unwrap().into_iter().map(text).collect())
                        .collect();
                    conn.disconnect().await.unwrap();
                    out
                }
            }
        })
    }

    /// Runs SQL text on the temporary database and returns the first column
    /// of every row, NULL as "NULL".
    pub fn column(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|row| row.into_iter().next().flatten().unwrap_or("NULL".into()))
            .collect()
    }

    /// Returns whether a table of this name exists in the temporary database.
    pub fn has_table(&self, table: &str) -> bool {
        let schema = match self.kind {
            Kind::Postgres => "current_schema()".to_owned(),
            Kind::Mysql => "DATABASE()".to_owned(),
        };
        let count = self.column(&format!(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = {schema} AND table_name = '{table}'"
        ));
        count == ["1"]
    }

    /// Returns `name type nullable default` for each column of a table, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let (schema, ty) = match self.kind {
            Kind::Postgres => ("current_schema()", "data_type"),
            Kind::Mysql => ("DATABASE()", "column_type"),
        };
        self.rows(&format!(
            "SELECT column_name, {ty}, is_nullable, column_default \
             FROM information_schema.columns \
             WHERE table_schema = {schema} AND table_name = '{table}' \
             ORDER BY ordinal_position"
        ))
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| cell.unwrap_or("NULL".into()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
    }

    /// Returns `name type` for each constraint of a table, sorted.
    pub fn constraints(&self, table: &str) -> Vec<String> {
        let schema = match self.kind {
            Kind::Postgres => "current_schema()",
            Kind::Mysql => "DATABASE()",
        };
        self.rows(&format!(
            "SELECT constraint_name, constraint_type FROM information_schema.table_constraints \
             WHERE table_schema = {schema} AND table_name = '{table}' \
             AND constraint_type <> 'NOT NULL' AND constraint_name NOT LIKE '%\\_not\\_null' \
             ORDER BY constraint_name"
        ))
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| cell.unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
    }
}

fn text(value: mysql_async::Value) -> Option<String> {
    match value {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        other => Some(other.as_sql(true)),
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let shown = name.clone();
        let admin_url = self.admin_url.clone();
        let kind = self.kind;
        let dropped: Result<(), String> = runtime().block_on(async move {
            match kind {
                Kind::Postgres => {
                    let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokio::spawn(conn);
                    client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await
                        .map_err(|e| e.to_string())
                }
                Kind::Mysql => {
                    let opts =
                        mysql_async::Opts::from_url(&admin_url).map_err(|e| e.to_string())?;
                    let mut conn = mysql_async::Conn::new(opts)
                        .await
                        .map_err(|e| e.to_string())?;
                    conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await
                        .map_err(|e| e.to_string())?;
                    conn.disconnect().await.map_err(|e| e.to_string())
                }
            }
        });
        if let Err(why) = dropped {
            eprintln!("could not drop test database {shown}: {why}");
        }
    }
}

/// Returns the default version and history tables.
pub fn tables() -> Tables {
    Tables {
        schema: None,
        version: "rev_version".to_owned(),
        history: "rev_history".to_owned(),
    }
}

/// Returns a step that runs raw statements.
pub fn raw_step(
    revision: &str,
    direction: Direction,
    statements: &[&str],
    delete_versions: &[&str],
    insert_versions: &[&str],
) -> Step {
    Step {
        revision: revision.to_owned(),
        direction,
        statements: statements
            .iter()
            .map(|s| rev_sql::Statement::new(*s))
            .collect(),
        delete_versions: delete_versions.iter().map(|s| (*s).to_owned()).collect(),
        insert_versions: insert_versions.iter().map(|s| (*s).to_owned()).collect(),
        checksum: format!("sum-{revision}"),
        transactional: true,
    }
}

/// Renders operations in order, folding each into `schema` so that the next
/// one sees the schema it runs against (as the engine will).
pub fn render(
    dialect: &dyn Dialect,
    schema: &mut Schema,
    ops: &[Operation],
) -> Vec<rev_sql::Statement> {
    let mut out = Vec::new();
    for op in ops {
        out.extend(dialect.render_op(op, schema).unwrap());
        fold(schema, op);
    }
    out
}

fn table<'a>(schema: &'a mut Schema, s: &Option<String>, name: &str) -> Option<&'a mut Table> {
    schema.tables.get_mut(&TableName::new(s.as_deref(), name))
}

/// Applies an operation to a schema: just what the dialects look at
/// (columns, foreign keys, uniques, checks).
fn fold(schema: &mut Schema, op: &Operation) {
    match op {
        Operation::CreateTable {
            name,
            columns,
            foreign_keys,
            uniques,
            checks,
            schema: s,
        } => {
            schema.tables.insert(
                TableName::new(s.as_deref(), name),
                Table {
                    name: name.clone(),
                    schema: s.clone(),
                    columns: columns.clone(),
                    indexes: vec![],
                    foreign_keys: foreign_keys.clone(),
                    uniques: uniques.clone(),
                    checks: checks.clone(),
                },
            );
        }
        Operation::DropTable { name, schema: s } => {
            schema.tables.remove(&TableName::new(s.as_deref(), name));
        }
        Operation::RenameTable {
            name,
            new_name,
            schema: s,
        } => {
            if let Some(mut t) = schema.tables.remove(&TableName::new(s.as_deref(), name)) {
                t.name = new_name.clone();
                schema
                    .tables
                    .insert(TableName::new(s.as_deref(), new_name), t);
            }
        }
        Operation::AddColumn {
            table: t,
            column,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.columns.push(column.clone());
            }
        }
        Operation::DropColumn {
            table: t,
            name,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.columns.retain(|c| &c.name != name);
            }
        }
        Operation::AlterColumn {
            table: t,
            name,
            ty,
            nullable,
            default,
            drop_default,
            schema: s,
        } => {
            if let Some(c) =
                table(schema, s, t).and_then(|t| t.columns.iter_mut().find(|c| &c.name == name))
            {
                if let Some(ty) = ty {
                    c.ty = ty.clone();
                }
                if nullable.is_some() {
                    c.nullable = *nullable;
                }
                if *drop_default {
                    c.default = None;
                }
                if default.is_some() {
                    c.default = default.clone();
                }
            }
        }
        Operation::RenameColumn {
            table: t,
            name,
            new_name,
            schema: s,
        } => {
            if let Some(c) =
                table(schema, s, t).and_then(|t| t.columns.iter_mut().find(|c| &c.name == name))
            {
                c.name = new_name.clone();
            }
        }
        Operation::AddForeignKey {
            table: t,
            foreign_key,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.foreign_keys.push(foreign_key.clone());
            }
        }
        Operation::AddUnique {
            table: t,
            unique,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.uniques.push(unique.clone());
            }
        }
        Operation::AddCheck {
            table: t,
            check,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.checks.push(check.clone());
            }
        }
        Operation::DropConstraint {
            table: t,
            name,
            schema: s,
        } => {
            if let Some(t) = table(schema, s, t) {
                t.foreign_keys.retain(|c| &c.name != name);
                t.uniques.retain(|c| &c.name != name);
                t.checks.retain(|c| &c.name != name);
            }
        }
        Operation::CreateIndex { .. }
        | Operation::DropIndex { .. }
        | Operation::Sql(_)
        | Operation::SqlFor(_)
        | Operation::Untranslated { .. } => {}
    }
}

/// Returns a column with the defaults of the file format.
pub fn col(name: &str, ty: rev_schema::ColumnType) -> rev_schema::Column {
    rev_schema::Column {
        name: name.to_owned(),
        ty,
        nullable: None,
        primary_key: false,
        identity: false,
        unique: false,
        default: None,
    }
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Returns the operations of three revisions that together use every
/// operation of DESIGN.md §2 on tables holding rows: `a` creates two tables
/// and fills them, `b` changes them in every way, `c` drops one.
pub fn every_operation_revisions() -> [Vec<Operation>; 3] {
    use rev_schema::{Check, Column, ColumnType as T, Default as D, ForeignKey, OnDelete, Unique};
    let s = |x: &str| x.to_owned();
    let a = vec![
        Operation::CreateTable {
            name: s("users"),
            columns: vec![
                Column {
                    primary_key: true,
                    identity: true,
                    ..col("id", T::Integer)
                },
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
                col("ratio", T::Float),
                col("born", T::Date),
                col("wakes", T::Time),
                Column {
                    default: Some(D::Now),
                    ..col("seen_at", T::DateTimeTz)
                },
                col("hash", T::Binary(16)),
                col("photo", T::Blob),
                col("prefs", T::Json),
                col("small", T::SmallInt),
                col("big", T::BigInt),
            ],
            foreign_keys: vec![],
            uniques: vec![],
            checks: vec![Check {
                name: s("ck_users_score"),
                expr: s("score >= 0"),
            }],
            schema: None,
        },
        Operation::CreateTable {
            name: s("posts"),
            columns: vec![
                Column {
                    primary_key: true,
                    identity: true,
                    ..col("id", T::Integer)
                },
                Column {
                    nullable: Some(false),
                    ..col("user_id", T::Integer)
                },
                Column {
                    default: Some(D::Str(s("it's new"))),
                    ..col("title", T::String(100))
                },
            ],
            foreign_keys: vec![ForeignKey {
                name: s("fk_posts_user"),
                columns: names(&["user_id"]),
                ref_table: s("users"),
                ref_columns: names(&["id"]),
                on_delete: Some(OnDelete::Cascade),
            }],
            uniques: vec![],
            checks: vec![],
            schema: None,
        },
        Operation::Sql(s("INSERT INTO users (email) VALUES ('a@x'), ('b@x')")),
        Operation::Sql(s("INSERT INTO posts (user_id) SELECT id FROM users")),
    ];
    let b = vec![
        Operation::AddColumn {
            table: s("users"),
            column: Column {
                nullable: Some(false),
                default: Some(D::Str(s("anon"))),
                ..col("nickname", T::String(50))
            },
            schema: None,
        },
        Operation::AlterColumn {
            table: s("users"),
            name: s("score"),
            ty: Some(T::BigInt),
            nullable: Some(false),
            default: Some(D::Int(1)),
            drop_default: false,
            schema: None,
        },
        Operation::AlterColumn {
            table: s("users"),
            name: s("active"),
            ty: None,
            nullable: None,
            default: None,
            drop_default: true,
            schema: None,
        },
        Operation::RenameColumn {
            table: s("users"),
            name: s("note"),
            new_name: s("bio"),
            schema: None,
        },
        Operation::CreateIndex {
            name: s("ix_users_nickname"),
            table: s("users"),
            columns: names(&["nickname", "born"]),
            unique: false,
            schema: None,
        },
        Operation::CreateIndex {
            name: s("ux_posts_id_title"),
            table: s("posts"),
            columns: names(&["id", "title"]),
            unique: true,
            schema: None,
        },
        Operation::DropIndex {
            name: s("ux_posts_id_title"),
            table: s("posts"),
            schema: None,
        },
        Operation::AddColumn {
            table: s("posts"),
            column: col("editor_id", T::Integer),
            schema: None,
        },
        Operation::AddForeignKey {
            table: s("posts"),
            foreign_key: ForeignKey {
                name: s("fk_posts_editor"),
                columns: names(&["editor_id"]),
                ref_table: s("users"),
                ref_columns: names(&["id"]),
                on_delete: Some(OnDelete::SetNull),
            },
            schema: None,
        },
        Operation::AddUnique {
            table: s("users"),
            unique: Unique {
                name: s("uq_users_token"),
                columns: names(&["token"]),
            },
            schema: None,
        },
        Operation::AddCheck {
            table: s("posts"),
            check: Check {
                name: s("ck_posts_title"),
                expr: s("title <> ''"),
            },
            schema: None,
        },
        Operation::DropConstraint {
            table: s("users"),
            name: s("uq_users_token"),
            schema: None,
        },
        Operation::DropConstraint {
            table: s("users"),
            name: s("ck_users_score"),
            schema: None,
        },
        Operation::DropConstraint {
            table: s("posts"),
            name: s("fk_posts_user"),
            schema: None,
        },
        Operation::DropColumn {
            table: s("users"),
            name: s("wakes"),
            schema: None,
        },
        Operation::RenameTable {
            name: s("posts"),
            new_name: s("articles"),
            schema: None,
        },
        Operation::SqlFor(rev_schema::SqlPerDialect {
            postgres: Some(s("UPDATE articles SET title = title || '!'")),
            mysql: Some(s("UPDATE articles SET title = CONCAT(title, '!')")),
            ..Default::default()
        }),
    ];
    let c = vec![Operation::DropTable {
        name: s("articles"),
        schema: None,
    }];
    [a, b, c]
}
