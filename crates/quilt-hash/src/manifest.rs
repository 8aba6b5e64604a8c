//! The package manifest model. Reading and writing are in `manifest/read.rs` and
//! `manifest/write.rs`; the top hash is in `tophash.rs`.

use serde_json::{Map, Value};

use crate::{LogicalKey, ObjectId};

pub mod read;
pub mod write;

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
    /// The entry's `meta` object. `None` when the line had no `meta` key; the top hash then
    /// uses `{}` as quilt3 does.
    pub meta: Option<Value>,
    /// Keys other than the five known ones, in their original order, written after `meta`.
    pub extra: Map<String, Value>,
}
