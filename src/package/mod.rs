//! [`Package`]: a package in memory, the Rust counterpart of quilt3's `quilt3.Package`.
//!
//! A package is a set of entries, each a logical key (the file's name inside the package)
//! with where its bytes are ([`Source`]), plus package metadata. Edit it with
//! [`Package::set`], [`Package::set_dir`], [`Package::set_meta`],
//! [`Package::set_entry_meta`] and [`Package::delete`]; look at it with [`Package::get`],
//! [`Package::walk`], [`Package::meta`] and [`Package::top_hash`]; then
//! [`Package::build`] it into a local store, [`Package::build_to_registry`] (manifest
//! only, as quilt3's `build(name, registry=…)`), [`Package::push`] it, or read one back with
//! [`Package::browse`] and [`Package::install`]. Manifests and top hashes are quilt3's,
//! byte for byte.
//!
//! ```
//! use quilt::{Package, Repository, Watch};
//! use quilt::hash::PackageName;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), quilt::Error> {
//! let tmp = tempfile::tempdir().expect("temp dir");
//! std::fs::write(tmp.path().join("a.csv"), "x,y\n1,2\n").expect("write");
//!
//! let mut pkg = Package::new();
//! pkg.set("data/a.csv", tmp.path().join("a.csv"))?;
//! pkg.set_meta(json!({"owner": "team"}))?;
//! assert_eq!(pkg.get("data/a.csv").and_then(|e| e.size()), Some(8));
//!
//! let repo = Repository::init(&tmp.path().join("work"), None)?;
//! let name = PackageName::parse("team/demo")?;
//! let top = pkg.build(&repo, &name, Some("first"), Watch::default())?;
//! assert_eq!(top, pkg.top_hash()?);
//! # Ok(())
//! # }
//! ```

mod act;
mod entry;
mod hash;
mod manifest;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quilt_hash::{logical_key_cmp, DirMeta, LogicalKey};
use quilt_sync::{Remote, RemoteOptions};
use serde_json::{Map, Value};

pub use entry::{PackageEntry, Source};

use crate::build::{header, BuildOptions};
use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::walk::walk_dir;

/// A package in memory; see the module docs.
#[derive(Clone)]
pub struct Package {
    /// The manifest's first line: `version`, `message`, `user_meta` and whatever else a
    /// manifest read back carried.
    header: Map<String, Value>,
    /// Directory lines of a manifest read back, kept as they were.
    dirs: Vec<DirMeta>,
    entries: BTreeMap<String, PackageEntry>,
    /// Where a browsed package came from: its entries' data is fetched from there.
    origin: Option<Arc<dyn Remote>>,
    options: PackageOptions,
}

/// How a package reaches S3 sources and remote physical keys.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// Credentials, endpoint and limits for `s3://` sources.
    pub remote: RemoteOptions,
    /// Read `file://` physical keys of a manifest that did not come from a directory on this
    /// machine (off by default: a manifest from elsewhere must not read local files).
    pub allow_local_keys: bool,
    /// Parallel reads and requests; 0 means 8.
    pub jobs: usize,
}

impl Default for Package {
    fn default() -> Self {
        Package::new()
    }
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package")
            .field("header", &self.header)
            .field("entries", &self.entries.len())
            .field("origin", &self.origin.as_ref().map(|r| r.describe()))
            .finish_non_exhaustive()
    }
}

impl Package {
    /// An empty package: no entries, `null` metadata and message, as `quilt3.Package()`.
    pub fn new() -> Package {
        Package {
            header: header(&BuildOptions::default()),
            dirs: Vec::new(),
            entries: BTreeMap::new(),
            origin: None,
            options: PackageOptions::default(),
        }
    }

    /// Sets how S3 sources and remote keys are reached (credentials, endpoint, jobs).
    pub fn with_options(mut self, options: PackageOptions) -> Package {
        self.options = options;
        self
    }

    /// Adds or replaces the entry `logical_key`, with its bytes at `source`: a local path
    /// (made absolute now, read when the package is hashed or built) or an
    /// `s3://bucket/key[?versionId=…]` URL. The key is checked now (no `..`, no empty
    /// components, no `.quilt` folder), and so is a local source (it must be a file).
    pub fn set(&mut self, logical_key: &str, source: impl Into<Source>) -> Result<&mut Package> {
        let key = LogicalKey::parse(logical_key)?;
        let source = source.into().checked()?;
        let size = source.local_size()?;
        self.entries.insert(
            key.as_str().to_owned(),
            PackageEntry::new(key, source, size, None),
        );
        Ok(self)
    }

