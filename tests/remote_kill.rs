//! A push killed with SIGKILL at several moments never leaves the remote's `latest` naming an
//! incomplete version, and the re-run sends only what is still missing.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const FILES: usize = 400;

fn run(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = quilt(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run quilt")
}

fn killed_pushes_resume(url: &str, env: &[(&'static str, String)]) {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    for i in 0..FILES {
        write(&ws, &format!("f/{i:04}.bin"), &bytes(i as u64, 2_000 + i));
    }
    write(&ws, "large.bin", &bytes(9, 12 * 1024 * 1024));
    assert!(run(&ws, env, &["init"]).status.success());
    let out = run(&ws, env, &["build", "team/kill"]);
    assert!(out.status.success());
    let top = top_hash(&String::from_utf8_lossy(&out.stdout));
    let total = (FILES + 1) as u64;

    for delay_ms in [30u64, 120, 300] {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
        cmd.current_dir(&ws)
            .args(["--no-progress", "push", "team/kill", url, "--jobs", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn push");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        // Whatever `latest` names (if anything) must install completely.
        let list = run(&ws, env, &["--json", "list", "--remote", url]);
        assert!(
            list.status.success(),
            "{}",
            String::from_utf8_lossy(&list.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
        if let Some(latest) = v["packages"].as_array().and_then(|p| p.first()) {
            assert_eq!(
                latest["top_hash"],
                top.as_str(),
                "latest names an unknown version"
            );
            let dest = t.path().join(format!("check-{delay_ms}"));
            let inst = run(
                t.path(),
                env,
                &[
                    "install",
                    &top,
                    "--from",
                    url,
                    "--dest",
                    dest.to_str().expect("utf-8"),
                ],
            );
            assert!(
                inst.status.success(),
                "latest names an incomplete version: {}",
                String::from_utf8_lossy(&inst.stderr)
            );
        }
    }

    // The re-run finishes and sends only what had not arrived.
    let out = run(&ws, env, &["--json", "push", "team/kill", url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .find(|l| l.starts_with(b"{"))
            .expect("json line"),
    )
    .expect("json");
    let uploaded = v["objects_uploaded"].as_u64().expect("uploaded");
    let present = v["objects_present"].as_u64().expect("present");
    assert_eq!(uploaded + present, total, "{v}");
    eprintln!("re-run after kills: {uploaded} uploaded, {present} already there of {total}");
    let dest = t.path().join("final");
    let inst = run(
        t.path(),
        env,
        &[
            "install",
            "team/kill",
            "--from",
            url,
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert!(
        inst.status.success(),
        "{}",
        String::from_utf8_lossy(&inst.stderr)
    );
    assert_eq!(
        std::fs::read(dest.join("large.bin")).expect("large"),
        std::fs::read(ws.join("large.bin")).expect("orig")
    );
}

#[test]
fn killed_push_to_directory_resumes() {
    let t = tempfile::tempdir().expect("tempdir");
    let url = t.path().join("remote");
    std::fs::create_dir_all(&url).expect("create the remote directory");
    killed_pushes_resume(url.to_str().expect("utf-8"), &[]);
}

#[test]
fn killed_push_to_s3_resumes() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("kill");
    killed_pushes_resume(&format!("s3://{bucket}"), &server.env());
}
