use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use quilt::store::RemoteSettings;
use quilt::sync::{open_remote, Counting, Remote, RemoteOptions, RemoteUrl};
use quilt::Repository;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
#[command(after_help = "Examples:
  quilt remote add origin s3://my-bucket/registry
  quilt remote add minio s3://data/registry --endpoint http://127.0.0.1:9000 --profile minio
  quilt remote add backup /mnt/share/registry      (created if missing)
  quilt remote set-url origin s3://other-bucket/registry
  quilt remote set origin --region eu-west-1
  quilt remote list")]
pub enum Command {
    /// Add a remote: s3://bucket[/prefix], file:///path or a directory path. A relative path
    /// is made absolute; a missing directory is created.
    Add {
        name: String,
        url: String,
        #[command(flatten)]
        settings: SettingArgs,
    },
    /// Point an existing remote at another URL.
    SetUrl { name: String, url: String },
    /// Change how an S3 remote is reached: its endpoint, region or AWS profile.
    Set {
        name: String,
        #[command(flatten)]
        settings: SettingArgs,
        /// Forget a setting (endpoint, region or profile); repeatable.
        #[arg(long, value_name = "SETTING", value_parser = ["endpoint", "region", "profile"])]
        unset: Vec<String>,
    },
    /// Remove a remote (nothing on the remote is touched).
    Remove { name: String },
    /// List remotes and their settings; the default is marked with *.
    List,
    /// Set the remote used when a command names none.
    Default { name: String },
}

/// How an S3 remote is reached, overriding the environment and the AWS configuration files
/// for this remote only.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingArgs {
    /// S3 endpoint URL, http(s)://host[:port] (default: AWS, or what the AWS configuration
    /// says).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region (default: the configured one; for AWS, the bucket's own).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// AWS profile: a section of ~/.aws/config or ~/.aws/credentials (keys in the environment
    /// are then not used).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
}

impl SettingArgs {
    fn is_empty(&self) -> bool {
        self.endpoint.is_none() && self.region.is_none() && self.profile.is_none()
    }

    /// `base` with these settings applied (and `unset` ones removed), checked.
    fn apply(&self, mut base: RemoteSettings, unset: &[String]) -> anyhow::Result<RemoteSettings> {
        for u in unset {
            match u.as_str() {
                "endpoint" => base.endpoint = None,
                "region" => base.region = None,
                _ => base.profile = None,
            }
        }
        if let Some(e) = &self.endpoint {
            let e = e.trim_end_matches('/');
            if !(e.starts_with("http://") || e.starts_with("https://"))
                || e.contains(char::is_whitespace)
            {
                return Err(usage(format!(
                    "invalid --endpoint {e:?}: use http(s)://host[:port]"
                )));
            }
            base.endpoint = Some(e.to_owned());
        }
        if let Some(r) = &self.region {
            if r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(usage(format!(
                    "invalid --region {r:?}: use a region name such as eu-west-1"
                )));
            }
            base.region = Some(r.clone());
        }
        if let Some(p) = &self.profile {
            if p.is_empty() || p.contains(['[', ']', '\n']) {
                return Err(usage(format!(
                    "invalid --profile {p:?}: use the name of an AWS profile"
                )));
            }
            base.profile = Some(p.clone());
        }
        Ok(base)
    }
}

pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let store = repo.store();
    match cmd {
        Command::Add {
            name,
            url,
            settings,
        } => {
            validate_name(&name)?;
            let url = checked_url(&repo, &ctx.cwd, &url)?;
            if store.db().remotes()?.iter().any(|(n, _)| *n == name) {
                anyhow::bail!(
                    "a remote named {name:?} exists; change it with `quilt remote set-url {name} URL`"
                );
            }
            let settings = settings.apply(RemoteSettings::default(), &[])?;
            only_for_s3(&url, &settings)?;
            create_missing_dir(&url, ctx)?;
            store.db().add_remote(&name, &url)?;
            if settings != RemoteSettings::default() {
                store.db().set_remote_settings(&name, &settings)?;
            }
            if ctx.json {
                let mut v = serde_json::json!({"added": name, "url": url});
                if settings != RemoteSettings::default() {
                    v["settings"] = settings_json(&settings);
                }
                ctx.print_json(&v);
            }
            ctx.note(format!(
                "added remote {name} -> {url}{}",
                settings_text(&settings)
            ));
        }
        Command::SetUrl { name, url } => {
            let url = checked_url(&repo, &ctx.cwd, &url)?;
            let Some(rec) = store.db().remote_record(&name)? else {
                anyhow::bail!(
                    "no remote named {name:?}; add it with `quilt remote add {name} URL`"
                );
            };
            only_for_s3(&url, &rec.settings)?;
            create_missing_dir(&url, ctx)?;
            store.db().set_remote_url(&name, &url)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"updated": name, "url": url}));
            }
            ctx.note(format!("remote {name} -> {url}"));
        }
        Command::Set {
            name,
            settings,
            unset,
        } => {
            let Some(rec) = store.db().remote_record(&name)? else {
                anyhow::bail!(
                    "no remote named {name:?}; add it with `quilt remote add {name} URL --endpoint ...`"
                );
            };
            if settings.is_empty() && unset.is_empty() {
                return Err(usage(
                    "nothing to change: give --endpoint, --region, --profile or --unset SETTING",
                ));
            }
            let new = settings.apply(rec.settings, &unset)?;
            only_for_s3(&rec.url, &new)?;
            store.db().set_remote_settings(&name, &new)?;
            if ctx.json {
                ctx.print_json(
                    &serde_json::json!({"updated": name, "settings": settings_json(&new)}),
                );
            }
            ctx.note(format!(
                "remote {name} -> {}{}",
                rec.url,
                settings_text(&new)
            ));
        }
        Command::Remove { name } => {
            store.db().remove_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": name }));
            }
            ctx.note(format!("removed remote {name}"));
        }
        Command::List => list(&repo, ctx)?,
        Command::Default { name } => {
            store.db().set_default_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "default": name }));
            }
            ctx.note(format!("default remote is now {name}"));
        }
    }
    Ok(())
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    super::output::fail(quilt::ErrorKind::Usage, message)
}

/// Endpoints, regions and profiles mean something to S3 only.
fn only_for_s3(url: &str, settings: &RemoteSettings) -> anyhow::Result<()> {
    if *settings != RemoteSettings::default()
        && !matches!(RemoteUrl::parse(url)?, RemoteUrl::S3 { .. })
    {
        return Err(usage(format!(
            "--endpoint, --region and --profile apply to s3:// remotes only, and {url} is a directory"
        )));
    }
    Ok(())
}

fn settings_json(s: &RemoteSettings) -> serde_json::Value {
    serde_json::json!({"endpoint": s.endpoint, "region": s.region, "profile": s.profile})
}

/// ` (endpoint=URL, region=R, profile=P)` for the settings that are set, or nothing.
fn settings_text(s: &RemoteSettings) -> String {
    let parts: Vec<String> = [
        ("endpoint", &s.endpoint),
        ("region", &s.region),
        ("profile", &s.profile),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!(" ({})", parts.join(", ")),
    }
}

fn list(repo: &Repository, ctx: &Ctx) -> anyhow::Result<()> {
    let store = repo.store();
    let default = store.db().default_remote()?;
    let remotes = store.db().remote_records()?;
    if ctx.json {
        let v: Vec<_> = remotes
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "url": r.url,
                    "default": Some(&r.name) == default.as_ref(),
                    "endpoint": r.settings.endpoint,
                    "region": r.settings.region,
                    "profile": r.settings.profile,
                    "found_region": r.found_region,
                })
            })
            .collect();
        ctx.print_json(&serde_json::json!({ "remotes": v }));
        return Ok(());
    }
    for r in remotes {
        let mark = if Some(&r.name) == default.as_ref() {
            "*"
        } else {
            " "
        };
        let mut line = format!("{mark} {}\t{}", r.name, r.url);
        let mut parts = Vec::new();
        for (k, v) in [
            ("endpoint", &r.settings.endpoint),
            ("region", &r.settings.region),
            ("profile", &r.settings.profile),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        if let (None, Some(found)) = (&r.settings.region, &r.found_region) {
            parts.push(format!("region={found} (the bucket's)"));
        }
        if !parts.is_empty() {
            line.push('\t');
            line.push_str(&parts.join(" "));
        }
        println!("{line}");
    }
    Ok(())
}

