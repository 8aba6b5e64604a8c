//! `fetch`: bring a version and the objects missing locally into the store, verifying every
//! byte before it is stored.
//!
//! Objects are fetched from the entry's physical keys (where quilt3 put them, or our
//! content-addressed objects) and, failing that, from the remote's object prefix. Each is
//! hashed and compared with the manifest before it enters the store; a mismatch stores
//! nothing and names the key. Downloads are committed in batches, so a killed fetch keeps
//! what it finished and the re-run fetches only the rest. The manifest is stored after its
//! objects and the local ref is moved last.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{hash_bytes_as, Entry, Manifest, ObjectId, PackageName, Progress, TopHash, Unit};
use quilt_store::{ObjectWriter, Store};
use rayon::prelude::*;

use super::error::{TResult, TransferError, Tried};
pub use super::locate::{parse_physical_key, PhysicalKey};
use super::locate::{read_local, Location, Sources};
use super::registry::{read_pointer, resolve_prefix};
use crate::layout::{latest_key, manifest_key};
use crate::packed::fetch::fetch_packed;
use crate::packed::RemoteLayout;
use crate::{Remote, RemoteOptions};

/// How to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Parallel transfers.
    pub jobs: usize,
    /// Used to open other buckets that quilt3 physical keys point into.
    pub remote_options: RemoteOptions,
    /// Read `file://` physical keys even though the remote is not a directory on this
    /// machine (see `locate`).
    pub allow_local_keys: bool,
    /// How the remote lays out data objects: on a packed one, objects are looked up in its
    /// packs first.
    pub layout: RemoteLayout,
}

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct FetchOutcome {
    /// The version fetched.
    pub top_hash: TopHash,
    /// Objects downloaded into the store.
    pub objects_downloaded: u64,
    /// The bytes of those objects.
    pub bytes_downloaded: u64,
    /// Objects the store had already.
    pub objects_present: u64,
}

/// Objects at most this large are fetched into memory (never beyond their declared size);
/// larger ones stream into the store.
const IN_MEMORY_MAX: u64 = 8 * 1024 * 1024;
/// A batch is committed to the store after this many bytes, so a kill loses little.
const BATCH_BYTES: u64 = 256 * 1024 * 1024;
const BATCH_OBJECTS: usize = 4096;

/// Resolves which version to fetch: `name` alone is its `latest`; `hash` is a top-hash prefix.
pub fn resolve(
    remote: &dyn Remote,
    name: Option<&PackageName>,
    hash: Option<&str>,
) -> TResult<TopHash> {
    match (name, hash) {
        (_, Some(h)) => resolve_prefix(remote, h),
        (Some(n), None) => {
            read_pointer(remote, &latest_key(n))?.ok_or_else(|| TransferError::NotFound {
                remote: remote.describe(),
                what: format!("package {n}"),
            })
        }
        (None, None) => Err(TransferError::NotFound {
            remote: remote.describe(),
            what: "a package (name one)".to_owned(),
        }),
    }
}

/// Downloads a manifest and checks it is the version it is named by. Manifests larger than
/// [`crate::s3::DEFAULT_MAX_GET_BYTES`] are refused; see [`get_manifest_capped`].
pub fn get_manifest(remote: &dyn Remote, top: &TopHash) -> TResult<(Manifest, Vec<u8>)> {
    get_manifest_capped(remote, top, crate::s3::DEFAULT_MAX_GET_BYTES)
}

