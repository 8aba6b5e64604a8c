//! The `quilt::Package` API: what it builds is what quilt3 builds (top hash and manifest bytes),
//! quilt3 browses and installs what it pushes, it browses and installs what quilt3 built, and
//! bad edits are refused without touching the store.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use quilt::hash::PackageName;
use quilt::sync::{open_remote, Remote, RemoteOptions};
use quilt::{
    Error, FetchOptions, InstallOptions, Package, PackageOptions, PushOptions, Repository, RevSpec,
    Watch,
};
use serde_json::{json, Value};

fn dir_remote(path: &Path) -> Arc<dyn Remote> {
    std::fs::create_dir_all(path).expect("mkdir registry");
    let url = path.to_str().expect("utf-8 path");
    Arc::from(open_remote(url, &RemoteOptions::default()).expect("open dir remote"))
}

/// Files with names that exercise quilt3's order, unicode, spaces and an empty file.
fn sample_files(root: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let files = [
        ("train.csv", b"x,y\n1,2\n".to_vec()),
        ("docs/README.md", b"# read me\n".to_vec()),
        ("a/b", bytes(1, 3000)),
        ("a-c", bytes(2, 10)),
        ("日本/データ.bin", bytes(3, 70_000)),
        ("sp ace/x y.txt", b"spaces\n".to_vec()),
        ("empty", Vec::new()),
    ];
    files
        .into_iter()
        .enumerate()
        .map(|(i, (key, data))| {
            let path = root.join(format!("src-{i}"));
            std::fs::write(&path, data).expect("write source file");
            (key, path)
        })
        .collect()
}

fn sample_package(root: &Path) -> Package {
    let mut pkg = Package::new();
    for (key, path) in sample_files(root) {
        pkg.set(key, path).expect("set");
    }
    pkg.set_meta(json!({"owner": "team", "n": [1, 2.5, null], "ü": "✓"}))
        .expect("meta");
    pkg.set_entry_meta("train.csv", json!({"columns": ["x", "y"]}))
        .expect("entry meta");
    pkg
}

