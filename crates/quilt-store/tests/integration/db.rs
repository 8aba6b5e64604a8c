use std::path::PathBuf;

use quilt_hash::{hash_bytes, TopHash};
use quilt_store::{Error, StatRow};

use crate::util::*;

#[test]
fn revisions_crud_and_mirror() {
    let (_dir, store) = new_store();
    let a1 = commit_package(&store, "team/a", &[("x", b"1")], 100);
    let a2 = commit_package(&store, "team/a", &[("x", b"2")], 200);
    let b1 = commit_package(&store, "team/b", &[("y", b"3")], 150);

    let revs = store.db().revisions(&name("team/a")).expect("revisions");
    assert_eq!(
        revs.iter().map(|r| r.top_hash).collect::<Vec<_>>(),
        vec![a2, a1]
    );
    assert_eq!(revs[0].time, 200);
    assert_eq!(revs[0].message.as_deref(), Some("test"));
    assert_eq!(
        store
            .db()
            .latest(&name("team/a"))
            .expect("latest")
            .map(|r| r.top_hash),
        Some(a2)
    );
    assert_eq!(store.db().latest(&name("team/zzz")).expect("latest"), None);
    let pkgs = store.db().packages().expect("packages");
    assert_eq!(
        pkgs.iter()
            .map(|r| (r.name.to_string(), r.top_hash))
            .collect::<Vec<_>>(),
        vec![("team/a".to_string(), a2), ("team/b".to_string(), b1)]
    );

    // quilt3 pointer files: 64 hex, no newline.
    let np = store.root().join("named_packages/team/a");
    assert_eq!(
        std::fs::read_to_string(np.join("latest")).expect("latest"),
        a2.to_hex()
    );
    assert_eq!(
        std::fs::read_to_string(np.join("100")).expect("ts"),
        a1.to_hex()
    );

    assert!(store.delete_revision(&name("team/a"), &a2).expect("delete"));
    assert!(!store.delete_revision(&name("team/a"), &a2).expect("again"));
    assert_eq!(
        std::fs::read_to_string(np.join("latest")).expect("latest"),
        a1.to_hex()
    );
    assert!(!np.join("200").exists());

    assert_eq!(store.delete_package(&name("team/a")).expect("delete"), 1);
    assert!(!np.exists());
    assert!(store
        .db()
        .revisions(&name("team/a"))
        .expect("revs")
        .is_empty());
    assert_eq!(store.db().packages().expect("packages").len(), 1);
}

#[test]
fn revision_refused_without_manifest() {
    let (_dir, store) = new_store();
    let top = manifest_of(&[("x", b"1")]).top_hash();
    let err = store
        .record_revision(&name("team/a"), &top, None, 1)
        .expect_err("no manifest");
    assert!(matches!(err, Error::ManifestMissing { .. }), "{err}");
    assert!(store.db().packages().expect("packages").is_empty());
}

#[test]
fn prefix_resolution() {
    let (_dir, store) = new_store();
    let mut tops = Vec::new();
    for i in 0..40u32 {
        let data = i.to_string();
        tops.push(commit_package(
            &store,
            "team/p",
            &[("f", data.as_bytes())],
            i64::from(i),
        ));
    }
    // A manifest stored without a revision is still resolvable.
    let loose_top = store
        .put_manifest(&manifest_of(&[("g", b"unrecorded")]))
        .expect("put");
    tops.push(loose_top);

    for t in &tops {
        assert_eq!(store.resolve_prefix(&t.to_hex()).expect("full"), vec![*t]);
        let upper = t.to_hex()[..12].to_uppercase();
        assert_eq!(store.resolve_prefix(&upper).expect("case"), vec![*t]);
    }
    // 41 hashes over 16 first digits: some single-digit prefix is ambiguous.
    let amb = (0..16)
        .map(|d| format!("{d:x}"))
        .map(|p| store.resolve_prefix(&p).expect("resolve"))
        .find(|r| r.len() > 1)
        .expect("an ambiguous prefix");
    assert!(amb.windows(2).all(|w| w[0] < w[1]));
    assert!(matches!(
        store.resolve_prefix("xyz"),
        Err(Error::BadPrefix { .. })
    ));
    assert!(matches!(
        store.resolve_prefix(""),
        Err(Error::BadPrefix { .. })
    ));
    let none = "0".repeat(64);
    assert!(store.resolve_prefix(&none).expect("none").len() <= 1);
    let _ = TopHash::parse(&none).expect("valid");
}

