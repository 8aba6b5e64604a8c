//! Hash types, parallel hashing, the package manifest and its top hash, byte-compatible with
//! quilt3.
//!
//! Everything here is pure computation over bytes and files the caller opens: the store, sync
//! and CLI crates build on it, and it must agree with quilt3 to the byte, because a content
//! hash or top hash that differs by one byte names a different object.
//!
//! ```
//! use quilt_hash::{hash_bytes, Entry, HashType, LogicalKey, Manifest};
//! let id = hash_bytes(b"hello");
//! assert_eq!(id.kind, HashType::Sha2_256Chunked);
//! assert_eq!(id.value_string(), "lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=");
//!
//! let mut manifest = Manifest::new(quilt_hash::manifest::default_header());
//! let mut entry = Entry::new(LogicalKey::parse("a/b")?, 5, id);
//! entry.physical_keys.push("file:///tmp/q3/d/a/b".to_owned());
//! manifest.entries.push(entry);
//! let bytes = manifest.to_bytes();
//! assert_eq!(Manifest::from_slice(&bytes)?, manifest);
//! assert_eq!(manifest.top_hash().to_hex().len(), 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod hash;
mod id;
pub mod json;
mod key;
pub mod manifest;
mod name;
pub mod progress;
mod tophash;

pub use error::Error;
pub use hash::{
    chunk_size, hash_bytes, hash_bytes_as, hash_file, hash_file_with_progress, ChunkedHasher,
    StreamHasher, Verifier, MAX_CHUNKS, MIN_CHUNK_SIZE,
};
pub use id::{HashType, ObjectId, TopHash};
pub use json::{python_dumps, JsonStyle};
pub use key::{is_reserved_component, logical_key_cmp, LogicalKey, RESERVED_COMPONENT};
pub use manifest::{
    DirMeta, Entry, EntrySummary, Line, Manifest, ManifestError, ManifestLines, ManifestSummary,
    ManifestWriter,
};
pub use name::PackageName;
pub use progress::{NoProgress, Progress, Unit};
pub use tophash::TopHasher;
