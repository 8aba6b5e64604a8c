use std::io::Cursor;

use quilt_hash::hash_bytes;
use quilt_store::{Error, Store};

use crate::util::*;

#[test]
fn second_write_of_same_content_writes_nothing() {
    let (_dir, store) = new_store();
    let items = vec![content(1, 20), content(2, 500), content(3, 30)];
    put(&store, &items);
    let objects = store.root().join("objects");
    let (files, bytes) = (files_under(&objects), bytes_under(&objects));

    let w = store.writer().expect("writer");
    for d in &items {
        assert!(!w.put_bytes(&hash_bytes(d), d).expect("put"));
    }
    let out = w.commit().expect("commit");
    assert_eq!(out.objects_written, 0);
    assert_eq!(out.duplicates, 3);
    assert!(out.packs.is_empty());
    assert_eq!(files_under(&objects), files);
    assert_eq!(bytes_under(&objects), bytes);
}

#[test]
fn dedup_within_one_writer() {
    let (_dir, store) = new_store();
    let w = store.writer().expect("writer");
    let d = content(9, 10);
    let id = hash_bytes(&d);
    assert!(w.put_bytes(&id, &d).expect("put"));
    assert!(!w.put_bytes(&id, &d).expect("put again"));
    let out = w.commit().expect("commit");
    assert_eq!(
        (out.objects_written, out.duplicates, out.packs.len()),
        (1, 1, 1)
    );
}

#[test]
fn reopen_sees_committed_objects() {
    let (_dir, store) = new_store();
    let items: Vec<Vec<u8>> = (0..50).map(|i| content(i, (i * 7) as usize)).collect();
    let ids = put(&store, &items);
    let store = reopen(&store);
    for (id, d) in ids.iter().zip(&items) {
        assert_eq!(&store.get(id).expect("get"), d);
    }
}

#[test]
fn uncommitted_writer_leaves_nothing_visible() {
    let (_dir, store) = new_store();
    let d = content(5, 10);
    let id = hash_bytes(&d);
    {
        let w = store.writer().expect("writer");
        w.put_bytes(&id, &d).expect("put");
    }
    assert!(!store.contains(&id).expect("contains"));
    assert!(!reopen(&store).contains(&id).expect("contains"));
    assert!(pack_files(&store, "pack").is_empty());
    assert!(files_under(&store.root().join("tmp")).is_empty());
}

#[test]
fn packs_roll_over_at_the_size_limit() {
    let (_dir, store) = new_store();
    // 40 bytes of data + 41 of header per record; 4 KiB packs hold about 50.
    let items: Vec<Vec<u8>> = (0..200).map(|i| content(i, 40)).collect();
    let ids = put(&store, &items);
    assert!(pack_files(&store, "idx").len() >= 3);
    let store = reopen(&store);
    for (id, d) in ids.iter().zip(&items) {
        assert_eq!(&store.get(id).expect("get"), d);
    }
}

#[test]
fn put_file_copies_and_checks() {
    let (dir, store) = new_store();
    let data = content(7, 5000);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &data).expect("write");
    let id = hash_bytes(&data);
    let w = store.writer().expect("writer");
    assert!(w.put_file(&id, &src, data.len() as u64).expect("put_file"));
    assert!(!w.put_file(&id, &src, data.len() as u64).expect("dup"));

    // The file changed after it was hashed: refused, nothing stored.
    let changed = content(8, 5000);
    std::fs::write(&src, &changed).expect("write");
    let stale = hash_bytes(&content(99, 5000));
    let err = w.put_file(&stale, &src, 5000).expect_err("mismatch");
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
    w.commit().expect("commit");
    assert_eq!(store.get(&id).expect("get"), data);
    assert!(!store.contains(&stale).expect("contains"));
    assert!(files_under(&store.root().join("tmp")).is_empty());

    // Small files go into a pack.
    let small = b"tiny".to_vec();
    std::fs::write(&src, &small).expect("write");
    let w = store.writer().expect("writer");
    assert!(w.put_file(&hash_bytes(&small), &src, 4).expect("small"));
    w.commit().expect("commit");
    assert!(store.loose_path(&hash_bytes(&small)).is_none());
    assert_eq!(store.get(&hash_bytes(&small)).expect("get"), small);
}

