mod common;

use proptest::prelude::*;
use quilt_hash::manifest::default_header;
use quilt_hash::{
    hash_bytes, DirMeta, Entry, EntrySummary, HashType, Line, LogicalKey, Manifest, ManifestError,
    ManifestLines, ManifestSummary, ManifestWriter, ObjectId, TopHash,
};
use serde_json::{json, Map, Value};

const FIXTURES: &[&str] = &[
    "2deeff5dc88ba7404f0928fb18a736d25d1ee9f655f1f2bf6304f7f28e83dd02",
    "8802b528c78c3391cc5a3d8670181360c4ed22fc59bfc343f571006fb8558743",
];

#[test]
fn quilt3_fixtures_round_trip_and_hash() {
    for name in FIXTURES {
        let bytes = std::fs::read(common::fixture(name)).expect("fixture exists");
        let manifest = Manifest::from_slice(&bytes).expect("fixture parses");
        assert_eq!(manifest.to_bytes(), bytes, "{name} round trip");
        let mut written = Vec::new();
        manifest.write(&mut written).expect("write to memory");
        assert_eq!(written, bytes);
        assert_eq!(
            manifest.top_hash(),
            TopHash::parse(name).expect("file name is a top hash")
        );
        assert_eq!(
            manifest.entries.len(),
            if name.starts_with("2d") { 5 } else { 4 }
        );
    }
}

#[test]
fn fixture_fields() {
    let bytes = std::fs::read(common::fixture(FIXTURES[0])).expect("fixture exists");
    let m = Manifest::from_slice(&bytes).expect("parses");
    assert_eq!(m.header["message"], "msg é");
    let e = &m.entries[0];
    assert_eq!(e.logical_key.as_str(), "a/b");
    assert_eq!(e.physical_keys, ["file:///tmp/q3/d/a/b"]);
    assert_eq!(e.size, 5);
    assert_eq!(e.hash, hash_bytes(b"hello"));
    assert_eq!(e.meta, Some(json!({})));
    let last = m.entries.last().expect("has entries");
    assert_eq!(
        last.meta.as_ref().expect("meta")["user_meta"]["big"].to_string(),
        "12345678901234567890123"
    );
}

#[test]
fn streaming_reader_matches_whole_reader() {
    let bytes = std::fs::read(common::fixture(FIXTURES[0])).expect("fixture exists");
    let whole = Manifest::from_slice(&bytes).expect("parses");
    let lines = ManifestLines::new(&bytes[..]).expect("header");
    assert_eq!(lines.header(), &whole.header);
    let entries: Vec<Entry> = lines
        .map(|l| match l.expect("line parses") {
            Line::Entry(e) => e,
            Line::Dir(d) => panic!("unexpected dir {d:?}"),
        })
        .collect();
    assert_eq!(entries, whole.entries);
}

fn entry(key: &str, data: &[u8]) -> Entry {
    let mut e = Entry::new(
        LogicalKey::parse(key).expect("valid key"),
        data.len() as u64,
        hash_bytes(data),
    );
    e.physical_keys.push(format!("file:///tmp/{key}"));
    e
}

