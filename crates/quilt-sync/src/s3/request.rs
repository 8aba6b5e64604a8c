//! Requests rust-s3 cannot shape, signed by [`super::sigv4`] and sent with attohttpc directly.

use std::io::Read;
use std::time::SystemTime;

use s3::error::S3Error;

use super::classify::Failure;
use super::{sigv4, S3Remote};
use crate::Result;

pub(super) struct RawResponse {
    pub(super) status: u16,
    pub(super) headers: attohttpc::header::HeaderMap,
    pub(super) body: Vec<u8>,
}

impl S3Remote {
    /// Send one signed request. `key_path` is the object path without the leading slash (prefix
    /// included); `None` addresses the bucket itself.
    pub(super) fn raw(
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
            return Err(self.http_error(op, key, status, &body));
        }
        Ok(resp)
    }
}
