use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::chunked::{chunk_size, combine};
use crate::progress::{NoProgress, Progress};
use crate::ObjectId;

/// How much of a chunk is read per system call. Small enough that the block is still in cache
/// when sha256 reads it back, large enough that syscall cost is negligible.
const READ_BLOCK: usize = 1024 * 1024;

thread_local! {
    // One read buffer per thread, reused across chunks and files so hashing many files does
    // not allocate (or zero) a buffer per chunk.
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The `sha2-256-chunked` hash of the first `size` bytes of `file`.
///
/// Chunks are read with positional reads and hashed in parallel on the rayon pool, so one large
/// file uses every core and the file offset is never touched. Fails with
/// [`io::ErrorKind::UnexpectedEof`] if the file is shorter than `size`, which callers report as
/// the file changing while it was hashed.
pub fn hash_file(file: &File, size: u64) -> io::Result<ObjectId> {
    hash_file_with_progress(file, size, &NoProgress)
}

/// [`hash_file`], reporting each block read to `progress` in bytes.
pub fn hash_file_with_progress(
    file: &File,
    size: u64,
    progress: &dyn Progress,
) -> io::Result<ObjectId> {
    if size == 0 {
        return Ok(combine(&[]));
    }
    let chunk = chunk_size(size);
    let count = size.div_ceil(chunk);
    let span = |i: u64| (i * chunk, chunk.min(size - i * chunk));
    if count == 1 {
        let (offset, len) = span(0);
        return Ok(combine(&[hash_range(file, offset, len, size, progress)?]));
    }
    let digests = (0..count)
        .into_par_iter()
        .map(|i| {
            let (offset, len) = span(i);
            hash_range(file, offset, len, size, progress)
        })
        .collect::<io::Result<Vec<[u8; 32]>>>()?;
    Ok(combine(&digests))
}

/// sha256 of `len` bytes at `offset`.
fn hash_range(
    file: &File,
    offset: u64,
    len: u64,
    size: u64,
    progress: &dyn Progress,
) -> io::Result<[u8; 32]> {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let block = usize::try_from(len).map_or(READ_BLOCK, |len| len.min(READ_BLOCK));
        if buf.len() < block {
            buf.resize(block, 0);
        }
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        while done < len {
            let n = usize::try_from(len - done).map_or(block, |rest| rest.min(block));
            file.read_exact_at(&mut buf[..n], offset + done)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "file ended before offset {} of the expected {size} bytes",
                                offset + done + n as u64
                            ),
                        )
                    } else {
                        e
                    }
                })?;
            hasher.update(&buf[..n]);
            progress.inc(n as u64);
            done += n as u64;
        }
        Ok(hasher.finalize().into())
    })
}
