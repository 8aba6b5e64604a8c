//! Key names on a remote. Manifests and pointers follow quilt3's registry layout; data
//! objects are content-addressed under one prefix. See docs/format.md.

use quilt_hash::{ObjectId, PackageName, TopHash};

use crate::s3::sigv4::uri_encode;

/// Prefix of content-addressed data objects: `.quilt/objects/<64 hex of the digest>`.
pub const OBJECTS_PREFIX: &str = ".quilt/objects/";
/// Prefix of manifests: `.quilt/packages/<top hash>`.
pub const PACKAGES_PREFIX: &str = ".quilt/packages/";
/// Prefix of named pointers: `.quilt/named_packages/<ns>/<pkg>/{<unix_ts>,latest}`.
pub const NAMED_PREFIX: &str = ".quilt/named_packages/";

/// The key of a data object.
pub fn object_key(id: &ObjectId) -> String {
    format!("{OBJECTS_PREFIX}{}", id.to_hex())
}

/// The key of the manifest with top hash `top`.
pub fn manifest_key(top: &TopHash) -> String {
    format!("{PACKAGES_PREFIX}{}", top.to_hex())
}

/// The prefix (ending in `/`) holding the pointers of package `name`.
pub fn pointer_dir(name: &PackageName) -> String {
    format!("{NAMED_PREFIX}{}/{}/", name.namespace(), name.name())
}

/// The key of the `latest` pointer of package `name`.
pub fn latest_key(name: &PackageName) -> String {
    format!("{}latest", pointer_dir(name))
}

/// The key of the pointer recording a version of `name` pushed at `unix` seconds.
pub fn timestamp_key(name: &PackageName, unix: i64) -> String {
    format!("{}{unix}", pointer_dir(name))
}

/// Parses the 32-byte digest out of an object key's file name.
pub fn digest_of_object_key(key: &str) -> Option<[u8; 32]> {
    let hex_part = key.strip_prefix(OBJECTS_PREFIX)?;
    let mut out = [0u8; 32];
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// A pointer file's content: exactly 64 lowercase hex characters (a trailing newline written
/// by hand is tolerated).
pub fn parse_pointer(bytes: &[u8]) -> Option<TopHash> {
    let s = std::str::from_utf8(bytes).ok()?;
    TopHash::parse(s.trim_end_matches(['\n', '\r'])).ok()
}

/// The physical key of `key` under a remote described as `base` (`s3://bucket/prefix/` or
/// `file:///dir/`), written as quilt3 writes one: the path percent-encoded like Python's
/// `quote(safe='/')`, and `?versionId=` when the object has a version of its own.
pub fn physical_key(base: &str, key: &str, version_id: Option<&str>) -> String {
    let base = base.trim_end_matches('/');
    let encoded = match base.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let path = if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}/{key}")
            };
            format!("s3://{bucket}/{}", uri_encode(&path, false))
        }
        None => format!("{base}/{}", uri_encode(key, false)),
    };
    match version_id {
        Some(v) => format!("{encoded}?versionId={}", uri_encode(v, true)),
        None => encoded,
    }
}

#[cfg(test)]
mod tests {
    use super::physical_key;

    #[test]
    fn physical_keys_are_written_as_quilt3_writes_them() {
        assert_eq!(
            physical_key("s3://b/p q/", "a b/é.txt", Some("v1.x")),
            "s3://b/p%20q/a%20b/%C3%A9.txt?versionId=v1.x"
        );
        assert_eq!(physical_key("s3://b", "k", None), "s3://b/k");
        assert_eq!(
            physical_key("file:///reg/", "a?b#c", None),
            "file:///reg/a%3Fb%23c"
        );
    }
}
