//! S3 data packaged in place (`quilt build NAME s3://bucket/prefix/ --registry R`) against a real
//! SeaweedFS server and the real quilt3: equal top hashes and physical keys, cross-reading both
//! ways, and bad input that leaves the registry untouched.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use s3_server::Server;

const MIB: u64 = 1 << 20;

struct World {
    server: &'static Server,
    py: PathBuf,
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> Option<World> {
        let server = s3_server::server()?;
        let py = python()?;
        Some(World {
            server,
            py,
            tmp: tempfile::tempdir().expect("tempdir"),
        })
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        self.server.env()
    }

    /// The environment with another identity's credentials.
    fn env_as(&self, key: &str, secret: &str) -> Vec<(&'static str, String)> {
        let mut env = self.env();
        for (k, v) in &mut env {
            match *k {
                "AWS_ACCESS_KEY_ID" => *v = key.to_owned(),
                "AWS_SECRET_ACCESS_KEY" => *v = secret.to_owned(),
                _ => {}
            }
        }
        env
    }

    fn py(&self, args: &[&str]) -> String {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let home = self.tmp.path().join("py-home");
        std::fs::create_dir_all(&home).expect("mkdir");
        let mut env = env;
        env.push(("HOME", home.to_str().expect("utf-8")));
        run_py(&self.py, "inplace.py", args, &env)
    }

