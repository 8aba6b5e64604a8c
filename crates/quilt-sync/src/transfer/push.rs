//! `push`: send a version and the objects the remote lacks, then move `latest` by
//! compare-and-swap.
//!
//! Order on the remote: data objects, then the manifest, then a timestamped pointer, then
//! `latest`. A push killed at any point leaves `latest` naming a complete version; the re-run
//! learns what arrived (inventory, HEAD or one listing) and sends only the rest.
//! Every object is hashed as it is read for upload (see `upload`); a damaged one stops the push
//! before the manifest, and the inventory only records objects whose upload was verified.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use quilt_hash::{Manifest, ObjectId, PackageName, Progress, TopHash, Unit};
use quilt_store::Store;
use rayon::prelude::*;
use serde_json::Value;

use super::dest::push_to_dest;
use super::error::{TResult, TransferError};
use super::plan::missing_objects;
use super::registry::{has_manifest, read_latest};
use super::rewrite::rewritten_manifest;
use super::upload::upload_verified;
use crate::layout::{latest_key, manifest_key, object_key, timestamp_key};
use crate::packed::lock::LockOptions;
use crate::packed::push::{PackedPush, DEFAULT_PACK_TARGET};
use crate::packed::RemoteLayout;
use crate::{CasOutcome, Condition, Remote};

/// How to push.
#[derive(Default)]
pub struct PushOptions<'a> {
    /// Move `latest` even when it names a version this one was not built on; with `dest`,
    /// overwrite files whose content differs.
    pub force: bool,
    /// Put files at `<dest>/<logical_key>` (like quilt3's push) instead of content-addressed
    /// objects.
    pub dest: Option<&'a dyn Remote>,
    /// Replace the version's message (this makes a new version, as the message is hashed).
    pub message: Option<String>,
    /// Parallel transfers.
    pub jobs: usize,
    /// How the remote lays out data objects (ignored with `dest`).
    pub layout: RemoteLayout,
    /// Packed layout: bytes of object data per pack (0: the default, 16 MiB).
    pub pack_target: u64,
    /// Packed layout: timing of the lock a push holds on the remote.
    pub lock: LockOptions,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The version pushed; it differs from the one asked for when a message was added.
    pub top_hash: TopHash,
    /// Objects uploaded.
    pub objects_uploaded: u64,
    /// The bytes of those objects.
    pub bytes_uploaded: u64,
    /// Objects the remote had already.
    pub objects_present: u64,
    /// Whether `latest` now names this version because of this push.
    pub latest_moved: bool,
    /// What happened to the manifest on the remote.
    pub manifest_written: ManifestWrite,
    /// Things the user should know (e.g. an unversioned `dest`).
    pub warnings: Vec<String>,
}

/// What a push did with the version's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestWrite {
    /// The remote had it already, byte for byte.
    Present,
    /// It was new on the remote.
    Written,
    /// `--dest`: the remote had this version with other physical keys; its manifest was
    /// replaced so the files just written are named by it (quilt3 does the same).
    Rewritten,
}

impl ManifestWrite {
    /// `present`, `written` or `rewritten`, as the CLI's JSON output names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestWrite::Present => "present",
            ManifestWrite::Written => "written",
            ManifestWrite::Rewritten => "rewritten",
        }
    }
}

/// Parts of a manifest upload (one PUT below this size).
const MANIFEST_PART: u64 = 64 << 20;

/// Objects recorded in the inventory per batch while uploading, so a killed push loses little.
const INVENTORY_BATCH: usize = 256;

