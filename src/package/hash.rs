//! Hashing a package's entries where their bytes are: local files in parallel, S3 objects
//! from their checksums or by reading them.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::atomic::Ordering;

use quilt_hash::{hash_file, LogicalKey, ObjectId, TopHash, Unit};
use quilt_sync::source::{hash_object, scan_s3, ScanOptions, SourceEntry};
use quilt_sync::transfer::{parse_physical_key, PhysicalKey};
use quilt_sync::{RemoteUrl, S3Remote};
use rayon::prelude::*;

use super::{Package, PackageOptions, Source};
use crate::error::{Error, Result};
use crate::walk::mtime_ns;
use crate::watch::Watch;

/// How often a file that keeps changing under us is hashed again before giving up.
const CHANGE_RETRIES: usize = 3;

impl Package {
    /// Hashes every entry that has no hash yet: local files (again if one changed since it
    /// was set), S3 objects from their checksums where S3 has a usable one, else by reading
    /// them. S3 entries are pinned to the version hashed.
    pub fn hash(&mut self, watch: Watch<'_>) -> Result<()> {
        let todo: Vec<(String, Source)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.hash().is_none())
            .map(|(k, e)| (k.clone(), e.source().clone()))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let total = self
            .entries
            .values()
            .filter(|e| e.hash().is_none())
            .filter_map(|e| e.size())
            .sum();
        watch.progress.start("hashing", Some(total), Unit::Bytes);
        let scan = scan_options(&self.options);
        let remote = &self.options.remote;
        let hashed = pool(&self.options)?.install(|| {
            todo.par_iter()
                .map(|(key, source)| {
                    if watch.interrupt.load(Ordering::Relaxed) {
                        return Err(Error::Interrupted);
                    }
                    let (size, id, pinned) = match source {
                        Source::File(path) => {
                            let (size, id) = hash_local(path)?;
                            (size, id, None)
                        }
                        Source::S3 { url } => {
                            let e = hash_s3(url, remote, &scan)?;
                            (
                                e.size,
                                e.hash,
                                Some(Source::S3 {
                                    url: e.physical_key,
                                }),
                            )
                        }
                        Source::Keys(_) => unreachable_keys(key)?,
                    };
                    watch.progress.inc(size);
                    Ok((key.clone(), size, id, pinned))
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

/// Entries read from a manifest always carry their hash; one without is a bug of ours.
fn unreachable_keys(key: &str) -> Result<(u64, ObjectId, Option<Source>)> {
    Err(Error::BadSource(format!(
        "entry {key:?} came from a manifest without a hash"
    )))
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

/// Hashes one local file, again when it changed while it was read.
fn hash_local(path: &Path) -> Result<(u64, ObjectId)> {
    for _ in 0..CHANGE_RETRIES {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let before = file.metadata().map_err(|e| Error::io(path, e))?;
        if !before.is_file() {
            return Err(Error::BadSource(format!(
                "{} is no longer a regular file",
                path.display()
            )));
        }
        match hash_file(&file, before.len()) {
            Ok(id) => {
                let after = file.metadata().map_err(|e| Error::io(path, e))?;
                let same = after.len() == before.len()
                    && mtime_ns(&after) == mtime_ns(&before)
                    && after.ino() == before.ino();
                if same {
                    return Ok((before.len(), id));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::FileChanged {
        path: path.to_path_buf(),
    })
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
    let RemoteUrl::S3 { bucket, prefix } = RemoteUrl::parse(url)? else {
        return Err(Error::BadSource(format!("{url} is not an s3:// URL")));
    };
    let s3 = S3Remote::new(&bucket, &prefix, &options.remote.s3)?;
    let watch = Watch::default();
    let scanned = scan_s3(&s3, &scan_options(options), watch.progress, watch.interrupt)?;
    Ok(scanned.entries)
}