/// [`get_manifest`] refusing a manifest of more than `cap` bytes: the download stops there, so
/// a server sending without end costs `cap` bytes of memory, no more.
pub fn get_manifest_capped(
    remote: &dyn Remote,
    top: &TopHash,
    cap: u64,
) -> TResult<(Manifest, Vec<u8>)> {
    let key = manifest_key(top);
    let mut sink = Bounded::new(cap);
    let got = remote.get_to(&key, &mut sink);
    if sink.overflowed {
        return Err(crate::Error::TooLarge {
            url: remote.describe(),
            key,
            op: "get",
            limit: cap,
            hint: " (QUILT_MAX_MANIFEST_BYTES raises the limit)",
        }
        .into());
    }
    got.map_err(|e| {
        if e.is_not_found() {
            TransferError::NotFound {
                remote: remote.describe(),
                what: format!("version {top}"),
            }
        } else {
            e.into()
        }
    })?;
    let bytes = sink.buf;
    let manifest = Manifest::from_slice(&bytes).map_err(|source| TransferError::BadManifest {
        remote: remote.describe(),
        key: key.clone(),
        source: Box::new(source),
    })?;
    let actual = manifest.top_hash();
    if actual != *top {
        return Err(TransferError::ManifestMismatch {
            remote: remote.describe(),
            key,
            actual,
        });
    }
    Ok((manifest, bytes))
}

/// Fetches a version from `remote` into `store`: its manifest and every object the store lacks,
/// then, with `name`, records the version under that name at the time the remote gives it.
/// The version is `name`'s `latest`, or the one whose top hash starts with `hash`. Stops with
/// [`TransferError::Interrupted`] once `interrupt` is set, before the manifest is recorded.
pub fn fetch(
    store: &Store,
    remote: &dyn Remote,
    name: Option<&PackageName>,
    hash: Option<&str>,
    opts: &FetchOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<FetchOutcome> {
    let top = resolve(remote, name, hash)?;
    let (manifest, bytes) = if store.has_manifest(&top) {
        (store.get_manifest(&top)?, None)
    } else {
        let cap = opts
            .remote_options
            .s3
            .max_get_bytes
            .unwrap_or(crate::s3::DEFAULT_MAX_GET_BYTES);
        let (m, b) = get_manifest_capped(remote, &top, cap)?;
        (m, Some(b))
    };

    // Held until the ref is recorded, so a concurrent gc cannot collect fetched objects.
    let _hold = store.hold_for_write()?;
    let fetched = fetch_objects(store, remote, &manifest, opts, progress, interrupt)?;
    // A Ctrl-C during the last object: stop before the manifest and the ref.
    if interrupt.load(Ordering::Relaxed) {
        return Err(TransferError::Interrupted);
    }

    if let Some(bytes) = bytes {
        // Kept as a delta against the package's latest local version when that pays.
        let base = match name {
            Some(n) => store.db().latest(n)?.map(|r| r.top_hash),
            None => None,
        };
        store.put_manifest_bytes_with_base(&bytes, base.as_ref())?;
    }
    if let Some(name) = name {
        let known = store
            .db()
            .revisions(name)?
            .iter()
            .any(|r| r.top_hash == top);
        if !known {
            let message = manifest
                .header
                .get("message")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            // The version's own time on the remote, so an old version fetched today does not
            // become the newest.
            let time =
                super::registry::version_time(remote, name, &top)?.unwrap_or_else(super::push::now);
            store.record_revision(name, &top, message.as_deref(), time)?;
        }
    }
    Ok(FetchOutcome {
        top_hash: top,
        objects_downloaded: fetched.downloaded,
        bytes_downloaded: fetched.bytes,
        objects_present: fetched.present,
    })
}

/// What [`fetch_objects`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectsFetched {
    /// Objects downloaded, verified and stored.
    pub downloaded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Distinct contents the store already had.
    pub present: u64,
}

