//! Versioned buckets as quilt3 users have them: quilt3 pushes v1 of a package, then v2 over
//! the same keys, and S3 keeps v1's bytes as older versions that v1's manifest names with
//! `?versionId=`. quilt fetches each entry from its physical key at that version, falls back
//! to the other places an object may be when one is missing or corrupt, and names every place
//! it tried when none works.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};

use common::*;
use quilt::hash::{hash_bytes, Entry, LogicalKey, Manifest};
use quilt::sync::Remote;
use serde_json::{json, Map};

struct Bucket {
    server: &'static s3_server::Server,
    python: PathBuf,
    name: String,
    remote: Box<dyn Remote>,
}

impl Bucket {
    fn url(&self) -> String {
        format!("s3://{}", self.name)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        self.server.env()
    }
}

/// A fresh bucket with versioning enabled, and a quilt remote on it for planting data.
fn versioned_bucket(tag: &str) -> Option<Bucket> {
    let python = python()?;
    let server = s3_server::server()?;
    let name = server.bucket(tag);
    server.enable_versioning(&python, &name);
    let remote = server.open_remote(&name);
    Some(Bucket {
        server,
        python,
        name,
        remote,
    })
}

fn run(dir: &Path, b: &Bucket, args: &[&str]) -> std::process::Output {
    quilt(dir)
        .envs(b.env().iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run quilt")
}

fn q(dir: &Path, b: &Bucket, args: &[&str]) -> String {
    expect_ok(args, run(dir, b, args))
}

fn q_fail(dir: &Path, b: &Bucket, args: &[&str]) -> String {
    let out = run(dir, b, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "quilt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// quilt3 pushes the files of `dir` as `name`; returns the top hash.
fn quilt3_push(b: &Bucket, dir: &Path, name: &str) -> String {
    let env = b.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run_py(
        &b.python,
        "remote.py",
        &["push", dir.to_str().expect("utf-8"), name, &b.url(), "push"],
        &env,
    );
    out.lines().last().expect("top hash").trim().to_owned()
}

/// v1 and v2 of team/pkg, pushed by quilt3 into a versioned bucket; v2 overwrites every
/// file of v1 (a large one too, read through the streaming path) and adds one.
struct TwoVersions {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    v1_dir: PathBuf,
    v2_dir: PathBuf,
    v1: String,
    v2: String,
}

fn two_versions(b: &Bucket) -> TwoVersions {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_owned();
    let (v1_dir, v2_dir) = (root.join("v1"), root.join("v2"));
    write(&v1_dir, "a.txt", b"version one");
    write(&v1_dir, "sub/b.csv", b"id\n1\n");
    write(&v1_dir, "big.bin", &bytes(1, 9 * 1024 * 1024 + 5));
    write(&v2_dir, "a.txt", b"version two, longer");
    write(&v2_dir, "sub/b.csv", b"id\n2\n");
    write(&v2_dir, "big.bin", &bytes(2, 9 * 1024 * 1024 + 5));
    write(&v2_dir, "new.txt", b"only in v2");
    let v1 = quilt3_push(b, &v1_dir, "team/pkg");
    let v2 = quilt3_push(b, &v2_dir, "team/pkg");
    assert_ne!(v1, v2);
    TwoVersions {
        _tmp: tmp,
        root,
        v1_dir,
        v2_dir,
        v1,
        v2,
    }
}

fn manifest_of(b: &Bucket, top: &str) -> Manifest {
    let bytes = b
        .remote
        .get(&format!(".quilt/packages/{top}"))
        .expect("manifest on the bucket");
    Manifest::from_slice(&bytes).expect("manifest parses")
}

#[test]
fn both_versions_of_an_overwritten_package_install_byte_exact() {
    let Some(b) = versioned_bucket("overwrite") else {
        return;
    };
    let t = two_versions(&b);
    // v1's physical keys name the older versions, and plain GETs now give v2's bytes.
    for e in &manifest_of(&b, &t.v1).entries {
        let pk = &e.physical_keys[0];
        assert!(pk.contains("?versionId="), "{pk}");
    }

    // The remote reads one version, whole or from an offset (a resumed download), signed
    // with `versionId` in the query; a version the bucket lacks is "not found".
    let m = manifest_of(&b, &t.v1);
    let big = m
        .entries
        .iter()
        .find(|e| e.logical_key.as_str() == "big.bin")
        .expect("big.bin");
    let version = big.physical_keys[0]
        .split("?versionId=")
        .nth(1)
        .expect("a version id");
    let v1_big = std::fs::read(t.v1_dir.join("big.bin")).expect("read");
    let mut whole = Vec::new();
    b.remote
        .get_version_to("team/pkg/big.bin", version, 0, &mut whole)
        .expect("versioned GET");
    assert!(whole == v1_big, "the GET returned other bytes than v1's");
    let mut tail = Vec::new();
    let n = b
        .remote
        .get_version_to("team/pkg/big.bin", version, 5_000_000, &mut tail)
        .expect("ranged versioned GET");
    assert_eq!(n, v1_big.len() as u64 - 5_000_000);
    assert!(
        tail == v1_big[5_000_000..],
        "the ranged GET returned other bytes"
    );
    let e = b
        .remote
        .get_version_to("team/pkg/big.bin", "no-such-version", 0, &mut Vec::new())
        .expect_err("no such version");
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("versionId=no-such-version"), "{e}");

    for (top, dir) in [(&t.v1, &t.v1_dir), (&t.v2, &t.v2_dir)] {
        let dest = t.root.join(format!("dest-{}", &top[..8]));
        q(
            &t.root,
            &b,
            &[
                "install",
                &format!("team/pkg@{}", &top[..12]),
                "--from",
                &b.url(),
                "--dest",
                dest.to_str().expect("utf-8"),
            ],
        );
        assert_same_tree(dir, &dest);
    }

    // pull (fetch + checkout) into a working directory reads the same versions.
    let ws = t.root.join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    q(&ws, &b, &["init"]);
    q(&ws, &b, &["pull", &format!("team/pkg@{}", t.v1), &b.url()]);
    assert_same_tree(&t.v1_dir, &ws);
    q(&ws, &b, &["pull", "team/pkg", &b.url()]);
    assert_same_tree(&t.v2_dir, &ws);
    q(&ws, &b, &["checkout", &format!("team/pkg@{}", t.v1)]);
    assert_same_tree(&t.v1_dir, &ws);
    q(&ws, &b, &["verify"]);
}

#[test]
fn a_deleted_version_is_named_with_its_key() {
    let Some(b) = versioned_bucket("gone") else {
        return;
    };
    let t = two_versions(&b);
    let m = manifest_of(&b, &t.v1);
    let entry = m
        .entries
        .iter()
        .find(|e| e.logical_key.as_str() == "a.txt")
        .expect("a.txt");
    let pk = &entry.physical_keys[0];
    let version = pk.split("?versionId=").nth(1).expect("a version id");
    b.server.admin(
        &b.python,
        &["delete-version", &b.name, "team/pkg/a.txt", version],
    );

    let dest = t.root.join("dest");
    let err = q_fail(
        &t.root,
        &b,
        &[
            "install",
            &format!("team/pkg@{}", t.v1),
            "--from",
            &b.url(),
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert!(err.contains("team/pkg/a.txt"), "names the key: {err}");
    assert!(
        err.contains(&format!("version {version} of")) && err.contains("does not exist"),
        "names the version: {err}"
    );
    // Only v2's bytes remain at that key; they were not taken for v1's.
    assert!(!dest.join("a.txt").exists());
}

/// Writes a manifest for `team/planted` with `entries` (logical key, content, physical keys)
/// and its pointers onto the bucket; returns the top hash.
fn plant(b: &Bucket, entries: &[(&str, &[u8], Vec<String>)]) -> String {
    let mut header = Map::new();
    header.insert("version".into(), json!("v0"));
    header.insert("user_meta".into(), json!(null));
    header.insert("message".into(), json!("planted"));
    let mut m = Manifest::new(header);
    for (key, data, pks) in entries {
        let lk = LogicalKey::parse(*key).expect("key");
        let mut e = Entry::new(lk, data.len() as u64, hash_bytes(data));
        e.physical_keys = pks.clone();
        m.entries.push(e);
    }
    m.sort_entries();
    let top = m.top_hash().to_hex();
    let r = &b.remote;
    r.put(&format!(".quilt/packages/{top}"), &m.to_bytes())
        .expect("put manifest");
    let dir = ".quilt/named_packages/team/planted";
    r.put(&format!("{dir}/1700000000"), top.as_bytes())
        .expect("put pointer");
    r.put(&format!("{dir}/latest"), top.as_bytes())
        .expect("put latest");
    top
}

#[test]
fn a_corrupt_or_missing_location_falls_back_and_every_failure_is_listed() {
    let Some(b) = versioned_bucket("fallback") else {
        return;
    };
    let Some(other) = versioned_bucket("fallback-other") else {
        return;
    };
    let t = tempfile::tempdir().expect("tempdir");
    let good: &[u8] = b"the right bytes";
    let url = |bucket: &Bucket, key: &str| format!("{}/{key}", bucket.url());
    b.remote.put("bad/x.bin", b"the wrong bytes").expect("put");
    // The good copy sits in another bucket, read with the same credentials.
    other.remote.put("good/y.bin", good).expect("put");

    // x.bin's own key is corrupt; y.bin has the same content at a good key.
    plant(
        &b,
        &[
            ("x.bin", good, vec![url(&b, "bad/x.bin")]),
            ("y.bin", good, vec![url(&other, "good/y.bin")]),
        ],
    );
    let dest = t.path().join("dest");
    let install = |dest: &Path| {
        vec![
            "install".to_owned(),
            "team/planted".to_owned(),
            "--from".to_owned(),
            b.url(),
            "--dest".to_owned(),
            dest.to_str().expect("utf-8").to_owned(),
        ]
    };
    let args = install(&dest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    q(t.path(), &b, &args);
    assert_eq!(std::fs::read(dest.join("x.bin")).expect("x.bin"), good);
    assert_eq!(std::fs::read(dest.join("y.bin")).expect("y.bin"), good);

    // Now no place has the right bytes: a corrupt key, a missing key, a version that does
    // not exist, and no `.quilt/objects/<hex>` copy.
    let lost: &[u8] = b"bytes nobody kept";
    plant(
        &b,
        &[(
            "z.bin",
            lost,
            vec![
                url(&b, "bad/x.bin"),
                url(&b, "missing/z.bin"),
                format!("{}?versionId=0000000000000000", url(&other, "good/y.bin")),
            ],
        )],
    );
    let dest = t.path().join("dest2");
    let args = install(&dest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = q_fail(t.path(), &b, &args);
    let hex = hash_bytes(lost).to_hex();
    assert!(err.contains("z.bin") && err.contains("4 places"), "{err}");
    for (place, why) in [
        (url(&b, "bad/x.bin"), "corrupt"),
        (url(&b, "missing/z.bin"), "not found"),
        (
            format!("{}?versionId=0000000000000000", url(&other, "good/y.bin")),
            "does not exist",
        ),
        (url(&b, &format!(".quilt/objects/{hex}")), "not found"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("- {place}: ")))
            .unwrap_or_else(|| panic!("{place} is not listed: {err}"));
        assert!(line.contains(why), "{place}: {line}");
    }
    assert!(!dest.join("z.bin").exists());

    // --json classifies it by the most telling failure: a corrupt copy.
    let mut json_args = vec!["--json"];
    json_args.extend(&args);
    let out = run(t.path(), &b, &json_args);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json error");
    assert_eq!(v["kind"], "corrupt", "{v}");
}
