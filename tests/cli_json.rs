//! Every command's `--json` document has the fields docs/cli.md documents, and failures carry
//! a stable `kind` and exit code.

mod common;

use std::path::Path;

use common::{bytes, ok, quilt, top_hash, write};
use serde_json::Value;

/// Runs `quilt --json ARGS`, expecting success and exactly one JSON document on stdout.
fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(dir, &all);
    let mut docs = serde_json::Deserializer::from_str(&out).into_iter::<Value>();
    let doc = docs
        .next()
        .unwrap_or_else(|| panic!("quilt {args:?} printed no JSON"))
        .unwrap_or_else(|e| panic!("quilt {args:?} printed invalid JSON ({e}): {out}"));
    assert!(
        docs.next().is_none(),
        "quilt {args:?} printed more than one document: {out}"
    );
    doc
}

/// Runs `quilt --json ARGS`, expecting failure; returns (exit code, the error document).
fn json_error(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = quilt(dir)
        .arg("--json")
        .args(args)
        .output()
        .expect("run quilt");
    assert!(
        !out.status.success(),
        "quilt {args:?} unexpectedly succeeded"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "quilt {args:?}: stdout is not one JSON document ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// Asserts `v` is an object holding exactly `fields`.
fn fields(v: &Value, fields: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut have: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = fields.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    assert_eq!(have, want, "fields of {v}");
}

fn is_hash(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An initialised directory with one built version of `t/ds` (3 files); returns its top hash.
fn dataset(root: &Path) -> String {
    write(root, "a.csv", b"a,b\n1,2\n");
    write(root, "sub/b.bin", &bytes(1, 5000));
    write(root, "sub/c.txt", b"c");
    ok(root, &["init"]);
    top_hash(&ok(
        root,
        &["build", "t/ds", "-m", "first", "--meta", r#"{"v": 1}"#],
    ))
}

#[test]
fn init_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let v = json(t.path(), &["init"]);
    fields(&v, &["worktree", "store", "shared"]);
    assert!(v["store"].as_str().is_some_and(|s| s.ends_with(".quilt")));
}

#[test]
fn build_json() {
    let t = tempfile::tempdir().expect("tempdir");
    dataset(t.path());
    write(t.path(), "d.txt", b"new");
    let v = json(t.path(), &["build", "t/ds"]);
    fields(
        &v,
        &[
            "name",
            "top_hash",
            "files",
            "bytes",
            "hashed_files",
            "new_objects",
            "new_bytes",
            "unchanged",
        ],
    );
    assert!(is_hash(&v["top_hash"]));
    assert_eq!(v["files"], 4);
    assert_eq!(v["new_objects"], 1);
    assert_eq!(v["unchanged"], false);
}

#[test]
fn status_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let top = dataset(t.path());
    write(t.path(), "a.csv", b"changed");
    let v = json(t.path(), &["status"]);
    fields(&v, &["name", "top_hash", "clean", "unchanged", "changes"]);
    assert_eq!(v["top_hash"], top.as_str());
    assert_eq!(v["clean"], false);
    assert_eq!(v["unchanged"], 2);
    fields(&v["changes"][0], &["key", "change"]);
    assert_eq!(v["changes"][0]["change"], "M");
}

#[test]
fn log_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let top = dataset(t.path());
    let v = json(t.path(), &["log", "t/ds"]);
    fields(&v, &["name", "versions"]);
    fields(
        &v["versions"][0],
        &["top_hash", "time", "message", "latest"],
    );
    assert_eq!(v["versions"][0]["top_hash"], top.as_str());
    assert_eq!(v["versions"][0]["message"], "first");
}

#[test]
fn list_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let top = dataset(t.path());
    let v = json(t.path(), &["list"]);
    fields(&v, &["packages"]);
    fields(&v["packages"][0], &["name", "top_hash", "time"]);
    assert_eq!(v["packages"][0]["top_hash"], top.as_str());
}

#[test]
fn ls_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, "a.csv", b"a");
    ok(root, &["init"]);
    ok(
        root,
        &[
            "build",
            "t/ds",
            "--entry-meta",
            r#"{"a.csv": {"unit": "m"}}"#,
        ],
    );
    let v = json(root, &["ls", "t/ds"]);
    fields(&v, &["top_hash", "entries"]);
    let e = &v["entries"][0];
    fields(
        e,
        &["logical_key", "size", "hash", "hash_type", "user_meta"],
    );
    assert_eq!(e["logical_key"], "a.csv");
    // One form for hashes: the hex storage key, not the manifest's base64.
    assert_eq!(e["hash"], quilt::hash::hash_bytes(b"a").to_hex().as_str());
    assert_eq!(e["user_meta"], serde_json::json!({"unit": "m"}));
}

