//! From a checksum S3 computed to quilt3's `sha2-256-chunked` hash, without reading the object.
//!
//! quilt3's hash is sha256 over the sha256 digests of 8 MiB chunks (larger for objects of more
//! than 10,000 chunks), and sha256 of nothing for an empty object. S3's `ChecksumSHA256` is:
//! - for a plain upload, sha256 of the whole object: that object is one chunk when it is at
//!   most one chunk long, and then quilt3's hash is sha256 of that digest (quilt3's
//!   `_simple_s3_to_quilt_checksum`);
//! - for a multipart upload, `base64(sha256(d1 || … || dN))-N` over the part digests: exactly
//!   quilt3's hash when the parts are the chunks, i.e. N is the chunk count and every part but
//!   the last is one chunk long. One part is always its one chunk; for more, the part sizes
//!   must be asked for (`GetObjectAttributes`), and a server that does not tell them leaves
//!   the object to be hashed.

use base64::Engine as _;
use quilt_hash::{chunk_size, HashType, ObjectId};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What a stored checksum says about an object's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// The hash, from the checksum alone.
    Hash(ObjectId),
    /// The hash is `digest` if the object's `parts` parts are its chunks; ask for the sizes.
    IfPartsAreChunks {
        /// The hash's digest, if the parts are the chunks.
        digest: [u8; 32],
        /// How many parts the object was uploaded in.
        parts: u64,
    },
    /// Nothing: no checksum, or one that does not map onto the chunked hash.
    Nothing,
}

/// The chunked hash of an empty object: sha256 of no chunk digests.
pub fn empty_hash() -> ObjectId {
    ObjectId::new(HashType::Sha2_256Chunked, Sha256::digest(b"").into())
}

/// How many chunks quilt3 cuts an object of `size` bytes into.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(chunk_size(size))
}

/// Reads `x-amz-checksum-sha256` of an object of `size` bytes.
pub fn from_s3_checksum(size: u64, checksum: Option<&str>) -> Known {
    if size == 0 {
        return Known::Hash(empty_hash());
    }
    let Some(checksum) = checksum.map(str::trim) else {
        return Known::Nothing;
    };
    let (b64, parts) = match checksum.split_once('-') {
        None => (checksum, None),
        Some((b64, n)) => match n.parse::<u64>() {
            Ok(n) if n > 0 => (b64, Some(n)),
            _ => return Known::Nothing,
        },
    };
    let Some(digest) = B64
        .decode(b64)
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
    else {
        return Known::Nothing;
    };
    let chunks = chunk_count(size);
    match parts {
        // The whole object's digest is its one chunk's digest.
        None if chunks == 1 => Known::Hash(ObjectId::new(
            HashType::Sha2_256Chunked,
            Sha256::digest(digest).into(),
        )),
        None => Known::Nothing,
        Some(n) if n != chunks => Known::Nothing,
        Some(1) => Known::Hash(ObjectId::new(HashType::Sha2_256Chunked, digest)),
        Some(n) => Known::IfPartsAreChunks { digest, parts: n },
    }
}

/// Whether parts of these sizes are exactly quilt3's chunks of an object of `size` bytes.
pub fn parts_are_chunks(size: u64, part_sizes: &[u64]) -> bool {
    let chunk = chunk_size(size);
    let Some((last, full)) = part_sizes.split_last() else {
        return false;
    };
    part_sizes.len() as u64 == chunk_count(size)
        && full.iter().all(|&p| p == chunk)
        && Some(*last) == size.checked_sub(chunk * full.len() as u64)
}

/// Whether an object of `size` bytes whose stored checksum is `checksum` has the content `id`
/// (`push --dest` skips such a file). `false` whenever the checksum cannot tell; the caller
/// then reads the object or sends it again. A multipart checksum equal to the chunked hash
/// says its parts were the chunks, so no part sizes are needed here.
pub fn checksum_matches(checksum: &str, size: u64, id: &ObjectId) -> bool {
    match id.kind {
        HashType::Sha2_256Chunked => match from_s3_checksum(size, Some(checksum)) {
            Known::Hash(h) => h == *id,
            Known::IfPartsAreChunks { digest, .. } => digest == id.digest,
            Known::Nothing => false,
        },
        HashType::Sha256 if !checksum.contains('-') => B64
            .decode(checksum.trim())
            .is_ok_and(|d| d.as_slice() == id.digest.as_slice()),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;
    use quilt_hash::hash_bytes;

    const MIB: u64 = 1 << 20;

    fn b64(d: &[u8]) -> String {
        B64.encode(d)
    }

    #[test]
    fn single_part_checksum_of_one_chunk_converts_as_quilt3_does() {
        for data in [&b"hello"[..], &vec![7u8; 8 << 20][..]] {
            let s3 = b64(&Sha256::digest(data));
            assert_eq!(
                from_s3_checksum(data.len() as u64, Some(&s3)),
                Known::Hash(hash_bytes(data))
            );
        }
        // One byte more than a chunk: a plain upload's digest says nothing about the chunks.
        let data = vec![7u8; (8 << 20) + 1];
        let s3 = b64(&Sha256::digest(&data));
        assert_eq!(
            from_s3_checksum(data.len() as u64, Some(&s3)),
            Known::Nothing
        );
    }

    #[test]
    fn empty_objects_need_no_checksum() {
        // quilt3: "a 0-byte upload is treated as an empty list of chunks".
        assert_eq!(from_s3_checksum(0, None), Known::Hash(hash_bytes(b"")));
        let one_empty_part = format!("{}-1", b64(&Sha256::digest(Sha256::digest(b""))));
        assert_eq!(
            from_s3_checksum(0, Some(&one_empty_part)),
            Known::Hash(hash_bytes(b""))
        );
    }

    #[test]
    fn composite_checksums_need_the_part_layout() {
        let data = vec![3u8; (17 * MIB) as usize];
        let digests: Vec<[u8; 32]> = data
            .chunks((8 * MIB) as usize)
            .map(|c| Sha256::digest(c).into())
            .collect();
        let composite = crate::s3::composite_checksum(&digests);
        let want = hash_bytes(&data);
        match from_s3_checksum(17 * MIB, Some(&composite)) {
            Known::IfPartsAreChunks { digest, parts: 3 } => assert_eq!(digest, want.digest),
            other => panic!("{other:?}"),
        }
        assert!(parts_are_chunks(17 * MIB, &[8 * MIB, 8 * MIB, MIB]));
        assert!(!parts_are_chunks(17 * MIB, &[5 * MIB, 11 * MIB, MIB]));
        assert!(!parts_are_chunks(17 * MIB, &[8 * MIB, 9 * MIB]));
        assert!(!parts_are_chunks(17 * MIB, &[]));
        // The wrong number of parts for the chunk rule: nothing to learn.
        let two = format!("{}-2", b64(&want.digest));
        assert_eq!(from_s3_checksum(17 * MIB, Some(&two)), Known::Nothing);
        // One part of a small object is its one chunk.
        let small = b"abc";
        let one = crate::s3::composite_checksum(&[Sha256::digest(small).into()]);
        assert_eq!(
            from_s3_checksum(3, Some(&one)),
            Known::Hash(hash_bytes(small))
        );
    }

    #[test]
    fn malformed_checksums_are_ignored() {
        for bad in ["", "not base64!", "YWJj", "YWJj-x", "YWJj-0"] {
            assert_eq!(from_s3_checksum(5, Some(bad)), Known::Nothing, "{bad}");
        }
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
        let body = vec![7u8; (quilt_hash::MIN_CHUNK_SIZE + 10) as usize];
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
