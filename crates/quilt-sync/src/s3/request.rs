//! Every S3 request: signed by [`super::sigv4`] and sent with attohttpc, with connect and read
//! timeouts, no redirects followed, and answers read with a size limit or streamed.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use s3::error::S3Error;

use super::classify::Failure;
use super::{sigv4, S3Remote};
use crate::{Error, Result};

/// SHA-256 of the empty body, for requests without one.
pub(super) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The most read of an answer that is not object data (XML, error bodies): a listing page of
/// 1000 keys is well under 1 MiB.
const SMALL_ANSWER_MAX: u64 = 16 << 20;

/// A request to send.
pub(super) struct Call<'a> {
    pub method: &'a str,
    /// The object path without the leading slash (prefix included); `None` addresses the
    /// bucket itself.
    pub key_path: Option<&'a str>,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// Hex SHA-256 of `body`, or [`sigv4::UNSIGNED_PAYLOAD`].
    pub payload_hash: &'a str,
}

impl<'a> Call<'a> {
    /// A bodiless request.
    pub fn new(method: &'a str, key_path: Option<&'a str>) -> Self {
        Call {
            method,
            key_path,
            query: &[],
            headers: &[],
            body: &[],
            payload_hash: EMPTY_SHA256,
        }
    }
}

/// A request body sent in slices, checking for Ctrl-C between them, so an upload of a large
/// part stops within moments instead of after the whole part.
struct Interruptible<'a> {
    data: &'a [u8],
    flag: Option<&'a AtomicBool>,
}

impl attohttpc::body::Body for Interruptible<'_> {
    fn kind(&mut self) -> std::io::Result<attohttpc::body::BodyKind> {
        Ok(attohttpc::body::BodyKind::KnownLength(
            self.data.len() as u64
        ))
    }

    fn write<W: Write>(&mut self, mut writer: W) -> std::io::Result<()> {
        for slice in self.data.chunks(256 << 10) {
            if self.flag.is_some_and(|f| f.load(Ordering::Relaxed)) {
                return Err(std::io::Error::other("interrupted"));
            }
            writer.write_all(slice)?;
        }
        Ok(())
    }
}

pub(super) struct RawResponse {
    pub(super) status: u16,
    pub(super) headers: attohttpc::header::HeaderMap,
    pub(super) body: Vec<u8>,
}

/// An answer whose body is still on the wire.
pub(super) struct Streaming {
    pub status: u16,
    pub headers: attohttpc::header::HeaderMap,
    pub body: attohttpc::ResponseReader,
}

impl S3Remote {
    /// Sends `call` and returns the answer with its body unread. `whole_request_limit` also
    /// bounds the whole exchange (for requests whose answers are small); the connect and read
    /// timeouts always apply.
    pub(super) fn open(
        &self,
        call: &Call<'_>,
        whole_request_limit: bool,
    ) -> std::result::Result<Streaming, Failure> {
        self.count();
        let mut url = self.bucket.url();
        if let Some(p) = call.key_path {
            url.push('/');
            url.push_str(&sigv4::uri_encode(p, false));
        }
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        let path = match url[after_scheme..].find('/') {
            Some(i) => url[after_scheme + i..].to_owned(),
            None => "/".to_owned(),
        };
        let host = self.bucket.host();
        let creds = self.credentials.keys().map_err(Failure::Setup)?;
        let signer = sigv4::Signer {
            access_key: &creds.access_key,
            secret_key: &creds.secret_key,
            session_token: creds.session_token.as_deref(),
            region: &self.region,
        };
        let signed = signer.sign(
            &sigv4::Request {
                method: call.method,
                host: &host,
                path: &path,
                query: call.query,
                headers: call.headers,
                payload_hash: call.payload_hash,
            },
            SystemTime::now(),
        );
        if !call.query.is_empty() {
            url.push('?');
            url.push_str(&sigv4::query_string(call.query));
        }
        let mut session = attohttpc::Session::new();
        session.connect_timeout(self.limits.connect_timeout);
        session.read_timeout(self.limits.read_timeout);
        if whole_request_limit {
            session.timeout(self.limits.request_timeout);
        }
        // S3 never redirects a correctly addressed request; a redirect means a wrong endpoint
        // or region, and following it would only loop or re-sign for the wrong host.
        session.follow_redirects(false);
        for (k, v) in &signed {
            session.header(
                attohttpc::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|e| Failure::Other(S3Error::AttoHeaderName(e)))?,
                v.as_str(),
            );
        }
        let builder = match call.method {
            "PUT" => session.put(&url),
            "POST" => session.post(&url),
            "HEAD" => session.head(&url),
            "DELETE" => session.delete(&url),
            _ => session.get(&url),
        };
        let body = Interruptible {
            data: call.body,
            flag: self.interrupt.as_deref(),
        };
        let resp = builder.body(body).send()?;
        let (status, headers, body) = resp.split();
        Ok(Streaming {
            status: status.as_u16(),
            headers,
            body,
        })
    }

    /// Sends `call` and reads the whole (small) answer.
    pub(super) fn send(&self, call: &Call<'_>) -> std::result::Result<RawResponse, Failure> {
        let resp = self.open(call, true)?;
        let mut body = Vec::new();
        if call.method != "HEAD" {
            let mut limited = resp.body.take(SMALL_ANSWER_MAX + 1);
            limited.read_to_end(&mut body).map_err(Failure::Read)?;
            if body.len() as u64 > SMALL_ANSWER_MAX {
                return Err(Failure::TooLarge(SMALL_ANSWER_MAX));
            }
        }
        Ok(RawResponse {
            status: resp.status,
            headers: resp.headers,
            body,
        })
    }

    /// Send one signed request and read its answer (kept for the callers that pass the parts
    /// one by one).
    pub(super) fn raw(
        &self,
        method: &str,
        key_path: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: &[u8],
        payload_hash: &str,
    ) -> std::result::Result<RawResponse, Failure> {
        self.send(&Call {
            method,
            key_path,
            query,
            headers,
            body,
            payload_hash,
        })
    }

    pub(super) fn raw_ok(
        &self,
        op: &'static str,
        key: &str,
        resp: std::result::Result<RawResponse, Failure>,
    ) -> Result<RawResponse> {
        let resp = resp.map_err(|f| self.classify(op, key, f))?;
        let body = String::from_utf8_lossy(&resp.body);
        // S3 may answer 200 and still report an error in the body (CompleteMultipartUpload).
        if !(200..300).contains(&resp.status) || body.contains("<Error>") {
            let status = if resp.status < 300 { 500 } else { resp.status };
            return Err(self.status_error(op, key, status, &resp.headers, &body));
        }
        Ok(resp)
    }

    /// The error for a non-2xx answer whose body is still on the wire: the body is read (up
    /// to a limit) for the error code.
    pub(super) fn failed(&self, op: &'static str, key: &str, resp: Streaming) -> Error {
        let mut body = Vec::new();
        if let Err(e) = resp.body.take(64 << 10).read_to_end(&mut body) {
            tracing::debug!(op, key, "reading the error body failed: {e}");
        }
        self.status_error(
            op,
            key,
            resp.status,
            &resp.headers,
            &String::from_utf8_lossy(&body),
        )
    }
}
