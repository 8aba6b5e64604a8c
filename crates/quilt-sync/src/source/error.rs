/// Why an S3 prefix could not be packaged in place. Nothing is written to the registry when
/// any of these happens: the manifest is only written once every object is hashed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Talking to S3 failed.
    #[error(transparent)]
    Remote(#[from] crate::Error),
    /// The credentials may not list or read the bucket.
    #[error("access to bucket {bucket} was denied while reading {url}: the credentials in use may not list or read it; check the bucket policy, or use a profile (AWS_PROFILE) that can")]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The S3 prefix being packaged, `s3://bucket/prefix/`.
        url: String,
    },
    /// The prefix holds no object to package.
    #[error("{url} holds no objects to package{skipped}; check the bucket and the prefix (it is read as a folder)")]
    Empty {
        /// The S3 prefix being packaged, `s3://bucket/prefix/`.
        url: String,
        /// A note on objects that were skipped, or empty.
        skipped: String,
    },
    /// An object was deleted between the listing and its read.
    #[error("{url}{key} was deleted after it was listed, so it cannot be packaged; nothing was written. Build again once the prefix has stopped changing")]
    Vanished {
        /// The S3 prefix being packaged, `s3://bucket/prefix/`.
        url: String,
        /// The object's key relative to the prefix.
        key: String,
    },
    /// An object was replaced while it was read.
    #[error("{url}{key} changed while it was being hashed ({detail}); nothing was written. Build again once the prefix has stopped changing")]
    Changed {
        /// The S3 prefix being packaged, `s3://bucket/prefix/`.
        url: String,
        /// The object's key relative to the prefix.
        key: String,
        /// How it changed.
        detail: String,
    },
    /// The scan was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl SourceError {
    /// The error for `e` met while reading `key`: a missing object was deleted after the
    /// listing, a failed `If-Match` means it was replaced, access denied names the bucket.
    pub(crate) fn reading(e: crate::Error, url: &str, bucket: &str, key: &str) -> SourceError {
        match e {
            e if e.is_not_found() => SourceError::Vanished {
                url: url.to_owned(),
                key: key.to_owned(),
            },
            crate::Error::Rejected { status: 412, .. } => SourceError::Changed {
                url: url.to_owned(),
                key: key.to_owned(),
                detail: "it was replaced by another write".into(),
            },
            e if e.is_access_denied() => SourceError::AccessDenied {
                bucket: bucket.to_owned(),
                url: url.to_owned(),
            },
            crate::Error::Interrupted => SourceError::Interrupted,
            e => SourceError::Remote(e),
        }
    }
}
