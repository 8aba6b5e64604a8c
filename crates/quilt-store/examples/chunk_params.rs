//! Measures FastCDC parameter sets on the edit the chunking defaults are chosen for: ten
//! versions of a large file, each with 1 MiB of random bytes inserted at a random offset and
//! 1 MiB overwritten elsewhere. Prints, per parameter set, the chunker's throughput (cutting
//! alone, and cutting plus naming each chunk with blake3) and the new chunk bytes per
//! version and the store growth over the ten versions.
//!
//! `cargo run --release -p quilt-store --example chunk_params` (env `SIZE_MIB`, default 1024;
//! `PARAMS`, e.g. `128/256/768,192/256/768`, sets of min/avg/max in KiB instead of the table's)

use std::collections::HashSet;
use std::time::Instant;

use quilt_store::chunk::ChunkParams;

const MIB: usize = 1 << 20;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() {
    let size = std::env::var("SIZE_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024usize)
        * MIB;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut versions = vec![vec![0u8; size]];
    rng.fill(&mut versions[0]);
    for _ in 1..10 {
        let prev = versions.last().expect("one version");
        let mut insert = vec![0u8; MIB];
        rng.fill(&mut insert);
        let at = rng.below(prev.len());
        let mut next = Vec::with_capacity(prev.len() + MIB);
        next.extend_from_slice(&prev[..at]);
        next.extend_from_slice(&insert);
        next.extend_from_slice(&prev[at..]);
        let over = rng.below(next.len() - MIB);
        rng.fill(&mut next[over..over + MIB]);
        versions.push(next);
    }
    println!(
        "{:>7} {:>7} {:>7} | {:>9} {:>12} | {:>14} {:>8} {:>7}",
        "min", "avg", "max", "cut MB/s", "+blake3 MB/s", "new MiB/vers.", "growth", "chunks"
    );
    let sets: Vec<(u32, u32, u32)> = match std::env::var("PARAMS") {
        Ok(list) => list
            .split(',')
            .map(|set| {
                let kib: Vec<u32> = set
                    .split('/')
                    .map(|n| n.trim().parse().expect("PARAMS: min/avg/max in KiB"))
                    .collect();
                assert_eq!(kib.len(), 3, "PARAMS: min/avg/max in KiB");
                (kib[0] << 10, kib[1] << 10, kib[2] << 10)
            })
            .collect(),
        Err(_) => vec![
            (16 << 10, 64 << 10, 256 << 10),
            (32 << 10, 128 << 10, 512 << 10),
            (64 << 10, 256 << 10, 768 << 10),
            (128 << 10, 256 << 10, 768 << 10),
            (192 << 10, 384 << 10, 960 << 10),
            (128 << 10, 512 << 10, 1000 << 10),
        ],
    };
    for (min, avg, max) in sets {
        let p = ChunkParams {
            threshold: 0,
            min,
            avg,
            max,
        };
        let t = Instant::now();
        let lens = p.cut(&versions[0], true);
        let cut_s = t.elapsed().as_secs_f64();
        let mut seen = HashSet::new();
        let mut stored = 0usize;
        let mut new_per_version = Vec::new();
        let t = Instant::now();
        for v in &versions {
            let mut at = 0;
            let mut new = 0;
            for len in p.cut(v, true) {
                let id = *blake3::hash(&v[at..at + len]).as_bytes();
                if seen.insert(id) {
                    new += len;
                }
                at += len;
            }
            stored += new;
            new_per_version.push(new);
        }
        let all_s = t.elapsed().as_secs_f64() / versions.len() as f64;
        let mb = size as f64 / 1e6;
        let worst = new_per_version[1..].iter().max().copied().unwrap_or(0);
        println!(
            "{:>7} {:>7} {:>7} | {:>9.0} {:>12.0} | {:>14.2} {:>7.3}x {:>7}",
            min,
            avg,
            max,
            mb / cut_s,
            mb / all_s,
            worst as f64 / MIB as f64,
            stored as f64 / size as f64,
            lens.len()
        );
    }
}
