//! Checks of what `quilt remote add`/`set` are given: remote names and S3 settings.

use quilt_store::RemoteSettings;
use quilt_sync::RemoteUrl;

use crate::error::{Error, Result};

/// One setting of an S3 remote, as named by `quilt remote set --unset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteSetting {
    /// The S3 endpoint URL.
    Endpoint,
    /// The S3 region.
    Region,
    /// The AWS profile.
    Profile,
}

/// A change to how an S3 remote is reached: settings to set (checked when applied) and
/// settings to forget. They override the environment and the AWS configuration files for
/// that remote only.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    /// S3 endpoint URL, `http(s)://host[:port]`.
    pub endpoint: Option<String>,
    /// S3 region, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// AWS profile: a section of `~/.aws/config` or `~/.aws/credentials`.
    pub profile: Option<String>,
    /// Settings to forget (applied before the ones set).
    pub unset: Vec<RemoteSetting>,
}

impl SettingsChange {
    /// Whether this changes nothing.
    pub fn is_empty(&self) -> bool {
        self.endpoint.is_none()
            && self.region.is_none()
            && self.profile.is_none()
            && self.unset.is_empty()
    }

    /// `base` with this change applied, checked.
    pub fn apply(&self, mut base: RemoteSettings) -> Result<RemoteSettings> {
        for u in &self.unset {
            match u {
                RemoteSetting::Endpoint => base.endpoint = None,
                RemoteSetting::Region => base.region = None,
                RemoteSetting::Profile => base.profile = None,
            }
        }
        if let Some(e) = &self.endpoint {
            let e = e.trim_end_matches('/');
            if !(e.starts_with("http://") || e.starts_with("https://"))
                || e.contains(char::is_whitespace)
            {
                return Err(bad_setting("endpoint", e, "use http(s)://host[:port]"));
            }
            base.endpoint = Some(e.to_owned());
        }
        if let Some(r) = &self.region {
            if r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad_setting(
                    "region",
                    r,
                    "use a region name such as eu-west-1",
                ));
            }
            base.region = Some(r.clone());
        }
        if let Some(p) = &self.profile {
            if p.is_empty() || p.contains(['[', ']', '\n']) {
                return Err(bad_setting("profile", p, "use the name of an AWS profile"));
            }
            base.profile = Some(p.clone());
        }
        Ok(base)
    }
}

fn bad_setting(setting: &'static str, value: &str, fix: &'static str) -> Error {
    Error::BadRemoteSetting {
        setting,
        value: value.to_owned(),
        fix,
    }
}

/// Endpoints, regions and profiles mean something to S3 only.
pub(super) fn only_for_s3(url: &str, settings: &RemoteSettings) -> Result<()> {
    if *settings != RemoteSettings::default()
        && !matches!(RemoteUrl::parse(url)?, RemoteUrl::S3 { .. })
    {
        return Err(Error::SettingsNeedS3 {
            url: url.to_owned(),
        });
    }
    Ok(())
}

/// A remote name: letters, digits, `-`, `_` or `.`, so it never reads as a URL or path.
pub(super) fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("://");
    match ok {
        true => Ok(()),
        false => Err(Error::InvalidRemoteName(name.to_owned())),
    }
}
