//! `quilt push --all`: which versions to send, and how a push of one or many is reported.

use quilt::hash::{PackageName, TopHash};
use quilt::sync::{registry, PushOutcome, Remote};
use quilt::Repository;

use super::Ctx;

/// Every local version of `name` the remote lacks, oldest first, then the local latest (always
/// pushed, so `latest` ends on it). A version whose manifest is on the remote is complete there
/// (objects go before the manifest), so a repeated run skips it.
pub fn versions(
    repo: &Repository,
    name: &PackageName,
    remote: &dyn Remote,
) -> anyhow::Result<Vec<TopHash>> {
    let mut history: Vec<TopHash> = repo
        .store()
        .db()
        .revisions(name)?
        .into_iter()
        .rev()
        .map(|r| r.top_hash)
        .collect();
    let Some(latest) = history.pop() else {
        anyhow::bail!("no local versions of {name}; `quilt list` shows what is stored");
    };
    let mut out = Vec::new();
    for top in history {
        if !registry::has_manifest(remote, &top)? {
            out.push(top);
        }
    }
    tracing::info!(
        package = %name,
        missing = out.len(),
        "older versions the remote lacks"
    );
    out.push(latest);
    Ok(out)
}

/// Prints what was pushed. `--json` gives one version's fields at the top level, or with
/// `all` a `versions` list (oldest first), so a script sees one shape per flag.
pub fn report(
    ctx: &Ctx,
    name: &PackageName,
    url: &str,
    outcomes: &[PushOutcome],
    all: bool,
    requests: u64,
) {
    if ctx.json {
        let one = |out: &PushOutcome| {
            serde_json::json!({
                "top_hash": out.top_hash.to_hex(),
                "objects_uploaded": out.objects_uploaded,
                "bytes_uploaded": out.bytes_uploaded,
                "objects_present": out.objects_present,
                "latest_moved": out.latest_moved,
                "manifest": out.manifest_written.as_str(),
            })
        };
        let mut doc = match (all, outcomes) {
            (false, [single]) => one(single),
            _ => serde_json::json!({ "versions": outcomes.iter().map(one).collect::<Vec<_>>() }),
        };
        doc["name"] = name.to_string().into();
        doc["remote"] = url.into();
        doc["requests"] = requests.into();
        ctx.print_json(&doc);
        return;
    }
    for out in outcomes {
        for w in &out.warnings {
            eprintln!("warning: {w}");
        }
        println!("{}", out.top_hash);
        ctx.note(format!(
            "pushed {name}@{} to {url}: {} uploaded ({}), {} already there",
            &out.top_hash.to_hex()[..12],
            super::super::output::plural(out.objects_uploaded, "object", "objects"),
            indicatif::HumanBytes(out.bytes_uploaded),
            out.objects_present
        ));
        if out.manifest_written == quilt::sync::ManifestWrite::Rewritten {
            ctx.note(format!(
                "{url} already had this version: its manifest was rewritten with the new \
                 physical keys, so the files just written are part of it"
            ));
        }
    }
}
