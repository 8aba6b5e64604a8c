//! Chunk lists: files stored as chunks answer like any other object.

use std::io::Read;

use quilt_hash::{hash_bytes, hash_bytes_as, HashType, ObjectId};
use quilt_store::chunk::ChunkList;
use quilt_store::{Error, Store};

use crate::util::{content, new_store};

/// Stores `data` as fixed 50-byte chunks (packed: the test store packs below 64 bytes) and
/// returns the chunk list, without storing the list.
fn put_chunks(store: &Store, data: &[u8]) -> ChunkList {
    let w = store.writer().expect("writer");
    let mut list = ChunkList {
        size: data.len() as u64,
        chunks: Vec::new(),
    };
    for c in data.chunks(50) {
        let id = hash_bytes_as(HashType::Blake3, c);
        w.put_bytes(&id, c).expect("put chunk");
        list.chunks.push((id, c.len() as u64));
    }
    w.commit().expect("commit");
    list
}

fn put_list(store: &Store, id: &ObjectId, list: &ChunkList) -> Result<bool, Error> {
    let w = store.writer().expect("writer");
    let new = w.put_chunk_list(id, list)?;
    w.commit().expect("commit");
    Ok(new)
}

#[test]
fn a_chunked_file_reads_like_any_object() {
    let (_d, store) = new_store();
    let data = content(1, 1234);
    let id = hash_bytes(&data);
    assert!(!store.contains(&id).expect("contains"));
    let list = put_chunks(&store, &data);
    assert!(!store.contains(&id).expect("chunks alone are not the file"));
    assert!(put_list(&store, &id, &list).expect("list stored"));
    assert!(
        !put_list(&store, &id, &list).expect("second time"),
        "a duplicate"
    );

    assert!(store.contains(&id).expect("contains"));
    assert_eq!(store.chunk_list(&id).expect("list"), Some(list.clone()));
    let list_id = ChunkList::id_for(&id);
    assert_eq!(store.get(&list_id).expect("raw list"), list.encode());
    assert_eq!(store.get(&id).expect("get"), data);
    let mut r = store.open_object(&id).expect("open");
    assert!(r.is_chunked());
    assert!(r.as_slice().is_none());
    assert_eq!(r.len(), data.len() as u64);
    let mut back = Vec::new();
    // Small reads cross chunk boundaries.
    let mut buf = [0u8; 7];
    loop {
        let n = r.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    assert_eq!(back, data);
    assert_eq!(store.loose_path(&id), None);
    assert!(store.object_file(&id).expect("file").is_some());

    // A fresh handle sees the same.
    let again = crate::util::reopen(&store);
    assert_eq!(again.get(&id).expect("get"), data);
}

#[test]
fn put_chunk_list_checks_chunks_and_content() {
    let (_d, store) = new_store();
    let data = content(2, 300);
    let id = hash_bytes(&data);
    let list = put_chunks(&store, &data);

    let mut swapped = list.clone();
    swapped.chunks.swap(0, 1);
    match put_list(&store, &id, &swapped) {
        Err(Error::ContentMismatch { expected, .. }) => assert_eq!(expected, id),
        other => panic!("expected a content mismatch, got {other:?}"),
    }
    let mut missing = list.clone();
    let ghost = hash_bytes_as(HashType::Blake3, b"never stored");
    missing.chunks[2].0 = ghost;
    match put_list(&store, &id, &missing) {
        Err(Error::ChunkMissing { file, chunk }) => assert_eq!((file, chunk), (id, ghost)),
        other => panic!("expected a missing chunk, got {other:?}"),
    }
    let mut short = list.clone();
    short.chunks[0].1 -= 1;
    short.size -= 1;
    assert!(matches!(
        put_list(&store, &id, &short),
        Err(Error::ChunkLength { .. })
    ));
    assert!(
        !store.contains(&id).expect("contains"),
        "nothing refused is stored"
    );
    assert_eq!(store.chunk_list(&id).expect("list"), None);

    let w = store.writer().expect("writer");
    let list_id = ChunkList::id_for(&id);
    assert!(matches!(
        w.put_bytes(&list_id, &list.encode()),
        Err(Error::NotStorable { .. })
    ));
    assert!(matches!(
        w.put_chunk_list(&hash_bytes_as(HashType::Sha256, &data), &list),
        Err(Error::NotStorable { .. })
    ));
}

#[test]
fn a_list_id_never_finds_a_loose_file_of_the_same_digest() {
    let (_d, store) = new_store();
    let data = content(3, 500);
    let id = crate::util::put(&store, std::slice::from_ref(&data))[0];
    assert!(
        store.loose_path(&id).is_some(),
        "500 bytes are loose in the test store"
    );
    let list_id = ChunkList::id_for(&id);
    assert!(!store.contains(&list_id).expect("contains"));
    assert_eq!(store.chunk_list(&id).expect("list"), None);
    assert!(store.get(&list_id).is_err());
    assert_eq!(store.get(&id).expect("get"), data);
}

/// A store that chunks files from 8 KiB on, into chunks of 256 B to 4000 B.
pub fn chunking_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    Store::init(&root).expect("init");
    let options = quilt_store::StoreOptions {
        small_object_limit: 4096,
        pack_size_limit: 1 << 20,
        chunking: quilt_store::chunk::ChunkParams {
            threshold: 8192,
            min: 256,
            avg: 1024,
            max: 4000,
        },
    };
    let store = Store::open_with(&root, options).expect("open");
    (dir, store)
}

