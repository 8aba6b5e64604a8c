//! Resource limits: a disk that fills mid-build, a store on read-only media, and peak memory
//! of `quilt ls` on very large manifests.
//!
//! A full disk is a small tmpfs when `mount -t tmpfs` works (root in a container), else
//! `ulimit -f` (RLIMIT_FSIZE, so writes fail with EFBIG). Read-only media is a tmpfs remounted
//! `ro`; without mount rights that test skips locally and fails under CI=true. A write-protected
//! store (`chmod a-w`) is the second read-only case; root ignores permission bits, so as root
//! quilt runs there without capabilities (`setpriv`, uid 0 with the `noroot` securebit).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use quilt::hash::{hash_bytes, TopHasher};

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .ok()?
            .status
            .success();
        ok.then(|| Tmpfs {
            path: path.to_owned(),
        })
    }

    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.path)
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "remount {opts}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

fn dataset(root: &Path, seed: u64) {
    for i in 0..100u64 {
        write(
            root,
            &format!("small/{i:03}.bin"),
            &bytes(seed + i, 2000 + i as usize * 10),
        );
    }
    write(root, "big1.bin", &bytes(seed + 1000, 3 << 20));
    write(root, "big2.bin", &bytes(seed + 1001, 3 << 20));
}

/// quilt under `bash -c 'trap "" XFSZ; ulimit -f N; exec quilt …'`.
fn quilt_with_fsize(dir: &Path, blocks_1k: u64, args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("quilt");
    let mut script = format!(
        "trap '' XFSZ; ulimit -f {blocks_1k}; exec '{}' --no-progress",
        bin.display()
    );
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", dir.join(".test-cache"))
        .output()
        .expect("bash")
}

fn assert_clean_space_error(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a full disk is an ordinary failure: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let l = err.to_lowercase();
    assert!(
        l.contains("no space")
            || l.contains("too large")
            || l.contains("disk")
            || l.contains("quota"),
        "the message says the disk is full: {err}"
    );
}

#[test]
fn disk_full_mid_build_fails_cleanly_and_recovers() {
    let t = tempfile::tempdir().expect("tempdir");
    let work = t.path().join("work");
    dataset(&work, 1);
    let mnt = t.path().join("mnt");
    match Tmpfs::mount(&mnt, "5m") {
        Some(fs) => {
            let store = fs.path.join("store");
            ok(&work, &["init", "--store", store.to_str().expect("utf-8")]);
            let v0_dir = t.path().join("v0");
            write(&v0_dir, "tiny.txt", b"tiny");
            ok(
                &v0_dir,
                &["init", "--store", store.to_str().expect("utf-8")],
            );
            let v0 = top_hash(&ok(&v0_dir, &["build", "t/tiny"]));
            // ~6.2 MiB of data into a 5 MiB filesystem.
            let out = quilt(&work)
                .args(["build", "t/ds"])
                .output()
                .expect("build");
            assert_clean_space_error(&out);
            ok(&work, &["verify"]);
            assert!(
                ok(&work, &["log", "t/tiny"]).contains(&v0),
                "earlier versions survive"
            );
            // Retrying on the full disk fails the same way, and does not wedge the store.
            assert_clean_space_error(
                &quilt(&work)
                    .args(["build", "t/ds"])
                    .output()
                    .expect("build"),
            );
            ok(&work, &["verify"]);
            fs.remount("size=64m");
            let top = top_hash(&ok(&work, &["build", "t/ds"]));
            ok(&work, &["verify"]);
            ok(
                &work,
                &["install", &format!("t/ds@{top}"), "--dest", "../out"],
            );
            assert_eq!(
                std::fs::read(t.path().join("out/big2.bin")).expect("installed"),
                bytes(1001 + 1, 3 << 20)
            );
            ok(&work, &["gc"]);
            ok(&work, &["verify"]);
        }
        None => {
            eprintln!("mount -t tmpfs is not permitted: using ulimit -f instead");
            ok(&work, &["init"]);
            // 1 MiB per file: the 3 MiB loose objects cannot be written.
            let out = quilt_with_fsize(&work, 1024, &["build", "t/ds"]);
            assert_clean_space_error(&out);
            ok(&work, &["verify"]);
            top_hash(&ok(&work, &["build", "t/ds"]));
            ok(&work, &["verify"]);
        }
    }
}

