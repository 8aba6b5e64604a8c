//! The one error type of this crate. Every variant carries what a user needs to act on it: the
//! path, the object id or the package.

use std::io;
use std::path::{Path, PathBuf};

use quilt_hash::{ObjectId, TopHash};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no quilt store at {path}: run `quilt init` to create one")]
    NotAStore { path: PathBuf },

    #[error("could not {op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "the disk holding {path} is full (or a file size limit was reached): free some space, \
         or run `quilt gc` to drop unreferenced data, then retry; nothing was half-written"
    )]
    DiskFull {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "an object of up to {size} bytes was handed to the pack writer, whose limit is \
         {limit} bytes; this is a bug in quilt, please report it"
    )]
    NotSmall { size: u64, limit: u64 },

    #[error("store at {path} is read-only")]
    ReadOnly { path: PathBuf },

    #[error("store database {path}: could not {context}")]
    Db {
        context: String,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("the database {path} holds an invalid value: {reason}")]
    BadDbValue { path: PathBuf, reason: String },

    #[error(
        "store at {path} is in use by another quilt process; retry when it has finished \
         (garbage collection needs the store to itself)"
    )]
    Busy { path: PathBuf },

    #[error("object {id} is not in the store")]
    ObjectMissing { id: ObjectId },

    #[error("content of {path} does not match {expected}: it hashes to {actual} (did it change while being copied?)")]
    HashMismatch {
        path: PathBuf,
        expected: ObjectId,
        actual: ObjectId,
    },

    #[error("data received for {expected} hashes to {actual}; nothing was stored")]
    ContentMismatch {
        expected: ObjectId,
        actual: ObjectId,
    },

    #[error(
        "data for {id} is {actual} bytes long but {expected} were expected; nothing was stored"
    )]
    SizeMismatch {
        id: ObjectId,
        expected: u64,
        actual: u64,
    },

    #[error("the chunk list of {id} is corrupt: {reason}")]
    CorruptChunkList { id: ObjectId, reason: String },

    #[error("chunk {chunk} of {file} is not in the store")]
    ChunkMissing { file: ObjectId, chunk: ObjectId },

    #[error(
        "chunk {chunk} of {file} is {actual} bytes long in the store but its list says          {expected}"
    )]
    ChunkLength {
        file: ObjectId,
        chunk: ObjectId,
        expected: u64,
        actual: u64,
    },

    #[error(
        "{id} names a chunk list, which only the store's chunking writes; this is a bug in          quilt, please report it"
    )]
    NotStorable { id: ObjectId },

    #[error("pack index {path} is corrupt: {reason}")]
    CorruptIndex { path: PathBuf, reason: String },

    #[error("pack {path} is corrupt: {reason}")]
    CorruptPack { path: PathBuf, reason: String },

    #[error("manifest {top} is not in the store")]
    ManifestMissing { top: TopHash },

    #[error("manifest {path} could not be read")]
    BadManifest {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("manifest {path} is stored as a delta against {base}, which is not in the store")]
    ManifestBaseMissing { path: PathBuf, base: TopHash },

    #[error("manifest {path} is stored under {expected} but its top hash is {actual}")]
    ManifestHashMismatch {
        path: PathBuf,
        expected: TopHash,
        actual: TopHash,
    },

    #[error("{prefix:?} is not a top hash prefix: expected 1 to 64 hex characters")]
    BadPrefix { prefix: String },

    #[error("remote {name:?} already exists")]
    RemoteExists { name: String },

    #[error("no remote named {name:?}")]
    NoSuchRemote { name: String },

    #[error(
        "refusing to collect garbage: the manifest {top} of {package} cannot be read, so the \
         objects it needs are unknown; run `quilt verify`"
    )]
    GcUnsafe {
        package: String,
        top: TopHash,
        #[source]
        source: Box<Error>,
    },

    #[error("interrupted")]
    Interrupted,
}

/// Result with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the thing asked for does not exist (object, manifest, remote, store or file),
    /// as opposed to existing and being unreadable.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotAStore { .. }
            | Error::ObjectMissing { .. }
            | Error::ChunkMissing { .. }
            | Error::ManifestMissing { .. }
            | Error::NoSuchRemote { .. } => true,
            Error::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// True for failures caused by a full disk or a file size limit.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull { .. })
    }

    /// Classifies an I/O error: a full disk and a read-only filesystem get their own variants
    /// because the user must act differently on each.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Error {
        if is_disk_full(&source) {
            return Error::DiskFull {
                path: path.to_owned(),
                source,
            };
        }
        if source.kind() == io::ErrorKind::ReadOnlyFilesystem {
            return Error::ReadOnly {
                path: path.to_owned(),
            };
        }
        Error::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }

    /// Like [`Error::io`] for operations that create or change files: there a permission error
    /// means the store cannot be written.
    pub(crate) fn io_write(op: &'static str, path: &Path, source: io::Error) -> Error {
        if source.kind() == io::ErrorKind::PermissionDenied {
            return Error::ReadOnly {
                path: path.to_owned(),
            };
        }
        Error::io(op, path, source)
    }

    pub(crate) fn db(context: impl Into<String>, path: &Path, source: rusqlite::Error) -> Error {
        if let rusqlite::Error::SqliteFailure(e, _) = &source {
            match e.code {
                rusqlite::ErrorCode::DiskFull => {
                    return Error::DiskFull {
                        path: path.to_owned(),
                        source: io::Error::from(io::ErrorKind::StorageFull),
                    }
                }
                rusqlite::ErrorCode::ReadOnly => {
                    return Error::ReadOnly {
                        path: path.parent().unwrap_or(path).to_owned(),
                    }
                }
                _ => {}
            }
        }
        Error::Db {
            context: context.into(),
            path: path.to_owned(),
            source,
        }
    }
}

fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let p = Path::new("/store");
        let full = Error::io_write("write", p, io::Error::from(io::ErrorKind::StorageFull));
        assert!(full.is_disk_full());
        assert!(full.to_string().contains("disk holding /store is full"));
        let ro = Error::io_write("write", p, io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(ro.to_string(), "store at /store is read-only");
        let rofs = Error::io(
            "write",
            p,
            io::Error::from(io::ErrorKind::ReadOnlyFilesystem),
        );
        assert!(matches!(rofs, Error::ReadOnly { .. }));
        let gone = Error::io("open", p, io::Error::from(io::ErrorKind::NotFound));
        assert!(gone.is_not_found());
    }
}
