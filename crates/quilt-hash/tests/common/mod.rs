//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The quilt3 virtualenv's Python, or `QUILT_TEST_PYTHON`.
///
/// Interop tests must not pass silently when the reference is missing, so a missing Python
/// fails the test unless `QUILT_SKIP_PYTHON=1` says to skip it (not under CI=true); then this
/// returns `None`.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("QUILT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.cache/quilt-venv/bin/python"));
    if path.exists() {
        return Some(path);
    }
    // Under CI a skipped test would count as a pass.
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if !ci && std::env::var("QUILT_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!(
            "skipping: no Python at {} and QUILT_SKIP_PYTHON=1",
            path.display()
        );
        return None;
    }
    panic!(
        "reference Python not found at {}: set QUILT_TEST_PYTHON to a Python with quilt3 installed, \
         or QUILT_SKIP_PYTHON=1 to skip interop tests",
        path.display()
    );
}

/// Runs `script` with `stdin` as input and returns its stdout; panics with stderr on failure.
pub fn run_python(python: &PathBuf, script: &str, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .env("QUILT_DISABLE_USAGE_METRICS", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reference Python");
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(stdin)
        .expect("write to reference Python");
    let out = child.wait_with_output().expect("wait for reference Python");
    assert!(
        out.status.success(),
        "reference Python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A plain serial statement of the chunked hash, kept separate from the crate's code.
pub fn spec_chunked(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut chunk: usize = 8 << 20;
    while data.len().div_ceil(chunk) > 10_000 {
        chunk *= 2;
    }
    let mut outer = Vec::new();
    for c in data.chunks(chunk) {
        outer.extend_from_slice(&Sha256::digest(c));
    }
    Sha256::digest(&outer).into()
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