/// `remote add`, `set-url` and `--create-remote` create the directory they are pointed at,
/// and say so.
pub fn create_missing_dir(url: &str, ctx: &Ctx) -> anyhow::Result<()> {
    if let RemoteUrl::Dir(dir) = RemoteUrl::parse(url)? {
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| {
                anyhow::anyhow!(
                    "could not create the remote directory {}: {e}",
                    dir.display()
                )
            })?;
            ctx.note(format!("created remote directory {}", dir.display()));
        }
    }
    Ok(())
}

fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("://");
    if !ok {
        anyhow::bail!("invalid remote name {name:?}: use letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

/// A remote URL checked for use from `repo`: it parses, a directory is made absolute (relative
/// to `cwd`) and lies outside the working directory, so pushed files never become part of the
/// package. Returns the URL to store or open.
pub fn checked_url(repo: &Repository, cwd: &Path, url: &str) -> anyhow::Result<String> {
    let RemoteUrl::Dir(dir) = RemoteUrl::parse(url)? else {
        return Ok(url.to_owned());
    };
    let dir = resolved(&cwd.join(dir))?;
    let worktree = repo.worktree();
    if dir.starts_with(worktree) {
        anyhow::bail!(
            "remote directory {} is inside the working directory {}, so pushed files would \
             become part of the package; use a directory outside it",
            dir.display(),
            worktree.display()
        );
    }
    dir.to_str().map(str::to_owned).ok_or_else(|| {
        anyhow::anyhow!(
            "remote directory {} is not valid UTF-8; rename it",
            dir.display()
        )
    })
}

/// An absolute path with `.` and `..` removed and its longest existing ancestor resolved
/// through symlinks, so it compares correctly with the (canonical) working directory.
fn resolved(path: &Path) -> anyhow::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            c => clean.push(c),
        }
    }
    let mut rest = Vec::new();
    let mut base = clean.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            return Ok(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => return Ok(clean),
        }
    }
}

/// A remote that counts its requests, so `--json` can report them.
pub type Counted = Counting<Box<dyn Remote>>;

/// A remote to open: its URL, and, for one added with `quilt remote add`, its name, settings
/// and the region found for its bucket.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    name: Option<String>,
    settings: RemoteSettings,
    found_region: Option<String>,
}

impl Target {
    fn url(url: String) -> Target {
        Target {
            url,
            name: None,
            settings: RemoteSettings::default(),
            found_region: None,
        }
    }
}

/// Opens a remote given by name (from `quilt remote add`), by URL, or the default when `None`.
pub fn resolve_remote(
    repo: &Repository,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    open_remote_at(repo, Path::new("."), name_or_url)
}

/// [`resolve_remote`] with relative paths taken from `ctx.cwd`, and a missing remote directory
/// created (and reported) when `create` is set.
pub fn resolve_remote_in(
    repo: &Repository,
    ctx: &Ctx,
    name_or_url: Option<&str>,
    create: bool,
) -> anyhow::Result<(String, Counted)> {
    if create {
        let url = target(Some(repo), name_or_url)?.url;
        create_missing_dir(&checked_url(repo, &ctx.cwd, &url)?, ctx)?;
    }
    open_remote_at(repo, &ctx.cwd, name_or_url)
}

/// Opens a remote by name (inside a quilt directory), by URL or path (anywhere), or, when
/// `None`, the working directory's default remote, else the user's (`quilt config
/// default-remote`). Reading a remote (`log --remote`, `list --remote`) or writing a manifest
/// to it (`build --registry`) needs no working directory.
pub fn open_anywhere(ctx: &Ctx, name_or_url: Option<&str>) -> anyhow::Result<(String, Counted)> {
    match ctx.repo() {
        Ok(repo) => open_remote_at(&repo, &ctx.cwd, name_or_url),
        Err(_) => open_to_read(None, ctx, name_or_url),
    }
}

