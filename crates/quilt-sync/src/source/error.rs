/// Why an S3 prefix could not be packaged in place. Nothing is written to the registry when
/// any of these happens: the manifest is only written once every object is hashed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Remote(#[from] crate::Error),
    #[error("access to bucket {bucket} was denied while reading {url}: the credentials in use may not list or read it; check the bucket policy, or use a profile (AWS_PROFILE) that can")]
    AccessDenied { bucket: String, url: String },
    #[error("{url} holds no objects to package{skipped}; check the bucket and the prefix (it is read as a folder)")]
    Empty { url: String, skipped: String },
    #[error("{url}{key} was deleted after it was listed, so it cannot be packaged; nothing was written. Build again once the prefix has stopped changing")]
    Vanished { url: String, key: String },
    #[error("{url}{key} changed while it was being hashed ({detail}); nothing was written. Build again once the prefix has stopped changing")]
    Changed {
        url: String,
        key: String,
        detail: String,
    },
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