/// The sample files as the quilt3 driver's `files` object.
fn files_spec(root: &Path) -> Value {
    sample_files(root)
        .into_iter()
        .map(|(k, p)| (k.to_owned(), Value::String(p.display().to_string())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Builds `spec` with quilt3 into `registry` (a directory, created, or an s3:// URL);
/// returns quilt3's top hash.
fn quilt3_build(
    py: &Path,
    work: &Path,
    spec: &Value,
    registry: &Path,
    env: &[(&str, &str)],
) -> String {
    let spec_path = work.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let registry = registry.to_str().expect("utf-8");
    if !registry.contains("://") {
        std::fs::create_dir_all(registry).expect("mkdir registry");
    }
    let args = [
        "build",
        spec_path.to_str().expect("utf-8"),
        "team/pkg",
        registry,
    ];
    run_py(py, "package.py", &args, env).trim().to_owned()
}

fn name() -> PackageName {
    PackageName::parse("team/pkg").expect("name")
}

#[test]
fn top_hash_and_manifest_bytes_match_quilt3() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut pkg = sample_package(tmp.path());
    let ours_reg = tmp.path().join("ours");
    let ours = pkg
        .build_to_registry(
            dir_remote(&ours_reg).as_ref(),
            &name(),
            Some("v1"),
            Watch::default(),
        )
        .expect("build to registry");

    let theirs_reg = tmp.path().join("theirs");
    let spec = json!({
        "files": files_spec(tmp.path()),
        "meta": {"owner": "team", "n": [1, 2.5, null], "ü": "✓"},
        "entry_meta": {"train.csv": {"columns": ["x", "y"]}},
        "message": "v1",
    });
    let theirs = quilt3_build(&py, tmp.path(), &spec, &theirs_reg, &[]);
    assert_eq!(
        ours.to_hex(),
        theirs.trim(),
        "top hash differs from quilt3's"
    );
    assert_eq!(
        String::from_utf8(registry_manifest(&ours_reg, theirs.trim())).expect("utf-8"),
        String::from_utf8(registry_manifest(&theirs_reg, theirs.trim())).expect("utf-8"),
        "manifest bytes differ from quilt3's (physical keys included: the same files)"
    );
    assert_eq!(pkg.top_hash().expect("top hash"), ours);
}

#[test]
fn quilt3_browses_and_installs_what_package_pushes() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut pkg = sample_package(tmp.path());
    let repo = Repository::init(&tmp.path().join("work"), None).expect("init");
    let reg = tmp.path().join("registry");
    let opts = PushOptions {
        force: false,
        dest: None,
        message: Some("pushed from Rust".into()),
        jobs: 4,
        ..PushOptions::default()
    };
    let pushed = pkg
        .push(
            &repo,
            &name(),
            dir_remote(&reg).as_ref(),
            &opts,
            Watch::default(),
        )
        .expect("push");
    assert_eq!(pushed.objects_uploaded, 7);

    let dest = tmp.path().join("installed-by-quilt3");
    let out = run_py(
        &py,
        "package.py",
        &[
            "browse",
            reg.to_str().expect("utf-8"),
            "team/pkg",
            dest.to_str().expect("utf-8"),
        ],
        &[],
    );
    // quilt3's install prints on stdout too; the driver's JSON is the last line.
    let last = out.lines().last().expect("output from quilt3");
    let seen: Value = serde_json::from_str(last).expect("json from quilt3");
    assert_eq!(seen["top_hash"], pushed.top_hash.to_hex());
    assert_eq!(seen["message"], "pushed from Rust");
    assert_eq!(
        seen["meta"],
        json!({"owner": "team", "n": [1, 2.5, null], "ü": "✓"})
    );
    assert_eq!(
        seen["entries"]["train.csv"]["meta"],
        json!({"columns": ["x", "y"]})
    );
    assert_eq!(seen["entries"]["日本/データ.bin"]["size"], 70_000);
    for (key, path) in sample_files(tmp.path()) {
        assert_eq!(
            std::fs::read(dest.join(key)).expect("installed file"),
            std::fs::read(path).expect("source"),
            "{key} as quilt3 installed it"
        );
    }
}

#[test]
fn browses_builds_and_installs_what_quilt3_built() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let reg = tmp.path().join("registry");
    let spec = json!({
        "files": files_spec(tmp.path()),
        "meta": {"by": "quilt3"},
        "entry_meta": {"a/b": {"k": 1}},
        "message": "from python",
    });
    let theirs = quilt3_build(&py, tmp.path(), &spec, &reg, &[]);
    let theirs = theirs.as_str();

    let registry = dir_remote(&reg);
    let mut browsed =
        Package::browse(registry.clone(), "team/pkg", PackageOptions::default()).expect("browse");
    assert_eq!(browsed.top_hash().expect("top").to_hex(), theirs);
    assert_eq!(browsed.meta(), Some(&json!({"by": "quilt3"})));
    assert_eq!(browsed.message(), Some("from python"));
    assert_eq!(browsed.len(), 7);
    let keys: Vec<&str> = browsed.walk().map(|e| e.logical_key()).collect();
    // quilt3's walk order: a folder's entries before a sibling file whose name sorts after it.
    assert_eq!(
        keys,
        [
            "a/b",
            "a-c",
            "docs/README.md",
            "empty",
            "sp ace/x y.txt",
            "train.csv",
            "日本/データ.bin"
        ]
    );
    assert_eq!(
        browsed.get("a/b").and_then(|e| e.user_meta()),
        Some(&json!({"k": 1}))
    );

    // Building the browsed package fetches its data (verified) into the store: same version.
    let repo = Repository::init(&tmp.path().join("work"), None).expect("init");
    let message = browsed.message().map(str::to_owned);
    let top = browsed
        .build(&repo, &name(), message.as_deref(), Watch::default())
        .expect("build browsed");
    assert_eq!(top.to_hex(), theirs);
    let dest = tmp.path().join("out");
    let out = repo
        .install(
            &top.to_hex(),
            &dest,
            &InstallOptions::default(),
            Watch::default(),
        )
        .expect("install");
    assert_eq!(out.top_hash, top);
    assert_eq!(out.written, 7);
    for (key, path) in sample_files(tmp.path()) {
        assert_eq!(
            std::fs::read(dest.join(key)).expect("file"),
            std::fs::read(path).expect("src")
        );
    }

    // And through a fetch by top-hash prefix into another store.
    let other = Repository::init(&tmp.path().join("other"), None).expect("init");
    let installed = other
        .install_from(
            registry.as_ref(),
            &RevSpec::parse(&theirs[..10]).expect("rev"),
            &tmp.path().join("out2"),
            &InstallOptions::default(),
            &FetchOptions {
                jobs: 2,
                ..FetchOptions::default()
            },
            Watch::default(),
        )
        .expect("install from");
    assert_eq!(installed.fetched.outcome.top_hash, top);
    assert_eq!(installed.written.written, 7);
}

#[test]
fn edits_behave_like_quilt3_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("tree");
    write(&src, "keep/a.csv", b"a");
    write(&src, "keep/b.csv", b"bb");
    write(&src, "skip.log", b"log");
    write(&src, ".quiltignore", b"*.log\n");
    let mut pkg = Package::new();
    pkg.set_dir("data", &src).expect("set_dir");
    let keys: Vec<&str> = pkg.walk().map(|e| e.logical_key()).collect();
    assert_eq!(
        keys,
        ["data/.quiltignore", "data/keep/a.csv", "data/keep/b.csv"]
    );

    pkg.delete("data/keep").expect("delete a folder");
    assert_eq!(pkg.len(), 1);
    let err = pkg.delete("data/keep").expect_err("nothing left there");
    assert!(
        err.to_string().contains("no entry or folder \"data/keep\""),
        "{err}"
    );

    let err = pkg
        .set(".quilt/quilt.db", src.join("skip.log"))
        .expect_err("reserved");
    assert!(err.to_string().contains(".quilt"), "{err}");
    let err = pkg
        .set("../escape", src.join("skip.log"))
        .expect_err("escape");
    assert!(err.to_string().contains(".."), "{err}");
    let err = pkg.set("dir", &src).expect_err("a directory");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = pkg.set("missing", src.join("nope")).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err = pkg.set_meta(json!([1, 2])).expect_err("not an object");
    assert!(matches!(err, Error::BadMeta(_)), "{err:?}");
    let err = pkg.set("bad", "s3://").expect_err("no bucket");
    assert!(err.to_string().contains("not an S3 object URL"), "{err}");
    assert_eq!(pkg.len(), 1, "refused edits change nothing");

    // A `file://` URL names a local file, as in quilt3's `set`.
    let url = format!("file://{}", src.join("keep/b.csv").display());
    pkg.set("by-url.csv", &url).expect("set by file:// URL");
    assert_eq!(pkg.get("by-url.csv").and_then(|e| e.size()), Some(2));
    pkg.delete("by-url.csv").expect("delete");

    // The manifest needs hashes; it round-trips byte for byte once they are there.
    assert!(pkg.manifest().is_err());
    pkg.set("x.txt", src.join("keep/a.csv")).expect("set");
    pkg.set_meta(json!({"a": 1})).expect("meta");
    let top = pkg.top_hash().expect("top hash");
    let mut bytes = Vec::new();
    pkg.write_manifest(&mut bytes).expect("write");
    let mut back = Package::read_manifest(bytes.as_slice()).expect("read");
    let mut again = Vec::new();
    back.write_manifest(&mut again).expect("write again");
    assert_eq!(bytes, again);
    assert_eq!(back.top_hash().expect("top"), top);
}

