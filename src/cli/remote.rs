use std::path::Path;

use quilt::store::RemoteSettings;
use quilt::sync::{Counting, Remote};
use quilt::{RemoteSetting, Repository, SettingsChange};

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
        /// How data is laid out: plain (quilt3's, one object per file) or packed (small
        /// objects in pack files; quilt3 cannot read the data).
        #[arg(long, value_name = "LAYOUT", value_parser = super::parse_layout)]
        layout: Option<quilt::sync::RemoteLayout>,
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
    /// The change these flags (and `--unset`) ask for.
    fn change(self, unset: &[String]) -> SettingsChange {
        let unset = unset
            .iter()
            .map(|u| match u.as_str() {
                "endpoint" => RemoteSetting::Endpoint,
                "region" => RemoteSetting::Region,
                _ => RemoteSetting::Profile,
            })
            .collect();
        SettingsChange {
            endpoint: self.endpoint,
            region: self.region,
            profile: self.profile,
            unset,
        }
    }
}

pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    match cmd {
        Command::Add {
            name,
            url,
            settings,
            layout,
        } => {
            let added = repo.add_remote(&name, &url, &ctx.cwd, &settings.change(&[]))?;
            note_created(ctx, added.created.as_deref());
            let layout = layout.unwrap_or_default();
            if layout == quilt::sync::RemoteLayout::Packed {
                repo.set_remote_layout(&name, layout)?;
                ctx.note(PACKED_NOTE.to_owned());
            }
            let (url, settings) = (added.url, added.settings);
            if ctx.json {
                let mut v = serde_json::json!({"added": name, "url": url});
                if layout == quilt::sync::RemoteLayout::Packed {
                    v["layout"] = layout.as_str().into();
                }
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
            let moved = repo.set_remote_url(&name, &url, &ctx.cwd)?;
            note_created(ctx, moved.created.as_deref());
            if ctx.json {
                ctx.print_json(&serde_json::json!({"updated": name, "url": moved.url}));
            }
            ctx.note(format!("remote {name} -> {}", moved.url));
        }
        Command::Set {
            name,
            settings,
            unset,
        } => {
            let set = repo.set_remote_settings(&name, &settings.change(&unset))?;
            if ctx.json {
                ctx.print_json(
                    &serde_json::json!({"updated": name, "settings": settings_json(&set.settings)}),
                );
            }
            ctx.note(format!(
                "remote {name} -> {}{}",
                set.url,
                settings_text(&set.settings)
            ));
        }
        Command::Remove { name } => {
            repo.remove_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": name }));
            }
            ctx.note(format!("removed remote {name}"));
        }
        Command::List => list(&repo, ctx)?,
        Command::Default { name } => {
            repo.set_default_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "default": name }));
            }
            ctx.note(format!("default remote is now {name}"));
        }
    }
    Ok(())
}

/// What `remote add --layout packed` tells the user.
const PACKED_NOTE: &str = "note: this remote uses the packed layout: quilt3 can list its packages but cannot read their data. One `quilt push` of a version to a remote with the plain layout (or with --dest) makes a copy quilt3 can read.";

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
    let default = repo.default_remote()?;
    let remotes = repo.remotes()?;
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
                    "layout": r.layout.as_deref().unwrap_or("plain"),
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
        if let Some(layout) = &r.layout {
            parts.push(format!("layout={layout}"));
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

/// Says which remote directory was created (by `remote add`, `set-url`, `--create-remote`
/// or `config default-remote`).
pub fn note_created(ctx: &Ctx, created: Option<&Path>) {
    if let Some(dir) = created {
        ctx.note(format!("created remote directory {}", dir.display()));
    }
}

/// Creates the directory a remote URL names when it is missing, and says so.
pub fn create_missing_dir(url: &str, ctx: &Ctx) -> anyhow::Result<()> {
    note_created(ctx, quilt::create_remote_dir(url)?.as_deref());
    Ok(())
}

/// A remote that counts its requests, so `--json` can report them.
pub type Counted = Counting<Box<dyn Remote>>;

fn counted(opened: quilt::OpenedRemote) -> (String, Counted) {
    (opened.url, Counting::new(opened.remote))
}

/// Opens a remote given by name (from `quilt remote add`), by URL, or the default when `None`.
pub fn resolve_remote(
    repo: &Repository,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let opened = repo.open_remote(name_or_url, Path::new("."), &super::remote_options())?;
    Ok(counted(opened))
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
        note_created(
            ctx,
            repo.create_remote_dir(name_or_url, &ctx.cwd)?.as_deref(),
        );
    }
    let opened = repo.open_remote(name_or_url, &ctx.cwd, &super::remote_options())?;
    Ok(counted(opened))
}

/// Opens a remote by name (inside a quilt directory), by URL or path (anywhere), or the
/// default one; see [`quilt::open_remote_anywhere`].
pub fn open_anywhere(ctx: &Ctx, name_or_url: Option<&str>) -> anyhow::Result<(String, Counted)> {
    let opened = quilt::open_remote_anywhere(name_or_url, &ctx.cwd, &super::remote_options())?;
    Ok(counted(opened))
}

/// Opens a remote to read from; see [`quilt::open_remote_to_read`].
pub fn open_to_read(
    repo: Option<&Repository>,
    ctx: &Ctx,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let opened = quilt::open_remote_to_read(repo, name_or_url, &ctx.cwd, &super::remote_options())?;
    Ok(counted(opened))
}

pub fn open_named_remote(repo: &Repository, name_or_url: &str) -> anyhow::Result<Counted> {
    Ok(resolve_remote(repo, Some(name_or_url))?.1)
}
