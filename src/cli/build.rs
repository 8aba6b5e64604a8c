use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use quilt::hash::PackageName;
use quilt::BuildOptions;

use super::output::{json_arg, plural};
use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt build team/ds -m \"first cut\"        record this directory as a version of team/ds
  quilt build -m \"fix a\"                    a new version of the package checked out here
  quilt build team/ds ./data --meta '{\"source\": \"lab\"}'")]
pub struct Args {
    /// Package name, NAMESPACE/NAME (default: the package checked out here).
    name: Option<String>,
    /// Directory to package (default: the working directory).
    dir: Option<PathBuf>,
    /// Message recorded with this version.
    #[arg(short, long)]
    message: Option<String>,
    /// Package metadata: JSON, or @FILE holding JSON.
    #[arg(long, value_name = "JSON|@FILE")]
    meta: Option<String>,
    /// Per-file metadata: a JSON object mapping logical keys to metadata, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    entry_meta: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let name = match &args.name {
        Some(n) => PackageName::parse(n.as_str())?,
        None => super::status::checked_out_name(&repo)?,
    };
    // Without --meta the package keeps its metadata, as quilt3 carries `meta` forward when
    // a browsed package is edited; `--meta null` (or `{}`) clears it.
    let user_meta = match args.meta.as_deref() {
        Some(m) => Some(json_arg(m, "--meta")?),
        None => match repo.store().latest(&name)? {
            Some(prev) => super::meta::package_user_meta(repo.store(), &prev.top_hash)
                .with_context(|| {
                    format!(
                        "could not read the metadata of {name}@{} to carry it forward; \
                         pass --meta to set it",
                        prev.top_hash
                    )
                })?,
            None => None,
        },
    };
    let entry_meta = match args.entry_meta.as_deref() {
        None => HashMap::new(),
        Some(s) => match json_arg(s, "--entry-meta")? {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            _ => {
                anyhow::bail!("--entry-meta must be a JSON object mapping logical keys to metadata")
            }
        },
    };
    let dir = args
        .dir
        .map(|d| if d.is_absolute() { d } else { ctx.cwd.join(d) });
    let opts = BuildOptions {
        dir,
        message: args.message,
        user_meta,
        entry_meta,
    };
    let bar = ctx.bar();
    let out = repo
        .build(&name, &opts, &bar, ctx.interrupt)
        .with_context(|| format!("could not build {name}"))?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "name": name.to_string(),
            "top_hash": out.top_hash.to_hex(),
            "files": out.files,
            "bytes": out.bytes,
            "hashed_files": out.hashed_files,
            "new_objects": out.new_objects,
            "new_bytes": out.new_bytes,
            "unchanged": out.unchanged,
        }));
    } else {
        println!("{}", out.top_hash);
        if out.unchanged {
            ctx.note(format!(
                "{name}: nothing changed ({})",
                plural(out.files, "file", "files")
            ));
        } else {
            ctx.note(format!(
                "{name}: {}, {}; {} ({})",
                plural(out.files, "file", "files"),
                indicatif::HumanBytes(out.bytes),
                plural(out.new_objects, "new object", "new objects"),
                indicatif::HumanBytes(out.new_bytes)
            ));
        }
    }
    Ok(())
}
