//! End-to-end tests of the local commands on the real binary.

mod common;

use std::path::Path;

use common::*;

fn dataset(root: &Path) {
    write(root, "data/a.csv", b"x,y\n1,2\n");
    write(root, "data/b.csv", b"x,y\n3,4\n");
    write(root, "images/1.bin", &bytes(1, 5000));
    write(root, "images/dup.bin", &bytes(1, 5000));
    write(root, "big.bin", &bytes(2, 3 * 1024 * 1024));
    write(root, "README.md", b"hello\n");
}

fn init(root: &Path) {
    ok(root, &["init"]);
}

#[test]
fn build_status_log_ls_diff_checkout_roundtrip() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    dataset(root);
    init(root);
    let v1 = top_hash(&ok(root, &["build", "team/ds", "-m", "first"]));
    assert!(ok(root, &["status"]).contains("nothing changed"));

    // Change one file, add one, delete one.
    write(root, "data/a.csv", b"x,y\n9,9\n");
    write(root, "new.txt", b"new");
    std::fs::remove_file(root.join("README.md")).expect("rm");
    let st = ok(root, &["status"]);
    assert!(st.contains("M data/a.csv"), "{st}");
    assert!(st.contains("A new.txt"), "{st}");
    assert!(st.contains("D README.md"), "{st}");

    let v2 = top_hash(&ok(root, &["build", "team/ds", "-m", "second"]));
    assert_ne!(v1, v2);
    let log = ok(root, &["log", "team/ds"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].starts_with(&v2) && lines[0].contains("second"),
        "{log}"
    );
    assert!(lines[1].starts_with(&v1), "{log}");
    assert!(ok(root, &["list"]).contains("team/ds"));

    let ls = ok(root, &["ls", &format!("team/ds@{}", &v1[..8])]);
    assert!(
        ls.contains("README.md") && ls.contains("images/dup.bin"),
        "{ls}"
    );

    let diff = ok(root, &["diff", &v1[..10], &v2[..10]]);
    assert!(
        diff.contains("M data/a.csv") && diff.contains("A new.txt") && diff.contains("D README.md"),
        "{diff}"
    );

    // Back to v1: files restored byte for byte, the added file removed.
    ok(root, &["checkout", &format!("team/ds@{v1}")]);
    assert_eq!(
        std::fs::read(root.join("data/a.csv")).expect("read"),
        b"x,y\n1,2\n"
    );
    assert_eq!(
        std::fs::read(root.join("README.md")).expect("read"),
        b"hello\n"
    );
    assert!(!root.join("new.txt").exists());
    assert!(ok(root, &["status"]).contains("nothing changed"));

    // A rebuild of an unchanged tree gives the same hash and no new version.
    let again = top_hash(&ok(root, &["build", "team/ds", "-m", "first"]));
    assert_eq!(again, v1);

    // JSON output is machine-readable.
    let json: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "status"])).expect("json");
    assert_eq!(json["clean"], true);
}

#[test]
fn dedup_stores_each_content_once() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    for i in 0..50 {
        write(root, &format!("same/{i}.bin"), &bytes(7, 20_000));
    }
    init(root);
    let out: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "build", "team/dedup"])).expect("json");
    assert_eq!(out["files"], 50);
    assert_eq!(out["new_objects"], 1, "{out}");
    // A second package with the same content stores nothing new.
    let out: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "build", "team/dedup2"])).expect("json");
    assert_eq!(out["new_objects"], 0, "{out}");
}

