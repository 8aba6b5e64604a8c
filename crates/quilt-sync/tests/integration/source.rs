//! `source::scan_s3` against the SeaweedFS test server: hashes from S3's checksums where they
//! are quilt3's, from the bytes elsewhere, and the requests each costs.

use std::sync::atomic::AtomicBool;

use quilt_hash::{hash_bytes, NoProgress};
use quilt_sync::source::{scan_s3, ScanOptions, SourceError};
use quilt_sync::{Remote, S3Remote};

use crate::util::{bucket_name, data, s3_server};

const MIB: usize = 1 << 20;

/// Logical keys and their bytes.
type Objects = Vec<(&'static str, Vec<u8>)>;

/// A bucket with objects below `data/` (and one outside it); returns the remote at `data/` and
/// each object's bytes by logical key.
fn fixture() -> Option<(S3Remote, Objects)> {
    let server = s3_server()?;
    let bucket = bucket_name("source");
    let root = S3Remote::new(&bucket, "", &server.options()).unwrap();
    root.create_bucket().unwrap();
    let objects: Vec<(&'static str, Vec<u8>)> = vec![
        ("small.txt", b"small".to_vec()),
        ("empty", Vec::new()),
        ("parts-8mib.bin", data(17 * MIB, 1)),
        ("parts-6mib.bin", data(17 * MIB, 2)),
        ("sub/plain-20mib.bin", data(20 * MIB, 3)),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (key, bytes) in &objects {
        let path = tmp.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let part = if key.contains("6mib") {
            6 * MIB
        } else {
            8 * MIB
        };
        if key.ends_with("plain-20mib.bin") {
            root.put(&format!("data/{key}"), bytes).unwrap();
        } else {
            // Multipart (with part checksums) when at least one part long, else a plain PUT.
            root.put_file(&format!("data/{key}"), &path, part as u64, None)
                .unwrap();
        }
    }
    root.put("data-sibling/outside.txt", b"outside").unwrap();
    let remote = S3Remote::new(&bucket, "data/", &server.options()).unwrap();
    Some((remote, objects))
}

#[test]
fn hashes_equal_quilt3s_and_checksums_save_reads() {
    let Some((remote, objects)) = fixture() else {
        return;
    };
    let out = scan_s3(
        &remote,
        &ScanOptions::default(),
        &NoProgress,
        &AtomicBool::new(false),
    )
    .unwrap();
    let mut want: Vec<(&str, Vec<u8>)> = objects.clone();
    want.sort_by(|a, b| quilt_hash::logical_key_cmp(a.0, b.0));
    assert_eq!(out.entries.len(), want.len());
    for (e, (key, bytes)) in out.entries.iter().zip(&want) {
        assert_eq!(e.logical_key.as_str(), *key);
        assert_eq!(e.size, bytes.len() as u64, "{key}");
        assert_eq!(e.hash, hash_bytes(bytes), "{key}");
        assert_eq!(
            e.physical_key,
            format!("s3://{}/data/{key}", remote.bucket_name()),
            "unversioned: no version id"
        );
    }
    // The 8 MiB-part upload's composite checksum is the hash, and so is the single-part
    // checksum quilt's plain PUT sends with small.txt; the others are read (the three 6 MiB
    // parts are as many as the chunks of 17 MiB, so their sizes are asked for first; the
    // 20 MiB plain PUT's whole-object checksum cannot give the chunked hash).
    assert_eq!(out.from_checksums, 2, "{out:?}");
    assert_eq!(out.hashed_objects, 2, "{out:?}");
    let r = out.requests;
    assert_eq!((r.list, r.head, r.attributes), (1, 5, 2), "{r:?}");
    assert_eq!(r.get_bytes, (17 * MIB + 20 * MIB) as u64, "{r:?}");
    assert_eq!(r.get, 3 + 3, "one GET per chunk: {r:?}");

    let again = scan_s3(
        &remote,
        &ScanOptions {
            rehash: true,
            jobs: 2,
            ..ScanOptions::default()
        },
        &NoProgress,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(again.entries, out.entries);
    assert_eq!(again.from_checksums, 0);
    assert_eq!(again.requests.attributes, 0);
}

#[test]
fn an_empty_prefix_and_an_interrupt_are_errors() {
    let Some((remote, _)) = fixture() else {
        return;
    };
    let server = s3_server().unwrap();
    let empty = S3Remote::new(remote.bucket_name(), "nothing/", &server.options()).unwrap();
    let err = scan_s3(
        &empty,
        &ScanOptions::default(),
        &NoProgress,
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("holds no objects"), "{err}");
    let err = scan_s3(
        &remote,
        &ScanOptions::default(),
        &NoProgress,
        &AtomicBool::new(true),
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::Interrupted), "{err}");
}
