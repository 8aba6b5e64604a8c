//! The ListObjectsV2 answer, parsed with quick-xml. Anything that is not a well-formed
//! `ListBucketResult` is an error that says what was wrong, never a panic or a guess.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// `(key, size)` of each object, in the server's order.
    pub objects: Vec<(String, u64)>,
    /// The token for the next page, when the listing continues.
    pub next_token: Option<String>,
}

/// Deeper nesting than this is not a listing (S3's is three levels deep).
const MAX_DEPTH: usize = 16;

/// Parse one ListObjectsV2 page. The error is a short description of what is wrong.
pub fn parse_list_page(body: &[u8]) -> Result<ListPage, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("listing is not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut state = Page::default();
    let mut text_buf = String::new();
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("listing is not XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if seen_root || name != "ListBucketResult" {
                        return Err(format!("expected <ListBucketResult>, found <{name}>"));
                    }
                    seen_root = true;
                }
                if path.len() >= MAX_DEPTH {
                    return Err("listing nests too deeply".into());
                }
                if path.len() == 1 && name == "Contents" {
                    (state.key, state.size) = (None, None);
                }
                path.push(name);
                text_buf.clear();
            }
            Event::Empty(e) if path.is_empty() => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                return Err(format!("expected <ListBucketResult>, found <{name}/>"));
            }
            Event::Text(t) => text_buf.push_str(
                &t.xml10_content()
                    .map_err(|e| format!("bad text in listing: {e}"))?,
            ),
            Event::CData(t) => text_buf.push_str(
                &t.decode()
                    .map_err(|e| format!("bad CDATA in listing: {e}"))?,
            ),
            Event::GeneralRef(r) => text_buf.push(resolve_ref(&r)?),
            Event::End(_) => {
                state.close(&path, &mut text_buf)?;
                path.pop();
                text_buf.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("the answer holds no <ListBucketResult>".into());
    }
    if !path.is_empty() {
        return Err("listing ends before </ListBucketResult>".into());
    }
    let mut page = state.page;
    match state.truncated {
        Some(true) if page.next_token.as_deref().is_none_or(str::is_empty) => {
            Err("listing is truncated but names no continuation token".into())
        }
        Some(true) => Ok(page),
        _ => {
            page.next_token = None;
            Ok(page)
        }
    }
}

/// What has been read of a page so far.
#[derive(Default)]
struct Page {
    page: ListPage,
    truncated: Option<bool>,
    key: Option<String>,
    size: Option<u64>,
}

impl Page {
    /// The element at the end of `path` closes with `text` inside.
    fn close(&mut self, path: &[String], text: &mut String) -> Result<(), String> {
        let levels: Vec<&str> = path.iter().map(String::as_str).collect();
        match levels[..] {
            [_, "Contents", "Key"] => self.key = Some(std::mem::take(text)),
            [_, "Contents", "Size"] => {
                self.size = Some(text.trim().parse::<u64>().map_err(|_| {
                    format!("object size {:?} is not a number", truncated_text(text))
                })?)
            }
            [_, "Contents"] => match (self.key.take(), self.size.take()) {
                (Some(k), Some(s)) => self.page.objects.push((k, s)),
                (None, _) => return Err("an object in the listing has no <Key>".into()),
                (_, None) => return Err("an object in the listing has no <Size>".into()),
            },
            [_, "IsTruncated"] => {
                self.truncated = Some(match text.trim() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(format!(
                            "<IsTruncated> is {:?}, not true or false",
                            truncated_text(other)
                        ))
                    }
                })
            }
            [_, "NextContinuationToken"] => self.page.next_token = Some(std::mem::take(text)),
            _ => {}
        }
        Ok(())
    }
}

fn resolve_ref(r: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|e| format!("bad character reference in listing: {e}"))?
    {
        return Ok(c);
    }
    let name = r
        .decode()
        .map_err(|e| format!("bad entity in listing: {e}"))?;
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(format!("unknown entity &{};", truncated_text(other))),
    }
}

fn truncated_text(s: &str) -> String {
    super::xml::truncate(s, 40)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn parses_a_page() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken>
<Contents><Key>a &amp; b&#233;</Key><Size>12</Size><ETag>"x"</ETag></Contents>
<Contents><Key>c</Key><Size>0</Size></Contents></ListBucketResult>"#;
        let page = parse_list_page(xml).unwrap();
        assert_eq!(
            page.objects,
            vec![("a & bé".to_owned(), 12), ("c".to_owned(), 0)]
        );
        assert_eq!(page.next_token.as_deref(), Some("t&1"));
    }

    #[test]
    fn refuses_garbage_with_a_reason() {
        for (xml, want) in [
            (
                &b"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size>"[..],
                "not a number",
            ),
            (
                b"<Error><Code>X</Code></Error>",
                "expected <ListBucketResult>",
            ),
            (b"", "no <ListBucketResult>"),
            (b"<ListBucketResult><Contents><Key>a</Key>", "ends before"),
            (
                b"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
                "no <Key>",
            ),
            (
                b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                "continuation",
            ),
            (b"\xff\xfe", "not UTF-8"),
            (b"<ListBucketResult><a></b></ListBucketResult>", "not XML"),
        ] {
            let err = parse_list_page(xml).unwrap_err();
            assert!(
                err.contains(want),
                "{:?}: {err}",
                String::from_utf8_lossy(xml)
            );
        }
    }
}
