//! The [`Remote`] trait every backend and decorator implements, and the types it speaks.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::{Error, Result};

/// One object found by [`Remote::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Key relative to the remote root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// What [`Remote::head`] knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Size in bytes.
    pub size: u64,
    /// Opaque version tag, without quotes. Pass it back in [`Condition::IfMatch`].
    ///
    /// S3: the server's ETag. Directory: hex SHA-256 of the contents for files up to
    /// [`crate::dir::CONTENT_ETAG_LIMIT`] bytes (every ref), else a tag built from size,
    /// modification time and inode, so `head` on a large data object stays cheap.
    pub etag: String,
    /// The server's `x-amz-checksum-sha256` when it stored one: base64 SHA-256 for plain
    /// uploads, `base64-N` (SHA-256 over the N part digests) for multipart uploads.
    pub checksum_sha256: Option<String>,
    /// The version id of the current object on a versioned S3 bucket (`x-amz-version-id`);
    /// `None` on unversioned buckets and directories.
    pub version_id: Option<String>,
}

/// What a [`Remote::put`] or [`Remote::put_file`] stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The version id S3 gave the new object when the bucket keeps versions
    /// (`x-amz-version-id`), as quilt3 records it in physical keys (`?versionId=`). `None` on
    /// unversioned buckets (where S3 answers `null` or nothing) and directories.
    pub version_id: Option<String>,
}

/// The precondition of a [`Remote::put_if`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Write only if the key does not exist (`If-None-Match: *`).
    IfAbsent,
    /// Write only if the key's current etag equals this one (`If-Match`).
    IfMatch(String),
    /// Always write.
    Unconditional,
}

/// What a [`Remote::put_if`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// The data was written; `etag` is the new version tag.
    Written {
        /// The new version tag.
        etag: String,
    },
    /// The precondition did not hold, nothing was written. `current` is the etag the key has now,
    /// or `None` if it does not exist.
    PreconditionFailed {
        /// The etag the key has now, or `None` if it does not exist.
        current: Option<String>,
    },
}

impl CasOutcome {
    /// `true` for [`CasOutcome::Written`].
    pub fn is_written(&self) -> bool {
        matches!(self, CasOutcome::Written { .. })
    }
}

/// A place quilt pushes to and pulls from, keyed by names relative to its root.
///
/// Objects are immutable in the sense that a key is only ever re-written with the same bytes
/// (content-addressed data, manifests named by their top hash), so [`Remote::put`] is atomic and
/// idempotent but unconditional. Mutable references (`latest` pointers) must be written with
/// [`Remote::put_if`], which names the version it expects to replace, so two writers never lose
/// each other's update.
///
/// All methods block. Implementations are `Send + Sync` and may be called from many threads.
pub trait Remote: Send + Sync {
    /// The remote as a URL, for messages (`s3://bucket/prefix/`, `file:///path`).
    fn describe(&self) -> String;

    /// Whether [`Remote::put_if`] is enforced by the storage (both built-in backends: yes).
    fn supports_conditional_writes(&self) -> bool;

    /// Call `visit` for every object whose key starts with `prefix`, once each. Pagination is
    /// handled inside. An error from `visit` stops the listing and is returned as is.
    ///
    /// Order: byte-lexicographic by key for the directory backend and AWS S3. Some S3-compatible
    /// servers differ across `/` (SeaweedFS lists `a/b` before `a-c`), so callers that need an
    /// order sort, and nothing here relies on one.
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()>;

    /// Size and version of `key`, or `None` if it does not exist.
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>>;

    /// The whole object in memory. Use [`Remote::get_to`] for large objects.
    fn get(&self, key: &str) -> Result<Vec<u8>>;

    /// Stream the object into `w`; returns the number of bytes written. A response cut short is
    /// reported as a transient error.
    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64>;

