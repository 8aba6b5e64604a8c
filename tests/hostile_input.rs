//! Hostile input: manifests planted on a directory remote with bad logical keys, lying hashes
//! and sizes, and huge entry counts; then, as a stable-toolchain stand-in for `fuzz/`,
//! generated and mutated bytes fed to every parser with panics caught.
//!
//! The CLI half asserts: `pull` / `install --from` fail with a message naming the problem,
//! exit 1 (never a signal or a panic), leave the client store valid, and write nothing outside
//! the destination. `QUILT_FUZZ_CASES` scales the parser half (20,000 by default).

mod common;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::*;
use quilt::hash::{hash_bytes, ObjectId, TopHasher};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------
// Planting manifests on a directory remote
// ---------------------------------------------------------------------------------------

/// One entry of a hand-made manifest; the fields may lie.
struct Planted {
    key: String,
    size: u64,
    id: ObjectId,
    /// Bytes stored on the remote under `id`'s digest.
    data: Vec<u8>,
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn header() -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("version".into(), json!("v0"));
    h.insert("user_meta".into(), Value::Null);
    h.insert("message".into(), json!("planted"));
    h
}

/// Writes objects, manifest and pointers for `evil/pkg`; returns the top hash. The top hash
/// is computed from the raw key strings, so manifests the parser rejects still get the name
/// a writer would give them.
fn plant(remote: &Path, entries: &[Planted]) -> String {
    let q = remote.join(".quilt");
    let h = header();
    let mut th = TopHasher::new(&h);
    let mut text = serde_json::to_string(&Value::Object(h)).expect("json");
    text.push('\n');
    let empty = json!({});
    // The top hash takes the entries in quilt3's order; the lines stay in the order given.
    let mut sorted: Vec<&Planted> = entries.iter().collect();
    sorted.sort_by(|a, b| quilt::hash::logical_key_cmp(&a.key, &b.key));
    for e in sorted {
        th.add(&e.key, e.size, &e.id, Some(&empty));
    }
    for e in entries {
        let digest = hex(&e.id.digest);
        let obj = q.join("objects").join(&digest);
        if !obj.exists() {
            std::fs::create_dir_all(obj.parent().expect("parent")).expect("mkdir");
            std::fs::write(&obj, &e.data).expect("object");
        }
        let line = json!({
            "logical_key": e.key,
            "physical_keys": [format!("file://{}", obj.display())],
            "size": e.size,
            "hash": {"type": e.id.kind.name(), "value": e.id.value_string()},
            "meta": {},
        });
        text.push_str(&serde_json::to_string(&line).expect("json"));
        text.push('\n');
    }
    let top = th.finish().to_hex();
    std::fs::create_dir_all(q.join("packages")).expect("mkdir");
    std::fs::write(q.join("packages").join(&top), text).expect("manifest");
    let np = q.join("named_packages/evil/pkg");
    std::fs::create_dir_all(&np).expect("mkdir");
    std::fs::write(np.join("1700000000"), &top).expect("pointer");
    std::fs::write(np.join("latest"), &top).expect("pointer");
    top
}

fn honest(key: &str, data: &[u8]) -> Planted {
    Planted {
        key: key.to_owned(),
        size: data.len() as u64,
        id: hash_bytes(data),
        data: data.to_vec(),
    }
}

