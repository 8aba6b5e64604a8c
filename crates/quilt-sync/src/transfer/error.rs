use quilt_hash::{ObjectId, TopHash};

/// Errors of push, fetch and the registry operations.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Remote(crate::Error),
    #[error(transparent)]
    Store(#[from] quilt_store::Error),
    #[error("manifest {key} on {remote} is malformed: {source}")]
    BadManifest {
        remote: String,
        key: String,
        #[source]
        source: Box<quilt_hash::ManifestError>,
    },
    #[error("manifest {key} on {remote} hashes to {actual}, not to the top hash it is named by; the remote copy is corrupt, nothing was stored")]
    ManifestMismatch {
        remote: String,
        key: String,
        actual: TopHash,
    },
    #[error("object {key} from {remote} is corrupt: expected {expected}, got {actual} ({size} bytes); it was not stored. Re-push it from a good copy")]
    CorruptObject {
        remote: String,
        key: String,
        expected: ObjectId,
        actual: String,
        size: u64,
    },
    #[error("stored object {id} in {} is damaged: {detail}. It was not uploaded to {remote}, and the push stopped before writing any manifest or pointer. Run `quilt verify` to see which versions it breaks, then rebuild them or fetch them again", path.display())]
    LocalCorrupt {
        id: ObjectId,
        path: std::path::PathBuf,
        detail: String,
        remote: String,
    },
    #[error("entry {logical_key} names the local file {physical_key}, but the manifest came from {remote}, not from a directory on this machine, so local files are not read for it; pass --allow-local-keys if you trust this manifest to read local files")]
    LocalKeyRefused {
        logical_key: String,
        physical_key: String,
        remote: String,
    },
    #[error("entry {logical_key}: could not read it from the local file {physical_key}: {reason}")]
    LocalKey {
        logical_key: String,
        physical_key: String,
        reason: String,
    },
    #[error("pointer {key} on {remote} does not hold a top hash (64 hex characters)")]
    BadPointer { remote: String, key: String },
    #[error("{what} not found on {remote}")]
    NotFound { remote: String, what: String },
    #[error("top-hash prefix {prefix} is ambiguous on {remote}; it matches:\n{candidates}")]
    Ambiguous {
        remote: String,
        prefix: String,
        candidates: String,
    },
    #[error("the latest version of {name} on {remote} is {remote_latest}, which your version {ours} was not built on, so pushing it would undo that version; latest was left alone (your version was uploaded and has a timestamped pointer). To merge: `quilt pull {name}` (commit or set aside local edits first), put your changes back into the directory, `quilt build {name}` and push again; or pass --force to replace latest anyway")]
    LatestMoved {
        remote: String,
        name: String,
        remote_latest: TopHash,
        ours: TopHash,
    },
    #[error("{url}: {reason}")]
    Unsupported { url: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted")]
    Interrupted,
}

impl From<crate::Error> for TransferError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Interrupted => TransferError::Interrupted,
            other => TransferError::Remote(other),
        }
    }
}

impl TransferError {
    /// Whether retrying the whole operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TransferError::Remote(e) if e.is_transient())
    }
}

pub type TResult<T> = std::result::Result<T, TransferError>;
