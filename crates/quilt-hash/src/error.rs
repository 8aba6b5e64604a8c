use std::path::PathBuf;

use crate::ObjectId;

/// Everything that can go wrong in this crate outside manifest parsing
/// (which has its own [`ManifestError`](crate::ManifestError) carrying line numbers).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported hash type {0:?}: quilt reads \"sha2-256-chunked\", \"SHA256\" and \"CRC64NVME\"")]
    UnsupportedHashType(String),
    #[error("invalid {kind} hash value {value:?}")]
    BadHashValue { kind: &'static str, value: String },
    #[error("invalid top hash {0:?}: expected 64 lowercase hex characters")]
    BadTopHash(String),
    #[error("invalid logical key {key:?}: {reason}")]
    BadLogicalKey { key: String, reason: &'static str },
    #[error(
        "invalid package name {0:?}: expected NAMESPACE/NAME using letters, digits, '_' or '-'"
    )]
    BadPackageName(String),
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("hash mismatch: expected {expected}, got {actual}")]
    HashMismatch {
        expected: ObjectId,
        actual: ObjectId,
    },
    #[error("could not read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