/// Every path under `root`, skipping the given subtrees.
fn listing(root: &Path, skip: &[&Path]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if skip.iter().any(|s| p.starts_with(s)) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

struct Scene {
    _t: tempfile::TempDir,
    base: PathBuf,
    remote: PathBuf,
    /// A directory that is not a quilt repository, for `install --from`.
    outside: PathBuf,
    dest: PathBuf,
    client: PathBuf,
}

fn scene() -> Scene {
    let t = tempfile::tempdir().expect("tempdir");
    // A nested base, so `../x` and `a/../../b` from the destination land inside the tempdir,
    // where we can see them.
    let base = t.path().join("a/b/c");
    let remote = base.join("remote");
    let outside = base.join("outside");
    let dest = base.join("outside/dest");
    let client = base.join("client");
    for d in [&remote, &outside, &client] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    ok(&client, &["init"]);
    ok(
        &client,
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    Scene {
        base: t.path().to_owned(),
        _t: t,
        remote,
        outside,
        dest,
        client,
    }
}

/// Runs quilt and asserts a clean failure: exit code 1, an `error:` line, no panic.
fn clean_failure(dir: &Path, args: &[&str]) -> String {
    let out = quilt(dir).args(args).output().expect("run quilt");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "quilt {args:?} must fail with exit 1 (not succeed, crash or panic):\nstdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("error:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Plants `entries`, then checks both `install --from` and `pull` refuse them cleanly
/// and write nothing outside the destination. Returns the two error messages.
fn refused(entries: &[Planted]) -> (String, String) {
    let s = scene();
    plant(&s.remote, entries);
    let skip = [s.dest.as_path(), s.client.as_path(), s.remote.as_path()];
    let before = listing(&s.base, &skip);
    let etc_x = Path::new("/etc/x").exists();
    let dest = s.dest.to_str().expect("utf-8").to_owned();
    let remote = s.remote.to_str().expect("utf-8").to_owned();
    let e1 = clean_failure(
        &s.outside,
        &["install", "evil/pkg", "--from", &remote, "--dest", &dest],
    );
    let e2 = clean_failure(&s.client, &["pull", "evil/pkg", "origin"]);
    let after: BTreeSet<PathBuf> = listing(&s.base, &skip)
        .into_iter()
        .filter(|p| !p.starts_with(s.outside.join(".test-cache")))
        .collect();
    let new: Vec<&PathBuf> = after.difference(&before).collect();
    assert!(
        new.is_empty(),
        "files written outside the destination: {new:?}"
    );
    assert_eq!(Path::new("/etc/x").exists(), etc_x, "/etc/x was touched");
    ok(&s.client, &["verify"]);
    let client_files = listing(
        &s.client,
        &[&s.client.join(".quilt"), &s.client.join(".test-cache")],
    );
    assert!(
        client_files.is_empty(),
        "pull wrote files: {client_files:?}"
    );
    (e1, e2)
}

fn bad_key_case(key: &str) {
    let (e1, e2) = refused(&[honest("ok.txt", b"fine"), honest(key, b"evil")]);
    for e in [&e1, &e2] {
        let l = e.to_lowercase();
        assert!(
            l.contains("logical key") || l.contains("key") || l.contains("path"),
            "the message names the bad key: {e}"
        );
    }
}

#[test]
fn parent_dir_key_is_refused() {
    bad_key_case("../x");
}

#[test]
fn absolute_key_is_refused() {
    bad_key_case("/etc/x");
}

#[test]
fn climbing_key_is_refused() {
    bad_key_case("a/../../b");
}

#[test]
fn nul_in_key_is_refused() {
    bad_key_case("a\0b");
}

#[test]
fn dot_and_empty_components_are_refused() {
    bad_key_case("a/./b");
    bad_key_case("a//b");
    bad_key_case("");
}

#[test]
fn very_long_key_fails_cleanly() {
    // Valid per the format, but no filesystem takes a 5000-byte name.
    let key = "k".repeat(5000);
    let s = scene();
    plant(
        &s.remote,
        &[honest("ok.txt", b"fine"), honest(&key, b"long")],
    );
    let before = listing(&s.base, &[&s.dest, &s.client, &s.remote]);
    let dest = s.dest.to_str().expect("utf-8").to_owned();
    let remote = s.remote.to_str().expect("utf-8").to_owned();
    clean_failure(
        &s.outside,
        &["install", "evil/pkg", "--from", &remote, "--dest", &dest],
    );
    let _ = clean_failure(&s.client, &["pull", "evil/pkg", "origin"]);
    let after: BTreeSet<PathBuf> = listing(&s.base, &[&s.dest, &s.client, &s.remote])
        .into_iter()
        .filter(|p| !p.starts_with(s.outside.join(".test-cache")))
        .collect();
    assert_eq!(before, after, "nothing outside the destination");
    ok(&s.client, &["verify"]);
}

#[test]
fn file_and_directory_with_the_same_name_fail_cleanly() {
    let s = scene();
    plant(
        &s.remote,
        &[honest("a", b"file"), honest("a/b", b"under a file")],
    );
    let dest = s.dest.to_str().expect("utf-8").to_owned();
    let remote = s.remote.to_str().expect("utf-8").to_owned();
    clean_failure(
        &s.outside,
        &["install", "evil/pkg", "--from", &remote, "--dest", &dest],
    );
}

#[test]
fn duplicate_keys_do_not_install_silently_wrong_data() {
    // Two entries for one key: whichever was written last would win, so the manifest is refused
    // as a whole (exit 1, the key named) and nothing is written, not even the destination.
    let (e1, e2) = refused(&[
        honest("a", b"first"),
        honest("a", b"second"),
        honest("b", b"other"),
    ]);
    for e in [&e1, &e2] {
        assert!(
            e.to_lowercase().contains("duplicate") && e.contains("\"a\""),
            "the message names the duplicate key: {e}"
        );
    }
    let s = scene();
    plant(&s.remote, &[honest("a", b"first"), honest("a", b"second")]);
    let dest = s.dest.to_str().expect("utf-8").to_owned();
    let remote = s.remote.to_str().expect("utf-8").to_owned();
    clean_failure(
        &s.outside,
        &["install", "evil/pkg", "--from", &remote, "--dest", &dest],
    );
    assert!(
        listing(&s.dest, &[]).is_empty(),
        "install wrote into the destination: {:?}",
        listing(&s.dest, &[])
    );
}

#[test]
fn hash_that_does_not_match_is_refused() {
    let mut e = honest("data.bin", &bytes(5, 4000));
    e.data = bytes(6, 4000); // the bytes stored are not the bytes hashed
    let (e1, e2) = refused(&[honest("ok.txt", b"fine"), e]);
    for e in [&e1, &e2] {
        let l = e.to_lowercase();
        assert!(
            l.contains("hash") || l.contains("corrupt") || l.contains("mismatch"),
            "{e}"
        );
    }
}

#[test]
fn hash_that_does_not_match_a_large_object_is_refused() {
    let mut e = honest("big.bin", &bytes(7, 3 << 20));
    e.data = bytes(8, 3 << 20);
    refused(&[e]);
}

#[test]
fn size_smaller_than_the_object_is_refused() {
    let mut e = honest("data.bin", &bytes(9, 3000));
    e.size = 10;
    let (e1, _) = refused(&[e]);
    assert!(
        e1.to_lowercase().contains("size") || e1.contains("bytes"),
        "{e1}"
    );
}

#[test]
fn size_larger_than_the_object_is_refused() {
    let mut e = honest("data.bin", &bytes(9, 3000));
    e.size = 3001;
    refused(&[e]);
}

#[test]
fn absurd_size_is_refused_without_allocating_it() {
    let mut e = honest("data.bin", &bytes(9, 3000));
    e.size = u64::MAX / 2;
    refused(&[e]);
}

// ---------------------------------------------------------------------------------------
// Crafted chunk lists in the local store
// ---------------------------------------------------------------------------------------

/// A store with one file stored as chunks; returns the dataset, the pack holding the chunk
/// list, the list's offset in it and the file's content.
fn chunked_store(t: &Path) -> (PathBuf, PathBuf, usize, Vec<u8>) {
    let ds = t.join("ds");
    let data = bytes(21, 6 << 20);
    write(&ds, "huge.bin", &data);
    ok(&ds, &["init"]);
    ok(&ds, &["build", "evil/chunks", "-m", "v1"]);
    let packs = ds.join(".quilt/objects/pack");
    for e in std::fs::read_dir(&packs).expect("packs").flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pack") {
            let bytes = std::fs::read(&p).expect("read");
            if let Some(at) = bytes.windows(8).position(|w| w == b"QCHUNKS\0") {
                return (ds, p, at, data);
            }
        }
    }
    panic!("no chunk list in any pack");
}

/// Rewrites bytes of the stored list in place (same length, so the index still fits).
fn craft(pack: &Path, at: usize, edit: impl FnOnce(&mut [u8])) {
    let mut bytes = std::fs::read(pack).expect("read");
    edit(&mut bytes[at..]);
    std::fs::write(pack, bytes).expect("write");
}

#[test]
fn crafted_chunk_lists_fail_cleanly() {
    type Edit = fn(&mut [u8], &[u8; 32]);
    let cases: [(&str, Edit); 4] = [
        ("a huge chunk count", |l, _| {
            l[20..28].copy_from_slice(&u64::MAX.to_le_bytes())
        }),
        ("lengths that do not sum to the size", |l, _| {
            let size = u64::from_le_bytes(l[12..20].try_into().expect("8 bytes"));
            l[12..20].copy_from_slice(&(size + 1).to_le_bytes())
        }),
        ("a chunk that is the list itself", |l, own| {
            l[28] = 4;
            l[29..61].copy_from_slice(own);
        }),
        ("a huge chunk length", |l, _| {
            l[61..69].copy_from_slice(&(u64::MAX / 2).to_le_bytes())
        }),
    ];
    for (what, edit) in cases {
        let t = tempfile::tempdir().expect("tempdir");
        let (ds, pack, at, data) = chunked_store(t.path());
        let own = hash_bytes(&data).digest;
        craft(&pack, at, |l| edit(l, &own));
        let dest = t.path().join("dest");
        let err = clean_failure(
            &ds,
            &[
                "install",
                "evil/chunks",
                "--dest",
                dest.to_str().expect("utf-8"),
            ],
        );
        assert!(err.contains("chunk list"), "{what}: {err}");
        assert!(
            std::fs::read(dest.join("huge.bin")).map_or(true, |w| w == data),
            "{what}: install wrote wrong bytes"
        );
        let out = quilt(&ds).arg("verify").output().expect("verify");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: verify must fail:\n{text}"
        );
        assert!(
            text.contains(&hash_bytes(&data).to_string()),
            "{what}: {text}"
        );
        // gc cannot know the chunks a damaged list needs: it refuses rather than guess.
        let err = clean_failure(&ds, &["gc"]);
        assert!(err.contains("chunk list"), "{what}: {err}");
        assert!(pack.exists(), "{what}: gc removed the pack");
    }
}

