//! Version history across remotes: fetched versions keep the remote's times, built versions
//! record their parent, and a push moves `latest` only forward from the remote's `latest`.

#[path = "common/s3.rs"]
mod s3_server;

mod common;

use std::path::Path;

use common::*;

fn remote_latest(reg: &Path, name: &str) -> String {
    std::fs::read_to_string(reg.join(".quilt/named_packages").join(name).join("latest"))
        .expect("latest pointer")
        .trim()
        .to_owned()
}

fn files(dir: &Path, v: u32) {
    for i in 0..20 {
        write(
            dir,
            &format!("d/{i:02}.csv"),
            format!("{i},{v}\n").as_bytes(),
        );
    }
}

/// Pulling an old version after the newest one must not make it the local newest, and
/// pushing it back must not move the remote's `latest` backwards.
#[test]
fn pulling_an_old_version_does_not_roll_the_remote_back() {
    let t = tempfile::tempdir().expect("tempdir");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    let reg_s = reg.to_str().expect("utf-8");
    let a = t.path().join("a");
    files(&a, 1);
    ok(&a, &["init"]);
    let v1 = top_hash(&ok(&a, &["build", "t/p", "-m", "one"]));
    ok(&a, &["push", "t/p", reg_s]);
    files(&a, 2);
    let v2 = top_hash(&ok(&a, &["build", "t/p", "-m", "two"]));
    ok(&a, &["push", "t/p", reg_s]);
    assert_eq!(remote_latest(&reg, "t/p"), v2);

    let b = t.path().join("b");
    std::fs::create_dir_all(&b).expect("mkdir");
    ok(&b, &["init"]);
    ok(&b, &["pull", "t/p", reg_s]);
    ok(&b, &["pull", &format!("t/p@{v1}"), reg_s]);
    let log = ok(&b, &["log", "t/p"]);
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with(&v2) && lines[1].starts_with(&v1),
        "the fetched v1 must keep its older time:\n{log}"
    );

    // A plain push sends the newest version, which is the remote's latest already.
    ok(&b, &["push", "t/p", reg_s]);
    assert_eq!(
        remote_latest(&reg, "t/p"),
        v2,
        "plain push rolled latest back"
    );
    // Pushing v1 explicitly is refused: it was not built on v2.
    let (code, err) = fails(&b, &["push", &format!("t/p@{v1}"), reg_s]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not built on") && err.contains("quilt pull") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(remote_latest(&reg, "t/p"), v2, "refused push moved latest");
    // --force is the way to roll back on purpose.
    ok(&b, &["push", &format!("t/p@{v1}"), reg_s, "--force"]);
    assert_eq!(remote_latest(&reg, "t/p"), v1);
}

/// A version built on the remote's latest (or on a descendant of it) moves `latest`; one
/// built on an older version is refused until it is merged, and says how.
#[test]
fn push_moves_latest_only_along_parents() {
    let t = tempfile::tempdir().expect("tempdir");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    let reg_s = reg.to_str().expect("utf-8");
    let a = t.path().join("a");
    files(&a, 1);
    ok(&a, &["init"]);
    let v1 = top_hash(&ok(&a, &["build", "t/p"]));
    ok(&a, &["push", "t/p", reg_s]);

    // B builds twice on v1 and pushes only the second: v1 is its grandparent.
    let b = t.path().join("b");
    std::fs::create_dir_all(&b).expect("mkdir");
    ok(&b, &["init"]);
    ok(&b, &["pull", "t/p", reg_s]);
    write(&b, "d/00.csv", b"b-one\n");
    top_hash(&ok(&b, &["build", "t/p"]));
    write(&b, "d/01.csv", b"b-two\n");
    let vb = top_hash(&ok(&b, &["build", "t/p"]));
    ok(&b, &["push", "t/p", reg_s]);
    assert_eq!(remote_latest(&reg, "t/p"), vb);

    // A, still on v1, edits and builds: pushing would undo B's work.
    write(&a, "d/02.csv", b"a-edit\n");
    let va = top_hash(&ok(&a, &["build", "t/p"]));
    let (_, err) = fails(&a, &["push", "t/p", reg_s]);
    assert!(err.contains(&vb) && err.contains("quilt pull"), "{err}");
    assert_eq!(remote_latest(&reg, "t/p"), vb);

    // The merge: pull B's version (A's edit is committed in va), redo the edit, rebuild.
    ok(&a, &["pull", "t/p", reg_s, "--force"]);
    write(&a, "d/02.csv", b"a-edit\n");
    let merged = top_hash(&ok(&a, &["build", "t/p"]));
    assert_ne!(merged, va);
    ok(&a, &["push", "t/p", reg_s]);
    assert_eq!(remote_latest(&reg, "t/p"), merged);
    let log = ok(&a, &["--json", "log", "t/p"]);
    assert!(log.contains(&v1), "{log}");
}

