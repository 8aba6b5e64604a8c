//! Credentials for [`super::S3Remote`]: explicit keys, else a profile of the shared credentials
//! file.

use s3::creds::Credentials;

use super::S3Options;
use crate::{Error, Result};

pub(super) fn credentials(opts: &S3Options) -> Result<Credentials> {
    if let Some(access) = &opts.access_key {
        let Some(secret) = &opts.secret_key else {
            return Err(Error::Config(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            ));
        };
        return Credentials::new(
            Some(access),
            Some(secret),
            None,
            opts.session_token.as_deref(),
            None,
        )
        .map_err(|e| Error::Config(format!("S3 credentials: {e}")));
    }
    let profile = opts.profile.as_deref().unwrap_or("default");
    let file = match &opts.credentials_file {
        Some(f) => f.clone(),
        None => match std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")) {
            Some(home) => std::path::PathBuf::from(home)
                .join(".aws")
                .join("credentials"),
            None => {
                return Err(Error::Config(
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (no home \
                     directory to find ~/.aws/credentials in)"
                        .into(),
                ));
            }
        },
    };
    Credentials::from_credentials_file(&file, Some(profile)).map_err(|e| {
        Error::Config(format!(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put a \
             [{profile}] section in {} and select it with AWS_PROFILE ({e})",
            file.display()
        ))
    })
}