#[test]
fn dirs_extras_and_missing_meta_round_trip() {
    let text = concat!(
        "{\"version\": \"v0\", \"user_meta\": null, \"message\": null, \"workflow\": {\"id\": \"w\"}}\n",
        "{\"logical_key\": \"sub/\", \"meta\": {\"k\": 1.0}}\n",
        "{\"logical_key\": \"a\", \"physical_keys\": [], \"size\": 0, \"hash\": {\"type\": \"SHA256\", ",
        "\"value\": \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}}\n",
        "{\"logical_key\": \"sub/b\", \"physical_keys\": [\"s3://b/k?versionId=1\", \"file:///x\"], \"size\": 1, ",
        "\"hash\": {\"type\": \"sha2-256-chunked\", \"value\": \"CjJcowPrMBTEOuAElw80NjTbF2+haXvMjJ76yUYmSI0=\"}, ",
        "\"meta\": null, \"x\": [1, \"é\"]}\n",
    );
    let m = Manifest::from_slice(text.as_bytes()).expect("parses");
    assert_eq!(m.dirs.len(), 1);
    assert_eq!(m.dirs[0].logical_key, "sub/");
    assert_eq!(m.entries[0].hash.kind, HashType::Sha256);
    assert_eq!(m.entries[0].meta, None);
    assert_eq!(m.entries[1].meta, Some(Value::Null));
    assert_eq!(m.entries[1].extra["x"], json!([1, "é"]));
    // quilt3 needs a `meta` on every entry and stores `meta or {}`, so both become `{}`.
    let expected = text
        .replace("855\"}}\n", "855\"}, \"meta\": {}}\n")
        .replace("\"meta\": null", "\"meta\": {}");
    assert_eq!(String::from_utf8(m.to_bytes()).expect("utf-8"), expected);
}

#[test]
fn writer_normalises_other_spellings() {
    let text = concat!(
        "{\"version\":\"v0\",\"user_meta\":{\"f\":1E16,\"g\":1.50,\"i\":-0,\"s\":\"\\u00e9\\u007f\"}}\n",
        "{\"size\":5,\"logical_key\":\"k\",\"hash\":{\"type\":\"sha2-256-chunked\",",
        "\"value\":\"lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=\"},\"meta\":{}}\n",
    );
    let m = Manifest::from_slice(text.as_bytes()).expect("parses");
    let expected = concat!(
        "{\"version\": \"v0\", \"user_meta\": {\"f\": 1e+16, \"g\": 1.5, \"i\": 0, \"s\": \"é\u{7f}\"}}\n",
        "{\"logical_key\": \"k\", \"physical_keys\": [], \"size\": 5, \"hash\": {\"type\": \"sha2-256-chunked\", ",
        "\"value\": \"lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=\"}, \"meta\": {}}\n",
    );
    assert_eq!(String::from_utf8(m.to_bytes()).expect("utf-8"), expected);
    // Writing again changes nothing.
    assert_eq!(
        Manifest::from_slice(expected.as_bytes())
            .expect("parses")
            .to_bytes(),
        expected.as_bytes()
    );
}

#[test]
fn sort_entries_uses_component_order() {
    let mut m = Manifest::new(default_header());
    for k in ["big", "a.txt", "sub/x.txt", "a-c", "a/b"] {
        m.entries.push(entry(k, k.as_bytes()));
    }
    m.sort_entries();
    let keys: Vec<&str> = m.entries.iter().map(|e| e.logical_key.as_str()).collect();
    assert_eq!(keys, ["a/b", "a-c", "a.txt", "big", "sub/x.txt"]);
}

#[test]
fn manifest_writer_streams_the_same_bytes() {
    let mut m = Manifest::new(default_header());
    m.dirs.push(DirMeta {
        logical_key: "d/".into(),
        meta: json!({"a": 1}),
        extra: Map::new(),
    });
    for i in 0..5000 {
        m.entries.push(entry(&format!("d/{i:05}"), &[]));
    }
    let mut w = ManifestWriter::new(Vec::new(), &m.header).expect("header");
    w.dir(&m.dirs[0]).expect("dir");
    for e in &m.entries {
        w.entry(e).expect("entry");
    }
    assert_eq!(w.finish().expect("finish"), m.to_bytes());
}

const GOOD_HEADER: &str = "{\"version\": \"v0\"}\n";
const HELLO: &str = "\"hash\": {\"type\": \"sha2-256-chunked\", \"value\": \"lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=\"}";

fn err(text: &str) -> ManifestError {
    Manifest::from_slice(text.as_bytes()).expect_err("malformed manifest must be refused")
}

