//! Reading one object without copying it: a window on a mapped pack, the loose file, or a
//! chunked file's chunks one after another, each a window on its mapped pack.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use memmap2::Mmap;

/// A stored object's bytes. Packed objects are read straight from the pack's memory map;
/// loose objects from their file; chunked files chunk after chunk from the mapped packs.
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
    Chunks {
        parts: Vec<(Arc<Mmap>, std::ops::Range<usize>)>,
        /// The part being read, and the position inside the mapped pack.
        part: usize,
        pos: usize,
    },
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

    /// A file reassembled from its chunks' windows, in order.
    pub(crate) fn chunks(parts: Vec<(Arc<Mmap>, std::ops::Range<usize>)>) -> ObjectReader {
        let len = parts.iter().map(|(_, r)| (r.end - r.start) as u64).sum();
        let pos = parts.first().map_or(0, |(_, r)| r.start);
        ObjectReader {
            inner: Inner::Chunks {
                parts,
                part: 0,
                pos,
            },
            len,
        }
    }

    /// Whether the object is reassembled from chunks (so no single file or slice holds it).
    pub fn is_chunked(&self) -> bool {
        matches!(self.inner, Inner::Chunks { .. })
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
            Inner::File(_) | Inner::Chunks { .. } => None,
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
            Inner::Chunks { parts, part, pos } => loop {
                let Some((map, range)) = parts.get(*part) else {
                    return Ok(0);
                };
                if *pos < range.end {
                    let n = buf.len().min(range.end - *pos);
                    buf[..n].copy_from_slice(&map[*pos..*pos + n]);
                    *pos += n;
                    return Ok(n);
                }
                *part += 1;
                if let Some((_, next)) = parts.get(*part) {
                    *pos = next.start;
                }
            },
        }
    }
}
