//! Storing a large file loose in one read: a reflink of the source where the filesystem has
//! them (then only the clone is read, to hash it), else a copy that hashes what it writes.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use quilt_hash::{chunk_size, hash_file, ChunkedHasher, ObjectId};

use crate::layout::persist;
use crate::{Error, ObjectWriter, Result};

impl ObjectWriter<'_> {
    /// Stores the first `size` bytes of `file` as a loose object, reading them once, and
    /// returns its `sha2-256-chunked` id and whether it was new. With a reflink the clone
    /// is hashed (its blocks are shared with the source, so nothing is copied); without,
    /// each block read is hashed and written at once.
    ///
    /// `unchanged` is asked after the data is read whether the source is still the file
    /// that was meant (its stat did not move); if not, or if it ended early, nothing is
    /// stored and `None` is returned, for the caller to try again.
    pub fn put_file_once<E>(
        &self,
        file: &File,
        path: &Path,
        size: u64,
        unchanged: impl FnOnce() -> std::result::Result<bool, E>,
    ) -> std::result::Result<Option<(ObjectId, bool)>, E>
    where
        E: From<Error>,
    {
        let mut tmp = self.store.layout.temp_file()?;
        let id = match clone_and_hash(file, tmp.as_file(), size) {
            Some(id) => id,
            None => match copy_and_hash(file, path, &mut tmp, size)? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        if !unchanged()? {
            return Ok(None);
        }
        let dest = self.store.layout.loose_path(&id.digest);
        if dest.is_file() || self.store.contains_cached(&id) {
            return Ok(Some((id, self.dup()?)));
        }
        persist(tmp, &dest)?;
        Ok(Some((id, self.stored(size, true)?)))
    }
}

/// Reflinks `src` into `dst` and hashes the clone; `None` where the filesystem cannot
/// (then the caller copies), or when the clone is not `size` bytes long.
fn clone_and_hash(src: &File, dst: &File, size: u64) -> Option<ObjectId> {
    reflink_copy::reflink_file(src, dst).ok()?;
    let len = dst.metadata().ok()?.len();
    if len != size {
        // Restore the empty temp file for the copy that follows.
        dst.set_len(0).ok()?;
        return None;
    }
    hash_file(dst, size).ok()
}

/// Copies the first `size` bytes of `src` to `dst`, hashing each block while it is being
/// written. `None` when the source ends early.
fn copy_and_hash(
    src: &File,
    path: &Path,
    dst: &mut tempfile::NamedTempFile,
    size: u64,
) -> Result<Option<ObjectId>> {
    let dst_path = dst.path().to_owned();
    let dst = dst.as_file_mut();
    let block = usize::try_from(chunk_size(size)).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; block.min(usize::try_from(size).unwrap_or(usize::MAX))];
    let mut hasher = ChunkedHasher::new(size);
    let mut offset = 0u64;
    while offset < size {
        let want = usize::try_from(size - offset).map_or(block, |left| left.min(block));
        let data = &mut buf[..want];
        match src.read_exact_at(data, offset) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(Error::io("read", path, e)),
        }
        let data = &buf[..want];
        let (_, written) = rayon::join(|| hasher.update(data), || dst.write_all(data));
        written.map_err(|e| Error::io_write("write", &dst_path, e))?;
        offset += want as u64;
    }
    let id = hasher
        .finalize()
        .map_err(|e| Error::io("hash", path, std::io::Error::other(e.to_string())))?;
    Ok(Some(id))
}
