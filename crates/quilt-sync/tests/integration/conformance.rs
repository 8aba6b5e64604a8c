//! The behaviour every backend must share. Each function takes an empty remote.

use std::io::Write;

use base64::Engine as _;
use quilt_sync::{CasOutcome, Condition, Remote};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::util::{data, keys};

pub fn put_get_head(r: &dyn Remote) {
    let key = ".quilt/objects/aa";
    assert_eq!(r.head(key).unwrap(), None);
    let e = r.get(key).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains(key), "{e}");

    let body = data(1000, 1);
    r.put(key, &body).unwrap();
    assert_eq!(r.get(key).unwrap(), body);
    let meta = r.head(key).unwrap().expect("exists");
    assert_eq!(meta.size, 1000);
    assert!(!meta.etag.is_empty());

    // Same bytes again: idempotent, same version tag for the same content.
    r.put(key, &body).unwrap();
    assert_eq!(r.head(key).unwrap().unwrap().etag, meta.etag);

    r.put("empty", b"").unwrap();
    assert_eq!(r.get("empty").unwrap(), b"");
    assert_eq!(r.head("empty").unwrap().unwrap().size, 0);
}

pub fn invalid_keys(r: &dyn Remote) {
    for bad in ["", "/abs", "a//b", "a/../b", "dir/"] {
        assert!(r.put(bad, b"x").is_err(), "{bad:?} accepted");
        assert!(r.get(bad).is_err(), "{bad:?} accepted");
    }
}

