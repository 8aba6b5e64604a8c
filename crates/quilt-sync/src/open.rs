//! [`open_remote`]: from a URL to a ready, retrying remote.

use crate::{
    DirRemote, Error, Remote, RemoteUrl, Result, Retry, RetryOptions, S3Options, S3Remote,
};

/// Everything [`open_remote`] needs besides the URL.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// For `s3://` remotes.
    pub s3: S3Options,
    /// How transient failures are retried, for every kind of remote.
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

    /// Let waits and long transfers stop when `flag` is set (Ctrl-C): the pauses of [`Retry`]
    /// and S3 uploads between the slices of a request body.
    pub fn with_interrupt(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.s3.interrupt = Some(flag);
        self
    }
}

/// Open the remote at `url` (`s3://bucket[/prefix]`, `file:///path` or a directory path),
/// wrapped in [`Retry`]. No request is sent (except, for an AWS bucket whose region is neither
/// configured nor known, one HEAD that asks the bucket: see [`crate::s3::region`]): a missing
/// bucket or bad credentials show up on the first call. A missing directory is an error, so a mistyped path is reported instead of
/// becoming a new, empty remote: whoever means to start a remote creates its directory first.
pub fn open_remote(url: &str, opts: &RemoteOptions) -> Result<Box<dyn Remote>> {
    tracing::debug!(url, "opening the remote");
    let remote: Box<dyn Remote> = match RemoteUrl::parse(url)? {
        RemoteUrl::S3 { bucket, prefix } => Box::new(S3Remote::new(&bucket, &prefix, &opts.s3)?),
        RemoteUrl::Dir(path) => {
            if !path.exists() {
                let path = std::path::absolute(&path).unwrap_or(path);
                return Err(Error::NoRemoteDir { path });
            }
            Box::new(DirRemote::new(path)?)
        }
    };
    Ok(Box::new(
        Retry::new(remote, opts.retry.clone()).interruptible(opts.s3.interrupt.clone()),
    ))
}
