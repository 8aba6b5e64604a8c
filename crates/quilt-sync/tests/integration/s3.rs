//! The S3 backend against a SeaweedFS server started by scripts/s3-server.sh (one per test
//! binary, a fresh bucket per test). `QUILT_S3_TESTS=skip` skips them; otherwise a server that
//! won't start fails them.

use std::time::{Duration, Instant};

use crate::conformance::{chunked_checksum, part_digests, MIB};
use crate::util as common;
use quilt_sync::{
    open_remote, FaultInjecting, Remote, RemoteOptions, Retry, RetryOptions, S3Options, S3Remote,
};

fn fresh(test: &str) -> Option<S3Remote> {
    common::fresh_s3(test, "")
}

crate::conformance_tests!(fresh);

mod with_prefix {
    use super::*;
    fn fresh(test: &str) -> Option<S3Remote> {
        common::fresh_s3(test, "some/prefix/")
    }
    crate::conformance_tests!(fresh);
}

#[test]
fn prefix_is_invisible_to_keys() {
    let Some(server) = common::s3_server() else {
        return;
    };
    let bucket = common::bucket_name("prefix");
    let root = S3Remote::new(&bucket, "", &server.options()).unwrap();
    root.create_bucket().unwrap();
    let sub = S3Remote::new(&bucket, "team/data/", &server.options()).unwrap();
    sub.put("k", b"v").unwrap();
    assert_eq!(common::keys(&root, ""), ["team/data/k"]);
    assert_eq!(common::keys(&sub, ""), ["k"]);
    assert_eq!(sub.describe(), format!("s3://{bucket}/team/data/"));
}

#[test]
fn listing_pages_cost_one_request_each() {
    let Some(r) = fresh("list_requests") else {
        return;
    };
    for i in 0..1001 {
        r.put(&format!("k/{i:04}"), b"").unwrap();
    }
    let before = r.requests_sent();
    assert_eq!(common::keys(&r, "k/").len(), 1001);
    assert_eq!(r.requests_sent() - before, 2);
}

#[test]
fn multipart_checksum_is_quilt3s_chunked_hash() {
    let Some(r) = fresh("multipart_checksum") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let body = common::data((17 * MIB) as usize, 5);
    std::fs::write(&path, &body).unwrap();
    let digests = part_digests(&body, 8 * MIB);
    r.put_file("f", &path, 8 * MIB, Some(&digests)).unwrap();
    let meta = r.head("f").unwrap().unwrap();
    assert_eq!(meta.checksum_sha256, Some(chunked_checksum(&digests)));
    assert_eq!(
        quilt_sync::s3::composite_checksum(&digests),
        chunked_checksum(&digests)
    );
}

#[test]
fn wrong_part_checksum_is_rejected_by_the_server() {
    let Some(r) = fresh("bad_part_checksum") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let body = common::data((20 * MIB) as usize, 6);
    std::fs::write(&path, &body).unwrap();
    let mut digests = part_digests(&body, 8 * MIB);
    digests[1][0] ^= 1;
    let e = r.put_file("f", &path, 8 * MIB, Some(&digests)).unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(matches!(e, quilt_sync::Error::Rejected { .. }), "{e:?}");
    assert_eq!(r.head("f").unwrap(), None, "no object may appear");

    // The wrong number of checksums is refused before any request.
    let before = r.requests_sent();
    assert!(r
        .put_file("f", &path, 8 * MIB, Some(&digests[..2]))
        .is_err());
    assert_eq!(r.requests_sent(), before);
}

