//! The little XML S3 speaks: error codes, upload ids, and escaping for request bodies.

/// The text of the first `<tag>` in an S3 XML document; enough for error codes and ids.
pub(super) fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(
        body[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The insides of every `<tag>…</tag>` at any depth, in order (not nested in each other).
pub(super) fn xml_blocks<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

pub(super) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn xml() {
        let body = "<Error><Code>NoSuchBucket</Code><Message>a &amp; b</Message></Error>";
        assert_eq!(xml_tag(body, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_tag(body, "Message").as_deref(), Some("a & b"));
        assert_eq!(xml_tag(body, "Key"), None);
        let list = "<R><Upload><Key>a</Key></Upload><Uploads/><Upload><Key>b</Key></Upload></R>";
        assert_eq!(xml_blocks(list, "Upload"), ["<Key>a</Key>", "<Key>b</Key>"]);
    }
}
