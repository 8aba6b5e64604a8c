//! Habits carried over from git: an implied package in a working directory, `HEAD` and `~N`
//! revisions, `diff` against the files, `status` before the first build, `log -n`,
//! `remote set-url`, `push --all`, shell completions, examples in `--help`, `-v`/`-vv` and a
//! repeated `init`.

mod common;

use std::path::Path;

use common::*;

/// A directory with three versions of `t/ds`: `a.txt` is "1", "2", "3" in turn. Returns the
/// top hashes, oldest first.
fn three_versions(root: &Path) -> [String; 3] {
    write(root, "b.txt", b"same\n");
    ok(root, &["init"]);
    let mut tops = Vec::new();
    for v in ["1", "2", "3"] {
        write(root, "a.txt", v.as_bytes());
        let mut args = vec!["build"];
        if tops.is_empty() {
            args.push("t/ds");
        }
        args.extend(["-m", v]);
        tops.push(top_hash(&ok(root, &args)));
    }
    tops.try_into().expect("three versions")
}

fn stderr_of(dir: &Path, args: &[&str]) -> String {
    let out = quilt(dir).args(args).output().expect("run quilt");
    assert!(out.status.success(), "{args:?}: {:?}", out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_package_checked_out_is_implied() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = &t.path().join("ds");
    let [v1, v2, v3] = three_versions(root);
    // `build` without a name made versions of the checked-out package.
    let log = ok(root, &["log"]);
    let order: Vec<usize> = [&v3, &v2, &v1]
        .iter()
        .map(|v| log.find(v.as_str()).expect("listed"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{log}");
    assert!(ok(root, &["ls"]).contains("a.txt"));
    write(root, "a.txt", b"4");
    assert_eq!(ok(root, &["diff"]).trim(), "M a.txt");

    let remote = t.path().join("remote");
    ok(
        root,
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    ok(root, &["push"]);
    let latest =
        std::fs::read_to_string(remote.join(".quilt/named_packages/t/ds/latest")).expect("pushed");
    assert_eq!(latest.trim(), v3);
    // `quilt push REMOTE` names the remote, as `git push origin` does.
    ok(root, &["push", "origin"]);
}

#[test]
fn head_and_tilde_revisions() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let [v1, v2, v3] = three_versions(root);
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend(args);
        serde_json::from_str(&ok(root, &all)).expect("json")
    };
    let top_of = |rev: &str| json(&["ls", rev])["top_hash"].as_str().map(str::to_owned);
    assert_eq!(top_of("HEAD").as_deref(), Some(v3.as_str()));
    assert_eq!(top_of("HEAD~1").as_deref(), Some(v2.as_str()));
    assert_eq!(top_of("HEAD~2").as_deref(), Some(v1.as_str()));
    assert_eq!(top_of("t/ds~1").as_deref(), Some(v2.as_str()));
    assert_eq!(top_of("t/ds@latest").as_deref(), Some(v3.as_str()));
    assert_eq!(
        top_of(&format!("t/ds@{}~2", &v3[..8])).as_deref(),
        Some(v1.as_str())
    );
    // The versions' messages differ too.
    assert_eq!(
        ok(root, &["diff", "HEAD~2", "HEAD"]),
        "package message: \"1\" -> \"3\"\nM a.txt\n"
    );

    // HEAD follows checkout, and ~N counts from there.
    ok(root, &["checkout", "HEAD~1"]);
    assert_eq!(std::fs::read(root.join("a.txt")).expect("a.txt"), b"2");
    assert_eq!(top_of("HEAD~1").as_deref(), Some(v1.as_str()));

    let (code, err) = fails(root, &["ls", "HEAD~5"]);
    // A revision that names no version is a usage error.
    assert_eq!(code, 2);
    assert!(err.contains("only 1 version(s) before"), "{err}");
    let (_, err) = fails(root, &["ls", "HEAD~x"]);
    assert!(err.contains("'~x' is not"), "{err}");
}

#[test]
fn diff_with_one_revision_compares_the_working_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let [v1, _, _] = three_versions(root);
    write(root, "c.txt", b"new");
    std::fs::remove_file(root.join("b.txt")).expect("rm");
    let diff = ok(root, &["diff", &v1[..10]]);
    let mut lines: Vec<&str> = diff.lines().collect();
    lines.sort();
    assert_eq!(lines, ["A c.txt", "D b.txt", "M a.txt"], "{diff}");
    // The working directory against HEAD, with HEAD spelled out or left out.
    assert_eq!(ok(root, &["diff", "HEAD"]), ok(root, &["diff"]));
    assert!(!ok(root, &["diff"]).contains("a.txt"));
}

#[test]
fn status_before_the_first_build_lists_new_files() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, "a.txt", b"a");
    write(root, "sub/b.txt", b"b");
    ok(root, &["init"]);
    let out = ok(root, &["status"]);
    assert!(
        out.contains("A a.txt") && out.contains("A sub/b.txt"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "status"])).expect("json");
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(2));
    assert!(v["top_hash"].is_null());
    // With nothing checked out, a command that needs the package says how to name it.
    let (_, err) = fails(root, &["build"]);
    assert!(err.contains("name the package as NS/PKG"), "{err}");
}

