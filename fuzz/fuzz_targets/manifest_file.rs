//! Stored manifest files (plain, keyframe, delta): arbitrary bytes as `packages/<top>` of a
//! store that also holds one keyframe. Input: a selector byte, then the file. Selector 0 stores
//! the bytes as they are; 1 puts a delta header naming the keyframe in front of them; 2 damages
//! a real delta against the keyframe by xoring the input into it. Reading must give an error
//! or bytes, never a panic.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use quilt::hash::manifest::default_header;
use quilt::hash::{Entry, HashType, LogicalKey, Manifest, ObjectId, TopHash};
use quilt::store::{Store, DELTA_MAGIC};

fn manifest(n: u32) -> Manifest {
    let mut m = Manifest::new(default_header());
    for i in 0..n {
        let key = LogicalKey::parse(format!("f{i:03}")).expect("key");
        let id = ObjectId {
            kind: HashType::Sha2_256Chunked,
            digest: [i as u8; 32],
        };
        m.entries.push(Entry::new(key, u64::from(i), id));
    }
    m
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    let store = Store::init(&root).expect("init");
    let base = store.put_manifest(&manifest(40)).expect("keyframe");
    let target = TopHash([0xab; 32]);
    let file = match sel % 3 {
        0 => body.to_vec(),
        1 => [&DELTA_MAGIC[..], &base.0[..], body].concat(),
        _ => {
            let top = store
                .put_manifest_with_base(&manifest(41), Some(&base))
                .expect("delta");
            let mut real = std::fs::read(root.join("packages").join(top.to_hex())).expect("read");
            for (i, b) in body.iter().enumerate() {
                let at = i % real.len();
                real[at] ^= b;
            }
            real
        }
    };
    std::fs::write(root.join("packages").join(target.to_hex()), file).expect("write");
    let _ = store.manifest_kind(&target);
    let _ = store.manifest_bytes(&target);
    let _ = store.get_manifest(&target);
    if let Ok(mut r) = store.open_manifest(&target) {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
    }
});
