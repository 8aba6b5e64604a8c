use anyhow::Context as _;
use quilt::store::{GcOptions, VerifyOptions};
use quilt::sync::packed::gc::RemoteGcOptions;
use quilt::sync::RemoteLayout;
use quilt::Repository;

use super::output::plural;
use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Report what would be removed without removing it.
    #[arg(long)]
    dry_run: bool,
    /// Collect this packed remote (a name or URL) instead of the local store: packs no
    /// manifest on it needs are removed, mostly-unneeded ones repacked.
    #[arg(long, value_name = "REMOTE")]
    remote: Option<String>,
    /// With --remote: its layout when it is given by URL (gc only collects packed remotes).
    #[arg(long, requires = "remote", value_name = "LAYOUT", value_parser = super::parse_layout)]
    layout: Option<RemoteLayout>,
    /// With --remote: parallel transfers.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run_gc(args: GcArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    if let Some(name) = &args.remote {
        return gc_remote(&repo, &args, name, ctx);
    }
    let bar = ctx.bar();
    let opts = GcOptions {
        dry_run: args.dry_run,
        ..GcOptions::default()
    };
    let out = repo.gc(&opts, ctx.watch(&bar))?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "objects_removed": out.objects_removed,
            "bytes_freed": out.bytes_freed,
            "packs_rewritten": out.packs_rewritten,
            "packs_merged": out.packs_merged,
            "loose_migrated": out.loose_migrated,
            "manifests_removed": out.manifests_removed,
            "deltas_rebased": out.deltas_rebased,
            "held": out.held.iter().map(|h| serde_json::json!({
                "top_hash": h.top.to_hex(),
                "name": h.name.to_string(),
                "worktree": h.worktree,
            })).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "{}{} objects removed, {} freed, {} packs rewritten, {} small packs merged, {} manifests removed",
            if args.dry_run { "(dry run) " } else { "" },
            out.objects_removed,
            indicatif::HumanBytes(out.bytes_freed),
            out.packs_rewritten,
            out.packs_merged,
            out.manifests_removed
        );
        if out.loose_migrated > 0 {
            println!(
                "{}{} large loose files moved into chunks",
                if args.dry_run { "(dry run) " } else { "" },
                out.loose_migrated
            );
        }
        for h in &out.held {
            eprintln!(
                "kept {} (no longer a recorded version of {}): it is checked out in {}; check out another version there to let gc free it",
                h.top,
                h.name,
                h.worktree.display()
            );
        }
    }
    Ok(())
}

fn gc_remote(repo: &Repository, args: &GcArgs, name: &str, ctx: &Ctx) -> anyhow::Result<()> {
    let layout = super::transfer::layout_of(Some(repo), args.layout, Some(name))?;
    if layout != RemoteLayout::Packed {
        return Err(super::output::fail(
            quilt::ErrorKind::Usage,
            format!("{name} has the plain layout, whose objects quilt never removes; gc --remote collects packed remotes (`quilt remote add NAME URL --layout packed`)"),
        ));
    }
    let (url, remote) = super::remote::resolve_remote_in(repo, ctx, Some(name), false)?;
    let bar = ctx.bar();
    let opts = RemoteGcOptions {
        dry_run: args.dry_run,
        lock: super::lock_options(),
        jobs: args.jobs.max(1),
    };
    let out = repo
        .gc_remote(&remote, &opts, ctx.watch(&bar))
        .with_context(|| format!("gc of {url} failed"))?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "packs": out.packs,
            "packs_removed": out.packs_removed,
            "packs_written": out.packs_written,
            "packs_merged": out.packs_merged,
            "objects_removed": out.objects_removed,
            "bytes_freed": out.bytes_freed,
            "torn_removed": out.torn_removed,
            "locks_removed": out.locks_removed,
            "requests": remote.counts().total(),
        }));
    } else {
        println!(
            "{}{} of {} packs removed ({} of them small packs merged; {} written in their place), {} objects removed, {} freed, {} unfinished packs and {} stale locks removed",
            if args.dry_run { "(dry run) " } else { "" },
            out.packs_removed,
            out.packs,
            out.packs_merged,
            out.packs_written,
            out.objects_removed,
            indicatif::HumanBytes(out.bytes_freed),
            out.torn_removed,
            out.locks_removed,
        );
    }
    Ok(())
}

pub fn run_verify(_args: VerifyArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let bar = ctx.bar();
    let report = repo.verify(&VerifyOptions::default(), ctx.watch(&bar))?;
    let (warnings, errors): (Vec<_>, Vec<_>) = report.problems.iter().partition(|p| p.is_warning());
    if ctx.json {
        let list =
            |v: &[&quilt::store::Problem]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        ctx.print_json(&serde_json::json!({
            "objects_checked": report.objects_checked,
            "ok": report.is_ok(),
            "problems": list(&errors),
            "warnings": list(&warnings),
        }));
    } else {
        for p in &errors {
            println!("{p}");
        }
        for w in &warnings {
            super::progress::eprintln_above(&format!("warning: {w}"));
        }
    }
    if !report.is_ok() {
        return Err(super::output::fail(
            quilt::ErrorKind::Corrupt,
            format!(
                "verify found {} in {}",
                plural(errors.len() as u64, "problem", "problems"),
                plural(report.objects_checked, "object", "objects")
            ),
        ));
    }
    ctx.note(format!(
        "ok: {} verified",
        plural(report.objects_checked, "object", "objects")
    ));
    Ok(())
}
