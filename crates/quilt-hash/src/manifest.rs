//! The package manifest model. Reading and writing are in `manifest/read.rs` and
//! `manifest/write.rs`; the top hash is in `tophash.rs`. `docs/format.md` describes the bytes.

use serde_json::{Map, Value};

use crate::{logical_key_cmp, LogicalKey, ObjectId, TopHash, TopHasher};

mod error;
pub mod read;
pub mod summary;
pub mod write;

pub use error::ManifestError;
pub use read::{Line, ManifestLines};
pub use summary::{EntrySummary, ManifestSummary};
pub use write::ManifestWriter;

/// One package version: a header line, directory-metadata lines, then one line per file.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The first line. Key order is kept exactly as read or built (quilt3 builds
    /// `version`, `user_meta`, `message`, then anything else such as `workflow`).
    pub header: Map<String, Value>,
    /// `{"logical_key": "dir/", "meta": …}` lines, in file order. Not part of the top hash.
    pub dirs: Vec<DirMeta>,
    /// File entries in component-wise order of their logical keys.
    pub entries: Vec<Entry>,
}

/// Metadata attached to a directory (a logical key ending in `/`).
#[derive(Debug, Clone, PartialEq)]
pub struct DirMeta {
    pub logical_key: String,
    pub meta: Value,
    /// Keys other than `logical_key` and `meta`, in their original order.
    pub extra: Map<String, Value>,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub logical_key: LogicalKey,
    /// Where the bytes can be fetched from (`file:///…`, `s3://bucket/key?versionId=…`).
    /// Not part of the top hash.
    pub physical_keys: Vec<String>,
    pub size: u64,
    pub hash: ObjectId,
    /// The entry's `meta` object. `None` when the line had no `meta` key; the writer and the top
    /// hash then use `{}` as quilt3 does (also for `null` and other false values).
    pub meta: Option<Value>,
    /// Keys other than the five known ones, in their original order, written after `meta`.
    pub extra: Map<String, Value>,
}

impl Entry {
    /// An entry with an empty `meta` object, as quilt3 creates them.
    pub fn new(logical_key: LogicalKey, size: u64, hash: ObjectId) -> Self {
        Entry {
            logical_key,
            physical_keys: Vec::new(),
            size,
            hash,
            meta: Some(Value::Object(Map::new())),
            extra: Map::new(),
        }
    }
}

/// The header quilt3 writes for a package without metadata or message:
/// `{"version": "v0", "user_meta": null, "message": null}`.
pub fn default_header() -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("version".to_owned(), Value::String("v0".to_owned()));
    header.insert("user_meta".to_owned(), Value::Null);
    header.insert("message".to_owned(), Value::Null);
    header
}

impl Manifest {
    /// An empty manifest with the given header.
    pub fn new(header: Map<String, Value>) -> Self {
        Manifest {
            header,
            dirs: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Puts entries (and directory lines) in quilt3's order. The writer keeps whatever order
    /// the vectors have, so a builder calls this before writing or hashing.
    pub fn sort_entries(&mut self) {
        self.entries
            .sort_by(|a, b| a.logical_key.cmp(&b.logical_key));
        self.dirs
            .sort_by(|a, b| logical_key_cmp(&a.logical_key, &b.logical_key));
    }

    /// The package top hash over the header and the entries in their current order.
    pub fn top_hash(&self) -> TopHash {
        let mut hasher = TopHasher::new(&self.header);
        for entry in &self.entries {
            hasher.entry(entry);
        }
        hasher.finish()
    }

    /// The sum of entry sizes.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}
