//! Revision, package-name and logical-key parsing on arbitrary strings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(spec) = quilt::RevSpec::parse(s) {
            let _ = spec.name();
        }
        let _ = quilt::hash::PackageName::parse(s);
        if let Ok(k) = quilt::hash::LogicalKey::parse(s) {
            // A key that parses never climbs out of its directory.
            assert!(!k.as_str().starts_with('/'));
            assert!(k
                .components()
                .all(|c| c != ".." && c != "." && !c.is_empty()));
        }
    }
});
