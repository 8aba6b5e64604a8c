use std::path::PathBuf;

use crate::ObjectId;

/// Everything that can go wrong in this crate outside manifest parsing
/// (which has its own [`ManifestError`](crate::ManifestError) carrying line numbers).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A manifest names a hash type quilt cannot compute; holds the type as written.
    #[error("unsupported hash type {0:?}: quilt reads \"sha2-256-chunked\", \"SHA256\" and \"CRC64NVME\"")]
    UnsupportedHashType(String),
    #[error("invalid {kind} hash value {value:?}")]
    /// A hash value that does not decode to a digest of its type.
    BadHashValue {
        /// The hash type the value was read as.
        kind: &'static str,
        /// The value as written.
        value: String,
    },
    /// Not a top hash; holds the text as given.
    #[error("invalid top hash {0:?}: expected 64 lowercase hex characters")]
    BadTopHash(String),
    #[error("invalid logical key {key:?}: {reason}")]
    /// A logical key quilt refuses (empty, absolute, with `.` or `..` components, ...).
    BadLogicalKey {
        /// The key as given.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Not a `NAMESPACE/NAME` package name; holds the text as given.
    #[error(
        "invalid package name {0:?}: expected NAMESPACE/NAME using letters, digits, '_' or '-'"
    )]
    BadPackageName(String),
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    /// Verified data is not as long as its entry says.
    SizeMismatch {
        /// The size the entry records.
        expected: u64,
        /// The number of bytes read.
        actual: u64,
    },
    #[error("hash mismatch: expected {expected}, got {actual}")]
    /// Verified data does not hash to its entry's hash.
    HashMismatch {
        /// The hash the entry records.
        expected: ObjectId,
        /// The hash of the bytes read.
        actual: ObjectId,
    },
    #[error("could not read {path}")]
    /// A file could not be read while hashing it.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
