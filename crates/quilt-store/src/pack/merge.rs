//! Merging small packs. Every build adds a pack per worker thread, and a lookup searches each
//! pack's index in turn, so many small packs slow every later lookup. Once there are more than
//! [`MAX_PACKS`], the packs under [`MERGE_BELOW`] bytes are copied into one new pack, which is
//! published before the old ones are removed: a crash in between leaves objects in two packs,
//! which is harmless, and never in none.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::pack::write::{FinishedPack, PackWriter};
use crate::pack::{IndexEntry, Pack};
use crate::{Error, Result, Store};

/// More packs than this are merged.
pub const MAX_PACKS: usize = 32;
/// Packs at least this large are left alone by a merge.
pub const MERGE_BELOW: u64 = 256 << 20;

impl Store {
    /// Copies objects of existing packs into new packs (rolling over at the size limit) and
    /// publishes them. The old packs are the caller's to remove, after this returns.
    pub(crate) fn copy_into_packs<'p>(
        &self,
        objects: impl Iterator<Item = (&'p Pack, IndexEntry)>,
        interrupt: &AtomicBool,
    ) -> Result<Vec<FinishedPack>> {
        let mut finished = Vec::new();
        let mut w = PackWriter::new(&self.layout)?;
        for (pack, e) in objects {
            if interrupt.load(Ordering::Relaxed) {
                // The temp pack is dropped; the old packs are untouched.
                return Err(Error::Interrupted);
            }
            w.add(e.kind, &e.digest, pack.data_of(&e)?)?;
            if w.len() >= self.options.pack_size_limit {
                let full = std::mem::replace(&mut w, PackWriter::new(&self.layout)?);
                finished.extend(full.finish(&self.layout)?);
            }
        }
        finished.extend(w.finish(&self.layout)?);
        Ok(finished)
    }

    /// Merges the small packs into one when there are more than [`MAX_PACKS`]. The caller
    /// holds the exclusive lock (gc does; see [`Store::merge_packs_if_idle`]). Returns how
    /// many packs were merged away (or, with `dry_run`, would be).
    pub(crate) fn merge_small_packs(&self, dry_run: bool, interrupt: &AtomicBool) -> Result<u64> {
        self.refresh_packs()?;
        let packs = self.read_packs().packs.clone();
        if packs.len() <= MAX_PACKS {
            return Ok(0);
        }
        let mut small: Vec<_> = packs
            .into_iter()
            .filter(|p| (p.data.len() as u64) < MERGE_BELOW)
            .collect();
        if small.len() < 2 {
            return Ok(0);
        }
        small.sort_by_key(|p| p.data.len());
        if dry_run {
            return Ok(small.len() as u64);
        }
        let mut seen = HashSet::new();
        let objects = small
            .iter()
            .flat_map(|p| p.index.iter().map(move |e| (&**p, e)));
        let objects = objects.filter(|(_, e)| seen.insert((e.kind.code(), e.digest)));
        let finished = self.copy_into_packs(objects, interrupt)?;
        for pack in &small {
            // A merged pack can be, by content, one of the old ones: that one stays.
            if finished.iter().any(|f| f.idx_path == pack.idx_path) {
                continue;
            }
            self.remove_pack(pack)?;
        }
        self.refresh_packs()?;
        Ok(small.len() as u64)
    }

    /// Merges small packs if there are more than twice [`MAX_PACKS`] and nobody else is using
    /// the store right now (a write command calls this on its way out). Returns how many
    /// packs were merged away.
    pub fn merge_packs_if_idle(&self) -> Result<u64> {
        self.refresh_packs()?;
        if self.read_packs().packs.len() <= 2 * MAX_PACKS {
            return Ok(0);
        }
        let Some(_excl) = self.try_lock_exclusive()? else {
            return Ok(0);
        };
        self.merge_small_packs(false, &AtomicBool::new(false))
    }
}
