use std::cmp::Ordering;

use quilt_hash::{logical_key_cmp, Error, LogicalKey};

#[test]
fn valid_keys() {
    for k in [
        "a",
        "a/b",
        "a b/c.d",
        "é/😀",
        "a\\b",
        ".hidden/x",
        "a/..b",
        ".quilty/x",
        "a/.quilt.db",
    ] {
        let key = LogicalKey::parse(k).expect(k);
        assert_eq!(key.as_str(), k);
        assert_eq!(&*key, k);
        assert_eq!(key.to_string(), k);
    }
    let key = LogicalKey::parse("x/y/z").expect("valid");
    assert_eq!(key.components().collect::<Vec<_>>(), ["x", "y", "z"]);
}

#[test]
fn invalid_keys_explain() {
    for k in ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\0b"] {
        match LogicalKey::parse(k) {
            Err(Error::BadLogicalKey { key, reason }) => {
                assert_eq!(key, k);
                assert!(!reason.is_empty());
            }
            other => panic!("{k:?} should be refused, got {other:?}"),
        }
    }
    let message = LogicalKey::parse("a//b")
        .expect_err("double slash")
        .to_string();
    assert!(
        message.contains("\"a//b\"") && message.contains("'..'"),
        "{message}"
    );
}

#[test]
fn the_quilt_folder_is_reserved_at_any_depth() {
    for k in [
        ".quilt/quilt.db",
        ".quilt",
        "sub/.quilt/lock",
        ".QUILT/x",
        "a/.Quilt",
    ] {
        match LogicalKey::parse(k) {
            Err(Error::BadLogicalKey { key, reason }) => {
                assert_eq!(key, k);
                assert!(reason.contains(".quilt"), "{reason}");
            }
            other => panic!("{k:?} should be refused, got {other:?}"),
        }
    }
}

#[test]
fn component_order() {
    assert_eq!(logical_key_cmp("a/b", "a-c"), Ordering::Less);
    assert_eq!(logical_key_cmp("a-c", "a.txt"), Ordering::Less);
    assert_eq!(logical_key_cmp("a", "a/b"), Ordering::Less);
    assert_eq!(logical_key_cmp("a/b", "a/b"), Ordering::Equal);
    assert_eq!(logical_key_cmp("b", "a/z"), Ordering::Greater);
    let mut keys: Vec<LogicalKey> = ["big", "a.txt", "sub/x.txt", "a-c", "a/b"]
        .into_iter()
        .map(|k| LogicalKey::parse(k).expect("valid"))
        .collect();
    keys.sort();
    let sorted: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    assert_eq!(sorted, ["a/b", "a-c", "a.txt", "big", "sub/x.txt"]);
}

proptest::proptest! {
    /// The byte-level comparison is exactly quilt3's `logical_key.split('/')` order.
    #[test]
    fn order_is_component_order(a in "[a/.\\- \\x01é]{0,8}", b in "[a/.\\- \\x01é]{0,8}") {
        proptest::prop_assert_eq!(logical_key_cmp(&a, &b), a.split('/').cmp(b.split('/')));
    }
}
