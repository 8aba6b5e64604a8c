use quilt::resolve_rev;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NS/PKG, NS/PKG@HASH or a top-hash prefix.
    rev: String,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let rev = resolve_rev(repo.store(), &args.rev)?;
    let manifest = repo.store().get_manifest(&rev.top_hash)?;
    if ctx.json {
        let v: Vec<_> = manifest
            .entries
            .iter()
            .map(|e| serde_json::json!({"logical_key": e.logical_key.as_str(), "size": e.size, "hash": e.hash.value_string(), "hash_type": e.hash.kind.name()}))
            .collect();
        ctx.print_json(&serde_json::json!({"top_hash": rev.top_hash.to_hex(), "entries": v}));
        return Ok(());
    }
    for e in &manifest.entries {
        println!("{:>12}  {}", e.size, e.logical_key.as_str());
    }
    Ok(())
}
