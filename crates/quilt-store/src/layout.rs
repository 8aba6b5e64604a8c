//! Where things live under a store root, and the few filesystem moves every writer uses:
//! write a temp file in `tmp/`, fsync it, rename it into place, fsync the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::perms::{self, Sharing};
use crate::{Error, Result};

pub(crate) const DB_FILE: &str = "quilt.db";
pub(crate) const LOCK_FILE: &str = "lock";

/// The paths of one store.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
    /// Set from the store's settings when it is opened.
    pub sharing: Sharing,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
            sharing: Sharing::Umask,
        }
    }
    pub fn db(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }
    pub fn pack_dir(&self) -> PathBuf {
        self.root.join("objects").join("pack")
    }
    pub fn loose_dir(&self) -> PathBuf {
        self.root.join("objects").join("loose")
    }
    pub fn packages_dir(&self) -> PathBuf {
        self.root.join("packages")
    }
    pub fn named_packages_dir(&self) -> PathBuf {
        self.root.join("named_packages")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// `objects/loose/<2 hex>/<62 hex>`: the fan-out keeps directories small.
    pub fn loose_path(&self, digest: &[u8; 32]) -> PathBuf {
        let hex = hex::encode(digest);
        self.loose_dir().join(&hex[..2]).join(&hex[2..])
    }
    pub fn manifest_path(&self, top_hex: &str) -> PathBuf {
        self.packages_dir().join(top_hex)
    }
    pub fn dirs(&self) -> [PathBuf; 6] {
        [
            self.pack_dir(),
            self.loose_dir(),
            self.packages_dir(),
            self.named_packages_dir(),
            self.tmp_dir(),
            self.root.clone(),
        ]
    }

    /// A fresh temp file in `tmp/`, on the same filesystem as its destination so that the final
    /// rename is atomic.
    /// Its mode is 0o666 less the umask (plus group read-write in a group-shared store), as
    /// it becomes an object others may read.
    pub fn temp_file(&self) -> Result<NamedTempFile> {
        let dir = self.tmp_dir();
        perms::temp_file_in(&dir, ".tmp", self.sharing == Sharing::Group)
            .map_err(|e| Error::io_write("create a temp file in", &dir, e))
    }

    /// Writes `bytes` to `dest` so that a reader sees either nothing or all of it.
    pub fn atomic_write(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes)
            .map_err(|e| Error::io_write("write", tmp.path(), e))?;
        persist(tmp, dest)
    }
}

/// fsyncs `tmp`, renames it to `dest` and fsyncs `dest`'s directory, so the new name survives
/// a power cut.
pub(crate) fn persist(tmp: NamedTempFile, dest: &Path) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io_write("fsync", tmp.path(), e))?;
    if let Some(parent) = dest.parent() {
        create_dirs(parent)?;
    }
    tmp.persist(dest)
        .map_err(|e| Error::io_write("rename a temp file to", dest, e.error))?;
    if let Some(parent) = dest.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Creates `dir` and missing parents (group-shared under a setgid directory, see
/// [`perms::create_dirs`]) and makes each new name durable.
pub(crate) fn create_dirs(dir: &Path) -> Result<()> {
    let created =
        perms::create_dirs(dir).map_err(|e| Error::io_write("create directory", dir, e))?;
    for d in &created {
        if let Some(parent) = d.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// Makes renames and unlinks inside `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
        f.sync_all()
            .map_err(|e| Error::io_write("fsync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes a file, treating "already gone" as success (gc and crash recovery may race with
/// nothing but themselves, and a second removal is harmless).
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io_write("remove", path, e)),
    }
}

/// Lists a directory, treating a missing directory as empty.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    rd.map(|e| e.map_err(|e| Error::io("list", dir, e)))
        .collect()
}

/// Parses a 64-char lowercase hex string.
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}
