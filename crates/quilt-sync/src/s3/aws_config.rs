//! The AWS shared configuration files, read as boto3 (botocore) reads them: `~/.aws/config`
//! (`[default]`, `[profile NAME]`, `[services NAME]`) and `~/.aws/credentials` (`[NAME]`).
//!
//! [`AwsConfig::parse`] is a pure function of the two files' text (the fuzz target `config`
//! feeds it arbitrary bytes); [`resolve`] combines it with [`S3Options`] into where to send
//! requests and how to sign them, in botocore's order of precedence:
//!
//! - endpoint: `--endpoint` of a remote or `AWS_ENDPOINT_URL_S3`, then `endpoint_url` under
//!   `s3 =` in the profile's `[services NAME]` section, then `AWS_ENDPOINT_URL`, then the
//!   profile's `endpoint_url`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores them all but
//!   a remote's own `--endpoint`;
//! - region: `--region` of a remote, `AWS_REGION` or `AWS_DEFAULT_REGION`, then the profile's
//!   `region`;
//! - credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (unless the profile was named
//!   explicitly, as botocore ignores them then), then the profile's keys in the credentials
//!   file, then its `credential_process`, then keys in the config file.
//!
//! A profile's settings in the credentials file override the same settings in the config file,
//! as botocore merges the two.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::S3Options;
use crate::{Error, Result};

/// Settings of one section, keys lowercased (botocore's parser lowercases option names).
type Section = BTreeMap<String, String>;

/// Static keys found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticKeys {
    /// `aws_access_key_id`.
    pub access_key: String,
    /// `aws_secret_access_key`.
    pub secret_key: String,
    /// `aws_session_token`, for temporary keys.
    pub session_token: Option<String>,
}

/// What one profile says, both files merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// `region`.
    pub region: Option<String>,
    /// `endpoint_url` of the profile itself (every service).
    pub endpoint_url: Option<String>,
    /// `endpoint_url` under `s3 =` in the `[services NAME]` section the profile names.
    pub s3_endpoint_url: Option<String>,
    /// `credential_process`: a command line that prints keys.
    pub credential_process: Option<String>,
    /// Keys from the credentials file.
    pub credentials_file_keys: Option<StaticKeys>,
    /// Keys from the config file.
    pub config_file_keys: Option<StaticKeys>,
}

/// The two files, parsed.
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    profiles: BTreeMap<String, Section>,
    services: BTreeMap<String, Section>,
    credentials: BTreeMap<String, Section>,
}

/// Where the settings of a request come from, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The endpoint URL, or `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The signing region, if anything configures one.
    pub region: Option<String>,
    /// Where the keys come from.
    pub credentials: CredentialSource,
}

/// How to get the keys a request is signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Keys given in the options, the environment or a file.
    Static(StaticKeys),
    /// A `credential_process` command line, run when keys are needed and again when the keys
    /// it gave expire.
    Process {
        /// The command line, as written in the config file.
        command: String,
        /// The profile that names it (for error messages).
        profile: String,
    },
}

impl AwsConfig {
    /// Parses the text of a config file and of a credentials file (either may be empty).
    /// `config_name` and `credentials_name` name them in errors.
    pub fn parse(
        config: &str,
        config_name: &str,
        credentials: &str,
        credentials_name: &str,
    ) -> Result<AwsConfig> {
        let mut out = AwsConfig::default();
        for (section, props) in parse_ini(config, config_name)? {
            if let Some(name) = config_profile_name(&section) {
                merge(out.profiles.entry(name).or_default(), props);
            } else if let Some(name) = section_argument(&section, "services") {
                merge(out.services.entry(name).or_default(), props);
            }
        }
        for (section, props) in parse_ini(credentials, credentials_name)? {
            merge(out.credentials.entry(section).or_default(), props);
        }
        Ok(out)
    }

    /// Reads and parses the files; a missing file (or none at all) counts as empty.
    pub fn load(config: Option<&Path>, credentials: Option<&Path>) -> Result<AwsConfig> {
        let read = |p: Option<&Path>| {
            let Some(p) = p else {
                return Ok(String::new());
            };
            match std::fs::read(p) {
                Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
                    Error::Config(format!(
                        "{} is not valid UTF-8; fix or move the AWS configuration file",
                        p.display()
                    ))
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(String::new()),
                Err(e) => Err(Error::io("reading the AWS configuration file", p, e)),
            }
        };
        let name = |p: Option<&Path>| p.map(|p| p.display().to_string()).unwrap_or_default();
        AwsConfig::parse(
            &read(config)?,
            &name(config),
            &read(credentials)?,
            &name(credentials),
        )
    }

