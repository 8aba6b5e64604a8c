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
    // Eight blocks of the reader (2 MiB each) and a bit: chunks cross block ends.
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

/// Stores `data` as chunks in one writer and its list in another, so chunks and list sit in
/// different packs; records it as package `pkg`.
fn chunked_package(store: &Store, dir: &std::path::Path, pkg: &str, data: &[u8]) -> ObjectId {
    let id = hash_bytes(data);
    let list = {
        let path = dir.join(pkg.replace('/', "_"));
        std::fs::write(&path, data).expect("write");
        let (got, _) = ingest(store, &path).expect("stored");
        assert_eq!(got, id);
        store.chunk_list(&id).expect("list").expect("chunked")
    };
    let top = store
        .put_manifest(&crate::util::manifest_of(&[("big", data)]))
        .expect("manifest");
    store
        .record_revision(&crate::util::name(pkg), &top, None, 1)
        .expect("record");
    assert!(!list.chunks.is_empty());
    id
}

fn gc_all(store: &Store) -> quilt_store::GcOutcome {
    let opts = quilt_store::GcOptions {
        repack_threshold: 0.0,
        ..Default::default()
    };
    crate::util::gc_with(store, &opts)
}

#[test]
fn gc_keeps_a_live_file_s_chunks_and_drops_the_rest() {
    let (dir, store) = chunking_store();
    let kept = content(7, 60_000);
    let dropped = content(8, 60_000);
    let kept_id = chunked_package(&store, dir.path(), "a/kept", &kept);
    let dropped_id = chunked_package(&store, dir.path(), "a/dropped", &dropped);
    let dropped_list = store
        .chunk_list(&dropped_id)
        .expect("list")
        .expect("chunked");
    store
        .delete_package(&crate::util::name("a/dropped"))
        .expect("delete");
    gc_all(&store);
    let store = Store::open_with(store.root(), store.options()).expect("reopen");
    assert_eq!(store.get(&kept_id).expect("kept file reads"), kept);
    assert!(!store.contains(&dropped_id).expect("contains"));
    assert_eq!(store.chunk_list(&dropped_id).expect("list"), None);
    for (c, _) in &dropped_list.chunks {
        assert!(
            !store.contains(c).expect("contains"),
            "chunk {c} survived gc"
        );
    }
    let report = crate::util::verify(&store);
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn verify_names_the_file_and_the_chunk_at_fault() {
    let (dir, store) = chunking_store();
    let data = content(9, 30_000);
    let id = chunked_package(&store, dir.path(), "a/b", &data);
    let list = store.chunk_list(&id).expect("list").expect("chunked");
    let verify = |store: &Store| crate::util::verify(store).problems;
    assert!(verify(&store).is_empty());

    // Flip a byte of the third chunk where it sits in its pack.
    let (victim, len) = list.chunks[2];
    let start: usize = list.chunks[..2].iter().map(|(_, l)| *l as usize).sum();
    let needle = &data[start..start + len as usize];
    let pack = crate::util::pack_files(&store, "pack")
        .into_iter()
        .find(|p| {
            let bytes = std::fs::read(p).expect("read");
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .expect("the chunk's pack");
    let mut bytes = std::fs::read(&pack).expect("read");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("found");
    bytes[at + 10] ^= 0xff;
    std::fs::write(&pack, &bytes).expect("write");
    let store = Store::open_with(store.root(), store.options()).expect("reopen");
    let problems = verify(&store);
    let named = problems.iter().any(|p| {
        matches!(p, quilt_store::Problem::BadChunkList { id: f, chunk: Some(c), breaks, .. }
            if *f == id && *c == victim && !breaks.is_empty())
    });
    assert!(named, "{problems:?}");
    assert!(
        !problems
            .iter()
            .any(|p| matches!(p, quilt_store::Problem::CorruptPack { .. })),
        "a chunk's own hash names its bytes, so its pack's checksum leaves them out: {problems:?}"
    );
    let shown = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(shown.contains(&victim.to_string()), "{shown}");
    assert!(
        !problems
            .iter()
            .any(|p| matches!(p, quilt_store::Problem::MissingObject { .. })),
        "a damaged file is not also reported missing: {problems:?}"
    );

    // A list whose chunks' pack is gone names the missing chunk.
    let (_d2, store) = chunking_store();
    let list = put_chunks(&store, &data);
    let chunk_packs = crate::util::pack_files(&store, "idx");
    put_list(&store, &id, &list).expect("list");
    let top = store
        .put_manifest(&crate::util::manifest_of(&[("big", &data)]))
        .expect("manifest");
    store
        .record_revision(&crate::util::name("a/b"), &top, None, 1)
        .expect("record");
    for idx in chunk_packs {
        std::fs::remove_file(&idx).expect("remove index");
        std::fs::remove_file(idx.with_extension("pack")).expect("remove pack");
    }
    let store = Store::open_with(store.root(), store.options()).expect("reopen");
    let problems = verify(&store);
    let named = problems
        .iter()
        .any(|p| matches!(p, quilt_store::Problem::IncompleteChunkList { id: f, .. } if *f == id));
    assert!(named, "the chunk is named: {problems:?}");
    let missing = problems
        .iter()
        .any(|p| matches!(p, quilt_store::Problem::MissingObject { id: f, .. } if *f == id));
    assert!(
        missing,
        "the version that needs the file reports it: {problems:?}"
    );
    assert!(!store.contains(&id).expect("contains"));
    assert!(matches!(
        store.open_object(&id),
        Err(Error::ChunkMissing { .. })
    ));

    // A list whose chunks are missing and that no version needs is only a warning: what a
    // write interrupted between two packs leaves behind.
    store
        .delete_package(&crate::util::name("a/b"))
        .expect("delete");
    let problems = verify(&store);
    assert!(
        !problems.is_empty() && problems.iter().all(|p| p.is_warning()),
        "{problems:?}"
    );
}

#[test]
fn a_loose_file_is_stored_in_one_read() {
    // The test store keeps everything from 64 bytes on loose and chunks nothing. Where the
    // filesystem has no reflinks (ext4 here) this takes the copy-while-hashing path.
    let (dir, store) = new_store();
    let data = content(10, 300_000);
    let path = dir.path().join("f");
    std::fs::write(&path, &data).expect("write");
    let file = std::fs::File::open(&path).expect("open");
    let w = store.writer().expect("writer");
    assert!(!w.chunks(data.len() as u64));
    let changed = w
        .put_file_once(&file, &path, 300_000, || Ok::<_, Error>(false))
        .expect("no error");
    assert_eq!(changed, None, "a file that changed is not stored");
    let short = w
        .put_file_once(&file, &path, 300_001, || Ok::<_, Error>(true))
        .expect("no error");
    assert_eq!(short, None, "a file shorter than its stat is not stored");
    let done = w
        .put_file_once(&file, &path, 300_000, || Ok::<_, Error>(true))
        .expect("stored");
    let again = w
        .put_file_once(&file, &path, 300_000, || Ok::<_, Error>(true))
        .expect("stored");
    w.commit().expect("commit");
    let id = hash_bytes(&data);
    assert_eq!(done, Some((id, true)));
    assert_eq!(again, Some((id, false)));
    assert!(store.loose_path(&id).is_some());
    assert_eq!(store.get(&id).expect("get"), data);
    let tmp = store.root().join("tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).expect("tmp").count(),
        0,
        "no temp file left"
    );
}

/// A store written with chunking off, as every store was before it (large files loose), and
/// the options of [`chunking_store`] to open it with now.
fn store_from_before_chunking() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Store,
    quilt_store::StoreOptions,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    Store::init(&root).expect("init");
    let (_, chunking) = chunking_store();
    let before = quilt_store::StoreOptions {
        chunking: quilt_store::chunk::ChunkParams::OFF,
        ..chunking.options()
    };
    let old = Store::open_with(&root, before).expect("open");
    (dir, root, old, chunking.options())
}

#[test]
fn a_store_written_before_chunking_stays_readable() {
    // Written with chunking off (as every store was before it): the large file is loose.
    let (dir, root, old, chunking) = store_from_before_chunking();
    let data = content(12, 50_000);
    let id = crate::util::put(&old, std::slice::from_ref(&data))[0];
    assert!(old.loose_path(&id).is_some());
    drop(old);

    // Opened by a chunking store: read as before, and not stored again.
    let store = Store::open_with(&root, chunking).expect("open");
    assert_eq!(store.get(&id).expect("get"), data);
    assert_eq!(store.chunk_list(&id).expect("list"), None);
    let path = dir.path().join("same");
    std::fs::write(&path, &data).expect("write");
    assert_eq!(
        ingest(&store, &path),
        Some((id, false)),
        "already stored, loose"
    );
    let report = crate::util::verify(&store);
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn gc_moves_live_large_loose_files_into_chunks() {
    // Two versions of a large file and a dead one, written with chunking off: all loose.
    let (_dir, root, old, chunking) = store_from_before_chunking();
    let v1 = content(20, 60_000);
    let mut v2 = v1[..30_000].to_vec();
    v2.extend_from_slice(&content(21, 500));
    v2.extend_from_slice(&v1[30_000..]);
    let dead = content(22, 60_000);
    let legacy = content(23, 60_000);
    crate::util::commit_package(&old, "t/a", &[("f", &v1)], 1);
    crate::util::commit_package(&old, "t/a", &[("f", &v2)], 2);
    crate::util::commit_package(&old, "t/dead", &[("f", &dead)], 1);
    // A file named by plain SHA256 (as legacy quilt3 packages are) stays loose: a chunk
    // list is only ever found by a sha2-256-chunked id.
    let legacy_id = quilt_hash::hash_bytes_as(HashType::Sha256, &legacy);
    let w = old.writer().expect("writer");
    w.put_bytes(&legacy_id, &legacy).expect("put");
    w.commit().expect("commit");
    let mut m = crate::util::manifest_of(&[]);
    m.entries.push(quilt_hash::Entry::new(
        quilt_hash::LogicalKey::parse("legacy").expect("key"),
        legacy.len() as u64,
        legacy_id,
    ));
    let legacy_top = old.put_manifest(&m).expect("manifest");
    old.record_revision(&crate::util::name("t/legacy"), &legacy_top, None, 1)
        .expect("record");
    old.delete_package(&crate::util::name("t/dead"))
        .expect("delete");
    let ids = [hash_bytes(&v1), hash_bytes(&v2)];
    for id in ids.iter().chain([&legacy_id]) {
        assert!(old.loose_path(id).is_some(), "{id} is loose");
    }
    drop(old);

    let store = Store::open_with(&root, chunking).expect("open");
    let objects = root.join("objects");
    let size_before = crate::util::bytes_under(&objects);
    let dry = crate::util::gc_with(
        &store,
        &quilt_store::GcOptions {
            dry_run: true,
            ..Default::default()
        },
    );
    assert_eq!(dry.loose_migrated, 2);
    assert_eq!(crate::util::bytes_under(&objects), size_before, "dry run");

    let out = crate::util::gc_with(&store, &Default::default());
    assert_eq!(out.loose_migrated, 2);
    assert_eq!(out.objects_removed, 1, "the dead version's file");
    for (id, data) in ids.iter().zip([&v1, &v2]) {
        assert_eq!(store.loose_path(id), None, "{id} is no longer loose");
        assert!(store.chunk_list(id).expect("list").is_some(), "{id}");
        assert_eq!(&store.get(id).expect("get"), data);
    }
    assert!(store.loose_path(&legacy_id).is_some());
    assert_eq!(store.get(&legacy_id).expect("legacy"), legacy);
    // The two versions now share all chunks but those around the insert.
    let size_after = crate::util::bytes_under(&objects);
    assert!(
        size_after < size_before - 60_000 - 40_000,
        "{size_before} -> {size_after} bytes"
    );
    let again = crate::util::gc_with(&store, &Default::default());
    assert_eq!(again.loose_migrated, 0);
    let reopened = Store::open_with(&root, chunking).expect("reopen");
    let report = crate::util::verify(&reopened);
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// Where the chunk-list record's data sits in one of the store's packs: (pack, offset, len).
fn chunk_list_record(store: &Store) -> (std::path::PathBuf, usize, usize) {
    for pack in crate::util::pack_files(store, "pack") {
        let bytes = std::fs::read(&pack).expect("read");
        let mut at = 12;
        while at + 41 <= bytes.len() - 32 {
            let len = u64::from_le_bytes(bytes[at + 33..at + 41].try_into().expect("8")) as usize;
            if bytes[at] == HashType::ChunkList.code() {
                return (pack, at + 41, len);
            }
            at += 41 + len;
        }
    }
    panic!("no chunk-list record in any pack")
}

#[test]
fn a_flipped_chunk_list_byte_breaks_its_pack_checksum() {
    let (dir, store) = chunking_store();
    let data = content(5, 30_000);
    chunked_package(&store, dir.path(), "a/b", &data);
    assert!(crate::util::verify(&store).problems.is_empty());
    let (pack, at, len) = chunk_list_record(&store);
    let mut bytes = std::fs::read(&pack).expect("read");
    bytes[at + len / 2] ^= 0x40;
    std::fs::write(&pack, &bytes).expect("write");
    let store = Store::open_with(store.root(), store.options()).expect("reopen");
    let problems = crate::util::verify(&store).problems;
    assert!(
        problems.iter().any(|p| matches!(p,
            quilt_store::Problem::CorruptPack { file, reason } if *file == pack && reason.contains("checksum"))),
        "a chunk list's bytes are not named by its digest, so the pack checksum covers them: {problems:?}"
    );
}

#[test]
fn a_file_read_in_blocks_is_cut_as_if_read_whole() {
    // The store reads a large file in 2 MiB blocks and carries the tail after the last cut
    // into the next one; the chunks must be those of cutting the whole file at once.
    let (dir, store) = chunking_store();
    let params = store.options().chunking;
    for (n, len) in [
        (1u32, (2 << 20) - 1),
        (2, (2 << 20) + 1),
        (3, (5 << 20) + 777),
    ] {
        let mut data = content(n, len);
        if n == 3 {
            // A run with no cut point spanning a block boundary: chunks of exactly `max`.
            data[(2 << 20) - 10_000..(2 << 20) + 10_000].fill(0);
        }
        let path = dir.path().join(format!("f{n}"));
        std::fs::write(&path, &data).expect("write");
        let (id, _) = ingest(&store, &path).expect("unchanged");
        assert_eq!(id, hash_bytes(&data));
        let list = store.chunk_list(&id).expect("list").expect("chunked");
        let lens: Vec<usize> = list.chunks.iter().map(|(_, l)| *l as usize).collect();
        assert_eq!(lens, params.cut(&data, true), "file of {len} bytes");
    }
}
