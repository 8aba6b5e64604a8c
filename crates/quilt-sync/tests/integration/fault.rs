//! The FaultInjecting decorator itself (its use with Retry is in retry.rs).

use std::time::Duration;

use quilt_sync::{DirRemote, FaultInjecting, Remote};

use crate::util as common;

fn dir(test: &str) -> DirRemote {
    common::fresh_dir(&format!("fault-{test}"))
}

#[test]
fn truncated_reads_are_silent_so_callers_must_verify() {
    let d = dir("truncate");
    d.put("k", b"0123456789").unwrap();
    let f = FaultInjecting::new(d).truncate_reads(4);
    assert_eq!(f.get("k").unwrap(), b"0123");
    assert_eq!(f.get_range("k", 2, 8).unwrap(), b"2345");
    let mut out = Vec::new();
    assert_eq!(f.get_to("k", &mut out).unwrap(), 4);
    assert_eq!(out, b"0123");
}

#[test]
fn delay_slows_every_call() {
    let f = FaultInjecting::new(dir("delay")).delay(Duration::from_millis(30));
    let t = std::time::Instant::now();
    f.head("a").unwrap();
    f.head("b").unwrap();
    assert!(t.elapsed() >= Duration::from_millis(60));
}

#[test]
fn planned_failures_hit_the_numbered_calls_only() {
    let f = FaultInjecting::new(dir("numbered"))
        .fail_call(2)
        .fail_call(4);
    let results: Vec<bool> = (0..5).map(|_| f.head("k").is_ok()).collect();
    assert_eq!(results, [true, false, true, false, true]);
    assert_eq!(f.calls(), 5);
    let e = FaultInjecting::new(dir("numbered2"))
        .fail_next(1)
        .head("k")
        .unwrap_err();
    assert!(e.is_transient());
    assert!(e.to_string().contains("injected fault on call 1"), "{e}");
}

#[test]
fn lost_answers_still_reach_the_inner_remote() {
    let f = FaultInjecting::new(dir("lost")).lose_answer_of_call(1);
    assert!(f.put("k", b"v").unwrap_err().is_transient());
    assert_eq!(f.get("k").unwrap(), b"v");
}
