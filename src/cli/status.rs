use quilt::hash::logical_key_cmp;

use super::output::{escape_name, plural, short};
use super::Ctx;

#[derive(Debug, clap::Args)]
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
            "name": st.name.to_string(),
            "top_hash": st.top_hash.to_hex(),
            "clean": st.is_clean(),
            "unchanged": st.unchanged,
            "changes": changes,
        }));
        return Ok(());
    }
    if !ctx.quiet {
        println!("On {}@{}", st.name, short(&st.top_hash));
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
