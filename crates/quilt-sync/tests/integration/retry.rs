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
