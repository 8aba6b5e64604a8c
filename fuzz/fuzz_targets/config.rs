//! AWS config and credentials files, credential_process answers and quilt's config.toml: see
//! `checks::config`.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config(data));
