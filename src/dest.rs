//! A destination directory that checkout and install write into without ever following a
//! symbolic link below it.
//!
//! Every directory under the destination is opened relative to its parent with `O_NOFOLLOW`,
//! so a link planted anywhere in the tree (`sub -> /elsewhere`) is refused instead of
//! followed, and nothing is resolved twice: the directory that was checked is the one written
//! into. Files are created as `.quilt-tmp.<pid>.<n>` with `O_CREAT | O_EXCL | O_NOFOLLOW` and
//! mode 0o666 (directories 0o777), so the kernel applies the umask, then renamed over their
//! target. The destination itself may be a link: the user named it.

use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::walk::TEMP_PREFIX;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// What is at a target path before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    Missing,
    File { size: u64, mtime_ns: i64, ino: u64 },
}

/// An open destination directory.
pub(crate) struct Dest {
    path: PathBuf,
    /// `None` while the destination does not exist.
    root: Option<OwnedFd>,
    /// One open directory per file system written to, for [`Dest::sync`].
    devices: Mutex<Vec<(u64, OwnedFd)>>,
}

impl Dest {
    /// Opens `path` if it is there; nothing is created yet.
    pub fn open(path: &Path) -> Result<Dest> {
        let root = match rustix::fs::open(path, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        {
            Ok(fd) => Some(fd),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(Error::io(path, e.into())),
        };
        Ok(Dest {
            path: path.to_path_buf(),
            root,
            devices: Mutex::new(Vec::new()),
        })
    }

    /// Creates the destination (and its parents) if it does not exist yet.
    pub fn create(&mut self) -> Result<()> {
        if self.root.is_none() {
            std::fs::create_dir_all(&self.path).map_err(|e| Error::io(&self.path, e))?;
            *self = Dest::open(&self.path)?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens directory `dir` (a `/`-separated prefix of `key`; `""` is the destination),
    /// refusing a link or a file on the way. Missing directories are created when `create` is
    /// set, else the answer is `None`.
    pub fn open_dir(&self, key: &str, dir: &str, create: bool) -> Result<Option<OwnedFd>> {
        let Some(root) = &self.root else {
            return Ok(None);
        };
        let mut fd = rustix::fs::openat(root, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| Error::io(&self.path, e.into()))?;
        let mut end = 0;
        for name in dir.split('/').filter(|c| !c.is_empty()) {
            end += name.len() + usize::from(end > 0);
            let at = || self.path.join(&dir[..end]);
            fd = match rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty()) {
                Ok(child) => child,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(Error::io(at(), e.into())),
                    }
                    rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty())
                        .map_err(|e| refusal(key, at(), &fd, name, e))?
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(refusal(key, at(), &fd, name, e)),
            };
        }
        Ok(Some(fd))
    }

    /// What is at each key now (`keys` in manifest order, so neighbours share a parent that
    /// is opened once). A link, a directory or a special file where a file goes is refused.
    pub fn inspect_all(&self, keys: &[&str]) -> Result<Vec<Existing>> {
        let groups = same_parent_runs(keys, usize::MAX);
        let found: Vec<Vec<Existing>> = groups
            .par_iter()
            .map(|run| {
                let (parent, _) = split_key(run[0]);
                let Some(dir) = self.open_dir(run[0], parent, false)? else {
                    return Ok(vec![Existing::Missing; run.len()]);
                };
                run.iter().map(|key| self.inspect_in(&dir, key)).collect()
            })
            .collect::<Result<_>>()?;
        Ok(found.into_iter().flatten().collect())
    }

    fn inspect_in(&self, dir: &OwnedFd, key: &str) -> Result<Existing> {
        let (_, name) = split_key(key);
        let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(Existing::Missing),
            Err(e) => return Err(Error::io(self.path.join(key), e.into())),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Ok(Existing::File {
                size: st.st_size as u64,
                mtime_ns: (st.st_mtime as i64)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(st.st_mtime_nsec as i64),
                ino: st.st_ino,
            }),
            kind => Err(in_the_way(key, self.path.join(key), kind)),
        }
    }

    /// Creates a new, empty temp file in `dir` that no link can redirect.
    pub fn create_temp(&self, dir: BorrowedFd<'_>) -> Result<(File, String)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TEMP_PREFIX}.{}.{n}", std::process::id());
            match rustix::fs::openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o666)) {
                Ok(fd) => return Ok((File::from(fd), name)),
                // A file of a dead process that had our pid: take the next number.
                Err(Errno::EXIST) if n % 1000 != 999 => continue,
                Err(e) => return Err(Error::io(self.path.join(name), e.into())),
            }
        }
    }

    /// Remembers the file system of `dir` for [`Dest::sync`]; returns its device number.
    pub fn note_device(&self, dir: &OwnedFd) -> Result<u64> {
        let dev = rustix::fs::fstat(dir)
            .map_err(|e| Error::io(&self.path, e.into()))?
            .st_dev;
        let mut devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        if !devices.iter().any(|(d, _)| *d == dev) {
            let dup = rustix::fs::openat(dir, ".", DIR_FLAGS, Mode::empty())
                .map_err(|e| Error::io(&self.path, e.into()))?;
            devices.push((dev, dup));
        }
        Ok(dev)
    }

    /// Makes everything written so far durable: data, renames, new and removed entries.
    /// `syncfs` flushes a whole file system in one call, far cheaper than one fsync per file
    /// for a checkout of many small files.
    pub fn sync(&self) -> Result<()> {
        let devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        for (_, fd) in devices.iter() {
            sync_fs(fd).map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Removes the file at `key` (a link is removed, never followed); false if it was gone.
    pub fn remove_file(&self, key: &str) -> Result<bool> {
        let (parent, name) = split_key(key);
        let Some(dir) = self.open_dir(key, parent, false)? else {
            return Ok(false);
        };
        self.note_device(&dir)?;
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(Error::io(self.path.join(key), e.into())),
        }
    }

    /// Removes the now-empty directories above `key`, deepest first, stopping at the first
    /// one that is not empty.
    pub fn remove_empty_parents(&self, key: &str) {
        let mut dir = split_key(key).0;
        while !dir.is_empty() {
            let (parent, name) = split_key(dir);
            let Ok(Some(fd)) = self.open_dir(key, parent, false) else {
                return;
            };
            if rustix::fs::unlinkat(&fd, name, AtFlags::REMOVEDIR).is_err() {
                return;
            }
            dir = parent;
        }
    }
}

