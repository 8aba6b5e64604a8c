//! [`scan_s3`]: every object below a prefix, as manifest entries with their hashes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{LogicalKey, ObjectId, Progress, Unit};
use rayon::prelude::*;

use super::checksum::{from_s3_checksum, parts_are_chunks, Known};
use super::error::SourceError;
use super::read::Reader;
use super::s3_physical_key;
use crate::s3::object::{ObjectHead, Pin};
use crate::{Remote, Retry, RetryOptions, S3Remote};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Objects (and ranges of large objects) read at once.
    pub jobs: usize,
    /// Read and hash every byte, even of objects whose hash S3's checksum already gives.
    pub rehash: bool,
    /// How transient S3 failures are retried.
    pub retry: RetryOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            jobs: 8,
            rehash: false,
            retry: RetryOptions::default(),
        }
    }
}

/// One object, as a manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// The key relative to the prefix.
    pub logical_key: LogicalKey,
    /// `s3://bucket/key`, with `?versionId=` on versioned buckets.
    pub physical_key: String,
    /// The object's length in bytes.
    pub size: u64,
    /// The object's quilt3 hash.
    pub hash: ObjectId,
}

/// An object left out of the package, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The key relative to the prefix.
    pub key: String,
    /// Why it was left out, for the user.
    pub reason: String,
}

/// Requests sent, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// ListObjectsV2 pages.
    pub list: u64,
    /// HEADs.
    pub head: u64,
    /// GetObjectAttributes pages (part layouts of multipart objects).
    pub attributes: u64,
    /// GETs, ranged or whole.
    pub get: u64,
    /// Bytes those GETs returned.
    pub get_bytes: u64,
}

/// What a scan found.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// In quilt3's manifest order.
    pub entries: Vec<SourceEntry>,
    /// Objects left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Empty objects whose key ends in `/` ("folders"), left out silently as quilt3 does.
    pub directory_markers: u64,
    /// Objects whose hash came from S3's checksum.
    pub from_checksums: u64,
    /// Objects read and hashed, and their bytes.
    pub hashed_objects: u64,
    /// The bytes of the objects read and hashed.
    pub hashed_bytes: u64,
    /// Requests sent, by kind.
    pub requests: RequestCounts,
}

