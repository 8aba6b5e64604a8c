//! `push --dest` to versioned and unversioned buckets, and `delete --remote`, against the
//! real SeaweedFS and the real quilt3.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;

use common::*;

fn env_of(server: &s3_server::Server) -> Vec<(&'static str, String)> {
    server.env()
}

fn py(env: &[(&'static str, String)], args: &[&str]) -> Option<String> {
    let python = python()?;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some(run_py(&python, "dest_versions.py", args, &env))
}

/// Physical keys of a version as quilt3 reads them: logical key -> physical key.
fn quilt3_keys(
    env: &[(&'static str, String)],
    reg: &str,
    top: &str,
) -> std::collections::BTreeMap<String, String> {
    py(env, &["keys", "team/pkg", reg, top])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

const BIG: usize = 9 << 20; // above one 8 MiB chunk: a multipart upload

#[test]
fn dest_on_a_versioned_bucket_records_version_ids_that_quilt3_installs() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let env = env_of(server);
    let reg = server.bucket("reg");
    let data = server.bucket("data");
    let Some(python) = python() else {
        return;
    };
    server.enable_versioning(&python, &data);
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "a.txt", b"first\n");
    write(&ws, "dir/big.bin", &bytes(1, BIG));
    write(&ws, "with space.csv", b"x,y\n");
    ok_env(&ws, &env, &["init"]);
    let v1 = top_hash(&ok_env(&ws, &env, &["build", "team/pkg", "-m", "v1"]));
    let reg_url = format!("s3://{reg}");
    let dest = format!("s3://{data}/team/pkg");
    let out = last_json(&ok_env(
        &ws,
        &env,
        &["--json", "push", "team/pkg", &reg_url, "--dest", &dest],
    ));
    assert_eq!(out["objects_uploaded"], 3, "{out}");
    let keys1 = quilt3_keys(&env, &reg_url, &v1);
    assert_eq!(keys1.len(), 3, "{keys1:?}");
    for (lk, pk) in &keys1 {
        assert!(pk.contains("?versionId="), "{lk}: {pk} has no version id");
    }
    assert!(
        keys1["with space.csv"].starts_with(&format!("s3://{data}/team/pkg/with%20space.csv?")),
        "{keys1:?}"
    );

    // v2 overwrites a.txt; on a versioned bucket that needs no --force, and v1 stays whole.
    write(&ws, "a.txt", b"second\n");
    let v2 = top_hash(&ok_env(&ws, &env, &["build", "team/pkg", "-m", "v2"]));
    let out = last_json(&ok_env(
        &ws,
        &env,
        &["--json", "push", "team/pkg", &reg_url, "--dest", &dest],
    ));
    assert_eq!(out["objects_uploaded"], 1, "only a.txt changed: {out}");
    assert_eq!(out["objects_present"], 2, "{out}");
    let keys2 = quilt3_keys(&env, &reg_url, &v2);
    assert_ne!(keys1["a.txt"], keys2["a.txt"], "a new version id for a.txt");
    assert_eq!(
        keys1["dir/big.bin"], keys2["dir/big.bin"],
        "unchanged file, same version"
    );

    for (top, want) in [(&v1, &b"first\n"[..]), (&v2, &b"second\n"[..])] {
        let out = t.path().join(format!("q3-{}", &top[..8]));
        py(
            &env,
            &[
                "install",
                "team/pkg",
                &reg_url,
                top,
                out.to_str().expect("utf-8"),
            ],
        );
        let got = std::fs::read(out.join("a.txt")).expect("quilt3 installed a.txt");
        assert_eq!(got, want, "quilt3's install of {top}");
        let big = std::fs::read(out.join("dir/big.bin")).expect("big.bin");
        assert_eq!(big, bytes(1, BIG));
    }
}

#[test]
fn dest_skips_what_is_there_and_refuses_other_content_on_an_unversioned_bucket() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let env = env_of(server);
    let reg = server.bucket("reg");
    let data = server.bucket("plain");
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "same.txt", b"same bytes\n");
    write(&ws, "other.txt", b"ours\n");
    ok_env(&ws, &env, &["init"]);
    let v1 = top_hash(&ok_env(&ws, &env, &["build", "team/pkg"]));
    // Put there by another tool without a checksum: one the same, one different.
    let same = t.path().join("same");
    std::fs::write(&same, b"same bytes\n").expect("write");
    let other = t.path().join("other");
    std::fs::write(&other, b"theirs\n").expect("write");
    let Some(_) = py(
        &env,
        &[
            "put-plain",
            &data,
            "p/same.txt",
            same.to_str().expect("utf-8"),
        ],
    ) else {
        return;
    };
    py(
        &env,
        &[
            "put-plain",
            &data,
            "p/other.txt",
            other.to_str().expect("utf-8"),
        ],
    );
    let reg_url = format!("s3://{reg}");
    let dest = format!("s3://{data}/p");
    let err = fails_env(&ws, &env, &["push", "team/pkg", &reg_url, "--dest", &dest]);
    assert!(
        err.contains("other.txt") && err.contains("--force"),
        "names the file and the way out: {err}"
    );
    let out = last_json(&ok_env(
        &ws,
        &env,
        &[
            "--json", "push", "team/pkg", &reg_url, "--dest", &dest, "--force",
        ],
    ));
    assert_eq!(
        out["objects_present"], 1,
        "same.txt was already there: {out}"
    );
    assert_eq!(out["objects_uploaded"], 1, "{out}");
    let keys = quilt3_keys(&env, &reg_url, &v1);
    assert!(
        keys.values().all(|k| !k.contains("versionId")),
        "no version ids on an unversioned bucket: {keys:?}"
    );
    // Pushed again: everything is recognised by its stored checksum or content.
    let again = last_json(&ok_env(
        &ws,
        &env,
        &["--json", "push", "team/pkg", &reg_url, "--dest", &dest],
    ));
    assert_eq!(again["objects_uploaded"], 0, "{again}");
    assert_eq!(again["objects_present"], 2, "{again}");
    assert_eq!(again["manifest"], "present", "{again}");
}

#[test]
fn dest_push_of_a_version_the_registry_has_rewrites_its_manifest() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let env = env_of(server);
    let reg = server.bucket("reg");
    let data = server.bucket("data");
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    write(&ws, "a.txt", b"a\n");
    ok_env(&ws, &env, &["init"]);
    let v1 = top_hash(&ok_env(&ws, &env, &["build", "team/pkg"]));
    let reg_url = format!("s3://{reg}");
    let first = last_json(&ok_env(
        &ws,
        &env,
        &["--json", "push", "team/pkg", &reg_url],
    ));
    assert_eq!(first["manifest"], "written", "{first}");
    let dest = format!("s3://{data}/files");
    let out = last_json(&ok_env(
        &ws,
        &env,
        &["--json", "push", "team/pkg", &reg_url, "--dest", &dest],
    ));
    assert_eq!(out["manifest"], "rewritten", "{out}");
    assert_eq!(out["top_hash"], v1.as_str());
    let keys = quilt3_keys(&env, &reg_url, &v1);
    assert_eq!(
        keys.get("a.txt").map(String::as_str),
        Some(format!("s3://{data}/files/a.txt").as_str()),
        "the registry's manifest names the files just written"
    );
    let mut cmd = quilt(&ws);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let text = cmd
        .args([
            "push",
            "team/pkg",
            &reg_url,
            "--dest",
            &format!("s3://{data}/again"),
        ])
        .output()
        .expect("run quilt");
    assert!(text.status.success());
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(err.contains("manifest was rewritten"), "{err}");
}