/// Many entries (`huge()`), the last with a climbing key: the whole manifest is checked before any file
/// is written.
/// Entries in the "huge manifest" cases (`QUILT_HUGE_ENTRIES` overrides).
fn huge() -> usize {
    std::env::var("QUILT_HUGE_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

#[test]
fn huge_manifest_with_a_bad_last_key_writes_nothing() {
    let data = b"same object".to_vec();
    let mut entries: Vec<Planted> = (0..huge())
        .map(|i| honest(&format!("d{:03}/f{i:06}", i % 500), &data))
        .collect();
    entries.push(honest("../escape", &data));
    let s = scene();
    plant(&s.remote, &entries);
    let dest = s.dest.to_str().expect("utf-8").to_owned();
    let remote = s.remote.to_str().expect("utf-8").to_owned();
    let started = std::time::Instant::now();
    clean_failure(
        &s.outside,
        &["install", "evil/pkg", "--from", &remote, "--dest", &dest],
    );
    assert!(
        !s.dest.exists() || listing(&s.dest, &[]).is_empty(),
        "install wrote files before finding the bad key"
    );
    assert!(!s.outside.join("escape").exists() && !s.dest.join("../escape").exists());
    eprintln!(
        "{}-entry hostile manifest refused in {:?}",
        huge(),
        started.elapsed()
    );
}

#[test]
fn huge_valid_manifest_fetches() {
    let data = b"same object".to_vec();
    let n = huge();
    let entries: Vec<Planted> = (0..n)
        .map(|i| honest(&format!("d{:03}/f{i:06}", i % 500), &data))
        .collect();
    let s = scene();
    let top = plant(&s.remote, &entries);
    let out = ok(&s.client, &["fetch", "evil/pkg", "origin"]);
    assert!(out.contains(&top), "{out}");
    ok(&s.client, &["verify"]);
    let ls = ok(&s.client, &["ls", "evil/pkg"]);
    assert_eq!(ls.lines().count(), n);
}

#[test]
fn garbage_manifest_is_refused() {
    let s = scene();
    let q = s.remote.join(".quilt");
    let top = "ab".repeat(32);
    std::fs::create_dir_all(q.join("packages")).expect("mkdir");
    std::fs::write(
        q.join("packages").join(&top),
        b"{\"version\": \"v0\"}\n{not json\n",
    )
    .expect("manifest");
    let np = q.join("named_packages/evil/pkg");
    std::fs::create_dir_all(&np).expect("mkdir");
    std::fs::write(np.join("latest"), &top).expect("pointer");
    let err = clean_failure(&s.client, &["pull", "evil/pkg", "origin"]);
    assert!(err.contains(&top), "{err}");
    ok(&s.client, &["verify"]);
}

// ---------------------------------------------------------------------------------------
// Parser fuzzing on the stable toolchain (the `fuzz/` targets' CI stand-in)
// ---------------------------------------------------------------------------------------

fn fuzz_cases() -> u64 {
    std::env::var("QUILT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// xorshift64*, seeded; mutations are replayable from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Interesting fragments spliced into inputs.
const DICT: &[&[u8]] = &[
    b"\"logical_key\": ",
    b"\"size\": ",
    b"\"hash\": {\"type\": \"SHA256\", \"value\": \"",
    b"\"sha2-256-chunked\"",
    b"18446744073709551616",
    b"-1",
    b"1e400",
    b"\\u0000",
    b"\\ud800",
    b"../",
    b"/",
    b"{}",
    b"[]",
    b"null",
    b"\n",
    b"\"meta\": {\"user_meta\": ",
    b"QPIDX\0\0\0",
    b"QPACK\0\0\0",
    b"\xff\xfe",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.truncate(i);
            }
            3 => {
                let i = rng.below(v.len() + 1);
                let d = DICT[rng.below(DICT.len())];
                v.splice(i..i, d.iter().copied());
            }
            4 if v.len() > 2 => {
                let a = rng.below(v.len());
                let b = a + rng.below(v.len() - a);
                v.drain(a..b);
            }
            5 if !v.is_empty() => {
                // Duplicate a chunk (lines, records) somewhere else.
                let a = rng.below(v.len());
                let b = (a + rng.below(200)).min(v.len());
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let n = rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(i..i, junk);
            }
        }
    }
    v
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/quilt-hash/tests/fixtures");
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| std::fs::read(e.path()).expect("read fixture"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn seed() -> u64 {
    std::env::var("QUILT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as u64
                | 1
        })
}

/// Runs `f` on `input`, turning a panic into a test failure that shows the input.
fn no_panic(target: &str, seed: u64, input: &[u8], f: impl FnOnce(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        let path = std::env::temp_dir().join(format!("quilt-fuzz-crash-{target}-{seed}"));
        let _ = std::fs::write(&path, input);
        panic!(
            "{target} panicked on a {}-byte input (QUILT_FUZZ_SEED={seed}); saved to {}",
            input.len(),
            path.display()
        );
    }
}

fn manifest_target(data: &[u8]) {
    if let Ok(m) = quilt::hash::Manifest::from_slice(data) {
        // Whatever parses must write back and hash without panicking, and round-trip.
        let bytes = m.to_bytes();
        let _ = m.top_hash();
        let again = quilt::hash::Manifest::from_slice(&bytes).expect("written manifest parses");
        assert_eq!(
            again.top_hash(),
            m.top_hash(),
            "round trip keeps the top hash"
        );
    }
}

fn rev_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = quilt::RevSpec::parse(s);
        let _ = quilt::hash::PackageName::parse(s);
        let _ = quilt::hash::LogicalKey::parse(s);
    }
}

