//! [`Retry`]: exponential backoff with jitter around any [`Remote`].

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{CasOutcome, Condition, Error, ListEntry, ObjectMeta, Remote, Result, Stored};

/// How hard [`Retry`] tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOptions {
    /// Total attempts per call, the first included. 1 disables retrying.
    pub attempts: u32,
    /// Delay before the second attempt; doubles for each further one.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryOptions {
    /// The pause after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`, capped at
    /// `max_delay`, then scaled by a random factor in [0.5, 1) so that many clients that failed
    /// together don't come back together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        let jitter = (random_u64() % 1000) as f64 / 2000.0 + 0.5;
        capped.mul_f64(jitter)
    }
}

/// Attempts for a call whose server stopped sending mid-answer: one retry (a download resumes
/// where it stopped). A server that never answered is not retried at all, so a silent server
/// costs one read timeout.
const TIMEOUT_ATTEMPTS: u32 = 2;
/// The longest `Retry-After` honoured; a server asking for more is reported instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

fn random_u64() -> u64 {
    // RandomState is seeded per instance from the OS; good enough for jitter.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Retries calls that fail with [`Error::is_transient`] errors; other errors pass straight
/// through. The error of the last attempt is returned with its attempt count.
///
/// Beyond repeating the call, three operations need care to stay correct:
/// - `list` starts over but skips the keys it already delivered (it remembers them, as servers
///   don't all list in one order), so `visit` never sees a key twice; an error returned by
///   `visit` itself is never retried;
/// - `get_to` that fails after writing some bytes continues with ranged reads from where it
///   stopped instead of writing the start again;
/// - `put_if` whose earlier attempt failed in flight and whose retry then finds the precondition
///   false checks whether the key already holds exactly `data`. If so, the lost attempt landed
///   (or a writer stored the same value): it reports `Written`.
#[derive(Debug)]
pub struct Retry<R> {
    inner: R,
    opts: RetryOptions,
    interrupt: Option<Arc<AtomicBool>>,
}

impl<R: Remote> Retry<R> {
    /// Retries the transient failures of `inner` as `opts` says.
    pub fn new(inner: R, opts: RetryOptions) -> Self {
        Retry {
            inner,
            opts,
            interrupt: None,
        }
    }

    /// Stop waiting between attempts when `flag` is set (Ctrl-C): the call then fails with
    /// [`Error::Interrupted`] instead of sleeping out a long backoff or `Retry-After`.
    pub fn interruptible(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.interrupt = flag;
        self
    }

    /// Sleeps `d`, in short steps so that an interrupt is noticed within 50 ms.
    fn sleep(&self, d: Duration) -> Result<()> {
        let Some(flag) = &self.interrupt else {
            std::thread::sleep(d);
            return Ok(());
        };
        let until = std::time::Instant::now() + d;
        loop {
            if flag.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// The wrapped remote.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Runs `f`, a call on the wrapped remote outside the [`Remote`] trait (such as
    /// [`crate::S3Remote::head_object`]), with the retries the trait's methods get.
    pub fn call<T>(&self, op: &str, key: &str, f: impl FnMut() -> Result<T>) -> Result<T> {
        self.run(op, key, f)
    }

    fn attempts(&self) -> u32 {
        self.opts.attempts.max(1)
    }

    /// The pause before the next attempt after `e` ended attempt `attempt`, or `None` to give
    /// up: the error is not transient, the attempts are used up, a timeout already had its
    /// retry, or the server asked for a longer pause than [`MAX_RETRY_AFTER`]. A server's
    /// `Retry-After` is a lower bound on the pause.
    fn pause(&self, e: &Error, attempt: u32) -> Option<Duration> {
        if !e.is_transient() || attempt >= self.attempts() {
            return None;
        }
        if e.is_silence() || (e.is_timeout() && attempt >= TIMEOUT_ATTEMPTS) {
            return None;
        }
        let backoff = self.opts.delay(attempt);
        match e.retry_after() {
            Some(wait) if wait > MAX_RETRY_AFTER => None,
            Some(wait) => Some(backoff.max(wait)),
            None => Some(backoff),
        }
    }

    fn run<T>(&self, op: &str, key: &str, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 1;
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) => match self.pause(&e, attempt) {
                    Some(d) => {
                        tracing::debug!(op, key, attempt, delay = ?d, "retrying: {e}");
                        self.sleep(d)?;
                        attempt += 1;
                    }
                    None => return Err(e.with_attempts(attempt)),
                },
            }
        }
    }

    /// Continue a download that stopped after `written` bytes.
    fn resume(&self, key: &str, w: &mut dyn Write, written: &mut u64) -> Result<()> {
        const CHUNK: u64 = 8 << 20;
        let size = match self.inner.head(key)? {
            Some(m) => m.size,
            None => {
                return Err(Error::NotFound {
                    url: self.inner.describe(),
                    key: key.to_owned(),
                });
            }
        };
        while *written < size {
            let chunk = self
                .inner
                .get_range(key, *written, CHUNK.min(size - *written))?;
            if chunk.is_empty() {
                break;
            }
            w.write_all(&chunk).map_err(|source| Error::Sink {
                url: self.inner.describe(),
                key: key.to_owned(),
                source,
            })?;
            *written += chunk.len() as u64;
        }
        Ok(())
    }
}

struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Remote> Remote for Retry<R> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }

    fn list(&self, prefix: &str, visit: &mut dyn FnMut(ListEntry) -> Result<()>) -> Result<()> {
        let mut delivered: Option<HashSet<String>> = None;
        let mut attempt = 1;
        loop {
            let mut visit_err = None;
            let r = self.inner.list(prefix, &mut |e: ListEntry| {
                let seen = delivered.get_or_insert_with(HashSet::new);
                if seen.contains(&e.key) {
                    return Ok(()); // delivered before the retry
                }
                let key = e.key.clone();
                match visit(e) {
                    Ok(()) => {
                        seen.insert(key);
                        Ok(())
                    }
                    Err(err) => {
                        visit_err = Some(err);
                        Err(Error::Aborted)
                    }
                }
            });
            if let Some(e) = visit_err {
                return Err(e);
            }
            match r {
                Ok(()) => return Ok(()),
                Err(e) => match self.pause(&e, attempt) {
                    Some(d) => {
                        self.sleep(d)?;
                        attempt += 1;
                    }
                    None => return Err(e.with_attempts(attempt)),
                },
            }
        }
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        self.run("head", key, || self.inner.head(key))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        self.run("get", key, || self.inner.get(key))
    }

    fn get_to(&self, key: &str, w: &mut dyn Write) -> Result<u64> {
        let mut written = 0u64;
        let mut attempt = 1;
        loop {
            let r = if written == 0 {
                let mut cw = CountingWriter { inner: w, n: 0 };
                let r = self.inner.get_to(key, &mut cw);
                written = cw.n;
                r.map(|_| ())
            } else {
                self.resume(key, w, &mut written)
            };
            match r {
                Ok(()) => return Ok(written),
                Err(e) => match self.pause(&e, attempt) {
                    Some(d) => {
                        self.sleep(d)?;
                        attempt += 1;
                    }
                    None => return Err(e.with_attempts(attempt)),
                },
            }
        }
    }

    /// Like `get_to`, a download that fails after writing some bytes continues from there (a
    /// ranged GET of the same version) instead of writing the start again.
    fn get_version_to(
        &self,
        key: &str,
        version_id: &str,
        start: u64,
        w: &mut dyn Write,
    ) -> Result<u64> {
        let mut written = 0u64;
        let mut attempt = 1;
        loop {
            let mut cw = CountingWriter { inner: w, n: 0 };
            let r = self
                .inner
                .get_version_to(key, version_id, start + written, &mut cw);
            written += cw.n;
            match r {
                Ok(_) => return Ok(written),
                Err(e) => match self.pause(&e, attempt) {
                    Some(d) => {
                        tracing::debug!(key, version_id, attempt, delay = ?d, "retrying: {e}");
                        self.sleep(d)?;
                        attempt += 1;
                    }
                    None => return Err(e.with_attempts(attempt)),
                },
            }
        }
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        self.run("get_range", key, || self.inner.get_range(key, start, len))
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<Stored> {
        self.run("put", key, || self.inner.put(key, data))
    }

    fn put_file(
        &self,
        key: &str,
        path: &Path,
        part_size: u64,
        part_checksums: Option<&[[u8; 32]]>,
    ) -> Result<Stored> {
        self.run("put_file", key, || {
            self.inner.put_file(key, path, part_size, part_checksums)
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.run("delete", key, || self.inner.delete(key))
    }

    fn put_if(&self, key: &str, data: &[u8], cond: Condition) -> Result<CasOutcome> {
        let mut in_doubt = false;
        let outcome = self.run("put_if", key, || {
            let r = self.inner.put_if(key, data, cond.clone());
            if r.as_ref().is_err_and(Error::is_transient) {
                in_doubt = true;
            }
            r
        })?;
        match outcome {
            CasOutcome::PreconditionFailed { current } if in_doubt => {
                match self.run("get", key, || self.inner.get(key)) {
                    Ok(now) if now == data => Ok(CasOutcome::Written {
                        etag: current.unwrap_or_default(),
                    }),
                    _ => Ok(CasOutcome::PreconditionFailed { current }),
                }
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let o = RetryOptions {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let d = o.delay(attempt).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
        }
        assert!(o.delay(u32::MAX) <= o.max_delay);
    }

    fn timed_out(mid_answer: bool) -> Error {
        Error::TimedOut {
            url: "s3://b/".into(),
            key: "k".into(),
            op: "get",
            after: Duration::from_secs(1),
            mid_answer,
            attempts: 1,
        }
    }

    fn throttled(retry_after: Option<Duration>) -> Error {
        Error::Throttled {
            url: "s3://b/".into(),
            key: "k".into(),
            op: "get",
            detail: "HTTP 503 SlowDown".into(),
            retry_after,
            attempts: 1,
        }
    }

    #[test]
    fn pauses_honour_retry_after_and_bound_timeouts() {
        let dir = tempfile::tempdir().unwrap();
        let r = Retry::new(
            crate::DirRemote::new(dir.path()).unwrap(),
            RetryOptions {
                attempts: 5,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(100),
            },
        );
        // A stall mid-answer is retried once, a server that never answered not at all.
        assert!(r.pause(&timed_out(true), 1).is_some());
        assert!(r.pause(&timed_out(true), 2).is_none());
        assert!(r.pause(&timed_out(false), 1).is_none());
        // Retry-After is a floor on the pause; beyond a minute it is reported instead.
        let p = r
            .pause(&throttled(Some(Duration::from_secs(2))), 1)
            .unwrap();
        assert!(p >= Duration::from_secs(2), "{p:?}");
        assert!(r
            .pause(&throttled(Some(Duration::from_secs(3600))), 1)
            .is_none());
        assert!(r.pause(&throttled(None), 1).unwrap() <= Duration::from_millis(100));
        assert!(r.pause(&throttled(None), 5).is_none());
    }

    #[test]
    fn an_interrupt_cuts_a_pause_short() {
        let dir = tempfile::tempdir().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let r = Retry::new(
            crate::DirRemote::new(dir.path()).unwrap(),
            RetryOptions::default(),
        )
        .interruptible(Some(flag.clone()));
        let t = std::time::Instant::now();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::Relaxed);
        });
        assert!(matches!(
            r.sleep(Duration::from_secs(30)),
            Err(Error::Interrupted)
        ));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        setter.join().unwrap();
    }
}
