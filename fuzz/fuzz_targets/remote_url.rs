//! Remote URLs and physical keys: see `checks::remote_url`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::remote_url(data));
