//! Reading and editing a remote's package pointers (quilt3's `named_packages`).

use std::collections::BTreeMap;

use quilt_hash::{PackageName, TopHash};

use super::error::{TResult, TransferError};
use crate::layout::{
    latest_key, manifest_key, parse_pointer, pointer_dir, NAMED_PREFIX, PACKAGES_PREFIX,
};
use crate::{Condition, Remote};

/// A version as a remote records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRevision {
    pub name: PackageName,
    pub top_hash: TopHash,
    /// The pointer's unix timestamp; for `latest` alone, the newest timestamp seen.
    pub time: i64,
}

/// Reads a pointer file; `None` if it does not exist.
pub fn read_pointer(remote: &dyn Remote, key: &str) -> TResult<Option<TopHash>> {
    match remote.get(key) {
        Ok(bytes) => parse_pointer(&bytes)
            .map(Some)
            .ok_or_else(|| TransferError::BadPointer {
                remote: remote.describe(),
                key: key.to_owned(),
            }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The version `latest` names, with the etag to compare-and-swap against.
pub fn read_latest(remote: &dyn Remote, name: &PackageName) -> TResult<Option<(TopHash, String)>> {
    let key = latest_key(name);
    // HEAD before GET: if latest moves in between, the older etag makes the later swap fail
    // instead of succeeding on a stale read.
    let Some(meta) = remote.head(&key)? else {
        return Ok(None);
    };
    match read_pointer(remote, &key)? {
        Some(top) => Ok(Some((top, meta.etag))),
        None => Ok(None),
    }
}

/// Every version of a package on the remote, newest first.
pub fn revisions(remote: &dyn Remote, name: &PackageName) -> TResult<Vec<RemoteRevision>> {
    let dir = pointer_dir(name);
    let mut stamps = Vec::new();
    remote.list(&dir, &mut |e| {
        if let Ok(ts) = e.key[dir.len()..].parse::<i64>() {
            stamps.push((ts, e.key));
        }
        Ok(())
    })?;
    stamps.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = Vec::with_capacity(stamps.len());
    for (ts, key) in stamps {
        if let Some(top) = read_pointer(remote, &key)? {
            out.push(RemoteRevision {
                name: name.clone(),
                top_hash: top,
                time: ts,
            });
        }
    }
    Ok(out)
}

/// When the remote last recorded `top` for `name`: the newest timestamped pointer naming it
/// (quilt3 writes one per push), or `None` if none does. Pointers are read newest first, so
/// fetching `latest` costs one listing and one GET.
pub fn version_time(
    remote: &dyn Remote,
    name: &PackageName,
    top: &TopHash,
) -> TResult<Option<i64>> {
    let dir = pointer_dir(name);
    let mut stamps = Vec::new();
    remote.list(&dir, &mut |e| {
        if let Ok(ts) = e.key[dir.len()..].parse::<i64>() {
            stamps.push((ts, e.key));
        }
        Ok(())
    })?;
    stamps.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (ts, key) in stamps {
        match read_pointer(remote, &key) {
            Ok(Some(t)) if t == *top => return Ok(Some(ts)),
            // Another version's pointer, or an unreadable one: it says nothing about this one.
            Ok(_) | Err(TransferError::BadPointer { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The latest version of every package on the remote, by name.
pub fn packages(remote: &dyn Remote) -> TResult<Vec<RemoteRevision>> {
    let mut newest: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    remote.list(NAMED_PREFIX, &mut |e| {
        let rest = &e.key[NAMED_PREFIX.len()..];
        if let Some((pkg, file)) = rest.rsplit_once('/') {
            let slot = newest.entry(pkg.to_owned()).or_insert((0, false));
            if file == "latest" {
                slot.1 = true;
            } else if let Ok(ts) = file.parse::<i64>() {
                slot.0 = slot.0.max(ts);
            }
        }
        Ok(())
    })?;
    let mut out = Vec::new();
    for (pkg, (time, has_latest)) in newest {
        let Ok(name) = PackageName::parse(&pkg) else {
            continue;
        };
        if !has_latest {
            continue;
        }
        if let Some(top) = read_pointer(remote, &latest_key(&name))? {
            out.push(RemoteRevision {
                name,
                top_hash: top,
                time,
            });
        }
    }
    Ok(out)
}

/// Resolves a top-hash prefix (6 to 64 hex characters) against the remote's manifests.
pub fn resolve_prefix(remote: &dyn Remote, prefix: &str) -> TResult<TopHash> {
    if let Ok(top) = TopHash::parse(prefix) {
        return Ok(top);
    }
    let mut found = Vec::new();
    remote.list(&format!("{PACKAGES_PREFIX}{prefix}"), &mut |e| {
        if let Ok(t) = TopHash::parse(&e.key[PACKAGES_PREFIX.len()..]) {
            found.push(t);
        }
        Ok(())
    })?;
    match found.len() {
        0 => Err(TransferError::NotFound {
            remote: remote.describe(),
            what: format!("a version with top hash {prefix}…"),
        }),
        1 => Ok(found[0]),
        _ => Err(TransferError::Ambiguous {
            remote: remote.describe(),
            prefix: prefix.to_owned(),
            candidates: found
                .iter()
                .map(|t| format!("  {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

/// The version `latest` names, if any.
pub fn latest(remote: &dyn Remote, name: &PackageName) -> TResult<Option<TopHash>> {
    read_pointer(remote, &latest_key(name))
}

/// Bytes read from the start of a manifest to find its header line; a longer header is read
/// whole.
const HEADER_PROBE: u64 = 64 << 10;

/// The message in a remote manifest's header (its first line), read with a ranged GET so a
/// large manifest is not downloaded. `None` when the header has no message or the manifest is
/// missing or not a JSON header (log shows what it can rather than fail).
pub fn message(remote: &dyn Remote, top: &TopHash) -> TResult<Option<String>> {
    let key = manifest_key(top);
    let mut head = match remote.get_range(&key, 0, HEADER_PROBE) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !head.contains(&b'\n') && head.len() as u64 == HEADER_PROBE {
        head = remote.get(&key)?;
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let header: serde_json::Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    Ok(header
        .get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}

/// Whether the remote has a manifest.
pub fn has_manifest(remote: &dyn Remote, top: &TopHash) -> TResult<bool> {
    Ok(remote.head(&manifest_key(top))?.is_some())
}

/// Removes a package's pointers (all, or those naming one version), as quilt3's
/// `delete_package` does: manifests and data stay. When `latest` named a deleted version it
/// is moved to the newest remaining one, or removed. Returns how many versions were removed.
pub fn delete(
    remote: &dyn Remote,
    name: &PackageName,
    version: Option<&TopHash>,
) -> TResult<usize> {
    let revs = revisions(remote, name)?;
    let doomed: Vec<&RemoteRevision> = revs
        .iter()
        .filter(|r| version.is_none_or(|v| r.top_hash == *v))
        .collect();
    let dir = pointer_dir(name);
    for r in &doomed {
        remote.delete(&format!("{dir}{}", r.time))?;
    }
    let latest = read_latest(remote, name)?;
    let remaining: Vec<&RemoteRevision> = revs
        .iter()
        .filter(|r| version.is_some_and(|v| r.top_hash != *v))
        .collect();
    if let Some((top, etag)) = latest {
        let latest_doomed = version.is_none_or(|v| top == *v);
        if latest_doomed {
            match remaining.first() {
                Some(next) => {
                    remote.put_if(
                        &latest_key(name),
                        next.top_hash.to_hex().as_bytes(),
                        Condition::IfMatch(etag),
                    )?;
                }
                None => remote.delete(&latest_key(name))?,
            }
        }
        if doomed.is_empty() && latest_doomed {
            return Ok(1);
        }
    }
    Ok(doomed.len())
}
