//! One entry of a [`super::Package`] and where its bytes are.

use std::path::{Path, PathBuf};

use quilt_hash::{Entry, LogicalKey, ObjectId};
use quilt_sync::transfer::{parse_physical_key, PhysicalKey};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Where an entry's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file, read when the package is hashed or built.
    File(PathBuf),
    /// An S3 object, `s3://bucket/key[?versionId=…]`.
    S3 {
        /// The object's URL, as quilt3 writes physical keys.
        url: String,
    },
    /// The physical keys of an entry read from a manifest (a browsed or loaded package).
    Keys(Vec<String>),
}

impl From<&str> for Source {
    /// `s3://…` is an S3 object, `file://…` a local file; anything else a local path.
    fn from(s: &str) -> Source {
        if s.starts_with("s3://") {
            return Source::S3 { url: s.to_owned() };
        }
        match parse_physical_key(s) {
            Some(PhysicalKey::File(path)) => Source::File(path.into()),
            _ => Source::File(s.into()),
        }
    }
}

impl From<String> for Source {
    fn from(s: String) -> Source {
        Source::from(s.as_str())
    }
}

impl From<&String> for Source {
    fn from(s: &String) -> Source {
        Source::from(s.as_str())
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Source {
        Source::File(p.to_path_buf())
    }
}

impl From<PathBuf> for Source {
    fn from(p: PathBuf) -> Source {
        Source::File(p)
    }
}

impl From<&PathBuf> for Source {
    fn from(p: &PathBuf) -> Source {
        Source::File(p.clone())
    }
}

impl Source {
    /// The source made absolute (a local path) or checked (an S3 URL).
    pub(super) fn checked(self) -> Result<Source> {
        match self {
            Source::File(p) => {
                let abs = std::path::absolute(&p).map_err(|e| Error::io(&p, e))?;
                Ok(Source::File(abs))
            }
            Source::S3 { url } => match parse_physical_key(&url) {
                Some(PhysicalKey::S3 { .. }) => Ok(Source::S3 { url }),
                _ => Err(Error::BadSource(format!(
                    "{url:?} is not an S3 object URL; use s3://bucket/key[?versionId=…]"
                ))),
            },
            Source::Keys(_) => Err(Error::BadSource(
                "a source is a local path or an s3:// URL; physical keys come only from a \
                 manifest"
                    .into(),
            )),
        }
    }

    /// A local file's size now; an error when it is not a regular file.
    pub(super) fn local_size(&self) -> Result<Option<u64>> {
        let Source::File(path) = self else {
            return Ok(None);
        };
        let md = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !md.is_file() {
            return Err(Error::BadSource(format!(
                "{} is not a regular file; set takes a file (set_dir takes a directory)",
                path.display()
            )));
        }
        Ok(Some(md.len()))
    }
}

/// One entry: its logical key, source, and (once hashed) size and hash.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageEntry {
    logical_key: LogicalKey,
    source: Source,
    size: Option<u64>,
    hash: Option<ObjectId>,
    meta: Option<Value>,
    extra: Map<String, Value>,
}

impl PackageEntry {
    pub(super) fn new(
        logical_key: LogicalKey,
        source: Source,
        size: Option<u64>,
        hash: Option<ObjectId>,
    ) -> PackageEntry {
        PackageEntry {
            logical_key,
            source,
            size,
            hash,
            meta: Some(Value::Object(Map::new())),
            extra: Map::new(),
        }
    }

    pub(super) fn from_manifest(e: Entry) -> PackageEntry {
        PackageEntry {
            logical_key: e.logical_key,
            source: Source::Keys(e.physical_keys),
            size: Some(e.size),
            hash: Some(e.hash),
            meta: e.meta,
            extra: e.extra,
        }
    }

    /// The manifest line of this entry, with `physical_keys` as given; `None` until hashed.
    pub(super) fn to_manifest(&self, physical_keys: Vec<String>) -> Option<Entry> {
        Some(Entry {
            logical_key: self.logical_key.clone(),
            physical_keys,
            size: self.size?,
            hash: self.hash?,
            meta: self.meta.clone(),
            extra: self.extra.clone(),
        })
    }

    /// The entry's name inside the package, e.g. `data/a.csv`.
    pub fn logical_key(&self) -> &str {
        self.logical_key.as_str()
    }

    /// Where its bytes are.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Its size in bytes: known for local files (as of `set`) and once hashed.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Its content hash (`sha2-256-chunked` for what quilt hashes); `None` until the package
    /// is hashed ([`super::Package::top_hash`], `build`).
    pub fn hash(&self) -> Option<&ObjectId> {
        self.hash.as_ref()
    }

    /// The entry's whole `meta` object, as the manifest carries it.
    pub fn meta(&self) -> Option<&Value> {
        self.meta.as_ref()
    }

    /// The user's part of the metadata (`meta.user_meta`).
    pub fn user_meta(&self) -> Option<&Value> {
        self.meta.as_ref()?.get("user_meta")
    }

    pub(super) fn set_user_meta(&mut self, meta: Value) {
        let mut object = match self.meta.take() {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        object.insert("user_meta".into(), meta);
        self.meta = Some(Value::Object(object));
    }

    pub(super) fn set_hashed(&mut self, size: u64, hash: ObjectId) {
        self.size = Some(size);
        self.hash = Some(hash);
    }

    pub(super) fn set_source(&mut self, source: Source) {
        self.source = source;
    }
}
