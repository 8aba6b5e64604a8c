use quilt::hash::PackageName;
use quilt::sync::{registry, Remote};

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

/// One line of `log`: hash, time, message, whether it is the package's `latest`.
type LogRow = (String, i64, Option<String>, bool);

pub fn run_log(args: LogArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let name = match &args.name {
        Some(n) => PackageName::parse(n.as_str())?,
        None => super::status::checked_out_name(&ctx.repo()?)?,
    };
    let mut revs: Vec<LogRow> = match &args.remote {
        Some(r) => remote_log(&open_remote_anywhere(ctx, r.as_deref())?, &name)?,
        None => ctx
            .repo()?
            .store()
            .db()
            .revisions(&name)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r.top_hash.to_hex(), r.time, r.message, i == 0))
            .collect(),
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
            .map(|(h, t, m, l)| serde_json::json!({"top_hash": h, "time": t, "message": m, "latest": l}))
            .collect();
        ctx.print_json(&serde_json::json!({"name": name.to_string(), "versions": v}));
        return Ok(());
    }
    for (hash, time, message, latest) in revs {
        let mark = if latest { "  (latest)" } else { "" };
        println!(
            "{hash}  {}{mark}  {}",
            format_time(time),
            message.unwrap_or_default()
        );
    }
    Ok(())
}

/// The remote's versions of `name`, newest first, each with its manifest's message; the one
/// `latest` names is marked (and listed first if no timestamped pointer names it).
fn remote_log(remote: &dyn Remote, name: &PackageName) -> anyhow::Result<Vec<LogRow>> {
    let latest = registry::latest(remote, name)?;
    let mut rows = Vec::new();
    for r in registry::revisions(remote, name)? {
        let message = registry::message(remote, &r.top_hash)?;
        rows.push((
            r.top_hash.to_hex(),
            r.time,
            message,
            Some(r.top_hash) == latest,
        ));
    }
    if let Some(top) = latest {
        if !rows.iter().any(|r| r.3) {
            let message = registry::message(remote, &top)?;
            rows.insert(0, (top.to_hex(), 0, message, true));
        }
    }
    Ok(rows)
}

/// Opens a remote by name (in a quilt directory), by URL (anywhere) or the default one:
/// reading a remote's history needs no local store.
fn open_remote_anywhere(ctx: &Ctx, name_or_url: Option<&str>) -> anyhow::Result<Counted> {
    Ok(open_anywhere(ctx, name_or_url)?.1)
}

pub fn run_list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let rows: Vec<(String, String, i64)> = match &args.remote {
        Some(r) => {
            let remote = open_remote_anywhere(ctx, r.as_deref())?;
            registry::packages(&remote)?
                .into_iter()
                .map(|r| (r.name.to_string(), r.top_hash.to_hex(), r.time))
                .collect()
        }
        None => ctx
            .repo()?
            .store()
            .db()
            .packages()?
            .into_iter()
            .map(|r| (r.name.to_string(), r.top_hash.to_hex(), r.time))
            .collect(),
    };
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
