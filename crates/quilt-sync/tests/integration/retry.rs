//! The Retry decorator over a directory remote with injected faults (deterministic and fast).

use std::time::Duration;

use quilt_sync::{
    CasOutcome, Condition, Counting, DirRemote, FaultInjecting, Op, Remote, Retry, RetryOptions,
};

use crate::util as common;

fn dir(test: &str) -> DirRemote {
    common::fresh_dir(&format!("retry-{test}"))
}

fn quick(attempts: u32) -> RetryOptions {
    RetryOptions {
        attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

#[test]
fn recovers_from_the_first_two_requests_failing() {
    let d = dir("recovers");
    d.put("k", b"v").unwrap();
    let faulty = FaultInjecting::new(d).fail_next(2);
    let r = Retry::new(&faulty, quick(5));
    assert_eq!(r.get("k").unwrap(), b"v");
    assert_eq!(faulty.calls(), 3);
}

#[test]
fn gives_up_after_the_configured_attempts() {
    let faulty = FaultInjecting::new(dir("gives_up")).fail_next(10);
    let r = Retry::new(&faulty, quick(3));
    let e = r.head("k").unwrap_err();
    assert!(e.is_transient());
    assert_eq!(e.attempts(), 3);
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
    assert_eq!(faulty.calls(), 3);
}

#[test]
fn permanent_errors_pass_straight_through() {
    let faulty = FaultInjecting::new(dir("permanent"));
    let r = Retry::new(&faulty, quick(5));
    assert!(r.get("missing").unwrap_err().is_not_found());
    assert!(r.put("/bad", b"").is_err());
    assert_eq!(faulty.calls(), 2);
}

#[test]
fn backoff_waits_between_attempts() {
    let faulty = FaultInjecting::new(dir("backoff")).fail_next(2);
    let r = Retry::new(
        &faulty,
        RetryOptions {
            attempts: 3,
            base_delay: Duration::from_millis(40),
            max_delay: Duration::from_secs(1),
        },
    );
    let t = std::time::Instant::now();
    r.head("k").unwrap();
    // Jittered delays: at least half of 40 ms + 80 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(60),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn get_to_resumes_where_the_stream_broke() {
    let d = dir("resume");
    let body = common::data(20 << 20, 7);
    d.put("big", &body).unwrap();
    let faulty = FaultInjecting::new(d).cut_next_get_to(5_000_123);
    let counting = Counting::new(&faulty);
    let r = Retry::new(&counting, quick(3));
    let mut out = Vec::new();
    assert_eq!(r.get_to("big", &mut out).unwrap(), body.len() as u64);
    assert!(out == body, "resumed download differs");
    let c = counting.counts();
    assert_eq!(c.get(Op::GetTo), 1);
    assert_eq!(c.get(Op::Head), 1);
    assert_eq!(c.get(Op::GetRange), 2); // 15 MB left in 8 MiB ranges
}

#[test]
fn list_retries_without_repeating_keys_and_never_retries_the_callback() {
    let d = dir("list");
    for i in 0..5 {
        d.put(&format!("k{i}"), b"").unwrap();
    }
    let faulty = FaultInjecting::new(d).fail_next(1);
    let r = Retry::new(&faulty, quick(3));
    assert_eq!(common::keys(&r, ""), ["k0", "k1", "k2", "k3", "k4"]);

    let mut calls = 0;
    let e = r
        .list("", &mut |_| {
            calls += 1;
            Err(quilt_sync::Error::Transient {
                url: String::new(),
                key: String::new(),
                op: "visit",
                detail: "the callback's own failure".into(),
                attempts: 1,
                source: None,
            })
        })
        .unwrap_err();
    assert!(e.to_string().contains("the callback's own failure"));
    assert_eq!(calls, 1);
}

#[test]
fn put_if_whose_answer_was_lost_reports_written() {
    let d = dir("lost_answer");
    // Call 1 reaches the directory and writes, but its answer is lost; the retry then finds
    // the key present. Its content is ours, so the write did land.
    let faulty = FaultInjecting::new(d).lose_answer_of_call(1);
    let r = Retry::new(&faulty, quick(3));
    let out = r
        .put_if("refs/latest", b"abc", Condition::IfAbsent)
        .unwrap();
    assert!(out.is_written(), "{out:?}");

    // Lost answer, and meanwhile someone else's value: a real conflict.
    let faulty = FaultInjecting::new(dir("lost_answer_conflict")).lose_answer_of_call(2);
    faulty
        .put_if("refs/latest", b"theirs", Condition::IfAbsent)
        .unwrap();
    let r = Retry::new(&faulty, quick(3));
    let out = r
        .put_if("refs/latest", b"ours", Condition::IfAbsent)
        .unwrap();
    assert!(
        matches!(out, CasOutcome::PreconditionFailed { current: Some(_) }),
        "{out:?}"
    );
}

/// A directory remote that also keeps versions: version `v` of `k` is the object `k@v`. Only
/// the new method differs from the directory remote, so the decorators' forwarding is what is
/// tested.
struct Versions(DirRemote);

impl Remote for Versions {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn supports_conditional_writes(&self) -> bool {
        true
    }
    fn list(
        &self,
        prefix: &str,
        visit: &mut dyn FnMut(quilt_sync::ListEntry) -> quilt_sync::Result<()>,
    ) -> quilt_sync::Result<()> {
        self.0.list(prefix, visit)
    }
    fn head(&self, key: &str) -> quilt_sync::Result<Option<quilt_sync::ObjectMeta>> {
        self.0.head(key)
    }
    fn get(&self, key: &str) -> quilt_sync::Result<Vec<u8>> {
        self.0.get(key)
    }
    fn get_to(&self, key: &str, w: &mut dyn std::io::Write) -> quilt_sync::Result<u64> {
        self.0.get_to(key, w)
    }
    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn std::io::Write,
    ) -> quilt_sync::Result<u64> {
        let data = self.0.get(&format!("{key}@{version_id}"))?;
        let rest = &data[(start as usize).min(data.len())..];
        w.write_all(rest)
            .map_err(|source| quilt_sync::Error::Sink {
                url: self.describe(),
                key: key.to_owned(),
                source,
            })?;
        Ok(rest.len() as u64)
    }
    fn get_range(&self, key: &str, start: u64, len: u64) -> quilt_sync::Result<Vec<u8>> {
        self.0.get_range(key, start, len)
    }
    fn put(&self, key: &str, data: &[u8]) -> quilt_sync::Result<quilt_sync::Stored> {
        self.0.put(key, data)
    }
    fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> quilt_sync::Result<quilt_sync::Stored> {
        self.0.put_file(key, path, part_size, part_checksums)
    }
    fn delete(&self, key: &str) -> quilt_sync::Result<()> {
        self.0.delete(key)
    }
    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> quilt_sync::Result<CasOutcome> {
        self.0.put_if(key, data, cond)
    }
}

#[test]
fn a_versioned_download_resumes_from_where_it_broke_at_the_same_version() {
    let d = dir("version_resume");
    let old = common::data(3 << 20, 1);
    d.put("k@v1", &old).unwrap();
    d.put("k", b"the newest bytes").unwrap();
    let faulty = FaultInjecting::new(Versions(d)).cut_next_get_to(1_000_003);
    let counting = Counting::new(&faulty);
    let r = Retry::new(&counting, quick(3));
    let mut out = Vec::new();
    let n = r.get_version_to("k", "v1", 0, &mut out).unwrap();
    assert_eq!(n, old.len() as u64);
    assert!(out == old, "the resumed download is not version v1");
    // One cut call, one call resuming at the same version; nothing read the newest bytes.
    let c = counting.counts();
    assert_eq!(c.get(Op::GetVersion), 2);
    assert_eq!(c.total(), 2);
    assert!(c.to_string().contains("get_version_to=2"), "{c}");
}

#[test]
fn a_remote_without_versions_refuses_instead_of_answering_other_bytes() {
    let d = dir("no_versions");
    d.put("k", b"newest").unwrap();
    let r = Retry::new(Counting::new(d), quick(3));
    let mut out = Vec::new();
    let e = r.get_version_to("k", "v1", 0, &mut out).unwrap_err();
    assert!(!e.is_transient() && !e.is_not_found(), "{e}");
    assert!(e.to_string().contains("version v1"), "{e}");
    assert!(out.is_empty());
}
