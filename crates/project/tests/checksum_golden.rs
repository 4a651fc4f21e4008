//! The checksums of applied migrations are stored in every database rev ran
//! on: a RON or serde upgrade that changed them would make every applied
//! migration look edited. These are pinned as fixed strings; if one changes,
//! the canonical form changed and old databases would refuse to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::path::Path;

use rev_project::Migration;

fn checksum(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checksums")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    Migration::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        .checksum()
}

/// Layout, line endings, a byte-order mark and tabs do not count.
#[test]
fn checksums_of_the_fixtures_are_pinned() {
    const USERS: &str = "550cb3fe9f1ddf4b04dc103cae957711e585ca1bc9ef69a6d55ee39e77c5c31b";
    for name in ["plain.ron", "crlf.ron", "bom.ron", "tabs.ron"] {
        assert_eq!(checksum(name), USERS, "{name}");
    }
    assert_eq!(
        checksum("non_transactional.ron"),
        "bf6ab00165a0b9e8b948110a83baae83d110b23f05937657335e40a79a76d474"
    );
}

/// The fixtures really are the variants they are named for.
#[test]
fn the_fixtures_hold_their_variants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checksums");
    let bytes = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert!(bytes("crlf.ron").windows(2).any(|w| w == b"\r\n"));
    assert!(bytes("bom.ron").starts_with("\u{feff}".as_bytes()));
    assert!(bytes("tabs.ron").contains(&b'\t'));
    assert!(!bytes("plain.ron").contains(&b'\r'));
}
