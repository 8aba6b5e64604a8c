//! A parallel directory walk that yields files in quilt3's manifest order.
//!
//! quilt3 orders entries by `logical_key.split('/')`. A depth-first walk that visits each
//! directory's children sorted by name yields exactly that order, so nothing needs sorting
//! afterwards. Directories are read and their entries stat'ed in parallel.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use quilt_hash::is_reserved_component;

use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;

/// Prefix of the temp files checkout and install write beside their targets; the directory
/// walk never treats such a file as data, and the next checkout removes those a killed
/// process left behind.
pub const TEMP_PREFIX: &str = ".quilt-tmp";

/// One regular file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedFile {
    /// Path relative to the walk root, `/`-separated: the logical key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode number.
    pub ino: u64,
}

impl WalkedFile {
    pub(crate) fn from_metadata(key: String, md: &fs::Metadata) -> Self {
        WalkedFile {
            key,
            size: md.len(),
            mtime_ns: mtime_ns(md),
            ino: md.ino(),
        }
    }
}

pub(crate) fn mtime_ns(md: &fs::Metadata) -> i64 {
    md.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(md.mtime_nsec())
}

/// Walks `root` and returns its files in manifest order.
///
/// Symbolic links to files are followed (the entry has the target's content, as quilt3's
/// `set_dir` does); symbolic links to directories and dangling links are skipped, as quilt3
/// skips them. Every directory named `.quilt` is skipped, at any depth: it is quilt's own
/// folder (a nested working directory has one too), never data. `skip` lists absolute
/// directories never to enter (the store).
pub fn walk_dir(root: &Path, ignore: &IgnoreRules, skip: &[PathBuf]) -> Result<Vec<WalkedFile>> {
    Ok(walk_tree(root, ignore, skip)?.files)
}

/// What a walk found: the files, and the temp files a killed checkout left behind.
pub(crate) struct Walk {
    pub files: Vec<WalkedFile>,
    pub leftovers: Vec<PathBuf>,
}

/// [`walk_dir`], also returning the `.quilt-tmp*` files it skipped.
pub(crate) fn walk_tree(root: &Path, ignore: &IgnoreRules, skip: &[PathBuf]) -> Result<Walk> {
    let md = fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !md.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    walk_into(root, "", ignore, skip)
}

enum Child {
    File(WalkedFile),
    Dir(PathBuf, String),
    Leftover(PathBuf),
    Skip,
}

fn walk_into(dir: &Path, prefix: &str, ignore: &IgnoreRules, skip: &[PathBuf]) -> Result<Walk> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name
            .into_string()
            .map_err(|_| Error::NonUtf8Path { path: entry.path() })?;
        names.push((name, entry));
    }
    names.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let children: Vec<Child> = names
        .into_par_iter()
        .map(|(name, entry)| classify(prefix, name, &entry, ignore, skip))
        .collect::<Result<_>>()?;

    let nested: Vec<Walk> = children
        .into_par_iter()
        .map(|child| match child {
            Child::File(f) => Ok(Walk {
                files: vec![f],
                leftovers: Vec::new(),
            }),
            Child::Dir(path, key) => walk_into(&path, &key, ignore, skip),
            Child::Leftover(path) => Ok(Walk {
                files: Vec::new(),
                leftovers: vec![path],
            }),
            Child::Skip => Ok(Walk {
                files: Vec::new(),
                leftovers: Vec::new(),
            }),
        })
        .collect::<Result<_>>()?;
    let mut out = Walk {
        files: Vec::with_capacity(nested.iter().map(|w| w.files.len()).sum()),
        leftovers: Vec::new(),
    };
    for walk in nested {
        out.files.extend(walk.files);
        out.leftovers.extend(walk.leftovers);
    }
    Ok(out)
}

fn classify(
    prefix: &str,
    name: String,
    entry: &fs::DirEntry,
    ignore: &IgnoreRules,
    skip: &[PathBuf],
) -> Result<Child> {
    let path = entry.path();
    let reserved = is_reserved_component(&name);
    let temp = name.starts_with(TEMP_PREFIX);
    let key = if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    };
    let ft = entry.file_type().map_err(|e| Error::io(&path, e))?;
    let (is_dir, md) = if ft.is_symlink() {
        match fs::metadata(&path) {
            // quilt3 does not descend into linked directories.
            Ok(md) if md.is_dir() => return Ok(Child::Skip),
            Ok(md) => (false, Some(md)),
            Err(_) => return Ok(Child::Skip),
        }
    } else {
        (ft.is_dir(), None)
    };
    if is_dir {
        if reserved || skip.iter().any(|s| s == &path) || ignore.is_ignored(&key, true) {
            return Ok(Child::Skip);
        }
        return Ok(Child::Dir(path, key));
    }
    if temp {
        return Ok(Child::Leftover(path));
    }
    if ignore.is_ignored(&key, false) {
        return Ok(Child::Skip);
    }
    let md = match md {
        Some(md) => md,
        None => entry.metadata().map_err(|e| Error::io(&path, e))?,
    };
    if !md.is_file() {
        return Ok(Child::Skip); // sockets, fifos, devices
    }
    Ok(Child::File(WalkedFile::from_metadata(key, &md)))
}
