//! Manifest files in `packages/`: plain JSONL, keyframes and deltas.

use std::io::Read;
use std::path::PathBuf;

use quilt_hash::{Manifest, NoProgress, TopHash};
use quilt_store::{Error, GcOptions, ManifestKind, Problem, Store, DELTA_MAGIC, ZSTD_MAGIC};

use crate::util::*;

/// Version `v` of a 400-file package: file `i` changes in version `v` when `i % 100 == v`, so
/// each version differs from the one before in 1% of its files.
fn version_items(v: u32) -> Vec<(String, Vec<u8>)> {
    (0..400u32)
        .map(|i| {
            let last_change = (1..=v).rev().find(|r| i % 100 == *r).unwrap_or(0);
            (
                format!("data/part-{i:04}.bin"),
                format!("file {i} as of version {last_change}").into_bytes(),
            )
        })
        .collect()
}

fn version(v: u32) -> Manifest {
    let items = version_items(v);
    let refs: Vec<(&str, &[u8])> = items
        .iter()
        .map(|(k, d)| (k.as_str(), d.as_slice()))
        .collect();
    manifest_of(&refs)
}

/// Stores the objects of version `v` and its manifest (with `base`), and records it.
fn commit_version(store: &Store, v: u32, base: Option<&TopHash>) -> TopHash {
    let items = version_items(v);
    put(
        store,
        &items.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
    );
    let top = store
        .put_manifest_with_base(&version(v), base)
        .expect("put manifest");
    store
        .record_revision(&name("t/pkg"), &top, None, i64::from(v))
        .expect("record");
    top
}

fn kind(store: &Store, top: &TopHash) -> ManifestKind {
    store.manifest_kind(top).expect("kind")
}

fn path_of(store: &Store, top: &TopHash) -> PathBuf {
    store.root().join("packages").join(top.to_hex())
}

fn file_len(store: &Store, top: &TopHash) -> u64 {
    std::fs::metadata(path_of(store, top)).expect("stat").len()
}

fn streamed(store: &Store, top: &TopHash) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    store
        .open_manifest(top)
        .expect("open")
        .read_to_end(&mut out)?;
    Ok(out)
}

fn assert_reads_back(store: &Store, m: &Manifest) {
    let top = m.top_hash();
    let bytes = m.to_bytes();
    assert_eq!(store.manifest_bytes(&top).expect("bytes"), bytes);
    assert_eq!(streamed(store, &top).expect("stream"), bytes);
    assert_eq!(&store.get_manifest(&top).expect("parse"), m);
}

