//! Generated migrations written with `Migration::to_ron` read back to the same
//! value through both readers, the fast one and RON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use proptest::prelude::*;
use rev_project::{readers, Migration};
use rev_schema::{Column, ColumnType, Default, Operation, SqlPerDialect};

/// Names as people write them, and sometimes text that needs escapes or is
/// not ASCII (which the fast reader leaves to RON).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,12}",
        1 => "[ -~]{0,16}",
        1 => "\\PC{0,8}",
    ]
}

fn column_type() -> impl Strategy<Value = ColumnType> {
    prop_oneof![
        Just(ColumnType::Integer),
        Just(ColumnType::BigInt),
        Just(ColumnType::Boolean),
        Just(ColumnType::Text),
        Just(ColumnType::Uuid),
        Just(ColumnType::DateTimeTz),
        (1u32..10_000).prop_map(ColumnType::String),
        (1u8..38, 0u8..10).prop_map(|(p, s)| ColumnType::Decimal(p, s)),
        (1u32..64).prop_map(ColumnType::Binary),
        text().prop_map(ColumnType::Custom),
    ]
}

fn default() -> impl Strategy<Value = Option<Default>> {
    prop_oneof![
        3 => Just(None),
        1 => any::<i64>().prop_map(|n| Some(Default::Int(n))),
        1 => prop_oneof![Just(0.5f64), Just(-2.25), Just(1e10)].prop_map(|f| Some(Default::Float(f))),
        1 => text().prop_map(|s| Some(Default::Str(s))),
        1 => any::<bool>().prop_map(|b| Some(Default::Bool(b))),
        1 => Just(Some(Default::Now)),
        1 => text().prop_map(|s| Some(Default::Expr(s))),
    ]
}

fn column() -> impl Strategy<Value = Column> {
    (
        text(),
        column_type(),
        proptest::option::of(any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        default(),
    )
        .prop_map(
            |(name, ty, nullable, primary_key, unique, default)| Column {
                name,
                ty,
                nullable,
                primary_key,
                identity: false,
                unique,
                default,
            },
        )
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (
            text(),
            proptest::collection::vec(column(), 0..4),
            proptest::option::of(text())
        )
            .prop_map(|(name, columns, schema)| Operation::CreateTable {
                name,
                columns,
                foreign_keys: Vec::new(),
                uniques: Vec::new(),
                checks: Vec::new(),
                schema,
            }),
        (text(), proptest::option::of(text()))
            .prop_map(|(name, schema)| Operation::DropTable { name, schema }),
        (text(), column()).prop_map(|(table, column)| Operation::AddColumn {
            table,
            column,
            schema: None,
        }),
        text().prop_map(Operation::Sql),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text())
        )
            .prop_map(
                |(mssql, postgres, sqlite)| Operation::SqlFor(SqlPerDialect {
                    mssql,
                    postgres,
                    sqlite,
                    mysql: None,
                })
            ),
    ]
}

fn migration() -> impl Strategy<Value = Migration> {
    (
        "[a-f0-9]{12}",
        proptest::collection::vec("[a-f0-9]{12}", 0..3),
        text(),
        proptest::option::of(Just("2026-12-01T10:00:00Z".to_owned())),
        proptest::collection::vec("[a-z]{1,8}", 0..2),
        any::<bool>(),
        proptest::collection::vec(operation(), 0..4),
        proptest::option::of(proptest::collection::vec(operation(), 0..2)),
    )
        .prop_map(
            |(id, parents, message, created, branch_labels, transactional, upgrade, downgrade)| {
                Migration {
                    id,
                    parents,
                    message,
                    created,
                    branch_labels,
                    depends_on: Vec::new(),
                    transactional,
                    upgrade,
                    downgrade,
                    acknowledged: Vec::new(),
                    replaces: Vec::new(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn both_readers_read_back_what_to_ron_wrote(m in migration()) {
        let text = m.to_ron().unwrap();
        let slow = readers::ron(&text);
        prop_assert_eq!(slow.as_ref(), Ok(&m), "RON on:\n{}", text);
        if let Some(fast) = readers::fast(&text) {
            prop_assert_eq!(&fast, &m, "fast reader on:\n{}", text);
        }
        let parsed = Migration::parse(&text).unwrap();
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.checksum(), m.checksum());
    }

    /// Whatever either reader makes of mutated text, they agree.
    #[test]
    fn the_readers_agree_on_mutated_text(m in migration(), at in any::<prop::sample::Index>(), with in "[\\x00-\\x7f]{0,3}") {
        let text = m.to_ron().unwrap();
        let cut = at.index(text.len() + 1);
        let Some((head, tail)) = text.get(..cut).zip(text.get(cut..)) else {
            return Ok(());
        };
        let mutated = format!("{head}{with}{}", tail.get(1..).unwrap_or(""));
        if let Some(fast) = readers::fast(&mutated) {
            prop_assert_eq!(readers::ron(&mutated), Ok(fast), "on:\n{}", mutated);
        }
    }
}

/// Plain ASCII migrations, the form rev writes, take the fast path: the
/// property above would prove little if the fast reader gave up on all.
#[test]
fn the_fast_reader_takes_rev_s_own_output() {
    let m = Migration {
        id: "a1b2c3d4e5f6".into(),
        parents: vec!["0a1b2c3d4e5f".into()],
        message: "add users".into(),
        created: None,
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        transactional: true,
        upgrade: vec![Operation::Sql("SELECT 1".into())],
        downgrade: None,
        acknowledged: Vec::new(),
        replaces: Vec::new(),
    };
    assert_eq!(readers::fast(&m.to_ron().unwrap()), Some(m));
}
