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
    assert_eq!(pack[8..12], 1u32.to_le_bytes());
    // header 12 + record (41 + 1) + trailer 32
    assert_eq!(pack.len(), 12 + 42 + 32);
    assert_eq!(pack[12], 1, "type byte of sha2-256-chunked");
    assert_eq!(&pack[13..45], &hash_bytes(b"x").digest);
    assert_eq!(&pack[86 - 32..], blake3::hash(&pack[..86 - 32]).as_bytes());
    // header 12 + fan-out 1024 + one 49-byte entry + pack length 8 + pack checksum 32 + trailer 32
    assert_eq!(idx.len(), 12 + 1024 + 49 + 8 + 32 + 32);
    let name = pack_files(&store, "pack").pop().expect("pack");
    let stem = name.file_stem().and_then(|s| s.to_str()).expect("name");
    assert_eq!(stem, format!("pack-{}", blake3::hash(&pack[..54]).to_hex()));
}
