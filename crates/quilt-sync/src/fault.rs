//! [`FaultInjecting`]: a remote that misbehaves on purpose, for reliability tests.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result, Stored};

#[derive(Debug, Default)]
struct Plan {
    /// 1-based call numbers that fail with a transient error instead of reaching the inner remote.
    fail: BTreeSet<u64>,
    /// 1-based call numbers that reach the inner remote but whose answer is replaced by a
    /// transient error, like a response lost on the way back.
    lose: BTreeSet<u64>,
    /// Every read returns at most this many bytes, silently.
    truncate_reads: Option<u64>,
    /// The next `get_to` writes this many bytes, then fails like a dropped connection.
    cut_next_get_to: Option<u64>,
    delay: Option<Duration>,
}

/// Wraps a remote and injects faults: transient failures of chosen calls, silently truncated
/// reads, a download cut off mid-stream, and a delay before every call.
///
/// Calls are numbered from 1 in the order they arrive, whatever the operation. An injected
/// failure does not reach the inner remote, like a request lost on the way.
#[derive(Debug)]
pub struct FaultInjecting<R> {
    inner: R,
    calls: AtomicU64,
    plan: Mutex<Plan>,
}

impl<R: Remote> FaultInjecting<R> {
    /// No faults until some are planned.
    pub fn new(inner: R) -> Self {
        FaultInjecting {
            inner,
            calls: AtomicU64::new(0),
            plan: Mutex::default(),
        }
    }

    /// Fail call number `n` (1-based) with a transient error.
    pub fn fail_call(self, n: u64) -> Self {
        self.plan().fail.insert(n);
        self
    }

    /// Let call number `n` (1-based) reach the inner remote, then report a transient error.
    pub fn lose_answer_of_call(self, n: u64) -> Self {
        self.plan().lose.insert(n);
        self
    }

    /// Fail the next `n` calls (counting from the calls made so far) with a transient error.
    pub fn fail_next(self, n: u64) -> Self {
        let done = self.calls();
        self.plan().fail.extend(done + 1..=done + n);
        self
    }

    /// Make `get`, `get_range` and `get_to` return at most `keep` bytes, without an error.
    pub fn truncate_reads(self, keep: u64) -> Self {
        self.plan().truncate_reads = Some(keep);
        self
    }

    /// Make the next `get_to` write `after` bytes and then fail with a transient error.
    pub fn cut_next_get_to(self, after: u64) -> Self {
        self.plan().cut_next_get_to = Some(after);
        self
    }

    /// Sleep `d` before every call.
    pub fn delay(self, d: Duration) -> Self {
        self.plan().delay = Some(d);
        self
    }

    /// Calls seen so far, injected failures included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// The wrapped remote.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        // A panic while holding the lock can't leave the plan inconsistent; keep going.
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number the call, apply the delay and planned failure; `Ok(n)` lets it through.
    fn enter(&self, op: &'static str, key: &str) -> Result<u64> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let (fail, delay) = {
            let p = self.plan();
            (p.fail.contains(&n), p.delay)
        };
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        if fail {
            return Err(self.fault(op, key, format!("injected fault on call {n}")));
        }
        Ok(n)
    }

    /// The inner call's result, unless call `n`'s answer is planned to be lost.
    fn leave<T>(&self, n: u64, op: &'static str, key: &str, r: Result<T>) -> Result<T> {
        if self.plan().lose.contains(&n) {
            return Err(self.fault(op, key, format!("injected lost answer of call {n}")));
        }
        r
    }

    fn fault(&self, op: &'static str, key: &str, detail: String) -> Error {
        Error::Transient {
            url: self.inner.describe(),
            key: key.to_owned(),
            op,
            detail,
            attempts: 1,
            source: None,
        }
    }

    /// A streaming read through `get`, truncated or cut off as planned.
    fn stream(
        &self,
        op: &'static str,
        key: &str,
        w: &mut dyn Write,
        get: impl FnOnce(&mut dyn Write) -> Result<u64>,
    ) -> Result<u64> {
        let (cut, keep) = {
            let mut p = self.plan();
            (p.cut_next_get_to.take(), p.truncate_reads)
        };
        let limit = match (cut, keep) {
            (Some(c), Some(k)) => Some(c.min(k)),
            (c, k) => c.or(k),
        };
        let Some(limit) = limit else {
            return get(w);
        };
        let mut lw = Limit {
            inner: w,
            left: limit,
        };
        let total = get(&mut lw)?;
        let written = total.min(limit);
        match cut {
            Some(_) => Err(self.fault(
                op,
                key,
                format!("injected connection drop after {written} bytes"),
            )),
            None => Ok(written),
        }
    }

    fn truncate(&self, mut data: Vec<u8>) -> Vec<u8> {
        if let Some(keep) = self.plan().truncate_reads {
            data.truncate(keep.min(data.len() as u64) as usize);
        }
        data
    }
}

/// Passes through at most `left` bytes, then swallows the rest.
struct Limit<'a> {
    inner: &'a mut dyn Write,
    left: u64,
}

impl Write for Limit<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let take = (buf.len() as u64).min(self.left) as usize;
        if take > 0 {
            self.inner.write_all(&buf[..take])?;
            self.left -= take as u64;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Remote> Remote for FaultInjecting<R> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        let n = self.enter("list", prefix)?;
        let r = self.inner.list(prefix, visit);
        self.leave(n, "list", prefix, r)
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let n = self.enter("head", key)?;
        self.leave(n, "head", key, self.inner.head(key))
    }
    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let n = self.enter("get", key)?;
        let r = self.inner.get(key).map(|d| self.truncate(d));
        self.leave(n, "get", key, r)
    }
    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        self.enter("get_to", key)?;
        self.stream("get_to", key, w, |w| self.inner.get_to(key, w))
    }
    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        self.enter("get_version_to", key)?;
        self.stream("get_version_to", key, w, |w| {
            self.inner.get_version_to(key, version_id, start, w)
        })
    }
    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        let n = self.enter("get_range", key)?;
        let r = self
            .inner
            .get_range(key, start, len)
            .map(|d| self.truncate(d));
        self.leave(n, "get_range", key, r)
    }
    fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
        let n = self.enter("put", key)?;
        self.leave(n, "put", key, self.inner.put(key, data))
    }
    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
        let n = self.enter("put_file", key)?;
        let r = self.inner.put_file(key, path, part_size, part_checksums);
        self.leave(n, "put_file", key, r)
    }
    fn delete(&self, key: &str) -> Result<()> {
        let n = self.enter("delete", key)?;
        self.leave(n, "delete", key, self.inner.delete(key))
    }
    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        let n = self.enter("put_if", key)?;
        let r = self.inner.put_if(key, data, cond);
        self.leave(n, "put_if", key, r)
    }
}
