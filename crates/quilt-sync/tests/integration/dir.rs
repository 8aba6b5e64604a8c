//! The directory backend: the shared conformance suite plus what is specific to files.

use quilt_sync::{open_remote, CasOutcome, Condition, DirRemote, Remote, RemoteOptions};

use crate::util as common;

fn fresh(test: &str) -> Option<DirRemote> {
    Some(common::fresh_dir(&format!("dir-{test}")))
}

crate::conformance_tests!(fresh);

#[test]
fn bookkeeping_files_are_invisible() {
    let r = fresh("bookkeeping").unwrap();
    r.put_if("refs/latest", b"x", Condition::IfAbsent).unwrap();
    r.put("refs/other", b"y").unwrap();
    // A temp file left by a crash between write and rename.
    std::fs::write(r.root().join("refs/.quilt-tmp-abc"), b"partial").unwrap();
    assert_eq!(common::keys(&r, ""), ["refs/latest", "refs/other"]);
    // Lock files live in a tree of their own, never beside the keys, where readers of the
    // registry layout (quilt3 lists a package's pointer folder) would see them.
    assert!(r.root().join(".quilt-lock-files/refs/latest").exists());
    let beside: Vec<_> = std::fs::read_dir(r.root().join("refs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".quilt-lock"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    assert_eq!(common::keys(&r, ".quilt-lock"), Vec::<String>::new());
    assert!(r.put("refs/.quilt-tmp-x", b"no").is_err());
    assert!(r.put(".quilt-lock-files/refs/latest", b"no").is_err());
}

#[test]
fn urls_open_the_same_directory() {
    let r = fresh("urls").unwrap();
    r.put("k", b"v").unwrap();
    let url = format!("file://{}", r.root().display());
    assert_eq!(r.describe(), url);
    for u in [url.as_str(), r.root().to_str().unwrap()] {
        let o = open_remote(u, &RemoteOptions::default()).unwrap();
        assert_eq!(o.get("k").unwrap(), b"v");
        assert_eq!(o.describe(), url);
    }
}

#[test]
fn large_files_get_a_cheap_etag_that_still_changes() {
    let r = fresh("large_etag").unwrap();
    let big = common::data(5 << 20, 9);
    r.put("big", &big).unwrap();
    let e1 = r.head("big").unwrap().unwrap().etag;
    assert!(e1.starts_with('s'), "{e1}");
    let CasOutcome::Written { etag: e2 } = r
        .put_if(
            "big",
            &common::data(5 << 20, 10),
            Condition::IfMatch(e1.clone()),
        )
        .unwrap()
    else {
        panic!("IfMatch with the current etag must write")
    };
    assert_ne!(e1, e2);
}

#[test]
fn a_file_where_a_directory_is_expected_is_not_found() {
    let r = fresh("file_as_dir").unwrap();
    r.put("a", b"file").unwrap();
    assert!(r.get("a/b").unwrap_err().is_not_found());
    assert_eq!(r.head("a/b").unwrap(), None);
    assert!(common::keys(&r, "a/").is_empty());
}

#[test]
fn lists_in_key_byte_order() {
    let r = fresh("order").unwrap();
    for k in ["a/c", "a-b", "a/b/z", "a0", "b"] {
        r.put(k, b"").unwrap();
    }
    assert_eq!(common::keys(&r, ""), ["a-b", "a/b/z", "a/c", "a0", "b"]);
    // Unlike S3, a key can't also be a "directory" of other keys.
    assert!(r.put("a/b", b"").is_err());
}

#[test]
fn wrong_part_checksum_is_refused_and_nothing_appears() {
    let r = fresh("bad_part_checksum").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mib = 1 << 20;
    let body = common::data(20 * mib, 6);
    std::fs::write(&path, &body).unwrap();
    let mut digests = crate::conformance::part_digests(&body, 8 * mib as u64);
    r.put_file("ok", &path, 8 * mib as u64, Some(&digests))
        .unwrap();
    assert_eq!(r.get("ok").unwrap(), body);

    digests[1][0] ^= 1;
    let e = r
        .put_file("f", &path, 8 * mib as u64, Some(&digests))
        .unwrap_err();
    assert!(matches!(e, quilt_sync::Error::Rejected { .. }), "{e:?}");
    assert!(e.to_string().contains("part 2"), "{e}");
    assert_eq!(r.head("f").unwrap(), None, "no object may appear");
    assert!(common::keys(&r, "").iter().all(|k| k == "ok"));

    // A file longer than its checksums cover is refused too.
    let e = r
        .put_file("f", &path, 8 * mib as u64, Some(&digests[..1]))
        .unwrap_err();
    assert!(matches!(e, quilt_sync::Error::Rejected { .. }), "{e:?}");
    assert_eq!(r.head("f").unwrap(), None);
}

#[test]
fn a_fifo_under_the_root_is_not_found_without_blocking() {
    let r = fresh("fifo").unwrap();
    r.put("keep", b"x").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(r.root().join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    // Without a non-blocking open this would wait for a writer forever.
    let (tx, rx) = std::sync::mpsc::channel();
    let r2 = r.clone();
    std::thread::spawn(move || {
        let _ = tx.send(r2.get("pipe").map(|_| ()).map_err(|e| e.is_not_found()));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("get on a FIFO returned");
    assert_eq!(got, Err(true));
}
