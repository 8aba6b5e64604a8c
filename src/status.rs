//! `quilt status`: what changed in the working directory since the last build or checkout.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use quilt_hash::{hash_file, Manifest, ObjectId, PackageName, TopHash};
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

/// The working directory compared with the version it last built or checked out.
#[derive(Debug, Clone)]
pub struct Status {
    pub name: PackageName,
    pub top_hash: TopHash,
    pub changes: Vec<StatusEntry>,
    pub unchanged: u64,
}

impl Status {
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The current content id of each walked file, from the stat cache where it is trusted and by
/// hashing otherwise. Rows worth caching are returned for the caller to store.
pub(crate) fn current_ids(
    dir: &Path,
    files: &[WalkedFile],
    cache: &StatCache,
) -> Result<(Vec<ObjectId>, Vec<StatRow>)> {
    let started = now_ns();
    let cached = cache.align(files.iter().map(|f| &f.key));
    let out: Vec<(ObjectId, Option<StatRow>)> = files
        .par_iter()
        .zip(cached)
        .map(|(f, c)| {
            if let Some(c) = c.filter(|c| c.matches(f.size, f.mtime_ns, f.ino)) {
                return Ok((c.id, None));
            }
            let id = hash_path(&dir.join(&f.key), f.size)?;
            let row = (f.mtime_ns < started - 100_000_000).then(|| StatRow {
                key: f.key.clone(),
                size: f.size,
                mtime_ns: f.mtime_ns,
                inode: f.ino,
                id,
            });
            Ok((id, row))
        })
        .collect::<Result<_>>()?;
    let mut ids = Vec::with_capacity(out.len());
    let mut rows = Vec::new();
    for (id, row) in out {
        ids.push(id);
        rows.extend(row);
    }
    Ok((ids, rows))
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

impl Repository {
    /// The package version this working directory is at, if any.
    pub fn head(&self) -> Result<Option<(PackageName, TopHash)>> {
        Ok(self.store().worktree_head(self.worktree())?)
    }

    /// Compares the working directory with its head version.
    pub fn status(&self) -> Result<Status> {
        let dir: PathBuf = self.worktree().to_path_buf();
        let (name, top_hash) = self.head()?.ok_or_else(|| Error::NoHead(dir.clone()))?;
        let manifest = self.store().get_manifest(&top_hash)?;
        let ignore = IgnoreRules::load(&dir)?;
        let skip = vec![self.store().root().to_path_buf()];
        let files = walk_dir(&dir, &ignore, &skip)?;
        let cache = self.store().stat_cache_load(&dir)?;
        let (ids, rows) = current_ids(&dir, &files, &cache)?;
        self.store().stat_cache_store(&dir, &rows)?;
        let (changes, unchanged) = compare(&manifest, &files, &ids);
        Ok(Status {
            name,
            top_hash,
            changes,
            unchanged,
        })
    }
}

/// Changes from a manifest to the walked files, in manifest order.
pub(crate) fn compare(
    manifest: &Manifest,
    files: &[WalkedFile],
    ids: &[ObjectId],
) -> (Vec<StatusEntry>, u64) {
    let mut current: HashMap<&str, (&WalkedFile, &ObjectId)> = files
        .iter()
        .zip(ids)
        .map(|(f, id)| (f.key.as_str(), (f, id)))
        .collect();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for e in &manifest.entries {
        match current.remove(e.logical_key.as_str()) {
            None => changes.push(StatusEntry {
                key: e.logical_key.to_string(),
                kind: ChangeKind::Removed,
            }),
            Some((f, id)) if f.size == e.size && same_content(id, &e.hash) => unchanged += 1,
            Some(_) => changes.push(StatusEntry {
                key: e.logical_key.to_string(),
                kind: ChangeKind::Modified,
            }),
        }
    }
    let mut added: Vec<&str> = current.into_keys().collect();
    added.sort_by(|a, b| quilt_hash::logical_key_cmp(a, b));
    changes.extend(added.into_iter().map(|k| StatusEntry {
        key: k.to_owned(),
        kind: ChangeKind::Added,
    }));
    (changes, unchanged)
}

/// Contents are equal when their ids are; an old `SHA256` entry is compared by re-hashing
/// elsewhere, so here a type mismatch counts as a change only if digests differ in kind.
fn same_content(current: &ObjectId, recorded: &ObjectId) -> bool {
    current == recorded
}
