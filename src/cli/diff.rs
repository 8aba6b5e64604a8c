use quilt::{diff_manifests, resolve_rev};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The older version: NS/PKG, NS/PKG@HASH or a top-hash prefix.
    old: String,
    /// The newer version (default: the working directory's status against OLD's package).
    new: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let store = repo.store();
    let Some(new) = args.new else {
        // One revision: compare the working directory with it, like `git diff REV`.
        let st = repo.status()?;
        let old = resolve_rev(store, &args.old)?;
        if old.top_hash != st.top_hash {
            anyhow::bail!(
                "the working directory is at {}; give two revisions to compare other versions",
                st.top_hash
            );
        }
        return print(
            ctx,
            st.changes
                .iter()
                .map(|c| (c.kind.symbol(), c.key.clone()))
                .collect(),
        );
    };
    let old = resolve_rev(store, &args.old)?;
    let new = resolve_rev(store, &new)?;
    let a = store.get_manifest(&old.top_hash)?;
    let b = store.get_manifest(&new.top_hash)?;
    let mut changes: Vec<(char, String)> = diff_manifests(&a, &b)
        .into_iter()
        .map(|c| (c.kind.symbol(), c.key))
        .collect();
    if a.header != b.header {
        changes.insert(0, ('M', "(package metadata or message)".to_owned()));
    }
    print(ctx, changes)
}

fn print(ctx: &Ctx, changes: Vec<(char, String)>) -> anyhow::Result<()> {
    if ctx.json {
        let v: Vec<_> = changes
            .iter()
            .map(|(k, key)| serde_json::json!({"change": k.to_string(), "key": key}))
            .collect();
        ctx.print_json(&serde_json::json!({ "changes": v }));
    } else {
        for (k, key) in changes {
            println!("{k} {key}");
        }
    }
    Ok(())
}
