//! The ListObjectsV2 parser (`src/s3/listing.rs`) on generated pages and on arbitrary bytes.

use proptest::prelude::*;
use quilt_sync::s3::listing::{parse_list_page, ListPage};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page as S3 writes it, with the elements quilt ignores in between.
fn render(page: &ListPage) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult \
         xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>",
    );
    xml.push_str(&format!(
        "<IsTruncated>{}</IsTruncated>",
        page.next_token.is_some()
    ));
    if let Some(t) = &page.next_token {
        xml.push_str(&format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            escape(t)
        ));
    }
    for (key, size) in &page.objects {
        xml.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>\
             <ETag>&quot;e&quot;</ETag><Size>{size}</Size></Contents>",
            escape(key)
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

proptest! {
    #[test]
    fn rendered_pages_parse_back(
        objects in prop::collection::vec(("[a-z0-9/&<>\"' .é-]{1,40}", any::<u64>()), 0..20),
        token in prop::option::of("[A-Za-z0-9+/=&]{1,30}"),
    ) {
        let page = ListPage { objects, next_token: token };
        prop_assert_eq!(parse_list_page(render(&page).as_bytes()), Ok(page));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_list_page(&data);
    }

    #[test]
    fn damaged_pages_never_panic(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
        let page = ListPage {
            objects: vec![("a&b".into(), 1), ("c".into(), 2)],
            next_token: Some("t".into()),
        };
        let mut xml = render(&page).into_bytes();
        if flip < xml.len() {
            xml[flip] = byte;
        }
        xml.truncate(cut.min(xml.len()));
        let _ = parse_list_page(&xml);
    }
}
