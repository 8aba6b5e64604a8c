//! How a manifest is kept in `packages/<top hash>`: plain quilt3 JSONL (legacy stores, or a
//! file planted by hand), a zstd frame of the JSONL (a *keyframe*), or a *delta*: a zstd frame
//! compressed against the decompressed JSONL of a keyframe, which it names in a small header.
//!
//! Deltas are one level deep: a delta's base is never itself a delta, so reading any manifest
//! costs at most two decompressions. The kind is told by the first bytes; see
//! `docs/format.md`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use quilt_hash::TopHash;

use crate::layout::Layout;
use crate::{Error, Result};

/// The first 8 bytes of a delta: `QMDELTA1`.
pub const DELTA_MAGIC: [u8; 8] = *b"QMDELTA1";
/// The first 4 bytes of every zstd frame (0xFD2FB528, little-endian).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// Magic and the base's top hash.
const DELTA_HEADER_LEN: usize = DELTA_MAGIC.len() + 32;

/// Manifests larger than this (as JSONL) are stored as streamed keyframes and never serve as
/// or become deltas: encoding a delta holds the base and the new manifest in memory.
pub const DELTA_LIMIT: usize = 64 << 20;
/// A delta is kept only if it is smaller than the keyframe divided by this.
const DELTA_GAIN: u64 = 4;
/// Level 1: a keyframe is written at the end of every build, so speed matters more here than
/// the last tenth of its size (deltas, written once per version, use level 3).
const KEYFRAME_LEVEL: i32 = 1;
const DELTA_LEVEL: i32 = 3;
/// Largest window any frame we write uses: a delta of two `DELTA_LIMIT` inputs needs 2^27.
const WINDOW_LOG_MAX: u32 = 27;

/// How a stored manifest file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// quilt3 JSONL as is.
    Plain,
    /// One zstd frame of the JSONL.
    Keyframe,
    /// A zstd frame of the JSONL compressed with `base`'s JSONL as its reference prefix.
    Delta { base: TopHash },
}

fn bad(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::BadManifest {
        path: path.to_owned(),
        source: source.into(),
    }
}

fn open_file(layout: &Layout, top: &TopHash) -> Result<(File, PathBuf)> {
    let path = layout.manifest_path(&top.to_hex());
    match File::open(&path) {
        Ok(f) => Ok((f, path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::ManifestMissing { top: *top }),
        Err(e) => Err(Error::io("open", &path, e)),
    }
}

/// Reads up to `buf.len()` bytes; fewer only at end of file.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Tells the kind from the file's first bytes and leaves `file` at the start of its payload:
/// the JSONL or zstd frame for plain files and keyframes, the frame after the header for deltas.
fn sniff(file: &mut File, path: &Path) -> Result<ManifestKind> {
    let mut head = [0u8; DELTA_HEADER_LEN];
    let n = read_up_to(file, &mut head).map_err(|e| Error::io("read", path, e))?;
    let head = &head[..n];
    if head.starts_with(&DELTA_MAGIC) {
        if n < DELTA_HEADER_LEN {
            return Err(bad(path, "truncated delta header"));
        }
        let mut base = [0u8; 32];
        base.copy_from_slice(&head[DELTA_MAGIC.len()..]);
        return Ok(ManifestKind::Delta {
            base: TopHash(base),
        });
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("seek", path, e))?;
    if head.starts_with(&ZSTD_MAGIC) {
        Ok(ManifestKind::Keyframe)
    } else {
        Ok(ManifestKind::Plain)
    }
}

/// The kind of the stored manifest `top`.
pub(crate) fn kind(layout: &Layout, top: &TopHash) -> Result<ManifestKind> {
    let (mut file, path) = open_file(layout, top)?;
    sniff(&mut file, &path)
}

fn decoder<'a, R: BufRead>(
    d: io::Result<zstd::stream::read::Decoder<'a, R>>,
) -> io::Result<zstd::stream::read::Decoder<'a, R>> {
    let mut d = d?;
    d.window_log_max(WINDOW_LOG_MAX)?;
    Ok(d)
}

/// Names the file in every read error, so a corrupt frame found half way through a streamed
/// manifest still says which file is damaged.
struct Named<R> {
    inner: R,
    path: PathBuf,
}

impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not decompress {}: {e}", self.path.display()),
            )
        })
    }
}

