//! Shared fixtures: the S3 test server, fresh remotes, and test data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use quilt_sync::{DirRemote, Remote, S3Options, S3Remote};

/// A SeaweedFS server started by `scripts/s3-server.sh`, one for this whole test binary. The
/// script's watcher stops it and deletes its directory when the binary exits, however it exits.
#[derive(Debug)]
pub struct S3Server {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Server {
    pub fn options(&self) -> S3Options {
        S3Options {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key: Some(self.access_key.clone()),
            secret_key: Some(self.secret_key.clone()),
            ..S3Options::default()
        }
    }
}

static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();

/// The test binary's S3 server, started on first use; `None` when `QUILT_S3_TESTS=skip`
/// (which fails the test under CI=true).
/// Panics when the server can't be started: S3 tests must not pass without S3.
pub fn s3_server() -> Option<&'static S3Server> {
    if std::env::var("QUILT_S3_TESTS").as_deref() == Ok("skip") {
        // Under CI a skipped test would count as a pass.
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        assert!(
            !ci,
            "CI=true, and QUILT_S3_TESTS=skip would skip this S3 test"
        );
        eprintln!("note: QUILT_S3_TESTS=skip: this S3 test is skipped");
        return None;
    }
    match SERVER.get_or_init(start_server) {
        Ok(s) => Some(s),
        Err(e) => panic!("{e}"),
    }
}

fn start_server() -> Result<S3Server, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3-server.sh");
    let mut last_err = String::new();
    // A port found free may be taken before weed binds it; try a few.
    for attempt in 0..3 {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "quilt-sync-s3-{}-{attempt}-{port}",
            std::process::id()
        ));
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            // The script's watcher stops the server and removes `dir` when this process exits.
            .env("S3_SERVER_WATCH_PID", std::process::id().to_string())
            .env("S3_SERVER_REMOVE_DIR", "1")
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            let field = |name: &str| {
                stdout
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix(name).map(str::to_owned))
                    .ok_or_else(|| format!("{} printed no {name}: {stdout}", script.display()))
            };
            return Ok(S3Server {
                endpoint: field("AWS_ENDPOINT_URL=")?,
                access_key: field("AWS_ACCESS_KEY_ID=")?,
                secret_key: field("AWS_SECRET_ACCESS_KEY=")?,
            });
        }
        last_err = format!(
            "{} start {} {port} failed ({}):\n{}{}",
            script.display(),
            dir.display(),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Err(format!(
        "could not start the S3 test server; set QUILT_S3_TESTS=skip to skip S3 tests.\n{last_err}"
    ))
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

static BUCKETS: AtomicU32 = AtomicU32::new(0);

/// A bucket name unique within this machine's test runs.
pub fn bucket_name(tag: &str) -> String {
    let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(30)
        .collect();
    format!("t{}-{n}-{}", std::process::id(), tag.trim_matches('-'))
}

/// An empty directory remote under Cargo's per-target temp dir, one per test name.
pub fn fresh_dir(test: &str) -> DirRemote {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("quilt-sync")
        .join(test);
    let _ = std::fs::remove_dir_all(&root);
    DirRemote::new(root.join("remote")).expect("dir remote")
}

/// A remote on a new, empty bucket of the test server, below `prefix`.
pub fn fresh_s3(tag: &str, prefix: &str) -> Option<S3Remote> {
    let server = s3_server()?;
    let bucket = bucket_name(tag);
    let remote = S3Remote::new(&bucket, prefix, &server.options()).expect("S3 remote");
    remote.create_bucket().expect("create bucket");
    Some(remote)
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures are reproducible.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// All keys under `prefix`, in listing order.
pub fn keys(r: &dyn Remote, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    r.list(prefix, &mut |e| {
        out.push(e.key);
        Ok(())
    })
    .expect("list");
    out
}
