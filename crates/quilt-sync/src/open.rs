//! [`open_remote`]: from a URL to a ready, retrying remote.

use std::path::Path;

use crate::{
    DirRemote, Error, Remote, RemoteUrl, Result, Retry, RetryOptions, S3Options, S3Remote,
};

/// Everything [`open_remote`] needs besides the URL.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    pub s3: S3Options,
    pub retry: RetryOptions,
}

impl RemoteOptions {
    /// S3 settings from the environment ([`S3Options::from_env`]) and default retries.
    pub fn from_env() -> RemoteOptions {
        RemoteOptions {
            s3: S3Options::from_env(),
            retry: RetryOptions::default(),
        }
    }
}

/// Open the remote at `url` (`s3://bucket[/prefix]`, `file:///path` or a directory path),
/// wrapped in [`Retry`]. No request is sent: a missing bucket or bad credentials show up on the
/// first call. A missing directory is an error, so a mistyped path is reported instead of
/// becoming a new, empty remote; [`open_remote_creating`] creates it.
pub fn open_remote(url: &str, opts: &RemoteOptions) -> Result<Box<dyn Remote>> {
    open(url, opts, false)
}

/// [`open_remote`], creating a directory remote that does not exist yet.
pub fn open_remote_creating(url: &str, opts: &RemoteOptions) -> Result<Box<dyn Remote>> {
    open(url, opts, true)
}

fn open(url: &str, opts: &RemoteOptions, create_dir: bool) -> Result<Box<dyn Remote>> {
    tracing::debug!(url, "opening the remote");
    let remote: Box<dyn Remote> = match RemoteUrl::parse(url)? {
        RemoteUrl::S3 { bucket, prefix } => Box::new(S3Remote::new(&bucket, &prefix, &opts.s3)?),
        RemoteUrl::Dir(path) => {
            ensure_dir(&path, create_dir)?;
            Box::new(DirRemote::new(path)?)
        }
    };
    Ok(Box::new(Retry::new(remote, opts.retry.clone())))
}

/// Checks that a directory remote exists, or creates it when `create` is set.
fn ensure_dir(path: &Path, create: bool) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                return Err(Error::NoRemoteDir { path });
            }
            tracing::info!(path = %path.display(), "creating the remote directory");
            std::fs::create_dir_all(path).map_err(|e| Error::io("creating", path, e))
        }
        Err(e) => Err(Error::io("reading", path, e)),
    }
}
