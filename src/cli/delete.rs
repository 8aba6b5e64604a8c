use quilt::sync::Remote as _;

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
    if let Some(r) = &args.remote {
        return run_remote(&spec, r, &repo, ctx);
    }
    let removed = repo.delete(&spec)?;
    let name = spec.split_once('@').map_or(spec.as_str(), |(n, _)| n);
    if ctx.json {
        ctx.print_json(&serde_json::json!({"deleted": spec, "revisions": removed}));
    } else {
        ctx.note(format!(
            "deleted {} of {name}; `quilt gc` frees the data no other version or checkout needs",
            super::output::plural(removed as u64, "version", "versions")
        ));
    }
    Ok(())
}

/// `delete --remote`: quilt3's rule. A hash (or a prefix of 6 or more hex digits, resolved
/// against the remote's manifests) removes every pointer of the package naming it; `latest`
/// moves to the newest remaining timestamped pointer. Manifests and data stay.
fn run_remote(spec: &str, r: &str, repo: &quilt::Repository, ctx: &Ctx) -> anyhow::Result<()> {
    let remote = open_named_remote(repo, r)?;
    let (name, version, done) = quilt::delete_package(&remote, spec)?;
    let versions = done
        .pointers
        .iter()
        .filter(|p| p.parse::<i64>().is_ok())
        .count();
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "deleted": spec,
            "remote": remote.describe(),
            "revisions": versions,
            "pointers": done.pointers,
            "latest_moved_to": done.latest_moved_to.map(|t| t.to_hex()),
        }));
        return Ok(());
    }
    let what = match &version {
        Some(t) => format!("{} naming {}", plural_pointers(done.pointers.len()), t),
        None => format!("every pointer of {name} ({})", done.pointers.len()),
    };
    ctx.note(format!(
        "deleted {what} on {r}: {}",
        done.pointers.join(", ")
    ));
    if let Some(t) = done.latest_moved_to {
        ctx.note(format!(
            "latest of {name} now names {t}, the newest remaining version"
        ));
    } else if done.pointers.iter().any(|p| p == "latest") && version.is_some() {
        ctx.note(format!("{name} has no latest version left on {r}"));
    }
    // Like quilt3's delete_package: only pointers go. Nothing removes a remote's manifests or
    // objects; `quilt gc` cleans the local store alone.
    ctx.note(format!(
        "manifests and data stay on {r} (still installable by hash); nothing in quilt removes them"
    ));
    Ok(())
}

fn plural_pointers(n: usize) -> String {
    super::output::plural(n as u64, "pointer", "pointers")
}
