//! Adding objects. Small objects are appended to a pack shared by all threads of one writer;
//! large ones become loose files. Either way the data reaches its final name only after an
//! fsync, and an object that is already present is not written again.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use quilt_hash::{HashType, ObjectId};

use crate::hashing::StreamCheck;
use crate::layout::persist;
use crate::lock::LockGuard;
use crate::pack::write::PackWriter;
use crate::{Error, Result, Store};

/// What a writer stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Objects newly stored (packed + loose).
    pub objects_written: u64,
    /// Bytes of object data newly stored.
    pub bytes_written: u64,
    /// Of `objects_written`, how many went to loose files.
    pub loose_written: u64,
    /// Calls that found the object already present and wrote nothing.
    pub duplicates: u64,
    /// Index files of the packs this writer published.
    pub packs: Vec<PathBuf>,
}

/// The objects a writer has packed, by (type code, digest). Kept after a pack is published
/// too, because another thread may have checked the store before the publish and be about to
/// append the same object.
type Pending = HashSet<(u8, [u8; 32])>;

/// Adds objects to a [`Store`]. All methods take `&self`, so rayon workers can share one
/// writer. Each worker thread appends to a pack of its own, so threads never wait for each
/// other's writes. Call [`ObjectWriter::commit`] to publish the open packs; dropping the
/// writer discards them (loose objects and packs already rolled over stay, as they are
/// complete).
pub struct ObjectWriter<'a> {
    pub(crate) store: &'a Store,
    /// One open pack per worker thread (by rayon thread index; other threads share slot 0).
    shards: Vec<Mutex<Option<PackWriter>>>,
    pending: Mutex<Pending>,
    published: Mutex<Vec<PathBuf>>,
    objects: AtomicU64,
    bytes: AtomicU64,
    loose: AtomicU64,
    duplicates: AtomicU64,
    /// `None` for a writer of gc's, which holds the store exclusively already.
    _lock: Option<LockGuard>,
}

impl std::fmt::Debug for ObjectWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("root", &self.store.root())
            .finish_non_exhaustive()
    }
}

/// Size of the copy buffer for large objects.
const COPY_BUF: usize = 1 << 20;

impl Store {
    /// Starts writing objects. The writer holds a shared lock, which keeps gc out until it
    /// is committed or dropped.
    pub fn writer(&self) -> Result<ObjectWriter<'_>> {
        ObjectWriter::new(self)
    }
}

