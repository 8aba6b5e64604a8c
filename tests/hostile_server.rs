//! quilt against a misbehaving S3 endpoint (tests/py/hostile_server.py): every case ends in a
//! clear error within a bounded time, with a peak RSS that does not depend on what the server
//! sends, and with nothing added to the local store.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Far above what quilt needs for a one-object fetch, far below what the endless modes send.
const RSS_LIMIT_KB: i64 = 150 * 1024;
const OBJECT_SIZE: usize = 1 << 20;

/// The hostile server, killed when dropped.
pub struct Hostile {
    child: Child,
    pub endpoint: String,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn python3() -> PathBuf {
    std::env::var_os("QUILT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into())
}

pub fn start_hostile(root: &Path, mode: &str, target: &str) -> Hostile {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/hostile_server.py");
    let mut child = Command::new(python3())
        .arg(script)
        .arg(root)
        .args([mode, target])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tests/py/hostile_server.py (python3 needed)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the port");
    let port: u16 = line.trim().parse().expect("the server prints its port");
    Hostile {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// How a quilt run ended.
pub struct Run {
    pub code: Option<i32>,
    pub stderr: String,
    pub elapsed: Duration,
    pub max_rss_kb: i64,
}

/// Runs the real binary, killing it after `deadline`. Its peak RSS is the largest `VmHWM` seen
/// in /proc while it ran (sampled every 5 ms; getrusage would also count the memory of this
/// test process, which the child starts out sharing).
pub fn run_measured(cmd: &mut Command, deadline: Duration) -> Run {
    let err_file = tempfile::NamedTempFile::new().expect("temp file");
    cmd.stdout(Stdio::null())
        .stderr(err_file.reopen().expect("reopen"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn quilt");
    let status_file = format!("/proc/{}/status", child.id());
    let mut max_rss_kb = 0;
    let status = loop {
        if let Some(kb) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        }) {
            max_rss_kb = max_rss_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stderr: std::fs::read_to_string(err_file.path()).unwrap_or_default(),
        elapsed: start.elapsed(),
        max_rss_kb,
    }
}

/// Every file of a store except its SQLite files, lock and temp area, with sizes.
pub fn store_files(store: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "tmp" || name == "lock" || name.contains(".sqlite") || name.contains(".db") {
                continue;
            }
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) => {
                    out.insert(p, m.len());
                }
                Err(_) => {}
            }
        }
    }
    out
}

/// A registry of one package with one 1 MiB object, served from `served`, whose manifest's
/// physical keys point to a directory that no longer holds the object (so fetch must use S3).
struct Fixture {
    _t: tempfile::TempDir,
    ws: PathBuf,
    served: PathBuf,
    top: String,
}

fn fixture() -> Fixture {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    write(&src, "data.bin", &bytes(7, OBJECT_SIZE));
    ok(&src, &["init"]);
    let top = top_hash(&ok(&src, &["build", "team/h"]));
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    ok(&src, &["push", "team/h", reg.to_str().expect("utf-8")]);
    let served = t.path().join("served");
    copy_tree(&reg, &served);
    std::fs::remove_dir_all(reg.join(".quilt/objects")).expect("remove the pushed objects");
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    ok(&ws, &["init"]);
    Fixture {
        _t: t,
        ws,
        served,
        top,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

pub fn quilt_against(ws: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("quilt"));
    cmd.current_dir(ws)
        .env("NO_COLOR", "1")
        .env("QUILT_CACHE_DIR", ws.join(".test-cache"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "hostile")
        .env("AWS_SECRET_ACCESS_KEY", "hostile-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("QUILT_S3_READ_TIMEOUT", "2")
        .env("QUILT_S3_CONNECT_TIMEOUT", "2")
        .env("QUILT_MAX_MANIFEST_BYTES", (8 << 20).to_string())
        .arg("--no-progress")
        .args(args);
    cmd
}

/// Runs `quilt fetch` against the server in `mode` for requests matching `target`, and checks
/// the error, the time, the memory and the store.
fn hostile_case(mode: &str, target: &str, by_prefix: bool, want: &[&str], max_secs: u64) -> Run {
    let f = fixture();
    let store = f.ws.join(".quilt");
    let before = store_files(&store);
    let server = start_hostile(&f.served, mode, target);
    let rev = if by_prefix {
        format!("team/h@{}", &f.top[..8])
    } else {
        "team/h".to_owned()
    };
    let mut cmd = quilt_against(&f.ws, &server.endpoint, &["fetch", &rev, "s3://bkt"]);
    let run = run_measured(&mut cmd, Duration::from_secs(max_secs + 30));
    assert_eq!(
        run.code,
        Some(1),
        "{mode}/{target}: expected exit 1 after {:?}: {}",
        run.elapsed,
        run.stderr
    );
    for w in want {
        assert!(
            run.stderr.contains(w),
            "{mode}/{target}: no {w:?} in: {}",
            run.stderr
        );
    }
    assert!(
        run.elapsed < Duration::from_secs(max_secs),
        "{mode}/{target}: took {:?}: {}",
        run.elapsed,
        run.stderr
    );
    assert!(
        run.max_rss_kb < RSS_LIMIT_KB,
        "{mode}/{target}: peak RSS {} KiB",
        run.max_rss_kb
    );
    assert_eq!(
        store_files(&store),
        before,
        "{mode}/{target}: the store changed"
    );
    run
}

#[test]
fn endless_object_body_is_refused_at_the_declared_size() {
    hostile_case(
        "endless",
        ".quilt/objects/",
        false,
        &[".quilt/objects/", "more than"],
        20,
    );
}

#[test]
fn endless_manifest_is_refused_at_the_cap() {
    hostile_case(
        "endless",
        ".quilt/packages/",
        false,
        &["QUILT_MAX_MANIFEST_BYTES"],
        20,
    );
}

#[test]
fn endless_pointer_is_refused_at_the_cap() {
    hostile_case("endless", "latest", false, &["latest", "larger than"], 20);
}

#[test]
fn wrong_content_length_is_a_short_read() {
    // The first answer ends early (a short read, resumed with a ranged GET); the ranged answer
    // announces more than was asked for, which is refused.
    let run = hostile_case(
        "wrong-length",
        ".quilt/objects/",
        false,
        &[".quilt/objects/"],
        30,
    );
    assert!(
        run.stderr.contains("cut short") || run.stderr.contains("larger than"),
        "{}",
        run.stderr
    );
}

#[test]
fn stalled_body_times_out() {
    hostile_case("stall", ".quilt/objects/", false, &["timed out"], 20);
}

#[test]
fn silent_server_times_out() {
    // One read timeout (2 s here): a server that never answers is not asked again.
    hostile_case("silent", "*", false, &["timed out: no answer"], 5);
}

#[test]
fn garbage_listing_is_a_clear_error() {
    hostile_case(
        "garbage",
        "list",
        true,
        &["list .quilt/packages/", "not a number"],
        20,
    );
}

#[test]
fn error_storm_gives_up() {
    hostile_case("storm", "*", false, &["InternalError", "attempts"], 30);
}

#[test]
fn redirect_loop_is_a_clear_error() {
    hostile_case("redirect", "*", false, &["redirect"], 10);
}

#[test]
fn slowdown_is_honoured_then_reported() {
    let run = hostile_case("slowdown", "*", false, &["SlowDown", "attempts"], 40);
    // Four pauses of at least the server's Retry-After (1 s) between five attempts; backoff
    // alone would be done in under 3 s.
    assert!(
        run.elapsed >= Duration::from_secs(4),
        "Retry-After ignored: {:?}",
        run.elapsed
    );
}

#[test]
fn ctrl_c_while_waiting_out_a_slowdown_exits_at_once() {
    let f = fixture();
    let server = start_hostile(&f.served, "slowdown", "*");
    let mut child = quilt_against(&f.ws, &server.endpoint, &["fetch", "team/h", "s3://bkt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn quilt");
    // Inside the pauses of at least a second that Retry-After asks for.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of our own child that has not been waited for yet.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(r, 0);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.code(), Some(130));
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "Ctrl-C waited {:?}",
        start.elapsed()
    );
}
