//! `quilt status`: what changed in the working directory since the last build or checkout.

use std::path::PathBuf;

use quilt_hash::{PackageName, TopHash};

use crate::diff::{compare, ChangeKind};
use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::repo::Repository;
use crate::scan::{current_ids, legacy_kinds};
use crate::walk::walk_dir;

pub use crate::diff::StatusEntry;

/// The working directory compared with the version it last built or checked out. A directory
/// that has none yet has no `name` and `top_hash`, and every file is new.
#[derive(Debug, Clone)]
pub struct Status {
    /// The package checked out here, if any.
    pub name: Option<PackageName>,
    /// The version checked out here, if any.
    pub top_hash: Option<TopHash>,
    /// Files added, removed or modified since that version.
    pub changes: Vec<StatusEntry>,
    /// Files as that version has them.
    pub unchanged: u64,
}

impl Status {
    /// Nothing changed.
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty()
    }
}

impl Repository {
    /// The package version this working directory is at, if any.
    pub fn head(&self) -> Result<Option<(PackageName, TopHash)>> {
        Ok(self.store().db().worktree_head(self.worktree())?)
    }

    /// The package checked out here, for commands whose package is optional; fails when
    /// nothing is checked out yet.
    pub fn checked_out_name(&self) -> Result<PackageName> {
        match self.head()? {
            Some((name, _)) => Ok(name),
            None => Err(Error::NothingCheckedOut),
        }
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
                    || self.store().db().stat_cache_load(&dir),
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
        self.store().db().stat_cache_store(&dir, &rows)?;
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