/// Opens a remote to read from, as [`open_anywhere`] does, with names looked up in `repo`
/// when there is one; a directory remote may lie anywhere (`install --from`).
pub fn open_to_read(
    repo: Option<&Repository>,
    ctx: &Ctx,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let t = target(repo, name_or_url)?;
    let url = match RemoteUrl::parse(&t.url)? {
        RemoteUrl::Dir(d) => {
            let d = resolved(&ctx.cwd.join(d))?;
            d.to_str().map(str::to_owned).ok_or_else(|| {
                anyhow::anyhow!(
                    "remote directory {} is not valid UTF-8; rename it",
                    d.display()
                )
            })?
        }
        RemoteUrl::S3 { .. } => t.url.clone(),
    };
    let remote = open_remote(&url, &options_for(&t))
        .with_context(|| format!("could not open remote {url}"))?;
    if let Some(repo) = repo {
        remember_found_region(repo, &t);
    }
    Ok((url, Counting::new(remote)))
}

fn open_remote_at(
    repo: &Repository,
    cwd: &Path,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let t = target(Some(repo), name_or_url)?;
    let url = checked_url(repo, cwd, &t.url)?;
    let remote = open_remote(&url, &options_for(&t))?;
    remember_found_region(repo, &t);
    Ok((url, Counting::new(remote)))
}

/// Options for opening `t`: the environment's, with the remote's own settings on top.
fn options_for(t: &Target) -> RemoteOptions {
    let mut o = super::remote_options();
    if let Some(p) = &t.settings.profile {
        o.s3 = o.s3.with_profile(p);
    }
    if let Some(e) = &t.settings.endpoint {
        o.s3.endpoint = Some(e.clone());
    }
    if let Some(r) = &t.settings.region {
        o.s3.region = Some(r.clone());
    }
    o.s3.known_region = t.found_region.clone();
    o
}

/// Keeps the region an S3 remote's bucket named when it was opened (see quilt-sync's
/// `s3::region`), so later runs need not ask again. A failure to record it costs only that.
fn remember_found_region(repo: &Repository, t: &Target) {
    let Some(name) = &t.name else { return };
    let Ok(RemoteUrl::S3 { bucket, .. }) = RemoteUrl::parse(&t.url) else {
        return;
    };
    let Some(found) = quilt::sync::s3::region::discovered_region(&bucket) else {
        return;
    };
    if t.found_region.as_deref() != Some(found.as_str()) {
        if let Err(e) = repo
            .store()
            .db()
            .set_remote_found_region(name, &t.url, &found)
        {
            tracing::debug!("could not record the region of remote {name}: {e}");
        }
    }
}

/// The remote a command means: a name (known only inside a working directory), a URL, or,
/// when `None`, the working directory's default remote, else the user's default remote.
fn target(repo: Option<&Repository>, name_or_url: Option<&str>) -> anyhow::Result<Target> {
    let record = |name: &str| -> anyhow::Result<Option<Target>> {
        let Some(repo) = repo else { return Ok(None) };
        Ok(repo.store().db().remote_record(name)?.map(|r| Target {
            url: r.url,
            name: Some(r.name),
            settings: r.settings,
            found_region: r.found_region,
        }))
    };
    if let Some(n) = name_or_url {
        if let Some(t) = record(n)? {
            return Ok(t);
        }
        if n.contains(':') || n.contains('/') {
            return Ok(Target::url(n.to_owned()));
        }
        if repo.is_none() {
            anyhow::bail!(
                "{n:?} is a remote name, and names are only known inside a quilt directory; give the remote's URL or path instead"
            );
        }
        anyhow::bail!("no remote named {n:?}; add one with `quilt remote add {n} URL`");
    }
    if let Some(default) = repo
        .map(|r| r.store().db().default_remote())
        .transpose()?
        .flatten()
    {
        return match record(&default)? {
            Some(t) => Ok(t),
            None => anyhow::bail!("the default remote {default:?} no longer exists; set one with `quilt remote default NAME`"),
        };
    }
    match quilt::user_config::default_remote()? {
        Some(url) => Ok(Target::url(url)),
        None => anyhow::bail!(
            "no remote given and no default remote; add one with `quilt remote add origin URL`, or set one for every directory with `quilt config default-remote URL`"
        ),
    }
}

pub fn open_named_remote(repo: &Repository, name_or_url: &str) -> anyhow::Result<Counted> {
    Ok(resolve_remote(repo, Some(name_or_url))?.1)
}
