//! The packed layout under kills and concurrency: a push killed at random moments re-sends at
//! most the packs that were in flight, and two pushers racing `gc --remote` lose no object.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use quilt::store::PackIndex;

const JOBS: usize = 2;

/// Objects (as hex digests) of every indexed pack under `remote`, by pack name, and the
/// `.pack` files without an index.
/// Objects (hex digest, length) of each indexed pack, by pack name.
type Indexed = HashMap<String, Vec<(String, u64)>>;

fn packs(remote: &Path) -> (Indexed, Vec<String>) {
    let dir = remote.join(".quilt/packs");
    let mut indexed = HashMap::new();
    let mut all = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let p = e.expect("entry").path();
        let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
        match p.extension().and_then(|x| x.to_str()) {
            Some("idx") => {
                let idx = PackIndex::parse(std::fs::read(&p).expect("read")).expect("index");
                let objs = idx.entries().map(|e| (e.id.to_hex(), e.len)).collect();
                indexed.insert(stem, objs);
            }
            Some("pack") => all.push(stem),
            _ => {}
        }
    }
    let torn = all
        .into_iter()
        .filter(|n| !indexed.contains_key(n))
        .collect();
    (indexed, torn)
}

fn spawn_push(ws: &Path, url: &str, env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
    cmd.current_dir(ws)
        .env("QUILT_CACHE_DIR", ws.join(".test-cache"))
        .env("QUILT_CONFIG_DIR", ws.join(".test-config"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["--no-progress", "push", "team/k", url, "--layout", "packed"])
        .args(["--jobs", &JOBS.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("spawn push")
}

/// A pseudo-random delay in `0..max` ms, different each run.
fn random_ms(max: u64, salt: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    (nanos ^ salt.wrapping_mul(0x9E37_79B9)) % max
}

#[test]
fn killed_push_resends_at_most_the_packs_in_flight() {
    let env = [("QUILT_PACK_TARGET_BYTES", (256 << 10).to_string())];
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    let mut sizes = HashMap::new();
    for i in 0..1500u64 {
        let data = bytes(i + 10, 1000 + (i as usize * 37) % 5000);
        sizes.insert(i, data.len() as u64);
        write(&ws, &format!("f/{i:05}.bin"), &data);
    }
    let total: u64 = sizes.values().sum();
    ok(&ws, &["init"]);
    ok(&ws, &["build", "team/k"]);
    for round in 0..4u64 {
        let remote = t.path().join(format!("remote-{round}"));
        std::fs::create_dir_all(&remote).expect("mkdir");
        let url = remote.to_str().expect("utf-8");
        let mut child = spawn_push(&ws, url, &env);
        std::thread::sleep(Duration::from_millis(20 + random_ms(200, round)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (at_kill, torn) = packs(&remote);
        assert!(
            torn.len() <= JOBS,
            "more packs in flight than jobs: {torn:?}"
        );
        let landed: u64 = at_kill.values().flatten().map(|(_, n)| n).sum();

        let out = last_json(&ok_env(
            &ws,
            &env,
            &[
                "--json", "push", "team/k", url, "--layout", "packed", "--jobs", "2",
            ],
        ));
        let resent = out["bytes_uploaded"].as_u64().expect("bytes");
        eprintln!(
            "round {round}: {} packs landed before the kill ({landed} bytes), {} in flight, re-run sent {resent} of {total}",
            at_kill.len(),
            torn.len()
        );
        // Exactly what had not landed in an indexed pack is sent again.
        assert_eq!(resent + landed, total, "{out}");
        let (after, _) = packs(&remote);
        let mut seen = HashSet::new();
        for (_, objs) in after.iter() {
            for (o, _) in objs {
                assert!(seen.insert(o.clone()), "object {o} is in two packs");
            }
        }
        assert_eq!(seen.len(), sizes.len());
        let dest = t.path().join(format!("copy-{round}"));
        let out = quilt(t.path())
            .env("QUILT_CACHE_DIR", t.path().join(format!("cache-{round}")))
            .args(["install", "team/k", "--from", url, "--layout", "packed"])
            .args(["--dest", dest.to_str().expect("utf-8")])
            .output()
            .expect("run quilt");
        expect_ok(&["install"], out);
        assert_same_tree(&ws, &dest);
    }
}

/// Runs quilt until it succeeds or fails with something other than "busy"; returns stdout.
fn until_not_busy(dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    for _ in 0..600 {
        let out = run_env(dir, env, args);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("busy"), "quilt {args:?} failed: {err}");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("quilt {args:?} stayed busy");
}

fn workspace(root: &Path, dir: &str, pkg: &str, seeds: impl Iterator<Item = u64>) -> PathBuf {
    let ws = root.join(dir);
    for i in seeds {
        write(
            &ws,
            &format!("f/{i:05}.bin"),
            &bytes(i, 800 + (i as usize * 31) % 3000),
        );
    }
    ok(&ws, &["init"]);
    ok(&ws, &["build", pkg]);
    ws
}

/// Garbage on the remote (a version whose manifest was removed), then two pushers that need
/// some of that garbage and gc --remote, all at once: every pushed version installs whole.
#[test]
fn concurrent_pushers_and_gc_lose_nothing() {
    let env = [("QUILT_PACK_TARGET_BYTES", (64 << 10).to_string())];
    let t = tempfile::tempdir().expect("tempdir");
    let remote = t.path().join("remote");
    std::fs::create_dir_all(&remote).expect("mkdir");
    let url = remote.to_str().expect("utf-8").to_owned();
    for round in 0..3u64 {
        let base = round * 10_000;
        // Objects 600..800 nobody needs again: gc must find garbage every round.
        let old = workspace(
            t.path(),
            &format!("old-{round}"),
            "team/old",
            base..base + 800,
        );
        ok_env(
            &old,
            &env,
            &["push", "team/old", url.as_str(), "--layout", "packed"],
        );
        // Forget that version on the remote: its packs become garbage.
        std::fs::remove_dir_all(remote.join(".quilt/packages")).expect("rm manifests");
        std::fs::remove_dir_all(remote.join(".quilt/named_packages")).expect("rm pointers");
        // Each pusher re-uses half of the garbage and adds files of its own.
        let new = |from: u64| base + from..base + from + 300;
        let a = workspace(
            t.path(),
            &format!("a-{round}"),
            "team/a",
            (base + 300..base + 600).chain(new(1000)),
        );
        let b = workspace(
            t.path(),
            &format!("b-{round}"),
            "team/b",
            (base..base + 300).chain(new(2000)),
        );
        let gc = [
            "--json",
            "gc",
            "--remote",
            url.as_str(),
            "--layout",
            "packed",
        ];
        let removed = |out: String| last_json(&out)["objects_removed"].as_u64().expect("count");
        let mut freed = 0;
        let push = |pkg: &'static str| ["push", pkg, url.as_str(), "--layout", "packed", "--force"];
        std::thread::scope(|s| {
            let pa = s.spawn(|| until_not_busy(&a, &push("team/a"), &env));
            let pb = s.spawn(|| until_not_busy(&b, &push("team/b"), &env));
            for _ in 0..5 {
                freed += removed(until_not_busy(&old, &gc, &[]));
            }
            pa.join().expect("pusher a");
            pb.join().expect("pusher b");
        });
        freed += removed(until_not_busy(&old, &gc, &[]));
        assert!(
            freed >= 200,
            "round {round}: gc removed only {freed} objects"
        );
        for (ws, pkg) in [(&a, "team/a"), (&b, "team/b")] {
            let log = last_json(&ok(ws, &["--json", "log", pkg]));
            let hash = log["versions"][0]["top_hash"]
                .as_str()
                .unwrap_or_else(|| panic!("no top hash in {log}"))
                .to_owned();
            let dest = t.path().join(format!("copy-{round}-{}", &pkg[5..]));
            let cache = t.path().join(format!("cache-{round}-{}", &pkg[5..]));
            let out = quilt(t.path())
                .env("QUILT_CACHE_DIR", &cache)
                .args([
                    "install",
                    &format!("{pkg}@{hash}"),
                    "--from",
                    &url,
                    "--layout",
                    "packed",
                ])
                .args(["--dest", dest.to_str().expect("utf-8")])
                .output()
                .expect("run quilt");
            expect_ok(&["install"], out);
            assert_same_tree(ws, &dest);
        }
    }
}
