//! JSON text exactly as Python's `json.dumps` writes it, in the two styles quilt3 uses.
//!
//! quilt3 writes manifest lines with `ensure_ascii=False` and the default `", "` / `": "`
//! separators, and hashes with `sort_keys=True`, `ensure_ascii=True` and `","` / `":"`. Byte
//! equality with those outputs is what makes our manifests and top hashes interchangeable with
//! quilt3's, so numbers and strings follow Python's rules rather than serde_json's:
//!
//! - a number token containing `.`, `e` or `E` is a Python `float` and is written as `repr`
//!   writes it (`1.0`, `1e+16`, `1e-05`); any other number is an `int` and keeps its digits.
//! - control characters use the short escapes `\b \f \n \r \t` or `\u00XX`; in hash style every
//!   non-ASCII character and DEL are `\uXXXX` (astral characters as surrogate pairs).
//!
//! ```
//! use quilt_hash::json::{python_dumps, JsonStyle};
//! let v: serde_json::Value = serde_json::from_str(r#"{"u": "é", "f": 1E16}"#).unwrap();
//! assert_eq!(python_dumps(&v, JsonStyle::Manifest), r#"{"u": "é", "f": 1e+16}"#);
//! assert_eq!(python_dumps(&v, JsonStyle::Hash), r#"{"f":1e+16,"u":"\u00e9"}"#);
//! ```

use serde_json::{Map, Number, Value};

/// Which of quilt3's two `json.dumps` configurations to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// Manifest lines: keys in stored order, raw UTF-8, `", "` and `": "`.
    Manifest,
    /// Top-hash input: keys sorted by code point, ASCII only, `","` and `":"`.
    Hash,
}

impl JsonStyle {
    fn item_sep(self) -> &'static [u8] {
        match self {
            JsonStyle::Manifest => b", ",
            JsonStyle::Hash => b",",
        }
    }

    fn key_sep(self) -> &'static [u8] {
        match self {
            JsonStyle::Manifest => b": ",
            JsonStyle::Hash => b":",
        }
    }
}

/// `json.dumps(v)` in the given style.
pub fn python_dumps(v: &Value, style: JsonStyle) -> String {
    let mut out = Vec::new();
    write(&mut out, v, style);
    String::from_utf8(out).expect("the writer only emits UTF-8 copied from strings or ASCII")
}

/// Appends `json.dumps(v)` in the given style to `out`.
pub fn write(out: &mut Vec<u8>, v: &Value, style: JsonStyle) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, style),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(style.item_sep());
                }
                write(out, item, style);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map, style, None),
    }
}

/// Appends an object, leaving out the key `skip` if given (the top hash drops the header's
/// obsolete `top_hash` key without copying the header).
pub fn write_object(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    style: JsonStyle,
    skip: Option<&str>,
) {
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, k: &str, v: &Value| {
        if skip == Some(k) {
            return;
        }
        if !first {
            out.extend_from_slice(style.item_sep());
        }
        first = false;
        write_string(out, k, style);
        out.extend_from_slice(style.key_sep());
        write(out, v, style);
    };
    match style {
        JsonStyle::Manifest => map.iter().for_each(|(k, v)| member(out, k, v)),
        JsonStyle::Hash => {
            let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
            // Keys are unique, so an unstable sort is deterministic. Rust's str order is code
            // point order, which is Python's str order.
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            sorted.into_iter().for_each(|(k, v)| member(out, k, v));
        }
    }
    out.push(b'}');
}

/// Appends a quoted string with Python's escaping for the style.
pub fn write_string(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    out.push(b'"');
    match style {
        JsonStyle::Manifest => {
            let bytes = s.as_bytes();
            let mut start = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b < 0x20 || b == b'"' || b == b'\\' {
                    out.extend_from_slice(&bytes[start..i]);
                    escape_ascii(out, b);
                    start = i + 1;
                }
            }
            out.extend_from_slice(&bytes[start..]);
        }
        JsonStyle::Hash => {
            for c in s.chars() {
                match c {
                    ' '..='~' if c != '"' && c != '\\' => out.push(c as u8),
                    '\0'..='\x7f' => escape_ascii(out, c as u8),
                    _ => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            push_u_escape(out, *unit);
                        }
                    }
                }
            }
        }
    }
    out.push(b'"');
}

fn escape_ascii(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => push_u_escape(out, u16::from(b)),
    }
}

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((unit >> shift) & 0xf)]);
    }
}

/// True when the number token is a Python `float` rather than an `int`.
pub fn is_float_token(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// Appends a number as Python would print the value `json.loads` made of it.
pub fn write_number(out: &mut Vec<u8>, n: &Number) {
    let text = n.as_str();
    if is_float_token(text) {
        // A token that is not a valid float cannot come out of serde_json's parser; printing
        // it unchanged is the least surprising fallback for a hand-built Number.
        match text.parse::<f64>() {
            Ok(f) => out.extend_from_slice(python_float_repr(f).as_bytes()),
            Err(_) => out.extend_from_slice(text.as_bytes()),
        }
    } else if text == "-0" {
        // Python's int("-0") is 0.
        out.push(b'0');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Python's `float.__repr__`, plus `json.dumps`'s spelling of the non-finite values.
///
/// Both languages print the shortest digit string that round-trips; they differ only in layout.
/// Python uses scientific notation when the decimal exponent is below -4 or at least 16.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always writes an exponent");
    let exp: i32 = exp.parse().expect("{:e} writes a decimal exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut s = String::with_capacity(digits.len() + 8);
    if f < 0.0 {
        s.push('-');
    }
    if !(-4..16).contains(&exp) {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let int_len = usize::try_from(exp).expect("exp is in 0..16") + 1;
        if digits.len() <= int_len {
            s.push_str(&digits);
            s.extend(std::iter::repeat_n('0', int_len - digits.len()));
            s.push_str(".0");
        } else {
            s.push_str(&digits[..int_len]);
            s.push('.');
            s.push_str(&digits[int_len..]);
        }
    } else {
        s.push_str("0.");
        s.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-exp - 1).expect("exp is in -4..0"),
        ));
        s.push_str(&digits);
    }
    s
}

/// Python's truthiness of a JSON value: `null`, `false`, zero, `""`, `[]` and `{}` are false.
/// quilt3 replaces a false entry `meta` with `{}` (`meta or {}`), and the top hash follows.
pub fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_str().parse::<f64>() != Ok(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Checks that every number in `v` is one Python reads back as a finite value: quilt3 writes
/// with `allow_nan=False`, and Python refuses ints longer than 4300 digits.
pub fn check_numbers(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) => {
            let text = n.as_str();
            if is_float_token(text) {
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(()),
                    _ => Err(format!("number {text} is out of range for a float")),
                }
            } else if text.trim_start_matches('-').len() > 4300 {
                Err("integer has more than 4300 digits".to_owned())
            } else {
                Ok(())
            }
        }
        Value::Array(items) => items.iter().try_for_each(check_numbers),
        Value::Object(map) => map.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::python_float_repr as r;

    #[test]
    fn float_repr_layout() {
        assert_eq!(r(1.0), "1.0");
        assert_eq!(r(1e16), "1e+16");
        assert_eq!(r(1e15), "1000000000000000.0");
        assert_eq!(r(1e-5), "1e-05");
        assert_eq!(r(1.5e-5), "1.5e-05");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(0.1), "0.1");
        assert_eq!(r(-0.0), "-0.0");
        assert_eq!(r(123.456), "123.456");
        assert_eq!(r(5e-324), "5e-324");
        assert_eq!(r(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(r(123456789012345680000.0), "1.2345678901234568e+20");
    }
}
