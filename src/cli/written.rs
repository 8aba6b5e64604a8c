//! How checkout, install, fetch and pull report what they fetched and wrote.

use quilt::{CheckoutOutcome, FetchOutcome, Installed};

use super::output::plural;
use super::Ctx;

/// What a checkout or install wrote.
pub fn report(ctx: &Ctx, out: &CheckoutOutcome) {
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "top_hash": out.top_hash.to_hex(),
            "written": out.written,
            "removed": out.removed,
            "unchanged": out.unchanged,
            "bytes": out.bytes,
        }));
    } else {
        println!("{}", out.top_hash);
        ctx.note(format!(
            "{} written, {} removed, {} unchanged",
            out.written, out.removed, out.unchanged
        ));
    }
}

/// What a fetch downloaded (text only; `--json` prints it with what follows).
pub fn report_fetch(ctx: &Ctx, out: &FetchOutcome) {
    if !ctx.json {
        ctx.note(format!(
            "fetched {}: {} downloaded ({}), {} already local",
            out.top_hash,
            plural(out.objects_downloaded, "object", "objects"),
            indicatif::HumanBytes(out.bytes_downloaded),
            out.objects_present
        ));
    }
}

/// `pull` and `install --from`: what was fetched, then what was written.
pub fn report_installed(ctx: &Ctx, installed: &Installed) {
    let (fetched, co) = (&installed.fetched.outcome, &installed.written);
    if !ctx.json {
        return report(ctx, co);
    }
    ctx.print_json(&serde_json::json!({
        "top_hash": fetched.top_hash.to_hex(),
        "objects_downloaded": fetched.objects_downloaded,
        "bytes_downloaded": fetched.bytes_downloaded,
        "objects_present": fetched.objects_present,
        "written": co.written,
        "removed": co.removed,
        "unchanged": co.unchanged,
        "bytes": co.bytes,
    }));
}
