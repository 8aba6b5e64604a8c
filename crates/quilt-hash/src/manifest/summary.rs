//! Reading only what a comparison needs from a manifest: each entry's key, size and hash.
//!
//! `status` and `checkout` compare a working directory with a version. They need neither the
//! metadata nor the physical keys, and a million-entry manifest held whole as JSON values takes
//! gigabytes. This reader checks every line exactly as [`Manifest::read`](crate::Manifest::read) does, a batch of
//! lines at a time on all cores, and keeps three fields of each entry.

use std::io::BufRead;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::read::{check_unique_keys, parse_line, Line};
use super::{Entry, ManifestError};
use crate::{LogicalKey, ObjectId};

/// Lines parsed together on all cores.
const BATCH_LINES: usize = 16 * 1024;

/// The key, size and content id of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    /// The file's path within the package.
    pub logical_key: LogicalKey,
    /// The file's length in bytes.
    pub size: u64,
    /// The hash of the file's bytes.
    pub hash: ObjectId,
}

impl From<&Entry> for EntrySummary {
    fn from(e: &Entry) -> Self {
        EntrySummary {
            logical_key: e.logical_key.clone(),
            size: e.size,
            hash: e.hash,
        }
    }
}

/// A manifest's header and its entries' summaries, in the manifest's order.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestSummary {
    /// The header object (line 1).
    pub header: Map<String, Value>,
    /// One summary per entry line; directory metadata lines are left out.
    pub entries: Vec<EntrySummary>,
}

impl ManifestSummary {
    /// Reads and checks a whole manifest, keeping only the summaries. Errors are those of
    /// [`Manifest::read`](super::Manifest::read), naming the first bad line.
    pub fn read(mut reader: impl BufRead) -> Result<ManifestSummary, ManifestError> {
        let mut text = Vec::new();
        let mut starts = Vec::new();
        let mut line = 0;
        let mut header = None;
        let mut entries = Vec::new();
        let mut entry_lines = Vec::new();
        loop {
            text.clear();
            starts.clear();
            let first_line = line + 1;
            while starts.len() < BATCH_LINES {
                line += 1;
                let start = text.len();
                let n = reader
                    .read_until(b'\n', &mut text)
                    .map_err(|source| ManifestError::Io { line, source })?;
                if n == 0 {
                    line -= 1;
                    break;
                }
                if text.last() != Some(&b'\n') {
                    return Err(ManifestError::Truncated { line });
                }
                starts.push(start);
            }
            if starts.is_empty() {
                break;
            }
            let ends = starts.iter().skip(1).copied().chain([text.len()]);
            let spans: Vec<(usize, usize)> = starts.iter().copied().zip(ends).collect();
            let mut first = 0;
            if header.is_none() {
                let (s, e) = spans[0];
                header = Some(super::read::parse_header(&text[s..e - 1])?);
                first = 1;
            }
            let parsed: Vec<Result<Option<(usize, EntrySummary)>, ManifestError>> = spans[first..]
                .par_iter()
                .enumerate()
                .map(|(i, &(s, e))| {
                    let n = first_line + first + i;
                    Ok(match parse_line(n, &text[s..e - 1])? {
                        Line::Entry(e) => Some((
                            n,
                            EntrySummary {
                                logical_key: e.logical_key,
                                size: e.size,
                                hash: e.hash,
                            },
                        )),
                        Line::Dir(_) => None,
                    })
                })
                .collect();
            for item in parsed {
                if let Some((n, e)) = item? {
                    entry_lines.push(n);
                    entries.push(e);
                }
            }
        }
        let header = header.ok_or(ManifestError::Empty)?;
        let keys = entries.iter().map(|e| e.logical_key.as_str());
        check_unique_keys(keys.zip(entry_lines))?;
        Ok(ManifestSummary { header, entries })
    }
}
