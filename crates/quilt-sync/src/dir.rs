//! A remote in a plain directory (a mounted share, a USB disk, a test fixture).
//!
//! Keys map to paths below the root. Writes go to a temp file in the target's directory, are
//! fsynced and renamed into place, so readers never see half an object. [`Remote::put_if`]
//! serializes writers of one key with an exclusive `flock` on a lock file beside it, then
//! compares, writes and renames while holding it. Names starting with [`TEMP_PREFIX`] or
//! [`LOCK_PREFIX`] are this backend's own bookkeeping: they are never listed and can't be keys.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use quilt_store::perms;
use sha2::{Digest, Sha256};

use crate::remote::check_key;
use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result, Stored};

/// Prefix of temp files written before a rename.
pub const TEMP_PREFIX: &str = ".quilt-tmp-";
/// Prefix of the per-key lock files used by `put_if` (older versions kept them beside the
/// key; listings still skip such names).
pub const LOCK_PREFIX: &str = ".quilt-lock-";
/// Where `put_if` keeps its lock files: a tree of its own below the root, mirroring the keys,
/// so that readers of the registry layout (quilt3 lists every file of a package's pointer
/// folder as a version) never see them. The name starts with [`LOCK_PREFIX`], so listings
/// skip it.
pub const LOCK_DIR: &str = ".quilt-lock-files";
/// Files up to this size get a content-hash etag; larger ones a size/mtime/inode etag.
pub const CONTENT_ETAG_LIMIT: u64 = 4 << 20;

/// A [`Remote`] stored in a local directory.
#[derive(Debug, Clone)]
pub struct DirRemote {
    root: PathBuf,
    url: String,
}

impl DirRemote {
    /// A remote rooted at `root`. The directory is created on first write if it is missing.
    pub fn new(root: impl Into<PathBuf>) -> Result<DirRemote> {
        let root = root.into();
        let abs = std::path::absolute(&root).map_err(|e| Error::io("resolving", &root, e))?;
        if abs.exists() && !abs.is_dir() {
            return Err(Error::Config(format!(
                "remote {} is not a directory",
                abs.display()
            )));
        }
        let url = crate::RemoteUrl::Dir(abs.clone()).to_string();
        Ok(DirRemote { root: abs, url })
    }

    /// The absolute root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        let reserved = |name: &str| name.starts_with(TEMP_PREFIX) || name.starts_with(LOCK_PREFIX);
        if key.split('/').any(reserved) {
            return Err(Error::InvalidKey {
                key: key.to_owned(),
                reason: "names starting with .quilt-tmp- or .quilt-lock- are reserved",
            });
        }
        Ok(self.root.join(key))
    }

    fn not_found(&self, key: &str) -> Error {
        Error::NotFound {
            url: self.url.clone(),
            key: key.to_owned(),
        }
    }

    fn open(&self, key: &str) -> Result<(File, PathBuf)> {
        let path = self.path_of(key)?;
        // Non-blocking, so a FIFO placed under the root can't stall the open; it is then
        // refused as not a regular file. Reads from regular files ignore the flag.
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        match opened {
            Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => Ok((f, path)),
            Ok(_) => Err(self.not_found(key)),
            Err(e) if is_missing(&e) => Err(self.not_found(key)),
            Err(e) => Err(Error::io("opening", path, e)),
        }
    }

    /// Write `fill`'s output to a temp file next to `dest`, fsync it and rename it over `dest`,
    /// then fsync the directory. Files get mode 0o666 less the umask, so a registry written
    /// with umask 022 is readable by everyone; under a setgid directory (a group-shared
    /// registry) they are group-writable too. A failed fsync is an error: the write may not
    /// survive a crash.
    fn write_atomic(
        &self,
        dest: &Path,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<()> {
        let dir = dest.parent().expect("keys are below the root");
        create_dirs(dir)?;
        let group = perms::is_group_shared(dir);
        let mut tmp = perms::temp_file_in(dir, TEMP_PREFIX, group)
            .map_err(|e| Error::io("creating a temp file in", dir, e))?;
        fill(tmp.as_file_mut()).map_err(|e| Error::io("writing", tmp.path(), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("syncing", tmp.path(), e))?;
        tmp.persist(dest)
            .map_err(|e| Error::io("renaming into", dest, e.error))?;
        fsync_dir(dir)
    }

    fn etag_of(&self, file: &mut File, path: &Path) -> Result<(u64, String)> {
        let meta = file.metadata().map_err(|e| Error::io("reading", path, e))?;
        let size = meta.len();
        if size > CONTENT_ETAG_LIMIT {
            return Ok((size, stat_etag(&meta)));
        }
        let mut h = Sha256::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| io::copy(file, &mut h))
            .map_err(|e| Error::io("reading", path, e))?;
        Ok((size, hex::encode(h.finalize())))
    }

    fn walk(&self, dir: &Path, rel: &str, prefix: &str, out: &mut Vec<ListEntry>) -> Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(Error::io("listing", dir, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not UTF-8: can't be a key this crate wrote
            };
            if name.starts_with(TEMP_PREFIX) || name.starts_with(LOCK_PREFIX) {
                continue;
            }
            let key = format!("{rel}{name}");
            let ft = entry
                .file_type()
                .map_err(|e| Error::io("listing", entry.path(), e))?;
            if ft.is_dir() {
                let sub = format!("{key}/");
                // Only descend where keys with the prefix can be.
                if sub.starts_with(prefix) || prefix.starts_with(&sub) {
                    self.walk(&entry.path(), &sub, prefix, out)?;
                }
            } else if ft.is_file() && key.starts_with(prefix) {
                let size = entry
                    .metadata()
                    .map_err(|e| Error::io("listing", entry.path(), e))?
                    .len();
                out.push(ListEntry { key, size });
            }
        }
        Ok(())
    }
}

