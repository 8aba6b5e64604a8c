//! Hashing a package's entries where their bytes are: local files in parallel, S3 objects
//! from their checksums or by reading them.

use std::path::Path;
use std::sync::atomic::Ordering;

use quilt_hash::{LogicalKey, ObjectId, TopHash, Unit};
use quilt_sync::source::{hash_object, ScanOptions, SourceEntry};
use quilt_sync::transfer::{parse_physical_key, PhysicalKey};
use quilt_sync::S3Remote;
use rayon::prelude::*;

use super::{Package, PackageOptions, Source};
use crate::build_s3::scan_url;
use crate::error::{Error, Result};
use crate::hash_dir::hash_stable;
use crate::watch::Watch;

impl Package {
    /// Hashes every entry that has no hash yet: local files (again if one changed since it
    /// was set), S3 objects from their checksums where S3 has a usable one, else by reading
    /// them. S3 entries are pinned to the version hashed.
    pub fn hash(&mut self, watch: Watch<'_>) -> Result<()> {
        let todo: Vec<(&String, &Source, Option<u64>)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.hash().is_none())
            .map(|(k, e)| (k, e.source(), e.size()))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let total = todo.iter().filter_map(|(_, _, size)| *size).sum();
        watch.progress.start("hashing", Some(total), Unit::Bytes);
        let scan = scan_options(&self.options);
        let remote = &self.options.remote;
        let hashed = pool(&self.options)?.install(|| {
            todo.par_iter()
                .map(|(key, source, _)| {
                    if watch.interrupt.load(Ordering::Relaxed) {
                        return Err(Error::Interrupted);
                    }
                    let (size, id, pinned) = hash_source(key, source, remote, &scan)?;
                    watch.progress.inc(size);
                    Ok(((*key).clone(), size, id, pinned))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        watch.progress.finish();
        for (key, size, id, pinned) in hashed {
            if let Some(e) = self.entries.get_mut(&key) {
                e.set_hashed(size, id);
                if let Some(source) = pinned {
                    e.set_source(source);
                }
            }
        }
        Ok(())
    }

    /// The top hash of the package as it is now (hashing what is not hashed yet): the name
    /// quilt3 gives the same files and metadata.
    pub fn top_hash(&mut self) -> Result<TopHash> {
        self.hash(Watch::default())?;
        Ok(self.manifest()?.top_hash())
    }
}

/// One source's size and hash, and for an S3 object its URL pinned to the version hashed.
fn hash_source(
    key: &str,
    source: &Source,
    remote: &quilt_sync::RemoteOptions,
    scan: &ScanOptions,
) -> Result<(u64, ObjectId, Option<Source>)> {
    match source {
        Source::File(path) => {
            let (size, id) = hash_local(path)?;
            Ok((size, id, None))
        }
        Source::S3 { url } => {
            let e = hash_s3(url, remote, scan)?;
            let pinned = Source::S3 {
                url: e.physical_key,
            };
            Ok((e.size, e.hash, Some(pinned)))
        }
        // Entries read from a manifest carry their hash, and `set` takes no physical keys.
        Source::Keys(_) => Err(Error::BadSource(format!(
            "entry {key:?} has physical keys but no hash"
        ))),
    }
}

pub(super) fn pool(options: &PackageOptions) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs(options))
        .thread_name(|i| format!("quilt-package-{i}"))
        .build()
        .map_err(|e| Error::io("thread pool", std::io::Error::other(e)))
}

pub(super) fn jobs(options: &PackageOptions) -> usize {
    match options.jobs {
        0 => 8,
        n => n,
    }
}

fn scan_options(options: &PackageOptions) -> ScanOptions {
    ScanOptions {
        jobs: jobs(options),
        ..ScanOptions::default()
    }
}

/// Hashes one local file (again when it changed while it was read). It must still be a
/// regular file: checked before it is opened, so a FIFO put in its place cannot block.
fn hash_local(path: &Path) -> Result<(u64, ObjectId)> {
    let md = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !md.is_file() {
        return Err(Error::BadSource(format!(
            "{} is no longer a regular file",
            path.display()
        )));
    }
    let (md, id) = hash_stable(path)?;
    Ok((md.len(), id))
}

/// Hashes one S3 object, as in-place packaging does.
fn hash_s3(
    url: &str,
    remote: &quilt_sync::RemoteOptions,
    scan: &ScanOptions,
) -> Result<SourceEntry> {
    let Some(PhysicalKey::S3 {
        bucket,
        key,
        version_id,
    }) = parse_physical_key(url)
    else {
        return Err(Error::BadSource(format!("{url:?} is not an S3 object URL")));
    };
    let s3 = S3Remote::new(&bucket, "", &remote.s3)?;
    let key = LogicalKey::parse(key.as_str())
        .map_err(|e| Error::BadSource(format!("{url}: the key cannot be packaged: {e}")))?;
    Ok(hash_object(&s3, &key, version_id.as_deref(), scan)?)
}

/// Lists and hashes every object below an `s3://bucket/prefix/`.
pub(super) fn scan_prefix(url: &str, options: &PackageOptions) -> Result<Vec<SourceEntry>> {
    let watch = Watch::default();
    let scan = scan_options(options);
    let scanned = scan_url(url, &scan, &options.remote, watch.progress, watch.interrupt)?;
    Ok(scanned.entries)
}
