//! `quilt build … --registry`, and builds of an s3:// source: manifest-only builds.

use anyhow::Context as _;
use quilt::hash::PackageName;
use quilt::sync::source::ScanOptions;
use quilt::{BuildOptions, BuildSource, RegistryBuildOptions, RegistryBuildOutcome};

use super::super::output::{fail, json_arg, plural};
use super::super::Ctx;
use super::{entry_meta_arg, Args};

/// Whether a SOURCE argument names S3 data to package in place.
pub fn is_s3(source: &str) -> bool {
    source
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("s3://"))
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let repo = ctx.repo().ok();
    let name = match (&args.name, &repo) {
        (Some(n), _) => PackageName::parse(n.as_str())?,
        (None, Some(repo)) => repo.checked_out_name()?,
        (None, None) => {
            return Err(fail(
                quilt::ErrorKind::Usage,
                "name the package to build as NS/PKG",
            ))
        }
    };
    let source = match args.source.as_deref() {
        Some(s) if s.to_str().is_some_and(is_s3) => {
            BuildSource::S3(s.to_string_lossy().into_owned())
        }
        Some(d) => BuildSource::Dir(ctx.cwd.join(d)),
        None => BuildSource::Dir(match &repo {
            Some(r) => r.worktree().to_path_buf(),
            None => ctx.cwd.clone(),
        }),
    };
    if args.rehash && !matches!(source, BuildSource::S3(_)) {
        return Err(fail(
            quilt::ErrorKind::Usage,
            "--rehash applies to an s3:// source only (every local file is read anyway)",
        ));
    }
    // A remote name or URL, or (for `--registry=`) this directory's default remote, else the
    // user's default registry; named remotes bring their endpoint, region and profile.
    let named = args.registry.as_deref().filter(|r| !r.is_empty());
    let (url, remote) = super::super::remote::open_anywhere(ctx, named)
        .context("could not open the registry (name it with --registry NAME_OR_URL)")?;
    let opts = RegistryBuildOptions {
        build: BuildOptions {
            dir: None,
            message: args.message,
            user_meta: args
                .meta
                .as_deref()
                .map(|m| json_arg(m, "--meta"))
                .transpose()?,
            entry_meta: entry_meta_arg(args.entry_meta.as_deref())?,
        },
        source,
        scan: ScanOptions {
            jobs: args.jobs.max(1),
            rehash: args.rehash,
            ..ScanOptions::default()
        },
        remote: super::super::remote_options(),
        // A store kept inside the packaged directory is never part of it.
        skip_dirs: repo
            .as_ref()
            .map(|r| vec![r.store().root().to_path_buf()])
            .unwrap_or_default(),
    };
    let bar = ctx.bar();
    let out = quilt::build_to_registry(&name, &remote, &opts, &bar, ctx.interrupt)
        .with_context(|| format!("could not build {name} to {url}"))?;
    report(
        ctx,
        &name,
        &url,
        &opts.source,
        &out,
        remote.counts().total(),
    );
    Ok(())
}

fn report(
    ctx: &Ctx,
    name: &PackageName,
    url: &str,
    source: &BuildSource,
    out: &RegistryBuildOutcome,
    registry_requests: u64,
) {
    let mut warnings = Vec::new();
    if let BuildSource::Dir(_) = source {
        warnings.push(
            "the manifest's physical keys are file:// URLs of files on this machine: other machines cannot read them (push the package to share its data)"
                .to_owned(),
        );
    }
    if out.manifest_replaced {
        warnings.push(format!(
            "{url} already had version {} with other physical keys; its manifest now points at this source, as quilt3's build does",
            out.top_hash
        ));
    }
    for s in &out.skipped {
        warnings.push(format!("skipped {:?}: {}", s.key, s.reason));
    }
    if ctx.json {
        let requests = out.source_requests.map(|r| {
            serde_json::json!({
                "list": r.list, "head": r.head, "attributes": r.attributes,
                "get": r.get, "get_bytes": r.get_bytes,
            })
        });
        ctx.print_json(&serde_json::json!({
            "name": name.to_string(),
            "top_hash": out.top_hash.to_hex(),
            "registry": url,
            "files": out.files,
            "bytes": out.bytes,
            "from_checksums": out.from_checksums,
            "hashed_files": out.hashed_objects,
            "hashed_bytes": out.hashed_bytes,
            "skipped": out.skipped.iter().map(|s| serde_json::json!({"key": s.key, "reason": s.reason})).collect::<Vec<_>>(),
            "directory_markers": out.directory_markers,
            "latest_moved": out.latest_moved,
            "manifest_replaced": out.manifest_replaced,
            "source_requests": requests,
            "registry_requests": registry_requests,
            "warnings": warnings,
        }));
        return;
    }
    println!("{}", out.top_hash);
    for w in &warnings {
        super::super::progress::eprintln_above(&format!("warning: {w}"));
    }
    let how = match source {
        BuildSource::S3(_) => format!(
            "{} from S3 checksums, {} read ({})",
            out.from_checksums,
            out.hashed_objects,
            indicatif::HumanBytes(out.hashed_bytes)
        ),
        BuildSource::Dir(_) => "hashed in place".to_owned(),
    };
    ctx.note(format!(
        "{name}: {}, {}; {how}; manifest written to {url}, no data copied{}",
        plural(out.files, "file", "files"),
        indicatif::HumanBytes(out.bytes),
        if out.latest_moved {
            ""
        } else {
            " (latest already named it)"
        }
    ));
    if let Some(r) = out.source_requests {
        tracing::info!(
            list = r.list,
            head = r.head,
            attributes = r.attributes,
            get = r.get,
            get_bytes = r.get_bytes,
            "requests to the source"
        );
    }
}