#[test]
fn file_size_limit_mid_build_fails_cleanly_and_recovers() {
    // RLIMIT_FSIZE works without privileges, so this runs everywhere.
    let t = tempfile::tempdir().expect("tempdir");
    let work = t.path().join("work");
    dataset(&work, 2);
    ok(&work, &["init"]);
    for limit in [64u64, 1024, 2048] {
        let out = quilt_with_fsize(&work, limit, &["build", "t/ds"]);
        assert_clean_space_error(&out);
        ok(&work, &["verify"]);
        let (_, err) = fails(&work, &["log", "t/ds"]);
        assert!(
            err.contains("t/ds"),
            "no half-built version is recorded: {err}"
        );
    }
    let top = top_hash(&ok(&work, &["build", "t/ds"]));
    ok(&work, &["verify"]);
    ok(
        &work,
        &["install", &format!("t/ds@{top}"), "--dest", "../out"],
    );
}

#[test]
fn read_only_store_reads_and_refuses_writes_clearly() {
    let t = tempfile::tempdir().expect("tempdir");
    let mnt = t.path().join("mnt");
    let Some(fs) = Tmpfs::mount(&mnt, "64m") else {
        skip_or_fail(
            "mount -t tmpfs is not permitted here (write_protected_store_… covers permission \
             bits)",
        );
        return;
    };
    let store = fs.path.join("store");
    let work = t.path().join("work");
    dataset(&work, 3);
    ok(&work, &["init", "--store", store.to_str().expect("utf-8")]);
    let top = top_hash(&ok(&work, &["build", "t/ds"]));
    fs.remount("ro");
    // Reads work.
    ok(&work, &["verify"]);
    assert!(ok(&work, &["log", "t/ds"]).contains(&top));
    ok(&work, &["ls", "t/ds"]);
    ok(&work, &["install", "t/ds", "--dest", "../out"]);
    assert_eq!(
        std::fs::read(t.path().join("out/big1.bin")).expect("installed"),
        bytes(3 + 1000, 3 << 20)
    );
    // Writes fail with a message that says why.
    write(&work, "new.txt", b"new");
    for args in [&["build", "t/ds"][..], &["gc"][..], &["delete", "t/ds"][..]] {
        let out = quilt(&work).args(args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.to_lowercase().contains("read-only"),
            "{args:?} says the store is read-only: {err}"
        );
    }
    fs.remount("rw");
    ok(&work, &["verify"]);
    assert!(
        ok(&work, &["log", "t/ds"]).contains(&top),
        "nothing was lost"
    );
}