    /// Stream version `version_id` of `key` into `w`, from byte `start` (0 for the whole
    /// object) to its end; returns the bytes written. This reads a physical key
    /// `s3://bucket/key?versionId=…` of a versioned bucket, whose newest bytes at `key` may be
    /// another push's by now.
    ///
    /// A version that does not exist is [`Error::NotFound`]. A remote that keeps no versions
    /// (the default, and directories) refuses with [`Error::InvalidArgument`]: it never answers
    /// with the bytes of some other version.
    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        let _ = (start, w);
        Err(Error::InvalidArgument {
            key: key.to_owned(),
            reason: format!(
                "{} keeps no object versions, so version {version_id} cannot be read from it",
                self.describe()
            ),
        })
    }

    /// `len` bytes starting at `start`, fewer if the object ends first. `start` past the end is
    /// an error; `len == 0` returns nothing without a request.
    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>>;

    /// Store `data` under `key`. Readers see the old object or the new one, never a mix.
    fn put(&self, key: &str, data: &[u8]) -> Result<Stored>;

    /// Store the file at `path` under `key`, streaming it.
    ///
    /// S3 sends files smaller than `part_size` in one PUT, and larger ones as a multipart upload
    /// with `part_size` parts, each carrying `x-amz-checksum-sha256`. `part_checksums`, when
    /// given, are those part digests as computed earlier by the caller (quilt's
    /// sha2-256-chunked hash uses 8 MiB parts); the server then refuses any part whose bytes
    /// changed since. Without them the digests are computed while reading.
    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored>;

    /// Remove `key`. Removing a key that does not exist succeeds.
    fn delete(&self, key: &str) -> Result<()>;

    /// Compare-and-swap write for mutable references.
    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome>;
}

macro_rules! forward_remote {
    ($ty:ty) => {
        impl<R: Remote + ?Sized> Remote for $ty {
            fn describe(&self) -> String {
                (**self).describe()
            }
            fn supports_conditional_writes(&self) -> bool {
                (**self).supports_conditional_writes()
            }
            fn list(
                &self,
                prefix: &str,
                visit: &mut dyn FnMut(ListEntry) -> Result<()>,
            ) -> Result<()> {
                (**self).list(prefix, visit)
            }
            fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
                (**self).head(key)
            }
            fn get(&self, key: &str) -> Result<Vec<u8>> {
                (**self).get(key)
            }
            fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
                (**self).get_to(key, w)
            }
            fn get_version_to(
                &self,
                key: &str,
                version_id: &str,
                start: u64,
                w: &mut dyn Write,
            ) -> Result<u64> {
                (**self).get_version_to(key, version_id, start, w)
            }
            fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
                (**self).get_range(key, start, len)
            }
            fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
                (**self).put(key, data)
            }
            fn put_file(
                &self,
                key: &str,
                path: &Path,
                part_size: u64,
                part_checksums: Option<&[[u8; 32]]>,
            ) -> Result<Stored> {
                (**self).put_file(key, path, part_size, part_checksums)
            }
            fn delete(&self, key: &str) -> Result<()> {
                (**self).delete(key)
            }
            fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
                (**self).put_if(key, data, cond)
            }
        }
    };
}

// A `Box<dyn Remote>` is what `open_remote` returns; an `Arc` or a reference lets a caller keep a
// handle on a decorator (to read its counters) while a wrapper owns another.
forward_remote!(Box<R>);
forward_remote!(Arc<R>);
forward_remote!(&R);

/// Longest key accepted, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// Check that `key` is a relative object name every backend can store: non-empty, `/`-separated
/// components that are not empty, `.` or `..`, no backslash or NUL, at most [`MAX_KEY_LEN`] bytes.
pub fn check_key(key: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 1024 bytes");
    }
    if key.contains('\\') || key.contains('\0') {
        return bad("contains a backslash or NUL");
    }
    for part in key.split('/') {
        match part {
            "" => return bad("empty path component (leading, trailing or double slash)"),
            "." | ".." => return bad("'.' or '..' component"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in [
            ".quilt/objects/ab",
            "a",
            "a/b.c/d",
            ".quilt/named_packages/a/b/latest",
        ] {
            check_key(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["", "/a", "a/", "a//b", "./a", "a/../b", "a\\b", "a\0"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn trait_is_object_safe() {
        fn takes(_: &dyn Remote) {}
        let _ = takes;
    }
}
