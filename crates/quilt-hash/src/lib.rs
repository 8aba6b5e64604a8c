//! Hash types, parallel hashing, the package manifest and its top hash, byte-compatible with
//! quilt3.
//!
//! ```
//! use quilt_hash::{hash_bytes, HashType};
//! let id = hash_bytes(b"hello");
//! assert_eq!(id.kind, HashType::Sha2_256Chunked);
//! assert_eq!(id.value_string(), "lZXJ35AHUUjrBoYDZd8zWEt1v/eCpRDGzUiDpBmDPVA=");
//! ```

mod error;
mod id;
pub mod progress;

pub use error::Error;
pub use id::{HashType, ObjectId, TopHash};
pub use progress::{NoProgress, Progress, Unit};
