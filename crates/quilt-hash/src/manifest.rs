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
    /// File entries in file order: component-wise order of their logical keys for everything
    /// quilt and current quilt3 write, any order for manifests of older quilt versions (see
    /// [`Manifest::entries_in_order`]).
    pub entries: Vec<Entry>,
}

/// The entries of a [`Manifest`] in quilt3's walk order; see [`Manifest::entries_in_order`].
#[derive(Debug, Clone)]
pub enum InOrder<'a> {
    /// The file already had them in order.
    Sorted(std::slice::Iter<'a, Entry>),
    /// The file did not; these are references to its entries, sorted.
    Resorted(std::vec::IntoIter<&'a Entry>),
}

impl<'a> Iterator for InOrder<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        match self {
            InOrder::Sorted(it) => it.next(),
            InOrder::Resorted(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            InOrder::Sorted(it) => it.size_hint(),
            InOrder::Resorted(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for InOrder<'_> {}

/// Metadata attached to a directory (a logical key ending in `/`).
#[derive(Debug, Clone, PartialEq)]
pub struct DirMeta {
    /// The directory's key, as written (ending in `/`).
    pub logical_key: String,
    /// The metadata value as written.
    pub meta: Value,
    /// Keys other than `logical_key` and `meta`, in their original order.
    pub extra: Map<String, Value>,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The file's path within the package.
    pub logical_key: LogicalKey,
    /// Where the bytes can be fetched from (`file:///…`, `s3://bucket/key?versionId=…`).
    /// Not part of the top hash.
    pub physical_keys: Vec<String>,
    /// The file's length in bytes.
    pub size: u64,
    /// The hash of the file's bytes.
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

    /// The package top hash, as quilt3 computes it: over the header and the entries in its walk
    /// order ([`logical_key_cmp`]) whatever their order in `entries`. Manifests written by
    /// older quilt versions hold entries out of that order; quilt3 8 still names them by this
    /// hash, and the file's bytes stay as they are.
    pub fn top_hash(&self) -> TopHash {
        let mut hasher = TopHasher::new(&self.header);
        for entry in self.entries_in_order() {
            hasher.entry(entry);
        }
        hasher.finish()
    }

    /// Whether `entries` are in quilt3's walk order (strictly ascending by
    /// [`logical_key_cmp`]), as quilt and current quilt3 write them.
    pub fn is_in_order(&self) -> bool {
        self.entries
            .windows(2)
            .all(|w| w[0].logical_key.cmp(&w[1].logical_key) == std::cmp::Ordering::Less)
    }

    /// The entries in quilt3's walk order: straight from `entries` when they already are (the
    /// common case costs one comparison per entry and no memory), else through a sorted list
    /// of references. Use it wherever the order matters: top hashes, merges, listings.
    pub fn entries_in_order(&self) -> InOrder<'_> {
        if self.is_in_order() {
            return InOrder::Sorted(self.entries.iter());
        }
        let mut refs: Vec<&Entry> = self.entries.iter().collect();
        refs.sort_by(|a, b| a.logical_key.cmp(&b.logical_key));
        InOrder::Resorted(refs.into_iter())
    }

    /// The sum of entry sizes.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}
