//! Revision, package-name and logical-key parsing: see `checks::revspec`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::revspec(data));
