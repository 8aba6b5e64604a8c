//! The S3 XML parsers on arbitrary bytes: the ListObjectsV2 page and the
//! `GetObjectAttributes` parts page (the in-place build reads part sizes from it). They never
//! panic, and what they accept is consistent (a continuation token or part marker only on a
//! truncated page, never empty, which is what they promise).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quilt::sync::s3::listing::parse_list_page;
use quilt::sync::s3::object::parse_parts_page;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_list_page(data) {
        if let Some(t) = &page.next_token {
            assert!(!t.is_empty(), "an empty continuation token was accepted");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(Some(page)) = parse_parts_page(text) {
            assert!(
                !page.sizes.is_empty(),
                "a parts page without parts was accepted"
            );
            if let Some(m) = &page.next_marker {
                assert!(!m.is_empty(), "an empty part marker was accepted");
            }
        }
    }
});