#[test]
fn building_twice_records_one_version_and_a_changed_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("f.bin");
    std::fs::write(&file, bytes(7, 20_000)).expect("write");
    let repo = Repository::init(&tmp.path().join("work"), None).expect("init");
    let mut pkg = Package::new();
    pkg.set("f.bin", &file).expect("set");
    let top = pkg
        .build(&repo, &name(), Some("m"), Watch::default())
        .expect("build");
    let again = pkg
        .build(&repo, &name(), Some("m"), Watch::default())
        .expect("rebuild");
    assert_eq!(top, again);
    assert_eq!(repo.log(&name()).expect("revisions").len(), 1);
    let loaded = Package::load(&repo, "team/pkg").expect("load");
    assert_eq!(
        loaded.get("f.bin").and_then(|e| e.hash()),
        pkg.get("f.bin").and_then(|e| e.hash())
    );

    // A file whose content is not stored yet, hashed, then changed (same size) before the
    // build copies it: refused, nothing recorded. (Content the store already has is not read
    // again: the version then holds exactly what was hashed.)
    let fresh = tmp.path().join("g.bin");
    std::fs::write(&fresh, bytes(8, 20_000)).expect("write");
    let mut pkg = Package::new();
    pkg.set("g.bin", &fresh).expect("set");
    pkg.top_hash().expect("hash");
    std::fs::write(&fresh, bytes(9, 20_000)).expect("rewrite");
    let other = PackageName::parse("team/other").expect("name");
    let err = pkg
        .build(&repo, &other, None, Watch::default())
        .expect_err("changed since hashed");
    assert!(matches!(err, Error::FileChanged { .. }), "{err:?}");
    assert!(repo.log(&other).expect("revisions").is_empty());
}

#[path = "common/s3.rs"]
mod s3_server;

