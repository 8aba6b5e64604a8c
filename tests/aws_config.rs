//! AWS configuration as boto3 reads it, against a real S3 server (SeaweedFS): a temporary HOME
//! holds only `~/.aws/config` and `~/.aws/credentials`, and no AWS_* variable is set unless a
//! test says so. Profiles, endpoints from the config file (plain and `[services]`),
//! `credential_process`, wrong keys, and per-remote `--endpoint`/`--profile`/`--region`.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A temporary HOME with the two AWS files, a working directory with one built package, and
/// the server.
struct Setup {
    _t: tempfile::TempDir,
    home: PathBuf,
    ds: PathBuf,
    top: String,
    server: &'static s3_server::Server,
}

fn setup(config: &str, credentials: &str) -> Option<Setup> {
    let server = s3_server::server()?;
    let t = tempfile::tempdir().expect("tempdir");
    let home = t.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).expect("mkdir");
    let fill = |s: &str| {
        s.replace("{endpoint}", &server.endpoint)
            .replace("{key}", &server.access_key)
            .replace("{secret}", &server.secret_key)
            .replace("{home}", home.to_str().expect("utf-8"))
    };
    std::fs::write(home.join(".aws/config"), fill(config)).expect("config");
    std::fs::write(home.join(".aws/credentials"), fill(credentials)).expect("credentials");
    let ds = t.path().join("ds");
    write(&ds, "one.txt", b"one");
    write(&ds, "dir/two.bin", &bytes(7, 3000));
    run(&ds, &home, &[], &["init"]).expect("init");
    let top = top_hash(&run(&ds, &home, &[], &["build", "t/aws"]).expect("build"));
    Some(Setup {
        _t: t,
        home,
        ds,
        top,
        server,
    })
}

