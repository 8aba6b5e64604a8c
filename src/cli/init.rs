use std::path::PathBuf;

use quilt::Repository;

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt init                        keep the store in ./.quilt
  quilt init --store /shared/store  share one store between several directories")]
pub struct Args {
    /// Keep objects in a shared store at PATH instead of ./.quilt.
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let again = ctx.cwd.join(quilt::DOT_QUILT).is_dir();
    let repo = Repository::init(&ctx.cwd, args.store.as_deref())?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "worktree": repo.worktree(),
            "store": repo.store().root(),
        }));
    } else if again && !ctx.quiet {
        println!(
            "{} is already initialised (store: {}); nothing to do",
            repo.worktree().display(),
            repo.store().root().display()
        );
    } else if !ctx.quiet {
        println!(
            "Initialised quilt in {} (store: {})",
            repo.worktree().display(),
            repo.store().root().display()
        );
    }
    Ok(())
}
