use quilt::store::{GcOptions, VerifyOptions};

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
    let out = repo.store().gc(&opts, &bar, ctx.interrupt)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "objects_removed": out.objects_removed,
            "bytes_freed": out.bytes_freed,
            "packs_rewritten": out.packs_rewritten,
            "manifests_removed": out.manifests_removed,
        }));
    } else {
        println!(
            "{}{} objects removed, {} freed, {} packs rewritten, {} manifests removed",
            if args.dry_run { "(dry run) " } else { "" },
            out.objects_removed,
            indicatif::HumanBytes(out.bytes_freed),
            out.packs_rewritten,
            out.manifests_removed
        );
    }
    Ok(())
}

pub fn run_verify(_args: VerifyArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let bar = ctx.bar();
    let report = repo
        .store()
        .verify(&VerifyOptions::default(), &bar, ctx.interrupt)?;
    if ctx.json {
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        ctx.print_json(&serde_json::json!({"objects_checked": report.objects_checked, "ok": problems.is_empty(), "problems": problems}));
    } else {
        for p in &report.problems {
            println!("{p}");
        }
    }
    if !report.problems.is_empty() {
        anyhow::bail!(
            "verify found {} problem(s) in {} objects",
            report.problems.len(),
            report.objects_checked
        );
    }
    ctx.note(format!("ok: {} objects verified", report.objects_checked));
    Ok(())
}
