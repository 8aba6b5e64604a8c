//! The pack reader: input is `idx_len (u16 LE) ‖ idx ‖ pack`. The index is made consistent
//! with the pack, so record headers, offsets and lengths are what is exercised.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    let (idx, pack) = rest.split_at(n.min(rest.len()));
    let mut pack = pack.to_vec();
    if pack.len() >= 44 {
        // Keep the pack's own trailer honest too (by its version's rule, where the records
        // allow one), so only the structure is under test.
        let body = pack.len() - 32;
        let t = quilt::store::pack::checksum::checksum(&pack[..body])
            .unwrap_or_else(|_| *blake3::hash(&pack[..body]).as_bytes());
        pack[body..].copy_from_slice(&t);
    }
    let mut idx = idx.to_vec();
    common::fix_up(&mut idx, &pack);
    let scratch = common::Scratch::new();
    common::read_through(&scratch.root(), &idx, &pack);
});
