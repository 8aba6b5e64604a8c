use quilt::sync::{open_remote, Counting, Remote};
use quilt::Repository;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a remote: s3://bucket[/prefix], file:///path or a directory path.
    Add { name: String, url: String },
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
            quilt::sync::RemoteUrl::parse(&url)?;
            store.add_remote(&name, &url)?;
            ctx.note(format!("added remote {name} -> {url}"));
        }
        Command::Remove { name } => {
            store.remove_remote(&name)?;
            ctx.note(format!("removed remote {name}"));
        }
        Command::List => {
            let default = store.default_remote()?;
            let remotes = store.remotes()?;
            if ctx.json {
                let v: Vec<_> = remotes
                    .iter()
                    .map(|(n, u)| serde_json::json!({"name": n, "url": u, "default": Some(n) == default.as_ref()}))
                    .collect();
                ctx.print_json(&serde_json::json!({ "remotes": v }));
            } else {
                for (n, u) in remotes {
                    let mark = if Some(&n) == default.as_ref() {
                        "*"
                    } else {
                        " "
                    };
                    println!("{mark} {n}\t{u}");
                }
            }
        }
        Command::Default { name } => {
            store.set_default_remote(&name)?;
            ctx.note(format!("default remote is now {name}"));
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

/// A remote that counts its requests, so `--json` can report them.
pub type Counted = Counting<Box<dyn Remote>>;

/// Opens a remote given by name (from `quilt remote add`), by URL, or the default when `None`.
pub fn resolve_remote(
    repo: &Repository,
    name_or_url: Option<&str>,
) -> anyhow::Result<(String, Counted)> {
    let store = repo.store();
    let url = match name_or_url {
        Some(n) => match store.remotes()?.into_iter().find(|(name, _)| name == n) {
            Some((_, url)) => url,
            None if n.contains("://") || n.contains('/') => n.to_owned(),
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
    let remote = open_remote(&url, &super::remote_options())?;
    Ok((url, Counting::new(remote)))
}

pub fn open_named_remote(repo: &Repository, name_or_url: &str) -> anyhow::Result<Counted> {
    Ok(resolve_remote(repo, Some(name_or_url))?.1)
}
