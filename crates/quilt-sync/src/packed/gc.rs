//! `gc --remote` on a packed remote: packs whose objects no manifest on the remote names any
//! more are removed, and packs that are mostly such garbage are repacked (their live objects
//! copied into new packs, uploaded `.pack` then `.idx`, before the old packs go, `.idx`
//! first). Small packs, which many small pushes leave, are merged the same way once there
//! are [`MERGE_SMALL_AT`] of them. Packs without an index (a push that died) are removed too.
//!
//! It runs under an exclusive lock (see [`super::lock`]), taken before the remote is listed:
//! no push is between planning and writing its manifest meanwhile, so every object a push
//! relies on is either named by a manifest already or in a pack the push will list after gc
//! is done.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use quilt_hash::{HashType, ObjectId, Progress, TopHash, Unit};
use quilt_store::chunk::ChunkList;
use quilt_store::{pack::mem::record_data, PackBuilder, PackEntry, Store};

use super::cache::{RemotePack, RemotePacks};
use super::chunks::{check_object, fetch_list};
use super::keys::{idx_key, pack_key};
use super::lock::{remove_stale, with_lock, LockKind, LockOptions};
use super::push::DEFAULT_PACK_TARGET;
use crate::layout::PACKAGES_PREFIX;
use crate::transfer::error::{TResult, TransferError};
use crate::transfer::fetch::get_manifest;
use crate::Remote;

/// How to collect a packed remote.
#[derive(Debug, Clone, Default)]
pub struct RemoteGcOptions {
    /// Report what would be done without changing the remote.
    pub dry_run: bool,
    /// Timing of the exclusive lock.
    pub lock: LockOptions,
    /// Parallel transfers.
    pub jobs: usize,
}

/// What a `gc --remote` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteGcOutcome {
    /// Packs looked at.
    pub packs: u64,
    /// Packs removed (all garbage, or repacked).
    pub packs_removed: u64,
    /// New packs written with the live objects of repacked ones.
    pub packs_written: u64,
    /// Of `packs_removed`, small packs merged into larger ones (not for their garbage).
    pub packs_merged: u64,
    /// Objects dropped.
    pub objects_removed: u64,
    /// Bytes of pack files removed, less the bytes of the new packs.
    pub bytes_freed: u64,
    /// Packs without an index (left by a push that died) removed.
    pub torn_removed: u64,
    /// Stale lock files removed.
    pub locks_removed: u64,
}

/// A pack is repacked when at least this share of its data is garbage.
const REPACK_GARBAGE: f64 = 0.5;

/// A pack smaller than this is small: a push of a few files leaves one.
const SMALL_PACK: u64 = DEFAULT_PACK_TARGET / 4;

/// Small packs are merged once there are this many: each costs a request when a push or an
/// install refreshes its view of the remote, and an index to search.
pub const MERGE_SMALL_AT: usize = 8;

/// Collects `remote`; see the module docs.
pub fn gc_remote(
    store: &Store,
    remote: &dyn Remote,
    opts: &RemoteGcOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<RemoteGcOutcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| TransferError::Io {
            path: "thread pool".into(),
            source: std::io::Error::other(e),
        })?;
    with_lock(remote, LockKind::Exclusive, &opts.lock, || {
        let mut out = RemoteGcOutcome {
            locks_removed: match opts.dry_run {
                true => 0,
                false => remove_stale(remote, &opts.lock)?,
            },
            ..RemoteGcOutcome::default()
        };
        let packs = RemotePacks::refresh(store, remote, &pool)?;
        let live = live_objects(remote, &packs, interrupt)?;
        out.packs = packs.packs.len() as u64;
        let mut repack = Vec::new();
        let mut small = Vec::new();
        for p in &packs.packs {
            let (live_bytes, dead) = tally(p, &live);
            let total: u64 = p.index.entries().map(|e| e.len).sum();
            let garbage = total - live_bytes;
            if dead > 0 && (live_bytes == 0 || garbage as f64 >= REPACK_GARBAGE * total as f64) {
                out.objects_removed += dead;
                repack.push(p);
            } else if p.index.pack_len() < SMALL_PACK {
                small.push((p, dead));
            }
        }
        if small.len() >= MERGE_SMALL_AT {
            for (p, dead) in small {
                out.objects_removed += dead;
                out.packs_merged += 1;
                repack.push(p);
            }
        }
        for (key, size) in &packs.unindexed {
            out.torn_removed += 1;
            out.bytes_freed += size;
            if !opts.dry_run {
                remote.delete(&pack_key(key))?;
            }
        }
        if opts.dry_run {
            out.packs_removed = repack.len() as u64;
            return Ok(out);
        }
        rewrite(remote, &repack, &live, &mut out, progress, interrupt)?;
        Ok(out)
    })
}

