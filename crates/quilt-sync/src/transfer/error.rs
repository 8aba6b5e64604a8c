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
    #[error("version {version_id} of {location} does not exist (any more): the version was deleted, or the bucket's lifecycle rules expired it; re-push the package from a copy that has the data")]
    VersionGone {
        location: String,
        version_id: String,
        #[source]
        source: Box<crate::Error>,
    },
    #[error("entry {logical_key} ({hash}) could not be fetched from any of the {} places it may be:{}", tried.len(), list_tried(tried))]
    NoLocationWorked {
        logical_key: String,
        hash: ObjectId,
        tried: Vec<Tried>,
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

/// One place an object was looked for, and why it could not be used.
#[derive(Debug)]
pub struct Tried {
    /// The place as a user names it: `s3://bucket/key?versionId=…`, `file:///path`.
    pub location: String,
    pub error: TransferError,
}

fn list_tried(tried: &[Tried]) -> String {
    tried
        .iter()
        .map(|t| format!("\n  - {}: {}", t.location, t.error))
        .collect()
}

impl TransferError {
    /// Whether retrying the whole operation later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            TransferError::Remote(e) => e.is_transient(),
            TransferError::NoLocationWorked { .. } => {
                self.primary().is_some_and(TransferError::is_transient)
            }
            _ => false,
        }
    }

    /// Whether this says only that something is not there.
    pub fn is_not_found(&self) -> bool {
        match self {
            TransferError::Remote(e) => e.is_not_found(),
            TransferError::NotFound { .. } | TransferError::VersionGone { .. } => true,
            _ => false,
        }
    }

    /// For [`TransferError::NoLocationWorked`], the failure that says most about why: the
    /// first that is more than "not found" (a corrupt copy, refused credentials, a local key
    /// not allowed), else the first. `None` for other errors.
    pub fn primary(&self) -> Option<&TransferError> {
        let TransferError::NoLocationWorked { tried, .. } = self else {
            return None;
        };
        tried
            .iter()
            .map(|t| &t.error)
            .find(|e| !e.is_not_found())
            .or_else(|| tried.first().map(|t| &t.error))
    }
}

pub type TResult<T> = std::result::Result<T, TransferError>;
