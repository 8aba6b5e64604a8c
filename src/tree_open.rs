//! Opening the files of one tree quickly: each worker thread keeps the directory it opened a
//! file in last, and opens the next file of that directory relative to it, so the kernel
//! resolves one name per file rather than the whole path.
//!
//! A cached directory belongs to one [`TreeOpener`] (one build), so a directory replaced
//! between builds is never read through a stale handle.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Opens files below one root by their `/`-separated relative keys.
#[derive(Debug)]
pub(crate) struct TreeOpener {
    root: PathBuf,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[cfg(unix)]
thread_local! {
    /// (opener id, parent key, directory handle) of the last directory this thread used.
    static LAST_DIR: RefCell<Option<(u64, String, File)>> = const { RefCell::new(None) };
}

impl TreeOpener {
    pub(crate) fn new(root: &Path) -> TreeOpener {
        TreeOpener {
            root: root.to_owned(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Opens `root/key` for reading, following a symbolic link as `File::open` does.
    #[cfg(unix)]
    pub(crate) fn open(&self, key: &str) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};

        let (parent, name) = key.rsplit_once('/').unwrap_or(("", key));
        if name.contains('\0') {
            // No system call takes such a name; `File::open` gives the usual error for it.
            return File::open(self.root.join(key));
        }
        LAST_DIR.with_borrow_mut(|last| {
            let dir = match last {
                Some((id, p, dir)) if *id == self.id && p == parent => dir,
                _ => {
                    let dir = File::open(self.root.join(parent))?;
                    &mut last.insert((self.id, parent.to_owned(), dir)).2
                }
            };
            let fd =
                rustix::fs::openat(&*dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            Ok(File::from(fd))
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn open(&self, key: &str) -> io::Result<File> {
        File::open(self.root.join(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn opens_files_in_nested_directories_and_follows_links() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("a/b"))?;
        std::fs::write(dir.path().join("top"), b"1")?;
        std::fs::write(dir.path().join("a/b/c"), b"2")?;
        std::fs::write(dir.path().join("a/d"), b"3")?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("top"), dir.path().join("a/link"))?;
        let opener = TreeOpener::new(dir.path());
        let read = |k: &str| -> io::Result<String> {
            let mut s = String::new();
            opener.open(k)?.read_to_string(&mut s)?;
            Ok(s)
        };
        assert_eq!(read("a/b/c")?, "2");
        assert_eq!(read("a/d")?, "3");
        assert_eq!(read("top")?, "1");
        #[cfg(unix)]
        assert_eq!(read("a/link")?, "1");
        assert_eq!(
            opener.open("a/missing").map_err(|e| e.kind()).err(),
            Some(io::ErrorKind::NotFound)
        );
        // Another opener on another tree never reuses this one's directory.
        let other = tempfile::tempdir()?;
        std::fs::create_dir_all(other.path().join("a"))?;
        std::fs::write(other.path().join("a/d"), b"other")?;
        let mut s = String::new();
        TreeOpener::new(other.path())
            .open("a/d")?
            .read_to_string(&mut s)?;
        assert_eq!(s, "other");
        Ok(())
    }
}
