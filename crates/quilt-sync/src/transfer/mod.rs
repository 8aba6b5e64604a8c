//! Push, fetch and registry operations built on the [`crate::Remote`] trait and the local
//! store.

mod dest;
/// The error of push, fetch and registry operations.
pub mod error;
pub mod fetch;
mod locate;
pub use locate::{parse_physical_key, PhysicalKey};
pub mod plan;
pub mod publish;
pub mod push;
pub mod registry;
mod rewrite;
pub(crate) mod upload;
