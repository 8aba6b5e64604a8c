//! quilt and quilt3 build the same trees and must agree on the top hash and on every manifest
//! byte apart from physical_keys.

mod common;

use std::path::Path;

use common::*;

struct Case<'a> {
    message: Option<&'a str>,
    meta: Option<&'a str>,
    entry_meta: Option<&'a str>,
}

/// Builds `tree` with both tools and compares.
fn compare(tree: &Path, name: &str, case: Case<'_>) {
    let Some(py) = python() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let ws = work.path().join("ws");
    let reg = work.path().join("reg");
    std::fs::create_dir_all(&ws).expect("mkdir");
    std::fs::create_dir_all(&reg).expect("mkdir");
    ok(&ws, &["init"]);

    let tree_s = tree.to_str().expect("utf-8 path");
    let reg_s = reg.to_str().expect("utf-8 path");
    let mut py_args = vec![tree_s, name, reg_s];
    let mut args = vec!["build", name, tree_s];
    let meta_file = work.path().join("meta.json");
    let entry_file = work.path().join("entry.json");
    let (meta_s, entry_s) = (
        format!("@{}", meta_file.display()),
        format!("@{}", entry_file.display()),
    );
    let (meta_p, entry_p) = (
        meta_file.display().to_string(),
        entry_file.display().to_string(),
    );
    if let Some(m) = case.message {
        py_args.extend(["--message", m]);
        args.extend(["-m", m]);
    }
    if let Some(m) = case.meta {
        std::fs::write(&meta_file, m).expect("write meta");
        py_args.extend(["--meta", &meta_p]);
        args.extend(["--meta", &meta_s]);
    }
    if let Some(m) = case.entry_meta {
        std::fs::write(&entry_file, m).expect("write entry meta");
        py_args.extend(["--entry-meta", &entry_p]);
        args.extend(["--entry-meta", &entry_s]);
    }
    let theirs = run_py(&py, "build.py", &py_args, &[]).trim().to_owned();
    let ours = top_hash(&ok(&ws, &args));
    assert_eq!(ours, theirs, "top hash differs from quilt3's");
    let our_manifest = local_manifest(&ws, &ours);
    let their_manifest = registry_manifest(&reg, &theirs);
    assert_eq!(
        without_physical_keys(&our_manifest),
        without_physical_keys(&their_manifest),
        "manifest bytes differ from quilt3's"
    );
}

#[test]
fn names_order_unicode_and_empty_files() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    for (i, name) in [
        "a/b",
        "a-c",
        "a.txt",
        "a/b2/c.csv",
        "Zeta",
        "z/é.txt",
        "日本/データ.bin",
        "emoji 😀.txt",
        "sp ace/x y",
        "x/y/z/deep.json",
    ]
    .iter()
    .enumerate()
    {
        write(root, name, &bytes(i as u64, 100 + i * 37));
    }
    write(root, "empty", b"");
    write(root, "dir/empty2", b"");
    compare(
        root,
        "team/names",
        Case {
            message: Some("unicode é ✓"),
            meta: None,
            entry_meta: None,
        },
    );
}

#[test]
fn chunk_boundaries_and_a_large_parallel_file() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    const MIB: usize = 1024 * 1024;
    write(root, "exactly8", &bytes(1, 8 * MIB));
    write(root, "just_over", &bytes(2, 8 * MIB + 1));
    write(root, "just_under", &bytes(3, 8 * MIB - 1));
    write(root, "big/over80", &bytes(4, 81 * MIB + 12345));
    compare(
        root,
        "team/chunks",
        Case {
            message: Some("chunks"),
            meta: None,
            entry_meta: None,
        },
    );
}

#[test]
fn metadata_floats_controls_and_big_integers() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, "data/a.csv", b"x,y\n1,2\n");
    write(root, "data/b.csv", b"x,y\n3,4\n");
    write(root, "readme.md", "héllo\n".as_bytes());
    let meta = r#"{"title": "Données ✓ 😀", "ctl": "tab\tnl\nnul\u0000bell\u0007del\u007f", "floats": [1.0, 1e16, 1e-5, 0.1, 2.5e-7, 123456789.125, -0.0], "big": 123456789012345678901234567890, "neg": -9007199254740993, "nested": {"z": [true, false, null, {"k": "v"}], "a": {}}, "quote": "\"\\/"}"#;
    let entry = r#"{"data/a.csv": {"rows": 1, "w": 1.5, "é": "ü"}, "readme.md": {"nested": {"deep": [1, 2.0, "3"]}, "n": null}}"#;
    compare(
        root,
        "team/meta",
        Case {
            message: Some("meta"),
            meta: Some(meta),
            entry_meta: Some(entry),
        },
    );
}

#[test]
fn no_message_and_no_metadata() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "only.txt", b"only");
    compare(
        t.path(),
        "team/plain",
        Case {
            message: None,
            meta: None,
            entry_meta: None,
        },
    );
}

#[test]
fn quiltignore_is_honoured_like_quilt3() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    write(root, ".quiltignore", b"*.tmp\nbuild/\n");
    write(root, "keep.csv", b"1");
    write(root, "skip.tmp", b"2");
    write(root, "sub/skip2.tmp", b"3");
    write(root, "build/out.bin", b"4");
    write(root, "sub/build/out2.bin", b"5");
    write(root, "sub/keep2.txt", b"6");
    compare(
        root,
        "team/ignore",
        Case {
            message: Some("ignore"),
            meta: None,
            entry_meta: None,
        },
    );
}
