use std::path::PathBuf;

/// Errors of the facade. Library errors from the crates are wrapped with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hash, name or key could not be parsed or computed.
    #[error(transparent)]
    Hash(#[from] quilt_hash::Error),
    /// A manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] quilt_hash::ManifestError),
    /// The local object store failed.
    #[error(transparent)]
    Store(#[from] quilt_store::Error),
    /// A remote failed.
    #[error(transparent)]
    Sync(#[from] quilt_sync::Error),
    /// A push, fetch or registry operation failed.
    #[error(transparent)]
    Transfer(Box<quilt_sync::TransferError>),
    /// Packaging S3 data in place failed.
    #[error(transparent)]
    Source(Box<quilt_sync::source::SourceError>),
    /// A package source (a path, URL or entry) cannot be used; the text says why.
    #[error("invalid source: {0}")]
    BadSource(String),
    /// The registry refused to store a manifest.
    #[error("the registry {url} refused to store the package (access denied): the credentials in use may read it but not write to it; use credentials (AWS_PROFILE) that can write there")]
    RegistryDenied {
        /// The registry.
        url: String,
    },
    /// No `.quilt/` in the directory or any parent.
    #[error("not a quilt directory (or any parent up to /): {0}\nrun `quilt init` first")]
    NotInitialised(PathBuf),
    /// A local file operation failed.
    // The cause (the OS error) is printed by the error chain, so it is not repeated here.
    #[error("could not access {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file changed while it was hashed or copied.
    #[error("{path} changed while it was being hashed (size or modification time moved); re-run when the file is no longer being written")]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// A file name that is not UTF-8 cannot be a logical key.
    #[error("file name {path:?} is not valid UTF-8; rename it (logical keys must be UTF-8)")]
    NonUtf8Path {
        /// The file.
        path: PathBuf,
    },
    /// A `.quiltignore` line is not a valid pattern.
    #[error("invalid .quiltignore rule {rule:?} in {path}: {reason}")]
    BadIgnoreRule {
        /// The `.quiltignore` file.
        path: PathBuf,
        /// The line.
        rule: String,
        /// Why it is refused.
        reason: String,
    },
    /// Metadata that is not valid JSON or not an object.
    #[error("invalid metadata: {0}")]
    BadMeta(String),
    /// A revision that cannot be parsed.
    #[error("invalid revision {rev:?}: {reason}")]
    BadRev {
        /// The revision as given.
        rev: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No stored version matches the revision.
    #[error("no package or version matches {0:?}; `quilt list` shows what is stored")]
    UnknownRev(String),
    /// A hash prefix that matches more than one version.
    #[error("hash prefix {prefix:?} is ambiguous; it matches:\n{candidates}\nuse more characters")]
    AmbiguousPrefix {
        /// The prefix.
        prefix: String,
        /// The versions it matches, one per line.
        candidates: String,
    },
    /// A logical key that would be written outside the destination.
    #[error("manifest entry {key:?} would be written outside {dest}; refusing to write it")]
    PathEscape {
        /// The logical key.
        key: String,
        /// The destination.
        dest: PathBuf,
    },
    /// A symbolic link inside the destination, on the way to an entry.
    #[error("{path} is a symbolic link, and quilt never writes through a link inside the destination (entry {key:?}); remove the link or choose another destination")]
    LinkInDest {
        /// The logical key.
        key: String,
        /// The link.
        path: PathBuf,
    },
    /// Something that is not a regular file where an entry goes.
    #[error("{path} is {what}, in the way of entry {key:?}; move it away and retry")]
    InTheWay {
        /// The logical key.
        key: String,
        /// What is there.
        path: PathBuf,
        /// What kind of thing it is, e.g. `a directory`.
        what: &'static str,
    },
    /// Local modifications a checkout or install would overwrite.
    #[error("{count} modified file(s) would be overwritten, e.g. {example}; keep them (in the working directory: `quilt build`) or pass --force to replace them")]
    WouldOverwrite {
        /// How many files.
        count: usize,
        /// One of them.
        example: String,
    },
    /// `HEAD` was used where nothing was built or checked out yet.
    #[error("no package was built or checked out in {0} yet; run `quilt build NS/PKG` first")]
    NoHead(PathBuf),
    /// A stored object does not hash to its name.
    #[error("stored object {id:?} is corrupt ({detail}); nothing was written for it. Run `quilt verify` to see which versions it breaks, then fetch them again")]
    CorruptObject {
        /// The object.
        id: quilt_hash::ObjectId,
        /// What was found.
        detail: String,
    },
    /// A version has no entry with this logical key.
    #[error(
        "version {top_hash} has no file {}; `quilt ls {top_hash}` lists its files",
        shown_key(key)
    )]
    NoEntry {
        /// The logical key asked for.
        key: String,
        /// The version.
        top_hash: quilt_hash::TopHash,
    },
    /// The operation was interrupted (its [`crate::Watch`] flag was set).
    #[error("interrupted")]
    Interrupted,
}

// Boxed, so every `Result` of the facade stays small.
impl From<quilt_sync::TransferError> for Error {
    fn from(e: quilt_sync::TransferError) -> Self {
        Error::Transfer(Box::new(e))
    }
}

impl From<quilt_sync::source::SourceError> for Error {
    fn from(e: quilt_sync::source::SourceError) -> Self {
        Error::Source(Box::new(e))
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A key as it is: quoted and escaped only when it holds control characters, which a
/// terminal would otherwise act on.
fn shown_key(key: &str) -> String {
    match key.chars().any(char::is_control) {
        true => format!("{key:?}"),
        false => key.to_owned(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stable classification of failures, for scripts: the CLI prints it as `kind` beside the
/// message of a `--json` error and picks the exit code from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The arguments are wrong: a bad package name, revision, URL or metadata.
    Usage,
    /// The package, version, object, remote or directory does not exist.
    NotFound,
    /// Someone else's change is in the way: a moved `latest`, local edits, a busy store.
    Conflict,
    /// The credentials were refused or a policy denied access.
    Auth,
    /// The remote could not be reached or answered unexpectedly.
    Network,
    /// Stored or received data does not hash to its name or cannot be parsed.
    Corrupt,
    /// The user interrupted the operation (Ctrl-C).
    Interrupted,
    /// A local file or database operation failed (permissions, a full disk).
    Io,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The name scripts see, e.g. `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Auth => "auth",
            ErrorKind::Network => "network",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Io => "io",
            ErrorKind::Other => "other",
        }
    }

    /// Classifies one error of this workspace (or an I/O error); `None` for other types, so a
    /// caller walking a chain of causes can look further down.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
        if let Some(e) = e.downcast_ref::<Error>() {
            return Some(e.kind());
        }
        if let Some(e) = e.downcast_ref::<quilt_store::Error>() {
            return Some(store_kind(e));
        }
        if let Some(e) = e.downcast_ref::<quilt_sync::Error>() {
            return Some(remote_kind(e));
        }
        if let Some(e) = e.downcast_ref::<quilt_sync::TransferError>() {
            return Some(transfer_kind(e));
        }
        if let Some(e) = e.downcast_ref::<quilt_sync::source::SourceError>() {
            return Some(source_kind(e));
        }
        if let Some(e) = e.downcast_ref::<quilt_hash::Error>() {
            return Some(hash_kind(e));
        }
        if let Some(e) = e.downcast_ref::<crate::user_config::ConfigError>() {
            use crate::user_config::ConfigError as C;
            return Some(match e {
                C::UnknownKey { .. } | C::BadValue { .. } => ErrorKind::Usage,
                C::Io { .. } | C::NoDir => ErrorKind::Io,
                C::Malformed { .. } => ErrorKind::Other,
            });
        }
        if e.downcast_ref::<quilt_hash::ManifestError>().is_some() {
            return Some(ErrorKind::Corrupt);
        }
        if let Some(e) = e.downcast_ref::<std::io::Error>() {
            return Some(match e.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::Interrupted => ErrorKind::Interrupted,
                _ => ErrorKind::Io,
            });
        }
        None
    }
}

impl Error {
    /// What kind of failure this is; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Hash(e) => hash_kind(e),
            Error::Manifest(_) | Error::CorruptObject { .. } => ErrorKind::Corrupt,
            Error::Store(e) => store_kind(e),
            Error::Sync(e) => remote_kind(e),
            Error::Transfer(e) => transfer_kind(e),
            Error::RegistryDenied { .. } => ErrorKind::Auth,
            Error::Source(e) => source_kind(e),
            Error::NotInitialised(_)
            | Error::UnknownRev(_)
            | Error::NoHead(_)
            | Error::NoEntry { .. } => ErrorKind::NotFound,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            Error::Io { .. } | Error::NonUtf8Path { .. } => ErrorKind::Io,
            Error::FileChanged { .. } | Error::WouldOverwrite { .. } => ErrorKind::Conflict,
            Error::BadIgnoreRule { .. }
            | Error::BadMeta(_)
            | Error::BadRev { .. }
            | Error::AmbiguousPrefix { .. }
            | Error::BadSource(_) => ErrorKind::Usage,
            Error::PathEscape { .. } => ErrorKind::Corrupt,
            Error::Interrupted => ErrorKind::Interrupted,
            // Variants added later are classified when they are added.
            #[allow(unreachable_patterns)]
            _ => ErrorKind::Other,
        }
    }
}

fn hash_kind(e: &quilt_hash::Error) -> ErrorKind {
    use quilt_hash::Error as E;
    match e {
        E::BadTopHash(_) | E::BadPackageName(_) => ErrorKind::Usage,
        E::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ErrorKind::NotFound
        }
        E::Io { .. } => ErrorKind::Io,
        _ => ErrorKind::Corrupt,
    }
}

fn store_kind(e: &quilt_store::Error) -> ErrorKind {
    use quilt_store::Error as E;
    if e.is_not_found() {
        return ErrorKind::NotFound;
    }
    match e {
        E::Io { .. } | E::DiskFull { .. } | E::ReadOnly { .. } | E::Db { .. } => ErrorKind::Io,
        E::Busy { .. } | E::RemoteExists { .. } => ErrorKind::Conflict,
        E::BadPrefix { .. } => ErrorKind::Usage,
        E::Interrupted => ErrorKind::Interrupted,
        E::HashMismatch { .. }
        | E::ContentMismatch { .. }
        | E::SizeMismatch { .. }
        | E::CorruptIndex { .. }
        | E::CorruptPack { .. }
        | E::BadManifest { .. }
        | E::ManifestBaseMissing { .. }
        | E::ManifestHashMismatch { .. }
        | E::BadDbValue { .. }
        | E::GcUnsafe { .. } => ErrorKind::Corrupt,
        _ => ErrorKind::Other,
    }
}

fn remote_kind(e: &quilt_sync::Error) -> ErrorKind {
    use quilt_sync::Error as E;
    if e.is_not_found() || e.is_no_such_bucket() || matches!(e, E::NoRemoteDir { .. }) {
        return ErrorKind::NotFound;
    }
    if e.is_auth() || e.is_access_denied() {
        return ErrorKind::Auth;
    }
    match e {
        E::Unreachable { .. } | E::Transient { .. } | E::Rejected { .. } | E::Protocol { .. } => {
            ErrorKind::Network
        }
        E::InvalidKey { .. } | E::InvalidArgument { .. } | E::InvalidUrl { .. } => ErrorKind::Usage,
        E::Io { .. } | E::Sink { .. } => ErrorKind::Io,
        _ => ErrorKind::Other,
    }
}

fn transfer_kind(e: &quilt_sync::TransferError) -> ErrorKind {
    use quilt_sync::TransferError as E;
    match e {
        E::Remote(e) => remote_kind(e),
        E::Store(e) => store_kind(e),
        E::BadManifest { .. }
        | E::ManifestMismatch { .. }
        | E::CorruptObject { .. }
        | E::BadPointer { .. } => ErrorKind::Corrupt,
        E::NotFound { .. } | E::VersionGone { .. } => ErrorKind::NotFound,
        E::NoLocationWorked { .. } => e.primary().map_or(ErrorKind::NotFound, transfer_kind),
        E::Ambiguous { .. } | E::Unsupported { .. } => ErrorKind::Usage,
        E::LatestMoved { .. } => ErrorKind::Conflict,
        E::Io { .. } => ErrorKind::Io,
        E::Interrupted => ErrorKind::Interrupted,
        #[allow(unreachable_patterns)]
        _ => ErrorKind::Other,
    }
}

fn source_kind(e: &quilt_sync::source::SourceError) -> ErrorKind {
    use quilt_sync::source::SourceError as E;
    match e {
        E::Remote(e) => remote_kind(e),
        E::AccessDenied { .. } => ErrorKind::Auth,
        E::Empty { .. } => ErrorKind::NotFound,
        E::Vanished { .. } | E::Changed { .. } => ErrorKind::Conflict,
        E::Interrupted => ErrorKind::Interrupted,
        #[allow(unreachable_patterns)]
        _ => ErrorKind::Other,
    }
}
