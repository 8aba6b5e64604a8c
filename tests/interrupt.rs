//! Ctrl-C (a real SIGINT) in the middle of a transfer, on a directory remote and on SeaweedFS:
//! the process stops within a second with exit code 130, `latest` does not move, no multipart
//! upload is left that nothing will finish, and an interrupted fetch keeps every object it
//! verified, so the re-run fetches only the rest.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn spawn(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", dir.join(".test-cache"))
        .arg("--no-progress")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn quilt")
}

fn run(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = quilt(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run quilt")
}

fn sigint(child: &Child) {
    // SAFETY: kill(2) on the pid of our own child that has not been waited for yet.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Waits until `ready` holds (polling), failing after 60 s or if the child exits first.
fn wait_for(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("quilt exited ({status}) before {what}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never saw {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// SIGINT now; returns the exit code, the time from the signal to the exit, and stderr.
fn interrupt(mut child: Child) -> (Option<i32>, Duration, String) {
    sigint(&child);
    let start = Instant::now();
    let out = loop {
        if child.try_wait().expect("try_wait").is_some() {
            break child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        out.status.code(),
        start.elapsed(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Bytes the process has moved through read(2) and write(2) so far, from /proc: a fetch reads
/// a directory remote's files, and writes what it downloads into the store.
fn bytes_moved(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines()
        .filter_map(|l| {
            l.strip_prefix("rchar: ")
                .or_else(|| l.strip_prefix("wchar: "))
        })
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum()
}

fn latest_on(ws: &Path, env: &[(&'static str, String)], url: &str) -> Option<String> {
    let list = run(ws, env, &["--json", "list", "--remote", url]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    v["packages"]
        .as_array()
        .and_then(|p| p.first())
        .and_then(|p| p["top_hash"].as_str())
        .map(str::to_owned)
}

fn one_large_object(t: &Path, env: &[(&'static str, String)]) -> PathBuf {
    let ws = t.join("ws");
    write(&ws, "large.bin", &bytes(3, 45 << 20));
    assert!(run(&ws, env, &["init"]).status.success());
    assert!(run(&ws, env, &["build", "team/int"]).status.success());
    ws
}

fn assert_interrupted(code: Option<i32>, took: Duration, stderr: &str) {
    assert_eq!(code, Some(130), "exit code after SIGINT; stderr: {stderr}");
    assert!(
        took < Duration::from_secs(1),
        "SIGINT honoured only after {took:?}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn push_to_directory_interrupted_in_its_only_object() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = one_large_object(t.path(), &[]);
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    let url = reg.to_str().expect("utf-8");
    let mut child = spawn(&ws, &[], &["push", "team/int", url, "--jobs", "1"]);
    let objects = reg.join(".quilt/objects");
    wait_for(&mut child, "the object upload", || {
        std::fs::read_dir(&objects).is_ok_and(|mut d| d.next().is_some())
    });
    let (code, took, stderr) = interrupt(child);
    assert_interrupted(code, took, &stderr);
    assert_eq!(latest_on(&ws, &[], url), None, "latest moved");
    // The re-run finishes the push.
    assert!(run(&ws, &[], &["push", "team/int", url]).status.success());
    assert!(latest_on(&ws, &[], url).is_some());
}

/// The bucket's unfinished multipart uploads, as `(key, upload id)`.
fn multipart_uploads(server: &s3_server::Server, bucket: &str) -> Vec<(String, String)> {
    let body = signed_get(server, &format!("{bucket}?uploads="));
    body.split("<Upload>")
        .skip(1)
        .filter_map(|u| Some((tag(u, "Key")?, tag(u, "UploadId")?)))
        .collect()
}

fn signed_get(server: &s3_server::Server, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{}:{}", server.access_key, server.secret_key))
        .arg(format!("{}/{path}", server.endpoint))
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tag(s: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find(&format!("</{name}>"))? + start;
    Some(s[start..end].to_owned())
}

#[test]
fn push_to_s3_interrupted_mid_multipart_aborts_it() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let env = server.env();
    let bucket = server.bucket("intpush");
    let url = format!("s3://{bucket}");
    let t = tempfile::tempdir().expect("tempdir");
    let ws = one_large_object(t.path(), &env);
    let mut child = spawn(&ws, &env, &["push", "team/int", &url, "--jobs", "1"]);
    wait_for(&mut child, "a multipart upload", || {
        !multipart_uploads(server, &bucket).is_empty()
    });
    let (code, took, stderr) = interrupt(child);
    assert_interrupted(code, took, &stderr);
    assert_eq!(latest_on(&ws, &env, &url), None, "latest moved");
    assert_eq!(
        multipart_uploads(server, &bucket),
        vec![],
        "an interrupted upload was left behind"
    );
}

#[test]
fn push_to_s3_killed_mid_multipart_resumes_it() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let env = server.env();
    let bucket = server.bucket("intresume");
    let url = format!("s3://{bucket}");
    let t = tempfile::tempdir().expect("tempdir");
    let ws = one_large_object(t.path(), &env);
    let mut child = spawn(&ws, &env, &["push", "team/int", &url, "--jobs", "1"]);
    // Two parts on the server, then the hard stop a second Ctrl-C makes.
    wait_for(&mut child, "two uploaded parts", || {
        multipart_uploads(server, &bucket)
            .first()
            .is_some_and(|(key, id)| {
                let parts = signed_get(server, &format!("{bucket}/{key}?uploadId={id}"));
                parts.matches("<Part>").count() >= 2
            })
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(multipart_uploads(server, &bucket).len(), 1);

    let mut rerun = quilt(&ws);
    for (k, v) in &env {
        rerun.env(k, v);
    }
    let out = rerun
        .env("QUILT_LOG", "debug")
        .args(["push", "team/int", &url])
        .output()
        .expect("run quilt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming an unfinished upload"),
        "the re-run started over: {stderr}"
    );
    assert_eq!(multipart_uploads(server, &bucket), vec![]);
    // What the resumed upload assembled is the object: a fresh install verifies every byte.
    let dest = t.path().join("installed");
    let inst = run(
        t.path(),
        &env,
        &[
            "install",
            "team/int",
            "--from",
            &url,
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert!(
        inst.status.success(),
        "{}",
        String::from_utf8_lossy(&inst.stderr)
    );
}

const FETCH_OBJECTS: usize = 300;
const FETCH_OBJECT_SIZE: usize = 256 << 10;

/// Pushes 300 objects to `url`, then interrupts a fetch of them about half-way (by the bytes it
/// moved: read from a directory remote plus written to the store); the re-run fetches only what the interrupted one did not keep.
fn interrupted_fetch_keeps_verified_objects(url: &str, env: &[(&'static str, String)]) {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    for i in 0..FETCH_OBJECTS {
        write(
            &src,
            &format!("d/{i:03}.bin"),
            &bytes(100 + i as u64, FETCH_OBJECT_SIZE),
        );
    }
    assert!(run(&src, env, &["init"]).status.success());
    assert!(run(&src, env, &["build", "team/many"]).status.success());
    assert!(run(&src, env, &["push", "team/many", url]).status.success());

    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    assert!(run(&ws, env, &["init"]).status.success());
    let mut child = spawn(&ws, env, &["fetch", "team/many", url, "--jobs", "2"]);
    let half = (FETCH_OBJECTS * FETCH_OBJECT_SIZE / 2) as u64;
    let pid = child.id();
    wait_for(&mut child, "half of the bytes", || bytes_moved(pid) > half);
    let (code, took, stderr) = interrupt(child);
    assert_interrupted(code, took, &stderr);

    let out = run(&ws, env, &["--json", "fetch", "team/many", url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let downloaded = v["objects_downloaded"]
        .as_u64()
        .expect("objects_downloaded");
    let present = v["objects_present"].as_u64().expect("objects_present");
    assert_eq!(downloaded + present, FETCH_OBJECTS as u64);
    assert!(
        present >= (FETCH_OBJECTS / 10) as u64,
        "the interrupted fetch kept only {present} objects; the re-run fetched {downloaded}"
    );
    let verify = run(&ws, env, &["verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn fetch_from_directory_interrupted_keeps_verified_objects() {
    let t = tempfile::tempdir().expect("tempdir");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    interrupted_fetch_keeps_verified_objects(reg.to_str().expect("utf-8"), &[]);
}

#[test]
fn fetch_from_s3_interrupted_keeps_verified_objects() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("intfetch");
    interrupted_fetch_keeps_verified_objects(&format!("s3://{bucket}"), &server.env());
}
