use quilt_hash::{ObjectId, TopHash};

/// Errors of push, fetch and the registry operations.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Talking to the remote failed.
    #[error(transparent)]
    Remote(crate::Error),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] quilt_store::Error),
    /// A manifest on the remote does not parse.
    #[error("manifest {key} on {remote} is malformed: {source}")]
    BadManifest {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The manifest's key.
        key: String,
        /// Why it does not parse.
        #[source]
        source: Box<quilt_hash::ManifestError>,
    },
    /// A manifest on the remote does not hash to the top hash it is named by.
    #[error("manifest {key} on {remote} hashes to {actual}, not to the top hash it is named by; the remote copy is corrupt, nothing was stored")]
    ManifestMismatch {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The manifest's key.
        key: String,
        /// The top hash of the bytes received.
        actual: TopHash,
    },
    /// An object downloaded does not hash to the hash the manifest records.
    #[error("object {key} from {remote} is corrupt: expected {expected}, got {actual} ({size} bytes); it was not stored. Re-push it from a good copy")]
    CorruptObject {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The object's key.
        key: String,
        /// The hash the manifest records.
        expected: ObjectId,
        /// What the bytes received hash to.
        actual: String,
        /// How many bytes were received.
        size: u64,
    },
    /// A stored object about to be uploaded is damaged.
    #[error("stored object {id} in {} is damaged: {detail}. It was not uploaded to {remote}, and the push stopped before writing any manifest or pointer. Run `quilt verify` to see which versions it breaks, then rebuild them or fetch them again", path.display())]
    LocalCorrupt {
        /// The object.
        id: ObjectId,
        /// Where the store keeps it.
        path: std::path::PathBuf,
        /// What is wrong with it.
        detail: String,
        /// The remote being pushed to.
        remote: String,
    },
    /// A manifest from a remote names a local file, which is not read without leave.
    #[error("entry {logical_key} names the local file {physical_key}, but the manifest came from {remote}, not from a directory on this machine, so local files are not read for it; pass --allow-local-keys if you trust this manifest to read local files")]
    LocalKeyRefused {
        /// The entry.
        logical_key: String,
        /// The local file the entry names, as written in the manifest.
        physical_key: String,
        /// The remote the manifest came from.
        remote: String,
    },
    /// A local file a manifest names could not be read.
    #[error("entry {logical_key}: could not read it from the local file {physical_key}: {reason}")]
    LocalKey {
        /// The entry.
        logical_key: String,
        /// The local file the entry names, as written in the manifest.
        physical_key: String,
        /// Why the file could not be used.
        reason: String,
    },
    /// The object version a manifest names no longer exists.
    #[error("version {version_id} of {location} does not exist (any more): the version was deleted, or the bucket's lifecycle rules expired it; re-push the package from a copy that has the data")]
    VersionGone {
        /// The object, as `s3://bucket/key`.
        location: String,
        /// The object version that is gone.
        version_id: String,
        /// The remote's error.
        #[source]
        source: Box<crate::Error>,
    },
    /// No place an entry may be fetched from gave it.
    #[error("entry {logical_key} ({hash}) could not be fetched from any of the {} places it may be:{}", tried.len(), list_tried(tried))]
    NoLocationWorked {
        /// The entry.
        logical_key: String,
        /// The entry's hash.
        hash: ObjectId,
        /// Every place tried, with its failure.
        tried: Vec<Tried>,
    },
    /// A named pointer does not hold a top hash.
    #[error("pointer {key} on {remote} does not hold a top hash (64 hex characters)")]
    BadPointer {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The pointer's key.
        key: String,
    },
    /// A package or version is not on the remote.
    #[error("{what} not found on {remote}")]
    NotFound {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// What was looked for.
        what: String,
    },
    /// A top-hash prefix names more than one version.
    #[error("top-hash prefix {prefix} is ambiguous on {remote}; it matches:\n{candidates}")]
    Ambiguous {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The prefix as given.
        prefix: String,
        /// The matching top hashes, one per line.
        candidates: String,
    },
    /// `latest` on the remote names a version the pushed one was not built on.
    #[error("the latest version of {name} on {remote} is {remote_latest}, which your version {ours} was not built on, so pushing it would undo that version; latest was left alone (your version was uploaded and has a timestamped pointer). To merge: `quilt pull {name}` (commit or set aside local edits first), put your changes back into the directory, `quilt build {name}` and push again; or pass --force to replace latest anyway")]
    LatestMoved {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The package.
        name: String,
        /// The version `latest` names on the remote.
        remote_latest: TopHash,
        /// The version being pushed.
        ours: TopHash,
    },
    /// The remote or location cannot do what was asked.
    #[error("{url}: {reason}")]
    Unsupported {
        /// The remote or location.
        url: String,
        /// Why it is not supported.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The local file or directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A pack or pack index on a packed remote is damaged: nothing from it was stored.
    #[error("pack {pack} on {remote} is corrupt: {reason}; nothing from it was stored{}. Re-push the versions that need them from a good copy, then run `quilt gc --remote`", list_objects(objects))]
    CorruptRemotePack {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// The pack's key (`.quilt/packs/pack-<hex>.pack` or `.idx`).
        pack: String,
        /// What is wrong.
        reason: String,
        /// The objects wanted from it (empty when its index is what is damaged).
        objects: Vec<ObjectId>,
    },
    /// Another process holds a lock on the remote that this operation cannot share.
    #[error("{remote} is busy: {reason}")]
    RemoteBusy {
        /// The remote, as [`crate::Remote::describe`] gives it.
        remote: String,
        /// Who holds it, and what to do.
        reason: String,
    },
    /// The operation was interrupted (Ctrl-C); what was complete is kept.
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
    /// Why it could not be used.
    pub error: TransferError,
}

fn list_objects(objects: &[ObjectId]) -> String {
    if objects.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = objects.iter().take(20).map(ToString::to_string).collect();
    let more = match objects.len() > 20 {
        true => format!(" and {} more", objects.len() - 20),
        false => String::new(),
    };
    format!(" (objects in it: {}{more})", shown.join(", "))
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

/// Result of push, fetch and the registry operations.
pub type TResult<T> = std::result::Result<T, TransferError>;