    /// Whether either file has a section for `name`.
    pub fn has_profile(&self, name: &str) -> bool {
        self.profiles.contains_key(name) || self.credentials.contains_key(name)
    }

    /// Every profile name in either file, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .profiles
            .keys()
            .chain(self.credentials.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The settings of profile `name` (all empty when neither file has it).
    pub fn profile(&self, name: &str) -> Profile {
        let empty = Section::new();
        let config = self.profiles.get(name).unwrap_or(&empty);
        let creds = self.credentials.get(name).unwrap_or(&empty);
        // The credentials file's values win, as botocore merges it into the profile.
        let get = |key: &str| {
            creds
                .get(key)
                .or_else(|| config.get(key))
                .filter(|v| !v.is_empty())
                .cloned()
        };
        let s3_endpoint_url = get("services")
            .and_then(|s| self.services.get(&s))
            .and_then(|svc| svc.get("s3"))
            .and_then(|nested| nested_value(nested, "endpoint_url"));
        Profile {
            region: get("region"),
            endpoint_url: get("endpoint_url"),
            s3_endpoint_url,
            credential_process: get("credential_process"),
            credentials_file_keys: keys_of(creds),
            config_file_keys: keys_of(config),
        }
    }
}

fn merge(into: &mut Section, props: Section) {
    into.extend(props);
}

/// `[default]`, `[profile NAME]` (also `[profile default]`) in the config file.
fn config_profile_name(section: &str) -> Option<String> {
    if section.trim() == "default" {
        return Some("default".into());
    }
    section_argument(section, "profile")
}

/// `NAME` of a section `[KIND NAME]` (quotes allowed, as botocore splits it like a shell).
fn section_argument(section: &str, kind: &str) -> Option<String> {
    let parts = shlex::split(section)?;
    match parts.as_slice() {
        [k, name] if k == kind && !name.is_empty() => Some(name.clone()),
        _ => None,
    }
}

/// A value of a nested block (`s3 =\n  endpoint_url = URL`), one `key = value` per line.
fn nested_value(block: &str, key: &str) -> Option<String> {
    block.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key) && !v.trim().is_empty()).then(|| v.trim().to_owned())
    })
}

fn keys_of(section: &Section) -> Option<StaticKeys> {
    let access = section.get("aws_access_key_id").filter(|v| !v.is_empty())?;
    let secret = section
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())?;
    Some(StaticKeys {
        access_key: access.clone(),
        secret_key: secret.clone(),
        session_token: section
            .get("aws_session_token")
            .or_else(|| section.get("aws_security_token"))
            .filter(|v| !v.is_empty())
            .cloned(),
    })
}

/// The sections of an INI file as botocore's `RawConfigParser` sees them: no quoting or
/// escapes, indented lines continue the value above (nested blocks), `#` and `;` start comment
/// lines. Lines before the first section are ignored.
fn parse_ini(text: &str, name: &str) -> Result<Vec<(String, Section)>> {
    check_lines(text, name)?;
    let opt = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    };
    let parsed = ini::Ini::load_from_str_opt(text, opt).map_err(|e| {
        Error::Config(format!(
            "{name}:{}: {} (AWS configuration file; fix the line or move the file)",
            e.line, e.msg
        ))
    })?;
    let mut out = Vec::new();
    for (section, props) in &parsed {
        let Some(section) = section else { continue };
        let props = props
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        out.push((section.trim().to_owned(), props));
    }
    Ok(out)
}

/// Refuses, with its line number, a line that botocore's parser refuses too and that
/// `rust-ini` would instead read on into the next lines: an unclosed `[section` and a line that
/// is neither a section, a `key = value` (or `key: value`), an indented continuation, nor a
/// comment.
fn check_lines(text: &str, name: &str) -> Result<()> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let skip = t.is_empty() || t.starts_with(['#', ';']) || line.starts_with([' ', '\t']);
        let bad = if skip {
            None
        } else if t.starts_with('[') {
            (!t.ends_with(']') || t.len() < 3).then_some("a section header must be [name]")
        } else if !t.contains(['=', ':']) {
            Some("expected `key = value`, a [section] or a # comment")
        } else {
            None
        };
        if let Some(reason) = bad {
            return Err(Error::Config(format!(
                "{name}:{}: {reason} (AWS configuration file; fix the line or move the file)",
                i + 1
            )));
        }
    }
    Ok(())
}

