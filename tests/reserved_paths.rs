//! Packages that aim at quilt's own folder or through links: `.quilt` keys are refused by
//! pull, install and build; links in a destination are never written through; nested
//! `.quilt` folders are not data; install keeps local edits unless forced.
//!
//! Refusals are checked against snapshots of the whole tree (every file with its bytes,
//! every directory and every link target), store included, with two exceptions, both SQLite's
//! doing on any open of the store, even by a read-only command:
//! - `quilt.db-shm` and `quilt.db-wal` are left out: each connection maps and rewrites the
//!   shared-memory index, and the write-ahead log comes and goes as connections open, commit
//!   and close (it is checkpointed into `quilt.db` and removed when the last one closes);
//! - in `quilt.db`, the header's file change counter (bytes 24..28) and version-valid-for
//!   number (bytes 92..96) are masked: opening the store sets `PRAGMA user_version`, a write
//!   transaction that changes no page but bumps both. Every other byte must stay the same.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use quilt::hash::{hash_bytes, TopHasher};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

/// Every path under `root` (relative) with what it is, leaving out the store's SQLite
/// shared-memory and log files and the harness's cache directory.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd {
            let e = e.expect("dir entry");
            let path = e.path();
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "quilt.db-shm" || name == "quilt.db-wal" || rel == Path::new(".test-cache") {
                continue;
            }
            let ft = e.file_type().expect("file type");
            let node = if ft.is_symlink() {
                Node::Link(std::fs::read_link(&path).expect("readlink"))
            } else if ft.is_dir() {
                stack.push(path.clone());
                Node::Dir
            } else {
                let mut bytes = std::fs::read(&path).expect("read");
                if name == "quilt.db" && bytes.len() >= 100 {
                    bytes[24..28].fill(0);
                    bytes[92..96].fill(0);
                }
                Node::File(bytes)
            };
            out.insert(rel, node);
        }
    }
    out
}

fn assert_same(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>, what: &str) {
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{what} changed: {changed:?}");
}

/// Runs quilt expecting exit code 1 with an `error:` message; returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let (code, err) = fails(dir, args);
    assert_eq!(code, 1, "quilt {args:?} must exit 1:\n{err}");
    assert!(err.contains("error:") && !err.contains("panicked"), "{err}");
    err
}

// ---------------------------------------------------------------------------------------
// A package planted on a directory remote (quilt itself refuses to build these)
// ---------------------------------------------------------------------------------------

/// Writes objects, manifest and pointers of `evil/pkg` (quilt3's registry layout) under
/// `remote`; returns the top hash.
fn plant(remote: &Path, files: &[(&str, &[u8])]) -> String {
    let q = remote.join(".quilt");
    let mut h = Map::new();
    h.insert("version".into(), json!("v0"));
    h.insert("user_meta".into(), Value::Null);
    h.insert("message".into(), json!("planted"));
    let mut th = TopHasher::new(&h);
    let mut text = serde_json::to_string(&Value::Object(h)).expect("json");
    text.push('\n');
    let empty = json!({});
    for (key, data) in files {
        let id = hash_bytes(data);
        let digest: String = id.digest.iter().map(|b| format!("{b:02x}")).collect();
        let obj = q.join("objects").join(&digest);
        std::fs::create_dir_all(obj.parent().expect("parent")).expect("mkdir");
        std::fs::write(&obj, data).expect("object");
        th.add(key, data.len() as u64, &id, Some(&empty));
        let line = json!({
            "logical_key": key,
            "physical_keys": [format!("file://{}", obj.display())],
            "size": data.len(),
            "hash": {"type": id.kind.name(), "value": id.value_string()},
            "meta": {},
        });
        text.push_str(&serde_json::to_string(&line).expect("json"));
        text.push('\n');
    }
    let top = th.finish().to_hex();
    std::fs::create_dir_all(q.join("packages")).expect("mkdir");
    std::fs::write(q.join("packages").join(&top), text).expect("manifest");
    let np = q.join("named_packages/evil/pkg");
    std::fs::create_dir_all(&np).expect("mkdir");
    std::fs::write(np.join("1700000000"), &top).expect("pointer");
    std::fs::write(np.join("latest"), &top).expect("pointer");
    top
}

/// A working directory with one built version, so the store has data to lose.
fn worktree(root: &Path) {
    write(root, "data/a.csv", b"x,y\n1,2\n");
    write(root, "README.md", b"hello\n");
    ok(root, &["init"]);
    ok(root, &["build", "team/ds", "-m", "first"]);
}

// ---------------------------------------------------------------------------------------
// Reserved keys
// ---------------------------------------------------------------------------------------

