//! Helpers shared by the end-to-end tests: run the real binary, make trees, find quilt3.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `quilt` binary with the flags every CLI test uses.
pub fn quilt(dir: &Path) -> assert_cmd::Command {
    let mut cmd =
        assert_cmd::Command::cargo_bin("quilt").expect("the quilt binary is built by cargo test");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", dir.join(".test-cache"))
        // The user's own settings (`quilt config`) must not reach the tests.
        .env("QUILT_CONFIG_DIR", dir.join(".test-config"))
        .arg("--no-progress");
    cmd
}

/// Runs quilt and returns stdout, failing the test with stderr on a non-zero exit.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    expect_ok(args, quilt(dir).args(args).output().expect("run quilt"))
}

/// Runs quilt with `env` added to its environment (the S3 test server's, say).
pub fn run_env(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    quilt(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .output()
        .expect("run quilt")
}

/// [`ok`] with `env` added to quilt's environment.
pub fn ok_env(dir: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    expect_ok(args, run_env(dir, env, args))
}

/// Runs quilt with `env` added, expecting failure; returns stderr.
pub fn fails_env(dir: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    expect_failure(args, run_env(dir, env, args)).1
}

/// The exit code and stderr of quilt run with `args`, failing the test if it succeeded.
pub fn expect_failure(args: &[&str], out: Output) -> (i32, String) {
    assert!(
        !out.status.success(),
        "quilt {args:?} unexpectedly succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The stdout of quilt run with `args`, failing the test with both outputs on a non-zero exit.
pub fn expect_ok(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "quilt {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The JSON document on the last line of `--json` output.
pub fn last_json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.lines().last().expect("a JSON line")).expect("JSON output")
}

/// Runs quilt expecting failure; returns (exit code, stderr).
pub fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    expect_failure(args, quilt(dir).args(args).output().expect("run quilt"))
}

pub fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("file has a parent")).expect("mkdir");
    std::fs::write(p, data).expect("write file");
}

/// Deterministic pseudo-random bytes (xorshift), so trees are reproducible.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The top hash printed by `quilt build` (first line of stdout).
pub fn top_hash(stdout: &str) -> String {
    let line = stdout
        .lines()
        .next()
        .expect("build prints the top hash")
        .trim()
        .to_owned();
    assert_eq!(line.len(), 64, "not a top hash: {line:?}");
    line
}

/// Whether the tests run in CI (`CI=true`, as CI services and `.ci/run` set it). There nothing
/// may be skipped: what a local run may skip with a note fails instead.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Skips the rest of a test with a note on a local run; fails it under CI, where a skipped
/// test would count as a pass.
pub fn skip_or_fail(why: &str) {
    assert!(!in_ci(), "CI=true, and this test cannot run: {why}");
    eprintln!("SKIPPED (fails under CI=true): {why}");
}

/// The Python interpreter of the venv that has quilt3 (`QUILT_TEST_PYTHON` overrides).
/// Missing quilt3 fails the test: set `QUILT_SKIP_PYTHON=1` to skip these tests knowingly
/// (not under CI=true, where that fails them).
pub fn python() -> Option<PathBuf> {
    if std::env::var("QUILT_SKIP_PYTHON").is_ok_and(|v| v == "1") {
        skip_or_fail("QUILT_SKIP_PYTHON=1 skips the quilt3 interop tests");
        return None;
    }
    let p = std::env::var_os("QUILT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/quilt-venv/bin/python")
        });
    assert!(
        p.exists(),
        "quilt3's Python not found at {} — run scripts/test-setup.sh (or set QUILT_TEST_PYTHON)",
        p.display()
    );
    Some(p)
}

/// Runs a helper script from tests/py with quilt3's Python; returns stdout.
pub fn run_py(python: &Path, script: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let mut cmd = Command::new(python);
    cmd.arg(path)
        .args(args)
        .env("QUILT_DISABLE_USAGE_METRICS", "true");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A manifest with every entry's `physical_keys` removed, for comparing writers that put
/// the data in different places.
pub fn without_physical_keys(manifest: &[u8]) -> String {
    let text = std::str::from_utf8(manifest).expect("manifest is UTF-8");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.find("\"physical_keys\": [") {
            Some(start) => {
                let rest = &line[start..];
                let end = rest.find("], ").expect("physical_keys list ends") + 3;
                out.push_str(&line[..start]);
                out.push_str(&rest[end..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The quilt3 JSONL of a manifest in the local store under `dir/.quilt` (kept compressed
/// there, so read through the store).
pub fn local_manifest(dir: &Path, top: &str) -> Vec<u8> {
    let store = quilt::store::Store::open(&dir.join(".quilt")).expect("open store");
    store
        .manifest_bytes(&top.parse().expect("top hash"))
        .expect("manifest in the store")
}

/// The bytes of a stored manifest in a quilt3-layout registry directory.
pub fn registry_manifest(registry: &Path, top: &str) -> Vec<u8> {
    std::fs::read(registry.join(".quilt/packages").join(top)).expect("manifest in registry")
}

/// Every file below `root` (relative path, bytes), sorted; `.quilt*` names and the tests'
/// `.test-cache` are skipped.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".quilt") || name == ".test-cache" {
                continue;
            }
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(root).expect("rel").to_owned();
                let rel = rel.to_str().expect("utf-8").to_owned();
                out.push((rel, std::fs::read(e.path()).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The two trees hold the same files with the same bytes ([`tree`]'s view of them).
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let (a, b) = (tree(expected), tree(actual));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "file lists differ");
    assert!(a == b, "file contents differ");
}

/// The binary in a fresh environment: nothing inherited but PATH, HOME set to `home`, so the
/// platform's configuration directory (`~/.config/quilt`) and cache (`~/.cache/quilt`) are
/// under it.
pub fn fresh(dir: &Path, home: &Path) -> assert_cmd::Command {
    let mut cmd =
        assert_cmd::Command::cargo_bin("quilt").expect("the quilt binary is built by cargo test");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .arg("--no-progress");
    cmd
}
