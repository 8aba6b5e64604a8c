//! The user-level default remote (`quilt config default-remote`): kept in the user's
//! configuration directory, used by push, install, `log --remote` and `list --remote` when no
//! remote is named and the working directory has no default of its own, also outside any
//! working directory and from a fresh environment.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn run_ok(mut cmd: assert_cmd::Command, args: &[&str]) -> String {
    expect_ok(args, cmd.args(args).output().expect("run quilt"))
}

fn run_fails(mut cmd: assert_cmd::Command, args: &[&str]) -> (i32, String, String) {
    let out = cmd.args(args).output().expect("run quilt");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, stderr) = expect_failure(args, out);
    (code, stdout, stderr)
}

fn mkdir(p: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&p).expect("mkdir");
    p
}

#[test]
fn settings_are_kept_in_the_platform_config_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let home = mkdir(t.path().join("home"));
    let cwd = mkdir(t.path().join("somewhere"));
    let reg = mkdir(t.path().join("registry"));
    let reg = reg.to_str().expect("utf-8");

    let out = run_ok(fresh(&cwd, &home), &["config"]);
    assert_eq!(out, "", "no settings yet");
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(fresh(&cwd, &home), &["--json", "config"])).expect("json");
    let file = home.join(".config/quilt/config.toml");
    assert_eq!(
        v,
        serde_json::json!({"file": file.to_str().expect("utf-8"), "settings": {}})
    );

    run_ok(fresh(&cwd, &home), &["config", "default-remote", reg]);
    assert!(file.is_file(), "written to {}", file.display());
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(
        text.contains(&format!("default-remote = \"{reg}\"")),
        "{text}"
    );
    // Read back from another directory, in another process.
    let other = mkdir(t.path().join("other"));
    assert_eq!(
        run_ok(fresh(&other, &home), &["config", "default-remote"]).trim(),
        reg
    );
    assert_eq!(
        run_ok(fresh(&other, &home), &["config"]).trim(),
        format!("default-remote = {reg}")
    );

    // A relative directory is stored absolute: it is used from every directory.
    run_ok(
        fresh(&other, &home),
        &["config", "default-remote", "../registry2"],
    );
    let v: serde_json::Value = serde_json::from_str(&run_ok(
        fresh(&cwd, &home),
        &["--json", "config", "default-remote"],
    ))
    .expect("json");
    let reg2 = t.path().join("registry2").canonicalize().expect("created");
    assert_eq!(
        Path::new(v["value"].as_str().expect("value"))
            .canonicalize()
            .expect("exists"),
        reg2
    );

    // XDG_CONFIG_HOME and QUILT_CONFIG_DIR move the file.
    let xdg = t.path().join("xdg");
    let mut cmd = fresh(&cwd, &home);
    cmd.env("XDG_CONFIG_HOME", &xdg);
    run_ok(cmd, &["config", "default-remote", "s3://bucket/xdg"]);
    assert!(xdg.join("quilt/config.toml").is_file());
    let own = t.path().join("own");
    let mut cmd = fresh(&cwd, &home);
    cmd.env("QUILT_CONFIG_DIR", &own);
    run_ok(cmd, &["config", "default-remote", "s3://bucket/own"]);
    assert!(own.join("config.toml").is_file());

    // Unsetting, twice.
    run_ok(fresh(&cwd, &home), &["config", "--unset", "default-remote"]);
    let (code, _, err) = run_fails(fresh(&cwd, &home), &["config", "default-remote"]);
    assert_eq!(code, 1);
    assert!(err.contains("default-remote is not set"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&run_ok(
        fresh(&cwd, &home),
        &["--json", "config", "--unset", "default-remote"],
    ))
    .expect("json");
    assert_eq!(v["was_set"], false);
}

