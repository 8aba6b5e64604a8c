//! Bit rot: flip one byte in each kind of stored file, local and remote, and check that
//! `verify` names what is damaged, that `fetch`/`pull` refuse corrupt remote data without
//! storing it, and that `gc` never deletes reachable data to "repair" a store.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const BIG: usize = 2 << 20;

struct Fixture {
    _t: tempfile::TempDir,
    ds: PathBuf,
    remote: PathBuf,
    top: String,
    /// A small (packed) file's content and its object id as `verify` prints it.
    small: Vec<u8>,
    small_id: String,
    /// The large (loose) file's content and id.
    big: Vec<u8>,
    big_id: String,
}

fn id_of(data: &[u8]) -> String {
    quilt::hash::hash_bytes(data).to_string()
}

fn fixture() -> Fixture {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = t.path().join("ds");
    let remote = t.path().join("remote");
    std::fs::create_dir_all(&remote).expect("mkdir");
    let small = bytes(42, 3000);
    let big = bytes(43, BIG);
    write(&ds, "small.bin", &small);
    write(&ds, "big.bin", &big);
    for i in 0..20 {
        write(&ds, &format!("more/{i}.txt"), &bytes(100 + i, 500));
    }
    ok(&ds, &["init"]);
    let top = top_hash(&ok(&ds, &["build", "t/ds", "-m", "v1"]));
    ok(
        &ds,
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    ok(&ds, &["push", "t/ds", "origin"]);
    ok(&ds, &["verify"]);
    Fixture {
        _t: t,
        ds,
        remote,
        top,
        small_id: id_of(&small),
        small,
        big_id: id_of(&big),
        big,
    }
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).expect("read");
    b[at] ^= 0x5a;
    std::fs::write(path, b).expect("write");
}

/// The offset of `needle` in the file; panics if absent.
fn find(path: &Path, needle: &[u8]) -> usize {
    let hay = std::fs::read(path).expect("read");
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("content is in the file")
}

