//! Hashing bytes that arrive in order, under any of the hash types a manifest may name.

use sha2::{Digest, Sha256};

use super::chunked::ChunkedHasher;
use crate::{Error, HashType, ObjectId};

/// CRC-64/NVME as S3 and quilt3 (through awscrt) compute it: polynomial 0xad93d23594c93659,
/// reflected, initial value and final xor all ones. Slice-by-16 tables: about as fast as
/// sha256 on one core, and CRC64NVME entries are rare.
static CRC64NVME: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_NVME);

/// The `CRC64NVME` id of `data`.
pub(crate) fn crc64nvme(data: &[u8]) -> ObjectId {
    ObjectId::crc64nvme(CRC64NVME.checksum(data))
}

/// The hash of `data` under the given algorithm.
pub fn hash_bytes_as(kind: HashType, data: &[u8]) -> ObjectId {
    match kind {
        HashType::Sha2_256Chunked => super::chunked::hash_bytes(data),
        HashType::Sha256 => ObjectId::new(HashType::Sha256, Sha256::digest(data).into()),
        HashType::Crc64Nvme => crc64nvme(data),
        // The list of a file is named by the file's chunked hash.
        HashType::ChunkList => {
            ObjectId::new(HashType::ChunkList, super::chunked::hash_bytes(data).digest)
        }
        HashType::Blake3 => ObjectId::new(HashType::Blake3, *blake3::hash(data).as_bytes()),
    }
}

/// Hashes a content of known size fed in order, under the given hash type.
///
/// ```
/// use quilt_hash::{hash_bytes_as, HashType, StreamHasher};
/// for kind in [
///     HashType::Sha2_256Chunked,
///     HashType::Sha256,
///     HashType::Crc64Nvme,
///     HashType::ChunkList,
///     HashType::Blake3,
/// ] {
///     let mut h = StreamHasher::new(kind, 5);
///     h.update(b"he");
///     h.update(b"llo");
///     assert_eq!(h.finalize().unwrap(), hash_bytes_as(kind, b"hello"));
/// }
/// ```
#[derive(Clone)]
pub struct StreamHasher {
    state: State,
    size: u64,
    fed: u64,
}

#[derive(Clone)]
enum State {
    Chunked(ChunkedHasher),
    /// The chunked hash of the reassembled file, named as its chunk list.
    List(ChunkedHasher),
    Blake3(Box<blake3::Hasher>),
    Sha256(Sha256),
    Crc(crc::Digest<'static, u64, crc::Table<16>>),
}

impl StreamHasher {
    /// Expects `size` bytes (the chunked type needs the size up front for its chunk size).
    pub fn new(kind: HashType, size: u64) -> Self {
        let state = match kind {
            HashType::Sha2_256Chunked => State::Chunked(ChunkedHasher::new(size)),
            HashType::Sha256 => State::Sha256(Sha256::new()),
            HashType::Crc64Nvme => State::Crc(CRC64NVME.digest()),
            HashType::ChunkList => State::List(ChunkedHasher::new(size)),
            HashType::Blake3 => State::Blake3(Box::default()),
        };
        StreamHasher {
            state,
            size,
            fed: 0,
        }
    }

    /// Feeds the next bytes of the data.
    pub fn update(&mut self, data: &[u8]) {
        self.fed += data.len() as u64;
        match &mut self.state {
            State::Chunked(h) | State::List(h) => h.update(data),
            State::Blake3(h) => {
                h.update(data);
            }
            State::Sha256(h) => h.update(data),
            State::Crc(h) => h.update(data),
        }
    }

    /// The id, or [`Error::SizeMismatch`] if the bytes fed do not add up to the size given.
    pub fn finalize(self) -> Result<ObjectId, Error> {
        if self.fed != self.size {
            return Err(Error::SizeMismatch {
                expected: self.size,
                actual: self.fed,
            });
        }
        Ok(match self.state {
            State::Chunked(h) => h.finalize()?,
            State::List(h) => ObjectId::new(HashType::ChunkList, h.finalize()?.digest),
            State::Blake3(h) => ObjectId::new(HashType::Blake3, *h.finalize().as_bytes()),
            State::Sha256(h) => ObjectId::new(HashType::Sha256, h.finalize().into()),
            State::Crc(h) => ObjectId::crc64nvme(h.finalize()),
        })
    }
}

impl std::fmt::Debug for StreamHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.state {
            State::Chunked(_) => HashType::Sha2_256Chunked,
            State::List(_) => HashType::ChunkList,
            State::Blake3(_) => HashType::Blake3,
            State::Sha256(_) => HashType::Sha256,
            State::Crc(_) => HashType::Crc64Nvme,
        };
        f.debug_struct("StreamHasher")
            .field("kind", &kind)
            .field("size", &self.size)
            .field("fed", &self.fed)
            .finish_non_exhaustive()
    }
}