#[test]
fn pull_of_a_quilt3_package_with_a_store_key_is_refused() {
    let Some(py) = python() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    write(&src, "ok.txt", b"fine\n");
    write(
        &src,
        ".quilt/quilt.db",
        b"not a database: the package's bytes\n",
    );
    let registry = t.path().join("registry");
    std::fs::create_dir_all(&registry).expect("mkdir");
    let top = run_py(
        &py,
        "build.py",
        &[
            src.to_str().expect("utf-8"),
            "team/evil",
            registry.to_str().expect("utf-8"),
        ],
        &[],
    );
    let top = top.trim();
    let manifest = registry_manifest(&registry, top);
    assert!(
        String::from_utf8_lossy(&manifest).contains("\".quilt/quilt.db\""),
        "quilt3 put the key in its manifest"
    );

    let ws = t.path().join("ws");
    worktree(&ws);
    ok(
        &ws,
        &["remote", "add", "origin", registry.to_str().expect("utf-8")],
    );
    let before = snapshot(&ws);
    let err = refused(&ws, &["pull", "team/evil", "origin"]);
    assert!(err.contains(".quilt/quilt.db"), "names the key: {err}");
    assert!(err.contains("reserved"), "says why: {err}");
    assert_same(
        &before,
        &snapshot(&ws),
        "the working directory or its store",
    );
    ok(&ws, &["verify"]);
    assert!(ok(&ws, &["status"]).contains("nothing changed"));
}

#[test]
fn pull_and_install_refuse_reserved_keys_and_write_nothing() {
    for key in [
        ".quilt/quilt.db",
        ".quilt/lock",
        ".QUILT/x",
        "sub/.quilt/quilt.db",
    ] {
        let t = tempfile::tempdir().expect("tempdir");
        let remote = t.path().join("remote");
        plant(&remote, &[("ok.txt", b"fine"), (key, b"evil bytes")]);
        let ws = t.path().join("ws");
        worktree(&ws);
        let dest = t.path().join("dest");
        let before = snapshot(t.path());
        let remote = remote.to_str().expect("utf-8");
        let err = refused(&ws, &["pull", "evil/pkg", remote]);
        assert!(err.contains(key), "pull names {key:?}: {err}");
        let err = refused(
            &ws,
            &[
                "install",
                "evil/pkg",
                "--from",
                remote,
                "--dest",
                dest.to_str().expect("utf-8"),
            ],
        );
        assert!(err.contains(key), "install names {key:?}: {err}");
        assert_same(&before, &snapshot(t.path()), "the tree");
        assert!(!dest.exists(), "install created its destination");
    }
}

#[test]
fn build_refuses_a_file_named_like_the_store() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path();
    worktree(ws);
    write(ws, "sub/.quilt", b"a file, not a folder");
    let before = snapshot(ws);
    let err = refused(ws, &["build", "team/ds"]);
    assert!(err.contains("sub/.quilt"), "names the key: {err}");
    assert_same(&before, &snapshot(ws), "the store");
    assert_eq!(ok(ws, &["log", "team/ds"]).lines().count(), 1);
}

// ---------------------------------------------------------------------------------------
// Nested .quilt folders
// ---------------------------------------------------------------------------------------

#[test]
fn nested_quilt_folders_are_not_data() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path();
    write(ws, "top.txt", b"top\n");
    write(ws, "sub/inner.txt", b"inner\n");
    ok(ws, &["init"]);
    ok(&ws.join("sub"), &["init"]);
    assert!(ws.join("sub/.quilt/quilt.db").is_file());
    let top = top_hash(&ok(ws, &["build", "team/outer"]));
    let ls = ok(ws, &["ls", &format!("team/outer@{top}")]);
    assert!(
        ls.contains("top.txt") && ls.contains("sub/inner.txt"),
        "{ls}"
    );
    assert!(!ls.contains(".quilt"), "nested store packaged: {ls}");
    // The nested store changes when it is used; the outer directory does not see it.
    ok(&ws.join("sub"), &["build", "team/inner"]);
    let st = ok(ws, &["status"]);
    assert!(st.contains("nothing changed"), "{st}");
}

// ---------------------------------------------------------------------------------------
// Links in the destination
// ---------------------------------------------------------------------------------------

/// A store with a package `team/ds` holding `files`; returns its top hash.
fn built(ws: &Path, files: &[(&str, &[u8])]) -> String {
    for (key, data) in files {
        write(ws, key, data);
    }
    ok(ws, &["init"]);
    top_hash(&ok(ws, &["build", "team/ds"]))
}

#[test]
fn install_never_writes_through_a_linked_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    built(&ws, &[("ok.txt", b"fine"), ("sub/x", b"package bytes")]);
    let outside = t.path().join("outside");
    write(&outside, "x", b"precious");
    let dest = t.path().join("dest");
    std::fs::create_dir_all(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&outside, dest.join("sub")).expect("symlink");
    let before = snapshot(t.path());
    for force in [false, true] {
        let mut args = vec![
            "install",
            "team/ds",
            "--dest",
            dest.to_str().expect("utf-8"),
        ];
        if force {
            args.push("--force");
        }
        let err = refused(&ws, &args);
        assert!(
            err.contains("sub") && err.contains("symbolic link"),
            "{err}"
        );
        assert_same(&before, &snapshot(t.path()), "the tree");
    }
}

