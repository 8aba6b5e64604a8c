//! [`S3Options`]: where the endpoint is and how to authenticate, from arguments or the
//! environment; the AWS configuration files fill in what they leave open (see
//! [`super::aws_config`]).

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
/// [`S3Remote::new`](super::S3Remote::new).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `http(s)://host[:port]` of an S3-compatible server (a remote's `--endpoint`, or
    /// `AWS_ENDPOINT_URL_S3`); it wins over every configured endpoint. With none configured
    /// anywhere, AWS. Custom endpoints use path-style addressing (`endpoint/bucket/key`), AWS
    /// virtual-host style.
    pub endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL`: below the profile's `[services]` S3 endpoint, above its
    /// `endpoint_url`, as botocore ranks them.
    pub global_endpoint: Option<String>,
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`: endpoints from the environment and the config
    /// file are ignored (`endpoint` given as an option is still used).
    pub ignore_configured_endpoints: bool,
    /// Signing region (a remote's `--region`, `AWS_REGION` or `AWS_DEFAULT_REGION`), else the
    /// profile's `region`, else, for AWS, the bucket's own (asked once, see
    /// [`super::region`]), else `us-east-1`.
    pub region: Option<String>,
    /// A region learned earlier for this bucket (kept with a named remote), used for AWS when
    /// nothing configures one, instead of asking the bucket again.
    pub known_region: Option<String>,
    /// The access key id (`AWS_ACCESS_KEY_ID`); with `secret_key`, it wins over every profile.
    pub access_key: Option<String>,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub secret_key: Option<String>,
    /// The session token of temporary keys (`AWS_SESSION_TOKEN`).
    pub session_token: Option<String>,
    /// The AWS profile (`AWS_PROFILE`, or a remote's `--profile`); default `default`.
    pub profile: Option<String>,
    /// The shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`); default
    /// `~/.aws/credentials`.
    pub credentials_file: Option<std::path::PathBuf>,
    /// The AWS config file (`AWS_CONFIG_FILE`); default `~/.aws/config`.
    pub config_file: Option<std::path::PathBuf>,
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
    /// Read `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_PROFILE`, `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`,
    /// and quilt's own limits: `QUILT_S3_CONNECT_TIMEOUT` and `QUILT_S3_READ_TIMEOUT` (seconds,
    /// fractions allowed) and `QUILT_MAX_MANIFEST_BYTES`. Empty or unparsable variables count
    /// as unset. The files themselves are read when a remote is opened.
    pub fn from_env() -> S3Options {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let secs = |name: &str| {
            var(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                .map(Duration::from_secs_f64)
        };
        let ignore = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        S3Options {
            endpoint: var("AWS_ENDPOINT_URL_S3").filter(|_| !ignore),
            global_endpoint: var("AWS_ENDPOINT_URL").filter(|_| !ignore),
            ignore_configured_endpoints: ignore,
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            known_region: None,
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
            profile: var("AWS_PROFILE"),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE").map(Into::into),
            config_file: var("AWS_CONFIG_FILE").map(Into::into),
            timeout: None,
            connect_timeout: secs("QUILT_S3_CONNECT_TIMEOUT"),
            read_timeout: secs("QUILT_S3_READ_TIMEOUT"),
            max_get_bytes: max_manifest_bytes_from_env(),
            interrupt: None,
        }
    }

    /// These options for a named AWS profile (a remote's `--profile`). As botocore does for a
    /// profile named explicitly, keys from the environment are then not used.
    pub fn with_profile(mut self, profile: &str) -> S3Options {
        self.profile = Some(profile.to_owned());
        self.access_key = None;
        self.secret_key = None;
        self.session_token = None;
        self
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