/// `~/.aws/<file>`, or `None` without a home directory.
fn home_file(file: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".aws").join(file))
}

/// The config and credentials files `opts` points at (default `~/.aws/config` and
/// `~/.aws/credentials`).
pub fn files(opts: &S3Options) -> (Option<PathBuf>, Option<PathBuf>) {
    (
        opts.config_file.clone().or_else(|| home_file("config")),
        opts.credentials_file
            .clone()
            .or_else(|| home_file("credentials")),
    )
}

/// Combines `opts` (arguments and environment) with the AWS configuration files, in
/// botocore's order (see the module documentation). The files are read only when `opts`
/// leaves something open.
pub fn resolve(opts: &S3Options) -> Result<Resolved> {
    let explicit_keys = explicit_keys(opts)?;
    let all_given = opts.endpoint.is_some() && opts.region.is_some() && explicit_keys.is_some();
    let (config_path, credentials_path) = files(opts);
    let config = match all_given {
        true => AwsConfig::default(),
        false => AwsConfig::load(config_path.as_deref(), credentials_path.as_deref())?,
    };
    resolve_with(
        opts,
        &config,
        explicit_keys,
        &config_path,
        &credentials_path,
    )
}

/// [`resolve`] on already parsed files (pure: the fuzz target calls it).
pub fn resolve_with(
    opts: &S3Options,
    config: &AwsConfig,
    explicit_keys: Option<StaticKeys>,
    config_path: &Option<PathBuf>,
    credentials_path: &Option<PathBuf>,
) -> Result<Resolved> {
    let name = opts.profile.as_deref().unwrap_or("default");
    if opts.profile.is_some() && name != "default" && !config.has_profile(name) {
        return Err(Error::Config(format!(
            "the AWS profile {name:?} (AWS_PROFILE, or a remote's --profile) is in neither {} \
             nor {}: put a [profile {name}] section in the first or a [{name}] section in the \
             second, or select another profile",
            shown(config_path),
            shown(credentials_path)
        )));
    }
    let profile = config.profile(name);
    let configured = |v: &Option<String>| v.clone().filter(|_| !opts.ignore_configured_endpoints);
    let endpoint = opts
        .endpoint
        .clone()
        .or_else(|| configured(&profile.s3_endpoint_url))
        .or_else(|| opts.global_endpoint.clone())
        .or_else(|| configured(&profile.endpoint_url));
    let region = opts.region.clone().or(profile.region.clone());
    let credentials = match explicit_keys {
        Some(k) => CredentialSource::Static(k),
        None => match (
            profile.credentials_file_keys,
            profile.credential_process,
            profile.config_file_keys,
        ) {
            (Some(k), _, _) => CredentialSource::Static(k),
            (None, Some(command), _) => CredentialSource::Process {
                command,
                profile: name.to_owned(),
            },
            (None, None, Some(k)) => CredentialSource::Static(k),
            (None, None, None) => {
                return Err(Error::Config(format!(
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put \
                     a [{name}] section in {} (aws_access_key_id, aws_secret_access_key) or a \
                     credential_process in {}, and select it with AWS_PROFILE or `quilt remote \
                     add ... --profile`",
                    shown(credentials_path),
                    shown(config_path)
                )))
            }
        },
    };
    Ok(Resolved {
        endpoint,
        region,
        credentials,
    })
}

fn shown(p: &Option<PathBuf>) -> String {
    match p {
        Some(p) => p.display().to_string(),
        None => "~/.aws (no home directory)".into(),
    }
}

