//! [`Counting`]: counts calls per operation, so tests can bound how chatty an algorithm is.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{CasOutcome, Condition, ListEntry, ObjectMeta, Remote, Result, Stored};

/// One method of [`Remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// [`Remote::list`].
    List,
    /// [`Remote::head`].
    Head,
    /// [`Remote::get`].
    Get,
    /// [`Remote::get_to`].
    GetTo,
    /// [`Remote::get_range`].
    GetRange,
    /// [`Remote::put`].
    Put,
    /// [`Remote::put_file`].
    PutFile,
    /// [`Remote::delete`].
    Delete,
    /// [`Remote::put_if`].
    PutIf,
    /// [`Remote::get_version_to`].
    GetVersion,
}

impl Op {
    /// Every method, in declaration order.
    pub const ALL: [Op; 10] = [
        Op::List,
        Op::Head,
        Op::Get,
        Op::GetTo,
        Op::GetRange,
        Op::Put,
        Op::PutFile,
        Op::Delete,
        Op::PutIf,
        Op::GetVersion,
    ];

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Head => "head",
            Op::Get => "get",
            Op::GetTo => "get_to",
            Op::GetRange => "get_range",
            Op::Put => "put",
            Op::PutFile => "put_file",
            Op::Delete => "delete",
            Op::PutIf => "put_if",
            Op::GetVersion => "get_version_to",
        }
    }
}

/// A snapshot of [`Counting`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; 10]);

impl Counts {
    /// Calls of `op`.
    pub fn get(&self, op: Op) -> u64 {
        self.0[op as usize]
    }

    /// Calls of all operations.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for op in Op::ALL {
            if self.get(op) > 0 {
                write!(
                    f,
                    "{}{}={}",
                    if first { "" } else { " " },
                    op.name(),
                    self.get(op)
                )?;
                first = false;
            }
        }
        if first {
            write!(f, "no calls")?;
        }
        Ok(())
    }
}

/// Counts every call by operation, failed ones included, then forwards it.
///
/// It counts calls, not HTTP requests: one `list` call is one count even when S3 pages through
/// it, and a [`crate::Retry`] inside this decorator hides its retries. Place `Counting` inside
/// `Retry` to count attempts; use [`crate::S3Remote::requests_sent`] for exact HTTP requests.
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    counts: [AtomicU64; 10],
}

impl<R: Remote> Counting<R> {
    /// Counts the calls made to `inner`, from zero.
    pub fn new(inner: R) -> Self {
        Counting {
            inner,
            counts: Default::default(),
        }
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts(std::array::from_fn(|i| {
            self.counts[i].load(Ordering::Relaxed)
        }))
    }

    /// Set every counter to zero.
    pub fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The wrapped remote.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    fn tick(&self, op: Op) {
        self.counts[op as usize].fetch_add(1, Ordering::Relaxed);
    }
}

impl<R: Remote> Remote for Counting<R> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        self.tick(Op::List);
        self.inner.list(prefix, visit)
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        self.tick(Op::Head);
        self.inner.head(key)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>> {
        self.tick(Op::Get);
        self.inner.get(key)
    }
    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        self.tick(Op::GetTo);
        self.inner.get_to(key, w)
    }
    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        self.tick(Op::GetVersion);
        self.inner.get_version_to(key, version_id, start, w)
    }
    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        self.tick(Op::GetRange);
        self.inner.get_range(key, start, len)
    }
    fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
        self.tick(Op::Put);
        self.inner.put(key, data)
    }
    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
        self.tick(Op::PutFile);
        self.inner.put_file(key, path, part_size, part_checksums)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.tick(Op::Delete);
        self.inner.delete(key)
    }
    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        self.tick(Op::PutIf);
        self.inner.put_if(key, data, cond)
    }
}
