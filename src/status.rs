//! `quilt status`: what changed in the working directory since the last build or checkout.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use quilt_hash::{
    hash_file, logical_key_cmp, EntrySummary, HashType, ObjectId, PackageName, StreamHasher,
    TopHash,
};
use quilt_store::{StatCache, StatRow};
use rayon::prelude::*;

use crate::build::now_ns;
use crate::diff::ChangeKind;
use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::repo::Repository;
use crate::walk::{walk_dir, WalkedFile};

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub key: String,
    pub kind: ChangeKind,
}

/// The working directory compared with the version it last built or checked out. A directory
/// that has none yet has no `name` and `top_hash`, and every file is new.
#[derive(Debug, Clone)]
pub struct Status {
    pub name: Option<PackageName>,
    pub top_hash: Option<TopHash>,
    pub changes: Vec<StatusEntry>,
    pub unchanged: u64,
}

impl Status {
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The hash type a key's content is compared under where that is not `sha2-256-chunked`: the
/// `SHA256` and `CRC64NVME` entries of manifests older quilt versions wrote. A file is hashed
/// under its entry's type, so the same content compares equal.
pub(crate) type LegacyKinds<'a> = HashMap<&'a str, HashType>;

/// The [`LegacyKinds`] of a version's entries (key, id).
pub(crate) fn legacy_kinds<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a ObjectId)>,
) -> LegacyKinds<'a> {
    entries
        .into_iter()
        .filter(|(_, id)| id.kind != HashType::Sha2_256Chunked)
        .map(|(key, id)| (key, id.kind))
        .collect()
}

/// The current content id of each walked file, from the stat cache where it is trusted and by
/// hashing otherwise, under the hash type `kinds` names for its key (else
/// `sha2-256-chunked`). Rows worth caching are returned for the caller to store.
pub(crate) fn current_ids(
    dir: &Path,
    files: &[WalkedFile],
    cache: &StatCache,
    kinds: &LegacyKinds<'_>,
) -> Result<(Vec<ObjectId>, Vec<StatRow>)> {
    let started = now_ns();
    // (id, whether it was hashed now): rows are made afterwards for the few that were.
    let out: Vec<(ObjectId, bool)> = files
        .par_iter()
        .zip(trusted_ids(cache, files))
        .map(|(f, cached)| {
            let kind = kinds
                .get(f.key.as_str())
                .copied()
                .unwrap_or(HashType::Sha2_256Chunked);
            match cached {
                Some(id) if id.kind == kind => Ok((id, false)),
                _ => Ok((hash_path_as(&dir.join(&f.key), f.size, kind)?, true)),
            }
        })
        .collect::<Result<_>>()?;
    let rows = new_stat_rows(files, &out, started).collect();
    Ok((out.into_iter().map(|(id, _)| id).collect(), rows))
}

/// The cached id of each walked file whose size, mtime and inode still match its row. The
/// walk and the cache are both in manifest order, so one merge pairs them up.
pub(crate) fn trusted_ids(cache: &StatCache, files: &[WalkedFile]) -> Vec<Option<ObjectId>> {
    let rows = cache.align(files.iter().map(|f| &f.key));
    rows.into_iter()
        .zip(files)
        .map(|(row, f)| {
            row.filter(|r| r.matches(f.size, f.mtime_ns, f.ino))
                .map(|r| r.id)
        })
        .collect()
}

/// Files modified this close to the start of a scan are not trusted from the stat cache next
/// time: a later write within the same timestamp tick would be invisible.
pub(crate) const RACY_WINDOW_NS: i64 = 100_000_000;

/// Stat cache rows for the files whose content was hashed now (`ids[i] = (id, true)`), leaving
/// out those modified within [`RACY_WINDOW_NS`] of `started_ns`.
pub(crate) fn new_stat_rows<'a>(
    files: &'a [WalkedFile],
    ids: &'a [(ObjectId, bool)],
    started_ns: i64,
) -> impl Iterator<Item = StatRow> + 'a {
    files
        .iter()
        .zip(ids)
        .filter(move |(f, (_, hashed))| *hashed && f.mtime_ns < started_ns - RACY_WINDOW_NS)
        .map(|(f, (id, _))| StatRow {
            key: f.key.clone(),
            size: f.size,
            mtime_ns: f.mtime_ns,
            inode: f.ino,
            id: *id,
        })
}

pub(crate) fn hash_path(path: &Path, size: u64) -> Result<ObjectId> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    hash_file(&file, size).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::FileChanged {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, e),
    })
}

