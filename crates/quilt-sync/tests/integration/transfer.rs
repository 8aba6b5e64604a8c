//! Push and fetch with a local store that keeps manifests as keyframes and deltas: remotes get
//! plain quilt3 JSONL, and a fetched version is stored as a delta against the local latest.

use std::sync::atomic::AtomicBool;

use quilt_hash::manifest::default_header;
use quilt_hash::{hash_bytes, Entry, LogicalKey, Manifest, NoProgress, PackageName, TopHash};
use quilt_store::{ManifestKind, Store};
use quilt_sync::{fetch, push, DirRemote, FetchOptions, PushOptions};

static NO_INTERRUPT: AtomicBool = AtomicBool::new(false);

fn data(i: u32, v: u32) -> Vec<u8> {
    format!(
        "file {i}, version {}",
        if i.is_multiple_of(50) { v } else { 0 }
    )
    .into_bytes()
}

/// Version `v` of a 300-file package in which every 50th file changes.
fn commit(store: &Store, name: &PackageName, v: u32, base: Option<&TopHash>) -> TopHash {
    let mut m = Manifest::new(default_header());
    let w = store.writer().unwrap();
    for i in 0..300 {
        let d = data(i, v);
        let id = hash_bytes(&d);
        w.put_bytes(&id, &d).unwrap();
        let key = LogicalKey::parse(format!("d/f{i:04}")).unwrap();
        m.entries.push(Entry::new(key, d.len() as u64, id));
    }
    w.commit().unwrap();
    m.sort_entries();
    let top = store.put_manifest_with_base(&m, base).unwrap();
    // Built on `base`: push moves the remote's latest from it.
    store
        .record_revision_with_parent(name, &top, None, i64::from(v), base)
        .unwrap();
    top
}

#[test]
fn remotes_get_plain_jsonl_and_fetch_stores_a_delta() {
    let t = tempfile::tempdir().unwrap();
    let a = Store::init(&t.path().join("a")).unwrap();
    let b = Store::init(&t.path().join("b")).unwrap();
    let remote = DirRemote::new(t.path().join("remote")).unwrap();
    let name = PackageName::parse("t/pkg").unwrap();

    let v1 = commit(&a, &name, 1, None);
    let v2 = commit(&a, &name, 2, Some(&v1));
    assert_eq!(
        a.manifest_kind(&v2).unwrap(),
        ManifestKind::Delta { base: v1 }
    );
    for top in [v1, v2] {
        push(
            &a,
            &remote,
            &name,
            &top,
            &PushOptions::default(),
            &NoProgress,
            &NO_INTERRUPT,
        )
        .unwrap();
        let on_remote =
            std::fs::read(t.path().join("remote/.quilt/packages").join(top.to_hex())).unwrap();
        assert_eq!(on_remote[0], b'{', "plain JSONL on the remote");
        let m = Manifest::from_slice(&on_remote).unwrap();
        assert_eq!(m.top_hash(), top);
    }

    for top in [v1, v2] {
        fetch(
            &b,
            &remote,
            Some(&name),
            Some(&top.to_hex()),
            &FetchOptions::default(),
            &NoProgress,
            &NO_INTERRUPT,
        )
        .unwrap();
    }
    assert_eq!(b.manifest_kind(&v1).unwrap(), ManifestKind::Keyframe);
    assert_eq!(
        b.manifest_kind(&v2).unwrap(),
        ManifestKind::Delta { base: v1 }
    );
    assert_eq!(
        b.get_manifest(&v2).unwrap().top_hash(),
        a.get_manifest(&v2).unwrap().top_hash()
    );
}

/// Counts progress increments, to see progress move inside one object.
#[derive(Default)]
struct Increments(std::sync::Mutex<Vec<u64>>);

impl quilt_hash::Progress for Increments {
    fn inc(&self, n: u64) {
        self.0.lock().unwrap().push(n);
    }
}

