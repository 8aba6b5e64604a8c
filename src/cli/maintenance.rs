use quilt::store::{GcOptions, VerifyOptions};

use super::output::plural;
use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Report what would be removed without removing it.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run_gc(args: GcArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
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
