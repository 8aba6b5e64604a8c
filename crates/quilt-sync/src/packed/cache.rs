//! The remote's pack indexes, cached under the store root and refreshed by one listing.
//!
//! `<store root>/remote-packs/<16 hex of sha256(remote URL)>/pack-<hex>.idx` holds a copy of
//! each index seen on the remote. [`RemotePacks::refresh`] lists `.quilt/packs/` once,
//! downloads only the indexes not cached yet (each checked, and checked to be the index of
//! the pack it is named after), and drops cached ones the remote no longer has. A push records
//! each index it uploads as soon as it lands, so a killed push's re-run knows those objects
//! without downloading anything.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use quilt_hash::ObjectId;
use quilt_store::{PackEntry, PackIndex, Store};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::keys::{idx_key, parse_pack_key, PACKS_PREFIX};
use crate::transfer::error::{TResult, TransferError};
use crate::Remote;

/// One pack on the remote: its name and index.
#[derive(Debug)]
pub struct RemotePack {
    /// `pack-<64 hex>`.
    pub name: String,
    /// Its index.
    pub index: PackIndex,
}

/// The remote's packs as last listed, with a lookup of every object in them.
#[derive(Debug, Default)]
pub struct RemotePacks {
    /// Packs with an index, in no particular order.
    pub packs: Vec<RemotePack>,
    /// `.pack` keys listed without their `.idx` (a push in flight, or one that died), with
    /// their sizes.
    pub unindexed: Vec<(String, u64)>,
    /// Which pack (position in `packs`) holds each object.
    by_id: HashMap<ObjectId, u32>,
    dir: PathBuf,
}

impl RemotePacks {
    /// Lists `.quilt/packs/` once and brings the cache of `remote` in `store` in step.
    pub fn refresh(
        store: &Store,
        remote: &dyn Remote,
        pool: &rayon::ThreadPool,
    ) -> TResult<RemotePacks> {
        let dir = cache_dir(store, remote);
        let io = |source| TransferError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut idx = HashSet::new();
        let mut packs = HashMap::new();
        remote.list(PACKS_PREFIX, &mut |e| {
            match parse_pack_key(&e.key) {
                Some((name, "idx")) => {
                    idx.insert(name.to_owned());
                }
                Some((name, _)) => {
                    packs.insert(name.to_owned(), e.size);
                }
                None => {}
            }
            Ok(())
        })?;
        drop_gone(&dir, &idx)?;
        let names: Vec<String> = idx.into_iter().collect();
        let loaded: Vec<RemotePack> = pool.install(|| {
            names
                .par_iter()
                .map(|name| load(&dir, remote, name))
                .collect::<TResult<_>>()
        })?;
        let mut unindexed: Vec<(String, u64)> = packs
            .into_iter()
            .filter(|(n, _)| !names.contains(n))
            .collect();
        unindexed.sort();
        let mut out = RemotePacks {
            packs: Vec::new(),
            unindexed,
            by_id: HashMap::new(),
            dir,
        };
        for p in loaded {
            out.insert(p);
        }
        Ok(out)
    }

    fn insert(&mut self, p: RemotePack) {
        let n = self.packs.len() as u32;
        for e in p.index.entries() {
            self.by_id.entry(e.id).or_insert(n);
        }
        self.packs.push(p);
    }

    /// Whether some pack holds `id`.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The pack (position in [`RemotePacks::packs`]) and entry of `id`.
    pub fn find(&self, id: &ObjectId) -> Option<(usize, PackEntry)> {
        let n = *self.by_id.get(id)? as usize;
        Some((n, self.packs[n].index.find(id)?))
    }

    /// Notes a pack whose index just landed on the remote: kept in the cache at once, so a
    /// re-run after a kill knows its objects.
    pub fn record(&self, name: &str, index_bytes: &[u8]) -> TResult<()> {
        write_cached(&self.dir.join(format!("{name}.idx")), index_bytes)
    }

    /// Number of distinct objects in all packs.
    pub fn object_count(&self) -> usize {
        self.by_id.len()
    }
}

/// Where the indexes of `remote` are cached.
pub fn cache_dir(store: &Store, remote: &dyn Remote) -> PathBuf {
    let digest = Sha256::digest(remote.describe().as_bytes());
    store
        .root()
        .join("remote-packs")
        .join(&hex::encode(digest)[..16])
}

/// The index of pack `name`: from the cache when it is there and sound, else downloaded,
/// checked and cached.
fn load(dir: &std::path::Path, remote: &dyn Remote, name: &str) -> TResult<RemotePack> {
    let path = dir.join(format!("{name}.idx"));
    if let Ok(bytes) = std::fs::read(&path) {
        match PackIndex::parse(bytes) {
            Ok(index) if index.pack_name() == name => {
                return Ok(RemotePack {
                    name: name.to_owned(),
                    index,
                })
            }
            _ => tracing::warn!(
                "cached index {} is damaged; fetching it again",
                path.display()
            ),
        }
    }
    let key = idx_key(name);
    let bytes = remote.get(&key)?;
    let corrupt = |reason: String| TransferError::CorruptRemotePack {
        remote: remote.describe(),
        pack: key.clone(),
        reason,
        objects: Vec::new(),
    };
    let index =
        PackIndex::parse(bytes).map_err(|r| corrupt(format!("its index is damaged: {r}")))?;
    if index.pack_name() != name {
        return Err(corrupt(format!(
            "its index describes {}, another pack",
            index.pack_name()
        )));
    }
    write_cached(&path, index.as_bytes())?;
    Ok(RemotePack {
        name: name.to_owned(),
        index,
    })
}

/// Removes cached indexes of packs the remote no longer lists.
fn drop_gone(dir: &std::path::Path, listed: &HashSet<String>) -> TResult<()> {
    let io = |source| TransferError::Io {
        path: dir.to_owned(),
        source,
    };
    for e in std::fs::read_dir(dir).map_err(io)? {
        let path = e.map_err(io)?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
        let is_idx = path.extension().is_some_and(|x| x == "idx");
        // Temp files are another process's writes in progress: left alone.
        if is_idx && stem.is_some_and(|s| !listed.contains(&s)) {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// Temp file beside the target, then rename: a crash leaves the old file or the new one.
/// (A cache: a lost rename costs a download, so no fsync.)
fn write_cached(path: &std::path::Path, bytes: &[u8]) -> TResult<()> {
    let io = |source| TransferError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