#[test]
fn a_small_change_stores_a_delta_manifest_and_a_no_op_rebuild_writes_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    for i in 0..300 {
        write(
            root,
            &format!("d{}/f{i}.txt", i % 7),
            format!("file {i}\n").as_bytes(),
        );
    }
    init(root);
    let v1 = top_hash(&ok(root, &["build", "team/delta", "-m", "v1"]));
    write(root, "d3/f3.txt", b"changed\n");
    // Past the racy window, so the stat cache trusts every file the next build sees.
    std::thread::sleep(std::time::Duration::from_millis(150));
    let v2 = top_hash(&ok(root, &["build", "team/delta", "-m", "v2"]));
    assert_ne!(v1, v2);
    let packages = root.join(".quilt/packages");
    let stored = |top: &str| std::fs::read(packages.join(top)).expect("stored manifest");
    assert_eq!(
        &stored(&v1)[..4],
        &quilt_store::ZSTD_MAGIC[..],
        "v1 is a full copy"
    );
    assert_eq!(
        &stored(&v2)[..8],
        &quilt_store::DELTA_MAGIC[..],
        "v2 is a delta"
    );
    assert_eq!(&stored(&v2)[8..40], &hex_bytes(&v1)[..], "v2's base is v1");
    // Both read back as the exact manifests, and checkout of v1 restores the file.
    assert!(local_manifest(root, &v2).len() > stored(&v2).len() * 4);
    ok(root, &["checkout", &format!("team/delta@{v1}")]);
    assert_eq!(
        std::fs::read(root.join("d3/f3.txt")).expect("read"),
        b"file 3\n"
    );
    ok(root, &["checkout", &format!("team/delta@{v2}")]);
    ok(root, &["verify"]);

    // A rebuild that changes nothing reads no file and leaves packages/ as it was.
    let before: Vec<_> = std::fs::read_dir(&packages)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .collect();
    let out: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "build", "team/delta", "-m", "v2"]))
            .expect("json");
    assert_eq!(out["unchanged"], true, "{out}");
    assert_eq!(out["hashed_files"], 0, "{out}");
    let after: Vec<_> = std::fs::read_dir(&packages)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(before.len(), after.len());
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn checkout_refuses_to_overwrite_local_changes_without_force() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    dataset(root);
    init(root);
    let v1 = top_hash(&ok(root, &["build", "team/ds"]));
    write(root, "data/a.csv", b"changed");
    let _v2 = top_hash(&ok(root, &["build", "team/ds"]));
    write(root, "data/a.csv", b"local edit");
    let (code, err) = fails(root, &["checkout", &v1[..12]]);
    assert_eq!(code, 1);
    assert!(
        err.contains("data/a.csv") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(root.join("data/a.csv")).expect("read"),
        b"local edit"
    );
    ok(root, &["checkout", &v1[..12], "--force"]);
    assert_eq!(
        std::fs::read(root.join("data/a.csv")).expect("read"),
        b"x,y\n1,2\n"
    );
}

