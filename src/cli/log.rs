use quilt::hash::PackageName;
use quilt::VersionInfo;

use super::output::format_time;
use super::remote::{open_anywhere, Counted};
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt log                    versions of the package checked out here
  quilt log team/ds -n 3       the three newest versions of team/ds
  quilt log team/ds --remote origin
  quilt log team/ds --remote   the versions on the default remote")]
pub struct LogArgs {
    /// Package name, NAMESPACE/NAME (default: the package checked out here).
    name: Option<String>,
    /// Show at most N versions.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// Show the versions on this remote (a name, or a URL/path, which works outside a quilt
    /// directory too) instead; without a value, on the default remote (the working
    /// directory's, else `quilt config default-remote`).
    #[arg(long, value_name = "REMOTE")]
    remote: Option<Option<String>>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// List the packages on this remote (a name, or a URL/path, which works outside a quilt
    /// directory too) instead; without a value, on the default remote.
    #[arg(long, value_name = "REMOTE")]
    remote: Option<Option<String>>,
}

pub fn run_log(args: LogArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let name = match &args.name {
        Some(n) => PackageName::parse(n.as_str())?,
        None => ctx.repo()?.checked_out_name()?,
    };
    let mut revs: Vec<VersionInfo> = match &args.remote {
        Some(r) => quilt::list_package_versions(&open_remote_anywhere(ctx, r.as_deref())?, &name)?,
        None => ctx.repo()?.log(&name)?,
    };
    if revs.is_empty() {
        anyhow::bail!(
            "no versions of {name} found{}",
            match &args.remote {
                Some(Some(r)) => format!(" on {r}"),
                Some(None) => " on the default remote".into(),
                None => String::new(),
            }
        );
    }
    revs.truncate(args.max_count.unwrap_or(usize::MAX));
    if ctx.json {
        let v: Vec<_> = revs
            .iter()
            .map(|r| serde_json::json!({"top_hash": r.top_hash.to_hex(), "time": r.time, "message": r.message, "latest": r.latest}))
            .collect();
        ctx.print_json(&serde_json::json!({"name": name.to_string(), "versions": v}));
        return Ok(());
    }
    for r in revs {
        let mark = if r.latest { "  (latest)" } else { "" };
        println!(
            "{}  {}{mark}  {}",
            r.top_hash,
            format_time(r.time),
            r.message.unwrap_or_default()
        );
    }
    Ok(())
}

/// Opens a remote by name (in a quilt directory), by URL (anywhere) or the default one:
/// reading a remote's history needs no local store.
fn open_remote_anywhere(ctx: &Ctx, name_or_url: Option<&str>) -> anyhow::Result<Counted> {
    Ok(open_anywhere(ctx, name_or_url)?.1)
}

pub fn run_list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let rows: Vec<(String, String, i64)> = match &args.remote {
        Some(r) => quilt::list_packages(&open_remote_anywhere(ctx, r.as_deref())?)?,
        None => ctx.repo()?.list()?,
    }
    .into_iter()
    .map(|r| (r.name.to_string(), r.top_hash.to_hex(), r.time))
    .collect();
    if ctx.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(n, h, t)| serde_json::json!({"name": n, "top_hash": h, "time": t}))
            .collect();
        ctx.print_json(&serde_json::json!({ "packages": v }));
        return Ok(());
    }
    for (name, hash, time) in rows {
        println!("{name}  {}  {}", &hash[..12], format_time(time));
    }
    Ok(())
}