impl<'a> ObjectWriter<'a> {
    pub(crate) fn new(store: &'a Store) -> Result<ObjectWriter<'a>> {
        // If nobody else is using the store, this is the moment to clear what a crash left
        // behind; with others around, their temp files may be live, so leave them.
        if let Some(excl) = store.try_lock_exclusive()? {
            store.remove_crash_debris(false)?;
            drop(excl);
        }
        let lock = store.lock_shared()?;
        Ok(ObjectWriter::with_lock(store, Some(lock)))
    }

    /// A writer for a caller that holds the store's lock exclusively (gc), which a shared
    /// lock taken here would wait for forever.
    pub(crate) fn under_exclusive(store: &'a Store) -> ObjectWriter<'a> {
        ObjectWriter::with_lock(store, None)
    }

    fn with_lock(store: &'a Store, lock: Option<LockGuard>) -> ObjectWriter<'a> {
        let shards = (0..rayon::current_num_threads().max(1))
            .map(|_| Mutex::new(None))
            .collect();
        ObjectWriter {
            store,
            shards,
            pending: Mutex::new(Pending::new()),
            published: Mutex::new(Vec::new()),
            objects: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            loose: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            _lock: lock,
        }
    }

    fn is_small(&self, size: u64) -> bool {
        size < self.store.options.small_object_limit
    }

    /// Whether an object of this size goes into a pack (see [`ObjectWriter::put_small_with`]).
    pub fn packs(&self, size: u64) -> bool {
        self.is_small(size)
    }

    pub(crate) fn dup(&self) -> Result<bool> {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
        Ok(false)
    }

    pub(crate) fn stored(&self, size: u64, loose: bool) -> Result<bool> {
        self.objects.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size, Ordering::Relaxed);
        if loose {
            self.loose.fetch_add(1, Ordering::Relaxed);
        }
        Ok(true)
    }

    fn shard(&self) -> std::sync::MutexGuard<'_, Option<PackWriter>> {
        let i = rayon::current_thread_index().unwrap_or(0) % self.shards.len();
        lock(&self.shards[i])
    }

    /// Stores `data` under `id`; returns `true` if it was not there before. The caller has
    /// computed `id` from `data` (verify catches a caller that lied).
    pub fn put_bytes(&self, id: &ObjectId, data: &[u8]) -> Result<bool> {
        refuse_list(id)?;
        let size = data.len() as u64;
        if !self.is_small(size) {
            if self.store.layout.loose_path(&id.digest).is_file() {
                return self.dup();
            }
            let mut tmp = self.store.layout.temp_file()?;
            tmp.write_all(data)
                .map_err(|e| Error::io_write("write", tmp.path(), e))?;
            persist(tmp, &self.store.layout.loose_path(&id.digest))?;
            return self.stored(size, true);
        }
        // A known duplicate opens no pack at all.
        if self.store.find_packed_cached(id).is_some() {
            return self.dup();
        }
        let fill = |buf: &mut Vec<u8>| -> Result<Option<ObjectId>> {
            buf.extend_from_slice(data);
            Ok(Some(*id))
        };
        let done = self.put_small_with(size, fill)?;
        Ok(done.is_some_and(|(_, new)| new))
    }

    /// Stores a small object (at most `max_len` bytes, which must be under the store's
    /// small-object limit) whose bytes `fill` appends to the buffer it is given, straight into this thread's pack:
    /// no copy through the caller's memory. `fill` returns the content's id, or `None` when it
    /// could not produce the content (nothing is stored). Returns the id and whether the
    /// object was new.
    pub fn put_small_with<E>(
        &self,
        max_len: u64,
        fill: impl FnOnce(&mut Vec<u8>) -> std::result::Result<Option<ObjectId>, E>,
    ) -> std::result::Result<Option<(ObjectId, bool)>, E>
    where
        E: From<Error>,
    {
        if !self.is_small(max_len) {
            return Err(Error::NotSmall {
                size: max_len,
                limit: self.store.options.small_object_limit,
            }
            .into());
        }
        self.put_packed_with(max_len, fill)
    }

    /// [`ObjectWriter::put_small_with`] without the size limit: for chunk lists, which are
    /// always packed (a list of a huge file may pass the small-object limit).
    pub(crate) fn put_packed_with<E>(
        &self,
        max_len: u64,
        fill: impl FnOnce(&mut Vec<u8>) -> std::result::Result<Option<ObjectId>, E>,
    ) -> std::result::Result<Option<(ObjectId, bool)>, E>
    where
        E: From<Error>,
    {
        let mut shard = self.shard();
        let w = match &mut *shard {
            Some(w) => w,
            none => none.insert(PackWriter::new(&self.store.layout)?),
        };
        let mut claimed = None;
        let done = w.append_with(max_len as usize, fill, |id| {
            let key = (id.kind.code(), id.digest);
            let new =
                self.store.find_packed_cached(id).is_none() && lock(&self.pending).insert(key);
            if new {
                claimed = Some(key);
            }
            new
        })?;
        let full = w.len() >= self.store.options.pack_size_limit;
        if full {
            if let Err(e) = self.publish(shard.take()) {
                // The pack with this object was lost: a later attempt must not take it for a
                // duplicate.
                if let Some(key) = claimed {
                    lock(&self.pending).remove(&key);
                }
                return Err(e.into());
            }
        }
        match done {
            Some((id, len, true)) => {
                self.stored(len, false)?;
                Ok(Some((id, true)))
            }
            Some((id, _, false)) => {
                self.dup()?;
                Ok(Some((id, false)))
            }
            None => Ok(None),
        }
    }

    /// Finishes a pack and makes its objects visible through the store.
    fn publish(&self, pack: Option<PackWriter>) -> Result<()> {
        let Some(w) = pack else {
            return Ok(());
        };
        if let Some(done) = w.finish(&self.store.layout)? {
            lock(&self.published).push(done.idx_path);
        }
        self.store.refresh_packs()
    }

    /// Copies a file into the store, hashing it on the way; if the content no longer hashes
    /// to `id` (it changed since it was hashed) nothing is stored and
    /// [`Error::HashMismatch`] is returned.
    pub fn put_file(&self, id: &ObjectId, src: &Path, size: u64) -> Result<bool> {
        if self.store.contains_cached(id) {
            return self.dup();
        }
        let mut file = File::open(src).map_err(|e| Error::io("open", src, e))?;
        self.put_stream(id, size, &mut file, Some(src))
    }

    /// Stores what `r` yields (e.g. a download), refusing it unless it is exactly `size`
    /// bytes hashing to `expected`. On refusal nothing is stored.
    pub fn put_reader(&self, expected: &ObjectId, size: u64, r: &mut dyn Read) -> Result<bool> {
        if self.store.contains_cached(expected) {
            return self.dup();
        }
        self.put_stream(expected, size, r, None)
    }

    fn put_stream(
        &self,
        id: &ObjectId,
        size: u64,
        r: &mut dyn Read,
        src: Option<&Path>,
    ) -> Result<bool> {
        refuse_list(id)?;
        let read_err = |e| match src {
            Some(p) => Error::io("read", p, e),
            None => Error::io("read the data for", Path::new(&id.to_string()), e),
        };
        let mismatch = |actual: ObjectId| match src {
            Some(p) => Error::HashMismatch {
                path: p.to_owned(),
                expected: *id,
                actual,
            },
            None => Error::ContentMismatch {
                expected: *id,
                actual,
            },
        };
        // One byte more than promised is read so that a too-long source is noticed.
        let mut limited = r.take(size.saturating_add(1));
        let mut check = StreamCheck::new(id, size);
        if self.is_small(size) {
            let mut data = Vec::with_capacity(size as usize);
            limited.read_to_end(&mut data).map_err(read_err)?;
            check.update(&data);
            return match check.finish() {
                Ok(()) => self.put_bytes(id, &data),
                Err(Ok(actual)) => Err(mismatch(actual)),
                Err(Err(e)) => Err(e),
            };
        }
        let mut tmp = self.store.layout.temp_file()?;
        let mut buf = vec![0u8; COPY_BUF];
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            check.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| Error::io_write("write", tmp.path(), e))?;
        }
        match check.finish() {
            Ok(()) => {}
            Err(Ok(actual)) => return Err(mismatch(actual)),
            Err(Err(e)) => return Err(e),
        }
        let dest = self.store.layout.loose_path(&id.digest);
        if dest.is_file() {
            return self.dup();
        }
        persist(tmp, &dest)?;
        self.stored(size, true)
    }

    /// Publishes the open pack (fsync, index, renames, directory fsync) and reports what was
    /// written.
    pub fn commit(self) -> Result<WriteOutcome> {
        // Each open pack waits for its own fsync; publishing them side by side overlaps those.
        let packs: Vec<PackWriter> = self.shards.iter().filter_map(|s| lock(s).take()).collect();
        packs
            .into_par_iter()
            .try_for_each(|w| self.publish(Some(w)))?;
        Ok(WriteOutcome {
            objects_written: self.objects.load(Ordering::Relaxed),
            bytes_written: self.bytes.load(Ordering::Relaxed),
            loose_written: self.loose.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            packs: std::mem::take(&mut *lock(&self.published)),
        })
    }
}

/// Chunk lists are not content-addressed by their own bytes: only
/// [`ObjectWriter::put_chunk_list`] (which checks them) and the chunking writer store them.
fn refuse_list(id: &ObjectId) -> Result<()> {
    match id.kind {
        HashType::ChunkList => Err(Error::NotStorable { id: *id }),
        _ => Ok(()),
    }
}

/// Locks a mutex of the writer. A thread that panicked while holding it leaves at worst an
/// unpublished pack, which is never made visible, so the data behind it is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
