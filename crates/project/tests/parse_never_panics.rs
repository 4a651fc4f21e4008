//! Migration files come from users and editors: any text must parse or fail
//! with a position, never panic, and the fast reader must agree with RON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use rev_project::Migration;

const FILE: &str = r#"// create users
Migration(
    id: "1f3a9c2b7d40",
    parents: ["0a1b2c3d4e5f", "abc"],
    message: "create users",
    created: "2026-11-02T09:00:00Z",
    branch_labels: ["feat"],
    depends_on: [],
    transactional: false,
    upgrade: [
        CreateTable(
            name: "users",
            columns: [
                Column(name: "id", type: Integer, primary_key: true, identity: true),
                Column(name: "email", type: String(255), nullable: false, default: Some(Str("x"))),
                Column(name: "price", type: Decimal(10, 2), default: Int(-3)),
            ],
            foreign_keys: [ForeignKey(name: "fk", columns: ["a"], ref_table: "t", ref_columns: ["id"], on_delete: Cascade)],
        ),
        SqlFor(mssql: "SELECT 1", sqlite: Some("SELECT 2")),
        Sql("DROP TABLE x"),
    ],
    downgrade: [DropTable(name: "users")],
)
"#;

fn by_ron(text: &str) -> Result<Migration, ron::error::SpannedError> {
    use ron::extensions::Extensions;
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
        .from_str(text)
}

/// Every single-byte deletion and a set of replacements at every position.
#[test]
fn mutated_files_never_panic() {
    let original = Migration::parse(FILE).expect("the base file is valid");
    assert_eq!(original.upgrade.len(), 3);
    let bytes = FILE.as_bytes();
    let replacements: &[&[u8]] = &[
        b"",
        b"(",
        b")",
        b"[",
        b"]",
        b"\"",
        b",",
        b":",
        b"\\",
        b"9",
        b"-",
        b"#",
        b"/",
        b"\xc3\xa9",
        b"Some(",
        b"\n",
    ];
    let mut parsed = 0;
    for at in 0..bytes.len() {
        for with in replacements {
            let mut text = bytes[..at].to_vec();
            text.extend_from_slice(with);
            text.extend_from_slice(&bytes[at + 1..]);
            let Ok(text) = String::from_utf8(text) else {
                continue;
            };
            match Migration::parse(&text) {
                Ok(fast) => {
                    parsed += 1;
                    // The fast reader must never accept a file differently than RON.
                    let slow: Migration = by_ron(&text).expect("RON accepts what rev accepts");
                    assert_eq!(fast, slow, "{text}");
                }
                Err(failure) => {
                    assert!(failure.line >= 1 && failure.col >= 1);
                    assert!(!failure.message.is_empty());
                }
            }
        }
    }
    // Some mutations (inside strings, comments) still parse; most do not.
    assert!(parsed > 0);
}

/// Every prefix of the file (an editor saving half a file) fails cleanly.
#[test]
fn truncated_files_never_panic() {
    for end in 0..FILE.len() {
        if let Some(text) = FILE.get(..end) {
            let _ = Migration::parse(text);
        }
    }
}
