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
    /// The user's configuration file could not be read or changed.
    #[error(transparent)]
    Config(#[from] crate::user_config::ConfigError),
    /// A remote name that could be mistaken for a URL or path.
    #[error("invalid remote name {0:?}: use letters, digits, '-', '_' or '.'")]
    InvalidRemoteName(String),
    /// A remote's recorded layout is not one this quilt knows.
    #[error("remote {name}: {reason}")]
    BadRemoteLayout {
        /// The remote's name (or URL).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// `add_remote` with a name already in use.
    #[error("a remote named {0:?} exists; change it with `quilt remote set-url {0} URL`")]
    RemoteNameTaken(String),
    /// No remote has this name; `fix` says how to add one.
    #[error("no remote named {name:?}; {fix}")]
    UnknownRemote {
        /// The name.
        name: String,
        /// What to do, e.g. add it with `quilt remote add NAME URL`.
        fix: String,
    },
    /// A remote name given outside any working directory, where no names are known.
    #[error("{0:?} is a remote name, and names are only known inside a quilt directory; give the remote's URL or path instead")]
    RemoteNameOutsideWorkdir(String),
    /// The working directory's default remote was removed.
    #[error("the default remote {0:?} no longer exists; set one with `quilt remote default NAME`")]
    DefaultRemoteGone(String),
    /// No remote was named and none is the default.
    #[error("no remote given and no default remote; add one with `quilt remote add origin URL`, or set one for every directory with `quilt config default-remote URL`")]
    NoDefaultRemote,
    /// A directory remote inside the working directory, whose pushed files would become part
    /// of the package.
    #[error("remote directory {} is inside the working directory {}, so pushed files would become part of the package; use a directory outside it", dir.display(), worktree.display())]
    RemoteDirInWorktree {
        /// The remote directory.
        dir: PathBuf,
        /// The working directory.
        worktree: PathBuf,
    },
    /// A directory remote whose path is not UTF-8 (remote URLs are stored as text).
    #[error("remote directory {} is not valid UTF-8; rename it", .0.display())]
    NonUtf8RemoteDir(PathBuf),
    /// A directory (a default remote) whose path is not UTF-8.
    #[error("directory {} is not valid UTF-8; rename it", .0.display())]
    NonUtf8Dir(PathBuf),
    /// A missing remote directory could not be created.
    // The cause (the OS error) is printed by the error chain, so it is not repeated here.
    #[error("could not create the remote directory {}", path.display())]
    CreateRemoteDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A remote to read from could not be opened.
    #[error("could not open remote {url}")]
    OpenRemote {
        /// The URL or directory.
        url: String,
        /// Why (boxed, so every `Result` of the facade stays small).
        #[source]
        source: Box<quilt_sync::Error>,
    },
    /// An S3 setting of a remote that is not valid.
    #[error("invalid --{setting} {value:?}: {fix}")]
    BadRemoteSetting {
        /// `endpoint`, `region` or `profile`.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What to give instead.
        fix: &'static str,
    },
    /// A settings change that changes nothing.
    #[error("nothing to change: give --endpoint, --region, --profile or --unset SETTING")]
    NothingToChange,
    /// S3 settings for a directory remote.
    #[error(
        "--endpoint, --region and --profile apply to s3:// remotes only, and {url} is a directory"
    )]
    SettingsNeedS3 {
        /// The remote's URL.
        url: String,
    },
    /// A command that needs the checked-out package's name where nothing is checked out.
    #[error("nothing is checked out here yet, so name the package as NS/PKG (`quilt status` prints the checked-out one)")]
    NothingCheckedOut,
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
            return Some(config_kind(e));
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
            Error::Config(e) => config_kind(e),
            Error::OpenRemote { source, .. } => remote_kind(source),
            Error::BadRemoteSetting { .. }
            | Error::NothingToChange
            | Error::SettingsNeedS3 { .. } => ErrorKind::Usage,
            Error::UnknownRemote { .. }
            | Error::RemoteNameOutsideWorkdir(_)
            | Error::DefaultRemoteGone(_)
            | Error::NoDefaultRemote
            | Error::NothingCheckedOut => ErrorKind::NotFound,
            Error::RemoteNameTaken(_) => ErrorKind::Conflict,
            Error::BadRemoteLayout { .. } => ErrorKind::Usage,
            Error::CreateRemoteDir { .. } | Error::NonUtf8RemoteDir(_) | Error::NonUtf8Dir(_) => {
                ErrorKind::Io
            }
            // Refused arguments, kept at exit code 1 (ErrorKind::Usage would make it 2).
            Error::InvalidRemoteName(_) | Error::RemoteDirInWorktree { .. } => ErrorKind::Other,
            // Variants added later are classified when they are added.
            #[allow(unreachable_patterns)]
            _ => ErrorKind::Other,
        }
    }
}

fn config_kind(e: &crate::user_config::ConfigError) -> ErrorKind {
    use crate::user_config::ConfigError as C;
    match e {
        C::UnknownKey { .. } | C::BadValue { .. } => ErrorKind::Usage,
        C::Io { .. } | C::NoDir => ErrorKind::Io,
        C::Malformed { .. } => ErrorKind::Other,
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
        | E::CorruptRemotePack { .. }
        | E::BadPointer { .. } => ErrorKind::Corrupt,
        E::RemoteBusy { .. } => ErrorKind::Conflict,
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
