//! The local, content-addressed object store behind quilt: objects live in immutable pack
//! files (small ones) or as loose files (large ones), manifests in `packages/` (zstd
//! compressed, most of them as small deltas against an earlier version), and package revisions,
//! caches and settings in a small SQLite database. Readers always get quilt3's JSONL back; a
//! quilt3 registry is what pushing to a directory remote produces.
//!
//! Writes are ordered so that a crash at any point leaves a consistent store: objects first,
//! then the manifest, then the ref. Every file reaches its final name by an fsync'd rename.
//!
//! ```
//! use quilt_hash::{hash_bytes, Manifest};
//! use quilt_store::Store;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = Store::init(&dir.path().join(".quilt"))?;
//!
//! let data = b"hello";
//! let id = hash_bytes(data);
//! let writer = store.writer()?;
//! assert!(writer.put_bytes(&id, data)?); // newly stored
//! assert!(!writer.put_bytes(&id, data)?); // already there: nothing written
//! writer.commit()?;
//!
//! assert_eq!(store.get(&id)?, data);
//! # Ok(())
//! # }
//! ```
//!
//! The on-disk formats are specified byte by byte in the workspace's `docs/format.md`.

pub mod chunk;
mod db;
mod error;
mod gc;
mod hashing;
mod layout;
mod lock;
mod loose_write;
mod manifest_file;
mod manifest_sink;
mod migrate;
pub mod pack;
pub mod perms;
mod reader;
mod store;
mod verify;
mod writer;

pub use db::{Db, RemoteRecord, RemoteSettings, Revision, StatCache, StatRow};
pub use error::{Error, Result};
pub use gc::{GcOptions, GcOutcome, Held};
pub use lock::LockGuard;
pub use manifest_file::{ManifestKind, DELTA_LIMIT, DELTA_MAGIC, ZSTD_MAGIC};
pub use manifest_sink::ManifestSink;
pub use pack::mem::{BuiltPack, PackBuilder, PackEntry, PackIndex};
pub use pack::merge::{MAX_PACKS, MERGE_BELOW};
pub use pack::{FORMAT_VERSION, INDEX_MAGIC, PACK_MAGIC, PACK_VERSION};
pub use reader::ObjectReader;
pub use store::{SkippedPack, Store, StoreOptions};
pub use verify::{Problem, VerifyOptions, VerifyReport};
pub use writer::{ObjectWriter, WriteOutcome};

#[cfg(test)]
mod tests {
    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Store>();
        check::<crate::ObjectWriter<'_>>();
    }
}
