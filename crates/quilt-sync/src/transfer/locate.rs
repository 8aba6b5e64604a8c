//! Where fetch may read an object from: the entry's physical keys, judged by where the
//! manifest came from, then the remote's own `.quilt/objects/<hex>`.
//!
//! Physical keys are a capability the manifest offers, not an instruction to follow blindly.
//! `s3://` keys are followed into any bucket, as quilt3 follows them (each bucket is named at
//! info level the first time it is touched). `file://` keys are only followed when the
//! manifest came from a directory remote on this machine, or when the caller allows local
//! keys: a manifest from S3 must not make quilt read local files. Even then only regular files
//! are read, opened without blocking (a FIFO cannot stall the open), and never past the size
//! the manifest declares. A refused or unusable location is skipped in favour of the others;
//! it becomes the error only when no location works.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use quilt_hash::Entry;
use quilt_store::ObjectWriter;

use super::error::{TResult, TransferError};
use crate::layout::object_key;
use crate::url::percent_decode;
use crate::{open_remote, Remote, RemoteOptions, RemoteUrl};

/// The remotes objects may come from: the one fetched from, and others quilt3 physical keys
/// name (opened on first use).
pub(super) struct Sources<'a> {
    pub home: &'a dyn Remote,
    home_url: Option<RemoteUrl>,
    others: Mutex<HashMap<String, Arc<dyn Remote>>>,
    options: &'a RemoteOptions,
    local_keys: bool,
}

/// Where one object can be read.
pub(super) enum Location {
    /// A key on the remote fetched from.
    Home(String),
    /// A key on another remote (another bucket).
    Other(Arc<dyn Remote>, String),
    /// A local file, allowed by the policy.
    Local { path: PathBuf, physical_key: String },
    /// A location the policy does not allow; the error says why and how to allow it.
    Refused(TransferError),
}

impl<'a> Sources<'a> {
    /// `allow_local_keys` lets `file://` keys be read even when `home` is not a directory
    /// remote.
    pub fn new(home: &'a dyn Remote, options: &'a RemoteOptions, allow_local_keys: bool) -> Self {
        let home_url = RemoteUrl::parse(&home.describe()).ok();
        let local_keys = allow_local_keys || matches!(home_url, Some(RemoteUrl::Dir(_)));
        Sources {
            home,
            home_url,
            others: Mutex::new(HashMap::new()),
            options,
            local_keys,
        }
    }

    /// Candidate locations for an entry, best first.
    pub fn locations(&self, e: &Entry) -> Vec<Location> {
        let mut out = Vec::new();
        for pk in &e.physical_keys {
            match parse_physical_key(pk) {
                Some(PhysicalKey::S3 { bucket, key }) => {
                    if let Some(RemoteUrl::S3 { bucket: hb, prefix }) = &self.home_url {
                        if *hb == bucket {
                            if let Some(rel) = key.strip_prefix(prefix.as_str()) {
                                out.push(Location::Home(rel.to_owned()));
                                continue;
                            }
                        }
                    }
                    if let Some(r) = self.other(&format!("s3://{bucket}")) {
                        out.push(Location::Other(r, key));
                    }
                }
                Some(PhysicalKey::File(path)) => match self.home_relative(&path) {
                    // A key inside the directory remote itself is read like any object there:
                    // streamed, capped at the declared size, with progress.
                    Some(rel) => out.push(Location::Home(rel)),
                    None => out.push(self.local(e, pk, path)),
                },
                None => {}
            }
        }
        out.push(Location::Home(object_key(&e.hash)));
        out
    }

    /// `path` as a key of the home remote, when that is a directory holding it (plain
    /// components only, so `..` never climbs out).
    fn home_relative(&self, path: &str) -> Option<String> {
        let Some(RemoteUrl::Dir(dir)) = &self.home_url else {
            return None;
        };
        let rel = Path::new(path).strip_prefix(dir).ok()?;
        let plain = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if plain {
            rel.to_str().map(str::to_owned)
        } else {
            None
        }
    }

