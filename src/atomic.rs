//! Replacing a small file atomically and durably: a temp file beside it, fsync, rename, fsync
//! of the folder. No dependency on the rest of the crate, so any module can use it.

use std::io::Write as _;
use std::path::Path;

/// Writes `data` to `path` so a reader (or a crash) sees the old file or the new one, never
/// a mix. The folder's fsync is best effort: some file systems refuse it on a folder.
pub(crate) fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