impl Remote for DirRemote {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        // Start at the deepest directory the prefix names, then sort: a directory walk is not in
        // key order ("a-b" sorts before "a/c").
        let (dir_part, rel) = match prefix.rfind('/') {
            Some(i) => (&prefix[..i], &prefix[..=i]),
            None => ("", ""),
        };
        if !dir_part.is_empty() {
            check_key(dir_part)?;
        }
        let mut entries = Vec::new();
        self.walk(&self.root.join(dir_part), rel, prefix, &mut entries)?;
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        for e in entries {
            visit(e)?;
        }
        Ok(())
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        match self.open(key) {
            Ok((mut f, path)) => {
                let (size, etag) = self.etag_of(&mut f, &path)?;
                Ok(Some(ObjectMeta {
                    size,
                    etag,
                    checksum_sha256: None,
                    version_id: None,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let (mut f, path) = self.open(key)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| Error::io("reading", path, e))?;
        Ok(buf)
    }

    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        let (mut f, path) = self.open(key)?;
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading", path, e)),
            };
            w.write_all(&buf[..n]).map_err(|source| Error::Sink {
                url: self.url.clone(),
                key: key.to_owned(),
                source,
            })?;
            total += n as u64;
        }
        Ok(total)
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            self.path_of(key)?;
            return Ok(Vec::new());
        }
        let (mut f, path) = self.open(key)?;
        let size = f
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?
            .len();
        if start >= size {
            return Err(Error::Rejected {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "get_range",
                status: 416,
                code: "InvalidRange".into(),
                message: format!("start {start} is past the end ({size} bytes)"),
            });
        }
        let n = len.min(size - start);
        let mut buf = Vec::with_capacity(n as usize);
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.take(n).read_to_end(&mut buf))
            .map_err(|e| Error::io("reading", path, e))?;
        Ok(buf)
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
        let dest = self.path_of(key)?;
        self.write_atomic(&dest, |f| f.write_all(data))?;
        Ok(Stored::default())
    }

    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
        let dest = self.path_of(key)?;
        let mut src = File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let Some(sums) = part_checksums else {
            self.write_atomic(&dest, |f| io::copy(&mut src, f).map(|_| ()))?;
            return Ok(Stored::default());
        };
        // Like S3, refuse parts whose bytes no longer match the caller's digests; the temp
        // file is dropped, so nothing appears under `key`.
        let mut bad = None;
        let written = self.write_atomic(&dest, |f| {
            bad = copy_checked(&mut src, f, part_size, sums)?;
            match bad {
                Some(_) => Err(io::Error::other("part checksum mismatch")),
                None => Ok(()),
            }
        });
        match bad {
            Some(reason) => Err(Error::Rejected {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "put_file",
                status: 400,
                code: "BadDigest".into(),
                message: format!("{}: {reason}", path.display()),
            }),
            None => written.map(|()| Stored::default()),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => fsync_dir(path.parent().expect("keys are below the root")),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(Error::io("deleting", path, e)),
        }
    }

    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        let dest = self.path_of(key)?;
        let dir = dest.parent().expect("keys are below the root");
        create_dirs(dir)?;
        let lock_path = self.root.join(LOCK_DIR).join(key);
        let lock_dir = lock_path.parent().expect("keys are below the root");
        create_dirs(lock_dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("opening lock file", &lock_path, e))?;
        if perms::is_group_shared(lock_dir) {
            // Other members of the group take this lock too.
            perms::share_with_group(&lock_path)
                .map_err(|e| Error::io("sharing lock file", &lock_path, e))?;
        }
        lock.lock()
            .map_err(|e| Error::io("locking", &lock_path, e))?;

        let current = match File::open(&dest) {
            Ok(mut f) => Some(self.etag_of(&mut f, &dest)?.1),
            Err(e) if is_missing(&e) => None,
            Err(e) => return Err(Error::io("opening", dest, e)),
        };
        let holds = match (&cond, &current) {
            (Condition::Unconditional, _) => true,
            (Condition::IfAbsent, cur) => cur.is_none(),
            (Condition::IfMatch(want), Some(cur)) => want == cur,
            (Condition::IfMatch(_), None) => false,
        };
        if !holds {
            return Ok(CasOutcome::PreconditionFailed { current });
        }
        self.write_atomic(&dest, |f| f.write_all(data))?;
        let mut f = File::open(&dest).map_err(|e| Error::io("opening", &dest, e))?;
        let etag = self.etag_of(&mut f, &dest)?.1;
        // The lock is released when `lock` is dropped, after the rename.
        drop(lock);
        Ok(CasOutcome::Written { etag })
    }
}

