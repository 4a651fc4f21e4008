//! The fast reader never panics, and whatever it accepts RON reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rev_project::readers;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = readers::fast(text) {
        assert_eq!(readers::ron(text), Ok(fast), "the readers disagree on {text:?}");
    }
});
