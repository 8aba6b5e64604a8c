//! `Manifest::from_slice` on arbitrary bytes: no panic, and whatever parses writes back to
//! bytes that parse to the same top hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quilt::hash::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_slice(data) {
        let bytes = m.to_bytes();
        let again = Manifest::from_slice(&bytes).expect("a written manifest parses");
        assert_eq!(again.top_hash(), m.top_hash());
    }
});
