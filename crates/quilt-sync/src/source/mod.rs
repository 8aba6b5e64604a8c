//! Packaging data where it lies: the objects below an S3 prefix become manifest entries
//! whose physical keys point at them (`s3://bucket/key?versionId=…`), and no byte is copied.
//!
//! [`scan_s3`] lists every page of the prefix, HEADs each object with its stored checksum and
//! derives quilt3's `sha2-256-chunked` hash from it when S3 computed one that maps onto it
//! ([`checksum`]); only the rest is read, streamed and hashed with parallel chunk-aligned
//! ranged GETs (`read`). An ETag is never taken for a checksum. The entries, keys and hashes
//! equal what quilt3's `Package().set_dir('/', 's3://bucket/prefix/')` and `build` produce on
//! the same objects (see `docs/format.md`, "Packages built in place").

pub mod checksum;
mod error;
mod read;
mod scan;

pub use error::SourceError;
pub use scan::{
    hash_object, scan_s3, RequestCounts, ScanOptions, ScanOutcome, Skipped, SourceEntry,
};

/// `s3://bucket/<key>[?versionId=…]` exactly as quilt3's `PhysicalKey.__str__` writes it:
/// the key quoted as Python's `quote(safe='/')`, the version id as `urlencode` does it.
pub fn s3_physical_key(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let mut out = format!("s3://{bucket}/{}", quote(key, true));
    if let Some(v) = version_id {
        out.push_str("?versionId=");
        out.push_str(&quote_plus(v));
    }
    out
}

/// Python's `urllib.parse.quote(s, safe='/')` (or `safe=''`): everything but ASCII letters,
/// digits, `_.-~` (and `/`) as `%XX` of the UTF-8 bytes.
fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'.' | b'-' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Python's `quote_plus`: `quote(s, safe='')` with spaces as `+`.
fn quote_plus(s: &str) -> String {
    s.split(' ')
        .map(|part| quote(part, false))
        .collect::<Vec<_>>()
        .join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_keys_as_quilt3_writes_them() {
        // Values printed by quilt3 8.0.0's str(PhysicalKey(...)).
        assert_eq!(
            s3_physical_key("bkt", "d/a b/é~x+y.txt", None),
            "s3://bkt/d/a%20b/%C3%A9~x%2By.txt"
        );
        assert_eq!(
            s3_physical_key("bkt", "k", Some("a b/c+d=")),
            "s3://bkt/k?versionId=a+b%2Fc%2Bd%3D"
        );
        assert_eq!(
            s3_physical_key("bkt", "k", Some("6712a1ed20a1dc3be26903b4a1bf887f")),
            "s3://bkt/k?versionId=6712a1ed20a1dc3be26903b4a1bf887f"
        );
    }
}
