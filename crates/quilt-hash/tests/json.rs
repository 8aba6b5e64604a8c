mod common;

use proptest::prelude::*;
use quilt_hash::json::{python_dumps, python_float_repr, JsonStyle};
use serde_json::{Map, Number, Value};

/// JSON texts whose Python round trip has a surprising spelling.
const TRICKY: &[&str] = &[
    r#""é\u0001""#,
    r#""\ud83d\ude00 😀 \u0000\u001f\u0008\u000c\n\r\t""#,
    "\"\u{7f} del\"",
    r#""quote \" backslash \\ slash / \/""#,
    "\"\u{2028}\u{2029}\u{feff}\u{ffff}\"",
    r#""\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u000b\u000e\u000f\u0010\u001b""#,
    "1.0",
    "1e16",
    "1E16",
    "1e-5",
    "0.1",
    "1e-7",
    "123456789012345680000.0",
    "5e-324",
    "-0.0",
    "-0",
    "0",
    "1.5E-5",
    "0.0001",
    "0.00001",
    "1e15",
    "999999999999999.9",
    "9999999999999998.0",
    "1e21",
    "1e22",
    "100.0",
    "2.5e-5",
    "1.7976931348623157e308",
    "2.2250738585072014e-308",
    "9007199254740993",
    "12345678901234567890123",
    "-12345678901234567890123",
    "[]",
    "{}",
    "null",
    "true",
    r#"{"b": [1, {"z": null, "a": [true, false]}], "a": {}, "é": [], "éa": 1, "😀": 2, "￿": 3, "": 0}"#,
    r#"{"version": "v0", "user_meta": {"hé": "wörld", "n": null}, "message": "msg é"}"#,
    r#"[[[[{"deep": [1.25, -3e-10, 4E+2]}]]]]"#,
];

fn python_both(lines: &[String]) -> Option<Vec<(String, String)>> {
    let python = common::python()?;
    let script = r#"
import sys, json
for line in sys.stdin.read().split('\n'):
    if not line:
        continue
    v = json.loads(line)
    a = json.dumps(v, ensure_ascii=False)
    b = json.dumps(v, sort_keys=True, separators=(',', ':'))
    sys.stdout.buffer.write(a.encode('utf-8') + b'\n' + b.encode('utf-8') + b'\n')
"#;
    let input = lines.join("\n") + "\n";
    let out = common::run_python(&python, script, input.as_bytes());
    let out = String::from_utf8(out).expect("Python writes UTF-8");
    let outs: Vec<&str> = out.split('\n').collect();
    Some(
        outs.chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect(),
    )
}

fn check_against_python(lines: &[String]) {
    let Some(expected) = python_both(lines) else {
        return;
    };
    assert_eq!(expected.len(), lines.len());
    for (line, (manifest, hash)) in lines.iter().zip(expected) {
        let v: Value = serde_json::from_str(line).expect("test input is JSON");
        assert_eq!(
            python_dumps(&v, JsonStyle::Manifest),
            manifest,
            "manifest style of {line}"
        );
        assert_eq!(
            python_dumps(&v, JsonStyle::Hash),
            hash,
            "hash style of {line}"
        );
    }
}

#[test]
fn tricky_values_match_python() {
    let lines: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
    check_against_python(&lines);
}

#[test]
fn random_floats_match_python() {
    // Random bit patterns cover every exponent, which is where repr's layout switches.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut lines = Vec::new();
    while lines.len() < 3000 {
        // xorshift64: deterministic, so a failure reproduces.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let f = f64::from_bits(state);
        if f.is_finite() {
            lines.push(format!("{f:e}"));
            lines.push(format!("{f:?}"));
        }
    }
    check_against_python(&lines);
}

#[test]
fn known_spellings() {
    let v: Value =
        serde_json::from_str(r#"{"f": [1e16, 1e-5, 0.1, 1.0], "u": "é\u0001"}"#).expect("json");
    assert_eq!(
        python_dumps(&v, JsonStyle::Hash),
        r#"{"f":[1e+16,1e-05,0.1,1.0],"u":"\u00e9\u0001"}"#
    );
    assert_eq!(
        python_dumps(&v, JsonStyle::Manifest),
        r#"{"f": [1e+16, 1e-05, 0.1, 1.0], "u": "é\u0001"}"#
    );
    assert_eq!(python_float_repr(1e-7), "1e-07");
    assert_eq!(python_float_repr(f64::INFINITY), "Infinity");
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        any::<u64>().prop_map(|i| Value::Number(i.into())),
        "-?[1-9][0-9]{20,40}".prop_map(|s| serde_json::from_str(&s).expect("digits are JSON")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).expect("finite"))),
        (
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            any::<bool>()
        )
            .prop_map(|(f, upper)| {
                let text = format!("{f:e}");
                let text = if upper { text.replace('e', "E") } else { text };
                serde_json::from_str(&text).expect("exponent form is JSON")
            }),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Equality as Python sees the values: floats by value, ints by value, objects as dicts.
fn same(a: &Value, b: &Value, ordered: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_str(), y.as_str());
            let float = |t: &str| t.contains(['.', 'e', 'E']);
            if float(x) != float(y) {
                return false;
            }
            if float(x) {
                x.parse::<f64>().expect("float").to_bits()
                    == y.parse::<f64>().expect("float").to_bits()
            } else {
                let int = |t: &str| {
                    if t == "-0" {
                        "0".to_owned()
                    } else {
                        t.to_owned()
                    }
                };
                int(x) == int(y)
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b, ordered))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same(v, w, ordered)))
                && (!ordered || x.keys().eq(y.keys()))
        }
        _ => a == b,
    }
}

proptest! {
    #[test]
    fn dumps_parses_back(v in arb_json()) {
        let manifest = python_dumps(&v, JsonStyle::Manifest);
        let back: Value = serde_json::from_str(&manifest).expect("manifest style is JSON");
        prop_assert!(same(&v, &back, true), "{} -> {}", v, manifest);
        // Writing what we read gives the same text: the spelling is canonical.
        prop_assert_eq!(python_dumps(&back, JsonStyle::Manifest), manifest);

        let hash = python_dumps(&v, JsonStyle::Hash);
        prop_assert!(hash.is_ascii());
        let back: Value = serde_json::from_str(&hash).expect("hash style is JSON");
        prop_assert!(same(&v, &back, false), "{} -> {}", v, hash);
    }
}