fn flip(path: &PathBuf, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x55;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn plain_jsonl_files_still_read() {
    let (_dir, store) = new_store();
    let m = version(1);
    std::fs::write(path_of(&store, &m.top_hash()), m.to_bytes()).expect("plant");
    assert_eq!(
        store.manifest_kind(&m.top_hash()).expect("kind"),
        ManifestKind::Plain
    );
    assert_reads_back(&store, &m);
}

#[test]
fn put_manifest_writes_a_compressed_keyframe() {
    let (_dir, store) = new_store();
    let m = version(1);
    let top = store.put_manifest(&m).expect("put");
    assert_eq!(kind(&store, &top), ManifestKind::Keyframe);
    let raw = std::fs::read(path_of(&store, &top)).expect("read");
    assert_eq!(raw[..4], ZSTD_MAGIC);
    assert!(raw.len() < m.to_bytes().len() / 2, "{} bytes", raw.len());
    assert_reads_back(&store, &m);

    // Exact bytes, too, and the empty manifest.
    let empty = manifest_of(&[]);
    let top = store.put_manifest_bytes(&empty.to_bytes()).expect("put");
    assert_eq!(kind(&store, &top), ManifestKind::Keyframe);
    assert_reads_back(&store, &empty);
}

#[test]
fn a_small_change_is_stored_as_a_delta_against_the_keyframe() {
    let (_dir, store) = new_store();
    let v1 = store.put_manifest(&version(1)).expect("v1");
    let v2 = store
        .put_manifest_with_base(&version(2), Some(&v1))
        .expect("v2");
    assert_eq!(kind(&store, &v2), ManifestKind::Delta { base: v1 });
    let raw = std::fs::read(path_of(&store, &v2)).expect("read");
    assert_eq!(raw[..8], DELTA_MAGIC);
    assert_eq!(raw[8..40], v1.0);
    assert!(
        file_len(&store, &v2) * 4 < file_len(&store, &v1),
        "delta {} bytes, keyframe {} bytes",
        file_len(&store, &v2),
        file_len(&store, &v1)
    );
    assert_reads_back(&store, &version(2));
    assert_reads_back(&store, &version(1));

    // The same from exact bytes.
    let v3 = store
        .put_manifest_bytes_with_base(&version(3).to_bytes(), Some(&v1))
        .expect("v3");
    assert_eq!(kind(&store, &v3), ManifestKind::Delta { base: v1 });
    assert_reads_back(&store, &version(3));
}

#[test]
fn a_delta_hint_falls_back_to_its_keyframe() {
    let (_dir, store) = new_store();
    let v1 = store.put_manifest(&version(1)).expect("v1");
    let v2 = store
        .put_manifest_with_base(&version(2), Some(&v1))
        .expect("v2");
    let v3 = store
        .put_manifest_with_base(&version(3), Some(&v2))
        .expect("v3");
    assert_eq!(
        kind(&store, &v3),
        ManifestKind::Delta { base: v1 },
        "deltas are one level deep"
    );
    assert_reads_back(&store, &version(3));
}

#[test]
fn a_plain_file_can_serve_as_a_base() {
    let (_dir, store) = new_store();
    let m1 = version(1);
    let v1 = m1.top_hash();
    std::fs::write(path_of(&store, &v1), m1.to_bytes()).expect("plant");
    let v2 = store
        .put_manifest_with_base(&version(2), Some(&v1))
        .expect("v2");
    assert_eq!(kind(&store, &v2), ManifestKind::Delta { base: v1 });
    assert_reads_back(&store, &version(2));
}

#[test]
fn unhelpful_or_missing_bases_give_keyframes() {
    let (_dir, store) = new_store();
    let small = store
        .put_manifest(&manifest_of(&[("x", b"unrelated")]))
        .expect("small");
    let v1 = store
        .put_manifest_with_base(&version(1), Some(&small))
        .expect("v1");
    assert_eq!(kind(&store, &v1), ManifestKind::Keyframe);
    let absent = version(9).top_hash();
    let v2 = store
        .put_manifest_with_base(&version(2), Some(&absent))
        .expect("v2");
    assert_eq!(kind(&store, &v2), ManifestKind::Keyframe);
    // Storing a present manifest again writes nothing, base or not.
    let before = std::fs::read(path_of(&store, &v2)).expect("read");
    store
        .put_manifest_with_base(&version(2), Some(&v1))
        .expect("again");
    assert_eq!(std::fs::read(path_of(&store, &v2)).expect("read"), before);
    assert_reads_back(&store, &version(2));
}

#[test]
fn gc_rewrites_a_kept_delta_to_free_its_deleted_base() {
    let (_dir, store) = new_store();
    let v1 = commit_version(&store, 1, None);
    let v2 = commit_version(&store, 2, Some(&v1));
    assert_eq!(kind(&store, &v2), ManifestKind::Delta { base: v1 });
    assert!(store.delete_revision(&name("t/pkg"), &v1).expect("delete"));
    let dry = store
        .gc(
            &GcOptions {
                dry_run: true,
                ..GcOptions::default()
            },
            &NoProgress,
            &NO_INTERRUPT,
        )
        .expect("gc");
    assert_eq!((dry.manifests_removed, dry.deltas_rebased), (1, 1));
    assert_eq!(kind(&store, &v2), ManifestKind::Delta { base: v1 });
    let out = store
        .gc(&GcOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!((out.manifests_removed, out.deltas_rebased), (1, 1));
    assert!(!path_of(&store, &v1).exists(), "the deleted version stayed");
    assert_eq!(kind(&store, &v2), ManifestKind::Keyframe);
    assert_reads_back(&store, &version(2));
    let report = verify(&store);
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // Once nothing needs either, both go.
    store.delete_package(&name("t/pkg")).expect("delete");
    let out = store
        .gc(&GcOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!(out.manifests_removed, 1);
    assert!(store.manifests().expect("list").is_empty());
}

#[test]
fn verify_reports_a_corrupt_delta() {
    let (_dir, store) = new_store();
    let v1 = commit_version(&store, 1, None);
    let v2 = commit_version(&store, 2, Some(&v1));
    let path = path_of(&store, &v2);
    let len = file_len(&store, &v2) as usize;
    flip(&path, 40 + (len - 40) / 2);
    assert!(store.get_manifest(&v2).is_err());
    let report = verify(&store);
    let bad: Vec<&Problem> = report
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::BadManifest { top, .. } if *top == v2))
        .collect();
    assert_eq!(bad.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
}

#[test]
fn verify_names_a_missing_or_corrupt_base() {
    let (_dir, store) = new_store();
    let v1 = commit_version(&store, 1, None);
    let v2 = commit_version(&store, 2, Some(&v1));
    store.delete_revision(&name("t/pkg"), &v1).expect("delete");
    let base = path_of(&store, &v1);
    let saved = std::fs::read(&base).expect("read");

    // Corrupt: the base itself is reported, and the version that needs it names it.
    flip(&base, saved.len() / 2);
    let report = verify(&store);
    let text: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        report.problems.iter().any(
            |p| matches!(p, Problem::BadManifest { top, reason, .. } if *top == v2 && reason.contains(&v1.to_hex()))
        ),
        "{text:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::BadStoredManifest { top, .. } if *top == v1)),
        "{text:?}"
    );

    // Missing.
    std::fs::remove_file(&base).expect("rm");
    let err = store.get_manifest(&v2).expect_err("no base");
    assert!(
        matches!(err, Error::ManifestBaseMissing { base, .. } if base == v1),
        "{err}"
    );
    assert!(!err.is_not_found(), "the version's own file is there");
    let report = verify(&store);
    assert_eq!(
        report.problems,
        vec![Problem::MissingManifestBase {
            name: name("t/pkg"),
            top: v2,
            base: v1
        }]
    );
    assert!(report.problems[0].to_string().contains(&v1.to_hex()));

    std::fs::write(&base, saved).expect("restore");
    assert!(verify(&store).problems.is_empty());
}

#[test]
fn a_corrupt_or_truncated_keyframe_is_an_error_naming_the_file() {
    let (_dir, store) = new_store();
    let m = version(1);
    let top = store.put_manifest(&m).expect("put");
    let path = path_of(&store, &top);
    let saved = std::fs::read(&path).expect("read");
    let hex = top.to_hex();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped", {
            let mut b = saved.clone();
            b[saved.len() / 2] ^= 0x55;
            b
        }),
        ("flipped checksum", {
            let mut b = saved.clone();
            let at = b.len() - 1;
            b[at] ^= 0x55;
            b
        }),
        ("truncated", saved[..saved.len() / 2].to_vec()),
        ("cut before the checksum", saved[..saved.len() - 4].to_vec()),
        ("magic only", ZSTD_MAGIC.to_vec()),
        ("garbage appended", [saved.as_slice(), b"junk"].concat()),
        ("delta header only", DELTA_MAGIC.to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).expect("write");
        let err = store.get_manifest(&top).expect_err(what);
        assert!(err.to_string().contains(&hex), "{what}: {err}");
        assert!(store.manifest_bytes(&top).is_err(), "{what}");
        if let Ok(mut r) = store.open_manifest(&top) {
            let mut out = Vec::new();
            let err = r.read_to_end(&mut out).expect_err(what);
            assert!(err.to_string().contains(&hex), "{what}: {err}");
        }
    }
    std::fs::write(&path, &saved).expect("restore");
    assert_reads_back(&store, &m);
}

