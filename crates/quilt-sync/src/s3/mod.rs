//! The S3 backend: every request signed by [`sigv4`] and sent with attohttpc on the calling
//! thread (no async runtime to start, hide or shut down; parallelism comes from the caller's
//! threads). rust-s3 is used for addressing (endpoint, path or virtual-host style) only;
//! endpoint, region and credentials come from [`S3Options`] and the AWS configuration files
//! ([`aws_config`]), and the region of an AWS bucket, when nothing configures it, from the
//! bucket itself ([`region`]).
//!
//! Sending requests ourselves bounds what a broken or hostile server can do: connect and read
//! timeouts on every request (the read timeout is the stall detector), no redirects followed,
//! answers that are not object data read with a size limit, object data streamed and never
//! accepted beyond the size announced or asked for, listings parsed by [`listing`] into a clear
//! error when they are not S3 XML. Retrying is the job of [`crate::Retry`], which sees every
//! request and classifies failures the same way for all backends.

pub mod aws_config;
mod classify;
mod credentials;
pub mod listing;
mod multipart;
pub mod object;
mod options;
pub mod region;
mod remote;
mod request;
pub mod sigv4;
mod xml;

pub use credentials::{parse_process_output, parse_rfc3339, Keys as CredentialKeys};
pub use multipart::composite_checksum;
pub use options::{
    S3Options, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_GET_BYTES, DEFAULT_READ_TIMEOUT,
};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use s3::error::S3Error;
use s3::{Bucket, Region};

use crate::remote::check_key;
use crate::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A [`Remote`](crate::Remote) in an S3 bucket, below an optional prefix.
pub struct S3Remote {
    /// Addressing.
    bucket: Box<Bucket>,
    credentials: credentials::Provider,
    limits: options::Limits,
    interrupt: Option<Arc<AtomicBool>>,
    name: String,
    prefix: String,
    endpoint: String,
    region: String,
    url: String,
    requests: AtomicU64,
}

impl std::fmt::Debug for S3Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Remote")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Remote {
    /// A remote for `s3://bucket/prefix`. `prefix` is empty or ends with `/`.
    ///
    /// Endpoint, region and credentials: `opts` (see [`S3Options::from_env`] for the
    /// environment), then the AWS config and credentials files, as [`aws_config`] describes.
    /// No request is sent, except, for an AWS bucket whose region nothing configures or
    /// remembers, one anonymous HEAD on the bucket to learn it ([`region`]).
    pub fn new(bucket: &str, prefix: &str, opts: &S3Options) -> Result<S3Remote> {
        if !prefix.is_empty() && !prefix.ends_with('/') {
            return Err(Error::Config(format!(
                "S3 prefix {prefix:?} must be empty or end with '/'"
            )));
        }
        let resolved = aws_config::resolve(opts)?;
        let limits = options::Limits::new(opts);
        let (endpoint, path_style, region_name) = match &resolved.endpoint {
            Some(e) => {
                let e = e.trim_end_matches('/').to_owned();
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(Error::Config(format!(
                        "S3 endpoint {e:?} must start with http:// or https://"
                    )));
                }
                // A custom server's region is whatever it was set up with; servers that check
                // it (Garage) need it configured.
                let region = resolved
                    .region
                    .clone()
                    .unwrap_or_else(|| region::DEFAULT_REGION.into());
                (e, true, region)
            }
            None => {
                let region = match (&resolved.region, &opts.known_region) {
                    (Some(r), _) | (None, Some(r)) => r.clone(),
                    (None, None) => region::bucket_region(bucket, &limits)?,
                };
                (format!("https://s3.{region}.amazonaws.com"), false, region)
            }
        };
        let region = Region::Custom {
            region: region_name.clone(),
            endpoint: endpoint.clone(),
        };
        let config_err = |e: S3Error| Error::Config(format!("S3 client for {endpoint}: {e}"));
        // Requests are signed with our own keys (see request.rs); rust-s3 only addresses.
        let anonymous = s3::creds::Credentials::anonymous().map_err(|e| config_err(e.into()))?;
        let mut b = Bucket::new(bucket, region, anonymous).map_err(config_err)?;
        if path_style {
            b = b.with_path_style();
        }
        Ok(S3Remote {
            bucket: b,
            credentials: credentials::Provider::new(resolved.credentials),
            limits,
            interrupt: opts.interrupt.clone(),
            name: bucket.to_owned(),
            prefix: prefix.to_owned(),
            url: format!("s3://{bucket}/{prefix}"),
            endpoint,
            region: region_name,
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far (a paginated `list` sends several).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Create the bucket (no location constraint is sent, so the endpoint's default region
    /// applies). Succeeds if it exists already and is ours.
    pub fn create_bucket(&self) -> Result<()> {
        let resp = self
            .send(&request::Call::new("PUT", None))
            .map_err(|f| self.classify("create bucket", "", f))?;
        match resp.status {
            200..=299 => Ok(()),
            409 if String::from_utf8_lossy(&resp.body).contains("BucketAlreadyOwnedByYou") => {
                Ok(())
            }
            status => Err(self.http_error(
                "create bucket",
                "",
                status,
                &String::from_utf8_lossy(&resp.body),
            )),
        }
    }

    /// The object path (prefix included, no leading slash) of a checked key.
    fn full_key(&self, key: &str) -> Result<String> {
        check_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

fn header(headers: &attohttpc::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_owned()
}

/// `x-amz-version-id` of an answer; S3's `null` (a write to a bucket whose versioning is
/// suspended) and an absent header both mean the object has no version of its own.
fn version_id(headers: &attohttpc::header::HeaderMap) -> Option<String> {
    header(headers, "x-amz-version-id").filter(|v| !v.is_empty() && v != "null")
}
