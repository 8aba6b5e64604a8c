//! A small progress interface shared by every long operation in the workspace.
//!
//! Libraries report through `&dyn Progress`; only the binary draws anything.

/// Receives progress reports from long operations. All methods take `&self` and must be cheap:
/// they are called from many worker threads at once.
pub trait Progress: Sync {
    /// A new phase begins, e.g. "hashing" or "uploading". `total` is in `unit`s when known.
    fn start(&self, _phase: &str, _total: Option<u64>, _unit: Unit) {}
    /// `n` more units of the current phase are done.
    fn inc(&self, _n: u64) {}
    /// The total of the current phase became known or changed.
    fn set_total(&self, _total: u64) {}
    /// The current phase is over.
    fn finish(&self) {}
}

/// What a phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Amounts are bytes.
    Bytes,
    /// Amounts are files, objects or other things.
    Items,
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
