//! A pack's checksum: its trailer, and (in hex) its name.
//!
//! A version 1 pack hashes every byte before the trailer. A version 2 pack hashes its file
//! header, every record header, and the data of only those records whose digest does not
//! already commit to their bytes (chunk lists, CRC64/NVME). The data of every other record is
//! named by a cryptographic hash of itself, which the header carries and the checksum covers,
//! and which `verify` re-hashes; hashing it a second time would only cost a writer a full pass
//! over every byte of every large file. The byte layout is in the workspace's `docs/format.md`.

use quilt_hash::HashType;

use super::{HEADER_LEN, PACK_MAGIC, RECORD_HEADER_LEN};

/// Packs written before chunking: the checksum covers every byte.
pub const PACK_V1: u32 = 1;
/// Packs written now: the checksum covers headers, and data its digest does not commit to.
pub const PACK_V2: u32 = 2;

/// Whether a record's digest is a cryptographic hash of its data, so a version 2 checksum
/// leaves the data out.
pub(crate) fn digest_covers_data(kind: HashType) -> bool {
    matches!(
        kind,
        HashType::Sha256 | HashType::Sha2_256Chunked | HashType::Blake3
    )
}

/// The checksum of a version 2 pack, fed record by record as the pack is written.
#[derive(Debug)]
pub(crate) struct Summer(blake3::Hasher);

impl Summer {
    /// Starts with the pack's 12-byte file header.
    pub fn new(file_header: &[u8]) -> Summer {
        let mut h = blake3::Hasher::new();
        h.update(file_header);
        Summer(h)
    }

    /// Adds one record: its 41-byte header, and its data unless the digest covers it.
    pub fn record(&mut self, kind: HashType, header: &[u8], data: &[u8]) {
        self.0.update(header);
        if !digest_covers_data(kind) {
            self.0.update(data);
        }
    }

    pub fn finish(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// Recomputes the checksum of `body`, a whole pack without its 32-byte trailer, by the rule
/// of the version it carries. A version 2 body must be whole records back to back; the error
/// says where it is not.
pub fn checksum(body: &[u8]) -> Result<[u8; 32], String> {
    if (body.len() as u64) < HEADER_LEN || body[..8] != PACK_MAGIC {
        return Err("it does not start with the pack magic".into());
    }
    let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
    match version {
        PACK_V1 => Ok(*blake3::Hasher::new()
            .update_rayon(body)
            .finalize()
            .as_bytes()),
        PACK_V2 => checksum_v2(body),
        v => Err(format!("unsupported pack version {v}")),
    }
}

fn checksum_v2(body: &[u8]) -> Result<[u8; 32], String> {
    let header_len = HEADER_LEN as usize;
    let record_header = RECORD_HEADER_LEN as usize;
    let mut sum = Summer::new(&body[..header_len]);
    let mut at = header_len;
    while at < body.len() {
        let Some(header) = body.get(at..at + record_header) else {
            return Err(format!("the record header at offset {at} is cut short"));
        };
        let kind = HashType::from_code(header[0]).ok_or_else(|| {
            format!(
                "the record at offset {at} has unknown type code {}",
                header[0]
            )
        })?;
        let len = u64::from_le_bytes(header[33..41].try_into().expect("8 bytes"));
        let start = at + record_header;
        let end = usize::try_from(len)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|end| *end <= body.len())
            .ok_or_else(|| format!("the record at offset {at} runs past the end"))?;
        sum.record(kind, header, &body[start..end]);
        at = end;
    }
    Ok(sum.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quilt_hash::{hash_bytes, hash_bytes_as};

    fn v2_pack(records: &[(HashType, [u8; 32], &[u8])]) -> Vec<u8> {
        let mut body = PACK_MAGIC.to_vec();
        body.extend_from_slice(&PACK_V2.to_le_bytes());
        for (kind, digest, data) in records {
            body.push(kind.code());
            body.extend_from_slice(digest);
            body.extend_from_slice(&(data.len() as u64).to_le_bytes());
            body.extend_from_slice(data);
        }
        body
    }

    #[test]
    fn v2_leaves_out_only_data_its_digest_covers() {
        let chunk = b"chunk bytes".as_slice();
        let list = b"list bytes".as_slice();
        let chunk_id = hash_bytes_as(HashType::Blake3, chunk);
        let body = v2_pack(&[
            (HashType::Blake3, chunk_id.digest, chunk),
            (HashType::ChunkList, hash_bytes(b"file").digest, list),
        ]);
        let sum = checksum(&body).expect("well formed");
        // The chunk's data may change without the checksum noticing (verify re-hashes it
        // against its digest); the list's may not, nor any header byte.
        let mut flipped = body.clone();
        flipped[12 + 41] ^= 1;
        assert_eq!(checksum(&flipped).expect("well formed"), sum);
        let mut flipped = body.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_ne!(checksum(&flipped).expect("well formed"), sum);
        let mut flipped = body.clone();
        flipped[12 + 5] ^= 1;
        assert_ne!(checksum(&flipped).expect("well formed"), sum);
    }

    #[test]
    fn v1_covers_every_byte() {
        let mut body = PACK_MAGIC.to_vec();
        body.extend_from_slice(&PACK_V1.to_le_bytes());
        body.extend_from_slice(b"anything at all");
        assert_eq!(
            checksum(&body).expect("v1"),
            *blake3::hash(&body).as_bytes()
        );
    }

    #[test]
    fn malformed_v2_bodies_are_refused_with_the_offset() {
        let body = v2_pack(&[(HashType::Sha256, [7; 32], b"abc")]);
        let short = &body[..body.len() - 1];
        assert!(checksum(short).expect_err("refused").contains("offset 12"));
        let mut long_len = body.clone();
        long_len[12 + 33..12 + 41].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(checksum(&long_len)
            .expect_err("refused")
            .contains("runs past"));
        let mut bad_type = body.clone();
        bad_type[12] = 200;
        assert!(checksum(&bad_type)
            .expect_err("refused")
            .contains("unknown type"));
        let cut_header = &body[..20];
        assert!(checksum(cut_header)
            .expect_err("refused")
            .contains("cut short"));
        let mut v9 = body;
        v9[8] = 9;
        assert!(checksum(&v9).expect_err("refused").contains("version 9"));
        assert!(checksum(b"QPA").is_err());
    }
}
