//! `push --dest`: files at `<dest>/<logical_key>`, as quilt3's `push(dest=…)` writes them.
//!
//! A file already at its key with the same content is not sent again. The content is known
//! from S3's stored checksum (HEAD with checksum mode, quilt3's rule), else by reading the
//! object and hashing it; an ETag is never trusted. Different content is refused unless
//! forced, because older versions may point at it. On a versioned bucket every physical key
//! records the version id that S3 gave the upload (or the one already there), so later
//! overwrites leave this version installable.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use quilt_hash::{Entry, Manifest, Progress, Unit, Verifier};
use quilt_store::Store;
use rayon::prelude::*;

use super::error::{TResult, TransferError};
use super::upload::upload_verified;
use crate::layout::physical_key;
use crate::source::checksum::checksum_matches;
use crate::{ObjectMeta, Remote};

/// What a push to a destination did.
#[derive(Debug, Default)]
pub(super) struct DestOutcome {
    pub uploaded: u64,
    pub bytes: u64,
    pub present: u64,
    /// Entries whose physical key carries a version id.
    pub versioned: u64,
}

pub(super) fn push_to_dest(
    store: &Store,
    dest: &dyn Remote,
    manifest: &mut Manifest,
    force: bool,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<DestOutcome> {
    let total: u64 = manifest.entries.iter().map(|e| e.size).sum();
    progress.start("uploading", Some(total), Unit::Bytes);
    let uploaded = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let present = AtomicU64::new(0);
    let versions: Mutex<Vec<(usize, Option<String>)>> = Mutex::new(Vec::new());
    pool.install(|| {
        manifest
            .entries
            .par_iter()
            .enumerate()
            .try_for_each(|(i, e)| -> TResult<()> {
                if interrupt.load(Ordering::Relaxed) {
                    return Err(TransferError::Interrupted);
                }
                let key = e.logical_key.as_str();
                let version = match dest.head(key)? {
                    Some(meta) if holds(dest, key, &meta, e)? => {
                        present.fetch_add(1, Ordering::Relaxed);
                        meta.version_id
                    }
                    // A bucket that keeps versions keeps the old bytes too: older versions of
                    // the package still name them by version id.
                    Some(meta) if !force && meta.version_id.is_none() => {
                        return Err(TransferError::Unsupported {
                            url: format!("{}/{key}", dest.describe().trim_end_matches('/')),
                            reason: "exists with different content; pass --force to overwrite \
                                     it (older versions pointing there will break unless the \
                                     bucket keeps versions)"
                                .to_owned(),
                        });
                    }
                    _ => {
                        let stored = upload_verified(store, dest, key, &e.hash, e.size)?;
                        uploaded.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(e.size, Ordering::Relaxed);
                        stored.version_id
                    }
                };
                progress.inc(e.size);
                if let Ok(mut v) = versions.lock() {
                    v.push((i, version));
                }
                Ok(())
            })
    })?;
    progress.finish();
    let mut versions = versions.into_inner().unwrap_or_default();
    versions.sort_by_key(|(i, _)| *i);
    let base = dest.describe();
    let mut versioned = 0;
    for (e, (_, version)) in manifest.entries.iter_mut().zip(versions) {
        versioned += u64::from(version.is_some());
        e.physical_keys = vec![physical_key(
            &base,
            e.logical_key.as_str(),
            version.as_deref(),
        )];
    }
    Ok(DestOutcome {
        uploaded: uploaded.into_inner(),
        bytes: bytes.into_inner(),
        present: present.into_inner(),
        versioned,
    })
}

/// Whether the object at `key` already is entry `e`: by its stored checksum when the remote
/// keeps one, else by reading and hashing it (streamed, never held whole in memory).
fn holds(dest: &dyn Remote, key: &str, meta: &ObjectMeta, e: &Entry) -> TResult<bool> {
    if meta.size != e.size {
        return Ok(false);
    }
    if let Some(sum) = &meta.checksum_sha256 {
        if checksum_matches(sum, e.size, &e.hash) {
            return Ok(true);
        }
    }
    let mut sink = Hashing {
        verifier: Verifier::new(&e.hash, e.size),
        seen: 0,
        limit: e.size,
    };
    match dest.get_to(key, &mut sink) {
        Ok(_) => Ok(sink.seen == e.size && sink.verifier.finish().is_ok()),
        Err(err) if err.is_not_found() => Ok(false),
        // More bytes than the manifest's size: not this content.
        Err(crate::Error::Sink { .. }) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Hashes what a download writes, refusing bytes past `limit`.
struct Hashing {
    verifier: Verifier,
    seen: u64,
    limit: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.seen += buf.len() as u64;
        if self.seen > self.limit {
            return Err(std::io::Error::other("longer than the manifest's size"));
        }
        self.verifier.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