/// quilt3 pushes a change; quilt fetches it but keeps local edits; building those and
/// pushing must not revert quilt3's change on the remote.
#[test]
fn s3_a_quilt3_change_is_not_reverted() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let Some(py) = python() else { return };
    let bucket = server.bucket("history");
    let url = format!("s3://{bucket}");
    let env = server.env();
    let run = |dir: &Path, args: &[&str]| -> std::process::Output {
        let mut cmd = quilt(dir);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.args(args).output().expect("run quilt")
    };
    let must = |dir: &Path, args: &[&str]| -> String {
        let out = run(dir, args);
        assert!(
            out.status.success(),
            "quilt {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let t = tempfile::tempdir().expect("tempdir");
    let ws = t.path().join("ws");
    files(&ws, 1);
    must(&ws, &["init"]);
    must(&ws, &["build", "t/p", "-m", "ours"]);
    must(&ws, &["push", "t/p", &url]);

    // quilt3 pushes a change of its own.
    let theirs_dir = t.path().join("theirs");
    files(&theirs_dir, 1);
    write(&theirs_dir, "d/05.csv", b"changed by quilt3\n");
    let py_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let theirs = run_py(
        &py,
        "remote.py",
        &[
            "push",
            theirs_dir.to_str().expect("utf-8"),
            "t/p",
            &url,
            "theirs",
        ],
        &py_env,
    );
    let theirs = theirs.lines().last().unwrap_or_default().trim().to_owned();

    // We edit locally; pull fetches theirs but will not overwrite our edit.
    write(&ws, "d/05.csv", b"our local edit\n");
    let pulled = run(&ws, &["pull", "t/p", &url]);
    assert!(!pulled.status.success(), "pull overwrote a local edit");
    // Following its hint: build, then push.
    must(&ws, &["build", "t/p", "-m", "mine"]);
    let pushed = run(&ws, &["push", "t/p", &url]);
    let err = String::from_utf8_lossy(&pushed.stderr);
    assert!(!pushed.status.success(), "push reverted quilt3's change");
    assert!(
        err.contains(&theirs) && err.contains("not built on"),
        "{err}"
    );
    let log = must(&ws, &["--json", "log", "t/p", "--remote", &url]);
    let v: serde_json::Value = serde_json::from_str(log.trim()).expect("json");
    let latest: Vec<&str> = v["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|r| r["latest"] == true)
        .filter_map(|r| r["top_hash"].as_str())
        .collect();
    assert_eq!(latest, vec![theirs.as_str()], "{log}");
}

/// `log --remote` shows each version's message and marks `latest`, and works outside a quilt
/// directory, as `install --from` does.
#[test]
fn log_remote_shows_messages_and_latest_anywhere() {
    let t = tempfile::tempdir().expect("tempdir");
    let reg = t.path().join("reg");
    std::fs::create_dir_all(&reg).expect("mkdir reg");
    let reg_s = reg.to_str().expect("utf-8");
    let a = t.path().join("a");
    files(&a, 1);
    ok(&a, &["init"]);
    let v1 = top_hash(&ok(&a, &["build", "t/p", "-m", "first message"]));
    ok(&a, &["push", "t/p", reg_s]);
    files(&a, 2);
    let v2 = top_hash(&ok(&a, &["build", "t/p", "-m", "second message"]));
    ok(&a, &["push", "t/p", reg_s]);

    let bare = t.path().join("bare");
    std::fs::create_dir_all(&bare).expect("mkdir");
    let log = ok(&bare, &["log", "t/p", "--remote", reg_s]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].starts_with(&v2)
            && lines[0].contains("second message")
            && lines[0].contains("(latest)"),
        "{log}"
    );
    assert!(
        lines[1].starts_with(&v1)
            && lines[1].contains("first message")
            && !lines[1].contains("(latest)"),
        "{log}"
    );
    let json: serde_json::Value =
        serde_json::from_str(ok(&bare, &["--json", "log", "t/p", "--remote", reg_s]).trim())
            .expect("json");
    assert_eq!(json["versions"][1]["message"], "first message", "{json}");
    assert_eq!(json["versions"][0]["latest"], true, "{json}");
    assert!(ok(&bare, &["list", "--remote", reg_s]).contains("t/p"));
    // A remote name means nothing outside a quilt directory; the error says what to give.
    let (_, err) = fails(&bare, &["log", "t/p", "--remote", "origin"]);
    assert!(err.contains("URL"), "{err}");
}
