//! Differences between two package versions.

use std::cmp::Ordering;

use quilt_hash::{logical_key_cmp, Entry, EntrySummary, Manifest, ObjectId};
use serde_json::{Map, Value};

use crate::walk::WalkedFile;

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// In the new version only.
    Added,
    /// In the old version only.
    Removed,
    /// In both, with other content.
    Modified,
}

impl ChangeKind {
    /// `+`, `-` or `M`, as `quilt diff` prints it.
    pub fn symbol(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Removed => 'D',
            ChangeKind::Modified => 'M',
        }
    }
}

/// One changed logical key between two versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The logical key.
    pub key: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// Size and hash in the old version.
    pub old: Option<(u64, ObjectId)>,
    /// Size and hash in the new version.
    pub new: Option<(u64, ObjectId)>,
}

/// Compares two manifests entry by entry (both taken in quilt3's walk order, which older
/// manifests' files need not have, so one merge pass). Entries whose content or metadata
/// differ are `Modified`.
pub fn diff_manifests(old: &Manifest, new: &Manifest) -> Vec<Change> {
    let (mut i, mut j) = (0, 0);
    let a: Vec<&Entry> = old.entries_in_order().collect();
    let b: Vec<&Entry> = new.entries_in_order().collect();
    let mut out = Vec::new();
    let info = |e: &Entry| Some((e.size, e.hash));
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => logical_key_cmp(x.logical_key.as_str(), y.logical_key.as_str()),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                out.push(Change {
                    key: a[i].logical_key.to_string(),
                    kind: ChangeKind::Removed,
                    old: info(a[i]),
                    new: None,
                });
                i += 1;
            }
            Ordering::Greater => {
                out.push(Change {
                    key: b[j].logical_key.to_string(),
                    kind: ChangeKind::Added,
                    old: None,
                    new: info(b[j]),
                });
                j += 1;
            }
            Ordering::Equal => {
                let (x, y) = (a[i], b[j]);
                if x.hash != y.hash || x.size != y.size || x.meta != y.meta {
                    out.push(Change {
                        key: x.logical_key.to_string(),
                        kind: ChangeKind::Modified,
                        old: info(x),
                        new: info(y),
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// One top-level field of the manifest header (`user_meta`, `message`, …) that differs
/// between two versions; a field one side lacks is `null` there.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderChange {
    /// The header field, e.g. `message` or `user_meta`.
    pub field: String,
    /// Its old value.
    pub old: Value,
    /// Its new value.
    pub new: Value,
}

/// Compares two manifest headers field by field, in field-name order.
pub fn diff_headers(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<HeaderChange> {
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|f| {
            let (a, b) = (old.get(f), new.get(f));
            (a != b).then(|| HeaderChange {
                field: f.clone(),
                old: a.cloned().unwrap_or(Value::Null),
                new: b.cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// One changed path of the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The logical key.
    pub key: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// Changes from a version's entries to the walked files: removed and modified paths in
/// manifest order, then added ones. Both sides are walked together in manifest order.
pub(crate) fn compare(
    entries: &[EntrySummary],
    files: &[WalkedFile],
    ids: &[ObjectId],
) -> (Vec<StatusEntry>, u64) {
    let mut recorded: Vec<&EntrySummary> = entries.iter().collect();
    let sorted = recorded
        .windows(2)
        .all(|w| logical_key_cmp(&w[0].logical_key, &w[1].logical_key) == Ordering::Less);
    if !sorted {
        // quilt and quilt3 write sorted manifests; one from elsewhere may not be.
        recorded.sort_by(|a, b| logical_key_cmp(&a.logical_key, &b.logical_key));
    }
    let change = |key: &str, kind| StatusEntry {
        key: key.to_owned(),
        kind,
    };
    let mut changes = Vec::new();
    let mut added = Vec::new();
    let mut unchanged = 0;
    let mut current = files.iter().zip(ids).peekable();
    for e in recorded {
        let key = e.logical_key.as_str();
        loop {
            match current.peek() {
                Some((f, _)) if logical_key_cmp(&f.key, key) == Ordering::Less => {
                    added.push(change(&f.key, ChangeKind::Added));
                    current.next();
                }
                Some((f, id)) if f.key == key => {
                    if f.size == e.size && **id == e.hash {
                        unchanged += 1;
                    } else {
                        changes.push(change(key, ChangeKind::Modified));
                    }
                    current.next();
                    break;
                }
                _ => {
                    changes.push(change(key, ChangeKind::Removed));
                    break;
                }
            }
        }
    }
    added.extend(current.map(|(f, _)| change(&f.key, ChangeKind::Added)));
    changes.extend(added);
    (changes, unchanged)
}
