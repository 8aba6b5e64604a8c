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
