//! A directory as manifest entries, hashed where the files are and stored nowhere: the
//! local-directory source of a manifest-only build (`quilt build --registry`). Physical keys
//! are the files' `file://` URLs, as quilt3's `set_dir` writes them.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use quilt_hash::{hash_file, is_reserved_component, Entry, LogicalKey, Progress, Unit};
use rayon::prelude::*;

use crate::build::{changed, entry, file_url, BuildOptions};
use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::repo::absolute;
use crate::walk::{mtime_ns, walk_dir, WalkedFile};

/// How often a file that keeps changing under us is hashed again before giving up.
const CHANGE_RETRIES: usize = 3;

/// Every file below `dir` (as `quilt build` walks it: `.quiltignore` honoured, `.quilt`
/// folders and `skip` skipped) as an entry in manifest order, with `opts`' entry metadata.
pub(crate) fn hashed_entries(
    dir: &Path,
    skip: &[PathBuf],
    opts: &BuildOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<Vec<Entry>> {
    let dir = absolute(dir)?;
    if !dir.is_dir() {
        return Err(Error::io(
            &dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let ignore = IgnoreRules::load(&dir)?;
    progress.start("scanning", None, Unit::Items);
    let files = walk_dir(&dir, &ignore, skip)?;
    progress.finish();
    if let Some(f) = files
        .iter()
        .find(|f| f.key.split('/').any(is_reserved_component))
    {
        LogicalKey::parse(f.key.as_str())?;
    }
    let total = files.iter().map(|f| f.size).sum();
    let base_url = file_url(&dir);
    progress.start("hashing", Some(total), Unit::Bytes);
    let entries = files
        .par_iter()
        .map(|walked| {
            if interrupt.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let (file, id) = hash_unchanged(&dir, walked)?;
            progress.inc(file.size);
            entry(opts, &base_url, &file, id)
        })
        .collect::<Result<Vec<Entry>>>()?;
    progress.finish();
    Ok(entries)
}

/// Hashes one walked file, again when it changed while it was read; returns its stat as hashed.
fn hash_unchanged(dir: &Path, walked: &WalkedFile) -> Result<(WalkedFile, quilt_hash::ObjectId)> {
    let (md, id) = hash_stable(&dir.join(&walked.key))?;
    Ok((WalkedFile::from_metadata(walked.key.clone(), &md), id))
}

/// Hashes the file at `path`, again when it changed while it was read (size, modification
/// time or inode moved), up to [`CHANGE_RETRIES`] times; returns its metadata as hashed.
pub(crate) fn hash_stable(path: &Path) -> Result<(std::fs::Metadata, quilt_hash::ObjectId)> {
    for _ in 0..CHANGE_RETRIES {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let md = file.metadata().map_err(|e| Error::io(path, e))?;
        match hash_file(&file, md.len()) {
            Ok(id) if !changed(&file, path, md.len(), mtime_ns(&md), md.ino())? => {
                return Ok((md, id));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::FileChanged {
        path: path.to_path_buf(),
    })
}