/// The setpriv arguments that keep uid 0 but drop every capability, for good: the `noroot`
/// securebit stops exec from granting them back, so permission bits hold as for anyone else.
const NO_CAPS: [&str; 4] = [
    "--securebits=+noroot,+noroot_locked",
    "--bounding-set=-all",
    "--inh-caps=-all",
    "--",
];

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program` as a process that permission bits apply to: as root, under setpriv without
/// capabilities; as anyone else, as it is.
fn unprivileged(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(NO_CAPS).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// `quilt --no-progress <args>` in `dir`, unprivileged.
fn quilt_unprivileged(dir: &Path, args: &[&str]) -> Output {
    unprivileged(&assert_cmd::cargo::cargo_bin("quilt"))
        .arg("--no-progress")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", dir.join(".test-cache"))
        .output()
        .expect("run quilt")
}

/// Sets or clears the write bits of everything under `root`.
fn set_writable(root: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![root.to_owned()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("stat");
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).expect("read_dir") {
                stack.push(e.expect("entry").path());
            }
        }
        let mode = meta.permissions().mode();
        let mode = if writable {
            mode | 0o200
        } else {
            mode & !0o222
        };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

#[test]
fn write_protected_store_reads_and_refuses_writes_clearly() {
    let t = tempfile::tempdir().expect("tempdir");
    let store = t.path().join("store");
    let work = t.path().join("work");
    dataset(&work, 4);
    ok(&work, &["init", "--store", store.to_str().expect("utf-8")]);
    let top = top_hash(&ok(&work, &["build", "t/ds"]));
    set_writable(&store, false);
    // The mechanism itself: an unprivileged process cannot write into the store.
    let probe = unprivileged(Path::new("touch"))
        .arg(store.join("probe"))
        .output();
    let probe_ok = probe.as_ref().is_ok_and(|o| {
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("Permission denied")
    });
    if !probe_ok {
        set_writable(&store, true);
        skip_or_fail(&format!(
            "cannot run a process that permission bits apply to (setpriv as root): {probe:?}"
        ));
        return;
    }
    // Reads work.
    for args in [&["verify"][..], &["log", "t/ds"][..], &["ls", "t/ds"][..]] {
        let out = quilt_unprivileged(&work, args);
        assert!(
            out.status.success(),
            "{args:?} on a write-protected store: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = quilt_unprivileged(&work, &["install", "t/ds", "--dest", "../out"]);
    assert!(
        out.status.success(),
        "install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(t.path().join("out/big1.bin")).expect("installed"),
        bytes(4 + 1000, 3 << 20)
    );
    // Writes fail with a message that says why.
    write(&work, "new.txt", b"new");
    for args in [&["build", "t/ds"][..], &["gc"][..], &["delete", "t/ds"][..]] {
        let out = quilt_unprivileged(&work, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.to_lowercase().contains("read-only"),
            "{args:?} says the store is read-only: {err}"
        );
    }
    set_writable(&store, true);
    ok(&work, &["verify"]);
    assert!(
        ok(&work, &["log", "t/ds"]).contains(&top),
        "nothing was lost"
    );
}

/// Plants an `n`-entry manifest straight into `packages/` and returns its top hash.
fn plant_manifest(store: &Path, n: usize) -> String {
    let id = hash_bytes(b"x");
    let mut header = serde_json::Map::new();
    header.insert("version".into(), serde_json::json!("v0"));
    header.insert("message".into(), serde_json::Value::Null);
    let mut th = TopHasher::new(&header);
    let mut text = serde_json::to_string(&header).expect("json");
    text.push('\n');
    let meta = serde_json::json!({});
    let mut keys: Vec<String> = (0..n)
        .map(|i| format!("d{:04}/f{i:08}.bin", i % 1000))
        .collect();
    keys.sort_by(|a, b| quilt::hash::logical_key_cmp(a, b));
    for k in &keys {
        th.add(k, 1, &id, Some(&meta));
        text.push_str(&format!(
            "{{\"logical_key\": \"{k}\", \"physical_keys\": [\"file:///data/{k}\"], \"size\": 1, \"hash\": {{\"type\": \"{}\", \"value\": \"{}\"}}, \"meta\": {{}}}}\n",
            id.kind.name(),
            id.value_string()
        ));
    }
    let top = th.finish().to_hex();
    std::fs::write(store.join("packages").join(&top), text).expect("manifest");
    top
}

/// Peak RSS in KiB of `quilt ls <top>`, from GNU time.
fn peak_rss_kib_of_ls(dir: &Path, top: &str) -> u64 {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(assert_cmd::cargo::cargo_bin("quilt"))
        .args(["--no-progress", "ls", top])
        .current_dir(dir)
        .env("QUILT_CACHE_DIR", dir.join(".test-cache"))
        .stdout(std::process::Stdio::null())
        .output()
        .expect("/usr/bin/time");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    err.lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("GNU time reports the peak RSS")
}

fn ls_memory(n: usize, limit_mib: u64) {
    if !Path::new("/usr/bin/time").exists() {
        skip_or_fail("/usr/bin/time (GNU time, Debian package `time`) is not installed");
        return;
    }
    let t = tempfile::tempdir().expect("tempdir");
    ok(t.path(), &["init"]);
    let top = plant_manifest(&t.path().join(".quilt"), n);
    let kib = peak_rss_kib_of_ls(t.path(), &top);
    let size = std::fs::metadata(t.path().join(".quilt/packages").join(&top))
        .expect("stat")
        .len();
    eprintln!(
        "quilt ls of a {n}-entry manifest ({} MiB): peak RSS {} MiB",
        size >> 20,
        kib >> 10
    );
    assert!(
        kib >> 10 < limit_mib,
        "peak RSS {} MiB >= {limit_mib} MiB",
        kib >> 10
    );
}

#[test]
fn ls_of_a_100k_entry_manifest_stays_under_300_mib() {
    ls_memory(100_000, 300);
}

#[test]
#[ignore = "long: writes and lists a 1,000,000-entry manifest (~230 MB)"]
fn ls_of_a_million_entry_manifest_stays_bounded() {
    ls_memory(1_000_000, 2048);
}