/// Downloads every content of `manifest` the store lacks, each from the first of its
/// locations that works (its entries' physical keys, then `home`'s `.quilt/objects/<hex>`),
/// verifying every byte; see [`fetch`]. The caller holds [`Store::hold_for_write`] until it
/// has recorded what names these objects, so a concurrent gc cannot collect them.
pub fn fetch_objects(
    store: &Store,
    home: &dyn Remote,
    manifest: &Manifest,
    opts: &FetchOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> TResult<ObjectsFetched> {
    let remote = home;
    let (missing, also, present) = missing_objects(store, manifest)?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("quilt-fetch-{i}"))
        .build()
        .map_err(|e| TransferError::Io {
            path: "thread pool".into(),
            source: std::io::Error::other(e),
        })?;
    let watch = Watch {
        progress,
        interrupt,
    };
    let (mut downloaded, mut bytes) = (0, 0);
    let missing = match opts.layout {
        RemoteLayout::Plain => missing,
        RemoteLayout::Packed => {
            let got = fetch_packed(store, remote, missing, &pool, progress, interrupt)?;
            (downloaded, bytes) = (got.downloaded, got.bytes);
            got.rest
        }
    };
    let sources = Sources::new(remote, &opts.remote_options, opts.allow_local_keys);
    let (more, more_bytes) = download_missing(store, &missing, &also, &pool, &sources, watch)?;
    Ok(ObjectsFetched {
        downloaded: downloaded + more,
        bytes: bytes + more_bytes,
        present,
    })
}

/// Other entries' physical keys for the same content, by content id.
type AlsoAt<'m> = HashMap<ObjectId, Vec<&'m String>>;

/// The first entry of each content the store lacks; the physical keys of later entries with
/// the same content (more places to fetch it from, kept only for contents named twice); and
/// how many distinct contents are already present.
fn missing_objects<'m>(
    store: &Store,
    manifest: &'m Manifest,
) -> TResult<(Vec<&'m Entry>, AlsoAt<'m>, u64)> {
    let mut seen: HashMap<ObjectId, bool> = HashMap::new();
    let mut missing = Vec::new();
    let mut also: AlsoAt<'m> = HashMap::new();
    let mut present = 0;
    for e in &manifest.entries {
        if let Some(&is_missing) = seen.get(&e.hash) {
            if is_missing {
                also.entry(e.hash).or_default().extend(&e.physical_keys);
            }
            continue;
        }
        let is_missing = !store.contains(&e.hash)?;
        seen.insert(e.hash, is_missing);
        if is_missing {
            missing.push(e);
        } else {
            present += 1;
        }
    }
    Ok((missing, also, present))
}

/// Downloads, verifies and stores `missing` in batches; returns (objects, bytes).
fn download_missing(
    store: &Store,
    missing: &[&Entry],
    also: &AlsoAt<'_>,
    pool: &rayon::ThreadPool,
    sources: &Sources<'_>,
    watch: Watch<'_>,
) -> TResult<(u64, u64)> {
    let interrupt = watch.interrupt;
    let total: u64 = missing.iter().map(|e| e.size).sum();
    watch
        .progress
        .start("downloading", Some(total), Unit::Bytes);
    let downloaded = AtomicU64::new(0);
    let bytes_down = AtomicU64::new(0);
    for batch in batches(missing) {
        let writer = store.writer()?;
        let result = pool.install(|| {
            batch.par_iter().try_for_each(|e| -> TResult<()> {
                if interrupt.load(Ordering::Relaxed) {
                    return Err(TransferError::Interrupted);
                }
                let others = also.get(&e.hash).map_or(&[][..], Vec::as_slice);
                match download(&writer, sources, e, others, &watch) {
                    Err(_) if interrupt.load(Ordering::Relaxed) => {
                        return Err(TransferError::Interrupted)
                    }
                    other => other?,
                }
                downloaded.fetch_add(1, Ordering::Relaxed);
                bytes_down.fetch_add(e.size, Ordering::Relaxed);
                Ok(())
            })
        });
        // Everything verified so far is kept, also when the batch failed or was interrupted,
        // so the re-run fetches only the rest.
        writer.commit()?;
        result?;
    }
    watch.progress.finish();
    Ok((downloaded.into_inner(), bytes_down.into_inner()))
}

