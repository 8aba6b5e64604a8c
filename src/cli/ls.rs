use std::io::Write as _;

use anyhow::Context as _;

use super::output::escape_name;
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt ls                     files of the checked-out version
  quilt ls HEAD~1              files of the version before it
  quilt ls team/ds@3f1c9a      files of a version by top-hash prefix")]
pub struct Args {
    /// NS/PKG, NS/PKG@HASH, HEAD, REV~N or a top-hash prefix (default: HEAD).
    rev: Option<String>,
}

/// Streams the manifest line by line, so listing a million-entry version holds one entry at
/// a time.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let entries = repo.entries(args.rev.as_deref().unwrap_or(quilt::HEAD))?;
    let top_hash = entries.top_hash;
    let what = || format!("manifest {top_hash}");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if ctx.json {
        super::output::JSON_PRINTED.store(true, std::sync::atomic::Ordering::Relaxed);
        write!(out, "{{\"top_hash\": \"{top_hash}\", \"entries\": [")?;
    }
    let mut first = true;
    for e in entries {
        let e = e.with_context(what)?;
        if ctx.json {
            let v = serde_json::json!({
                "logical_key": e.logical_key.as_str(),
                "size": e.size,
                "hash": e.hash.to_hex(),
                "hash_type": e.hash.kind.name(),
                "user_meta": super::meta::entry_user_meta(&e),
            });
            write!(out, "{}{v}", if first { "" } else { ", " })?;
        } else {
            let name = escape_name(e.logical_key.as_str());
            writeln!(out, "{:>12}  {name}", e.size)?;
        }
        first = false;
    }
    if ctx.json {
        writeln!(out, "]}}")?;
    }
    out.flush()?;
    Ok(())
}
