//! The user's own settings, shared by every working directory: `config.toml` in the user's
//! configuration directory (`$QUILT_CONFIG_DIR`, else the platform's: `$XDG_CONFIG_HOME/quilt`
//! or `~/.config/quilt` on Linux, `~/Library/Application Support/quilt` on macOS,
//! `%APPDATA%\quilt\config` on Windows).
//!
//! One setting so far, `default-remote`: the registry `push`, `install`, `log --remote` and
//! `build --registry` use when no remote is named and the working directory has no default
//! remote of its own (quilt3's "default remote registry", which also persists between
//! sessions).
//!
//! ```
//! use quilt::user_config::UserConfig;
//!
//! let mut c = UserConfig::parse("default-remote = \"s3://bucket/registry\"\n", "config.toml")?;
//! assert_eq!(c.get("default-remote"), Some("s3://bucket/registry"));
//! c.unset("default-remote")?;
//! assert_eq!(c.get("default-remote"), None);
//! # Ok::<(), quilt::user_config::ConfigError>(())
//! ```

use std::path::{Path, PathBuf};

/// Overrides the directory that holds `config.toml`.
pub const CONFIG_DIR_ENV: &str = "QUILT_CONFIG_DIR";
/// The file name inside the configuration directory.
pub const FILE_NAME: &str = "config.toml";
/// The key of the user's default remote.
pub const DEFAULT_REMOTE: &str = "default-remote";

/// Every setting there is, with what it means.
pub const SETTINGS: &[(&str, &str)] = &[(
    DEFAULT_REMOTE,
    "remote URL used when a command names none and the working directory has no default remote",
)];

/// What can go wrong with the user's configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration directory: set HOME or {CONFIG_DIR_ENV}")]
    /// Neither HOME nor the configuration variable is set.
    NoDir,
    /// Reading or writing the file failed.
    #[error("could not {what} the quilt configuration file {}", path.display())]
    Io {
        /// What was being done, e.g. `read`.
        what: &'static str,
        /// The configuration file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason} (fix the line, or remove it with `quilt config --unset KEY` or an editor)")]
    /// A line of the file is not valid TOML or not a known shape.
    Malformed {
        /// The configuration file.
        path: String,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    #[error("unknown setting {key:?}; settings are: {}", known_keys())]
    /// A setting quilt does not know.
    UnknownKey {
        /// The setting named.
        key: String,
    },
    #[error("invalid value for {key}: {reason}")]
    /// A value a setting cannot take.
    BadValue {
        /// The setting.
        key: String,
        /// Why the value is refused.
        reason: String,
    },
}

fn known_keys() -> String {
    SETTINGS
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The configuration file's settings, with any keys this version does not know kept as they
/// are.
#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    path: PathBuf,
    table: toml::Table,
}

/// The directory `config.toml` lives in (see the module documentation).
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    if let Some(d) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    directories::ProjectDirs::from("", "", "quilt")
        .map(|p| p.config_dir().to_path_buf())
        .ok_or(ConfigError::NoDir)
}

/// The user's default remote URL, if set.
pub fn default_remote() -> Result<Option<String>, ConfigError> {
    Ok(UserConfig::load()?.get(DEFAULT_REMOTE).map(str::to_owned))
}

impl UserConfig {
    /// The user's configuration file (empty when it does not exist yet).
    pub fn load() -> Result<UserConfig, ConfigError> {
        UserConfig::load_from(&config_dir()?.join(FILE_NAME))
    }