/// Creates `dir` and its missing parents (group-shared under a setgid directory) and fsyncs
/// the directory each new one was made in.
fn create_dirs(dir: &Path) -> Result<()> {
    let created = perms::create_dirs(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    for d in &created {
        if let Some(parent) = d.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// Makes renames, unlinks and new entries in `dir` durable.
fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing directory", dir, e))
}

/// Copies `src` to `dst` in `part_size` parts, hashing each; returns why the source does not
/// match `sums`, if it does not.
fn copy_checked(
    src: &mut File,
    dst: &mut File,
    part_size: u64,
    sums: &[[u8; 32]],
) -> io::Result<Option<String>> {
    let mut buf = vec![0u8; 256 << 10];
    for (i, want) in sums.iter().enumerate() {
        let mut h = Sha256::new();
        let mut part = (&mut *src).take(part_size);
        loop {
            let n = match part.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&buf[..n]);
            dst.write_all(&buf[..n])?;
        }
        if h.finalize().as_slice() != want {
            return Ok(Some(format!(
                "part {} does not match its SHA-256 checksum (the file changed since it was hashed)",
                i + 1
            )));
        }
    }
    if src.read(&mut buf[..1])? != 0 {
        return Ok(Some(
            "the file is longer than its part checksums cover".to_owned(),
        ));
    }
    Ok(None)
}

fn is_missing(e: &io::Error) -> bool {
    // NotADirectory: a key whose parent is a file, e.g. "a/b" when "a" is an object.
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[cfg(unix)]
fn stat_etag(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "s{}-m{}.{}-i{}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    )
}

#[cfg(not(unix))]
fn stat_etag(meta: &fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("s{}-m{}", meta.len(), mtime)
}
