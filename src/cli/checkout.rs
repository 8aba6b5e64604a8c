use std::path::PathBuf;

use anyhow::Context as _;
use quilt::{CheckoutOptions, InstallOptions};

use super::written::report;
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt checkout team/ds@3f1c9a     switch to a version by top-hash prefix
  quilt checkout HEAD~1             go back one version
  quilt checkout team/ds --force    the latest version, discarding local edits")]
pub struct CheckoutArgs {
    /// NS/PKG, NS/PKG@HASH, HEAD, REV~N or a top-hash prefix.
    rev: String,
    /// Overwrite or delete files with local modifications.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt install team/ds --dest /tmp/copy
  quilt install team/ds@3f1c9a --from s3://my-bucket/registry --dest ./data")]
pub struct InstallArgs {
    /// NS/PKG, NS/PKG@HASH, HEAD, REV~N or a top-hash prefix.
    rev: String,
    /// Directory to write the files into.
    #[arg(long)]
    dest: PathBuf,
    /// Fetch from this remote URL (or remote name) first; needs no initialised directory.
    /// Outside a working directory it defaults to `quilt config default-remote`.
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// With --from: read file:// physical keys even though the remote is not a directory on
    /// this machine.
    #[arg(long, requires = "from")]
    allow_local_keys: bool,
    /// With --from: the remote's layout, plain or packed (default: the named remote's, else
    /// plain).
    #[arg(long, requires = "from", value_name = "LAYOUT", value_parser = super::parse_layout)]
    layout: Option<quilt::sync::RemoteLayout>,
    /// Replace files in the destination whose content differs from the package's.
    #[arg(long)]
    force: bool,
}

pub fn run_checkout(args: CheckoutArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let bar = ctx.bar();
    let out = repo.checkout(
        &args.rev,
        &CheckoutOptions { force: args.force },
        &bar,
        ctx.interrupt,
    )?;
    report(ctx, &out);
    Ok(())
}

pub fn run_install(args: InstallArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let dest = if args.dest.is_absolute() {
        args.dest.clone()
    } else {
        ctx.cwd.join(&args.dest)
    };
    let opts = InstallOptions { force: args.force };
    // Outside a working directory there is no local store to install from: the user's
    // default remote (`quilt config default-remote`) is used, as if given with --from.
    let outside = args.from.is_none()
        && ctx.repo().is_err()
        && quilt::user_config::default_remote()?.is_some();
    if args.from.is_some() || outside {
        return super::transfer::install_from_remote(
            &args.rev,
            args.from.as_deref(),
            &dest,
            &opts,
            args.allow_local_keys,
            args.layout,
            ctx,
        );
    }
    let repo = ctx.repo().context(
        "outside a working directory, install needs --from URL or the user's default remote \
         (`quilt config default-remote URL`)",
    )?;
    let bar = ctx.bar();
    let out = repo
        .install(&args.rev, &dest, &opts, ctx.watch(&bar))
        .with_context(|| format!("could not install {} into {}", args.rev, dest.display()))?;
    report(ctx, &out);
    Ok(())
}
