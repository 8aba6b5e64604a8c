use std::path::{Component, Path, PathBuf};

use quilt::sync::{open_remote, Counting, Remote, RemoteUrl};
use quilt::Repository;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
#[command(after_help = "Examples:
  quilt remote add origin s3://my-bucket/registry
  quilt remote add backup /mnt/share/registry      (created if missing)
  quilt remote set-url origin s3://other-bucket/registry
  quilt remote list")]
pub enum Command {
    /// Add a remote: s3://bucket[/prefix], file:///path or a directory path. A relative path
    /// is made absolute; a missing directory is created.
    Add { name: String, url: String },
    /// Point an existing remote at another URL.
    SetUrl { name: String, url: String },
    /// Remove a remote (nothing on the remote is touched).
    Remove { name: String },
    /// List remotes; the default is marked with *.
    List,
    /// Set the remote used when a command names none.
    Default { name: String },
}

pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let store = repo.store();
    match cmd {
        Command::Add { name, url } => {
            validate_name(&name)?;
            let url = checked_url(&repo, &ctx.cwd, &url)?;
            if store.remotes()?.iter().any(|(n, _)| *n == name) {
                anyhow::bail!(
                    "a remote named {name:?} exists; change it with `quilt remote set-url {name} URL`"
                );
            }
            create_missing_dir(&url, ctx)?;
            store.add_remote(&name, &url)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"added": name, "url": url}));
            }
            ctx.note(format!("added remote {name} -> {url}"));
        }
        Command::SetUrl { name, url } => {
            let url = checked_url(&repo, &ctx.cwd, &url)?;
            if !store.remotes()?.iter().any(|(n, _)| *n == name) {
                anyhow::bail!(
                    "no remote named {name:?}; add it with `quilt remote add {name} URL`"
                );
            }
            create_missing_dir(&url, ctx)?;
            store.set_remote_url(&name, &url)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"updated": name, "url": url}));
            }
            ctx.note(format!("remote {name} -> {url}"));
        }
        Command::Remove { name } => {
            store.remove_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": name }));
            }
            ctx.note(format!("removed remote {name}"));
        }
        Command::List => list(&repo, ctx)?,
        Command::Default { name } => {
            store.set_default_remote(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "default": name }));
            }
            ctx.note(format!("default remote is now {name}"));
        }
    }
    Ok(())
}

fn list(repo: &Repository, ctx: &Ctx) -> anyhow::Result<()> {
    let store = repo.store();
    let default = store.default_remote()?;
    let remotes = store.remotes()?;
    if ctx.json {
        let v: Vec<_> = remotes
            .iter()
            .map(|(n, u)| serde_json::json!({"name": n, "url": u, "default": Some(n) == default.as_ref()}))
            .collect();
        ctx.print_json(&serde_json::json!({ "remotes": v }));
        return Ok(());
    }
    for (n, u) in remotes {
        let mark = if Some(&n) == default.as_ref() {
            "*"
        } else {
            " "
        };
        println!("{mark} {n}\t{u}");
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
        let url = remote_url(repo, name_or_url)?;
        create_missing_dir(&checked_url(repo, &ctx.cwd, &url)?, ctx)?;
    }
    open_remote_at(repo, &ctx.cwd, name_or_url)
}

fn open_remote_at(
    repo: &Repository,
    cwd: &Path,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let url = checked_url(repo, cwd, &remote_url(repo, name_or_url)?)?;
    let remote = open_remote(&url, &super::remote_options())?;
    Ok((url, Counting::new(remote)))
}

/// The URL of a remote given by name, by URL, or the default when `None`.
fn remote_url(repo: &Repository, name_or_url: Option<&str>) -> anyhow::Result<String> {
    let store = repo.store();
    let url = match name_or_url {
        Some(n) => match store.remotes()?.into_iter().find(|(name, _)| name == n) {
            Some((_, url)) => url,
            None if n.contains(':') || n.contains('/') => n.to_owned(),
            None => anyhow::bail!("no remote named {n:?}; add one with `quilt remote add {n} URL`"),
        },
        None => {
            let Some(default) = store.default_remote()? else {
                anyhow::bail!("no remote given and no default remote; add one with `quilt remote add origin URL`");
            };
            match store.remotes()?.into_iter().find(|(name, _)| *name == default) {
                Some((_, url)) => url,
                None => anyhow::bail!("the default remote {default:?} no longer exists; set one with `quilt remote default NAME`"),
            }
        }
    };
    Ok(url)
}

pub fn open_named_remote(repo: &Repository, name_or_url: &str) -> anyhow::Result<Counted> {
    Ok(resolve_remote(repo, Some(name_or_url))?.1)
}
