//! What a user reads: metadata that comes back out, sorted and escaped listings, singular
//! counts, and error messages that name the real problem once.

mod common;

use std::path::Path;

use common::{bytes, fails, ok, quilt, top_hash, write};

fn init_with(root: &Path, files: &[(&str, &[u8])]) {
    for (name, data) in files {
        write(root, name, data);
    }
    ok(root, &["init"]);
}

#[test]
fn meta_shows_package_and_entry_metadata() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a"), ("b.csv", b"b")]);
    ok(
        root,
        &[
            "build",
            "t/ds",
            "--meta",
            r#"{"source": "lab"}"#,
            "--entry-meta",
            r#"{"a.csv": {"unit": "m"}}"#,
        ],
    );
    let out = ok(root, &["meta", "t/ds"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("metadata is JSON");
    assert_eq!(v, serde_json::json!({"source": "lab"}));
    let out = ok(root, &["meta", "t/ds", "a.csv"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("metadata is JSON");
    assert_eq!(v, serde_json::json!({"unit": "m"}));
    assert_eq!(ok(root, &["meta", "t/ds", "b.csv"]).trim(), "null");
    let (code, err) = fails(root, &["meta", "t/ds", "nope.csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("no file nope.csv"), "{err}");
}

#[test]
fn rebuild_without_meta_keeps_the_package_metadata() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a")]);
    ok(root, &["build", "t/ds", "--meta", r#"{"source": "lab"}"#]);
    write(root, "b.csv", b"b");
    ok(root, &["build", "t/ds", "-m", "add b"]);
    let out = ok(root, &["meta", "t/ds"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v, serde_json::json!({"source": "lab"}), "carried forward");
    // `--meta null` clears it.
    write(root, "c.csv", b"c");
    ok(root, &["build", "t/ds", "--meta", "null"]);
    assert_eq!(ok(root, &["meta", "t/ds"]).trim(), "null");
}

#[test]
fn diff_reports_metadata_apart_from_files() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a")]);
    let v1 = top_hash(&ok(root, &["build", "t/ds", "--meta", r#"{"v": 1}"#]));
    let v2 = top_hash(&ok(root, &["build", "t/ds", "--meta", r#"{"v": 2}"#]));
    let text = ok(root, &["diff", &v1, &v2]);
    assert_eq!(text, "package user_meta: {\"v\":1} -> {\"v\":2}\n");
    let out = ok(root, &["--json", "diff", &v1, &v2]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["changes"], serde_json::json!([]), "no fake file key: {v}");
    assert_eq!(v["metadata"][0]["field"], "user_meta");
}

#[test]
fn status_and_both_diffs_sort_by_path() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("b.csv", b"b"), ("d.csv", b"d")]);
    let v1 = top_hash(&ok(root, &["build", "t/ds"]));
    write(root, "a.csv", b"new");
    write(root, "b.csv", b"changed");
    std::fs::remove_file(root.join("d.csv")).expect("rm");
    write(root, "c.csv", b"new");
    let want = "A a.csv\nM b.csv\nA c.csv\nD d.csv\n";
    let status = ok(root, &["status"]);
    assert!(status.ends_with(want), "{status}");
    assert_eq!(
        ok(root, &["diff", &v1]),
        want,
        "version vs working directory"
    );
    let v2 = top_hash(&ok(root, &["build", "t/ds"]));
    assert_eq!(ok(root, &["diff", &v1, &v2]), want, "version vs version");
}

#[test]
fn one_file_is_singular() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a")]);
    let out = quilt(root).args(["build", "t/ds"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("t/ds: 1 file, ") && err.contains("1 new object "),
        "{err}"
    );
    let out = quilt(root).args(["build", "t/ds"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing changed (1 file)"), "{err}");
    assert!(ok(root, &["status"]).contains("nothing changed (1 file)"));
}

#[test]
fn ls_escapes_control_characters_in_names() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(
        root,
        &[("evil\nname\x1b[31m.csv", b"x"), ("plain.csv", b"y")],
    );
    ok(root, &["build", "t/ds"]);
    let out = ok(root, &["ls", "t/ds"]);
    assert_eq!(out.lines().count(), 2, "one line per file: {out:?}");
    assert!(out.contains(r#""evil\nname\u{1b}[31m.csv""#), "{out:?}");
    assert!(
        !out.contains('\x1b'),
        "no raw escape reaches the terminal: {out:?}"
    );
    assert!(out.contains("  plain.csv\n"), "{out:?}");
}

#[test]
fn missing_dash_c_directory_is_named() {
    let t = tempfile::tempdir().expect("tempdir");
    let missing = t.path().join("nope");
    let missing = missing.to_str().expect("utf-8");
    let (code, err) = fails(t.path(), &["-C", missing, "status"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(missing) && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("quilt init"), "not a missing store: {err}");
}

#[test]
fn os_errors_are_not_repeated() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a")]);
    let (_, err) = fails(root, &["build", "t/ds", "no-such-dir"]);
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn missing_remote_directory_is_not_a_missing_package() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    init_with(&root, &[("a.csv", b"a")]);
    let gone = t.path().join("no-registry");
    let gone = gone.to_str().expect("utf-8");
    for args in [
        &["pull", "t/ds", gone][..],
        &["fetch", "t/ds", gone][..],
        &["install", "t/ds", "--from", gone, "--dest", "out"][..],
    ] {
        let (code, err) = fails(&root, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains("remote directory") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn verify_names_objects_in_hex() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let data = bytes(7, 3000);
    init_with(root, &[("small.bin", &data)]);
    ok(root, &["build", "t/ds"]);
    let packs = root.join(".quilt/objects/pack");
    for pack in std::fs::read_dir(&packs).expect("pack dir").flatten() {
        let mut raw = std::fs::read(pack.path()).expect("read");
        if let Some(at) = raw.windows(64).position(|w| w == &data[..64]) {
            raw[at + 1500] ^= 0x5a;
            std::fs::write(pack.path(), raw).expect("write");
        }
    }
    let out = quilt(root).arg("verify").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let id = quilt::hash::hash_bytes(&data);
    assert!(text.contains(&id.to_hex()), "hex: {text}");
    assert!(!text.contains(&id.value_string()), "no base64: {text}");
}

#[test]
fn progress_lines_count_objects_and_round_rates() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(
        root,
        &[("a.csv", b"a"), ("b.csv", b"bb"), ("c.csv", b"ccc")],
    );
    // Progress on (no --no-progress); stderr is a pipe, so plain lines are printed.
    let out = assert_cmd::Command::cargo_bin("quilt")
        .expect("binary")
        .current_dir(root)
        .args(["build", "t/ds"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("hashing: "))
        .unwrap_or_else(|| panic!("a hashing summary line: {err}"));
    assert!(line.contains("3 objects"), "{line}");
    let rate = line
        .split(", ")
        .find(|p| p.contains("/s"))
        .unwrap_or_else(|| panic!("a rate: {line}"));
    let number = rate.split(' ').next().unwrap_or_default();
    let decimals = number.split('.').nth(1).map_or(0, str::len);
    assert!(decimals <= 2, "rounded rate: {line}");
}

#[test]
fn interrupt_exits_130_with_kind_interrupted() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    ok(root, &["init"]);
    // Sparse files: gigabytes to hash without using the disk.
    for i in 0..16 {
        let f = std::fs::File::create(root.join(format!("big{i}.bin"))).expect("create");
        f.set_len(256 << 20).expect("sparse");
    }
    let bin = assert_cmd::cargo::cargo_bin("quilt");
    let child = std::process::Command::new(bin)
        .current_dir(root)
        .args(["--no-progress", "--json", "build", "t/ds"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child process by pid.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "child was still running");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("error document");
    assert_eq!(v["kind"], "interrupted");
}

/// `quilt ls ... | head -1`: a reader that goes away ends quilt quietly, by SIGPIPE's default
/// action, not with a "Broken pipe" panic (exit 101) on stderr.
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt as _;

    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init_with(root, &[("a.csv", b"a"), ("b.csv", b"b")]);
    ok(root, &["build", "t/ds"]);
    // The reading end is closed before quilt starts, so its first write finds no reader.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("quilt"))
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", root.join(".test-cache"))
        .env("QUILT_CONFIG_DIR", root.join(".test-config"))
        .args(["--no-progress", "ls", "t/ds"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run quilt");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{:?}", out.status);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}
