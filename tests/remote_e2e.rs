//! Push, pull, install and quilt3 interop against a directory remote and a real S3 server.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Overwrites a key on the remote behind quilt's back.
type RawPut = Box<dyn Fn(&str, &[u8])>;

/// Where a test pushes: the URL quilt uses, quilt3's registry URL, and the environment both
/// need.
struct Backend {
    url: String,
    registry: String,
    env: Vec<(&'static str, String)>,
    /// Replaces the bytes stored under a key (to simulate corruption on the remote).
    raw_put: RawPut,
}

fn dir_backend(root: &Path) -> Backend {
    let dir = root.join("remote");
    std::fs::create_dir_all(&dir).expect("create the remote directory");
    let url = dir.to_str().expect("utf-8").to_owned();
    let base = dir.clone();
    Backend {
        registry: format!("file://{url}"),
        url,
        env: Vec::new(),
        raw_put: Box::new(move |key, data| {
            std::fs::write(base.join(key), data).expect("overwrite remote object")
        }),
    }
}

fn s3_backend(tag: &str) -> Option<Backend> {
    let server = s3_server::server()?;
    let bucket = server.bucket(tag);
    let env = server.env();
    let bucket_for_put = bucket.clone();
    Some(Backend {
        url: format!("s3://{bucket}"),
        registry: format!("s3://{bucket}"),
        env,
        raw_put: Box::new(move |key, data| {
            let tmp = tempfile::NamedTempFile::new().expect("tmp");
            std::fs::write(tmp.path(), data).expect("write tmp");
            let code = server.signed_put(&format!("{bucket_for_put}/{key}"), Some(tmp.path()));
            assert_eq!(code, "200", "raw PUT of {key}");
        }),
    })
}

fn q(dir: &Path, b: &Backend, args: &[&str]) -> String {
    ok_env(dir, &b.env, args)
}

fn q_fail(dir: &Path, b: &Backend, args: &[&str]) -> String {
    fails_env(dir, &b.env, args)
}

const SMALL_FILES: usize = 100;

fn dataset(root: &Path) {
    for i in 0..SMALL_FILES {
        write(
            root,
            &format!("part/{i:03}.csv"),
            format!("id,v\n{i},{}\n", i * 7).as_bytes(),
        );
    }
    write(root, "big/over8.bin", &bytes(11, 9 * 1024 * 1024 + 3));
    write(root, "ünï/cödé.txt", "ok".as_bytes());
}

fn roundtrip(b: &Backend) {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    dataset(&ws);
    q(&ws, b, &["init"]);
    let v1 = top_hash(&q(&ws, b, &["build", "team/ds", "-m", "v1"]));
    q(&ws, b, &["remote", "add", "origin", &b.url]);
    let first = last_json(&q(&ws, b, &["--json", "push", "team/ds"]));
    assert_eq!(first["top_hash"], v1.as_str());
    assert_eq!(
        first["objects_uploaded"],
        (SMALL_FILES + 2) as u64,
        "{first}"
    );

    // Nothing new: no objects, at most 5 requests.
    let again = last_json(&q(&ws, b, &["--json", "push", "team/ds"]));
    assert_eq!(again["objects_uploaded"], 0, "{again}");
    assert!(
        again["requests"].as_u64().expect("requests") <= 5,
        "a no-op push sent {again}"
    );

    // A version sharing 99% of its objects uploads only the new one.
    write(&ws, "part/042.csv", b"id,v\n42,changed\n");
    let v2 = top_hash(&q(&ws, b, &["build", "team/ds", "-m", "v2"]));
    let second = last_json(&q(&ws, b, &["--json", "push", "team/ds"]));
    assert_eq!(second["objects_uploaded"], 1, "{second}");
    assert_eq!(second["top_hash"], v2.as_str());

    // Pull into a fresh directory: identical files, same top hash, clean status.
    let other = t.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    q(&other, b, &["init"]);
    q(&other, b, &["remote", "add", "origin", &b.url]);
    let pulled = q(&other, b, &["pull", "team/ds"]);
    assert!(pulled.contains(&v2), "{pulled}");
    assert_same_tree(&ws, &other);
    assert!(q(&other, b, &["status"]).contains("nothing changed"));
    // An older version by hash prefix, and the remote's log.
    q(&other, b, &["pull", &format!("team/ds@{}", &v1[..10])]);
    assert_eq!(
        std::fs::read(other.join("part/042.csv")).expect("read"),
        b"id,v\n42,294\n"
    );
    let log = q(&other, b, &["log", "team/ds", "--remote", "origin"]);
    assert!(log.contains(&v1) && log.contains(&v2), "{log}");
    assert!(q(&other, b, &["list", "--remote", "origin"]).contains("team/ds"));
    q(&other, b, &["verify"]);

    // install --from works without an initialised directory.
    let bare = t.path().join("bare");
    std::fs::create_dir_all(&bare).expect("mkdir");
    q(
        &bare,
        b,
        &["install", "team/ds", "--from", &b.url, "--dest", "out"],
    );
    write(&ws, "part/042.csv", b"id,v\n42,changed\n");
    assert_same_tree(&ws, &bare.join("out"));
}

fn quilt3_reads_our_push(b: &Backend) {
    let Some(py) = python() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    dataset(&ws);
    q(&ws, b, &["init"]);
    let top = top_hash(&q(&ws, b, &["build", "team/ours", "-m", "from quilt"]));
    q(&ws, b, &["push", "team/ours", &b.url]);
    let dest = t.path().join("by-quilt3");
    let env: Vec<(&str, &str)> = b.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let theirs = run_py(
        &py,
        "remote.py",
        &[
            "install",
            "team/ours",
            &b.registry,
            dest.to_str().expect("utf-8"),
        ],
        &env,
    );
    assert_eq!(
        theirs.lines().last().unwrap_or_default().trim(),
        top,
        "quilt3 sees another top hash"
    );
    assert_same_tree(&ws, &dest);
}

fn we_read_quilt3_push(b: &Backend) {
    let Some(py) = python() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    dataset(&src);
    let env: Vec<(&str, &str)> = b.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let top = run_py(
        &py,
        "remote.py",
        &[
            "push",
            src.to_str().expect("utf-8"),
            "team/theirs",
            &b.registry,
            "from quilt3",
        ],
        &env,
    );
    let top = top.lines().last().unwrap_or_default().trim();
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    q(&ws, b, &["init"]);
    q(&ws, b, &["remote", "add", "origin", &b.url]);
    let pulled = q(&ws, b, &["pull", "team/theirs"]);
    assert!(pulled.contains(top), "{pulled}");
    assert_same_tree(&src, &ws);
    let dest = t.path().join("installed");
    q(
        &ws,
        b,
        &[
            "install",
            &format!("team/theirs@{}", &top[..12]),
            "--from",
            &b.url,
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert_same_tree(&src, &dest);
}

fn corrupt_object_is_refused(b: &Backend) {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "a.txt", b"the right bytes");
    write(&ws, "b.txt", b"other");
    q(&ws, b, &["init"]);
    q(&ws, b, &["build", "team/c"]);
    q(&ws, b, &["push", "team/c", &b.url]);
    let ls: serde_json::Value = last_json(&q(&ws, b, &["--json", "ls", "team/c"]));
    let entry = ls["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["logical_key"] == "a.txt")
        .expect("a.txt")
        .clone();
    // `ls --json` gives the hex digest, which is the object's key on the remote.
    let digest = entry["hash"].as_str().expect("hash").to_owned();
    (b.raw_put)(&format!(".quilt/objects/{digest}"), b"the wrong bytes");

    let other = t.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    q(&other, b, &["init"]);
    let err = q_fail(&other, b, &["pull", "team/c", &b.url]);
    assert!(err.contains("corrupt") && err.contains(&digest), "{err}");
    assert!(!other.join("a.txt").exists());
    q(&other, b, &["verify"]);
    let list = q(&other, b, &["list"]);
    assert!(
        !list.contains("team/c"),
        "a failed pull must not record the version: {list}"
    );
}

fn concurrent_pushes_keep_both(b: &Backend) {
    let t = tempfile::tempdir().expect("tempdir");
    let mut tops = Vec::new();
    let mut dirs = Vec::new();
    for who in ["alice", "bob"] {
        let ws = t.path().join(who);
        write(&ws, "shared.txt", b"same");
        write(&ws, "who.txt", who.as_bytes());
        q(&ws, b, &["init"]);
        tops.push(top_hash(&q(&ws, b, &["build", "team/race", "-m", who])));
        dirs.push(ws);
    }
    let children: Vec<_> = dirs
        .iter()
        .map(|ws| {
            let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
            cmd.current_dir(ws)
                .args(["--no-progress", "push", "team/race", &b.url]);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for (k, v) in &b.env {
                cmd.env(k, v);
            }
            cmd.spawn().expect("spawn push")
        })
        .collect();
    let results: Vec<bool> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait").status.success())
        .collect();
    assert!(results.iter().any(|ok| *ok), "at least one push succeeds");
    let log = q(&dirs[0], b, &["log", "team/race", "--remote", &b.url]);
    for top in &tops {
        assert!(log.contains(top.as_str()), "version {top} was lost:\n{log}");
    }
    let latest = last_json(&q(&dirs[0], b, &["--json", "list", "--remote", &b.url]));
    let latest = latest["packages"][0]["top_hash"]
        .as_str()
        .expect("latest")
        .to_owned();
    assert!(tops.contains(&latest), "latest names neither version");
}

#[test]
fn dir_roundtrip() {
    let t = tempfile::tempdir().expect("tempdir");
    roundtrip(&dir_backend(t.path()));
}

#[test]
fn dir_quilt3_reads_our_push() {
    let t = tempfile::tempdir().expect("tempdir");
    quilt3_reads_our_push(&dir_backend(t.path()));
}

#[test]
fn dir_we_read_quilt3_push() {
    let t = tempfile::tempdir().expect("tempdir");
    we_read_quilt3_push(&dir_backend(t.path()));
}

#[test]
fn dir_corrupt_object_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    corrupt_object_is_refused(&dir_backend(t.path()));
}

#[test]
fn dir_concurrent_pushes_keep_both() {
    let t = tempfile::tempdir().expect("tempdir");
    concurrent_pushes_keep_both(&dir_backend(t.path()));
}

#[test]
fn s3_roundtrip() {
    if let Some(b) = s3_backend("roundtrip") {
        roundtrip(&b);
    }
}

#[test]
fn s3_quilt3_reads_our_push() {
    if let Some(b) = s3_backend("q3read") {
        quilt3_reads_our_push(&b);
    }
}

#[test]
fn s3_we_read_quilt3_push() {
    if let Some(b) = s3_backend("q3push") {
        we_read_quilt3_push(&b);
    }
}

#[test]
fn s3_corrupt_object_is_refused() {
    if let Some(b) = s3_backend("corrupt") {
        corrupt_object_is_refused(&b);
    }
}

#[test]
fn s3_concurrent_pushes_keep_both() {
    if let Some(b) = s3_backend("race") {
        concurrent_pushes_keep_both(&b);
    }
}

#[test]
fn s3_wrong_credentials_and_unknown_bucket() {
    let Some(good) = s3_backend("creds") else {
        return;
    };
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "a.txt", b"a");
    q(&ws, &good, &["init"]);
    q(&ws, &good, &["build", "team/creds"]);
    let mut bad = s3_backend("creds2").expect("server");
    bad.env.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    bad.env
        .push(("AWS_SECRET_ACCESS_KEY", "definitely-wrong".to_owned()));
    let err = q_fail(&ws, &bad, &["push", "team/creds", &bad.url]);
    assert!(
        err.contains("credentials were rejected") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    let err = q_fail(
        &ws,
        &good,
        &["push", "team/creds", "s3://no-such-bucket-here"],
    );
    assert!(
        err.contains("no-such-bucket-here") && err.contains("does not exist"),
        "{err}"
    );
}
