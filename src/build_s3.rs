//! The S3 source of a manifest-only build: `s3://bucket/prefix/` packaged in place.

use std::sync::atomic::AtomicBool;

use quilt_hash::{Entry, Progress};
use quilt_sync::source::{scan_s3, ScanOptions, ScanOutcome};
use quilt_sync::{RemoteOptions, RemoteUrl, S3Remote};

use crate::build::{entry_meta, BuildOptions};
use crate::error::{Error, Result};

/// The objects below `url` as entries in manifest order, and what the scan did.
pub(crate) fn s3_entries(
    url: &str,
    opts: &BuildOptions,
    scan: &ScanOptions,
    remote: &RemoteOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<(Vec<Entry>, ScanOutcome)> {
    let mut outcome = scan_url(url, scan, remote, progress, interrupt)?;
    let entries = std::mem::take(&mut outcome.entries)
        .into_iter()
        .map(|e| Entry {
            meta: entry_meta(opts, e.logical_key.as_str()),
            physical_keys: vec![e.physical_key],
            size: e.size,
            hash: e.hash,
            logical_key: e.logical_key,
            extra: serde_json::Map::new(),
        })
        .collect();
    Ok((entries, outcome))
}

/// Lists and hashes every object below `url` (`s3://bucket/prefix/`); see
/// [`quilt_sync::source::scan_s3`].
pub(crate) fn scan_url(
    url: &str,
    scan: &ScanOptions,
    remote: &RemoteOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<ScanOutcome> {
    let RemoteUrl::S3 { bucket, prefix } = RemoteUrl::parse(url)? else {
        return Err(Error::BadSource(format!("{url} is not an s3:// URL")));
    };
    let s3 = S3Remote::new(&bucket, &prefix, &remote.s3)?;
    Ok(scan_s3(&s3, scan, progress, interrupt)?)
}