/// A reader over the decompressed JSONL of the stored manifest `top`. Keyframes and plain
/// files are streamed; a delta is decoded whole (it is at most [`DELTA_LIMIT`] bytes).
pub(crate) fn open(layout: &Layout, top: &TopHash) -> Result<Box<dyn BufRead + Send>> {
    let (mut file, path) = open_file(layout, top)?;
    match sniff(&mut file, &path)? {
        ManifestKind::Plain => Ok(Box::new(BufReader::with_capacity(1 << 20, file))),
        ManifestKind::Keyframe => {
            let d = decoder(zstd::stream::read::Decoder::new(file)).map_err(|e| bad(&path, e))?;
            Ok(Box::new(BufReader::with_capacity(
                1 << 20,
                Named { inner: d, path },
            )))
        }
        ManifestKind::Delta { base } => {
            let bytes = decode_delta(layout, &mut file, &path, &base)?;
            Ok(Box::new(io::Cursor::new(bytes)))
        }
    }
}

/// The decompressed JSONL of the stored manifest `top`, whole.
pub(crate) fn read(layout: &Layout, top: &TopHash) -> Result<Vec<u8>> {
    let (mut file, path) = open_file(layout, top)?;
    match sniff(&mut file, &path)? {
        ManifestKind::Plain => {
            let mut out = Vec::new();
            file.read_to_end(&mut out)
                .map_err(|e| Error::io("read", &path, e))?;
            Ok(out)
        }
        ManifestKind::Keyframe => decode_keyframe(file, &path, None),
        ManifestKind::Delta { base } => decode_delta(layout, &mut file, &path, &base),
    }
}

fn decode_keyframe(file: File, path: &Path, limit: Option<usize>) -> Result<Vec<u8>> {
    let mut d = decoder(zstd::stream::read::Decoder::new(file)).map_err(|e| bad(path, e))?;
    let mut out = Vec::new();
    match limit {
        None => d.read_to_end(&mut out),
        Some(l) => (&mut d).take(l as u64 + 1).read_to_end(&mut out),
    }
    .map_err(|e| bad(path, e))?;
    if limit.is_some_and(|l| out.len() > l) {
        return Err(bad(path, "a delta base larger than the delta limit"));
    }
    Ok(out)
}

/// The JSONL of a delta's base: a keyframe (or plain file), never another delta.
fn read_base(layout: &Layout, delta_path: &Path, base: &TopHash) -> Result<Vec<u8>> {
    let (mut file, path) = match open_file(layout, base) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => {
            return Err(Error::ManifestBaseMissing {
                path: delta_path.to_owned(),
                base: *base,
            })
        }
        Err(e) => return Err(e),
    };
    match sniff(&mut file, &path)? {
        ManifestKind::Plain => {
            let mut out = Vec::new();
            (&mut file)
                .take(DELTA_LIMIT as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| Error::io("read", &path, e))?;
            if out.len() > DELTA_LIMIT {
                return Err(bad(&path, "a delta base larger than the delta limit"));
            }
            Ok(out)
        }
        ManifestKind::Keyframe => decode_keyframe(file, &path, Some(DELTA_LIMIT)),
        ManifestKind::Delta { .. } => Err(bad(
            delta_path,
            format!(
                "its base {} is itself a delta (deltas are one level deep)",
                path.display()
            ),
        )),
    }
}

/// Decodes the delta frame that follows the header in `file`.
fn decode_delta(layout: &Layout, file: &mut File, path: &Path, base: &TopHash) -> Result<Vec<u8>> {
    let base_bytes = read_base(layout, path, base).map_err(|e| match e {
        e @ Error::ManifestBaseMissing { .. } => e,
        e => bad(path, e),
    })?;
    let mut frame = Vec::new();
    file.read_to_end(&mut frame)
        .map_err(|e| Error::io("read", path, e))?;
    let mut d = decoder(zstd::stream::read::Decoder::with_ref_prefix(
        &frame[..],
        &base_bytes[..],
    ))
    .map_err(|e| bad(path, e))?;
    let mut out = Vec::new();
    (&mut d)
        .take(DELTA_LIMIT as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| bad(path, e))?;
    if out.len() > DELTA_LIMIT {
        return Err(bad(path, "a delta decodes to more than the delta limit"));
    }
    Ok(out)
}