/// Remote options that reach the test server, as the environment would give them.
fn s3_options(server: &s3_server::Server) -> quilt::sync::RemoteOptions {
    let env: std::collections::HashMap<_, _> = server.env().into_iter().collect();
    let s3 = quilt::sync::S3Options {
        endpoint: Some(env["AWS_ENDPOINT_URL"].clone()),
        region: Some("us-east-1".into()),
        access_key: Some(env["AWS_ACCESS_KEY_ID"].clone()),
        secret_key: Some(env["AWS_SECRET_ACCESS_KEY"].clone()),
        config_file: Some("/nonexistent".into()),
        credentials_file: Some("/nonexistent".into()),
        ..quilt::sync::S3Options::default()
    };
    quilt::sync::RemoteOptions {
        s3,
        ..quilt::sync::RemoteOptions::default()
    }
}

#[test]
fn s3_objects_folders_and_local_files_in_one_package() {
    let Some(server) = s3_server::server() else {
        return;
    };
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let bucket = server.bucket("pkg");
    let put = |key: &str, data: &[u8]| {
        let f = tmp.path().join("upload");
        std::fs::write(&f, data).expect("write");
        assert_eq!(
            server.signed_put(&format!("{bucket}/{key}"), Some(&f)),
            "200"
        );
    };
    put("data/x.csv", b"a,b\n1,2\n");
    put("data/sub/y.bin", &bytes(11, 300_000));
    put("other/z.txt", b"zzz");
    let local = tmp.path().join("local.txt");
    std::fs::write(&local, b"local bytes").expect("write");

    let options = PackageOptions {
        remote: s3_options(server),
        ..PackageOptions::default()
    };
    let mut pkg = Package::new().with_options(options.clone());
    pkg.set_dir("raw", format!("s3://{bucket}/data/").as_str())
        .expect("set_dir s3");
    pkg.set("z.txt", format!("s3://{bucket}/other/z.txt").as_str())
        .expect("set s3 object");
    pkg.set("local.txt", &local).expect("set local");
    pkg.set_meta(json!({"mixed": true})).expect("meta");
    let keys: Vec<&str> = pkg.walk().map(|e| e.logical_key()).collect();
    assert_eq!(keys, ["local.txt", "raw/sub/y.bin", "raw/x.csv", "z.txt"]);

    // Manifest-only to an S3 registry: the top hash quilt3 gives the same sources.
    let registry: Arc<dyn Remote> = Arc::from(
        open_remote(&format!("s3://{bucket}/reg-ours"), &options.remote).expect("open registry"),
    );
    let ours = pkg
        .build_to_registry(registry.as_ref(), &name(), Some("mixed"), Watch::default())
        .expect("build to the S3 registry");
    let spec = json!({
        "dirs": {"raw": format!("s3://{bucket}/data/")},
        "files": {
            "z.txt": format!("s3://{bucket}/other/z.txt"),
            "local.txt": local.display().to_string(),
        },
        "meta": {"mixed": true},
        "message": "mixed",
    });
    let env = server.env();
    let home = tmp.path().join("py-home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("HOME", home.to_str().expect("utf-8")));
    let theirs_reg = format!("s3://{bucket}/reg-theirs");
    let theirs = quilt3_build(&py, tmp.path(), &spec, Path::new(&theirs_reg), &env);
    assert_eq!(
        ours.to_hex(),
        theirs.trim(),
        "top hash differs from quilt3's"
    );

    // Built into a local store: the S3 data is fetched (verified), and installs byte-exact.
    let repo = Repository::init(&tmp.path().join("work"), None).expect("init");
    let top = pkg
        .build(&repo, &name(), Some("mixed"), Watch::default())
        .expect("local build");
    assert_eq!(top, ours);
    let dest = tmp.path().join("out");
    repo.install(
        &top.to_hex(),
        &dest,
        &InstallOptions::default(),
        Watch::default(),
    )
    .expect("install");
    assert_eq!(
        std::fs::read(dest.join("raw/sub/y.bin")).expect("y"),
        bytes(11, 300_000)
    );
    assert_eq!(std::fs::read(dest.join("z.txt")).expect("z"), b"zzz");
    assert_eq!(
        std::fs::read(dest.join("local.txt")).expect("l"),
        b"local bytes"
    );

    // A browsed copy of the registry's version reads the same way.
    let mut browsed =
        Package::browse(registry.clone(), "team/pkg", options).expect("browse the S3 registry");
    assert_eq!(browsed.top_hash().expect("top"), ours);
    assert!(matches!(
        browsed.get("z.txt").map(|e| e.source()),
        Some(quilt::Source::Keys(k)) if k[0].starts_with(&format!("s3://{bucket}/other/z.txt"))
    ));
}