/// Runs quilt in `dir` with only PATH, HOME and `env` set; stdout on success, else
/// `(exit code, stderr)`.
fn run(
    dir: &Path,
    home: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Result<String, (i32, String)> {
    let mut cmd = fresh(dir, home);
    cmd.env("QUILT_CONFIG_DIR", home.join("quilt-config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().expect("run quilt");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => Err((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )),
    }
}

impl Setup {
    fn ok(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        run(&self.ds, &self.home, env, args)
            .unwrap_or_else(|(c, e)| panic!("quilt {args:?} failed ({c}): {e}"))
    }

    fn fails(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
        match run(&self.ds, &self.home, env, args) {
            Ok(out) => panic!("quilt {args:?} unexpectedly succeeded: {out}"),
            Err(e) => e,
        }
    }

    /// Installs the pushed version from `url` into a fresh directory and checks its bytes.
    fn installs_from(&self, env: &[(&str, &str)], url: &str) {
        let dest = self.home.join(format!("install-{}", url.len()));
        let outside = self.home.join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        run(
            &outside,
            &self.home,
            env,
            &[
                "install",
                &format!("t/aws@{}", self.top),
                "--from",
                url,
                "--dest",
                dest.to_str().expect("utf-8"),
            ],
        )
        .unwrap_or_else(|(c, e)| panic!("install from {url} failed ({c}): {e}"));
        assert_eq!(
            std::fs::read(dest.join("dir/two.bin")).expect("installed"),
            bytes(7, 3000)
        );
    }
}

#[test]
fn profiles_choose_endpoint_and_keys_from_the_files() {
    let Some(s) = setup(
        "[default]\nendpoint_url = {endpoint}\n\n\
         [profile sw]\nregion = us-east-1\nendpoint_url = {endpoint}\n\n\
         [profile wrong]\nendpoint_url = {endpoint}\n",
        "[sw]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n\n\
         [wrong]\naws_access_key_id = {key}\naws_secret_access_key = not-the-secret\n",
    ) else {
        return;
    };
    let url = format!("s3://{}/reg", s.server.bucket("profiles"));
    // The default profile has an endpoint but no keys: the error says where keys go.
    let (code, err) = s.fails(&[], &["push", "t/aws", &url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no S3 credentials") && err.contains(".aws/credentials"),
        "{err}"
    );
    // AWS_PROFILE picks a profile: endpoint from its config section, keys from the
    // credentials file.
    let sw = [("AWS_PROFILE", "sw")];
    let out = s.ok(&sw, &["push", "t/aws", &url]);
    assert_eq!(out.lines().next(), Some(s.top.as_str()));
    s.installs_from(&sw, &url);
    // Wrong keys: refused by the server, a clear error of kind auth.
    let out = run(
        &s.ds,
        &s.home,
        &[("AWS_PROFILE", "wrong")],
        &["--json", "log", "t/aws", "--remote", &url],
    );
    let Err((code, err)) = out else {
        panic!("wrong keys were accepted")
    };
    assert_eq!(code, 1);
    assert!(err.contains("the credentials were rejected"), "{err}");
    // A profile that is in neither file.
    let (_, err) = s.fails(
        &[("AWS_PROFILE", "ghost")],
        &["log", "t/aws", "--remote", &url],
    );
    assert!(
        err.contains("AWS profile \"ghost\"") && err.contains(".aws/config"),
        "{err}"
    );
    // Keys in the environment beat the files; AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
    // move them.
    let env = [
        ("AWS_ACCESS_KEY_ID", s.server.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", s.server.secret_key.as_str()),
        ("AWS_PROFILE", "wrong"),
    ];
    assert!(s
        .ok(&env, &["log", "t/aws", "--remote", &url])
        .starts_with(&s.top));
    let moved = s.home.join("moved");
    std::fs::create_dir_all(&moved).expect("mkdir");
    std::fs::rename(s.home.join(".aws/config"), moved.join("c")).expect("move");
    std::fs::rename(s.home.join(".aws/credentials"), moved.join("k")).expect("move");
    let c = moved.join("c");
    let k = moved.join("k");
    let env = [
        ("AWS_PROFILE", "sw"),
        ("AWS_CONFIG_FILE", c.to_str().expect("utf-8")),
        ("AWS_SHARED_CREDENTIALS_FILE", k.to_str().expect("utf-8")),
    ];
    assert!(s
        .ok(&env, &["log", "t/aws", "--remote", &url])
        .starts_with(&s.top));
}

#[test]
fn a_services_section_names_the_s3_endpoint() {
    let Some(s) = setup(
        "[default]\nservices = local\nregion = us-east-1\n\n\
         [services local]\ns3 =\n  endpoint_url = {endpoint}\n  addressing_style = path\n",
        "[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n",
    ) else {
        return;
    };
    let url = format!("s3://{}", s.server.bucket("services"));
    // AWS_ENDPOINT_URL ranks below the services section (nothing listens on port 1).
    let env = [("AWS_ENDPOINT_URL", "http://127.0.0.1:1")];
    s.ok(&env, &["push", "t/aws", &url]);
    s.installs_from(&env, &url);
    // AWS_ENDPOINT_URL_S3 ranks above it.
    let (_, err) = s.fails(
        &[
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1"),
            ("QUILT_S3_CONNECT_TIMEOUT", "1"),
        ],
        &["log", "t/aws", "--remote", &url],
    );
    assert!(
        err.contains("could not connect to http://127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn credential_process_supplies_the_keys() {
    let Some(s) = setup(
        "[default]\nendpoint_url = {endpoint}\ncredential_process = sh {home}/creds.sh --profile x\n\n\
         [profile broken]\nendpoint_url = {endpoint}\n\
         credential_process = sh -c 'echo token service unavailable >&2; exit 3'\n\n\
         [profile garbage]\nendpoint_url = {endpoint}\ncredential_process = echo not json\n",
        "",
    ) else {
        return;
    };
    let count = s.home.join("count");
    std::fs::write(
        s.home.join("creds.sh"),
        format!(
            "[ \"$1\" = --profile ] || exit 9\necho run >> '{}'\n\
             printf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \
             \"Expiration\": \"2999-01-01T00:00:00Z\"}}' '{}' '{}'\n",
            count.display(),
            s.server.access_key,
            s.server.secret_key
        ),
    )
    .expect("script");
    let url = format!("s3://{}/p", s.server.bucket("process"));
    s.ok(&[], &["push", "t/aws", &url]);
    s.installs_from(&[], &url);
    // Run once per process, not once per request.
    let runs = std::fs::read_to_string(&count)
        .expect("it ran")
        .lines()
        .count();
    assert!((2..=3).contains(&runs), "{runs} runs");

    let (code, err) = s.fails(
        &[("AWS_PROFILE", "broken")],
        &["log", "t/aws", "--remote", &url],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("credential_process \"sh -c 'echo token service unavailable >&2; exit 3'\"")
            && err.contains("token service unavailable")
            && err.contains("\"broken\""),
        "{err}"
    );
    let (_, err) = s.fails(
        &[("AWS_PROFILE", "garbage")],
        &["log", "t/aws", "--remote", &url],
    );
    assert!(
        err.contains("echo not json") && err.contains("not JSON"),
        "{err}"
    );
}

#[test]
fn remotes_carry_their_own_endpoint_profile_and_region() {
    let Some(s) = setup(
        "[profile team]\nregion = us-east-1\n",
        "[team]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n\n\
         [other]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n",
    ) else {
        return;
    };
    let url = format!("s3://{}/reg", s.server.bucket("perremote"));
    // Wrong keys in the environment: a remote with its own profile does not use them.
    let env = [
        ("AWS_ACCESS_KEY_ID", "wrong"),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
    ];
    let out = s.ok(
        &env,
        &[
            "--json",
            "remote",
            "add",
            "origin",
            &url,
            "--endpoint",
            &s.server.endpoint,
            "--profile",
            "team",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["settings"]["profile"], "team");
    s.ok(&env, &["push"]);
    assert!(s
        .ok(&env, &["log", "t/aws", "--remote", "origin"])
        .starts_with(&s.top));
    s.ok(&env, &["fetch", "t/aws", "origin"]);

    let list = s.ok(&env, &["remote", "list"]);
    assert_eq!(
        list.trim(),
        format!(
            "* origin\t{url}\tendpoint={} profile=team",
            s.server.endpoint
        )
    );
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&env, &["--json", "remote", "list"])).expect("json");
    assert_eq!(v["remotes"][0]["endpoint"], s.server.endpoint.as_str());
    assert_eq!(v["remotes"][0]["region"], serde_json::Value::Null);

    // Changing the profile to one with wrong keys: refused by the server.
    s.ok(
        &env,
        &[
            "remote",
            "set",
            "origin",
            "--profile",
            "other",
            "--region",
            "us-east-1",
        ],
    );
    let (_, err) = s.fails(&env, &["log", "t/aws", "--remote", "origin"]);
    assert!(err.contains("the credentials were rejected"), "{err}");
    // Without a profile of its own, the environment's keys are used again (and are wrong).
    s.ok(&env, &["remote", "set", "origin", "--unset", "profile"]);
    let (_, err) = s.fails(&env, &["log", "t/aws", "--remote", "origin"]);
    assert!(err.contains("the credentials were rejected"), "{err}");
    s.ok(&env, &["remote", "set", "origin", "--profile", "team"]);
    assert!(s
        .ok(&env, &["log", "t/aws", "--remote", "origin"])
        .starts_with(&s.top));
    // Without its endpoint, AWS_ENDPOINT_URL (nothing listens there) is used.
    s.ok(&env, &["remote", "set", "origin", "--unset", "endpoint"]);
    let (_, err) = s.fails(
        &[env[0], env[1], env[2], ("QUILT_S3_CONNECT_TIMEOUT", "1")],
        &["log", "t/aws", "--remote", "origin"],
    );
    assert!(
        err.contains("could not connect to http://127.0.0.1:1"),
        "{err}"
    );

    // Settings are for S3 remotes only, and are checked.
    let dir = s.home.join("dir-remote");
    let (code, err) = s.fails(
        &[],
        &[
            "remote",
            "add",
            "d",
            dir.to_str().expect("utf-8"),
            "--region",
            "x",
        ],
    );
    assert!(code == 2 && err.contains("s3:// remotes only"), "{err}");
    let (code, err) = s.fails(&[], &["remote", "set", "origin", "--endpoint", "ftp://x"]);
    assert!(code == 2 && err.contains("invalid --endpoint"), "{err}");
}

#[test]
fn a_malformed_aws_config_names_the_file_and_line() {
    let Some(s) = setup("[default]\nregion = us-east-1\n[profile broken\n", "") else {
        return;
    };
    let url = format!("s3://{}", s.server.bucket("malformed"));
    let (code, err) = s.fails(&[], &["log", "t/aws", "--remote", &url]);
    assert_eq!(code, 1);
    let want = format!("{}:3:", s.home.join(".aws/config").display());
    assert!(err.contains(&want) && !err.contains("panicked"), "{err}");
}

/// The region a bucket named (kept in the store by the first run that asked) is listed, and
/// forgotten when the remote's settings change. No server: nothing is sent.
#[test]
fn a_found_region_is_listed_and_forgotten_on_change() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    ok(root, &["init"]);
    let url = "s3://quilt-found-region/reg";
    ok(root, &["remote", "add", "origin", url]);
    let store = quilt::store::Store::open(&root.join(".quilt")).expect("store");
    store
        .db()
        .set_remote_found_region("origin", url, "eu-west-3")
        .expect("record");
    drop(store);
    assert_eq!(
        ok(root, &["remote", "list"]).trim(),
        format!("* origin\t{url}\tregion=eu-west-3 (the bucket's)")
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "remote", "list"])).expect("json");
    assert_eq!(v["remotes"][0]["found_region"], "eu-west-3");
    ok(root, &["remote", "set", "origin", "--profile", "p"]);
    assert_eq!(
        ok(root, &["remote", "list"]).trim(),
        format!("* origin\t{url}\tprofile=p")
    );
}
