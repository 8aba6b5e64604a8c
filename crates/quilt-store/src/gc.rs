//! Garbage collection: with the store to itself, keep every object some recorded revision
//! (or worktree head) needs and drop the rest.
//!
//! Safety rests on one ordering: a rewritten pack is published before the pack it replaces
//! is deleted, so at every instant each reachable object is in at least one published pack.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use quilt_hash::{HashType, ObjectId, PackageName, Progress, TopHash, Unit};

use crate::chunk::ChunkList;

use crate::layout::{self, parse_hex32};
use crate::manifest_file::{self, ManifestKind};
use crate::pack::Pack;
use crate::{Error, Result, Store};

/// How gc behaves.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Report what would be removed without removing anything.
    pub dry_run: bool,
    /// Rewrite a pack when more than this fraction of its data bytes is garbage.
    pub repack_threshold: f64,
    /// Keep unreferenced loose objects and manifests younger than this. A build in another
    /// process stores objects and its manifest before it records the revision; a grace
    /// period keeps gc from collecting them in between. Zero collects everything.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            repack_threshold: 0.5,
            grace: Duration::ZERO,
        }
    }
}

/// What gc removed (or, with `dry_run`, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcOutcome {
    /// Distinct objects still needed.
    pub reachable_objects: u64,
    pub objects_removed: u64,
    /// Bytes of files removed, net of the packs written in their place.
    pub bytes_freed: u64,
    pub packs_rewritten: u64,
    /// Packs deleted outright because nothing in them was reachable.
    pub packs_removed: u64,
    /// Small packs merged into one because there were too many.
    pub packs_merged: u64,
    pub manifests_removed: u64,
    /// Temp files and index-less packs left by crashed writers.
    pub debris_removed: u64,
    /// Deltas rewritten as keyframes so the unrecorded versions they were based on could go.
    pub deltas_rebased: u64,
    /// Large files that were stored as one loose object (by a store from before chunking,
    /// or with chunking off) and are now stored as chunks.
    pub loose_migrated: u64,
    /// Versions no package records any more that gc kept anyway, and why.
    pub held: Vec<Held>,
}

/// A version that is no recorded revision but that gc keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub top: TopHash,
    /// The package the worktree has checked out under this name.
    pub name: PackageName,
    /// The working directory that has it checked out; checking out another version there
    /// (or `quilt delete` of the whole package and a new checkout) lets gc free it.
    pub worktree: PathBuf,
}

/// A set of object digests.
type Digests = HashSet<[u8; 32]>;

fn older_than(meta: &std::fs::Metadata, grace: Duration) -> bool {
    if grace.is_zero() {
        return true;
    }
    let Ok(modified) = meta.modified() else {
        return false;
    };
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age >= grace)
}

