//! Any content, cut into chunks and stored, reads back as the same bytes under the same
//! `sha2-256-chunked` id.

use std::io::Read;

use proptest::prelude::*;
use quilt_hash::hash_bytes;
use quilt_store::chunk::ChunkParams;

use crate::chunk::chunking_store;
use crate::util::content;

const PARAMS: ChunkParams = ChunkParams {
    threshold: 8192,
    min: 256,
    avg: 1024,
    max: 4000,
};

/// Sizes around every boundary the chunker and the store have, and anything up to 40 KB.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=2,
        255usize..=257,
        1023usize..=1025,
        3999usize..=4001,
        8191usize..=8193,
        0usize..40_000,
    ]
}

/// Random bytes, or with long runs of zeros (no cut point: chunks of exactly `max`).
fn data() -> impl Strategy<Value = Vec<u8>> {
    (size(), any::<u32>(), any::<bool>()).prop_map(|(len, seed, runs)| {
        let mut d = content(seed, len);
        if runs {
            for (i, b) in d.iter_mut().enumerate() {
                if (i / 5000) % 2 == 0 {
                    *b = 0;
                }
            }
        }
        d
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn chunked_and_reassembled_is_the_same(data in data()) {
        let lens = PARAMS.cut(&data, true);
        prop_assert_eq!(lens.iter().sum::<usize>(), data.len());
        prop_assert!(lens.iter().all(|l| *l <= PARAMS.max as usize));
        if let Some((_, head)) = lens.split_last() {
            prop_assert!(head.iter().all(|l| *l >= PARAMS.min as usize));
        }

        let (dir, store) = chunking_store();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let w = store.writer().expect("writer");
        prop_assert_eq!(w.chunks(data.len() as u64), data.len() >= 8192);
        let (id, _) = w
            .put_file_chunked(&file, &path, data.len() as u64, || {
                Ok::<_, quilt_store::Error>(true)
            })
            .expect("store")
            .expect("unchanged");
        w.commit().expect("commit");
        prop_assert_eq!(id, hash_bytes(&data));
        let list = store.chunk_list(&id).expect("list").expect("stored as chunks");
        prop_assert_eq!(
            list.chunks.iter().map(|(_, l)| *l as usize).collect::<Vec<_>>(),
            lens
        );
        prop_assert!(store.contains(&id).expect("contains"));
        let mut back = Vec::new();
        store.open_object(&id).expect("open").read_to_end(&mut back).expect("read");
        prop_assert_eq!(&back, &data);
        prop_assert_eq!(hash_bytes(&back), id);
    }
}
