//! The pack index: a fan-out table and fixed-width entries sorted by digest, so a lookup is
//! one table read and a binary search inside a memory map, without parsing the file.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use quilt_hash::HashType;

use super::{map_file, FORMAT_VERSION, HEADER_LEN, INDEX_MAGIC, TRAILER_LEN};
use crate::{Error, Result};

const FANOUT_LEN: u64 = 256 * 4;
/// digest 32, type 1, offset 8, length 8.
pub(crate) const ENTRY_LEN: u64 = 32 + 1 + 8 + 8;
/// Pack length 8 + pack checksum 32, before the index's own trailer.
const FOOTER_LEN: u64 = 8 + 32;
const ENTRIES_START: u64 = HEADER_LEN + FANOUT_LEN;

/// Where one object lives in its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub digest: [u8; 32],
    pub kind: HashType,
    /// Offset of the record (its header, not its data) in the pack file.
    pub offset: u64,
    /// Length of the object's data.
    pub len: u64,
}

/// The size an index with `count` entries must have.
pub(crate) fn index_len(count: u64) -> u64 {
    ENTRIES_START + count * ENTRY_LEN + FOOTER_LEN + TRAILER_LEN
}

/// Serializes an index. `entries` must be sorted by (digest, type) and free of duplicates.
pub(crate) fn encode(entries: &[IndexEntry], pack_len: u64, pack_checksum: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(index_len(entries.len() as u64) as usize);
    out.extend_from_slice(&INDEX_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let mut fanout = [0u32; 256];
    for e in entries {
        fanout[e.digest[0] as usize] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        out.extend_from_slice(&total.to_le_bytes());
    }
    for e in entries {
        out.extend_from_slice(&e.digest);
        out.push(e.kind.code());
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
    }
    out.extend_from_slice(&pack_len.to_le_bytes());
    out.extend_from_slice(pack_checksum);
    let trailer = blake3::hash(&out);
    out.extend_from_slice(trailer.as_bytes());
    out
}

/// Checks an index held in `bytes` and returns its entry count. Every entry is checked here
/// (type code, order, bounds), so lookups afterwards cannot meet a malformed entry.
pub(crate) fn validate(bytes: &[u8]) -> Result<u64, String> {
    let len = bytes.len() as u64;
    if len < index_len(0) {
        return Err(format!("it is too short ({len} bytes)"));
    }
    if bytes[..8] != INDEX_MAGIC {
        return Err("it does not start with the index magic".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!("unsupported index version {version}"));
    }
    let body = &bytes[..bytes.len() - TRAILER_LEN as usize];
    if blake3::hash(body).as_bytes()[..] != bytes[body.len()..] {
        return Err("its trailing checksum does not match its contents".into());
    }
    let mut prev = 0u32;
    for i in 0..256 {
        let v = fanout_at(bytes, i);
        if v < prev {
            return Err(format!("fan-out table decreases at byte {i:#04x}"));
        }
        prev = v;
    }
    let count = u64::from(prev);
    if len != index_len(count) {
        return Err(format!(
            "it is {len} bytes long but {count} entries need {}",
            index_len(count)
        ));
    }
    let pack_len = footer_pack_len(bytes, count);
    let mut last: Option<([u8; 32], u8)> = None;
    let mut bucket_start = 0u64;
    for b in 0..256usize {
        let end = u64::from(fanout_at(bytes, b));
        for i in bucket_start..end {
            let raw = raw_entry(bytes, i);
            let digest: [u8; 32] = raw[..32].try_into().expect("32 bytes");
            if digest[0] as usize != b {
                return Err(format!("entry {i} is in the wrong fan-out bucket"));
            }
            let key = (digest, raw[32]);
            if HashType::from_code(raw[32]).is_none() {
                return Err(format!("entry {i} has unknown hash type {}", raw[32]));
            }
            if last.is_some_and(|l| l >= key) {
                return Err(format!("entries are not sorted at entry {i}"));
            }
            last = Some(key);
            let offset = u64::from_le_bytes(raw[33..41].try_into().expect("8 bytes"));
            let dlen = u64::from_le_bytes(raw[41..49].try_into().expect("8 bytes"));
            let fits = offset
                .checked_add(super::RECORD_HEADER_LEN)
                .and_then(|s| s.checked_add(dlen))
                .is_some_and(|end| {
                    offset >= HEADER_LEN && end <= pack_len.saturating_sub(TRAILER_LEN)
                });
            if !fits {
                return Err(format!("entry {i} points outside the pack"));
            }
        }
        bucket_start = end;
    }
    Ok(count)
}

fn fanout_at(bytes: &[u8], i: usize) -> u32 {
    let at = HEADER_LEN as usize + i * 4;
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn raw_entry(bytes: &[u8], i: u64) -> &[u8] {
    let at = (ENTRIES_START + i * ENTRY_LEN) as usize;
    &bytes[at..at + ENTRY_LEN as usize]
}

fn footer_pack_len(bytes: &[u8], count: u64) -> u64 {
    let at = (ENTRIES_START + count * ENTRY_LEN) as usize;
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn decode_entry(raw: &[u8]) -> IndexEntry {
    IndexEntry {
        digest: raw[..32].try_into().expect("32 bytes"),
        kind: HashType::from_code(raw[32]).expect("type codes are checked when the index opens"),
        offset: u64::from_le_bytes(raw[33..41].try_into().expect("8 bytes")),
        len: u64::from_le_bytes(raw[41..49].try_into().expect("8 bytes")),
    }
}

/// An opened, validated index.
pub(crate) struct Index {
    pub path: PathBuf,
    map: Mmap,
    count: u64,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .field("count", &self.count)
            .finish()
    }
}

impl Index {
    pub fn open(path: &Path) -> Result<Index> {
        let corrupt = |reason: String| Error::CorruptIndex {
            path: path.to_owned(),
            reason,
        };
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        // Mapping an empty file fails on some platforms; a short file is corrupt anyway.
        if len < index_len(0) {
            return Err(corrupt(format!("it is too short ({len} bytes)")));
        }
        let map = map_file(&file, path)?;
        let count = validate(&map).map_err(corrupt)?;
        Ok(Index {
            path: path.to_owned(),
            map,
            count,
        })
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn pack_len(&self) -> u64 {
        footer_pack_len(&self.map, self.count)
    }

    pub fn pack_checksum(&self) -> [u8; 32] {
        let at = (ENTRIES_START + self.count * ENTRY_LEN + 8) as usize;
        self.map[at..at + 32].try_into().expect("32 bytes")
    }

    pub fn entry(&self, i: u64) -> IndexEntry {
        decode_entry(raw_entry(&self.map, i))
    }

    pub fn iter(&self) -> impl Iterator<Item = IndexEntry> + '_ {
        (0..self.count).map(|i| self.entry(i))
    }

    /// Binary search inside the fan-out bucket of the digest's first byte.
    pub fn find(&self, kind: HashType, digest: &[u8; 32]) -> Option<IndexEntry> {
        find_in(&self.map, self.count, kind, digest)
    }
}

/// Entry `i` of validated index bytes.
pub(crate) fn entry_at(bytes: &[u8], i: u64) -> IndexEntry {
    decode_entry(raw_entry(bytes, i))
}

/// Binary search of validated index bytes (`count` entries) inside the fan-out bucket of the
/// digest's first byte.
pub(crate) fn find_in(
    bytes: &[u8],
    count: u64,
    kind: HashType,
    digest: &[u8; 32],
) -> Option<IndexEntry> {
    let b = digest[0] as usize;
    let mut lo = if b == 0 {
        0
    } else {
        u64::from(fanout_at(bytes, b - 1))
    };
    let mut hi = u64::from(fanout_at(bytes, b)).min(count);
    let key = (digest.as_slice(), kind.code());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let raw = raw_entry(bytes, mid);
        match (&raw[..32], raw[32]).cmp(&key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(decode_entry(raw)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(first: u8, n: u8, offset: u64) -> IndexEntry {
        let mut digest = [n; 32];
        digest[0] = first;
        IndexEntry {
            digest,
            kind: HashType::Sha2_256Chunked,
            offset,
            len: 1,
        }
    }

    #[test]
    fn encode_then_validate() {
        let entries = vec![
            entry(0, 1, 12),
            entry(7, 2, 54),
            entry(7, 3, 96),
            entry(255, 4, 138),
        ];
        let bytes = encode(&entries, 12 + 4 * 42 + 32, &[9; 32]);
        assert_eq!(validate(&bytes), Ok(4));
        assert_eq!(bytes.len() as u64, index_len(4));
    }

    #[test]
    fn any_flipped_byte_is_rejected() {
        let entries = vec![entry(3, 1, 12), entry(200, 2, 54)];
        let bytes = encode(&entries, 12 + 2 * 42 + 32, &[9; 32]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(validate(&bad).is_err(), "flip at {i} went unnoticed");
        }
        assert!(validate(&bytes[..bytes.len() - 1]).is_err());
    }
}