impl Store {
    /// Removes unreachable objects and manifests. Fails with [`Error::Busy`] if another
    /// process is writing, and refuses ([`Error::GcUnsafe`]) if any recorded manifest cannot
    /// be read, because then the objects it needs are unknown.
    pub fn gc(
        &self,
        opts: &GcOptions,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<GcOutcome> {
        let Some(_lock) = self.try_lock_exclusive()? else {
            return Err(Error::Busy {
                path: self.root().to_owned(),
            });
        };
        // gc exists to write; on a read-only store say so up front rather than succeed
        // vacuously or fail half way.
        if !opts.dry_run {
            let tmp = self.root().join("tmp");
            tempfile::tempfile_in(&tmp).map_err(|e| Error::io_write("write in", &tmp, e))?;
        }
        let check = || {
            if interrupt.load(Ordering::Relaxed) {
                Err(Error::Interrupted)
            } else {
                Ok(())
            }
        };
        let mut out = GcOutcome::default();
        let roots = self.gc_roots(&mut out)?;
        let (live_manifests, live, large) = self.mark_live(roots, progress, &check)?;
        out.reachable_objects = live.len() as u64;
        self.sweep_loose(&live, opts, &mut out, progress, &check)?;
        self.sweep_packs(&live, opts, &mut out, progress, interrupt)?;
        check()?;
        self.migrate_loose(&large, opts, &mut out, progress, &check)?;
        out.packs_merged = self.merge_small_packs(opts.dry_run, interrupt)?;

        self.remove_manifests(&live_manifests, opts, &mut out, &check)?;

        let (debris, debris_bytes) = self.remove_crash_debris(opts.dry_run)?;
        out.debris_removed = debris;
        out.bytes_freed += debris_bytes;
        if !opts.dry_run {
            for dir in [
                self.layout.pack_dir(),
                self.layout.loose_dir(),
                self.layout.packages_dir(),
            ] {
                layout::fsync_dir(&dir)?;
            }
            self.refresh_packs()?;
        }
        Ok(out)
    }

    /// The versions gc must keep: every recorded revision (required: an unreadable manifest
    /// stops gc), and whatever a worktree has checked out (recorded in `out.held` when no
    /// package records it any more).
    fn gc_roots(&self, out: &mut GcOutcome) -> Result<Vec<(String, TopHash, bool)>> {
        let mut roots: Vec<(String, TopHash, bool)> = Vec::new();
        for rev in self.db().all_revisions()? {
            roots.push((rev.name.to_string(), rev.top_hash, true));
        }
        let recorded: HashSet<TopHash> = roots.iter().map(|r| r.1).collect();
        for (dir, name, top) in self.db.worktree_heads()? {
            if !recorded.contains(&top) && self.has_manifest(&top) {
                out.held.push(Held {
                    top,
                    name: name.clone(),
                    worktree: dir,
                });
            }
            roots.push((name.to_string(), top, false));
        }
        Ok(roots)
    }

    /// The manifests and object digests the roots reach, and of those the files that are
    /// stored as chunks when written today. Manifests are read one at a time, so memory holds
    /// only the digest sets.
    fn mark_live(
        &self,
        roots: Vec<(String, TopHash, bool)>,
        progress: &dyn Progress,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<(HashSet<TopHash>, Digests, Digests)> {
        let mut live_manifests: HashSet<TopHash> = HashSet::new();
        let mut live: HashSet<[u8; 32]> = HashSet::new();
        let mut large: HashSet<[u8; 32]> = HashSet::new();
        let o = self.options;
        let chunked = |size| o.chunking.chunks(size, o.small_object_limit);
        progress.start(
            "finding reachable objects",
            Some(roots.len() as u64),
            Unit::Items,
        );
        for (name, top, required) in roots {
            check()?;
            progress.inc(1);
            if !live_manifests.insert(top) {
                continue;
            }
            match self.get_manifest(&top) {
                Ok(m) => {
                    live.extend(m.entries.iter().map(|e| e.hash.digest));
                    large.extend(
                        m.entries
                            .iter()
                            .filter(|e| e.hash.kind == HashType::Sha2_256Chunked && chunked(e.size))
                            .map(|e| e.hash.digest),
                    );
                }
                // A worktree may point at a version that was never recorded here.
                Err(_) if !required => {}
                Err(e) => {
                    return Err(Error::GcUnsafe {
                        package: name,
                        top,
                        source: Box::new(e),
                    })
                }
            }
        }
        progress.finish();
        self.mark_chunks(&mut live)?;
        Ok((live_manifests, live, large))
    }

    /// Adds the chunks of every live file stored as chunks. A live file's list shares its
    /// digest, so it is live already; a list that cannot be read stops gc, because the
    /// chunks it needs are then unknown.
    fn mark_chunks(&self, live: &mut HashSet<[u8; 32]>) -> Result<()> {
        self.refresh_packs()?;
        let packs = self.read_packs().packs.clone();
        let mut chunks = Vec::new();
        for pack in &packs {
            for e in pack.index.iter() {
                if e.kind != HashType::ChunkList || !live.contains(&e.digest) {
                    continue;
                }
                let file = ObjectId::new(HashType::Sha2_256Chunked, e.digest);
                let list = ChunkList::decode(pack.data_of(&e)?).map_err(|err| {
                    Error::CorruptChunkList {
                        id: file,
                        reason: err.0,
                    }
                })?;
                chunks.extend(list.chunks.iter().map(|(c, _)| c.digest));
            }
        }
        live.extend(chunks);
        Ok(())
    }

    /// Removes loose objects nothing reaches (older than the grace period).
    fn sweep_loose(
        &self,
        live: &HashSet<[u8; 32]>,
        opts: &GcOptions,
        out: &mut GcOutcome,
        progress: &dyn Progress,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        let loose_dirs = layout::read_dir(&self.layout.loose_dir())?;
        progress.start(
            "removing loose objects",
            Some(loose_dirs.len() as u64),
            Unit::Items,
        );
        for dir in loose_dirs {
            check()?;
            progress.inc(1);
            let Some(prefix) = dir.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            for e in layout::read_dir(&dir.path())? {
                let name = e.file_name();
                let Some(digest) = name
                    .to_str()
                    .and_then(|n| parse_hex32(&format!("{prefix}{n}")))
                else {
                    continue;
                };
                if live.contains(&digest) {
                    continue;
                }
                let Ok(meta) = e.metadata() else { continue };
                if !older_than(&meta, opts.grace) {
                    continue;
                }
                out.objects_removed += 1;
                out.bytes_freed += meta.len();
                if !opts.dry_run {
                    layout::remove_file(&e.path())?;
                }
            }
            if !opts.dry_run {
                // Empty fan-out directories are recreated on demand.
                let _ = std::fs::remove_dir(dir.path());
            }
        }
        progress.finish();
        Ok(())
    }

    /// Deletes packs that hold nothing reachable and rewrites those whose garbage exceeds
    /// the threshold (each rewrite published before its old pack goes).
    fn sweep_packs(
        &self,
        live: &HashSet<[u8; 32]>,
        opts: &GcOptions,
        out: &mut GcOutcome,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<()> {
        self.refresh_packs()?;
        let packs: Vec<_> = self.read_packs().packs.clone();
        progress.start("repacking", Some(packs.len() as u64), Unit::Items);
        let mut rewritten = false;
        for pack in packs {
            if interrupt.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            progress.inc(1);
            let meta = std::fs::metadata(&pack.pack_path)
                .map_err(|e| Error::io("stat", &pack.pack_path, e))?;
            let total: u64 = pack.data_bytes();
            let (dead_n, dead_bytes) = pack
                .index
                .iter()
                .filter(|e| !live.contains(&e.digest))
                .fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.len));
            if dead_n == 0 {
                continue;
            }
            // A young pack may hold objects of a build that has not recorded its revision yet.
            if !older_than(&meta, opts.grace) {
                continue;
            }
            let idx_len = std::fs::metadata(&pack.idx_path)
                .map(|m| m.len())
                .unwrap_or(0);
            if dead_n == pack.index.len() {
                out.objects_removed += dead_n;
                out.bytes_freed += meta.len() + idx_len;
                out.packs_removed += 1;
                if !opts.dry_run {
                    self.remove_pack(&pack)?;
                }
                continue;
            }
            let garbage = dead_bytes as f64 / total.max(1) as f64;
            if garbage <= opts.repack_threshold {
                continue;
            }
            out.objects_removed += dead_n;
            out.packs_rewritten += 1;
            if opts.dry_run {
                out.bytes_freed += dead_bytes;
                continue;
            }
            let written = self.rewrite_pack(&pack, live, interrupt)?;
            out.bytes_freed += (meta.len() + idx_len).saturating_sub(written);
            rewritten = true;
        }
        progress.finish();
        if rewritten {
            self.refresh_packs()?;
        }
        Ok(())
    }

    /// Removes the manifests no root refers to. A kept delta whose base is one of them is
    /// first rewritten as a keyframe, so a deleted version is freed even when a later
    /// version was stored as a delta against it.
    fn remove_manifests(
        &self,
        live_manifests: &HashSet<TopHash>,
        opts: &GcOptions,
        out: &mut GcOutcome,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        let mut candidates = Vec::new();
        let mut kept: Vec<TopHash> = Vec::new();
        for e in layout::read_dir(&self.layout.packages_dir())? {
            check()?;
            let Some(top) = e.file_name().to_str().and_then(parse_hex32).map(TopHash) else {
                continue;
            };
            let old = e.metadata().ok().filter(|m| older_than(m, opts.grace));
            match old {
                Some(meta) if !live_manifests.contains(&top) => candidates.push((top, e, meta)),
                _ => kept.push(top),
            }
        }
        let doomed: HashSet<TopHash> = candidates.iter().map(|c| c.0).collect();
        for top in &kept {
            check()?;
            if let Ok(ManifestKind::Delta { base }) = manifest_file::kind(&self.layout, top) {
                if doomed.contains(&base) {
                    out.deltas_rebased += 1;
                    if !opts.dry_run {
                        self.rewrite_as_keyframe(top)?;
                    }
                }
            }
        }
        // Deltas go before keyframes, so a crash in between never leaves a delta without its
        // base.
        let mut removals: Vec<(bool, std::fs::DirEntry, u64)> = candidates
            .into_iter()
            .map(|(top, e, meta)| {
                let delta = matches!(
                    manifest_file::kind(&self.layout, &top),
                    Ok(ManifestKind::Delta { .. })
                );
                (!delta, e, meta.len())
            })
            .collect();
        removals.sort_by_key(|r| r.0);
        for (_, e, len) in removals {
            check()?;
            out.manifests_removed += 1;
            out.bytes_freed += len;
            if !opts.dry_run {
                layout::remove_file(&e.path())?;
            }
        }
        Ok(())
    }

    /// Replaces a stored delta by a keyframe of the same manifest (temp file, fsync, rename).
    fn rewrite_as_keyframe(&self, top: &TopHash) -> Result<()> {
        let jsonl = manifest_file::read(&self.layout, top)?;
        let mut tmp = self.layout.temp_file()?;
        manifest_file::write_keyframe(tmp.as_file_mut(), false, |w| w.write_all(&jsonl))
            .map_err(|e| Error::io_write("write", tmp.path(), e))?;
        layout::persist(tmp, &self.layout.manifest_path(&top.to_hex()))
    }

    /// Writes the live objects of `pack` to new packs, publishes them, and only then deletes
    /// `pack`. Returns the bytes of the files written.
    fn rewrite_pack(
        &self,
        pack: &Pack,
        live: &HashSet<[u8; 32]>,
        interrupt: &AtomicBool,
    ) -> Result<u64> {
        let mut written = 0u64;
        let objects = pack.index.iter().filter(|e| live.contains(&e.digest));
        let finished = self.copy_into_packs(objects.map(|e| (pack, e)), interrupt)?;
        for f in &finished {
            written += std::fs::metadata(&f.idx_path).map(|m| m.len()).unwrap_or(0);
            written += std::fs::metadata(f.idx_path.with_extension("pack"))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        // The new pack may, by content, be an existing one (same live set): then it *is* the
        // old pack and must not be deleted.
        if finished.iter().any(|f| f.idx_path == pack.idx_path) {
            return Ok(written);
        }
        self.remove_pack(pack)?;
        Ok(written)
    }

    /// Deletes the index first so that the pack is never visible without its data.
    pub(crate) fn remove_pack(&self, pack: &Pack) -> Result<()> {
        layout::remove_file(&pack.idx_path)?;
        layout::fsync_dir(&self.layout.pack_dir())?;
        layout::remove_file(&pack.pack_path)
    }
}