#[test]
fn put_reader_refuses_wrong_content_or_length() {
    let (_dir, store) = new_store();
    for len in [10usize, 3000] {
        let data = content(len as u32, len);
        let id = hash_bytes(&data);
        let w = store.writer().expect("writer");
        let short = &data[..len - 1];
        let err = w
            .put_reader(&id, len as u64, &mut Cursor::new(short))
            .expect_err("short");
        assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
        let mut long = data.clone();
        long.push(0);
        let err = w
            .put_reader(&id, len as u64, &mut Cursor::new(&long))
            .expect_err("long");
        assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
        let mut bad = data.clone();
        bad[0] ^= 1;
        let err = w
            .put_reader(&id, len as u64, &mut Cursor::new(&bad))
            .expect_err("bad");
        assert!(matches!(err, Error::ContentMismatch { .. }), "{err}");
        w.commit().expect("commit");
        assert!(!store.contains(&id).expect("contains"));

        let w = store.writer().expect("writer");
        assert!(w
            .put_reader(&id, len as u64, &mut Cursor::new(&data))
            .expect("good"));
        w.commit().expect("commit");
        assert_eq!(store.get(&id).expect("get"), data);
    }
    assert!(files_under(&store.root().join("tmp")).is_empty());
}

#[test]
fn concurrent_writers_from_two_threads() {
    let (_dir, store) = new_store();
    let items: Vec<Vec<u8>> = (0..300).map(|i| content(i, (i % 120) as usize)).collect();
    std::thread::scope(|s| {
        for half in items.chunks(150) {
            let store = &store;
            s.spawn(move || {
                let w = store.writer().expect("writer");
                for d in half {
                    w.put_bytes(&hash_bytes(d), d).expect("put");
                }
                w.commit().expect("commit");
            });
        }
    });
    // One writer shared by many threads.
    let shared = store.writer().expect("writer");
    std::thread::scope(|s| {
        for _ in 0..4 {
            let shared = &shared;
            s.spawn(move || {
                for i in 0..100 {
                    let d = content(1000 + i, 50);
                    shared.put_bytes(&hash_bytes(&d), &d).expect("put");
                }
            });
        }
    });
    let out = shared.commit().expect("commit");
    assert_eq!(out.objects_written, 100, "each content stored once");
    assert_eq!(out.duplicates, 300);
    let store = reopen(&store);
    for d in items.iter().chain(
        (0..100)
            .map(|i| content(1000 + i, 50))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        assert_eq!(&store.get(&hash_bytes(d)).expect("get"), d);
    }
}

#[cfg(unix)]
#[test]
fn file_size_limit_is_reported_as_disk_full() {
    // A child process with RLIMIT_FSIZE set stands in for a full disk: writes past the limit
    // fail with EFBIG, which the store must report like ENOSPC.
    if std::env::var_os("QUILT_STORE_FSIZE_CHILD").is_some() {
        let root = std::path::PathBuf::from(std::env::var_os("QUILT_STORE_ROOT").expect("root"));
        // Open first: the database's WAL files are larger than the limit set below.
        let store = Store::open_with(&root, OPTIONS).expect("open");
        // SAFETY: plain libc calls on valid arguments, in a single-threaded child.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 2000,
                rlim_max: 2000,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        let data = content(1, 10_000);
        let w = store.writer().expect("writer");
        let err = w.put_bytes(&hash_bytes(&data), &data).expect_err("too big");
        assert!(err.is_disk_full(), "{err:?}");
        assert!(err.to_string().contains("disk"), "{err}");
        return;
    }
    let (_dir, store) = new_store();
    let exe = std::env::current_exe().expect("exe");
    let status = std::process::Command::new(exe)
        .args([
            "--exact",
            "writer::file_size_limit_is_reported_as_disk_full",
            "--test-threads=1",
        ])
        .env("QUILT_STORE_FSIZE_CHILD", "1")
        .env("QUILT_STORE_ROOT", store.root())
        .output()
        .expect("spawn");
    assert!(
        status.status.success(),
        "child under RLIMIT_FSIZE failed:\n{}\n{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    let _ = Store::open(store.root()).expect("store still opens");
}

/// Fills the pack buffer with `data`, as a caller reading a file into it would.
fn fill_with(
    data: &[u8],
) -> impl FnOnce(&mut Vec<u8>) -> Result<Option<quilt_hash::ObjectId>, Error> + '_ {
    move |buf| {
        let start = buf.len();
        buf.extend_from_slice(data);
        Ok(Some(hash_bytes(&buf[start..])))
    }
}

