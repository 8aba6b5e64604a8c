use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use quilt_hash::{hash_bytes, NoProgress, TopHash};
use quilt_store::{Error, GcOptions};

use crate::util::*;

fn all_garbage() -> GcOptions {
    GcOptions {
        repack_threshold: 0.0,
        ..GcOptions::default()
    }
}

/// What a gc with [`all_garbage`] would do, without doing it.
fn dry_run(store: &quilt_store::Store) -> quilt_store::GcOutcome {
    let opts = GcOptions {
        dry_run: true,
        ..all_garbage()
    };
    store
        .gc(&opts, &NoProgress, &NO_INTERRUPT)
        .expect("dry run")
}

#[test]
fn gc_keeps_reachable_and_removes_the_rest() {
    let (_dir, store) = new_store();
    let keep_small = content(1, 10);
    let keep_large = content(2, 300);
    let drop_small = content(3, 10);
    let drop_large = content(4, 300);
    let top_keep = commit_package(
        &store,
        "t/keep",
        &[("a", &keep_small), ("b", &keep_large)],
        1,
    );
    let top_drop = commit_package(
        &store,
        "t/drop",
        &[("a", &drop_small), ("b", &drop_large)],
        1,
    );
    // An object no manifest ever named.
    let stray = put(&store, &[content(5, 20)]);
    store.delete_package(&name("t/drop")).expect("delete");

    let dry = dry_run(&store);
    assert_eq!(dry.objects_removed, 3);
    assert!(store
        .contains(&hash_bytes(&drop_large))
        .expect("dry run removes nothing"));
    assert!(store.has_manifest(&top_drop));

    let out = store
        .gc(&all_garbage(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!(out.objects_removed, 3);
    assert_eq!(out.manifests_removed, 1);
    assert_eq!(out.reachable_objects, 2);
    assert!(out.bytes_freed > 300);
    for d in [&keep_small, &keep_large] {
        assert_eq!(&store.get(&hash_bytes(d)).expect("kept"), d);
    }
    for id in [hash_bytes(&drop_small), hash_bytes(&drop_large), stray[0]] {
        assert!(!store.contains(&id).expect("contains"), "{id}");
    }
    assert!(store.has_manifest(&top_keep));
    assert!(!store.has_manifest(&top_drop));
    let reopened = reopen(&store);
    assert_eq!(
        reopened.get(&hash_bytes(&keep_small)).expect("kept"),
        keep_small
    );
    let report = reopened
        .verify(&Default::default(), &NoProgress, &NO_INTERRUPT)
        .expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn packs_are_rewritten_only_past_the_threshold() {
    let (_dir, store) = new_store();
    let live: Vec<Vec<u8>> = (0..6).map(|i| content(i, 30)).collect();
    let dead: Vec<Vec<u8>> = (10..14).map(|i| content(i, 30)).collect();
    let mut all = live.clone();
    all.extend(dead.iter().cloned());
    put(&store, &all);
    let items: Vec<(String, &[u8])> = live
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("f{i}"), d.as_slice()))
        .collect();
    let items: Vec<(&str, &[u8])> = items.iter().map(|(k, d)| (k.as_str(), *d)).collect();
    commit_package(&store, "t/p", &items, 1);

    // 40% garbage: below the default 50% threshold, nothing is rewritten.
    let out = store
        .gc(&GcOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!((out.packs_rewritten, out.objects_removed), (0, 0));
    assert!(store.contains(&hash_bytes(&dead[0])).expect("contains"));

    let out = store
        .gc(
            &GcOptions {
                repack_threshold: 0.3,
                ..GcOptions::default()
            },
            &NoProgress,
            &NO_INTERRUPT,
        )
        .expect("gc");
    assert_eq!((out.packs_rewritten, out.objects_removed), (1, 4));
    assert_eq!(pack_files(&store, "idx").len(), 1);
    for d in &live {
        assert_eq!(&store.get(&hash_bytes(d)).expect("live"), d);
    }
    assert!(!store.contains(&hash_bytes(&dead[0])).expect("contains"));
}

#[test]
fn gc_waits_for_writers_and_removes_debris() {
    let (_dir, store) = new_store();
    let w = store.writer().expect("writer");
    let err = store
        .gc(&GcOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect_err("busy");
    assert!(matches!(err, Error::Busy { .. }), "{err}");
    drop(w);
    std::fs::write(store.root().join("tmp/leftover"), b"x").expect("write");
    std::fs::write(store.root().join("objects/pack/pack-0000.pack"), b"torn").expect("write");
    let out = store
        .gc(&GcOptions::default(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!(out.debris_removed, 2);
    assert!(files_under(&store.root().join("tmp")).is_empty());
    assert!(pack_files(&store, "pack").is_empty());
}

#[test]
fn gc_refuses_when_a_manifest_is_unreadable() {
    let (_dir, store) = new_store();
    let keep = content(1, 10);
    let top = commit_package(&store, "t/a", &[("a", &keep)], 1);
    std::fs::remove_file(store.root().join("packages").join(top.to_hex())).expect("rm");
    let err = store
        .gc(&all_garbage(), &NoProgress, &NO_INTERRUPT)
        .expect_err("unsafe");
    assert!(matches!(err, Error::GcUnsafe { .. }), "{err}");
    assert!(store.contains(&hash_bytes(&keep)).expect("still there"));
}

#[test]
fn gc_honours_interrupt() {
    let (_dir, store) = new_store();
    commit_package(&store, "t/a", &[("a", b"a")], 1);
    let stop = std::sync::atomic::AtomicBool::new(true);
    let err = store
        .gc(&all_garbage(), &NoProgress, &stop)
        .expect_err("interrupted");
    assert!(matches!(err, Error::Interrupted));
}

#[derive(Debug, Clone)]
enum Op {
    /// Record a revision of package `pkg` holding contents `files` (indices into a pool).
    Commit {
        pkg: u8,
        files: Vec<u8>,
    },
    DeletePackage {
        pkg: u8,
    },
    /// Delete the `nth` recorded revision of `pkg` (modulo how many there are).
    DeleteRevision {
        pkg: u8,
        nth: u8,
    },
    Gc,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, prop::collection::vec(0..24u8, 1..6)).prop_map(|(pkg, files)| Op::Commit { pkg, files }),
        1 => (0..3u8).prop_map(|pkg| Op::DeletePackage { pkg }),
        1 => (0..3u8, any::<u8>()).prop_map(|(pkg, nth)| Op::DeleteRevision { pkg, nth }),
        1 => Just(Op::Gc),
    ]
}

/// Pool content `i`: a third of them are large enough to be loose.
fn pool(i: u8) -> Vec<u8> {
    content(
        u32::from(i),
        if i.is_multiple_of(3) {
            200
        } else {
            5 + usize::from(i)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn gc_matches_a_model(ops in prop::collection::vec(op(), 1..12)) {
        let (_dir, store) = new_store();
        // Model: package -> recorded (top, files) in insertion order.
        let mut model: BTreeMap<u8, Vec<(TopHash, Vec<u8>)>> = BTreeMap::new();
        let mut ever: HashSet<u8> = HashSet::new();
        let mut time = 0;
        let run_gc = |store: &quilt_store::Store| {
            store.gc(&all_garbage(), &NoProgress, &NO_INTERRUPT).expect("gc");
        };
        for op in ops.iter().cloned().chain([Op::Gc]) {
            match op {
                Op::Commit { pkg, files } => {
                    time += 1;
                    let datas: Vec<Vec<u8>> = files.iter().map(|&f| pool(f)).collect();
                    let keys: Vec<String> = (0..files.len()).map(|i| format!("k{i}")).collect();
                    let items: Vec<(&str, &[u8])> =
                        keys.iter().map(String::as_str).zip(datas.iter().map(Vec::as_slice)).collect();
                    let top = commit_package(&store, &format!("ns/p{pkg}"), &items, time);
                    // Like quilt3's timestamp pointers, recording a version again adds a record.
                    model.entry(pkg).or_default().push((top, files.clone()));
                    ever.extend(files);
                }
                Op::DeletePackage { pkg } => {
                    let n = store.delete_package(&name(&format!("ns/p{pkg}"))).expect("delete");
                    prop_assert_eq!(n, model.remove(&pkg).map_or(0, |v| v.len()));
                }
                Op::DeleteRevision { pkg, nth } => {
                    if let Some(revs) = model.get_mut(&pkg) {
                        if !revs.is_empty() {
                            let (top, _) = revs[usize::from(nth) % revs.len()].clone();
                            // Deleting a version removes every record of it.
                            revs.retain(|(t, _)| *t != top);
                            let pkg_name = name(&format!("ns/p{pkg}"));
                            let removed = store.delete_revision(&pkg_name, &top).expect("delete");
                            prop_assert!(removed);
                        }
                    }
                }
                Op::Gc => run_gc(&store),
            }
        }
        let live: HashSet<u8> = model.values().flatten().flat_map(|(_, f)| f.iter().copied()).collect();
        let store = reopen(&store);
        for i in ever {
            let d = pool(i);
            let id = hash_bytes(&d);
            if live.contains(&i) {
                prop_assert_eq!(store.get(&id).expect("reachable object kept"), d);
            } else {
                prop_assert!(!store.contains(&id).expect("contains"), "garbage {} kept", i);
            }
        }
        for revs in model.values() {
            for (top, _) in revs {
                prop_assert!(store.has_manifest(top));
            }
        }
        let report = store.verify(&Default::default(), &NoProgress, &NO_INTERRUPT).expect("verify");
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

#[test]
fn gc_merges_small_packs_and_keeps_what_they_hold() {
    let (_dir, store) = new_store();
    let n = quilt_store::MAX_PACKS as u32 + 4;
    let items: Vec<Vec<u8>> = (0..n).map(|i| content(i, 30)).collect();
    for d in &items {
        put(&store, std::slice::from_ref(d));
    }
    let named: Vec<(String, &[u8])> = items
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("f{i}"), d.as_slice()))
        .collect();
    let named: Vec<(&str, &[u8])> = named.iter().map(|(k, d)| (k.as_str(), *d)).collect();
    commit_package(&store, "t/many", &named, 1);
    let before = pack_files(&store, "idx").len();
    assert!(before > quilt_store::MAX_PACKS, "{before} packs");
    let dry = dry_run(&store);
    assert_eq!(dry.packs_merged as usize, before);
    assert_eq!(
        pack_files(&store, "idx").len(),
        before,
        "a dry run changes nothing"
    );
    let out = store
        .gc(&all_garbage(), &NoProgress, &NO_INTERRUPT)
        .expect("gc");
    assert_eq!(out.packs_merged as usize, before);
    assert!(pack_files(&store, "idx").len() <= 2);
    let store = reopen(&store);
    for d in &items {
        assert_eq!(&store.get(&hash_bytes(d)).expect("kept"), d);
    }
    let report = store
        .verify(&Default::default(), &NoProgress, &NO_INTERRUPT)
        .expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
