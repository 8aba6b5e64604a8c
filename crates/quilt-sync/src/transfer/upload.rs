//! Sending one stored object, verified on the way out.
//!
//! Local bit rot must not reach a remote: once there, the inventory records the object as
//! present and no later push would replace it. So every object is hashed as it is read for
//! upload and refused on a mismatch before a byte of it is sent. Objects of up to one part
//! are read once into memory (packed ones straight from the pack's map), checked and sent.
//! Larger loose objects are hashed part by part (in parallel, positional reads), and the part
//! digests go along with the upload: the remote refuses any part whose bytes differ from the
//! ones hashed (S3 checks `x-amz-checksum-sha256` per part, the directory backend hashes
//! while copying), so what arrives is exactly what was verified.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use quilt_hash::{chunk_size, hash_bytes_as, HashType, ObjectId, StreamHasher};
use quilt_store::Store;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::error::{TResult, TransferError};
use crate::{Remote, Stored};

/// Uploads object `id` of `size` bytes from the store to `key` on `remote`, refusing it if
/// the stored bytes are not that object.
pub(crate) fn upload_verified(
    store: &Store,
    remote: &dyn Remote,
    key: &str,
    id: &ObjectId,
    size: u64,
) -> TResult<Stored> {
    let part = chunk_size(size);
    if let Some(path) = store.loose_path(id).filter(|_| size >= part) {
        let digests = hash_parts(store, remote, &path, id, size, part)?;
        return Ok(remote.put_file(key, &path, part, Some(&digests))?);
    }
    // A large file stored as chunks goes out as one file too: reassembled into a temp file
    // (never whole in memory), which is hashed like a loose object before it is sent.
    if size >= part && store.chunk_list(id)?.is_some() {
        // The temp file is in the store's `tmp/`, cleared by a writer that finds the store
        // unused: hold the store while it exists.
        let _hold = store.hold_for_write()?;
        let tmp = store.reassemble_to_temp(id)?;
        let digests = match hash_parts(store, remote, tmp.path(), id, size, part) {
            Ok(digests) => digests,
            // Name the chunk at fault and the pack that holds it.
            Err(TransferError::LocalCorrupt { detail, .. }) => {
                let (path, detail) = match store.damaged_chunk(id)? {
                    Some((chunk, pack)) => {
                        (pack, format!("its chunk {chunk} is damaged; {detail}"))
                    }
                    None => (store.object_file(id)?.unwrap_or_default(), detail),
                };
                return Err(TransferError::LocalCorrupt {
                    id: *id,
                    path,
                    detail,
                    remote: remote.describe(),
                });
            }
            Err(e) => return Err(e),
        };
        return Ok(remote.put_file(key, tmp.path(), part, Some(&digests))?);
    }
    let mut reader = store.open_object(id)?;
    if reader.len() != size {
        let detail = format!(
            "it is {} bytes long, the manifest says {size}",
            reader.len()
        );
        return Err(damaged(store, remote, id, detail));
    }
    let owned;
    let data = match reader.as_slice() {
        Some(slice) => slice,
        None => {
            let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            reader.read_to_end(&mut buf).map_err(|source| {
                let path = store.object_file(id).ok().flatten().unwrap_or_default();
                TransferError::Io { path, source }
            })?;
            owned = buf;
            &owned
        }
    };
    let actual = hash_bytes_as(id.kind, data);
    if actual != *id || data.len() as u64 != size {
        return Err(damaged(store, remote, id, format!("it hashes to {actual}")));
    }
    Ok(remote.put(key, data)?)
}

/// The sha256 of each `part`-sized piece of the loose file, checked against `id`.
fn hash_parts(
    store: &Store,
    remote: &dyn Remote,
    path: &Path,
    id: &ObjectId,
    size: u64,
    part: u64,
) -> TResult<Vec<[u8; 32]>> {
    let io_err = |source| TransferError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if len != size {
        let detail = format!("it is {len} bytes long, the manifest says {size}");
        return Err(damaged(store, remote, id, detail));
    }
    let count = size.div_ceil(part);
    let span = |i: u64| (i * part, part.min(size - i * part));
    let (digests, actual) = match id.kind {
        HashType::Sha2_256Chunked => {
            let digests = (0..count)
                .into_par_iter()
                .map(|i| {
                    let (offset, n) = span(i);
                    digest_range(&file, offset, n, None)
                })
                .collect::<std::io::Result<Vec<[u8; 32]>>>()
                .map_err(io_err)?;
            let mut outer = Sha256::new();
            digests.iter().for_each(|d| outer.update(d));
            let actual = ObjectId::new(HashType::Sha2_256Chunked, outer.finalize().into());
            (digests, actual)
        }
        // A whole-content hash (plain SHA-256, CRC64NVME) spans the parts: one pass in order
        // feeds it and each part's digest. (Manifests never name the store-internal kinds.)
        HashType::Sha256 | HashType::Crc64Nvme | HashType::ChunkList | HashType::Blake3 => {
            let mut whole = StreamHasher::new(id.kind, size);
            let digests = (0..count)
                .map(|i| {
                    let (offset, n) = span(i);
                    digest_range(&file, offset, n, Some(&mut whole))
                })
                .collect::<std::io::Result<Vec<[u8; 32]>>>()
                .map_err(io_err)?;
            let actual = whole
                .finalize()
                .map_err(|e| io_err(std::io::Error::other(e)))?;
            (digests, actual)
        }
    };
    if actual != *id {
        return Err(damaged(store, remote, id, format!("it hashes to {actual}")));
    }
    Ok(digests)
}

/// sha256 of `len` bytes at `offset`, also fed to `also` when given.
fn digest_range(
    file: &File,
    offset: u64,
    len: u64,
    mut also: Option<&mut StreamHasher>,
) -> std::io::Result<[u8; 32]> {
    const BLOCK: u64 = 1 << 20;
    let mut buf = vec![0u8; BLOCK.min(len) as usize];
    let mut h = Sha256::new();
    let mut done = 0;
    while done < len {
        let n = BLOCK.min(len - done) as usize;
        file.read_exact_at(&mut buf[..n], offset + done)?;
        h.update(&buf[..n]);
        if let Some(a) = also.as_deref_mut() {
            a.update(&buf[..n]);
        }
        done += n as u64;
    }
    Ok(h.finalize().into())
}

/// A local object that is not what its id says: the error names the object, the file that
/// holds it (its pack or loose file) and the remote it was meant for.
pub(crate) fn damaged(
    store: &Store,
    remote: &dyn Remote,
    id: &ObjectId,
    detail: String,
) -> TransferError {
    TransferError::LocalCorrupt {
        id: *id,
        path: store
            .object_file(id)
            .ok()
            .flatten()
            .unwrap_or_else(|| store.root().to_owned()),
        detail,
        remote: remote.describe(),
    }
}
