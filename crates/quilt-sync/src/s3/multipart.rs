//! Multipart uploads with a SHA-256 checksum on every part, and the composite checksum S3
//! reports for them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::request::EMPTY_SHA256;
use super::xml::{truncate, xml_blocks, xml_escape, xml_tag};
use super::{header, sigv4, version_id, S3Remote, B64};
use crate::{Error, Result, Stored};

/// A part already on the server, from an upload an earlier run left behind.
struct UploadedPart {
    etag: String,
    size: u64,
    checksum: Option<String>,
}

impl S3Remote {
    /// Uploads `file` in parts. An upload of the same key that an earlier run left behind (a
    /// process killed mid-upload) is resumed: its parts whose size and SHA-256 match are kept,
    /// the rest are sent; if that fails (another process finished or aborted it meanwhile), a
    /// fresh upload starts. Any failure, including an interrupt, aborts the upload, so nothing
    /// is left that no run would finish or clean up.
    pub(super) fn multipart(
        &self,
        key: &str,
        file: &mut File,
        size: u64,
        part_size: u64,
        given: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
        let full = format!("{}{key}", self.prefix);
        let fresh = HashMap::new();
        let base = Parts {
            key,
            full: &full,
            upload_id: "",
            size,
            part_size,
            given,
            done: &fresh,
        };
        if let Some((upload_id, done)) = self.unfinished_upload(key, &full) {
            let resumed = Parts {
                upload_id: &upload_id,
                done: &done,
                ..base
            };
            match self.upload_or_abort(&resumed, file) {
                Err(e) if !matches!(e, Error::Interrupted) => {
                    tracing::debug!(key, "resuming {upload_id} failed ({e}); starting over");
                    file.seek(SeekFrom::Start(0))
                        .map_err(|e| Error::io("rewinding", format!("the file of {key}"), e))?;
                }
                done => return done,
            }
        }
        let upload_id = self.create_upload(key, &full)?;
        let parts = Parts {
            upload_id: &upload_id,
            ..base
        };
        self.upload_or_abort(&parts, file)
    }

    fn upload_or_abort(&self, parts: &Parts<'_>, file: &mut File) -> Result<Stored> {
        let result = self.upload_parts(parts, file);
        if result.is_err() {
            // Best effort: a failed abort leaves the upload for the next run of this key to
            // resume (or for the bucket's lifecycle rules), and the original error is the one
            // worth reporting.
            self.abort_upload(parts.key, parts.full, parts.upload_id);
        }
        result
    }

    fn create_upload(&self, key: &str, full: &str) -> Result<String> {
        let resp = self.raw(
            "POST",
            Some(full),
            &[("uploads", "")],
            &[("x-amz-checksum-algorithm", "SHA256")],
            &[],
            EMPTY_SHA256,
        );
        let resp = self.raw_ok("create multipart upload", key, resp)?;
        let body = String::from_utf8_lossy(&resp.body);
        xml_tag(&body, "UploadId").ok_or_else(|| Error::Protocol {
            url: self.url.clone(),
            key: key.to_owned(),
            op: "create multipart upload",
            detail: format!("no UploadId in {}", truncate(&body, 200)),
        })
    }

    fn abort_upload(&self, key: &str, full: &str, upload_id: &str) {
        let resp = self.raw(
            "DELETE",
            Some(full),
            &[("uploadId", upload_id)],
            &[],
            &[],
            EMPTY_SHA256,
        );
        if let Err(e) = self.raw_ok("abort multipart upload", key, resp) {
            tracing::warn!(key, upload_id, "aborting multipart upload failed: {e}");
        }
    }

