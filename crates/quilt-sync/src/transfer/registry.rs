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
    /// The package.
    pub name: PackageName,
    /// The version a pointer names.
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

/// What [`delete`] removed from a remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The pointer files removed, by name (`1700000000`, `latest`, a tag), sorted.
    pub pointers: Vec<String>,
    /// Where `latest` points now, when this delete moved it (it named a deleted version and
    /// an older timestamped pointer remains).
    pub latest_moved_to: Option<TopHash>,
}

/// Removes a package's pointers, as quilt3's `delete_package` does: manifests and data stay.
///
/// With `version`, every pointer of the package that names it goes: its timestamped pointers,
/// `latest` and any other tag. When `latest` was one of them it moves (compare-and-swap) to the
/// newest remaining timestamped pointer, or is removed when none remains. Without `version`,
/// every pointer of the package goes. A package or version with no pointer is
/// [`TransferError::NotFound`]. Pointers that cannot be read are left alone.
pub fn delete(
    remote: &dyn Remote,
    name: &PackageName,
    version: Option<&TopHash>,
) -> TResult<Deleted> {
    let dir = pointer_dir(name);
    let mut files = Vec::new();
    remote.list(&dir, &mut |e| {
        let file = &e.key[dir.len()..];
        if !file.is_empty() && !file.contains('/') {
            files.push(file.to_owned());
        }
        Ok(())
    })?;
    let not_found = |what: String| TransferError::NotFound {
        remote: remote.describe(),
        what,
    };
    let mut out = Deleted::default();
    let Some(version) = version else {
        if files.is_empty() {
            return Err(not_found(format!("package {name}")));
        }
        for f in &files {
            remote.delete(&format!("{dir}{f}"))?;
        }
        files.sort();
        out.pointers = files;
        return Ok(out);
    };
    let mut remaining: Vec<(i64, TopHash)> = Vec::new();
    let mut latest_named = false;
    for f in &files {
        let key = format!("{dir}{f}");
        let top = match read_pointer(remote, &key) {
            Ok(Some(t)) => t,
            Ok(None) | Err(TransferError::BadPointer { .. }) => continue,
            Err(e) => return Err(e),
        };
        if top != *version {
            if let Ok(ts) = f.parse::<i64>() {
                remaining.push((ts, top));
            }
            continue;
        }
        if f == "latest" {
            latest_named = true;
            continue;
        }
        remote.delete(&key)?;
        out.pointers.push(f.clone());
    }
    if latest_named {
        out.latest_moved_to = replace_latest(remote, name, version, &remaining)?;
        out.pointers.push("latest".to_owned());
    }
    if out.pointers.is_empty() {
        return Err(not_found(format!("a pointer of {name} naming {version}")));
    }
    out.pointers.sort();
    Ok(out)
}

/// `latest` named `doomed`: point it at the newest of `remaining`, or remove it. Both by
/// compare-and-swap, so a push that moved it meanwhile wins.
fn replace_latest(
    remote: &dyn Remote,
    name: &PackageName,
    doomed: &TopHash,
    remaining: &[(i64, TopHash)],
) -> TResult<Option<TopHash>> {
    let Some((top, etag)) = read_latest(remote, name)? else {
        return Ok(None);
    };
    if top != *doomed {
        return Ok(None);
    }
    let key = latest_key(name);
    match remaining.iter().max_by_key(|(ts, _)| *ts) {
        Some((_, next)) => {
            let swapped =
                remote.put_if(&key, next.to_hex().as_bytes(), Condition::IfMatch(etag))?;
            Ok(swapped.is_written().then_some(*next))
        }
        None => {
            remote.delete(&key)?;
            Ok(None)
        }
    }
}