#[test]
fn fuzz_manifest_parser_mutated_fixtures() {
    let seed = seed();
    eprintln!("manifest fuzz: QUILT_FUZZ_SEED={seed}");
    let seeds = fixtures();
    let mut rng = Rng(seed);
    let cases = fuzz_cases();
    for _ in 0..cases {
        let base = &seeds[rng.below(seeds.len())];
        // Mutating a prefix keeps cases fast while still reaching every line kind.
        let cut = base.len().min(4096 + rng.below(4096));
        let input = mutate(&mut rng, &base[..cut]);
        no_panic("manifest", seed, &input, manifest_target);
    }
    eprintln!("manifest fuzz: {cases} cases, no panic");
}

#[test]
fn fuzz_rev_and_name_parsers() {
    let seed = seed();
    let mut rng = Rng(seed);
    let seeds: [&[u8]; 6] = [
        b"team/ds",
        b"team/ds@abcdef12",
        b"abcdef",
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        b"ns/pkg@",
        "n\u{e9}/p\u{4e2d}@ff".as_bytes(),
    ];
    let cases = fuzz_cases();
    for _ in 0..cases {
        let pick = seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, pick);
        no_panic("revspec", seed, &input, rev_target);
    }
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn manifest_parser_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            no_panic("manifest", 0, &data, manifest_target);
        }

        #[test]
        fn manifest_parser_never_panics_on_json_lines(
            header in "\\{(\"[a-z_]{0,8}\": (null|\"v0\"|[0-9]{1,25}|\\{\\}), ){0,3}\"version\": \"v0\"\\}",
            keys in proptest::collection::vec("[a-z./\\\\\u{0}-\u{1f}\u{e9}]{0,12}", 0..8),
            sizes in proptest::collection::vec("(-?[0-9]{1,22}|[0-9]\\.[0-9]e[0-9]{1,3})", 0..8),
        ) {
            let mut text = header;
            text.push('\n');
            for (i, k) in keys.iter().enumerate() {
                let size = sizes.get(i).cloned().unwrap_or_else(|| "1".into());
                text.push_str(&format!(
                    "{{\"logical_key\": {}, \"physical_keys\": [], \"size\": {size}, \"hash\": {{\"type\": \"SHA256\", \"value\": \"{}\"}}, \"meta\": {{}}}}\n",
                    serde_json::to_string(k).expect("json"),
                    "0".repeat(64),
                ));
            }
            no_panic("manifest", 0, text.as_bytes(), manifest_target);
        }

        #[test]
        fn rev_parser_never_panics(s in "\\PC{0,80}") {
            no_panic("revspec", 0, s.as_bytes(), rev_target);
        }
    }
}

