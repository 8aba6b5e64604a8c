//! Reading one object without copying it: a window on a mapped pack, or the loose file.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use memmap2::Mmap;

/// A stored object's bytes. Packed objects are read straight from the pack's memory map;
/// loose objects from their file.
#[derive(Debug)]
pub struct ObjectReader {
    inner: Inner,
    len: u64,
}

#[derive(Debug)]
enum Inner {
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        end: usize,
        pos: usize,
    },
    File(io::Take<File>),
}

impl ObjectReader {
    pub(crate) fn mapped(map: Arc<Mmap>, range: std::ops::Range<usize>) -> ObjectReader {
        let len = (range.end - range.start) as u64;
        ObjectReader {
            inner: Inner::Mapped {
                map,
                start: range.start,
                end: range.end,
                pos: range.start,
            },
            len,
        }
    }

    pub(crate) fn file(file: File, len: u64) -> ObjectReader {
        ObjectReader {
            inner: Inner::File(file.take(len)),
            len,
        }
    }

    /// The object's total length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole object as one slice, when it lives in a pack.
    pub fn as_slice(&self) -> Option<&[u8]> {
        match &self.inner {
            Inner::Mapped {
                map, start, end, ..
            } => Some(&map[*start..*end]),
            Inner::File(_) => None,
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Mapped { map, end, pos, .. } => {
                let n = buf.len().min(*end - *pos);
                buf[..n].copy_from_slice(&map[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            Inner::File(f) => f.read(buf),
        }
    }
}
