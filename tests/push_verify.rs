//! Verify on the way out: a stored object damaged by bit rot must never reach a remote. The
//! push stops with the object, the local file it lives in and `quilt verify` named, writes no
//! manifest or pointer, and the inventory does not record the object; once repaired, the
//! push uploads it.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};

use common::*;
use quilt::sync::Remote;

/// Packed in the store.
const SMALL: usize = 3000;
/// Loose, one part.
const LOOSE: usize = 2 << 20;
/// Stored as chunks (above the chunking threshold); uploaded as two parts of 8 MiB with
/// per-part checksums.
const MULTI: usize = 9 << 20;

struct Fixture {
    _t: tempfile::TempDir,
    root: PathBuf,
    ds: PathBuf,
    top: String,
}

fn fixture(env: &[(&'static str, String)]) -> Fixture {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = t.path().join("ds");
    write(&ds, "small.bin", &bytes(1, SMALL));
    write(&ds, "loose.bin", &bytes(2, LOOSE));
    write(&ds, "multi.bin", &bytes(3, MULTI));
    write(&ds, "other.txt", b"an honest neighbour");
    run(&ds, env, &["init"]);
    let top = top_hash(&run(&ds, env, &["build", "t/ds", "-m", "v1"]));
    Fixture {
        root: t.path().to_owned(),
        _t: t,
        ds,
        top,
    }
}

fn run(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> String {
    let out = quilt(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .output()
        .expect("run quilt");
    assert!(
        out.status.success(),
        "quilt {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs quilt expecting exit 1; returns stderr.
fn run_fail(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> String {
    let out = quilt(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .output()
        .expect("run quilt");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "quilt {args:?}: {err}");
    err
}

fn hex_of(data: &[u8]) -> String {
    quilt::hash::hash_bytes(data)
        .digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Flips one byte of `data`'s stored copy; returns the file and offset so it can be undone.
fn flip_stored(ds: &Path, data: &[u8]) -> (PathBuf, usize) {
    let hex = hex_of(data);
    let loose = ds
        .join(".quilt/objects/loose")
        .join(&hex[..2])
        .join(&hex[2..]);
    let (file, at) = if loose.exists() {
        (loose, data.len() / 2)
    } else {
        let packs = std::fs::read_dir(ds.join(".quilt/objects/pack")).expect("pack dir");
        packs
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pack"))
            .find_map(|p| {
                // 64 bytes from the middle: one chunk of a chunked file, or a packed object.
                let mid = data.len() / 2;
                let needle = &data[mid..mid + 64];
                let hay = std::fs::read(&p).expect("read pack");
                let pos = hay.windows(needle.len()).position(|w| w == needle)?;
                Some((p, pos))
            })
            .expect("a pack holds the object")
    };
    flip(&file, at);
    (file, at)
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).expect("read");
    b[at] ^= 0x5a;
    std::fs::write(path, b).expect("write");
}

/// Whether the local inventory of `remote_url` records `data`'s object.
fn inventory_has(ds: &Path, remote_url: &str, data: &[u8]) -> bool {
    let store = quilt::store::Store::open(&ds.join(".quilt")).expect("open store");
    let inv = store.db().inventory_load(remote_url).expect("inventory");
    inv.contains(&quilt::hash::hash_bytes(data).digest)
}

/// Damages `data`'s stored copy, pushes (to `dest` when given) and checks the refusal; then
/// repairs it and checks the push goes through and uploads the object.
fn damaged_push_is_refused(
    f: &Fixture,
    env: &[(&'static str, String)],
    remote: &dyn Remote,
    dest: Option<(&Path, &str)>,
    data: &[u8],
) {
    let url = remote.describe();
    let (file, at) = flip_stored(&f.ds, data);
    let mut args = vec!["push", "t/ds", url.as_str()];
    if let Some((dir, _)) = dest {
        args.extend(["--dest", dir.to_str().expect("utf-8")]);
    }
    let err = run_fail(&f.ds, env, &args);
    let id = quilt::hash::hash_bytes(data).to_string();
    assert!(err.contains(&id), "names the object: {err}");
    assert!(
        err.contains(&file.display().to_string()),
        "names the file {}: {err}",
        file.display()
    );
    assert!(err.contains("quilt verify"), "says what to do: {err}");
    let manifest = format!(".quilt/packages/{}", f.top);
    assert_eq!(remote.head(&manifest).expect("head"), None, "no manifest");
    let latest = ".quilt/named_packages/t/ds/latest";
    assert_eq!(remote.head(latest).expect("head"), None, "no latest");
    let object = format!(".quilt/objects/{}", hex_of(data));
    assert_eq!(
        remote.head(&object).expect("head"),
        None,
        "no damaged object"
    );
    assert!(!inventory_has(&f.ds, &url, data), "inventory records it");
    if let Some((dir, key)) = dest {
        assert!(!dir.join(key).exists(), "damaged bytes reached --dest");
    }

    flip(&file, at);
    run(&f.ds, env, &args);
    assert!(remote.head(&manifest).expect("head").is_some());
    match dest {
        Some((dir, key)) => assert_eq!(std::fs::read(dir.join(key)).expect("uploaded"), data),
        None => {
            assert_eq!(remote.get(&object).expect("uploaded"), data);
            assert!(inventory_has(&f.ds, &url, data));
        }
    }
}

fn dir_remote(f: &Fixture) -> Box<dyn Remote> {
    let path = f.root.join("remote");
    std::fs::create_dir_all(&path).expect("mkdir remote");
    quilt::sync::open_remote(path.to_str().expect("utf-8"), &Default::default())
        .expect("dir remote")
}

#[test]
fn dir_push_refuses_damaged_packed_object() {
    let f = fixture(&[]);
    damaged_push_is_refused(&f, &[], dir_remote(&f).as_ref(), None, &bytes(1, SMALL));
}

#[test]
fn dir_push_refuses_damaged_loose_object() {
    let f = fixture(&[]);
    damaged_push_is_refused(&f, &[], dir_remote(&f).as_ref(), None, &bytes(2, LOOSE));
}

#[test]
fn dir_push_refuses_damaged_multipart_object() {
    let f = fixture(&[]);
    damaged_push_is_refused(&f, &[], dir_remote(&f).as_ref(), None, &bytes(3, MULTI));
}

#[test]
fn push_dest_refuses_damaged_packed_object() {
    let f = fixture(&[]);
    let dest = f.root.join("dest");
    std::fs::create_dir_all(&dest).expect("mkdir dest");
    let dest = Some((dest.as_path(), "small.bin"));
    damaged_push_is_refused(&f, &[], dir_remote(&f).as_ref(), dest, &bytes(1, SMALL));
}

#[test]
fn push_dest_refuses_damaged_multipart_object() {
    let f = fixture(&[]);
    let dest = f.root.join("dest");
    std::fs::create_dir_all(&dest).expect("mkdir dest");
    let dest = Some((dest.as_path(), "multi.bin"));
    damaged_push_is_refused(&f, &[], dir_remote(&f).as_ref(), dest, &bytes(3, MULTI));
}

/// Environment variables for a quilt process.
type Env = Vec<(&'static str, String)>;

fn s3_remote(bucket: &str) -> Option<(Box<dyn Remote>, Env)> {
    let server = s3_server::server()?;
    let name = server.bucket(bucket);
    let remote = server.open_remote(&name);
    Some((remote, server.env()))
}

#[test]
fn s3_push_refuses_damaged_packed_object() {
    let Some((remote, env)) = s3_remote("packed") else {
        return;
    };
    let f = fixture(&env);
    damaged_push_is_refused(&f, &env, remote.as_ref(), None, &bytes(1, SMALL));
}

#[test]
fn s3_push_refuses_damaged_multipart_object() {
    let Some((remote, env)) = s3_remote("multi") else {
        return;
    };
    let f = fixture(&env);
    damaged_push_is_refused(&f, &env, remote.as_ref(), None, &bytes(3, MULTI));
}