#[test]
fn bad_settings_and_malformed_files_are_clear_errors() {
    let t = tempfile::tempdir().expect("tempdir");
    let home = mkdir(t.path().join("home"));
    let (code, _, err) = run_fails(fresh(t.path(), &home), &["config", "colour", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown setting \"colour\""), "{err}");
    let (code, _, err) = run_fails(
        fresh(t.path(), &home),
        &["config", "default-remote", "ftp://x/y"],
    );
    assert_eq!(code, 2, "{err}");

    let file = home.join(".config/quilt/config.toml");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    for (text, line) in [
        ("# mine\ndefault-remote = \"s3://b/r\"\n[oops\n", 3),
        ("\n\ndefault-remote = 42\n", 3),
        ("default-remote = \"nope://\"\n", 1),
    ] {
        std::fs::write(&file, text).expect("write");
        for args in [
            &["config"][..],
            &["install", "t/ds", "--dest", "out"],
            &["--json", "config", "default-remote", "s3://b/r"],
        ] {
            let (code, stdout, err) = run_fails(fresh(t.path(), &home), args);
            assert_eq!(code, 1, "{args:?}: {err}");
            let want = format!("{}:{line}: ", file.display());
            assert!(err.contains(&want), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
            if args[0] == "--json" {
                assert!(stdout.contains("\"error\""), "{stdout}");
            }
        }
        // Nothing was overwritten.
        assert_eq!(std::fs::read_to_string(&file).expect("read"), text);
    }
}

/// A directory registry as the user's default: a working directory without remotes pushes to
/// it, and outside any working directory install, `log --remote`, `list --remote` and push
/// (of what install fetched) use it.
#[test]
fn the_default_remote_serves_every_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let home = mkdir(t.path().join("home"));
    let reg = mkdir(t.path().join("registry"));
    let reg_s = reg.to_str().expect("utf-8");
    let ds = mkdir(t.path().join("ds"));
    write(&ds, "a.txt", b"alpha");
    write(&ds, "sub/b.bin", &bytes(1, 5000));

    // Before any default: a clear error that says how to set one.
    run_ok(fresh(&ds, &home), &["init"]);
    let top = top_hash(&run_ok(fresh(&ds, &home), &["build", "t/ds", "-m", "one"]));
    let (_, _, err) = run_fails(fresh(&ds, &home), &["push"]);
    assert!(err.contains("quilt config default-remote URL"), "{err}");

    run_ok(fresh(t.path(), &home), &["config", "default-remote", reg_s]);
    let out = run_ok(fresh(&ds, &home), &["push"]);
    assert_eq!(out.lines().next(), Some(top.as_str()));
    assert!(reg.join(".quilt/named_packages/t/ds/latest").is_file());

    // Outside any working directory, in a fresh environment.
    let outside = mkdir(t.path().join("outside"));
    let log = run_ok(fresh(&outside, &home), &["log", "t/ds", "--remote"]);
    assert!(log.starts_with(&top) && log.contains("(latest)"), "{log}");
    let list = run_ok(fresh(&outside, &home), &["list", "--remote"]);
    assert!(list.contains("t/ds"), "{list}");
    run_ok(
        fresh(&outside, &home),
        &["install", "t/ds", "--dest", "copy"],
    );
    assert_eq!(
        std::fs::read(outside.join("copy/sub/b.bin")).expect("installed"),
        bytes(1, 5000)
    );
    // It went through the user's cache store under ~/.cache/quilt.
    assert!(home.join(".cache/quilt/.quilt").is_dir());

    // Push outside a working directory: a version the cache store holds, to another remote.
    let second = mkdir(t.path().join("second"));
    let second_s = second.to_str().expect("utf-8");
    run_ok(fresh(&outside, &home), &["push", "t/ds", second_s]);
    assert!(second.join(".quilt/named_packages/t/ds/latest").is_file());
    let (_, _, err) = run_fails(fresh(&outside, &home), &["push", "other/pkg"]);
    assert!(err.contains("other/pkg"), "{err}");
    let (_, _, err) = run_fails(fresh(&outside, &home), &["push"]);
    assert!(err.contains("outside a working directory"), "{err}");

    // A working directory's own default remote wins over the user's.
    run_ok(fresh(&ds, &home), &["remote", "add", "origin", second_s]);
    write(&ds, "a.txt", b"alpha 2");
    let top2 = top_hash(&run_ok(fresh(&ds, &home), &["build", "t/ds", "-m", "two"]));
    run_ok(fresh(&ds, &home), &["push"]);
    let on_second = run_ok(
        fresh(&outside, &home),
        &["log", "t/ds", "--remote", second_s],
    );
    assert!(on_second.starts_with(&top2), "{on_second}");
    let on_default = run_ok(fresh(&outside, &home), &["log", "t/ds", "--remote"]);
    assert!(
        on_default.starts_with(&top) && !on_default.contains(&top2),
        "{on_default}"
    );
}

/// The default registry on S3, with the endpoint and keys only in `~/.aws`: set once, then
/// push and install from fresh environments, inside and outside a working directory.
#[test]
fn an_s3_default_remote_works_from_a_fresh_shell() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let bucket = server.bucket("userdefault");
    let t = tempfile::tempdir().expect("tempdir");
    let home = mkdir(t.path().join("home"));
    let aws = mkdir(home.join(".aws"));
    std::fs::write(
        aws.join("config"),
        format!(
            "[default]\nregion = us-east-1\nendpoint_url = {}\n",
            server.endpoint
        ),
    )
    .expect("config");
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.access_key, server.secret_key
        ),
    )
    .expect("credentials");
    let url = format!("s3://{bucket}/registry");
    run_ok(fresh(t.path(), &home), &["config", "default-remote", &url]);

    let ds = mkdir(t.path().join("ds"));
    write(&ds, "data/x.csv", b"a,b\n1,2\n");
    run_ok(fresh(&ds, &home), &["init"]);
    let top = top_hash(&run_ok(fresh(&ds, &home), &["build", "t/s3", "-m", "s3"]));
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(fresh(&ds, &home), &["--json", "push"])).expect("json");
    assert_eq!(v["remote"], url.as_str());
    assert_eq!(v["top_hash"], top.as_str());

    let outside = mkdir(t.path().join("outside"));
    let log = run_ok(fresh(&outside, &home), &["log", "t/s3", "--remote"]);
    assert!(log.starts_with(&top), "{log}");
    run_ok(
        fresh(&outside, &home),
        &["install", &format!("t/s3@{}", &top[..8]), "--dest", "got"],
    );
    assert_eq!(
        std::fs::read(outside.join("got/data/x.csv")).expect("installed"),
        b"a,b\n1,2\n"
    );
    // Pushing the fetched version back outside a working directory: nothing to upload.
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(fresh(&outside, &home), &["--json", "push", "t/s3"]))
            .expect("json");
    assert_eq!(v["objects_uploaded"], 0);
}