#[test]
fn meta_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, "a.csv", b"a");
    ok(root, &["init"]);
    let top = top_hash(&ok(
        root,
        &[
            "build",
            "t/ds",
            "-m",
            "msg",
            "--meta",
            r#"{"source": "lab"}"#,
            "--entry-meta",
            r#"{"a.csv": {"unit": "m"}}"#,
        ],
    ));
    let v = json(root, &["meta", "t/ds"]);
    fields(&v, &["top_hash", "message", "user_meta"]);
    assert_eq!(v["top_hash"], top.as_str());
    assert_eq!(v["message"], "msg");
    assert_eq!(v["user_meta"], serde_json::json!({"source": "lab"}));
    let v = json(root, &["meta", "t/ds", "a.csv"]);
    fields(&v, &["top_hash", "logical_key", "user_meta", "meta"]);
    assert_eq!(v["user_meta"], serde_json::json!({"unit": "m"}));
    assert_eq!(v["meta"], serde_json::json!({"user_meta": {"unit": "m"}}));
}

#[test]
fn diff_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let v1 = dataset(root);
    write(root, "new.csv", b"n");
    ok(
        root,
        &["build", "t/ds", "-m", "second", "--meta", r#"{"v": 2}"#],
    );
    let v = json(root, &["diff", &v1, "t/ds"]);
    fields(&v, &["changes", "metadata"]);
    assert_eq!(
        v["changes"],
        serde_json::json!([{"change": "A", "key": "new.csv"}])
    );
    assert_eq!(
        v["metadata"],
        serde_json::json!([
            {"field": "message", "old": "first", "new": "second"},
            {"field": "user_meta", "old": {"v": 1}, "new": {"v": 2}},
        ])
    );
}

#[test]
fn checkout_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let v1 = dataset(root);
    write(root, "a.csv", b"changed");
    ok(root, &["build", "t/ds"]);
    let v = json(root, &["checkout", &v1]);
    fields(
        &v,
        &["top_hash", "written", "removed", "unchanged", "bytes"],
    );
    assert_eq!(v["top_hash"], v1.as_str());
    assert_eq!(v["written"], 1);
    assert_eq!(v["unchanged"], 2);
}

#[test]
fn install_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    dataset(&root);
    let v = json(&root, &["install", "t/ds", "--dest", "../out"]);
    fields(
        &v,
        &["top_hash", "written", "removed", "unchanged", "bytes"],
    );
    assert_eq!(v["written"], 3);
    assert_eq!(v["bytes"], 8 + 5000 + 1);
}

#[test]
fn delete_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let top = dataset(t.path());
    let spec = format!("t/ds@{top}");
    let v = json(t.path(), &["delete", &spec]);
    fields(&v, &["deleted", "revisions"]);
    assert_eq!(v["revisions"], 1);
}

#[test]
fn gc_json() {
    let t = tempfile::tempdir().expect("tempdir");
    dataset(t.path());
    let v = json(t.path(), &["gc", "--dry-run"]);
    fields(
        &v,
        &[
            "dry_run",
            "objects_removed",
            "bytes_freed",
            "packs_rewritten",
            "packs_merged",
            "loose_migrated",
            "manifests_removed",
            "deltas_rebased",
            "held",
        ],
    );
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["loose_migrated"], 0, "nothing was ever stored loose");
    assert_eq!(v["held"], serde_json::json!([]));
}

#[test]
fn verify_json() {
    let t = tempfile::tempdir().expect("tempdir");
    dataset(t.path());
    let v = json(t.path(), &["verify"]);
    fields(&v, &["objects_checked", "ok", "problems", "warnings"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["objects_checked"], 3);
}

#[test]
fn remote_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    dataset(&root);
    let reg = t.path().join("reg");
    let reg = reg.to_str().expect("utf-8");
    let v = json(&root, &["remote", "add", "origin", reg]);
    assert_eq!(v, serde_json::json!({"added": "origin", "url": reg}));
    let reg2 = t.path().join("reg2");
    let reg2 = reg2.to_str().expect("utf-8");
    let v = json(&root, &["remote", "set-url", "origin", reg2]);
    assert_eq!(v, serde_json::json!({"updated": "origin", "url": reg2}));
    let v = json(&root, &["remote", "set-url", "origin", reg]);
    assert_eq!(v, serde_json::json!({"updated": "origin", "url": reg}));
    let v = json(&root, &["remote", "default", "origin"]);
    assert_eq!(v, serde_json::json!({"default": "origin"}));
    let v = json(&root, &["remote", "list"]);
    assert_eq!(
        v,
        serde_json::json!({"remotes": [{"name": "origin", "url": reg, "default": true,
            "endpoint": null, "region": null, "profile": null, "found_region": null,
            "layout": "plain"}]})
    );
    let v = json(&root, &["remote", "remove", "origin"]);
    assert_eq!(v, serde_json::json!({"removed": "origin"}));
}

/// A client directory with a built `t/ds` and a directory remote `origin` it was pushed to.
fn pushed(base: &Path) -> (std::path::PathBuf, String) {
    let root = base.join("ws");
    let top = dataset(&root);
    let reg = base.join("reg");
    ok(
        &root,
        &["remote", "add", "origin", reg.to_str().expect("utf-8")],
    );
    ok(&root, &["push", "t/ds", "origin"]);
    (root, top)
}