    fn local(&self, e: &Entry, pk: &str, path: String) -> Location {
        let refuse = |reason: &str| {
            Location::Refused(TransferError::LocalKey {
                logical_key: e.logical_key.as_str().to_owned(),
                physical_key: pk.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if !self.local_keys {
            return Location::Refused(TransferError::LocalKeyRefused {
                logical_key: e.logical_key.as_str().to_owned(),
                physical_key: pk.to_owned(),
                remote: self.home.describe(),
            });
        }
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return refuse("not an absolute path (expected file:///path)");
        }
        // Also for keys inside a directory remote: the same checks and the same size bound.
        Location::Local {
            path,
            physical_key: pk.to_owned(),
        }
    }

    fn other(&self, url: &str) -> Option<Arc<dyn Remote>> {
        let mut map = self.others.lock().ok()?;
        if let Some(r) = map.get(url) {
            return Some(r.clone());
        }
        tracing::info!("following physical keys into {url}");
        let r: Arc<dyn Remote> = open_remote(url, self.options).ok()?.into();
        map.insert(url.to_owned(), r.clone());
        Some(r)
    }
}

/// Stores the object `e` from the local file `path`: only a regular file, opened without
/// blocking, read up to the declared size and verified by the store.
pub(super) fn read_local(
    writer: &ObjectWriter<'_>,
    path: &Path,
    physical_key: &str,
    e: &Entry,
) -> TResult<()> {
    let fail = |reason: String| TransferError::LocalKey {
        logical_key: e.logical_key.as_str().to_owned(),
        physical_key: physical_key.to_owned(),
        reason,
    };
    // Checked before the open too, so opening a device has no chance to do anything.
    let meta = std::fs::metadata(path).map_err(|err| fail(err.to_string()))?;
    if let Some(kind) = not_regular(&meta.file_type()) {
        return Err(fail(not_regular_reason(kind)));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| fail(err.to_string()))?;
    let meta = file.metadata().map_err(|err| fail(err.to_string()))?;
    if let Some(kind) = not_regular(&meta.file_type()) {
        return Err(fail(not_regular_reason(kind)));
    }
    if meta.len() > e.size {
        return Err(fail(format!(
            "it is {} bytes long, more than the {} the manifest declares",
            meta.len(),
            e.size
        )));
    }
    match writer.put_reader(&e.hash, e.size, &mut file) {
        Ok(_) => Ok(()),
        Err(quilt_store::Error::SizeMismatch { actual, .. }) => Err(fail(format!(
            "it holds {} bytes where the manifest declares {}",
            if actual > e.size {
                "more".to_owned()
            } else {
                actual.to_string()
            },
            e.size
        ))),
        Err(quilt_store::Error::ContentMismatch { actual, .. }) => Err(fail(format!(
            "its content hashes to {actual}, not to the manifest's {}",
            e.hash
        ))),
        Err(other) => Err(other.into()),
    }
}

fn not_regular(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

fn not_regular_reason(kind: &str) -> String {
    format!("it is {kind}; only regular files are read")
}

/// Where a manifest entry's `physical_keys` point (public for the fuzz targets).
pub enum PhysicalKey {
    /// `s3://bucket/key`, the version id dropped.
    S3 { bucket: String, key: String },
    /// `file:///path`, percent-decoded.
    File(String),
}

/// Parses `s3://bucket/key?versionId=…` and `file:///path`, undoing percent-escapes. The
/// version id is dropped: the bytes are verified against the manifest hash instead.
pub fn parse_physical_key(pk: &str) -> Option<PhysicalKey> {
    if let Some(rest) = pk.strip_prefix("s3://") {
        let rest = rest.split_once('?').map_or(rest, |(p, _)| p);
        let (bucket, key) = rest.split_once('/')?;
        return Some(PhysicalKey::S3 {
            bucket: bucket.to_owned(),
            key: percent_decode(key)?,
        });
    }
    if let Some(rest) = pk.strip_prefix("file://") {
        return Some(PhysicalKey::File(percent_decode(rest)?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quilt3_physical_keys() {
        match parse_physical_key("s3://bkt/team/ds/a%20b.txt?versionId=abc") {
            Some(PhysicalKey::S3 { bucket, key }) => {
                assert_eq!(bucket, "bkt");
                assert_eq!(key, "team/ds/a b.txt");
            }
            _ => panic!("expected an s3 key"),
        }
        assert!(
            matches!(parse_physical_key("file:///x/%C3%A9"), Some(PhysicalKey::File(p)) if p == "/x/é")
        );
        assert!(parse_physical_key("http://x").is_none());
    }
}
