//! The one error type of this crate, classified so callers know what to retry and what to tell.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed cause, for errors that come from a transport library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to a remote.
///
/// Variants name the remote (`url`, as returned by [`crate::Remote::describe`]) and, where there
/// is one, the key. Use [`Error::is_not_found`] and [`Error::is_transient`] rather than matching
/// on variants to decide what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key does not exist.
    #[error("{key} not found at {url}")]
    NotFound {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
    },

    /// The server did not accept the credentials (bad key id, bad secret, expired token).
    #[error(
        "the credentials were rejected by {url}: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY \
         or AWS_PROFILE ({code}: {message})"
    )]
    Auth {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The error code the server sent.
        code: String,
        /// The error message the server sent.
        message: String,
    },

    /// The credentials are valid but a policy forbids this request.
    #[error("access to {key} denied by policy at {url}")]
    AccessDenied {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
    },

    /// The bucket named in the remote URL does not exist.
    #[error("bucket {bucket} does not exist at {endpoint}")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint URL.
        endpoint: String,
    },

    /// No TCP connection could be made. Transient: the server may be starting.
    #[error(
        "could not connect to {endpoint} after {attempts} attempt{s}: is the server running / \
         is AWS_ENDPOINT_URL right?",
        s = if *.attempts == 1 { "" } else { "s" }
    )]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport's error.
        #[source]
        source: BoxError,
    },

    /// A failure worth retrying: 5xx, 408, 429, SlowDown, a timeout, a reset connection, a
    /// response cut short, or a fault injected by a test.
    #[error(
        "{op} {key} at {url} failed{after}: {detail}",
        after = if *.attempts > 1 { format!(" after {} attempts", .attempts) } else { String::new() }
    )]
    Transient {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// What went wrong, as far as it is known.
        detail: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport's error, if there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// No answer (`mid_answer` false: a silent server, not retried), or no further bytes of
    /// one (a stall, retried once, resuming where it stopped), within the read timeout.
    #[error(
        "{op} {key} at {url} timed out: {what} for {secs} s{after}; the server is stalled or \
         overloaded (QUILT_S3_READ_TIMEOUT sets the limit in seconds)",
        what = if *.mid_answer { "no further data" } else { "no answer" },
        secs = .after.as_secs_f64(),
        after = if *.attempts > 1 { format!(", {} attempts", .attempts) } else { String::new() }
    )]
    TimedOut {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// The read timeout that ran out.
        after: Duration,
        /// Whether part of the answer had arrived.
        mid_answer: bool,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The server asked us to slow down (503 SlowDown, 429), possibly saying when to come back.
    #[error(
        "{op} {key} at {url}: the server asked to slow down{after}: {detail}",
        after = if *.attempts > 1 { format!(" and still did after {} attempts", .attempts) } else { String::new() }
    )]
    Throttled {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// What went wrong, as far as it is known.
        detail: String,
        /// When the server said to come back, if it did.
        retry_after: Option<Duration>,
        /// How many attempts were made.
        attempts: u32,
    },

    /// An answer larger than the limit for its kind (or than the size it announced or was
    /// asked for): refused before it fills memory or disk.
    #[error("{op} {key} at {url}: the answer is larger than {limit} bytes{hint}")]
    TooLarge {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// The limit in bytes.
        limit: u64,
        /// How to raise the limit, if it can be raised.
        hint: &'static str,
    },

    /// The operation was interrupted (Ctrl-C) before it finished; what was complete is kept.
    #[error("interrupted")]
    Interrupted,

    /// The server refused the request for a reason retrying won't fix (e.g. a bad checksum).
    #[error("{op} {key} at {url}: the server answered {status} {code}: {message}")]
    Rejected {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// The HTTP status.
        status: u16,
        /// The error code the server sent.
        code: String,
        /// The error message the server sent.
        message: String,
    },

    /// The server's answer could not be understood.
    #[error("{op} {key} at {url}: unexpected response: {detail}")]
    Protocol {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The operation: `get`, `put`, `list`, ...
        op: &'static str,
        /// What went wrong, as far as it is known.
        detail: String,
    },

    /// A local file or directory could not be read or written.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done: `read`, `create`, ...
        what: &'static str,
        /// The local file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Writing to the caller's sink failed during [`crate::Remote::get_to`].
    #[error("writing {key} from {url} to the destination failed")]
    Sink {
        /// The remote, as [`crate::Remote::describe`] gives it.
        url: String,
        /// The key on the remote.
        key: String,
        /// The sink's error.
        #[source]
        source: std::io::Error,
    },

    /// The key is not a valid relative object name.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// An argument is inconsistent (e.g. part checksums that don't match the part count).
    #[error("invalid argument for {key}: {reason}")]
    InvalidArgument {
        /// The key the argument is for.
        key: String,
        /// What is wrong with the argument.
        reason: String,
    },

    /// The remote URL could not be parsed.
    #[error("invalid remote URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A directory remote does not exist and the caller did not ask for it to be created.
    #[error("remote directory {} does not exist (nothing was created there); check the path, or create the remote with `quilt remote add NAME PATH` or `--create-remote`", path.display())]
    NoRemoteDir {
        /// The directory that does not exist.
        path: PathBuf,
    },

    /// Configuration is missing or unusable (no credentials, a bad endpoint).
    #[error("{0}")]
    Config(String),

    /// The caller's `visit` callback of [`crate::Remote::list`] stopped the listing. Decorators
    /// use this to tell a callback error from a remote one; callers see their own error instead.
    #[error("listing stopped by the caller")]
    Aborted,
}

impl Error {
    /// The key (or bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Transient { .. }
                | Error::Unreachable { .. }
                | Error::TimedOut { .. }
                | Error::Throttled { .. }
        )
    }

    /// The server stopped answering (see [`Error::TimedOut`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::TimedOut { .. })
    }

    /// The server never answered at all: retrying it would only wait once more.
    pub fn is_silence(&self) -> bool {
        matches!(
            self,
            Error::TimedOut {
                mid_answer: false,
                ..
            }
        )
    }

    /// How long the server asked us to wait before the next attempt, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server rejected the credentials.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// A policy denied access to the key.
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Error::AccessDenied { .. })
    }

    /// The bucket does not exist.
    pub fn is_no_such_bucket(&self) -> bool {
        matches!(self, Error::NoSuchBucket { .. })
    }

    /// How many attempts were made, for errors that record it.
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Unreachable { attempts, .. }
            | Error::Transient { attempts, .. }
            | Error::TimedOut { attempts, .. }
            | Error::Throttled { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// Record that this error is the last of `n` attempts, so the message says so.
    pub(crate) fn with_attempts(mut self, n: u32) -> Self {
        if let Error::Unreachable { attempts, .. }
        | Error::Transient { attempts, .. }
        | Error::TimedOut { attempts, .. }
        | Error::Throttled { attempts, .. } = &mut self
        {
            *attempts = n;
        }
        self
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // Results of this type are returned by every call; keep the Err side a few words wide.
        assert!(
            std::mem::size_of::<Error>() <= 128,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn attempts_show_in_unreachable_message() {
        let e = Error::Unreachable {
            endpoint: "http://127.0.0.1:1".into(),
            attempts: 1,
            source: "refused".into(),
        }
        .with_attempts(3);
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "could not connect to http://127.0.0.1:1 after 3 attempts: is the server running / is \
             AWS_ENDPOINT_URL right?"
        );
    }
}
