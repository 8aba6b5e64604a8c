//! Reading manifests, whole or one line at a time.

use std::collections::HashSet;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::{DirMeta, Entry, Manifest, ManifestError};
use crate::json::{check_numbers, is_float_token};
use crate::{LogicalKey, ObjectId};

/// One line after the header.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Metadata of a directory.
    Dir(DirMeta),
    /// A file.
    Entry(Entry),
}

/// Reads a manifest one line at a time, holding only the current line, so a manifest with
/// millions of entries can be checked or hashed in bounded memory.
///
/// ```
/// use quilt_hash::{Line, ManifestLines};
/// let text = b"{\"version\": \"v0\"}\n{\"logical_key\": \"a\", \"size\": 0, \
///     \"hash\": {\"type\": \"sha2-256-chunked\", \"value\": \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"}}\n";
/// let mut lines = ManifestLines::new(&text[..])?;
/// assert_eq!(lines.header()["version"], "v0");
/// let Some(Ok(Line::Entry(e))) = lines.next() else { panic!("expected an entry") };
/// assert_eq!(e.logical_key.as_str(), "a");
/// assert!(lines.next().is_none());
/// # Ok::<(), quilt_hash::ManifestError>(())
/// ```
#[derive(Debug)]
pub struct ManifestLines<R> {
    reader: R,
    buf: Vec<u8>,
    line: usize,
    header: Map<String, Value>,
    done: bool,
}

impl<R: BufRead> ManifestLines<R> {
    /// Reads and checks the header line.
    pub fn new(reader: R) -> Result<Self, ManifestError> {
        let mut lines = ManifestLines {
            reader,
            buf: Vec::new(),
            line: 0,
            header: Map::new(),
            done: false,
        };
        if !lines.read_line()? {
            return Err(ManifestError::Empty);
        }
        lines.header = parse_object(lines.line, &lines.buf, "the header")?;
        Ok(lines)
    }

    /// The header object (line 1).
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The header object, without copying it.
    pub fn into_header(self) -> Map<String, Value> {
        self.header
    }

    /// The 1-based number of the line last read.
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// Reads the next line into `buf` without its newline; false at end of input.
    fn read_line(&mut self) -> Result<bool, ManifestError> {
        self.buf.clear();
        self.line += 1;
        let line = self.line;
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| ManifestError::Io { line, source })?;
        if n == 0 {
            return Ok(false);
        }
        if self.buf.pop() != Some(b'\n') {
            // quilt3 ends every line, including the last, with a newline; a missing one means
            // the upload or copy stopped part way.
            return Err(ManifestError::Truncated { line });
        }
        Ok(true)
    }

    fn next_line(&mut self) -> Result<Option<Line>, ManifestError> {
        if !self.read_line()? {
            return Ok(None);
        }
        let map = parse_object(self.line, &self.buf, "a manifest line")?;
        parse_record(self.line, map).map(Some)
    }
}

impl<R: BufRead> Iterator for ManifestLines<R> {
    type Item = Result<Line, ManifestError>;

    /// The next directory or entry line. After an error the iterator ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_line().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

impl Manifest {
    /// Reads a whole manifest, checking every line and refusing duplicate logical keys (quilt3
    /// refuses to load those).
    pub fn read(reader: impl BufRead) -> Result<Manifest, ManifestError> {
        let mut lines = ManifestLines::new(reader)?;
        let mut dirs = Vec::new();
        let mut entries = Vec::new();
        let mut entry_lines = Vec::new();
        while let Some(item) = lines.next() {
            match item? {
                Line::Dir(d) => dirs.push(d),
                Line::Entry(e) => {
                    entries.push(e);
                    entry_lines.push(lines.line_number());
                }
            }
        }
        check_unique_entries(&entries, entry_lines)?;
        Ok(Manifest {
            header: lines.into_header(),
            dirs,
            entries,
        })
    }

    /// [`Manifest::read`] from memory, parsing lines on all cores. Checks and errors are the
    /// same as `read`'s; when several lines are bad, the first one is reported.
    pub fn from_slice(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        use rayon::prelude::*;

        if bytes.is_empty() {
            return Err(ManifestError::Empty);
        }
        if bytes.last() != Some(&b'\n') {
            let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(ManifestError::Truncated { line });
        }
        let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|&b| b == b'\n').collect();
        let header = parse_object(1, lines[0], "the header")?;
        let parsed: Vec<Result<Line, ManifestError>> = lines[1..]
            .par_iter()
            .enumerate()
            .map(|(i, text)| {
                let line = i + 2;
                parse_object(line, text, "a manifest line").and_then(|map| parse_record(line, map))
            })
            .collect();
        let mut dirs = Vec::new();
        let mut entries = Vec::with_capacity(parsed.len());
        let mut entry_lines = Vec::with_capacity(parsed.len());
        for (i, item) in parsed.into_iter().enumerate() {
            match item? {
                Line::Dir(d) => dirs.push(d),
                Line::Entry(e) => {
                    entries.push(e);
                    entry_lines.push(i + 2);
                }
            }
        }
        check_unique_entries(&entries, entry_lines)?;
        Ok(Manifest {
            header,
            dirs,
            entries,
        })
    }
}

/// [`check_unique_keys`] for whole entries; `lines` are their 1-based line numbers.
fn check_unique_entries(entries: &[Entry], lines: Vec<usize>) -> Result<(), ManifestError> {
    check_unique_keys(entries.iter().map(|e| e.logical_key.as_str()).zip(lines))
}