#[test]
fn install_writes_a_version_anywhere() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ws");
    dataset(&root);
    init(&root);
    let v1 = top_hash(&ok(&root, &["build", "team/ds"]));
    let dest = t.path().join("out");
    ok(
        &root,
        &[
            "install",
            "team/ds",
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    for f in ["data/a.csv", "images/dup.bin", "big.bin", "README.md"] {
        assert_eq!(
            std::fs::read(dest.join(f)).expect("installed"),
            std::fs::read(root.join(f)).expect("orig"),
            "{f}"
        );
    }
    // Installing is exact: building the installed copy gives the same top hash.
    let ws2 = t.path().join("ws2");
    std::fs::create_dir_all(&ws2).expect("mkdir");
    init(&ws2);
    let again = top_hash(&ok(
        &ws2,
        &["build", "team/copy", dest.to_str().expect("utf-8")],
    ));
    assert_eq!(again, v1);
}

#[test]
fn delete_gc_and_verify() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    dataset(root);
    init(root);
    let v1 = top_hash(&ok(root, &["build", "team/ds"]));
    write(root, "only-in-v2.bin", &bytes(99, 100_000));
    let v2 = top_hash(&ok(root, &["build", "team/ds"]));
    ok(root, &["verify"]);

    // The checked-out version is protected from gc, as git protects HEAD: move to v1 first.
    ok(root, &["delete", "team/ds", &format!("@{}", &v2[..8])]);
    let gc: serde_json::Value = serde_json::from_str(&ok(root, &["--json", "gc"])).expect("json");
    assert_eq!(gc["objects_removed"], 0, "v2 is still checked out: {gc}");
    ok(root, &["checkout", &format!("team/ds@{v1}")]);
    let log = ok(root, &["log", "team/ds"]);
    assert!(log.contains(&v1) && !log.contains(&v2), "{log}");
    let gc: serde_json::Value = serde_json::from_str(&ok(root, &["--json", "gc"])).expect("json");
    assert!(gc["objects_removed"].as_u64().expect("count") >= 1, "{gc}");
    ok(root, &["verify"]);
    // v1 is still complete after gc.
    let dest = t.path().join("check");
    ok(
        root,
        &[
            "install",
            &v1[..12],
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert!(dest.join("big.bin").exists());

    ok(root, &["delete", "team/ds"]);
    let (_, err) = fails(root, &["log", "team/ds"]);
    assert!(err.contains("team/ds"), "{err}");
}

#[test]
fn shared_store_between_directories() {
    let t = tempfile::tempdir().expect("tempdir");
    let store = t.path().join("store");
    let a = t.path().join("a");
    let b = t.path().join("b");
    for d in [&a, &b] {
        dataset(d);
        ok(d, &["init", "--store", store.to_str().expect("utf-8")]);
    }
    let ha = top_hash(&ok(&a, &["build", "team/a"]));
    let out: serde_json::Value =
        serde_json::from_str(&ok(&b, &["--json", "build", "team/b"])).expect("json");
    assert_eq!(
        out["top_hash"],
        serde_json::Value::String(ha),
        "same content, same version"
    );
    assert_eq!(
        out["new_objects"], 0,
        "the shared store already had every object"
    );
    assert!(ok(&a, &["list"]).contains("team/b"));
}

#[test]
fn bad_input_gets_clear_errors() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();

    // Outside an initialised directory.
    let (code, err) = fails(root, &["status"]);
    assert_eq!(code, 1);
    assert!(err.contains("quilt init"), "{err}");

    dataset(root);
    init(root);
    // Invalid package names are usage errors.
    for name in ["noslash", "a/b/c", "bad name/x", "../x", "team/ds\n"] {
        let (code, err) = fails(root, &["build", name]);
        assert_eq!(code, 2, "{name:?}");
        assert!(err.contains("package name"), "{name:?}: {err}");
    }
    ok(root, &["build", "team/ds"]);
    // Invalid and unknown hash prefixes.
    let (_, err) = fails(root, &["ls", "abc"]);
    assert!(err.contains("hash prefix"), "{err}");
    let (_, err) = fails(root, &["ls", "ABCDEF12"]);
    assert!(err.contains("hex"), "{err}");
    let (_, err) = fails(root, &["ls", "ffffff0000"]);
    assert!(err.contains("quilt list"), "{err}");
    let (_, err) = fails(root, &["build", "team/ds", "--meta", "{not json"]);
    assert!(err.contains("--meta"), "{err}");
    // Usage errors exit 2.
    let out = quilt(root).args(["frobnicate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    init(root);
    write(root, "f.txt", b"one");
    let real = top_hash(&ok(root, &["build", "team/amb"]));
    // Plant a second stored manifest whose name shares the first 10 hex digits.
    let mut twin = real[..10].to_owned();
    twin.push_str(&"0".repeat(54));
    if twin == real {
        twin.replace_range(63.., "1");
    }
    let pkgs = root.join(".quilt/packages");
    std::fs::copy(pkgs.join(&real), pkgs.join(&twin)).expect("plant twin");
    let (_, err) = fails(root, &["ls", &real[..10]]);
    assert!(
        err.contains("ambiguous") && err.contains(&real) && err.contains(&twin),
        "{err}"
    );
    // One more digit disambiguates.
    ok(root, &["ls", &real]);
}

#[test]
fn a_file_that_keeps_changing_while_hashed_stops_the_build_cleanly() {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, "stable.txt", b"stable");
    write(root, "growing.log", &bytes(3, 48 * 1024 * 1024));
    init(root);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = root.join("growing.log");
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .expect("open for append");
            while !stop.load(Ordering::Relaxed) {
                f.write_all(b"more log\n").expect("append");
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let (code, err) = fails(root, &["build", "team/changing"]);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    assert_eq!(code, 1);
    assert!(
        err.contains("growing.log") && err.contains("changed while it was being hashed"),
        "{err}"
    );
    // Nothing was recorded and the store is intact; once the file settles the build succeeds.
    assert!(!ok(root, &["list"]).contains("team/changing"));
    ok(root, &["verify"]);
    ok(root, &["build", "team/changing"]);
}

#[test]
fn symlinks_are_followed_to_files_and_skipped_to_directories() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ds");
    write(&root, "real/data.txt", b"data");
    write(t.path(), "outside/x.txt", b"outside");
    std::os::unix::fs::symlink(root.join("real/data.txt"), root.join("link.txt"))
        .expect("file link");
    std::os::unix::fs::symlink(t.path().join("outside"), root.join("linkdir")).expect("dir link");
    std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).expect("dangling link");
    init(&root);
    let out: serde_json::Value =
        serde_json::from_str(&ok(&root, &["--json", "build", "team/links"])).expect("json");
    assert_eq!(out["files"], 2, "{out}");
    let ls = ok(&root, &["ls", "team/links"]);
    assert!(
        ls.contains("link.txt")
            && ls.contains("real/data.txt")
            && !ls.contains("linkdir")
            && !ls.contains("dangling"),
        "{ls}"
    );
}
