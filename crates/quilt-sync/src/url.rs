//! Parsing of remote locations: `s3://bucket[/prefix]`, `file:///path` and plain paths.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use percent_encoding::{percent_decode_str, percent_encode_byte};

use crate::{Error, Result};

/// Where a remote lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteUrl {
    /// `s3://bucket` or `s3://bucket/prefix/`. `prefix` is empty or ends with `/`.
    S3 {
        /// The bucket's name.
        bucket: String,
        /// The key prefix of the registry in the bucket.
        prefix: String,
    },
    /// A directory, from `file:///abs/path` or a plain path (absolute or relative).
    Dir(PathBuf),
}

impl RemoteUrl {
    /// Parse `s`. Anything with a `scheme://` other than `s3` or `file` is refused, so a typo'd
    /// URL is never mistaken for a relative directory.
    pub fn parse(s: &str) -> Result<RemoteUrl> {
        let err = |reason: &str| Error::InvalidUrl {
            url: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(err("empty"));
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            if let Some(scheme) = url_like_scheme(s) {
                return Err(err(&format!(
                    "it looks like a URL with scheme '{scheme}:' but is not one; use \
                     s3://bucket[/prefix] or file:///path, or write ./{s} for a directory of \
                     that name"
                )));
            }
            return Ok(RemoteUrl::Dir(PathBuf::from(s)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                check_bucket(bucket).map_err(|r| err(&r))?;
                if prefix.contains('?') || prefix.contains('#') {
                    return Err(err("query strings and fragments are not supported"));
                }
                let mut prefix = prefix.to_owned();
                if !prefix.is_empty() {
                    if prefix.starts_with('/') || prefix.contains("//") {
                        return Err(err("the prefix has an empty path component"));
                    }
                    if prefix.split('/').any(|p| p == "." || p == "..") {
                        return Err(err("the prefix has a '.' or '..' component"));
                    }
                    if !prefix.ends_with('/') {
                        prefix.push('/');
                    }
                }
                Ok(RemoteUrl::S3 {
                    bucket: bucket.to_owned(),
                    prefix,
                })
            }
            "file" => {
                if !rest.starts_with('/') {
                    return Err(err(
                        "file URLs name a local absolute path: file:///path (hosts are not supported)",
                    ));
                }
                let path = percent_decode(rest).ok_or_else(|| err("bad %-escape"))?;
                Ok(RemoteUrl::Dir(PathBuf::from(path)))
            }
            other => Err(err(&format!(
                "unsupported scheme '{other}': use s3://bucket[/prefix], file:///path or a \
                 directory path"
            ))),
        }
    }

    /// The directory, for [`RemoteUrl::Dir`].
    pub fn as_dir(&self) -> Option<&Path> {
        match self {
            RemoteUrl::Dir(p) => Some(p),
            RemoteUrl::S3 { .. } => None,
        }
    }
}

impl FromStr for RemoteUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        RemoteUrl::parse(s)
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            RemoteUrl::Dir(p) => {
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                write!(
                    f,
                    "file://{}",
                    percent_encode_path(&abs.display().to_string())
                )
            }
        }
    }
}

/// The scheme of `s` when it starts like a URL (`scheme:` before any `/`, as in `s3:/bucket`,
/// `s3:bucket` or `http:/host`), so a mistyped URL is not taken for a relative directory.
fn url_like_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let scheme_chars = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first.is_ascii_alphabetic() && scheme_chars).then_some(scheme)
}

/// S3 bucket naming rules (the subset that matters for telling typos apart).
fn check_bucket(b: &str) -> std::result::Result<(), String> {
    if b.is_empty() {
        return Err("no bucket name after s3://".into());
    }
    if b.len() < 3 || b.len() > 63 {
        return Err(format!("bucket name '{b}' must be 3 to 63 characters"));
    }
    if !b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
    {
        return Err(format!(
            "bucket name '{b}' may only hold lowercase letters, digits, '-' and '.'"
        ));
    }
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge_ok(b.as_bytes()[0]) || !edge_ok(b.as_bytes()[b.len() - 1]) {
        return Err(format!(
            "bucket name '{b}' must start and end with a letter or digit"
        ));
    }
    Ok(())
}

