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

pub mod sigv4;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::request::blocking::AttoRequest;
use s3::request::Request as _;
use s3::{Bucket, Region};
use sha2::{Digest, Sha256};

use crate::remote::check_key;
use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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

/// Why a request failed, before it is given its context.
enum Failure {
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

struct RawResponse {
    status: u16,
    headers: attohttpc::header::HeaderMap,
    body: Vec<u8>,
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
        let credentials = credentials(opts)?;
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

    // ---- classification --------------------------------------------------------------------

    fn classify(&self, op: &'static str, key: &str, f: Failure) -> Error {
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

    fn http_error(&self, op: &'static str, key: &str, status: u16, body: &str) -> Error {
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

    fn transport_error(&self, op: &'static str, key: &str, e: attohttpc::Error) -> Error {
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

    fn io_error(&self, op: &'static str, key: &str, e: std::io::Error) -> Error {
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
    fn checked_body(
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

    fn short_read(&self, op: &'static str, key: &str, got: u64, want: u64) -> Error {
        Error::Transient {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            detail: format!("response cut short: {got} of {want} bytes"),
            attempts: 1,
            source: None,
        }
    }

    // ---- requests rust-s3 cannot shape ---------------------------------------------------------

    /// Send one signed request. `key_path` is the object path without the leading slash (prefix
    /// included); `None` addresses the bucket itself.
    fn raw(
        &self,
        method: &str,
        key_path: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: &[u8],
        payload_hash: &str,
    ) -> std::result::Result<RawResponse, Failure> {
        self.count();
        let base = self.bucket.url();
        let mut url = base.clone();
        if let Some(p) = key_path {
            url.push('/');
            url.push_str(&sigv4::uri_encode(p, false));
        }
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        let path = match url[after_scheme..].find('/') {
            Some(i) => url[after_scheme + i..].to_owned(),
            None => "/".to_owned(),
        };
        let host = self.bucket.host();
        let creds = self.bucket.credentials().map_err(Failure::Other)?;
        let (Some(access_key), Some(secret_key)) = (&creds.access_key, &creds.secret_key) else {
            return Err(Failure::Other(S3Error::Credentials(
                s3::creds::error::CredentialsError::NoCredentials,
            )));
        };
        let signer = sigv4::Signer {
            access_key,
            secret_key,
            session_token: creds
                .session_token
                .as_deref()
                .or(creds.security_token.as_deref()),
            region: &self.region,
        };
        let signed = signer.sign(
            &sigv4::Request {
                method,
                host: &host,
                path: &path,
                query,
                headers,
                payload_hash,
            },
            SystemTime::now(),
        );
        if !query.is_empty() {
            url.push('?');
            url.push_str(&sigv4::query_string(query));
        }
        let mut session = attohttpc::Session::new();
        for (k, v) in &signed {
            session.header(
                attohttpc::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|e| Failure::Other(S3Error::AttoHeaderName(e)))?,
                v.as_str(),
            );
        }
        let builder = match method {
            "PUT" => session.put(&url),
            "POST" => session.post(&url),
            "HEAD" => session.head(&url),
            "DELETE" => session.delete(&url),
            _ => session.get(&url),
        };
        let resp = builder.bytes(body).send()?;
        let (status, headers, mut reader) = resp.split();
        let mut body = Vec::new();
        if method != "HEAD" {
            reader
                .read_to_end(&mut body)
                .map_err(attohttpc::Error::from)?;
        }
        Ok(RawResponse {
            status: status.as_u16(),
            headers,
            body,
        })
    }

    fn raw_ok(
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
            return Err(self.http_error(op, key, status, &body));
        }
        Ok(resp)
    }

    fn multipart(
        &self,
        key: &str,
        file: &mut File,
        size: u64,
        part_size: u64,
        given: Option<&[[u8; 32]]>,
    ) -> Result<()> {
        let full = format!("{}{key}", self.prefix);
        let resp = self.raw(
            "POST",
            Some(&full),
            &[("uploads", "")],
            &[("x-amz-checksum-algorithm", "SHA256")],
            &[],
            sigv4::UNSIGNED_PAYLOAD,
        );
        let resp = self.raw_ok("create multipart upload", key, resp)?;
        let body = String::from_utf8_lossy(&resp.body);
        let upload_id = xml_tag(&body, "UploadId").ok_or_else(|| Error::Protocol {
            url: self.url.clone(),
            key: key.to_owned(),
            op: "create multipart upload",
            detail: format!("no UploadId in {}", truncate(&body, 200)),
        })?;
        let result = self.upload_parts(key, &full, &upload_id, file, size, part_size, given);
        if result.is_err() {
            // Best effort: a failed abort leaves an incomplete upload for the bucket's lifecycle
            // rules to collect, and the original error is the one worth reporting.
            self.count();
            if let Err(e) = self.bucket.abort_upload(&format!("/{full}"), &upload_id) {
                tracing::warn!(key, upload_id, "aborting multipart upload failed: {e}");
            }
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn upload_parts(
        &self,
        key: &str,
        full: &str,
        upload_id: &str,
        file: &mut File,
        size: u64,
        part_size: u64,
        given: Option<&[[u8; 32]]>,
    ) -> Result<()> {
        let n_parts = size.div_ceil(part_size);
        let mut buf = vec![0u8; part_size as usize];
        let mut digests = Vec::with_capacity(n_parts as usize);
        let mut xml = String::from("<CompleteMultipartUpload>");
        for i in 0..n_parts {
            let len = part_size.min(size - i * part_size) as usize;
            file.read_exact(&mut buf[..len])
                .map_err(|e| Error::io("reading", format!("part {} of {key}", i + 1), e))?;
            let part = &buf[..len];
            let digest: [u8; 32] = match given {
                Some(d) => d[i as usize],
                None => Sha256::digest(part).into(),
            };
            digests.push(digest);
            let checksum = B64.encode(digest);
            let number = (i + 1).to_string();
            let resp = self.raw(
                "PUT",
                Some(full),
                &[("partNumber", &number), ("uploadId", upload_id)],
                &[("x-amz-checksum-sha256", &checksum)],
                part,
                sigv4::UNSIGNED_PAYLOAD,
            );
            let resp = self.raw_ok("upload part", key, resp)?;
            let etag = header(&resp.headers, "etag").ok_or_else(|| Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "upload part",
                detail: "no ETag in the answer".into(),
            })?;
            xml.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag>\
                 <ChecksumSHA256>{checksum}</ChecksumSHA256></Part>",
                xml_escape(&etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let hash = hex::encode(Sha256::digest(xml.as_bytes()));
        let resp = self.raw(
            "POST",
            Some(full),
            &[("uploadId", upload_id)],
            &[("content-type", "application/xml")],
            xml.as_bytes(),
            &hash,
        );
        let resp = self.raw_ok("complete multipart upload", key, resp)?;
        // Where the server reports the composite checksum, it must be SHA-256 over the part
        // digests we sent: a mismatch means it assembled something else.
        let body = String::from_utf8_lossy(&resp.body);
        if let Some(got) = xml_tag(&body, "ChecksumSHA256") {
            let want = composite_checksum(&digests);
            if got != want {
                return Err(Error::Protocol {
                    url: self.url.clone(),
                    key: key.to_owned(),
                    op: "complete multipart upload",
                    detail: format!("server's checksum {got} differs from the parts' {want}"),
                });
            }
        }
        Ok(())
    }

    fn put_with(&self, key: &str, data: &[u8], cond: &Condition) -> Result<String> {
        let path = self.path(key)?;
        let mut req = self.bucket.put_object_builder(&path, data);
        let header = match cond {
            Condition::IfAbsent => Some(("If-None-Match", "*".to_owned())),
            Condition::IfMatch(etag) => Some(("If-Match", format!("\"{etag}\""))),
            Condition::Unconditional => None,
        };
        if let Some((name, value)) = header {
            req = req
                .with_header(name, value)
                .map_err(|e| self.classify("put", key, e.into()))?;
        }
        self.count();
        let resp = req
            .execute()
            .map_err(|e| self.classify("put", key, e.into()))?;
        Ok(unquote(resp.as_str().unwrap_or_default()))
    }
}

/// The server's answer to a HEAD carries no body, so 403 and 400 say nothing about why.
fn head_needs_explaining(status: u16) -> bool {
    status != 404 && (400..500).contains(&status)
}

impl Remote for S3Remote {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        let full = format!("{}{prefix}", self.prefix);
        let mut token = None;
        loop {
            self.count();
            let (page, _) = self
                .bucket
                .list_page(full.clone(), None, token.take(), None, Some(1000))
                .map_err(|e| self.classify("list", prefix, e.into()))?;
            for obj in page.contents {
                let Some(key) = obj.key.strip_prefix(&self.prefix) else {
                    continue;
                };
                visit(ListEntry {
                    key: key.to_owned(),
                    size: obj.size,
                })?;
            }
            match page.next_continuation_token {
                Some(t) if page.is_truncated => token = Some(t),
                _ => return Ok(()),
            }
        }
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        check_key(key)?;
        let full = format!("{}{key}", self.prefix);
        let resp = self
            .raw(
                "HEAD",
                Some(&full),
                &[],
                &[("x-amz-checksum-mode", "ENABLED")],
                &[],
                sigv4::UNSIGNED_PAYLOAD,
            )
            .map_err(|f| self.classify("head", key, f))?;
        match resp.status {
            200..=299 => {}
            404 => return Ok(None),
            s if head_needs_explaining(s) => {
                // Ask again with a body-bearing request to learn the error code (auth vs policy
                // vs missing bucket).
                return match self.get_range(key, 0, 1) {
                    Err(e) => Err(e),
                    Ok(_) => Err(self.http_error("head", key, s, "")),
                };
            }
            s => return Err(self.http_error("head", key, s, "")),
        }
        let size = header(&resp.headers, "content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "head",
                detail: "no Content-Length".into(),
            })?;
        Ok(Some(ObjectMeta {
            size,
            etag: header(&resp.headers, "etag")
                .map(|e| unquote(&e))
                .unwrap_or_default(),
            checksum_sha256: header(&resp.headers, "x-amz-checksum-sha256"),
        }))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        self.count();
        let resp = self
            .stream_bucket
            .get_object(&path)
            .map_err(|e| self.classify("get", key, e.into()))?;
        self.checked_body("get", key, resp)
    }

    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        let path = self.path(key)?;
        self.count();
        let request = AttoRequest::new(&self.stream_bucket, &path, s3::command::Command::GetObject)
            .map_err(|e| self.classify("get", key, e.into()))?;
        let mut resp = request
            .response()
            .map_err(|e| self.classify("get", key, e.into()))?;
        let want = header(resp.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error("get", key, e)),
            };
            w.write_all(&buf[..n]).map_err(|source| Error::Sink {
                url: self.url.clone(),
                key: key.to_owned(),
                source,
            })?;
            total += n as u64;
        }
        match want {
            Some(want) if want != total => Err(self.short_read("get", key, total, want)),
            _ => Ok(total),
        }
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        self.count();
        // Servers parse the range as a signed 64-bit number.
        let end = start.saturating_add(len - 1).min(i64::MAX as u64);
        let resp = self
            .stream_bucket
            .get_object_range(&path, start, Some(end))
            .map_err(|e| self.classify("get_range", key, e.into()))?;
        self.checked_body("get_range", key, resp)
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<()> {
        self.put_with(key, data, &Condition::Unconditional)
            .map(|_| ())
    }

    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<()> {
        check_key(key)?;
        if part_size == 0 {
            return Err(Error::InvalidArgument {
                key: key.to_owned(),
                reason: "part size 0".into(),
            });
        }
        let mut file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io("reading", path, e))?
            .len();
        if size < part_size {
            let mut data = Vec::with_capacity(size as usize);
            file.read_to_end(&mut data)
                .map_err(|e| Error::io("reading", path, e))?;
            return self.put(key, &data);
        }
        if part_size > 5 << 30 {
            return Err(Error::InvalidArgument {
                key: key.to_owned(),
                reason: format!("part size {part_size} is above S3's 5 GiB limit"),
            });
        }
        let n_parts = size.div_ceil(part_size);
        if n_parts > 10_000 {
            return Err(Error::InvalidArgument {
                key: key.to_owned(),
                reason: format!("{n_parts} parts of {part_size} bytes; S3 allows 10000"),
            });
        }
        if let Some(c) = part_checksums {
            if c.len() as u64 != n_parts {
                return Err(Error::InvalidArgument {
                    key: key.to_owned(),
                    reason: format!(
                        "{} part checksums for {n_parts} parts of {part_size} bytes",
                        c.len()
                    ),
                });
            }
        }
        self.multipart(key, &mut file, size, part_size, part_checksums)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        self.count();
        match self.bucket.delete_object(&path) {
            Ok(_) => Ok(()),
            Err(e) => match self.classify("delete", key, e.into()) {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        match self.put_with(key, data, &cond) {
            Ok(etag) if !etag.is_empty() => Ok(CasOutcome::Written { etag }),
            Ok(_) => {
                let etag = self.head(key)?.map(|m| m.etag).unwrap_or_default();
                Ok(CasOutcome::Written { etag })
            }
            Err(Error::Rejected { status: 412, .. }) => Ok(CasOutcome::PreconditionFailed {
                current: self.head(key)?.map(|m| m.etag),
            }),
            // If-Match on a missing key: AWS answers 404 NoSuchKey.
            Err(Error::NotFound { .. }) if matches!(cond, Condition::IfMatch(_)) => {
                Ok(CasOutcome::PreconditionFailed { current: None })
            }
            Err(e) => Err(e),
        }
    }
}

fn credentials(opts: &S3Options) -> Result<Credentials> {
    if let Some(access) = &opts.access_key {
        let Some(secret) = &opts.secret_key else {
            return Err(Error::Config(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            ));
        };
        return Credentials::new(
            Some(access),
            Some(secret),
            None,
            opts.session_token.as_deref(),
            None,
        )
        .map_err(|e| Error::Config(format!("S3 credentials: {e}")));
    }
    let profile = opts.profile.as_deref().unwrap_or("default");
    let file = match &opts.credentials_file {
        Some(f) => f.clone(),
        None => match std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")) {
            Some(home) => std::path::PathBuf::from(home)
                .join(".aws")
                .join("credentials"),
            None => {
                return Err(Error::Config(
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (no home \
                     directory to find ~/.aws/credentials in)"
                        .into(),
                ));
            }
        },
    };
    Credentials::from_credentials_file(&file, Some(profile)).map_err(|e| {
        Error::Config(format!(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put a \
             [{profile}] section in {} and select it with AWS_PROFILE ({e})",
            file.display()
        ))
    })
}

/// `base64(sha256(d1 || d2 || ...))-N`: S3's composite multipart checksum, which is also quilt3's
/// sha2-256-chunked hash when parts are 8 MiB.
pub fn composite_checksum(part_digests: &[[u8; 32]]) -> String {
    let mut h = Sha256::new();
    for d in part_digests {
        h.update(d);
    }
    format!("{}-{}", B64.encode(h.finalize()), part_digests.len())
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

/// The text of the first `<tag>` in an S3 XML document; enough for error codes and ids.
fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(
        body[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn xml() {
        let body = "<Error><Code>NoSuchBucket</Code><Message>a &amp; b</Message></Error>";
        assert_eq!(xml_tag(body, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_tag(body, "Message").as_deref(), Some("a & b"));
        assert_eq!(xml_tag(body, "Key"), None);
    }

    #[test]
    fn composite_of_one_empty_part() {
        // sha256(sha256("")) in base64.
        let d: [u8; 32] = Sha256::digest(b"").into();
        let want = B64.encode(Sha256::digest(d));
        assert_eq!(composite_checksum(&[d]), format!("{want}-1"));
    }
}
