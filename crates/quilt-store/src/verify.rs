//! Verification: re-hash every stored object, check every pack and index checksum, and check
//! that every recorded revision can be rebuilt from what is stored.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quilt_hash::{HashType, ObjectId, PackageName, Progress, TopHash, Unit};
use rayon::prelude::*;

use crate::hashing::{hash_as, hash_file_as};
use crate::layout::{self, parse_hex32};
use crate::pack::checksum::checksum;
use crate::pack::{Pack, TRAILER_LEN};
use crate::{Error, Result, Store};

/// What verify checks.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Re-hash every object and check every pack checksum (the slow part).
    pub objects: bool,
    /// Check every recorded revision's manifest and that all its objects are present.
    pub packages: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            objects: true,
            packages: true,
        }
    }
}

/// One thing verify found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Stored bytes do not hash to the id they are stored under.
    CorruptObject {
        id: ObjectId,
        /// The pack or loose file holding it.
        file: PathBuf,
        /// What the bytes hash to, when they could be read.
        actual: Option<ObjectId>,
        /// Package versions that include this object.
        breaks: Vec<(PackageName, TopHash)>,
    },
    /// A pack index that cannot be used; the pack's objects are invisible.
    CorruptIndex { file: PathBuf, reason: String },
    /// A pack whose checksum or structure is wrong.
    CorruptPack { file: PathBuf, reason: String },
    /// A pack without an index, left by an interrupted write. Harmless; gc removes it.
    OrphanPack { file: PathBuf },
    /// A revision whose manifest is not stored.
    MissingManifest { name: PackageName, top: TopHash },
    /// A revision whose manifest cannot be parsed.
    BadManifest {
        name: PackageName,
        top: TopHash,
        reason: String,
    },
    /// A revision whose manifest is stored as a delta against a base that is not stored.
    MissingManifestBase {
        name: PackageName,
        top: TopHash,
        base: TopHash,
    },
    /// A stored manifest no revision names (e.g. a delta's base) that cannot be read or does
    /// not hash to its name.
    BadStoredManifest {
        top: TopHash,
        file: PathBuf,
        reason: String,
    },
    /// A manifest whose content no longer hashes to its name.
    TopHashMismatch {
        name: PackageName,
        top: TopHash,
        actual: TopHash,
    },
    /// A file stored as chunks whose list cannot be read, names a chunk that is missing or
    /// damaged, or whose chunks do not reassemble to the file.
    BadChunkList {
        /// The file (its `sha2-256-chunked` id).
        id: ObjectId,
        /// The pack holding the list.
        file: PathBuf,
        /// The chunk at fault, when one is.
        chunk: Option<ObjectId>,
        reason: String,
        /// Package versions that include this file.
        breaks: Vec<(PackageName, TopHash)>,
    },
    /// A chunk list whose chunk is not stored. Left by an interrupted write (a list can be
    /// published before a chunk another pack holds), harmless unless a version needs the
    /// file: that is then also reported as [`Problem::MissingObject`].
    IncompleteChunkList {
        id: ObjectId,
        file: PathBuf,
        chunk: ObjectId,
    },
    /// A revision needs an object the store does not have.
    MissingObject {
        name: PackageName,
        top: TopHash,
        id: ObjectId,
        logical_key: String,
    },
}

