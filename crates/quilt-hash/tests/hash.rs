mod common;

use std::io::Write;

use proptest::prelude::*;
use quilt_hash::{
    chunk_size, hash_bytes, hash_bytes_as, hash_file, ChunkedHasher, Error, HashType, ObjectId,
    Verifier,
};

use common::spec_chunked;

const MIB: u64 = 1024 * 1024;

fn patterned(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

#[test]
fn golden_values() {
    assert_eq!(
        hash_bytes(b"").value_string(),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    assert_eq!(
        hash_bytes(b"hello").value_string(),
        "lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA="
    );
    assert_eq!(
        hash_bytes_as(HashType::Sha256, b"hello").value_string(),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
}

/// CRC-64/NVME as S3 and quilt3 encode it: base64 of the 8 big-endian bytes (values printed by
/// quilt3 8.0.0's `calculate_multipart_checksum_bytes(..., checksum_type="CRC64NVME")`).
#[test]
fn crc64nvme_golden_values() {
    let crc = |data: &[u8]| hash_bytes_as(HashType::Crc64Nvme, data);
    assert_eq!(crc(b"hello").value_string(), "M3eFcAZSQlc=");
    assert_eq!(crc(b"").value_string(), "AAAAAAAAAAA=");
    // The catalogue's check value of CRC-64/NVME.
    assert_eq!(
        crc(b"123456789").value_bytes(),
        0xae8b_1486_0a79_9888u64.to_be_bytes()
    );
    assert_eq!(crc(b"123456789").digest[8..], [0u8; 24]);
}

#[test]
fn crc64nvme_values_parse_only_in_their_one_spelling() {
    let id = ObjectId::from_manifest("CRC64NVME", "M3eFcAZSQlc=").expect("parses");
    assert_eq!(id, hash_bytes_as(HashType::Crc64Nvme, b"hello"));
    assert_eq!(id.value_string(), "M3eFcAZSQlc=");
    assert_eq!(
        HashType::from_code(HashType::Crc64Nvme.code()),
        Some(HashType::Crc64Nvme)
    );
    assert_eq!(
        "CRC64NVME".parse::<HashType>().ok(),
        Some(HashType::Crc64Nvme)
    );
    for bad in [
        "M3eFcAZSQlc",                                  // unpadded
        "M3eFcAZSQlc=\n",                               // trailing junk
        "M3eFcAZSQg==",                                 // 7 bytes
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", // 32 bytes
        "337fe2c8a8b2c83e",                             // hex
    ] {
        assert!(ObjectId::from_manifest("CRC64NVME", bad).is_err(), "{bad}");
    }
}

/// quilt3 combines per-part CRCs of 8 MiB parts; the result is the CRC of the whole content.
#[test]
fn crc64nvme_agrees_with_quilt3_across_parts() {
    let Some(python) = common::python() else {
        return;
    };
    let data = patterned(2 * 8 * MIB as usize + 12_345);
    let script = r#"
import sys
from quilt3 import checksums
data = sys.stdin.buffer.read()
sys.stdout.write(checksums.calculate_multipart_checksum_bytes(data, checksum_type="CRC64NVME"))
"#;
    let out = common::run_python(&python, script, &data);
    let mut h = quilt_hash::StreamHasher::new(HashType::Crc64Nvme, data.len() as u64);
    for piece in data.chunks(3 * MIB as usize + 1) {
        h.update(piece);
    }
    let streamed = h.finalize().expect("sizes match");
    assert_eq!(streamed, hash_bytes_as(HashType::Crc64Nvme, &data));
    assert_eq!(streamed.value_string(), String::from_utf8_lossy(&out));
}

#[test]
fn quilt3_big_file_value() {
    // /tmp/q3/d/big in the fixture manifests: 9,000,000 bytes, two chunks.
    let path = std::path::Path::new("/tmp/q3/d/big");
    if let Ok(data) = std::fs::read(path) {
        assert_eq!(
            hash_bytes(&data).value_string(),
            "UxI46n+HBfCw2VFUXSyNV53xoR1Y3ZZuQnTcDYx4ILA="
        );
    }
}

#[test]
fn chunk_sizes() {
    assert_eq!(chunk_size(0), 8 * MIB);
    assert_eq!(chunk_size(10_000 * 8 * MIB), 8 * MIB);
    assert_eq!(chunk_size(10_000 * 8 * MIB + 1), 16 * MIB);
    assert_eq!(chunk_size(10_000 * 16 * MIB + 1), 32 * MIB);
}

#[test]
fn multi_chunk_buffers_match_serial_spec() {
    for len in [
        8 * MIB as usize,
        8 * MIB as usize + 1,
        3 * 8 * MIB as usize - 7,
    ] {
        let data = patterned(len);
        assert_eq!(hash_bytes(&data).digest, spec_chunked(&data), "len {len}");
    }
}

#[test]
fn file_matches_bytes_and_detects_shrinking() {
    let data = patterned(2 * 8 * MIB as usize + 12345);
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(&data).expect("write temp file");
    let id = hash_file(&f, data.len() as u64).expect("hash file");
    assert_eq!(id, hash_bytes(&data));
    // Hashing a prefix only reads that prefix.
    assert_eq!(
        hash_file(&f, 5).expect("hash prefix"),
        hash_bytes(&data[..5])
    );
    let err = hash_file(&f, data.len() as u64 + 1).expect_err("file is shorter than size");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(hash_file(&f, 0).expect("empty"), hash_bytes(b""));
}

#[test]
fn chunked_hasher_size_mismatch() {
    let mut h = ChunkedHasher::new(6);
    h.update(b"hello");
    assert!(matches!(
        h.finalize(),
        Err(Error::SizeMismatch {
            expected: 6,
            actual: 5
        })
    ));
}

#[test]
fn chunked_hasher_across_chunk_boundary() {
    let data = patterned(8 * MIB as usize * 2 + 3);
    let mut h = ChunkedHasher::new(data.len() as u64);
    for piece in data.chunks(3 * MIB as usize + 1) {
        h.update(piece);
    }
    assert_eq!(h.finalize().expect("sizes match"), hash_bytes(&data));
}

#[test]
fn verifier_both_types() {
    for kind in [
        HashType::Sha2_256Chunked,
        HashType::Sha256,
        HashType::Crc64Nvme,
    ] {
        let id = hash_bytes_as(kind, b"hello");
        let mut v = Verifier::new(&id, 5);
        v.update(b"hel");
        v.update(b"lo");
        v.finish().expect("matches");

        let mut v = Verifier::new(&id, 5);
        v.update(b"jello");
        match v.finish() {
            Err(Error::HashMismatch { expected, actual }) => {
                assert_eq!(expected, id);
                assert_eq!(actual, hash_bytes_as(kind, b"jello"));
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }

        let mut v = Verifier::new(&id, 5);
        v.update(b"hell");
        assert!(matches!(v.finish(), Err(Error::SizeMismatch { .. })));
    }
    let message = Error::HashMismatch {
        expected: hash_bytes(b"a"),
        actual: ObjectId::new(HashType::Sha256, [0; 32]),
    }
    .to_string();
    assert!(
        message.starts_with("hash mismatch: expected sha2-256-chunked:"),
        "{message}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn parallel_bytes_equal_serial(len in 0usize..(3 * 8 * MIB as usize), seed in any::<u8>()) {
        let data: Vec<u8> = patterned(len).into_iter().map(|b| b ^ seed).collect();
        prop_assert_eq!(hash_bytes(&data).digest, spec_chunked(&data));
    }

    #[test]
    fn file_equals_serial(len in 0usize..(2 * 8 * MIB as usize + 100), seed in any::<u8>()) {
        let data: Vec<u8> = patterned(len).into_iter().map(|b| b.wrapping_add(seed)).collect();
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(&data).expect("write");
        prop_assert_eq!(hash_file(&f, len as u64).expect("hash").digest, spec_chunked(&data));
    }

    #[test]
    fn streaming_equals_bytes(data in proptest::collection::vec(any::<u8>(), 0..4096),
                              cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.sort_unstable();
        let mut h = ChunkedHasher::new(data.len() as u64);
        let mut start = 0;
        for p in points.into_iter().chain([data.len()]) {
            h.update(&data[start..p]);
            start = p;
        }
        prop_assert_eq!(h.finalize().expect("sizes match"), hash_bytes(&data));
    }
}

#[test]
fn streaming_large_random_splits_equal_bytes() {
    // The proptest above covers split points; this covers chunk boundaries inside pieces.
    let data = patterned(3 * 8 * MIB as usize + 17);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(8));
    runner
        .run(
            &proptest::collection::vec(1usize..(5 * MIB as usize), 1..20),
            |sizes| {
                let mut h = ChunkedHasher::new(data.len() as u64);
                let mut pos = 0;
                for s in sizes.iter().cycle() {
                    if pos == data.len() {
                        break;
                    }
                    let end = (pos + s).min(data.len());
                    h.update(&data[pos..end]);
                    pos = end;
                }
                prop_assert_eq!(
                    h.finalize().expect("sizes match").digest,
                    spec_chunked(&data)
                );
                Ok(())
            },
        )
        .expect("streaming equals serial");
}

#[test]
fn store_internal_kinds_never_parse_from_a_manifest() {
    use quilt_hash::{HashType, ObjectId};
    for (kind, name, code) in [
        (HashType::ChunkList, "chunk-list", 4),
        (HashType::Blake3, "blake3", 5),
    ] {
        assert!(!kind.in_manifest());
        assert_eq!(kind.name(), name);
        assert_eq!(HashType::from_code(code), Some(kind));
        assert_eq!(kind.code(), code);
        let err = name
            .parse::<HashType>()
            .expect_err("store-internal kind parsed");
        assert!(err.to_string().contains("unsupported hash type"), "{err}");
        let value = ObjectId::new(kind, [7; 32]).value_string();
        let err = ObjectId::from_manifest(name, &value).expect_err("store-internal id parsed");
        assert!(err.to_string().contains("unsupported hash type"), "{err}");
    }
    assert!(HashType::Sha2_256Chunked.in_manifest());
}

#[test]
fn store_internal_kinds_hash_as_defined() {
    use quilt_hash::{HashType, StreamHasher};
    let data = vec![9u8; 100_000];
    let list = hash_bytes_as(HashType::ChunkList, &data);
    assert_eq!(list.kind, HashType::ChunkList);
    assert_eq!(list.digest, hash_bytes(&data).digest);
    let chunk = hash_bytes_as(HashType::Blake3, &data);
    assert_eq!(chunk.digest, *blake3_of(&data));
    for kind in [HashType::ChunkList, HashType::Blake3] {
        let mut h = StreamHasher::new(kind, data.len() as u64);
        data.chunks(777).for_each(|c| h.update(c));
        assert_eq!(
            h.finalize().expect("size matches"),
            hash_bytes_as(kind, &data)
        );
    }
    assert_eq!(
        quilt_hash::ObjectId::new(HashType::Blake3, [0xab; 32]).value_string(),
        "ab".repeat(32)
    );
}

fn blake3_of(data: &[u8]) -> Box<[u8; 32]> {
    Box::new(*blake3::hash(data).as_bytes())
}
