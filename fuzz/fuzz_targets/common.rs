//! Shared by the pack targets: place an index and a pack in a scratch store and read through
//! them with a fresh store handle (the index validator runs when the store opens the pack).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use quilt::hash::{HashType, NoProgress, ObjectId};
use quilt::store::{Store, VerifyOptions};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        Store::init(&dir.path().join(".quilt")).expect("init");
        Scratch { dir }
    }

    pub fn root(&self) -> std::path::PathBuf {
        self.dir.path().join(".quilt")
    }
}

/// Makes `idx` self-consistent for `pack` (footer pack length and checksum, own trailer), so
/// mutations reach the structural checks behind the checksums.
pub fn fix_up(idx: &mut Vec<u8>, pack: &[u8]) {
    if idx.len() < 1108 || pack.len() < 32 {
        return;
    }
    let n = idx.len();
    let footer = n - 72;
    idx[footer..footer + 8].copy_from_slice(&(pack.len() as u64).to_le_bytes());
    idx[footer + 8..footer + 40].copy_from_slice(&pack[pack.len() - 32..]);
    let trailer = blake3::hash(&idx[..n - 32]);
    idx[n - 32..].copy_from_slice(trailer.as_bytes());
}

/// The object ids an index claims, read leniently (for lookups only).
pub fn claimed_ids(idx: &[u8]) -> Vec<ObjectId> {
    let mut out = Vec::new();
    if idx.len() < 1108 {
        return out;
    }
    let entries = &idx[1036..idx.len() - 72];
    for e in entries.chunks_exact(49).take(4096) {
        let kind = HashType::from_code(e[32]).unwrap_or(HashType::Sha2_256Chunked);
        let digest: [u8; 32] = e[..32].try_into().expect("32 bytes");
        out.push(ObjectId { kind, digest });
    }
    out
}

/// Writes the pair, opens the store and reads every claimed object. Whatever a read hands
/// out, nothing panics; and bytes that do not hash to their id are never silent: `verify`
/// (which re-hashes every object) must report a problem. Reads themselves do not re-hash
/// (the pack format has no per-record checksum): every consumer that hands bytes onwards,
/// checkout, install and push, hashes them on the way out.
pub fn read_through(root: &Path, idx: &[u8], pack: &[u8]) {
    let stem = root.join("objects/pack/pack-fuzz");
    std::fs::write(stem.with_extension("pack"), pack).expect("pack");
    std::fs::write(stem.with_extension("idx"), idx).expect("idx");
    let store = Store::open(root).expect("open");
    let mut damaged = None;
    for id in claimed_ids(idx) {
        if let Ok(bytes) = store.get(&id) {
            if quilt::hash::hash_bytes_as(id.kind, &bytes) != id {
                damaged = Some(id);
            }
        }
    }
    let _ = store.skipped_packs();
    if let Some(id) = damaged {
        let opts = VerifyOptions {
            objects: true,
            packages: false,
        };
        let report = store.verify(&opts, &NoProgress, &AtomicBool::new(false));
        assert!(
            report.map_or(true, |r| !r.is_ok()),
            "{id} was served with other bytes and verify found nothing wrong"
        );
    }
}
