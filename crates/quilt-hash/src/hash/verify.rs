use super::stream::StreamHasher;
use crate::{Error, ObjectId};

/// Checks streamed bytes against an expected id of any hash type.
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
    hasher: StreamHasher,
}

impl Verifier {
    /// Expects `size` bytes hashing to `expected`.
    pub fn new(expected: &ObjectId, size: u64) -> Self {
        Verifier {
            expected: *expected,
            hasher: StreamHasher::new(expected.kind, size),
        }
    }

    /// Feeds the next bytes of the data being verified.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// `Ok` if exactly the expected bytes were fed; otherwise [`Error::SizeMismatch`] or
    /// [`Error::HashMismatch`].
    pub fn finish(self) -> Result<(), Error> {
        let actual = self.hasher.finalize()?;
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
