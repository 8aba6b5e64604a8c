//! `delete` then `gc`: a deleted version is freed, or gc says what still holds it.

mod common;

use std::path::Path;

use common::*;

fn gc_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(ok(dir, &["--json", "gc"]).trim()).expect("gc json")
}

/// 200 files: the second version changes one, so it is stored as a delta against the first.
fn two_versions(root: &Path) -> (String, String) {
    for i in 0..200 {
        write(
            root,
            &format!("d/{i:03}.csv"),
            format!("{i},{}\n", i * 3).as_bytes(),
        );
    }
    write(root, "big.bin", &bytes(1, 2 << 20));
    ok(root, &["init"]);
    let v1 = top_hash(&ok(root, &["build", "t/p", "-m", "one"]));
    write(root, "d/007.csv", b"changed\n");
    write(root, "big.bin", &bytes(2, 2 << 20));
    let v2 = top_hash(&ok(root, &["build", "t/p", "-m", "two"]));
    (v1, v2)
}

#[test]
fn a_deleted_version_that_a_delta_was_based_on_is_freed() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let (v1, v2) = two_versions(root);
    {
        let store = quilt::store::Store::open(&root.join(".quilt")).expect("store");
        let kind = store
            .manifest_kind(&v2.parse().expect("top"))
            .expect("kind");
        assert!(
            matches!(kind, quilt::store::ManifestKind::Delta { .. }),
            "the test needs v2 stored as a delta against v1, got {kind:?}"
        );
    }
    ok(root, &["delete", &format!("t/p@{v1}")]);
    let gc = gc_json(root);
    assert_eq!(gc["manifests_removed"], 1, "{gc}");
    assert_eq!(gc["deltas_rebased"], 1, "{gc}");
    assert!(gc["objects_removed"].as_u64().expect("count") >= 1, "{gc}");
    assert_eq!(gc["held"], serde_json::json!([]), "{gc}");
    fails(root, &["checkout", &v1[..12]]);
    // v2 is intact, now a keyframe.
    ok(root, &["verify"]);
    let dest = root.join("copy");
    ok(
        root,
        &[
            "install",
            &format!("t/p@{v2}"),
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        std::fs::read(dest.join("d/007.csv")).expect("read"),
        b"changed\n"
    );
    assert!(!root.join(".quilt/packages").join(&v1).exists());
}

#[test]
fn gc_says_which_checkout_holds_a_deleted_version() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let (v1, _v2) = two_versions(root);
    ok(root, &["checkout", &format!("t/p@{v1}"), "--force"]);
    ok(root, &["delete", &format!("t/p@{v1}")]);
    let out = quilt(root).args(["gc"]).output().expect("run quilt");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let dir = std::fs::canonicalize(root).expect("canonical");
    assert!(
        err.contains(&format!("kept {v1}")) && err.contains(&dir.display().to_string()),
        "gc must name what holds {v1}:\n{err}"
    );
    let gc = gc_json(root);
    assert_eq!(gc["held"][0]["top_hash"], v1.as_str(), "{gc}");
    // Checking out another version releases it.
    ok(root, &["checkout", "t/p", "--force"]);
    let gc = gc_json(root);
    assert_eq!(gc["held"], serde_json::json!([]), "{gc}");
    assert_eq!(gc["manifests_removed"], 1, "{gc}");
}

#[test]
fn delete_on_a_remote_does_not_promise_a_gc_that_cannot_run_there() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    write(&root, "a.csv", b"a\n");
    ok(&root, &["init"]);
    ok(&root, &["build", "t/p"]);
    ok(&root, &["push", "t/p", reg.to_str().expect("utf-8")]);
    let out = quilt(&root)
        .args(["delete", "t/p", "--remote", reg.to_str().expect("utf-8")])
        .output()
        .expect("run quilt");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("until `quilt gc`"), "{err}");
    assert!(err.contains("stay on"), "{err}");
}
