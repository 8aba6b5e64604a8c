//! Key names of the packed layout, beside quilt3's (see [`crate::layout`]).

/// Prefix of packs and their indexes: `.quilt/packs/pack-<64 hex>.{pack,idx}`.
pub const PACKS_PREFIX: &str = ".quilt/packs/";
/// Prefix of lock files: `.quilt/locks/<kind>-<32 hex>`.
pub const LOCKS_PREFIX: &str = ".quilt/locks/";

/// The key of pack `name` (`pack-<hex>`).
pub fn pack_key(name: &str) -> String {
    format!("{PACKS_PREFIX}{name}.pack")
}

/// The key of the index of pack `name`.
pub fn idx_key(name: &str) -> String {
    format!("{PACKS_PREFIX}{name}.idx")
}

/// The pack name (`pack-<64 hex>`) and extension of a key under [`PACKS_PREFIX`], if it is
/// one quilt writes.
pub fn parse_pack_key(key: &str) -> Option<(&str, &str)> {
    let file = key.strip_prefix(PACKS_PREFIX)?;
    let (name, ext) = file.rsplit_once('.')?;
    let hex_part = name.strip_prefix("pack-")?;
    let ok = hex_part.len() == 64
        && hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (ok && (ext == "pack" || ext == "idx")).then_some((name, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_keys_parse_back() {
        let name = format!("pack-{}", "ab".repeat(32));
        assert_eq!(
            parse_pack_key(&pack_key(&name)),
            Some((name.as_str(), "pack"))
        );
        assert_eq!(
            parse_pack_key(&idx_key(&name)),
            Some((name.as_str(), "idx"))
        );
        assert_eq!(parse_pack_key(".quilt/packs/pack-zz.idx"), None);
        assert_eq!(parse_pack_key(".quilt/packs/other"), None);
    }
}
