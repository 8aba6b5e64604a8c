//! Revision specifications: `NS/PKG`, `NS/PKG@HASH` and bare top-hash prefixes.

use quilt_hash::{PackageName, TopHash};
use quilt_store::Store;

use crate::error::{Error, Result};

/// Shortest hash prefix accepted, so a prefix is unlikely to be ambiguous by accident.
pub const MIN_PREFIX: usize = 6;

/// A parsed revision, not yet looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevSpec {
    /// The latest revision of a package.
    Latest(PackageName),
    /// A revision of a package named by a top-hash prefix.
    At(PackageName, String),
    /// Any stored manifest whose top hash starts with this prefix.
    Hash(String),
}

/// A revision resolved to a top hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rev {
    pub name: Option<PackageName>,
    pub top_hash: TopHash,
}

impl RevSpec {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadRev {
            rev: s.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some((name, hash)) = s.split_once('@') {
            let name = PackageName::parse(name)?;
            check_prefix(hash).map_err(|r| bad(&r))?;
            return Ok(RevSpec::At(name, hash.to_owned()));
        }
        if s.contains('/') {
            return Ok(RevSpec::Latest(PackageName::parse(s)?));
        }
        check_prefix(s).map_err(|r| {
            bad(&format!(
                "{r}; a revision is NS/PKG, NS/PKG@HASH or a top-hash prefix"
            ))
        })?;
        Ok(RevSpec::Hash(s.to_owned()))
    }

    /// The package name, when the spec has one.
    pub fn name(&self) -> Option<&PackageName> {
        match self {
            RevSpec::Latest(n) | RevSpec::At(n, _) => Some(n),
            RevSpec::Hash(_) => None,
        }
    }
}

fn check_prefix(p: &str) -> std::result::Result<(), String> {
    if p.len() < MIN_PREFIX || p.len() > 64 {
        return Err(format!(
            "a hash prefix needs {MIN_PREFIX} to 64 hex characters, got {}",
            p.len()
        ));
    }
    if !p
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("a hash prefix is lowercase hex (0-9, a-f)".to_owned());
    }
    Ok(())
}

/// Looks a revision up in the local store.
pub fn resolve_rev(store: &Store, s: &str) -> Result<Rev> {
    match RevSpec::parse(s)? {
        RevSpec::Latest(name) => {
            let rev = store
                .latest(&name)?
                .ok_or_else(|| Error::UnknownRev(s.to_owned()))?;
            Ok(Rev {
                name: Some(name),
                top_hash: rev.top_hash,
            })
        }
        RevSpec::At(name, prefix) => {
            let mut found: Vec<TopHash> = store
                .revisions(&name)?
                .into_iter()
                .map(|r| r.top_hash)
                .filter(|t| t.to_hex().starts_with(&prefix))
                .collect();
            if found.is_empty() {
                // A version that was pulled or built under another name is still addressable.
                found = store.resolve_prefix(&prefix)?;
            }
            let top = one(s, &prefix, found)?;
            Ok(Rev {
                name: Some(name),
                top_hash: top,
            })
        }
        RevSpec::Hash(prefix) => {
            let top = one(s, &prefix, store.resolve_prefix(&prefix)?)?;
            Ok(Rev {
                name: None,
                top_hash: top,
            })
        }
    }
}

fn one(rev: &str, prefix: &str, mut found: Vec<TopHash>) -> Result<TopHash> {
    found.sort();
    found.dedup();
    match found.len() {
        0 => Err(Error::UnknownRev(rev.to_owned())),
        1 => Ok(found[0]),
        _ => Err(Error::AmbiguousPrefix {
            prefix: prefix.to_owned(),
            candidates: found
                .iter()
                .map(|t| format!("  {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert!(matches!(RevSpec::parse("team/ds"), Ok(RevSpec::Latest(_))));
        assert!(matches!(
            RevSpec::parse("team/ds@abcdef"),
            Ok(RevSpec::At(_, _))
        ));
        assert!(matches!(RevSpec::parse("abcdef12"), Ok(RevSpec::Hash(_))));
    }

    #[test]
    fn rejects_short_or_non_hex_prefixes() {
        assert!(RevSpec::parse("abc").is_err());
        assert!(RevSpec::parse("team/ds@abc").is_err());
        assert!(RevSpec::parse("ABCDEF").is_err());
        assert!(RevSpec::parse("zzzzzz").is_err());
        assert!(RevSpec::parse("bad name/x").is_err());
    }
}
