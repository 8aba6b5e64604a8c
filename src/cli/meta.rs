//! `quilt meta REV [KEY]`: the metadata stored with a version (`--meta`), or with one of its
//! files (`--entry-meta`).

use anyhow::Context as _;
use quilt::hash::{Entry, Line, ManifestLines, TopHash};
use quilt::{resolve_rev, ErrorKind};
use serde_json::Value;

use super::output::{escape_name, fail};
use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NS/PKG, NS/PKG@HASH or a top-hash prefix.
    rev: String,
    /// A file's logical key: show that file's metadata instead of the package's.
    key: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo()?;
    let rev = resolve_rev(repo.store(), &args.rev)?;
    let top = rev.top_hash;
    let what = || format!("manifest {top}");
    let mut lines = ManifestLines::new(repo.store().open_manifest(&top)?).with_context(what)?;
    let Some(key) = args.key else {
        let header = lines.header();
        let user_meta = header.get("user_meta").cloned().unwrap_or(Value::Null);
        let message = header.get("message").cloned().unwrap_or(Value::Null);
        if ctx.json {
            ctx.print_json(&serde_json::json!({
                "top_hash": top.to_hex(),
                "message": message,
                "user_meta": user_meta,
            }));
        } else {
            println!("{}", pretty(&user_meta)?);
        }
        return Ok(());
    };
    let entry = lines
        .by_ref()
        .find_map(|line| match line {
            Ok(Line::Entry(e)) if e.logical_key.as_str() == key => Some(Ok(e)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .transpose()
        .with_context(what)?;
    let Some(entry) = entry else {
        return Err(not_found(&key, &top));
    };
    let user_meta = entry_user_meta(&entry);
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "top_hash": top.to_hex(),
            "logical_key": key,
            "user_meta": user_meta,
            "meta": entry.meta.clone().unwrap_or(Value::Null),
        }));
    } else {
        println!("{}", pretty(&user_meta)?);
    }
    Ok(())
}

fn not_found(key: &str, top: &TopHash) -> anyhow::Error {
    fail(
        ErrorKind::NotFound,
        format!(
            "version {top} has no file {}; `quilt ls {top}` lists its files",
            escape_name(key)
        ),
    )
}

/// The metadata a user gave a file (`--entry-meta`, or quilt3's `set(meta=…)`): the
/// `user_meta` inside the entry's `meta`, `null` when there is none.
pub fn entry_user_meta(e: &Entry) -> Value {
    e.meta
        .as_ref()
        .and_then(|m| m.get("user_meta"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// A version's package metadata (`user_meta` of the manifest header), `None` when it is
/// `null` or absent.
pub fn package_user_meta(
    store: &quilt::store::Store,
    top: &TopHash,
) -> anyhow::Result<Option<Value>> {
    let lines =
        ManifestLines::new(store.open_manifest(top)?).with_context(|| format!("manifest {top}"))?;
    Ok(match lines.header().get("user_meta") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.clone()),
    })
}

fn pretty(v: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(v)?)
}
