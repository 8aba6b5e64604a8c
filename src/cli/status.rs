use quilt::hash::logical_key_cmp;

use super::output::{escape_name, plural, short};
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt status                      changes since the last build or checkout
  quilt --json status")]
pub struct Args {}

pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let mut st = repo.status()?;
    // Added files come after the rest from the merge; list everything in path order.
    st.changes.sort_by(|a, b| logical_key_cmp(&a.key, &b.key));
    if ctx.json {
        let changes: Vec<_> = st
            .changes
            .iter()
            .map(|c| serde_json::json!({"key": c.key, "change": c.kind.symbol().to_string()}))
            .collect();
        ctx.print_json(&serde_json::json!({
            "name": st.name.as_ref().map(|n| n.to_string()),
            "top_hash": st.top_hash.as_ref().map(|t| t.to_hex()),
            "clean": st.is_clean(),
            "unchanged": st.unchanged,
            "changes": changes,
        }));
        return Ok(());
    }
    if !ctx.quiet {
        match (&st.name, &st.top_hash) {
            (Some(name), Some(top)) => println!("On {name}@{}", short(top)),
            _ => println!("No version built yet; `quilt build NS/PKG` records these files"),
        }
    }
    if st.is_clean() {
        if !ctx.quiet {
            println!(
                "nothing changed ({})",
                plural(st.unchanged, "file", "files")
            );
        }
    } else {
        for c in &st.changes {
            println!("{} {}", c.kind.symbol(), escape_name(&c.key));
        }
    }
    Ok(())
}
