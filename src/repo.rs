//! A working directory and the store it builds into.

use std::fs;
use std::path::{Path, PathBuf};

use quilt_store::Store;

use crate::error::{Error, Result};

/// Name of the per-directory folder, as quilt3's local registry names it.
pub const DOT_QUILT: &str = ".quilt";
/// Inside `.quilt/` when the store lives elsewhere (`quilt init --store PATH`).
const STORE_POINTER: &str = "store-path";

/// A working directory plus its object store.
pub struct Repository {
    worktree: PathBuf,
    store: Store,
}

impl Repository {
    /// Initialises `dir` (creating `.quilt/`), with the store inside it or at `shared_store`.
    /// Running it again on an initialised directory is harmless.
    pub fn init(dir: &Path, shared_store: Option<&Path>) -> Result<Self> {
        Self::init_shared(dir, shared_store, None)
    }

    /// [`Repository::init`], recording how the store is shared with other users (`None`
    /// keeps an existing store's setting).
    pub fn init_shared(
        dir: &Path,
        shared_store: Option<&Path>,
        sharing: Option<quilt_store::perms::Sharing>,
    ) -> Result<Self> {
        let worktree = absolute(dir)?;
        let dot = worktree.join(DOT_QUILT);
        fs::create_dir_all(&dot).map_err(|e| Error::io(&dot, e))?;
        let store = match shared_store {
            Some(path) => {
                fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
                let path = absolute(path)?;
                let store = Store::init_with(&path, sharing)?;
                let pointer = dot.join(STORE_POINTER);
                let text = path
                    .to_str()
                    .ok_or_else(|| Error::NonUtf8Path { path: path.clone() })?;
                atomic_write(&pointer, text.as_bytes())?;
                store
            }
            None => Store::init_with(&dot, sharing)?,
        };
        Ok(Repository { worktree, store })
    }

    /// Finds the working directory containing `start`, as git finds `.git`.
    pub fn discover(start: &Path) -> Result<Self> {
        let start = absolute(start)?;
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            let dot = d.join(DOT_QUILT);
            if dot.is_dir() {
                return Self::open(d);
            }
            dir = d.parent();
        }
        Err(Error::NotInitialised(start))
    }

    /// Opens a working directory that has a `.quilt/`.
    pub fn open(worktree: &Path) -> Result<Self> {
        let worktree = absolute(worktree)?;
        let dot = worktree.join(DOT_QUILT);
        if !dot.is_dir() {
            return Err(Error::NotInitialised(worktree));
        }
        let pointer = dot.join(STORE_POINTER);
        let store = match fs::read_to_string(&pointer) {
            Ok(path) => Store::open(Path::new(path.trim_end_matches('\n')))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Store::open(&dot)?,
            Err(e) => return Err(Error::io(pointer, e)),
        };
        Ok(Repository { worktree, store })
    }

    /// The working directory (absolute).
    pub fn worktree(&self) -> &Path {
        &self.worktree
    }

    /// The object store it builds into (inside `.quilt/`, or shared).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// An absolute, lexically clean path without resolving symlinks inside the tree.
pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
    // Resolve the directory itself so paths recorded in the stat cache are stable.
    Ok(fs::canonicalize(&abs).unwrap_or(abs))
}

/// Writes a small file atomically: temp file in the same directory, fsync, rename.
pub(crate) fn atomic_write(path: &Path, data: &[u8]) -> Result<()> {
    crate::atomic::write_durably(path, data).map_err(|e| Error::io(path, e))
}
