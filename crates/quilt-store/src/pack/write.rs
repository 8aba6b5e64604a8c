//! Writing a pack: append records to a temp file, then publish it. The order of the publishing
//! steps is what makes a crash harmless: the `.pack` is renamed into place first, and only
//! the rename of its `.idx` makes its objects visible.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use quilt_hash::HashType;
use tempfile::NamedTempFile;

use super::index::{self, IndexEntry};
use super::{FORMAT_VERSION, HEADER_LEN, PACK_MAGIC, RECORD_HEADER_LEN};
use crate::layout::{persist, Layout};
use crate::{Error, Result};

/// A pack being written. Dropping it without [`PackWriter::finish`] deletes the temp file.
pub(crate) struct PackWriter {
    out: BufWriter<NamedTempFile>,
    hasher: blake3::Hasher,
    len: u64,
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
        let mut w = PackWriter {
            out: BufWriter::with_capacity(1 << 20, tmp),
            hasher: blake3::Hasher::new(),
            len: 0,
            entries: Vec::new(),
            tmp_path,
        };
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(&PACK_MAGIC);
        header[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        w.write(&header)?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io_write("write pack", &self.tmp_path, e))?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Appends one object. The caller guarantees it is not already in this pack.
    pub fn add(&mut self, kind: HashType, digest: &[u8; 32], data: &[u8]) -> Result<()> {
        let offset = self.len;
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        header[0] = kind.code();
        header[1..33].copy_from_slice(digest);
        header[33..].copy_from_slice(&(data.len() as u64).to_le_bytes());
        self.write(&header)?;
        self.write(data)?;
        self.entries.push(IndexEntry {
            digest: *digest,
            kind,
            offset,
            len: data.len() as u64,
        });
        Ok(())
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
        let checksum: [u8; 32] = *self.hasher.finalize().as_bytes();
        self.write(&checksum)?;
        let tmp_path = self.tmp_path.clone();
        let tmp = self
            .out
            .into_inner()
            .map_err(|e| Error::io_write("write pack", &tmp_path, e.into_error()))?;
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
