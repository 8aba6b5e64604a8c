//! Lock files on a packed remote, so `gc --remote` never removes a pack a push is about to
//! rely on (restic's protocol).
//!
//! A lock is an object `.quilt/locks/<shared|exclusive>-<32 hex>` holding
//! `{"kind":…,"time":<unix seconds>,"host":…,"pid":…}`. A push that uploads objects holds a
//! shared lock from before it plans until its manifest is written, rewriting the lock's time
//! every [`LockOptions::refresh`]; gc holds an exclusive one. Taking a lock is: write it, then
//! list `.quilt/locks/` and read the others; a lock whose time is older than
//! [`LockOptions::stale`] is ignored (its holder died). If a conflicting live lock is there
//! (an exclusive one for a pusher, any other for gc), the new lock is deleted again and the
//! operation stops as busy. Both sides write before they list, so of two that race at least one
//! sees the other.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::keys::LOCKS_PREFIX;
use crate::transfer::error::{TResult, TransferError};
use crate::Remote;

/// What a lock allows others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// Pushers: many at once, never with gc.
    Shared,
    /// gc: alone.
    Exclusive,
}

/// Timing of lock files.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// A lock not refreshed for this long belongs to a process that died.
    pub stale: Duration,
    /// How often a holder rewrites its lock's time.
    pub refresh: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            stale: Duration::from_secs(30 * 60),
            refresh: Duration::from_secs(5 * 60),
        }
    }
}

impl LockOptions {
    /// Locks stale after `secs` seconds, refreshed four times as often.
    pub fn stale_after(secs: u64) -> LockOptions {
        LockOptions {
            stale: Duration::from_secs(secs),
            refresh: Duration::from_secs((secs / 4).max(1)),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LockFile {
    kind: LockKind,
    time: i64,
    host: String,
    pid: u32,
}

impl LockFile {
    fn new(kind: LockKind) -> LockFile {
        LockFile {
            kind,
            time: now(),
            host: std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
            pid: std::process::id(),
        }
    }
}

/// Runs `body` holding a lock of `kind` on `remote`, refreshed meanwhile by a second thread,
/// and removed afterwards (also when `body` fails).
pub fn with_lock<T>(
    remote: &dyn Remote,
    kind: LockKind,
    opts: &LockOptions,
    body: impl FnOnce() -> TResult<T>,
) -> TResult<T> {
    let key = acquire(remote, kind, opts)?;
    let stop = (Mutex::new(false), Condvar::new());
    let result = std::thread::scope(|s| {
        s.spawn(|| refresh_until_stopped(remote, &key, kind, opts, &stop));
        let r = body();
        *stop.0.lock().expect("lock stop flag") = true;
        stop.1.notify_all();
        r
    });
    if let Err(e) = remote.delete(&key) {
        tracing::warn!(
            "could not remove lock {key} from {}: {e}",
            remote.describe()
        );
    }
    result
}

fn refresh_until_stopped(
    remote: &dyn Remote,
    key: &str,
    kind: LockKind,
    opts: &LockOptions,
    stop: &(Mutex<bool>, Condvar),
) {
    let mut stopped = stop.0.lock().expect("lock stop flag");
    loop {
        let (guard, timeout) = stop
            .1
            .wait_timeout(stopped, opts.refresh)
            .expect("lock stop flag");
        stopped = guard;
        if *stopped {
            return;
        }
        if timeout.timed_out() {
            let body = serde_json::to_vec(&LockFile::new(kind)).expect("lock file serializes");
            if let Err(e) = remote.put(key, &body) {
                tracing::warn!("could not refresh lock {key}: {e}");
            }
        }
    }
}

/// Writes a lock, then checks no conflicting live lock is there; returns its key.
fn acquire(remote: &dyn Remote, kind: LockKind, opts: &LockOptions) -> TResult<String> {
    let prefix = match kind {
        LockKind::Shared => "shared",
        LockKind::Exclusive => "exclusive",
    };
    let mut id = [0u8; 16];
    getrandom_fill(&mut id);
    let key = format!("{LOCKS_PREFIX}{prefix}-{}", hex::encode(id));
    let body = serde_json::to_vec(&LockFile::new(kind)).expect("lock file serializes");
    remote.put(&key, &body)?;
    match conflicting(remote, &key, kind, opts) {
        Ok(None) => Ok(key),
        Ok(Some(reason)) => {
            let _ = remote.delete(&key);
            Err(TransferError::RemoteBusy {
                remote: remote.describe(),
                reason,
            })
        }
        Err(e) => {
            let _ = remote.delete(&key);
            Err(e)
        }
    }
}

/// The first live lock other than `own` that `kind` cannot share with, described.
fn conflicting(
    remote: &dyn Remote,
    own: &str,
    kind: LockKind,
    opts: &LockOptions,
) -> TResult<Option<String>> {
    for (key, lock) in live_locks(remote, opts)? {
        if key == own || (kind == LockKind::Shared && lock.kind == LockKind::Shared) {
            continue;
        }
        let what = match lock.kind {
            LockKind::Shared => "a push",
            LockKind::Exclusive => "gc --remote",
        };
        return Ok(Some(format!(
            "{what} is running (lock {key}, pid {} on {:?}, refreshed {} s ago); try again when it is done, or delete the lock if that process is gone (locks also expire after {} s without a refresh)",
            lock.pid,
            lock.host,
            now() - lock.time,
            opts.stale.as_secs()
        )));
    }
    Ok(None)
}

/// Every lock on the remote that is not stale. A lock that vanishes while read is passed
/// over; one that does not parse cannot be dated and counts as stale.
fn live_locks(remote: &dyn Remote, opts: &LockOptions) -> TResult<Vec<(String, LockFile)>> {
    let mut keys = Vec::new();
    remote.list(LOCKS_PREFIX, &mut |e| {
        keys.push(e.key);
        Ok(())
    })?;
    let mut out = Vec::new();
    for key in keys {
        let bytes = match remote.get(&key) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        let Ok(lock) = serde_json::from_slice::<LockFile>(&bytes) else {
            continue;
        };
        if now() - lock.time <= opts.stale.as_secs() as i64 {
            out.push((key, lock));
        }
    }
    Ok(out)
}

/// Unix seconds now (a lock's clock: hosts sharing a remote need clocks within minutes).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Removes locks that are stale (their holders died); returns how many.
pub fn remove_stale(remote: &dyn Remote, opts: &LockOptions) -> TResult<u64> {
    let mut keys = Vec::new();
    remote.list(LOCKS_PREFIX, &mut |e| {
        keys.push(e.key);
        Ok(())
    })?;
    let live: Vec<String> = live_locks(remote, opts)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut removed = 0;
    for key in keys.into_iter().filter(|k| !live.contains(k)) {
        remote.delete(&key)?;
        removed += 1;
    }
    Ok(removed)
}

/// Random bytes for a lock's name: the time, the pid and a counter, hashed. Unique enough
/// for names that only need to differ between live processes.
fn getrandom_fill(out: &mut [u8; 16]) {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    out.copy_from_slice(&h.finalize()[..16]);
}
