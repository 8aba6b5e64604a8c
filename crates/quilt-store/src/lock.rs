//! The store's `lock` file: writers hold it shared, gc and pack merging exclusively, so gc
//! never runs while objects are being written.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use crate::{Error, Result};

/// A held flock on the store's `lock` file; released when dropped (the file is closed).
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .or_else(|_| File::open(path))
        .map_err(|e| Error::io_write("open", path, e))
}

/// Blocks until no one holds the lock file at `path` exclusively, then holds it shared.
pub(crate) fn shared(path: &Path) -> Result<LockGuard> {
    let file = open(path)?;
    file.lock_shared().map_err(|e| Error::io("lock", path, e))?;
    Ok(LockGuard { _file: file })
}

/// Holds the lock file at `path` exclusively, or `None` if anyone else holds it.
pub(crate) fn try_exclusive(path: &Path) -> Result<Option<LockGuard>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
    }
}
