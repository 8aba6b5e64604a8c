use std::path::Path;

use anyhow::Context as _;
use quilt::hash::PackageName;
use quilt::sync::{FetchOptions, PushOptions};
use quilt::{resolve_rev, CheckoutOptions, RevSpec};

use super::checkout::report;
use super::remote::resolve_remote;
use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Package to push, NS/PKG or NS/PKG@HASH.
    rev: String,
    /// Remote name or URL (default: the default remote).
    remote: Option<String>,
    /// Message for the pushed version (the local message is kept when omitted).
    #[arg(short, long)]
    message: Option<String>,
    /// Move the remote's latest even if it is not the version this one was built on, and
    /// overwrite differing files under --dest.
    #[arg(long)]
    force: bool,
    /// Put files at DEST/<logical_key> (human-readable, like quilt3's push) instead of
    /// content-addressed objects.
    #[arg(long, value_name = "URL")]
    dest: Option<String>,
    /// Parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// NS/PKG, NS/PKG@HASH.
    rev: String,
    /// Remote name or URL (default: the default remote).
    remote: Option<String>,
    /// Overwrite or delete files with local modifications.
    #[arg(long)]
    force: bool,
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
    /// Parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

pub fn run_push(args: PushArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let (url, remote) = resolve_remote(&repo, args.remote.as_deref())?;
    let rev = resolve_rev(repo.store(), &args.rev)?;
    let name = match rev.name.clone() {
        Some(n) => n,
        None => anyhow::bail!("name the package to push as NS/PKG or NS/PKG@HASH"),
    };
    let dest = match &args.dest {
        Some(url) => Some(
            quilt::sync::open_remote(url, &super::remote_options())
                .with_context(|| format!("could not open --dest {url}"))?,
        ),
        None => None,
    };
    let opts = PushOptions {
        force: args.force,
        dest: dest.as_deref(),
        message: args.message.clone(),
        jobs: args.jobs.max(1),
    };
    let bar = ctx.bar();
    let out = quilt::sync::push(
        repo.store(),
        &remote,
        &name,
        &rev.top_hash,
        &opts,
        &bar,
        ctx.interrupt,
    )
    .with_context(|| format!("push of {name} to {url} failed"))?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "name": name.to_string(),
            "remote": url,
            "top_hash": out.top_hash.to_hex(),
            "objects_uploaded": out.objects_uploaded,
            "bytes_uploaded": out.bytes_uploaded,
            "objects_present": out.objects_present,
            "latest_moved": out.latest_moved,
            "requests": remote.counts().total(),
        }));
    } else {
        for w in &out.warnings {
            eprintln!("warning: {w}");
        }
        println!("{}", out.top_hash);
        ctx.note(format!(
            "pushed {name} to {url}: {} objects uploaded ({}), {} already there",
            out.objects_uploaded,
            indicatif::HumanBytes(out.bytes_uploaded),
            out.objects_present
        ));
    }
    Ok(())
}

fn fetch_into(
    store: &quilt::store::Store,
    rev: &str,
    remote: &dyn quilt::sync::Remote,
    jobs: usize,
    ctx: &Ctx,
) -> anyhow::Result<(Option<PackageName>, quilt::sync::FetchOutcome)> {
    let spec = RevSpec::parse(rev)?;
    let (name, hash) = match &spec {
        RevSpec::Latest(n) => (Some(n.clone()), None),
        RevSpec::At(n, h) => (Some(n.clone()), Some(h.clone())),
        RevSpec::Hash(h) => (None, Some(h.clone())),
    };
    let opts = FetchOptions {
        jobs: jobs.max(1),
        remote_options: super::remote_options(),
    };
    let bar = ctx.bar();
    let out = quilt::sync::fetch(
        store,
        remote,
        name.as_ref(),
        hash.as_deref(),
        &opts,
        &bar,
        ctx.interrupt,
    )?;
    Ok((name, out))
}

fn report_fetch(ctx: &Ctx, out: &quilt::sync::FetchOutcome) {
    if !ctx.json {
        ctx.note(format!(
            "fetched {}: {} objects downloaded ({}), {} already local",
            out.top_hash,
            out.objects_downloaded,
            indicatif::HumanBytes(out.bytes_downloaded),
            out.objects_present
        ));
    }
}

pub fn run_fetch(args: FetchArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let (url, remote) = resolve_remote(&repo, args.remote.as_deref())?;
    let (_, out) = fetch_into(repo.store(), &args.rev, &remote, args.jobs, ctx)
        .with_context(|| format!("fetch of {} from {url} failed", args.rev))?;
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
    let (url, remote) = resolve_remote(&repo, args.remote.as_deref())?;
    let (name, out) = fetch_into(repo.store(), &args.rev, &remote, args.jobs, ctx)
        .with_context(|| format!("pull of {} from {url} failed", args.rev))?;
    report_fetch(ctx, &out);
    let rev = match name {
        Some(n) => format!("{n}@{}", out.top_hash),
        None => out.top_hash.to_hex(),
    };
    let bar = ctx.bar();
    let co = repo.checkout(
        &rev,
        &CheckoutOptions { force: args.force },
        &bar,
        ctx.interrupt,
    )?;
    report(ctx, &co);
    Ok(())
}

/// `quilt install REV --from URL --dest DIR`: works without an initialised directory by
/// fetching into a private cache store under the user's cache directory.
pub fn install_from_remote(rev: &str, from: &str, dest: &Path, ctx: &Ctx) -> anyhow::Result<()> {
    let store = match quilt::Repository::discover(&ctx.cwd) {
        Ok(repo) => repo,
        Err(_) => {
            let cache = cache_store_dir();
            quilt::Repository::init(&cache, None).with_context(|| {
                format!("could not create the cache store at {}", cache.display())
            })?
        }
    };
    let remote = match store
        .store()
        .remotes()?
        .into_iter()
        .find(|(n, _)| n == from)
    {
        Some((_, url)) => quilt::sync::open_remote(&url, &super::remote_options())?,
        None => quilt::sync::open_remote(from, &super::remote_options())?,
    };
    let (_, out) = fetch_into(store.store(), rev, remote.as_ref(), 8, ctx)
        .with_context(|| format!("could not fetch {rev} from {from}"))?;
    report_fetch(ctx, &out);
    let manifest = store.store().get_manifest(&out.top_hash)?;
    let bar = ctx.bar();
    let mut co = quilt::install(store.store(), &manifest, dest, &bar, ctx.interrupt)?;
    co.top_hash = Some(out.top_hash);
    report(ctx, &co);
    Ok(())
}

fn cache_store_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("QUILT_CACHE_DIR") {
        return d.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("quilt")
}
