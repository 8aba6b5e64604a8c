use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use quilt::hash::PackageName;
use quilt::BuildOptions;

use super::output::{json_arg, plural};
use super::Ctx;

mod registry;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  quilt build team/ds -m \"first cut\"        record this directory as a version of team/ds
  quilt build -m \"fix a\"                    a new version of the package checked out here
  quilt build team/ds ./data --meta '{\"source\": \"lab\"}'
  quilt build team/ds s3://bucket/data/ --registry s3://registry
                                          package S3 data in place: only the manifest is written
  quilt build team/ds ./data --registry s3://registry
                                          manifest only, with file:// keys to the local files")]
pub struct Args {
    /// Package name, NAMESPACE/NAME (default: the package checked out here).
    name: Option<String>,
    /// Directory to package (default: the working directory), or s3://bucket/prefix/ to
    /// package S3 data in place (manifest only, see --registry).
    source: Option<PathBuf>,
    /// Message recorded with this version.
    #[arg(short, long)]
    message: Option<String>,
    /// Package metadata: JSON, or @FILE holding JSON.
    #[arg(long, value_name = "JSON|@FILE")]
    meta: Option<String>,
    /// Per-file metadata: a JSON object mapping logical keys to metadata, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    entry_meta: Option<String>,
    /// Write only the manifest and its pointers to this registry (remote name or URL) and copy
    /// no data: physical keys keep pointing at the files where they are. Nothing is recorded in
    /// the local store. Given without a value (`--registry=`), the default registry (this
    /// directory's default remote, else the user's `quilt config default-remote`).
    #[arg(long, value_name = "REMOTE", num_args = 0..=1, default_missing_value = "")]
    registry: Option<String>,
    /// With an s3:// source: read and hash every object, even those whose hash S3's stored
    /// checksum already gives.
    #[arg(long)]
    rehash: bool,
    /// With an s3:// source: parallel requests.
    #[arg(long, default_value_t = 16)]
    jobs: usize,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let s3_source = args
        .source
        .as_deref()
        .and_then(|s| s.to_str())
        .is_some_and(registry::is_s3);
    if args.registry.is_some() || s3_source {
        return registry::run(args, ctx);
    }
    if args.rehash {
        return Err(super::output::fail(
            quilt::ErrorKind::Usage,
            "--rehash applies to an s3:// source only (a local build reads every file it has no cached hash for)",
        ));
    }
    let repo = ctx.repo()?;
    let name = match &args.name {
        Some(n) => PackageName::parse(n.as_str())?,
        None => repo.checked_out_name()?,
    };
    // Without --meta the package keeps its metadata, as quilt3 carries `meta` forward when
    // a browsed package is edited; `--meta null` (or `{}`) clears it.
    let user_meta = match args.meta.as_deref() {
        Some(m) => Some(json_arg(m, "--meta")?),
        None => repo.latest_user_meta(&name).with_context(|| {
            format!("could not read the metadata of {name}'s latest version to carry it forward; pass --meta to set it")
        })?,
    };
    let entry_meta = entry_meta_arg(args.entry_meta.as_deref())?;
    let dir = args.source.map(|d| ctx.cwd.join(d));
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

/// `--entry-meta`: a JSON object mapping logical keys to metadata.
fn entry_meta_arg(arg: Option<&str>) -> anyhow::Result<HashMap<String, serde_json::Value>> {
    match arg {
        None => Ok(HashMap::new()),
        Some(s) => match json_arg(s, "--entry-meta")? {
            serde_json::Value::Object(map) => Ok(map.into_iter().collect()),
            _ => {
                anyhow::bail!("--entry-meta must be a JSON object mapping logical keys to metadata")
            }
        },
    }
}
