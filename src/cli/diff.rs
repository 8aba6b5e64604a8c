use quilt::hash::logical_key_cmp;
use quilt::HeaderChange;

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt diff                        the working directory against HEAD
  quilt diff HEAD~1                 the working directory against the version before HEAD
  quilt diff team/ds~1 team/ds      the last two versions of team/ds
  quilt diff 3f1c9a HEAD            a version (by top-hash prefix) against HEAD")]
pub struct Args {
    /// The older version: NS/PKG, NS/PKG@HASH, HEAD, REV~N or a top-hash prefix (default:
    /// HEAD, the checked-out version).
    old: Option<String>,
    /// The newer version (default: the working directory).
    new: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let old_spec = args.old.as_deref().unwrap_or(quilt::HEAD);
    let Some(new) = args.new else {
        // One revision: compare the working directory with it, like `git diff REV`.
        let old = repo.resolve_rev(old_spec)?;
        let (changes, _) = repo.changes_since(Some(&old.top_hash))?;
        return print(
            ctx,
            changes
                .iter()
                .map(|c| (c.kind.symbol(), c.key.clone()))
                .collect(),
            Vec::new(),
        );
    };
    let (changes, header) = repo.diff(old_spec, &new)?;
    let changes: Vec<(char, String)> = changes
        .into_iter()
        .map(|c| (c.kind.symbol(), c.key))
        .collect();
    print(ctx, changes, header)
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
