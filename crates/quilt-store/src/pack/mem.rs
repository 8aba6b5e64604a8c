//! Packs and indexes held in memory, in the same byte format as the store's own (see the
//! workspace's `docs/format.md` §4): what a packed remote stores. [`PackBuilder`] appends
//! records and finishes into the `.pack` and `.idx` bytes; [`PackIndex`] checks index bytes
//! and answers lookups. Both reuse the store's record and index encoding.

use quilt_hash::{HashType, ObjectId};

use super::checksum::Summer;
use super::index::{self, IndexEntry};
use super::{pack_file_header, HEADER_LEN, RECORD_HEADER_LEN, TRAILER_LEN};

/// One object in a pack, as its index describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackEntry {
    /// The object.
    pub id: ObjectId,
    /// Offset of its record (the 41-byte header, then the data) in the pack.
    pub offset: u64,
    /// Length of its data.
    pub len: u64,
}

impl PackEntry {
    /// The byte range of the whole record (header and data) in the pack.
    pub fn record_range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + RECORD_HEADER_LEN + self.len
    }
}

impl From<IndexEntry> for PackEntry {
    fn from(e: IndexEntry) -> Self {
        PackEntry {
            id: ObjectId::new(e.kind, e.digest),
            offset: e.offset,
            len: e.len,
        }
    }
}

/// Length of a record's header: type code, digest, data length.
pub const RECORD_HEADER: u64 = RECORD_HEADER_LEN;

/// A pack being built in memory. Objects are appended in the order given; the caller keeps
/// each (type, digest) once.
#[derive(Debug)]
pub struct PackBuilder {
    bytes: Vec<u8>,
    entries: Vec<IndexEntry>,
    sum: Summer,
}

/// A finished pack: its name (`pack-<hex of its trailer>`), its bytes and its index's bytes.
#[derive(Debug)]
pub struct BuiltPack {
    /// `pack-<64 hex>`: content-derived, so two writers of the same bytes pick the same name.
    pub name: String,
    /// The `.pack` bytes.
    pub pack: Vec<u8>,
    /// The `.idx` bytes.
    pub index: Vec<u8>,
    /// The objects in it.
    pub objects: Vec<ObjectId>,
}

impl Default for PackBuilder {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl PackBuilder {
    /// An empty pack expecting about `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> PackBuilder {
        let header = pack_file_header();
        let mut bytes = Vec::with_capacity(capacity);
        bytes.extend_from_slice(&header);
        PackBuilder {
            sum: Summer::new(&header),
            bytes,
            entries: Vec::new(),
        }
    }

    /// Appends one object.
    pub fn add(&mut self, id: &ObjectId, data: &[u8]) {
        let start = self.bytes.len();
        self.entries.push(IndexEntry {
            digest: id.digest,
            kind: id.kind,
            offset: start as u64,
            len: data.len() as u64,
        });
        self.bytes.push(id.kind.code());
        self.bytes.extend_from_slice(&id.digest);
        self.bytes
            .extend_from_slice(&(data.len() as u64).to_le_bytes());
        self.sum.record(id.kind, &self.bytes[start..], data);
        self.bytes.extend_from_slice(data);
    }

    /// Bytes so far.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether no object was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Closes the pack with its checksum (see [`super::checksum`]) and encodes its index.
    pub fn finish(self) -> BuiltPack {
        let mut bytes = self.bytes;
        let checksum = self.sum.finish();
        bytes.extend_from_slice(&checksum);
        let objects = self
            .entries
            .iter()
            .map(|e| ObjectId::new(e.kind, e.digest))
            .collect();
        let mut entries = self.entries;
        entries.sort_unstable_by_key(|e| (e.digest, e.kind.code()));
        let index = index::encode(&entries, bytes.len() as u64, &checksum);
        BuiltPack {
            name: format!("pack-{}", hex::encode(checksum)),
            pack: bytes,
            index,
            objects,
        }
    }
}

/// A checked pack index held in memory.
#[derive(Clone)]
pub struct PackIndex {
    bytes: Vec<u8>,
    count: u64,
}

impl std::fmt::Debug for PackIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackIndex")
            .field("count", &self.count)
            .finish()
    }
}

impl PackIndex {
    /// Checks `bytes` as the store checks an index it opens (magic, version, trailer,
    /// fan-out, order, types, bounds); the error says what is wrong.
    pub fn parse(bytes: Vec<u8>) -> Result<PackIndex, String> {
        let count = index::validate(&bytes)?;
        Ok(PackIndex { bytes, count })
    }

    /// Number of objects.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the index lists nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The pack's blake3 trailer, as recorded here: the pack's name is its hex.
    pub fn pack_checksum(&self) -> [u8; 32] {
        let at = self.bytes.len() - TRAILER_LEN as usize - 32;
        self.bytes[at..at + 32].try_into().expect("32 bytes")
    }

    /// The pack's length, as recorded here.
    pub fn pack_len(&self) -> u64 {
        let at = self.bytes.len() - TRAILER_LEN as usize - 40;
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The name the pack must have: `pack-<hex of its trailer>`.
    pub fn pack_name(&self) -> String {
        format!("pack-{}", hex::encode(self.pack_checksum()))
    }

    /// The index's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Every entry, sorted by (digest, type).
    pub fn entries(&self) -> impl Iterator<Item = PackEntry> + '_ {
        (0..self.count).map(|i| index::entry_at(&self.bytes, i).into())
    }

    /// The entry of `id`, by binary search.
    pub fn find(&self, id: &ObjectId) -> Option<PackEntry> {
        index::find_in(&self.bytes, self.count, id.kind, &id.digest).map(Into::into)
    }
}

/// Checks that the record header at the start of `record` (a record read from a pack) is the
/// one `e` describes, and returns the object's data.
pub fn record_data<'a>(record: &'a [u8], e: &PackEntry) -> Result<&'a [u8], String> {
    let header = RECORD_HEADER_LEN as usize;
    if (record.len() as u64) < RECORD_HEADER_LEN + e.len {
        return Err(format!(
            "the record at offset {} is cut short ({} bytes)",
            e.offset,
            record.len()
        ));
    }
    let kind = HashType::from_code(record[0]);
    let len = u64::from_le_bytes(record[33..41].try_into().expect("8 bytes"));
    if kind != Some(e.id.kind) || record[1..33] != e.id.digest || len != e.len {
        return Err(format!(
            "the record at offset {} does not match its index entry",
            e.offset
        ));
    }
    Ok(&record[header..header + e.len as usize])
}

/// Offset of the first record in a pack.
pub const FIRST_RECORD: u64 = HEADER_LEN;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use quilt_hash::hash_bytes;

    #[test]
    fn built_pack_round_trips_through_its_index() {
        let mut b = PackBuilder::default();
        let objs: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; i as usize * 7]).collect();
        for o in &objs {
            b.add(&hash_bytes(o), o);
        }
        let built = b.finish();
        let idx = PackIndex::parse(built.index.clone()).unwrap();
        assert_eq!(idx.len(), 50);
        assert_eq!(idx.pack_len(), built.pack.len() as u64);
        assert_eq!(idx.pack_name(), built.name);
        for o in &objs {
            let e = idx.find(&hash_bytes(o)).unwrap();
            let r = e.record_range();
            let data = record_data(&built.pack[r.start as usize..r.end as usize], &e).unwrap();
            assert_eq!(data, &o[..]);
        }
        assert!(idx.find(&hash_bytes(b"absent")).is_none());
        let mut bad = built.index;
        bad[2000] ^= 1;
        assert!(PackIndex::parse(bad).is_err());
    }
}