#[test]
fn fetch_reports_progress_while_a_large_object_streams() {
    let t = tempfile::tempdir().unwrap();
    let a = Store::init(&t.path().join("a")).unwrap();
    let b = Store::init(&t.path().join("b")).unwrap();
    let remote = DirRemote::new(t.path().join("remote")).unwrap();
    let name = PackageName::parse("t/big").unwrap();
    // One object of 20 MiB: larger than what fetch reads into memory, streamed into the store.
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let id = quilt_hash::hash_bytes(&big);
    let w = a.writer().unwrap();
    w.put_bytes(&id, &big).unwrap();
    w.commit().unwrap();
    let mut m = Manifest::new(default_header());
    m.entries.push(Entry::new(
        LogicalKey::parse("big.bin").unwrap(),
        big.len() as u64,
        id,
    ));
    let top = a.put_manifest_with_base(&m, None).unwrap();
    a.record_revision(&name, &top, None, 1).unwrap();
    push(
        &a,
        &remote,
        &name,
        &top,
        &PushOptions::default(),
        &NoProgress,
        &NO_INTERRUPT,
    )
    .unwrap();

    let seen = Increments::default();
    let opts = FetchOptions {
        jobs: 1,
        ..FetchOptions::default()
    };
    fetch(&b, &remote, Some(&name), None, &opts, &seen, &NO_INTERRUPT).unwrap();
    let incs = seen.0.into_inner().unwrap();
    assert_eq!(incs.iter().sum::<u64>(), big.len() as u64);
    assert!(
        incs.len() > 10,
        "progress moved {} times for one 20 MiB object",
        incs.len()
    );
}

/// The manifest a push leaves on a remote, streamed line by line from the store, is what the
/// parsed manifest with every physical key pointing at the remote's object gives: header,
/// directory lines, entries, metadata and extra keys kept, in quilt3's line order even when
/// the stored file has a directory line after an entry. Repeated contents go up once.
#[test]
fn pushed_manifest_is_the_stored_one_with_remote_keys() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::init(&t.path().join("a")).unwrap();
    let w = store.writer().unwrap();
    let mut entries = String::new();
    for (i, body) in [&b"one"[..], b"two", b"one", b"three"].iter().enumerate() {
        let id = hash_bytes(body);
        w.put_bytes(&id, body).unwrap();
        entries.push_str(&format!(
            "{{\"logical_key\": \"d/f{i}\", \"physical_keys\": [\"file:///x/f{i}\"], \"size\": {}, \"hash\": {{\"type\": \"sha2-256-chunked\", \"value\": \"{}\"}}, \"meta\": {{\"n\": {i}}}, \"extra\": [1, \"é\"]}}\n",
            body.len(),
            id.value_string()
        ));
    }
    w.commit().unwrap();
    let header = "{\"version\": \"v0\", \"user_meta\": {\"a\": 1}, \"message\": \"m\"}\n";
    let dir = "{\"logical_key\": \"d/\", \"meta\": {\"k\": \"v\"}}\n";
    let (first, rest) = entries.split_at(entries.find('\n').unwrap() + 1);
    let name = PackageName::parse("t/pkg").unwrap();
    for (case, text) in [
        ("directory lines first", format!("{header}{dir}{entries}")),
        (
            "a directory line after an entry",
            format!("{header}{first}{dir}{rest}"),
        ),
    ] {
        let top = store.put_manifest_bytes(text.as_bytes()).unwrap();
        let remote_dir = t.path().join(format!("remote-{}", case.len()));
        let remote = DirRemote::new(&remote_dir).unwrap();
        let out = push(
            &store,
            &remote,
            &name,
            &top,
            &PushOptions::default(),
            &NoProgress,
            &NO_INTERRUPT,
        )
        .unwrap();
        assert_eq!(out.objects_uploaded, 3, "{case}: each content once");
        let mut expected = Manifest::from_slice(text.as_bytes()).unwrap();
        let base = quilt_sync::Remote::describe(&remote);
        for e in &mut expected.entries {
            e.physical_keys = vec![format!(
                "{}/.quilt/objects/{}",
                base.trim_end_matches('/'),
                e.hash.to_hex()
            )];
        }
        let on_remote =
            std::fs::read(remote_dir.join(".quilt/packages").join(top.to_hex())).unwrap();
        assert_eq!(
            String::from_utf8(on_remote).unwrap(),
            String::from_utf8(expected.to_bytes()).unwrap(),
            "{case}"
        );
    }
}
