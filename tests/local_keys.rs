//! Physical keys are a capability, not an instruction: a manifest fetched from S3 must not
//! make quilt read local files unless `--allow-local-keys` says so, and even then only
//! regular files, never past the declared size. Manifests from a directory remote on this
//! machine (quilt3's local builds) keep their `file://` keys.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use quilt::hash::{hash_bytes, Entry, LogicalKey, Manifest, ObjectId};
use quilt::sync::Remote;
use serde_json::{json, Map};

const PKG: &str = "evil/pkg";

/// One entry of a planted manifest.
struct Planted {
    key: &'static str,
    size: u64,
    id: ObjectId,
    physical_key: String,
}

fn file_key(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Writes a manifest with `entries` plus its timestamp and `latest` pointers straight onto
/// `remote`, as a registry writer would; returns the top hash.
fn plant(remote: &dyn Remote, entries: &[Planted]) -> String {
    let mut header = Map::new();
    header.insert("version".into(), json!("v0"));
    header.insert("user_meta".into(), json!(null));
    header.insert("message".into(), json!("planted"));
    let mut m = Manifest::new(header);
    for p in entries {
        let mut e = Entry::new(LogicalKey::parse(p.key).expect("key"), p.size, p.id);
        e.physical_keys = vec![p.physical_key.clone()];
        m.entries.push(e);
    }
    m.sort_entries();
    let top = m.top_hash().to_hex();
    remote
        .put(&format!(".quilt/packages/{top}"), &m.to_bytes())
        .expect("put manifest");
    let dir = format!(".quilt/named_packages/{PKG}");
    remote
        .put(&format!("{dir}/1700000000"), top.as_bytes())
        .expect("put pointer");
    remote
        .put(&format!("{dir}/latest"), top.as_bytes())
        .expect("put latest");
    top
}

fn honest(key: &'static str, data: &[u8], physical_key: String) -> Planted {
    Planted {
        key,
        size: data.len() as u64,
        id: hash_bytes(data),
        physical_key,
    }
}

struct S3 {
    remote: Box<dyn Remote>,
    bucket: String,
    env: Vec<(&'static str, String)>,
}

fn s3(tag: &str) -> Option<S3> {
    let server = s3_server::server()?;
    let bucket = server.bucket(tag);
    let remote = server.open_remote(&bucket);
    Some(S3 {
        remote,
        bucket,
        env: server.env(),
    })
}

/// A client directory with its own store, so what a failed install leaves can be inspected.
fn client(root: &Path) -> PathBuf {
    let ws = root.join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    ok(&ws, &["init"]);
    ws
}

/// Runs `quilt install PKG --from URL --dest DEST` (plus `extra`), killed after 60 s so a hang
/// fails the test instead of blocking it. Returns (exit code, stderr).
fn install(
    ws: &Path,
    env: &[(&'static str, String)],
    from: &str,
    dest: &Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let start = Instant::now();
    let out = quilt(ws)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["install", PKG, "--from", from, "--dest"])
        .arg(dest)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("quilt install finished within 60 s");
    assert!(start.elapsed() < Duration::from_secs(60));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under the store's objects and manifests, to show a refusal changed nothing.
fn store_files(ws: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![ws.join(".quilt/objects"), ws.join(".quilt/packages")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn stored(ws: &Path, data: &[u8]) -> bool {
    let store = quilt::store::Store::open(&ws.join(".quilt")).expect("open store");
    store.contains(&hash_bytes(data)).expect("contains")
}

#[test]
fn s3_manifest_local_key_is_refused_without_the_flag() {
    let Some(s3) = s3("refuse") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let secret = t.path().join("secret");
    let data = b"private bytes on the client machine".to_vec();
    std::fs::write(&secret, &data).expect("write secret");
    plant(
        s3.remote.as_ref(),
        &[honest("data.txt", &data, file_key(&secret))],
    );
    let ws = client(t.path());
    let before = store_files(&ws);
    let dest = t.path().join("out");
    let from = format!("s3://{}", s3.bucket);

    let (code, err) = install(&ws, &s3.env, &from, &dest, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("data.txt"), "names the logical key: {err}");
    assert!(
        err.contains(&file_key(&secret)),
        "names the physical key: {err}"
    );
    assert!(err.contains("--allow-local-keys"), "says how: {err}");
    assert!(!dest.join("data.txt").exists());
    assert!(!stored(&ws, &data), "the secret entered the store");
    assert_eq!(store_files(&ws), before, "the store changed");
    let list = ok(&ws, &["list"]);
    assert!(!list.contains(PKG), "a refused install recorded {list}");

    let (code, err) = install(&ws, &s3.env, &from, &dest, &["--allow-local-keys"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read(dest.join("data.txt")).expect("installed"),
        data
    );
}

#[test]
fn s3_manifest_refused_local_key_falls_back_to_registry_object() {
    let Some(s3) = s3("fallback") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let data = b"the registry has its own copy".to_vec();
    let id = hash_bytes(&data);
    let hex: String = id.digest.iter().map(|b| format!("{b:02x}")).collect();
    s3.remote
        .put(&format!(".quilt/objects/{hex}"), &data)
        .expect("put object");
    let elsewhere = t.path().join("not-read");
    std::fs::write(&elsewhere, b"must not be read").expect("write");
    plant(
        s3.remote.as_ref(),
        &[honest("data.txt", &data, file_key(&elsewhere))],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let (code, err) = install(&ws, &s3.env, &format!("s3://{}", s3.bucket), &dest, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read(dest.join("data.txt")).expect("installed"),
        data
    );
}

#[test]
fn s3_manifest_fifo_key_fails_quickly_even_when_allowed() {
    let Some(s3) = s3("fifo") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let fifo = t.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let data = b"ten bytes!";
    plant(
        s3.remote.as_ref(),
        &[honest("pipe.bin", data, file_key(&fifo))],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let start = Instant::now();
    let from = format!("s3://{}", s3.bucket);
    let (code, err) = install(&ws, &s3.env, &from, &dest, &["--allow-local-keys"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30), "took too long");
    assert!(err.contains("FIFO") && err.contains("pipe.bin"), "{err}");
    assert!(!dest.join("pipe.bin").exists());
}

#[test]
fn s3_manifest_local_file_larger_than_declared_is_an_error() {
    let Some(s3) = s3("larger") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let big = t.path().join("big");
    let content = bytes(7, 100_000);
    std::fs::write(&big, &content).expect("write");
    // The manifest declares (and hashes) only the first 10 bytes.
    plant(
        s3.remote.as_ref(),
        &[honest("head.bin", &content[..10], file_key(&big))],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let from = format!("s3://{}", s3.bucket);
    let (code, err) = install(&ws, &s3.env, &from, &dest, &["--allow-local-keys"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("head.bin") && err.contains("more than the 10"),
        "{err}"
    );
    assert!(!stored(&ws, &content[..10]));
}

#[test]
fn s3_keys_into_other_buckets_are_followed_and_named_with_verbose() {
    let Some(home) = s3("home") else { return };
    let Some(other) = s3("other") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let data = b"kept in a data bucket".to_vec();
    other.remote.put("raw/data.txt", &data).expect("put");
    plant(
        home.remote.as_ref(),
        &[honest(
            "data.txt",
            &data,
            format!("s3://{}/raw/data.txt", other.bucket),
        )],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let from = format!("s3://{}", home.bucket);
    let (code, err) = install(&ws, &home.env, &from, &dest, &["-v"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(&other.bucket), "-v names the bucket: {err}");
    assert_eq!(
        std::fs::read(dest.join("data.txt")).expect("installed"),
        data
    );
}

#[test]
fn dir_remote_manifest_keeps_local_keys() {
    // quilt3's local builds point at the files where they were built, outside the registry.
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src/data.csv");
    let data = b"a,b\n1,2\n".to_vec();
    write(t.path(), "src/data.csv", &data);
    let registry = t.path().join("registry");
    std::fs::create_dir_all(&registry).expect("mkdir registry");
    let remote = quilt::sync::open_remote(registry.to_str().expect("utf-8"), &Default::default())
        .expect("dir remote");
    plant(
        remote.as_ref(),
        &[honest("data.csv", &data, file_key(&src))],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let (code, err) = install(&ws, &[], registry.to_str().expect("utf-8"), &dest, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read(dest.join("data.csv")).expect("installed"),
        data
    );
}

#[test]
fn dir_remote_manifest_fifo_key_fails_quickly() {
    let t = tempfile::tempdir().expect("tempdir");
    let fifo = t.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let registry = t.path().join("registry");
    std::fs::create_dir_all(&registry).expect("mkdir registry");
    let remote = quilt::sync::open_remote(registry.to_str().expect("utf-8"), &Default::default())
        .expect("dir remote");
    plant(
        remote.as_ref(),
        &[honest("pipe.bin", b"ten bytes!", file_key(&fifo))],
    );
    let ws = client(t.path());
    let dest = t.path().join("out");
    let (code, err) = install(&ws, &[], registry.to_str().expect("utf-8"), &dest, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("FIFO"), "{err}");
}

#[test]
fn s3_manifest_local_key_needs_the_flag_on_fetch_and_pull_too() {
    let Some(s3) = s3("pull") else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let secret = t.path().join("secret");
    let data = b"read only when allowed".to_vec();
    std::fs::write(&secret, &data).expect("write secret");
    plant(
        s3.remote.as_ref(),
        &[honest("data.txt", &data, file_key(&secret))],
    );
    let ws = client(t.path());
    let from = format!("s3://{}", s3.bucket);
    let run = |args: &[&str]| {
        quilt(&ws)
            .envs(s3.env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .expect("quilt finished within 60 s")
    };
    for cmd in ["fetch", "pull"] {
        let out = run(&[cmd, PKG, &from]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert!(err.contains("--allow-local-keys"), "{cmd}: {err}");
        assert!(!stored(&ws, &data), "{cmd} stored the secret");
    }
    let out = run(&["pull", PKG, &from, "--allow-local-keys"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(ws.join("data.txt")).expect("pulled"), data);
}
