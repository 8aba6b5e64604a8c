//! The S3 backend, on rust-s3's blocking (`sync`) client.
//!
//! rust-s3's `sync` feature runs each request on the calling thread over attohttpc: no async
//! runtime to start, hide or shut down, and parallelism comes from the caller's threads (rayon).
//! The requests rust-s3 cannot shape (multipart uploads with SHA-256 checksums, HEAD with
//! `x-amz-checksum-mode`, bucket creation without a location constraint) are signed by
//! [`sigv4`] and sent with attohttpc directly.
//!
//! rust-s3's own retry loop is switched off (`s3::set_retries(0)`, process-wide): retrying is the
//! job of [`crate::Retry`], which sees every request and classifies failures the same way for all
//! backends.

mod classify;
mod credentials;
mod multipart;
mod options;
mod remote;
mod request;
pub mod sigv4;
mod xml;

pub use multipart::composite_checksum;
pub use options::S3Options;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use s3::error::S3Error;
use s3::{Bucket, Region};

use crate::remote::check_key;
use crate::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A [`Remote`] in an S3 bucket, below an optional prefix.
pub struct S3Remote {
    /// For small requests, with the whole-request timeout.
    bucket: Box<Bucket>,
    /// For downloads, which may take longer than any fixed limit.
    stream_bucket: Box<Bucket>,
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
    /// Credentials: `opts.access_key`/`secret_key`(/`session_token`) when set (see
    /// [`S3Options::from_env`] for the environment), else the `[profile]` section (`opts.profile`,
    /// default `default`) of `opts.credentials_file` (default `~/.aws/credentials`).
    pub fn new(bucket: &str, prefix: &str, opts: &S3Options) -> Result<S3Remote> {
        // Retries belong to crate::Retry; see the module docs.
        s3::set_retries(0);
        if !prefix.is_empty() && !prefix.ends_with('/') {
            return Err(Error::Config(format!(
                "S3 prefix {prefix:?} must be empty or end with '/'"
            )));
        }
        let region_name = opts.region.clone().unwrap_or_else(|| "us-east-1".into());
        let (endpoint, path_style) = match &opts.endpoint {
            Some(e) => {
                let e = e.trim_end_matches('/').to_owned();
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(Error::Config(format!(
                        "S3 endpoint {e:?} must start with http:// or https://"
                    )));
                }
                (e, true)
            }
            None => (format!("https://s3.{region_name}.amazonaws.com"), false),
        };
        let credentials = credentials::credentials(opts)?;
        let region = Region::Custom {
            region: region_name.clone(),
            endpoint: endpoint.clone(),
        };
        let config_err = |e: S3Error| Error::Config(format!("S3 client for {endpoint}: {e}"));
        let mut b = Bucket::new(bucket, region, credentials).map_err(config_err)?;
        if path_style {
            b = b.with_path_style();
        }
        let mut stream_bucket = b.clone();
        stream_bucket.request_timeout = None;
        let bucket_handle = b
            .with_request_timeout(opts.timeout.unwrap_or(Duration::from_secs(60)))
            .map_err(config_err)?;
        Ok(S3Remote {
            bucket: bucket_handle,
            stream_bucket,
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

    /// Create the bucket (no location constraint is sent, so the endpoint's default region
    /// applies). Succeeds if it exists already and is ours.
    pub fn create_bucket(&self) -> Result<()> {
        let resp = self
            .raw("PUT", None, &[], &[], &[], sigv4::UNSIGNED_PAYLOAD)
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

    fn path(&self, key: &str) -> Result<String> {
        check_key(key)?;
        Ok(format!("/{}{}", self.prefix, key))
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
