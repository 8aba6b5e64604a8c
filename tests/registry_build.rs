//! Manifest-only builds of a local directory (`quilt build NAME DIR --registry R`): the
//! manifest quilt3 would write, nothing copied, nothing recorded locally, and readable by
//! quilt3, `log --remote` and `install --from`.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;

use common::*;

fn dataset(root: &Path) {
    write(root, "a.txt", b"alpha\n");
    write(root, "sub/b.bin", &bytes(7, 100_000));
    write(
        root,
        "dir with space/ünïcødé файл.txt",
        "unicode ✓\n".as_bytes(),
    );
    write(root, "big/nine-mib.bin", &bytes(9, 9 << 20));
    write(root, "empty", b"");
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn local_directory_manifest_equals_quilt3s_and_is_read_back() {
    let Some(py) = python() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let data = t.path().join("data");
    dataset(&data);
    let reg = t.path().join("reg");
    let reg3 = t.path().join("reg3");
    std::fs::create_dir_all(&reg).expect("mkdir");
    std::fs::create_dir_all(&reg3).expect("mkdir");
    let cwd = t.path().join("elsewhere");
    std::fs::create_dir_all(&cwd).expect("mkdir");

    let out = quilt(&cwd)
        .args(["build", "team/local", "../data", "--registry", "../reg"])
        .args(["-m", "in place"])
        .output()
        .expect("run quilt");
    assert!(out.status.success(), "{out:?}");
    let top = top_hash(&String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the manifest's physical keys are file:// URLs")
            && stderr.contains("other machines cannot read them"),
        "{stderr}"
    );
    assert!(stderr.contains("no data copied"), "{stderr}");
    // Nothing was recorded (or created) where quilt ran.
    assert!(!cwd.join(".quilt").exists());

    // quilt3's build of the same directory to a local registry: the same manifest, byte for
    // byte, physical keys included.
    let theirs = run_py(
        &py,
        "remote.py",
        &[
            "push",
            data.to_str().expect("utf-8"),
            "team/local",
            &format!("file://{}", reg3.display()),
            "in place",
        ],
        &[],
    );
    assert_eq!(theirs.lines().last().unwrap_or_default().trim(), top);
    let ours = registry_manifest(&reg, &top);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&registry_manifest(&reg3, &top))
    );
    assert!(String::from_utf8_lossy(&ours).contains("\"file:///"));
    // Only the manifest and the two pointers: no objects.
    assert!(!reg.join(".quilt/objects").exists());
    let pointers: Vec<String> = std::fs::read_dir(reg.join(".quilt/named_packages/team/local"))
        .expect("pointers")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".quilt-lock-"))
        .collect();
    assert_eq!(pointers.len(), 2, "{pointers:?}");
    assert!(pointers.contains(&"latest".to_owned()), "{pointers:?}");

    // quilt3 browses and installs it; quilt lists and installs it.
    let dest3 = t.path().join("by-quilt3");
    let installed = run_py(
        &py,
        "remote.py",
        &[
            "install",
            "team/local",
            &format!("file://{}", reg.display()),
            dest3.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(installed.lines().last().unwrap_or_default().trim(), top);
    let log = ok(&cwd, &["log", "team/local", "--remote", "../reg"]);
    assert!(log.contains(&top) && log.contains("in place"), "{log}");
    let dest = t.path().join("by-quilt");
    ok(
        &cwd,
        &[
            "install",
            "team/local",
            "--from",
            reg.to_str().expect("utf-8"),
            "--dest",
            dest.to_str().expect("utf-8"),
        ],
    );
    for rel in [
        "a.txt",
        "sub/b.bin",
        "dir with space/ünïcødé файл.txt",
        "big/nine-mib.bin",
    ] {
        let want = std::fs::read(data.join(rel)).expect("source file");
        assert_eq!(std::fs::read(dest.join(rel)).expect("ours"), want, "{rel}");
        assert_eq!(
            std::fs::read(dest3.join(rel)).expect("quilt3's"),
            want,
            "{rel}"
        );
    }
}

#[test]
fn s3_registry_build_records_nothing_locally_and_replaces_a_pushed_manifest() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let Some(py) = python() else { return };
    let env = server.env();
    let bucket = server.bucket("manifest-only");
    let registry = format!("s3://{bucket}");
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    dataset(&ws);
    ok_env(&ws, &env, &["init"]);
    let top = top_hash(&ok_env(&ws, &env, &["build", "team/ds"]));
    ok_env(&ws, &env, &["push", "team/ds", &registry]);

    // The same content built to the registry: the version exists there with its objects, and
    // now its manifest points at the working directory instead, as quilt3's build would do.
    let out = json(&ok_env(
        &ws,
        &env,
        &["--json", "build", "team/ds", "--registry", &registry],
    ));
    assert_eq!(out["top_hash"], top.as_str());
    assert_eq!(out["manifest_replaced"], true, "{out}");
    assert_eq!(out["latest_moved"], false, "{out}");
    assert_eq!(out["files"], 5);
    let env_py: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let keys = run_py(&py, "inplace.py", &["keys", "team/ds", &registry], &env_py);
    assert!(keys.lines().all(|l| l.contains("\tfile:///")), "{keys}");

    // A change, built to the registry only: a new latest there, nothing new here.
    write(&ws, "a.txt", b"alpha, edited\n");
    let out = json(&ok_env(
        &ws,
        &env,
        &["--json", "build", "--registry", &registry, "-m", "edited"],
    ));
    let new_top = out["top_hash"].as_str().expect("top").to_owned();
    assert_ne!(new_top, top);
    assert_eq!(out["latest_moved"], true, "{out}");
    assert_eq!(out["manifest_replaced"], false, "{out}");
    let log = json(&ok_env(
        &ws,
        &env,
        &["--json", "log", "team/ds", "--remote", &registry],
    ));
    let versions = log["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{log}");
    assert_eq!(versions[0]["top_hash"], new_top.as_str());
    assert_eq!(versions[0]["latest"], true);
    let local = json(&ok_env(&ws, &env, &["--json", "log", "team/ds"]));
    assert_eq!(local["versions"].as_array().expect("versions").len(), 1);
    // The working directory still has the version it built checked out.
    let status = ok_env(&ws, &env, &["status"]);
    assert!(status.contains("a.txt"), "{status}");
}

