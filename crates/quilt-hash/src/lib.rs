//! Hash types, parallel hashing, the package manifest and its top hash, byte-compatible with
//! quilt3.
//!
//! Everything here is pure computation over bytes and files the caller opens: the store, sync
//! and CLI crates build on it, and it must agree with quilt3 to the byte, because a content
//! hash or top hash that differs by one byte names a different object.
//!
//! Hash a file, read a quilt3 manifest that names it, and compute the manifest's top hash (the
//! value checked here is the one quilt3's `Package.top_hash` gives for this manifest):
//!
//! ```
//! use std::io::BufReader;
//! use quilt_hash::{hash_bytes, hash_file, HashType, Manifest};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("hello.txt");
//! std::fs::write(&path, b"hello")?;
//! let id = hash_file(&std::fs::File::open(&path)?, 5)?;
//! assert_eq!(id, hash_bytes(b"hello"));
//! assert_eq!(id.kind, HashType::Sha2_256Chunked);
//! assert_eq!(id.value_string(), "lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=");
//!
//! let manifest_path = dir.path().join("manifest.jsonl");
//! std::fs::write(
//!     &manifest_path,
//!     r#"{"version": "v0", "message": "first version"}
//! {"logical_key": "data/hello.txt", "physical_keys": ["file:///tmp/data/hello.txt"], "size": 5, "hash": {"type": "sha2-256-chunked", "value": "lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA="}, "meta": {}}
//! "#,
//! )?;
//! let manifest = Manifest::read(BufReader::new(std::fs::File::open(&manifest_path)?))?;
//! assert_eq!(manifest.entries[0].hash, id);
//! assert_eq!(
//!     manifest.top_hash().to_hex(),
//!     "76e5a170ef56e706602701bf04d0b2e3374389c5319446033c8ed5333c1b1112"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A manifest can also be built in memory, written out and read back unchanged:
//!
//! ```
//! use quilt_hash::{hash_bytes, Entry, LogicalKey, Manifest};
//!
//! let mut manifest = Manifest::new(quilt_hash::manifest::default_header());
//! let mut entry = Entry::new(LogicalKey::parse("a/b")?, 5, hash_bytes(b"hello"));
//! entry.physical_keys.push("file:///tmp/q3/d/a/b".to_owned());
//! manifest.entries.push(entry);
//! let bytes = manifest.to_bytes();
//! assert_eq!(Manifest::from_slice(&bytes)?, manifest);
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