fn batches<'a>(entries: &'a [&'a Entry]) -> Vec<&'a [&'a Entry]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        bytes += e.size;
        if bytes >= BATCH_BYTES || i + 1 - start >= BATCH_OBJECTS {
            out.push(&entries[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

/// Fetches one object from the first location that has it and holds the right bytes,
/// verifies it and stores it. A location that is missing, corrupt, refused by the local-key
/// policy or otherwise unusable is passed over for the next; when none works, the error names
/// every location tried and why each failed. Only an interrupt or a failing local store stops
/// the search early.
fn download(
    writer: &ObjectWriter<'_>,
    sources: &Sources<'_>,
    e: &Entry,
    also: &[&String],
    watch: &Watch<'_>,
) -> TResult<()> {
    let mut tried = Vec::new();
    for loc in sources.locations(e, also.iter().copied()) {
        let location = loc.shown(sources.home);
        let (result, version) = match loc {
            Location::Home { key, version_id } => (
                fetch_one(writer, sources.home, &key, version_id.as_deref(), e, watch),
                version_id,
            ),
            Location::Other {
                remote,
                key,
                version_id,
            } => (
                fetch_one(
                    writer,
                    remote.as_ref(),
                    &key,
                    version_id.as_deref(),
                    e,
                    watch,
                ),
                version_id,
            ),
            Location::Local { path, physical_key } => {
                (read_local(writer, &path, &physical_key, e), None)
            }
            Location::Refused { error, .. } => (Err(error), None),
        };
        let error = match result {
            Ok(()) => {
                if !tried.is_empty() {
                    tracing::info!(
                        "{} ({}) fetched from {location} after {} other place(s) failed",
                        e.logical_key.as_str(),
                        e.hash,
                        tried.len()
                    );
                }
                return Ok(());
            }
            Err(err) if ends_search(&err) || watch.interrupt.load(Ordering::Relaxed) => {
                return Err(err)
            }
            Err(TransferError::Remote(source)) if version.is_some() && no_version(&source) => {
                TransferError::VersionGone {
                    location: location
                        .split_once("?versionId=")
                        .map_or(location.as_str(), |(base, _)| base)
                        .to_owned(),
                    version_id: version.unwrap_or_default(),
                    source: Box::new(source),
                }
            }
            Err(err) => err,
        };
        tracing::debug!("{location}: {error}");
        tried.push(Tried { location, error });
    }
    if tried.len() == 1 {
        if let Some(only) = tried.pop() {
            return Err(only.error);
        }
    }
    Err(TransferError::NoLocationWorked {
        logical_key: e.logical_key.as_str().to_owned(),
        hash: e.hash,
        tried,
    })
}

/// Whether a versioned GET failed because the version is not there: S3 answers 404
/// `NoSuchVersion` for a version it does not have, and AWS 400 `InvalidArgument` for an id that
/// cannot be one.
fn no_version(e: &crate::Error) -> bool {
    e.is_not_found()
        || matches!(e, crate::Error::Rejected { status: 400, code, .. } if code == "InvalidArgument")
}

/// Failures that no other location can help with: the user stopped, or the local store
/// cannot take the object.
fn ends_search(err: &TransferError) -> bool {
    matches!(
        err,
        TransferError::Interrupted | TransferError::Store(_) | TransferError::Io { .. }
    )
}

/// Reads `key` (at `version_id` when given) from `remote` into `w`.
fn get_into(
    remote: &dyn Remote,
    key: &str,
    version_id: Option<&str>,
    w: &mut dyn Write,
) -> crate::Result<u64> {
    match version_id {
        Some(v) => remote.get_version_to(key, v, 0, w),
        None => remote.get_to(key, w),
    }
}

fn fetch_one(
    writer: &ObjectWriter<'_>,
    remote: &dyn Remote,
    key: &str,
    version_id: Option<&str>,
    e: &Entry,
    watch: &Watch<'_>,
) -> TResult<()> {
    let corrupt = |actual: String, size: u64| TransferError::CorruptObject {
        remote: remote.describe(),
        key: match version_id {
            Some(v) => format!("{key}?versionId={v}"),
            None => key.to_owned(),
        },
        expected: e.hash,
        actual,
        size,
    };
    if e.size <= IN_MEMORY_MAX {
        let mut sink = Bounded::new(e.size);
        let got = get_into(remote, key, version_id, &mut watch.wrap(&mut sink));
        if sink.overflowed {
            return Err(corrupt(format!("more than {} bytes", e.size), e.size + 1));
        }
        got?;
        let data = sink.buf;
        let actual = hash_bytes_as(e.hash.kind, &data);
        if actual != e.hash || data.len() as u64 != e.size {
            return Err(corrupt(actual.to_string(), data.len() as u64));
        }
        writer.put_bytes(&e.hash, &data)?;
        return Ok(());
    }
    // Large objects stream from the download straight into the store, which hashes them once
    // on the way and stores nothing unless size and hash match.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let (stored, got) = std::thread::scope(|scope| {
        let getter = scope.spawn(move || {
            let mut sink = ChannelWriter { tx };
            get_into(remote, key, version_id, &mut watch.wrap(&mut sink))
        });
        let mut source = ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        };
        let stored = writer.put_reader(&e.hash, e.size, &mut source);
        // Dropping the receiving end makes a still-running download stop with an error.
        drop(source);
        (stored, getter.join())
    });
    let downloaded = match got {
        Ok(result) => result,
        Err(_) => {
            return Err(TransferError::Io {
                path: key.into(),
                source: std::io::Error::other("download thread panicked"),
            })
        }
    };
    match (stored, downloaded) {
        (Ok(_), Ok(_)) => Ok(()),
        // The store refused the bytes and closed the pipe: the data is what was wrong.
        (
            Err(quilt_store::Error::ContentMismatch { actual, .. }),
            Err(crate::Error::Sink { .. }),
        ) => Err(corrupt(actual.to_string(), e.size)),
        (Err(quilt_store::Error::SizeMismatch { actual, .. }), Err(crate::Error::Sink { .. })) => {
            Err(corrupt(
                format!("more than {} bytes", actual.saturating_sub(1)),
                actual,
            ))
        }
        // Otherwise a failed download explains a short stream better than the size it left.
        (_, Err(err)) => Err(err.into()),
        (Err(quilt_store::Error::ContentMismatch { actual, .. }), Ok(n)) => {
            Err(corrupt(actual.to_string(), n))
        }
        (Err(quilt_store::Error::SizeMismatch { actual, .. }), Ok(_)) => {
            Err(corrupt(format!("{actual} bytes"), actual))
        }
        (Err(other), Ok(_)) => Err(other.into()),
    }
}

/// What every download reports to and listens for: bytes go to the progress as they arrive,
/// and a Ctrl-C stops the transfer at its next write.
#[derive(Clone, Copy)]
struct Watch<'a> {
    progress: &'a dyn Progress,
    interrupt: &'a AtomicBool,
}

impl Watch<'_> {
    fn wrap<'s>(&'s self, inner: &'s mut dyn Write) -> Watched<'s> {
        Watched {
            progress: self.progress,
            interrupt: self.interrupt,
            inner,
        }
    }
}

struct Watched<'s> {
    progress: &'s dyn Progress,
    interrupt: &'s AtomicBool,
    inner: &'s mut dyn Write,
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("interrupted"));
        }
        let n = self.inner.write(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A memory sink that refuses to grow beyond `limit` bytes (and remembers that it refused).
struct Bounded {
    buf: Vec<u8>,
    limit: u64,
    overflowed: bool,
}

impl Bounded {
    fn new(limit: u64) -> Self {
        Bounded {
            buf: Vec::new(),
            limit,
            overflowed: false,
        }
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + buf.len() as u64 > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other(format!(
                "more than the {} bytes expected",
                self.limit
            )));
        }
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The sending half of an in-process pipe: each write becomes one message.
struct ChannelWriter {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx.send(buf.to_vec()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the store stopped reading")
        })?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The receiving half: reads messages in order; end of input once the sender is gone.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.buf = next;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_sink_refuses_bytes_beyond_its_limit() {
        let mut b = Bounded::new(4);
        b.write_all(b"abc").expect("within the limit");
        assert!(b.write_all(b"de").is_err());
        assert!(b.overflowed);
        assert_eq!(b.buf, b"abc");
    }
}
