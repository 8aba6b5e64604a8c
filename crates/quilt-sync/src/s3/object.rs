//! Reading one version of an object where it lies, for packaging S3 data in place: HEAD with
//! the stored checksum, `GetObjectAttributes` for the part layout, and ranged GETs streamed into
//! a writer.
//!
//! Unlike the [`crate::Remote`] methods, keys here are any S3 key below the remote's prefix
//! (they come from a listing of someone else's bucket, not from quilt's own layout), and every
//! call may name a version id. An unversioned object is pinned by its ETag instead
//! (`If-Match`), so bytes read later are the bytes the HEAD described.

use std::io::Write;

use super::request::Call;
use super::xml::{xml_blocks, xml_tag};
use super::{header, unquote, S3Remote};
use crate::{Error, Result};

/// What a HEAD (with `x-amz-checksum-mode: ENABLED`) tells about one object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    /// The object's length in bytes.
    pub size: u64,
    /// The ETag without quotes; only ever used to pin the version, never as a checksum.
    pub etag: String,
    /// `x-amz-version-id`; absent on unversioned buckets.
    pub version_id: Option<String>,
    /// `x-amz-checksum-sha256` as S3 computed it: base64, or `base64-N` for N parts.
    pub checksum_sha256: Option<String>,
}

/// Which version of an object a read is about.
#[derive(Debug, Clone, Copy)]
pub struct Pin<'a> {
    /// Read this version (versioned buckets).
    pub version_id: Option<&'a str>,
    /// Else read only while the object still has this ETag (`If-Match`).
    pub etag: Option<&'a str>,
}

/// The most parts asked for per `GetObjectAttributes` page (S3's own maximum).
const PARTS_PER_PAGE: &str = "1000";
/// More pages than 10,000 parts need means the server repeats itself.
const MAX_PART_PAGES: usize = 11;

impl S3Remote {
    /// The bucket name.
    pub fn bucket_name(&self) -> &str {
        &self.name
    }

    /// The prefix below the bucket: empty or ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object path of `key` below the prefix; any non-empty S3 key is accepted.
    fn object_path(&self, key: &str) -> Result<String> {
        if key.is_empty() {
            return Err(Error::InvalidKey {
                key: key.to_owned(),
                reason: "empty",
            });
        }
        Ok(format!("{}{key}", self.prefix))
    }

    /// HEAD of `key` (a given version, or the latest) with the stored checksum; `None` when it
    /// does not exist (or that version is gone, or the latest is a delete marker).
    pub fn head_object(&self, key: &str, version_id: Option<&str>) -> Result<Option<ObjectHead>> {
        let path = self.object_path(key)?;
        let query: Vec<(&str, &str)> = version_id.map(|v| ("versionId", v)).into_iter().collect();
        let call = Call {
            query: &query,
            headers: &[("x-amz-checksum-mode", "ENABLED")],
            ..Call::new("HEAD", Some(&path))
        };
        let resp = self
            .send(&call)
            .map_err(|f| self.classify("head", key, f))?;
        match resp.status {
            200..=299 => {}
            // 405: a delete marker addressed by version id.
            404 | 405 => return Ok(None),
            s if (400..500).contains(&s) => {
                // A HEAD answer has no body to tell auth from policy from a missing bucket:
                // ask for one byte to learn the error code.
                let mut sink = std::io::sink();
                let pin = Pin {
                    version_id,
                    etag: None,
                };
                return match self.get_object_range_to(key, pin, 0, 1, &mut sink) {
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                    Ok(_) => Err(self.http_error("head", key, s, "")),
                };
            }
            s => return Err(self.status_error("head", key, s, &resp.headers, "")),
        }
        let size = header(&resp.headers, "content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "head",
                detail: "no Content-Length".into(),
            })?;
        Ok(Some(ObjectHead {
            size,
            etag: header(&resp.headers, "etag")
                .map(|e| unquote(&e))
                .unwrap_or_default(),
            version_id: super::version_id(&resp.headers),
            checksum_sha256: header(&resp.headers, "x-amz-checksum-sha256"),
        }))
    }

    /// The size of each part of a multipart object, from `GetObjectAttributes` (`ObjectParts`),
    /// every page of it. `None` when the server does not say (a single-part object, or a server
    /// that leaves the parts out).
    pub fn object_part_sizes(&self, key: &str, pin: Pin<'_>) -> Result<Option<Vec<u64>>> {
        let path = self.object_path(key)?;
        let mut sizes = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PART_PAGES {
            let mut query = vec![("attributes", ""), ("max-parts", PARTS_PER_PAGE)];
            if let Some(m) = &marker {
                query.push(("part-number-marker", m.as_str()));
            }
            if let Some(v) = pin.version_id {
                query.push(("versionId", v));
            }
            let call = Call {
                query: &query,
                headers: &[("x-amz-object-attributes", "ObjectParts,ObjectSize")],
                ..Call::new("GET", Some(&path))
            };
            let resp = self.raw_ok("attributes", key, self.send(&call))?;
            let body = String::from_utf8_lossy(&resp.body);
            let page = parse_parts_page(&body).map_err(|detail| Error::Protocol {
                url: self.url.clone(),
                key: key.to_owned(),
                op: "attributes",
                detail,
            })?;
            let Some(page) = page else {
                return Ok(None);
            };
            sizes.extend(page.sizes);
            match page.next_marker {
                Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
                Some(_) => break,
                None => return Ok(Some(sizes)),
            }
        }
        Err(Error::Protocol {
            url: self.url.clone(),
            key: key.to_owned(),
            op: "attributes",
            detail: "the part listing does not end".into(),
        })
    }

    /// Streams `len` bytes of `key` from `start` into `w` (the whole object when `start` is 0
    /// and `len` its size), reading the pinned version. Returns the bytes written; a version
    /// that changed since it was pinned is a `Rejected` error with status 412.
    pub fn get_object_range_to(
        &self,
        key: &str,
        pin: Pin<'_>,
        start: u64,
        len: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        if len == 0 {
            return Ok(0);
        }
        let path = self.object_path(key)?;
        let end = start.saturating_add(len - 1).min(i64::MAX as u64);
        let range = format!("bytes={start}-{end}");
        let quoted;
        let mut headers = vec![("range", range.as_str())];
        if let (None, Some(etag)) = (pin.version_id, pin.etag) {
            quoted = format!("\"{etag}\"");
            headers.push(("if-match", quoted.as_str()));
        }
        let query: Vec<(&str, &str)> = pin
            .version_id
            .map(|v| ("versionId", v))
            .into_iter()
            .collect();
        let call = Call {
            query: &query,
            headers: &headers,
            ..Call::new("GET", Some(&path))
        };
        let resp = self
            .open(&call, false)
            .map_err(|f| self.classify("get_range", key, f))?;
        if !(200..300).contains(&resp.status) {
            return Err(self.failed("get_range", key, resp));
        }
        self.copy_body("get_range", key, resp, len, "", w)
    }
}

