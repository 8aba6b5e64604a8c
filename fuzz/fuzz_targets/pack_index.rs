//! The pack index validator: arbitrary index bytes (made checksum-consistent) against a small
//! valid pack. Opening must never panic, and no lookup may return bytes that do not hash to
//! the requested id.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let scratch = common::Scratch::new();
    // The smallest valid pack: header and trailer, no records.
    let mut pack = b"QPACK\0\0\0\x01\0\0\0".to_vec();
    let trailer = blake3::hash(&pack);
    pack.extend_from_slice(trailer.as_bytes());
    let mut idx = data.to_vec();
    common::fix_up(&mut idx, &pack);
    common::read_through(&scratch.root(), &idx, &pack);
});
