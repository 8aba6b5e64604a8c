//! Which remote a command means (a name, a URL, or a default), and opening it.

use std::path::{Component, Path, PathBuf};

use quilt_store::RemoteSettings;
use quilt_sync::{open_remote, Remote, RemoteLayout, RemoteOptions, RemoteUrl};

use crate::error::{Error, Result};
use crate::Repository;

/// An opened remote and the URL it was opened at (a directory made absolute).
pub struct OpenedRemote {
    /// The URL or absolute directory opened.
    pub url: String,
    /// The remote.
    pub remote: Box<dyn Remote>,
}

/// A remote to open: its URL, and, for one added with `quilt remote add`, its name, settings
/// and the region found for its bucket.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    name: Option<String>,
    settings: RemoteSettings,
    found_region: Option<String>,
    layout: Option<String>,
}

impl Target {
    fn url(url: String) -> Target {
        Target {
            url,
            name: None,
            settings: RemoteSettings::default(),
            found_region: None,
            layout: None,
        }
    }
}

impl Repository {
    /// Opens a remote given by name (from [`Repository::add_remote`]), by URL or path, or,
    /// when `None`, the working directory's default remote, else the user's
    /// ([`crate::user_config::default_remote`]). Relative paths are taken from `cwd`; a
    /// directory remote must lie outside the working directory. A named remote's endpoint,
    /// region and profile rank above `base`, the environment's options.
    pub fn open_remote(
        &self,
        name_or_url: Option<&str>,
        cwd: &Path,
        base: &RemoteOptions,
    ) -> Result<OpenedRemote> {
        let t = target(Some(self), name_or_url)?;
        let url = self.checked_remote_url(cwd, &t.url)?;
        let remote = open_remote(&url, &options_for(&t, base))?;
        remember_found_region(self, &t);
        Ok(OpenedRemote { url, remote })
    }

    /// The layout of the remote a name, URL or `None` (the default) means: a named remote's
    /// own (`quilt remote add --layout`), else the plain layout.
    pub fn remote_layout(&self, name_or_url: Option<&str>) -> Result<RemoteLayout> {
        let t = target(Some(self), name_or_url)?;
        match t.layout.as_deref() {
            None => Ok(RemoteLayout::Plain),
            Some(l) => l.parse().map_err(|reason: String| Error::BadRemoteLayout {
                name: t.name.unwrap_or(t.url),
                reason,
            }),
        }
    }

    /// Creates the directory of the remote [`Repository::open_remote`] would open, when it
    /// is a directory that does not exist yet; returns the directory created, if any.
    pub fn create_remote_dir(
        &self,
        name_or_url: Option<&str>,
        cwd: &Path,
    ) -> Result<Option<PathBuf>> {
        let url = target(Some(self), name_or_url)?.url;
        create_remote_dir(&self.checked_remote_url(cwd, &url)?)
    }

    /// A remote URL checked for use from this working directory: it parses, and a directory
    /// is made absolute (relative to `cwd`) and lies outside the working directory, so pushed
    /// files never become part of the package. Returns the URL to store or open.
    pub fn checked_remote_url(&self, cwd: &Path, url: &str) -> Result<String> {
        let RemoteUrl::Dir(dir) = RemoteUrl::parse(url)? else {
            return Ok(url.to_owned());
        };
        let dir = resolved(&cwd.join(dir))?;
        let worktree = self.worktree();
        if dir.starts_with(worktree) {
            return Err(Error::RemoteDirInWorktree {
                dir,
                worktree: worktree.to_owned(),
            });
        }
        utf8(dir)
    }
}

/// Opens a remote to read from or write a manifest to, anywhere: by name when `cwd` lies in
/// a working directory (as [`Repository::open_remote`]), else by URL or path, or, when `None`,
/// the user's default remote. Reading a remote (`log --remote`, `list --remote`) or writing a
/// manifest to it (`build --registry`) needs no working directory.
pub fn open_remote_anywhere(
    name_or_url: Option<&str>,
    cwd: &Path,
    base: &RemoteOptions,
) -> Result<OpenedRemote> {
    match Repository::discover(cwd) {
        Ok(repo) => repo.open_remote(name_or_url, cwd, base),
        Err(_) => open_remote_to_read(None, name_or_url, cwd, base),
    }
}

/// Opens a remote to read from, as [`open_remote_anywhere`] does, with names looked up in
/// `repo` when there is one; a directory remote may lie anywhere, even inside the working
/// directory (`install --from`).
pub fn open_remote_to_read(
    repo: Option<&Repository>,
    name_or_url: Option<&str>,
    cwd: &Path,
    base: &RemoteOptions,
) -> Result<OpenedRemote> {
    let t = target(repo, name_or_url)?;
    let url = match RemoteUrl::parse(&t.url)? {
        RemoteUrl::Dir(d) => utf8(resolved(&cwd.join(d))?)?,
        RemoteUrl::S3 { .. } => t.url.clone(),
    };
    let remote = open_remote(&url, &options_for(&t, base)).map_err(|source| Error::OpenRemote {
        url: url.clone(),
        source: Box::new(source),
    })?;
    if let Some(repo) = repo {
        remember_found_region(repo, &t);
    }
    Ok(OpenedRemote { url, remote })
}

