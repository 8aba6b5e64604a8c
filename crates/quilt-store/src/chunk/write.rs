//! Storing a chunk list: after its chunks, and only once they reassemble to the file.

use quilt_hash::{HashType, ObjectId};

use super::read::file_id;
use super::ChunkList;
use crate::hashing::StreamCheck;
use crate::{Error, ObjectWriter, Result};

impl ObjectWriter<'_> {
    /// Stores `list` as the file `id` (its `sha2-256-chunked` id, or the list's own id).
    /// Every chunk must already be stored and published, with the length the list gives,
    /// and the chunks, reassembled, must hash to `id` ([`Error::ContentMismatch`] otherwise);
    /// that is how a file fetched as chunks is stored. Returns `true` if the list is new.
    pub fn put_chunk_list(&self, id: &ObjectId, list: &ChunkList) -> Result<bool> {
        let file = match id.kind {
            HashType::Sha2_256Chunked | HashType::ChunkList => file_id(id),
            _ => return Err(Error::NotStorable { id: *id }),
        };
        let store = self.store;
        let parts = store.chunk_parts(&file, list)?;
        if let Some(known) = store.chunk_list(&file)? {
            if known == *list {
                return self.put_list_checked(&file, list, true);
            }
        }
        let mut check = StreamCheck::new(&file, list.size);
        for (map, range) in &parts {
            check.update(&map[range.clone()]);
        }
        match check.finish() {
            Ok(()) => {}
            Err(Ok(actual)) => {
                return Err(Error::ContentMismatch {
                    expected: file,
                    actual,
                })
            }
            Err(Err(e)) => return Err(e),
        }
        self.put_list_checked(&file, list, false)
    }

    /// Stores the list of `file`, whose content the caller has checked (or computed while
    /// cutting the chunks). The chunks must be stored first: in this writer's packs or
    /// already published.
    pub(crate) fn put_list_checked(
        &self,
        file: &ObjectId,
        list: &ChunkList,
        known: bool,
    ) -> Result<bool> {
        let list_id = ChunkList::id_for(file);
        if known || self.store.find_packed_cached(&list_id).is_some() {
            return self.dup();
        }
        let bytes = list.encode();
        let fill = |buf: &mut Vec<u8>| -> Result<Option<ObjectId>> {
            buf.extend_from_slice(&bytes);
            Ok(Some(list_id))
        };
        let done = self.put_packed_with(bytes.len() as u64, fill)?;
        Ok(done.is_some_and(|(_, new)| new))
    }
}
