//! Push to a packed remote: the objects the remote's packs lack are read from the store
//! (each verified against its id), packed into packs of about [`DEFAULT_PACK_TARGET`] bytes,
//! and uploaded `--jobs` at a time, `.pack` first and `.idx` last (the index is the commit
//! point). Each index is cached as soon as it lands, so a killed push's re-run re-sends at most
//! the packs that were in flight. Large objects go to `.quilt/objects/` as in the plain layout.
//!
//! All of it, up to and including the manifest, runs under a shared lock (see [`super::lock`]),
//! so gc cannot remove a pack between the listing that found an object there and the manifest
//! that names it. A version whose manifest the remote has needs neither lock nor listing:
//! everything a manifest names is on the remote.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{ObjectId, Progress, Unit};
use quilt_store::{PackBuilder, Store};
use rayon::prelude::*;

use super::cache::RemotePacks;
use super::chunks::{check_object, expand};
use super::goes_in_pack;
use super::keys::{idx_key, pack_key};
use super::lock::{with_lock, LockKind, LockOptions};
use crate::transfer::error::{TResult, TransferError};
use crate::transfer::upload::damaged;
use crate::Remote;

/// Bytes of object data per pack, unless a push says otherwise (measured: docs/format.md §5).
pub const DEFAULT_PACK_TARGET: u64 = 16 << 20;

/// What a packed push sent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sent {
    pub uploaded: u64,
    pub bytes: u64,
    pub present: u64,
    pub packs: u64,
}

/// Sends large objects as in the plain layout; returns (uploaded, bytes, present).
pub(crate) type PlainUpload<'a> = dyn Fn(&[(ObjectId, u64)]) -> TResult<(u64, u64, u64)> + 'a;

/// Where the work of a packed push happens, and how.
pub(crate) struct PackedPush<'a> {
    pub store: &'a Store,
    pub remote: &'a dyn Remote,
    pub pool: &'a rayon::ThreadPool,
    pub progress: &'a dyn Progress,
    pub interrupt: &'a AtomicBool,
    pub pack_target: u64,
    pub lock: LockOptions,
}

impl PackedPush<'_> {
    /// Under a shared lock: sends what the remote lacks of `wanted` (distinct objects with
    /// sizes, in manifest order), through `plain` for large objects, then runs `finish` (which
    /// writes the manifest) before the lock is let go.
    pub fn run<T>(
        &self,
        wanted: &[(ObjectId, u64)],
        plain: &PlainUpload<'_>,
        finish: impl FnOnce(Sent) -> TResult<T>,
    ) -> TResult<T> {
        with_lock(self.remote, LockKind::Shared, &self.lock, || {
            let packs = RemotePacks::refresh(self.store, self.remote, self.pool)?;
            let wanted = expand(self.store, wanted)?;
            // One pass, one copy: the large ones for the plain upload, the packable ones the
            // remote's packs lack.
            let (mut large, mut missing) = (Vec::new(), Vec::new());
            let mut sent = Sent::default();
            for (id, size) in wanted {
                match goes_in_pack(&id, size) {
                    false => large.push((id, size)),
                    true if packs.contains(&id) => sent.present += 1,
                    true => missing.push((id, size)),
                }
            }
            let (up, bytes, present) = plain(&large)?;
            sent.uploaded += up;
            sent.bytes += bytes;
            sent.present += present;
            let (up, bytes, n) = self.send_packs(&packs, &missing)?;
            sent.uploaded += up;
            sent.bytes += bytes;
            sent.packs = n;
            if self.interrupt.load(Ordering::Relaxed) {
                return Err(TransferError::Interrupted);
            }
            finish(sent)
        })
    }

    /// Packs `missing` and uploads the packs in parallel. Returns (objects, bytes, packs).
    fn send_packs(
        &self,
        packs: &RemotePacks,
        missing: &[(ObjectId, u64)],
    ) -> TResult<(u64, u64, u64)> {
        if missing.is_empty() {
            return Ok((0, 0, 0));
        }
        let groups = group(missing, self.pack_target.max(1));
        let total: u64 = missing.iter().map(|(_, s)| s).sum();
        self.progress.start("uploading", Some(total), Unit::Bytes);
        let bytes = AtomicU64::new(0);
        self.pool.install(|| {
            groups.par_iter().try_for_each(|g| -> TResult<()> {
                let n = self.send_one(packs, g)?;
                bytes.fetch_add(n, Ordering::Relaxed);
                self.progress.inc(n);
                Ok(())
            })
        })?;
        self.progress.finish();
        Ok((
            missing.len() as u64,
            bytes.into_inner(),
            groups.len() as u64,
        ))
    }

    /// Builds one pack from the store (every object verified), uploads it and its index, and
    /// records the index locally. Returns the object bytes sent.
    fn send_one(&self, packs: &RemotePacks, objects: &[(ObjectId, u64)]) -> TResult<u64> {
        let data_bytes: u64 = objects.iter().map(|(_, s)| s).sum();
        let mut b = PackBuilder::with_capacity((data_bytes + 64 * objects.len() as u64) as usize);
        let mut buf = Vec::new();
        for (id, size) in objects {
            if self.interrupt.load(Ordering::Relaxed) {
                return Err(TransferError::Interrupted);
            }
            read_verified(self.store, self.remote, id, *size, &mut buf)?;
            b.add(id, &buf);
        }
        let built = b.finish();
        self.remote.put(&pack_key(&built.name), &built.pack)?;
        self.remote.put(&idx_key(&built.name), &built.index)?;
        packs.record(&built.name, &built.index)?;
        tracing::debug!(pack = %built.name, objects = objects.len(), "pack uploaded");
        Ok(data_bytes)
    }
}

/// Splits `objects` (in order) into runs of about `target` bytes each.
fn group(objects: &[(ObjectId, u64)], target: u64) -> Vec<&[(ObjectId, u64)]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (_, size)) in objects.iter().enumerate() {
        bytes += size;
        if bytes >= target {
            out.push(&objects[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < objects.len() {
        out.push(&objects[start..]);
    }
    out
}

/// Reads stored object `id` into `buf`, refusing it unless it is `size` bytes that hash to
/// `id`: local rot never reaches a remote.
pub(crate) fn read_verified(
    store: &Store,
    remote: &dyn Remote,
    id: &ObjectId,
    size: u64,
    buf: &mut Vec<u8>,
) -> TResult<()> {
    buf.clear();
    let corrupt = |detail: String| damaged(store, remote, id, detail);
    let mut reader = store.open_object(id)?;
    if reader.len() != size {
        return Err(corrupt(format!(
            "it is {} bytes long, the manifest says {size}",
            reader.len()
        )));
    }
    match reader.as_slice() {
        Some(s) => buf.extend_from_slice(s),
        None => {
            reader
                .read_to_end(buf)
                .map_err(|source| TransferError::Io {
                    path: store.object_file(id).ok().flatten().unwrap_or_default(),
                    source,
                })?;
        }
    }
    if buf.len() as u64 != size {
        return Err(corrupt(format!("it is {} bytes long", buf.len())));
    }
    check_object(id, buf).map_err(corrupt)
}
