//! Writing a pack: append records to a temp file, then publish it. The order of the publishing
//! steps is what makes a crash harmless: the `.pack` is renamed into place first, and only
//! the rename of its `.idx` makes its objects visible.

use std::io::Write;
use std::path::PathBuf;

use quilt_hash::{HashType, ObjectId};
use tempfile::NamedTempFile;

use super::checksum::Summer;
use super::index::{self, IndexEntry};
use super::sink::{align_start, PackSink};
use super::{pack_file_header, RECORD_HEADER_LEN};
use crate::layout::{persist, Layout};
use crate::{Error, Result};

/// Bytes gathered before they are written: large enough that the kernel sees few, large
/// writes.
const BUF_LEN: usize = 4 << 20;

/// A buffer's capacity: [`BUF_LEN`], plus room to pad its start for the writer thread (see
/// [`align_start`]) and for the record header that may start just under the limit.
const BUF_CAP: usize = BUF_LEN + 2 * 4096;

/// A pack that passes this many bytes is handed to a writer thread of its own (see
/// [`PackSink`]); smaller ones are written by the thread filling them.
const SINK_AFTER: u64 = 4 << 20;

/// Where a pack's bytes go.
enum Out {
    /// Written here.
    Inline(NamedTempFile),
    /// Written by a thread of the pack's own.
    Sink(PackSink),
    /// The move to a writer thread failed, taking the temp file with it.
    Lost,
}

/// A pack being written. Dropping it without [`PackWriter::finish`] deletes the temp file.
pub(crate) struct PackWriter {
    out: Out,
    /// The pack's checksum, fed as records are appended.
    sum: Box<Summer>,
    buf: Vec<u8>,
    /// Padding at the start of `buf` (written nowhere; it lines the buffer up in memory with
    /// its place in the file, so the writer thread can write it without a copy).
    pad: usize,
    /// Bytes appended so far (written or buffered).
    len: u64,
    /// Bytes handed to the kernel so far.
    flushed: u64,
    /// Bytes whose write-back has been started.
    synced: u64,
    entries: Vec<IndexEntry>,
    tmp_path: PathBuf,
}

/// A pack that has been published.
#[derive(Debug, Clone)]
pub(crate) struct FinishedPack {
    pub idx_path: PathBuf,
}