#[test]
fn install_never_writes_through_a_linked_file() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    built(&ws, &[("a.txt", b"package bytes"), ("b.txt", b"more")]);
    let outside = t.path().join("outside");
    write(&outside, "file", b"precious");
    let dest = t.path().join("dest");
    std::fs::create_dir_all(&dest).expect("mkdir");
    std::os::unix::fs::symlink(outside.join("file"), dest.join("a.txt")).expect("symlink");
    let before = snapshot(t.path());
    for force in [false, true] {
        let mut args = vec![
            "install",
            "team/ds",
            "--dest",
            dest.to_str().expect("utf-8"),
        ];
        if force {
            args.push("--force");
        }
        let err = refused(&ws, &args);
        assert!(
            err.contains("a.txt") && err.contains("symbolic link"),
            "{err}"
        );
        assert_same(&before, &snapshot(t.path()), "the tree");
    }
}

#[test]
fn checkout_never_writes_through_a_linked_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    let top = built(&ws, &[("ok.txt", b"fine"), ("sub/x", b"package bytes")]);
    std::fs::remove_dir_all(ws.join("sub")).expect("rm");
    let outside = t.path().join("outside");
    write(&outside, "keep", b"precious");
    std::os::unix::fs::symlink(&outside, ws.join("sub")).expect("symlink");
    let before = snapshot(t.path());
    let err = refused(&ws, &["checkout", &format!("team/ds@{top}"), "--force"]);
    assert!(
        err.contains("sub") && err.contains("symbolic link"),
        "{err}"
    );
    assert_same(&before, &snapshot(t.path()), "the tree");
}

// ---------------------------------------------------------------------------------------
// Local edits, leftovers, modes
// ---------------------------------------------------------------------------------------

#[test]
fn install_over_edited_files_needs_force() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    built(&ws, &[("a.txt", b"package a"), ("d/b.txt", b"package b")]);
    let dest = t.path().join("dest");
    let d = dest.to_str().expect("utf-8");
    ok(&ws, &["install", "team/ds", "--dest", d]);
    // Installing again over an untouched copy is fine and writes nothing.
    let again = ok(&ws, &["--json", "install", "team/ds", "--dest", d]);
    assert!(again.contains("\"written\":0"), "{again}");

    write(&dest, "d/b.txt", b"my edit");
    let before = snapshot(t.path());
    let err = refused(&ws, &["install", "team/ds", "--dest", d]);
    assert!(err.contains("d/b.txt") && err.contains("--force"), "{err}");
    assert_same(&before, &snapshot(t.path()), "the tree");

    ok(&ws, &["install", "team/ds", "--dest", d, "--force"]);
    assert_eq!(
        std::fs::read(dest.join("d/b.txt")).expect("read"),
        b"package b"
    );
}

#[test]
fn checkout_removes_temp_files_of_a_killed_checkout() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path();
    let top = built(ws, &[("a.txt", b"v1"), ("d/b.txt", b"b")]);
    // What a killed checkout leaves: temp files of a process that is gone. One of a process
    // that still runs (pid 1) may be another checkout's and is kept.
    let dead = [
        "d/.quilt-tmp.2147483600.3".to_owned(),
        ".quilt-tmpXq1zAb".to_owned(),
    ];
    let live = ".quilt-tmp.1.0";
    for name in dead.iter().map(String::as_str).chain([live]) {
        write(ws, name, b"half-written");
    }
    write(ws, "a.txt", b"v2");
    ok(ws, &["build", "team/ds"]);
    ok(ws, &["checkout", &format!("team/ds@{top}")]);
    for name in &dead {
        assert!(!ws.join(name).exists(), "{name} was left behind");
    }
    assert!(
        ws.join(live).exists(),
        "a live process's temp file was removed"
    );
    assert_eq!(std::fs::read(ws.join("a.txt")).expect("read"), b"v1");
}

#[test]
fn checked_out_files_and_folders_get_the_umask() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    built(&ws, &[("a.txt", b"a"), ("d/e/b.txt", b"b")]);
    let dest = t.path().join("dest");
    let bin = assert_cmd::cargo::cargo_bin("quilt");
    let script = format!(
        "umask 027 && exec '{}' --no-progress install team/ds --dest '{}'",
        bin.display(),
        dest.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&ws)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &str| {
        std::fs::metadata(dest.join(p))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("a.txt"), 0o640);
    assert_eq!(mode("d/e/b.txt"), 0o640);
    assert_eq!(mode("d"), 0o750);
    assert_eq!(mode("d/e"), 0o750);
}
