//! Remotes for quilt: where packages are pushed to and pulled from.
//!
//! A remote is anything implementing [`Remote`]: a blocking, object-safe store of immutable
//! objects keyed by `/`-separated names relative to its root, plus a compare-and-swap
//! [`Remote::put_if`] for the few mutable references. Two backends ship here, [`S3Remote`]
//! (`s3://bucket[/prefix]`, any S3-compatible endpoint) and [`DirRemote`] (a local directory),
//! and three decorators that wrap any remote: [`Retry`] (backoff on transient errors),
//! [`Counting`] (calls per operation) and [`FaultInjecting`] (failures on purpose, for tests).
//! [`open_remote`] turns a URL into a backend wrapped in `Retry`.
//!
//! The layout on a remote is quilt3's registry layout (`.quilt/packages/<tophash>`,
//! `.quilt/named_packages/<ns>/<pkg>/{<unix_ts>,latest}`, `.quilt/objects/<sha256>`); this crate
//! only moves bytes and does not interpret keys.
//!
//! The S3 backend signs and sends every request itself (attohttpc, blocking): every call runs on
//! the caller's thread, parallel transfers come from the caller's thread pool, no runtime has to
//! be started or hidden, and timeouts and size limits bound what any server can cost. See
//! [`s3`].
//!
//! Open a directory remote, store an object under its content-addressed key, read it back and
//! list it; then move a `latest` pointer the way two writers would:
//!
//! ```
//! use quilt_hash::hash_bytes;
//! use quilt_sync::{layout, open_remote, CasOutcome, Condition, Counting, Op, Remote, RemoteOptions};
//!
//! # fn main() -> quilt_sync::Result<()> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let url = dir.path().to_str().expect("utf-8");
//! let remote = Counting::new(open_remote(url, &RemoteOptions::default())?);
//!
//! let key = layout::object_key(&hash_bytes(b"data"));
//! remote.put(&key, b"data")?;
//! assert_eq!(remote.get(&key)?, b"data");
//! let mut listed = Vec::new();
//! remote.list(layout::OBJECTS_PREFIX, &mut |e| {
//!     listed.push(e.key);
//!     Ok(())
//! })?;
//! assert_eq!(listed, [key]);
//! assert_eq!(remote.counts().get(Op::Put), 1);
//!
//! let latest = ".quilt/named_packages/team/pkg/latest";
//! let CasOutcome::Written { etag } = remote.put_if(latest, b"1111", Condition::IfAbsent)? else {
//!     panic!("fresh remote")
//! };
//! // A second writer that still expects "absent" loses and learns the current version.
//! assert!(!remote.put_if(latest, b"2222", Condition::IfAbsent)?.is_written());
//! assert!(remote.put_if(latest, b"2222", Condition::IfMatch(etag))?.is_written());
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod counting;
pub mod dir;
mod error;
pub mod fault;
mod open;
pub mod remote;
pub mod retry;
pub mod s3;
pub mod source;
mod url;

pub use counting::{Counting, Counts, Op};
pub use dir::DirRemote;
pub use error::{BoxError, Error, Result};
pub use fault::FaultInjecting;
pub use open::{open_remote, RemoteOptions};
pub use remote::{check_key, CasOutcome, Condition, ListEntry, ObjectMeta, Remote, Stored};
pub use retry::{Retry, RetryOptions};
pub use s3::{S3Options, S3Remote};
pub use url::RemoteUrl;

pub mod layout;
pub mod packed;
pub mod transfer;

pub use packed::lock::LockOptions;
pub use packed::RemoteLayout;
pub use transfer::error::TransferError;
pub use transfer::fetch::{fetch, fetch_objects, FetchOptions, FetchOutcome, ObjectsFetched};
pub use transfer::publish::{publish_manifest, Published};
pub use transfer::push::{push, ManifestWrite, PushOptions, PushOutcome};
pub use transfer::registry;
