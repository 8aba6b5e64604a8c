//! `quilt build NAME [SOURCE] --registry REMOTE`: a manifest-only build, quilt3's
//! `Package.build(name, registry=…)`. The files stay where they are and the manifest's physical
//! keys point at them: `file://` URLs for a local directory, `s3://…?versionId=…` for an S3
//! prefix packaged in place. Only the manifest and the two pointers are written, to the
//! registry; the local store records nothing (it holds none of the data, and a version it
//! records must have its objects, invariant 1). `quilt install --from` / `pull` fetch such a
//! version like any other.
//!
//! Order: the registry's `latest` is read first (a registry that cannot be reached fails
//! before any hashing), then the source is hashed completely, then the manifest, the
//! timestamped pointer and `latest` are written. A failure before the manifest leaves the
//! registry untouched.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use quilt_hash::{logical_key_cmp, Manifest, PackageName, Progress, TopHash};
use quilt_sync::source::{RequestCounts, ScanOptions, Skipped};
use quilt_sync::{publish_manifest, registry, Published, Remote, RemoteOptions};

use crate::build::{header, BuildOptions};
use crate::build_s3::s3_entries;
use crate::error::{Error, Result};
use crate::hash_dir::hashed_entries;

/// Where the data of a manifest-only build lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildSource {
    /// A local directory; physical keys are `file://` URLs other machines cannot read.
    Dir(PathBuf),
    /// `s3://bucket/prefix/`, packaged in place.
    S3(String),
}

/// What to build and how.
#[derive(Debug, Clone)]
pub struct RegistryBuildOptions {
    /// Message, package and entry metadata (`dir` is not used: see `source`).
    pub build: BuildOptions,
    /// Where the data lies.
    pub source: BuildSource,
    /// Parallel requests (S3) and `--rehash`.
    pub scan: ScanOptions,
    /// Credentials and endpoint for an S3 source.
    pub remote: RemoteOptions,
    /// Absolute directories a local source's walk never enters (a store kept inside it).
    pub skip_dirs: Vec<PathBuf>,
}

/// What a manifest-only build did.
#[derive(Debug, Clone)]
pub struct RegistryBuildOutcome {
    /// The version's top hash.
    pub top_hash: TopHash,
    /// Entries in the manifest.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// `latest` on the registry now names this version because of this build.
    pub latest_moved: bool,
    /// The registry had this version with other physical keys; its manifest was replaced.
    pub manifest_replaced: bool,
    /// Objects of an S3 source left out (keys that cannot be logical keys).
    pub skipped: Vec<Skipped>,
    /// Empty "folder" objects of an S3 source, left out as quilt3 leaves them out.
    pub directory_markers: u64,
    /// S3 objects whose hash came from S3's checksum, and those read and hashed.
    pub from_checksums: u64,
    /// Objects read and hashed.
    pub hashed_objects: u64,
    /// Bytes read and hashed.
    pub hashed_bytes: u64,
    /// Requests sent to an S3 source, by kind.
    pub source_requests: Option<RequestCounts>,
}

/// Hashes `opts.source` where it lies and writes only its manifest and pointers to
/// `registry`; see the module docs.
pub fn build_to_registry(
    name: &PackageName,
    registry: &dyn Remote,
    opts: &RegistryBuildOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<RegistryBuildOutcome> {
    registry::read_latest(registry, name)?;
    let (entries, scan) = match &opts.source {
        BuildSource::Dir(dir) => {
            let entries = hashed_entries(dir, &opts.skip_dirs, &opts.build, progress, interrupt)?;
            (entries, None)
        }
        BuildSource::S3(url) => {
            let (entries, scan) = s3_entries(
                url,
                &opts.build,
                &opts.scan,
                &opts.remote,
                progress,
                interrupt,
            )?;
            (entries, Some(scan))
        }
    };
    for key in opts.build.entry_meta.keys() {
        if entries
            .binary_search_by(|e| logical_key_cmp(e.logical_key.as_str(), key))
            .is_err()
        {
            return Err(Error::BadMeta(format!(
                "entry metadata names {key:?}, which is not a file of the source"
            )));
        }
    }
    let mut manifest = Manifest::new(header(&opts.build));
    manifest.entries = entries;
    let top_hash = manifest.top_hash();
    if interrupt.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let published = publish(registry, name, &top_hash, &manifest.to_bytes())?;
    tracing::info!(package = %name, top = %top_hash, registry = %registry.describe(), "published the manifest");
    let scan = scan.as_ref();
    Ok(RegistryBuildOutcome {
        top_hash,
        files: manifest.entries.len() as u64,
        bytes: manifest.total_size(),
        latest_moved: published.latest_moved,
        manifest_replaced: published.manifest_replaced,
        skipped: scan.map(|s| s.skipped.clone()).unwrap_or_default(),
        directory_markers: scan.map_or(0, |s| s.directory_markers),
        from_checksums: scan.map_or(0, |s| s.from_checksums),
        hashed_objects: scan.map_or(manifest.entries.len() as u64, |s| s.hashed_objects),
        hashed_bytes: scan.map_or(manifest.total_size(), |s| s.hashed_bytes),
        source_requests: scan.map(|s| s.requests),
    })
}

/// Writes a manifest and its pointers to `registry` ([`publish_manifest`]); a registry that
/// refuses the write is [`Error::RegistryDenied`], which says what to do.
pub(crate) fn publish(
    registry: &dyn Remote,
    name: &PackageName,
    top_hash: &TopHash,
    manifest: &[u8],
) -> Result<Published> {
    publish_manifest(registry, name, top_hash, manifest).map_err(|e| match e {
        quilt_sync::TransferError::Remote(r) if r.is_access_denied() => Error::RegistryDenied {
            url: registry.describe(),
        },
        e => e.into(),
    })
}
