//! Writing a manifest entry by entry, for builds that never hold every entry at once: each
//! line is compressed into a temp file as it comes and added to the top hash, and the file
//! takes its name (the top hash) only when it is complete.

use quilt_hash::{Entry, ManifestWriter, TopHash, TopHasher};
use serde_json::{Map, Value};
use tempfile::NamedTempFile;

use crate::manifest_file::KeyframeWriter;
use crate::{Error, Result, Store};

/// A manifest being written; see [`Store::manifest_sink`]. Dropping it without
/// [`ManifestSink::finish`] deletes the temp file.
pub struct ManifestSink<'a> {
    store: &'a Store,
    tmp: NamedTempFile,
    out: ManifestWriter<KeyframeWriter>,
    top: TopHasher,
    base: Option<TopHash>,
}

impl std::fmt::Debug for ManifestSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestSink").finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a manifest with this header. Entries must then come in manifest order
    /// ([`quilt_hash::logical_key_cmp`]); the caller sees to that. With a `base` (a version
    /// this one probably resembles, such as the package's latest), the manifest is stored as
    /// a delta against it when that is much smaller.
    pub fn manifest_sink(
        &self,
        header: &Map<String, Value>,
        base: Option<TopHash>,
    ) -> Result<ManifestSink<'_>> {
        let tmp = self.layout.temp_file()?;
        let err = |e| Error::io_write("write", tmp.path(), e);
        let file = tmp.as_file().try_clone().map_err(err)?;
        let keyframe = KeyframeWriter::new(file, base.is_some()).map_err(err)?;
        let out = ManifestWriter::new(keyframe, header).map_err(err)?;
        Ok(ManifestSink {
            store: self,
            tmp,
            out,
            top: TopHasher::new(header),
            base,
        })
    }
}

impl ManifestSink<'_> {
    /// Appends the next entry.
    pub fn entry(&mut self, entry: &Entry) -> Result<()> {
        self.top.entry(entry);
        self.out
            .entry(entry)
            .map_err(|e| Error::io_write("write", self.tmp.path(), e))
    }

    /// Stores the manifest under its top hash (fsync, rename), unless the store already has
    /// it, and returns the top hash.
    pub fn finish(self) -> Result<TopHash> {
        let top = self.top.finish();
        let err = |e| Error::io_write("write", self.tmp.path(), e);
        let jsonl = self.out.finish().map_err(err)?.finish().map_err(err)?;
        if !self.store.has_manifest(&top) {
            let _lock = self.store.lock_shared()?;
            self.store
                .place_manifest(&top, self.base.as_ref(), self.tmp, jsonl)?;
        }
        Ok(top)
    }
}
