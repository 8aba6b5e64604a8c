//! [`S3Options`]: where the endpoint is and how to authenticate, from arguments or the
//! environment.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Default for [`S3Options::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`S3Options::read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`S3Options::max_get_bytes`]: far above any pointer and above the manifest of a
/// few million files.
pub const DEFAULT_MAX_GET_BYTES: u64 = 2 << 30;

/// How to reach and authenticate to an S3 endpoint. Unset fields fall back as documented on
/// [`S3Remote::new`].
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `http(s)://host[:port]` of an S3-compatible server; `None` means AWS. Custom endpoints
    /// use path-style addressing (`endpoint/bucket/key`), AWS virtual-host style.
    pub endpoint: Option<String>,
    /// Signing region; default `us-east-1`.
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// Section of the shared credentials file used when no keys are given; default `default`.
    pub profile: Option<String>,
    /// The shared credentials file; default `~/.aws/credentials`.
    pub credentials_file: Option<std::path::PathBuf>,
    /// Limit on one whole request whose answer is small (HEAD, PUT, DELETE, listings, the
    /// multipart calls). Downloads are bounded by the read timeout instead. Default 60 s.
    pub timeout: Option<Duration>,
    /// Limit on opening a TCP connection. Default [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Option<Duration>,
    /// The stall detector: a request fails as timed out when the server sends nothing for this
    /// long (no answer, or no further bytes of one). Default [`DEFAULT_READ_TIMEOUT`].
    pub read_timeout: Option<Duration>,
    /// Largest answer [`crate::Remote::get`] accepts (manifests and pointers are read whole).
    /// Default [`DEFAULT_MAX_GET_BYTES`].
    pub max_get_bytes: Option<u64>,
    /// Set on Ctrl-C: a multipart upload stops before its next part and is aborted.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl S3Options {
    /// Read `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_REGION` or `AWS_DEFAULT_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE`, and quilt's own limits: `QUILT_S3_CONNECT_TIMEOUT` and
    /// `QUILT_S3_READ_TIMEOUT` (seconds, fractions allowed) and `QUILT_MAX_MANIFEST_BYTES`. Empty
    /// or unparsable variables count as unset.
    pub fn from_env() -> S3Options {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let secs = |name: &str| {
            var(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                .map(Duration::from_secs_f64)
        };
        S3Options {
            endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
            profile: var("AWS_PROFILE"),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE").map(Into::into),
            timeout: None,
            connect_timeout: secs("QUILT_S3_CONNECT_TIMEOUT"),
            read_timeout: secs("QUILT_S3_READ_TIMEOUT"),
            max_get_bytes: max_manifest_bytes_from_env(),
            interrupt: None,
        }
    }
}

/// `QUILT_MAX_MANIFEST_BYTES`, when set to a positive whole number.
pub fn max_manifest_bytes_from_env() -> Option<u64> {
    std::env::var("QUILT_MAX_MANIFEST_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
}

/// The limits an [`super::S3Remote`] works with, defaults filled in.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_get_bytes: u64,
}

impl Limits {
    pub fn new(opts: &S3Options) -> Limits {
        Limits {
            request_timeout: opts.timeout.unwrap_or(Duration::from_secs(60)),
            connect_timeout: opts.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            read_timeout: opts.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT),
            max_get_bytes: opts.max_get_bytes.unwrap_or(DEFAULT_MAX_GET_BYTES),
        }
    }
}
