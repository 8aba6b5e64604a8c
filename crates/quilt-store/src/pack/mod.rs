//! Pack files: many small objects appended to one immutable file, found through a sorted,
//! memory-mapped index. The byte layout is specified in the workspace's `docs/format.md`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use quilt_hash::{HashType, ObjectId};

use crate::{Error, Result};

pub mod checksum;
pub(crate) mod index;
pub mod mem;
pub(crate) mod merge;
pub(crate) mod sink;
pub(crate) mod write;

pub(crate) use index::{Index, IndexEntry};

/// First 8 bytes of every pack file.
pub const PACK_MAGIC: [u8; 8] = *b"QPACK\0\0\0";
/// First 8 bytes of every pack index.
pub const INDEX_MAGIC: [u8; 8] = *b"QPIDX\0\0\0";
/// The version an index carries after its magic.
pub const FORMAT_VERSION: u32 = 1;
/// The version a pack is written with (see [`checksum`]; version 1 packs stay readable).
pub const PACK_VERSION: u32 = checksum::PACK_V2;
/// Magic + version.
pub(crate) const HEADER_LEN: u64 = 12;
/// The 12 bytes a pack written now starts with: magic, then [`PACK_VERSION`].
pub(crate) fn pack_file_header() -> [u8; HEADER_LEN as usize] {
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(&PACK_MAGIC);
    header[8..].copy_from_slice(&PACK_VERSION.to_le_bytes());
    header
}
/// Type byte, digest, length.
pub(crate) const RECORD_HEADER_LEN: u64 = 1 + 32 + 8;
/// A blake3 digest closes both files (for a pack, see [`checksum`]).
pub(crate) const TRAILER_LEN: u64 = 32;

/// Maps a whole file read-only.
pub(crate) fn map_file(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: pack and index files are never modified after they are renamed into place;
    // gc removes them by unlinking, which leaves existing mappings intact. A foreign process
    // truncating them is outside what the store can defend against.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io("map", path, e))
}

/// One finished pack: its index and its data, both mapped.
#[derive(Debug)]
pub(crate) struct Pack {
    pub pack_path: PathBuf,
    pub idx_path: PathBuf,
    pub index: Index,
    pub data: Arc<Mmap>,
}

impl Pack {
    /// Opens the pack whose index is `idx_path`, checking everything that is cheap to check:
    /// both headers, index trailer, sizes, and that the pack ends with the checksum the index
    /// recorded.
    pub fn open(idx_path: &Path) -> Result<Pack> {
        let index = Index::open(idx_path)?;
        let pack_path = idx_path.with_extension("pack");
        let corrupt = |reason: String| Error::CorruptPack {
            path: pack_path.clone(),
            reason,
        };
        let file = File::open(&pack_path).map_err(|e| Error::io("open", &pack_path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &pack_path, e))?
            .len();
        if len != index.pack_len() {
            return Err(corrupt(format!(
                "it is {len} bytes long but its index says {}",
                index.pack_len()
            )));
        }
        if len < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(format!("it is too short ({len} bytes)")));
        }
        let data = map_file(&file, &pack_path)?;
        if data[..8] != PACK_MAGIC {
            return Err(corrupt("it does not start with the pack magic".into()));
        }
        let version = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
        if version != checksum::PACK_V1 && version != checksum::PACK_V2 {
            return Err(corrupt(format!("unsupported pack version {version}")));
        }
        if data[data.len() - TRAILER_LEN as usize..] != index.pack_checksum()[..] {
            return Err(corrupt(
                "its trailing checksum differs from the one its index recorded".into(),
            ));
        }
        Ok(Pack {
            pack_path,
            idx_path: idx_path.to_owned(),
            index,
            data: Arc::new(data),
        })
    }

    pub fn find(&self, id: &ObjectId) -> Option<IndexEntry> {
        self.index.find(id.kind, &id.digest)
    }

    /// The byte range of an object's data inside the mapped pack, after checking that the
    /// record header agrees with the index entry.
    pub fn data_range(&self, e: &IndexEntry) -> Result<std::ops::Range<usize>> {
        let corrupt = |reason: String| Error::CorruptPack {
            path: self.pack_path.clone(),
            reason,
        };
        let body_end = self.data.len() as u64 - TRAILER_LEN;
        let start = e
            .offset
            .checked_add(RECORD_HEADER_LEN)
            .filter(|s| e.offset >= HEADER_LEN && *s <= body_end)
            .ok_or_else(|| corrupt(format!("record offset {} is out of range", e.offset)))?;
        let end = start
            .checked_add(e.len)
            .filter(|end| *end <= body_end)
            .ok_or_else(|| corrupt(format!("record at {} runs past the end", e.offset)))?;
        let h = &self.data[e.offset as usize..start as usize];
        let kind = HashType::from_code(h[0]);
        let len = u64::from_le_bytes(h[33..41].try_into().expect("8 bytes"));
        if kind != Some(e.kind) || h[1..33] != e.digest || len != e.len {
            return Err(corrupt(format!(
                "the record at offset {} does not match its index entry",
                e.offset
            )));
        }
        Ok(start as usize..end as usize)
    }

    pub fn data_of(&self, e: &IndexEntry) -> Result<&[u8]> {
        let r = self.data_range(e)?;
        Ok(&self.data[r])
    }

    /// Total bytes of object data (excluding headers) in this pack.
    pub fn data_bytes(&self) -> u64 {
        self.index.iter().map(|e| e.len).sum()
    }
}
