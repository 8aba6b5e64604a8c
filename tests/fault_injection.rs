//! Faults injected between quilt and the real S3 server: failed requests, lost answers,
//! downloads cut mid-body, truncated reads and delays. Push and fetch must retry and finish, or
//! stop with a clear error; `latest` must never name an incomplete version.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::*;
use quilt::hash::{NoProgress, PackageName, TopHash};
use quilt::sync::{
    fetch, push, registry, FaultInjecting, FetchOptions, PushOptions, Remote, Retry, RetryOptions,
    S3Remote,
};
use quilt::{BuildOptions, Repository};

fn s3(bucket: &str) -> Option<S3Remote> {
    let server = s3_server::server()?;
    Some(S3Remote::new(bucket, "", &server.s3_options()).expect("s3 remote"))
}

fn fast_retry() -> RetryOptions {
    RetryOptions {
        attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    }
}

fn repo_with_data(dir: &Path) -> (Repository, PackageName, TopHash) {
    for i in 0..60 {
        write(
            dir,
            &format!("small/{i:02}.txt"),
            format!("row {i}\n").as_bytes(),
        );
    }
    write(dir, "large.bin", &bytes(5, 20 * 1024 * 1024));
    let repo = Repository::init(dir, None).expect("init");
    let name = PackageName::parse("team/faults").expect("name");
    let out = repo
        .build(
            &name,
            &BuildOptions::default(),
            &NoProgress,
            &AtomicBool::new(false),
        )
        .expect("build");
    (repo, name, out.top_hash)
}

// The library returns the same error type through an alias; tests spell it out.
#[allow(clippy::result_large_err)]
fn fetch_with(
    store: &quilt::store::Store,
    remote: &dyn Remote,
    name: Option<&PackageName>,
    hash: Option<&str>,
) -> Result<quilt::sync::FetchOutcome, quilt::sync::TransferError> {
    let opts = FetchOptions {
        jobs: 4,
        ..FetchOptions::default()
    };
    fetch(
        store,
        remote,
        name,
        hash,
        &opts,
        &NoProgress,
        &AtomicBool::new(false),
    )
}

#[allow(clippy::result_large_err)]
fn push_with(
    repo: &Repository,
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
) -> Result<quilt::sync::PushOutcome, quilt::sync::TransferError> {
    push(
        repo.store(),
        remote,
        name,
        top,
        &push_opts(),
        &NoProgress,
        &AtomicBool::new(false),
    )
}

fn assert_verifies(repo: &Repository) {
    let report = repo
        .store()
        .verify(&Default::default(), &NoProgress, &AtomicBool::new(false))
        .expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

fn push_opts() -> PushOptions<'static> {
    PushOptions {
        jobs: 4,
        ..PushOptions::default()
    }
}

/// `latest` is absent or names a version whose every object is on the remote.
fn latest_is_complete(
    remote: &dyn Remote,
    name: &PackageName,
    expected: &TopHash,
    repo: &Repository,
) {
    if let Some((top, _)) = registry::read_latest(remote, name).expect("read latest") {
        assert_eq!(top, *expected, "latest names an unknown version");
        let manifest = repo.store().get_manifest(&top).expect("manifest");
        for e in &manifest.entries {
            let key = quilt::sync::layout::object_key(&e.hash);
            let meta = remote
                .head(&key)
                .expect("head")
                .unwrap_or_else(|| panic!("latest names {top} but {key} is missing"));
            assert_eq!(meta.size, e.size, "{key} has the wrong size");
        }
    }
}