#[test]
fn wrong_secret_key_is_an_auth_error() {
    let Some(server) = common::s3_server() else {
        return;
    };
    let good = fresh("auth").unwrap();
    good.put("k", b"v").unwrap();
    let bucket = good.describe()["s3://".len()..]
        .trim_end_matches('/')
        .to_owned();
    let opts = S3Options {
        secret_key: Some("not-the-secret".into()),
        ..server.options()
    };
    let bad = S3Remote::new(&bucket, "", &opts).unwrap();
    for e in [
        bad.get("k").unwrap_err(),
        bad.put("k2", b"v").unwrap_err(),
        bad.head("k").unwrap_err(),
        bad.list("", &mut |_| Ok(())).unwrap_err(),
    ] {
        assert!(e.is_auth(), "{e:?}");
        assert!(!e.is_transient());
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "the credentials were rejected by s3://{bucket}/: check \
                                      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
            )),
            "{msg}"
        );
    }
    // The same through open_remote and Retry: rejected at once, not retried.
    let r = open_remote(
        &format!("s3://{bucket}"),
        &RemoteOptions {
            s3: opts,
            ..Default::default()
        },
    )
    .unwrap();
    let t = Instant::now();
    assert!(r.get("k").unwrap_err().is_auth());
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[test]
fn unknown_access_key_is_an_auth_error() {
    let Some(server) = common::s3_server() else {
        return;
    };
    let good = fresh("auth_key").unwrap();
    let bucket = good.describe()["s3://".len()..]
        .trim_end_matches('/')
        .to_owned();
    let opts = S3Options {
        access_key: Some("nobody".into()),
        ..server.options()
    };
    let e = S3Remote::new(&bucket, "", &opts)
        .unwrap()
        .get("k")
        .unwrap_err();
    assert!(e.is_auth(), "{e:?}");
}

#[test]
fn credentials_come_from_a_profile_when_no_keys_are_given() {
    let Some(server) = common::s3_server() else {
        return;
    };
    let r = fresh("profile").unwrap();
    r.put("k", b"v").unwrap();
    let bucket = r.describe()["s3://".len()..]
        .trim_end_matches('/')
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n\
             [quilt-test]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.access_key, server.secret_key
        ),
    )
    .unwrap();
    let opts = S3Options {
        access_key: None,
        secret_key: None,
        profile: Some("quilt-test".into()),
        credentials_file: Some(file.clone()),
        ..server.options()
    };
    assert_eq!(
        S3Remote::new(&bucket, "", &opts).unwrap().get("k").unwrap(),
        b"v"
    );

    let default = S3Options {
        profile: None,
        ..opts.clone()
    };
    let e = S3Remote::new(&bucket, "", &default)
        .unwrap()
        .get("k")
        .unwrap_err();
    assert!(e.is_auth(), "{e}");

    let missing = S3Options {
        profile: Some("nope".into()),
        ..opts
    };
    let e = S3Remote::new(&bucket, "", &missing)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[nope] section in") && e.contains("AWS_PROFILE"),
        "{e}"
    );
}

#[test]
fn unknown_bucket_says_so() {
    let Some(server) = common::s3_server() else {
        return;
    };
    let r = S3Remote::new("no-such-bucket-here", "", &server.options()).unwrap();
    let want = format!(
        "bucket no-such-bucket-here does not exist at {}",
        server.endpoint
    );
    for e in [
        r.get("k").unwrap_err(),
        r.put("k", b"v").unwrap_err(),
        r.list("", &mut |_| Ok(())).unwrap_err(),
    ] {
        assert!(e.is_no_such_bucket(), "{e:?}");
        assert_eq!(e.to_string(), want);
    }
}

#[test]
fn unreachable_endpoint_is_transient_and_explained() {
    // No server needed: nothing listens on this port.
    let port = common::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let opts = RemoteOptions {
        s3: S3Options {
            endpoint: Some(endpoint.clone()),
            access_key: Some("a".into()),
            secret_key: Some("b".into()),
            ..S3Options::default()
        },
        retry: RetryOptions {
            attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
    };
    let r = open_remote("s3://some-bucket/p", &opts).unwrap();
    let e = r.get("k").unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(e.attempts(), 3);
    assert_eq!(
        e.to_string(),
        format!(
            "could not connect to {endpoint} after 3 attempts: is the server running / is \
             AWS_ENDPOINT_URL right?"
        )
    );
}

#[test]
fn retry_recovers_from_two_failed_requests() {
    let Some(r) = fresh("retry") else { return };
    r.put("k", b"v").unwrap();
    let before = r.requests_sent();
    let faulty = FaultInjecting::new(r).fail_next(2);
    let retry = Retry::new(
        &faulty,
        RetryOptions {
            attempts: 5,
            base_delay: Duration::from_millis(1),
            ..RetryOptions::default()
        },
    );
    assert_eq!(retry.get("k").unwrap(), b"v");
    assert_eq!(faulty.calls(), 3);
    assert_eq!(faulty.inner().requests_sent() - before, 1); // only the get that got through
}