    /// An upload of `full` left by an earlier run, with its parts by number. Extra ones are
    /// aborted. Servers that cannot list uploads simply get a fresh upload.
    fn unfinished_upload(
        &self,
        key: &str,
        full: &str,
    ) -> Option<(String, HashMap<u64, UploadedPart>)> {
        let resp = self.raw(
            "GET",
            None,
            &[("uploads", ""), ("prefix", full)],
            &[],
            &[],
            EMPTY_SHA256,
        );
        let resp = match self.raw_ok("list multipart uploads", key, resp) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(key, "cannot list unfinished uploads: {e}");
                return None;
            }
        };
        let body = String::from_utf8_lossy(&resp.body);
        let mut ids = xml_blocks(&body, "Upload")
            .into_iter()
            .filter(|u| xml_tag(u, "Key").as_deref() == Some(full))
            .filter_map(|u| xml_tag(u, "UploadId"));
        let id = ids.next()?;
        for extra in ids {
            self.abort_upload(key, full, &extra);
        }
        let resp = self.raw(
            "GET",
            Some(full),
            &[("uploadId", &id), ("max-parts", "10000")],
            &[],
            &[],
            EMPTY_SHA256,
        );
        let parts = match self.raw_ok("list parts", key, resp) {
            Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
            Err(e) => {
                tracing::debug!(key, "cannot list the parts of {id}: {e}");
                return Some((id, HashMap::new()));
            }
        };
        let done = xml_blocks(&parts, "Part")
            .into_iter()
            .filter_map(|p| {
                let number = xml_tag(p, "PartNumber")?.trim().parse().ok()?;
                let part = UploadedPart {
                    etag: xml_tag(p, "ETag")?,
                    size: xml_tag(p, "Size")?.trim().parse().ok()?,
                    checksum: xml_tag(p, "ChecksumSHA256"),
                };
                Some((number, part))
            })
            .collect();
        tracing::debug!(key, upload_id = id, "resuming an unfinished upload");
        Some((id, done))
    }

    fn upload_parts(&self, p: &Parts<'_>, file: &mut File) -> Result<Stored> {
        let n_parts = p.size.div_ceil(p.part_size);
        let mut buf = vec![0u8; p.part_size as usize];
        let mut digests = Vec::with_capacity(n_parts as usize);
        let mut xml = String::from("<CompleteMultipartUpload>");
        for i in 0..n_parts {
            if self.interrupted() {
                return Err(Error::Interrupted);
            }
            let len = p.part_size.min(p.size - i * p.part_size) as usize;
            file.read_exact(&mut buf[..len])
                .map_err(|e| Error::io("reading", format!("part {} of {}", i + 1, p.key), e))?;
            let part = &buf[..len];
            let digest: [u8; 32] = match p.given {
                Some(d) => d[i as usize],
                None => Sha256::digest(part).into(),
            };
            digests.push(digest);
            let checksum = B64.encode(digest);
            let number = i + 1;
            let etag = match p.done.get(&number) {
                // Kept only when the server vouches for the bytes with the same checksum.
                Some(old)
                    if old.size == len as u64
                        && old.checksum.as_deref() == Some(checksum.as_str()) =>
                {
                    old.etag.clone()
                }
                _ => self.upload_part(p, number, part, &checksum)?,
            };
            xml.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag>\
                 <ChecksumSHA256>{checksum}</ChecksumSHA256></Part>",
                xml_escape(&etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        if self.interrupted() {
            return Err(Error::Interrupted);
        }
        self.complete_upload(p, &xml, &digests)
    }

    fn upload_part(
        &self,
        p: &Parts<'_>,
        number: u64,
        part: &[u8],
        checksum: &str,
    ) -> Result<String> {
        let number = number.to_string();
        let resp = self.raw(
            "PUT",
            Some(p.full),
            &[("partNumber", &number), ("uploadId", p.upload_id)],
            &[("x-amz-checksum-sha256", checksum)],
            part,
            sigv4::UNSIGNED_PAYLOAD,
        );
        let resp = self.raw_ok("upload part", p.key, resp)?;
        header(&resp.headers, "etag").ok_or_else(|| Error::Protocol {
            url: self.url.clone(),
            key: p.key.to_owned(),
            op: "upload part",
            detail: "no ETag in the answer".into(),
        })
    }

    fn complete_upload(&self, p: &Parts<'_>, xml: &str, digests: &[[u8; 32]]) -> Result<Stored> {
        let hash = hex::encode(Sha256::digest(xml.as_bytes()));
        let resp = self.raw(
            "POST",
            Some(p.full),
            &[("uploadId", p.upload_id)],
            &[("content-type", "application/xml")],
            xml.as_bytes(),
            &hash,
        );
        let resp = self.raw_ok("complete multipart upload", p.key, resp)?;
        // Where the server reports the composite checksum, it must be SHA-256 over the part
        // digests we sent: a mismatch means it assembled something else.
        let body = String::from_utf8_lossy(&resp.body);
        if let Some(got) = xml_tag(&body, "ChecksumSHA256") {
            let want = composite_checksum(digests);
            if got != want {
                return Err(Error::Protocol {
                    url: self.url.clone(),
                    key: p.key.to_owned(),
                    op: "complete multipart upload",
                    detail: format!("server's checksum {got} differs from the parts' {want}"),
                });
            }
        }
        Ok(Stored {
            version_id: version_id(&resp.headers),
        })
    }
}

/// One multipart upload in progress.
#[derive(Clone, Copy)]
struct Parts<'a> {
    key: &'a str,
    full: &'a str,
    upload_id: &'a str,
    size: u64,
    part_size: u64,
    given: Option<&'a [[u8; 32]]>,
    /// Parts already on the server (resumed upload), by part number.
    done: &'a HashMap<u64, UploadedPart>,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn composite_of_one_empty_part() {
        // sha256(sha256("")) in base64.
        let d: [u8; 32] = Sha256::digest(b"").into();
        let want = B64.encode(Sha256::digest(d));
        assert_eq!(composite_checksum(&[d]), format!("{want}-1"));
    }
}