mod damage {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Damaged keyframes and deltas (bytes flipped, cut short, extended) read back as the
        /// original or as an error, never as other bytes and never with a panic.
        #[test]
        fn damaged_manifest_files_fail_cleanly(
            which in 0usize..3,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let (_dir, store) = new_store();
            let v1 = store.put_manifest(&version(1)).expect("v1");
            let v2 = store.put_manifest_with_base(&version(2), Some(&v1)).expect("v2");
            let small = store.put_manifest(&manifest_of(&[("x", b"x")])).expect("small");
            let (top, want) = match which {
                0 => (v1, version(1).to_bytes()),
                1 => (v2, version(2).to_bytes()),
                _ => (small, manifest_of(&[("x", b"x")]).to_bytes()),
            };
            let path = path_of(&store, &top);
            let mut bytes = std::fs::read(&path).expect("read");
            for (at, x) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= x;
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len()));
            }
            bytes.extend_from_slice(&tail);
            std::fs::write(&path, &bytes).expect("write");
            if store.manifest_kind(&top).is_ok_and(|k| k == ManifestKind::Plain) {
                // The magic itself was hit: the file now reads as plain JSONL; parsing it
                // must fail or succeed without a panic.
                let _ = store.get_manifest(&top);
                return Ok(());
            }
            if let Ok(got) = store.manifest_bytes(&top) {
                prop_assert_eq!(got, want.clone());
            }
            if let Ok(mut r) = store.open_manifest(&top) {
                let mut out = Vec::new();
                if r.read_to_end(&mut out).is_ok() {
                    prop_assert_eq!(out, want);
                }
            }
        }
    }
}
