//! Large files stored as chunk lists travel on a packed remote as their list object
//! (`(ChunkList, d)`, named by the file's `sha2-256-chunked` digest) plus their `blake3`
//! chunks, all in packs: a push sends only the chunks the remote lacks, a fetch gets the list,
//! then only the chunks the store lacks, and stores the list last with
//! `ObjectWriter::put_chunk_list`, which checks that the chunks reassemble to the file's hash.

use std::collections::HashSet;

use quilt_hash::{hash_bytes_as, HashType, ObjectId};
use quilt_store::chunk::ChunkList;
use quilt_store::{pack::mem::record_data, PackEntry, Store};

use super::cache::RemotePacks;
use super::keys::pack_key;
use super::PACKED_OBJECT_LIMIT;
use crate::transfer::error::{TResult, TransferError};
use crate::Remote;

/// `wanted` with every file the store keeps as a chunk list replaced by its list object and
/// its chunks (each distinct chunk once).
pub(crate) fn expand(store: &Store, wanted: &[(ObjectId, u64)]) -> TResult<Vec<(ObjectId, u64)>> {
    let mut out = Vec::with_capacity(wanted.len());
    let mut seen = HashSet::new();
    for (id, size) in wanted {
        let list = match (id.kind, *size >= PACKED_OBJECT_LIMIT) {
            (HashType::Sha2_256Chunked, true) => store.chunk_list(id)?,
            _ => None,
        };
        let Some(list) = list else {
            out.push((*id, *size));
            continue;
        };
        out.push((ChunkList::id_for(id), list.encode().len() as u64));
        for (chunk, len) in &list.chunks {
            if seen.insert(*chunk) {
                out.push((*chunk, *len));
            }
        }
    }
    Ok(out)
}

/// Checks an object read from a pack (or the store) against its id. A chunk list cannot be
/// hashed to its id (that is the file's hash): it must decode, and the file it describes is
/// checked when it is stored.
pub(crate) fn check_object(id: &ObjectId, data: &[u8]) -> Result<(), String> {
    if id.kind == HashType::ChunkList {
        return ChunkList::decode(data)
            .map(drop)
            .map_err(|e| format!("chunk list {id} does not decode: {}", e.0));
    }
    let actual = hash_bytes_as(id.kind, data);
    match actual == *id {
        true => Ok(()),
        false => Err(format!("object {id} hashes to {actual}")),
    }
}

/// The chunk list of file `file` (size `size`) from pack `n`, entry `e`: read, checked and
/// decoded.
pub(crate) fn fetch_list(
    remote: &dyn Remote,
    packs: &RemotePacks,
    file: &ObjectId,
    size: u64,
    (n, e): (usize, PackEntry),
) -> TResult<ChunkList> {
    let key = pack_key(&packs.packs[n].name);
    let corrupt = |reason: String| TransferError::CorruptRemotePack {
        remote: remote.describe(),
        pack: key.clone(),
        reason,
        objects: vec![e.id],
    };
    let r = e.record_range();
    let rec = remote.get_range(&key, r.start, r.end - r.start)?;
    let body = record_data(&rec, &e).map_err(corrupt)?;
    let list = ChunkList::decode(body)
        .map_err(|d| corrupt(format!("chunk list {} does not decode: {}", e.id, d.0)))?;
    if list.size != size {
        return Err(corrupt(format!(
            "chunk list of {file} describes {} bytes, the manifest says {size}",
            list.size
        )));
    }
    Ok(list)
}

/// Stores the lists of files whose chunks are all stored now; each is checked to reassemble
/// to its file's hash. Returns the files' bytes.
pub(crate) fn store_lists(
    store: &Store,
    remote: &dyn Remote,
    lists: &[(ObjectId, ChunkList)],
) -> TResult<u64> {
    if lists.is_empty() {
        return Ok(0);
    }
    let writer = store.writer()?;
    let mut bytes = 0;
    for (file, list) in lists {
        match writer.put_chunk_list(file, list) {
            Ok(_) => bytes += list.size,
            Err(quilt_store::Error::ContentMismatch { actual, .. }) => {
                return Err(TransferError::CorruptObject {
                    remote: remote.describe(),
                    key: format!("the chunks of {file} in {}", super::keys::PACKS_PREFIX),
                    expected: *file,
                    actual: actual.to_string(),
                    size: list.size,
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    writer.commit()?;
    Ok(bytes)
}
