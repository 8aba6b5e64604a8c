mod common;

use quilt_hash::manifest::default_header;
use quilt_hash::{hash_bytes, Entry, LogicalKey, Manifest, TopHash, TopHasher};
use serde_json::{json, Value};

fn entry(key: &str, data: &[u8], meta: Option<Value>) -> Entry {
    let mut e = Entry::new(
        LogicalKey::parse(key).expect("valid key"),
        data.len() as u64,
        hash_bytes(data),
    );
    // quilt3 normalises file URLs to percent-encoded UTF-8, so write them that way.
    let path: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    e.physical_keys.push(format!("file:///tmp/q3/{path}"));
    e.meta = meta;
    e
}

/// A manifest that exercises every spelling rule the top hash depends on.
fn tricky() -> Manifest {
    let mut header = default_header();
    header.insert(
        "user_meta".into(),
        json!({"hé": "wörld 😀", "ctl": "\u{1}\u{7f}\n", "f": [1.0, 1e16, 1e-5, 0.1, 1e-7, -0.0, 5e-324]}),
    );
    header.insert("message".into(), json!("msg é"));
    header.insert(
        "workflow".into(),
        json!({"id": null, "config": "s3://b/.quilt/workflows/config.yml"}),
    );
    let big: Value =
        serde_json::from_str("{\"user_meta\": {\"big\": 12345678901234567890123, \"z\": 1E16}}")
            .expect("json");
    let mut m = Manifest::new(header);
    m.entries = vec![
        entry("a/b", b"hello", Some(json!({}))),
        entry("a-c", b"x", Some(big)),
        entry("a.txt", b"", None),
        entry(
            "é/😀",
            b"snow",
            Some(json!({"user_meta": {"é": "\u{10ffff}"}})),
        ),
        entry("z", b"zz", Some(json!([]))),
    ];
    m.dirs.push(quilt_hash::DirMeta {
        logical_key: "a/".into(),
        meta: json!({"d": 1}),
        extra: Default::default(),
    });
    // "é" sorts after "z" by code point; quilt3 hashes in that order.
    m.sort_entries();
    assert_eq!(
        m.entries.last().expect("entries").logical_key.as_str(),
        "é/😀"
    );
    m
}

#[test]
fn incremental_equals_whole() {
    let m = tricky();
    let mut h = TopHasher::new(&m.header);
    for e in &m.entries {
        h.add(&e.logical_key, e.size, &e.hash, e.meta.as_ref());
    }
    assert_eq!(h.finish(), m.top_hash());
}

#[test]
fn top_hash_ignores_physical_keys_dirs_and_header_top_hash() {
    let m = tricky();
    let mut other = m.clone();
    other.entries[0].physical_keys = vec!["s3://elsewhere/x".into()];
    other.dirs.clear();
    other.header.insert("top_hash".into(), json!("obsolete"));
    assert_eq!(other.top_hash(), m.top_hash());
    other.entries[0].size += 1;
    assert_ne!(other.top_hash(), m.top_hash());
}

/// Older quilt versions wrote entries in insertion order; quilt3 8 hashes them in its walk
/// order whatever the file says, and so does quilt.
#[test]
fn top_hash_takes_entries_in_quilt3_order_whatever_the_file_order() {
    let m = tricky();
    assert!(m.is_in_order());
    let mut reversed = m.clone();
    reversed.entries.reverse();
    assert!(!reversed.is_in_order());
    assert_eq!(reversed.top_hash(), m.top_hash());
    let keys = |it: quilt_hash::manifest::InOrder<'_>| {
        it.map(|e| e.logical_key.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(reversed.entries_in_order()),
        keys(m.entries_in_order())
    );
    // The file's own order is kept for writing.
    assert_ne!(reversed.to_bytes(), m.to_bytes());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn any_entry_order_gives_the_same_top_hash(seed in proptest::prelude::any::<u64>()) {
        let m = tricky();
        let mut shuffled = m.clone();
        // A Fisher-Yates shuffle driven by the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.entries.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.entries.swap(i, (x % (i as u64 + 1)) as usize);
        }
        proptest::prop_assert_eq!(shuffled.top_hash(), m.top_hash());
    }
}

#[test]
fn false_meta_hashes_as_empty_object() {
    let mut a = Manifest::new(default_header());
    a.entries.push(entry("k", b"v", Some(json!({}))));
    let base = a.top_hash();
    for meta in [
        None,
        Some(Value::Null),
        Some(json!([])),
        Some(json!(0)),
        Some(json!("")),
    ] {
        a.entries[0].meta = meta;
        assert_eq!(a.top_hash(), base);
    }
}

/// quilt3 computes the same top hash for a manifest whose lines are out of its order, and
/// it has a header `top_hash` (dropped on load) and the legacy hash types.
#[test]
fn quilt3_agrees_on_old_shapes() {
    let Some(python) = common::python() else {
        return;
    };
    let mut m = tricky();
    m.entries.reverse();
    m.header
        .insert("top_hash".into(), json!({"alg": "v0", "value": "00"}));
    // Reversed, "é/😀" (b"snow") comes first and "z" (b"zz") second.
    m.entries[0].hash = quilt_hash::hash_bytes_as(quilt_hash::HashType::Crc64Nvme, b"snow");
    m.entries[1].hash = quilt_hash::hash_bytes_as(quilt_hash::HashType::Sha256, b"zz");
    let script = r#"
import io, sys
import quilt3
pkg = quilt3.Package.load(io.BytesIO(sys.stdin.buffer.read()))
sys.stdout.write(pkg.top_hash)
"#;
    let out = common::run_python(&python, script, &m.to_bytes());
    let top = TopHash::parse(std::str::from_utf8(&out).expect("hex")).expect("a top hash");
    assert_eq!(top, m.top_hash());
}

/// quilt3 loads what we write, writes the same bytes back, and computes the same top hash.
#[test]
fn quilt3_agrees() {
    let Some(python) = common::python() else {
        return;
    };
    let m = tricky();
    let bytes = m.to_bytes();
    let script = r#"
import io, sys
import quilt3
data = sys.stdin.buffer.read()
pkg = quilt3.Package.load(io.BytesIO(data))
out = io.StringIO()
pkg.dump(out)
sys.stdout.buffer.write(pkg.top_hash.encode() + b'\n' + out.getvalue().encode('utf-8'))
"#;
    let out = common::run_python(&python, script, &bytes);
    let (top, dumped) = out.split_at(64);
    let top =
        TopHash::parse(std::str::from_utf8(top).expect("hex")).expect("quilt3 prints a top hash");
    assert_eq!(top, m.top_hash());
    assert_eq!(
        String::from_utf8_lossy(&dumped[1..]),
        String::from_utf8_lossy(&bytes),
        "quilt3 rewrites our manifest identically"
    );
}
