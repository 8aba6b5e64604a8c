//! Content hashing: quilt3's `sha2-256-chunked` (and plain `SHA256` and `CRC64NVME`, which
//! quilt3 reads).
//!
//! A chunked hash is sha256 over the concatenated sha256 digests of fixed-size chunks. Chunks
//! are independent, so large contents hash on every core; the combining step is tiny.

mod chunked;
mod file;
mod stream;
mod verify;

pub use chunked::{chunk_size, hash_bytes, ChunkedHasher, MAX_CHUNKS, MIN_CHUNK_SIZE};
pub use file::{hash_file, hash_file_with_progress};
pub use stream::{hash_bytes_as, StreamHasher};
pub use verify::Verifier;