    /// The configuration file at `path` (empty when it does not exist yet).
    pub fn load_from(path: &Path) -> Result<UserConfig, ConfigError> {
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8(b).map_err(|e| ConfigError::Malformed {
                path: path.display().to_string(),
                line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count(),
                reason: "not valid UTF-8".into(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Io {
                    what: "read",
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let mut c = UserConfig::parse(&text, &path.display().to_string())?;
        c.path = path.to_owned();
        Ok(c)
    }

    /// Parses the text of a configuration file; `name` names it in errors. Known settings
    /// are checked (a remote URL must parse); unknown ones are kept.
    pub fn parse(text: &str, name: &str) -> Result<UserConfig, ConfigError> {
        let malformed = |span: Option<std::ops::Range<usize>>, reason: String| {
            let at = span.map_or(0, |s| s.start.min(text.len()));
            ConfigError::Malformed {
                path: name.to_owned(),
                line: 1 + text.as_bytes()[..at]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count(),
                reason,
            }
        };
        let spanned = toml::de::DeTable::parse(text)
            .map_err(|e| malformed(e.span(), e.message().trim().to_owned()))?;
        for (key, value) in spanned.get_ref() {
            let key: &str = key.get_ref();
            let Some((known, _)) = SETTINGS.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            let Some(s) = value.get_ref().as_str() else {
                return Err(malformed(
                    Some(value.span()),
                    format!("{known} must be a string (in quotes)"),
                ));
            };
            check_value(known, s).map_err(|e| malformed(Some(value.span()), e.to_string()))?;
        }
        let table: toml::Table =
            toml::from_str(text).map_err(|e| malformed(e.span(), e.message().trim().to_owned()))?;
        Ok(UserConfig {
            path: PathBuf::from(name),
            table,
        })
    }

    /// The file this configuration was read from (and is saved to).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A setting's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.table.get(key).and_then(|v| v.as_str())
    }

    /// Every setting in the file, known or not, as `(key, value as written)`, sorted by key.
    pub fn settings(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .table
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => (k.clone(), s.to_owned()),
                None => (k.clone(), v.to_string()),
            })
            .collect();
        out.sort();
        out
    }

    /// Sets a known setting after checking its value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let Some((known, _)) = SETTINGS.iter().find(|(k, _)| *k == key) else {
            return Err(ConfigError::UnknownKey { key: key.into() });
        };
        check_value(known, value)?;
        self.table
            .insert((*known).to_owned(), toml::Value::String(value.to_owned()));
        Ok(())
    }

    /// Removes a setting (known or not); returns whether it was there.
    pub fn unset(&mut self, key: &str) -> Result<bool, ConfigError> {
        if self.table.contains_key(key) {
            self.table.remove(key);
            return Ok(true);
        }
        match SETTINGS.iter().any(|(k, _)| *k == key) {
            true => Ok(false),
            false => Err(ConfigError::UnknownKey { key: key.into() }),
        }
    }

    /// Writes the file atomically (temp file, fsync, rename), creating its directory.
    pub fn save(&self) -> Result<(), ConfigError> {
        let io = |what, source| ConfigError::Io {
            what,
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        let text = format!(
            "# quilt's user settings; `quilt config` lists and changes them.\n{}",
            toml::to_string(&self.table)
                .map_err(|e| io("write", std::io::Error::other(e.to_string())))?
        );
        crate::atomic::write_durably(&self.path, text.as_bytes()).map_err(|e| io("write", e))
    }
}

fn check_value(key: &str, value: &str) -> Result<(), ConfigError> {
    if key == DEFAULT_REMOTE {
        quilt_sync::RemoteUrl::parse(value).map_err(|e| ConfigError::BadValue {
            key: key.into(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn malformed_files_name_the_line() {
        for (text, line) in [
            ("default-remote = \"s3://b/r\"\nnot toml at all\n", 2),
            ("# c\n\ndefault-remote = 3\n", 3),
            ("default-remote = \"\"\n", 1),
        ] {
            let e = UserConfig::parse(text, "/home/u/.config/quilt/config.toml").unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("/home/u/.config/quilt/config.toml:{line}: ")),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_kept_and_known_ones_checked() {
        let mut c = UserConfig::parse("future = 1\n", "c").unwrap();
        c.set(DEFAULT_REMOTE, "s3://bucket/p").unwrap();
        assert_eq!(
            c.settings(),
            [
                ("default-remote".to_owned(), "s3://bucket/p".to_owned()),
                ("future".to_owned(), "1".to_owned())
            ]
        );
        assert!(matches!(
            c.set("nope", "x"),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            c.set(DEFAULT_REMOTE, "ftp://x"),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(c.unset("future").unwrap());
        assert!(!c.unset("future").is_ok_and(|was| was));
    }

    #[test]
    fn saved_files_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let mut c = UserConfig::load_from(&path).unwrap();
        assert!(c.settings().is_empty());
        c.set(DEFAULT_REMOTE, "/srv/registry").unwrap();
        c.save().unwrap();
        let again = UserConfig::load_from(&path).unwrap();
        assert_eq!(again.get(DEFAULT_REMOTE), Some("/srv/registry"));
    }
}
