//! Where fetch may read an object from: the entry's physical keys, judged by where the
//! manifest came from, then those of other entries with the same content, then the remote's
//! own `.quilt/objects/<hex>`. A key `s3://bucket/key?versionId=…` is read at that version
//! (a versioned bucket keeps older bytes there after later pushes overwrote the key).
//!
//! Physical keys are a capability the manifest offers, not an instruction to follow blindly.
//! `s3://` keys are followed into any bucket, as quilt3 follows them (each bucket is named at
//! info level the first time it is touched). `file://` keys are only followed when the
//! manifest came from a directory remote on this machine, or when the caller allows local
//! keys: a manifest from S3 must not make quilt read local files. Even then only regular files
//! are read, opened without blocking (a FIFO cannot stall the open), and never past the size
//! the manifest declares. A refused or unusable location is skipped in favour of the others;
//! it becomes the error only when no location works.

use std::collections::{HashMap, HashSet};
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
    /// A key on the remote fetched from, possibly one version of it.
    Home {
        key: String,
        version_id: Option<String>,
    },
    /// A key on another remote (another bucket), possibly one version of it.
    Other {
        remote: Arc<dyn Remote>,
        key: String,
        version_id: Option<String>,
    },
    /// A local file, allowed by the policy.
    Local { path: PathBuf, physical_key: String },
    /// A location that cannot be read: the policy does not allow it (the error says why and
    /// how to allow it), or its remote could not be opened.
    Refused { shown: String, error: TransferError },
}

impl Location {
    /// The location as a user would name it: `s3://bucket/key?versionId=…`, `file:///path`.
    pub fn shown(&self, home: &dyn Remote) -> String {
        let with_version = |base: String, key: &str, v: &Option<String>| {
            let sep = if base.ends_with('/') { "" } else { "/" };
            match v {
                Some(v) => format!("{base}{sep}{key}?versionId={v}"),
                None => format!("{base}{sep}{key}"),
            }
        };
        match self {
            Location::Home { key, version_id } => with_version(home.describe(), key, version_id),
            Location::Other {
                remote,
                key,
                version_id,
            } => with_version(remote.describe(), key, version_id),
            Location::Local { physical_key, .. } => physical_key.clone(),
            Location::Refused { shown, .. } => shown.clone(),
        }
    }
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

    /// Candidate locations for an entry, best first and each once: its own physical keys, then
    /// `also` (the physical keys of other entries with the same content), then the remote's
    /// content-addressed `.quilt/objects/<hex>`.
    pub fn locations<'k>(
        &self,
        e: &'k Entry,
        also: impl IntoIterator<Item = &'k String>,
    ) -> Vec<Location> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut add = |loc: Location, out: &mut Vec<Location>| {
            if seen.insert(loc.shown(self.home)) {
                out.push(loc);
            }
        };
        for pk in e.physical_keys.iter().chain(also) {
            if let Some(loc) = self.location(e, pk) {
                add(loc, &mut out);
            }
        }
        let objects = Location::Home {
            key: object_key(&e.hash),
            version_id: None,
        };
        add(objects, &mut out);
        out
    }

    /// Where one physical key points, or `None` for keys quilt3 could not read either.
    fn location(&self, e: &Entry, pk: &str) -> Option<Location> {
        match parse_physical_key(pk)? {
            PhysicalKey::S3 {
                bucket,
                key,
                version_id,
            } => {
                if let Some(RemoteUrl::S3 { bucket: hb, prefix }) = &self.home_url {
                    if *hb == bucket {
                        if let Some(rel) = key.strip_prefix(prefix.as_str()) {
                            return Some(Location::Home {
                                key: rel.to_owned(),
                                version_id,
                            });
                        }
                    }
                }
                let url = format!("s3://{bucket}");
                Some(match self.other(&url) {
                    Ok(remote) => Location::Other {
                        remote,
                        key,
                        version_id,
                    },
                    Err(error) => Location::Refused {
                        shown: pk.to_owned(),
                        error: error.into(),
                    },
                })
            }
            PhysicalKey::File(path) => Some(match self.home_relative(&path) {
                // A key inside the directory remote itself is read like any object there:
                // streamed, capped at the declared size, with progress.
                Some(rel) => Location::Home {
                    key: rel,
                    version_id: None,
                },
                None => self.local(e, pk, path),
            }),
        }
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
        let refuse = |error| Location::Refused {
            shown: pk.to_owned(),
            error,
        };
        if !self.local_keys {
            return refuse(TransferError::LocalKeyRefused {
                logical_key: e.logical_key.as_str().to_owned(),
                physical_key: pk.to_owned(),
                remote: self.home.describe(),
            });
        }
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return refuse(TransferError::LocalKey {
                logical_key: e.logical_key.as_str().to_owned(),
                physical_key: pk.to_owned(),
                reason: "not an absolute path (expected file:///path)".to_owned(),
            });
        }
        // Also for keys inside a directory remote: the same checks and the same size bound.
        Location::Local {
            path,
            physical_key: pk.to_owned(),
        }
    }

    /// The remote for another bucket, opened once with the user's credentials and options.
    fn other(&self, url: &str) -> crate::Result<Arc<dyn Remote>> {
        let mut map = self.others.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = map.get(url) {
            return Ok(r.clone());
        }
        tracing::info!("following physical keys into {url}");
        let r: Arc<dyn Remote> = open_remote(url, self.options)?.into();
        map.insert(url.to_owned(), r.clone());
        Ok(r)
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
    /// `s3://bucket/key`, with the `?versionId=` of a versioned bucket when there is one.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key, percent-decoded.
        key: String,
        /// The object version, if the key names one.
        version_id: Option<String>,
    },
    /// `file:///path`, percent-decoded.
    File(String),
}

