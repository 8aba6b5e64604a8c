//! Fetch from a packed remote: the objects the store lacks are looked up in the remote's pack
//! indexes, grouped by pack, and read with ranged GETs that merge neighbouring records. Each
//! record's header must match its index entry and each object must hash to the id the
//! manifest names before it is stored. A damaged pack stores nothing of the batch it was in
//! and the error names the pack and the objects wanted from it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{Entry, HashType, ObjectId, Progress, Unit};
use quilt_store::chunk::ChunkList;
use quilt_store::{pack::mem::record_data, ObjectWriter, PackEntry, Store};
use rayon::prelude::*;

use super::cache::RemotePacks;
use super::chunks::{check_object, fetch_list, store_lists};
use super::keys::pack_key;
use crate::transfer::error::{TResult, TransferError};
use crate::Remote;

/// Records closer than this are read in one GET, gap included.
const MERGE_GAP: u64 = 256 << 10;
/// A merged GET asks for at most this much.
const MAX_RANGE: u64 = 16 << 20;
/// Ranges committed to the store together: a killed fetch keeps what was committed.
const BATCH_BYTES: u64 = 256 << 20;

/// One ranged GET: a span of pack `pack` holding the records of `objects`.
#[derive(Debug)]
struct Range {
    pack: usize,
    start: u64,
    end: u64,
    objects: Vec<PackEntry>,
}

/// What a packed fetch did, and the entries it could not find in any pack (for the caller's
/// ordinary fetch by key).
pub(crate) struct PackedFetched<'m> {
    pub downloaded: u64,
    pub bytes: u64,
    pub rest: Vec<&'m Entry>,
}

/// Fetches the `missing` entries that the remote's packs hold; see the module docs.
pub(crate) fn fetch_packed<'m>(
    store: &Store,
    remote: &dyn Remote,
    missing: Vec<&'m Entry>,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<PackedFetched<'m>> {
    let packs = RemotePacks::refresh(store, remote, pool)?;
    let plan = plan(store, remote, &packs, missing, pool)?;
    let ranges = merge_ranges(plan.by_pack);
    let total: u64 = ranges.iter().flat_map(|r| &r.objects).map(|e| e.len).sum();
    progress.start("downloading", Some(total), Unit::Bytes);
    let bytes = AtomicU64::new(0);
    for batch in batches(&ranges) {
        let writer = store.writer()?;
        let result = pool.install(|| {
            batch.par_iter().try_for_each(|r| -> TResult<()> {
                if interrupt.load(Ordering::Relaxed) {
                    return Err(TransferError::Interrupted);
                }
                let n = fetch_range(&writer, remote, &packs, r)?;
                bytes.fetch_add(n, Ordering::Relaxed);
                progress.inc(n);
                Ok(())
            })
        });
        match result {
            // A damaged pack: nothing of this batch is kept.
            Err(e @ TransferError::CorruptRemotePack { .. }) => return Err(e),
            // Otherwise what was verified is kept, so the re-run fetches only the rest.
            other => {
                writer.commit()?;
                other?;
            }
        }
    }
    // Lists last: each needs its chunks stored, and is checked against its file's hash.
    store_lists(store, remote, &plan.lists)?;
    progress.finish();
    Ok(PackedFetched {
        downloaded: plan.direct + plan.lists.len() as u64,
        bytes: bytes.into_inner(),
        rest: plan.rest,
    })
}

/// What a packed fetch reads: records by pack, the chunk lists of files that come as chunks,
/// and the entries no pack holds.
struct Plan<'m> {
    by_pack: HashMap<usize, Vec<PackEntry>>,
    direct: u64,
    lists: Vec<(ObjectId, ChunkList)>,
    rest: Vec<&'m Entry>,
}

