//! Several processes on one store and one directory remote at once: builds from two working
//! directories sharing a store, pushes, pulls, fetches and a gc loop running under them.
//!
//! Afterwards, and along the way: no ref that a command reported is lost, `verify` passes,
//! and every version a build printed installs completely (gc never deleted an object a
//! concurrent build had just referenced). `QUILT_CONCURRENCY_ROUNDS` scales it (8 by default).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{bytes, write};

fn rounds() -> u64 {
    std::env::var("QUILT_CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

fn run(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("quilt"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", cache)
        .arg("--no-progress")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run quilt")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn must(dir: &Path, cache: &Path, args: &[&str]) -> String {
    let o = run(dir, cache, args);
    assert!(
        o.status.success(),
        "quilt {args:?} in {}: {}",
        dir.display(),
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

fn versions(dir: &Path, cache: &Path, name: &str) -> Vec<String> {
    let o = run(dir, cache, &["--json", "log", name]);
    if !o.status.success() {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("log json");
    v["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|x| x["top_hash"].as_str().expect("hash").to_owned())
        .collect()
}

fn fill(dir: &Path, seed: u64, round: u64) {
    for i in 0..60u64 {
        write(
            dir,
            &format!("s/{i:03}.bin"),
            &bytes(
                seed * 1000 + i + round * 7919,
                300 + (i as usize * 97) % 4000,
            ),
        );
    }
    write(
        dir,
        "big.bin",
        &bytes(seed * 31 + round, (1 << 20) + 4096 * round as usize),
    );
}

struct World {
    _t: tempfile::TempDir,
    base: PathBuf,
    a: PathBuf,
    b: PathBuf,
    c: PathBuf,
    remote: PathBuf,
    cache: PathBuf,
}

fn world() -> World {
    let t = tempfile::tempdir().expect("tempdir");
    let base = t.path().to_owned();
    let store = base.join("store");
    let (a, b, c, remote, cache) = (
        base.join("a"),
        base.join("b"),
        base.join("c"),
        base.join("remote"),
        base.join("cache"),
    );
    for d in [&a, &b, &c, &remote, &cache] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let r = remote.to_str().expect("utf-8");
    for d in [&a, &b] {
        must(
            d,
            &cache,
            &["init", "--store", store.to_str().expect("utf-8")],
        );
    }
    // Remotes live in the shared store, so one `remote add` serves both directories.
    must(&a, &cache, &["remote", "add", "origin", r]);
    must(&c, &cache, &["init"]);
    must(&c, &cache, &["remote", "add", "origin", r]);
    World {
        _t: t,
        base,
        a,
        b,
        c,
        remote,
        cache,
    }
}

/// Installs `rev` from the store at `dir` and checks it has `files` entries.
fn installs(dir: &Path, cache: &Path, dest: &Path, rev: &str) -> Result<(), String> {
    let o = run(
        dir,
        cache,
        &["install", rev, "--dest", dest.to_str().expect("utf-8")],
    );
    let _ = std::fs::remove_dir_all(dest);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("install {rev}: {}", text(&o)))
    }
}

#[test]
fn builds_pushes_pulls_and_gc_at_once() {
    let w = world();
    let stop = Arc::new(AtomicBool::new(false));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let built: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let pushed: Arc<Mutex<Vec<String>>> = Arc::default();
    let n = rounds();

    std::thread::scope(|s| {
        // Two builders on one shared store, each pushing what it built.
        for (dir, name, seed) in [(&w.a, "t/a", 1u64), (&w.b, "t/b", 2u64)] {
            let (errors, built, pushed, cache, base) = (
                errors.clone(),
                built.clone(),
                pushed.clone(),
                &w.cache,
                &w.base,
            );
            s.spawn(move || {
                for round in 0..n {
                    fill(dir, seed, round);
                    let o = run(
                        dir,
                        cache,
                        &["build", name, "-m", &format!("round {round}")],
                    );
                    if !o.status.success() {
                        errors
                            .lock()
                            .expect("lock")
                            .push(format!("build {name}: {}", text(&o)));
                        continue;
                    }
                    let top = first_line(&String::from_utf8_lossy(&o.stdout));
                    built
                        .lock()
                        .expect("lock")
                        .push((name.to_owned(), top.clone()));
                    // Right after the build, while gc runs: every object must be there.
                    let dest = base.join(format!("i-{seed}-{round}"));
                    if let Err(e) = installs(dir, cache, &dest, &format!("{name}@{top}")) {
                        errors
                            .lock()
                            .expect("lock")
                            .push(format!("just built, gc raced: {e}"));
                    }
                    let o = run(dir, cache, &["push", name, "origin"]);
                    if o.status.success() {
                        pushed.lock().expect("lock").push(top);
                    } else {
                        errors
                            .lock()
                            .expect("lock")
                            .push(format!("push {name}: {}", text(&o)));
                    }
                }
            });
        }
        // gc over and over on the shared store.
        {
            let (stop, errors, cache, a) = (stop.clone(), errors.clone(), &w.cache, &w.a);
            s.spawn(move || {
                let mut runs = 0;
                while !stop.load(Ordering::Relaxed) {
                    let o = run(a, cache, &["gc"]);
                    runs += 1;
                    if !o.status.success() {
                        let e = String::from_utf8_lossy(&o.stderr).to_lowercase();
                        // Being told the store is busy is fine; anything else is not.
                        if !(e.contains("busy") || e.contains("lock") || e.contains("in use")) {
                            errors
                                .lock()
                                .expect("lock")
                                .push(format!("gc: {}", text(&o)));
                        }
                    }
                }
                eprintln!("gc ran {runs} times");
            });
        }
        // A client pulling and fetching from the remote being pushed to.
        {
            let (stop, errors, cache, c) = (stop.clone(), errors.clone(), &w.cache, &w.c);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for args in [["pull", "t/a", "origin"], ["fetch", "t/b", "origin"]] {
                        let o = run(c, cache, &args);
                        let e = String::from_utf8_lossy(&o.stderr);
                        // Before the first push the package does not exist yet.
                        if !o.status.success()
                            && !e.contains("not found")
                            && !e.contains("no package")
                            && !e.contains("does not exist")
                        {
                            errors
                                .lock()
                                .expect("lock")
                                .push(format!("{args:?}: {}", text(&o)));
                        }
                    }
                }
            });
        }
        // Wait for the builders (the first two threads), then stop the loops.
        let waiter = {
            let stop = stop.clone();
            let built = built.clone();
            let errors = errors.clone();
            move || {
                while built.lock().expect("lock").len() + errors.lock().expect("lock").len()
                    < 2 * n as usize
                {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                // Let the last pushes land.
                std::thread::sleep(std::time::Duration::from_secs(3));
                stop.store(true, Ordering::Relaxed);
            }
        };
        s.spawn(waiter);
    });

    let errors = errors.lock().expect("lock").clone();
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n\n")
    );
    must(&w.a, &w.cache, &["verify"]);
    must(&w.c, &w.cache, &["verify"]);
    must(&w.a, &w.cache, &["gc"]);
    must(&w.a, &w.cache, &["verify"]);
    // No lost ref: every build that printed a hash is in the log, and installs.
    let built = built.lock().expect("lock").clone();
    for (name, top) in &built {
        let v = versions(&w.a, &w.cache, name);
        assert!(
            v.contains(top),
            "{name}@{top} was built but is not in the log: {v:?}"
        );
        installs(
            &w.b,
            &w.cache,
            &w.base.join("final"),
            &format!("{name}@{top}"),
        )
        .expect("every built version installs after gc");
    }
    // Every pushed version's manifest is on the remote.
    for top in pushed.lock().expect("lock").iter() {
        assert!(
            w.remote.join(".quilt/packages").join(top).is_file(),
            "pushed {top} is not on the remote"
        );
    }
    eprintln!(
        "concurrency: {} builds, {} pushes",
        built.len(),
        pushed.lock().expect("lock").len()
    );
}

/// Two stores push different versions of the same package to one remote at the same time:
/// `latest` moves by compare-and-swap, so each successful push stays reachable by its
/// timestamp pointer and a loser is told, not silently overwritten.
#[test]
fn racing_pushes_of_one_package_lose_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let remote = t.path().join("remote");
    let cache = t.path().join("cache");
    std::fs::create_dir_all(&remote).expect("mkdir");
    let dirs: Vec<PathBuf> = (0..3).map(|i| t.path().join(format!("w{i}"))).collect();
    for (i, d) in dirs.iter().enumerate() {
        fill(d, 10 + i as u64, 0);
        must(d, &cache, &["init"]);
        must(
            d,
            &cache,
            &["remote", "add", "origin", remote.to_str().expect("utf-8")],
        );
    }
    let mut pushed = Vec::new();
    let mut uploaded = Vec::new();
    for round in 0..rounds().min(5) {
        let results: Vec<(String, Output)> = std::thread::scope(|s| {
            let hs: Vec<_> = dirs
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let cache = &cache;
                    s.spawn(move || {
                        fill(d, 10 + i as u64, round + 1);
                        let top = first_line(&must(d, cache, &["build", "t/same"]));
                        (top, run(d, cache, &["push", "t/same", "origin"]))
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        for (top, o) in results {
            if o.status.success() {
                pushed.push(top);
            } else {
                let e = String::from_utf8_lossy(&o.stderr);
                assert!(
                    e.contains("not built on") || e.contains("moved"),
                    "a losing push says why: {}",
                    text(&o)
                );
                // The loser's version is still uploaded and reachable by its timestamp.
                uploaded.push(top);
            }
        }
    }
    assert!(!pushed.is_empty());
    let np = remote.join(".quilt/named_packages/t/same");
    let mut pointed = Vec::new();
    for e in std::fs::read_dir(&np).expect("pointers").flatten() {
        pointed.push(
            std::fs::read_to_string(e.path())
                .expect("pointer")
                .trim()
                .to_owned(),
        );
    }
    for top in pushed.iter().chain(&uploaded) {
        assert!(
            pointed.contains(top),
            "pushed {top} has no pointer on the remote"
        );
        assert!(remote.join(".quilt/packages").join(top).is_file());
    }
    let latest = std::fs::read_to_string(np.join("latest")).expect("latest");
    assert!(
        pushed.contains(&latest.trim().to_owned()),
        "latest names a pushed version"
    );
    eprintln!(
        "racing pushes: {} moved latest, {} lost the race",
        pushed.len(),
        uploaded.len()
    );
    // Each pushed version installs from the remote alone.
    for top in pushed.iter().chain(&uploaded) {
        let fresh = t.path().join(format!("fresh-{}", &top[..8]));
        std::fs::create_dir_all(&fresh).expect("mkdir");
        must(
            &fresh,
            &fresh.join("c"),
            &[
                "install",
                &format!("t/same@{top}"),
                "--from",
                remote.to_str().expect("utf-8"),
                "--dest",
                "out",
            ],
        );
    }
}
