//! Multipart uploads with a SHA-256 checksum on every part, and the composite checksum S3
//! reports for them.

use std::fs::File;
use std::io::Read;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::xml::{truncate, xml_escape, xml_tag};
use super::{header, sigv4, S3Remote, B64};
use crate::{Error, Result};

impl S3Remote {
    pub(super) fn multipart(
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
