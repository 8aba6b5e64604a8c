use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::{Error, HashType, ObjectId};

/// The chunk size for small and medium contents: 8 MiB, S3's default multipart part size.
pub const MIN_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// S3's maximum number of parts; chunks double in size until a content fits in this many.
pub const MAX_CHUNKS: u64 = 10_000;

/// The chunk size quilt3 uses for a content of `size` bytes.
///
/// It is part of the hash definition (it decides where chunk boundaries fall), so it must
/// match quilt3's `get_checksum_chunksize` exactly.
pub fn chunk_size(size: u64) -> u64 {
    let mut chunk = MIN_CHUNK_SIZE;
    while size.div_ceil(chunk) > MAX_CHUNKS {
        chunk *= 2;
    }
    chunk
}

/// `chunk_size` as a slice length. Only called for in-memory data, whose length fits `usize`,
/// so the chunk size (at most twice the length) fits too, except on 32-bit targets where
/// clamping still yields the right boundaries for data shorter than the clamp.
pub(crate) fn chunk_len(size: u64) -> usize {
    usize::try_from(chunk_size(size)).unwrap_or(usize::MAX)
}

/// Combines per-chunk digests into the chunked hash. Zero chunks (empty content) gives
/// sha256 of nothing, which is quilt3's value for an empty file.
pub(crate) fn combine(digests: &[[u8; 32]]) -> ObjectId {
    let mut outer = Sha256::new();
    for d in digests {
        outer.update(d);
    }
    ObjectId::new(HashType::Sha2_256Chunked, outer.finalize().into())
}

/// The `sha2-256-chunked` hash of `data`, hashing chunks in parallel when there are several.
pub fn hash_bytes(data: &[u8]) -> ObjectId {
    if data.is_empty() {
        return combine(&[]);
    }
    let chunk = chunk_len(data.len() as u64);
    if data.len() <= chunk {
        return combine(&[Sha256::digest(data).into()]);
    }
    let digests: Vec<[u8; 32]> = data
        .par_chunks(chunk)
        .map(|c| Sha256::digest(c).into())
        .collect();
    combine(&digests)
}

/// A `sha2-256-chunked` hasher for bytes that arrive in order, such as a download.
///
/// The total size must be known up front because it decides the chunk size.
///
/// ```
/// use quilt_hash::{hash_bytes, ChunkedHasher};
/// let mut h = ChunkedHasher::new(5);
/// h.update(b"he");
/// h.update(b"llo");
/// assert_eq!(h.finalize().unwrap(), hash_bytes(b"hello"));
/// ```
#[derive(Clone)]
pub struct ChunkedHasher {
    total: u64,
    chunk: u64,
    fed: u64,
    in_chunk: u64,
    current: Sha256,
    outer: Sha256,
}

impl ChunkedHasher {
    /// A hasher for a file of `total_size` bytes (the chunk size depends on it).
    pub fn new(total_size: u64) -> Self {
        ChunkedHasher {
            total: total_size,
            chunk: chunk_size(total_size),
            fed: 0,
            in_chunk: 0,
            current: Sha256::new(),
            outer: Sha256::new(),
        }
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.chunk - self.in_chunk;
            let take = usize::try_from(room).map_or(data.len(), |room| room.min(data.len()));
            self.current.update(&data[..take]);
            self.in_chunk += take as u64;
            self.fed += take as u64;
            data = &data[take..];
            if self.in_chunk == self.chunk {
                let digest = self.current.finalize_reset();
                self.outer.update(digest);
                self.in_chunk = 0;
            }
        }
    }

    /// How many bytes have been fed so far.
    pub fn bytes_fed(&self) -> u64 {
        self.fed
    }

    /// The hash, or [`Error::SizeMismatch`] if the bytes fed do not add up to the total size
    /// given to [`ChunkedHasher::new`] (the chunk boundaries would then be wrong).
    pub fn finalize(mut self) -> Result<ObjectId, Error> {
        if self.fed != self.total {
            return Err(Error::SizeMismatch {
                expected: self.total,
                actual: self.fed,
            });
        }
        if self.in_chunk > 0 {
            let digest = self.current.finalize();
            self.outer.update(digest);
        }
        Ok(ObjectId::new(
            HashType::Sha2_256Chunked,
            self.outer.finalize().into(),
        ))
    }
}

impl std::fmt::Debug for ChunkedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedHasher")
            .field("total", &self.total)
            .field("chunk", &self.chunk)
            .field("fed", &self.fed)
            .finish_non_exhaustive()
    }
}
