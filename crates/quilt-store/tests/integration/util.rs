use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use quilt_hash::manifest::default_header;
use quilt_hash::NoProgress;
use quilt_hash::{hash_bytes, Entry, LogicalKey, Manifest, ObjectId, PackageName, TopHash};
use quilt_store::{GcOptions, GcOutcome, Store, StoreOptions, VerifyOptions, VerifyReport};
use tempfile::TempDir;

pub static NO_INTERRUPT: AtomicBool = AtomicBool::new(false);

/// A full verify of `store` (objects and packages), which must run to the end.
pub fn verify(store: &Store) -> VerifyReport {
    store
        .verify(&VerifyOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect("verify")
}

/// A gc of `store` with `opts`, which must succeed.
pub fn gc_with(store: &Store, opts: &GcOptions) -> GcOutcome {
    store.gc(opts, &NoProgress, &NO_INTERRUPT).expect("gc")
}

/// Small thresholds so tests exercise loose objects and pack rolling with tiny data.
pub const OPTIONS: StoreOptions = StoreOptions {
    small_object_limit: 64,
    pack_size_limit: 4096,
    chunking: quilt_store::chunk::ChunkParams::OFF,
};

pub fn new_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    Store::init(&root).expect("init");
    let store = Store::open_with(&root, OPTIONS).expect("open");
    (dir, store)
}

pub fn reopen(store: &Store) -> Store {
    Store::open_with(store.root(), OPTIONS).expect("reopen")
}

/// Deterministic content of `len` bytes for seed `n`.
pub fn content(n: u32, len: usize) -> Vec<u8> {
    let mut x = n.wrapping_mul(2654435761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub fn put(store: &Store, items: &[Vec<u8>]) -> Vec<ObjectId> {
    let w = store.writer().expect("writer");
    let ids = items
        .iter()
        .map(|d| {
            let id = hash_bytes(d);
            w.put_bytes(&id, d).expect("put");
            id
        })
        .collect();
    w.commit().expect("commit");
    ids
}

pub fn manifest_of(items: &[(&str, &[u8])]) -> Manifest {
    let mut m = Manifest::new(default_header());
    for (key, data) in items {
        m.entries.push(Entry::new(
            LogicalKey::parse(*key).expect("key"),
            data.len() as u64,
            hash_bytes(data),
        ));
    }
    m.sort_entries();
    m
}

pub fn name(s: &str) -> PackageName {
    PackageName::parse(s).expect("package name")
}

/// Stores objects and manifest, and records a revision: the full build sequence.
pub fn commit_package(store: &Store, pkg: &str, items: &[(&str, &[u8])], time: i64) -> TopHash {
    let data: Vec<Vec<u8>> = items.iter().map(|(_, d)| d.to_vec()).collect();
    put(store, &data);
    let top = store
        .put_manifest(&manifest_of(items))
        .expect("put manifest");
    store
        .record_revision(&name(pkg), &top, Some("test"), time)
        .expect("record");
    top
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

pub fn bytes_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

pub fn pack_files(store: &Store, ext: &str) -> Vec<PathBuf> {
    files_under(&store.root().join("objects/pack"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}
