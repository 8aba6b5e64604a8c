//! Writing a manifest entry by entry, for builds that never hold every entry at once: each
//! line goes to a temp file as it comes and into the top hash, and the file takes its name
//! (the top hash) only when it is complete.

use std::io::Write as _;

use quilt_hash::{Entry, ManifestWriter, TopHash, TopHasher};
use serde_json::{Map, Value};
use tempfile::NamedTempFile;

use crate::layout::persist;
use crate::{Error, Result, Store};

/// A manifest being written; see [`Store::manifest_sink`]. Dropping it without
/// [`ManifestSink::finish`] deletes the temp file.
pub struct ManifestSink<'a> {
    store: &'a Store,
    out: ManifestWriter<NamedTempFile>,
    top: TopHasher,
}

impl std::fmt::Debug for ManifestSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestSink").finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a manifest with this header. Entries must then come in manifest order
    /// ([`quilt_hash::logical_key_cmp`]); the caller sees to that.
    pub fn manifest_sink(&self, header: &Map<String, Value>) -> Result<ManifestSink<'_>> {
        let tmp = self.layout.temp_file()?;
        let path = tmp.path().to_owned();
        let out =
            ManifestWriter::new(tmp, header).map_err(|e| Error::io_write("write", &path, e))?;
        Ok(ManifestSink {
            store: self,
            out,
            top: TopHasher::new(header),
        })
    }
}

impl ManifestSink<'_> {
    /// Appends the next entry.
    pub fn entry(&mut self, entry: &Entry) -> Result<()> {
        self.top.entry(entry);
        self.out
            .entry(entry)
            .map_err(|e| Error::io_write("write", &self.store.layout.tmp_dir(), e))
    }

    /// Stores the manifest under its top hash (temp file, fsync, rename), unless the store
    /// already has it, and returns the top hash.
    pub fn finish(self) -> Result<TopHash> {
        let top = self.top.finish();
        let tmp_dir = self.store.layout.tmp_dir();
        let mut tmp = self
            .out
            .finish()
            .map_err(|e| Error::io_write("write", &tmp_dir, e))?;
        if !self.store.has_manifest(&top) {
            tmp.flush()
                .map_err(|e| Error::io_write("write", &tmp_dir, e))?;
            let _lock = self.store.lock_shared()?;
            persist(tmp, &self.store.layout.manifest_path(&top.to_hex()))?;
        }
        Ok(top)
    }
}
