use quilt::hash::{PackageName, TopHash};
use quilt::resolve_rev;

use super::remote::open_named_remote;
use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NS/PKG (every version) or NS/PKG@HASH (one version).
    name: String,
    /// `@HASH`: delete only this version (same as NS/PKG@HASH).
    #[arg(value_name = "@HASH")]
    at: Option<String>,
    /// Delete the package's pointers on this remote instead (the data stays, as with quilt3).
    #[arg(long)]
    remote: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let spec = match &args.at {
        Some(v) => format!("{}@{}", args.name, v.trim_start_matches('@')),
        None => args.name.clone(),
    };
    let repo = ctx.repo()?;
    let (name, version) = match spec.split_once('@') {
        Some((n, _)) => {
            let name = PackageName::parse(n)?;
            let top: TopHash = match &args.remote {
                Some(_) => spec
                    .split_once('@')
                    .map(|(_, h)| h)
                    .unwrap_or_default()
                    .parse()?,
                None => resolve_rev(repo.store(), &spec)?.top_hash,
            };
            (name, Some(top))
        }
        None => (PackageName::parse(&spec)?, None),
    };
    let removed = match &args.remote {
        Some(r) => {
            let remote = open_named_remote(&repo, r)?;
            quilt::sync::registry::delete(&remote, &name, version.as_ref())?
        }
        None => match &version {
            Some(t) => usize::from(repo.store().delete_revision(&name, t)?),
            None => repo.store().delete_package(&name)?,
        },
    };
    if removed == 0 {
        anyhow::bail!(
            "nothing to delete: {spec} not found{}",
            args.remote.map(|r| format!(" on {r}")).unwrap_or_default()
        );
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({"deleted": spec, "revisions": removed}));
    } else {
        let rest = match &args.remote {
            // Like quilt3's delete_package: only pointers go. Nothing removes a remote's
            // manifests or objects; `quilt gc` cleans the local store alone.
            Some(r) => format!(
                "its manifests and data stay on {r} (still installable by hash); nothing in quilt removes them"
            ),
            None => "`quilt gc` frees the data no other version or checkout needs".to_owned(),
        };
        ctx.note(format!(
            "deleted {} of {name}; {rest}",
            super::output::plural(removed as u64, "version", "versions")
        ));
    }
    Ok(())
}
