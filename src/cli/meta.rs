//! `quilt meta REV [KEY]`: the metadata stored with a version (`--meta`), or with one of its
//! files (`--entry-meta`).

use quilt::hash::Entry;
use serde_json::Value;

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
    let view = repo.meta(&args.rev, args.key.as_deref())?;
    if ctx.json {
        let doc = match &args.key {
            None => serde_json::json!({
                "top_hash": view.top_hash.to_hex(),
                "message": view.message,
                "user_meta": view.user_meta,
            }),
            Some(key) => serde_json::json!({
                "top_hash": view.top_hash.to_hex(),
                "logical_key": key,
                "user_meta": view.user_meta,
                "meta": view.meta,
            }),
        };
        ctx.print_json(&doc);
    } else {
        println!("{}", serde_json::to_string_pretty(&view.user_meta)?);
    }
    Ok(())
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
