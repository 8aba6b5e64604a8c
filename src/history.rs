//! Versions, packages and metadata, in a store and on a registry: what `quilt log`, `list`,
//! `meta` and `delete` show and do. The registry functions are named after quilt3's
//! (`list_packages`, `list_package_versions`, `delete_package`).

use quilt_hash::{PackageName, TopHash};
use quilt_sync::registry;
use quilt_sync::Remote;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::rev::resolve_rev;

/// One version of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The package.
    pub name: PackageName,
    /// The version.
    pub top_hash: TopHash,
    /// When it was recorded (unix seconds; 0 when a registry's `latest` alone names it).
    pub time: i64,
    /// Its manifest's message.
    pub message: Option<String>,
    /// Whether it is the package's latest version.
    pub latest: bool,
}

/// A version's metadata: the package's, or one entry's.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaView {
    /// The version.
    pub top_hash: TopHash,
    /// The manifest's message (package metadata only; `null` for an entry).
    pub message: Value,
    /// The user's metadata: the header's `user_meta`, or the entry's `meta.user_meta`.
    pub user_meta: Value,
    /// An entry's whole `meta` object (`null` for the package).
    pub meta: Value,
}

impl Repository {
    /// The versions of `name` in this store, newest first; the first is the latest.
    pub fn log(&self, name: &PackageName) -> Result<Vec<VersionInfo>> {
        Ok(self
            .store()
            .db()
            .revisions(name)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| VersionInfo {
                name: r.name,
                top_hash: r.top_hash,
                time: r.time,
                message: r.message,
                latest: i == 0,
            })
            .collect())
    }

    /// Every package in this store with its latest version.
    pub fn list(&self) -> Result<Vec<VersionInfo>> {
        Ok(self
            .store()
            .db()
            .packages()?
            .into_iter()
            .map(|r| VersionInfo {
                name: r.name,
                top_hash: r.top_hash,
                time: r.time,
                message: r.message,
                latest: true,
            })
            .collect())
    }

    /// The package metadata of version `rev`, or with `key` that file's metadata. The
    /// manifest is streamed, so a huge one costs no memory.
    pub fn meta(&self, rev: &str, key: Option<&str>) -> Result<MetaView> {
        let mut entries = self.entries_of(resolve_rev(self.store(), rev)?.top_hash)?;
        let top = entries.top_hash;
        let Some(key) = key else {
            let header = entries.header();
            return Ok(MetaView {
                top_hash: top,
                message: header.get("message").cloned().unwrap_or(Value::Null),
                user_meta: header.get("user_meta").cloned().unwrap_or(Value::Null),
                meta: Value::Null,
            });
        };
        for e in entries.by_ref() {
            let e = e?;
            if e.logical_key.as_str() == key {
                let meta = e.meta.unwrap_or(Value::Null);
                return Ok(MetaView {
                    top_hash: top,
                    message: Value::Null,
                    user_meta: meta.get("user_meta").cloned().unwrap_or(Value::Null),
                    meta,
                });
            }
        }
        Err(Error::NoEntry {
            key: key.to_owned(),
            top_hash: top,
        })
    }

    /// The package metadata (`user_meta`) of `name`'s latest version in this store; `None`
    /// when it has none (or no version): what a build without new metadata carries forward.
    pub fn latest_user_meta(&self, name: &PackageName) -> Result<Option<Value>> {
        let Some(latest) = self.store().db().latest(name)? else {
            return Ok(None);
        };
        let entries = self.entries_of(latest.top_hash)?;
        Ok(entries
            .header()
            .get("user_meta")
            .filter(|v| !v.is_null())
            .cloned())
    }

    /// Removes a package (`NS/PKG`: every version) or one version (`NS/PKG@HASH`) from this
    /// store's history; returns how many versions went. The data stays until `gc`.
    pub fn delete(&self, spec: &str) -> Result<usize> {
        let (name, version) = match spec.split_once('@') {
            Some((n, _)) => (
                PackageName::parse(n)?,
                Some(resolve_rev(self.store(), spec)?.top_hash),
            ),
            None => (PackageName::parse(spec)?, None),
        };
        let removed = match &version {
            Some(t) => usize::from(self.store().delete_revision(&name, t)?),
            None => self.store().delete_package(&name)?,
        };
        if removed == 0 {
            return Err(Error::UnknownRev(spec.to_owned()));
        }
        Ok(removed)
    }
}

/// quilt3's `list_package_versions`: the registry's versions of `name`, newest first, each
/// with its manifest's message; the one `latest` names is marked (and listed first when no
/// timestamped pointer names it).
pub fn list_package_versions(remote: &dyn Remote, name: &PackageName) -> Result<Vec<VersionInfo>> {
    let latest = registry::latest(remote, name)?;
    let mut rows = Vec::new();
    for r in registry::revisions(remote, name)? {
        rows.push(VersionInfo {
            message: registry::message(remote, &r.top_hash)?,
            latest: Some(r.top_hash) == latest,
            name: r.name,
            top_hash: r.top_hash,
            time: r.time,
        });
    }
    if let Some(top) = latest {
        if !rows.iter().any(|r| r.latest) {
            let message = registry::message(remote, &top)?;
            rows.insert(
                0,
                VersionInfo {
                    name: name.clone(),
                    top_hash: top,
                    time: 0,
                    message,
                    latest: true,
                },
            );
        }
    }
    Ok(rows)
}

/// quilt3's `list_packages`: every package on the registry with its latest version.
pub fn list_packages(remote: &dyn Remote) -> Result<Vec<VersionInfo>> {
    Ok(registry::packages(remote)?
        .into_iter()
        .map(|r| VersionInfo {
            name: r.name,
            top_hash: r.top_hash,
            time: r.time,
            message: None,
            latest: true,
        })
        .collect())
}

/// quilt3's `delete_package`: removes the registry's pointers of `NS/PKG` (all) or of
/// `NS/PKG@HASH` (a hash or a prefix of 6 or more hex digits, resolved against the
/// registry's manifests); `latest` moves to the newest remaining version. Manifests and
/// data stay. Returns the package, the version and what was removed.
pub fn delete_package(
    remote: &dyn Remote,
    spec: &str,
) -> Result<(PackageName, Option<TopHash>, registry::Deleted)> {
    let (name, version) = match spec.split_once('@') {
        Some((n, h)) => (
            PackageName::parse(n)?,
            Some(registry::resolve_prefix(remote, h)?),
        ),
        None => (PackageName::parse(spec)?, None),
    };
    let done = registry::delete(remote, &name, version.as_ref())?;
    Ok((name, version, done))
}