// --- the pack reader and index validator, through a real store -------------------------

/// A temp dir holding a store, a valid index and pack, and the objects the pack holds.
type PackFixture = (
    tempfile::TempDir,
    Vec<u8>,
    Vec<u8>,
    Vec<(ObjectId, Vec<u8>)>,
);

/// A store with one pack of `n` small objects, whose files are then taken out of it.
fn store_with_pack(n: usize) -> PackFixture {
    let t = tempfile::tempdir().expect("tempdir");
    let store = quilt::store::Store::init(&t.path().join(".quilt")).expect("init");
    let objs: Vec<(ObjectId, Vec<u8>)> = (0..n)
        .map(|i| {
            let d = bytes(1000 + i as u64, 10 + i * 13);
            (hash_bytes(&d), d)
        })
        .collect();
    let w = store.writer().expect("writer");
    for (id, d) in &objs {
        w.put_bytes(id, d).expect("put");
    }
    w.commit().expect("commit");
    drop(store);
    let dir = t.path().join(".quilt/objects/pack");
    let mut idx = None;
    let mut pack = None;
    for e in std::fs::read_dir(&dir).expect("pack dir").flatten() {
        let p = e.path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("idx") => idx = Some(std::fs::read(&p).expect("idx")),
            Some("pack") => pack = Some(std::fs::read(&p).expect("pack")),
            _ => {}
        }
        std::fs::remove_file(&p).expect("rm");
    }
    (t, idx.expect("an index"), pack.expect("a pack"), objs)
}

