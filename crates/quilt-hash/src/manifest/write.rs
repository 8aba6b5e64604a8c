//! Writing manifests byte for byte as quilt3 does.
//!
//! Each line is `json.dumps(obj, ensure_ascii=False)` followed by `"\n"`. Entry lines have the
//! keys `logical_key`, `physical_keys`, `size`, `hash`, `meta` in that order, then any extra
//! keys in the order they were read. `physical_keys` is always written (as `[]` if empty, though
//! quilt3 only loads lines with at least one physical key as files). A missing or false `meta`
//! (`null`, `[]`, `0`, …) is written as `{}`: quilt3 requires the key and keeps `meta or {}`.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::{DirMeta, Entry, Manifest};
use crate::json::{self, JsonStyle};

const STYLE: JsonStyle = JsonStyle::Manifest;

/// Flush to the underlying writer once this much is buffered.
const FLUSH_AT: usize = 64 * 1024;

/// Appends the header line.
pub fn header_line(out: &mut Vec<u8>, header: &Map<String, Value>) {
    json::write_object(out, header, STYLE, None);
    out.push(b'\n');
}

impl DirMeta {
    /// Appends this directory's line.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"logical_key\": ");
        json::write_string(out, &self.logical_key, STYLE);
        out.extend_from_slice(b", \"meta\": ");
        json::write(out, &self.meta, STYLE);
        write_extra(out, &self.extra);
        out.extend_from_slice(b"}\n");
    }
}

impl Entry {
    /// Appends this entry's line.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"logical_key\": ");
        json::write_string(out, &self.logical_key, STYLE);
        out.extend_from_slice(b", \"physical_keys\": [");
        for (i, pk) in self.physical_keys.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            json::write_string(out, pk, STYLE);
        }
        out.extend_from_slice(b"], \"size\": ");
        out.extend_from_slice(self.size.to_string().as_bytes());
        out.extend_from_slice(b", \"hash\": {\"type\": ");
        json::write_string(out, self.hash.kind.name(), STYLE);
        out.extend_from_slice(b", \"value\": ");
        json::write_string(out, &self.hash.value_string(), STYLE);
        out.push(b'}');
        out.extend_from_slice(b", \"meta\": ");
        match &self.meta {
            Some(meta) if json::python_truthy(meta) => json::write(out, meta, STYLE),
            _ => out.extend_from_slice(b"{}"),
        }
        write_extra(out, &self.extra);
        out.extend_from_slice(b"}\n");
    }
}

fn write_extra(out: &mut Vec<u8>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        out.extend_from_slice(b", ");
        json::write_string(out, k, STYLE);
        out.extend_from_slice(b": ");
        json::write(out, v, STYLE);
    }
}

impl Manifest {
    /// Writes the manifest: header, directory lines, then entries, each in vector order.
    pub fn write(&self, w: impl Write) -> io::Result<()> {
        let mut writer = ManifestWriter::new(w, &self.header)?;
        for dir in &self.dirs {
            writer.dir(dir)?;
        }
        for entry in &self.entries {
            writer.entry(entry)?;
        }
        writer.finish().map(drop)
    }

    /// The manifest's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        header_line(&mut out, &self.header);
        for dir in &self.dirs {
            dir.write_line(&mut out);
        }
        for entry in &self.entries {
            entry.write_line(&mut out);
        }
        out
    }
}

/// Writes a manifest line by line, for builders that never hold every entry at once. The
/// caller supplies lines in quilt3's order: directory lines, then entries sorted by
/// [`logical_key_cmp`](crate::logical_key_cmp).
#[derive(Debug)]
pub struct ManifestWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> ManifestWriter<W> {
    /// Starts the manifest with its header line.
    pub fn new(inner: W, header: &Map<String, Value>) -> io::Result<Self> {
        let mut writer = ManifestWriter {
            inner,
            buf: Vec::with_capacity(FLUSH_AT * 2),
        };
        header_line(&mut writer.buf, header);
        writer.maybe_flush()?;
        Ok(writer)
    }

    /// Writes a directory metadata line.
    pub fn dir(&mut self, dir: &DirMeta) -> io::Result<()> {
        dir.write_line(&mut self.buf);
        self.maybe_flush()
    }

    /// Writes an entry line.
    pub fn entry(&mut self, entry: &Entry) -> io::Result<()> {
        entry.write_line(&mut self.buf);
        self.maybe_flush()
    }

    /// Writes what is buffered, flushes, and hands back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}