fn verify_output(dir: &Path) -> String {
    let out = quilt(dir).arg("verify").output().expect("verify");
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify must fail on a damaged store:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn pack_dir(ds: &Path) -> PathBuf {
    ds.join(".quilt/objects/pack")
}

fn loose_path(ds: &Path, data: &[u8]) -> PathBuf {
    let hex = hex_digest(data);
    ds.join(".quilt/objects/loose")
        .join(&hex[..2])
        .join(&hex[2..])
}

fn hex_digest(data: &[u8]) -> String {
    quilt::hash::hash_bytes(data)
        .digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// gc must leave every file of the damaged store in place: it cannot tell rot from data.
fn gc_keeps_everything(ds: &Path, damaged: &Path) {
    let _ = quilt(ds).arg("gc").output().expect("gc");
    assert!(damaged.exists(), "gc deleted {}", damaged.display());
}

/// Flips a byte inside the small file's record in the pack that holds it; returns the pack
/// and the offset flipped.
fn flip_small_in_pack(f: &Fixture) -> (PathBuf, usize) {
    let pack = files_with_ext(&pack_dir(&f.ds), "pack")
        .into_iter()
        .find(|p| {
            std::fs::read(p)
                .expect("read")
                .windows(64)
                .any(|w| w == &f.small[..64])
        })
        .expect("a pack holds the small file");
    let at = find(&pack, &f.small) + 1500;
    flip(&pack, at);
    (pack, at)
}

#[test]
fn flipped_byte_in_a_pack_names_the_object_and_version() {
    let f = fixture();
    let (pack, at) = flip_small_in_pack(&f);
    let out = verify_output(&f.ds);
    assert!(out.contains(&f.small_id), "names the object:\n{out}");
    assert!(out.contains(&f.top), "names the broken version:\n{out}");
    gc_keeps_everything(&f.ds, &pack);
    let idx = pack.with_extension("idx");
    assert!(idx.exists(), "gc deleted the index of a reachable pack");
    // Repairing the byte makes the store whole again: nothing was thrown away.
    flip(&pack, at);
    ok(&f.ds, &["verify"]);
}

#[test]
fn flipped_byte_in_an_index_names_the_index_and_versions() {
    let f = fixture();
    for idx in files_with_ext(&pack_dir(&f.ds), "idx") {
        // Inside the entries, past magic and fan-out.
        flip(&idx, 1036 + 10);
        let out = verify_output(&f.ds);
        let name = idx
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(out.contains(&name), "names the index {name}:\n{out}");
        assert!(
            out.contains(&f.top),
            "names the version that lost objects:\n{out}"
        );
        gc_keeps_everything(&f.ds, &idx);
        assert!(
            idx.with_extension("pack").exists(),
            "gc deleted a pack it could not read"
        );
        flip(&idx, 1036 + 10);
    }
    ok(&f.ds, &["verify"]);
}

#[test]
fn flipped_byte_in_a_loose_object_names_it() {
    let f = fixture();
    let p = loose_path(&f.ds, &f.big);
    assert!(
        p.is_file(),
        "the large file is stored loose at {}",
        p.display()
    );
    flip(&p, BIG / 2);
    let out = verify_output(&f.ds);
    assert!(out.contains(&f.big_id), "names the object:\n{out}");
    assert!(out.contains(&f.top), "names the version:\n{out}");
    gc_keeps_everything(&f.ds, &p);
    flip(&p, BIG / 2);
    ok(&f.ds, &["verify"]);
}

#[test]
fn flipped_byte_in_a_local_manifest_names_the_version() {
    let f = fixture();
    let m = f.ds.join(".quilt/packages").join(&f.top);
    // The local manifest is a zstd frame with a checksum: any flipped byte past its magic
    // makes it unreadable.
    let at = std::fs::metadata(&m).expect("stat").len() as usize / 2;
    flip(&m, at);
    let out = verify_output(&f.ds);
    assert!(out.contains(&f.top), "names the version:\n{out}");
    // gc must not treat the objects of an unreadable manifest as garbage.
    let _ = quilt(&f.ds).arg("gc").output().expect("gc");
    assert!(m.exists(), "gc deleted a damaged manifest");
    flip(&m, at);
    ok(&f.ds, &["verify"]);
    ok(&f.ds, &["install", "t/ds", "--dest", "../inst"]);
    assert_eq!(
        std::fs::read(f.ds.join("../inst/small.bin")).expect("installed"),
        f.small
    );
}

#[test]
fn flipped_byte_in_a_local_pointer_is_harmless_or_reported() {
    // named_packages/ is a mirror for quilt3; the refs live in SQLite. Damage to it must not
    // make a command crash or serve a wrong version.
    let f = fixture();
    let latest = f.ds.join(".quilt/named_packages/t/ds/latest");
    assert!(latest.is_file(), "the quilt3 mirror is written");
    flip(&latest, 3);
    let log = ok(&f.ds, &["log", "t/ds"]);
    assert!(log.contains(&f.top), "{log}");
    let out = quilt(&f.ds).arg("verify").output().expect("verify");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        assert!(text.contains("latest") || text.contains("t/ds"), "{text}");
    }
}

/// `install` (and `checkout`) must not hand out bytes that do not hash to the entry's id.
fn install_refuses(f: &Fixture, file: &str) {
    let dest = f.ds.join("../inst");
    let out = quilt(&f.ds)
        .args(["install", "t/ds", "--dest", dest.to_str().expect("utf-8")])
        .output()
        .expect("install");
    let good = if file == "big.bin" { &f.big } else { &f.small };
    let written = std::fs::read(dest.join(file)).ok();
    assert!(
        !out.status.success(),
        "install exited 0 over a corrupt object (wrote {file}: {} bytes, correct: {})",
        written.as_ref().map_or(0, Vec::len),
        written.as_deref() == Some(good.as_slice())
    );
    if let Some(w) = written {
        assert!(&w == good, "install left corrupt bytes in {file}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") || err.contains("hash"), "{err}");
}

#[test]
fn install_refuses_a_corrupt_packed_object() {
    let f = fixture();
    flip_small_in_pack(&f);
    install_refuses(&f, "small.bin");
}

#[test]
fn install_refuses_a_corrupt_loose_object() {
    let f = fixture();
    flip(&loose_path(&f.ds, &f.big), BIG / 2);
    install_refuses(&f, "big.bin");
}

/// A clean client store with the remote added; returns its directory.
fn client(f: &Fixture) -> PathBuf {
    client_named(f, "client")
}

fn client_named(f: &Fixture, name: &str) -> PathBuf {
    let c = f.ds.join("..").join(name);
    std::fs::create_dir_all(&c).expect("mkdir");
    ok(&c, &["init"]);
    ok(
        &c,
        &["remote", "add", "origin", f.remote.to_str().expect("utf-8")],
    );
    c
}

fn assert_nothing_stored(c: &Path, f: &Fixture) {
    ok(c, &["verify"]);
    let (_, err) = fails(c, &["log", "t/ds"]);
    assert!(err.contains("t/ds"), "no revision is recorded: {err}");
    assert!(
        !loose_path(c, &f.big).exists(),
        "the object must not be stored under its name"
    );
}

#[test]
fn fetch_and_pull_refuse_a_corrupt_remote_object() {
    let f = fixture();
    let obj = f.remote.join(".quilt/objects").join(hex_digest(&f.big));
    assert!(obj.is_file(), "remote object at {}", obj.display());
    flip(&obj, 1234);
    let c = client(&f);
    for cmd in ["fetch", "pull"] {
        let (code, err) = fails(&c, &[cmd, "t/ds", "origin"]);
        assert_eq!(code, 1, "{err}");
        let lower = err.to_lowercase();
        assert!(
            lower.contains("hash") || lower.contains("corrupt") || lower.contains("mismatch"),
            "{cmd}: the message says the data is damaged: {err}"
        );
        assert_nothing_stored(&c, &f);
    }
    assert!(
        !c.join("big.bin").exists(),
        "pull wrote a file from corrupt data"
    );
    // The small one too (it is packed locally, but a single object on the remote). A fresh
    // client: the failed fetches above kept every object they had verified, the small one
    // among them, so a re-run here would not read it again.
    flip(&obj, 1234);
    let c = client_named(&f, "client2");
    let s = f.remote.join(".quilt/objects").join(hex_digest(&f.small));
    flip(&s, 10);
    let (_, err) = fails(&c, &["fetch", "t/ds", "origin"]);
    assert!(
        err.contains("small.bin")
            || err.contains(&f.small_id)
            || err.contains(&hex_digest(&f.small)),
        "names the object: {err}"
    );
    ok(&c, &["verify"]);
    flip(&s, 10);
    ok(&c, &["fetch", "t/ds", "origin"]);
    ok(&c, &["verify"]);
}

#[test]
fn fetch_refuses_a_corrupt_remote_manifest() {
    let f = fixture();
    let m = f.remote.join(".quilt/packages").join(&f.top);
    let at = find(&m, b"small.bin");
    flip(&m, at);
    let c = client(&f);
    for cmd in ["fetch", "pull"] {
        let (code, err) = fails(&c, &[cmd, "t/ds", "origin"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(&f.top), "{cmd} names the version: {err}");
        assert_nothing_stored(&c, &f);
        assert!(
            !c.join(".quilt/packages").join(&f.top).exists(),
            "a manifest that does not hash to its name was stored"
        );
    }
    // A manifest cut short is refused as well.
    flip(&m, at);
    let full = std::fs::read(&m).expect("read");
    std::fs::write(&m, &full[..full.len() / 2]).expect("truncate");
    let (_, err) = fails(&c, &["fetch", "t/ds", "origin"]);
    assert!(err.contains(&f.top), "{err}");
    assert_nothing_stored(&c, &f);
}

#[test]
fn flipped_remote_pointer_gets_a_clear_error() {
    let f = fixture();
    let latest = f.remote.join(".quilt/named_packages/t/ds/latest");
    let good = std::fs::read_to_string(&latest).expect("latest");
    assert_eq!(good.trim(), f.top);
    let c = client(&f);
    // A valid-looking hash that names no manifest.
    let mut other = good.clone().into_bytes();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&latest, &other).expect("write");
    let (_, err) = fails(&c, &["pull", "t/ds", "origin"]);
    assert!(
        err.contains(std::str::from_utf8(&other).expect("hex")),
        "{err}"
    );
    assert_nothing_stored(&c, &f);
    // Not a hash at all.
    let mut junk = good.clone().into_bytes();
    junk[5] = b'Z';
    std::fs::write(&latest, &junk).expect("write");
    let (_, err) = fails(&c, &["pull", "t/ds", "origin"]);
    assert!(err.contains("latest") || err.contains("t/ds"), "{err}");
    assert_nothing_stored(&c, &f);
    std::fs::write(&latest, &good).expect("restore");
    ok(&c, &["pull", "t/ds", "origin"]);
    ok(&c, &["verify"]);
}

/// A file large enough to be stored as content-defined chunks.
const CHUNKED: usize = 6 << 20;

#[test]
fn flipped_byte_in_a_chunk_names_the_file_and_the_chunk() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = t.path().join("ds");
    let data = bytes(44, CHUNKED);
    write(&ds, "huge.bin", &data);
    ok(&ds, &["init"]);
    let top = top_hash(&ok(&ds, &["build", "t/ds", "-m", "v1"]));
    assert!(
        !loose_path(&ds, &data).exists(),
        "the file is stored as chunks"
    );
    let needle = &data[3 << 20..(3 << 20) + 64];
    let pack = files_with_ext(&pack_dir(&ds), "pack")
        .into_iter()
        .find(|p| {
            std::fs::read(p)
                .expect("read")
                .windows(64)
                .any(|w| w == needle)
        })
        .expect("a pack holds the chunk");
    let at = find(&pack, needle);
    flip(&pack, at);
    let out = verify_output(&ds);
    assert!(out.contains(&id_of(&data)), "names the file:\n{out}");
    assert!(out.contains("blake3:"), "names the chunk:\n{out}");
    assert!(out.contains(&top), "names the version:\n{out}");

    let dest = t.path().join("inst");
    let res = quilt(&ds)
        .args(["install", "t/ds", "--dest", dest.to_str().expect("utf-8")])
        .output()
        .expect("install");
    assert!(
        !res.status.success(),
        "install exited 0 over a corrupt chunk"
    );
    if let Ok(w) = std::fs::read(dest.join("huge.bin")) {
        assert!(w == data, "install left corrupt bytes");
    }
    gc_keeps_everything(&ds, &pack);
    flip(&pack, at);
    ok(&ds, &["verify"]);
    ok(
        &ds,
        &["install", "t/ds", "--dest", dest.to_str().expect("utf-8")],
    );
    assert_eq!(
        std::fs::read(dest.join("huge.bin")).expect("installed"),
        data
    );
}
