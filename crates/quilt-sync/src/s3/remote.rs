//! The [`Remote`] implementation of [`S3Remote`].

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use s3::request::blocking::AttoRequest;
use s3::request::Request as _;

use super::{header, sigv4, unquote, S3Remote};
use crate::remote::check_key;
use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result};

impl S3Remote {
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
