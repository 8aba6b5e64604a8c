//! Manifests in the shapes older quilt versions wrote, which registries still hold and quilt3
//! 8 still reads: entries out of quilt3's walk order, an obsolete header `top_hash`, and the
//! `SHA256` and `CRC64NVME` hash types. quilt3 itself writes them (tests/py/legacy.py, with its
//! own hash functions) and names them by its top hash; quilt must read, fetch, verify, check
//! out and install them, and keep their bytes as they are.

mod common;

use std::path::PathBuf;

use common::*;
use quilt::hash::{HashType, Manifest};

/// A quilt3 local registry holding `team/legacy` in the old shapes, and the data it names.
struct Legacy {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    registry: PathBuf,
    data: PathBuf,
    /// The top hash quilt3 computes for the manifest.
    top: String,
}

fn legacy() -> Option<Legacy> {
    let py = python()?;
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_owned();
    let (registry, data) = (root.join("registry"), root.join("data"));
    let out = run_py(
        &py,
        "legacy.py",
        &[
            "write",
            registry.to_str().expect("utf-8"),
            "team/legacy",
            data.to_str().expect("utf-8"),
        ],
        &[],
    );
    let top = out.lines().last().expect("a top hash").trim().to_owned();
    assert_eq!(top.len(), 64, "{out}");
    Some(Legacy {
        _tmp: tmp,
        root,
        registry,
        data,
        top,
    })
}

#[test]
fn old_shapes_hash_to_the_top_hash_quilt3_names_them_by() {
    let Some(l) = legacy() else { return };
    let bytes = registry_manifest(&l.registry, &l.top);
    let m = Manifest::from_slice(&bytes).expect("parses");
    // The shapes are really there: entries out of order, the old header key, legacy types.
    assert!(
        !m.is_in_order(),
        "the file's entries are out of quilt3's order"
    );
    assert!(m.header.contains_key("top_hash"));
    let kinds: Vec<HashType> = m.entries.iter().map(|e| e.hash.kind).collect();
    assert!(kinds.contains(&HashType::Sha256) && kinds.contains(&HashType::Crc64Nvme));

    assert_eq!(m.top_hash().to_hex(), l.top, "quilt3's top hash");
    // Written back, the entries keep the file's order (the stored file itself is kept byte
    // for byte, see the pull test) and hash the same.
    let again = Manifest::from_slice(&m.to_bytes()).expect("parses");
    assert_eq!(again.entries, m.entries);
    assert_eq!(again.top_hash().to_hex(), l.top);
}

#[test]
fn install_fetches_and_verifies_every_hash_type() {
    let Some(l) = legacy() else { return };
    let dest = l.root.join("installed");
    let out = ok(
        &l.root,
        &[
            "--json",
            "install",
            &format!("team/legacy@{}", &l.top[..10]),
            "--from",
            l.registry.to_str().expect("utf-8"),
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    let v: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("json")).expect("json output");
    assert_eq!(v["top_hash"], l.top.as_str(), "{v}");
    assert_same_tree(&l.data, &dest);

    // Installing again over the same files finds them equal under their own hash types
    // (with a fresh cache, so each file is hashed), and is no conflict.
    let out = quilt(&l.root)
        .env("QUILT_CACHE_DIR", l.root.join("other-cache"))
        .args(["--json", "install", "team/legacy", "--from"])
        .arg(&l.registry)
        .arg("--dest")
        .arg(&dest)
        .output()
        .expect("run quilt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(
        (v["written"].as_u64(), v["unchanged"].as_u64()),
        (Some(0), Some(7)),
        "{v}"
    );
}

#[test]
fn pull_checks_out_and_verify_rehashes_every_hash_type() {
    let Some(l) = legacy() else { return };
    let ws = l.root.join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    ok(&ws, &["init"]);
    let registry = l.registry.to_str().expect("utf-8");
    let pulled = ok(&ws, &["pull", "team/legacy", registry]);
    assert!(pulled.contains(&l.top), "{pulled}");
    assert_same_tree(&l.data, &ws);
    // The stored manifest is the registry's file, byte for byte.
    assert_eq!(
        local_manifest(&ws, &l.top),
        registry_manifest(&l.registry, &l.top)
    );
    // verify re-hashes each object under its own type and the manifest under quilt3's order.
    ok(&ws, &["verify"]);
    let status = ok(&ws, &["status"]);
    assert!(status.contains("nothing changed (7 files)"), "{status}");

    // Rewritten with the same bytes (new mtime, so hashed again): still unchanged, each file
    // compared under its entry's hash type. Other bytes of the same size: modified.
    for key in ["b/x.json", "crc/big.bin", "a.txt"] {
        let data = std::fs::read(ws.join(key)).expect("read");
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(ws.join(key), &data).expect("rewrite");
    }
    let status = ok(&ws, &["status"]);
    assert!(status.contains("nothing changed (7 files)"), "{status}");
    std::fs::write(ws.join("a.txt"), b"jello").expect("write");
    let status = ok(&ws, &["status"]);
    assert!(status.lines().any(|l| l == "M a.txt"), "{status}");
    // checkout refuses to drop that edit, and keeps the untouched legacy files as they are.
    let (code, err) = fails(&ws, &["checkout", &format!("team/legacy@{}", l.top)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a.txt") && !err.contains("x.json"), "{err}");
}

#[test]
fn a_crc64nvme_object_with_other_bytes_is_refused() {
    let Some(l) = legacy() else { return };
    // Same size, one byte different: only the CRC can tell.
    let path = l.data.join("crc/big.bin");
    let mut data = std::fs::read(&path).expect("read");
    data[4_500_000] ^= 1;
    std::fs::write(&path, &data).expect("write");
    let dest = l.root.join("installed");
    let (code, err) = fails(
        &l.root,
        &[
            "install",
            "team/legacy",
            "--from",
            l.registry.to_str().expect("utf-8"),
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("crc/big.bin") && err.contains("CRC64NVME"),
        "{err}"
    );
    assert!(!dest.join("crc/big.bin").exists());
}
