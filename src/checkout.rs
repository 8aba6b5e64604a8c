//! Writing a package version out as files: `checkout` (in the working directory, careful
//! about local changes) and `install` (into any destination).

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{Entry, EntrySummary, Manifest, ObjectId, Progress, TopHash, Unit, Verifier};
use quilt_store::{StatRow, Store};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::repo::Repository;
use crate::status::{compare, current_ids};
use crate::walk::{walk_dir, WalkedFile};

/// How to check out.
#[derive(Debug, Clone, Default)]
pub struct CheckoutOptions {
    /// Overwrite or delete files with local modifications.
    pub force: bool,
}

/// What a checkout or install wrote.
#[derive(Debug, Clone, Default)]
pub struct CheckoutOutcome {
    pub top_hash: Option<TopHash>,
    pub written: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub bytes: u64,
}

/// The path a logical key maps to under `dest`, refusing anything that would leave it.
pub fn target_path(dest: &Path, key: &str) -> Result<PathBuf> {
    let escape = || Error::PathEscape {
        key: key.to_owned(),
        dest: dest.to_path_buf(),
    };
    if key.is_empty() || key.contains('\0') || key.contains('\\') || key.starts_with('/') {
        return Err(escape());
    }
    if key
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(escape());
    }
    let rel = Path::new(key);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(escape());
    }
    Ok(dest.join(rel))
}

/// Creates the parent directories of `path` inside `dest`, refusing to follow a symbolic link
/// out of it.
fn prepare_parent(dest: &Path, key: &str, path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(dest);
    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let real_parent = fs::canonicalize(parent).map_err(|e| Error::io(parent, e))?;
    let real_dest = fs::canonicalize(dest).map_err(|e| Error::io(dest, e))?;
    if !real_parent.starts_with(&real_dest) {
        return Err(Error::PathEscape {
            key: key.to_owned(),
            dest: dest.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes one object to `path` atomically (temp file beside it, then rename), hashing the
/// bytes on the way: a corrupt stored object is refused, never written out.
fn write_object(store: &Store, id: &ObjectId, size: u64, path: &Path) -> Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let mut sink = VerifyingWriter {
        inner: tmp.as_file_mut(),
        verifier: Verifier::new(id, size),
    };
    let n = match store.loose_path(id) {
        Some(src) => {
            let mut f = fs::File::open(&src).map_err(|e| Error::io(&src, e))?;
            std::io::copy(&mut f, &mut sink).map_err(|e| Error::io(path, e))?
        }
        None => {
            let mut reader = store.open_object(id)?;
            std::io::copy(&mut reader, &mut sink).map_err(|e| Error::io(path, e))?
        }
    };
    if let Err(e) = sink.verifier.finish() {
        return Err(Error::CorruptObject {
            id: *id,
            detail: e.to_string(),
        });
    }
    tmp.as_file_mut().flush().map_err(|e| Error::io(path, e))?;
    // Temp files are created private; a checked-out file is an ordinary file.
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(file_mode()))
        .map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(n)
}

/// Prefix of the temp files checkout and install write beside their targets; the directory
/// walk never treats such a file as data (a killed checkout may leave one behind).
pub const TEMP_PREFIX: &str = ".quilt-tmp";

struct VerifyingWriter<'a> {
    inner: &'a mut fs::File,
    verifier: Verifier,
}

impl std::io::Write for VerifyingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.verifier.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The mode a new file gets under the process umask (0o666 & !umask).
fn file_mode() -> u32 {
    static MODE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| {
        // umask can only be read by setting it; do it once and put it back.
        let mask = unsafe { libc::umask(0o022) };
        unsafe { libc::umask(mask) };
        0o666 & !(mask as u32)
    })
}