/// [`hash_path`] under any hash type; the legacy ones stream the file through one hasher.
pub(crate) fn hash_path_as(path: &Path, size: u64, kind: HashType) -> Result<ObjectId> {
    if kind == HashType::Sha2_256Chunked {
        return hash_path(path, size);
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = StreamHasher::new(kind, size);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        hasher.update(&buf[..n]);
    }
    // A length other than the walk saw: the file changed while it was read.
    hasher.finalize().map_err(|_| Error::FileChanged {
        path: path.to_path_buf(),
    })
}

impl Repository {
    /// The package version this working directory is at, if any.
    pub fn head(&self) -> Result<Option<(PackageName, TopHash)>> {
        Ok(self.store().worktree_head(self.worktree())?)
    }

    /// Compares the working directory with its head version; with no head yet, every file is
    /// new.
    pub fn status(&self) -> Result<Status> {
        let head = self.head()?;
        let (changes, unchanged) = self.changes_since(head.as_ref().map(|(_, t)| t))?;
        let (name, top_hash) = head.unzip();
        Ok(Status {
            name,
            top_hash,
            changes,
            unchanged,
        })
    }

    /// What changed in the working directory since version `top` (everything is added when
    /// `top` is `None`), and how many files are unchanged.
    pub fn changes_since(&self, top: Option<&TopHash>) -> Result<(Vec<StatusEntry>, u64)> {
        let dir: PathBuf = self.worktree().to_path_buf();
        let ignore = IgnoreRules::load(&dir)?;
        let skip = vec![self.store().root().to_path_buf()];
        let Some(top_hash) = top else {
            let files = walk_dir(&dir, &ignore, &skip)?;
            let added = files
                .iter()
                .map(|f| StatusEntry {
                    key: f.key.clone(),
                    kind: ChangeKind::Added,
                })
                .collect();
            return Ok((added, 0));
        };
        // The walk waits on the file system; reading the manifest and the cache meanwhile
        // keeps both cores busy.
        let (files, (manifest, cache)) = rayon::join(
            || walk_dir(&dir, &ignore, &skip),
            || {
                rayon::join(
                    || self.store().manifest_summary(top_hash),
                    || self.store().stat_cache_load(&dir),
                )
            },
        );
        let (files, manifest, cache) = (files?, manifest?, cache?);
        tracing::debug!(files = files.len(), "walked the working directory");
        let kinds = legacy_kinds(
            manifest
                .entries
                .iter()
                .map(|e| (e.logical_key.as_str(), &e.hash)),
        );
        let (ids, rows) = current_ids(&dir, &files, &cache, &kinds)?;
        drop(cache);
        self.store().stat_cache_store(&dir, &rows)?;
        let (changes, unchanged) = compare(&manifest.entries, &files, &ids);
        tracing::info!(
            version = %top_hash,
            changed = changes.len(),
            unchanged,
            "compared the working directory with a version"
        );
        Ok((changes, unchanged))
    }
}

/// Changes from a version's entries to the walked files: removed and modified paths in
/// manifest order, then added ones. Both sides are walked together in manifest order.
pub(crate) fn compare(
    entries: &[EntrySummary],
    files: &[WalkedFile],
    ids: &[ObjectId],
) -> (Vec<StatusEntry>, u64) {
    let mut recorded: Vec<&EntrySummary> = entries.iter().collect();
    let sorted = recorded
        .windows(2)
        .all(|w| logical_key_cmp(&w[0].logical_key, &w[1].logical_key) == Ordering::Less);
    if !sorted {
        // quilt and quilt3 write sorted manifests; one from elsewhere may not be.
        recorded.sort_by(|a, b| logical_key_cmp(&a.logical_key, &b.logical_key));
    }
    let change = |key: &str, kind| StatusEntry {
        key: key.to_owned(),
        kind,
    };
    let mut changes = Vec::new();
    let mut added = Vec::new();
    let mut unchanged = 0;
    let mut current = files.iter().zip(ids).peekable();
    for e in recorded {
        let key = e.logical_key.as_str();
        loop {
            match current.peek() {
                Some((f, _)) if logical_key_cmp(&f.key, key) == Ordering::Less => {
                    added.push(change(&f.key, ChangeKind::Added));
                    current.next();
                }
                Some((f, id)) if f.key == key => {
                    if f.size == e.size && **id == e.hash {
                        unchanged += 1;
                    } else {
                        changes.push(change(key, ChangeKind::Modified));
                    }
                    current.next();
                    break;
                }
                _ => {
                    changes.push(change(key, ChangeKind::Removed));
                    break;
                }
            }
        }
    }
    added.extend(current.map(|(f, _)| change(&f.key, ChangeKind::Added)));
    changes.extend(added);
    (changes, unchanged)
}