/// Keys given as options (the environment, or a test): both halves, or neither.
fn explicit_keys(opts: &S3Options) -> Result<Option<StaticKeys>> {
    match (&opts.access_key, &opts.secret_key) {
        (Some(access), Some(secret)) => Ok(Some(StaticKeys {
            access_key: access.clone(),
            secret_key: secret.clone(),
            session_token: opts.session_token.clone(),
        })),
        (Some(_), None) => Err(Error::Config(
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
        )),
        _ => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    const CONFIG: &str = "\
# a comment
[default]
region = eu-west-1
output = json

[profile dev]
region = us-west-2
endpoint_url = http://global.example:1
services = local
credential_process = /bin/echo hello

[profile \"spaced name\"]
region = ap-south-1

[services local]
s3 =
  endpoint_url = http://s3.example:9000
  addressing_style = path
dynamodb =
  endpoint_url = http://dynamo.example:8000
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKID
aws_secret_access_key = SECRET

[dev]
region = us-east-2
";

    fn parsed() -> AwsConfig {
        AwsConfig::parse(CONFIG, "config", CREDENTIALS, "credentials").unwrap()
    }

    #[test]
    fn profiles_merge_both_files() {
        let c = parsed();
        assert_eq!(
            c.profile_names(),
            ["default", "dev", "spaced name"].map(String::from)
        );
        let d = c.profile("default");
        assert_eq!(d.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            d.credentials_file_keys,
            Some(StaticKeys {
                access_key: "AKID".into(),
                secret_key: "SECRET".into(),
                session_token: None
            })
        );
        let dev = c.profile("dev");
        // The credentials file wins for the same setting.
        assert_eq!(dev.region.as_deref(), Some("us-east-2"));
        assert_eq!(dev.endpoint_url.as_deref(), Some("http://global.example:1"));
        assert_eq!(
            dev.s3_endpoint_url.as_deref(),
            Some("http://s3.example:9000")
        );
        assert_eq!(dev.credential_process.as_deref(), Some("/bin/echo hello"));
        assert_eq!(
            c.profile("spaced name").region.as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(c.profile("nope"), Profile::default());
    }

    #[test]
    fn precedence_follows_botocore() {
        let c = parsed();
        let opts = S3Options {
            profile: Some("dev".into()),
            ..S3Options::default()
        };
        let r = resolve_with(&opts, &c, None, &None, &None).unwrap();
        assert_eq!(r.endpoint.as_deref(), Some("http://s3.example:9000"));
        assert_eq!(
            r.credentials,
            CredentialSource::Process {
                command: "/bin/echo hello".into(),
                profile: "dev".into()
            }
        );
        // AWS_ENDPOINT_URL ranks below the services section, AWS_ENDPOINT_URL_S3 above it.
        let global = S3Options {
            global_endpoint: Some("http://env-global:1".into()),
            ..opts.clone()
        };
        let r = resolve_with(&global, &c, None, &None, &None).unwrap();
        assert_eq!(r.endpoint.as_deref(), Some("http://s3.example:9000"));
        let specific = S3Options {
            endpoint: Some("http://env-s3:1".into()),
            ..global.clone()
        };
        let r = resolve_with(&specific, &c, None, &None, &None).unwrap();
        assert_eq!(r.endpoint.as_deref(), Some("http://env-s3:1"));
        let ignored = S3Options {
            ignore_configured_endpoints: true,
            global_endpoint: None,
            ..opts.clone()
        };
        let r = resolve_with(&ignored, &c, None, &None, &None).unwrap();
        assert_eq!(r.endpoint, None);
        // The default profile: keys from the credentials file, region from the config.
        let r = resolve_with(&S3Options::default(), &c, None, &None, &None).unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(r.credentials, CredentialSource::Static(_)));
        // A region given in the environment wins over the profile's.
        let env_region = S3Options {
            region: Some("sa-east-1".into()),
            ..S3Options::default()
        };
        let r = resolve_with(&env_region, &c, None, &None, &None).unwrap();
        assert_eq!(r.region.as_deref(), Some("sa-east-1"));
    }

    #[test]
    fn a_missing_profile_is_named() {
        let opts = S3Options {
            profile: Some("ghost".into()),
            ..S3Options::default()
        };
        let e = resolve_with(&opts, &parsed(), None, &None, &None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"ghost\"") && e.contains("[profile ghost]"),
            "{e}"
        );
        let empty = AwsConfig::default();
        let e = resolve_with(&S3Options::default(), &empty, None, &None, &None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("no S3 credentials"), "{e}");
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (config, credentials, want) in [
            ("[default]\nregion = x\n[broken\nregion = y\n", "", "/c:3:"),
            ("# c\n[default]\njust words\n", "", "/c:3:"),
            ("", "[x]\naws_access_key_id = a\n[]\n", "/k:3:"),
        ] {
            let e = AwsConfig::parse(config, "/c", credentials, "/k")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{e}");
        }
        // Indented lines continue a value; comments and blank lines are fine.
        AwsConfig::parse("[default]\n; c\n\ns3 =\n  a = b\n\tc: d\n", "/c", "", "/k").unwrap();
    }
}