#[test]
fn put_small_with_writes_straight_into_the_pack() {
    let (_dir, store) = new_store();
    let w = store.writer().expect("writer");
    // The test store packs objects under 64 bytes.
    let (a, b) = (content(1, 40), content(2, 0));
    let put = |d: &[u8]| {
        w.put_small_with(d.len() as u64 + 1, fill_with(d))
            .expect("put")
    };
    assert_eq!(put(&a), Some((hash_bytes(&a), true)));
    assert_eq!(put(&b), Some((hash_bytes(&b), true)), "an empty object");
    assert_eq!(
        put(&a),
        Some((hash_bytes(&a), false)),
        "a duplicate is dropped"
    );
    // A fill that gives up, after writing some bytes, stores nothing and leaves no trace.
    let gave_up = w
        .put_small_with(60, |buf| -> Result<_, Error> {
            buf.extend_from_slice(b"half a file");
            Ok(None)
        })
        .expect("no error");
    assert_eq!(gave_up, None);
    // And one that fails does the same.
    let failed = w.put_small_with(60, |buf| {
        buf.extend_from_slice(b"partial");
        Err(Error::ReadOnly { path: "x".into() })
    });
    assert!(matches!(failed, Err(Error::ReadOnly { .. })));
    let c = content(3, 20);
    assert!(w.put_bytes(&hash_bytes(&c), &c).expect("put"));
    // Too large for a pack: refused, not packed.
    assert!(matches!(
        w.put_small_with(64, fill_with(b"x")),
        Err(Error::NotSmall { .. })
    ));
    let out = w.commit().expect("commit");
    assert_eq!((out.objects_written, out.duplicates), (3, 1));
    assert_eq!(out.bytes_written, 60);
    let store = reopen(&store);
    for d in [&a, &b, &c] {
        assert_eq!(&store.get(&hash_bytes(d)).expect("get"), d);
    }
    assert_verifies(&store);
}

#[test]
fn small_packs_are_merged_when_they_pile_up() {
    let (_dir, store) = new_store();
    let mut items = Vec::new();
    for i in 0..(2 * quilt_store::MAX_PACKS as u32 + 2) {
        let d = content(i, 30);
        put(&store, std::slice::from_ref(&d));
        items.push(d);
    }
    // Two writers at once each store their own copy of an object, as two processes can.
    let d = content(1000, 30);
    let (w1, w2) = (
        store.writer().expect("writer"),
        store.writer().expect("writer"),
    );
    assert!(w1.put_bytes(&hash_bytes(&d), &d).expect("put"));
    assert!(w2.put_bytes(&hash_bytes(&d), &d).expect("put"));
    let e = content(1001, 30);
    assert!(w2.put_bytes(&hash_bytes(&e), &e).expect("put"));
    w1.commit().expect("commit");
    w2.commit().expect("commit");
    items.extend([d, e]);
    let before = pack_files(&store, "idx").len();
    assert_eq!(before, 2 * quilt_store::MAX_PACKS + 4);

    let merged = store.merge_packs_if_idle().expect("merge");
    assert_eq!(merged as usize, before);
    // The test store rolls packs over at a few KiB, so the merge writes two.
    let after = pack_files(&store, "idx").len();
    assert!((1..=2).contains(&after), "{after} packs");
    assert_eq!(pack_files(&store, "pack").len(), after);
    let store = reopen(&store);
    for d in &items {
        assert_eq!(&store.get(&hash_bytes(d)).expect("get"), d);
    }
    assert_verifies(&store);
    // Few packs: nothing to do.
    assert_eq!(store.merge_packs_if_idle().expect("merge"), 0);
}

fn assert_verifies(store: &Store) {
    let report = verify(store);
    assert!(report.is_ok(), "{report:?}");
}
