//! The chunk-list decoder: see `checks::chunk_list`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::chunk_list(data));