/// Creates the directory a remote URL names when it is missing (as `remote add`, `set-url`
/// and `push --create-remote` do); returns the directory created, if any.
pub fn create_remote_dir(url: &str) -> Result<Option<PathBuf>> {
    let RemoteUrl::Dir(dir) = RemoteUrl::parse(url)? else {
        return Ok(None);
    };
    if dir.exists() {
        return Ok(None);
    }
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Ok(Some(dir)),
        Err(source) => Err(Error::CreateRemoteDir { path: dir, source }),
    }
}

/// The value `quilt config default-remote` stores: an S3 URL as it is, a directory made
/// absolute from `cwd` (it is used from every directory) and created if missing. Returns the
/// value and the directory created, if any.
pub fn user_default_remote_url(value: &str, cwd: &Path) -> Result<(String, Option<PathBuf>)> {
    let RemoteUrl::Dir(d) = RemoteUrl::parse(value)? else {
        return Ok((value.to_owned(), None));
    };
    let joined = cwd.join(d);
    let abs = std::path::absolute(&joined).map_err(|e| Error::io(&joined, e))?;
    let url = match abs.to_str() {
        Some(s) => s.to_owned(),
        None => return Err(Error::NonUtf8Dir(abs)),
    };
    let created = create_remote_dir(&url)?;
    Ok((url, created))
}

fn utf8(dir: PathBuf) -> Result<String> {
    match dir.to_str() {
        Some(s) => Ok(s.to_owned()),
        None => Err(Error::NonUtf8RemoteDir(dir)),
    }
}

/// An absolute path with `.` and `..` removed and its longest existing ancestor resolved
/// through symlinks, so it compares correctly with the (canonical) working directory.
fn resolved(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            c => clean.push(c),
        }
    }
    let mut rest = Vec::new();
    let mut base = clean.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            return Ok(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => return Ok(clean),
        }
    }
}

/// Options for opening `t`: the environment's, with the remote's own settings on top.
fn options_for(t: &Target, base: &RemoteOptions) -> RemoteOptions {
    let mut o = base.clone();
    if let Some(p) = &t.settings.profile {
        o.s3 = o.s3.with_profile(p);
    }
    if let Some(e) = &t.settings.endpoint {
        o.s3.endpoint = Some(e.clone());
    }
    if let Some(r) = &t.settings.region {
        o.s3.region = Some(r.clone());
    }
    o.s3.known_region = t.found_region.clone();
    o
}

/// Keeps the region an S3 remote's bucket named when it was opened (see quilt-sync's
/// `s3::region`), so later runs need not ask again. A failure to record it costs only that.
fn remember_found_region(repo: &Repository, t: &Target) {
    let Some(name) = &t.name else { return };
    let Ok(RemoteUrl::S3 { bucket, .. }) = RemoteUrl::parse(&t.url) else {
        return;
    };
    let Some(found) = quilt_sync::s3::region::discovered_region(&bucket) else {
        return;
    };
    if t.found_region.as_deref() != Some(found.as_str()) {
        if let Err(e) = repo
            .store()
            .db()
            .set_remote_found_region(name, &t.url, &found)
        {
            tracing::debug!("could not record the region of remote {name}: {e}");
        }
    }
}

/// The remote a command means: a name (known only inside a working directory), a URL, or,
/// when `None`, the working directory's default remote, else the user's default remote.
fn target(repo: Option<&Repository>, name_or_url: Option<&str>) -> Result<Target> {
    let record = |name: &str| -> Result<Option<Target>> {
        let Some(repo) = repo else { return Ok(None) };
        Ok(repo.store().db().remote_record(name)?.map(|r| Target {
            url: r.url,
            name: Some(r.name),
            settings: r.settings,
            found_region: r.found_region,
            layout: r.layout,
        }))
    };
    if let Some(n) = name_or_url {
        if let Some(t) = record(n)? {
            return Ok(t);
        }
        if n.contains(':') || n.contains('/') {
            return Ok(Target::url(n.to_owned()));
        }
        return Err(match repo {
            None => Error::RemoteNameOutsideWorkdir(n.to_owned()),
            Some(_) => Error::UnknownRemote {
                name: n.to_owned(),
                fix: format!("add one with `quilt remote add {n} URL`"),
            },
        });
    }
    if let Some(default) = repo
        .map(|r| r.store().db().default_remote())
        .transpose()?
        .flatten()
    {
        return match record(&default)? {
            Some(t) => Ok(t),
            None => Err(Error::DefaultRemoteGone(default)),
        };
    }
    match crate::user_config::default_remote()? {
        Some(url) => Ok(Target::url(url)),
        None => Err(Error::NoDefaultRemote),
    }
}
