//! Reading and keeping a repository's store: `ls`, `diff`, `gc` and `verify` as methods.

use std::io::BufRead;

use quilt_hash::{Entry, Line, ManifestLines, TopHash};
use quilt_store::{GcOptions, GcOutcome, VerifyOptions, VerifyReport};
use quilt_sync::packed::gc::{gc_remote, RemoteGcOptions, RemoteGcOutcome};

use crate::diff::{diff_headers, diff_manifests, Change, HeaderChange};
use crate::error::Result;
use crate::repo::Repository;
use crate::watch::Watch;

/// A version's entries, streamed from its manifest one line at a time (a manifest of a
/// million entries holds one entry in memory).
pub struct Entries {
    /// The version.
    pub top_hash: TopHash,
    lines: ManifestLines<Box<dyn BufRead + Send>>,
}

impl Entries {
    /// The manifest's header: `message`, `user_meta` and whatever else it carries.
    pub fn header(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.lines.header()
    }
}

impl Iterator for Entries {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            match self.lines.next()? {
                Ok(Line::Entry(e)) => return Some(Ok(e)),
                Ok(_) => continue,
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

impl Repository {
    /// The entries of version `rev` (as [`Repository::resolve_rev`] reads it), in manifest
    /// order.
    pub fn entries(&self, rev: &str) -> Result<Entries> {
        self.entries_of(self.resolve_rev(rev)?.top_hash)
    }

    /// The entries of the stored version `top_hash`.
    pub(crate) fn entries_of(&self, top_hash: TopHash) -> Result<Entries> {
        let lines = ManifestLines::new(self.store().open_manifest(&top_hash)?)?;
        Ok(Entries { top_hash, lines })
    }

    /// What changed between two stored versions: files (in manifest order) and package
    /// header fields (`message`, `user_meta`).
    pub fn diff(&self, old: &str, new: &str) -> Result<(Vec<Change>, Vec<HeaderChange>)> {
        let old = self.resolve_rev(old)?;
        let new = self.resolve_rev(new)?;
        let a = self.store().get_manifest(&old.top_hash)?;
        let b = self.store().get_manifest(&new.top_hash)?;
        Ok((diff_manifests(&a, &b), diff_headers(&a.header, &b.header)))
    }

    /// Removes from the store what no version and no checkout needs; see
    /// [`quilt_store::Store::gc`].
    pub fn gc(&self, opts: &GcOptions, watch: Watch<'_>) -> Result<GcOutcome> {
        Ok(self.store().gc(opts, watch.progress, watch.interrupt)?)
    }

    /// Collects a packed remote: removes and repacks packs that no manifest on it needs;
    /// see [`quilt_sync::packed::gc`].
    pub fn gc_remote(
        &self,
        remote: &dyn quilt_sync::Remote,
        opts: &RemoteGcOptions,
        watch: Watch<'_>,
    ) -> Result<RemoteGcOutcome> {
        Ok(gc_remote(
            self.store(),
            remote,
            opts,
            watch.progress,
            watch.interrupt,
        )?)
    }

    /// Re-hashes every object and checks every pack, index and manifest; see
    /// [`quilt_store::Store::verify`].
    pub fn verify(&self, opts: &VerifyOptions, watch: Watch<'_>) -> Result<VerifyReport> {
        Ok(self.store().verify(opts, watch.progress, watch.interrupt)?)
    }
}
