use sha2::{Digest, Sha256};

use super::chunked::ChunkedHasher;
use crate::{Error, HashType, ObjectId};

/// Checks streamed bytes against an expected id of either hash type.
///
/// ```
/// use quilt_hash::{hash_bytes, Verifier};
/// let id = hash_bytes(b"hello");
/// let mut v = Verifier::new(&id, 5);
/// v.update(b"hello");
/// assert!(v.finish().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    expected: ObjectId,
    state: State,
}

#[derive(Clone)]
enum State {
    Chunked(ChunkedHasher),
    Plain { hasher: Sha256, size: u64, fed: u64 },
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Chunked(h) => h.fmt(f),
            State::Plain { size, fed, .. } => f
                .debug_struct("Plain")
                .field("size", size)
                .field("fed", fed)
                .finish_non_exhaustive(),
        }
    }
}

impl Verifier {
    /// Expects `size` bytes hashing to `expected`.
    pub fn new(expected: &ObjectId, size: u64) -> Self {
        let state = match expected.kind {
            HashType::Sha2_256Chunked => State::Chunked(ChunkedHasher::new(size)),
            HashType::Sha256 => State::Plain {
                hasher: Sha256::new(),
                size,
                fed: 0,
            },
        };
        Verifier {
            expected: *expected,
            state,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Chunked(h) => h.update(data),
            State::Plain { hasher, fed, .. } => {
                hasher.update(data);
                *fed += data.len() as u64;
            }
        }
    }

    /// `Ok` if exactly the expected bytes were fed; otherwise [`Error::SizeMismatch`] or
    /// [`Error::HashMismatch`].
    pub fn finish(self) -> Result<(), Error> {
        let actual = match self.state {
            State::Chunked(h) => h.finalize()?,
            State::Plain { hasher, size, fed } => {
                if fed != size {
                    return Err(Error::SizeMismatch {
                        expected: size,
                        actual: fed,
                    });
                }
                ObjectId::new(HashType::Sha256, hasher.finalize().into())
            }
        };
        if actual == self.expected {
            Ok(())
        } else {
            Err(Error::HashMismatch {
                expected: self.expected,
                actual,
            })
        }
    }
}
