//! The manifest as a push leaves it on the remote: every entry's physical key points at its
//! object there, so quilt3 can install straight from it.
//!
//! The stored manifest is read and written one line at a time into a temp file, which is then
//! uploaded as a file: a version of a million entries never sits in memory, neither parsed
//! nor as bytes. The bytes are those [`Manifest::to_bytes`](quilt_hash::Manifest::to_bytes)
//! gives for the manifest with its keys replaced: header, directory lines, then entries, each
//! in file order.

use std::io::{BufWriter, Seek, Write};
use std::path::PathBuf;

use quilt_hash::manifest::write::header_line;
use quilt_hash::{Line, ManifestError, ManifestLines, TopHash};
use quilt_store::Store;
use tempfile::NamedTempFile;

use super::error::{TResult, TransferError};
use crate::layout::object_key;

/// Writes version `top` of `store`, with each entry's physical key set to
/// `<base>/.quilt/objects/<hex>`, into a temp file in the store's `tmp/` folder.
pub(super) fn rewritten_manifest(
    store: &Store,
    top: &TopHash,
    base: &str,
) -> TResult<NamedTempFile> {
    let base = base.trim_end_matches('/');
    let mut tmp = temp_file(store)?;
    // Directory lines come before entries in every manifest quilt and quilt3 write, so one
    // pass nearly always does; a manifest with one after an entry takes two.
    if !copy_lines(store, top, base, &mut tmp, Pass::Both)? {
        tmp.as_file_mut().set_len(0).map_err(io_err(&tmp))?;
        tmp.as_file_mut().rewind().map_err(io_err(&tmp))?;
        copy_lines(store, top, base, &mut tmp, Pass::Dirs)?;
        copy_lines(store, top, base, &mut tmp, Pass::Entries)?;
    }
    tmp.as_file().sync_data().map_err(io_err(&tmp))?;
    Ok(tmp)
}

/// Which lines a pass copies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every line, in file order; stops (returning false) at a directory line after an entry.
    Both,
    /// The header and the directory lines.
    Dirs,
    /// The entry lines only, appended.
    Entries,
}

fn copy_lines(
    store: &Store,
    top: &TopHash,
    base: &str,
    tmp: &mut NamedTempFile,
    pass: Pass,
) -> TResult<bool> {
    let bad = |source: ManifestError| {
        TransferError::Store(quilt_store::Error::BadManifest {
            path: store.root().join("packages").join(top.to_hex()),
            source: Box::new(source),
        })
    };
    let path = tmp.path().to_owned();
    let mut lines = ManifestLines::new(store.open_manifest(top)?).map_err(bad)?;
    let mut out = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    let mut buf = Vec::new();
    if pass != Pass::Entries {
        header_line(&mut buf, lines.header());
    }
    let mut seen_entry = false;
    for line in lines.by_ref() {
        match line.map_err(bad)? {
            Line::Dir(d) if pass != Pass::Entries => {
                if seen_entry {
                    return Ok(false);
                }
                d.write_line(&mut buf);
            }
            Line::Entry(mut e) if pass != Pass::Dirs => {
                seen_entry = true;
                e.physical_keys = vec![format!("{base}/{}", object_key(&e.hash))];
                e.write_line(&mut buf);
            }
            _ => {}
        }
        out.write_all(&buf).map_err(io_err_at(&path))?;
        buf.clear();
    }
    out.write_all(&buf)
        .and_then(|()| out.flush())
        .map_err(io_err_at(&path))?;
    Ok(true)
}

fn temp_file(store: &Store) -> TResult<NamedTempFile> {
    let dir = store.root().join("tmp");
    tempfile::Builder::new()
        .prefix(".push-manifest")
        .tempfile_in(&dir)
        .map_err(|source| TransferError::Io { path: dir, source })
}

fn io_err(tmp: &NamedTempFile) -> impl Fn(std::io::Error) -> TransferError {
    io_err_at(tmp.path())
}

fn io_err_at(path: &std::path::Path) -> impl Fn(std::io::Error) -> TransferError {
    let path: PathBuf = path.to_owned();
    move |source| TransferError::Io {
        path: path.clone(),
        source,
    }
}
