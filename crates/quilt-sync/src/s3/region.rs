//! A bucket's region, found by asking the bucket: S3 names it in the `x-amz-bucket-region`
//! header of its answer to a HEAD on the bucket, whether that answer is 200, a 301 redirect
//! to the right regional endpoint, 400 or 403 (an anonymous request is enough).
//!
//! Used only for AWS (no endpoint configured) when no region is configured. Each bucket is
//! asked once per process (the answer is kept in memory, see [`discovered_region`]); the CLI
//! also keeps it in the store's remote table for named remotes, so a later process passes it
//! back as [`super::S3Options::known_region`] and sends no request at all.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::options::Limits;
use super::S3Options;
use crate::{Error, Result};

/// Where buckets are asked when the endpoint is AWS. Path-style addressing, so bucket names
/// with dots need no certificate of their own.
pub const AWS_GLOBAL_ENDPOINT: &str = "https://s3.amazonaws.com";

/// The region when nothing says otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

fn memo() -> &'static Mutex<HashMap<String, String>> {
    static MEMO: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// The region this process learned for `bucket` by asking it, if it did.
pub fn discovered_region(bucket: &str) -> Option<String> {
    memo()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(bucket)
        .cloned()
}

/// Records a region learned for `bucket` (also used by tests).
pub fn remember_region(bucket: &str, region: &str) {
    memo()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(bucket.to_owned(), region.to_owned());
}

/// The region named by an answer's `x-amz-bucket-region` header, if it is a plausible region
/// name (lowercase letters, digits and dashes; a hostile value never reaches a URL).
pub fn region_from_header(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    ok.then(|| v.to_owned())
}

/// The region of `bucket` on AWS: remembered, else asked (up to three attempts when the
/// network fails), else [`DEFAULT_REGION`] when the answer names none (a missing bucket: the
/// first real request then says so).
pub(super) fn bucket_region(bucket: &str, limits: &Limits) -> Result<String> {
    if let Some(r) = discovered_region(bucket) {
        return Ok(r);
    }
    let mut attempt = 0;
    let found = loop {
        attempt += 1;
        match ask(AWS_GLOBAL_ENDPOINT, bucket, limits) {
            Ok(found) => break found,
            Err(e) if e.is_transient() && attempt < 3 => {
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            Err(e) => return Err(e.with_attempts(attempt as u32)),
        }
    };
    let region = found.unwrap_or_else(|| {
        tracing::debug!(
            bucket,
            "no x-amz-bucket-region in the answer; using us-east-1"
        );
        DEFAULT_REGION.to_owned()
    });
    remember_region(bucket, &region);
    Ok(region)
}

/// Sends one anonymous `HEAD endpoint/bucket` and reads the region header of the answer,
/// whatever its status. `endpoint` is `http(s)://host[:port]`; the timeouts are those of
/// `opts`.
pub fn ask_bucket(endpoint: &str, bucket: &str, opts: &S3Options) -> Result<Option<String>> {
    ask(endpoint, bucket, &Limits::new(opts))
}

fn ask(endpoint: &str, bucket: &str, limits: &Limits) -> Result<Option<String>> {
    let url = format!(
        "{}/{}",
        endpoint.trim_end_matches('/'),
        super::sigv4::uri_encode(bucket, true)
    );
    let mut session = attohttpc::Session::new();
    session.connect_timeout(limits.connect_timeout);
    session.read_timeout(limits.read_timeout);
    session.timeout(limits.request_timeout);
    session.follow_redirects(false);
    tracing::debug!(url, "asking the bucket for its region");
    match session.head(&url).send() {
        Ok(resp) => {
            let value = resp
                .headers()
                .get("x-amz-bucket-region")
                .and_then(|v| v.to_str().ok());
            Ok(region_from_header(value))
        }
        Err(e) => Err(lookup_error(endpoint, bucket, e)),
    }
}

fn lookup_error(endpoint: &str, bucket: &str, e: attohttpc::Error) -> Error {
    use std::io::ErrorKind as Io;
    if let attohttpc::ErrorKind::Io(io) = e.kind() {
        if matches!(
            io.kind(),
            Io::ConnectionRefused | Io::HostUnreachable | Io::NetworkUnreachable
        ) || io.to_string().contains("lookup")
        {
            return Error::Unreachable {
                endpoint: endpoint.to_owned(),
                attempts: 1,
                source: Box::new(e),
            };
        }
    }
    Error::Transient {
        url: format!("s3://{bucket}/"),
        key: String::new(),
        op: "find the region of",
        detail: format!("{e} (set the region with AWS_REGION or `quilt remote add ... --region`)"),
        attempts: 1,
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        assert_eq!(
            region_from_header(Some("eu-central-1")).as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(
            region_from_header(Some(" us-gov-west-1 ")).as_deref(),
            Some("us-gov-west-1")
        );
        for bad in [None, Some(""), Some("EU"), Some("a/b"), Some("x.evil.com")] {
            assert_eq!(region_from_header(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_remembered_region_sends_no_request() {
        remember_region("quilt-region-memo-test", "ap-northeast-2");
        let limits = Limits::new(&S3Options::default());
        // No network is touched: the memo answers.
        assert_eq!(
            bucket_region("quilt-region-memo-test", &limits).unwrap(),
            "ap-northeast-2"
        );
        assert_eq!(
            discovered_region("quilt-region-memo-test").as_deref(),
            Some("ap-northeast-2")
        );
    }

    #[test]
    fn a_local_answer_is_read_whatever_its_status() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for status in ["301 Moved Permanently", "403 Forbidden"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                assert!(buf[..n].starts_with(b"HEAD /some.bucket HTTP/1.1"));
                write!(
                    s,
                    "HTTP/1.1 {status}\r\nx-amz-bucket-region: eu-west-3\r\ncontent-length: 0\r\n\r\n"
                )
                .unwrap();
            }
        });
        let endpoint = format!("http://{addr}");
        for _ in 0..2 {
            assert_eq!(
                ask_bucket(&endpoint, "some.bucket", &S3Options::default())
                    .unwrap()
                    .as_deref(),
                Some("eu-west-3")
            );
        }
        server.join().unwrap();
    }
}