/// Lists every object below `s3`'s prefix (the latest version of each, as quilt3's `set_dir`
/// takes) and hashes each one: from S3's checksum when it maps onto quilt3's hash (see
/// [`super::checksum`]), else by reading it. Keys that cannot be logical keys are skipped and
/// reported; a prefix with nothing to package is an error.
pub fn scan_s3(
    s3: &S3Remote,
    opts: &ScanOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<ScanOutcome, SourceError> {
    let retry = Retry::new(s3, opts.retry.clone());
    let listing = list(s3, &retry, progress, interrupt)?;
    if listing.objects.is_empty() {
        return Err(SourceError::Empty {
            url: s3.describe(),
            skipped: match listing.skipped.len() {
                0 => String::new(),
                n => format!(" ({n} keys that cannot be logical keys were skipped)"),
            },
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("quilt-inplace-{i}"))
        .build()
        .map_err(|e| SourceError::Remote(crate::Error::Config(format!("thread pool: {e}"))))?;
    let counters = Counters::default();
    let reader = Reader::new(s3, &retry, &counters);
    let job = Job::new(s3, &retry, &reader, &counters, opts.rehash);
    let total = listing.objects.iter().map(|(_, size)| size).sum();
    progress.start("hashing", Some(total), Unit::Bytes);
    let mut entries = pool.install(|| {
        listing
            .objects
            .par_iter()
            .map(|(key, _)| {
                if interrupt.load(Ordering::Relaxed) {
                    return Err(SourceError::Interrupted);
                }
                let entry = job.entry(key)?;
                progress.inc(entry.size);
                Ok(entry)
            })
            .collect::<Result<Vec<SourceEntry>, SourceError>>()
    })?;
    progress.finish();
    entries.sort_by(|a, b| a.logical_key.cmp(&b.logical_key));
    Ok(ScanOutcome {
        entries,
        skipped: listing.skipped,
        directory_markers: listing.directory_markers,
        from_checksums: counters.from_checksums.into_inner(),
        hashed_objects: counters.hashed_objects.into_inner(),
        hashed_bytes: counters.hashed_bytes.into_inner(),
        requests: RequestCounts {
            list: listing.pages,
            head: counters.head.into_inner(),
            attributes: counters.attributes.into_inner(),
            get: counters.get.into_inner(),
            get_bytes: counters.get_bytes.into_inner(),
        },
    })
}

/// One object, `key` below `s3`'s prefix, as [`scan_s3`] would make it an entry: its latest
/// version (or `version_id`), hashed from S3's checksum when that maps onto quilt3's hash,
/// else read.
pub fn hash_object(
    s3: &S3Remote,
    key: &LogicalKey,
    version_id: Option<&str>,
    opts: &ScanOptions,
) -> Result<SourceEntry, SourceError> {
    let retry = Retry::new(s3, opts.retry.clone());
    let counters = Counters::default();
    let reader = Reader::new(s3, &retry, &counters);
    Job::new(s3, &retry, &reader, &counters, opts.rehash).entry_version(key, version_id)
}

#[derive(Default)]
struct Counters {
    head: AtomicU64,
    attributes: AtomicU64,
    get: AtomicU64,
    get_bytes: AtomicU64,
    from_checksums: AtomicU64,
    hashed_objects: AtomicU64,
    hashed_bytes: AtomicU64,
}

/// The listing, split into what will be packaged and what not.
struct Listing {
    /// Logical key and listed size.
    objects: Vec<(LogicalKey, u64)>,
    skipped: Vec<Skipped>,
    directory_markers: u64,
    pages: u64,
}

fn list(
    s3: &S3Remote,
    retry: &Retry<&S3Remote>,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<Listing, SourceError> {
    let mut out = Listing {
        objects: Vec::new(),
        skipped: Vec::new(),
        directory_markers: 0,
        pages: 0,
    };
    progress.start("listing", None, Unit::Items);
    let before = s3.requests_sent();
    let listed = retry.list("", &mut |e| {
        if interrupt.load(Ordering::Relaxed) {
            return Err(crate::Error::Interrupted);
        }
        progress.inc(1);
        match classify(e.key, e.size) {
            Listed::Object(key, size) => out.objects.push((key, size)),
            Listed::Marker => out.directory_markers += 1,
            Listed::Skipped(s) => out.skipped.push(s),
        }
        Ok(())
    });
    out.pages = s3.requests_sent() - before;
    progress.finish();
    tracing::info!(
        url = %s3.describe(),
        objects = out.objects.len(),
        skipped = out.skipped.len(),
        pages = out.pages,
        "listed the source"
    );
    match listed {
        Ok(()) => Ok(out),
        Err(crate::Error::Interrupted) => Err(SourceError::Interrupted),
        Err(e) if e.is_access_denied() => Err(SourceError::AccessDenied {
            bucket: s3.bucket_name().to_owned(),
            url: s3.describe(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// What one listed key becomes.
#[derive(Debug, PartialEq, Eq)]
enum Listed {
    Object(LogicalKey, u64),
    /// An empty object whose key ends in `/`: a "folder".
    Marker,
    Skipped(Skipped),
}

/// Sorts a listed key as quilt3's `set_dir` does: keys ending in `/` are left out (empty ones
/// silently, as S3 consoles create them for folders; others with a warning), and so are keys
/// that are not valid logical keys (where quilt3's `set_dir` would fail, or, for `.quilt`
/// components, keep a key quilt refuses).
fn classify(key: String, size: u64) -> Listed {
    if key.ends_with('/') {
        return match size {
            0 => Listed::Marker,
            _ => Listed::Skipped(Skipped {
                key,
                reason: "a logical key cannot end in '/'".into(),
            }),
        };
    }
    match LogicalKey::parse(key.as_str()) {
        Ok(k) => Listed::Object(k, size),
        Err(err) => Listed::Skipped(Skipped {
            reason: match err {
                quilt_hash::Error::BadLogicalKey { reason, .. } => reason.to_owned(),
                other => other.to_string(),
            },
            key,
        }),
    }
}

/// Everything hashing one object needs.
struct Job<'a> {
    s3: &'a S3Remote,
    retry: &'a Retry<&'a S3Remote>,
    reader: &'a Reader<'a>,
    counters: &'a Counters,
    rehash: bool,
}

impl<'a> Reader<'a> {
    fn new(s3: &'a S3Remote, retry: &'a Retry<&'a S3Remote>, counters: &'a Counters) -> Self {
        Reader {
            s3,
            retry,
            gets: &counters.get,
            get_bytes: &counters.get_bytes,
        }
    }
}

impl<'a> Job<'a> {
    fn new(
        s3: &'a S3Remote,
        retry: &'a Retry<&'a S3Remote>,
        reader: &'a Reader<'a>,
        counters: &'a Counters,
        rehash: bool,
    ) -> Self {
        Job {
            s3,
            retry,
            reader,
            counters,
            rehash,
        }
    }
}

impl Job<'_> {
    /// The entry of the latest version of `key`: one HEAD, and a read only when S3's
    /// checksum does not give the hash.
    fn entry(&self, key: &LogicalKey) -> Result<SourceEntry, SourceError> {
        self.entry_version(key, None)
    }

    /// [`Job::entry`] of one version of `key` (the latest for `None`).
    fn entry_version(
        &self,
        key: &LogicalKey,
        version_id: Option<&str>,
    ) -> Result<SourceEntry, SourceError> {
        let url = self.s3.describe();
        let bucket = self.s3.bucket_name();
        let head = self
            .retry
            .call("head", key, || {
                self.counters.head.fetch_add(1, Ordering::Relaxed);
                self.s3.head_object(key, version_id)
            })
            .map_err(|e| SourceError::reading(e, &url, bucket, key))?
            .ok_or_else(|| SourceError::Vanished {
                url: url.clone(),
                key: key.to_string(),
            })?;
        let pin = Pin {
            version_id: head.version_id.as_deref(),
            etag: Some(head.etag.as_str()),
        };
        let hash = match self.known(key, &head, pin)? {
            Some(id) => id,
            None => {
                let id = self.reader.hash(key, pin, head.size)?;
                self.counters.hashed_objects.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .hashed_bytes
                    .fetch_add(head.size, Ordering::Relaxed);
                id
            }
        };
        let full_key = format!("{}{key}", self.s3.prefix());
        Ok(SourceEntry {
            physical_key: s3_physical_key(bucket, &full_key, head.version_id.as_deref()),
            logical_key: key.clone(),
            size: head.size,
            hash,
        })
    }

    /// The hash when it is known without reading: an empty object, or (unless rehashing) a
    /// checksum S3 computed that maps onto it.
    fn known(
        &self,
        key: &LogicalKey,
        head: &ObjectHead,
        pin: Pin<'_>,
    ) -> Result<Option<ObjectId>, SourceError> {
        if head.size == 0 {
            return Ok(Some(super::checksum::empty_hash()));
        }
        if self.rehash {
            return Ok(None);
        }
        let known = match from_s3_checksum(head.size, head.checksum_sha256.as_deref()) {
            Known::Hash(id) => Some(id),
            Known::IfPartsAreChunks { digest, .. } => {
                let url = self.s3.describe();
                let sizes = self.retry.call("attributes", key, || {
                    self.counters.attributes.fetch_add(1, Ordering::Relaxed);
                    self.s3.object_part_sizes(key, pin)
                });
                let sizes = match sizes {
                    Ok(sizes) => sizes,
                    // A server without GetObjectAttributes: the object is read instead.
                    Err(crate::Error::Rejected { status, .. }) if status != 412 => None,
                    Err(e) => {
                        return Err(SourceError::reading(e, &url, self.s3.bucket_name(), key))
                    }
                };
                sizes
                    .filter(|s| parts_are_chunks(head.size, s))
                    .map(|_| ObjectId::new(quilt_hash::HashType::Sha2_256Chunked, digest))
            }
            Known::Nothing => None,
        };
        if known.is_some() {
            self.counters.from_checksums.fetch_add(1, Ordering::Relaxed);
        }
        Ok(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_out_as_quilt3_does() {
        assert!(
            matches!(classify("a/b.txt".into(), 3), Listed::Object(k, 3) if k.as_str() == "a/b.txt")
        );
        assert_eq!(classify("folder/".into(), 0), Listed::Marker);
        let skipped = |key: &str, size| match classify(key.into(), size) {
            Listed::Skipped(s) => s.reason,
            other => panic!("{key}: {other:?}"),
        };
        assert!(skipped("notes/", 5).contains("cannot end in '/'"));
        assert!(skipped("a//b", 1).contains("empty"));
        assert!(skipped("./x", 1).contains("'.'"));
        assert!(skipped(".quilt/objects/x", 1).contains("reserved"));
    }
}