/// Escapes what [`RemoteUrl::parse`] (`%`) and quilt3's URL parser (`?`, `#`) would read as
/// syntax, so a printed directory parses back to the same directory. Every other character,
/// non-ASCII ones included, is printed as it is (the `percent-encoding` encoders always escape
/// non-ASCII bytes, so they serve only for the escapes themselves).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(percent_encode_byte(c as u8)),
            c => out.push(c),
        }
    }
    out
}

/// Undoes `%XX` escapes; `None` for a bad escape (a `%` not followed by two hex digits) or
/// bytes that are not UTF-8. `percent-encoding` itself leaves bad escapes as they are, so they
/// are refused here first.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str) -> RemoteUrl {
        RemoteUrl::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn parses() {
        assert_eq!(RemoteUrl::parse("s3://bkt").unwrap(), s3("bkt", ""));
        assert_eq!(RemoteUrl::parse("s3://bkt/").unwrap(), s3("bkt", ""));
        assert_eq!(RemoteUrl::parse("s3://bkt/a/b").unwrap(), s3("bkt", "a/b/"));
        assert_eq!(
            RemoteUrl::parse("s3://bkt/a/b/").unwrap(),
            s3("bkt", "a/b/")
        );
        assert_eq!(
            RemoteUrl::parse("file:///tmp/x%20y").unwrap(),
            RemoteUrl::Dir("/tmp/x y".into())
        );
        assert_eq!(
            RemoteUrl::parse("/abs/dir").unwrap(),
            RemoteUrl::Dir("/abs/dir".into())
        );
        assert_eq!(
            RemoteUrl::parse("rel/dir").unwrap(),
            RemoteUrl::Dir("rel/dir".into())
        );
        assert_eq!(
            RemoteUrl::parse("./s3:/x").unwrap(),
            RemoteUrl::Dir("./s3:/x".into())
        );
        assert_eq!(
            RemoteUrl::parse("/data/run:2").unwrap(),
            RemoteUrl::Dir("/data/run:2".into())
        );
        assert_eq!(s3("bkt", "p/").to_string(), "s3://bkt/p/");
        assert_eq!(
            RemoteUrl::Dir("/a/b".into()).to_string(),
            "file:///a/b".to_string()
        );
    }

    #[test]
    fn printed_directories_parse_back() {
        // Found by the remote_url fuzz target: "/%" printed as "file:///%", a bad escape.
        for dir in ["/%", "/a%20b", "/x?y#z", "/100%/d"] {
            let url = RemoteUrl::Dir(dir.into());
            let shown = url.to_string();
            assert_eq!(RemoteUrl::parse(&shown).unwrap(), url, "{shown}");
        }
        assert_eq!(
            RemoteUrl::Dir("/a%b?c".into()).to_string(),
            "file:///a%25b%3Fc"
        );
    }

    #[test]
    fn decodes_escapes_strictly() {
        assert_eq!(percent_decode("a%20b%2fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("%C3%A9+").as_deref(), Some("é+"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("").as_deref(), Some(""));
        for bad in ["%", "a%2", "%zz", "%%41", "%41%", "%+1", "%é", "%C3"] {
            assert_eq!(percent_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn encodes_only_url_syntax() {
        assert_eq!(percent_encode_path("/a b/é%?#"), "/a b/é%25%3F%23");
    }

    #[test]
    fn refuses() {
        for (bad, why) in [
            ("", "empty"),
            ("s3://", "no bucket"),
            ("s3:///x", "no bucket"),
            ("s3://Upper", "lowercase"),
            ("s3://ab", "3 to 63"),
            ("s3://-ab", "start and end"),
            ("s3://bkt//x", "empty path component"),
            ("s3://bkt/a/../b", "'..'"),
            ("file://host/x", "hosts are not supported"),
            ("http://example/x", "unsupported scheme 'http'"),
            ("gs://bkt", "unsupported scheme 'gs'"),
            ("s3:/bad", "looks like a URL with scheme 's3:'"),
            ("s3:bad", "looks like a URL with scheme 's3:'"),
            ("S3:/x/y", "write ./S3:/x/y"),
            ("http:/example.com/x", "scheme 'http:'"),
        ] {
            let e = RemoteUrl::parse(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
