//! Verifying files stored as chunks: each list decodes, names chunks that are present and
//! undamaged, and reassembles to the file it is stored for.

use std::collections::HashSet;

use quilt_hash::{HashType, ObjectId};
use rayon::prelude::*;

use super::ChunkList;
use crate::hashing::StreamCheck;
use crate::pack::Pack;
use crate::verify::Problem;
use crate::{Error, Result, Store};

impl Store {
    /// Checks every chunk list in `packs`; `found` holds the problems seen so far (a chunk
    /// reported corrupt there is named rather than hashed again). Returns how many lists
    /// were checked and what is wrong with them.
    pub(crate) fn verify_chunk_lists(
        &self,
        packs: &[Pack],
        found: &[Problem],
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> Result<(u64, Vec<Problem>)> {
        let bad_chunks: HashSet<ObjectId> = found
            .iter()
            .filter_map(|p| match p {
                Problem::CorruptObject { id, .. } if id.kind == HashType::Blake3 => Some(*id),
                _ => None,
            })
            .collect();
        let lists: Vec<(&Pack, crate::pack::IndexEntry)> = packs
            .iter()
            .flat_map(|p| p.index.iter().map(move |e| (p, e)))
            .filter(|(_, e)| e.kind == HashType::ChunkList)
            .collect();
        self.refresh_packs()?;
        let problems = lists
            .par_iter()
            .filter_map(|(pack, e)| {
                if interrupted() {
                    return None;
                }
                let id = ObjectId::new(HashType::Sha2_256Chunked, e.digest);
                let bad = |chunk: Option<ObjectId>, reason: String| Problem::BadChunkList {
                    id,
                    file: pack.pack_path.clone(),
                    chunk,
                    reason,
                    breaks: Vec::new(),
                };
                let list = match pack.data_of(e).map(ChunkList::decode) {
                    Ok(Ok(list)) => list,
                    Ok(Err(err)) => return Some(bad(None, err.0)),
                    Err(err) => return Some(bad(None, err.to_string())),
                };
                if let Some((c, _)) = list.chunks.iter().find(|(c, _)| bad_chunks.contains(c)) {
                    return Some(bad(Some(*c), "the chunk is corrupt".into()));
                }
                match self.check_reassembly(&id, &list) {
                    Checked::Fine => None,
                    Checked::Missing(chunk) => Some(Problem::IncompleteChunkList {
                        id,
                        file: pack.pack_path.clone(),
                        chunk,
                    }),
                    Checked::Bad(chunk, reason) => Some(bad(chunk, reason)),
                }
            })
            .collect();
        Ok((lists.len() as u64, problems))
    }

    /// What is wrong with the file `id` as `list` reassembles it, if anything.
    fn check_reassembly(&self, id: &ObjectId, list: &ChunkList) -> Checked {
        let parts = match self.chunk_parts(id, list) {
            Ok(parts) => parts,
            Err(Error::ChunkMissing { chunk, .. }) => return Checked::Missing(chunk),
            Err(Error::ChunkLength {
                chunk,
                expected,
                actual,
                ..
            }) => {
                let reason = format!("the chunk is {actual} bytes long, the list says {expected}");
                return Checked::Bad(Some(chunk), reason);
            }
            Err(e) => return Checked::Bad(None, e.to_string()),
        };
        let mut check = StreamCheck::new(id, list.size);
        for (map, range) in &parts {
            check.update(&map[range.clone()]);
        }
        match check.finish() {
            Ok(()) => Checked::Fine,
            Err(Ok(actual)) => Checked::Bad(None, format!("its chunks reassemble to {actual}")),
            Err(Err(e)) => Checked::Bad(None, e.to_string()),
        }
    }
}

/// The outcome of reassembling one chunked file.
enum Checked {
    Fine,
    /// A chunk is not stored.
    Missing(ObjectId),
    /// The list or a chunk is damaged (the chunk, when one is at fault).
    Bad(Option<ObjectId>, String),
}
