//! Writing stored objects out as files, durably and in batches.
//!
//! A batch of files is written to temp files beside their targets (in parallel, each object
//! hashed on the way), then made durable at once (one `syncfs` per file system, or one fsync
//! per file where there is none), and only then renamed over the targets. So after a crash a
//! target holds either its old content or the complete new content, never a torn or empty
//! file. The caller's final [`Dest::sync`] makes the renames themselves durable.

use std::fs;
use std::io::Write as _;
use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{Entry, ObjectId, Progress, Unit, Verifier};
use quilt_store::Store;
use rayon::prelude::*;

use crate::dest::{same_parent_runs, split_key, Dest, SYNC_EACH_FILE};
use crate::error::{Error, Result};

/// Files of one directory written by one task before the next directory is opened.
const RUN_FILES: usize = 64;
/// A batch is made durable (and renamed) once it holds this many files, bytes or open
/// directories (one per run; kept well below the usual limit of 1024 descriptors).
const BATCH_FILES: usize = 4096;
const BATCH_BYTES: u64 = 256 << 20;
const BATCH_RUNS: usize = 256;

/// Writes every entry (in manifest order) under `dest`, which must exist. Returns the bytes
/// written.
pub(crate) fn write_entries(
    store: &Store,
    dest: &Dest,
    entries: &[&Entry],
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<u64> {
    let total: u64 = entries.iter().map(|e| e.size).sum();
    progress.start("writing", Some(total), Unit::Bytes);
    let bytes = AtomicU64::new(0);
    let keys: Vec<EntryKey<'_>> = entries.iter().map(|e| EntryKey(e)).collect();
    let runs = same_parent_runs(&keys, RUN_FILES);
    for batch in batches(&runs) {
        let mut written: Vec<Run<'_>> = batch
            .par_iter()
            .map(|run| {
                let out = write_run(store, dest, run, interrupt)?;
                let n = run.iter().map(|k| k.0.size).sum();
                bytes.fetch_add(n, Ordering::Relaxed);
                progress.inc(n);
                Ok(out)
            })
            .collect::<Result<_>>()?;
        if !SYNC_EACH_FILE {
            dest.sync()?;
        }
        written
            .par_iter_mut()
            .try_for_each(|run| run.publish(dest))?;
    }
    progress.finish();
    Ok(bytes.into_inner())
}

/// An entry seen as its key, for grouping by parent directory.
struct EntryKey<'a>(&'a Entry);

impl AsRef<str> for EntryKey<'_> {
    fn as_ref(&self) -> &str {
        self.0.logical_key.as_str()
    }
}

/// Groups runs into batches bounded by [`BATCH_FILES`], [`BATCH_BYTES`] and [`BATCH_RUNS`].
fn batches<'r, 'a>(runs: &'r [&'a [EntryKey<'a>]]) -> Vec<&'r [&'a [EntryKey<'a>]]> {
    let mut out = Vec::new();
    let (mut start, mut files, mut bytes) = (0, 0, 0);
    for (i, run) in runs.iter().enumerate() {
        if i > start && (files >= BATCH_FILES || bytes >= BATCH_BYTES || i - start >= BATCH_RUNS) {
            out.push(&runs[start..i]);
            (start, files, bytes) = (i, 0, 0);
        }
        files += run.len();
        bytes += run.iter().map(|k| k.0.size).sum::<u64>();
    }
    if start < runs.len() {
        out.push(&runs[start..]);
    }
    out
}

/// Temp files written into one directory, not yet renamed. Dropping it removes those that
/// were not published, so a failed batch leaves nothing behind.
struct Run<'a> {
    dir: OwnedFd,
    /// (temp name, target name) of each file still to rename.
    temps: Vec<(String, &'a str)>,
}

impl Run<'_> {
    fn publish(&mut self, dest: &Dest) -> Result<()> {
        while let Some((temp, target)) = self.temps.last() {
            rustix::fs::renameat(&self.dir, temp.as_str(), &self.dir, *target)
                .map_err(|e| Error::io(dest.path().join(target), e.into()))?;
            self.temps.pop();
        }
        Ok(())
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        for (temp, _) in &self.temps {
            let _ = rustix::fs::unlinkat(&self.dir, temp.as_str(), rustix::fs::AtFlags::empty());
        }
    }
}

fn write_run<'a>(
    store: &Store,
    dest: &Dest,
    run: &'a [EntryKey<'a>],
    interrupt: &AtomicBool,
) -> Result<Run<'a>> {
    let first = run[0].0.logical_key.as_str();
    let dir = dest
        .open_dir(first, split_key(first).0, true)?
        .ok_or_else(|| Error::io(dest.path(), std::io::ErrorKind::NotFound.into()))?;
    dest.note_device(&dir)?;
    let mut out = Run {
        dir,
        temps: Vec::with_capacity(run.len()),
    };
    for EntryKey(e) in run {
        if interrupt.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let (file, temp) = dest.create_temp(out.dir.as_fd())?;
        let name = split_key(e.logical_key.as_str()).1;
        out.temps.push((temp, name));
        let path = dest.path().join(e.logical_key.as_str());
        copy_verified(store, &e.hash, e.size, file, &path)?;
    }
    Ok(out)
}

/// Copies object `id` into `file`, hashing the bytes on the way: a corrupt stored object is
/// refused, never written out.
fn copy_verified(
    store: &Store,
    id: &ObjectId,
    size: u64,
    mut file: fs::File,
    path: &std::path::Path,
) -> Result<()> {
    let mut sink = VerifyingWriter {
        inner: &mut file,
        verifier: Verifier::new(id, size),
    };
    match store.loose_path(id) {
        Some(src) => {
            let mut f = fs::File::open(&src).map_err(|e| Error::io(&src, e))?;
            std::io::copy(&mut f, &mut sink).map_err(|e| Error::io(path, e))?
        }
        None => {
            let mut reader = store.open_object(id)?;
            std::io::copy(&mut reader, &mut sink).map_err(|e| Error::io(path, e))?
        }
    };
    if let Err(e) = sink.verifier.finish() {
        return Err(Error::CorruptObject {
            id: *id,
            detail: e.to_string(),
        });
    }
    file.flush().map_err(|e| Error::io(path, e))?;
    if SYNC_EACH_FILE {
        file.sync_data().map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

struct VerifyingWriter<'a> {
    inner: &'a mut fs::File,
    verifier: Verifier,
}

impl std::io::Write for VerifyingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.verifier.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