/// Places `idx` + `pack` as a fresh pack in the store and reads every object through it.
/// Nothing may panic; whatever a read returns must be the right bytes.
fn read_through(
    root: &Path,
    dir: &Path,
    n: u64,
    idx: &[u8],
    pack: &[u8],
    objs: &[(ObjectId, Vec<u8>)],
) {
    let stem = dir.join(format!("pack-{n:064x}"));
    std::fs::write(stem.with_extension("pack"), pack).expect("pack");
    std::fs::write(stem.with_extension("idx"), idx).expect("idx");
    // A fresh handle each time: an open store keeps the packs it has already mapped.
    let store = quilt::store::Store::open(root).expect("open store");
    // Reads do not re-hash (that is `verify`'s job), so damaged data inside a record can come
    // back; what must hold is no panic and no read outside the record.
    for (id, data) in objs {
        if let Ok(got) = store.get(id) {
            assert_eq!(got.len(), data.len(), "{id} read with the wrong length");
        }
        if let Ok(mut r) = store.open_object(id) {
            let mut buf = Vec::new();
            if std::io::Read::read_to_end(&mut r, &mut buf).is_ok() {
                assert_eq!(buf.len(), data.len(), "{id} streamed with the wrong length");
            }
        }
    }
    let _ = store.skipped_packs();
    let _ = std::fs::remove_file(stem.with_extension("idx"));
    let _ = std::fs::remove_file(stem.with_extension("pack"));
}

