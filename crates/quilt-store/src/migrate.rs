//! gc's last step for stores written before chunking: a large file a live version needs,
//! still stored as one loose object, is cut into chunks (shared with every other version's)
//! and a chunk list, and the loose object goes once they are published.

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;

use quilt_hash::{HashType, ObjectId, Progress, Unit};

use crate::chunk::ChunkList;
use crate::gc::{GcOptions, GcOutcome};
use crate::layout;
use crate::writer::ObjectWriter;
use crate::{Error, Result, Store};

/// Loose files cut in one batch: their chunks are published (one fsync per open pack) before
/// the batch's loose files are removed, so an interrupted gc loses at most one batch's work.
const BATCH_BYTES: u64 = 4 << 30;

/// A live loose file to cut: its digest, path and size.
type Candidate = ([u8; 32], PathBuf, u64);

impl Store {
    /// The loose objects among `large` (digests of live `sha2-256-chunked` files at or above
    /// the chunking threshold) that have no chunk list yet. gc holds the store exclusively.
    fn loose_to_migrate(&self, large: &HashSet<[u8; 32]>) -> Vec<Candidate> {
        let mut todo: Vec<Candidate> = large
            .iter()
            .filter_map(|d| {
                let path = self.layout.loose_path(d);
                let meta = std::fs::metadata(&path).ok()?;
                let file = ObjectId::new(HashType::Sha2_256Chunked, *d);
                let listed = self.find_packed_cached(&ChunkList::id_for(&file)).is_some();
                (meta.is_file() && !listed).then_some((*d, path, meta.len()))
            })
            .collect();
        todo.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        todo
    }

    /// Cuts the live large loose files into chunks; see the module's documentation. A loose
    /// file whose bytes no longer hash to its name is left alone (and logged): `verify`
    /// reports it.
    pub(crate) fn migrate_loose(
        &self,
        large: &HashSet<[u8; 32]>,
        opts: &GcOptions,
        out: &mut GcOutcome,
        progress: &dyn Progress,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        let todo = self.loose_to_migrate(large);
        if todo.is_empty() {
            return Ok(());
        }
        if opts.dry_run {
            out.loose_migrated = todo.len() as u64;
            return Ok(());
        }
        let total = todo.iter().map(|c| c.2).sum();
        progress.start(
            "moving large loose files into chunks",
            Some(total),
            Unit::Bytes,
        );
        let mut batch: Vec<Candidate> = Vec::new();
        let mut batch_bytes = 0;
        for c in todo {
            check()?;
            batch_bytes += c.2;
            batch.push(c);
            if batch_bytes >= BATCH_BYTES {
                self.migrate_batch(std::mem::take(&mut batch), out, progress, check)?;
                batch_bytes = 0;
            }
        }
        self.migrate_batch(batch, out, progress, check)?;
        progress.finish();
        layout::fsync_dir(&self.layout.loose_dir())?;
        Ok(())
    }

    fn migrate_batch(
        &self,
        batch: Vec<Candidate>,
        out: &mut GcOutcome,
        progress: &dyn Progress,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let writer = ObjectWriter::under_exclusive(self);
        let mut cut = Vec::new();
        for (digest, path, size) in batch {
            check()?;
            let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
            let done = writer.cut_file(&file, &path, size, || Ok::<_, Error>(true))?;
            progress.inc(size);
            match done {
                Some((id, list)) if id.digest == digest => {
                    writer.put_list_checked(&id, &list, false)?;
                    cut.push((path, size));
                }
                Some((id, _)) => tracing::warn!(
                    path = %path.display(),
                    actual = %id,
                    "a loose object does not hash to its name; it was left in place (`quilt verify` reports it)"
                ),
                None => tracing::warn!(
                    path = %path.display(),
                    "a loose object is shorter than its name's file; it was left in place"
                ),
            }
        }
        let written = writer.commit()?;
        // The lists and chunks are durable; only now do the loose copies go.
        for (path, size) in &cut {
            layout::remove_file(path)?;
            out.loose_migrated += 1;
            out.bytes_freed += size;
        }
        out.bytes_freed = out.bytes_freed.saturating_sub(written.bytes_written);
        Ok(())
    }
}