#[test]
fn malformed_manifests_name_the_line() {
    let ok_entry = |key: &str| format!("{{\"logical_key\": \"{key}\", \"size\": 5, {HELLO}}}\n");
    let cases: Vec<(String, usize, &str)> = vec![
        ("{\"version\": \"v0\"".into(), 1, "truncated"),
        (format!("{GOOD_HEADER}{}", ok_entry("a").trim_end()), 2, "truncated"),
        ("not json\n".into(), 1, "not valid JSON"),
        ("[1, 2]\n".into(), 1, "the header must be a JSON object"),
        (format!("{GOOD_HEADER}\n"), 2, "blank line"),
        (format!("{GOOD_HEADER}{}\"x\"\n", ok_entry("a")), 3, "must be a JSON object"),
        (format!("{GOOD_HEADER}{{\"size\": 5, {HELLO}}}\n"), 2, "missing field \"logical_key\""),
        (format!("{GOOD_HEADER}{{\"logical_key\": 3, \"size\": 5, {HELLO}}}\n"), 2, "\"logical_key\" must be a string"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", {HELLO}}}\n"), 2, "missing field \"size\""),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5}}\n"), 2, "missing field \"hash\""),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": -1, {HELLO}}}\n"), 2, "non-negative integer"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5.0, {HELLO}}}\n"), 2, "non-negative integer"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": \"5\", {HELLO}}}\n"), 2, "non-negative integer"),
        (
            format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 99999999999999999999, {HELLO}}}\n"),
            2,
            "too large",
        ),
        (format!("{GOOD_HEADER}{}{{\"logical_key\": \"a//b\", \"size\": 5, {HELLO}}}\n", ok_entry("a")), 3, "bad logical key"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"../x\", \"size\": 5, {HELLO}}}\n"), 2, "bad logical key"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"/\", \"meta\": {{}}}}\n"), 2, "bad logical key"),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"d/\"}}\n"), 2, "missing field \"meta\""),
        (
            format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5, \"hash\": {{\"type\": \"md5\", \"value\": \"x\"}}}}\n"),
            2,
            "bad hash",
        ),
        (
            format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5, \"hash\": {{\"type\": \"sha2-256-chunked\", \"value\": \"abc\"}}}}\n"),
            2,
            "bad hash",
        ),
        (
            format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5, \"hash\": {{\"type\": \"SHA256\"}}}}\n"),
            2,
            "missing \"value\"",
        ),
        (format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"size\": 5, \"hash\": \"x\"}}\n"), 2, "\"hash\" must be an object"),
        (
            format!("{GOOD_HEADER}{{\"logical_key\": \"a\", \"physical_keys\": \"s3://x\", \"size\": 5, {HELLO}}}\n"),
            2,
            "array of strings",
        ),
        (format!("{GOOD_HEADER}{}{}", ok_entry("a"), ok_entry("a")), 3, "duplicate logical key"),
        (format!("{{\"version\": \"v0\", \"x\": 1e400}}\n{}", ok_entry("a")), 1, "out of range"),
        (format!("{GOOD_HEADER}{}\u{ff}\n", ok_entry("a")), 3, "not valid JSON"),
    ];
    for (text, line, what) in cases {
        // The parallel in-memory reader and the streaming reader agree on every error.
        let streamed =
            Manifest::read(std::io::BufReader::new(text.as_bytes())).expect_err("malformed");
        assert_eq!(
            streamed.line(),
            Some(line),
            "streaming reader on {text:?}: {streamed}"
        );
        assert_eq!(streamed.to_string(), err(&text).to_string());
        let summary = ManifestSummary::read(text.as_bytes()).expect_err("malformed");
        assert_eq!(
            summary.to_string(),
            err(&text).to_string(),
            "summary reader on {text:?}"
        );
        let e = err(&text);
        assert_eq!(e.line(), Some(line), "{text:?}: {e}");
        let shown = format!(
            "{e}: {}",
            std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
        assert!(shown.starts_with(&format!("line {line}: ")), "{shown}");
        assert!(
            shown.contains(what),
            "{text:?} gave {shown:?}, expected it to mention {what:?}"
        );
    }
    assert!(matches!(err(""), ManifestError::Empty));
    assert_eq!(
        err("").to_string(),
        "empty manifest: line 1 should be the header object"
    );
}

