//! Large files as content-defined chunks: the chunk-list object that names a file's chunks,
//! and the reader and writer paths that go through it.
//!
//! A file at or above the chunking threshold is stored as chunks (`blake3` objects, always
//! small enough to be packed) plus one chunk list under `(ChunkList, d)`, where `d` is the
//! file's `sha2-256-chunked` digest. Manifests never change: they still name the file.

mod cdc;
mod ingest;
mod list;
pub(crate) mod read;
mod write;

pub use cdc::ChunkParams;
pub use list::{ChunkList, DecodeError, LIST_MAGIC, LIST_VERSION, MAX_CHUNK_LEN};
