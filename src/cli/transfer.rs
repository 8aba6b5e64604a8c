use std::path::Path;

use anyhow::Context as _;
use quilt::sync::RemoteLayout;
use quilt::{CheckoutOptions, FetchOptions, PushOptions, Repository, RevSpec};

use super::remote::{create_missing_dir, open_to_read, resolve_remote_in};
use super::written::{report_fetch, report_installed};
use super::Ctx;

mod push_all;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt push                          the checked-out package's latest version, to the default remote
  quilt push team/ds origin           a package to a named remote
  quilt push team/ds --all            every local version, oldest first
  quilt push team/ds /mnt/registry --create-remote")]
pub struct PushArgs {
    /// Package to push, NS/PKG or NS/PKG@HASH (default: the package checked out here).
    rev: Option<String>,
    /// Remote name or URL (default: the default remote).
    remote: Option<String>,
    /// Message for the pushed version (the local message is kept when omitted).
    #[arg(short, long, conflicts_with = "all")]
    message: Option<String>,
    /// Move the remote's latest even if it is not the version this one was built on, and
    /// overwrite differing files under --dest.
    #[arg(long)]
    force: bool,
    /// Put files at DEST/<logical_key> (human-readable, like quilt3's push) instead of
    /// content-addressed objects.
    #[arg(long, value_name = "URL", conflicts_with = "all")]
    dest: Option<String>,
    /// Push every local version of the package, oldest first and the latest last; versions
    /// the remote already has are skipped, so an interrupted run can simply be repeated.
    #[arg(long)]
    all: bool,
    /// Create the remote directory if it does not exist (a missing one is an error otherwise).
    #[arg(long)]
    create_remote: bool,
    /// Layout of the remote's data: plain (quilt3's) or packed (default: the named remote's,
    /// else plain).
    #[arg(long, value_name = "LAYOUT", value_parser = super::parse_layout)]
    layout: Option<RemoteLayout>,
    /// Parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt pull team/ds                the remote's latest version, checked out here
  quilt pull team/ds@3f1c9a origin  a version by top-hash prefix from a named remote")]
pub struct PullArgs {
    /// NS/PKG, NS/PKG@HASH.
    rev: String,
    /// Remote name or URL (default: the default remote).
    remote: Option<String>,
    /// Overwrite or delete files with local modifications.
    #[arg(long)]
    force: bool,
    /// Read file:// physical keys even though the remote is not a directory on this machine
    /// (they are followed without it only for directory remotes).
    #[arg(long)]
    allow_local_keys: bool,
    /// Layout of the remote's data: plain (quilt3's) or packed (default: the named remote's,
    /// else plain).
    #[arg(long, value_name = "LAYOUT", value_parser = super::parse_layout)]
    layout: Option<RemoteLayout>,
    /// Parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// NS/PKG, NS/PKG@HASH.
    rev: String,
    /// Remote name or URL (default: the default remote).
    remote: Option<String>,
    /// Read file:// physical keys even though the remote is not a directory on this machine
    /// (they are followed without it only for directory remotes).
    #[arg(long)]
    allow_local_keys: bool,
    /// Layout of the remote's data: plain (quilt3's) or packed (default: the named remote's,
    /// else plain).
    #[arg(long, value_name = "LAYOUT", value_parser = super::parse_layout)]
    layout: Option<RemoteLayout>,
    /// Parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

pub fn run_push(args: PushArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let (repo, in_workdir) = push_source(ctx, args.rev.as_deref())?;
    let (rev_arg, remote_arg) = match in_workdir {
        true => push_targets(&repo, args.rev.as_deref(), args.remote.as_deref())?,
        false => (args.rev.clone().unwrap_or_default(), args.remote.clone()),
    };
    let (url, remote) = resolve_remote_in(&repo, ctx, remote_arg.as_deref(), args.create_remote)?;
    let rev = repo.resolve_rev(&rev_arg)?;
    let name = match rev.name.clone() {
        Some(n) => n,
        None => anyhow::bail!("name the package to push as NS/PKG or NS/PKG@HASH"),
    };
    let dest = match &args.dest {
        Some(d) => {
            let d = repo.checked_remote_url(&ctx.cwd, d)?;
            if args.create_remote {
                create_missing_dir(&d, ctx)?;
            }
            let dest = quilt::sync::open_remote(&d, &super::remote_options());
            Some(dest.with_context(|| format!("could not open --dest {d}"))?)
        }
        None => None,
    };
    let opts = PushOptions {
        force: args.force,
        dest: dest.as_deref(),
        message: args.message.clone(),
        jobs: args.jobs.max(1),
        layout: layout_of(Some(&repo), args.layout, remote_arg.as_deref())?,
        pack_target: super::pack_target(),
        lock: super::lock_options(),
    };
    let bar = ctx.bar();
    let outcomes = match args.all {
        true => repo
            .push_all(&remote, &name, &opts, ctx.watch(&bar))
            .with_context(|| format!("push of {name} (--all) to {url} failed"))?,
        false => {
            let top = rev.top_hash;
            let out = repo
                .push(&remote, &name, &top, &opts, ctx.watch(&bar))
                .with_context(|| {
                    format!("push of {name}@{} to {url} failed", &top.to_hex()[..12])
                })?;
            vec![out]
        }
    };
    push_all::report(
        ctx,
        &name,
        &url,
        &outcomes,
        args.all,
        remote.counts().total(),
    );
    Ok(())
}

/// Where a push reads from: the working directory's store, else (for `quilt push NS/PKG`
/// outside any working directory) the user's cache store that `install` fills outside one.
/// The flag says whether it is a working directory.
fn push_source(ctx: &Ctx, rev: Option<&str>) -> anyhow::Result<(Repository, bool)> {
    let e = match ctx.repo() {
        Ok(repo) => return Ok((repo, true)),
        Err(e) => e,
    };
    let named = rev.is_some_and(|r| RevSpec::parse(r).is_ok_and(|s| s.name().is_some()));
    let cache = match named {
        true => Repository::open_cache()?,
        false => None,
    };
    let Some(repo) = cache else {
        return Err(e.context(format!(
            "outside a working directory, `quilt push NS/PKG[@HASH] [REMOTE]` pushes a version \
             that `quilt install` fetched into the user's cache store ({}); run push in the \
             directory the package was built in, or with -C DIR",
            quilt::cache_dir().display()
        )));
    };
    Ok((repo, false))
}

/// `quilt push` with no package, or with only a remote (`quilt push origin`), pushes the
/// package checked out here, as `git push [REMOTE]` pushes the current branch.
fn push_targets(
    repo: &Repository,
    rev: Option<&str>,
    remote: Option<&str>,
) -> anyhow::Result<(String, Option<String>)> {
    let checked_out = || repo.checked_out_name().map(|n| n.to_string());
    match (rev, remote) {
        (None, _) => Ok((checked_out()?, remote.map(str::to_owned))),
        (Some(r), None) if RevSpec::parse(r).is_err() => Ok((checked_out()?, Some(r.to_owned()))),
        (Some(r), remote) => Ok((r.to_owned(), remote.map(str::to_owned))),
    }
}

fn fetch_options(jobs: usize, allow_local_keys: bool, layout: RemoteLayout) -> FetchOptions {
    FetchOptions {
        jobs: jobs.max(1),
        remote_options: super::remote_options(),
        allow_local_keys,
        layout,
    }
}

/// The layout a command uses: `--layout`, else the named remote's (inside a working
/// directory), else plain.
pub fn layout_of(
    repo: Option<&Repository>,
    flag: Option<RemoteLayout>,
    remote: Option<&str>,
) -> anyhow::Result<RemoteLayout> {
    match (flag, repo) {
        (Some(l), _) => Ok(l),
        (None, Some(repo)) => Ok(repo.remote_layout(remote).unwrap_or_default()),
        (None, None) => Ok(RemoteLayout::Plain),
    }
}

pub fn run_fetch(args: FetchArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let (url, remote) = resolve_remote_in(&repo, ctx, args.remote.as_deref(), false)?;
    let spec = RevSpec::parse(&args.rev)?;
    let bar = ctx.bar();
    let out = repo
        .fetch(
            &remote,
            &spec,
            &fetch_options(
                args.jobs,
                args.allow_local_keys,
                layout_of(Some(&repo), args.layout, args.remote.as_deref())?,
            ),
            ctx.watch(&bar),
        )
        .with_context(|| format!("fetch of {} from {url} failed", args.rev))?
        .outcome;
    report_fetch(ctx, &out);
    if ctx.json {
        ctx.print_json(&serde_json::json!({"top_hash": out.top_hash.to_hex(), "objects_downloaded": out.objects_downloaded, "bytes_downloaded": out.bytes_downloaded, "objects_present": out.objects_present, "requests": remote.counts().total()}));
    } else {
        println!("{}", out.top_hash);
    }
    Ok(())
}

pub fn run_pull(args: PullArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let (url, remote) = resolve_remote_in(&repo, ctx, args.remote.as_deref(), false)?;
    let spec = RevSpec::parse(&args.rev)?;
    let bar = ctx.bar();
    let fetched = repo
        .fetch(
            &remote,
            &spec,
            &fetch_options(
                args.jobs,
                args.allow_local_keys,
                layout_of(Some(&repo), args.layout, args.remote.as_deref())?,
            ),
            ctx.watch(&bar),
        )
        .with_context(|| format!("pull of {} from {url} failed", args.rev))?;
    report_fetch(ctx, &fetched.outcome);
    let written = repo.checkout_fetched(
        &fetched,
        &CheckoutOptions { force: args.force },
        ctx.watch(&bar),
    )?;
    report_installed(ctx, &quilt::Installed { fetched, written });
    Ok(())
}

/// `quilt install REV --from URL --dest DIR`: works without an initialised directory by
/// fetching into the user's cache store. `from` is `None` for the default remote (outside a
/// working directory: the user's, `quilt config default-remote`).
pub fn install_from_remote(
    rev: &str,
    from: Option<&str>,
    dest: &Path,
    opts: &quilt::InstallOptions,
    allow_local_keys: bool,
    layout: Option<RemoteLayout>,
    ctx: &Ctx,
) -> anyhow::Result<()> {
    let (store, in_workdir) = match Repository::discover(&ctx.cwd) {
        Ok(repo) => (repo, true),
        Err(_) => {
            let repo = Repository::cache().with_context(|| {
                format!(
                    "could not create the cache store at {}",
                    quilt::cache_dir().display()
                )
            })?;
            (repo, false)
        }
    };
    // Remote names are the working directory's; the cache store has none of its own.
    let names = in_workdir.then_some(&store);
    let (url, remote) = open_to_read(names, ctx, from)?;
    let layout = layout_of(names, layout, from)?;
    let from = from.unwrap_or(url.as_str());
    let spec = RevSpec::parse(rev)?;
    let bar = ctx.bar();
    let fetched = store
        .fetch(
            &remote,
            &spec,
            &fetch_options(8, allow_local_keys, layout),
            ctx.watch(&bar),
        )
        .with_context(|| format!("could not fetch {rev} from {from}"))?;
    report_fetch(ctx, &fetched.outcome);
    let top = fetched.outcome.top_hash;
    let written = store.install_version(&top, dest, opts, ctx.watch(&bar))?;
    report_installed(ctx, &quilt::Installed { fetched, written });
    Ok(())
}