/// The pointer files of team/pkg in a directory registry: name -> content. Every file there
/// is one: quilt3 lists them all as versions.
fn pointers(reg: &Path) -> std::collections::BTreeMap<String, String> {
    let dir = reg.join(".quilt/named_packages/team/pkg");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Default::default();
    };
    rd.map(|e| {
        let e = e.expect("dir entry");
        let body = std::fs::read_to_string(e.path()).expect("pointer");
        (e.file_name().to_string_lossy().into_owned(), body)
    })
    .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
}

#[test]
fn delete_remote_by_hash_prefix_does_what_quilt3_does() {
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir");
    let reg_s = reg.to_str().expect("utf-8");
    write(&ws, "a.txt", b"1\n");
    ok(&ws, &["init"]);
    let v1 = top_hash(&ok(&ws, &["build", "team/pkg"]));
    ok(&ws, &["push", "team/pkg", reg_s]);
    write(&ws, "a.txt", b"2\n");
    let v2 = top_hash(&ok(&ws, &["build", "team/pkg"]));
    // A second's gap so the two timestamped pointers differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&ws, &["push", "team/pkg", reg_s]);
    let before = pointers(&reg);
    assert_eq!(before.len(), 3, "two timestamps and latest: {before:?}");
    assert_eq!(before["latest"].trim(), v2);

    let theirs = t.path().join("theirs");
    copy_dir(&reg, &theirs);
    let out = last_json(&ok(
        &ws,
        &[
            "--json",
            "delete",
            &format!("team/pkg@{}", &v2[..8]),
            "--remote",
            reg_s,
        ],
    ));
    assert_eq!(out["latest_moved_to"], v1.as_str(), "{out}");
    let ours = pointers(&reg);
    assert_eq!(ours.len(), 2, "v2's timestamp pointer went: {ours:?}");
    assert_eq!(ours["latest"].trim(), v1, "latest falls back to v1");
    // The manifests and data stay.
    assert!(reg.join(".quilt/packages").join(&v2).exists());

    let theirs_url = format!("file://{}", theirs.display());
    if py(&[], &["delete", "team/pkg", &theirs_url, &v2[..8]]).is_none() {
        return;
    }
    let q3 = pointers(&theirs);
    let names = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.trim().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&ours), names(&q3), "quilt3 leaves the same pointers");

    // A hash no pointer names is an error that says so, and changes nothing.
    let (code, err) = fails(
        &ws,
        &[
            "delete",
            &format!("team/pkg@{}", &v2[..8]),
            "--remote",
            reg_s,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not found") || err.contains("no "), "{err}");
    assert_eq!(pointers(&reg), ours);
}
