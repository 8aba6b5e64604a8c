//! Registries and stores other users read: files honour the umask, and a group-shared store
//! (`init --shared group`) lets every member of its group write.
//!
//! These tests switch to uid 65534 (nobody) with `setpriv`, so they need root, as in CI.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A copy of the quilt binary that uid 65534 may run (the build directory may be private).
fn public_binary(dir: &Path) -> PathBuf {
    let src = assert_cmd::cargo::cargo_bin("quilt");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let dest = bin.join("quilt");
    std::fs::copy(&src, &dest).expect("copy binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dest
}

/// Runs quilt as `uid` (root when `None`) with umask 022, in `cwd`.
fn run_as(uid: Option<u32>, bin: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = match uid {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={u}"),
                format!("--regid={u}"),
                "--clear-groups".to_owned(),
                "--".to_owned(),
            ]);
            c
        }
        None => Command::new("env"),
    };
    let cache = cwd.join(".test-cache");
    cmd.args(["sh", "-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(bin)
        .arg("--no-progress")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("HOME", cwd)
        .env("QUILT_CACHE_DIR", &cache);
    cmd.output().expect("run quilt")
}

fn must(uid: Option<u32>, bin: &Path, cwd: &Path, args: &[&str]) -> String {
    let out = run_as(uid, bin, cwd, args);
    assert!(
        out.status.success(),
        "quilt {args:?} as {uid:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory everyone may enter and write (the test's own scratch space).
fn open_dir(p: &Path) {
    std::fs::create_dir_all(p).expect("mkdir");
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).expect("chmod");
}

fn every_file(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn another_user_installs_from_a_registry_pushed_with_umask_022() {
    if !is_root() {
        eprintln!("not root: skipping a test that switches users");
        return;
    }
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = public_binary(t.path());
    let ws = t.path().join("ws");
    for i in 0..30 {
        write(&ws, &format!("d/{i:02}.csv"), format!("{i}\n").as_bytes());
    }
    write(&ws, "big.bin", &bytes(3, 2 << 20));
    let reg = t.path().join("registry");
    std::fs::create_dir_all(&reg).expect("mkdir registry");
    let reg_s = reg.to_str().expect("utf-8");
    must(None, &bin, &ws, &["init"]);
    must(None, &bin, &ws, &["build", "t/p"]);
    must(None, &bin, &ws, &["push", "t/p", reg_s]);

    for f in every_file(&reg.join(".quilt")) {
        let mode = std::fs::metadata(&f).expect("stat").mode() & 0o777;
        assert_eq!(mode, 0o644, "{} has mode {mode:o}", f.display());
    }
    let other = t.path().join("other");
    open_dir(&other);
    let out = must(
        Some(NOBODY),
        &bin,
        &other,
        &["install", "t/p", "--from", reg_s, "--dest", "out"],
    );
    assert!(!out.is_empty());
    assert_eq!(
        std::fs::read(other.join("out/big.bin")).expect("installed"),
        bytes(3, 2 << 20)
    );
}

#[test]
fn a_group_shared_store_takes_builds_from_every_member() {
    if !is_root() {
        eprintln!("not root: skipping a test that switches users");
        return;
    }
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = public_binary(t.path());
    let store = t.path().join("store");
    std::fs::create_dir_all(&store).expect("mkdir");
    // The group both users share.
    std::os::unix::fs::chown(&store, None, Some(NOBODY)).expect("chgrp");
    let store_s = store.to_str().expect("utf-8");

    let mine = t.path().join("mine");
    write(&mine, "a.csv", b"mine\n");
    must(
        None,
        &bin,
        &mine,
        &["init", "--shared", "group", "--store", store_s],
    );
    must(None, &bin, &mine, &["build", "t/mine"]);
    let dirs = [
        "",
        "objects",
        "objects/pack",
        "objects/loose",
        "packages",
        "tmp",
    ];
    for d in dirs {
        let m = std::fs::metadata(store.join(d)).expect("stat");
        assert_eq!(m.mode() & 0o2070, 0o2070, "{d:?}: {:o}", m.mode());
        assert_eq!(m.gid(), NOBODY, "{d:?} lost the group");
    }
    for f in every_file(&store) {
        let m = std::fs::metadata(&f).expect("stat");
        assert_eq!(m.mode() & 0o060, 0o060, "{}: {:o}", f.display(), m.mode());
    }

    // Another member of the group builds into the same store from their own directory.
    let theirs = t.path().join("theirs");
    open_dir(&theirs);
    write(&theirs, "b.csv", b"theirs\n");
    write(&theirs, "large.bin", &bytes(5, 2 << 20));
    must(Some(NOBODY), &bin, &theirs, &["init", "--store", store_s]);
    let top = top_hash(&must(Some(NOBODY), &bin, &theirs, &["build", "t/theirs"]));
    // And the first user still reads and writes what they added.
    must(None, &bin, &mine, &["checkout", &format!("t/theirs@{top}")]);
    assert_eq!(
        std::fs::read(mine.join("large.bin")).expect("checked out"),
        bytes(5, 2 << 20)
    );
    must(None, &bin, &mine, &["gc"]);
    must(None, &bin, &mine, &["verify"]);
}
