//! Parsing any text never panics and reports a position; what parses is
//! written back by `to_ron` to text that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rev_project::Migration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Migration::parse(text) {
        Ok(migration) => {
            let _ = migration.checksum();
            if let Ok(written) = migration.to_ron() {
                let again = Migration::parse(&written);
                assert_eq!(again.as_ref().ok(), Some(&migration), "{written}");
            }
        }
        Err(failure) => assert!(failure.line >= 1 && failure.col >= 1),
    }
});