fn ingest(store: &Store, path: &std::path::Path) -> Option<(ObjectId, bool)> {
    let file = std::fs::File::open(path).expect("open");
    let size = file.metadata().expect("stat").len();
    let w = store.writer().expect("writer");
    assert!(w.chunks(size));
    let done = w
        .put_file_chunked(&file, path, size, || Ok::<_, Error>(true))
        .expect("chunked");
    w.commit().expect("commit");
    done
}

#[test]
fn a_file_is_chunked_in_one_read_and_dedups_an_insert() {
    let (dir, store) = chunking_store();
    // Two blocks of the reader (8 MiB each) and a bit: chunks cross block ends.
    let data = content(4, (16 << 20) + 12345);
    let path = dir.path().join("big");
    std::fs::write(&path, &data).expect("write");
    let (id, new) = ingest(&store, &path).expect("stored");
    assert!(new);
    assert_eq!(id, hash_bytes(&data));
    let list = store.chunk_list(&id).expect("list").expect("chunked");
    assert!(list.chunks.iter().all(|(_, l)| *l <= 4000));
    assert_eq!(store.get(&id).expect("get"), data);
    assert_eq!(ingest(&store, &path), Some((id, false)), "stored once");

    // The same file with 1000 bytes inserted in the middle: only chunks near the insert
    // are new.
    let before: std::collections::HashSet<ObjectId> = list.chunks.iter().map(|(c, _)| *c).collect();
    let mut edited = data[..8 << 20].to_vec();
    edited.extend_from_slice(&content(5, 1000));
    edited.extend_from_slice(&data[8 << 20..]);
    std::fs::write(&path, &edited).expect("write");
    let (id2, _) = ingest(&store, &path).expect("stored");
    let list2 = store.chunk_list(&id2).expect("list").expect("chunked");
    let new_bytes: u64 = list2
        .chunks
        .iter()
        .filter(|(c, _)| !before.contains(c))
        .map(|(_, l)| l)
        .sum();
    assert!(
        new_bytes < 1000 + 3 * 4000,
        "{new_bytes} new bytes for a 1000-byte insert"
    );
    assert_eq!(store.get(&id2).expect("get"), edited);
}

#[test]
fn a_file_that_changes_while_read_stores_no_list() {
    let (dir, store) = chunking_store();
    let data = content(6, 50_000);
    let path = dir.path().join("f");
    std::fs::write(&path, &data).expect("write");
    let file = std::fs::File::open(&path).expect("open");
    let w = store.writer().expect("writer");
    let changed = w
        .put_file_chunked(&file, &path, 50_000, || Ok::<_, Error>(false))
        .expect("no error");
    assert_eq!(changed, None);
    let short = w
        .put_file_chunked(&file, &path, 60_000, || Ok::<_, Error>(true))
        .expect("no error");
    assert_eq!(short, None, "a file shorter than its stat is not stored");
    w.commit().expect("commit");
    assert!(!store.contains(&hash_bytes(&data)).expect("contains"));
}