#[test]
fn stat_cache_round_trip() {
    let (dir, store) = new_store();
    let base = dir.path().join("work");
    let other = dir.path().join("work-other");
    let row = |p: &str, n: u64| StatRow {
        key: p.to_owned(),
        size: n,
        mtime_ns: -5 + n as i64,
        inode: u64::MAX - n,
        id: hash_bytes(p.as_bytes()),
    };
    let rows = vec![row("sub/b.txt", 2), row("a.txt", 1), row("sub/deep/c", 3)];
    store.db().stat_cache_store(&base, &rows).expect("store");
    store
        .db()
        .stat_cache_store(&other, &[row("x", 9)])
        .expect("store");

    let cache = store.db().stat_cache_load(&base).expect("load");
    assert_eq!(cache.len(), 3);
    for r in &rows {
        assert_eq!(cache.get(&r.key), Some(r));
        assert!(r.matches(r.size, r.mtime_ns, r.inode));
    }
    // Manifest order, whatever order they were stored in.
    let keys: Vec<&str> = cache.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["a.txt", "sub/b.txt", "sub/deep/c"]);
    assert!(cache.get("x").is_none(), "another root's row");
    assert_eq!(store.db().stat_cache_load(&other).expect("load").len(), 1);

    // Upsert.
    let mut changed = rows[1].clone();
    changed.size = 42;
    store
        .db()
        .stat_cache_store(&base, std::slice::from_ref(&changed))
        .expect("store");
    let cache = store.db().stat_cache_load(&base).expect("load");
    assert_eq!(cache.get(&changed.key).map(|r| r.size), Some(42));
    store
        .db()
        .stat_cache_remove(&base, &[changed.key.clone()])
        .expect("remove");
    assert_eq!(store.db().stat_cache_load(&base).expect("load").len(), 2);
}

#[test]
fn worktree_heads() {
    let (dir, store) = new_store();
    let top = commit_package(&store, "team/w", &[("f", b"w")], 1);
    let wt = dir.path().join("data");
    assert_eq!(store.db().worktree_head(&wt).expect("none"), None);
    store
        .db()
        .set_worktree_head(&wt, &name("team/w"), &top)
        .expect("set");
    assert_eq!(
        store.db().worktree_head(&wt).expect("get"),
        Some((name("team/w"), top))
    );
    assert_eq!(
        store
            .db()
            .worktree_head(&PathBuf::from("/elsewhere"))
            .expect("none"),
        None
    );
}

#[test]
fn remotes_and_default() {
    let (_dir, store) = new_store();
    assert_eq!(store.db().default_remote().expect("none"), None);
    store
        .db()
        .add_remote("origin", "s3://bucket/a")
        .expect("add");
    store
        .db()
        .add_remote("backup", "file:///backup")
        .expect("add");
    assert!(matches!(
        store.db().add_remote("origin", "x"),
        Err(Error::RemoteExists { .. })
    ));
    assert_eq!(
        store.db().default_remote().expect("default").as_deref(),
        Some("origin")
    );
    assert_eq!(
        store.db().remotes().expect("list"),
        vec![
            ("origin".to_string(), "s3://bucket/a".to_string()),
            ("backup".to_string(), "file:///backup".to_string())
        ]
    );
    store.db().set_default_remote("backup").expect("set");
    assert_eq!(
        store.db().default_remote().expect("default").as_deref(),
        Some("backup")
    );
    assert!(store
        .db()
        .set_default_remote("nope")
        .expect_err("unknown")
        .is_not_found());
    store.db().remove_remote("backup").expect("remove");
    assert_eq!(
        store.db().default_remote().expect("default").as_deref(),
        Some("origin")
    );
    store.db().remove_remote("origin").expect("remove");
    assert_eq!(store.db().default_remote().expect("default"), None);
    assert!(store.db().remove_remote("origin").is_err());
}

