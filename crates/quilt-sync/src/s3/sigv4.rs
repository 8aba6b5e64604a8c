//! AWS Signature Version 4 for the few requests rust-s3 cannot shape: multipart initiation with
//! `x-amz-checksum-algorithm`, parts with `x-amz-checksum-sha256`, completion with per-part
//! `ChecksumSHA256`, and bucket creation without a location constraint.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The payload hash sent when the body is covered by `x-amz-checksum-sha256` instead.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// What the signature covers.
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, ...
    pub method: &'a str,
    /// `host[:port]`, exactly as sent in the Host header.
    pub host: &'a str,
    /// Already URI-encoded absolute path (`/bucket/key`).
    pub path: &'a str,
    /// Unencoded query parameters; an empty value signs as `k=`.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign besides host and the x-amz-* ones added here; names in lowercase.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or [`UNSIGNED_PAYLOAD`].
    pub payload_hash: &'a str,
}

/// Credentials and scope.
pub struct Signer<'a> {
    /// The access key id, named in the `authorization` header.
    pub access_key: &'a str,
    /// The secret access key the signing key is derived from.
    pub secret_key: &'a str,
    /// Sent as `x-amz-security-token` when the keys are temporary.
    pub session_token: Option<&'a str>,
    /// The signing region.
    pub region: &'a str,
}

impl Signer<'_> {
    /// The headers to send (lowercase names), including `authorization`.
    pub fn sign(&self, req: &Request<'_>, now: SystemTime) -> Vec<(String, String)> {
        let (date, stamp) = amz_dates(now);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), req.host.into()),
            ("x-amz-content-sha256".into(), req.payload_hash.into()),
            ("x-amz-date".into(), stamp.clone()),
        ];
        if let Some(t) = self.session_token {
            headers.push(("x-amz-security-token".into(), t.into()));
        }
        for (k, v) in req.headers {
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
        headers.sort();

        let mut query: Vec<(String, String)> = req
            .query
            .iter()
            .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
            .collect();
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed_headers = headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method,
            req.path,
            canonical_query,
            canonical_headers,
            signed_headers,
            req.payload_hash
        );
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let k_date = hmac(
            format!("AWS4{}", self.secret_key).as_bytes(),
            date.as_bytes(),
        );
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, b"s3");
        let k_signing = hmac(&k_service, b"aws4_request");
        let signature = hex::encode(hmac(&k_signing, to_sign.as_bytes()));
        headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
                 Signature={signature}",
                self.access_key
            ),
        ));
        headers
    }
}

/// The query string as sent: `k` alone for empty values (`?uploads`), else `k=v`.
pub fn query_string(query: &[(&str, &str)]) -> String {
    query
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                uri_encode(k, true)
            } else {
                format!("{}={}", uri_encode(k, true), uri_encode(v, true))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Everything but RFC 3986's unreserved characters is %XX-encoded, as SigV4 wants.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, keeping `/` (object paths).
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else is %XX.
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let set = if encode_slash { STRICT } else { PATH };
    utf8_percent_encode(s, set).to_string()
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `("YYYYMMDD", "YYYYMMDDTHHMMSSZ")` in UTC; a clock before 1970 signs as 1970-01-01.
fn amz_dates(now: SystemTime) -> (String, String) {
    let t = now
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    (date, stamp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn encodes_like_sigv4() {
        assert_eq!(uri_encode("a b/c~d-e_f.g+h", true), "a%20b%2Fc~d-e_f.g%2Bh");
        assert_eq!(uri_encode("a b/é", false), "a%20b/%C3%A9");
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        assert_eq!(amz_dates(t), ("20130524".into(), "20130524T000000Z".into()));
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661); // 2000-02-29T01:01:01Z
        assert_eq!(amz_dates(t).1, "20000229T010101Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_457_360); // 2026-11-23T18:09:20Z
        assert_eq!(amz_dates(t), ("20261123".into(), "20261123T180920Z".into()));
        let t = UNIX_EPOCH + Duration::from_secs(4_107_542_399); // 2100-02-28T23:59:59Z
        assert_eq!(amz_dates(t).1, "21000228T235959Z");
        assert_eq!(amz_dates(UNIX_EPOCH).1, "19700101T000000Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(amz_dates(before).1, "19700101T000000Z");
    }

    /// The GET example of the AWS SigV4 documentation for S3 ("Example: GET Object").
    #[test]
    fn aws_documented_example() {
        let signer = Signer {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
        };
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[("range", "bytes=0-9")],
            payload_hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        };
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let headers = signer.sign(&req, t);
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.ends_with(
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            ),
            "{auth}"
        );
    }
}
