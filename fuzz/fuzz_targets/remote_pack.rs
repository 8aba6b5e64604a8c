//! A packed remote's index and records, as a hostile server could send them: the index
//! (made checksum-consistent, so mutations reach the structure behind it) must parse or be
//! refused without a panic; every entry it yields must lie inside the pack it describes and be
//! found again by its id; and a record, however cut or altered, must come back as exactly its
//! declared data or as an error.
#![no_main]

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use libfuzzer_sys::fuzz_target;
use quilt::store::pack::mem::record_data;
use quilt::store::PackIndex;

fuzz_target!(|data: &[u8]| {
    // Two bytes give the index's length; the index follows, then a pack's bytes (which the
    // records are read from).
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (idx_part, pack) = rest.split_at(split);
    let mut idx = idx_part.to_vec();
    common::fix_up(&mut idx, pack);
    let Ok(index) = PackIndex::parse(idx) else {
        return;
    };
    for e in index.entries().take(4096) {
        let r = e.record_range();
        assert!(
            r.start <= r.end && r.end <= index.pack_len(),
            "entry outside its pack"
        );
        let found = index.find(&e.id).expect("an entry is found by its id");
        assert_eq!(found.offset, e.offset);
        let start = (r.start as usize).min(pack.len());
        let end = (r.end as usize).min(pack.len());
        if let Ok(body) = record_data(&pack[start..end], &e) {
            assert_eq!(
                body.len() as u64,
                e.len,
                "a record's data of the wrong length"
            );
        }
    }
});