    /// Adds every file below `source` under the logical folder `prefix` (`""` or `"/"` for
    /// the package root), as quilt3's `set_dir`: a local directory is walked as `quilt build`
    /// walks it (`.quiltignore` honoured, `.quilt` folders skipped); an `s3://bucket/prefix/`
    /// is listed and each object hashed now (from S3's checksum where it gives quilt3's hash)
    /// and pinned to the version listed.
    pub fn set_dir(&mut self, prefix: &str, source: impl Into<Source>) -> Result<&mut Package> {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            LogicalKey::parse(prefix)?;
        }
        let under = |key: &str| match prefix {
            "" => key.to_owned(),
            p => format!("{p}/{key}"),
        };
        match source.into().checked()? {
            Source::File(dir) => self.add_dir(&dir, under)?,
            Source::S3 { url } => {
                for e in hash::scan_prefix(&url, &self.options)? {
                    let key = LogicalKey::parse(under(e.logical_key.as_str()))?;
                    let source = Source::S3 {
                        url: e.physical_key,
                    };
                    let entry = PackageEntry::new(key, source, Some(e.size), Some(e.hash));
                    self.entries.insert(entry.logical_key().to_owned(), entry);
                }
            }
            // `checked` refuses physical keys.
            Source::Keys(_) => {}
        }
        Ok(self)
    }

    fn add_dir(&mut self, dir: &Path, under: impl Fn(&str) -> String) -> Result<()> {
        if !dir.is_dir() {
            return Err(Error::BadSource(format!(
                "{} is not a directory; set_dir takes a directory or an s3:// prefix",
                dir.display()
            )));
        }
        let ignore = IgnoreRules::load(dir)?;
        for f in walk_dir(dir, &ignore, &[])? {
            let key = LogicalKey::parse(under(&f.key))?;
            let source = Source::File(dir.join(&f.key));
            let entry = PackageEntry::new(key, source, Some(f.size), None);
            self.entries.insert(entry.logical_key().to_owned(), entry);
        }
        Ok(())
    }

    /// Sets the package metadata (the header's `user_meta`): a JSON object, or `null` for
    /// none.
    pub fn set_meta(&mut self, meta: Value) -> Result<&mut Package> {
        if !(meta.is_object() || meta.is_null()) {
            return Err(Error::BadMeta(format!(
                "package metadata must be a JSON object, not {meta}"
            )));
        }
        self.header.insert("user_meta".into(), meta);
        Ok(self)
    }

    /// Sets the user metadata of one entry (its `meta.user_meta`).
    pub fn set_entry_meta(&mut self, logical_key: &str, meta: Value) -> Result<&mut Package> {
        let entry = self
            .entries
            .get_mut(logical_key)
            .ok_or_else(|| no_entry(logical_key))?;
        entry.set_user_meta(meta);
        Ok(self)
    }

    /// Removes the entry `logical_key`, or every entry below the folder `logical_key`, as
    /// quilt3's `delete`; naming nothing the package holds is an error.
    pub fn delete(&mut self, logical_key: &str) -> Result<&mut Package> {
        let key = logical_key.trim_end_matches('/');
        if self.entries.remove(key).is_some() {
            return Ok(self);
        }
        let folder = format!("{key}/");
        let before = self.entries.len();
        self.entries.retain(|k, _| !k.starts_with(&folder));
        if self.entries.len() == before {
            return Err(no_entry(logical_key));
        }
        Ok(self)
    }

    /// The entry `logical_key`, if the package has it.
    pub fn get(&self, logical_key: &str) -> Option<&PackageEntry> {
        self.entries.get(logical_key)
    }

    /// Every entry, in the manifest's order (quilt3's).
    pub fn walk(&self) -> impl Iterator<Item = &PackageEntry> {
        let mut entries: Vec<&PackageEntry> = self.entries.values().collect();
        entries.sort_by(|a, b| logical_key_cmp(a.logical_key(), b.logical_key()));
        entries.into_iter()
    }

    /// How many entries the package has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the package has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The package metadata (`user_meta`), `None` when it is `null`.
    pub fn meta(&self) -> Option<&Value> {
        self.header.get("user_meta").filter(|v| !v.is_null())
    }

    /// The message of the version this package was read from or last built as.
    pub fn message(&self) -> Option<&str> {
        self.header.get("message").and_then(Value::as_str)
    }

    fn set_message(&mut self, message: Option<&str>) {
        let value = message.map_or(Value::Null, |m| Value::String(m.to_owned()));
        self.header.insert("message".into(), value);
    }
}

fn no_entry(key: &str) -> Error {
    Error::BadSource(format!(
        "the package has no entry or folder {key:?}; `walk()` lists what it has"
    ))
}
