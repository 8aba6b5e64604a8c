//! The pack checksum: see `checks::pack_checksum`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pack_checksum(data));