impl Problem {
    /// Warnings do not mean lost or wrong data.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Problem::OrphanPack { .. } | Problem::IncompleteChunkList { .. }
        )
    }
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptObject {
                id,
                file,
                actual,
                breaks,
            } => {
                write!(f, "object {id} in {} is corrupt", file_name(file))?;
                match actual {
                    Some(a) => write!(f, " (content hashes to {a})")?,
                    None => write!(f, " (its record is damaged)")?,
                }
                if !breaks.is_empty() {
                    let list: Vec<String> =
                        breaks.iter().map(|(n, t)| format!("{n}@{t}")).collect();
                    write!(f, "; it breaks {}", list.join(", "))?;
                }
                Ok(())
            }
            Problem::BadChunkList {
                id,
                file,
                chunk,
                reason,
                breaks,
            } => {
                write!(f, "chunked file {id} (list in {}) ", file_name(file))?;
                if let Some(c) = chunk {
                    write!(f, "has a bad chunk {c}: ")?;
                } else {
                    write!(f, "is damaged: ")?;
                }
                write!(f, "{reason}")?;
                if !breaks.is_empty() {
                    let list: Vec<String> =
                        breaks.iter().map(|(n, t)| format!("{n}@{t}")).collect();
                    write!(f, "; it breaks {}", list.join(", "))?;
                }
                Ok(())
            }
            Problem::IncompleteChunkList { id, file, chunk } => write!(
                f,
                "chunked file {id} (list in {}) lacks chunk {chunk} (an interrupted write; \
                 `quilt gc` removes the list if no version needs it)",
                file_name(file)
            ),
            Problem::CorruptIndex { file, reason } => {
                write!(f, "pack index {} is corrupt: {reason}", file.display())
            }
            Problem::CorruptPack { file, reason } => {
                write!(f, "pack {} is corrupt: {reason}", file.display())
            }
            Problem::OrphanPack { file } => write!(
                f,
                "pack {} has no index (an interrupted write); `quilt gc` removes it",
                file.display()
            ),
            Problem::MissingManifest { name, top } => {
                write!(f, "package {name}@{top}: manifest is missing")
            }
            Problem::BadManifest { name, top, reason } => {
                write!(f, "package {name}@{top}: manifest cannot be read: {reason}")
            }
            Problem::MissingManifestBase { name, top, base } => write!(
                f,
                "package {name}@{top}: manifest is stored as a delta against {base}, which is \
                 missing"
            ),
            Problem::BadStoredManifest { top, file, reason } => write!(
                f,
                "stored manifest {top} ({}) is damaged: {reason}",
                file.display()
            ),
            Problem::TopHashMismatch { name, top, actual } => write!(
                f,
                "package {name}@{top}: manifest content hashes to {actual}, so it was altered"
            ),
            Problem::MissingObject {
                name,
                top,
                id,
                logical_key,
            } => {
                write!(
                    f,
                    "package {name}@{top} is missing object {id} ({logical_key})"
                )
            }
        }
    }
}