#[test]
fn summaries_match_the_whole_reader() {
    for name in FIXTURES {
        let bytes = std::fs::read(common::fixture(name)).expect("fixture exists");
        let whole = Manifest::from_slice(&bytes).expect("fixture parses");
        let summary = ManifestSummary::read(&bytes[..]).expect("fixture parses");
        assert_eq!(summary.header, whole.header);
        let expected: Vec<EntrySummary> = whole.entries.iter().map(EntrySummary::from).collect();
        assert_eq!(summary.entries, expected);
    }
    // Past the first batch of lines, with a directory line in between: line numbers and
    // order hold across batches.
    let mut text = String::from(GOOD_HEADER);
    text.push_str("{\"logical_key\": \"d/\", \"meta\": {}}\n");
    for i in 0..40_000 {
        text.push_str(&format!(
            "{{\"logical_key\": \"k{i:05}\", \"size\": 5, {HELLO}}}\n"
        ));
    }
    let summary = ManifestSummary::read(text.as_bytes()).expect("parses");
    assert_eq!(summary.entries.len(), 40_000);
    assert_eq!(summary.entries[39_999].logical_key.as_str(), "k39999");
    let dup = format!("{text}{{\"logical_key\": \"k00007\", \"size\": 5, {HELLO}}}\n");
    let e = ManifestSummary::read(dup.as_bytes()).expect_err("duplicate");
    assert_eq!(e.line(), Some(40_003), "{e}");
    let bad = text.replacen("\"k30000\", \"size\": 5", "\"k30000\", \"size\": -5", 1);
    let e = ManifestSummary::read(bad.as_bytes()).expect_err("bad size");
    assert_eq!(e.line(), Some(30_003), "{e}");
}

#[test]
fn streaming_reader_stops_after_error() {
    let text = format!("{GOOD_HEADER}oops\n{{\"logical_key\": \"a\", \"size\": 5, {HELLO}}}\n");
    let mut lines = ManifestLines::new(text.as_bytes()).expect("header");
    assert_eq!(
        lines.next().expect("an item").expect_err("bad line").line(),
        Some(2)
    );
    assert!(lines.next().is_none());
}

fn arb_meta() -> impl Strategy<Value = Option<Value>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-zé😀\\x00-\\x1f\"\\\\]{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    proptest::option::of(value)
}

fn arb_key() -> impl Strategy<Value = LogicalKey> {
    proptest::collection::vec("[^/\\x00]{1,8}", 1..4)
        .prop_filter_map("no . or .. components", |parts| {
            LogicalKey::parse(parts.join("/")).ok()
        })
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    (
        arb_key(),
        proptest::collection::vec("[ -~é😀]{0,20}", 0..3),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<bool>(),
        arb_meta(),
    )
        .prop_map(
            |(logical_key, physical_keys, size, digest, chunked, meta)| Entry {
                logical_key,
                physical_keys,
                size,
                hash: ObjectId::new(
                    if chunked {
                        HashType::Sha2_256Chunked
                    } else {
                        HashType::Sha256
                    },
                    digest,
                ),
                meta,
                extra: Map::new(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn write_read_write_is_identical(
        entries in proptest::collection::vec(arb_entry(), 0..12),
        message in proptest::option::of("[^\\x00]{0,12}"),
        user_meta in arb_meta(),
    ) {
        let mut header = default_header();
        header.insert("message".into(), message.map_or(Value::Null, Value::String));
        header.insert("user_meta".into(), user_meta.unwrap_or(Value::Null));
        let mut m = Manifest::new(header);
        let mut seen = std::collections::HashSet::new();
        m.entries = entries.into_iter().filter(|e| seen.insert(e.logical_key.clone())).collect();
        m.sort_entries();
        let bytes = m.to_bytes();
        let back = Manifest::from_slice(&bytes).expect("our own output parses");
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(back.top_hash(), m.top_hash());
        prop_assert_eq!(back.entries.len(), m.entries.len());
    }
}
