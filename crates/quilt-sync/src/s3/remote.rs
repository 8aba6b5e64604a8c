//! The [`Remote`] implementation of [`S3Remote`].

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::listing::parse_list_page;
use super::request::{Call, Streaming};
use super::{header, unquote, version_id, S3Remote, B64};
use crate::remote::check_key;
use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result, Stored};

impl S3Remote {
    /// A single PUT; returns the new ETag and the version id. The body's SHA-256 goes along
    /// as `x-amz-checksum-sha256`: S3 refuses bytes that differ from it and keeps it, so a
    /// later HEAD can tell the object's content without reading it (quilt3 sends it too).
    fn put_with(&self, key: &str, data: &[u8], cond: &Condition) -> Result<(String, Stored)> {
        let full = self.full_key(key)?;
        let etag_value;
        let digest = Sha256::digest(data);
        let checksum = B64.encode(digest);
        let mut headers: Vec<(&str, &str)> = vec![("x-amz-checksum-sha256", checksum.as_str())];
        let condition: Vec<(&str, &str)> = match cond {
            Condition::IfAbsent => vec![("if-none-match", "*")],
            Condition::IfMatch(etag) => {
                etag_value = format!("\"{etag}\"");
                vec![("if-match", etag_value.as_str())]
            }
            Condition::Unconditional => vec![],
        };
        headers.extend(condition);
        let hash = hex::encode(digest);
        let resp = self.raw("PUT", Some(&full), &[], &headers, data, &hash);
        let resp = self.raw_ok("put", key, resp)?;
        let etag = header(&resp.headers, "etag")
            .map(|e| unquote(&e))
            .unwrap_or_default();
        let stored = Stored {
            version_id: version_id(&resp.headers),
        };
        Ok((etag, stored))
    }

    /// A GET whose answer is 2xx, with the body still to read.
    fn open_get(&self, op: &'static str, key: &str, range: Option<&str>) -> Result<Streaming> {
        self.open_get_version(op, key, None, range)
    }

    /// [`Self::open_get`] of one version (`?versionId=`, part of the signed query string);
    /// errors name the key as `key?versionId=…`.
    fn open_get_version(
        &self,
        op: &'static str,
        key: &str,
        version_id: Option<&str>,
        range: Option<&str>,
    ) -> Result<Streaming> {
        let full = self.full_key(key)?;
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let query: Vec<(&str, &str)> = version_id.map(|v| ("versionId", v)).into_iter().collect();
        let shown = match version_id {
            Some(v) => format!("{key}?versionId={v}"),
            None => key.to_owned(),
        };
        let call = Call {
            headers: &headers,
            query: &query,
            ..Call::new("GET", Some(&full))
        };
        let resp = self
            .open(&call, false)
            .map_err(|f| self.classify(op, &shown, f))?;
        if !(200..300).contains(&resp.status) {
            return Err(self.failed(op, &shown, resp));
        }
        Ok(resp)
    }

    /// Streams the body of `resp` into `w`, refusing more than `limit` bytes and any length
    /// other than the announced `content-length`.
    pub(super) fn copy_body(
        &self,
        op: &'static str,
        key: &str,
        resp: Streaming,
        limit: u64,
        hint: &'static str,
        w: &mut dyn Write,
    ) -> Result<u64> {
        let announced = header(&resp.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
        let too_large = || Error::TooLarge {
            url: self.url.clone(),
            key: key.to_owned(),
            op,
            limit,
            hint,
        };
        if announced.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = resp.body;
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(op, key, e)),
            };
            total += n as u64;
            if total > limit {
                return Err(too_large());
            }
            w.write_all(&buf[..n]).map_err(|source| Error::Sink {
                url: self.url.clone(),
                key: key.to_owned(),
                source,
            })?;
        }
        match announced {
            Some(want) if want != total => Err(self.short_read(op, key, total, want)),
            _ => Ok(total),
        }
    }
}

/// The server's answer to a HEAD carries no body, so 403 and 400 say nothing about why.
impl Remote for S3Remote {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        let full = format!("{}{prefix}", self.prefix);
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type", "2"),
                ("max-keys", "1000"),
                ("prefix", full.as_str()),
            ];
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let call = Call {
                query: &query,
                ..Call::new("GET", None)
            };
            let resp = self.raw_ok("list", prefix, self.send(&call))?;
            let page = parse_list_page(&resp.body).map_err(|detail| Error::Protocol {
                url: self.url.clone(),
                key: prefix.to_owned(),
                op: "list",
                detail,
            })?;
            for (key, size) in page.objects {
                let Some(key) = key.strip_prefix(&self.prefix) else {
                    continue;
                };
                visit(ListEntry {
                    key: key.to_owned(),
                    size,
                })?;
            }
            match page.next_token {
                // A server that hands back the token it was given would list forever.
                Some(t) if token.as_deref() == Some(t.as_str()) => {
                    return Err(Error::Protocol {
                        url: self.url.clone(),
                        key: prefix.to_owned(),
                        op: "list",
                        detail: "the listing repeats its continuation token".into(),
                    })
                }
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        check_key(key)?;
        Ok(self.head_object(key, None)?.map(|h| ObjectMeta {
            size: h.size,
            etag: h.etag,
            checksum_sha256: h.checksum_sha256,
            version_id: h.version_id,
        }))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let resp = self.open_get("get", key, None)?;
        let mut out = Vec::new();
        let limit = self.limits.max_get_bytes;
        let hint = " (QUILT_MAX_MANIFEST_BYTES raises the limit)";
        self.copy_body("get", key, resp, limit, hint, &mut out)?;
        Ok(out)
    }

    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        let resp = self.open_get("get", key, None)?;
        self.copy_body("get", key, resp, u64::MAX, "", w)
    }

    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        if version_id.is_empty() {
            return Err(Error::InvalidArgument {
                key: key.to_owned(),
                reason: "empty version id".into(),
            });
        }
        let range = (start > 0).then(|| format!("bytes={start}-"));
        let op = "get_version";
        let resp = self.open_get_version(op, key, Some(version_id), range.as_deref())?;
        let shown = format!("{key}?versionId={version_id}");
        self.copy_body(op, &shown, resp, u64::MAX, "", w)
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        check_key(key)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        // Servers parse the range as a signed 64-bit number.
        let end = start.saturating_add(len - 1).min(i64::MAX as u64);
        let range = format!("bytes={start}-{end}");
        let resp = self.open_get("get_range", key, Some(&range))?;
        let mut out = Vec::new();
        self.copy_body("get_range", key, resp, len, "", &mut out)?;
        Ok(out)
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
        self.put_with(key, data, &Condition::Unconditional)
            .map(|(_, stored)| stored)
    }

    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
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
        let full = self.full_key(key)?;
        let resp = self
            .send(&Call::new("DELETE", Some(&full)))
            .map_err(|f| self.classify("delete", key, f))?;
        match resp.status {
            200..=299 | 404 => Ok(()),
            s => Err(self.status_error(
                "delete",
                key,
                s,
                &resp.headers,
                &String::from_utf8_lossy(&resp.body),
            )),
        }
    }

    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        match self.put_with(key, data, &cond) {
            Ok((etag, _)) if !etag.is_empty() => Ok(CasOutcome::Written { etag }),
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
