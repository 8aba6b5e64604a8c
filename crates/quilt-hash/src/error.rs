use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported hash type {0:?}: quilt reads \"sha2-256-chunked\" and \"SHA256\"")]
    UnsupportedHashType(String),
    #[error("invalid {kind} hash value {value:?}")]
    BadHashValue { kind: &'static str, value: String },
    #[error("invalid top hash {0:?}: expected 64 lowercase hex characters")]
    BadTopHash(String),
    #[error("could not read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
