//! What S3's stored `x-amz-checksum-sha256` says about an object's quilt3 hash, so an object
//! already at its destination is recognised without reading it.
//!
//! S3 keeps the checksum the uploader sent: `base64(sha256(body))` for a single PUT, and
//! `base64(sha256(d1 || … || dN))-N` over the part digests for a multipart upload. quilt3's
//! `sha2-256-chunked` hash is the second form over 8 MiB chunks (bigger for huge files), so a
//! multipart checksum with the same value *is* the hash, and a single-part checksum converts
//! by hashing it once more (an empty object is the empty list of chunks: `sha256("")`).

use base64::Engine as _;
use quilt_hash::{chunk_size, HashType, ObjectId, MIN_CHUNK_SIZE};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Whether an object of `size` bytes whose stored checksum is `checksum` has the content `id`.
/// `false` whenever the checksum cannot tell (another part layout, a malformed value); the
/// caller then reads the object or sends it again. Never trusts an ETag.
pub fn checksum_matches(checksum: &str, size: u64, id: &ObjectId) -> bool {
    let (value, parts) = match checksum.split_once('-') {
        Some((v, n)) => match n.parse::<u64>() {
            Ok(n) if n > 0 => (v, Some(n)),
            _ => return false,
        },
        None => (checksum, None),
    };
    let Ok(bytes) = B64.decode(value) else {
        return false;
    };
    let Ok(digest) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        return false;
    };
    match (id.kind, parts) {
        // The composite over the parts equals the chunked hash only if the parts were the
        // chunks; equal values say so (a different layout gives a different value).
        (HashType::Sha2_256Chunked, Some(n)) => {
            n == size.div_ceil(chunk_size(size)).max(1) && digest == id.digest
        }
        (HashType::Sha2_256Chunked, None) if size < MIN_CHUNK_SIZE => {
            let empty: [u8; 32] = Sha256::digest(b"").into();
            let chunked = if size == 0 && digest == empty {
                empty
            } else {
                Sha256::digest(digest).into()
            };
            chunked == id.digest
        }
        (HashType::Sha256, None) => digest == id.digest,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quilt_hash::hash_bytes;

    fn b64(d: &[u8]) -> String {
        B64.encode(d)
    }

    #[test]
    fn single_part_checksums_convert_as_quilt3_converts_them() {
        let body = b"hello";
        let s3 = b64(&Sha256::digest(body));
        assert!(checksum_matches(&s3, 5, &hash_bytes(body)));
        assert!(!checksum_matches(&s3, 5, &hash_bytes(b"hellO")));
        let empty = b64(&Sha256::digest(b""));
        assert!(checksum_matches(&empty, 0, &hash_bytes(b"")));
        let plain = ObjectId::new(HashType::Sha256, Sha256::digest(body).into());
        assert!(checksum_matches(&s3, 5, &plain));
    }

    #[test]
    fn composite_checksums_match_only_the_chunk_layout() {
        let body = vec![7u8; (MIN_CHUNK_SIZE + 10) as usize];
        let id = hash_bytes(&body);
        let value = b64(&id.digest);
        assert!(checksum_matches(
            &format!("{value}-2"),
            body.len() as u64,
            &id
        ));
        assert!(!checksum_matches(
            &format!("{value}-3"),
            body.len() as u64,
            &id
        ));
        // A full-body checksum of a large object cannot be converted.
        let whole = b64(&Sha256::digest(&body));
        assert!(!checksum_matches(&whole, body.len() as u64, &id));
        for junk in ["", "-", "x-1", "AAAA-0", "AAAA"] {
            assert!(!checksum_matches(junk, 5, &hash_bytes(b"hello")), "{junk}");
        }
    }
}