#[test]
fn log_n_and_remote_set_url() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ds");
    let [_, v2, v3] = three_versions(&root);
    let log = ok(&root, &["log", "-n", "2"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.contains(&v3) && log.contains(&v2));

    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ok(
        &root,
        &["remote", "add", "origin", a.to_str().expect("utf-8")],
    );
    ok(
        &root,
        &["remote", "set-url", "origin", b.to_str().expect("utf-8")],
    );
    let list = ok(&root, &["remote", "list"]);
    let b_real = b.canonicalize().expect("set-url created the directory");
    assert_eq!(list.trim(), format!("* origin\t{}", b_real.display()));
    ok(&root, &["push"]);
    assert!(b.join(".quilt/named_packages/t/ds/latest").is_file());
    let (_, err) = fails(&root, &["remote", "set-url", "nope", "/x"]);
    assert!(err.contains("no remote named \"nope\""), "{err}");
}

#[test]
fn push_all_sends_every_version_oldest_first_and_resumes() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("ds");
    let [v1, v2, v3] = three_versions(&root);
    let remote = t.path().join("remote");
    let url = remote.to_str().expect("utf-8");
    // A run that got only as far as the first version.
    ok(
        &root,
        &["push", &format!("t/ds@{v1}"), url, "--create-remote"],
    );
    let out = ok(&root, &["--json", "push", "--all", url]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let pushed: Vec<&str> = v["versions"]
        .as_array()
        .expect("one entry per version pushed")
        .iter()
        .filter_map(|e| e["top_hash"].as_str())
        .collect();
    assert_eq!(
        pushed,
        [v2.as_str(), v3.as_str()],
        "oldest first, v1 skipped"
    );
    let reg = remote.join(".quilt");
    for v in [&v1, &v2, &v3] {
        assert!(reg.join("packages").join(v).is_file());
    }
    let latest = std::fs::read_to_string(reg.join("named_packages/t/ds/latest")).expect("latest");
    assert_eq!(latest.trim(), v3);
    // Every version is on the remote: a fresh directory pulls the oldest.
    let other = t.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    ok(&other, &["init"]);
    ok(&other, &["pull", &format!("t/ds@{}", &v1[..10]), url]);
    assert_eq!(std::fs::read(other.join("a.txt")).expect("a.txt"), b"1");
    // Nothing left to send the second time.
    let again: serde_json::Value =
        serde_json::from_str(&ok(&root, &["--json", "push", "--all", url])).expect("json");
    let again = &again["versions"];
    assert_eq!(
        again.as_array().map(Vec::len),
        Some(1),
        "only the latest: {again}"
    );
    assert_eq!(again[0]["objects_uploaded"], 0);
    assert_eq!(again[0]["top_hash"], v3.as_str());
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let t = tempfile::tempdir().expect("tempdir");
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef quilt"),
        ("fish", "complete -c quilt"),
    ] {
        let out = ok(t.path(), &["completions", shell]);
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(
            out.contains("checkout") && out.contains("set-url"),
            "{shell}"
        );
    }
    let (code, _) = fails(t.path(), &["completions", "tcsh"]);
    assert_eq!(code, 2);
}

#[test]
fn main_commands_show_examples_in_help() {
    let t = tempfile::tempdir().expect("tempdir");
    for cmd in [
        "init", "build", "status", "log", "ls", "diff", "checkout", "install", "push", "pull",
        "remote",
    ] {
        let out = ok(t.path(), &[cmd, "--help"]);
        let examples = out
            .split_once("Examples:")
            .map(|(_, e)| e)
            .unwrap_or_default();
        assert!(
            examples.contains(&format!("quilt {cmd}")),
            "`quilt {cmd} --help` has no examples:\n{out}"
        );
    }
}

#[test]
fn verbose_flags_add_detail() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = &t.path().join("ds");
    write(root, "a.txt", b"a");
    ok(root, &["init"]);
    let quiet = stderr_of(root, &["build", "t/ds"]);
    assert!(!quiet.contains("scanned"), "{quiet}");
    write(root, "a.txt", b"b");
    let info = stderr_of(root, &["-v", "build", "t/ds"]);
    assert!(info.contains("INFO") && info.contains("scanned"), "{info}");
    assert!(!info.contains("DEBUG"), "{info}");
    write(root, "a.txt", b"c");
    let debug = stderr_of(root, &["-vv", "build", "t/ds"]);
    assert!(
        debug.contains("DEBUG") && debug.contains("hashed"),
        "{debug}"
    );
    assert!(stderr_of(root, &["-v", "status"]).contains("compared the working directory"));
    assert!(stderr_of(root, &["-v", "diff", "HEAD"]).contains("compared the working directory"));
    let remote = t.path().join("remote");
    let push = stderr_of(
        root,
        &[
            "-v",
            "push",
            "t/ds",
            &remote.to_string_lossy(),
            "--create-remote",
        ],
    );
    assert!(
        push.contains("INFO") && push.contains("objects the inventory"),
        "{push}"
    );
}

#[test]
fn init_twice_says_it_is_already_initialised() {
    let t = tempfile::tempdir().expect("tempdir");
    let first = ok(t.path(), &["init"]);
    assert!(first.contains("Initialised"), "{first}");
    let again = ok(t.path(), &["init"]);
    assert!(again.contains("already initialised"), "{again}");
}
