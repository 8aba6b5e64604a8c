use quilt_hash::hash_bytes;
use quilt_store::Problem;

use crate::util::*;

#[test]
fn clean_store_verifies() {
    let (_dir, store) = new_store();
    commit_package(
        &store,
        "t/a",
        &[("a", &content(1, 10)), ("b", &content(2, 500))],
        1,
    );
    let report = verify(&store);
    assert!(
        report.is_ok() && report.problems.is_empty(),
        "{:?}",
        report.problems
    );
    assert_eq!(report.objects_checked, 2);
    assert_eq!(report.revisions_checked, 1);
}

#[test]
fn corrupt_byte_in_pack_names_object_pack_and_package() {
    let (_dir, store) = new_store();
    let data = content(1, 20);
    let top = commit_package(&store, "t/a", &[("a", &data)], 1);
    let pack = pack_files(&store, "pack").pop().expect("pack");
    let mut bytes = std::fs::read(&pack).expect("read");
    bytes[12 + 41 + 3] ^= 1; // inside the object's data
    std::fs::write(&pack, &bytes).expect("write");

    let report = verify(&store);
    assert!(!report.is_ok());
    let id = hash_bytes(&data);
    let corrupt = report
        .problems
        .iter()
        .find_map(|p| match p {
            Problem::CorruptObject {
                id: bad,
                file,
                breaks,
                ..
            } => Some((bad, file, breaks)),
            _ => None,
        })
        .expect("corrupt object reported");
    assert_eq!(*corrupt.0, id);
    assert_eq!(corrupt.1, &pack);
    assert_eq!(corrupt.2, &vec![(name("t/a"), top)]);
    let text: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    let msg = text
        .iter()
        .find(|t| t.contains("is corrupt (content hashes to"))
        .expect("message");
    assert!(
        msg.contains(&id.to_string())
            && msg.contains("pack-")
            && msg.contains(&format!("t/a@{top}")),
        "{msg}"
    );
    // The object's sha2-256-chunked digest names its bytes, so a version 2 pack's checksum
    // leaves them out: one problem, the object's, not two.
    assert_eq!(report.problems.len(), 1, "{text:?}");
}

#[test]
fn corrupt_index_is_reported_and_objects_missing() {
    let (_dir, store) = new_store();
    let data = content(1, 20);
    let top = commit_package(&store, "t/a", &[("a", &data)], 1);
    let idx = pack_files(&store, "idx").pop().expect("idx");
    let mut bytes = std::fs::read(&idx).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&idx, &bytes).expect("write");

    let store = reopen(&store);
    let report = verify(&store);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::CorruptIndex { file, .. } if *file == idx)));
    let missing = report
        .problems
        .iter()
        .find(|p| matches!(p, Problem::MissingObject { .. }))
        .expect("missing object");
    let msg = missing.to_string();
    assert!(
        msg.contains(&format!(
            "package t/a@{top} is missing object {}",
            hash_bytes(&data)
        )),
        "{msg}"
    );
}

#[test]
fn corrupt_loose_object_is_named() {
    let (_dir, store) = new_store();
    let data = content(1, 500);
    commit_package(&store, "t/a", &[("big", &data)], 1);
    let id = hash_bytes(&data);
    let path = store.loose_path(&id).expect("loose");
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 0x80;
    std::fs::write(&path, &bytes).expect("write");
    let report = verify(&store);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    match &report.problems[0] {
        Problem::CorruptObject {
            id: bad,
            file,
            actual,
            breaks,
        } => {
            assert_eq!(*bad, id);
            assert_eq!(file, &path);
            assert_eq!(*actual, Some(hash_bytes(&bytes)));
            assert_eq!(breaks.len(), 1);
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn missing_and_altered_manifests_are_reported() {
    let (_dir, store) = new_store();
    let gone = commit_package(&store, "t/gone", &[("a", b"1")], 1);
    let altered = commit_package(&store, "t/altered", &[("a", b"2")], 1);
    std::fs::remove_file(store.root().join("packages").join(gone.to_hex())).expect("rm");
    let other = manifest_of(&[("a", b"3")]).to_bytes();
    std::fs::write(store.root().join("packages").join(altered.to_hex()), other).expect("write");
    let report = verify(&store);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::MissingManifest { top, .. } if *top == gone)));
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::TopHashMismatch { top, .. } if *top == altered)));
}

#[test]
fn orphan_pack_is_only_a_warning() {
    let (_dir, store) = new_store();
    std::fs::write(store.root().join("objects/pack/pack-00.pack"), b"torn").expect("write");
    let report = verify(&store);
    assert_eq!(report.problems.len(), 1);
    assert!(report.is_ok());
}