#[test]
fn registry_builds_refuse_what_cannot_work() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "d/a.txt", b"a\n");
    // --registry without a value and no default registry.
    let (code, err) = fails(t.path(), &["build", "team/x", "d", "--registry="]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--registry") && err.contains("quilt config default-remote"),
        "says how to name one: {err}"
    );
    // An S3 source is only ever packaged in place, so it needs a registry too.
    let (code, err) = fails(t.path(), &["build", "team/x", "s3://some-bucket/data/"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--registry"), "{err}");
    // --rehash is about S3 checksums.
    std::fs::create_dir_all(t.path().join("reg")).expect("mkdir");
    let (code, err) = fails(
        t.path(),
        &["build", "team/x", "d", "--registry", "reg", "--rehash"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--rehash"), "{err}");
    // A name is needed outside a working directory.
    let (code, err) = fails(t.path(), &["build", "--registry", "reg"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("NS/PKG"), "{err}");
    // A registry directory that does not exist is not created.
    let (code, err) = fails(t.path(), &["build", "team/x", "d", "--registry", "nope"]);
    assert_eq!(code, 1, "{err}");
    assert!(!t.path().join("nope").exists());
    assert!(!t.path().join("reg/.quilt").exists());
}

#[test]
fn a_store_kept_inside_the_directory_is_not_packaged() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "a.txt", b"a\n");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir");
    let store = ws.join("inner-store");
    ok(&ws, &["init", "--store", store.to_str().expect("utf-8")]);
    ok(&ws, &["build", "team/s"]);
    let out = json(&ok(
        &ws,
        &[
            "--json",
            "build",
            "team/s",
            "--registry",
            reg.to_str().expect("utf-8"),
        ],
    ));
    assert_eq!(out["files"], 1, "{out}");
    assert_eq!(out["source_requests"], serde_json::Value::Null);
}

#[test]
fn registry_build_without_a_name_uses_the_user_default_registry() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "d/a.txt", b"a\n");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir");
    ok(
        t.path(),
        &["config", "default-remote", reg.to_str().expect("utf-8")],
    );
    // Outside any working directory, `--registry=` means the user's default registry.
    let top = top_hash(&ok(t.path(), &["build", "team/x", "d", "--registry="]));
    let latest = std::fs::read_to_string(reg.join(".quilt/named_packages/team/x/latest"))
        .expect("latest written to the default registry");
    assert_eq!(latest.trim(), top);
}