/// Feeds the encoder and keeps a copy of the bytes for a delta, until they pass `limit`.
struct Tee<W> {
    inner: W,
    copy: Option<Vec<u8>>,
    limit: usize,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(buf)?;
        if let Some(c) = &mut self.copy {
            if c.len() + buf.len() > self.limit {
                self.copy = None;
            } else {
                c.extend_from_slice(buf);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Streams the manifest written by `write` into `out` as a keyframe. Returns the JSONL too when
/// `keep` and it is at most [`DELTA_LIMIT`] bytes, for a delta attempt.
pub(crate) fn write_keyframe(
    out: &mut File,
    keep: bool,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Option<Vec<u8>>> {
    let mut w = KeyframeWriter::new(out.try_clone()?, keep)?;
    write(&mut w)?;
    w.finish()
}

/// A keyframe being written: JSONL in, one zstd frame out to the file, and (if asked for) a
/// copy of the JSONL kept for a delta attempt while it is at most [`DELTA_LIMIT`] bytes.
pub(crate) struct KeyframeWriter {
    tee: Tee<zstd::stream::write::Encoder<'static, io::BufWriter<File>>>,
}

impl KeyframeWriter {
    pub(crate) fn new(out: File, keep: bool) -> io::Result<KeyframeWriter> {
        let buffered = io::BufWriter::with_capacity(1 << 20, out);
        let mut enc = zstd::stream::write::Encoder::new(buffered, KEYFRAME_LEVEL)?;
        enc.include_checksum(true)?;
        Ok(KeyframeWriter {
            tee: Tee {
                inner: enc,
                copy: keep.then(Vec::new),
                limit: DELTA_LIMIT,
            },
        })
    }

    /// Ends the frame and flushes it to the file (no fsync); returns the kept JSONL.
    pub(crate) fn finish(self) -> io::Result<Option<Vec<u8>>> {
        let Tee { inner, copy, .. } = self.tee;
        inner.finish()?.flush()?;
        Ok(copy)
    }
}

impl Write for KeyframeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tee.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tee.flush()
    }
}

/// A delta of `jsonl` against the JSONL `base_bytes` of the keyframe `base`: header + frame.
pub(crate) fn encode_delta(base: &TopHash, base_bytes: &[u8], jsonl: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(DELTA_HEADER_LEN + jsonl.len() / 16);
    out.extend_from_slice(&DELTA_MAGIC);
    out.extend_from_slice(&base.0);
    let span = (base_bytes.len() + jsonl.len()).max(1 << 10);
    let window_log = (usize::BITS - (span - 1).leading_zeros()).min(WINDOW_LOG_MAX);
    let mut enc = zstd::stream::write::Encoder::with_ref_prefix(out, DELTA_LEVEL, base_bytes)?;
    enc.include_checksum(true)?;
    enc.set_pledged_src_size(Some(jsonl.len() as u64))?;
    enc.window_log(window_log)?;
    enc.long_distance_matching(true)?;
    enc.write_all(jsonl)?;
    enc.finish()
}

/// Whether a delta of `delta_len` bytes is worth keeping over a keyframe of `keyframe_len`.
pub(crate) fn delta_pays(delta_len: u64, keyframe_len: u64) -> bool {
    delta_len.saturating_mul(DELTA_GAIN) < keyframe_len
}

/// Resolves a base hint to the keyframe a delta may be encoded against, with its JSONL:
/// a delta hint is replaced by its own base. `None` when there is no usable base (missing,
/// unreadable, or too large); the caller then stores a keyframe.
pub(crate) fn delta_base(layout: &Layout, hint: &TopHash) -> Option<(TopHash, Vec<u8>)> {
    let base = match kind(layout, hint) {
        Ok(ManifestKind::Delta { base }) => base,
        Ok(_) => *hint,
        Err(e) => {
            tracing::debug!(base = %hint, error = %e, "no delta base");
            return None;
        }
    };
    let hint_path = layout.manifest_path(&hint.to_hex());
    match read_base(layout, &hint_path, &base) {
        Ok(bytes) => Some((base, bytes)),
        Err(e) => {
            tracing::debug!(base = %base, error = %e, "no delta base");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_gain_threshold() {
        assert!(delta_pays(24, 100));
        assert!(!delta_pays(25, 100));
        assert!(!delta_pays(u64::MAX, 100));
    }

    #[test]
    fn delta_frame_round_trips_and_needs_its_base() {
        let base: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{{\"logical_key\": \"f{i}\", \"size\": {i}}}\n").into_bytes())
            .collect();
        let mut next = base.clone();
        next.extend_from_slice(b"{\"logical_key\": \"new\", \"size\": 1}\n");
        let top = TopHash([7; 32]);
        let delta = encode_delta(&top, &base, &next).expect("encode");
        assert_eq!(&delta[..8], b"QMDELTA1");
        assert_eq!(&delta[8..40], &[7; 32]);
        assert!(delta.len() < 200, "{} bytes", delta.len());
        let mut d =
            zstd::stream::read::Decoder::with_ref_prefix(&delta[40..], &base[..]).expect("decoder");
        let mut out = Vec::new();
        d.read_to_end(&mut out).expect("decode");
        assert_eq!(out, next);
        let mut wrong =
            zstd::stream::read::Decoder::with_ref_prefix(&delta[40..], &next[..]).expect("decoder");
        let mut out = Vec::new();
        assert!(wrong.read_to_end(&mut out).is_err() || out != next);
    }
}
