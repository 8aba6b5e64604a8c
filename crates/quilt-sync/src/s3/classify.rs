//! Error classification: every failed S3 request becomes an [`Error`] that says whether to retry
//! (`is_transient`), what went wrong and where.

use s3::error::S3Error;

use super::xml::{truncate, xml_tag};
use super::S3Remote;
use crate::{Error, Result};

/// Why a request failed, before it is given its context.
pub(super) enum Failure {
    Http { status: u16, body: String },
    Transport(attohttpc::Error),
    Other(S3Error),
}

impl From<S3Error> for Failure {
    fn from(e: S3Error) -> Self {
        match e {
            S3Error::HttpFailWithBody(status, body) => Failure::Http { status, body },
            S3Error::Atto(e) => Failure::Transport(e),
            other => Failure::Other(other),
        }
    }
}

impl From<attohttpc::Error> for Failure {
    fn from(e: attohttpc::Error) -> Self {
        Failure::Transport(e)
    }
}

impl S3Remote {
    pub(super) fn classify(&self, op: &'static str, key: &str, f: Failure) -> Error {
        match f {
            Failure::Http { status, body } => self.http_error(op, key, status, &body),
            Failure::Transport(e) => self.transport_error(op, key, e),
            Failure::Other(e) => match e {
                S3Error::Io(io) => self.io_error(op, key, io),
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
            (404, "NoSuchKey") | (404, "") => Error::NotFound { url, key },
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
                _ => transient(e),
            },
            K::InvalidResponse(_) => transient(e),
            _ => Error::Config(format!("{op} {key} at {}: {e}", self.url)),
        }
    }

    pub(super) fn io_error(&self, op: &'static str, key: &str, e: std::io::Error) -> Error {
        Error::Transient {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            detail: e.to_string(),
            attempts: 1,
            source: Some(Box::new(e)),
        }
    }

    /// The body of a GET, refusing one shorter or longer than the `content-length` the server
    /// announced (a connection cut mid-body reads as a short, successful response).
    pub(super) fn checked_body(
        &self,
        op: &'static str,
        key: &str,
        resp: s3::request::ResponseData,
    ) -> Result<Vec<u8>> {
        let want = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let data = resp.to_vec();
        match want {
            Some(w) if w != data.len() as u64 => {
                Err(self.short_read(op, key, data.len() as u64, w))
            }
            _ => Ok(data),
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