#[test]
fn fuzz_pack_and_index_readers() {
    let seed = seed();
    eprintln!("pack fuzz: QUILT_FUZZ_SEED={seed}");
    let (t, idx, pack, objs) = store_with_pack(24);
    let root = t.path().join(".quilt");
    let dir = t.path().join(".quilt/objects/pack");
    let mut rng = Rng(seed);
    let cases = (fuzz_cases() / 20).max(200);
    for n in 0..cases {
        let (i2, p2) = match rng.below(3) {
            // Index damage: mostly caught by its checksum, but length and header checks run
            // first and must hold on any input.
            0 => (mutate(&mut rng, &idx), pack.clone()),
            // Pack body damage that keeps length and trailer: only per-record checks and the
            // object hash stand between it and the caller.
            1 => {
                let mut p = pack.clone();
                let body = p.len() - 32;
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(body);
                    p[at] = rng.next() as u8;
                }
                (idx.clone(), p)
            }
            _ => (mutate(&mut rng, &idx), mutate(&mut rng, &pack)),
        };
        let input = [i2.as_slice(), p2.as_slice()].concat();
        no_panic("pack", seed, &input, |_| {
            read_through(&root, &dir, n, &i2, &p2, &objs)
        });
    }
    // The untouched pair still reads back.
    read_through(&root, &dir, u64::MAX, &idx, &pack, &objs);
    eprintln!("pack fuzz: {cases} cases, no panic");
}

// ---------------------------------------------------------------------------------------
// cargo-fuzz findings, replayed on the stable toolchain
// ---------------------------------------------------------------------------------------

/// The checks the cargo-fuzz targets run (`fuzz/fuzz_targets/checks.rs`), shared so that a
/// crasher is replayed against exactly what found it.
#[path = "../fuzz/fuzz_targets/checks.rs"]
mod fuzz_checks;

/// Runs every file under `dir/<target>/` through that target's check; returns how many ran.
fn replay(dir: &Path, only: Option<&str>) -> usize {
    let mut targets: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    targets.sort();
    let mut ran = 0;
    for t in targets {
        let name = t.file_name().and_then(|n| n.to_str()).expect("UTF-8 name");
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let Some(check) = fuzz_checks::by_name(name) else {
            continue;
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&t)
            .expect("read_dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("read input");
            let panicked = catch_unwind(AssertUnwindSafe(|| check(&data))).is_err();
            assert!(!panicked, "{name} fails on {}", f.display());
            ran += 1;
        }
    }
    ran
}

/// Each crash cargo-fuzz found, minimized (`cargo fuzz tmin`), stays fixed.
#[test]
fn fuzz_crashers_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let ran = replay(&dir, None);
    assert!(ran > 0, "no crashers found under {}", dir.display());
    eprintln!("{ran} fuzz crashers replayed, no panic");
}

/// The committed (minimized) cargo-fuzz corpora pass their checks on stable too, so every CI
/// run covers what the fuzzer reached.
#[test]
fn fuzz_corpora_replay_on_stable() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let ran = replay(&dir, None);
    assert!(ran > 0, "no corpus under {}", dir.display());
    eprintln!("{ran} corpus inputs replayed, no panic");
}