    /// Runs quilt in a directory that is not a quilt working directory.
    fn quilt(&self, env: &[(&'static str, String)], args: &[&str]) -> std::process::Output {
        let dir = self.tmp.path().join("cwd");
        std::fs::create_dir_all(&dir).expect("mkdir");
        run_env(&dir, env, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(args, self.quilt(&self.env(), args))
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// `quilt …` expected to fail: (exit code, stderr).
    fn fails(&self, env: &[(&'static str, String)], args: &[&str]) -> (i32, String) {
        expect_failure(args, self.quilt(env, args))
    }

    /// Every key in `bucket`.
    fn keys_of(&self, bucket: &str) -> Vec<String> {
        self.py(&["ls", bucket])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// quilt3's view of a package on a registry: sorted "logical<TAB>physical" lines.
    fn quilt3_keys(&self, name: &str, registry: &str) -> Vec<String> {
        let mut lines: Vec<String> = self
            .py(&["keys", name, registry])
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    fn quilt3_install(&self, name: &str, registry: &str, dest: &Path) -> String {
        let env = self.env();
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let home = self.tmp.path().join("py-home");
        env.push(("HOME", home.to_str().expect("utf-8")));
        let out = run_py(
            &self.py,
            "remote.py",
            &["install", name, registry, dest.to_str().expect("utf-8")],
            &env,
        );
        out.lines().last().unwrap_or_default().trim().to_owned()
    }
}

/// A SigV4-signed DELETE with curl (quicker to start than Python, for the race below).
fn signed_delete(server: &Server, path: &str) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
        ])
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{}:{}", server.access_key, server.secret_key))
        .arg(format!("{}/{path}", server.endpoint))
        .output()
        .expect("run curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "204", "DELETE {path}");
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every file below `root` with its bytes, by relative path.
fn all_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).expect("below root");
                out.push((
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(&p).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The mixed fixture of tests/py/inplace.py: what quilt reports about it.
fn check_mixed_fixture_report(out: &serde_json::Value) {
    assert_eq!(out["files"], 11, "{out}");
    assert_eq!(out["directory_markers"], 1, "{out}");
    assert_eq!(out["skipped"], serde_json::json!([]), "{out}");
    // Taken from S3's checksums: two plain uploads of one chunk, the unicode key, the
    // latest of the two versions, and the multipart object in 8 MiB parts.
    assert_eq!(out["from_checksums"], 5, "{out}");
    // Read and hashed: no checksum (small and 20 MiB), a plain 9 MiB upload, and the
    // multipart objects whose parts are not quilt3's chunks.
    assert_eq!(out["hashed_files"], 5, "{out}");
    let hashed = 19 + 17 * MIB + 12 * MIB + 9 * MIB + 20 * MIB;
    assert_eq!(out["hashed_bytes"], hashed, "{out}");
    let r = &out["source_requests"];
    assert_eq!(r["list"], 1, "{out}");
    assert_eq!(r["head"], 11, "one HEAD per object: {out}");
    // The part layouts of the two multipart objects with as many parts as chunks.
    assert_eq!(r["attributes"], 2, "{out}");
    assert_eq!(r["get_bytes"], hashed, "nothing read twice: {out}");
    // One GET per 8 MiB chunk of each object read.
    assert_eq!(r["get"], 1 + 3 + 2 + 2 + 3, "{out}");
}

#[test]
fn versioned_prefix_matches_quilt3_and_both_read_each_other() {
    let Some(w) = World::new() else { return };
    let src = w.server.bucket("src");
    let ours = w.server.bucket("ours");
    let theirs = w.server.bucket("theirs");
    w.py(&["fill", &src, "data/", "versioned"]);

    let source = format!("s3://{src}/data/");
    let out = w.json(&[
        "build",
        "team/inplace",
        &source,
        "--registry",
        &format!("s3://{ours}"),
    ]);
    let top = out["top_hash"].as_str().expect("top hash").to_owned();
    check_mixed_fixture_report(&out);
    let q3 = w.py(&[
        "build",
        &src,
        "data/",
        "team/inplace",
        &format!("s3://{theirs}"),
    ]);
    assert_eq!(q3.trim(), top, "quilt3 computes another top hash");

    // quilt3 browses our build and finds the very physical keys it writes itself: the same
    // encoding, and the version id of the latest version of each object.
    let ours_keys = w.quilt3_keys("team/inplace", &format!("s3://{ours}"));
    assert_eq!(
        ours_keys,
        w.quilt3_keys("team/inplace", &format!("s3://{theirs}"))
    );
    assert!(
        ours_keys.iter().all(|l| l.contains("?versionId=")),
        "{ours_keys:?}"
    );
    assert!(
        ours_keys
            .iter()
            .any(|l| l.contains("dir%20with%20space/%C3%BCn%C3%AFc%C3%B8d%C3%A9%20")),
        "{ours_keys:?}"
    );

    // Only the manifest and the two pointers were written; no data was copied.
    let written = w.keys_of(&ours);
    assert_eq!(written.len(), 3, "{written:?}");
    assert!(written.contains(&format!(".quilt/packages/{top}")));
    assert!(written.contains(&".quilt/named_packages/team/inplace/latest".to_owned()));
    let log = w.ok(&["log", "team/inplace", "--remote", &format!("s3://{ours}")]);
    assert!(log.contains(&top) && log.contains("(latest)"), "{log}");

    // We install quilt3's in-place build, quilt3 installs ours: the same files.
    let mine = w.tmp.path().join("ours-of-theirs");
    w.ok(&[
        "install",
        "team/inplace",
        "--from",
        &format!("s3://{theirs}"),
        "--dest",
        mine.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        text(&mine.join("two-versions.txt")),
        "second version, the latest\n"
    );

    // A third version lands after the build: the manifest still names the second.
    w.py(&["put", &src, "data/two-versions.txt", "a third version\n"]);
    let dest = w.tmp.path().join("theirs-of-ours");
    assert_eq!(
        w.quilt3_install("team/inplace", &format!("s3://{ours}"), &dest),
        top
    );
    assert_eq!(
        text(&dest.join("two-versions.txt")),
        "second version, the latest\n"
    );
    assert_eq!(
        text(&dest.join("dir with space/ünïcødé файл.txt")),
        "unicode ✓\n"
    );
    assert_eq!(all_files(&dest), all_files(&mine));
}

#[test]
fn unversioned_prefix_matches_quilt3_and_rehash_reads_every_byte() {
    let Some(w) = World::new() else { return };
    let src = w.server.bucket("plain");
    let ours = w.server.bucket("ours");
    let theirs = w.server.bucket("theirs");
    w.py(&["fill", &src, "data/"]);
    let source = format!("s3://{src}/data/");
    let registry = format!("s3://{ours}");
    let out = w.json(&["build", "team/plain", &source, "--registry", &registry]);
    let top = out["top_hash"].as_str().expect("top hash").to_owned();
    check_mixed_fixture_report(&out);
    assert_eq!(out["latest_moved"], true);
    let q3 = w.py(&[
        "build",
        &src,
        "data/",
        "team/plain",
        &format!("s3://{theirs}"),
    ]);
    assert_eq!(q3.trim(), top, "quilt3 computes another top hash");
    // No version ids on an unversioned bucket (quilt3 writes `?versionId=null` there).
    let keys = w.quilt3_keys("team/plain", &registry);
    assert_eq!(keys.len(), 11);
    assert!(keys.iter().all(|l| !l.contains("versionId")), "{keys:?}");

    // --rehash reads every byte, trusts no checksum, and agrees.
    let again = w.json(&[
        "build",
        "team/plain",
        &source,
        "--registry",
        &registry,
        "--rehash",
        "--jobs",
        "4",
    ]);
    assert_eq!(again["top_hash"], top.as_str());
    assert_eq!(again["from_checksums"], 0, "{again}");
    assert_eq!(
        again["hashed_files"], 10,
        "all but the empty object: {again}"
    );
    assert_eq!(again["hashed_bytes"], again["bytes"], "{again}");
    assert_eq!(again["source_requests"]["get_bytes"], again["bytes"]);
    assert_eq!(again["source_requests"]["attributes"], 0);
    // The same version again: nothing to move, nothing replaced.
    assert_eq!(again["latest_moved"], false);
    assert_eq!(again["manifest_replaced"], false);
    let our_install = w.tmp.path().join("installed");
    w.ok(&[
        "install",
        "team/plain",
        "--from",
        &registry,
        "--dest",
        our_install.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        text(&our_install.join("folder/inside.txt")),
        "inside a folder\n"
    );
}

#[test]
fn reserved_keys_are_skipped_and_reported() {
    let Some(w) = World::new() else { return };
    let src = w.server.bucket("reserved");
    let reg = w.server.bucket("reg");
    w.py(&["put", &src, "p/ok.txt", "fine\n"]);
    w.py(&[
        "put",
        &src,
        "p/.quilt/objects/x",
        "would land in the store\n",
    ]);
    let out = w.quilt(
        &w.env(),
        &[
            "build",
            "team/skip",
            &format!("s3://{src}/p/"),
            "--registry",
            &format!("s3://{reg}"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: skipped \".quilt/objects/x\"") && stderr.contains("reserved"),
        "{stderr}"
    );
    assert!(stderr.contains("1 file"), "{stderr}");
    let keys = w.quilt3_keys("team/skip", &format!("s3://{reg}"));
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("ok.txt\t"));
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let Some(w) = World::new() else { return };
    let src = w.server.bucket("src");
    let reg = w.server.bucket("reg");
    w.py(&["put", &src, "data/a.txt", "a\n"]);
    let registry = format!("s3://{reg}");

    // An empty prefix.
    let (code, err) = w.fails(
        &w.env(),
        &[
            "build",
            "team/x",
            &format!("s3://{src}/nothing-here/"),
            "--registry",
            &registry,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("s3://{src}/nothing-here/ holds no objects")),
        "{err}"
    );

    // Access denied on the source bucket: the bucket is named.
    let open_reg = format!("open-{}-reg", std::process::id());
    assert_eq!(w.server.signed_put(&open_reg, None), "200");
    let limited = w.env_as("quilt-test-open-only", "quilt-test-open-only-secret");
    let out = w.quilt(
        &limited,
        &[
            "--json",
            "build",
            "team/x",
            &format!("s3://{src}/data/"),
            "--registry",
            &format!("s3://{open_reg}"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("access to bucket {src} was denied")),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON error");
    assert_eq!(doc["kind"], "auth", "{doc}");
    assert!(w.keys_of(&open_reg).is_empty());

    // A registry the user may read but not write.
    let reader = w.env_as("quilt-test-readonly", "quilt-test-readonly-secret");
    let (code, err) = w.fails(
        &reader,
        &[
            "build",
            "team/x",
            &format!("s3://{src}/data/"),
            "--registry",
            &registry,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "the registry {registry}/ refused to store the package"
        )),
        "{err}"
    );
    assert!(w.keys_of(&reg).is_empty(), "{:?}", w.keys_of(&reg));
}

#[test]
fn an_object_deleted_after_the_listing_is_named() {
    let Some(w) = World::new() else { return };
    let src = w.server.bucket("race");
    let reg = w.server.bucket("reg");
    w.py(&["many", &src, "race/", "2000", "16"]);
    w.py(&["put", &src, "race/zz-last.txt", "deleted soon\n"]);
    let dir = w.tmp.path().join("cwd");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
    cmd.current_dir(&dir)
        .envs(w.env())
        .env("NO_COLOR", "1")
        .args(["--no-progress", "-v", "build", "team/race"])
        .arg(format!("s3://{src}/race/"))
        .args(["--registry", &format!("s3://{reg}"), "--jobs", "1"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = cmd.spawn().expect("start quilt");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("listed the source") {
            break;
        }
    }
    assert!(seen.contains("listed the source"), "{seen}");
    signed_delete(w.server, &format!("{src}/race/zz-last.txt"));
    for line in lines {
        seen.push_str(&line.expect("stderr line"));
        seen.push('\n');
    }
    let status = child.wait().expect("wait for quilt");
    assert!(!status.success(), "{seen}");
    assert!(
        seen.contains(&format!(
            "s3://{src}/race/zz-last.txt was deleted after it was listed"
        )),
        "{seen}"
    );
    assert!(w.keys_of(&reg).is_empty());
}
