//! [`S3Options`]: where the endpoint is and how to authenticate, from arguments or the
//! environment.

use std::time::Duration;

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
    /// Limit on one whole request, except object downloads and part uploads, which are bounded
    /// by attohttpc's 30 s connect and read timeouts instead. Default 60 s.
    pub timeout: Option<Duration>,
}

impl S3Options {
    /// Read `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_REGION` or `AWS_DEFAULT_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE`. Empty variables count as unset.
    pub fn from_env() -> S3Options {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        S3Options {
            endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
            profile: var("AWS_PROFILE"),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE").map(Into::into),
            timeout: None,
        }
    }
}
