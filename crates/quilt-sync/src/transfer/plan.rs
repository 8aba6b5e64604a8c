//! Working out which objects a remote lacks, without a request per object when it can be
//! avoided.
//!
//! The store keeps an inventory of the digests each remote is known to hold (everything
//! listed there or uploaded there before). Objects the inventory does not know are checked
//! with one HEAD each when there are few, or by listing the object prefix once when there are
//! many; either way what is learnt goes back into the inventory. quilt never deletes remote
//! data objects, so a known object stays known.

use std::sync::Mutex;

use quilt_hash::ObjectId;
use quilt_store::Store;
use rayon::prelude::*;

use super::error::TResult;
use crate::layout::{digest_of_object_key, object_key, OBJECTS_PREFIX};
use crate::Remote;

/// Above this many unknown objects one listing is cheaper than a HEAD each.
pub const HEAD_LIMIT: usize = 64;

/// Listed digests recorded in the inventory per transaction.
const INVENTORY_BATCH: usize = 64 * 1024;

/// Returns the objects of `wanted` the remote does not hold.
pub fn missing_objects(
    store: &Store,
    remote: &dyn Remote,
    inventory_key: &str,
    wanted: &[(ObjectId, u64)],
    pool: &rayon::ThreadPool,
) -> TResult<Vec<(ObjectId, u64)>> {
    let known = store.db().inventory_load(inventory_key)?;
    let unknown: Vec<(ObjectId, u64)> = wanted
        .iter()
        .copied()
        .filter(|(id, _)| !known.contains(&id.digest))
        .collect();
    tracing::info!(
        objects = wanted.len(),
        unknown = unknown.len(),
        "objects the inventory does not place on the remote"
    );
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if unknown.len() <= HEAD_LIMIT {
        let present = Mutex::new(Vec::new());
        let missing: Vec<(ObjectId, u64)> = pool.install(|| {
            unknown
                .par_iter()
                .filter_map(|(id, size)| match remote.head(&object_key(id)) {
                    Ok(Some(meta)) if meta.size == *size => {
                        present.lock().expect("inventory list lock").push(id.digest);
                        None
                    }
                    Ok(_) => Some(Ok((*id, *size))),
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
        })?;
        store.db().inventory_add(
            inventory_key,
            &present.into_inner().expect("inventory list lock"),
        )?;
        return Ok(missing);
    }
    // (digest, size) of every object listed, sorted: 40 bytes each, a third of a set's.
    let mut listed = Vec::new();
    remote.list(OBJECTS_PREFIX, &mut |e| {
        if let Some(d) = digest_of_object_key(&e.key) {
            listed.push((d, e.size));
        }
        Ok(())
    })?;
    listed.sort_unstable();
    for batch in listed.chunks(INVENTORY_BATCH) {
        let digests: Vec<[u8; 32]> = batch.iter().map(|(d, _)| *d).collect();
        store.db().inventory_add(inventory_key, &digests)?;
    }
    Ok(unknown
        .into_iter()
        .filter(|(id, size)| listed.binary_search(&(id.digest, *size)).is_err())
        .collect())
}