/// The result of [`Store::verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub objects_checked: u64,
    pub bytes_checked: u64,
    pub revisions_checked: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True if nothing worse than a warning was found.
    pub fn is_ok(&self) -> bool {
        self.problems.iter().all(Problem::is_warning)
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// Why a manifest could not be read, without the path the report already names.
fn manifest_reason(e: &Error) -> String {
    match e {
        Error::BadManifest { source, .. } => chain(source.as_ref()),
        other => chain(other),
    }
}

fn error_reason(e: &Error) -> String {
    match e {
        Error::CorruptIndex { reason, .. } | Error::CorruptPack { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

impl Store {
    /// Checks everything, in parallel, reporting problems rather than stopping at the first.
    pub fn verify(
        &self,
        opts: &VerifyOptions,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        if opts.objects {
            self.verify_objects(&mut report, progress, interrupt)?;
        }
        if opts.packages {
            self.verify_packages(&mut report, progress, interrupt)?;
        }
        Ok(report)
    }

    fn verify_objects(
        &self,
        report: &mut VerifyReport,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<()> {
        let (packs, loose) = self.object_files(report)?;
        let total: u64 = packs.iter().map(|p| p.data.len() as u64).sum::<u64>()
            + loose.iter().map(|l| l.2).sum::<u64>();
        progress.start("verifying objects", Some(total), Unit::Bytes);
        let checked = AtomicU64::new(0);
        let bytes = AtomicU64::new(0);
        let interrupted = || interrupt.load(Ordering::Relaxed);

        for pack in &packs {
            if interrupted() {
                return Err(Error::Interrupted);
            }
            let body = &pack.data[..pack.data.len() - TRAILER_LEN as usize];
            let reason = match checksum(body) {
                Ok(sum) if sum[..] == pack.data[body.len()..] => None,
                Ok(_) => Some("its checksum does not match its contents".into()),
                Err(reason) => Some(reason),
            };
            if let Some(reason) = reason {
                report.problems.push(Problem::CorruptPack {
                    file: pack.pack_path.clone(),
                    reason,
                });
            }
            let found: Vec<Problem> = (0..pack.index.len())
                .into_par_iter()
                .filter_map(|i| {
                    if interrupted() {
                        return None;
                    }
                    let e = pack.index.entry(i);
                    if e.kind == HashType::ChunkList {
                        // Checked by reassembling its file, below.
                        return None;
                    }
                    let id = ObjectId::new(e.kind, e.digest);
                    checked.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(e.len, Ordering::Relaxed);
                    progress.inc(e.len);
                    let actual = match pack.data_of(&e) {
                        Ok(data) => hash_as(e.kind, data),
                        Err(_) => {
                            return Some(Problem::CorruptObject {
                                id,
                                file: pack.pack_path.clone(),
                                actual: None,
                                breaks: Vec::new(),
                            })
                        }
                    };
                    (actual != id).then(|| Problem::CorruptObject {
                        id,
                        file: pack.pack_path.clone(),
                        actual: Some(actual),
                        breaks: Vec::new(),
                    })
                })
                .collect();
            report.problems.extend(found);
        }

        let found = verify_loose(&loose, progress, &checked, &bytes, &interrupted);
        report.problems.extend(found);
        progress.finish();
        let found = self.verify_chunk_lists(&packs, &report.problems, &interrupted)?;
        checked.fetch_add(found.0, Ordering::Relaxed);
        report.problems.extend(found.1);
        if interrupted() {
            return Err(Error::Interrupted);
        }
        report.objects_checked += checked.into_inner();
        report.bytes_checked += bytes.into_inner();
        Ok(())
    }

    /// Stored manifests no revision names: delta bases of deleted versions, and leftovers gc
    /// will collect. Each must still decode (with its base) and hash to its name.
    fn verify_unnamed_manifests(
        &self,
        checked: &HashSet<TopHash>,
        report: &mut VerifyReport,
        interrupt: &AtomicBool,
    ) -> Result<()> {
        for top in self.manifests()? {
            if interrupt.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            if checked.contains(&top) {
                continue;
            }
            let reason = match self.get_manifest(&top) {
                Ok(m) if m.top_hash() == top => continue,
                Ok(m) => format!("its content hashes to {}", m.top_hash()),
                Err(e) => manifest_reason(&e),
            };
            report.problems.push(Problem::BadStoredManifest {
                top,
                file: self.layout.manifest_path(&top.to_hex()),
                reason,
            });
        }
        Ok(())
    }

    /// Every pack (a damaged index is reported, and a pack without one) and every loose
    /// object file, with its digest and length.
    #[allow(clippy::type_complexity)]
    fn object_files(
        &self,
        report: &mut VerifyReport,
    ) -> Result<(Vec<Pack>, Vec<([u8; 32], PathBuf, u64)>)> {
        let pack_dir = self.layout.pack_dir();
        let mut packs = Vec::new();
        for e in layout::read_dir(&pack_dir)? {
            let path = e.path();
            match path.extension().and_then(|x| x.to_str()) {
                Some("idx") => match Pack::open(&path) {
                    Ok(p) => packs.push(p),
                    Err(err @ Error::CorruptIndex { .. }) => {
                        report.problems.push(Problem::CorruptIndex {
                            file: path,
                            reason: error_reason(&err),
                        })
                    }
                    Err(err) => report.problems.push(Problem::CorruptPack {
                        file: path.with_extension("pack"),
                        reason: error_reason(&err),
                    }),
                },
                Some("pack") if !path.with_extension("idx").exists() => {
                    report.problems.push(Problem::OrphanPack { file: path })
                }
                _ => {}
            }
        }
        let mut loose = Vec::new();
        for dir in layout::read_dir(&self.layout.loose_dir())? {
            let prefix = dir.file_name().to_string_lossy().into_owned();
            for e in layout::read_dir(&dir.path())? {
                let name = format!("{prefix}{}", e.file_name().to_string_lossy());
                if let Some(d) = parse_hex32(&name) {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    loose.push((d, e.path(), len));
                }
            }
        }
        Ok((packs, loose))
    }

    fn verify_packages(
        &self,
        report: &mut VerifyReport,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<()> {
        // Corrupt objects, by digest, to attach the package versions they break.
        let corrupt: HashMap<[u8; 32], usize> = report
            .problems
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Problem::CorruptObject { id, .. } | Problem::BadChunkList { id, .. } => {
                    Some((id.digest, i))
                }
                _ => None,
            })
            .collect();
        let mut breaks: Vec<(usize, (PackageName, TopHash))> = Vec::new();
        let revisions = self.db().all_revisions()?;
        let mut seen: HashSet<(PackageName, TopHash)> = HashSet::new();
        let mut checked: HashSet<TopHash> = HashSet::new();
        progress.start(
            "verifying packages",
            Some(revisions.len() as u64),
            Unit::Items,
        );
        self.refresh_packs()?;
        for rev in revisions {
            if interrupt.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            progress.inc(1);
            let (name, top) = (rev.name, rev.top_hash);
            if !seen.insert((name.clone(), top)) {
                continue;
            }
            report.revisions_checked += 1;
            checked.insert(top);
            let m = match self.get_manifest(&top) {
                Ok(m) => m,
                Err(e) if e.is_not_found() => {
                    report.problems.push(Problem::MissingManifest { name, top });
                    continue;
                }
                Err(Error::ManifestBaseMissing { base, .. }) => {
                    report
                        .problems
                        .push(Problem::MissingManifestBase { name, top, base });
                    continue;
                }
                Err(e) => {
                    let reason = manifest_reason(&e);
                    report
                        .problems
                        .push(Problem::BadManifest { name, top, reason });
                    continue;
                }
            };
            let actual = m.top_hash();
            if actual != top {
                report.problems.push(Problem::TopHashMismatch {
                    name: name.clone(),
                    top,
                    actual,
                });
            }
            let missing: Vec<Problem> = m
                .entries
                .par_iter()
                .filter_map(|e| {
                    if corrupt.contains_key(&e.hash.digest) {
                        return None;
                    }
                    match self.contains(&e.hash) {
                        Ok(true) => None,
                        _ => Some(Problem::MissingObject {
                            name: name.clone(),
                            top,
                            id: e.hash,
                            logical_key: e.logical_key.as_str().to_owned(),
                        }),
                    }
                })
                .collect();
            report.problems.extend(missing);
            for e in &m.entries {
                if let Some(&i) = corrupt.get(&e.hash.digest) {
                    breaks.push((i, (name.clone(), top)));
                }
            }
        }
        progress.finish();

        self.verify_unnamed_manifests(&checked, report, interrupt)?;
        attach_breaks(report, breaks);
        Ok(())
    }
}

/// Re-hashes loose objects in parallel. Loose file names carry no hash type: nearly everything
/// is chunked, and legacy SHA256 objects cost a second pass.
fn verify_loose(
    loose: &[([u8; 32], PathBuf, u64)],
    progress: &dyn Progress,
    checked: &AtomicU64,
    bytes: &AtomicU64,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Vec<Problem> {
    loose
        .par_iter()
        .filter_map(|(digest, path, len)| {
            if interrupted() {
                return None;
            }
            checked.fetch_add(1, Ordering::Relaxed);
            bytes.fetch_add(*len, Ordering::Relaxed);
            progress.inc(*len);
            // Loose file names carry no hash type; nearly everything is chunked, and
            // legacy SHA256 and CRC64NVME objects (whose digests end in 24 zero bytes)
            // cost a second pass.
            let chunked = ObjectId::new(HashType::Sha2_256Chunked, *digest);
            let actual = match hash_file_as(HashType::Sha2_256Chunked, path) {
                Ok(a) => a,
                Err(_) => {
                    return Some(Problem::CorruptObject {
                        id: chunked,
                        file: path.clone(),
                        actual: None,
                        breaks: Vec::new(),
                    })
                }
            };
            if actual.digest == *digest {
                return None;
            }
            let legacy = if digest[8..].iter().all(|&b| b == 0) {
                HashType::Crc64Nvme
            } else {
                HashType::Sha256
            };
            if hash_file_as(legacy, path).is_ok_and(|a| a.digest == *digest) {
                return None;
            }
            Some(Problem::CorruptObject {
                id: chunked,
                file: path.clone(),
                actual: Some(actual),
                breaks: Vec::new(),
            })
        })
        .collect()
}

/// Names, on each corrupt object, the package versions it breaks (`i` indexes the problem).
fn attach_breaks(report: &mut VerifyReport, found: Vec<(usize, (PackageName, TopHash))>) {
    for (i, version) in found {
        if let Some(Problem::CorruptObject { breaks, .. } | Problem::BadChunkList { breaks, .. }) =
            report.problems.get_mut(i)
        {
            if !breaks.contains(&version) {
                breaks.push(version);
            }
        }
    }
}
