//! Remotes of a working directory: adding, changing and listing them (`quilt remote`), and
//! finding and opening the one a command means ([`Repository::open_remote`]).

mod settings;
mod target;

use std::path::{Path, PathBuf};

use quilt_store::{RemoteRecord, RemoteSettings};

use crate::error::{Error, Result};
use crate::Repository;

pub use settings::{RemoteSetting, SettingsChange};
pub use target::{
    create_remote_dir, open_remote_anywhere, open_remote_to_read, user_default_remote_url,
    OpenedRemote,
};

/// A remote as [`Repository::add_remote`], [`Repository::set_remote_url`] or
/// [`Repository::set_remote_settings`] left it.
#[derive(Debug, Clone)]
pub struct RemoteUpdate {
    /// The URL stored (a directory made absolute).
    pub url: String,
    /// Its settings.
    pub settings: RemoteSettings,
    /// The remote directory created because it was missing, if any.
    pub created: Option<PathBuf>,
}

impl Repository {
    /// Adds a remote: `s3://bucket[/prefix]`, `file:///path` or a directory path (made
    /// absolute from `cwd`, outside the working directory, created if missing), with its S3
    /// settings.
    pub fn add_remote(
        &self,
        name: &str,
        url: &str,
        cwd: &Path,
        settings: &SettingsChange,
    ) -> Result<RemoteUpdate> {
        settings::validate_name(name)?;
        let url = self.checked_remote_url(cwd, url)?;
        let db = self.store().db();
        if db.remotes()?.iter().any(|(n, _)| n == name) {
            return Err(Error::RemoteNameTaken(name.to_owned()));
        }
        let settings = settings.apply(RemoteSettings::default())?;
        settings::only_for_s3(&url, &settings)?;
        let created = create_remote_dir(&url)?;
        db.add_remote(name, &url)?;
        if settings != RemoteSettings::default() {
            db.set_remote_settings(name, &settings)?;
        }
        Ok(RemoteUpdate {
            url,
            settings,
            created,
        })
    }

    /// Points an existing remote at another URL (checked as [`Repository::add_remote`]
    /// checks it; a missing directory is created).
    pub fn set_remote_url(&self, name: &str, url: &str, cwd: &Path) -> Result<RemoteUpdate> {
        let url = self.checked_remote_url(cwd, url)?;
        let Some(rec) = self.store().db().remote_record(name)? else {
            return Err(Error::UnknownRemote {
                name: name.to_owned(),
                fix: format!("add it with `quilt remote add {name} URL`"),
            });
        };
        settings::only_for_s3(&url, &rec.settings)?;
        let created = create_remote_dir(&url)?;
        self.store().db().set_remote_url(name, &url)?;
        Ok(RemoteUpdate {
            url,
            settings: rec.settings,
            created,
        })
    }

    /// Changes how an existing S3 remote is reached: its endpoint, region or AWS profile.
    pub fn set_remote_settings(&self, name: &str, change: &SettingsChange) -> Result<RemoteUpdate> {
        let Some(rec) = self.store().db().remote_record(name)? else {
            return Err(Error::UnknownRemote {
                name: name.to_owned(),
                fix: format!("add it with `quilt remote add {name} URL --endpoint ...`"),
            });
        };
        if change.is_empty() {
            return Err(Error::NothingToChange);
        }
        let settings = change.apply(rec.settings)?;
        settings::only_for_s3(&rec.url, &settings)?;
        self.store().db().set_remote_settings(name, &settings)?;
        Ok(RemoteUpdate {
            url: rec.url,
            settings,
            created: None,
        })
    }

    /// Sets how a remote lays out data objects (`quilt remote add --layout packed`).
    pub fn set_remote_layout(&self, name: &str, layout: quilt_sync::RemoteLayout) -> Result<()> {
        let value = match layout {
            quilt_sync::RemoteLayout::Plain => None,
            quilt_sync::RemoteLayout::Packed => Some(layout.as_str()),
        };
        Ok(self.store().db().set_remote_layout(name, value)?)
    }

    /// Removes a remote; nothing on the remote is touched.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        Ok(self.store().db().remove_remote(name)?)
    }

    /// The remotes, with their settings, in the order they were added.
    pub fn remotes(&self) -> Result<Vec<RemoteRecord>> {
        Ok(self.store().db().remote_records()?)
    }

    /// The name of the remote used when a command names none, if one is set.
    pub fn default_remote(&self) -> Result<Option<String>> {
        Ok(self.store().db().default_remote()?)
    }

    /// Sets the remote used when a command names none.
    pub fn set_default_remote(&self, name: &str) -> Result<()> {
        Ok(self.store().db().set_default_remote(name)?)
    }
}

#[cfg(test)]
mod tests;
