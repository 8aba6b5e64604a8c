//! Stored manifest files (plain, keyframe, delta): see `checks::manifest_file`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::manifest_file(data));