impl PackWriter {
    pub fn new(layout: &Layout) -> Result<PackWriter> {
        let tmp = layout.temp_file()?;
        let tmp_path = tmp.path().to_owned();
        let header = pack_file_header();
        let mut w = PackWriter {
            out: Out::Inline(tmp),
            sum: Box::new(Summer::new(&header)),
            buf: Vec::with_capacity(BUF_CAP),
            pad: 0,
            len: 0,
            flushed: 0,
            synced: 0,
            entries: Vec::new(),
            tmp_path,
        };
        w.pad = align_start(&mut w.buf, 0);
        w.write(&header)?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.buf.len() - self.pad + bytes.len() > BUF_LEN {
            self.flush()?;
        }
        self.buf.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Writes what is buffered (or hands it to the pack's writer thread). Inline, it starts
    /// the write-back early, so the fsync at [`PackWriter::finish`] has little left to wait
    /// for. A pack that this flush takes to [`SINK_AFTER`] bytes moves to a thread of its own
    /// first, so this buffer, too, goes the direct way. Every buffer starts lined up in
    /// memory with its place in the file (`pad`), whichever way it goes.
    fn flush(&mut self) -> Result<()> {
        if self.buf.len() == self.pad {
            return Ok(());
        }
        let before = self.flushed;
        self.flushed += (self.buf.len() - self.pad) as u64;
        if self.flushed >= SINK_AFTER {
            self.move_to_sink(before)?;
        }
        match &mut self.out {
            Out::Inline(file) => {
                file.write_all(&self.buf[self.pad..])
                    .map_err(|e| Error::io_write("write pack", &self.tmp_path, e))?;
                if self.flushed - self.synced >= WRITEBACK_STEP {
                    start_writeback(file.as_file(), self.synced, self.flushed - self.synced);
                    self.synced = self.flushed;
                }
            }
            Out::Sink(sink) => {
                let full = std::mem::take(&mut self.buf);
                self.buf = sink.send(full, self.pad)?;
            }
            Out::Lost => return Err(self.lost()),
        }
        self.pad = align_start(&mut self.buf, self.flushed);
        Ok(())
    }

    /// Hands an inline temp file, its first `written` bytes written, to a writer thread; a
    /// pack that already has one, or lost it, stays as it is.
    fn move_to_sink(&mut self, written: u64) -> Result<()> {
        match std::mem::replace(&mut self.out, Out::Lost) {
            Out::Inline(file) => self.out = Out::Sink(PackSink::start(file, written)?),
            other => self.out = other,
        }
        Ok(())
    }

    /// Appends one object. The caller guarantees it is not already in this pack.
    pub fn add(&mut self, kind: HashType, digest: &[u8; 32], data: &[u8]) -> Result<()> {
        let id = ObjectId {
            kind,
            digest: *digest,
        };
        let fill = |buf: &mut Vec<u8>| -> Result<Option<ObjectId>> {
            buf.extend_from_slice(data);
            Ok(Some(id))
        };
        self.append_with(data.len(), fill, |_| true).map(drop)
    }

    /// Appends one object whose bytes `fill` adds to the end of the buffer it is given (at
    /// most `max_len` of them), so they go from the source straight into the pack. `fill`
    /// returns the object's id, or `None` to append nothing; `keep` then decides from the id
    /// whether the object is appended (`true`) or dropped as a duplicate. Returns the id, the
    /// object's length and whether it was appended.
    pub fn append_with<E>(
        &mut self,
        max_len: usize,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<Option<ObjectId>, E>,
        keep: impl FnOnce(&ObjectId) -> bool,
    ) -> Result<Option<(ObjectId, u64, bool)>, E>
    where
        E: From<Error>,
    {
        if self.buf.len() - self.pad + RECORD_HEADER_LEN as usize + max_len > BUF_LEN {
            self.flush()?;
        }
        let start = self.buf.len();
        self.buf.resize(start + RECORD_HEADER_LEN as usize, 0);
        let id = match fill(&mut self.buf) {
            Ok(Some(id)) => id,
            other => {
                self.buf.truncate(start);
                return other.map(|_| None);
            }
        };
        let len = (self.buf.len() - start) as u64 - RECORD_HEADER_LEN;
        if !keep(&id) {
            self.buf.truncate(start);
            return Ok(Some((id, len, false)));
        }
        let header = &mut self.buf[start..start + RECORD_HEADER_LEN as usize];
        header[0] = id.kind.code();
        header[1..33].copy_from_slice(&id.digest);
        header[33..].copy_from_slice(&len.to_le_bytes());
        let (header, data) = self.buf[start..].split_at(RECORD_HEADER_LEN as usize);
        self.sum.record(id.kind, header, data);
        self.entries.push(IndexEntry {
            digest: id.digest,
            kind: id.kind,
            offset: self.len,
            len,
        });
        self.len += RECORD_HEADER_LEN + len;
        Ok(Some((id, len, true)))
    }

    fn lost(&self) -> Error {
        Error::io_write(
            "write pack",
            &self.tmp_path,
            std::io::Error::other("an earlier write of this pack failed"),
        )
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Publishes the pack: trailer, fsync, rename the `.pack`, then write, fsync and rename
    /// the `.idx`. An empty pack is discarded and `None` returned.
    pub fn finish(mut self, layout: &Layout) -> Result<Option<FinishedPack>> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        self.flush()?;
        let mut tmp = match self.out {
            Out::Inline(file) => file,
            Out::Sink(sink) => sink.finish()?.0,
            Out::Lost => return Err(self.lost()),
        };
        let checksum = self.sum.finish();
        tmp.write_all(&checksum)
            .map_err(|e| Error::io_write("write pack", &self.tmp_path, e))?;
        self.len += checksum.len() as u64;
        let name = format!("pack-{}", hex::encode(checksum));
        let dir = layout.pack_dir();
        let pack_path = dir.join(format!("{name}.pack"));
        let idx_path = dir.join(format!("{name}.idx"));
        persist(tmp, &pack_path)?;

        let mut entries = self.entries;
        entries.sort_unstable_by_key(|e| (e.digest, e.kind.code()));
        let idx = index::encode(&entries, self.len, &checksum);
        layout.atomic_write(&idx_path, &idx)?;
        Ok(Some(FinishedPack { idx_path }))
    }
}

/// How much newly written pack data starts its write-back at once.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Asks the kernel to start writing a range of the file to disk without waiting for it.
/// Purely a hint for speed; durability still comes from the fsync when the pack is published.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd as _;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: plain system call on a file descriptor this function borrows; it touches no
    // memory of ours. Failure only means the hint was not taken.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &std::fs::File, _offset: u64, _len: u64) {}