#[test]
fn push_and_fetch_retry_through_transient_faults() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("faults-retry");
    let t = tempfile::tempdir().expect("tempdir");
    let (repo, name, top) = repo_with_data(&t.path().join("ws"));
    let Some(plain) = s3(&bucket) else { return };

    // Every fifth call fails, one answer is lost after the server acted, and calls are slow.
    let mut faulty = FaultInjecting::new(plain).delay(Duration::from_millis(2));
    for n in (3..200).step_by(5) {
        faulty = faulty.fail_call(n);
    }
    let faulty = faulty.lose_answer_of_call(7);
    let remote = Retry::new(faulty, fast_retry());
    let out = push_with(&repo, &remote, &name, &top).expect("push retries through faults");
    assert_eq!(out.top_hash, top);
    let plain = s3(&bucket).expect("server");
    latest_is_complete(&plain, &name, &top, &repo);

    // Fetch with a download cut mid-body and failed calls: retried, verified, complete.
    let faulty = FaultInjecting::new(s3(&bucket).expect("server"))
        .cut_next_get_to(3 * 1024 * 1024)
        .fail_call(2)
        .fail_call(9);
    let remote = Retry::new(faulty, fast_retry());
    let other = Repository::init(&t.path().join("other"), None).expect("init");
    let got = fetch_with(other.store(), &remote, Some(&name), None)
        .expect("fetch retries through faults");
    assert_eq!(got.top_hash, top);
    assert_verifies(&other);
}

#[test]
fn push_without_retries_stops_cleanly_at_every_failure_point() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let t = tempfile::tempdir().expect("tempdir");
    let (repo, name, top) = repo_with_data(&t.path().join("ws"));
    let mut failures = 0;
    // A push of this package makes ~70 calls; fail each of a spread of them in turn.
    for n in [1u64, 2, 3, 5, 10, 30, 50, 62, 63, 64, 65, 66, 67, 68, 70] {
        let bucket = server.bucket(&format!("faults-at-{n}"));
        let faulty = FaultInjecting::new(s3(&bucket).expect("server")).fail_call(n);
        match push_with(&repo, &faulty, &name, &top) {
            Ok(_) => {}
            Err(e) => {
                failures += 1;
                let msg = format!("{e}");
                assert!(
                    msg.contains("failed") || msg.contains("injected"),
                    "unclear error at call {n}: {msg}"
                );
            }
        }
        let plain = s3(&bucket).expect("server");
        latest_is_complete(&plain, &name, &top, &repo);
        // The re-run without faults completes and sends only what is missing.
        let again = push_with(&repo, &plain, &name, &top).expect("re-run completes");
        assert_eq!(
            again.objects_uploaded + again.objects_present,
            61,
            "call {n}: {again:?}"
        );
        latest_is_complete(&plain, &name, &top, &repo);
        assert!(registry::read_latest(&plain, &name)
            .expect("latest")
            .is_some());
    }
    eprintln!("push fault points: 15 injected, {failures} stopped cleanly, 0 corrupt remotes");
    assert!(
        failures >= 10,
        "most injected faults should stop a push without retries"
    );
}

#[test]
fn truncated_downloads_are_refused_and_nothing_is_stored() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("faults-trunc");
    let t = tempfile::tempdir().expect("tempdir");
    let (repo, name, top) = repo_with_data(&t.path().join("ws"));
    let plain = s3(&bucket).expect("server");
    push_with(&repo, &plain, &name, &top).expect("push");

    let faulty = FaultInjecting::new(s3(&bucket).expect("server")).truncate_reads(1000);
    let other = Repository::init(&t.path().join("other"), None).expect("init");
    // The manifest itself is truncated first: a clear parse or hash error.
    let err = fetch_with(other.store(), &faulty, Some(&name), None)
        .expect_err("truncated data must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains("malformed") || msg.contains("corrupt") || msg.contains("does not hold"),
        "{msg}"
    );
    assert!(
        other.store().db().latest(&name).expect("latest").is_none(),
        "no ref for a failed fetch"
    );

    // With the manifest already local, truncated objects are named as corrupt and not stored.
    other
        .store()
        .put_manifest_bytes(
            &plain
                .get(&quilt::sync::layout::manifest_key(&top))
                .expect("manifest"),
        )
        .expect("store manifest");
    let err = fetch_with(other.store(), &faulty, None, Some(&top.to_hex()))
        .expect_err("truncated objects must be refused");
    assert!(err.to_string().contains("corrupt"), "{err}");
    let manifest = other.store().get_manifest(&top).expect("manifest");
    let large = manifest
        .entries
        .iter()
        .find(|e| e.size > 1000)
        .expect("an entry over 1000 bytes");
    assert!(
        !other.store().contains(&large.hash).expect("contains"),
        "a truncated object was stored"
    );
    assert_verifies(&other);
}
