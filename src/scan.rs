//! The walk paired with the stat cache: which walked files the cache still vouches for, the
//! current content id of each (hashing only what the cache cannot vouch for), and the rows
//! worth caching afterwards. `build`, `status`, `checkout` and `install` all scan this way.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use quilt_hash::{hash_file, HashType, ObjectId, StreamHasher};
use quilt_store::{StatCache, StatRow};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::walk::WalkedFile;

/// Now, in nanoseconds since the epoch: the start of a scan, against which
/// [`RACY_WINDOW_NS`] is measured.
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
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