/// Parses `s3://bucket/key[?versionId=…]` and `file:///path`, undoing percent-escapes, as
/// quilt3's `PhysicalKey.from_url` does: the first non-empty `versionId` is the version, and
/// any other query parameter makes the key unreadable (`None`), as quilt3 refuses it.
pub fn parse_physical_key(pk: &str) -> Option<PhysicalKey> {
    if let Some(rest) = pk.strip_prefix("s3://") {
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, key) = path.split_once('/')?;
        if bucket.is_empty() {
            return None;
        }
        return Some(PhysicalKey::S3 {
            bucket: bucket.to_owned(),
            key: percent_decode(key)?,
            version_id: match query {
                Some(q) => version_id(q)?,
                None => None,
            },
        });
    }
    if let Some(rest) = pk.strip_prefix("file://") {
        return Some(PhysicalKey::File(percent_decode(rest)?));
    }
    None
}

/// The version id of a physical key's query string, as Python's `parse_qs` reads it (`+` is a
/// space, blank values are dropped, the first value wins); `None` for a query quilt3 refuses.
fn version_id(query: &str) -> Option<Option<String>> {
    let mut version = None;
    for pair in query.split(['&', ';']).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "))?;
        let v = percent_decode(&v.replace('+', " "))?;
        if v.is_empty() {
            continue;
        }
        if k != "versionId" {
            return None;
        }
        version.get_or_insert(v);
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quilt3_physical_keys() {
        match parse_physical_key("s3://bkt/team/ds/a%20b.txt?versionId=abc") {
            Some(PhysicalKey::S3 {
                bucket,
                key,
                version_id,
            }) => {
                assert_eq!(bucket, "bkt");
                assert_eq!(key, "team/ds/a b.txt");
                assert_eq!(version_id.as_deref(), Some("abc"));
            }
            _ => panic!("expected an s3 key"),
        }
        assert!(
            matches!(parse_physical_key("file:///x/%C3%A9"), Some(PhysicalKey::File(p)) if p == "/x/é")
        );
        assert!(parse_physical_key("http://x").is_none());
    }

    #[test]
    fn reads_version_ids_as_quilt3_does() {
        let version = |pk: &str| match parse_physical_key(pk) {
            Some(PhysicalKey::S3 { version_id, .. }) => Some(version_id),
            _ => None,
        };
        assert_eq!(version("s3://b/k"), Some(None));
        assert_eq!(version("s3://b/k?versionId="), Some(None));
        assert_eq!(
            version("s3://b/k?versionId=a%2Bb+c&versionId=z"),
            Some(Some("a+b c".to_owned()))
        );
        // quilt3 refuses any other parameter, and so does fetch (the key is skipped).
        assert_eq!(version("s3://b/k?versionId=1&acl=x"), None);
        assert_eq!(version("s3:///k"), None);
    }
}