/// Pushes the version `top` of `name` from `store` to `remote`: every object the remote lacks
/// (or, with a `dest`, every file written under it by logical key), then the manifest, then the
/// pointers, `latest` last. With a message in `opts`, the version is first re-recorded under
/// that message, which gives it a new top hash. Stops with [`TransferError::Interrupted`] once
/// `interrupt` is set, before the manifest is written.
pub fn push(
    store: &Store,
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
    opts: &PushOptions<'_>,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<PushOutcome> {
    let top = reword(store, name, top, opts.message.as_deref())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("quilt-push-{i}"))
        .build()
        .map_err(|e| TransferError::Io {
            path: "thread pool".into(),
            source: std::io::Error::other(e),
        })?;

    let mut warnings = Vec::new();
    let (uploaded, bytes, present, manifest_written) = match (opts.dest, opts.layout) {
        (Some(dest), _) => {
            let mut manifest = store.get_manifest(&top)?;
            let r = push_to_dest(
                store,
                dest,
                &mut manifest,
                opts.force,
                &pool,
                progress,
                interrupt,
            )?;
            if r.versioned < manifest.entries.len() as u64 {
                warnings.push(format!(
                    "files were written under {} by logical key and the bucket keeps no versions of them; a later push to the same dest replaces them, and older versions that point there will then fail to install",
                    dest.describe()
                ));
            }
            stop_if_interrupted(interrupt)?;
            let written = write_dest_manifest(remote, &top, &manifest)?;
            (r.uploaded, r.bytes, r.present, written)
        }
        (None, RemoteLayout::Packed) => {
            let job = PackedPush {
                store,
                remote,
                pool: &pool,
                progress,
                interrupt,
                pack_target: match opts.pack_target {
                    0 => DEFAULT_PACK_TARGET,
                    n => n,
                },
                lock: opts.lock,
            };
            push_packed(&job, &top)?
        }
        (None, RemoteLayout::Plain) => {
            let wanted = distinct_objects(store, &top)?;
            let (up, bytes, present) =
                upload_objects(store, remote, &wanted, &pool, progress, interrupt)?;
            drop(wanted);
            stop_if_interrupted(interrupt)?;
            let written = write_manifest_streamed(store, remote, &top)?;
            (up, bytes, present, written)
        }
    };
    let latest_moved = move_latest(store, remote, name, &top, opts.force)?;
    Ok(PushOutcome {
        top_hash: top,
        objects_uploaded: uploaded,
        bytes_uploaded: bytes,
        objects_present: present,
        latest_moved,
        manifest_written,
        warnings,
    })
}

/// The version to push: `top` itself, or, when `message` differs from its own, the same
/// content re-recorded under that message (a new top hash, standing where `top` stood).
fn reword(
    store: &Store,
    name: &PackageName,
    top: &TopHash,
    message: Option<&str>,
) -> TResult<TopHash> {
    let Some(msg) = message else {
        return Ok(*top);
    };
    let mut manifest = store.get_manifest(top)?;
    if manifest.header.get("message").and_then(Value::as_str) == Some(msg) {
        return Ok(*top);
    }
    manifest
        .header
        .insert("message".to_owned(), Value::String(msg.to_owned()));
    let new = store.put_manifest_with_base(&manifest, Some(top))?;
    // Same content, new message: it stands where the original stood.
    store.record_revision_with_parent(name, &new, Some(msg), now(), Some(top))?;
    Ok(new)
}

/// Puts the manifest, its physical keys pointing at the objects on `remote`, unless the
/// remote has it; it is streamed from the store through a temp file (see `rewrite`).
fn write_manifest_streamed(
    store: &Store,
    remote: &dyn Remote,
    top: &TopHash,
) -> TResult<ManifestWrite> {
    if has_manifest(remote, top)? {
        return Ok(ManifestWrite::Present);
    }
    // The temp file lives in the store's `tmp/`, which a writer that finds the store unused
    // clears: hold the store until the upload is done.
    let _hold = store.hold_for_write()?;
    let tmp = rewritten_manifest(store, top, &remote.describe())?;
    remote.put_file(&manifest_key(top), tmp.path(), MANIFEST_PART, None)?;
    Ok(ManifestWrite::Written)
}

