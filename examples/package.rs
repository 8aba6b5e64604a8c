//! Builds a package from two local files and metadata, pushes it to a directory remote,
//! browses it back and installs it, checking every step.
//!
//! ```text
//! cargo run --example package [WORK_DIR]
//! ```
//!
//! Without `WORK_DIR` everything happens in a temporary directory that is removed at the end.
//! The install goes through the user's cache store (`$QUILT_CACHE_DIR`, else
//! `~/.cache/quilt`), as `quilt install --from` does.

use std::path::Path;
use std::sync::Arc;

use quilt::hash::PackageName;
use quilt::sync::{open_remote, Remote, RemoteOptions};
use quilt::{InstallOptions, Package, PackageOptions, PushOptions, Repository, Watch};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let work = match std::env::args_os().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => tmp.path().to_path_buf(),
    };
    let data = work.join("data");
    std::fs::create_dir_all(&data)?;
    std::fs::write(data.join("train.csv"), "x,y\n1,2\n3,4\n")?;
    std::fs::write(
        data.join("README.md"),
        "# Demo\nTwo files and some metadata.\n",
    )?;

    // 1. A package in memory: two files and metadata.
    let mut pkg = Package::new();
    pkg.set("train.csv", data.join("train.csv"))?;
    pkg.set("docs/README.md", data.join("README.md"))?;
    pkg.set_meta(json!({"owner": "data-team", "rows": 2}))?;
    pkg.set_entry_meta("train.csv", json!({"columns": ["x", "y"]}))?;
    let top = pkg.top_hash()?;
    println!("top hash: {top}");

    // 2. Build it into a local store and push it to a directory remote.
    let repo = Repository::init(&work.join("store"), None)?;
    let registry_dir = work.join("registry");
    std::fs::create_dir_all(&registry_dir)?;
    let url = registry_dir
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 path"))?;
    let registry: Arc<dyn Remote> = Arc::from(open_remote(url, &RemoteOptions::default())?);
    let name = PackageName::parse("demo/example")?;
    let opts = PushOptions {
        force: false,
        dest: None,
        message: Some("first version".into()),
        jobs: 4,
        ..PushOptions::default()
    };
    let pushed = pkg.push(&repo, &name, registry.as_ref(), &opts, Watch::default())?;
    println!(
        "pushed {name}@{}: {} objects uploaded",
        pushed.top_hash, pushed.objects_uploaded
    );

    // 3. Browse it back: the same entries and metadata, named by the same top hash.
    let mut browsed = Package::browse(registry.clone(), "demo/example", PackageOptions::default())?;
    anyhow::ensure!(
        browsed.top_hash()? == pushed.top_hash,
        "browsed another version"
    );
    anyhow::ensure!(browsed.meta() == Some(&json!({"owner": "data-team", "rows": 2})));
    anyhow::ensure!(browsed.message() == Some("first version"));
    for entry in browsed.walk() {
        println!(
            "  {} ({} bytes)",
            entry.logical_key(),
            entry.size().unwrap_or(0)
        );
    }

    // 4. Install it somewhere else and compare the bytes.
    let dest = work.join("installed");
    let installed = Package::install(
        registry.as_ref(),
        &format!("demo/example@{}", pushed.top_hash),
        &dest,
        &InstallOptions::default(),
        Watch::default(),
    )?;
    println!(
        "installed {} files into {}",
        installed.written.written,
        dest.display()
    );
    same(&data.join("train.csv"), &dest.join("train.csv"))?;
    same(&data.join("README.md"), &dest.join("docs/README.md"))?;
    println!("ok");
    Ok(())
}

fn same(a: &Path, b: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        std::fs::read(a)? == std::fs::read(b)?,
        "{} and {} differ",
        a.display(),
        b.display()
    );
    Ok(())
}