#[test]
fn push_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    dataset(&root);
    let reg = t.path().join("reg");
    ok(
        &root,
        &["remote", "add", "origin", reg.to_str().expect("utf-8")],
    );
    let v = json(&root, &["push", "t/ds", "origin"]);
    fields(
        &v,
        &[
            "name",
            "remote",
            "top_hash",
            "objects_uploaded",
            "bytes_uploaded",
            "objects_present",
            "latest_moved",
            "manifest",
            "requests",
        ],
    );
    assert_eq!(v["objects_uploaded"], 3);
    assert_eq!(v["manifest"], "written");
}

#[test]
fn fetch_json() {
    let t = tempfile::tempdir().expect("tempdir");
    let (_, top) = pushed(t.path());
    let other = t.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    ok(&other, &["init"]);
    let reg = t.path().join("reg");
    let v = json(&other, &["fetch", "t/ds", reg.to_str().expect("utf-8")]);
    fields(
        &v,
        &[
            "top_hash",
            "objects_downloaded",
            "bytes_downloaded",
            "objects_present",
            "requests",
        ],
    );
    assert_eq!(v["top_hash"], top.as_str());
    assert_eq!(v["objects_downloaded"], 3);
}

const PULL_FIELDS: &[&str] = &[
    "top_hash",
    "objects_downloaded",
    "bytes_downloaded",
    "objects_present",
    "written",
    "removed",
    "unchanged",
    "bytes",
];

#[test]
fn pull_json_reports_what_was_fetched_and_written() {
    let t = tempfile::tempdir().expect("tempdir");
    let (_, top) = pushed(t.path());
    let other = t.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    ok(&other, &["init"]);
    let reg = t.path().join("reg");
    let v = json(&other, &["pull", "t/ds", reg.to_str().expect("utf-8")]);
    fields(&v, PULL_FIELDS);
    assert_eq!(v["top_hash"], top.as_str());
    assert_eq!(v["objects_downloaded"], 3);
    assert_eq!(v["bytes_downloaded"], 8 + 5000 + 1);
    assert_eq!(v["written"], 3);
}

#[test]
fn install_from_json_reports_what_was_fetched_and_written() {
    let t = tempfile::tempdir().expect("tempdir");
    pushed(t.path());
    let reg = t.path().join("reg");
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let v = json(
        &empty,
        &[
            "install",
            "t/ds",
            "--from",
            reg.to_str().expect("utf-8"),
            "--dest",
            "out",
        ],
    );
    fields(&v, PULL_FIELDS);
    assert_eq!(v["objects_downloaded"], 3);
    assert_eq!(v["written"], 3);
    assert_eq!(
        std::fs::read(empty.join("out/sub/c.txt")).expect("installed"),
        b"c"
    );
}

#[test]
fn errors_carry_a_kind_and_exit_code() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let v1 = dataset(root);
    let (code, v) = json_error(root, &["ls", "t/none"]);
    fields(&v, &["error", "kind"]);
    assert_eq!((code, v["kind"].as_str()), (1, Some("not_found")), "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("t/none")),
        "{v}"
    );
    // An invalid package name is a usage error.
    let (code, v) = json_error(root, &["build", "noslash"]);
    assert_eq!((code, v["kind"].as_str()), (2, Some("usage")), "{v}");
    // So is an invalid revision.
    let (code, v) = json_error(root, &["ls", "XYZ"]);
    assert_eq!((code, v["kind"].as_str()), (2, Some("usage")), "{v}");
    // Local edits in the way of a checkout are a conflict.
    write(root, "a.csv", b"edited");
    ok(root, &["build", "t/ds"]);
    write(root, "a.csv", b"edited again");
    let (code, v) = json_error(root, &["checkout", &v1]);
    assert_eq!((code, v["kind"].as_str()), (1, Some("conflict")), "{v}");
}

#[test]
fn argument_errors_print_json_too() {
    let t = tempfile::tempdir().expect("tempdir");
    let (code, v) = json_error(t.path(), &["ls", "--no-such-flag"]);
    fields(&v, &["error", "kind"]);
    assert_eq!((code, v["kind"].as_str()), (2, Some("usage")), "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("--no-such-flag")),
        "{v}"
    );
}

#[test]
fn corrupt_store_fails_verify_with_kind_corrupt() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    dataset(root);
    let packs = root.join(".quilt/objects/pack");
    let data = bytes(1, 5000);
    let pack = std::fs::read_dir(&packs)
        .expect("pack dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "pack")
                && std::fs::read(p)
                    .expect("read")
                    .windows(64)
                    .any(|w| w == &data[..64])
        })
        .expect("a pack holds sub/b.bin");
    let mut raw = std::fs::read(&pack).expect("read");
    let at = raw
        .windows(64)
        .position(|w| w == &data[..64])
        .expect("content in pack")
        + 100;
    raw[at] ^= 0x5a;
    std::fs::write(&pack, raw).expect("write");
    let out = quilt(root)
        .args(["--json", "verify"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).expect("one report document");
    assert_eq!(report["ok"], false);
    // The object is named by its hex storage key, as everywhere else.
    let hex = quilt::hash::hash_bytes(&data).to_hex();
    let named = format!("sha2-256-chunked:{hex}");
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains(&named))),
        "{report}"
    );
}
