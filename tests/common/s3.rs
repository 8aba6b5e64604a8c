//! One SeaweedFS S3 server per test binary, started by scripts/s3-server.sh on 127.0.0.1.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub struct Server {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The server, or `None` when `QUILT_S3_TESTS=skip` (which fails the test under CI=true).
/// Failing to start it fails the test.
pub fn server() -> Option<&'static Server> {
    if std::env::var("QUILT_S3_TESTS").as_deref() == Ok("skip") {
        crate::common::skip_or_fail("QUILT_S3_TESTS=skip skips the S3 tests");
        return None;
    }
    match SERVER.get_or_init(start) {
        Ok(s) => Some(s),
        Err(e) => panic!("{e}"),
    }
}

fn start() -> Result<Server, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-server.sh");
    let mut last = String::new();
    for attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = std::env::temp_dir().join(format!(
            "quilt-e2e-s3-{}-{attempt}-{port}",
            std::process::id()
        ));
        let out = Command::new("bash")
            .arg(&script)
            .args([
                "start",
                dir.to_str().ok_or("temp dir is not UTF-8")?,
                &port.to_string(),
            ])
            .env("S3_SERVER_WATCH_PID", std::process::id().to_string())
            .env("S3_SERVER_REMOVE_DIR", "1")
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            let field = |name: &str| {
                stdout
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix(name).map(str::to_owned))
                    .ok_or(format!("no {name} in {stdout}"))
            };
            return Ok(Server {
                endpoint: field("AWS_ENDPOINT_URL=")?,
                access_key: field("AWS_ACCESS_KEY_ID=")?,
                secret_key: field("AWS_SECRET_ACCESS_KEY=")?,
            });
        }
        last = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    }
    Err(format!(
        "could not start the S3 test server (set QUILT_S3_TESTS=skip to skip): {last}"
    ))
}

impl Server {
    /// Environment for quilt and quilt3 processes talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ]
    }

    /// Options that reach this server from inside a test, with no AWS configuration read.
    pub fn s3_options(&self) -> quilt::sync::S3Options {
        quilt::sync::S3Options {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key: Some(self.access_key.clone()),
            secret_key: Some(self.secret_key.clone()),
            ..Default::default()
        }
    }

    /// A quilt remote on `s3://bucket`, retrying as `open_remote` does.
    pub fn open_remote(&self, bucket: &str) -> Box<dyn quilt::sync::Remote> {
        let opts = quilt::sync::RemoteOptions {
            s3: self.s3_options(),
            ..Default::default()
        };
        quilt::sync::open_remote(&format!("s3://{bucket}"), &opts).expect("s3 remote")
    }

    /// A SigV4-signed `PUT` of `path` (`bucket` or `bucket/key`) with curl, the body read
    /// from `body` when given; returns the HTTP status code. Used to act behind quilt's back.
    pub fn signed_put(&self, path: &str, body: Option<&std::path::Path>) -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
            .args([
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
            ])
            .arg("--user")
            .arg(format!("{}:{}", self.access_key, self.secret_key));
        if let Some(body) = body {
            cmd.arg("--data-binary").arg(format!("@{}", body.display()));
        }
        let out = cmd
            .arg(format!("{}/{path}", self.endpoint))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs tests/py/s3admin.py (boto3 from quilt3's venv) against this server; returns
    /// stdout.
    pub fn admin(&self, python: &Path, args: &[&str]) -> String {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::common::run_py(python, "s3admin.py", args, &env)
    }

    /// Turns on versioning of `bucket` (PutBucketVersioning): from then on each PUT keeps the
    /// bytes it replaces as an older version.
    pub fn enable_versioning(&self, python: &Path, bucket: &str) {
        self.admin(python, &["versioning", bucket]);
    }

    /// Creates a fresh bucket and returns its name.
    pub fn bucket(&self, tag: &str) -> String {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("e2e-{}-{n}-{tag}", std::process::id());
        let code = self.signed_put(&name, None);
        assert!(code == "200", "creating bucket {name} answered {code}");
        name
    }
}
