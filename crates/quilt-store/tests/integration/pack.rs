use quilt_hash::hash_bytes;
use quilt_store::Store;

use crate::util::*;

#[test]
fn pack_without_index_is_ignored_then_removed() {
    let (_dir, store) = new_store();
    let ids = put(&store, &[content(1, 20), content(2, 30)]);
    let idx = pack_files(&store, "idx").pop().expect("one pack");
    std::fs::remove_file(&idx).expect("remove idx");

    let store = reopen(&store);
    assert!(!store.contains(&ids[0]).expect("contains"));
    assert!(store.get(&ids[1]).is_err());
    assert_eq!(
        pack_files(&store, "pack").len(),
        1,
        "left until a writer opens"
    );

    // The next writer (alone on the store) clears the debris.
    store.writer().expect("writer").commit().expect("commit");
    assert!(pack_files(&store, "pack").is_empty());
}

#[test]
fn truncated_pack_is_skipped_with_a_named_reason() {
    let (_dir, store) = new_store();
    let ids = put(&store, &[content(1, 20)]);
    let pack = pack_files(&store, "pack").pop().expect("one pack");
    let len = std::fs::metadata(&pack).expect("stat").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .expect("open");
    f.set_len(len - 10).expect("truncate");
    drop(f);

    let store = reopen(&store);
    assert!(!store.contains(&ids[0]).expect("contains"));
    let skipped = store.skipped_packs();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].reason.contains("bytes long"),
        "{}",
        skipped[0].reason
    );
}

#[test]
fn corrupt_index_is_skipped_not_fatal() {
    let (_dir, store) = new_store();
    let good = put(&store, &[content(1, 20)]);
    let idx = pack_files(&store, "idx").pop().expect("pack");
    let bad = put(&store, &[content(2, 20)]);
    let idx2 = pack_files(&store, "idx")
        .into_iter()
        .find(|p| *p != idx)
        .expect("second pack");
    let mut bytes = std::fs::read(&idx2).expect("read");
    bytes[20] ^= 0xff;
    std::fs::write(&idx2, &bytes).expect("write");

    let store = Store::open_with(store.root(), OPTIONS).expect("open still works");
    assert!(store.contains(&good[0]).expect("good pack"));
    assert!(!store.contains(&bad[0]).expect("bad pack"));
    let skipped = store.skipped_packs();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].path, idx2);
    assert!(
        skipped[0].reason.contains("corrupt"),
        "{}",
        skipped[0].reason
    );
}

#[test]
fn pack_files_have_documented_headers() {
    let (_dir, store) = new_store();
    put(&store, &[b"x".to_vec()]);
    let pack = std::fs::read(pack_files(&store, "pack").pop().expect("pack")).expect("read");
    let idx = std::fs::read(pack_files(&store, "idx").pop().expect("idx")).expect("read");
    assert_eq!(&pack[..8], &quilt_store::PACK_MAGIC);
    assert_eq!(&idx[..8], &quilt_store::INDEX_MAGIC);
    assert_eq!(pack[8..12], 2u32.to_le_bytes(), "pack format version 2");
    // header 12 + record (41 + 1) + trailer 32
    assert_eq!(pack.len(), 12 + 42 + 32);
    assert_eq!(pack[12], 1, "type byte of sha2-256-chunked");
    assert_eq!(&pack[13..45], &hash_bytes(b"x").digest);
    // Version 2: the trailer hashes the file header and the record header; the record's data
    // is left out because its sha2-256-chunked digest already names it.
    let mut sum = blake3::Hasher::new();
    sum.update(&pack[..12]).update(&pack[12..53]);
    let trailer = *sum.finalize().as_bytes();
    assert_eq!(&pack[86 - 32..], &trailer);
    assert_ne!(&pack[86 - 32..], blake3::hash(&pack[..54]).as_bytes());
    // header 12 + fan-out 1024 + one 49-byte entry + pack length 8 + pack checksum 32 + trailer 32
    assert_eq!(idx.len(), 12 + 1024 + 49 + 8 + 32 + 32);
    let name = pack_files(&store, "pack").pop().expect("pack");
    let stem = name.file_stem().and_then(|s| s.to_str()).expect("name");
    assert_eq!(
        stem,
        format!("pack-{}", blake3::Hash::from(trailer).to_hex())
    );
}