/// Looks every missing entry up in the packs: as a whole object, else as a chunk list (read
/// now, its chunks the store lacks looked up in turn), else left for the fetch by key.
fn plan<'m>(
    store: &Store,
    remote: &dyn Remote,
    packs: &RemotePacks,
    missing: Vec<&'m Entry>,
    pool: &rayon::ThreadPool,
) -> TResult<Plan<'m>> {
    let mut by_pack: HashMap<usize, Vec<PackEntry>> = HashMap::new();
    let (mut rest, mut chunked, mut direct) = (Vec::new(), Vec::new(), 0);
    for e in missing {
        match packs.find(&e.hash) {
            Some((n, pe)) if pe.len == e.size => {
                by_pack.entry(n).or_default().push(pe);
                direct += 1;
            }
            _ => match packs.find(&ChunkList::id_for(&e.hash)) {
                Some(hit) if e.hash.kind == HashType::Sha2_256Chunked => {
                    chunked.push((e.hash, e.size, hit))
                }
                _ => rest.push(e),
            },
        }
    }
    let lists: Vec<(ObjectId, ChunkList)> = pool.install(|| {
        chunked
            .par_iter()
            .map(|(file, size, hit)| Ok((*file, fetch_list(remote, packs, file, *size, *hit)?)))
            .collect::<TResult<_>>()
    })?;
    let mut seen = HashSet::new();
    for ((file, list), (_, _, (n, _))) in lists.iter().zip(&chunked) {
        for (chunk, len) in &list.chunks {
            if !seen.insert(*chunk) || store.contains(chunk)? {
                continue;
            }
            match packs.find(chunk) {
                Some((m, pe)) if pe.len == *len => by_pack.entry(m).or_default().push(pe),
                _ => {
                    return Err(TransferError::CorruptRemotePack {
                        remote: remote.describe(),
                        pack: pack_key(&packs.packs[*n].name),
                        reason: format!(
                            "the chunk list of {file} in it names chunk {chunk} ({len} bytes), which no pack on the remote holds"
                        ),
                        objects: vec![ChunkList::id_for(file)],
                    })
                }
            }
        }
    }
    Ok(Plan {
        by_pack,
        direct,
        lists,
        rest,
    })
}

/// Sorts each pack's entries by offset and merges neighbours into ranges.
fn merge_ranges(by_pack: HashMap<usize, Vec<PackEntry>>) -> Vec<Range> {
    let mut out = Vec::new();
    for (pack, mut entries) in by_pack {
        entries.sort_by_key(|e| e.offset);
        let mut cur: Option<Range> = None;
        for e in entries {
            let r = e.record_range();
            match &mut cur {
                Some(c) if r.start <= c.end + MERGE_GAP && r.end - c.start <= MAX_RANGE => {
                    c.end = c.end.max(r.end);
                    c.objects.push(e);
                }
                _ => {
                    out.extend(cur.take());
                    cur = Some(Range {
                        pack,
                        start: r.start,
                        end: r.end,
                        objects: vec![e],
                    });
                }
            }
        }
        out.extend(cur);
    }
    out
}

fn batches(ranges: &[Range]) -> Vec<&[Range]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, r) in ranges.iter().enumerate() {
        bytes += r.end - r.start;
        if bytes >= BATCH_BYTES {
            out.push(&ranges[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < ranges.len() {
        out.push(&ranges[start..]);
    }
    out
}

/// One ranged GET, each object in it checked and stored. Returns the object bytes stored.
fn fetch_range(
    writer: &ObjectWriter<'_>,
    remote: &dyn Remote,
    packs: &RemotePacks,
    r: &Range,
) -> TResult<u64> {
    let name = &packs.packs[r.pack].name;
    let key = pack_key(name);
    let corrupt = |reason: String, first: Option<PackEntry>| {
        let first_id = first.map(|e| e.id);
        let mut objects: Vec<_> = first_id.into_iter().collect();
        objects.extend(
            r.objects
                .iter()
                .map(|e| e.id)
                .filter(|id| Some(*id) != first_id),
        );
        TransferError::CorruptRemotePack {
            remote: remote.describe(),
            pack: key.clone(),
            reason,
            objects,
        }
    };
    let data = match remote.get_range(&key, r.start, r.end - r.start) {
        Ok(d) => d,
        Err(e) if e.is_not_found() => {
            return Err(TransferError::NotFound {
                remote: remote.describe(),
                what: format!(
                "pack {key} (listed a moment ago: a gc --remote may have repacked it; run again)"
            ),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let mut stored = 0;
    for e in &r.objects {
        let at = (e.offset - r.start) as usize;
        let body = data
            .get(at..)
            .ok_or_else(|| corrupt(format!("it ends before offset {}", e.offset), Some(*e)))
            .and_then(|rec| record_data(rec, e).map_err(|why| corrupt(why, Some(*e))))?;
        check_object(&e.id, body)
            .map_err(|why| corrupt(format!("{why} (record at offset {})", e.offset), Some(*e)))?;
        writer.put_bytes(&e.id, body)?;
        stored += e.len;
    }
    Ok(stored)
}
