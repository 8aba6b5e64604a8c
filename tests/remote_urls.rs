//! Remote locations a new user may mistype: URL-like strings that are not supported URLs,
//! relative paths, directories inside the working directory and directories that do not exist.

mod common;

use std::path::Path;

use common::*;

/// An initialised directory `ds` with one version of `t/ds`.
fn dataset(root: &Path) -> std::path::PathBuf {
    let ds = root.join("ds");
    write(&ds, "data/a.csv", b"x\n1\n");
    write(&ds, "sub/b.txt", b"b");
    ok(&ds, &["init"]);
    ok(&ds, &["build", "t/ds"]);
    ds
}

/// Every file and directory below `dir` except `.quilt`.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.file_name().is_some_and(|n| n == ".quilt") {
                continue;
            }
            out.push(p.strip_prefix(dir).expect("below").display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn url_like_strings_that_are_not_urls_are_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = dataset(t.path());
    let before = entries(&ds);
    for bad in [
        "s3:/bad",
        "s3:bad",
        "S3:/Bucket/x",
        "http:/example.com/r",
        "gs://bkt/x",
    ] {
        let (code, err) = fails(&ds, &["push", "t/ds", bad]);
        // A malformed remote argument is a usage error, like a malformed package name.
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains("invalid remote URL"), "{bad}: {err}");
        assert!(
            err.contains("s3://bucket"),
            "{bad}: the fix is named: {err}"
        );
        let (_, err) = fails(&ds, &["remote", "add", "o", bad]);
        assert!(err.contains("invalid remote URL"), "{bad}: {err}");
    }
    assert_eq!(
        entries(&ds),
        before,
        "nothing was created in the working directory"
    );
    assert!(ok(&ds, &["status"]).contains("nothing changed"));
}

#[test]
fn remote_add_stores_an_absolute_path_that_works_from_subdirectories() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = dataset(t.path());
    let out = quilt(&ds)
        .args(["remote", "add", "origin", "../registry"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let registry = t.path().join("registry").canonicalize().expect("created");
    assert!(String::from_utf8_lossy(&out.stderr).contains("created remote directory"));
    let list = ok(&ds, &["remote", "list"]);
    assert_eq!(list.trim(), format!("* origin\t{}", registry.display()));
    // A push from a subdirectory lands in the same place.
    ok(&ds.join("sub"), &["push", "t/ds"]);
    assert!(registry.join(".quilt/named_packages/t/ds/latest").is_file());
    assert!(!ds.join("registry").exists() && !ds.join("sub/registry").exists());
}

#[test]
fn a_remote_inside_the_working_directory_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = dataset(t.path());
    let before = entries(&ds);
    let inside = ds.join("sub/reg");
    // (A bare word given to push names a remote, as in git; "./reg" is the directory.)
    for url in ["./reg", "./sub/../reg", inside.to_str().expect("utf-8")] {
        let (_, err) = fails(&ds, &["remote", "add", "o", url]);
        assert!(err.contains("inside the working directory"), "{url}: {err}");
        let (_, err) = fails(&ds, &["push", "t/ds", url, "--create-remote"]);
        assert!(err.contains("inside the working directory"), "{url}: {err}");
    }
    let (_, err) = fails(&ds, &["remote", "add", "o", "reg"]);
    assert!(err.contains("inside the working directory"), "{err}");
    let push_dest = [
        "push",
        "t/ds",
        "../elsewhere",
        "--create-remote",
        "--dest",
        "files",
    ];
    let (_, err) = fails(&ds, &push_dest);
    assert!(err.contains("inside the working directory"), "{err}");
    assert_eq!(entries(&ds), before);
}

#[test]
fn a_missing_remote_directory_is_created_only_when_asked() {
    let t = tempfile::tempdir().expect("tempdir");
    let ds = dataset(t.path());
    let missing = t.path().join("no/such/registry");
    let url = missing.to_str().expect("utf-8");
    for args in [
        vec!["push", "t/ds", url],
        vec!["fetch", "t/ds", url],
        vec!["log", "t/ds", "--remote", url],
    ] {
        let (code, err) = fails(&ds, &args);
        assert_eq!(code, 1);
        assert!(err.contains("does not exist"), "{args:?}: {err}");
        assert!(err.contains("--create-remote"), "{args:?}: {err}");
        assert!(!t.path().join("no").exists(), "{args:?} created it");
    }
    let out = quilt(&ds)
        .args(["push", "t/ds", url, "--create-remote"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("created remote directory"), "{said}");
    assert!(missing.join(".quilt/named_packages/t/ds/latest").is_file());
}
