//! P2/P3 at library level: `Repository::build` of a tree of small files.
//!
//! Generates `QUILT_BENCH_BUILD_FILES` files (default 10,000) of 4 KiB each, spread over
//! directories of 1,000, once per run. Three measurements:
//!
//! - `fresh_store`: a new store for every iteration, so every object is hashed and stored
//!   (the first `quilt build` of a directory);
//! - `noop_rebuild`: the same tree built again into a store that already holds it, so every
//!   file should come from the stat cache (a second `quilt build` with nothing changed);
//! - `status_clean`: `Repository::status` against that build, and two of its phases on their
//!   own (`stat_cache_load`, `get_manifest`), so a slow status can be attributed; the rest of
//!   its time is the directory walk (one `statx` per file) and the comparison.
//!
//! The full-size (100,000 files) comparison against quilt3 is `scripts/bench-build.sh`.

use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use quilt::hash::{NoProgress, PackageName};
use quilt::{BuildOptions, Repository};

const FILE_SIZE: usize = 4096;
const PER_DIR: usize = 1000;

fn file_count() -> usize {
    std::env::var("QUILT_BENCH_BUILD_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Distinct content per file: the index in the first 8 bytes, a cheap xorshift stream after.
fn make_tree(root: &Path, files: usize) {
    let mut buf = vec![0u8; FILE_SIZE];
    for i in 0..files {
        let dir = root.join(format!("d{:04}", i / PER_DIR));
        if i % PER_DIR == 0 {
            fs::create_dir_all(&dir).expect("create bench dir");
        }
        let mut seed = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for word in buf.chunks_exact_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            word.copy_from_slice(&seed.to_le_bytes());
        }
        buf[..8].copy_from_slice(&(i as u64).to_le_bytes());
        fs::write(dir.join(format!("f{i:07}.bin")), &buf).expect("write bench file");
    }
}

fn build(repo: &Repository, tree: &Path) -> quilt::BuildOutcome {
    let name = PackageName::parse("bench/tree").expect("valid package name");
    let opts = BuildOptions {
        dir: Some(tree.to_path_buf()),
        message: Some("bench".to_owned()),
        ..BuildOptions::default()
    };
    repo.build(&name, &opts, &NoProgress, &AtomicBool::new(false))
        .expect("build bench tree")
}

fn bench_build(c: &mut Criterion) {
    let files = file_count();
    let scratch = tempfile::tempdir().expect("temp dir");
    let tree = scratch.path().join("tree");
    make_tree(&tree, files);
    // Files modified within the build's racy window are not trusted from the stat cache;
    // let the tree age past it so the no-op measurements see a steady state.
    std::thread::sleep(Duration::from_millis(200));

    let mut group = c.benchmark_group("build");
    group.throughput(Throughput::Elements(files as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));

    group.bench_function(format!("fresh_store_{files}x4KiB"), |b| {
        b.iter_batched(
            || {
                let work = tempfile::tempdir_in(scratch.path()).expect("worktree dir");
                let repo = Repository::init(work.path(), None).expect("init store");
                (work, repo)
            },
            |(work, repo)| {
                let out = build(&repo, &tree);
                assert_eq!(
                    out.new_objects, files as u64,
                    "fresh store stores every object"
                );
                (work, repo) // dropped outside the timing
            },
            BatchSize::PerIteration,
        )
    });

    let work = tempfile::tempdir_in(scratch.path()).expect("worktree dir");
    let repo = Repository::init(work.path(), None).expect("init store");
    build(&repo, &tree);
    let again = build(&repo, &tree);
    assert_eq!(
        again.hashed_files, 0,
        "second build is served by the stat cache"
    );

    group.bench_function(format!("noop_rebuild_{files}x4KiB"), |b| {
        b.iter(|| build(&repo, &tree))
    });

    // `status` compares the worktree's files; give it a worktree that is the tree itself.
    let repo = Repository::init(&tree, None).expect("init store in tree");
    build(&repo, &tree);
    group.bench_function(format!("status_clean_{files}x4KiB"), |b| {
        b.iter(|| {
            let st = repo.status().expect("status");
            assert!(st.is_clean(), "nothing changed");
            st
        })
    });
    let store = repo.store();
    let (_, top) = repo.head().expect("head").expect("tree has a head");
    group.bench_function(format!("stat_cache_load_{files}"), |b| {
        b.iter(|| store.db().stat_cache_load(&tree).expect("load stat cache"))
    });
    group.bench_function(format!("get_manifest_{files}"), |b| {
        b.iter(|| store.get_manifest(&top).expect("read manifest"))
    });
    group.finish();
}

criterion_group!(benches, bench_build);
criterion_main!(benches);
