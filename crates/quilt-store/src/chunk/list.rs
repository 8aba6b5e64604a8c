//! The chunk-list object: which chunks, in which order, make up a large file. Its byte
//! layout is specified in the workspace's `docs/format.md`.

use quilt_hash::{HashType, ObjectId};

/// First 8 bytes of every chunk list.
pub const LIST_MAGIC: [u8; 8] = *b"QCHUNKS\0";
/// The format version after the magic.
pub const LIST_VERSION: u32 = 1;
/// Magic 8, version 4, file size 8, chunk count 8.
const HEADER_LEN: usize = 8 + 4 + 8 + 8;
/// Type code 1, digest 32, length 8.
const ENTRY_LEN: usize = 1 + 32 + 8;
/// No chunk the store writes is longer than this (FastCDC's own upper bound); a list naming
/// a longer one is refused, so a reader never plans for absurd chunk sizes.
pub const MAX_CHUNK_LEN: u64 = 16 << 20;

/// A large file as the store keeps it: its size and its chunks (id and length, in file
/// order). Stored under `(ChunkList, d)` where `d` is the file's `sha2-256-chunked` digest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkList {
    /// The file's size: the sum of the chunk lengths.
    pub size: u64,
    /// Each chunk's id (`blake3`) and length, in file order.
    pub chunks: Vec<(ObjectId, u64)>,
}

/// Why bytes are not a chunk list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl ChunkList {
    /// The list's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.chunks.len() * ENTRY_LEN);
        out.extend_from_slice(&LIST_MAGIC);
        out.extend_from_slice(&LIST_VERSION.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.chunks.len() as u64).to_le_bytes());
        for (id, len) in &self.chunks {
            out.push(id.kind.code());
            out.extend_from_slice(&id.digest);
            out.extend_from_slice(&len.to_le_bytes());
        }
        out
    }

    /// Parses a list, refusing anything but a well-formed one: the count must match the
    /// length of `bytes` exactly (so a huge count allocates nothing), every chunk must be a
    /// `blake3` chunk of 1 to [`MAX_CHUNK_LEN`] bytes, and the lengths must sum to the size.
    pub fn decode(bytes: &[u8]) -> Result<ChunkList, DecodeError> {
        let bad = |s: String| Err(DecodeError(s));
        if bytes.len() < HEADER_LEN {
            return bad(format!("it is too short ({} bytes)", bytes.len()));
        }
        if bytes[..8] != LIST_MAGIC {
            return bad("it does not start with the chunk-list magic".into());
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != LIST_VERSION {
            return bad(format!("unsupported chunk-list version {version}"));
        }
        let size = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let count = u64::from_le_bytes(bytes[20..28].try_into().expect("8 bytes"));
        let body = (bytes.len() - HEADER_LEN) as u64;
        if count.checked_mul(ENTRY_LEN as u64) != Some(body) {
            return bad(format!(
                "it names {count} chunks but holds {body} bytes of entries ({ENTRY_LEN} each)"
            ));
        }
        let mut chunks = Vec::with_capacity(count as usize);
        let mut total = 0u64;
        for (i, raw) in bytes[HEADER_LEN..].chunks_exact(ENTRY_LEN).enumerate() {
            if HashType::from_code(raw[0]) != Some(HashType::Blake3) {
                return bad(format!("chunk {i} has type code {}, not blake3", raw[0]));
            }
            let digest: [u8; 32] = raw[1..33].try_into().expect("32 bytes");
            let len = u64::from_le_bytes(raw[33..41].try_into().expect("8 bytes"));
            if len == 0 || len > MAX_CHUNK_LEN {
                return bad(format!(
                    "chunk {i} is {len} bytes long (1 to {MAX_CHUNK_LEN} allowed)"
                ));
            }
            total = match total.checked_add(len) {
                Some(t) if t <= size => t,
                _ => return bad(format!("its chunks add up to more than its size {size}")),
            };
            chunks.push((ObjectId::new(HashType::Blake3, digest), len));
        }
        if total != size {
            return bad(format!(
                "its chunks add up to {total} bytes, not its size {size}"
            ));
        }
        Ok(ChunkList { size, chunks })
    }

    /// The id the list itself is stored under, for the file `file`.
    pub fn id_for(file: &ObjectId) -> ObjectId {
        ObjectId::new(HashType::ChunkList, file.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: u8) -> ObjectId {
        ObjectId::new(HashType::Blake3, [n; 32])
    }

    #[test]
    fn round_trips() {
        let list = ChunkList {
            size: 30,
            chunks: vec![(chunk(1), 10), (chunk(2), 20)],
        };
        let bytes = list.encode();
        assert_eq!(bytes.len(), HEADER_LEN + 2 * ENTRY_LEN);
        assert_eq!(ChunkList::decode(&bytes), Ok(list));
        let empty = ChunkList::default();
        assert_eq!(ChunkList::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn refuses_garbage() {
        let good = ChunkList {
            size: 30,
            chunks: vec![(chunk(1), 10), (chunk(2), 20)],
        }
        .encode();
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..10].to_vec(), "too short"),
            (good[..good.len() - 1].to_vec(), "holds"),
            (
                b"XCHUNKS\0".iter().chain(&good[8..]).copied().collect(),
                "magic",
            ),
        ];
        let mut v = good.clone();
        v[8] = 9;
        cases.push((v, "version"));
        let mut v = good.clone();
        v[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
        cases.push((v, "names"));
        let mut v = good.clone();
        v[12..20].copy_from_slice(&31u64.to_le_bytes());
        cases.push((v, "add up to 30"));
        let mut v = good.clone();
        v[12..20].copy_from_slice(&29u64.to_le_bytes());
        cases.push((v, "more than its size"));
        let mut v = good.clone();
        v[HEADER_LEN] = HashType::ChunkList.code();
        cases.push((v, "not blake3"));
        let mut v = good.clone();
        v[HEADER_LEN + 33..HEADER_LEN + 41].copy_from_slice(&0u64.to_le_bytes());
        cases.push((v, "0 bytes long"));
        let mut v = good;
        v[HEADER_LEN + 33..HEADER_LEN + 41].copy_from_slice(&u64::MAX.to_le_bytes());
        cases.push((v, "bytes long"));
        for (bytes, want) in cases {
            let err = ChunkList::decode(&bytes).expect_err(want);
            assert!(err.0.contains(want), "{err} should mention {want:?}");
        }
    }
}
