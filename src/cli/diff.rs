use quilt::hash::logical_key_cmp;
use quilt::{diff_headers, diff_manifests, resolve_rev, HeaderChange};

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
            Vec::new(),
        );
    };
    let old = resolve_rev(store, &args.old)?;
    let new = resolve_rev(store, &new)?;
    let a = store.get_manifest(&old.top_hash)?;
    let b = store.get_manifest(&new.top_hash)?;
    let changes: Vec<(char, String)> = diff_manifests(&a, &b)
        .into_iter()
        .map(|c| (c.kind.symbol(), c.key))
        .collect();
    print(ctx, changes, diff_headers(&a.header, &b.header))
}

/// Prints file changes sorted by path (manifest order, as `ls` lists), after the package
/// header fields that changed (`user_meta`, `message`), which are not files.
fn print(
    ctx: &Ctx,
    mut changes: Vec<(char, String)>,
    header: Vec<HeaderChange>,
) -> anyhow::Result<()> {
    changes.sort_by(|a, b| logical_key_cmp(&a.1, &b.1));
    if ctx.json {
        let v: Vec<_> = changes
            .iter()
            .map(|(k, key)| serde_json::json!({"change": k.to_string(), "key": key}))
            .collect();
        let meta: Vec<_> = header
            .iter()
            .map(|h| serde_json::json!({"field": h.field, "old": h.old, "new": h.new}))
            .collect();
        ctx.print_json(&serde_json::json!({ "changes": v, "metadata": meta }));
    } else {
        for h in &header {
            println!("package {}: {} -> {}", h.field, h.old, h.new);
        }
        for (k, key) in changes {
            println!("{k} {}", super::output::escape_name(&key));
        }
    }
    Ok(())
}
