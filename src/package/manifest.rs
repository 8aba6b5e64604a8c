//! A [`Package`] as a quilt3 manifest (JSONL), and back.

use std::io::{BufRead, Write};

use quilt_hash::{Entry, Manifest};

use super::{Package, PackageEntry, Source};
use crate::build::file_url;
use crate::error::{Error, Result};

impl Package {
    /// A package holding a manifest's header, directories and entries (sources: their
    /// physical keys).
    pub fn from_manifest(manifest: Manifest) -> Package {
        let mut pkg = Package::new();
        pkg.header = manifest.header;
        pkg.dirs = manifest.dirs;
        for e in manifest.entries {
            let entry = PackageEntry::from_manifest(e);
            pkg.entries.insert(entry.logical_key().to_owned(), entry);
        }
        pkg
    }

    /// Reads a quilt3 manifest (JSONL, any of quilt3's hash types).
    pub fn read_manifest(reader: impl BufRead) -> Result<Package> {
        Ok(Package::from_manifest(Manifest::read(reader)?))
    }

    /// The package as a manifest, entries in quilt3's order. Local files get `file://`
    /// physical keys, as quilt3 writes them. Every entry must be hashed
    /// ([`Package::hash`]).
    pub fn manifest(&self) -> Result<Manifest> {
        let mut manifest = Manifest::new(self.header.clone());
        manifest.dirs = self.dirs.clone();
        manifest.entries = self
            .walk()
            .map(|e| {
                e.to_manifest(physical_keys(e.source()))
                    .ok_or_else(|| not_hashed(e.logical_key()))
            })
            .collect::<Result<Vec<Entry>>>()?;
        Ok(manifest)
    }

    /// Writes [`Package::manifest`] as quilt3's JSONL, byte for byte what quilt3 writes.
    pub fn write_manifest(&self, mut writer: impl Write) -> Result<()> {
        let bytes = self.manifest()?.to_bytes();
        writer
            .write_all(&bytes)
            .map_err(|e| Error::io("the manifest's writer", e))
    }
}

pub(super) fn physical_keys(source: &Source) -> Vec<String> {
    match source {
        Source::File(path) => vec![file_url(path)],
        Source::S3 { url } => vec![url.clone()],
        Source::Keys(keys) => keys.clone(),
    }
}

fn not_hashed(key: &str) -> Error {
    Error::BadSource(format!(
        "entry {key:?} is not hashed yet; call `hash` or `top_hash` first"
    ))
}