/// (bytes of live data, number of dead objects) in pack `p`.
fn tally(p: &RemotePack, live: &HashSet<ObjectId>) -> (u64, u64) {
    let (mut bytes, mut dead) = (0, 0);
    for e in p.index.entries() {
        match live.contains(&e.id) {
            true => bytes += e.len,
            false => dead += 1,
        }
    }
    (bytes, dead)
}

/// Every object some manifest on the remote names, with the chunk lists of those files and
/// their chunks (each manifest checked against its name: a damaged one stops gc rather than
/// let it free what it names).
fn live_objects(
    remote: &dyn Remote,
    packs: &RemotePacks,
    interrupt: &AtomicBool,
) -> TResult<HashSet<ObjectId>> {
    let mut tops = Vec::new();
    remote.list(PACKAGES_PREFIX, &mut |e| {
        if let Ok(t) = TopHash::parse(&e.key[PACKAGES_PREFIX.len()..]) {
            tops.push(t);
        }
        Ok(())
    })?;
    let mut live = HashSet::new();
    for top in tops {
        if interrupt.load(Ordering::Relaxed) {
            return Err(TransferError::Interrupted);
        }
        let (manifest, _) = get_manifest(remote, &top)?;
        for e in &manifest.entries {
            let list_id = ChunkList::id_for(&e.hash);
            if e.hash.kind == HashType::Sha2_256Chunked && !live.contains(&list_id) {
                if let Some(hit) = packs.find(&list_id) {
                    let list = fetch_list(remote, packs, &e.hash, e.size, hit)?;
                    live.extend(list.chunks.iter().map(|(c, _)| *c));
                    live.insert(list_id);
                }
            }
            live.insert(e.hash);
        }
    }
    Ok(live)
}

/// Copies the live objects of `old` into new packs, uploads them, then removes `old`.
fn rewrite(
    remote: &dyn Remote,
    old: &[&RemotePack],
    live: &HashSet<ObjectId>,
    out: &mut RemoteGcOutcome,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<()> {
    progress.start("repacking", Some(old.len() as u64), Unit::Items);
    let mut builder = PackBuilder::default();
    let mut seen = HashSet::new();
    for p in old {
        if interrupt.load(Ordering::Relaxed) {
            return Err(TransferError::Interrupted);
        }
        let keep: Vec<PackEntry> = p.index.entries().filter(|e| live.contains(&e.id)).collect();
        if !keep.is_empty() {
            let data = remote.get(&pack_key(&p.name))?;
            for e in keep.iter().filter(|e| seen.insert(e.id)) {
                builder.add(&e.id, checked(remote, p, &data, e)?);
            }
        }
        if builder.len() >= DEFAULT_PACK_TARGET {
            upload(remote, std::mem::take(&mut builder), out)?;
        }
        progress.inc(1);
    }
    if !builder.is_empty() {
        upload(remote, builder, out)?;
    }
    for p in old {
        out.bytes_freed += p.index.pack_len() + p.index.as_bytes().len() as u64;
        remote.delete(&idx_key(&p.name))?;
        remote.delete(&pack_key(&p.name))?;
        out.packs_removed += 1;
    }
    progress.finish();
    Ok(())
}

/// The data of `e` in the whole pack `data`, checked against the index and the object's id.
fn checked<'a>(
    remote: &dyn Remote,
    p: &RemotePack,
    data: &'a [u8],
    e: &PackEntry,
) -> TResult<&'a [u8]> {
    let corrupt = |reason: String| TransferError::CorruptRemotePack {
        remote: remote.describe(),
        pack: pack_key(&p.name),
        reason,
        objects: vec![e.id],
    };
    let r = e.record_range();
    let rec = data
        .get(r.start as usize..r.end as usize)
        .ok_or_else(|| corrupt(format!("it ends before offset {}", e.offset)))?;
    let body = record_data(rec, e).map_err(corrupt)?;
    check_object(&e.id, body).map_err(corrupt)?;
    Ok(body)
}

/// Uploads a repacked pack, `.pack` then `.idx`.
fn upload(remote: &dyn Remote, b: PackBuilder, out: &mut RemoteGcOutcome) -> TResult<()> {
    let built = b.finish();
    remote.put(&pack_key(&built.name), &built.pack)?;
    remote.put(&idx_key(&built.name), &built.index)?;
    out.packs_written += 1;
    out.bytes_freed = out
        .bytes_freed
        .saturating_sub((built.pack.len() + built.index.len()) as u64);
    Ok(())
}
