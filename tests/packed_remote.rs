//! The packed remote layout end to end: a byte-exact round trip on a directory remote and on
//! SeaweedFS, a push with nothing new in at most 3 requests, a corrupt pack or index refused
//! with nothing stored, a slightly edited large file sending only its changed chunks, and
//! `gc --remote` merging the small packs of many small pushes.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A working directory with `n` small files and one large one, built as `team/p`.
fn workspace(root: &Path, env: &[(&'static str, String)], n: usize, large: usize) -> PathBuf {
    let ws = root.join("ws");
    for i in 0..n {
        write(
            &ws,
            &format!("d{}/f{i:04}.bin", i % 7),
            &bytes(i as u64 + 1, 500 + i * 13),
        );
    }
    if large > 0 {
        write(&ws, "large.bin", &bytes(999, large));
    }
    ok_env(&ws, env, &["init"]);
    ok_env(&ws, env, &["build", "team/p"]);
    ws
}

fn push_json(ws: &Path, env: &[(&'static str, String)], remote: &str) -> serde_json::Value {
    last_json(&ok_env(ws, env, &["--json", "push", "team/p", remote]))
}

/// Installs `spec` from the packed remote `url` into `root/name`, from a directory of its own
/// under `root` (so through a store that has none of it); returns the destination.
fn install_fresh(
    root: &Path,
    name: &str,
    env: &[(&'static str, String)],
    spec: &str,
    url: &str,
) -> PathBuf {
    let dest = root.join(name);
    let other = root.join(format!("{name}-from"));
    std::fs::create_dir_all(&other).expect("mkdir");
    let dest_arg = dest.to_str().expect("utf-8");
    ok_env(
        &other,
        env,
        &[
            "install", spec, "--from", url, "--layout", "packed", "--dest", dest_arg,
        ],
    );
    dest
}

/// Pushes to a packed remote, checks the layout, re-pushes with nothing new, then installs
/// into a fresh place and compares the trees byte for byte.
fn round_trip(url: &str, env: &[(&'static str, String)], packs_dir: Option<&Path>) {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = workspace(t.path(), env, 300, 3 << 20);
    let out = ok_env(&ws, env, &["remote", "add", "r", url, "--layout", "packed"]);
    let _ = out;
    let first = push_json(&ws, env, "r");
    assert_eq!(first["objects_uploaded"], 301);
    if let Some(dir) = packs_dir {
        let names: Vec<String> = std::fs::read_dir(dir)
            .expect("packs dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(".idx")), "{names:?}");
    }
    // Nothing new: at most 3 requests, nothing uploaded.
    let again = push_json(&ws, env, "r");
    assert_eq!(again["objects_uploaded"], 0);
    assert!(
        again["requests"].as_u64().expect("requests") <= 3,
        "{again}"
    );

    let dest = install_fresh(t.path(), "copy", env, "team/p", url);
    assert_same_tree(&ws, &dest);
    // log --remote reads the quilt3 layout of manifests and pointers unchanged.
    let log = ok_env(&ws, env, &["--json", "list", "--remote", url]);
    assert!(log.contains("team/p"), "{log}");
}

#[test]
fn dir_round_trip() {
    let t = tempfile::tempdir().expect("tempdir");
    let remote = t.path().join("remote");
    round_trip(
        remote.to_str().expect("utf-8"),
        &[],
        Some(&remote.join(".quilt/packs")),
    );
}

#[test]
fn s3_round_trip() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("packed");
    round_trip(&format!("s3://{bucket}"), &server.env(), None);
}

/// Flips one byte of the first object's data in the only pack, or of its index.
fn damage(remote: &Path, ext: &str, at_from_start: usize) -> String {
    let dir = remote.join(".quilt/packs");
    let file = std::fs::read_dir(&dir)
        .expect("packs")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == ext))
        .expect("a pack file");
    let mut data = std::fs::read(&file).expect("read");
    data[at_from_start] ^= 0x55;
    std::fs::write(&file, data).expect("write");
    file.file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn corrupt_pack_is_refused_naming_pack_and_objects() {
    for (ext, at) in [("pack", 12 + 41 + 3), ("idx", 1100)] {
        let t = tempfile::tempdir().expect("tempdir");
        let ws = workspace(t.path(), &[], 40, 0);
        let remote = t.path().join("remote");
        let url = remote.to_str().expect("utf-8");
        ok(&ws, &["remote", "add", "r", url, "--layout", "packed"]);
        push_json(&ws, &[], "r");
        let pack = damage(&remote, ext, at);

        let fresh_dir = t.path().join("fresh");
        std::fs::create_dir_all(&fresh_dir).expect("mkdir");
        ok(&fresh_dir, &["init"]);
        let store_before = tree(&fresh_dir.join(".quilt/objects"));
        let (_, err) = fails(&fresh_dir, &["pull", "team/p", url, "--layout", "packed"]);
        assert!(
            err.contains(&pack),
            "{ext}: error does not name {pack}: {err}"
        );
        assert!(err.contains("corrupt"), "{err}");
        if ext == "pack" {
            // The first record's object is named.
            let data =
                std::fs::read(remote.join(format!(".quilt/packs/{pack}.pack"))).expect("pack");
            let digest = &data[13..45];
            assert!(err.contains(&hex(digest)), "object not named: {err}");
        }
        assert_eq!(
            tree(&fresh_dir.join(".quilt/objects")),
            store_before,
            "something was stored"
        );
        let (_, log_err) = fails(&fresh_dir, &["log", "team/p"]);
        assert!(!log_err.is_empty());
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").metadata().expect("meta").len())
                .sum()
        })
        .unwrap_or(0)
}

/// A large file edited a little (bytes inserted in the middle) sends only the chunks around
/// the edit; a fresh install gets both versions byte for byte.
#[test]
fn edited_large_file_sends_only_changed_chunks() {
    let t = tempfile::tempdir().expect("tempdir");
    let size = 24 << 20;
    let ws = workspace(t.path(), &[], 3, size);
    let remote = t.path().join("remote");
    let url = remote.to_str().expect("utf-8");
    ok(&ws, &["remote", "add", "r", url, "--layout", "packed"]);
    push_json(&ws, &[], "r");
    let packs = remote.join(".quilt/packs");
    let before = dir_bytes(&packs);
    assert!(
        before >= size as u64,
        "the first push sent the file: {before}"
    );

    let mut data = std::fs::read(ws.join("large.bin")).expect("read");
    let insert = bytes(7, 1000);
    data.splice(size / 2..size / 2, insert);
    std::fs::write(ws.join("large.bin"), &data).expect("write");
    ok(&ws, &["build", "team/p"]);
    let second = push_json(&ws, &[], "r");
    let sent = second["bytes_uploaded"].as_u64().expect("bytes");
    let grown = dir_bytes(&packs) - before;
    assert!(
        sent < (size as u64) / 8,
        "sent {sent} bytes of a {size}-byte file"
    );
    assert!(grown < (size as u64) / 8, "packs grew by {grown} bytes");

    let dest = t.path().join("copy");
    ok(
        t.path(),
        &[
            "install",
            "team/p",
            "--from",
            url,
            "--layout",
            "packed",
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert_same_tree(&ws, &dest);
}

/// Many small pushes leave many small packs; `gc --remote` merges them once there are 8, and
/// every version still installs byte for byte.
#[test]
fn gc_remote_merges_small_packs() {
    let t = tempfile::tempdir().expect("tempdir");
    let remote = t.path().join("remote");
    let url = remote.to_str().expect("utf-8");
    let ws = workspace(t.path(), &[], 5, 0);
    ok(&ws, &["remote", "add", "r", url, "--layout", "packed"]);
    let mut tops = Vec::new();
    for v in 0..9u64 {
        write(&ws, &format!("v{v}.bin"), &bytes(100 + v, 2000));
        tops.push(top_hash(&ok(&ws, &["build", "team/p"])));
        push_json(&ws, &[], "r");
    }
    let idx_count = || {
        std::fs::read_dir(remote.join(".quilt/packs"))
            .expect("packs dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "idx"))
            })
            .count()
    };
    assert_eq!(idx_count(), 9, "one pack per push");

    let dry = last_json(&ok(&ws, &["--json", "gc", "--remote", "r", "--dry-run"]));
    assert_eq!(dry["packs_merged"], 9, "{dry}");
    assert_eq!(idx_count(), 9, "a dry run changes nothing");
    let out = last_json(&ok(&ws, &["--json", "gc", "--remote", "r"]));
    assert_eq!(out["packs_merged"], 9, "{out}");
    assert_eq!(out["packs_removed"], 9, "{out}");
    assert_eq!(out["packs_written"], 1, "{out}");
    assert_eq!(out["objects_removed"], 0, "{out}");
    assert_eq!(idx_count(), 1);
    let again = last_json(&ok(&ws, &["--json", "gc", "--remote", "r"]));
    assert_eq!(again["packs_merged"], 0, "{again}");
    assert_eq!(again["packs_removed"], 0, "{again}");

    // The first and the last version, into fresh places with their own caches.
    for (i, top) in [(0, &tops[0]), (8, &tops[8])] {
        let spec = format!("team/p@{top}");
        let dest = install_fresh(t.path(), &format!("copy{i}"), &[], &spec, url);
        assert!(dest.join(format!("v{i}.bin")).is_file());
        assert_eq!(
            std::fs::read(dest.join(format!("v{i}.bin"))).expect("read"),
            bytes(100 + i as u64, 2000)
        );
        assert!(!dest.join(format!("v{}.bin", i + 1)).exists());
    }
    assert_same_tree(&ws, &t.path().join("copy8"));
}
