//! quilt: version, deduplicate and sync datasets the way git versions code, byte-compatible
//! with quilt3 manifests, top hashes and registries.
//!
//! Two types carry everything the `quilt` command does:
//!
//! - [`Package`]: a package in memory, as quilt3's `quilt3.Package`: set files, folders and
//!   S3 objects, metadata; compute the top hash; build it into a store or (manifest only)
//!   into a registry; push it; browse and install what a registry holds.
//! - [`Repository`]: a working directory and its object store, as the CLI uses it:
//!   [`Repository::build`], [`Repository::status`], [`Repository::checkout`],
//!   [`Repository::push`], [`Repository::fetch`], [`Repository::pull`],
//!   [`Repository::install`] and [`Repository::install_from`].
//!
//! Every method returns [`Error`], whose [`Error::kind`] classifies it for scripts. Long
//! operations take a [`Watch`]: progress reporting and an interrupt flag
//! ([`Watch::default`] for neither).
//!
//! Remotes are [`sync::Remote`]s: `s3://bucket[/prefix]` or a directory, opened with
//! [`sync::open_remote`]. A package built from two files and metadata, pushed to a directory
//! remote, browsed back and installed:
//!
//! ```
//! use std::sync::Arc;
//! use quilt::hash::PackageName;
//! use quilt::sync::{open_remote, Remote, RemoteOptions};
//! use quilt::{InstallOptions, Package, PackageOptions, PushOptions, Repository, Watch};
//!
//! # fn main() -> Result<(), quilt::Error> {
//! let tmp = tempfile::tempdir().expect("temp dir");
//! let (a, b) = (tmp.path().join("a.csv"), tmp.path().join("b.json"));
//! std::fs::write(&a, "x,y\n1,2\n").expect("write");
//! std::fs::write(&b, r#"{"k": 1}"#).expect("write");
//!
//! let mut pkg = Package::new();
//! pkg.set("data/a.csv", &a)?.set("b.json", &b)?;
//! pkg.set_meta(serde_json::json!({"owner": "team"}))?;
//!
//! // Build into a store and push to a directory remote (quilt3's registry layout).
//! let repo = Repository::init(&tmp.path().join("work"), None)?;
//! let remote_dir = tmp.path().join("registry");
//! std::fs::create_dir(&remote_dir).expect("mkdir");
//! let remote: Arc<dyn Remote> =
//!     Arc::from(open_remote(remote_dir.to_str().expect("utf-8"), &RemoteOptions::default())?);
//! let name = PackageName::parse("team/demo")?;
//! let opts = PushOptions { message: Some("v1".into()), jobs: 4, ..PushOptions::default() };
//! let pushed = pkg.push(&repo, &name, remote.as_ref(), &opts, Watch::default())?;
//!
//! // Browse it back, then install it into another directory.
//! let mut browsed = Package::browse(remote.clone(), "team/demo", PackageOptions::default())?;
//! assert_eq!(browsed.top_hash()?, pushed.top_hash);
//! let dest = tmp.path().join("copy");
//! repo.install(&pushed.top_hash.to_hex(), &dest, &InstallOptions::default(), Watch::default())?;
//! assert_eq!(std::fs::read(dest.join("data/a.csv")).expect("read"), b"x,y\n1,2\n");
//! # Ok(())
//! # }
//! ```
//!
//! The crates underneath are re-exported: [`hash`] (hash types, manifests, top hashes),
//! [`store`] (the local object store) and [`sync`] (remotes and transfers).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use quilt_hash as hash;
pub use quilt_store as store;
pub use quilt_sync as sync;

mod atomic;
mod build;
mod build_s3;
mod checkout;
mod dest;
mod diff;
mod error;
mod hash_dir;
mod history;
mod ignore;
mod maintenance;
mod package;
pub mod registry_build;
mod remotes;
mod repo;
mod rev;
mod scan;
mod status;
mod transfer;
mod tree_open;
pub mod user_config;
mod walk;
mod watch;
mod write_tree;

pub use build::{BuildOptions, BuildOutcome};
pub use checkout::{
    install, install_with, target_path, CheckoutOptions, CheckoutOutcome, InstallOptions,
};
pub use diff::{diff_headers, diff_manifests, Change, ChangeKind, HeaderChange};
pub use error::{Error, ErrorKind};
pub use history::{delete_package, list_package_versions, list_packages, MetaView, VersionInfo};
pub use ignore::IgnoreRules;
pub use maintenance::Entries;
pub use package::{Package, PackageEntry, PackageOptions, Source};
pub use quilt_sync::{FetchOptions, FetchOutcome, PushOptions, PushOutcome};
pub use registry_build::{
    build_to_registry, BuildSource, RegistryBuildOptions, RegistryBuildOutcome,
};
pub use remotes::{
    create_remote_dir, open_remote_anywhere, open_remote_to_read, user_default_remote_url,
    OpenedRemote, RemoteSetting, RemoteUpdate, SettingsChange,
};
pub use repo::{Repository, DOT_QUILT};
pub use rev::{resolve_rev, Rev, RevSpec, HEAD};
pub use status::{Status, StatusEntry};
pub use transfer::{cache_dir, Fetched, Installed};
pub use walk::{walk_dir, WalkedFile};
pub use watch::Watch;