/// Splits a key into its parent directory (`""` at the top) and its last component.
pub(crate) fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('/').unwrap_or(("", key))
}

/// Consecutive runs of `keys` that share a parent directory, each at most `max` long.
pub(crate) fn same_parent_runs<T: AsRef<str>>(keys: &[T], max: usize) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=keys.len() {
        let split = i == keys.len()
            || i - start >= max
            || split_key(keys[i].as_ref()).0 != split_key(keys[start].as_ref()).0;
        if split {
            runs.push(&keys[start..i]);
            start = i;
        }
    }
    runs
}

/// The error for a path component that could not be opened as a directory: a link or a
/// file where a directory belongs is named as such, anything else is an I/O error.
fn refusal(key: &str, at: PathBuf, parent: &OwnedFd, name: &str, e: Errno) -> Error {
    match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Error::io(at, e.into()),
            kind => in_the_way(key, at, kind),
        },
        Err(_) => Error::io(at, e.into()),
    }
}

fn in_the_way(key: &str, path: PathBuf, kind: FileType) -> Error {
    if kind == FileType::Symlink {
        return Error::LinkInDest {
            key: key.to_owned(),
            path,
        };
    }
    let what = match kind {
        FileType::Directory => "a directory",
        FileType::RegularFile => "a file",
        _ => "a special file",
    };
    Error::InTheWay {
        key: key.to_owned(),
        path,
        what,
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn sync_fs(fd: &OwnedFd) -> std::io::Result<()> {
    rustix::fs::syncfs(fd).map_err(Into::into)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sync_fs(fd: &OwnedFd) -> std::io::Result<()> {
    // No syncfs: files are fsynced one by one as they are written; this makes the
    // directory's entries durable.
    rustix::fs::fsync(fd).map_err(Into::into)
}

/// Whether temp files are fsynced one by one (where no `syncfs` exists).
pub(crate) const SYNC_EACH_FILE: bool = cfg!(not(any(target_os = "linux", target_os = "android")));

/// Whether the process that made temp file `name` (`.quilt-tmp.<pid>.<n>`) is gone, so the
/// file is a leftover. Names of another shape come from older versions and are leftovers too.
pub(crate) fn temp_owner_is_gone(name: &str) -> bool {
    let pid = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|s| s.strip_prefix('.'))
        .and_then(|s| s.split('.').next())
        .and_then(|p| p.parse::<i32>().ok());
    let Some(pid) = pid else { return true };
    if pid == std::process::id() as i32 {
        return false;
    }
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => matches!(rustix::process::test_kill_process(p), Err(Errno::SRCH)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_at_parent_changes_and_at_the_limit() {
        let keys = ["a", "b", "d/x", "d/y", "d/z", "d/e/f", "g"];
        let runs: Vec<Vec<&str>> = same_parent_runs(&keys, 2)
            .into_iter()
            .map(|r| r.to_vec())
            .collect();
        assert_eq!(
            runs,
            vec![
                vec!["a", "b"],
                vec!["d/x", "d/y"],
                vec!["d/z"],
                vec!["d/e/f"],
                vec!["g"]
            ]
        );
    }

    #[test]
    fn temp_names_of_live_processes_are_kept() {
        let mine = format!("{TEMP_PREFIX}.{}.7", std::process::id());
        assert!(!temp_owner_is_gone(&mine));
        // pid 1 always runs.
        assert!(!temp_owner_is_gone(&format!("{TEMP_PREFIX}.1.0")));
        assert!(temp_owner_is_gone(&format!("{TEMP_PREFIX}.2147483600.0")));
        assert!(temp_owner_is_gone(&format!("{TEMP_PREFIX}Ab3xYz")));
    }
}