#[test]
fn inventory_and_settings() {
    let (_dir, store) = new_store();
    let url = "s3://bucket/prefix";
    store
        .db()
        .inventory_add(url, &[[1; 32], [2; 32]])
        .expect("add");
    store
        .db()
        .inventory_add(url, &[[2; 32], [3; 32]])
        .expect("add");
    store
        .db()
        .inventory_add("s3://other", &[[9; 32]])
        .expect("add");
    let inv = store.db().inventory_load(url).expect("load");
    assert_eq!(inv.len(), 3);
    assert!(inv.contains(&[3; 32]));
    store.db().inventory_clear(url).expect("clear");
    assert!(store.db().inventory_load(url).expect("load").is_empty());
    assert_eq!(
        store.db().inventory_load("s3://other").expect("load").len(),
        1
    );

    assert_eq!(store.db().get_setting("k").expect("get"), None);
    store.db().set_setting("k", "v1").expect("set");
    store.db().set_setting("k", "v2").expect("set");
    assert_eq!(
        store.db().get_setting("k").expect("get").as_deref(),
        Some("v2")
    );
    assert_eq!(
        reopen(&store)
            .db()
            .get_setting("k")
            .expect("get")
            .as_deref(),
        Some("v2")
    );
}

/// A schema-2 database (no `revisions.parent`) opens, keeps its revisions, and records parents
/// from then on.
#[test]
fn schema_2_database_gains_parents() {
    let (dir, store) = new_store();
    let old = commit_package(&store, "team/a", &[("x", b"1")], 100);
    drop(store);
    let root = dir.path().join(".quilt");
    let db = root.join("quilt.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch("ALTER TABLE revisions DROP COLUMN parent; PRAGMA user_version = 2;")
            .expect("downgrade to schema 2");
    }
    let store = quilt_store::Store::open(&root).expect("reopen a schema-2 store");
    let revs = store.db().revisions(&name("team/a")).expect("revisions");
    assert_eq!(revs.len(), 1);
    assert_eq!((revs[0].top_hash, revs[0].parent), (old, None));

    put(&store, &[b"2".to_vec(), b"3".to_vec()]);
    let mid = store
        .put_manifest(&manifest_of(&[("x", b"2")]))
        .expect("manifest");
    let new = store
        .put_manifest(&manifest_of(&[("x", b"3")]))
        .expect("manifest");
    let a = name("team/a");
    store
        .record_revision_with_parent(&a, &mid, None, 200, Some(&old))
        .expect("record");
    store
        .record_revision_with_parent(&a, &new, None, 300, Some(&mid))
        .expect("record");
    assert_eq!(store.db().parent(&a, &new).expect("parent"), Some(mid));
    assert!(store.is_ancestor(&a, &old, &new).expect("walk"));
    assert!(store.is_ancestor(&a, &new, &new).expect("walk"));
    assert!(!store.is_ancestor(&a, &new, &old).expect("walk"));
    // A rebuild of old content makes the links loop; the walk still ends.
    store
        .record_revision_with_parent(&a, &old, None, 400, Some(&new))
        .expect("record");
    assert!(!store
        .is_ancestor(&a, &TopHash([9; 32]), &new)
        .expect("walk"));
    let conn = rusqlite::Connection::open(&db).expect("open");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 5);
}

