//! quilt: version, deduplicate and sync datasets the way git versions code, byte-compatible
//! with quilt3 manifests and top hashes.
//!
//! This crate is the facade the `quilt` binary is built on. A [`Repository`] is a working
//! directory plus the object store it builds into:
//!
//! ```no_run
//! use quilt::{Repository, BuildOptions};
//! use quilt::hash::{NoProgress, PackageName};
//! use std::sync::atomic::AtomicBool;
//!
//! let repo = Repository::init(std::path::Path::new("."), None)?;
//! let name = PackageName::parse("team/dataset")?;
//! let opts = BuildOptions { message: Some("first".into()), ..BuildOptions::default() };
//! let outcome = repo.build(&name, &opts, &NoProgress, &AtomicBool::new(false))?;
//! println!("{}", outcome.top_hash);
//! # Ok::<(), quilt::Error>(())
//! ```

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
mod ignore;
pub mod registry_build;
mod repo;
mod rev;
mod scan;
mod status;
mod tree_open;
pub mod user_config;
mod walk;
mod write_tree;

pub use build::{BuildOptions, BuildOutcome};
pub use checkout::{
    install, install_with, target_path, CheckoutOptions, CheckoutOutcome, InstallOptions,
};
pub use diff::{diff_headers, diff_manifests, Change, ChangeKind, HeaderChange};
pub use error::{Error, ErrorKind};
pub use ignore::IgnoreRules;
pub use registry_build::{
    build_to_registry, BuildSource, RegistryBuildOptions, RegistryBuildOutcome,
};
pub use repo::{Repository, DOT_QUILT};
pub use rev::{resolve_rev, Rev, RevSpec, HEAD};
pub use status::{Status, StatusEntry};
pub use walk::{walk_dir, WalkedFile};