/// `--dest`: puts the manifest. Its physical keys are new, so a manifest already there under
/// the same top hash is replaced when its bytes differ, as quilt3 does: the files just
/// written stay named by a manifest.
fn write_dest_manifest(
    remote: &dyn Remote,
    top: &TopHash,
    manifest: &Manifest,
) -> TResult<ManifestWrite> {
    let key = manifest_key(top);
    let bytes = manifest.to_bytes();
    let old = match remote.get(&key) {
        Ok(old) => Some(old),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    match old {
        Some(old) if old == bytes => Ok(ManifestWrite::Present),
        Some(_) => {
            remote.put(&key, &bytes)?;
            Ok(ManifestWrite::Rewritten)
        }
        None => {
            remote.put(&key, &bytes)?;
            Ok(ManifestWrite::Written)
        }
    }
}

/// A Ctrl-C during the last object: stop before the manifest and `latest`.
fn stop_if_interrupted(interrupt: &AtomicBool) -> TResult<()> {
    match interrupt.load(Ordering::Relaxed) {
        true => Err(TransferError::Interrupted),
        false => Ok(()),
    }
}

/// The packed layout: a version whose manifest the remote has is complete there and needs
/// no listing or lock; otherwise objects go up in packs (large ones as in the plain layout)
/// and the manifest is written before the push's lock is let go. Physical keys are the plain
/// layout's (docs/format.md §5).
fn push_packed(job: &PackedPush<'_>, top: &TopHash) -> TResult<(u64, u64, u64, ManifestWrite)> {
    let wanted = distinct_objects(job.store, top)?;
    if has_manifest(job.remote, top)? {
        return Ok((0, 0, wanted.len() as u64, ManifestWrite::Present));
    }
    let plain = |large: &[(ObjectId, u64)]| {
        upload_objects(
            job.store,
            job.remote,
            large,
            job.pool,
            job.progress,
            job.interrupt,
        )
    };
    job.run(&wanted, &plain, |sent| {
        let written = write_manifest_streamed(job.store, job.remote, top)?;
        Ok((sent.uploaded, sent.bytes, sent.present, written))
    })
}

/// The distinct objects of version `top` with their sizes, in manifest order, read one batch
/// of lines at a time: 48 bytes per object, where the parsed manifest took over a kilobyte.
fn distinct_objects(store: &Store, top: &TopHash) -> TResult<Vec<(ObjectId, u64)>> {
    let entries = store.manifest_summary(top)?.entries;
    let all = entries.into_iter().map(|e| (e.hash, e.size)).collect();
    Ok(first_of_each(all))
}

/// Keeps the first entry of each digest, in order. Sorting positions by digest finds the
/// repeats with 8 bytes per object, where a set of digests takes over 64.
fn first_of_each(mut all: Vec<(ObjectId, u64)>) -> Vec<(ObjectId, u64)> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_unstable_by(|&a, &b| all[a].0.digest.cmp(&all[b].0.digest).then(a.cmp(&b)));
    let mut repeat = vec![false; all.len()];
    for w in order.windows(2) {
        if all[w[0]].0.digest == all[w[1]].0.digest {
            repeat[w[1]] = true;
        }
    }
    drop(order);
    let mut i = 0;
    all.retain(|_| {
        i += 1;
        !repeat[i - 1]
    });
    all
}

