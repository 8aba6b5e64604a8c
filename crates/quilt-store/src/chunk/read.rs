//! Finding objects, chunked files included: a file stored as chunks answers `contains`,
//! `get` and `open_object` like any other object.

use std::path::PathBuf;
use std::sync::Arc;

use memmap2::Mmap;
use quilt_hash::{HashType, ObjectId};

use super::ChunkList;
use crate::pack::{IndexEntry, Pack};
use crate::{Error, Result, Store};

/// Where an object's bytes are.
pub(crate) enum Located {
    Packed(Arc<Pack>, IndexEntry),
    Loose(PathBuf),
    Chunked(ChunkList),
    Missing,
}

/// One chunk's bytes: a window on its mapped pack.
pub(crate) type Part = (Arc<Mmap>, std::ops::Range<usize>);

impl Store {
    /// Finds an object as far as this handle already knows it: no directory re-read.
    fn locate_cached(&self, id: &ObjectId) -> Result<Located> {
        if let Some((pack, e)) = self.find_packed_cached(id) {
            return Ok(Located::Packed(pack, e));
        }
        // Loose files are named by digest only; a chunk list (whose digest is its file's)
        // is never one.
        if id.kind != HashType::ChunkList {
            let path = self.layout.loose_path(&id.digest);
            if path.is_file() {
                return Ok(Located::Loose(path));
            }
        }
        Ok(match self.chunk_list_cached(id)? {
            Some(list) => Located::Chunked(list),
            None => Located::Missing,
        })
    }

    /// Finds an object, re-reading the pack directory once on a miss so that packs
    /// committed by other processes are seen.
    pub(crate) fn locate(&self, id: &ObjectId) -> Result<Located> {
        match self.locate_cached(id)? {
            Located::Missing => {
                self.refresh_packs()?;
                self.locate_cached(id)
            }
            found => Ok(found),
        }
    }

    /// The chunk list of `id` in the packs already mapped, if the file is stored as chunks.
    fn chunk_list_cached(&self, id: &ObjectId) -> Result<Option<ChunkList>> {
        if !matches!(id.kind, HashType::Sha2_256Chunked | HashType::ChunkList) {
            return Ok(None);
        }
        let list_id = ChunkList::id_for(id);
        let Some((pack, e)) = self.find_packed_cached(&list_id) else {
            return Ok(None);
        };
        let bytes = pack.data_of(&e)?;
        ChunkList::decode(bytes)
            .map(Some)
            .map_err(|e| Error::CorruptChunkList {
                id: file_id(id),
                reason: e.0,
            })
    }

    /// The chunk list of the file `id` (a `sha2-256-chunked` id, or the list's own id):
    /// `Some` when the file is stored as chunks. Its chunks may still be missing (a crash
    /// between packs); [`Store::contains`] checks them.
    pub fn chunk_list(&self, id: &ObjectId) -> Result<Option<ChunkList>> {
        if let Some(list) = self.chunk_list_cached(id)? {
            return Ok(Some(list));
        }
        self.refresh_packs()?;
        self.chunk_list_cached(id)
    }

    /// Writes the chunked file `id` whole to a temp file in the store's `tmp/`, for callers
    /// that need it as one file (a multipart upload streams from a path). Memory stays at
    /// one chunk; the caller verifies what it reads, and the file goes when dropped. Hold
    /// [`Store::hold_for_write`] while it exists: a writer that finds the store unused clears `tmp/`.
    pub fn reassemble_to_temp(&self, id: &ObjectId) -> Result<tempfile::NamedTempFile> {
        let list = self
            .chunk_list(id)?
            .ok_or(Error::ObjectMissing { id: *id })?;
        let parts = self.chunk_parts(id, &list)?;
        let mut tmp = self.layout.temp_file()?;
        for (map, range) in parts {
            std::io::Write::write_all(&mut tmp, &map[range])
                .map_err(|e| Error::io_write("write", tmp.path(), e))?;
        }
        Ok(tmp)
    }

    /// The first chunk of the chunked file `id` whose bytes do not hash to its name, and
    /// the pack holding it: where the damage a reassembly found lives. `None` if the file
    /// is not chunked or every chunk is sound.
    pub fn damaged_chunk(&self, id: &ObjectId) -> Result<Option<(ObjectId, PathBuf)>> {
        let Some(list) = self.chunk_list(id)? else {
            return Ok(None);
        };
        for (chunk, _) in &list.chunks {
            let Some((pack, e)) = self.find_packed(chunk)? else {
                continue;
            };
            if crate::hashing::hash_as(HashType::Blake3, pack.data_of(&e)?) != *chunk {
                return Ok(Some((*chunk, pack.pack_path.clone())));
            }
        }
        Ok(None)
    }

    /// Whether every chunk of `list` is in the packs already mapped.
    pub(crate) fn chunks_present_cached(&self, list: &ChunkList) -> bool {
        list.chunks
            .iter()
            .all(|(c, _)| self.find_packed_cached(c).is_some())
    }

    /// Each chunk's window in its mapped pack, in file order, checking that every chunk is
    /// there with the length the list gives.
    pub(crate) fn chunk_parts(&self, file: &ObjectId, list: &ChunkList) -> Result<Vec<Part>> {
        let file = file_id(file);
        let mut parts = Vec::with_capacity(list.chunks.len());
        for (chunk, len) in &list.chunks {
            let (pack, e) = match self.find_packed_cached(chunk) {
                Some(hit) => hit,
                None => self.find_packed(chunk)?.ok_or(Error::ChunkMissing {
                    file,
                    chunk: *chunk,
                })?,
            };
            if e.len != *len {
                return Err(Error::ChunkLength {
                    file,
                    chunk: *chunk,
                    expected: *len,
                    actual: e.len,
                });
            }
            let range = pack.data_range(&e)?;
            parts.push((Arc::clone(&pack.data), range));
        }
        Ok(parts)
    }
}

/// The file a chunk list belongs to (ids of other kinds are returned as they are).
pub(crate) fn file_id(id: &ObjectId) -> ObjectId {
    match id.kind {
        HashType::ChunkList => ObjectId::new(HashType::Sha2_256Chunked, id.digest),
        _ => *id,
    }
}