/// Remote settings round-trip; changing the URL or the settings forgets the found region.
#[test]
fn remote_settings() {
    use quilt_store::RemoteSettings;
    let (_dir, store) = new_store();
    store
        .db()
        .add_remote("origin", "s3://bucket/a")
        .expect("add");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("there");
    assert_eq!(rec.settings, RemoteSettings::default());
    assert_eq!(rec.found_region, None);
    let settings = RemoteSettings {
        endpoint: Some("http://127.0.0.1:9000".into()),
        region: None,
        profile: Some("dev".into()),
    };
    store
        .db()
        .set_remote_settings("origin", &settings)
        .expect("settings");
    store
        .db()
        .set_remote_found_region("origin", "s3://bucket/a", "eu-west-1")
        .expect("found");
    // A stale URL records nothing.
    store
        .db()
        .set_remote_found_region("origin", "s3://other/", "us-west-2")
        .expect("found");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("there");
    assert_eq!(rec.settings, settings);
    assert_eq!(rec.found_region.as_deref(), Some("eu-west-1"));
    store
        .db()
        .set_remote_url("origin", "s3://bucket/b")
        .expect("set url");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("there");
    assert_eq!(
        (rec.url.as_str(), rec.found_region),
        ("s3://bucket/b", None)
    );
    assert_eq!(rec.settings, settings);
    assert!(store
        .db()
        .set_remote_settings("nope", &settings)
        .expect_err("unknown")
        .is_not_found());
    assert_eq!(store.db().remote_records().expect("list").len(), 1);
}

/// A schema-3 database (remotes without settings) opens, keeps its remotes, and takes
/// settings from then on.
#[test]
fn schema_3_database_gains_remote_settings() {
    let (dir, store) = new_store();
    store
        .db()
        .add_remote("origin", "s3://bucket/a")
        .expect("add");
    drop(store);
    let root = dir.path().join(".quilt");
    let db = root.join("quilt.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(
            "ALTER TABLE remotes DROP COLUMN endpoint; ALTER TABLE remotes DROP COLUMN region;
             ALTER TABLE remotes DROP COLUMN profile; ALTER TABLE remotes DROP COLUMN found_region;
             PRAGMA user_version = 3;",
        )
        .expect("downgrade to schema 3");
    }
    let store = quilt_store::Store::open(&root).expect("reopen a schema-3 store");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("kept");
    assert_eq!(rec.url, "s3://bucket/a");
    let settings = quilt_store::RemoteSettings {
        region: Some("eu-north-1".into()),
        ..Default::default()
    };
    store
        .db()
        .set_remote_settings("origin", &settings)
        .expect("settings");
    drop(store);
    let store = quilt_store::Store::open(&root).expect("reopen");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("kept");
    assert_eq!(rec.settings, settings);
}

/// A schema-4 database gains `remotes.layout` on open: its remotes read as plain, and a layout
/// set afterwards is kept.
#[test]
fn schema_4_database_gains_remote_layout() {
    let (dir, store) = new_store();
    store
        .db()
        .add_remote("origin", "s3://bucket/a")
        .expect("add");
    drop(store);
    let root = dir.path().join(".quilt");
    {
        let conn = rusqlite::Connection::open(root.join("quilt.db")).expect("open");
        conn.execute_batch("ALTER TABLE remotes DROP COLUMN layout; PRAGMA user_version = 4;")
            .expect("downgrade to schema 4");
    }
    let store = quilt_store::Store::open(&root).expect("reopen a schema-4 store");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("kept");
    assert_eq!(rec.layout, None);
    store
        .db()
        .set_remote_layout("origin", Some("packed"))
        .expect("set layout");
    drop(store);
    let store = quilt_store::Store::open(&root).expect("reopen");
    let rec = store
        .db()
        .remote_record("origin")
        .expect("read")
        .expect("kept");
    assert_eq!(rec.layout.as_deref(), Some("packed"));
    assert!(store.db().set_remote_layout("nope", None).is_err());
}
