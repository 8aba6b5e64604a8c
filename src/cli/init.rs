use std::path::PathBuf;

use quilt::Repository;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep objects in a shared store at PATH instead of ./.quilt.
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = Repository::init(&ctx.cwd, args.store.as_deref())?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "worktree": repo.worktree(),
            "store": repo.store().root(),
        }));
    } else if !ctx.quiet {
        println!(
            "Initialised quilt in {} (store: {})",
            repo.worktree().display(),
            repo.store().root().display()
        );
    }
    Ok(())
}
