use std::path::Path;

use quilt_sync::RemoteOptions;

use super::{RemoteSetting, SettingsChange};
use crate::{Error, ErrorKind, Repository};

fn repo(root: &Path) -> Repository {
    Repository::init(&root.join("work"), None).expect("init")
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn add_remote_creates_a_missing_directory_and_refuses_a_taken_name() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = repo(t.path());
    let dir = t.path().join("registry");
    let none = SettingsChange::default();
    let added = repo
        .add_remote("origin", utf8(&dir), t.path(), &none)
        .expect("add");
    assert!(dir.is_dir());
    let real = dir.canonicalize().expect("created");
    assert_eq!(added.created.as_deref(), Some(real.as_path()));
    assert_eq!(added.url, utf8(&real));
    let again = repo.add_remote("origin", utf8(&dir), t.path(), &none);
    let err = again.expect_err("a taken name");
    assert!(matches!(err, Error::RemoteNameTaken(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let listed = repo.remotes().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        repo.default_remote().expect("default").as_deref(),
        Some("origin")
    );
    // An existing directory is used as it is.
    let second = repo
        .add_remote("second", utf8(&dir), t.path(), &none)
        .expect("add");
    assert_eq!(second.created, None);
}

#[test]
fn add_remote_refuses_bad_names_and_directories_inside_the_working_directory() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = repo(t.path());
    let none = SettingsChange::default();
    for name in ["", "a b", "s3://x", "a/b"] {
        let err = repo
            .add_remote(name, "/tmp/x", t.path(), &none)
            .expect_err("a bad name");
        assert!(err.to_string().starts_with("invalid remote name"), "{err}");
    }
    let err = repo
        .add_remote("inside", "sub/registry", repo.worktree(), &none)
        .expect_err("inside the working directory");
    assert!(matches!(err, Error::RemoteDirInWorktree { .. }), "{err}");
    assert!(!repo.worktree().join("sub").exists());
    assert!(repo.remotes().expect("list").is_empty());
}

#[test]
fn settings_are_checked_and_apply_to_s3_remotes_only() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = repo(t.path());
    let region = SettingsChange {
        region: Some("eu-west-1".into()),
        ..SettingsChange::default()
    };
    let dir = t.path().join("registry");
    let err = repo
        .add_remote("d", utf8(&dir), t.path(), &region)
        .expect_err("settings on a directory");
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(!dir.exists(), "nothing is created for a refused remote");

    let added = repo
        .add_remote("s3", "s3://bucket/p", t.path(), &region)
        .expect("add");
    assert_eq!(added.settings.region.as_deref(), Some("eu-west-1"));
    let bad = SettingsChange {
        endpoint: Some("ftp://x".into()),
        ..SettingsChange::default()
    };
    let err = repo
        .set_remote_settings("s3", &bad)
        .expect_err("bad endpoint");
    assert_eq!(
        err.to_string(),
        "invalid --endpoint \"ftp://x\": use http(s)://host[:port]"
    );
    assert_eq!(err.kind(), ErrorKind::Usage);
    let err = repo
        .set_remote_settings("s3", &SettingsChange::default())
        .expect_err("nothing to change");
    assert!(matches!(err, Error::NothingToChange), "{err}");
    let change = SettingsChange {
        endpoint: Some("http://127.0.0.1:9000/".into()),
        unset: vec![RemoteSetting::Region],
        ..SettingsChange::default()
    };
    let set = repo.set_remote_settings("s3", &change).expect("set");
    assert_eq!(
        set.settings.endpoint.as_deref(),
        Some("http://127.0.0.1:9000")
    );
    assert_eq!(set.settings.region, None);
    let stored = &repo.remotes().expect("list")[0];
    assert_eq!(stored.settings, set.settings);
}

#[test]
fn unknown_names_are_not_found() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = repo(t.path());
    let opts = RemoteOptions::default();
    let err = repo
        .open_remote(Some("nope"), t.path(), &opts)
        .err()
        .expect("unknown name");
    assert_eq!(
        err.to_string(),
        "no remote named \"nope\"; add one with `quilt remote add nope URL`"
    );
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = repo
        .set_remote_url("nope", "/x", t.path())
        .expect_err("unknown name");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = super::open_remote_to_read(None, Some("nope"), t.path(), &opts)
        .err()
        .expect("a name outside a working directory");
    assert!(matches!(err, Error::RemoteNameOutsideWorkdir(_)), "{err}");
}

#[test]
fn a_named_remote_opens_at_its_stored_url() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = repo(t.path());
    let dir = t.path().join("registry");
    let added = repo
        .add_remote("origin", utf8(&dir), t.path(), &SettingsChange::default())
        .expect("add");
    let opts = RemoteOptions::default();
    let by_name = repo
        .open_remote(Some("origin"), t.path(), &opts)
        .expect("open");
    assert_eq!(by_name.url, added.url);
    let by_default = repo.open_remote(None, t.path(), &opts).expect("open");
    assert_eq!(by_default.url, added.url);
    let moved = t.path().join("moved");
    let set = repo
        .set_remote_url("origin", utf8(&moved), t.path())
        .expect("set-url");
    assert!(set.created.is_some() && moved.is_dir());
    let reopened = repo.open_remote(None, t.path(), &opts).expect("open");
    assert_eq!(reopened.url, set.url);
}
