//! Publishing a manifest built elsewhere (no objects): `quilt build --registry`, quilt3's
//! `Package.build(name, registry=…)`. The manifest's physical keys already say where the data
//! is, so nothing but the manifest and the two pointers is written.

use quilt_hash::{PackageName, TopHash};

use super::error::TResult;
use super::push::move_latest_if;
use crate::layout::manifest_key;
use crate::Remote;

/// What publishing did on the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The registry held a different manifest for this top hash (same content, other
    /// physical keys), and it was replaced, as quilt3's build replaces it.
    pub manifest_replaced: bool,
    /// `latest` now names this version because of this call.
    pub latest_moved: bool,
}

/// Writes `manifest` (whose top hash is `top`) to the registry, then a timestamped pointer,
/// then `latest` by compare-and-swap. Like a local build, the new version is the package's
/// newest: `latest` moves whatever it named (a writer that moved it meanwhile keeps its
/// timestamped pointer). A manifest the registry already holds byte for byte is not written
/// again.
pub fn publish_manifest(
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
    manifest: &[u8],
) -> TResult<Published> {
    let key = manifest_key(top);
    let existing = match remote.head(&key)? {
        None => None,
        Some(meta) if meta.size != manifest.len() as u64 => Some(false),
        Some(_) => Some(remote.get(&key)? == manifest),
    };
    if existing != Some(true) {
        remote.put(&key, manifest)?;
    }
    let latest_moved = move_latest_if(remote, name, top, &|_| Ok(()))?;
    Ok(Published {
        manifest_replaced: existing == Some(false),
        latest_moved,
    })
}
