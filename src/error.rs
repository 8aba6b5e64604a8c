use std::path::PathBuf;

/// Errors of the facade. Library errors from the crates are wrapped with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Hash(#[from] quilt_hash::Error),
    #[error(transparent)]
    Manifest(#[from] quilt_hash::ManifestError),
    #[error(transparent)]
    Store(#[from] quilt_store::Error),
    #[error(transparent)]
    Sync(#[from] quilt_sync::Error),
    #[error("not a quilt directory (or any parent up to /): {0}\nrun `quilt init` first")]
    NotInitialised(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} changed while it was being hashed (size or modification time moved); re-run when the file is no longer being written")]
    FileChanged { path: PathBuf },
    #[error("file name {path:?} is not valid UTF-8; rename it (logical keys must be UTF-8)")]
    NonUtf8Path { path: PathBuf },
    #[error("invalid .quiltignore rule {rule:?} in {path}: {reason}")]
    BadIgnoreRule {
        path: PathBuf,
        rule: String,
        reason: String,
    },
    #[error("invalid metadata: {0}")]
    BadMeta(String),
    #[error("invalid revision {rev:?}: {reason}")]
    BadRev { rev: String, reason: String },
    #[error("no package or version matches {0:?}; `quilt list` shows what is stored")]
    UnknownRev(String),
    #[error("hash prefix {prefix:?} is ambiguous; it matches:\n{candidates}\nuse more characters")]
    AmbiguousPrefix { prefix: String, candidates: String },
    #[error("manifest entry {key:?} would be written outside {dest}; refusing to write it")]
    PathEscape { key: String, dest: PathBuf },
    #[error("{path} is a symbolic link, and quilt never writes through a link inside the destination (entry {key:?}); remove the link or choose another destination")]
    LinkInDest { key: String, path: PathBuf },
    #[error("{path} is {what}, in the way of entry {key:?}; move it away and retry")]
    InTheWay {
        key: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error("{count} modified file(s) would be overwritten, e.g. {example}; keep them (in the working directory: `quilt build`) or pass --force to replace them")]
    WouldOverwrite { count: usize, example: String },
    #[error("no package was built or checked out in {0} yet; run `quilt build NS/PKG` first")]
    NoHead(PathBuf),
    #[error("stored object {id:?} is corrupt ({detail}); nothing was written for it. Run `quilt verify` to see which versions it breaks, then fetch them again")]
    CorruptObject {
        id: quilt_hash::ObjectId,
        detail: String,
    },
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