/// Rewrites the store's one pack as a version 1 pack (whole-body checksum), renames both
/// files after the new checksum and rewrites the index to record it, as a store written before
/// pack version 2 holds them. Returns the new pack path.
fn rewrite_as_v1(store: &Store) -> std::path::PathBuf {
    let pack = pack_files(store, "pack").pop().expect("pack");
    let idx = pack.with_extension("idx");
    let mut bytes = std::fs::read(&pack).expect("read pack");
    let body = bytes.len() - 32;
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let sum = *blake3::hash(&bytes[..body]).as_bytes();
    bytes[body..].copy_from_slice(&sum);
    let mut index = std::fs::read(&idx).expect("read index");
    let end = index.len();
    index[end - 64..end - 32].copy_from_slice(&sum);
    let trailer = *blake3::hash(&index[..end - 32]).as_bytes();
    index[end - 32..].copy_from_slice(&trailer);
    std::fs::remove_file(&pack).expect("remove pack");
    std::fs::remove_file(&idx).expect("remove index");
    let stem = format!("pack-{}", blake3::Hash::from(sum).to_hex());
    let new_pack = pack.with_file_name(format!("{stem}.pack"));
    std::fs::write(new_pack.with_extension("idx"), &index).expect("write index");
    std::fs::write(&new_pack, &bytes).expect("write pack");
    new_pack
}

#[test]
fn a_version_1_pack_reads_and_verifies_and_its_checksum_covers_every_byte() {
    let (_dir, store) = new_store();
    let data = content(3, 40);
    let top = commit_package(&store, "t/a", &[("a", &data)], 1);
    let pack = rewrite_as_v1(&store);
    let store = reopen(&store);
    assert!(
        store.skipped_packs().is_empty(),
        "{:?}",
        store.skipped_packs()
    );
    let id = hash_bytes(&data);
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut store.open_object(&id).expect("open"), &mut back)
        .expect("read");
    assert_eq!(back, data);
    let report = verify(&store);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(store.get_manifest(&top).is_ok());

    // One flipped data byte: in version 1 the pack checksum covers it too.
    let mut bytes = std::fs::read(&pack).expect("read");
    bytes[12 + 41 + 2] ^= 1;
    std::fs::write(&pack, &bytes).expect("write");
    let report = verify(&reopen(&store));
    let pack_problem = report.problems.iter().any(|p| {
        matches!(p, quilt_store::Problem::CorruptPack { file, reason }
            if *file == pack && reason.contains("checksum"))
    });
    assert!(pack_problem, "{:?}", report.problems);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, quilt_store::Problem::CorruptObject { id: bad, .. } if *bad == id)));
}

#[test]
fn a_version_2_checksum_skips_digest_named_data_but_not_headers() {
    let (_dir, store) = new_store();
    let data = content(4, 40);
    commit_package(&store, "t/a", &[("a", &data)], 1);
    let pack = pack_files(&store, "pack")
        .into_iter()
        .find(|p| {
            let b = std::fs::read(p).expect("read");
            b.windows(data.len()).any(|w| w == data)
        })
        .expect("the object's pack");
    let original = std::fs::read(&pack).expect("read");
    let at = original
        .windows(data.len())
        .position(|w| w == data)
        .expect("found");

    // A flipped data byte is the object's fault, found by re-hashing it; the pack's checksum
    // (which leaves digest-named data out) still holds.
    let mut bytes = original.clone();
    bytes[at + 1] ^= 1;
    std::fs::write(&pack, &bytes).expect("write");
    let report = verify(&reopen(&store));
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, quilt_store::Problem::CorruptObject { .. })));
    assert!(
        !report
            .problems
            .iter()
            .any(|p| matches!(p, quilt_store::Problem::CorruptPack { .. })),
        "{:?}",
        report.problems
    );

    // A flipped byte of the record's length (a header) breaks the checksum.
    let mut bytes = original.clone();
    bytes[at - 8] ^= 0x01;
    std::fs::write(&pack, &bytes).expect("write");
    let report = verify(&reopen(&store));
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, quilt_store::Problem::CorruptPack { file, .. } if *file == pack)),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_pack_past_the_writer_thread_threshold_reads_back_whole() {
    // Default options: 1 MiB small-object limit, 1 GiB packs. 22 objects of 700,001 bytes
    // make one pack of about 15 MiB from one writer: its first buffers are written inline
    // or handed over, the rest by the pack's writer thread, in several 4 MiB buffers.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    Store::init(&root).expect("init");
    let options = quilt_store::StoreOptions::default();
    let store = Store::open_with(&root, options).expect("open");
    let items: Vec<Vec<u8>> = (0..22).map(|n| content(100 + n, 700_001)).collect();
    let ids = put(&store, &items);
    let packs = pack_files(&store, "pack");
    assert_eq!(packs.len(), 1, "{packs:?}");
    let bytes = std::fs::read(&packs[0]).expect("read");
    assert_eq!(bytes.len() as u64, 12 + 22 * (41 + 700_001) + 32);
    let body = &bytes[..bytes.len() - 32];
    let sum = quilt_store::pack::checksum::checksum(body).expect("well formed");
    assert_eq!(&bytes[bytes.len() - 32..], &sum);

    let store = Store::open_with(&root, options).expect("reopen");
    for (id, data) in ids.iter().zip(&items) {
        assert_eq!(&store.get(id).expect("get"), data);
    }
    let report = verify(&store);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.objects_checked, 22);
}
