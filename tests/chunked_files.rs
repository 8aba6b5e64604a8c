//! Large files stored as content-defined chunks: built in one read, checked out and
//! installed byte for byte, rebuilt from the stat cache, deduplicated across edits, and
//! pushed to a directory remote that quilt (and quilt3) install from.

mod common;

use std::path::Path;

use common::*;

/// Above the chunking threshold, and more than one read block (8 MiB).
const BIG: usize = (19 << 20) + 12345;

fn store_bytes(ds: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&ds.join(".quilt/objects"))
}

#[test]
fn a_large_file_round_trips_and_an_edit_stores_little() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = t.path().join("ds");
    let data = bytes(7, BIG);
    write(&ds, "model.bin", &data);
    ok(&ds, &["init"]);
    // Past the racy window, so that the stat cache may trust the file once it is built (a
    // build that finishes within 100 ms of the write must, and does, hash it again).
    std::thread::sleep(std::time::Duration::from_millis(150));
    let first = last_json(&ok(&ds, &["--json", "build", "t/big", "-m", "v1"]));
    assert_eq!(first["hashed_files"], 1, "{first}");
    let loose = ds.join(".quilt/objects/loose");
    let loose_files = std::fs::read_dir(&loose).map(|rd| rd.count()).unwrap_or(0);
    assert_eq!(
        loose_files, 0,
        "a large file is stored as chunks, not loose"
    );
    let one_version = store_bytes(&ds);
    assert!(one_version < BIG as u64 + (1 << 20), "{one_version}");

    // Unchanged: answered by the stat cache, nothing read.
    let again = last_json(&ok(&ds, &["--json", "build", "t/big", "-m", "v1 again"]));
    assert_eq!(again["hashed_files"], 0, "{again}");

    let dest = t.path().join("inst");
    ok(
        &ds,
        &["install", "t/big", "--dest", dest.to_str().expect("utf-8")],
    );
    assert_eq!(
        std::fs::read(dest.join("model.bin")).expect("installed"),
        data
    );

    // 64 KiB inserted in the middle and 64 KiB overwritten near the end.
    let mut edited = data[..BIG / 2].to_vec();
    edited.extend_from_slice(&bytes(8, 64 << 10));
    edited.extend_from_slice(&data[BIG / 2..]);
    let n = edited.len();
    edited[n - (1 << 20)..n - (1 << 20) + (64 << 10)].copy_from_slice(&bytes(9, 64 << 10));
    write(&ds, "model.bin", &edited);
    ok(&ds, &["build", "t/big", "-m", "v2"]);
    let growth = store_bytes(&ds) - one_version;
    assert!(
        growth < 4 << 20,
        "an edit of 128 KiB stored {growth} new bytes"
    );
    ok(&ds, &["verify"]);

    // Checkout of the older version rewrites the file from its chunks.
    let log = ok(&ds, &["log", "t/big"]);
    assert!(log.contains("v1"), "{log}");
    std::fs::remove_file(ds.join("model.bin")).expect("rm");
    let dest2 = t.path().join("inst2");
    ok(
        &ds,
        &["install", "t/big", "--dest", dest2.to_str().expect("utf-8")],
    );
    assert_eq!(
        std::fs::read(dest2.join("model.bin")).expect("installed"),
        edited
    );
}

#[test]
fn a_chunked_file_pushes_to_a_directory_remote() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = t.path().join("ds");
    let remote = t.path().join("remote");
    std::fs::create_dir_all(&remote).expect("mkdir");
    let data = bytes(11, BIG);
    write(&ds, "data/big.bin", &data);
    write(&ds, "small.txt", b"hello");
    ok(&ds, &["init"]);
    let top = top_hash(&ok(&ds, &["build", "t/push", "-m", "v1"]));
    let url = remote.to_str().expect("utf-8");
    ok(&ds, &["remote", "add", "origin", url]);
    ok(&ds, &["push", "t/push", "origin"]);
    // The remote holds the whole file under its quilt3 key.
    let key = quilt::hash::hash_bytes(&data).to_hex();
    let stored = remote.join(".quilt/objects").join(&key);
    assert_eq!(std::fs::read(&stored).expect("remote object"), data);

    let client = t.path().join("client");
    std::fs::create_dir_all(&client).expect("mkdir");
    ok(&client, &["init"]);
    ok(&client, &["remote", "add", "origin", url]);
    let dest = t.path().join("inst");
    ok(
        &client,
        &[
            "install",
            "t/push",
            "--from",
            "origin",
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        std::fs::read(dest.join("data/big.bin")).expect("installed"),
        data
    );

    let Some(py) = python() else {
        return skip_or_fail("quilt3 is not available");
    };
    let q3dest = t.path().join("q3");
    let registry = format!("file://{url}");
    let q3top = run_py(
        &py,
        "remote.py",
        &[
            "install",
            "t/push",
            &registry,
            q3dest.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(q3top.lines().last().map(str::trim), Some(top.as_str()));
    let installed = q3dest.join("t/push/data/big.bin");
    let installed = if installed.exists() {
        installed
    } else {
        q3dest.join("data/big.bin")
    };
    assert_eq!(std::fs::read(installed).expect("quilt3 installed"), data);
}