/// Writes every entry of `manifest` under `dest`. Existing files are replaced. Every logical
/// key is checked before anything is written, so a hostile manifest writes nothing.
pub fn install(
    store: &Store,
    manifest: &Manifest,
    dest: &Path,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<CheckoutOutcome> {
    fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let targets: Vec<(&Entry, PathBuf)> = manifest
        .entries
        .iter()
        .map(|e| Ok((e, target_path(dest, e.logical_key.as_str())?)))
        .collect::<Result<_>>()?;
    for (e, _) in &targets {
        if !store.contains(&e.hash)? {
            return Err(quilt_store::Error::ObjectMissing { id: e.hash }.into());
        }
    }
    let bytes = write_all(store, dest, &targets, progress, interrupt)?;
    Ok(CheckoutOutcome {
        top_hash: None,
        written: targets.len() as u64,
        removed: 0,
        unchanged: 0,
        bytes,
    })
}

fn write_all(
    store: &Store,
    dest: &Path,
    targets: &[(&Entry, PathBuf)],
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<u64> {
    let total: u64 = targets.iter().map(|(e, _)| e.size).sum();
    progress.start("writing", Some(total), Unit::Bytes);
    let bytes = AtomicU64::new(0);
    targets.par_iter().try_for_each(|(e, path)| {
        if interrupt.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        prepare_parent(dest, e.logical_key.as_str(), path)?;
        let n = write_object(store, &e.hash, e.size, path)?;
        bytes.fetch_add(n, Ordering::Relaxed);
        progress.inc(e.size);
        Ok(())
    })?;
    progress.finish();
    Ok(bytes.into_inner())
}

impl Repository {
    /// Switches the working directory to another version, as `git checkout` does: files of the
    /// target are written, files only the current version had are removed, untracked files are
    /// left alone, and local modifications stop the checkout unless `force` is set.
    pub fn checkout(
        &self,
        rev: &str,
        opts: &CheckoutOptions,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<CheckoutOutcome> {
        let store = self.store();
        let target_rev = self.resolve_rev(rev)?;
        let target = store.get_manifest(&target_rev.top_hash)?;
        let dir = self.worktree().to_path_buf();
        let head = self.head()?;
        let current = match &head {
            Some((_, top)) => Some(store.get_manifest(top)?),
            None => None,
        };

        let ignore = IgnoreRules::load(&dir)?;
        let files = walk_dir(&dir, &ignore, &[store.root().to_path_buf()])?;
        let cache = store.stat_cache_load(&dir)?;
        let (ids, _) = current_ids(&dir, &files, &cache)?;
        let on_disk: HashMap<&str, (&WalkedFile, ObjectId)> = files
            .iter()
            .zip(ids.iter().copied())
            .map(|(f, id)| (f.key.as_str(), (f, id)))
            .collect();

        // Paths whose local content differs from the current version (or are untracked).
        let modified: std::collections::HashSet<String> = match &current {
            Some(m) => compare(
                &m.entries.iter().map(EntrySummary::from).collect::<Vec<_>>(),
                &files,
                &ids,
            )
            .0
            .into_iter()
            .map(|c| c.key)
            .collect(),
            None => files.iter().map(|f| f.key.clone()).collect(),
        };

        let mut to_write = Vec::new();
        let mut conflicts = Vec::new();
        let mut unchanged = 0;
        for e in &target.entries {
            let key = e.logical_key.as_str();
            let path = target_path(&dir, key)?;
            match on_disk.get(key) {
                Some((_, id)) if *id == e.hash => unchanged += 1,
                Some(_) if modified.contains(key) && !opts.force => conflicts.push(key.to_owned()),
                _ => to_write.push((e, path)),
            }
        }
        let target_keys: std::collections::HashSet<&str> = target
            .entries
            .iter()
            .map(|e| e.logical_key.as_str())
            .collect();
        let mut to_remove = Vec::new();
        if let Some(cur) = &current {
            for e in &cur.entries {
                let key = e.logical_key.as_str();
                if target_keys.contains(key) || !on_disk.contains_key(key) {
                    continue;
                }
                if modified.contains(key) && !opts.force {
                    conflicts.push(key.to_owned());
                } else {
                    to_remove.push(target_path(&dir, key)?);
                }
            }
        }
        if let Some(example) = conflicts.first() {
            return Err(Error::WouldOverwrite {
                count: conflicts.len(),
                example: example.clone(),
            });
        }
        for (e, _) in &to_write {
            if !store.contains(&e.hash)? {
                return Err(quilt_store::Error::ObjectMissing { id: e.hash }.into());
            }
        }

        let bytes = write_all(store, &dir, &to_write, progress, interrupt)?;
        for path in &to_remove {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
            remove_empty_parents(&dir, path);
        }

        // Remember what was written so `status` need not hash it again.
        let rows: Vec<StatRow> = to_write
            .iter()
            .filter_map(|(e, path)| {
                let md = fs::metadata(path).ok()?;
                let w = WalkedFile::from_metadata(String::new(), &md);
                Some(StatRow {
                    key: e.logical_key.to_string(),
                    size: w.size,
                    mtime_ns: w.mtime_ns,
                    inode: w.ino,
                    id: e.hash,
                })
            })
            .collect();
        store.stat_cache_store(&dir, &rows)?;
        let name = match target_rev.name.or_else(|| head.map(|h| h.0)) {
            Some(n) => n,
            None => {
                return Err(Error::BadRev {
                    rev: rev.to_owned(),
                    reason: "name the package as NS/PKG@HASH".to_owned(),
                })
            }
        };
        store.set_worktree_head(&dir, &name, &target_rev.top_hash)?;
        Ok(CheckoutOutcome {
            top_hash: Some(target_rev.top_hash),
            written: to_write.len() as u64,
            removed: to_remove.len() as u64,
            unchanged,
            bytes,
        })
    }
}

fn remove_empty_parents(root: &Path, path: &Path) {
    let mut p = path.parent();
    while let Some(dir) = p {
        if dir == root || !dir.starts_with(root) || fs::remove_dir(dir).is_err() {
            break;
        }
        p = dir.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keys_are_refused() {
        let dest = Path::new("/tmp/dest");
        for key in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "a/./b",
            "",
            "a\0b",
            "..\\x",
        ] {
            assert!(target_path(dest, key).is_err(), "{key:?} should be refused");
        }
        assert_eq!(
            target_path(dest, "a/b.txt").expect("plain key"),
            dest.join("a/b.txt")
        );
    }
}
