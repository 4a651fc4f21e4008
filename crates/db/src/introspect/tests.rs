use rev_schema::{Check, ColumnType as T, Default as D};
use rev_sql::DialectKind as K;

use super::*;

#[test]
fn catalog_types_read_as_model_types() {
    assert_eq!(parse_type(K::Mssql, "nvarchar(255)"), T::String(255));
    assert_eq!(parse_type(K::Mssql, "nvarchar(max)"), T::Text);
    assert_eq!(
        parse_type(K::Postgres, "character varying(40)"),
        T::String(40)
    );
    assert_eq!(
        parse_type(K::Postgres, "timestamp with time zone"),
        T::DateTimeTz
    );
    assert_eq!(parse_type(K::Postgres, "numeric(10,2)"), T::Decimal(10, 2));
    assert_eq!(parse_type(K::Mysql, "int(11)"), T::Integer);
    assert_eq!(parse_type(K::Mysql, "tinyint(1)"), T::Boolean);
    assert_eq!(parse_type(K::Mysql, "datetime(6)"), T::DateTime);
    assert_eq!(
        parse_type(K::Mysql, "int(10) unsigned"),
        T::Custom("int(10) unsigned".into())
    );
    assert_eq!(parse_type(K::Sqlite, "VARCHAR(255)"), T::String(255));
    assert_eq!(parse_type(K::Sqlite, "CHAR(36)"), T::Uuid);
    assert_eq!(parse_type(K::Postgres, "real"), T::Custom("real".into()));
    assert_eq!(
        parse_type(K::Postgres, "timestamp(3) with time zone"),
        T::DateTimeTz
    );
    assert_eq!(
        parse_type(K::Postgres, "time(3) without time zone"),
        T::Time
    );
    assert_eq!(
        parse_type(K::Postgres, "text[]"),
        T::Custom("text[]".into())
    );
    assert_eq!(
        parse_type(K::Postgres, "character varying(20)[]"),
        T::Custom("character varying(20)[]".into())
    );
}

#[test]
fn every_model_type_has_a_canonical_form_that_is_stable() {
    let all = [
        T::Integer,
        T::BigInt,
        T::SmallInt,
        T::Boolean,
        T::String(20),
        T::Text,
        T::Decimal(10, 2),
        T::Float,
        T::Date,
        T::Time,
        T::DateTime,
        T::DateTimeTz,
        T::Uuid,
        T::Binary(16),
        T::Blob,
        T::Json,
        T::Custom("VARCHAR(7)".into()),
    ];
    for kind in [K::Sqlite, K::Postgres, K::Mysql, K::Mssql] {
        for ty in &all {
            let once = canonical_type(kind, ty, false);
            assert_eq!(canonical_type(kind, &once, false), once, "{kind} {ty:?}");
        }
    }
    assert_eq!(canonical_type(K::Sqlite, &T::Json, false), T::Text);
    assert_eq!(canonical_type(K::Sqlite, &T::BigInt, true), T::Integer);
    assert_eq!(canonical_type(K::Mssql, &T::String(5000), false), T::Text);
    assert_eq!(canonical_type(K::Postgres, &T::Json, false), T::Json);
    assert_eq!(canonical_type(K::Postgres, &T::Binary(4), false), T::Blob);
    assert_eq!(
        canonical_type(K::Mysql, &T::Custom("VARCHAR(7)".into()), false),
        T::String(7)
    );
}

#[test]
fn catalog_defaults_read_as_model_defaults() {
    let s = |x: &str| D::Str(x.into());
    assert_eq!(
        parse_default(K::Mssql, &T::DateTime, "(sysdatetime())"),
        Some(D::Now)
    );
    assert_eq!(
        parse_default(K::Mssql, &T::Integer, "((0))"),
        Some(D::Int(0))
    );
    assert_eq!(
        parse_default(K::Mssql, &T::Text, "(N'it''s')"),
        Some(s("it's"))
    );
    assert_eq!(
        parse_default(K::Postgres, &T::DateTime, "CURRENT_TIMESTAMP"),
        Some(D::Now)
    );
    assert_eq!(
        parse_default(K::Postgres, &T::DateTime, "now()"),
        Some(D::Now)
    );
    assert_eq!(
        parse_default(K::Postgres, &T::String(9), "'anon'::character varying"),
        Some(s("anon"))
    );
    assert_eq!(
        parse_default(K::Postgres, &T::Integer, "'-5'::integer"),
        Some(D::Int(-5))
    );
    assert_eq!(
        parse_default(K::Postgres, &T::Boolean, "true"),
        Some(D::Bool(true))
    );
    assert_eq!(parse_default(K::Mysql, &T::Boolean, "1"), Some(D::Int(1)));
    assert_eq!(
        parse_default(K::Mysql, &T::DateTime, "current_timestamp(6)"),
        Some(D::Now)
    );
    assert_eq!(
        parse_default(K::Mysql, &T::Uuid, "uuid()"),
        Some(D::NewUuid)
    );
    assert_eq!(parse_default(K::Mysql, &T::String(3), "NULL"), None);
    assert_eq!(
        parse_default(K::Sqlite, &T::String(3), "'a''b'"),
        Some(s("a'b"))
    );
    assert_eq!(
        parse_default(K::Sqlite, &T::Integer, "(abs(random()) % 10)"),
        Some(D::Expr("abs(random()) % 10".into()))
    );
}

