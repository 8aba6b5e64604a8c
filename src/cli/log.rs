use quilt::hash::PackageName;

use super::output::format_time;
use super::remote::open_named_remote;
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt log                    versions of the package checked out here
  quilt log team/ds -n 3       the three newest versions of team/ds
  quilt log team/ds --remote origin")]
pub struct LogArgs {
    /// Package name, NAMESPACE/NAME (default: the package checked out here).
    name: Option<String>,
    /// Show at most N versions.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// Show the versions on this remote instead.
    #[arg(long)]
    remote: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// List the packages on this remote instead.
    #[arg(long)]
    remote: Option<String>,
}

pub fn run_log(args: LogArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let name = match &args.name {
        Some(n) => PackageName::parse(n.as_str())?,
        None => super::status::checked_out_name(&repo)?,
    };
    let mut revs: Vec<(String, i64, Option<String>)> = match &args.remote {
        Some(r) => {
            let remote = open_named_remote(&repo, r)?;
            quilt::sync::registry::revisions(&remote, &name)?
                .into_iter()
                .map(|r| (r.top_hash.to_hex(), r.time, None))
                .collect()
        }
        None => repo
            .store()
            .revisions(&name)?
            .into_iter()
            .map(|r| (r.top_hash.to_hex(), r.time, r.message))
            .collect(),
    };
    if revs.is_empty() {
        anyhow::bail!(
            "no versions of {name} found{}",
            args.remote.map(|r| format!(" on {r}")).unwrap_or_default()
        );
    }
    revs.truncate(args.max_count.unwrap_or(usize::MAX));
    if ctx.json {
        let v: Vec<_> = revs
            .iter()
            .map(|(h, t, m)| serde_json::json!({"top_hash": h, "time": t, "message": m}))
            .collect();
        ctx.print_json(&serde_json::json!({"name": name.to_string(), "versions": v}));
        return Ok(());
    }
    for (hash, time, message) in revs {
        println!(
            "{hash}  {}  {}",
            format_time(time),
            message.unwrap_or_default()
        );
    }
    Ok(())
}

pub fn run_list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let rows: Vec<(String, String, i64)> = match &args.remote {
        Some(r) => {
            let remote = open_named_remote(&repo, r)?;
            quilt::sync::registry::packages(&remote)?
                .into_iter()
                .map(|r| (r.name.to_string(), r.top_hash.to_hex(), r.time))
                .collect()
        }
        None => repo
            .store()
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
