//! Integration tests; modules mirror `src/`.
//!
//! The S3 tests share one SeaweedFS server per run of this binary, started on first use by
//! `scripts/s3-server.sh` (see `util::s3_server`), and each makes its own bucket.
//! `QUILT_S3_TESTS=skip` skips them with a note; otherwise a server that can't start fails them.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

mod aws_config;
mod conformance;
mod counting;
mod dir;
mod fault;
mod retry;
mod s3;
mod s3_listing;
mod source;
mod transfer;
mod util;
