//! Hashing an object S3 has no usable checksum for: streamed, never held in memory whole, with
//! one ranged GET per chunk when it has several, so a large object is read in parallel and
//! each range yields exactly one chunk digest.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use quilt_hash::{chunk_size, HashType, ObjectId};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::checksum::chunk_count;
use super::error::SourceError;
use crate::s3::object::Pin;
use crate::{Remote, Retry, S3Remote};

/// What reading an object needs besides the object: the remote (with retries) and the
/// counters the scan reports.
pub(super) struct Reader<'a> {
    pub s3: &'a S3Remote,
    pub retry: &'a Retry<&'a S3Remote>,
    pub gets: &'a AtomicU64,
    pub get_bytes: &'a AtomicU64,
}

/// A writer that only feeds sha256 and counts.
struct DigestSink {
    hash: Sha256,
    n: u64,
}

impl Write for DigestSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.update(buf);
        self.n += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Reader<'_> {
    /// The `sha2-256-chunked` hash of the pinned version of `key`, `size` bytes long.
    pub fn hash(&self, key: &str, pin: Pin<'_>, size: u64) -> Result<ObjectId, SourceError> {
        let chunk = chunk_size(size);
        let digests = (0..chunk_count(size))
            .into_par_iter()
            .map(|i| {
                let start = i * chunk;
                self.chunk_digest(key, pin, start, chunk.min(size - start))
            })
            .collect::<Result<Vec<[u8; 32]>, SourceError>>()?;
        let mut outer = Sha256::new();
        for d in &digests {
            outer.update(d);
        }
        Ok(ObjectId::new(
            HashType::Sha2_256Chunked,
            outer.finalize().into(),
        ))
    }

    /// sha256 of `len` bytes at `start`, read with one ranged GET (retried from the start of
    /// the range when it fails on the way).
    fn chunk_digest(
        &self,
        key: &str,
        pin: Pin<'_>,
        start: u64,
        len: u64,
    ) -> Result<[u8; 32], SourceError> {
        let url = self.s3.describe();
        let bucket = self.s3.bucket_name();
        let sink = self
            .retry
            .call("get_range", key, || {
                self.gets.fetch_add(1, Ordering::Relaxed);
                let mut sink = DigestSink {
                    hash: Sha256::new(),
                    n: 0,
                };
                let got = self.s3.get_object_range_to(key, pin, start, len, &mut sink);
                self.get_bytes.fetch_add(sink.n, Ordering::Relaxed);
                got.map(|_| sink)
            })
            .map_err(|e| SourceError::reading(e, &url, bucket, key))?;
        if sink.n != len {
            return Err(SourceError::Changed {
                url,
                key: key.to_owned(),
                detail: format!("got {} of the {len} bytes at offset {start}", sink.n),
            });
        }
        Ok(sink.hash.finalize().into())
    }
}
