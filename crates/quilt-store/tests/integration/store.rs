use quilt_hash::{hash_bytes, HashType, ObjectId};
use quilt_store::{Error, Store};
use std::io::Read;

use crate::util::*;

#[test]
fn open_missing_store_says_run_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Store::open(dir.path()).expect_err("not a store");
    assert!(matches!(err, Error::NotAStore { .. }));
    assert!(err.is_not_found());
    assert!(err.to_string().contains("quilt init"), "{err}");
}

#[test]
fn init_is_idempotent_and_keeps_data() {
    let (_dir, store) = new_store();
    let ids = put(&store, &[b"abc".to_vec()]);
    Store::init(store.root()).expect("init again");
    assert_eq!(reopen(&store).get(&ids[0]).expect("get"), b"abc");
}

#[test]
fn small_and_loose_round_trip() {
    let (_dir, store) = new_store();
    let small = content(1, 10);
    let large = content(2, 1000);
    let empty = Vec::new();
    let ids = put(&store, &[small.clone(), large.clone(), empty.clone()]);
    for (id, data) in ids.iter().zip([&small, &large, &empty]) {
        assert!(store.contains(id).expect("contains"));
        assert_eq!(&store.get(id).expect("get"), data);
        let mut r = store.open_object(id).expect("open");
        assert_eq!(r.len(), data.len() as u64);
        let mut buf = Vec::new();
        r.read_to_end(&mut buf).expect("read");
        assert_eq!(&buf, data);
    }
    assert!(store.loose_path(&ids[0]).is_none());
    let loose = store.loose_path(&ids[1]).expect("large is loose");
    assert_eq!(std::fs::read(loose).expect("read"), large);
    assert!(store
        .open_object(&ids[0])
        .expect("open")
        .as_slice()
        .is_some());
}

#[test]
fn missing_object_is_not_found() {
    let (_dir, store) = new_store();
    let id = hash_bytes(b"never stored");
    assert!(!store.contains(&id).expect("contains"));
    let err = store.get(&id).expect_err("missing");
    assert!(matches!(err, Error::ObjectMissing { .. }) && err.is_not_found());
    assert!(store.open_object(&id).is_err());
}

#[test]
fn hash_type_is_part_of_the_packed_address() {
    let (_dir, store) = new_store();
    let data = b"typed".to_vec();
    let chunked = hash_bytes(&data);
    put(&store, &[data]);
    let other = ObjectId::new(HashType::Sha256, chunked.digest);
    assert!(!store.contains(&other).expect("contains"));
}

#[test]
fn other_handles_see_new_packs() {
    let (_dir, store) = new_store();
    let other = reopen(&store);
    let ids = put(&store, &[b"from the first handle".to_vec()]);
    assert_eq!(
        other.get(&ids[0]).expect("visible after a refresh"),
        b"from the first handle"
    );
}

#[test]
fn manifests_round_trip_exact_bytes() {
    let (_dir, store) = new_store();
    let m = manifest_of(&[("a.txt", b"a"), ("dir/b.bin", b"bb")]);
    let bytes = m.to_bytes();
    let top = store.put_manifest_bytes(&bytes).expect("put");
    assert_eq!(top, m.top_hash());
    assert!(store.has_manifest(&top));
    assert_eq!(store.manifest_bytes(&top).expect("bytes"), bytes);
    assert_eq!(store.get_manifest(&top).expect("parse"), m);
    assert_eq!(store.put_manifest(&m).expect("again"), top);
    let path = store.root().join("packages").join(top.to_hex());
    assert!(path.is_file(), "packages/<top hash>");
    assert!(store.put_manifest_bytes(b"not json\n").is_err());
}

#[test]
fn missing_manifest_is_not_found() {
    let (_dir, store) = new_store();
    let top = manifest_of(&[("x", b"x")]).top_hash();
    let err = store.get_manifest(&top).expect_err("missing");
    assert!(err.is_not_found(), "{err}");
}

#[cfg(unix)]
#[test]
fn read_only_store_says_so() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc::geteuid() } == 0 && std::env::var_os(WITHOUT_CAPS).is_none() {
        // Root ignores permission bits: run this test again without root's capabilities.
        rerun_without_capabilities("store::read_only_store_says_so");
        return;
    }
    let (_dir, store) = new_store();
    let tmp = store.root().join("tmp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let m = manifest_of(&[("ro", b"ro")]);
    let err = store.put_manifest(&m).expect_err("read-only");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(err.to_string().contains("is read-only"), "{err}");
}

/// Set in the child that [`rerun_without_capabilities`] starts.
#[cfg(unix)]
const WITHOUT_CAPS: &str = "QUILT_TEST_WITHOUT_CAPS";

/// Runs one test of this binary again in a child that is still uid 0 but has no capabilities
/// (`setpriv`, with the `noroot` securebit so exec grants none back), so permission bits hold
/// as for any other user. Fails the test when that child fails, or when setpriv is missing
/// under CI=true; a local run without setpriv skips with a note.
#[cfg(unix)]
fn rerun_without_capabilities(test: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new("setpriv")
        .args([
            "--securebits=+noroot,+noroot_locked",
            "--bounding-set=-all",
            "--inh-caps=-all",
            "--",
        ])
        .arg(exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(WITHOUT_CAPS, "1")
        .output();
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let started = out
        .as_ref()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("running 1 test"));
    if !started {
        let why = match &out {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        assert!(
            !ci,
            "CI=true: cannot drop root's capabilities with setpriv: {why}"
        );
        eprintln!("SKIPPED: cannot drop root's capabilities with setpriv: {why}");
        return;
    }
    let out = out.expect("checked above");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} without capabilities:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