/// quilt3 refuses a manifest that names a logical key twice; so does quilt. `keys` are the
/// entries' logical keys with their 1-based line numbers.
pub(crate) fn check_unique_keys<'a>(
    keys: impl ExactSizeIterator<Item = (&'a str, usize)>,
) -> Result<(), ManifestError> {
    let mut seen = HashSet::with_capacity(keys.len());
    for (key, line) in keys {
        if !seen.insert(key) {
            return Err(ManifestError::DuplicateKey {
                line,
                key: key.to_owned(),
            });
        }
    }
    Ok(())
}

fn parse_object(
    line: usize,
    bytes: &[u8],
    what: &'static str,
) -> Result<Map<String, Value>, ManifestError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ManifestError::Blank { line });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Json { line, source })?;
    check_numbers(&value).map_err(|problem| ManifestError::Number { line, problem })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ManifestError::NotObject { line, what }),
    }
}

fn parse_record(line: usize, map: Map<String, Value>) -> Result<Line, ManifestError> {
    let key = match map.get("logical_key") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid(line, "logical_key", "must be a string")),
        None => {
            return Err(ManifestError::MissingField {
                line,
                field: "logical_key",
            })
        }
    };
    if let Some(dir) = key.strip_suffix('/') {
        LogicalKey::parse(dir).map_err(|source| ManifestError::BadKey { line, source })?;
        parse_dir(line, key, map).map(Line::Dir)
    } else {
        let key =
            LogicalKey::parse(key).map_err(|source| ManifestError::BadKey { line, source })?;
        parse_entry(line, key, map).map(Line::Entry)
    }
}

fn invalid(line: usize, field: &'static str, problem: impl Into<String>) -> ManifestError {
    ManifestError::InvalidField {
        line,
        field,
        problem: problem.into(),
    }
}

fn parse_dir(
    line: usize,
    logical_key: String,
    map: Map<String, Value>,
) -> Result<DirMeta, ManifestError> {
    let mut meta = None;
    let mut extra = Map::new();
    for (k, v) in map {
        match k.as_str() {
            "logical_key" => {}
            "meta" => meta = Some(v),
            _ => {
                extra.insert(k, v);
            }
        }
    }
    let meta = meta.ok_or(ManifestError::MissingField {
        line,
        field: "meta",
    })?;
    Ok(DirMeta {
        logical_key,
        meta,
        extra,
    })
}

fn parse_entry(
    line: usize,
    logical_key: LogicalKey,
    map: Map<String, Value>,
) -> Result<Entry, ManifestError> {
    let mut physical_keys = Vec::new();
    let mut size = None;
    let mut hash = None;
    let mut meta = None;
    let mut extra = Map::new();
    for (k, v) in map {
        match k.as_str() {
            "logical_key" => {}
            "physical_keys" => physical_keys = parse_physical_keys(line, v)?,
            "size" => size = Some(parse_size(line, &v)?),
            "hash" => hash = Some(parse_hash(line, v)?),
            "meta" => meta = Some(v),
            _ => {
                extra.insert(k, v);
            }
        }
    }
    Ok(Entry {
        logical_key,
        physical_keys,
        size: size.ok_or(ManifestError::MissingField {
            line,
            field: "size",
        })?,
        hash: hash.ok_or(ManifestError::MissingField {
            line,
            field: "hash",
        })?,
        meta,
        extra,
    })
}

fn parse_physical_keys(line: usize, v: Value) -> Result<Vec<String>, ManifestError> {
    let Value::Array(items) = v else {
        return Err(invalid(
            line,
            "physical_keys",
            "must be an array of strings",
        ));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err(invalid(
                line,
                "physical_keys",
                "must be an array of strings",
            )),
        })
        .collect()
}

fn parse_size(line: usize, v: &Value) -> Result<u64, ManifestError> {
    let Value::Number(n) = v else {
        return Err(invalid(line, "size", "must be a non-negative integer"));
    };
    let text = n.as_str();
    if is_float_token(text) || text.starts_with('-') {
        return Err(invalid(
            line,
            "size",
            format!("must be a non-negative integer, not {text}"),
        ));
    }
    text.parse()
        .map_err(|_| invalid(line, "size", format!("{text} is too large")))
}

fn parse_hash(line: usize, v: Value) -> Result<ObjectId, ManifestError> {
    let Value::Object(map) = v else {
        return Err(invalid(
            line,
            "hash",
            "must be an object with \"type\" and \"value\"",
        ));
    };
    let (mut kind, mut value) = (None, None);
    for (k, v) in &map {
        match (k.as_str(), v) {
            ("type", Value::String(s)) => kind = Some(s.as_str()),
            ("value", Value::String(s)) => value = Some(s.as_str()),
            ("type" | "value", _) => {
                return Err(invalid(line, "hash", format!("{k:?} must be a string")))
            }
            // The top hash covers the whole hash object, so an unknown key could not be
            // carried through without changing it; refuse rather than drop it.
            _ => return Err(invalid(line, "hash", format!("has unexpected key {k:?}"))),
        }
    }
    let kind = kind.ok_or_else(|| invalid(line, "hash", "is missing \"type\""))?;
    let value = value.ok_or_else(|| invalid(line, "hash", "is missing \"value\""))?;
    ObjectId::from_manifest(kind, value).map_err(|source| ManifestError::BadHash { line, source })
}

/// Parses the header line (without its newline).
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Map<String, Value>, ManifestError> {
    parse_object(1, bytes, "the header")
}

/// Parses and checks one line after the header (without its newline).
pub(crate) fn parse_line(line: usize, bytes: &[u8]) -> Result<Line, ManifestError> {
    parse_object(line, bytes, "a manifest line").and_then(|map| parse_record(line, map))
}