/// Uploads the objects of `wanted` the remote lacks to `.quilt/objects/`. Returns
/// (uploaded, bytes, present).
fn upload_objects(
    store: &Store,
    remote: &dyn Remote,
    wanted: &[(ObjectId, u64)],
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<(u64, u64, u64)> {
    if wanted.is_empty() {
        return Ok((0, 0, 0));
    }
    let inventory_key = remote.describe();
    let missing = missing_objects(store, remote, &inventory_key, wanted, pool)?;
    let present = (wanted.len() - missing.len()) as u64;
    if missing.is_empty() {
        return Ok((0, 0, present));
    }
    let total: u64 = missing.iter().map(|(_, s)| s).sum();
    progress.start("uploading", Some(total), Unit::Bytes);
    let done = Mutex::new(Vec::new());
    let bytes = AtomicU64::new(0);
    let uploaded = AtomicU64::new(0);
    let flush = |force: bool| -> TResult<()> {
        let batch = {
            let mut d = done.lock().expect("upload list lock");
            if !force && d.len() < INVENTORY_BATCH {
                return Ok(());
            }
            std::mem::take(&mut *d)
        };
        if !batch.is_empty() {
            store.db().inventory_add(&inventory_key, &batch)?;
        }
        Ok(())
    };
    let result = pool.install(|| {
        missing
            .par_iter()
            .try_for_each(|(id, size)| -> TResult<()> {
                if interrupt.load(Ordering::Relaxed) {
                    return Err(TransferError::Interrupted);
                }
                upload_verified(store, remote, &object_key(id), id, *size)?;
                done.lock().expect("upload list lock").push(id.digest);
                bytes.fetch_add(*size, Ordering::Relaxed);
                uploaded.fetch_add(1, Ordering::Relaxed);
                progress.inc(*size);
                flush(false)
            })
    });
    // Record what did arrive even when the push failed, so the re-run skips it.
    flush(true)?;
    result?;
    progress.finish();
    tracing::debug!(objects = missing.len(), "objects uploaded");
    Ok((uploaded.into_inner(), bytes.into_inner(), present))
}

/// Writes the timestamped pointer, then swaps `latest` to `top` when `top` descends from the
/// version it names (or nothing is there). A version that does not descend from the remote's
/// `latest` keeps its timestamped pointer (it is uploaded and reachable by hash) but does not
/// become `latest`, unless `force`.
fn move_latest(
    store: &Store,
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
    force: bool,
) -> TResult<bool> {
    move_latest_if(remote, name, top, &|current| {
        check_descends(store, remote, name, current, top, force)
    })
}

/// Asked, with the `latest` value read (top hash and etag), whether it may be replaced.
pub(crate) type MayReplace<'a> = dyn Fn(Option<&(TopHash, String)>) -> TResult<()> + 'a;

/// Writes the timestamped pointer, then swaps `latest` to `top` by compare-and-swap, asking
/// `may_replace` about the value `latest` holds before each attempt (an error keeps `latest`
/// as it is). Returns whether `latest` moved; it does not when it already names `top`.
pub(crate) fn move_latest_if(
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
    may_replace: &MayReplace<'_>,
) -> TResult<bool> {
    let mut current = read_latest(remote, name)?;
    if current.as_ref().is_some_and(|(t, _)| t == top) {
        return Ok(false);
    }
    write_timestamp_pointer(remote, name, top)?;
    may_replace(current.as_ref())?;
    for _ in 0..8 {
        let cond = match &current {
            None => Condition::IfAbsent,
            Some((t, _)) if t == top => return Ok(false),
            Some((_, etag)) => Condition::IfMatch(etag.clone()),
        };
        match remote.put_if(&latest_key(name), top.to_hex().as_bytes(), cond)? {
            CasOutcome::Written { .. } => return Ok(true),
            CasOutcome::PreconditionFailed { .. } => {
                // Someone else moved latest meanwhile: ours must be allowed to replace theirs too.
                current = read_latest(remote, name)?;
                if current.as_ref().is_some_and(|(t, _)| t == top) {
                    return Ok(false);
                }
                may_replace(current.as_ref())?;
            }
        }
    }
    Err(TransferError::Unsupported {
        url: remote.describe(),
        reason: format!("latest of {name} keeps changing under concurrent pushes; try again"),
    })
}

/// Fails unless the remote's `latest` is `ours` or one of its recorded ancestors (its
/// parent, or further back: moving from a grandparent to a grandchild loses nothing either,
/// like a fast-forward in git). Fetched versions have no recorded parent, so pushing one
/// over a different `latest` needs `force`.
fn check_descends(
    store: &Store,
    remote: &dyn Remote,
    name: &PackageName,
    current: Option<&(TopHash, String)>,
    ours: &TopHash,
    force: bool,
) -> TResult<()> {
    let Some((theirs, _)) = current else {
        return Ok(());
    };
    if force || store.is_ancestor(name, theirs, ours)? {
        return Ok(());
    }
    Err(TransferError::LatestMoved {
        remote: remote.describe(),
        name: name.to_string(),
        remote_latest: *theirs,
        ours: *ours,
    })
}

fn write_timestamp_pointer(remote: &dyn Remote, name: &PackageName, top: &TopHash) -> TResult<()> {
    let mut ts = now();
    // Two pushes in the same second must not overwrite each other's pointer.
    for _ in 0..64 {
        match remote.put_if(
            &timestamp_key(name, ts),
            top.to_hex().as_bytes(),
            Condition::IfAbsent,
        )? {
            CasOutcome::Written { .. } => return Ok(()),
            CasOutcome::PreconditionFailed { .. } => {
                if super::registry::read_pointer(remote, &timestamp_key(name, ts))? == Some(*top) {
                    return Ok(());
                }
                ts += 1;
            }
        }
    }
    Err(TransferError::Unsupported {
        url: remote.describe(),
        reason: format!("could not find a free timestamp for {name}"),
    })
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
#[cfg(test)]
mod tests {
    use quilt_hash::{HashType, ObjectId};

    use super::first_of_each;

    fn id(n: u8) -> ObjectId {
        ObjectId::new(HashType::Sha2_256Chunked, [n; 32])
    }

    #[test]
    fn first_of_each_keeps_the_first_of_every_digest_in_order() {
        let all = vec![
            (id(3), 1),
            (id(1), 2),
            (id(3), 3),
            (id(2), 4),
            (id(1), 5),
            (id(3), 6),
        ];
        assert_eq!(first_of_each(all), vec![(id(3), 1), (id(1), 2), (id(2), 4)]);
        assert_eq!(first_of_each(Vec::new()), Vec::new());
    }
}
