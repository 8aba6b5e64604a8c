//! The Counting decorator.

use quilt_sync::{Counting, DirRemote, Op, Remote};

use crate::util as common;

fn dir(test: &str) -> DirRemote {
    common::fresh_dir(&format!("counting-{test}"))
}

#[test]
fn counting_counts_each_operation() {
    let c = Counting::new(dir("counting"));
    c.put("a", b"1").unwrap();
    c.put("b", b"2").unwrap();
    c.head("a").unwrap();
    c.get("missing").unwrap_err();
    common::keys(&c, "");
    let n = c.counts();
    assert_eq!(
        (
            n.get(Op::Put),
            n.get(Op::Head),
            n.get(Op::Get),
            n.get(Op::List)
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(n.total(), 5);
    assert_eq!(n.to_string(), "list=1 head=1 get=1 put=2");
    c.reset();
    assert_eq!(c.counts().total(), 0);
}
