//! The packed remote layout: small objects (and chunks) travel in pack files with an index,
//! in the local store's byte format, instead of one key per object. Manifests and pointers
//! stay in quilt3's layout. See docs/format.md §5 ("Packed layout").
//!
//! - [`cache`]: the remote's pack indexes, kept under the store root and refreshed by one
//!   listing of `.quilt/packs/`.
//! - `push`: packs the objects the remote lacks and uploads them, `.pack` then `.idx`.
//! - `fetch`: ranged GETs of the objects the store lacks, merged per pack, verified.
//! - [`lock`]: shared locks for pushers, an exclusive one for [`gc`].

pub mod cache;
pub(crate) mod chunks;
pub(crate) mod fetch;
pub mod gc;
pub mod keys;
pub mod lock;
pub(crate) mod push;

use quilt_hash::{HashType, ObjectId};

/// How a remote lays out its data objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RemoteLayout {
    /// quilt3's layout: one key per object under `.quilt/objects/`.
    #[default]
    Plain,
    /// Objects in packs under `.quilt/packs/`; quilt3 cannot read the data.
    Packed,
}

impl RemoteLayout {
    /// `plain` or `packed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteLayout::Plain => "plain",
            RemoteLayout::Packed => "packed",
        }
    }
}

impl std::str::FromStr for RemoteLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plain" => Ok(RemoteLayout::Plain),
            "packed" => Ok(RemoteLayout::Packed),
            other => Err(format!("unknown remote layout {other:?} (plain or packed)")),
        }
    }
}

/// Objects below this size travel in packs; larger ones as `.quilt/objects/<hex>`, as in the
/// plain layout (a multipart upload with checked parts; one ranged GET would gain nothing).
pub const PACKED_OBJECT_LIMIT: u64 = 1 << 20;

/// Whether an object of this kind and size goes into a pack on a packed remote.
pub fn goes_in_pack(id: &ObjectId, size: u64) -> bool {
    size < PACKED_OBJECT_LIMIT
        || !matches!(
            id.kind,
            HashType::Sha2_256Chunked | HashType::Sha256 | HashType::Crc64Nvme
        )
}