/// One page of `GetObjectAttributes` parts.
#[derive(Debug, PartialEq, Eq)]
pub struct PartsPage {
    /// The size of each part on this page, in part order.
    pub sizes: Vec<u64>,
    /// The marker of the next page when the answer is truncated.
    pub next_marker: Option<String>,
}

/// Parses a `GetObjectAttributesResponse`; `Ok(None)` when it holds no `ObjectParts`
/// (public for the fuzz targets).
pub fn parse_parts_page(body: &str) -> std::result::Result<Option<PartsPage>, String> {
    if !body.contains("<GetObjectAttributesResponse") {
        return Err("expected <GetObjectAttributesResponse>".into());
    }
    let Some(parts) = xml_blocks(body, "ObjectParts").into_iter().next() else {
        return Ok(None);
    };
    let blocks = xml_blocks(parts, "Part");
    if blocks.is_empty() {
        return Ok(None);
    }
    let mut sizes = Vec::with_capacity(blocks.len());
    for b in blocks {
        let size = xml_tag(b, "Size")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or("a <Part> without a numeric <Size>")?;
        sizes.push(size);
    }
    let truncated = xml_tag(parts, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next_marker = match truncated {
        false => None,
        true => Some(
            xml_tag(parts, "NextPartNumberMarker")
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .ok_or("a truncated part listing without <NextPartNumberMarker>")?,
        ),
    };
    Ok(Some(PartsPage { sizes, next_marker }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn parses_seaweedfs_parts_pages() {
        let page = r#"<?xml version="1.0" encoding="UTF-8"?>
<GetObjectAttributesResponse><ObjectParts><IsTruncated>true</IsTruncated><MaxParts>2</MaxParts><NextPartNumberMarker>2</NextPartNumberMarker><PartNumberMarker>0</PartNumberMarker><PartsCount>3</PartsCount><Part><PartNumber>1</PartNumber><Size>8388608</Size></Part><Part><PartNumber>2</PartNumber><Size>8388608</Size></Part></ObjectParts><ObjectSize>17825792</ObjectSize></GetObjectAttributesResponse>"#;
        assert_eq!(
            parse_parts_page(page).unwrap(),
            Some(PartsPage {
                sizes: vec![8 << 20, 8 << 20],
                next_marker: Some("2".into())
            })
        );
        let last = "<GetObjectAttributesResponse><ObjectParts><IsTruncated>false</IsTruncated><Part><PartNumber>3</PartNumber><Size>1048576</Size></Part></ObjectParts></GetObjectAttributesResponse>";
        assert_eq!(parse_parts_page(last).unwrap().unwrap().next_marker, None);
    }

    #[test]
    fn no_parts_is_none_and_garbage_is_an_error() {
        let single =
            "<GetObjectAttributesResponse><ObjectSize>6</ObjectSize></GetObjectAttributesResponse>";
        assert_eq!(parse_parts_page(single).unwrap(), None);
        assert!(parse_parts_page("<html>").is_err());
        let bad = "<GetObjectAttributesResponse><ObjectParts><Part><Size>x</Size></Part></ObjectParts></GetObjectAttributesResponse>";
        assert!(parse_parts_page(bad).is_err());
    }
}