pub fn list_paginates(r: &dyn Remote) {
    const N: usize = 1100; // more than S3's 1000 keys per page
    (0..N).into_par_iter().for_each(|i| {
        r.put(&format!("many/{i:05}"), format!("{i}").as_bytes())
            .unwrap();
    });
    r.put("many-sibling", b"x").unwrap();
    r.put("other/one", b"x").unwrap();

    let mut seen = Vec::new();
    r.list("many/", &mut |e| {
        assert_eq!(
            e.size,
            e.key["many/".len()..].trim_start_matches('0').len().max(1) as u64
        );
        seen.push(e.key);
        Ok(())
    })
    .unwrap();
    let want: Vec<String> = (0..N).map(|i| format!("many/{i:05}")).collect();
    assert_eq!(seen, want);

    // Prefixes need not end at a slash.
    assert_eq!(keys(r, "many/001").len(), 100);
    assert_eq!(keys(r, "many/0100").len(), 10);
    let mut all = keys(r, "");
    assert_eq!(all.len(), N + 2);
    // Order across "directories" is the server's: AWS sorts by key bytes ("many-sibling" first),
    // SeaweedFS lists "many/..." first.
    all.sort();
    assert_eq!(all[0], "many-sibling");
    assert_eq!(all[N + 1], "other/one");
    assert!(keys(r, "nothing/").is_empty());

    // An error from the callback stops the listing and comes back unchanged.
    let mut n = 0;
    let e = r
        .list("many/", &mut |_| {
            n += 1;
            if n == 3 {
                Err(quilt_sync::Error::Config("stop here".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "stop here");
    assert_eq!(n, 3);
}

pub fn get_range(r: &dyn Remote) {
    let body = data(10_000, 2);
    r.put("obj", &body).unwrap();
    assert_eq!(r.get_range("obj", 0, 10).unwrap(), &body[..10]);
    assert_eq!(r.get_range("obj", 5000, 1234).unwrap(), &body[5000..6234]);
    // Past the end: what exists.
    assert_eq!(r.get_range("obj", 9990, 100).unwrap(), &body[9990..]);
    assert_eq!(r.get_range("obj", 9999, u64::MAX).unwrap(), &body[9999..]);
    assert!(r.get_range("obj", 3, 0).unwrap().is_empty());
    let e = r.get_range("obj", 10_000, 5).unwrap_err();
    assert!(!e.is_transient() && !e.is_not_found(), "{e}");
    assert!(r.get_range("missing", 0, 5).unwrap_err().is_not_found());
}

pub fn get_to_streams(r: &dyn Remote) {
    let body = data(3 << 20, 3);
    r.put("big", &body).unwrap();
    let mut out = Vec::new();
    assert_eq!(r.get_to("big", &mut out).unwrap(), body.len() as u64);
    assert!(out == body);
    assert!(r
        .get_to("missing", &mut Vec::new())
        .unwrap_err()
        .is_not_found());

    // A failing destination is the caller's problem, not a transient remote error.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = r.get_to("big", &mut Broken).unwrap_err();
    assert!(matches!(e, quilt_sync::Error::Sink { .. }), "{e:?}");
}

pub fn delete(r: &dyn Remote) {
    r.put("d/x", b"1").unwrap();
    r.delete("d/x").unwrap();
    assert_eq!(r.head("d/x").unwrap(), None);
    r.delete("d/x").unwrap(); // already gone: fine
    r.delete("never/was").unwrap();
}

pub fn put_if(r: &dyn Remote) {
    assert!(r.supports_conditional_writes());
    let key = ".quilt/named_packages/a/b/latest";
    let CasOutcome::Written { etag: e1 } = r.put_if(key, b"first", Condition::IfAbsent).unwrap()
    else {
        panic!("first IfAbsent must write")
    };
    assert_eq!(r.head(key).unwrap().unwrap().etag, e1);

    // Second IfAbsent loses and learns the current version.
    assert_eq!(
        r.put_if(key, b"second", Condition::IfAbsent).unwrap(),
        CasOutcome::PreconditionFailed {
            current: Some(e1.clone())
        }
    );
    assert_eq!(r.get(key).unwrap(), b"first");

    let CasOutcome::Written { etag: e2 } = r
        .put_if(key, b"second", Condition::IfMatch(e1.clone()))
        .unwrap()
    else {
        panic!("IfMatch with the current etag must write")
    };
    assert_ne!(e1, e2);
    assert_eq!(r.get(key).unwrap(), b"second");

    // A stale etag loses.
    assert_eq!(
        r.put_if(key, b"third", Condition::IfMatch(e1)).unwrap(),
        CasOutcome::PreconditionFailed {
            current: Some(e2.clone())
        }
    );
    assert_eq!(r.get(key).unwrap(), b"second");

    assert!(r
        .put_if(key, b"forced", Condition::Unconditional)
        .unwrap()
        .is_written());
    assert_eq!(r.get(key).unwrap(), b"forced");

    // IfMatch on a key that does not exist.
    assert_eq!(
        r.put_if("no/such/ref", b"x", Condition::IfMatch(e2))
            .unwrap(),
        CasOutcome::PreconditionFailed { current: None }
    );
    assert_eq!(r.head("no/such/ref").unwrap(), None);
}

/// Writers racing on one counter with read-modify-CAS loops never lose an increment.
pub fn put_if_races(r: &dyn Remote) {
    const THREADS: usize = 4;
    const EACH: usize = 8;
    let key = "refs/counter";
    r.put_if(key, b"0", Condition::IfAbsent).unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let etag = r.head(key).unwrap().unwrap().etag;
                        let n: usize = String::from_utf8(r.get(key).unwrap())
                            .unwrap()
                            .parse()
                            .unwrap();
                        // The read may be newer than the etag: the CAS then fails and we retry.
                        let next = (n + 1).to_string();
                        if r.put_if(key, next.as_bytes(), Condition::IfMatch(etag))
                            .unwrap()
                            .is_written()
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(r.get(key).unwrap(), (THREADS * EACH).to_string().as_bytes());
}

pub const MIB: u64 = 1 << 20;

/// SHA-256 of each `part`-sized piece of `body`.
pub fn part_digests(body: &[u8], part: u64) -> Vec<[u8; 32]> {
    body.chunks(part as usize)
        .map(|c| Sha256::digest(c).into())
        .collect()
}

/// quilt3's sha2-256-chunked hash, as S3 reports a multipart upload's checksum.
pub fn chunked_checksum(digests: &[[u8; 32]]) -> String {
    let mut h = Sha256::new();
    for d in digests {
        h.update(d);
    }
    format!(
        "{}-{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize()),
        digests.len()
    )
}

pub fn put_file_multipart(r: &dyn Remote) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let body = data((20 * MIB) as usize, 4);
    std::fs::write(&path, &body).unwrap();
    let digests = part_digests(&body, 8 * MIB);
    assert_eq!(digests.len(), 3);

    r.put_file(".quilt/objects/big", &path, 8 * MIB, Some(&digests))
        .unwrap();
    let meta = r.head(".quilt/objects/big").unwrap().unwrap();
    assert_eq!(meta.size, 20 * MIB);
    if let Some(c) = &meta.checksum_sha256 {
        assert_eq!(c, &chunked_checksum(&digests));
    }
    let mut out = Vec::new();
    r.get_to(".quilt/objects/big", &mut out).unwrap();
    assert!(out == body, "downloaded bytes differ");

    // Without checksums they are computed while reading.
    r.put_file("computed", &path, 8 * MIB, None).unwrap();
    assert_eq!(r.head("computed").unwrap().unwrap().size, 20 * MIB);

    // Smaller than one part: a plain put.
    let small = dir.path().join("small");
    std::fs::write(&small, b"tiny").unwrap();
    r.put_file("small", &small, 8 * MIB, None).unwrap();
    assert_eq!(r.get("small").unwrap(), b"tiny");
}

/// Generate one `#[test]` per conformance check. `$fresh` is an expression giving
/// `Option<impl Remote>` (None: skipped).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        mod conformance {
            use super::*;
            use $crate::conformance as c;

            #[test]
            fn put_get_head() {
                if let Some(r) = $fresh("put_get_head") {
                    c::put_get_head(&r)
                }
            }
            #[test]
            fn invalid_keys() {
                if let Some(r) = $fresh("invalid_keys") {
                    c::invalid_keys(&r)
                }
            }
            #[test]
            fn list_paginates() {
                if let Some(r) = $fresh("list_paginates") {
                    c::list_paginates(&r)
                }
            }
            #[test]
            fn get_range() {
                if let Some(r) = $fresh("get_range") {
                    c::get_range(&r)
                }
            }
            #[test]
            fn get_to_streams() {
                if let Some(r) = $fresh("get_to_streams") {
                    c::get_to_streams(&r)
                }
            }
            #[test]
            fn delete() {
                if let Some(r) = $fresh("delete") {
                    c::delete(&r)
                }
            }
            #[test]
            fn put_if() {
                if let Some(r) = $fresh("put_if") {
                    c::put_if(&r)
                }
            }
            #[test]
            fn put_if_races() {
                if let Some(r) = $fresh("put_if_races") {
                    c::put_if_races(&r)
                }
            }
            #[test]
            fn put_file_multipart() {
                if let Some(r) = $fresh("put_file_multipart") {
                    c::put_file_multipart(&r)
                }
            }
        }
    };
}
