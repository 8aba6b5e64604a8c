//! Content-defined chunking (FastCDC, 2020 variant): where a large file is cut, so that an
//! insert or overwrite changes only the chunks around it.

use fastcdc::v2020::{self, FastCDC};

/// When files are chunked and how large their chunks are. The figures behind the defaults
/// are in `docs/format.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkParams {
    /// Files of at least this many bytes are stored as chunks; `u64::MAX` turns chunking off.
    pub threshold: u64,
    /// Smallest chunk (except a file's last).
    pub min: u32,
    /// Average chunk the cut points aim for.
    pub avg: u32,
    /// Largest chunk; it must stay under the store's small-object limit, so that every
    /// chunk is packed.
    pub max: u32,
}

impl ChunkParams {
    /// The defaults: files from 4 MiB on, chunks of 128 KiB to 768 KiB, 256 KiB on average.
    pub const DEFAULT: ChunkParams = ChunkParams {
        threshold: 4 << 20,
        min: 128 << 10,
        avg: 256 << 10,
        max: 768 << 10,
    };

    /// No chunking: large files are stored loose, as stores did before chunking.
    pub const OFF: ChunkParams = ChunkParams {
        threshold: u64::MAX,
        ..ChunkParams::DEFAULT
    };

    /// Whether FastCDC accepts these sizes (even, `min < avg < max`, within its bounds) and
    /// every chunk stays under `small_object_limit`.
    pub fn usable(&self, small_object_limit: u64) -> bool {
        let (min, avg, max) = (self.min as usize, self.avg as usize, self.max as usize);
        [min, avg, max].iter().all(|v| v % 2 == 0)
            && (v2020::MINIMUM_MIN..=v2020::MINIMUM_MAX).contains(&min)
            && (v2020::AVERAGE_MIN..=v2020::AVERAGE_MAX).contains(&avg)
            && (v2020::MAXIMUM_MIN..=v2020::MAXIMUM_MAX).contains(&max)
            && min < avg
            && avg < max
            && (self.max as u64) < small_object_limit
    }

    /// Whether a file of `size` bytes is stored as chunks in a store with this small-object
    /// limit.
    pub fn chunks(&self, size: u64, small_object_limit: u64) -> bool {
        size >= self.threshold && self.usable(small_object_limit)
    }

    /// The lengths of the chunks `data` is cut into, in order. With `last` false the data
    /// continues beyond `data`: the bytes after the last cut are left for the next call
    /// (prepended to what follows), so cutting a file block by block gives the same chunks
    /// as cutting it whole. Returns the lengths of the finished chunks.
    pub fn cut(&self, data: &[u8], last: bool) -> Vec<usize> {
        let max = self.max as usize;
        let chunker = FastCDC::new(data, self.min as usize, self.avg as usize, max);
        let mut lens = Vec::with_capacity(data.len() / self.avg as usize + 1);
        let mut at = 0;
        // A chunk is final once `max` bytes are in view (a cut point or `max` itself); with
        // fewer and more data to come, the bytes are left unscanned for the next call, which
        // scans them once, rather than cut here, found to end with the data, and scanned again.
        while at < data.len() && (last || data.len() - at >= max) {
            let (_, end) = chunker.cut(at, data.len() - at);
            if end <= at {
                break;
            }
            lens.push(end - at);
            at = end;
        }
        lens
    }
}

impl Default for ChunkParams {
    fn default() -> Self {
        ChunkParams::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn block_by_block_cuts_as_whole() {
        let p = ChunkParams {
            threshold: 0,
            min: 64,
            avg: 256,
            max: 1024,
        };
        let data = noise(50_000, 7);
        let whole = p.cut(&data, true);
        assert_eq!(whole.iter().sum::<usize>(), data.len());
        let mut streamed = Vec::new();
        let mut start = 0;
        for block_end in (0..data.len()).step_by(3000).skip(1).chain([data.len()]) {
            let lens = p.cut(&data[start..block_end], block_end == data.len());
            start += lens.iter().sum::<usize>();
            streamed.extend(lens);
        }
        assert_eq!(streamed, whole);
    }

    #[test]
    fn defaults_are_usable() {
        assert!(ChunkParams::DEFAULT.usable(1 << 20));
        assert!(
            !ChunkParams::DEFAULT.usable(512 << 10),
            "chunks must stay packed"
        );
        assert!(!ChunkParams::OFF.chunks(u64::MAX - 1, 1 << 20));
    }
}