#[test]
fn defaults_rev_writes_are_the_same_as_what_the_catalog_gives_back() {
    assert!(same_default(
        K::Mysql,
        &T::Boolean,
        &D::Int(1),
        &D::Bool(true)
    ));
    assert!(same_default(
        K::Sqlite,
        &T::Boolean,
        &D::Int(0),
        &D::Bool(false)
    ));
    assert!(!same_default(
        K::Postgres,
        &T::Boolean,
        &D::Int(0),
        &D::Bool(false)
    ));
    assert!(same_default(
        K::Mysql,
        &T::Decimal(10, 2),
        &D::Float(1.5),
        &D::Float(1.5)
    ));
    assert!(same_default(
        K::Mysql,
        &T::Float,
        &D::Int(2),
        &D::Float(2.0)
    ));
    assert!(same_default(
        K::Postgres,
        &T::Integer,
        &D::Expr("(1 + 2)".into()),
        &D::Expr("1+2".into())
    ));
    assert!(!same_default(
        K::Sqlite,
        &T::Integer,
        &D::Int(1),
        &D::Int(2)
    ));
}

#[test]
fn checks_compare_in_a_normalised_form() {
    assert_eq!(normalize_sql("(price > (0))"), normalize_sql("price>0"));
    assert_eq!(normalize_sql("([price]>(0))"), normalize_sql("price > 0"));
    assert_eq!(
        normalize_sql("((title)::text <> ''::text)"),
        normalize_sql("title <> ''")
    );
    assert_eq!(normalize_sql("`Title` <> 'A B'"), "title<>'A B'");
    assert_ne!(normalize_sql("a > 1"), normalize_sql("a > 2"));
}

#[test]
fn mariadb_rewrites_length_to_octet_length_and_that_is_the_same_check() {
    let stored = "octet_length(`title`) > 0";
    assert_eq!(
        normalize_check(K::Mysql, stored),
        normalize_check(K::Mysql, "length(title) > 0")
    );
    // Only the function: a column whose name ends in it is left alone.
    assert_ne!(
        normalize_check(K::Mysql, "my_octet_length > 0"),
        normalize_check(K::Mysql, "my_length > 0")
    );
    // Other dialects keep the two apart.
    assert_ne!(
        normalize_check(K::Postgres, stored),
        normalize_check(K::Postgres, "length(title) > 0")
    );
}

#[test]
fn reconcile_takes_the_declared_spelling_of_what_the_dialect_cannot_tell_apart() {
    let table = |columns: Vec<Column>, checks: Vec<Check>| Table {
        columns,
        checks,
        ..empty_table("t")
    };
    let col = |name: &str, ty: T| Column {
        name: name.into(),
        ty,
        nullable: None,
        primary_key: false,
        identity: false,
        unique: false,
        default: None,
    };
    let live = Schema::from_tables([table(
        vec![
            Column {
                default: Some(D::Int(1)),
                ..col("flag", T::Boolean)
            },
            col("doc", T::Text),
            col("name", T::Text),
        ],
        vec![Check {
            name: "ck".into(),
            expr: "(length(`doc`) > 0)".into(),
        }],
    )]);
    let declared = Schema::from_tables([table(
        vec![
            Column {
                default: Some(D::Bool(true)),
                ..col("flag", T::Boolean)
            },
            col("doc", T::Json),
            col("name", T::String(20)),
        ],
        vec![Check {
            name: "ck".into(),
            expr: "length(doc) > 0".into(),
        }],
    )]);
    let found = rev_schema::diff(&declared, &reconcile(&live, &declared, K::Sqlite));
    let kinds: Vec<String> = found.ops.iter().map(|op| format!("{op:?}")).collect();
    assert_eq!(kinds.len(), 1, "{kinds:#?}");
    assert!(
        kinds[0].contains("name") && kinds[0].contains("Text"),
        "{kinds:#?}"
    );
}

#[test]
fn a_unique_index_the_models_name_is_not_taken_for_a_columns_unique_key() {
    // MySQL reads both back as unique keys: `email` (the column's UNIQUE) and
    // `ix_users_email` (a declared unique index on the same column).
    let email = |unique: bool| Column {
        name: "email".into(),
        ty: T::String(255),
        nullable: Some(false),
        primary_key: false,
        identity: false,
        unique,
        default: None,
    };
    let index = rev_schema::Index {
        name: "ix_users_email".into(),
        columns: vec!["email".into()],
        unique: true,
    };
    let unique = |name: &str| rev_schema::Unique {
        name: name.into(),
        columns: vec!["email".into()],
    };
    let live = Schema::from_tables([Table {
        columns: vec![email(false)],
        uniques: vec![unique("ix_users_email"), unique("email")],
        ..empty_table("users")
    }]);
    let declared = Schema::from_tables([Table {
        columns: vec![email(true)],
        indexes: vec![index],
        ..empty_table("users")
    }]);
    let reconciled = reconcile(&live, &declared, DialectKind::Mysql);
    assert!(rev_schema::diff(&reconciled, &declared).is_empty());
}
