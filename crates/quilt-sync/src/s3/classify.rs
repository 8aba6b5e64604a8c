//! Error classification: every failed S3 request becomes an [`Error`] that says whether to retry
//! (`is_transient`), what went wrong and where.

use std::time::Duration;

use s3::error::S3Error;

use super::xml::{truncate, xml_tag};
use super::{header, S3Remote};
use crate::Error;

/// Why a request failed, before it is given its context.
pub(super) enum Failure {
    /// Sending the request or reading the answer's head failed.
    Transport(attohttpc::Error),
    /// Reading the answer's body failed.
    Read(std::io::Error),
    /// The answer was longer than the limit for its kind.
    TooLarge(u64),
    /// Signing failed (a bad header name).
    Other(S3Error),
    /// The keys to sign with could not be had (a failing `credential_process`).
    Setup(Error),
}

impl From<attohttpc::Error> for Failure {
    fn from(e: attohttpc::Error) -> Self {
        Failure::Transport(e)
    }
}

impl S3Remote {
    pub(super) fn classify(&self, op: &'static str, key: &str, f: Failure) -> Error {
        // A request cut short by Ctrl-C (see request.rs) is not a transport failure.
        if self.interrupted() {
            return Error::Interrupted;
        }
        match f {
            Failure::Transport(e) => self.transport_error(op, key, e),
            Failure::Read(e) => self.io_error(op, key, e),
            Failure::TooLarge(limit) => Error::TooLarge {
                url: self.url.clone(),
                key: key.to_owned(),
                op,
                limit,
                hint: "",
            },
            Failure::Setup(e) => e,
            Failure::Other(e) => match e {
                S3Error::Credentials(_) | S3Error::Region(_) => {
                    Error::Config(format!("{op} {key} at {}: {e}", self.url))
                }
                other => Error::Protocol {
                    url: self.url.clone(),
                    key: key.to_owned(),
                    op,
                    detail: other.to_string(),
                },
            },
        }
    }

    /// The error for a non-2xx answer: redirects and throttling need its headers, everything
    /// else its body's error code.
    pub(super) fn status_error(
        &self,
        op: &'static str,
        key: &str,
        status: u16,
        headers: &attohttpc::header::HeaderMap,
        body: &str,
    ) -> Error {
        if (300..400).contains(&status) {
            if let Some(r) =
                super::region::region_from_header(header(headers, "x-amz-bucket-region").as_deref())
            {
                return Error::Config(format!(
                    "{op} {key} at {}: the bucket is in region {r}, not {}: set AWS_REGION={r}, \
                     `region = {r}` in the AWS profile, or `quilt remote set NAME --region {r}`",
                    self.url, self.region
                ));
            }
            let to = header(headers, "location").unwrap_or_else(|| "nowhere".into());
            return Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op,
                detail: format!(
                    "the server redirected the request (HTTP {status} to {}); S3 endpoints \
                     do not redirect correct requests: check AWS_ENDPOINT_URL and AWS_REGION",
                    truncate(&to, 200)
                ),
            };
        }
        let code = xml_tag(body, "Code").unwrap_or_default();
        if status == 503 || status == 429 || code == "SlowDown" {
            let message = xml_tag(body, "Message").unwrap_or_default();
            return Error::Throttled {
                url: self.url.clone(),
                key: key.to_owned(),
                op,
                detail: if code.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status} {code}: {message}")
                },
                retry_after: header(headers, "retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
                attempts: 1,
            };
        }
        self.http_error(op, key, status, body)
    }

    pub(super) fn http_error(&self, op: &'static str, key: &str, status: u16, body: &str) -> Error {
        let code = xml_tag(body, "Code").unwrap_or_default();
        let message = xml_tag(body, "Message").unwrap_or_default();
        let url = self.url.clone();
        let key = key.to_owned();
        match (status, code.as_str()) {
            (_, "NoSuchBucket") => Error::NoSuchBucket {
                bucket: self.name.clone(),
                endpoint: self.endpoint.clone(),
            },
            (404, "NoSuchKey" | "NoSuchVersion") | (404, "") => Error::NotFound { url, key },
            (
                _,
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "InvalidToken"
                | "ExpiredToken"
                | "TokenRefreshRequired"
                | "AuthorizationHeaderMalformed"
                | "InvalidSecurity",
            ) => Error::Auth { url, code, message },
            (403, "AccessDenied") | (403, "") => Error::AccessDenied { url, key },
            (408 | 429 | 500 | 502 | 503 | 504, _)
            | (
                _,
                "SlowDown"
                | "InternalError"
                | "ServiceUnavailable"
                | "RequestTimeout"
                | "RequestTimeTooSkewed",
            ) => Error::Transient {
                url,
                key,
                op,
                detail: if code.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status} {code}: {message}")
                },
                attempts: 1,
                source: None,
            },
            _ => Error::Rejected {
                url,
                key,
                op,
                status,
                code: if code.is_empty() { "-".into() } else { code },
                message: if message.is_empty() {
                    truncate(body, 200)
                } else {
                    message
                },
            },
        }
    }

    pub(super) fn transport_error(
        &self,
        op: &'static str,
        key: &str,
        e: attohttpc::Error,
    ) -> Error {
        use attohttpc::ErrorKind as K;
        use std::io::ErrorKind as Io;
        let transient = |e: attohttpc::Error| Error::Transient {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            detail: e.to_string(),
            attempts: 1,
            source: Some(Box::new(e)),
        };
        match e.kind() {
            K::Io(io) => match io.kind() {
                Io::ConnectionRefused
                | Io::NotConnected
                | Io::AddrNotAvailable
                | Io::HostUnreachable
                | Io::NetworkUnreachable => Error::Unreachable {
                    endpoint: self.endpoint.clone(),
                    attempts: 1,
                    source: Box::new(e),
                },
                // Name resolution failures surface as uncategorized I/O errors.
                _ if io.to_string().contains("lookup") => Error::Unreachable {
                    endpoint: self.endpoint.clone(),
                    attempts: 1,
                    source: Box::new(e),
                },
                Io::WouldBlock | Io::TimedOut => Error::TimedOut {
                    url: self.url.clone(),
                    key: key.to_owned(),
                    op,
                    after: self.limits.read_timeout,
                    mid_answer: false,
                    attempts: 1,
                },
                _ => transient(e),
            },
            K::TooManyRedirections => Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op,
                detail: "redirected in a loop: check AWS_ENDPOINT_URL and AWS_REGION".into(),
            },
            K::InvalidResponse(_) => transient(e),
            _ => Error::Config(format!("{op} {key} at {}: {e}", self.url)),
        }
    }

    pub(super) fn io_error(&self, op: &'static str, key: &str, e: std::io::Error) -> Error {
        use std::io::ErrorKind as Io;
        // A socket read timeout: the server stopped sending (or never started).
        if matches!(e.kind(), Io::WouldBlock | Io::TimedOut) {
            return Error::TimedOut {
                url: self.url.clone(),
                key: key.to_owned(),
                op,
                after: self.limits.read_timeout,
                mid_answer: true,
                attempts: 1,
            };
        }
        Error::Transient {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            detail: e.to_string(),
            attempts: 1,
            source: Some(Box::new(e)),
        }
    }

    pub(super) fn short_read(&self, op: &'static str, key: &str, got: u64, want: u64) -> Error {
        Error::Transient {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            detail: format!("response cut short: {got} of {want} bytes"),
            attempts: 1,
            source: None,
        }
    }
}
