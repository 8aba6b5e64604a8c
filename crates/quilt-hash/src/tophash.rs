//! The package top hash.
//!
//! quilt3 computes it as sha256 over, concatenated with no separator, the hash-style JSON
//! (`sort_keys=True`, `separators=(',', ':')`, ASCII only) of the header without `top_hash`,
//! then `{"hash": …, "logical_key": …, "meta": …, "size": …}` for each entry in walk order.
//! Physical keys and directory metadata are not covered.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::json::{self, python_truthy, JsonStyle};
use crate::{Entry, ObjectId, TopHash};

const STYLE: JsonStyle = JsonStyle::Hash;

/// Computes a top hash incrementally: the header first, then entries in order.
///
/// ```
/// use quilt_hash::{Manifest, TopHasher};
/// let manifest = Manifest::new(quilt_hash::manifest::default_header());
/// let hasher = TopHasher::new(&manifest.header);
/// assert_eq!(hasher.finish(), manifest.top_hash());
/// ```
#[derive(Clone)]
pub struct TopHasher {
    sha: Sha256,
    buf: Vec<u8>,
}

impl TopHasher {
    /// Starts with the header; a `top_hash` key in it is left out, as quilt3 drops it on load.
    pub fn new(header: &Map<String, Value>) -> Self {
        let mut buf = Vec::with_capacity(512);
        json::write_object(&mut buf, header, STYLE, Some("top_hash"));
        let mut sha = Sha256::new();
        sha.update(&buf);
        TopHasher { sha, buf }
    }

    /// Adds the next entry.
    pub fn entry(&mut self, entry: &Entry) {
        self.add(
            &entry.logical_key,
            entry.size,
            &entry.hash,
            entry.meta.as_ref(),
        );
    }

    /// Adds the next entry from its parts. A missing or false `meta` counts as `{}`, because
    /// quilt3 stores `meta or {}`.
    pub fn add(&mut self, logical_key: &str, size: u64, hash: &ObjectId, meta: Option<&Value>) {
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(b"{\"hash\":{\"type\":");
        json::write_string(buf, hash.kind.name(), STYLE);
        buf.extend_from_slice(b",\"value\":");
        json::write_string(buf, &hash.value_string(), STYLE);
        buf.extend_from_slice(b"},\"logical_key\":");
        json::write_string(buf, logical_key, STYLE);
        buf.extend_from_slice(b",\"meta\":");
        match meta {
            Some(m) if python_truthy(m) => json::write(buf, m, STYLE),
            _ => buf.extend_from_slice(b"{}"),
        }
        buf.extend_from_slice(b",\"size\":");
        buf.extend_from_slice(size.to_string().as_bytes());
        buf.push(b'}');
        self.sha.update(&*buf);
    }

    /// The top hash of the header and every entry fed so far.
    pub fn finish(self) -> TopHash {
        TopHash(self.sha.finalize().into())
    }
}

impl std::fmt::Debug for TopHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopHasher").finish_non_exhaustive()
    }
}
