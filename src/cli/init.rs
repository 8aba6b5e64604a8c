use std::path::PathBuf;

use quilt::store::perms::Sharing;
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
    /// Who else uses the store: `group` makes its files group-writable and its directories
    /// setgid (like git's core.sharedRepository=group); `umask` (the default for a new
    /// store) follows each writer's umask.
    #[arg(long, value_name = "MODE", value_parser = parse_sharing)]
    shared: Option<Sharing>,
}

fn parse_sharing(s: &str) -> Result<Sharing, String> {
    Sharing::parse(s).ok_or_else(|| format!("{s:?} is not a sharing mode; use `group` or `umask`"))
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let again = ctx.cwd.join(quilt::DOT_QUILT).is_dir();
    let repo = Repository::init_shared(&ctx.cwd, args.store.as_deref(), args.shared)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "worktree": repo.worktree(),
            "store": repo.store().root(),
            "shared": repo.store().sharing().as_str(),
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
